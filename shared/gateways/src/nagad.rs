//! Nagad: a checkout in two signed and encrypted steps (`check-out/initialize`, then
//! `check-out/complete` with the challenge Nagad answered), a browser callback that carries **no
//! signature** (it only names the payment reference), and `verify/payment` as the only source of
//! truth, for the callback and for the janitor alike. Nagad sends no server-to-server
//! notification and has no public refund API: refunds are made in Nagad's merchant panel.
//!
//! Every request's sensitive part is a JSON text encrypted with Nagad's public key (RSA PKCS#1
//! v1.5) and signed with the merchant's private key; every answer's is encrypted with the
//! merchant's public key and signed by Nagad. The signed text is byte for byte the encrypted one.
//!
//! Unverified in public sources (see the research notes), and chosen here:
//! - the signature hash: Nagad's guide v3.3 says SHA1withRSA, Nagad's own PHP sample and the
//!   maintained libraries sign with SHA256withRSA. We sign with SHA-256 and accept Nagad's
//!   signatures in either.
//! - an error answer from `verify/payment` (`{reason, message}`) means the reference is not one
//!   of Nagad's (the call carries no merchant credential that could be refused).
//! - `PartialCancelled` (part of a paid payment given back in the panel) reads as refunded.

use crate::GatewayError;
use crate::http::{self, GatewayHttp};
use crate::model::{Amount, CheckoutCreated, CheckoutRequest, PaymentState, TransactionStatus};
use aws_lc_rs::rsa::{Pkcs1PrivateDecryptingKey, Pkcs1PublicEncryptingKey, PrivateDecryptingKey, PublicEncryptingKey};
use aws_lc_rs::signature::{self, RsaKeyPair, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

pub const LIVE_BASE: &str = "https://api.mynagad.com";
pub const SANDBOX_BASE: &str = "https://sandbox-ssl.mynagad.com:10061/remote-payment-gateway-1.0";
pub const API_VERSION: &str = "v-0.2.0";
/// Nagad's code for taka.
pub const CURRENCY_CODE: &str = "050";
pub const CHECKOUT_LIFE: Duration = Duration::minutes(30);

#[derive(Clone)]
pub struct NagadAccount {
    pub merchant_id: String,
    /// The merchant's private key as Nagad's panel gives it: base64 DER (PKCS#8 or PKCS#1), with
    /// or without PEM armour.
    pub merchant_private_key: String,
    /// Nagad's public key for this merchant: base64 DER (SubjectPublicKeyInfo), PEM or not.
    pub pg_public_key: String,
    pub base_url: String,
}

impl std::fmt::Debug for NagadAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NagadAccount")
            .field("merchant_id", &self.merchant_id)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// The account's two keys, read.
pub struct NagadKeys {
    signing: RsaKeyPair,
    decrypting: Pkcs1PrivateDecryptingKey,
    encrypting: Pkcs1PublicEncryptingKey,
    pg_public: Vec<u8>,
}

/// The DER inside a key as people paste it: PEM armour, line breaks and spaces ignored.
pub fn key_der(text: &str) -> Result<Vec<u8>, String> {
    let body: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("-----"))
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    B64.decode(body.as_bytes()).map_err(|_| "is not base64 (or PEM)".to_string())
}

/// A PKCS#1 `RSAPrivateKey` wrapped as PKCS#8 (`PrivateKeyInfo` with rsaEncryption), so keys
/// exported either way read alike.
fn pkcs8_of_pkcs1(pkcs1: &[u8]) -> Vec<u8> {
    fn der(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
        out.extend_from_slice(content);
        out
    }
    // SEQUENCE { OID 1.2.840.113549.1.1.1, NULL }
    const RSA_ALGORITHM: [u8; 15] =
        [0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];
    let mut info = vec![0x02, 0x01, 0x00];
    info.extend_from_slice(&RSA_ALGORITHM);
    info.extend(der(0x04, pkcs1));
    der(0x30, &info)
}

