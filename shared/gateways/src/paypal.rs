//! PayPal Orders v2: an OAuth token (cached for its life), an order per checkout
//! (`PayPal-Request-Id` for idempotency), the buyer's approval, **capture**, the order read back
//! as the source of truth (a COMPLETED order can hold a declined capture: the capture decides),
//! refunds of a capture; webhooks verified offline as PayPal documents: RSA-SHA256 over
//! `transmission_id|transmission_time|webhook_id|crc32(raw body)` with the certificate at
//! `PAYPAL-CERT-URL`, fetched only from PayPal's hosts.

use crate::GatewayError;
use crate::certs::{self, CertSources};
use crate::http::{self, GatewayHttp, Hosts};
use crate::model::{Amount, CheckoutCreated, CheckoutRequest, PaymentState, TransactionStatus, VerifiedNotification};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};

pub const LIVE_BASE: &str = "https://api-m.paypal.com";
pub const SANDBOX_BASE: &str = "https://api-m.sandbox.paypal.com";
pub const CHECKOUT_LIFE: Duration = Duration::hours(3);

#[derive(Clone)]
pub struct PaypalAccount {
    pub client_id: String,
    pub client_secret: String,
    /// Our webhook subscription's id (signed into every notification; never taken from one).
    pub webhook_id: String,
    pub base_url: String,
    /// Set for a sandbox account whose base URL is overridden: certificates may come from there.
    pub sandbox_override: bool,
}

impl std::fmt::Debug for PaypalAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaypalAccount").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

static TOKENS: http::TokenCache = http::TokenCache::new();

fn paypal_error(status: u16, v: &serde_json::Value) -> GatewayError {
    let name = v["name"].as_str().or(v["error"].as_str()).unwrap_or("");
    let issue = v["details"][0]["issue"].as_str().or(v["error_description"].as_str()).unwrap_or("");
    GatewayError::Refused { status, detail: format!("{name} {issue}").trim().to_string() }
}

fn read(text: &str) -> Result<serde_json::Value, GatewayError> {
    serde_json::from_str(text).map_err(|e| GatewayError::Malformed(format!("{e}: {}", http::cut(text))))
}

/// An access token for the account (the cached one while it lives).
pub async fn token(client: &GatewayHttp, account: &PaypalAccount) -> Result<String, GatewayError> {
    if let Some(t) = TOKENS.get(&account.base_url, &account.client_id) {
        return Ok(t);
    }
    let req = client
        .client()
        .post(format!("{}/v1/oauth2/token", account.base_url))
        .basic_auth(&account.client_id, Some(&account.client_secret))
        .form(&[("grant_type", "client_credentials")]);
    let (status, text) = http::send(req).await?;
    let v = read(&text)?;
    let Some(t) = v["access_token"].as_str().filter(|_| (200..300).contains(&status)) else {
        return Err(paypal_error(status, &v));
    };
    TOKENS.put(&account.base_url, &account.client_id, t, v["expires_in"].as_u64().unwrap_or(3600));
    Ok(t.to_string())
}

/// Forgets the account's token (PayPal refused it).
pub fn forget_token(account: &PaypalAccount) {
    TOKENS.forget(&account.base_url, &account.client_id);
}

async fn api(
    client: &GatewayHttp,
    account: &PaypalAccount,
    method: reqwest::Method,
    path: &str,
    request_id: Option<&str>,
    body: Option<serde_json::Value>,
) -> Result<(u16, serde_json::Value), GatewayError> {
    for attempt in 0..2 {
        let token = token(client, account).await?;
        let mut req = client.client().request(method.clone(), format!("{}{path}", account.base_url)).bearer_auth(token);
        if let Some(id) = request_id {
            req = req.header("PayPal-Request-Id", id);
        }
        req = match &body {
            Some(b) => req.json(b),
            None => req.header("Content-Type", "application/json"),
        };
        let (status, text) = http::send(req).await?;
        if status == 401 && attempt == 0 {
            forget_token(account);
            continue;
        }
        if status == 404 {
            return Err(GatewayError::UnknownOrder);
        }
        let v = if text.trim().is_empty() { serde_json::Value::Null } else { read(&text)? };
        if !(200..300).contains(&status) {
            return Err(paypal_error(status, &v));
        }
        return Ok((status, v));
    }
    Err(GatewayError::Refused { status: 401, detail: "PayPal refused a fresh token".into() })
}

