//! Stripe Checkout: a Checkout Session per checkout (form-encoded, `Idempotency-Key`), webhooks
//! signed `Stripe-Signature: t=<unix>,v1=<hex>[,v1=...]` = HMAC-SHA256(endpoint secret,
//! `"{t}.{raw body}"`) accepted for any `v1` within 300 s (the official SDKs' tolerance), the
//! session read back for its status, refunds through `/v1/refunds`.

use crate::GatewayError;
use crate::http::{self, GatewayHttp};
use crate::model::{Amount, CheckoutCreated, CheckoutRequest, PaymentState, TransactionStatus, VerifiedNotification};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

pub const LIVE_BASE: &str = "https://api.stripe.com";
/// Signed notifications older than this are replays (the SDKs' default tolerance).
pub const TOLERANCE_SECONDS: i64 = 300;
/// Stripe's shortest session life; the payer has that long.
pub const SESSION_LIFE: Duration = Duration::minutes(30);
/// What Stripe expects back from a webhook: any 2xx.
pub const ACK: &str = "{\"received\":true}";

/// An account's credentials (opened from their sealed form only for the call).
#[derive(Clone)]
pub struct StripeAccount {
    pub secret_key: String,
    pub webhook_secret: String,
    /// `LIVE_BASE`, or for a sandbox account a checked override (a fake on 127.0.0.1).
    pub base_url: String,
}

impl std::fmt::Debug for StripeAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeAccount").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

const ZERO_DECIMAL: &[&str] =
    &["BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"];
const THREE_DECIMAL: &[&str] = &["BHD", "JOD", "KWD", "OMR", "TND"];

/// Decimals of Stripe's amount unit for a currency (its "smallest currency unit").
pub fn exponent(currency: &str) -> u32 {
    let c = currency.to_ascii_uppercase();
    if ZERO_DECIMAL.contains(&c.as_str()) {
        0
    } else if THREE_DECIMAL.contains(&c.as_str()) {
        3
    } else {
        2
    }
}

#[derive(Deserialize)]
struct Session {
    id: String,
    url: Option<String>,
    expires_at: Option<i64>,
    status: Option<String>,
    payment_status: Option<String>,
    client_reference_id: Option<String>,
    payment_intent: Option<serde_json::Value>,
    amount_total: Option<i64>,
    currency: Option<String>,
    #[serde(default)]
    payment_method_types: Vec<String>,
}

fn read<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, GatewayError> {
    serde_json::from_str(body).map_err(|e| GatewayError::Malformed(format!("{e}: {}", http::cut(body))))
}

/// Creates a Checkout Session for one payment of `req.amount`; the same `idempotency_key` always
/// gives the same session.
pub async fn create_checkout(
    client: &GatewayHttp,
    account: &StripeAccount,
    req: &CheckoutRequest,
    idempotency_key: &str,
    now: DateTime<Utc>,
) -> Result<CheckoutCreated, GatewayError> {
    let unit_amount = req.amount.in_exponent(exponent(&req.amount.currency))?.to_string();
    let expires = (now + SESSION_LIFE + Duration::seconds(30)).timestamp().to_string();
    let currency = req.amount.currency.to_ascii_lowercase();
    let mut form: Vec<(&str, &str)> = vec![
        ("mode", "payment"),
        ("line_items[0][quantity]", "1"),
        ("line_items[0][price_data][currency]", &currency),
        ("line_items[0][price_data][unit_amount]", &unit_amount),
        ("line_items[0][price_data][product_data][name]", &req.description),
        ("success_url", &req.return_url),
        ("cancel_url", &req.cancel_url),
        ("client_reference_id", &req.order_id),
        ("metadata[order_id]", &req.order_id),
        ("payment_intent_data[metadata][order_id]", &req.order_id),
        ("expires_at", &expires),
    ];
    if let Some(email) = &req.customer_email {
        form.push(("customer_email", email));
    }
    let methods: Vec<String> = (0..req.methods.len()).map(|i| format!("payment_method_types[{i}]")).collect();
    for (k, m) in methods.iter().zip(&req.methods) {
        form.push((k, m));
    }
    let call = client
        .client()
        .post(format!("{}/v1/checkout/sessions", account.base_url))
        .bearer_auth(&account.secret_key)
        .header("Idempotency-Key", idempotency_key)
        .form(&form);
    let (status, body) = http::send(call).await?;
    http::expect_success(status, &body)?;
    let s: Session = read(&body)?;
    Ok(CheckoutCreated {
        redirect_url: s.url.ok_or_else(|| GatewayError::Malformed("session without url".into()))?,
        expires_at: s.expires_at.and_then(|t| DateTime::from_timestamp(t, 0)),
        reference: s.id,
    })
}

