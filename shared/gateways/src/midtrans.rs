//! Midtrans Snap: a Snap transaction per checkout (JSON, `Authorization: Basic
//! base64(server_key + ":")`), notifications signed `signature_key = hex(SHA-512(order_id +
//! status_code + gross_amount + server_key))` over the fields exactly as sent, the status API
//! (`GET /v2/{order_id}/status`) as the source of truth, refunds through `/v2/{order_id}/refund`.
//! Midtrans takes whole rupiah: an amount with sen is refused, never rounded.

use crate::GatewayError;
use crate::http::{self, GatewayHttp};
use crate::model::{Amount, CheckoutCreated, CheckoutRequest, PaymentState, TransactionStatus, VerifiedNotification};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha512};

pub const LIVE_SNAP: &str = "https://app.midtrans.com";
pub const LIVE_API: &str = "https://api.midtrans.com";
pub const SANDBOX_SNAP: &str = "https://app.sandbox.midtrans.com";
pub const SANDBOX_API: &str = "https://api.sandbox.midtrans.com";
/// How long the payer has (Snap's `expiry`).
pub const CHECKOUT_LIFE: Duration = Duration::minutes(60);
/// What Midtrans expects back from a notification: any 2xx within 15 s.
pub const ACK: &str = "OK";

#[derive(Clone)]
pub struct MidtransAccount {
    pub server_key: String,
    pub snap_base: String,
    pub api_base: String,
}

impl std::fmt::Debug for MidtransAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MidtransAccount")
            .field("snap_base", &self.snap_base)
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

fn authorization(account: &MidtransAccount) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{}:", account.server_key)))
}

/// Whole rupiah (Midtrans' `gross_amount` is an integer; other currencies are not offered).
fn rupiah(amount: &Amount) -> Result<i64, GatewayError> {
    if amount.currency != "IDR" {
        return Err(GatewayError::Amount(format!("Midtrans takes IDR, not {}", amount.currency)));
    }
    amount.in_exponent(0)
}

/// Creates a Snap transaction; its notifications go to `req.notify_url` when given
/// (`X-Override-Notification`), so each ISP's account has its own webhook address.
pub async fn create_checkout(
    client: &GatewayHttp,
    account: &MidtransAccount,
    req: &CheckoutRequest,
    now: DateTime<Utc>,
) -> Result<CheckoutCreated, GatewayError> {
    let mut body = serde_json::json!({
        "transaction_details": {"order_id": req.order_id, "gross_amount": rupiah(&req.amount)?},
        "item_details": [{"id": req.order_id, "name": req.description.chars().take(50).collect::<String>(),
            "price": rupiah(&req.amount)?, "quantity": 1}],
        "customer_details": {"first_name": req.customer_name, "email": req.customer_email, "phone": req.customer_phone},
        "callbacks": {"finish": req.return_url},
        "expiry": {"unit": "minutes", "duration": CHECKOUT_LIFE.num_minutes()},
    });
    if !req.methods.is_empty() {
        body["enabled_payments"] = serde_json::json!(req.methods);
    }
    let mut call = client
        .client()
        .post(format!("{}/snap/v1/transactions", account.snap_base))
        .header("Authorization", authorization(account))
        .header("Accept", "application/json")
        .json(&body);
    if let Some(url) = &req.notify_url {
        call = call.header("X-Override-Notification", url);
    }
    let (status, text) = http::send(call).await?;
    http::expect_success(status, &text)?;
    #[derive(Deserialize)]
    struct Created {
        token: String,
        redirect_url: String,
    }
    let created: Created =
        serde_json::from_str(&text).map_err(|e| GatewayError::Malformed(format!("{e}: {}", http::cut(&text))))?;
    Ok(CheckoutCreated {
        reference: created.token,
        redirect_url: created.redirect_url,
        expires_at: Some(now + CHECKOUT_LIFE),
    })
}

