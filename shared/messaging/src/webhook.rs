//! Outgoing webhooks to an ISP's own systems, signed per the Standard Webhooks convention:
//! headers `webhook-id` (the same on every retry), `webhook-timestamp` (seconds, fresh per try)
//! and `webhook-signature` = `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")), where
//! the key is the base64 part of the endpoint's `whsec_...` secret. A receiver's Standard
//! Webhooks (or Svix) library verifies what we send.

use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::time::{Duration, Instant};

const PREFIX: &str = "whsec_";

/// A new endpoint secret: `whsec_` and 32 random bytes in base64 (shown to the ISP once).
pub fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    format!("{PREFIX}{}", base64::engine::general_purpose::STANDARD.encode(key))
}

fn key_of(secret: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix(PREFIX).unwrap_or(secret))
        .map_err(|_| "the secret is not whsec_ and base64".to_string())
}

/// The `webhook-signature` value of one message.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key_of(secret)?).map_err(|e| e.to_string())?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())))
}

/// Verifies a delivery as a receiver does: any `v1,` signature in the space-separated header,
/// compared in constant time, and the timestamp within `tolerance` of `now`.
pub fn verify(
    secret: &str,
    id: &str,
    timestamp: i64,
    signatures: &str,
    body: &[u8],
    now: i64,
    tolerance: i64,
) -> Result<(), String> {
    if (now - timestamp).abs() > tolerance {
        return Err("the timestamp is outside the tolerance".into());
    }
    let expected = sign(secret, id, timestamp, body)?;
    let ok = signatures
        .split(' ')
        .any(|s| s.starts_with("v1,") && bool::from(subtle::ConstantTimeEq::ct_eq(s.as_bytes(), expected.as_bytes())));
    if ok { Ok(()) } else { Err("no signature verifies".into()) }
}

/// One try's outcome at an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Attempt {
    /// The endpoint's HTTP status (`None`: no answer: refused, unreachable, timed out).
    pub status: Option<u16>,
    pub took_ms: u64,
    /// The start of the endpoint's answer, or why there was none.
    pub detail: String,
}

impl Attempt {
    pub fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// A client for ISPs' endpoints: every name resolved checked (no metadata, link-local or this
/// host), short deadlines, no redirects. An address written as a literal is checked before each
/// delivery (no name is resolved for it).
#[derive(Clone, Debug)]
pub struct EndpointClient {
    client: reqwest::Client,
    hosts: outbound::Hosts,
}

pub fn endpoint_client(hosts: outbound::Hosts) -> Result<EndpointClient, String> {
    let client = outbound::guarded_client_builder(Duration::from_secs(3), Duration::from_secs(10), hosts)
        .build()
        .map_err(|e| e.to_string())?;
    Ok(EndpointClient { client, hosts })
}

/// Posts a signed message to an endpoint once.
pub async fn deliver(
    endpoint: &EndpointClient,
    url: &str,
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Attempt {
    if let Err(why) = outbound::checked_url(url, endpoint.hosts) {
        return Attempt { status: None, took_ms: 0, detail: why };
    }
    let client = &endpoint.client;
    let started = Instant::now();
    let signature = match sign(secret, id, timestamp, body) {
        Ok(s) => s,
        Err(e) => return Attempt { status: None, took_ms: 0, detail: e },
    };
    let sent = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body.to_vec())
        .send()
        .await;
    let took_ms = started.elapsed().as_millis() as u64;
    match sent {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            Attempt { status: Some(status), took_ms, detail: outbound::cut(&text) }
        }
        Err(e) => Attempt { status: None, took_ms, detail: outbound::transport(&e) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_reproduce_the_standard_webhooks_test_vector() {
        // The convention's published vector (its reference libraries' tests).
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let signed = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap();
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let header = format!("v1,bm9wZQ== {signed}");
        assert!(verify(secret, id, 1614265330, &header, body, 1614265330 + 299, 300).is_ok());
        assert!(verify(secret, id, 1614265330, &signed, body, 1614265330 + 301, 300).is_err(), "stale");
        assert!(verify(secret, id, 1614265330, &signed, b"{}", 1614265330, 300).is_err(), "tampered");
        assert!(verify(secret, "msg_other", 1614265330, &signed, body, 1614265330, 300).is_err());
    }

    #[test]
    fn new_secrets_are_whsec_and_32_bytes() {
        let s = new_secret();
        assert!(s.starts_with("whsec_"));
        assert_eq!(key_of(&s).unwrap().len(), 32);
        assert_ne!(s, new_secret());
    }
}
