//! Secrets at rest (AES-256-GCM), signatures (HMAC-SHA256) and token hashing.

use aes_gcm::aead::{Aead, KeyInit, OsRng as AeadRng, rand_core::RngCore};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the key must be 32 bytes, base64 encoded")]
    BadKey,
    #[error("the ciphertext is malformed or was not made with this key")]
    Undecryptable,
}

/// Encrypts secrets that must be readable again (router passwords, gateway keys, reset tokens).
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    pub fn from_base64_key(key_b64: &str) -> Result<Self, CryptoError> {
        let key = base64::engine::general_purpose::STANDARD
            .decode(key_b64.trim())
            .or_else(|_| B64.decode(key_b64.trim()))
            .map_err(|_| CryptoError::BadKey)?;
        Self::from_key(&key)
    }

    pub fn from_key(key: &[u8]) -> Result<Self, CryptoError> {
        if key.len() != 32 {
            return Err(CryptoError::BadKey);
        }
        Ok(Self { cipher: Aes256Gcm::new_from_slice(key).map_err(|_| CryptoError::BadKey)? })
    }

    /// `v1.<nonce>.<ciphertext>`, base64url; `aad` binds the value to its owner (e.g. the item key).
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> String {
        let mut nonce = [0u8; 12];
        AeadRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), aes_gcm::aead::Payload { msg: plaintext, aad })
            .expect("AES-GCM encryption cannot fail for in-memory data");
        format!("v1.{}.{}", B64.encode(nonce), B64.encode(ct))
    }

    pub fn open(&self, sealed: &str, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut parts = sealed.split('.');
        let (Some("v1"), Some(n), Some(c), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(CryptoError::Undecryptable);
        };
        let nonce = B64.decode(n).map_err(|_| CryptoError::Undecryptable)?;
        let ct = B64.decode(c).map_err(|_| CryptoError::Undecryptable)?;
        if nonce.len() != 12 {
            return Err(CryptoError::Undecryptable);
        }
        self.cipher
            .decrypt(Nonce::from_slice(&nonce), aes_gcm::aead::Payload { msg: &ct, aad })
            .map_err(|_| CryptoError::Undecryptable)
    }
}

/// Whether two secrets are equal, in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// HMAC-SHA256 signer for cursors and refresh tokens.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(..)")
    }
}

impl Signer {
    /// `purpose` derives a separate key per use, so a signature made for one never verifies as another.
    pub fn new(secret: &[u8], purpose: &str) -> Self {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        Self { key: mac.finalize().into_bytes().to_vec() }
    }

    pub fn sign(&self, data: &[u8]) -> [u8; 32] {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    pub fn verify(&self, data: &[u8], signature: &[u8]) -> bool {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(data);
        mac.verify_slice(signature).is_ok()
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// `n` decimal digits from the OS's CSPRNG, each uniform (a one-time code typed from an SMS).
pub fn random_digits(n: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rngs::OsRng;
    (0..n).map(|_| char::from(b'0' + rng.gen_range(0..10u8))).collect()
}

pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    AeadRng.fill_bytes(&mut buf);
    B64.encode(buf)
}

pub fn b64url_encode(data: &[u8]) -> String {
    B64.encode(data)
}

pub fn b64url_decode(data: &str) -> Option<Vec<u8>> {
    B64.decode(data).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_binding() {
        let b = SecretBox::from_key(&[7u8; 32]).unwrap();
        let s = b.seal(b"router-password", b"T#1#ROUTER#2");
        assert_eq!(b.open(&s, b"T#1#ROUTER#2").unwrap(), b"router-password");
        assert_eq!(b.open(&s, b"T#1#ROUTER#3"), Err(CryptoError::Undecryptable));
        let other = SecretBox::from_key(&[8u8; 32]).unwrap();
        assert_eq!(other.open(&s, b"T#1#ROUTER#2"), Err(CryptoError::Undecryptable));
        assert!(!s.contains("router-password"));
        assert_eq!(SecretBox::from_key(&[1u8; 16]).unwrap_err(), CryptoError::BadKey);
    }

    #[test]
    fn signer_purposes_are_separate() {
        let a = Signer::new(b"k", "cursor");
        let b = Signer::new(b"k", "refresh");
        let sig = a.sign(b"data");
        assert!(a.verify(b"data", &sig));
        assert!(!a.verify(b"datb", &sig));
        assert!(!b.verify(b"data", &sig));
    }
}