/// Creates an order; `request_id` makes a repeat the same order.
pub async fn create_checkout(
    client: &GatewayHttp,
    account: &PaypalAccount,
    req: &CheckoutRequest,
    request_id: &str,
    now: DateTime<Utc>,
) -> Result<CheckoutCreated, GatewayError> {
    let body = serde_json::json!({
        "intent": "CAPTURE",
        "purchase_units": [{"reference_id": req.order_id, "custom_id": req.order_id, "invoice_id": req.order_id,
            "description": req.description.chars().take(127).collect::<String>(),
            "amount": {"currency_code": req.amount.currency, "value": req.amount.decimal()}}],
        "payment_source": {"paypal": {"experience_context": {"return_url": req.return_url, "cancel_url": req.cancel_url,
            "user_action": "PAY_NOW", "shipping_preference": "NO_SHIPPING"}}},
    });
    let (_, v) =
        api(client, account, reqwest::Method::POST, "/v2/checkout/orders", Some(request_id), Some(body)).await?;
    let link = v["links"]
        .as_array()
        .and_then(|l| l.iter().find(|x| x["rel"] == "payer-action" || x["rel"] == "approve"))
        .and_then(|x| x["href"].as_str());
    match (v["id"].as_str(), link) {
        (Some(id), Some(url)) => Ok(CheckoutCreated {
            reference: id.to_string(),
            redirect_url: url.to_string(),
            expires_at: Some(now + CHECKOUT_LIFE),
        }),
        _ => Err(GatewayError::Malformed("order without id or approval link".into())),
    }
}

fn valid_paypal_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 36 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn capture_state(status: &str) -> PaymentState {
    match status {
        "COMPLETED" => PaymentState::Paid,
        "DECLINED" | "FAILED" => PaymentState::Failed,
        "REFUNDED" | "PARTIALLY_REFUNDED" => PaymentState::Refunded,
        _ => PaymentState::Pending,
    }
}

fn amount_of(v: &serde_json::Value) -> Result<Option<Amount>, GatewayError> {
    match (v["value"].as_str(), v["currency_code"].as_str()) {
        (Some(value), Some(c)) => Ok(Some(Amount::parse_decimal(value, c)?)),
        _ => Ok(None),
    }
}

/// An order as PayPal holds it: the capture's state when there is one, else the order's.
fn order_status(v: &serde_json::Value) -> Result<TransactionStatus, GatewayError> {
    let unit = &v["purchase_units"][0];
    let order_id = unit["custom_id"]
        .as_str()
        .or(unit["reference_id"].as_str())
        .ok_or_else(|| GatewayError::Malformed("order without custom_id".into()))?;
    let capture = &unit["payments"]["captures"][0];
    let (state, transaction_id, amount) = match capture["status"].as_str() {
        Some(s) => (capture_state(s), capture["id"].as_str().map(str::to_string), amount_of(&capture["amount"])?),
        None => {
            let state = match v["status"].as_str() {
                Some("VOIDED") => PaymentState::Failed,
                _ => PaymentState::Pending,
            };
            (state, None, amount_of(&unit["amount"])?)
        }
    };
    Ok(TransactionStatus {
        order_id: order_id.to_string(),
        transaction_id,
        state,
        amount,
        method: Some("paypal".into()),
    })
}

/// The order's state at PayPal (the janitor's and the browser return's source of truth).
pub async fn checkout_status(
    client: &GatewayHttp,
    account: &PaypalAccount,
    paypal_order_id: &str,
) -> Result<TransactionStatus, GatewayError> {
    order_status(&get_order(client, account, paypal_order_id).await?)
}

/// The order as PayPal holds it.
async fn get_order(
    client: &GatewayHttp,
    account: &PaypalAccount,
    paypal_order_id: &str,
) -> Result<serde_json::Value, GatewayError> {
    if !valid_paypal_id(paypal_order_id) {
        return Err(GatewayError::Malformed("order id".into()));
    }
    let path = format!("/v2/checkout/orders/{paypal_order_id}");
    Ok(api(client, account, reqwest::Method::GET, &path, None, None).await?.1)
}

