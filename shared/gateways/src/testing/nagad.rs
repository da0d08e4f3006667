//! A fake of Nagad's checkout API: initialize and complete open and verify the merchant's
//! sealed requests with Nagad's (the fakes') key and answer sealed for the merchant; the payer's
//! page redirects to the merchant's callback unsigned, as Nagad's does; `verify/payment` answers.

use super::{FAKE_RSA_KEY_PEM, Running};
use crate::nagad::{self, NagadAccount, NagadKeys};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// A Nagad payment as the fake keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeNagadPayment {
    pub payment_ref_id: String,
    pub order_id: String,
    /// Set by `complete` (`"150.00"`).
    pub amount: Option<String>,
    /// `OrderInitiated`, `Ready`, `Success`, `Aborted`, ...
    pub status: String,
    pub callback_url: Option<String>,
    pub issuer_payment_ref: Option<String>,
    /// The `X-KM-IP-V4` the payer's checkout carried.
    pub payer_ip: String,
    /// The merchant's `datetime` at initialize (Nagad's clock for this payment).
    pub datetime: String,
    server_challenge: String,
}

#[derive(Default)]
pub(super) struct NagadBook {
    merchant_id: String,
    merchant_public_key: String,
    pub(super) base: String,
    payments: BTreeMap<String, FakeNagadPayment>,
    next: u64,
    unavailable: bool,
}

type NagadState = Arc<Mutex<NagadBook>>;

pub struct FakeNagad(Running<NagadBook>);

impl NagadBook {
    /// Nagad's side of the keys: its own private key, the merchant's public key.
    fn keys(&self) -> NagadKeys {
        NagadAccount {
            merchant_id: self.merchant_id.clone(),
            merchant_private_key: FAKE_RSA_KEY_PEM.into(),
            pg_public_key: self.merchant_public_key.clone(),
            base_url: self.base.clone(),
        }
        .keys()
        .expect("the fake's keys")
    }
}

fn reason(status: StatusCode, reason: &str, message: &str) -> Response {
    (status, axum::Json(json!({"reason": reason, "message": message}))).into_response()
}

/// The headers Nagad requires on every call; what is missing, if anything.
fn missing_header(headers: &HeaderMap) -> Option<&'static str> {
    let has = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).is_some_and(|v| !v.is_empty());
    if headers.get("X-KM-Api-Version").and_then(|v| v.to_str().ok()) != Some(nagad::API_VERSION) {
        return Some("X-KM-Api-Version");
    }
    ["X-KM-IP-V4", "X-KM-Client-Type"].into_iter().find(|k| !has(k))
}

/// Opens a sealed request body's `sensitiveData` (verified against the merchant's key).
fn opened(book: &NagadBook, body: &Value) -> Option<Value> {
    let plain = book.keys().open(body["sensitiveData"].as_str()?, body["signature"].as_str()?).ok()?;
    serde_json::from_str(&plain).ok()
}

