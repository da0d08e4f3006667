//! API keys: long-lived credentials an ISP (or the platform owner) gives its own systems. A key acts
//! with its creator's rights narrowed to the abilities it was given (and, optionally, to one
//! operator's subtree); its secret is shown once and stored only as a keyed fingerprint.
//!
//! The presented form is `isk_<owner>_<key id>_<secret>`: the owner (the ISP's id, or `platform`)
//! and the key's id name the one item to read, so checking a key is a single lookup.

use crate::role::{Permission, Role};
use crate::{Timestamp, Validation};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const PREFIX: &str = "isk_";
/// The owner part of a platform key.
const PLATFORM: &str = "platform";
pub const MAX_NAME_LEN: usize = 80;
/// How many live keys an ISP (or the platform) may hold: enough for every integration, few enough
/// to list on one page.
pub const MAX_KEYS: usize = 50;
/// A key lives at most this long (and by default this long): integrations rotate.
pub const MAX_LIFETIME_DAYS: i64 = 730;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiKey {
    pub id: Uuid,
    /// The ISP it belongs to; None for a platform key.
    pub tenant_id: Option<Uuid>,
    pub name: String,
    /// What it may do, e.g. `customers:read`, `payments:collect`: a subset of its creator's rights.
    pub abilities: Vec<String>,
    /// The operator (or sub-operator) whose subtree it is confined to.
    pub operator_id: Option<Uuid>,
    /// Requests a minute it may make (within its ISP's own limit); None: the ISP's default for keys.
    pub requests_per_minute: Option<u32>,
    /// The first characters of the secret, to tell keys apart in a list.
    pub hint: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// When it was last used (to the minute: the time is written at most once a minute per caller).
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<Uuid>,
    pub version: u64,
}

/// What the table keeps beside the key: the fingerprint of its secret and what the key acts as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredApiKey {
    #[serde(flatten)]
    pub key: ApiKey,
    pub secret_fingerprint: String,
    /// The role and operator scope it acts with (the creator's, or the confining operator's).
    pub acts_as: Uuid,
    pub role: Role,
    pub scope: Option<String>,
    pub reseller_id: Option<Uuid>,
}

/// A key as presented: which item to read and the secret to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedKey {
    pub tenant_id: Option<Uuid>,
    pub key_id: Uuid,
    pub secret: String,
}

impl PresentedKey {
    /// Reads a bearer credential as a key; None when it is not one (an access token).
    pub fn parse(raw: &str) -> Option<PresentedKey> {
        let rest = raw.strip_prefix(PREFIX)?;
        let mut parts = rest.splitn(3, '_');
        let owner = parts.next()?;
        let key_id = Uuid::try_parse(parts.next()?).ok()?;
        let secret = parts.next()?;
        if secret.len() < 32
            || secret.len() > 64
            || !secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return None;
        }
        let tenant_id = if owner == PLATFORM { None } else { Some(Uuid::try_parse(owner).ok()?) };
        Some(PresentedKey { tenant_id, key_id, secret: secret.to_string() })
    }

    /// Whether a bearer credential looks like a key at all (a malformed one is still refused as a key).
    pub fn looks_like_key(raw: &str) -> bool {
        raw.starts_with(PREFIX)
    }

    pub fn format(tenant_id: Option<Uuid>, key_id: Uuid, secret: &str) -> String {
        let owner = tenant_id.map_or(PLATFORM.to_string(), |t| t.simple().to_string());
        format!("{PREFIX}{owner}_{}_{secret}", key_id.simple())
    }
}

/// What a key was created with, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyGrant {
    pub abilities: Vec<Permission>,
}

/// Permissions no key is given, whoever creates it: a key never mints keys, manages people's
/// logins or impersonates.
pub const NEVER_GRANTED: &[Permission] = &[Permission::ApiKeysManage, Permission::Impersonate];