impl NagadAccount {
    /// Reads the keys: what is wrong with each, by credential name, when they do not read.
    pub fn keys(&self) -> Result<NagadKeys, Vec<(&'static str, String)>> {
        let mut problems = Vec::new();
        let private = key_der(&self.merchant_private_key).and_then(|der| {
            let pkcs8 = if RsaKeyPair::from_pkcs8(&der).is_ok() { der } else { pkcs8_of_pkcs1(&der) };
            let signing = RsaKeyPair::from_pkcs8(&pkcs8).map_err(|e| format!("is not an RSA private key ({e})"))?;
            let decrypting = PrivateDecryptingKey::from_pkcs8(&pkcs8)
                .map_err(|e| format!("is not an RSA private key ({e})"))
                .and_then(|k| Pkcs1PrivateDecryptingKey::new(k).map_err(|_| "is not an RSA private key".to_string()))?;
            Ok((signing, decrypting))
        });
        let public = key_der(&self.pg_public_key).and_then(|der| {
            let key = PublicEncryptingKey::from_der(&der).map_err(|e| format!("is not an RSA public key ({e})"))?;
            let encrypting = Pkcs1PublicEncryptingKey::new(key).map_err(|_| "is not an RSA public key".to_string())?;
            Ok((encrypting, der))
        });
        if let Err(e) = &private {
            problems.push(("merchant_private_key", e.clone()));
        }
        if let Err(e) = &public {
            problems.push(("pg_public_key", e.clone()));
        }
        match (private, public) {
            (Ok((signing, decrypting)), Ok((encrypting, pg_public))) => {
                Ok(NagadKeys { signing, decrypting, encrypting, pg_public })
            }
            _ => Err(problems),
        }
    }

    fn read_keys(&self) -> Result<NagadKeys, GatewayError> {
        self.keys().map_err(|p| GatewayError::Refused {
            status: 401,
            detail: p.into_iter().map(|(k, e)| format!("{k} {e}")).collect::<Vec<_>>().join("; "),
        })
    }
}

impl NagadKeys {
    /// `{sensitiveData, signature}` of a JSON text: encrypted for Nagad, signed by the merchant.
    pub fn seal(&self, plain: &str) -> Result<(String, String), GatewayError> {
        let mut cipher = vec![0u8; self.encrypting.ciphertext_size()];
        let cipher = self
            .encrypting
            .encrypt(plain.as_bytes(), &mut cipher)
            .map_err(|_| GatewayError::Malformed("the request is too long for Nagad's key".into()))?;
        let mut sig = vec![0u8; self.signing.public_modulus_len()];
        self.signing
            .sign(&signature::RSA_PKCS1_SHA256, &aws_lc_rs::rand::SystemRandom::new(), plain.as_bytes(), &mut sig)
            .map_err(|_| GatewayError::Malformed("signing failed".into()))?;
        Ok((B64.encode(cipher), B64.encode(sig)))
    }

    /// The JSON text of Nagad's `{sensitiveData, signature}`, once its signature verifies.
    pub fn open(&self, sensitive: &str, signature_b64: &str) -> Result<String, GatewayError> {
        let cipher = B64.decode(sensitive.trim()).map_err(|_| GatewayError::Malformed("sensitiveData".into()))?;
        let mut plain = vec![0u8; self.decrypting.min_output_size()];
        let plain = self.decrypting.decrypt(&cipher, &mut plain).map_err(|_| GatewayError::BadSignature)?.to_vec();
        let sig = B64.decode(signature_b64.trim()).map_err(|_| GatewayError::BadSignature)?;
        let verifies = |alg: &'static signature::RsaParameters| {
            UnparsedPublicKey::new(alg, &self.pg_public).verify(&plain, &sig).is_ok()
        };
        if !verifies(&signature::RSA_PKCS1_2048_8192_SHA256)
            && !verifies(&signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY)
        {
            return Err(GatewayError::BadSignature);
        }
        String::from_utf8(plain).map_err(|_| GatewayError::Malformed("sensitiveData is not UTF-8".into()))
    }
}

/// Nagad's clock: Dhaka time, `yyyyMMddHHmmss`.
pub fn nagad_time(at: DateTime<Utc>) -> String {
    let dhaka = FixedOffset::east_opt(6 * 3600).expect("UTC+6");
    at.with_timezone(&dhaka).format("%Y%m%d%H%M%S").to_string()
}