fn session_status(s: &Session) -> Result<TransactionStatus, GatewayError> {
    let state = match (s.status.as_deref(), s.payment_status.as_deref()) {
        (_, Some("paid")) => PaymentState::Paid,
        (Some("expired"), _) => PaymentState::Expired,
        _ => PaymentState::Pending,
    };
    let amount = match (s.amount_total, &s.currency) {
        (Some(v), Some(c)) => Some(Amount::from_exponent(v, exponent(c), &c.to_ascii_uppercase())?),
        _ => None,
    };
    let transaction_id = match &s.payment_intent {
        Some(serde_json::Value::String(id)) => Some(id.clone()),
        Some(serde_json::Value::Object(pi)) => pi.get("id").and_then(|v| v.as_str()).map(str::to_string),
        _ => None,
    };
    Ok(TransactionStatus {
        order_id: s
            .client_reference_id
            .clone()
            .ok_or_else(|| GatewayError::Malformed("no client_reference_id".into()))?,
        transaction_id,
        state,
        amount,
        method: s.payment_method_types.first().cloned(),
    })
}

/// A session's state, asked at Stripe (the janitor's and the browser return's source of truth).
pub async fn checkout_status(
    client: &GatewayHttp,
    account: &StripeAccount,
    session_id: &str,
) -> Result<TransactionStatus, GatewayError> {
    if !session_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(GatewayError::Malformed("session id".into()));
    }
    let call = client
        .client()
        .get(format!("{}/v1/checkout/sessions/{session_id}", account.base_url))
        .bearer_auth(&account.secret_key);
    let (status, body) = http::send(call).await?;
    http::expect_success(status, &body)?;
    session_status(&read(&body)?)
}

/// Refunds (part of) a payment exactly once per `idempotency_key`; returns Stripe's refund id.
pub async fn refund(
    client: &GatewayHttp,
    account: &StripeAccount,
    payment_intent: &str,
    amount: &Amount,
    idempotency_key: &str,
) -> Result<String, GatewayError> {
    let value = amount.in_exponent(exponent(&amount.currency))?.to_string();
    let call = client
        .client()
        .post(format!("{}/v1/refunds", account.base_url))
        .bearer_auth(&account.secret_key)
        .header("Idempotency-Key", idempotency_key)
        .form(&[("payment_intent", payment_intent), ("amount", value.as_str())]);
    let (status, body) = http::send(call).await?;
    http::expect_success(status, &body)?;
    #[derive(Deserialize)]
    struct Refund {
        id: String,
    }
    Ok(read::<Refund>(&body)?.id)
}

