//! bKash Tokenized Checkout (v1.2.0-beta): a token grant (cached for its life), `create` (mode
//! `0011`: checkout URL without an agreement), the payer's approval in bKash's app, then **execute**
//! (with a fall back to `payment/status` when execute fails or times out, as bKash's own plugin
//! does), refunds through `payment/refund`. The browser callback's `signature` has no published
//! algorithm: the callback only names a payment, whose state comes from execute or the status API.
//! The optional webhook (a bKash-provisioned product) arrives as AWS SNS messages: verified with
//! SNS's signature over the certificate from SNS's own hosts, the topic pinned ([`verify_sns`]).

use crate::GatewayError;
use crate::http::{self, GatewayHttp};
use crate::model::{Amount, CheckoutCreated, CheckoutRequest, PaymentState, TransactionStatus, VerifiedNotification};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

pub const LIVE_BASE: &str = "https://tokenized.pay.bka.sh/v1.2.0-beta/tokenized/checkout";
pub const SANDBOX_BASE: &str = "https://tokenized.sandbox.bka.sh/v1.2.0-beta/tokenized/checkout";
/// bKash's payment window.
pub const CHECKOUT_LIFE: Duration = Duration::minutes(15);

#[derive(Clone)]
pub struct BkashAccount {
    pub app_key: String,
    pub app_secret: String,
    pub username: String,
    pub password: String,
    pub base_url: String,
}

impl std::fmt::Debug for BkashAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BkashAccount").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

static TOKENS: http::TokenCache = http::TokenCache::new();

fn bkash_error(status: u16, v: &serde_json::Value) -> GatewayError {
    let message = v["statusMessage"].as_str().or(v["errorMessage"].as_str()).or(v["message"].as_str()).unwrap_or("");
    let code = v["statusCode"].as_str().or(v["errorCode"].as_str()).unwrap_or("");
    GatewayError::Refused { status, detail: format!("{code} {message}").trim().to_string() }
}

async fn call(req: reqwest::RequestBuilder) -> Result<(u16, serde_json::Value), GatewayError> {
    let (status, text) = http::send(req).await?;
    if status == 401 || status == 403 {
        return Err(GatewayError::Refused { status, detail: http::cut(&text) });
    }
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| GatewayError::Malformed(format!("{e}: {}", http::cut(&text))))?;
    Ok((status, v))
}

/// An `id_token` for the account (granted, or the cached one while it lives).
pub async fn token(client: &GatewayHttp, account: &BkashAccount) -> Result<String, GatewayError> {
    if let Some(t) = TOKENS.get(&account.base_url, &account.app_key) {
        return Ok(t);
    }
    let req = client
        .client()
        .post(format!("{}/token/grant", account.base_url))
        .header("username", &account.username)
        .header("password", &account.password)
        .header("Accept", "application/json")
        .json(&serde_json::json!({"app_key": account.app_key, "app_secret": account.app_secret}));
    let (status, v) = call(req).await?;
    let (Some("0000"), Some(t)) = (v["statusCode"].as_str(), v["id_token"].as_str()) else {
        return Err(bkash_error(status, &v));
    };
    TOKENS.put(&account.base_url, &account.app_key, t, v["expires_in"].as_u64().unwrap_or(3600));
    Ok(t.to_string())
}

/// Forgets the account's token (bKash refused it: it was revoked or the credentials changed).
pub fn forget_token(account: &BkashAccount) {
    TOKENS.forget(&account.base_url, &account.app_key);
}

async fn authorised_post(
    client: &GatewayHttp,
    account: &BkashAccount,
    path: &str,
    body: serde_json::Value,
) -> Result<(u16, serde_json::Value), GatewayError> {
    // A cached token bKash no longer takes is forgotten and granted anew, once.
    for attempt in 0..2 {
        let token = token(client, account).await?;
        let req = client
            .client()
            .post(format!("{}/{path}", account.base_url))
            .header("authorization", token)
            .header("x-app-key", &account.app_key)
            .header("Accept", "application/json")
            .json(&body);
        match call(req).await {
            Err(GatewayError::Refused { status: 401 | 403, .. }) if attempt == 0 => forget_token(account),
            out => return out,
        }
    }
    Err(GatewayError::Refused { status: 401, detail: "bKash refused a freshly granted token".into() })
}