/// Checks a new key's name, abilities (each a permission its creator holds), lifetime and rate.
pub fn check_new_key(
    v: &mut Validation,
    name: &str,
    abilities: &[String],
    creator: Role,
    expires_at: Option<Timestamp>,
    requests_per_minute: Option<u32>,
    now: Timestamp,
) -> KeyGrant {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
        v.add("name", format!("must be 1-{MAX_NAME_LEN} characters"));
    }
    let mut granted = vec![];
    if abilities.is_empty() {
        v.add("abilities", "must name at least one ability, e.g. customers:read");
    }
    for (i, a) in abilities.iter().enumerate() {
        match Permission::parse(a) {
            Some(p) if NEVER_GRANTED.contains(&p) => v.add(&format!("abilities[{i}]"), "is never given to a key"),
            Some(p) if !creator.has(p) => v.add(&format!("abilities[{i}]"), "is not one of your own rights"),
            Some(p) if granted.contains(&p) => v.add(&format!("abilities[{i}]"), "is named twice"),
            Some(p) => granted.push(p),
            None => v.add(&format!("abilities[{i}]"), "is not a known ability"),
        }
    }
    if let Some(e) = expires_at {
        if e <= now {
            v.add("expires_at", "must be in the future");
        } else if e > now + chrono::Duration::days(MAX_LIFETIME_DAYS) {
            v.add("expires_at", format!("must be within {MAX_LIFETIME_DAYS} days"));
        }
    }
    if let Some(r) = requests_per_minute
        && !(1..=crate::rate::MAX_REQUESTS_PER_MINUTE).contains(&r)
    {
        v.add("requests_per_minute", format!("must be 1-{}", crate::rate::MAX_REQUESTS_PER_MINUTE));
    }
    granted.sort();
    KeyGrant { abilities: granted }
}

/// The default end of a key's life.
pub fn default_expiry(now: Timestamp) -> Timestamp {
    now + chrono::Duration::days(MAX_LIFETIME_DAYS)
}

/// Why a presented key is refused: all read the same to the caller (401), so a guess learns nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRefusal {
    Unknown,
    Revoked,
    Expired,
}

impl StoredApiKey {
    /// Whether the key may be used at `now`.
    pub fn usable(&self, now: Timestamp) -> Result<(), KeyRefusal> {
        if self.key.revoked_at.is_some() {
            Err(KeyRefusal::Revoked)
        } else if self.key.expires_at <= now {
            Err(KeyRefusal::Expired)
        } else {
            Ok(())
        }
    }

    /// The abilities as permissions (unknown names, from a later release, grant nothing).
    pub fn permissions(&self) -> Vec<Permission> {
        self.key.abilities.iter().filter_map(|a| Permission::parse(a)).collect()
    }
}

/// The 401 every refused key gets.
pub fn refused() -> crate::Error {
    crate::Error::Unauthorized { code: "invalid_api_key", detail: "the API key is not valid".into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-12-07T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_presented_key_names_its_owner_and_item() {
        let t = Uuid::from_u128(7);
        let k = Uuid::from_u128(9);
        let secret = "A".repeat(43);
        let raw = PresentedKey::format(Some(t), k, &secret);
        assert!(raw.starts_with("isk_"));
        assert_eq!(
            PresentedKey::parse(&raw),
            Some(PresentedKey { tenant_id: Some(t), key_id: k, secret: secret.clone() })
        );
        let platform = PresentedKey::format(None, k, &secret);
        assert_eq!(PresentedKey::parse(&platform).unwrap().tenant_id, None);
        // Not keys, or broken ones.
        assert_eq!(PresentedKey::parse("eyJhbGciOi.x.y"), None);
        assert_eq!(PresentedKey::parse(&format!("isk_nope_{}_{secret}", k.simple())), None);
        assert_eq!(PresentedKey::parse(&format!("isk_platform_{}_short", k.simple())), None);
        assert_eq!(PresentedKey::parse(&format!("isk_platform_{}_{}", k.simple(), "a b".repeat(20))), None);
        assert!(PresentedKey::looks_like_key("isk_broken"));
    }

    #[test]
    fn abilities_are_a_subset_of_the_creators_rights_and_never_mint_keys() {
        let mut v = Validation::new();
        let g = check_new_key(
            &mut v,
            "Accounting sync",
            &["payments:collect".into(), "customers:read".into()],
            Role::Admin,
            None,
            Some(120),
            now(),
        );
        assert!(v.finish().is_ok());
        assert_eq!(g.abilities, vec![Permission::CustomersRead, Permission::PaymentsCollect]);

        let mut v = Validation::new();
        check_new_key(
            &mut v,
            " ",
            &[
                "api_keys:manage".into(),
                "tenants:write".into(),
                "customers:read".into(),
                "customers:read".into(),
                "x".into(),
            ],
            Role::Admin,
            Some(now()),
            Some(0),
            now(),
        );
        let Err(fields) = v.finish() else { panic!("accepted") };
        let fields: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "name",
                "abilities[0]",
                "abilities[1]",
                "abilities[3]",
                "abilities[4]",
                "expires_at",
                "requests_per_minute"
            ]
        );
        let mut v = Validation::new();
        check_new_key(&mut v, "k", &[], Role::Admin, Some(now() + chrono::Duration::days(731)), None, now());
        assert_eq!(v.finish().unwrap_err().len(), 2);
    }
}