/// The order's state, with an order the payer approved captured first: PayPal takes the money
/// only when the merchant captures, so a payer who approved and closed the browser before the
/// return has paid once the janitor or the `CHECKOUT.ORDER.APPROVED` event captures it (under the
/// same `request_id` as the return's capture: one capture whoever comes first).
pub async fn settle_approved(
    client: &GatewayHttp,
    account: &PaypalAccount,
    paypal_order_id: &str,
    request_id: &str,
) -> Result<TransactionStatus, GatewayError> {
    let v = get_order(client, account, paypal_order_id).await?;
    let captured = v["purchase_units"][0]["payments"]["captures"][0].is_object();
    if v["status"].as_str() == Some("APPROVED") && !captured {
        return capture(client, account, paypal_order_id, request_id).await;
    }
    order_status(&v)
}

/// An order the payer approved, from a verified `CHECKOUT.ORDER.APPROVED` event: PayPal's id of
/// the order and ours (`custom_id`). `None` for every other event.
pub fn approved_order(raw_body: &[u8]) -> Option<(String, String)> {
    let v: serde_json::Value = serde_json::from_slice(raw_body).ok()?;
    if v["event_type"].as_str() != Some("CHECKOUT.ORDER.APPROVED") {
        return None;
    }
    let r = &v["resource"];
    let unit = &r["purchase_units"][0];
    let ours = unit["custom_id"].as_str().or(unit["reference_id"].as_str())?;
    Some((r["id"].as_str()?.to_string(), ours.to_string()))
}

/// Captures an approved order (once per `request_id`; a repeat with the same id answers the same).
pub async fn capture(
    client: &GatewayHttp,
    account: &PaypalAccount,
    paypal_order_id: &str,
    request_id: &str,
) -> Result<TransactionStatus, GatewayError> {
    if !valid_paypal_id(paypal_order_id) {
        return Err(GatewayError::Malformed("order id".into()));
    }
    let path = format!("/v2/checkout/orders/{paypal_order_id}/capture");
    match api(client, account, reqwest::Method::POST, &path, Some(request_id), None).await {
        Ok((_, v)) => order_status(&v),
        // Captured already (by an earlier try under another id): the order says how.
        Err(GatewayError::Refused { status: 422, .. }) => checkout_status(client, account, paypal_order_id).await,
        Err(e) => Err(e),
    }
}

/// Refunds (part of) a capture once per `request_id`; PayPal's refund id.
pub async fn refund(
    client: &GatewayHttp,
    account: &PaypalAccount,
    capture_id: &str,
    amount: &Amount,
    request_id: &str,
) -> Result<String, GatewayError> {
    if !valid_paypal_id(capture_id) {
        return Err(GatewayError::Malformed("capture id".into()));
    }
    let body = serde_json::json!({"amount": {"value": amount.decimal(), "currency_code": amount.currency}});
    let path = format!("/v2/payments/captures/{capture_id}/refund");
    let (_, v) = api(client, account, reqwest::Method::POST, &path, Some(request_id), Some(body)).await?;
    v["id"].as_str().map(str::to_string).ok_or_else(|| GatewayError::Malformed("refund without id".into()))
}

/// The webhook's transmission headers.
#[derive(Debug, Clone, Default)]
pub struct Transmission {
    pub id: String,
    pub time: String,
    pub signature: String,
    pub cert_url: String,
    pub auth_algo: String,
}

/// `transmission_id|transmission_time|webhook_id|crc32(raw body)`: what PayPal signs.
pub fn signed_message(t: &Transmission, webhook_id: &str, raw_body: &[u8]) -> String {
    format!("{}|{}|{webhook_id}|{}", t.id, t.time, crc32fast::hash(raw_body))
}

/// PayPal's own hosts (`api.paypal.com`, `api.sandbox.paypal.com`, ...).
pub fn paypal_host(host: &str) -> bool {
    host.ends_with(".paypal.com") && host.len() > ".paypal.com".len()
}

/// Where this account's certificates may come from.
pub fn cert_sources(account: &PaypalAccount, hosts: Hosts) -> CertSources {
    CertSources {
        host_allowed: paypal_host,
        sandbox_origin: account.sandbox_override.then(|| {
            let u = reqwest::Url::parse(&account.base_url).ok();
            u.map(|u| u.origin().ascii_serialization()).unwrap_or_default()
        }),
        hosts,
    }
}