/// Creates a payment; the payer approves it at `redirect_url` and comes back to `req.return_url`.
pub async fn create_checkout(
    client: &GatewayHttp,
    account: &BkashAccount,
    req: &CheckoutRequest,
    now: DateTime<Utc>,
) -> Result<CheckoutCreated, GatewayError> {
    if req.amount.currency != "BDT" {
        return Err(GatewayError::Amount(format!("bKash takes BDT, not {}", req.amount.currency)));
    }
    let body = serde_json::json!({
        "mode": "0011", "payerReference": req.customer_phone.clone().unwrap_or_else(|| req.order_id.clone()),
        "callbackURL": req.return_url, "amount": req.amount.decimal(), "currency": "BDT", "intent": "sale",
        "merchantInvoiceNumber": req.order_id,
    });
    let (status, v) = authorised_post(client, account, "create", body).await?;
    match (v["statusCode"].as_str(), v["paymentID"].as_str(), v["bkashURL"].as_str()) {
        (Some("0000"), Some(id), Some(url)) => Ok(CheckoutCreated {
            reference: id.to_string(),
            redirect_url: url.to_string(),
            expires_at: Some(now + CHECKOUT_LIFE),
        }),
        _ => Err(bkash_error(status, &v)),
    }
}

/// What the browser callback names (`?paymentID=...&status=success|failure|cancel`): untrusted.
pub fn callback_of(query: &str) -> Result<(String, String), GatewayError> {
    let fields = http::form_fields(query.as_bytes())?;
    let get = |k: &str| fields.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
    match (get("paymentID"), get("status")) {
        (Some(id), Some(status))
            if !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            Ok((id, status))
        }
        _ => Err(GatewayError::Malformed("callback without paymentID and status".into())),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payment {
    status_code: Option<String>,
    #[serde(rename = "trxID")]
    trx_id: Option<String>,
    transaction_status: Option<String>,
    amount: Option<String>,
    currency: Option<String>,
    merchant_invoice_number: Option<String>,
}

fn state_of(transaction_status: &str) -> PaymentState {
    match transaction_status {
        "Completed" => PaymentState::Paid,
        "Cancelled" | "Declined" | "Failed" => PaymentState::Failed,
        "Expired" => PaymentState::Expired,
        // Initiated, Authorized, PendingAuthorized: not paid yet.
        _ => PaymentState::Pending,
    }
}

fn status_of(v: serde_json::Value, status: u16) -> Result<TransactionStatus, GatewayError> {
    let p: Payment = serde_json::from_value(v.clone()).map_err(|e| GatewayError::Malformed(e.to_string()))?;
    if p.status_code.as_deref() != Some("0000") {
        return Err(bkash_error(status, &v));
    }
    let state = state_of(p.transaction_status.as_deref().unwrap_or_default());
    let amount = match (p.amount.as_deref(), p.currency.as_deref()) {
        (Some(a), Some(c)) => Some(Amount::parse_decimal(a, c)?),
        (Some(a), None) => Some(Amount::parse_decimal(a, "BDT")?),
        _ => None,
    };
    Ok(TransactionStatus {
        order_id: p
            .merchant_invoice_number
            .ok_or_else(|| GatewayError::Malformed("no merchantInvoiceNumber".into()))?,
        transaction_id: p.trx_id.filter(|t| !t.is_empty()),
        state,
        amount,
        method: Some("bkash".into()),
    })
}

/// A payment's state at bKash (`payment/status`).
pub async fn checkout_status(
    client: &GatewayHttp,
    account: &BkashAccount,
    payment_id: &str,
) -> Result<TransactionStatus, GatewayError> {
    let (status, v) =
        authorised_post(client, account, "payment/status", serde_json::json!({"paymentID": payment_id})).await?;
    if v["statusCode"].as_str().is_some_and(|c| c != "0000") && v["transactionStatus"].is_null() {
        return Err(GatewayError::UnknownOrder);
    }
    status_of(v, status)
}

/// Completes an approved payment (after the payer's `success` callback). When execute fails or
/// does not answer, the payment's state is asked instead: execute may have run, and a second
/// execute is refused by bKash.
pub async fn execute(
    client: &GatewayHttp,
    account: &BkashAccount,
    payment_id: &str,
) -> Result<TransactionStatus, GatewayError> {
    match authorised_post(client, account, "execute", serde_json::json!({"paymentID": payment_id})).await {
        Ok((status, v)) if v["statusCode"].as_str() == Some("0000") => status_of(v, status),
        Ok(_) | Err(GatewayError::Unavailable(_)) | Err(GatewayError::Malformed(_)) => {
            checkout_status(client, account, payment_id).await
        }
        Err(e) => Err(e),
    }
}

/// Refunds (part of) a completed payment; bKash's refund id. bKash has no idempotency key: the
/// caller asks [`refund_status`] before trying again.
pub async fn refund(
    client: &GatewayHttp,
    account: &BkashAccount,
    payment_id: &str,
    trx_id: &str,
    amount: &Amount,
    reason: &str,
) -> Result<String, GatewayError> {
    let body = serde_json::json!({"paymentID": payment_id, "trxID": trx_id, "amount": amount.decimal(),
        "sku": "internet", "reason": reason.chars().take(255).collect::<String>()});
    let (status, v) = authorised_post(client, account, "payment/refund", body).await?;
    match (v["statusCode"].as_str(), v["refundTrxID"].as_str()) {
        (Some("0000"), Some(id)) => Ok(id.to_string()),
        _ => Err(bkash_error(status, &v)),
    }
}

/// The refunds made of a payment (the refund endpoint without an amount): their bKash ids.
pub async fn refund_status(
    client: &GatewayHttp,
    account: &BkashAccount,
    payment_id: &str,
    trx_id: &str,
) -> Result<Vec<String>, GatewayError> {
    let body = serde_json::json!({"paymentID": payment_id, "trxID": trx_id});
    let (status, v) = authorised_post(client, account, "payment/refund", body).await?;
    if v["statusCode"].as_str().is_some_and(|c| c != "0000") {
        return Err(bkash_error(status, &v));
    }
    let ids = v["refundTransactions"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["refundTrxID"].as_str().map(str::to_string)).collect())
        .or_else(|| v["refundTrxID"].as_str().map(|id| vec![id.to_string()]))
        .unwrap_or_default();
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callback_only_names_a_payment() {
        assert_eq!(
            callback_of("paymentID=TR0011ABC&status=success&signature=cm8HBfl65A&apiVersion=1.2.0-beta/").unwrap(),
            ("TR0011ABC".to_string(), "success".to_string())
        );
        assert!(callback_of("status=success").is_err());
        assert!(callback_of("paymentID=../x&status=success").is_err());
    }

    #[test]
    fn only_sns_hosts_sign_sns_messages() {
        for ok in ["sns.ap-southeast-1.amazonaws.com", "sns.us-east-1.amazonaws.com", "sns.cn-north-1.amazonaws.com.cn"]
        {
            assert!(sns_host(ok), "{ok}");
        }
        for bad in [
            "sns.amazonaws.com",
            "evil.s3.amazonaws.com",
            "sns.evil.example.amazonaws.com",
            "sns.us-east-1.amazonaws.com.evil.example",
            "xsns.us-east-1.amazonaws.com",
        ] {
            assert!(!sns_host(bad), "{bad}");
        }
    }

    #[test]
    fn statuses_map_as_bkash_uses_them() {
        assert_eq!(state_of("Completed"), PaymentState::Paid);
        assert_eq!(state_of("Initiated"), PaymentState::Pending);
        assert_eq!(state_of("Authorized"), PaymentState::Pending);
        assert_eq!(state_of("Cancelled"), PaymentState::Failed);
        assert_eq!(state_of("Expired"), PaymentState::Expired);
    }
}

