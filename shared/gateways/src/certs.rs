//! Signing certificates a gateway points its notifications at (PayPal's `PAYPAL-CERT-URL`, and
//! SNS's `SigningCertURL` for bKash): fetched only over `https` from the gateway's own hosts (or,
//! for a sandbox account, from the host its base URL names, so a flow can run against a fake),
//! cached by URL for the life of the process, and used to verify RSA PKCS#1 v1.5 signatures.

use crate::GatewayError;
use crate::http::{self, GatewayHttp, Hosts};
use std::collections::HashMap;
use std::sync::Mutex;

/// Where certificates may come from: the gateway's hosts (a rule on the host name) and, for a
/// sandbox account, the exact origin of its base URL.
#[derive(Debug, Clone)]
pub struct CertSources {
    pub host_allowed: fn(&str) -> bool,
    pub sandbox_origin: Option<String>,
    pub hosts: Hosts,
}

/// Public keys (DER `RSAPublicKey`) by certificate URL.
static CACHE: Mutex<Option<HashMap<String, Vec<u8>>>> = Mutex::new(None);

/// Checks a certificate URL against the sources: `https` on an allowed host, or the sandbox
/// account's own origin.
pub fn allowed(url: &str, sources: &CertSources) -> Result<reqwest::Url, GatewayError> {
    let refused = |why: &str| GatewayError::AddressRefused(format!("certificate URL {url}: {why}"));
    let parsed = reqwest::Url::parse(url).map_err(|e| refused(&e.to_string()))?;
    let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
    if let Some(origin) = &sources.sandbox_origin
        && url.starts_with(&format!("{origin}/"))
    {
        http::checked_base_url(origin, sources.hosts)?;
        return Ok(parsed);
    }
    if parsed.scheme() != "https" || parsed.port().is_some() {
        return Err(refused("https on the standard port only"));
    }
    if !(sources.host_allowed)(&host) {
        return Err(refused("not one of the gateway's hosts"));
    }
    if !parsed.path().ends_with(".pem") && !parsed.path().contains("/certs/") {
        return Err(refused("not a certificate path"));
    }
    Ok(parsed)
}

/// The RSA public key of a PEM certificate (DER `RSAPublicKey`, as ring verifies with).
pub fn rsa_public_key(pem_text: &[u8]) -> Result<Vec<u8>, GatewayError> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem_text)
        .map_err(|e| GatewayError::Malformed(format!("certificate PEM: {e}")))?;
    let cert = pem.parse_x509().map_err(|e| GatewayError::Malformed(format!("certificate: {e}")))?;
    Ok(cert.tbs_certificate.subject_pki.subject_public_key.data.to_vec())
}

/// Fetches (once per URL per process) the certificate at `url` and returns its public key.
pub async fn public_key(client: &GatewayHttp, url: &str, sources: &CertSources) -> Result<Vec<u8>, GatewayError> {
    let checked = allowed(url, sources)?;
    if let Some(key) = CACHE.lock().expect("certificate cache").as_ref().and_then(|m| m.get(url)).cloned() {
        return Ok(key);
    }
    let (status, body) = http::send(client.client().get(checked)).await?;
    http::expect_success(status, &body)?;
    let key = rsa_public_key(body.as_bytes())?;
    CACHE.lock().expect("certificate cache").get_or_insert_with(HashMap::new).insert(url.to_string(), key.clone());
    Ok(key)
}

/// RSA PKCS#1 v1.5 verification of `signature` over `message` with SHA-256 (or SHA-1, which SNS's
/// signature version 1 still uses).
pub fn verify_rsa(public_key: &[u8], message: &[u8], signature: &[u8], sha1: bool) -> Result<(), GatewayError> {
    let alg: &dyn aws_lc_rs::signature::VerificationAlgorithm = if sha1 {
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY
    } else {
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256
    };
    aws_lc_rs::signature::UnparsedPublicKey::new(alg, public_key)
        .verify(message, signature)
        .map_err(|_| GatewayError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SNS's signature version 1 is SHA-1: a signature made by `openssl dgst -sha1 -sign` with the
    /// fakes' test key over a fixed string, verified here (ring cannot make SHA-1 signatures).
    #[test]
    fn sha1_and_sha256_signatures_verify_and_others_do_not() {
        use base64::Engine;
        let (_, pem) = x509_parser::pem::parse_x509_pem(crate::testing::FAKE_RSA_KEY_PEM.as_bytes()).unwrap();
        let pair = aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&pem.contents).unwrap();
        let public = aws_lc_rs::signature::KeyPair::public_key(&pair).as_ref().to_vec();
        let message = b"Message\nhello\nType\nNotification\n";
        let sha1 = base64::engine::general_purpose::STANDARD.decode(SHA1_VECTOR).unwrap();
        assert_eq!(verify_rsa(&public, message, &sha1, true), Ok(()));
        assert_eq!(verify_rsa(&public, message, &sha1, false), Err(GatewayError::BadSignature));
        assert_eq!(
            verify_rsa(&public, b"Message\nhellO\nType\nNotification\n", &sha1, true),
            Err(GatewayError::BadSignature)
        );
        let sha256 =
            base64::engine::general_purpose::STANDARD.decode(crate::testing::sign_rsa_sha256(message)).unwrap();
        assert_eq!(verify_rsa(&public, message, &sha256, false), Ok(()));
    }

    const SHA1_VECTOR: &str = "CMihAC8hok7YCDQION+v8grFzy0hkQmNEgfUEg+t6lplAr6gfgLOB33mvu0QegF0rHqc/gU+KesKJhtf5MS2QpBTn9x8G1Y2stzDMCA6gRy6xXIQ7xGSP4pvc5pVf2BuZUC5/PrOEpT0K1yJvlZbGee7oMBfKS2N98ltb6KN5LMpI8/umabn0CYy4xVCNSS2mubnJlJ3TFC9Nq5ti24gjt76VrQNLYR6YAtdrnJbkLVHc8JMPlBnW9Os0lvxYz86LJk/QO5LQMg0LjQ4Qhg+2+8e92OK/D4+L92FZbA3oTbc56FNvnvrdDB18Qn0rO0pW6NpXUz/OEmYjFqrrVStww==";

    fn paypal(sandbox_origin: Option<&str>) -> CertSources {
        CertSources {
            host_allowed: crate::paypal::paypal_host,
            sandbox_origin: sandbox_origin.map(str::to_string),
            hosts: Hosts { allow_loopback: true },
        }
    }

    #[test]
    fn certificates_come_only_from_the_gateways_hosts() {
        assert!(
            allowed("https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77", &paypal(None))
                .is_ok()
        );
        assert!(allowed("https://api.sandbox.paypal.com/v1/notifications/certs/x", &paypal(None)).is_ok());
        for bad in [
            "http://api.paypal.com/v1/notifications/certs/x",
            "https://api.paypal.com.evil.example/v1/notifications/certs/x",
            "https://evilpaypal.com/v1/notifications/certs/x",
            "https://paypal.com/v1/notifications/certs/x",
            "https://api.paypal.com:8443/v1/notifications/certs/x",
            "https://169.254.169.254/latest/cert.pem",
            "https://api.paypal.com/index.html",
        ] {
            assert!(allowed(bad, &paypal(None)).is_err(), "{bad}");
        }
        // A sandbox account pointed at a fake may take certificates from the fake.
        let fake = paypal(Some("http://127.0.0.1:4100"));
        assert!(allowed("http://127.0.0.1:4100/v1/certs/fake.pem", &fake).is_ok());
        assert!(allowed("http://127.0.0.1:4101/v1/certs/fake.pem", &fake).is_err());
    }
}
