//! Opaque pagination cursors: the continuation key, bound to the owner (tenant) and the listing it
//! came from, and signed. A cursor that was altered, or that belongs to another tenant or listing, is
//! refused.

use crate::keys::Owner;
use domain::crypto::{Signer, b64url_decode, b64url_encode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "o")]
    pub owner: String,
    #[serde(rename = "q")]
    pub query: String,
    #[serde(rename = "k")]
    pub key: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CursorError {
    #[error("the cursor is malformed")]
    Malformed,
    #[error("the cursor signature does not match")]
    BadSignature,
    #[error("the cursor belongs to another listing")]
    Foreign,
}

impl Cursor {
    pub fn seal(&self, signer: &Signer) -> String {
        let body = serde_json::to_vec(self).expect("cursor serialises");
        let sig = signer.sign(&body);
        format!("{}.{}", b64url_encode(&body), b64url_encode(&sig))
    }

    pub fn open(signer: &Signer, raw: &str, owner: Owner, query: &str) -> Result<Cursor, CursorError> {
        if raw.len() > 4096 {
            return Err(CursorError::Malformed);
        }
        let (body, sig) = raw.split_once('.').ok_or(CursorError::Malformed)?;
        let body = b64url_decode(body).ok_or(CursorError::Malformed)?;
        let sig = b64url_decode(sig).ok_or(CursorError::Malformed)?;
        if !signer.verify(&body, &sig) {
            return Err(CursorError::BadSignature);
        }
        let c: Cursor = serde_json::from_slice(&body).map_err(|_| CursorError::Malformed)?;
        if c.owner != owner.prefix() || c.query != query {
            return Err(CursorError::Foreign);
        }
        // Belt and braces: every key attribute must stay inside the owner's keys.
        let p = owner.prefix();
        for (k, v) in &c.key {
            if k.ends_with("pk") && !v.starts_with(&p) {
                return Err(CursorError::Foreign);
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn cursor(owner: Owner) -> Cursor {
        Cursor {
            owner: owner.prefix(),
            query: "customers".into(),
            key: BTreeMap::from([("pk".into(), format!("{}C#1", owner.prefix())), ("sk".into(), "PROFILE".into())]),
        }
    }

    #[test]
    fn round_trip_and_rejections() {
        let s = Signer::new(b"secret", "cursor");
        let t1 = Owner::Tenant(Uuid::now_v7());
        let t2 = Owner::Tenant(Uuid::now_v7());
        let raw = cursor(t1).seal(&s);
        assert_eq!(Cursor::open(&s, &raw, t1, "customers").unwrap(), cursor(t1));
        assert_eq!(Cursor::open(&s, &raw, t2, "customers"), Err(CursorError::Foreign));
        assert_eq!(Cursor::open(&s, &raw, t1, "users"), Err(CursorError::Foreign));
        let mut tampered = raw.clone().into_bytes();
        tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
        assert!(Cursor::open(&s, std::str::from_utf8(&tampered).unwrap(), t1, "customers").is_err());
        assert_eq!(Cursor::open(&s, "garbage", t1, "customers"), Err(CursorError::Malformed));
        let other_key = Signer::new(b"other", "cursor");
        assert_eq!(Cursor::open(&other_key, &raw, t1, "customers"), Err(CursorError::BadSignature));
    }
}