/// What a bKash webhook delivery (an AWS SNS message) is, once its signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnsDelivery {
    /// The topic asks to be confirmed: GET `subscribe_url` (checked to be SNS's, or the sandbox
    /// account's own origin) once.
    Subscribe { subscribe_url: String },
    /// A completed transaction.
    Payment(VerifiedNotification),
    /// Unsubscribed, or a message that says nothing about a payment.
    Other,
}

/// SNS's own hosts: `sns.<region>.amazonaws.com` (and `.com.cn`), nothing else under amazonaws.
pub fn sns_host(host: &str) -> bool {
    let rest = host.strip_suffix(".amazonaws.com").or_else(|| host.strip_suffix(".amazonaws.com.cn"));
    match rest.and_then(|r| r.strip_prefix("sns.")) {
        Some(region) => region.len() >= 3 && region.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
        None => false,
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SnsEnvelope {
    #[serde(rename = "Type")]
    kind: String,
    message_id: String,
    topic_arn: String,
    message: String,
    timestamp: String,
    signature_version: String,
    signature: String,
    #[serde(rename = "SigningCertURL")]
    signing_cert_url: String,
    subject: Option<String>,
    token: Option<String>,
    #[serde(rename = "SubscribeURL")]
    subscribe_url: Option<String>,
}

/// A confirmation URL is followed only to SNS itself (https, an SNS host), or to the sandbox
/// account's own origin.
fn subscribe_url_allowed(url: &str, sources: &crate::certs::CertSources) -> bool {
    if let Some(origin) = &sources.sandbox_origin
        && url.starts_with(&format!("{origin}/"))
    {
        return true;
    }
    reqwest::Url::parse(url)
        .is_ok_and(|u| u.scheme() == "https" && u.port().is_none() && u.host_str().is_some_and(sns_host))
}

/// The string SNS signs: `key\nvalue\n` for its fields in order (per message type).
fn sns_string_to_sign(e: &SnsEnvelope) -> Result<String, GatewayError> {
    let mut out = String::new();
    let mut add = |k: &str, v: &str| {
        out.push_str(k);
        out.push('\n');
        out.push_str(v);
        out.push('\n');
    };
    match e.kind.as_str() {
        "Notification" => {
            add("Message", &e.message);
            add("MessageId", &e.message_id);
            if let Some(s) = &e.subject {
                add("Subject", s);
            }
            add("Timestamp", &e.timestamp);
            add("TopicArn", &e.topic_arn);
            add("Type", &e.kind);
        }
        "SubscriptionConfirmation" | "UnsubscribeConfirmation" => {
            let missing = || GatewayError::Malformed("confirmation without SubscribeURL or Token".into());
            add("Message", &e.message);
            add("MessageId", &e.message_id);
            add("SubscribeURL", e.subscribe_url.as_deref().ok_or_else(missing)?);
            add("Timestamp", &e.timestamp);
            add("Token", e.token.as_deref().ok_or_else(missing)?);
            add("TopicArn", &e.topic_arn);
            add("Type", &e.kind);
        }
        other => return Err(GatewayError::Malformed(format!("SNS type {other:?}"))),
    }
    Ok(out)
}

/// Verifies a bKash webhook delivery: the SNS signature (version 1: SHA-1, 2: SHA-256) with the
/// certificate at `SigningCertURL` (SNS's hosts only, or a sandbox account's own origin), the
/// topic pinned to the account's, then reads it.
pub async fn verify_sns(
    client: &GatewayHttp,
    raw_body: &[u8],
    expected_topic: &str,
    sandbox_origin: Option<String>,
    hosts: http::Hosts,
) -> Result<SnsDelivery, GatewayError> {
    use base64::Engine;
    let e: SnsEnvelope =
        serde_json::from_slice(raw_body).map_err(|err| GatewayError::Malformed(format!("SNS envelope: {err}")))?;
    let sha1 = match e.signature_version.as_str() {
        "1" => true,
        "2" => false,
        _ => return Err(GatewayError::BadSignature),
    };
    let signature = base64::engine::general_purpose::STANDARD
        .decode(e.signature.as_bytes())
        .map_err(|_| GatewayError::BadSignature)?;
    let sources = crate::certs::CertSources { host_allowed: sns_host, sandbox_origin, hosts };
    let key = crate::certs::public_key(client, &e.signing_cert_url, &sources).await?;
    crate::certs::verify_rsa(&key, sns_string_to_sign(&e)?.as_bytes(), &signature, sha1)?;
    if e.topic_arn != expected_topic {
        return Err(GatewayError::BadSignature);
    }
    match e.kind.as_str() {
        "SubscriptionConfirmation" => {
            let url = e.subscribe_url.unwrap_or_default();
            if !subscribe_url_allowed(&url, &sources) {
                return Err(GatewayError::AddressRefused(format!("SubscribeURL {url}")));
            }
            Ok(SnsDelivery::Subscribe { subscribe_url: url })
        }
        "Notification" => {
            let m: serde_json::Value = serde_json::from_str(&e.message)
                .map_err(|err| GatewayError::Malformed(format!("SNS message: {err}")))?;
            let status = |k: &str| m[k].as_str().map(str::to_string);
            let (Some(order_id), Some(trx), Some(state)) =
                (status("merchantInvoiceNumber"), status("trxID"), status("transactionStatus"))
            else {
                return Ok(SnsDelivery::Other);
            };
            let currency = status("currency").unwrap_or_else(|| "BDT".into());
            let amount = match m["amount"]
                .as_str()
                .map(str::to_string)
                .or_else(|| m["amount"].as_f64().map(|a| a.to_string()))
            {
                Some(a) => Some(Amount::parse_decimal(&a, &currency)?),
                None => None,
            };
            Ok(SnsDelivery::Payment(VerifiedNotification {
                delivery_id: format!("{trx}:{state}"),
                status: Some(TransactionStatus {
                    order_id,
                    transaction_id: Some(trx),
                    state: state_of(&state),
                    amount,
                    method: Some("bkash".into()),
                }),
            }))
        }
        _ => Ok(SnsDelivery::Other),
    }
}