/// `hex(HMAC-SHA256(secret, "{t}.{body}"))`: what a `v1` signature must be.
pub fn signature(secret: &str, t: i64, raw_body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(raw_body);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Verifies a webhook delivery (pure): the `Stripe-Signature` header against this account's
/// endpoint secret over the raw body, any `v1` (two while a secret is rolled), then its age.
pub fn verify_notification(
    signature_header: Option<&str>,
    raw_body: &[u8],
    webhook_secret: &str,
    now: DateTime<Utc>,
) -> Result<VerifiedNotification, GatewayError> {
    let header = signature_header.ok_or(GatewayError::BadSignature)?;
    let mut t = None;
    let mut v1 = Vec::new();
    for item in header.split(',') {
        match item.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1.push(v),
            _ => {}
        }
    }
    let t = t.ok_or(GatewayError::BadSignature)?;
    let expected = signature(webhook_secret, t, raw_body);
    if !v1.iter().any(|v| crate::model::same_signature(v, &expected)) {
        return Err(GatewayError::BadSignature);
    }
    if t < now.timestamp() - TOLERANCE_SECONDS {
        return Err(GatewayError::Stale(TOLERANCE_SECONDS));
    }
    #[derive(Deserialize)]
    struct Event {
        id: String,
        #[serde(rename = "type")]
        kind: String,
        data: EventData,
    }
    #[derive(Deserialize)]
    struct EventData {
        object: serde_json::Value,
    }
    let event: Event = serde_json::from_slice(raw_body).map_err(|e| GatewayError::Malformed(format!("event: {e}")))?;
    let session = || -> Result<Session, GatewayError> {
        serde_json::from_value(event.data.object.clone()).map_err(|e| GatewayError::Malformed(format!("session: {e}")))
    };
    let status = match event.kind.as_str() {
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => Some(session_status(&session()?)?),
        "checkout.session.async_payment_failed" => {
            Some(TransactionStatus { state: PaymentState::Failed, ..session_status(&session()?)? })
        }
        "checkout.session.expired" => {
            Some(TransactionStatus { state: PaymentState::Expired, ..session_status(&session()?)? })
        }
        // Other events (refunds, disputes, payouts) say nothing about a checkout's payment here.
        _ => None,
    };
    Ok(VerifiedNotification { delivery_id: event.id, status })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    // An event body and its signature at t=1767225600, computed independently with Python's
    // hmac/hashlib: hmac.new(b"whsec_test_secret", b"1767225600." + body, "sha256").hexdigest().
    const BODY: &str = r#"{"id":"evt_1","type":"checkout.session.completed","data":{"object":{"id":"cs_test_1","status":"complete","payment_status":"paid","client_reference_id":"c-1","payment_intent":"pi_1","amount_total":150050,"currency":"bdt","payment_method_types":["card"]}}}"#;
    const T: i64 = 1_767_225_600;
    const SIG: &str = "759db0d74d60548e530e90564d4431c9759bb05f8690bb64800c1a559c270344";

    fn at(t: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(t, 0).unwrap()
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_t_dot_body() {
        assert_eq!(signature(SECRET, T, BODY.as_bytes()), SIG);
    }

    #[test]
    fn a_signed_event_verifies_for_any_v1_within_tolerance() {
        let header = format!("t={T},v1=0000,v1={SIG},v0=ignored");
        let n = verify_notification(Some(&header), BODY.as_bytes(), SECRET, at(T + 299)).unwrap();
        assert_eq!(n.delivery_id, "evt_1");
        let s = n.status.unwrap();
        assert_eq!(
            (s.order_id.as_str(), s.state, s.transaction_id.as_deref()),
            ("c-1", PaymentState::Paid, Some("pi_1"))
        );
        assert_eq!(s.amount, Some(Amount::new(150_050, "BDT")));
        assert_eq!(s.method.as_deref(), Some("card"));
    }

    #[test]
    fn forged_tampered_and_replayed_events_are_refused() {
        let header = format!("t={T},v1={SIG}");
        let tampered = BODY.replace("150050", "150051");
        assert_eq!(
            verify_notification(Some(&header), tampered.as_bytes(), SECRET, at(T)),
            Err(GatewayError::BadSignature)
        );
        assert_eq!(
            verify_notification(Some(&header), BODY.as_bytes(), "whsec_other", at(T)),
            Err(GatewayError::BadSignature)
        );
        assert_eq!(verify_notification(None, BODY.as_bytes(), SECRET, at(T)), Err(GatewayError::BadSignature));
        assert_eq!(
            verify_notification(Some(&format!("v1={SIG}")), BODY.as_bytes(), SECRET, at(T)),
            Err(GatewayError::BadSignature)
        );
        // The same signature with another timestamp is another message.
        let moved = format!("t={},v1={SIG}", T + 1);
        assert_eq!(verify_notification(Some(&moved), BODY.as_bytes(), SECRET, at(T)), Err(GatewayError::BadSignature));
        assert_eq!(
            verify_notification(Some(&header), BODY.as_bytes(), SECRET, at(T + 301)),
            Err(GatewayError::Stale(300))
        );
    }

    #[test]
    fn amounts_use_stripes_unit_per_currency() {
        assert_eq!((exponent("bdt"), exponent("UGX"), exponent("KWD"), exponent("IDR")), (2, 0, 3, 2));
    }
}