/// `hex(SHA-512(order_id + status_code + gross_amount + server_key))`.
pub fn signature(order_id: &str, status_code: &str, gross_amount: &str, server_key: &str) -> String {
    let mut h = Sha512::new();
    for part in [order_id, status_code, gross_amount, server_key] {
        h.update(part.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A notification or status answer, leniently: Midtrans adds fields.
#[derive(Debug, Deserialize)]
struct Report {
    order_id: Option<String>,
    status_code: Option<String>,
    gross_amount: Option<String>,
    signature_key: Option<String>,
    transaction_status: Option<String>,
    transaction_id: Option<String>,
    fraud_status: Option<String>,
    payment_type: Option<String>,
    currency: Option<String>,
}

fn state_of(transaction_status: &str, fraud_status: Option<&str>) -> Result<PaymentState, GatewayError> {
    Ok(match transaction_status {
        "settlement" => PaymentState::Paid,
        // A card capture is paid unless the fraud check holds or denies it.
        "capture" => match fraud_status {
            None | Some("accept") => PaymentState::Paid,
            Some("deny") => PaymentState::Failed,
            Some(_) => PaymentState::Pending,
        },
        "pending" | "authorize" => PaymentState::Pending,
        "deny" | "cancel" | "failure" => PaymentState::Failed,
        "expire" => PaymentState::Expired,
        "refund" | "partial_refund" => PaymentState::Refunded,
        other => return Err(GatewayError::Malformed(format!("transaction_status {other:?}"))),
    })
}

/// Checks a report's signature with this account's server key and reads it.
fn verified(report: Report, server_key: &str) -> Result<TransactionStatus, GatewayError> {
    let (Some(order_id), Some(status_code), Some(gross_amount), Some(given)) =
        (&report.order_id, &report.status_code, &report.gross_amount, &report.signature_key)
    else {
        return Err(GatewayError::BadSignature);
    };
    let expected = signature(order_id, status_code, gross_amount, server_key);
    if !crate::model::same_signature(given, &expected) {
        return Err(GatewayError::BadSignature);
    }
    let status = report.transaction_status.as_deref().ok_or_else(|| GatewayError::Malformed("no status".into()))?;
    let currency = report.currency.as_deref().unwrap_or("IDR");
    Ok(TransactionStatus {
        order_id: order_id.clone(),
        transaction_id: report.transaction_id.clone(),
        state: state_of(status, report.fraud_status.as_deref())?,
        amount: Some(Amount::parse_decimal(gross_amount, currency)?),
        method: report.payment_type.clone(),
    })
}

/// Verifies an HTTP notification (pure): its `signature_key` with this account's server key.
/// One delivery per order and status (Midtrans may send `settlement` before `pending`, and twice).
pub fn verify_notification(raw_body: &[u8], server_key: &str) -> Result<VerifiedNotification, GatewayError> {
    let report: Report =
        serde_json::from_slice(raw_body).map_err(|e| GatewayError::Malformed(format!("notification: {e}")))?;
    let status = verified(report, server_key)?;
    let delivery_id = format!("{}:{}", status.order_id, status.state.as_str());
    Ok(VerifiedNotification { delivery_id, status: Some(status) })
}

/// An order's state, asked at Midtrans and checked like a notification.
pub async fn checkout_status(
    client: &GatewayHttp,
    account: &MidtransAccount,
    order_id: &str,
) -> Result<TransactionStatus, GatewayError> {
    if !crate::model::valid_order_id(order_id) {
        return Err(GatewayError::Malformed("order id".into()));
    }
    let call = client
        .client()
        .get(format!("{}/v2/{order_id}/status", account.api_base))
        .header("Authorization", authorization(account))
        .header("Accept", "application/json");
    let (status, text) = http::send(call).await?;
    http::expect_success(status, &text)?;
    let report: Report =
        serde_json::from_str(&text).map_err(|e| GatewayError::Malformed(format!("{e}: {}", http::cut(&text))))?;
    // Until the payer picks a method, Snap's order is unknown to the status API (in the body).
    if report.status_code.as_deref() == Some("404") {
        return Err(GatewayError::UnknownOrder);
    }
    verified(report, &account.server_key)
}

/// Refunds (part of) a settled order exactly once per `refund_key`.
pub async fn refund(
    client: &GatewayHttp,
    account: &MidtransAccount,
    order_id: &str,
    amount: &Amount,
    refund_key: &str,
    reason: &str,
) -> Result<(), GatewayError> {
    if !crate::model::valid_order_id(order_id) {
        return Err(GatewayError::Malformed("order id".into()));
    }
    let call = client
        .client()
        .post(format!("{}/v2/{order_id}/refund", account.api_base))
        .header("Authorization", authorization(account))
        .header("Accept", "application/json")
        .json(&serde_json::json!({"refund_key": refund_key, "amount": rupiah(amount)?, "reason": reason}));
    let (status, text) = http::send(call).await?;
    http::expect_success(status, &text)?;
    #[derive(Deserialize)]
    struct Answer {
        status_code: Option<String>,
        status_message: Option<String>,
    }
    let a: Answer = serde_json::from_str(&text).map_err(|e| GatewayError::Malformed(e.to_string()))?;
    match a.status_code.as_deref() {
        Some("200") => Ok(()),
        Some("404") => Err(GatewayError::UnknownOrder),
        other => Err(GatewayError::Refused {
            status: other.and_then(|c| c.parse().ok()).unwrap_or(400),
            detail: a.status_message.unwrap_or_default(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // From Midtrans' docs example key; the digest computed independently with Python's hashlib:
    // hashlib.sha512(b"c-1" b"200" b"150000.00" b"SB-Mid-server-abc123cde456").hexdigest().
    const KEY: &str = "SB-Mid-server-abc123cde456";

    fn body(status: &str, amount: &str, signature: &str) -> String {
        format!(
            r#"{{"transaction_time":"2026-12-05 10:00:00","transaction_status":"{status}","transaction_id":"t-9","status_message":"midtrans payment notification","status_code":"200","signature_key":"{signature}","payment_type":"qris","order_id":"c-1","merchant_id":"M1","gross_amount":"{amount}","fraud_status":"accept","currency":"IDR","new_field":{{"x":1}}}}"#
        )
    }

    #[test]
    fn the_signature_is_sha512_of_the_fields_as_sent() {
        assert_eq!(signature("c-1", "200", "150000.00", KEY), EXPECTED);
    }

    const EXPECTED: &str = "405248c7cb27a597f94889c182d673506467ae4d4bfd1bcfd5076ac48d9904f6663ad293f9422bc1401f7a214fb9ac11ae8d78066ffba9942bdf26213ae2fb16";

    #[test]
    fn a_signed_notification_verifies_and_reads_in_minor_units() {
        let n = verify_notification(body("settlement", "150000.00", EXPECTED).as_bytes(), KEY).unwrap();
        let s = n.status.unwrap();
        assert_eq!(
            (s.state, s.amount, s.method.as_deref()),
            (PaymentState::Paid, Some(Amount::new(15_000_000, "IDR")), Some("qris"))
        );
        assert_eq!(n.delivery_id, "c-1:paid");
    }

    #[test]
    fn tampered_or_foreign_notifications_are_refused() {
        for b in [
            body("settlement", "150001.00", EXPECTED),
            body("settlement", "150000", EXPECTED), // the amount re-formatted is another message
            body("settlement", "150000.00", &EXPECTED.to_uppercase()),
            body("settlement", "150000.00", ""),
        ] {
            assert_eq!(verify_notification(b.as_bytes(), KEY).err(), Some(GatewayError::BadSignature), "{b}");
        }
        assert_eq!(
            verify_notification(body("settlement", "150000.00", EXPECTED).as_bytes(), "SB-Mid-server-other").err(),
            Some(GatewayError::BadSignature)
        );
        assert!(matches!(verify_notification(b"not json", KEY), Err(GatewayError::Malformed(_))));
    }

    #[test]
    fn statuses_map_as_midtrans_defines_them() {
        assert_eq!(state_of("capture", Some("challenge")), Ok(PaymentState::Pending));
        assert_eq!(state_of("capture", None), Ok(PaymentState::Paid));
        assert_eq!(state_of("expire", None), Ok(PaymentState::Expired));
        assert_eq!(state_of("partial_refund", None), Ok(PaymentState::Refunded));
        assert!(state_of("weird", None).is_err());
        assert!(rupiah(&Amount::new(150_050, "IDR")).is_err(), "sen cannot be paid through Midtrans");
        assert!(rupiah(&Amount::new(100, "BDT")).is_err());
    }
}
