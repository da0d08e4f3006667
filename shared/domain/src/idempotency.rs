//! Idempotent requests: what identifies one, and what a create answers.

use crate::crypto::sha256_hex;
use uuid::Uuid;

/// A request carrying an `Idempotency-Key`.
#[derive(Debug, Clone)]
pub struct IdempotentRequest {
    pub key: String,
    /// Hash of method, path and body: the same key with another request is refused.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_covers_method_path_and_body() {
        let a = IdempotentRequest::new("k".into(), "POST", "/v1/customers", b"{}");
        assert_eq!(a.fingerprint, IdempotentRequest::new("k".into(), "POST", "/v1/customers", b"{}").fingerprint);
        assert_ne!(a.fingerprint, IdempotentRequest::new("k".into(), "POST", "/v1/customers", b"{ }").fingerprint);
        assert_ne!(a.fingerprint, IdempotentRequest::new("k".into(), "POST", "/v1/tenants", b"{}").fingerprint);
        assert_ne!(a.key_hash(Uuid::now_v7()), a.key_hash(Uuid::now_v7()));
    }
}
