//! `Idempotency-Key`: the first answer is stored in the same transaction as the change it reports,
//! so a repeat (also a concurrent one) returns that answer and never executes twice.

use crate::App;
use crate::support::StoreResultExt;
use domain::crypto::sha256_hex;
use domain::{Error, Result};
use store::Owner;
use store::tx::IdempotencyRecord;
use uuid::Uuid;

/// An idempotent request as the handler saw it.
#[derive(Debug, Clone)]
pub struct IdempotentRequest {
    pub key: String,
    /// Hash of method, path and body.
    pub fingerprint: String,
}

impl IdempotentRequest {
    pub fn new(key: String, method: &str, path: &str, body: &[u8]) -> Self {
        let mut data = Vec::with_capacity(body.len() + 64);
        data.extend_from_slice(method.as_bytes());
        data.push(b' ');
        data.extend_from_slice(path.as_bytes());
        data.push(b'\n');
        data.extend_from_slice(body);
        Self { key, fingerprint: sha256_hex(&data) }
    }

    /// Keys are per caller: two users may pick the same key without colliding.
    pub fn key_hash(&self, caller: Uuid) -> String {
        sha256_hex(format!("{caller}\n{}", self.key).as_bytes())
    }
}

/// What a create answers: a fresh result, or the stored first answer to a repeated request.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<T> {
    Fresh(T),
    Replay { status: u16, body: String },
}

pub fn record(req: &IdempotentRequest, status: u16, body: &impl serde::Serialize, app: &App) -> Result<IdempotencyRecord> {
    Ok(IdempotencyRecord {
        fingerprint: req.fingerprint.clone(),
        status,
        body: serde_json::to_string(body).map_err(|e| Error::Internal(e.to_string()))?,
        created_at: app.now(),
    })
}

/// The stored answer for a key whose transaction lost to an earlier one.
pub async fn replay<T>(app: &App, owner: Owner, caller: Uuid, req: &IdempotentRequest) -> Result<Outcome<T>> {
    let k = store::keys::idempotency(owner, &req.key_hash(caller));
    let rec: IdempotencyRecord = app
        .store
        .get(&k)
        .await
        .or_500()?
        .ok_or_else(|| Error::Internal("idempotency record vanished".into()))?;
    if rec.fingerprint != req.fingerprint {
        return Err(Error::Unprocessable {
            code: "idempotency_key_reused",
            detail: "this Idempotency-Key was used for a different request".into(),
        });
    }
    Ok(Outcome::Replay { status: rec.status, body: rec.body })
}
