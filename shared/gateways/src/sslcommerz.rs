//! SSLCommerz (v4): a session per checkout (form-encoded), IPNs signed `verify_sign` =
//! MD5 over the fields `verify_key` names plus `store_passwd` = MD5(store password), sorted by key,
//! joined `k=v&...` on the raw values (the official PHP and Python SDKs), and, mandatory by the
//! docs, every IPN confirmed through the Order Validation API. No refund API is used here.
//!
//! `verify_sign_sha2` is undocumented (the research derived it as the same with SHA-256); it is
//! checked only when `verify_sign` is absent, so a wrong derivation can never refuse a real IPN
//! that the documented MD5 signature accepts.

use crate::GatewayError;
use crate::http::{self, GatewayHttp};
use crate::model::{Amount, CheckoutCreated, CheckoutRequest, PaymentState, TransactionStatus};
use chrono::{DateTime, Duration, Utc};
use md5::Md5;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub const LIVE_BASE: &str = "https://securepay.sslcommerz.com";
pub const SANDBOX_BASE: &str = "https://sandbox.sslcommerz.com";
/// SSLCommerz's session life (its gateway page times out on its own; we stop waiting after this).
pub const CHECKOUT_LIFE: Duration = Duration::minutes(60);
/// What SSLCommerz expects back from an IPN: any 2xx.
pub const ACK: &str = "IPN received";

#[derive(Clone)]
pub struct SslcommerzAccount {
    pub store_id: String,
    pub store_password: String,
    pub base_url: String,
}

impl std::fmt::Debug for SslcommerzAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SslcommerzAccount")
            .field("store_id", &self.store_id)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates a session; its IPNs go to `req.notify_url` (`ipn_url`).
pub async fn create_checkout(
    client: &GatewayHttp,
    account: &SslcommerzAccount,
    req: &CheckoutRequest,
    now: DateTime<Utc>,
) -> Result<CheckoutCreated, GatewayError> {
    if req.order_id.len() > 30 {
        return Err(GatewayError::Malformed("SSLCommerz takes a tran_id of at most 30 characters".into()));
    }
    let total = req.amount.decimal();
    let name = req.customer_name.clone().unwrap_or_else(|| "Subscriber".into());
    let email = req.customer_email.clone().unwrap_or_else(|| "noreply@example.com".into());
    let phone = req.customer_phone.clone().unwrap_or_else(|| "01700000000".into());
    let mut form: Vec<(&str, &str)> = vec![
        ("store_id", &account.store_id),
        ("store_passwd", &account.store_password),
        ("total_amount", &total),
        ("currency", &req.amount.currency),
        ("tran_id", &req.order_id),
        ("success_url", &req.return_url),
        ("fail_url", &req.cancel_url),
        ("cancel_url", &req.cancel_url),
        ("cus_name", &name),
        ("cus_email", &email),
        ("cus_add1", "N/A"),
        ("cus_city", "N/A"),
        ("cus_postcode", "0000"),
        ("cus_country", "Bangladesh"),
        ("cus_phone", &phone),
        ("shipping_method", "NO"),
        ("num_of_item", "1"),
        ("product_name", &req.description),
        ("product_category", "Internet service"),
        ("product_profile", "non-physical-goods"),
        ("value_a", &req.order_id),
    ];
    if let Some(url) = &req.notify_url {
        form.push(("ipn_url", url));
    }
    let methods = req.methods.join(",");
    if !methods.is_empty() {
        form.push(("multi_card_name", &methods));
    }
    let call = client.client().post(format!("{}/gwprocess/v4/api.php", account.base_url)).form(&form);
    let (status, body) = http::send(call).await?;
    http::expect_success(status, &body)?;
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Session {
        status: String,
        #[serde(default)]
        failedreason: Option<String>,
        #[serde(default)]
        sessionkey: Option<String>,
        #[serde(rename = "GatewayPageURL", default)]
        gateway_page_url: Option<String>,
    }
    let s: Session =
        serde_json::from_str(&body).map_err(|e| GatewayError::Malformed(format!("{e}: {}", http::cut(&body))))?;
    match (s.status.as_str(), s.sessionkey, s.gateway_page_url) {
        ("SUCCESS", Some(key), Some(url)) if !url.is_empty() => {
            Ok(CheckoutCreated { reference: key, redirect_url: url, expires_at: Some(now + CHECKOUT_LIFE) })
        }
        _ => Err(GatewayError::Refused { status, detail: s.failedreason.unwrap_or_else(|| "FAILED".into()) }),
    }
}

/// A verified IPN: what it names, still to be confirmed with [`validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipn {
    pub tran_id: String,
    pub val_id: Option<String>,
    /// `VALID`, `FAILED`, `CANCELLED`, `UNATTEMPTED`, `EXPIRED`.
    pub status: String,
}