/// Verifies a webhook delivery against this account's webhook id with the certificate it points
/// to (fetched from PayPal's hosts only), then reads the event.
pub async fn verify_notification(
    client: &GatewayHttp,
    account: &PaypalAccount,
    transmission: &Transmission,
    raw_body: &[u8],
    hosts: Hosts,
) -> Result<VerifiedNotification, GatewayError> {
    if transmission.auth_algo != "SHA256withRSA" || transmission.id.is_empty() {
        return Err(GatewayError::BadSignature);
    }
    let signature = base64::engine::general_purpose::STANDARD
        .decode(transmission.signature.as_bytes())
        .map_err(|_| GatewayError::BadSignature)?;
    let key = certs::public_key(client, &transmission.cert_url, &cert_sources(account, hosts)).await?;
    let message = signed_message(transmission, &account.webhook_id, raw_body);
    certs::verify_rsa(&key, message.as_bytes(), &signature, false)?;
    read_event(raw_body)
}

/// Reads a verified event: captures say how a payment stands; other events say nothing here.
pub fn read_event(raw_body: &[u8]) -> Result<VerifiedNotification, GatewayError> {
    let v: serde_json::Value =
        serde_json::from_slice(raw_body).map_err(|e| GatewayError::Malformed(format!("event: {e}")))?;
    let id = v["id"].as_str().ok_or_else(|| GatewayError::Malformed("event without id".into()))?.to_string();
    let resource = &v["resource"];
    let status = match v["event_type"].as_str().unwrap_or_default() {
        "PAYMENT.CAPTURE.COMPLETED"
        | "PAYMENT.CAPTURE.PENDING"
        | "PAYMENT.CAPTURE.DENIED"
        | "PAYMENT.CAPTURE.REFUNDED"
        | "PAYMENT.CAPTURE.REVERSED" => {
            let order_id = resource["custom_id"]
                .as_str()
                .ok_or_else(|| GatewayError::Malformed("capture without custom_id".into()))?;
            let state = match v["event_type"].as_str() {
                Some("PAYMENT.CAPTURE.REFUNDED" | "PAYMENT.CAPTURE.REVERSED") => PaymentState::Refunded,
                _ => capture_state(resource["status"].as_str().unwrap_or_default()),
            };
            Some(TransactionStatus {
                order_id: order_id.to_string(),
                transaction_id: resource["id"].as_str().map(str::to_string),
                state,
                amount: amount_of(&resource["amount"])?,
                method: Some("paypal".into()),
            })
        }
        _ => None,
    };
    Ok(VerifiedNotification { delivery_id: id, status })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_order_approval_names_an_order_to_capture() {
        let approved = br#"{"id":"WH-1","event_type":"CHECKOUT.ORDER.APPROVED","resource":{"id":"5O190127TN364715T",
            "status":"APPROVED","purchase_units":[{"reference_id":"default","custom_id":"C0RDER1"}]}}"#;
        assert_eq!(approved_order(approved), Some(("5O190127TN364715T".into(), "C0RDER1".into())));
        let capture =
            br#"{"id":"WH-2","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{"id":"3C6","custom_id":"C0RDER1"}}"#;
        assert_eq!(approved_order(capture), None);
        let unnamed =
            br#"{"id":"WH-3","event_type":"CHECKOUT.ORDER.APPROVED","resource":{"id":"5O1","purchase_units":[{}]}}"#;
        assert_eq!(approved_order(unnamed), None);
    }

    #[test]
    fn the_signed_message_carries_the_bodys_crc32_in_decimal() {
        let t = Transmission { id: "tx-1".into(), time: "2026-12-05T10:00:00Z".into(), ..Transmission::default() };
        // zlib.crc32(b"hello") == 907060870 (Python).
        assert_eq!(signed_message(&t, "WH-1", b"hello"), "tx-1|2026-12-05T10:00:00Z|WH-1|907060870");
    }

    #[test]
    fn captures_decide_an_orders_state() {
        let v = serde_json::json!({"id": "O1", "status": "COMPLETED", "purchase_units": [{"custom_id": "C1",
            "payments": {"captures": [{"id": "CAP1", "status": "DECLINED", "amount": {"value": "10.00", "currency_code": "USD"}}]}}]});
        let s = order_status(&v).unwrap();
        assert_eq!(
            (s.state, s.order_id.as_str()),
            (PaymentState::Failed, "C1"),
            "a COMPLETED order with a declined capture"
        );
        let approved = serde_json::json!({"id": "O1", "status": "APPROVED", "purchase_units": [{"custom_id": "C1",
            "amount": {"value": "10.00", "currency_code": "USD"}}]});
        assert_eq!(order_status(&approved).unwrap().state, PaymentState::Pending);
    }
}