fn random_hex() -> String {
    let mut bytes = [0u8; 20];
    aws_lc_rs::rand::fill(&mut bytes).expect("randomness");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn initialize(
    State(st): State<NagadState>,
    Path((merchant, order)): Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut book = st.lock().expect("fake lock");
    if book.unavailable {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    if let Some(h) = missing_header(&headers) {
        return reason(StatusCode::BAD_REQUEST, "17_0001_001", &format!("{h} is missing or invalid"));
    }
    if merchant != book.merchant_id {
        return reason(StatusCode::BAD_REQUEST, "16_0006_004", "Provided merchant ID is invalid");
    }
    let body: Value = serde_json::from_str(&body).unwrap_or_default();
    let Some(sensitive) = opened(&book, &body) else {
        return reason(StatusCode::BAD_REQUEST, "17_0002_002", "Invalid Signature");
    };
    let datetime = body["dateTime"].as_str().unwrap_or_default().to_string();
    if sensitive["merchantId"] != merchant.as_str()
        || sensitive["orderId"] != order.as_str()
        || sensitive["datetime"] != datetime.as_str()
        || sensitive["challenge"].as_str().is_none_or(str::is_empty)
    {
        return reason(StatusCode::BAD_REQUEST, "17_0002_003", "Invalid sensitive data");
    }
    if book.payments.values().any(|p| p.order_id == order) {
        return reason(StatusCode::BAD_REQUEST, "17_0003_001", "Duplicate order id");
    }
    book.next += 1;
    let payment_ref_id = format!("MDEy{:08}{}", book.next, &random_hex()[..16]);
    let server_challenge = random_hex();
    let payer_ip = headers.get("X-KM-IP-V4").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    book.payments.insert(
        payment_ref_id.clone(),
        FakeNagadPayment {
            payment_ref_id: payment_ref_id.clone(),
            order_id: order,
            amount: None,
            status: "OrderInitiated".into(),
            callback_url: None,
            issuer_payment_ref: None,
            payer_ip,
            datetime: datetime.clone(),
            server_challenge: server_challenge.clone(),
        },
    );
    let plain =
        json!({"paymentReferenceId": payment_ref_id, "challenge": server_challenge, "acceptDateTime": datetime});
    let (sensitive, signature) = book.keys().seal(&plain.to_string()).expect("sealing");
    axum::Json(json!({"sensitiveData": sensitive, "signature": signature})).into_response()
}

async fn complete(
    State(st): State<NagadState>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut book = st.lock().expect("fake lock");
    if book.unavailable {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    if let Some(h) = missing_header(&headers) {
        return reason(StatusCode::BAD_REQUEST, "17_0001_001", &format!("{h} is missing or invalid"));
    }
    let body: Value = serde_json::from_str(&body).unwrap_or_default();
    let Some(sensitive) = opened(&book, &body) else {
        return reason(StatusCode::BAD_REQUEST, "17_0002_002", "Invalid Signature");
    };
    let merchant_id = book.merchant_id.clone();
    let base = book.base.clone();
    let Some(p) = book.payments.get_mut(&reference) else {
        return reason(StatusCode::BAD_REQUEST, "17_0004_001", "Invalid payment reference");
    };
    let amount = sensitive["amount"].as_str().unwrap_or_default();
    if sensitive["merchantId"] != merchant_id.as_str()
        || sensitive["orderId"] != p.order_id.as_str()
        || sensitive["currencyCode"] != nagad::CURRENCY_CODE
        || sensitive["challenge"] != p.server_challenge.as_str()
        || crate::Amount::parse_decimal(amount, "BDT").is_err()
        || p.status != "OrderInitiated"
    {
        return reason(StatusCode::BAD_REQUEST, "17_0002_003", "Invalid sensitive data");
    }
    p.amount = Some(amount.to_string());
    p.callback_url = body["merchantCallbackURL"].as_str().map(str::to_string);
    p.status = "Ready".into();
    axum::Json(json!({"status": "Success", "callBackUrl": format!("{base}/check-out/{reference}")})).into_response()
}

/// The unsigned query Nagad appends to the merchant's callback URL.
fn callback_query(book: &NagadBook, p: &FakeNagadPayment) -> String {
    let (code, message) = match p.status.as_str() {
        "Success" => ("00_0000_000", "Successful%20Transaction"),
        _ => ("00_0000_001", "Transaction%20Failed"),
    };
    format!(
        "merchant={}&order_id={}&payment_ref_id={}&status={}&status_code={code}&message={message}&payment_dt={}&issuer_payment_ref={}",
        book.merchant_id,
        p.order_id,
        p.payment_ref_id,
        p.status,
        p.datetime,
        p.issuer_payment_ref.clone().unwrap_or_default()
    )
}

fn pay(book: &mut NagadBook, reference: &str) -> String {
    book.next += 1;
    let n = book.next;
    let p = book.payments.get_mut(reference).expect("a payment of this fake");
    if p.status != "Success" {
        p.status = "Success".into();
        p.issuer_payment_ref = Some(format!("{n:06}A{}", &random_hex()[..8]).to_uppercase());
    }
    let p = p.clone();
    callback_query(book, &p)
}

/// Nagad's page: the payer approves with PIN and OTP; the browser goes to the callback URL.
async fn page(State(st): State<NagadState>, Path(reference): Path<String>) -> Response {
    let mut book = st.lock().expect("fake lock");
    let Some(callback) = book.payments.get(&reference).and_then(|p| p.callback_url.clone()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let query = pay(&mut book, &reference);
    let sep = if callback.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{callback}{sep}{query}")).into_response()
}

async fn verify(State(st): State<NagadState>, Path(reference): Path<String>, headers: HeaderMap) -> Response {
    let book = st.lock().expect("fake lock");
    if book.unavailable {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    if let Some(h) = missing_header(&headers) {
        return reason(StatusCode::BAD_REQUEST, "17_0001_001", &format!("{h} is missing or invalid"));
    }
    let Some(p) = book.payments.get(&reference) else {
        return reason(StatusCode::BAD_REQUEST, "17_0004_001", "Invalid payment reference");
    };
    let paid = p.status == "Success";
    axum::Json(json!({
        "merchantId": book.merchant_id, "orderId": p.order_id, "paymentRefId": p.payment_ref_id,
        "amount": p.amount.clone().unwrap_or_else(|| "0".into()), "clientMobileNo": if paid { Some("017****1234") } else { None },
        "merchantMobileNo": "01711428036", "orderDateTime": p.datetime,
        "issuerPaymentDateTime": if paid { Some(p.datetime.clone()) } else { None },
        "issuerPaymentRefNo": p.issuer_payment_ref, "additionalMerchantInfo": null,
        "status": p.status, "statusCode": if paid { "000" } else { "001" },
        "cancelIssuerDateTime": null, "cancelIssuerRefNo": null,
    }))
    .into_response()
}

impl FakeNagad {
    /// A fake for one merchant, which gave Nagad `merchant_public_key` (base64 DER); its own key
    /// is [`FAKE_RSA_KEY_PEM`], whose public half ([`super::public_key_base64`]) the merchant is
    /// given as Nagad's.
    pub async fn start(merchant_id: &str, merchant_public_key: &str) -> FakeNagad {
        let routes = Router::new()
            .route("/api/dfs/check-out/initialize/{merchant}/{order}", post(initialize))
            .route("/api/dfs/check-out/complete/{reference}", post(complete))
            .route("/api/dfs/verify/payment/{reference}", get(verify))
            .route("/check-out/{reference}", get(page));
        let book = NagadBook {
            merchant_id: merchant_id.into(),
            merchant_public_key: merchant_public_key.into(),
            ..NagadBook::default()
        };
        FakeNagad(Running::start(book, routes).await)
    }

    pub fn base_url(&self) -> String {
        self.0.base_url()
    }

    pub fn payment(&self, payment_ref_id: &str) -> Option<FakeNagadPayment> {
        self.0.book().payments.get(payment_ref_id).cloned()
    }

    /// The payment Nagad keeps for our order.
    pub fn payment_of_order(&self, order_id: &str) -> Option<FakeNagadPayment> {
        self.0.book().payments.values().find(|p| p.order_id == order_id).cloned()
    }

    /// The payer pays; the (unsigned) query the browser then brings to the callback URL.
    pub fn pay(&self, payment_ref_id: &str) -> String {
        pay(&mut self.0.book(), payment_ref_id)
    }

    /// Sets a payment's status as the payer or Nagad's panel would (`Aborted`, `Cancelled`,
    /// `PartialCancelled`); the callback query the browser would bring.
    pub fn set_status(&self, payment_ref_id: &str, status: &str) -> String {
        let mut book = self.0.book();
        let p = book.payments.get_mut(payment_ref_id).expect("a payment of this fake");
        p.status = status.into();
        let p = p.clone();
        callback_query(&book, &p)
    }

    /// Every call answers 503 while set.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.0.book().unavailable = unavailable;
    }
}