/// 40 random hex digits: the merchant's challenge Nagad must send back.
fn challenge() -> Result<String, GatewayError> {
    let mut bytes = [0u8; 20];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| GatewayError::Unavailable("no randomness".into()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The headers every Nagad call carries. `X-KM-IP-V4` is the payer's address (the platform's own
/// when there is no payer, as for the janitor).
fn with_headers(call: reqwest::RequestBuilder, account: &NagadAccount, payer_ip: &str) -> reqwest::RequestBuilder {
    call.header("X-KM-Api-Version", API_VERSION)
        .header("X-KM-IP-V4", payer_ip)
        .header("X-KM-Client-Type", "PC_WEB")
        .header("X-KM-MC-Id", &account.merchant_id)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InitializeSensitive<'a> {
    merchant_id: &'a str,
    datetime: &'a str,
    order_id: &'a str,
    challenge: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Initialized {
    payment_reference_id: String,
    challenge: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CompleteSensitive<'a> {
    merchant_id: &'a str,
    order_id: &'a str,
    currency_code: &'a str,
    amount: &'a str,
    challenge: &'a str,
}

/// Nagad's error answer (`{reason, message}`), if this is one.
fn refusal(status: u16, text: &str) -> Option<GatewayError> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let reason = v["reason"].as_str()?;
    let message = v["message"].as_str().unwrap_or_default();
    Some(GatewayError::Refused {
        status: if status < 400 { 400 } else { status },
        detail: format!("{reason}: {message}"),
    })
}

fn json_of(text: &str) -> Result<serde_json::Value, GatewayError> {
    serde_json::from_str(text).map_err(|e| GatewayError::Malformed(format!("{e}: {}", http::cut(text))))
}

/// Initializes a payment for our order: Nagad's payment reference and its challenge.
async fn initialize(
    client: &GatewayHttp,
    account: &NagadAccount,
    keys: &NagadKeys,
    order_id: &str,
    payer_ip: &str,
    now: DateTime<Utc>,
) -> Result<Initialized, GatewayError> {
    let datetime = nagad_time(now);
    let ours = challenge()?;
    let plain = serde_json::to_string(&InitializeSensitive {
        merchant_id: &account.merchant_id,
        datetime: &datetime,
        order_id,
        challenge: &ours,
    })
    .expect("plain JSON");
    let (sensitive, signature) = keys.seal(&plain)?;
    let url = format!("{}/api/dfs/check-out/initialize/{}/{order_id}", account.base_url, account.merchant_id);
    let body = serde_json::json!({"dateTime": datetime, "sensitiveData": sensitive, "signature": signature});
    let (status, text) = http::send(with_headers(client.client().post(url), account, payer_ip).json(&body)).await?;
    if let Some(refused) = refusal(status, &text) {
        return Err(refused);
    }
    http::expect_success(status, &text)?;
    let v = json_of(&text)?;
    let (Some(sensitive), Some(signature)) = (v["sensitiveData"].as_str(), v["signature"].as_str()) else {
        return Err(GatewayError::Malformed(format!("no sensitiveData: {}", http::cut(&text))));
    };
    let opened = keys.open(sensitive, signature)?;
    let init: Initialized = serde_json::from_str(&opened).map_err(|e| GatewayError::Malformed(e.to_string()))?;
    if init.payment_reference_id.is_empty() || init.challenge.is_empty() {
        return Err(GatewayError::Malformed("no payment reference or challenge".into()));
    }
    Ok(init)
}

/// Creates a checkout: initialize, then complete with Nagad's challenge; the payer goes to the
/// `callBackUrl` Nagad answers. Taka only.
pub async fn create_checkout(
    client: &GatewayHttp,
    account: &NagadAccount,
    req: &CheckoutRequest,
    payer_ip: &str,
    now: DateTime<Utc>,
) -> Result<CheckoutCreated, GatewayError> {
    if req.amount.currency != "BDT" {
        return Err(GatewayError::Amount(format!("Nagad takes BDT, not {}", req.amount.currency)));
    }
    let keys = account.read_keys()?;
    let init = initialize(client, account, &keys, &req.order_id, payer_ip, now).await?;
    let amount = req.amount.decimal();
    let plain = serde_json::to_string(&CompleteSensitive {
        merchant_id: &account.merchant_id,
        order_id: &req.order_id,
        currency_code: CURRENCY_CODE,
        amount: &amount,
        challenge: &init.challenge,
    })
    .expect("plain JSON");
    let (sensitive, signature) = keys.seal(&plain)?;
    let url = format!("{}/api/dfs/check-out/complete/{}", account.base_url, init.payment_reference_id);
    let body = serde_json::json!({
        "sensitiveData": sensitive, "signature": signature, "merchantCallbackURL": req.return_url,
        "additionalMerchantInfo": {"invoice": req.description},
    });
    let (status, text) = http::send(with_headers(client.client().post(url), account, payer_ip).json(&body)).await?;
    if let Some(refused) = refusal(status, &text) {
        return Err(refused);
    }
    http::expect_success(status, &text)?;
    let v = json_of(&text)?;
    match (v["status"].as_str(), v["callBackUrl"].as_str()) {
        (Some("Success"), Some(url)) => Ok(CheckoutCreated {
            reference: init.payment_reference_id,
            redirect_url: url.to_string(),
            expires_at: Some(now + CHECKOUT_LIFE),
        }),
        _ => Err(GatewayError::Refused { status, detail: http::cut(&text) }),
    }
}

/// What a browser callback names: our order and Nagad's payment reference. Nothing else in it
/// (its `status` included) is trusted: Nagad does not sign it; ask [`checkout_status`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub order_id: String,
    pub payment_ref_id: String,
}

pub fn callback_of(query: &str) -> Result<Callback, GatewayError> {
    let fields = http::form_fields(query.as_bytes())?;
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let order_id = field("order_id").filter(|v| crate::model::valid_order_id(v));
    let payment_ref_id = field("payment_ref_id").filter(|v| valid_reference(v));
    match (order_id, payment_ref_id) {
        (Some(order_id), Some(payment_ref_id)) => Ok(Callback { order_id, payment_ref_id }),
        _ => Err(GatewayError::Malformed("no order_id or payment_ref_id".into())),
    }
}

/// A payment reference as Nagad writes them (it goes into a URL path).
fn valid_reference(r: &str) -> bool {
    !r.is_empty() && r.len() <= 100 && r.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Verified {
    merchant_id: Option<String>,
    order_id: Option<String>,
    payment_ref_id: Option<String>,
    amount: Option<serde_json::Value>,
    status: Option<String>,
}

fn state_of(status: &str) -> PaymentState {
    match status {
        "Success" => PaymentState::Paid,
        "Cancelled" | "InvalidRequest" | "Fraud" | "Aborted" | "UnKnownFailed" | "Failed" => PaymentState::Failed,
        "PartialCancelled" => PaymentState::Refunded,
        // OrderInitiated, Ready, InProgress, OtpSent, OtpVerified, PinGiven, and anything new.
        _ => PaymentState::Pending,
    }
}

/// `verify/payment` for Nagad's payment reference: the answer must be this merchant's.
pub async fn checkout_status(
    client: &GatewayHttp,
    account: &NagadAccount,
    payment_ref_id: &str,
    payer_ip: &str,
) -> Result<TransactionStatus, GatewayError> {
    if !valid_reference(payment_ref_id) {
        return Err(GatewayError::UnknownOrder);
    }
    let url = format!("{}/api/dfs/verify/payment/{payment_ref_id}", account.base_url);
    let (status, text) = http::send(with_headers(client.client().get(url), account, payer_ip)).await?;
    if refusal(status, &text).is_some() {
        return Err(GatewayError::UnknownOrder);
    }
    http::expect_success(status, &text)?;
    let v: Verified = serde_json::from_str(&text).map_err(|e| GatewayError::Malformed(e.to_string()))?;
    let (Some(order_id), Some(state)) = (v.order_id, v.status.as_deref().map(state_of)) else {
        return Err(GatewayError::Malformed(format!("no orderId or status: {}", http::cut(&text))));
    };
    if v.merchant_id.as_deref() != Some(account.merchant_id.as_str())
        || v.payment_ref_id.as_deref().is_some_and(|r| r != payment_ref_id)
    {
        return Err(GatewayError::Malformed("the answer is about another merchant or payment".into()));
    }
    let amount = match &v.amount {
        Some(serde_json::Value::String(a)) => Some(Amount::parse_decimal(a, "BDT")?),
        Some(serde_json::Value::Number(n)) => Some(Amount::parse_decimal(&n.to_string(), "BDT")?),
        _ => None,
    };
    Ok(TransactionStatus {
        order_id,
        transaction_id: Some(payment_ref_id.to_string()),
        state,
        amount,
        method: Some("nagad".into()),
    })
}

/// Tests the account: an initialize for a probe order proves Nagad took the merchant's signature
/// and that its answer opens with the merchant's key and verifies with Nagad's.
pub async fn check_account(
    client: &GatewayHttp,
    account: &NagadAccount,
    probe_order: &str,
    now: DateTime<Utc>,
) -> Result<(), GatewayError> {
    let keys = account.read_keys()?;
    initialize(client, account, &keys, probe_order, "127.0.0.1", now).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callbacks_only_name_an_order_and_a_reference() {
        let q = "merchant=683002007104225&order_id=Cabc&payment_ref_id=MDEyMzQ1Njc4.OTAx&status=Success&status_code=00_0000_000";
        assert_eq!(
            callback_of(q).unwrap(),
            Callback { order_id: "Cabc".into(), payment_ref_id: "MDEyMzQ1Njc4.OTAx".into() }
        );
        assert!(callback_of("order_id=Cabc&status=Success").is_err());
        assert!(callback_of("order_id=Cabc&payment_ref_id=..%2F..%2Fadmin%20x").is_err());
    }

    #[test]
    fn statuses_read_as_the_guide_buckets_them() {
        assert_eq!(state_of("Success"), PaymentState::Paid);
        for s in ["Cancelled", "InvalidRequest", "Fraud", "Aborted", "UnKnownFailed", "Failed"] {
            assert_eq!(state_of(s), PaymentState::Failed, "{s}");
        }
        for s in ["OrderInitiated", "Ready", "InProgress", "OtpSent", "OtpVerified", "PinGiven", "Whatever"] {
            assert_eq!(state_of(s), PaymentState::Pending, "{s}");
        }
        assert_eq!(state_of("PartialCancelled"), PaymentState::Refunded);
    }

    #[test]
    fn dhaka_time_is_six_hours_ahead() {
        let at = DateTime::parse_from_rfc3339("2026-12-31T18:30:05Z").unwrap().with_timezone(&Utc);
        assert_eq!(nagad_time(at), "20270101003005");
    }

    #[test]
    fn keys_read_as_pasted_and_each_problem_is_named() {
        let merchant = crate::testing::FAKE_MERCHANT_KEY_PEM;
        let pg_public = crate::testing::public_key_base64(crate::testing::FAKE_RSA_KEY_PEM);
        let account = |private: &str, public: &str| NagadAccount {
            merchant_id: "683002007104225".into(),
            merchant_private_key: private.into(),
            pg_public_key: public.into(),
            base_url: SANDBOX_BASE.into(),
        };
        // PEM, bare base64 on one line, and PKCS#1 all read.
        assert!(account(merchant, &pg_public).keys().is_ok());
        let bare: String = merchant.lines().filter(|l| !l.starts_with("-----")).collect();
        assert!(account(&bare, &pg_public).keys().is_ok());
        let pkcs8 = key_der(merchant).unwrap();
        // The PKCS#1 key is the last OCTET STRING of the PKCS#8 structure (26 bytes of header
        // for a 2048-bit key: SEQUENCE, version, algorithm, OCTET STRING header).
        let pkcs1 = B64.encode(&pkcs8[26..]);
        assert!(account(&pkcs1, &pg_public).keys().is_ok(), "PKCS#1 reads too");
        let problems = account("not a key", "MIIB").keys().err().unwrap();
        let names: Vec<_> = problems.iter().map(|(k, _)| *k).collect();
        assert_eq!(names, ["merchant_private_key", "pg_public_key"]);
    }

    #[test]
    fn what_is_sealed_for_nagad_opens_only_with_nagads_key_and_verifies_with_the_merchants() {
        use crate::testing::{FAKE_MERCHANT_KEY_PEM, FAKE_RSA_KEY_PEM, public_key_base64};
        // The merchant's view and Nagad's view of the same two key pairs.
        let merchant = NagadAccount {
            merchant_id: "m".into(),
            merchant_private_key: FAKE_MERCHANT_KEY_PEM.into(),
            pg_public_key: public_key_base64(FAKE_RSA_KEY_PEM),
            base_url: SANDBOX_BASE.into(),
        }
        .keys()
        .unwrap();
        let nagad = NagadAccount {
            merchant_id: "m".into(),
            merchant_private_key: FAKE_RSA_KEY_PEM.into(),
            pg_public_key: public_key_base64(FAKE_MERCHANT_KEY_PEM),
            base_url: SANDBOX_BASE.into(),
        }
        .keys()
        .unwrap();
        let plain = r#"{"merchantId":"m","orderId":"C1","challenge":"ab"}"#;
        let (sensitive, sig) = merchant.seal(plain).unwrap();
        assert_eq!(nagad.open(&sensitive, &sig).unwrap(), plain);
        assert_eq!(merchant.open(&sensitive, &sig).err(), Some(GatewayError::BadSignature), "not for the merchant");
        let (other_sensitive, _) = merchant.seal(r#"{"orderId":"C2"}"#).unwrap();
        assert_eq!(
            nagad.open(&other_sensitive, &sig).err(),
            Some(GatewayError::BadSignature),
            "signature of another text"
        );
    }
}