fn signed_string(fields: &[(String, String)], keys: &str, store_passwd: String) -> String {
    let get = |k: &str| fields.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
    let mut d: BTreeMap<String, String> = keys.split(',').filter_map(|k| get(k).map(|v| (k.to_string(), v))).collect();
    d.insert("store_passwd".into(), store_passwd);
    d.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// `verify_sign` of IPN fields as SSLCommerz computes it (MD5 variant).
pub fn verify_sign(fields: &[(String, String)], store_password: &str) -> Option<String> {
    let keys = fields.iter().find(|(k, _)| k == "verify_key")?.1.clone();
    let s = signed_string(fields, &keys, hex(&Md5::digest(store_password.as_bytes())));
    Some(hex(&Md5::digest(s.as_bytes())))
}

/// `verify_sign_sha2` (SHA-256 variant, derived, see the module docs).
pub fn verify_sign_sha2(fields: &[(String, String)], store_password: &str) -> Option<String> {
    let keys = fields.iter().find(|(k, _)| k == "verify_key")?.1.clone();
    let s = signed_string(fields, &keys, hex(&Sha256::digest(store_password.as_bytes())));
    Some(hex(&Sha256::digest(s.as_bytes())))
}

/// Verifies an IPN (pure): its signature with this store's password. The fields are then to be
/// confirmed with [`validate`]; nothing in an IPN is trusted before that.
pub fn verify_ipn(raw_body: &[u8], store_password: &str) -> Result<Ipn, GatewayError> {
    let fields = http::form_fields(raw_body)?;
    let get = |k: &str| fields.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
    let ok = match (get("verify_sign"), get("verify_sign_sha2")) {
        (Some(given), _) => {
            verify_sign(&fields, store_password).is_some_and(|e| crate::model::same_signature(&given, &e))
        }
        (None, Some(given)) => {
            verify_sign_sha2(&fields, store_password).is_some_and(|e| crate::model::same_signature(&given, &e))
        }
        (None, None) => false,
    };
    if !ok {
        return Err(GatewayError::BadSignature);
    }
    Ok(Ipn {
        tran_id: get("tran_id").ok_or_else(|| GatewayError::Malformed("no tran_id".into()))?,
        val_id: get("val_id").filter(|v| !v.is_empty()),
        status: get("status").unwrap_or_default(),
    })
}

#[derive(Debug, Deserialize)]
struct Validation {
    status: String,
    tran_id: Option<String>,
    amount: Option<String>,
    currency_type: Option<String>,
    currency_amount: Option<String>,
    bank_tran_id: Option<String>,
    card_type: Option<String>,
    #[serde(default)]
    val_id: Option<String>,
}

fn state_of(status: &str) -> PaymentState {
    match status {
        "VALID" | "VALIDATED" => PaymentState::Paid,
        "PENDING" => PaymentState::Pending,
        "EXPIRED" => PaymentState::Expired,
        _ => PaymentState::Failed,
    }
}

fn credentials(account: &SslcommerzAccount) -> [(&'static str, &str); 2] {
    [("store_id", &account.store_id), ("store_passwd", &account.store_password)]
}

/// The Order Validation API: what SSLCommerz holds for a `val_id` (the only source of truth).
pub async fn validate(
    client: &GatewayHttp,
    account: &SslcommerzAccount,
    val_id: &str,
) -> Result<TransactionStatus, GatewayError> {
    let call = client
        .client()
        .get(format!("{}/validator/api/validationserverAPI.php", account.base_url))
        .query(&[("val_id", val_id), ("v", "1"), ("format", "json")])
        .query(&credentials(account));
    let (status, body) = http::send(call).await?;
    http::expect_success(status, &body)?;
    let v: Validation =
        serde_json::from_str(&body).map_err(|e| GatewayError::Malformed(format!("{e}: {}", http::cut(&body))))?;
    if v.status == "INVALID_TRANSACTION" {
        return Err(GatewayError::UnknownOrder);
    }
    transaction(v)
}

fn transaction(v: Validation) -> Result<TransactionStatus, GatewayError> {
    // For a payment in another currency, what was charged in it is `currency_amount`.
    let amount = match (v.currency_type.as_deref(), v.currency_amount.as_deref(), v.amount.as_deref()) {
        (Some(c), Some(a), _) if c != "BDT" => Some(Amount::parse_decimal(a, c)?),
        (_, _, Some(a)) => Some(Amount::parse_decimal(a, "BDT")?),
        _ => None,
    };
    Ok(TransactionStatus {
        order_id: v.tran_id.ok_or_else(|| GatewayError::Malformed("no tran_id".into()))?,
        transaction_id: v.bank_tran_id.or(v.val_id),
        state: state_of(&v.status),
        amount,
        method: v.card_type,
    })
}

/// An order's state by our `tran_id`, for when no IPN came (the janitor): a paid one is then
/// confirmed through [`validate`] with the `val_id` found.
pub async fn checkout_status(
    client: &GatewayHttp,
    account: &SslcommerzAccount,
    tran_id: &str,
) -> Result<TransactionStatus, GatewayError> {
    let call = client
        .client()
        .get(format!("{}/validator/api/merchantTransIDvalidationAPI.php", account.base_url))
        .query(&[("tran_id", tran_id), ("format", "json")])
        .query(&credentials(account));
    let (status, body) = http::send(call).await?;
    http::expect_success(status, &body)?;
    #[derive(Deserialize)]
    struct Found {
        #[serde(rename = "APIConnect", default)]
        api_connect: Option<String>,
        #[serde(default)]
        element: Vec<Validation>,
    }
    let found: Found =
        serde_json::from_str(&body).map_err(|e| GatewayError::Malformed(format!("{e}: {}", http::cut(&body))))?;
    // INVALID_REQUEST, FAILED, INACTIVE: the store's credentials or status, not the order.
    if let Some(c) = found.api_connect.as_deref().filter(|c| *c != "DONE") {
        return Err(GatewayError::Refused { status, detail: format!("APIConnect {c}") });
    }
    let paid = found.element.iter().find(|e| state_of(&e.status) == PaymentState::Paid);
    if let Some(val_id) = paid.and_then(|e| e.val_id.clone()) {
        return validate(client, account, &val_id).await;
    }
    let best =
        found.element.into_iter().filter(|e| e.status != "INVALID" && e.status != "INVALID_TRANSACTION").max_by_key(
            |e| match state_of(&e.status) {
                PaymentState::Pending => 2,
                PaymentState::Expired => 1,
                _ => 0,
            },
        );
    match best {
        Some(v) => transaction(Validation { tran_id: v.tran_id.clone().or(Some(tran_id.to_string())), ..v }),
        None => Err(GatewayError::UnknownOrder),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipn(extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut f: Vec<(String, String)> = [
            ("tran_id", "c-ssl-1"),
            ("val_id", "v-1"),
            ("amount", "1500.50"),
            ("card_type", "BKASH-BKash"),
            ("store_amount", "1463.00"),
            ("bank_tran_id", "b-1"),
            ("status", "VALID"),
            ("currency", "BDT"),
            ("store_id", "testbox"),
            ("value_a", "a&b=c"),
            (
                "verify_key",
                "tran_id,val_id,amount,card_type,store_amount,bank_tran_id,status,currency,store_id,value_a",
            ),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        f.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        f
    }

    fn encode(fields: &[(String, String)]) -> Vec<u8> {
        let mut url = reqwest::Url::parse("http://x/").unwrap();
        url.query_pairs_mut().extend_pairs(fields);
        url.query().unwrap().as_bytes().to_vec()
    }

    // Both computed independently with Python's hashlib over the sorted `k=v` string.
    const MD5: &str = "76477ec09d3c8b5a9e2ed8712e105078";
    const SHA2: &str = "4efc7d69747f9b01577b4bb6f6e2d67792fcdc85bb98f18cef22da988b813ae1";

    #[test]
    fn the_signatures_are_the_sdks_sorted_field_hashes() {
        assert_eq!(verify_sign(&ipn(&[]), "qwerty").as_deref(), Some(MD5));
        assert_eq!(verify_sign_sha2(&ipn(&[]), "qwerty").as_deref(), Some(SHA2));
    }

    #[test]
    fn a_signed_ipn_verifies_and_a_changed_one_does_not() {
        let got = verify_ipn(&encode(&ipn(&[("verify_sign", MD5)])), "qwerty").unwrap();
        assert_eq!(
            (got.tran_id.as_str(), got.val_id.as_deref(), got.status.as_str()),
            ("c-ssl-1", Some("v-1"), "VALID")
        );
        assert!(verify_ipn(&encode(&ipn(&[("verify_sign_sha2", SHA2)])), "qwerty").is_ok());
        let mut tampered = ipn(&[("verify_sign", MD5)]);
        tampered[2].1 = "15000.50".into();
        assert_eq!(verify_ipn(&encode(&tampered), "qwerty"), Err(GatewayError::BadSignature));
        assert_eq!(verify_ipn(&encode(&ipn(&[("verify_sign", MD5)])), "other"), Err(GatewayError::BadSignature));
        assert_eq!(verify_ipn(&encode(&ipn(&[])), "qwerty"), Err(GatewayError::BadSignature), "unsigned");
        // A wrong MD5 is not rescued by a right SHA-2.
        assert_eq!(
            verify_ipn(&encode(&ipn(&[("verify_sign", "00"), ("verify_sign_sha2", SHA2)])), "qwerty"),
            Err(GatewayError::BadSignature)
        );
    }
}
