//! Fakes of the gateways' HTTP APIs on 127.0.0.1, for the tests and `make run`: they keep their
//! transactions, answer the status APIs, play the payer's hosted page, and send notifications
//! signed exactly as the real gateways sign them (when told: once, twice, late, or not at all),
//! so the real adapter code is what runs against them.

use crate::model::Amount;
use crate::{midtrans, stripe};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

mod nagad;
pub use nagad::{FakeNagad, FakeNagadPayment};

/// A fake's server and its book; a fake's book knows its own base URL (for the links it hands out).
struct Running<B>(outbound::testing::FakeServer<B>);

trait Book: Send + 'static {
    fn set_base(&mut self, base: String);
}

impl<B: Book> Running<B> {
    async fn start(book: B, routes: Router<Arc<Mutex<B>>>) -> Running<B> {
        Running(outbound::testing::FakeServer::start(book, routes, |b, base| b.set_base(base)).await)
    }

    fn base_url(&self) -> String {
        self.0.base_url()
    }

    fn book(&self) -> std::sync::MutexGuard<'_, B> {
        self.0.book()
    }
}

/// Every fake's book keeps its base URL in `base`.
macro_rules! books {
    ($($book:ty),*) => {
        $(impl Book for $book {
            fn set_base(&mut self, base: String) {
                self.base = base;
            }
        })*
    };
}

books!(StripeBook, MidtransBook, SslBook, AamarpayBook, BkashBook, PaypalBook, nagad::NagadBook);

fn form_of(body: &str) -> HashMap<String, String> {
    crate::http::form_fields(body.as_bytes()).map(|f| f.into_iter().collect()).unwrap_or_default()
}

/// The answer given the first time a request carried this idempotency key, if it did.
fn replay<T: Clone + IntoResponse>(answered: &HashMap<String, (u16, T)>, key: Option<&String>) -> Option<Response> {
    let (status, answer) = answered.get(key?)?;
    Some((StatusCode::from_u16(*status).unwrap_or(StatusCode::OK), answer.clone()).into_response())
}

/// POSTs a notification the way a gateway does; the receiver's status code.
async fn post_notification(url: &str, headers: &[(&str, String)], content_type: &str, body: String) -> u16 {
    let Ok(client) = crate::http::client_builder().build() else { return 0 };
    let mut req = client.post(url).header("content-type", content_type).body(body);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    req.send().await.map(|r| r.status().as_u16()).unwrap_or(0)
}

// ---- Stripe ---------------------------------------------------------------------------------

/// A Checkout Session as the fake keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeSession {
    pub id: String,
    pub order_id: String,
    /// In Stripe's unit for the currency.
    pub amount: i64,
    pub currency: String,
    pub status: String,
    pub payment_status: String,
    pub payment_intent: Option<String>,
    pub success_url: String,
    pub refunded: i64,
}

#[derive(Default)]
struct StripeBook {
    secret_key: String,
    webhook_secret: String,
    base: String,
    sessions: BTreeMap<String, FakeSession>,
    /// Idempotency-Key -> the answer given the first time.
    answered: HashMap<String, (u16, String)>,
    next: u64,
    /// The next refund is made but its answer lost (the connection drops after Stripe acted).
    lose_next_refund_answer: bool,
    refunds_made: u32,
    /// Where Stripe sends events (a webhook endpoint): set, a payment on the page is notified
    /// there at once, signed at the real time, as Stripe would (used by `make run`).
    webhook_url: Option<String>,
}

pub struct FakeStripe(Running<StripeBook>);

fn stripe_error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"error": {"type": "invalid_request_error", "message": message}}))).into_response()
}

fn session_json(s: &FakeSession, base: &str) -> Value {
    json!({"id": s.id, "object": "checkout.session", "url": format!("{base}/pay/{}", s.id), "status": s.status,
        "payment_status": s.payment_status, "client_reference_id": s.order_id, "payment_intent": s.payment_intent,
        "amount_total": s.amount, "currency": s.currency, "payment_method_types": ["card"],
        "metadata": {"order_id": s.order_id}, "expires_at": 1_900_000_000})
}

type StripeState = Arc<Mutex<StripeBook>>;

fn stripe_authorised(book: &StripeBook, headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {}", book.secret_key))
}

async fn stripe_create(State(st): State<StripeState>, headers: HeaderMap, body: String) -> Response {
    let mut book = st.lock().expect("fake lock");
    if !stripe_authorised(&book, &headers) {
        return stripe_error(StatusCode::UNAUTHORIZED, "Invalid API Key provided");
    }
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string);
    if let Some(r) = replay(&book.answered, key.as_ref()) {
        return r;
    }
    let f = form_of(&body);
    let need = |k: &str| f.get(k).cloned().filter(|v| !v.is_empty());
    let (Some(order_id), Some(amount), Some(currency), Some(success_url)) = (
        need("client_reference_id"),
        need("line_items[0][price_data][unit_amount]").and_then(|a| a.parse::<i64>().ok()),
        need("line_items[0][price_data][currency]"),
        need("success_url"),
    ) else {
        return stripe_error(StatusCode::BAD_REQUEST, "Missing required param");
    };
    book.next += 1;
    let s = FakeSession {
        id: format!("cs_test_{:06}", book.next),
        order_id,
        amount,
        currency,
        status: "open".into(),
        payment_status: "unpaid".into(),
        payment_intent: None,
        success_url,
        refunded: 0,
    };
    let answer = session_json(&s, &book.base).to_string();
    book.sessions.insert(s.id.clone(), s);
    if let Some(k) = key {
        book.answered.insert(k, (200, answer.clone()));
    }
    (StatusCode::OK, answer).into_response()
}

async fn stripe_get(State(st): State<StripeState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let book = st.lock().expect("fake lock");
    if !stripe_authorised(&book, &headers) {
        return stripe_error(StatusCode::UNAUTHORIZED, "Invalid API Key provided");
    }
    match book.sessions.get(&id) {
        Some(s) => axum::Json(session_json(s, &book.base)).into_response(),
        None => stripe_error(StatusCode::NOT_FOUND, "No such checkout.session"),
    }
}

async fn stripe_refund(State(st): State<StripeState>, headers: HeaderMap, body: String) -> Response {
    let mut book = st.lock().expect("fake lock");
    if !stripe_authorised(&book, &headers) {
        return stripe_error(StatusCode::UNAUTHORIZED, "Invalid API Key provided");
    }
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string);
    if let Some(r) = replay(&book.answered, key.as_ref()) {
        return r;
    }
    let f = form_of(&body);
    let pi = f.get("payment_intent").cloned().unwrap_or_default();
    let Some(session) = book.sessions.values_mut().find(|s| s.payment_intent.as_deref() == Some(pi.as_str())) else {
        return stripe_error(StatusCode::NOT_FOUND, "No such payment_intent");
    };
    let amount = f.get("amount").and_then(|a| a.parse::<i64>().ok()).unwrap_or(session.amount - session.refunded);
    if amount <= 0 || amount > session.amount - session.refunded {
        return stripe_error(StatusCode::BAD_REQUEST, "Refund amount is greater than unrefunded amount on charge");
    }
    session.refunded += amount;
    book.next += 1;
    let answer = json!({"id": format!("re_test_{:06}", book.next), "object": "refund", "amount": amount,
        "payment_intent": pi, "status": "succeeded"})
    .to_string();
    if let Some(k) = key {
        book.answered.insert(k, (200, answer.clone()));
    }
    book.refunds_made += 1;
    if std::mem::take(&mut book.lose_next_refund_answer) {
        return StatusCode::BAD_GATEWAY.into_response();
    }
    (StatusCode::OK, answer).into_response()
}

/// The hosted payment page: the payer pays at once and is sent back to the success URL.
async fn stripe_page(State(st): State<StripeState>, Path(id): Path<String>) -> Response {
    let mut book = st.lock().expect("fake lock");
    if !book.sessions.contains_key(&id) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let back = book.sessions[&id].success_url.replace("{CHECKOUT_SESSION_ID}", &id);
    let event = paid_event(&mut book, &id);
    if let Some(url) = book.webhook_url.clone() {
        let t = chrono::Utc::now().timestamp();
        let header = format!("t={t},v1={}", stripe::signature(&book.webhook_secret, t, event.as_bytes()));
        tokio::spawn(async move {
            post_notification(&url, &[("stripe-signature", header)], "application/json", event).await;
        });
    }
    Redirect::to(&back).into_response()
}

/// Marks the session paid; the `checkout.session.completed` event of it.
fn paid_event(book: &mut StripeBook, session_id: &str) -> String {
    let base = book.base.clone();
    book.next += 1;
    let event_id = format!("evt_test_{:06}", book.next);
    let s = book.sessions.get_mut(session_id).expect("a session of this fake");
    mark_paid(s);
    json!({"id": event_id, "object": "event", "type": "checkout.session.completed", "livemode": false,
        "data": {"object": session_json(s, &base)}})
    .to_string()
}

fn mark_paid(s: &mut FakeSession) {
    if s.payment_status != "paid" {
        s.status = "complete".into();
        s.payment_status = "paid".into();
        s.payment_intent = Some(format!("pi_{}", &s.id[8..]));
    }
}

impl FakeStripe {
    pub async fn start(secret_key: &str, webhook_secret: &str) -> FakeStripe {
        let routes = Router::new()
            .route("/v1/checkout/sessions", post(stripe_create))
            .route("/v1/checkout/sessions/{id}", get(stripe_get))
            .route("/v1/refunds", post(stripe_refund))
            .route("/pay/{id}", get(stripe_page));
        FakeStripe(
            Running::start(
                StripeBook {
                    secret_key: secret_key.into(),
                    webhook_secret: webhook_secret.into(),
                    ..StripeBook::default()
                },
                routes,
            )
            .await,
        )
    }

    pub fn base_url(&self) -> String {
        self.0.base_url()
    }

    pub fn session(&self, id: &str) -> Option<FakeSession> {
        self.0.book().sessions.get(id).cloned()
    }

    /// The payer pays (as on the hosted page); the `checkout.session.completed` event it makes.
    pub fn pay(&self, session_id: &str) -> String {
        paid_event(&mut self.0.book(), session_id)
    }

    /// Stripe sends events to `url` from now on: a payment on the page is notified at once.
    pub fn send_webhooks_to(&self, url: &str) {
        self.0.book().webhook_url = Some(url.to_string());
    }

    /// The next refund is made but its answer never arrives (a 502 from Stripe's edge).
    pub fn lose_next_refund_answer(&self) {
        self.0.book().lose_next_refund_answer = true;
    }

    /// Refunds made (an idempotent repeat is not a new one).
    pub fn refunds_made(&self) -> u32 {
        self.0.book().refunds_made
    }

    /// The ISP refunds part of a payment in Stripe's dashboard, outside this system.
    pub fn refund_in_dashboard(&self, session_id: &str, amount: i64) {
        self.0.book().sessions.get_mut(session_id).expect("a session of this fake").refunded += amount;
    }

    /// `Stripe-Signature` for a body at unix time `t`, as Stripe computes it.
    pub fn signature_header(&self, body: &str, t: i64) -> String {
        let secret = self.0.book().webhook_secret.clone();
        format!("t={t},v1={}", stripe::signature(&secret, t, body.as_bytes()))
    }

    /// Delivers an event to `url` signed at unix time `t` (Stripe's own clock); the answer's status.
    pub async fn deliver(&self, url: &str, body: &str, t: i64) -> u16 {
        let header = self.signature_header(body, t);
        post_notification(url, &[("stripe-signature", header)], "application/json", body.to_string()).await
    }
}

// ---- Midtrans -------------------------------------------------------------------------------

/// A Snap order as the fake keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeOrder {
    pub order_id: String,
    pub token: String,
    /// Whole rupiah.
    pub gross_amount: i64,
    pub transaction_status: Option<String>,
    pub payment_type: Option<String>,
    pub notify_url: Option<String>,
    pub finish_url: Option<String>,
    pub refunded: i64,
}

#[derive(Default)]
struct MidtransBook {
    server_key: String,
    base: String,
    orders: BTreeMap<String, FakeOrder>,
    refund_keys: HashMap<String, Value>,
    next: u64,
}

type MidtransState = Arc<Mutex<MidtransBook>>;

pub struct FakeMidtrans(Running<MidtransBook>);

fn midtrans_authorised(book: &MidtransBook, headers: &HeaderMap) -> bool {
    use base64::Engine;
    let want = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{}:", book.server_key)));
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(want.as_str())
}

fn unauthorised() -> Response {
    (StatusCode::UNAUTHORIZED, axum::Json(json!({"error_messages": ["Access denied due to unauthorized transaction, please check client or server key"]})))
        .into_response()
}

/// The report Midtrans sends and answers for an order, signed with the server key.
fn report(o: &FakeOrder, server_key: &str) -> Value {
    let status = o.transaction_status.clone().unwrap_or_else(|| "pending".into());
    let status_code = match status.as_str() {
        "settlement" | "capture" | "refund" | "partial_refund" => "200",
        "pending" => "201",
        "expire" => "407",
        _ => "202",
    };
    let gross = format!("{}.00", o.gross_amount);
    json!({"transaction_time": "2026-12-05 10:00:00", "transaction_status": status, "transaction_id": format!("tx-{}", o.token),
        "status_message": "midtrans payment notification", "status_code": status_code,
        "signature_key": midtrans::signature(&o.order_id, status_code, &gross, server_key),
        "payment_type": o.payment_type, "order_id": o.order_id, "merchant_id": "G000000000", "gross_amount": gross,
        "fraud_status": "accept", "currency": "IDR"})
}

async fn midtrans_create(State(st): State<MidtransState>, headers: HeaderMap, body: String) -> Response {
    let mut book = st.lock().expect("fake lock");
    if !midtrans_authorised(&book, &headers) {
        return unauthorised();
    }
    let Ok(v) = serde_json::from_str::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error_messages": ["invalid JSON"]}))).into_response();
    };
    let order_id = v["transaction_details"]["order_id"].as_str().unwrap_or_default().to_string();
    let Some(gross_amount) = v["transaction_details"]["gross_amount"].as_i64().filter(|a| *a > 0) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error_messages": ["transaction_details.gross_amount is required"]})),
        )
            .into_response();
    };
    if !crate::model::valid_order_id(&order_id) {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error_messages": ["transaction_details.order_id is invalid"]})),
        )
            .into_response();
    }
    if book.orders.contains_key(&order_id) {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error_messages": ["transaction_details.order_id sudah digunakan"]})),
        )
            .into_response();
    }
    book.next += 1;
    let token = format!("{:08x}-fake-snap-token", book.next);
    let redirect_url = format!("{}/snap/v2/vtweb/{token}", book.base);
    let order = FakeOrder {
        order_id: order_id.clone(),
        token: token.clone(),
        gross_amount,
        transaction_status: None,
        payment_type: None,
        notify_url: headers.get("x-override-notification").and_then(|v| v.to_str().ok()).map(str::to_string),
        finish_url: v["callbacks"]["finish"].as_str().map(str::to_string),
        refunded: 0,
    };
    book.orders.insert(order_id, order);
    (StatusCode::CREATED, axum::Json(json!({"token": token, "redirect_url": redirect_url}))).into_response()
}

async fn midtrans_status(State(st): State<MidtransState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let book = st.lock().expect("fake lock");
    if !midtrans_authorised(&book, &headers) {
        return unauthorised();
    }
    match book.orders.get(&id).filter(|o| o.transaction_status.is_some()) {
        Some(o) => axum::Json(report(o, &book.server_key)).into_response(),
        // Snap: unknown to the status API until the payer picks a method (HTTP 200, code in the body).
        None => {
            axum::Json(json!({"status_code": "404", "status_message": "Transaction doesn't exist."})).into_response()
        }
    }
}

async fn midtrans_refund(
    State(st): State<MidtransState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> Response {
    let mut book = st.lock().expect("fake lock");
    if !midtrans_authorised(&book, &headers) {
        return unauthorised();
    }
    let v: Value = serde_json::from_str(&body).unwrap_or_default();
    let key = v["refund_key"].as_str().unwrap_or_default().to_string();
    if let Some(answer) = book.refund_keys.get(&key) {
        return axum::Json(answer.clone()).into_response();
    }
    let amount = v["amount"].as_i64().unwrap_or(0);
    let Some(o) = book.orders.get_mut(&id).filter(|o| {
        o.transaction_status.as_deref() == Some("settlement")
            || o.transaction_status.as_deref() == Some("partial_refund")
    }) else {
        return axum::Json(json!({"status_code": "412", "status_message": "Transaction status cannot be updated."}))
            .into_response();
    };
    if amount <= 0 || amount > o.gross_amount - o.refunded {
        return axum::Json(
            json!({"status_code": "413", "status_message": "The refund amount is more than the settlement amount."}),
        )
        .into_response();
    }
    o.refunded += amount;
    o.transaction_status = Some(if o.refunded == o.gross_amount { "refund" } else { "partial_refund" }.into());
    let answer = json!({"status_code": "200", "status_message": "Success, refund request is approved", "order_id": id,
        "refund_amount": format!("{amount}.00"), "refund_key": key});
    book.refund_keys.insert(key, answer.clone());
    axum::Json(answer).into_response()
}

/// The Snap page: the payer pays by QRIS at once and is sent to the finish URL.
async fn midtrans_page(State(st): State<MidtransState>, Path(token): Path<String>) -> Response {
    let mut book = st.lock().expect("fake lock");
    let Some(o) = book.orders.values_mut().find(|o| o.token == token) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    o.transaction_status = Some("settlement".into());
    o.payment_type = Some("qris".into());
    let finish = o.finish_url.clone().unwrap_or_else(|| "/".into());
    let sep = if finish.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{finish}{sep}order_id={}&status_code=200&transaction_status=settlement", o.order_id))
        .into_response()
}

impl FakeMidtrans {
    pub async fn start(server_key: &str) -> FakeMidtrans {
        let routes = Router::new()
            .route("/snap/v1/transactions", post(midtrans_create))
            .route("/v2/{id}/status", get(midtrans_status))
            .route("/v2/{id}/refund", post(midtrans_refund))
            .route("/snap/v2/vtweb/{token}", get(midtrans_page));
        FakeMidtrans(
            Running::start(MidtransBook { server_key: server_key.into(), ..MidtransBook::default() }, routes).await,
        )
    }

    /// Both the Snap and the core API base (one fake serves both).
    pub fn base_url(&self) -> String {
        self.0.base_url()
    }

    pub fn order(&self, order_id: &str) -> Option<FakeOrder> {
        self.0.book().orders.get(order_id).cloned()
    }

    /// The order's status moves (the payer paid with `method`, or it expired...); the signed
    /// notification Midtrans would send for it.
    pub fn set_status(&self, order_id: &str, transaction_status: &str, method: &str) -> String {
        let mut book = self.0.book();
        let key = book.server_key.clone();
        let o = book.orders.get_mut(order_id).expect("an order of this fake");
        o.transaction_status = Some(transaction_status.into());
        o.payment_type = Some(method.into());
        report(o, &key).to_string()
    }

    /// Sends a notification body to the order's notification URL (or `url`); the answer's status.
    pub async fn deliver(&self, order_id: &str, body: &str, url: Option<&str>) -> u16 {
        let target = url.map(str::to_string).or_else(|| self.order(order_id).and_then(|o| o.notify_url));
        match target {
            Some(u) => {
                post_notification(&u, &[("user-agent", "Veritrans".to_string())], "application/json", body.to_string())
                    .await
            }
            None => 0,
        }
    }
}

/// Our amount in whole rupiah, for building expectations in tests.
pub fn rupiah(a: &Amount) -> i64 {
    a.in_exponent(0).expect("whole rupiah")
}

// ---- SSLCommerz -----------------------------------------------------------------------------

/// An SSLCommerz transaction as the fake keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeSslOrder {
    pub tran_id: String,
    pub sessionkey: String,
    /// As the merchant sent it (`1500.50`).
    pub total_amount: String,
    pub currency: String,
    /// `PENDING`, `VALID`, `FAILED`, `CANCELLED`, `EXPIRED`.
    pub status: String,
    pub val_id: Option<String>,
    pub validated: bool,
    pub ipn_url: Option<String>,
    pub success_url: String,
}

#[derive(Default)]
struct SslBook {
    store_id: String,
    store_password: String,
    base: String,
    orders: BTreeMap<String, FakeSslOrder>,
    next: u64,
}

type SslState = Arc<Mutex<SslBook>>;

pub struct FakeSslcommerz(Running<SslBook>);

fn ssl_creds_ok(book: &SslBook, f: &HashMap<String, String>) -> bool {
    f.get("store_id") == Some(&book.store_id) && f.get("store_passwd") == Some(&book.store_password)
}

fn ssl_element(o: &FakeSslOrder, status: &str) -> Value {
    json!({"status": status, "tran_id": o.tran_id, "val_id": o.val_id, "amount": o.total_amount, "store_amount": o.total_amount,
        "currency_type": o.currency, "currency_amount": o.total_amount, "currency": "BDT", "bank_tran_id": o.val_id.as_ref().map(|v| format!("b-{v}")),
        "card_type": "BKASH-BKash", "risk_level": "0", "risk_title": "Safe", "tran_date": "2026-12-05 10:00:00"})
}

async fn ssl_create(State(st): State<SslState>, body: String) -> Response {
    let mut book = st.lock().expect("fake lock");
    let f = form_of(&body);
    if !ssl_creds_ok(&book, &f) {
        return axum::Json(json!({"status": "FAILED", "failedreason": "Store Credential Error Or Store is De-active"}))
            .into_response();
    }
    let tran_id = f.get("tran_id").cloned().unwrap_or_default();
    if tran_id.is_empty() || tran_id.len() > 30 || book.orders.contains_key(&tran_id) {
        return axum::Json(json!({"status": "FAILED", "failedreason": "Invalid Information: tran_id"})).into_response();
    }
    book.next += 1;
    let sessionkey = format!("FAKESESSION{:06}", book.next);
    let order = FakeSslOrder {
        tran_id: tran_id.clone(),
        sessionkey: sessionkey.clone(),
        total_amount: f.get("total_amount").cloned().unwrap_or_default(),
        currency: f.get("currency").cloned().unwrap_or_default(),
        status: "PENDING".into(),
        val_id: None,
        validated: false,
        ipn_url: f.get("ipn_url").cloned(),
        success_url: f.get("success_url").cloned().unwrap_or_default(),
    };
    book.orders.insert(tran_id, order);
    let page = format!("{}/gwprocess/v4/gw.php?Q=pay&SESSIONKEY={sessionkey}", book.base);
    axum::Json(json!({"status": "SUCCESS", "failedreason": "", "sessionkey": sessionkey, "GatewayPageURL": page}))
        .into_response()
}

fn ssl_pay(book: &mut SslBook, tran_id: &str) {
    book.next += 1;
    let n = book.next;
    let o = book.orders.get_mut(tran_id).expect("an order of this fake");
    if o.status != "VALID" {
        o.status = "VALID".into();
        o.val_id = Some(format!("{n:06}FAKEVAL"));
    }
}

/// The gateway page: the payer pays by bKash at once and is sent back.
async fn ssl_page(
    State(st): State<SslState>,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    let mut book = st.lock().expect("fake lock");
    let key = q.get("SESSIONKEY").cloned().unwrap_or_default();
    let Some(tran_id) = book.orders.values().find(|o| o.sessionkey == key).map(|o| o.tran_id.clone()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    ssl_pay(&mut book, &tran_id);
    Redirect::to(&book.orders[&tran_id].success_url).into_response()
}

async fn ssl_validate(
    State(st): State<SslState>,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    let mut book = st.lock().expect("fake lock");
    if !ssl_creds_ok(&book, &q) {
        return axum::Json(json!({"status": "INVALID_TRANSACTION", "APIConnect": "INVALID_REQUEST"})).into_response();
    }
    let val_id = q.get("val_id").cloned().unwrap_or_default();
    match book.orders.values_mut().find(|o| o.val_id.as_deref() == Some(val_id.as_str())) {
        Some(o) => {
            // The second validation of a payment says VALIDATED.
            let status = if o.validated { "VALIDATED" } else { "VALID" };
            o.validated = true;
            axum::Json(ssl_element(o, status)).into_response()
        }
        None => axum::Json(json!({"status": "INVALID_TRANSACTION"})).into_response(),
    }
}

async fn ssl_by_tran_id(
    State(st): State<SslState>,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    let book = st.lock().expect("fake lock");
    if !ssl_creds_ok(&book, &q) {
        return axum::Json(json!({"APIConnect": "INVALID_REQUEST", "no_of_trans_found": 0, "element": []}))
            .into_response();
    }
    match book.orders.get(q.get("tran_id").map(String::as_str).unwrap_or_default()) {
        Some(o) => {
            axum::Json(json!({"APIConnect": "DONE", "no_of_trans_found": 1, "element": [ssl_element(o, &o.status)]}))
                .into_response()
        }
        None => axum::Json(json!({"APIConnect": "DONE", "no_of_trans_found": 0, "element": [{"status": "INVALID"}]}))
            .into_response(),
    }
}

impl FakeSslcommerz {
    pub async fn start(store_id: &str, store_password: &str) -> FakeSslcommerz {
        let routes = Router::new()
            .route("/gwprocess/v4/api.php", post(ssl_create))
            .route("/gwprocess/v4/gw.php", get(ssl_page))
            .route("/validator/api/validationserverAPI.php", get(ssl_validate))
            .route("/validator/api/merchantTransIDvalidationAPI.php", get(ssl_by_tran_id));
        FakeSslcommerz(
            Running::start(
                SslBook { store_id: store_id.into(), store_password: store_password.into(), ..SslBook::default() },
                routes,
            )
            .await,
        )
    }

    pub fn base_url(&self) -> String {
        self.0.base_url()
    }

    pub fn order(&self, tran_id: &str) -> Option<FakeSslOrder> {
        self.0.book().orders.get(tran_id).cloned()
    }

    /// The payer pays; the IPN SSLCommerz would send, signed with the store password (form body).
    pub fn pay(&self, tran_id: &str) -> String {
        let mut book = self.0.book();
        ssl_pay(&mut book, tran_id);
        let o = book.orders[tran_id].clone();
        let e = ssl_element(&o, "VALID");
        let mut fields: Vec<(String, String)> = [
            "tran_id",
            "val_id",
            "amount",
            "card_type",
            "store_amount",
            "bank_tran_id",
            "status",
            "currency",
            "currency_type",
            "currency_amount",
            "risk_level",
            "risk_title",
            "tran_date",
        ]
        .iter()
        .filter_map(|k| e[*k].as_str().map(|v| (k.to_string(), v.to_string())))
        .collect();
        fields.push(("store_id".into(), book.store_id.clone()));
        let keys: Vec<String> = fields.iter().map(|(k, _)| k.clone()).collect();
        fields.push(("verify_key".into(), keys.join(",")));
        let md5 = crate::sslcommerz::verify_sign(&fields, &book.store_password).expect("verify_key is there");
        let sha2 = crate::sslcommerz::verify_sign_sha2(&fields, &book.store_password).expect("verify_key is there");
        fields.push(("verify_sign".into(), md5));
        fields.push(("verify_sign_sha2".into(), sha2));
        let mut url = reqwest::Url::parse("http://x/").expect("a URL");
        url.query_pairs_mut().extend_pairs(&fields);
        url.query().unwrap_or_default().to_string()
    }

    /// Sends an IPN form body to the order's `ipn_url` (or `url`); the answer's status.
    pub async fn deliver(&self, tran_id: &str, body: &str, url: Option<&str>) -> u16 {
        let target = url.map(str::to_string).or_else(|| self.order(tran_id).and_then(|o| o.ipn_url));
        match target {
            Some(u) => post_notification(&u, &[], "application/x-www-form-urlencoded", body.to_string()).await,
            None => 0,
        }
    }
}

// ---- aamarPay -------------------------------------------------------------------------------

/// An aamarPay payment as the fake keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeAamarpayOrder {
    pub tran_id: String,
    pub amount: String,
    pub currency: String,
    /// `Pending`, `Successful`, `Failed`.
    pub pay_status: String,
    pub pg_txnid: Option<String>,
    pub success_url: String,
}

#[derive(Default)]
struct AamarpayBook {
    store_id: String,
    signature_key: String,
    base: String,
    orders: BTreeMap<String, FakeAamarpayOrder>,
    next: u64,
}

type AamarpayState = Arc<Mutex<AamarpayBook>>;

pub struct FakeAamarpay(Running<AamarpayBook>);

async fn aamarpay_create(State(st): State<AamarpayState>, body: String) -> Response {
    let mut book = st.lock().expect("fake lock");
    let v: Value = serde_json::from_str(&body).unwrap_or_default();
    if v["store_id"] != book.store_id.as_str() || v["signature_key"] != book.signature_key.as_str() {
        return axum::Json(json!("Invalid Store ID")).into_response();
    }
    let tran_id = v["tran_id"].as_str().unwrap_or_default().to_string();
    if tran_id.is_empty() || book.orders.contains_key(&tran_id) {
        return axum::Json(json!({"tran_id": "Duplicate or missing tran_id"})).into_response();
    }
    book.next += 1;
    let order = FakeAamarpayOrder {
        tran_id: tran_id.clone(),
        amount: v["amount"].as_str().unwrap_or_default().to_string(),
        currency: v["currency"].as_str().unwrap_or("BDT").to_string(),
        pay_status: "Pending".into(),
        pg_txnid: None,
        success_url: v["success_url"].as_str().unwrap_or_default().to_string(),
    };
    book.orders.insert(tran_id.clone(), order);
    let url = format!("{}/paynow.php?track={tran_id}", book.base);
    axum::Json(json!({"result": "true", "payment_url": url})).into_response()
}

fn aamarpay_pay(book: &mut AamarpayBook, tran_id: &str) {
    book.next += 1;
    let n = book.next;
    let o = book.orders.get_mut(tran_id).expect("an order of this fake");
    if o.pay_status != "Successful" {
        o.pay_status = "Successful".into();
        o.pg_txnid = Some(format!("AAM{n:010}"));
    }
}

/// The payment page: paid at once; the browser is sent back (the real one form-POSTs).
async fn aamarpay_page(
    State(st): State<AamarpayState>,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    let mut book = st.lock().expect("fake lock");
    let tran_id = q.get("track").cloned().unwrap_or_default();
    if !book.orders.contains_key(&tran_id) {
        return StatusCode::NOT_FOUND.into_response();
    }
    aamarpay_pay(&mut book, &tran_id);
    Redirect::to(&book.orders[&tran_id].success_url).into_response()
}

async fn aamarpay_search(
    State(st): State<AamarpayState>,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    let book = st.lock().expect("fake lock");
    if q.get("store_id") != Some(&book.store_id) || q.get("signature_key") != Some(&book.signature_key) {
        return axum::Json(json!({"msg": "Invalid Store ID or Signature Key"})).into_response();
    }
    match book.orders.get(q.get("request_id").map(String::as_str).unwrap_or_default()) {
        Some(o) => axum::Json(json!({"pay_status": o.pay_status, "status_code": if o.pay_status == "Successful" {"2"} else {"0"},
            "mer_txnid": o.tran_id, "pg_txnid": o.pg_txnid, "store_id": book.store_id, "amount": o.amount,
            "amount_original": o.amount, "currency": o.currency, "payment_type": "bKash-bKash", "date_processed": "2026-12-05 10:00:00"}))
        .into_response(),
        None => axum::Json(json!({"msg": "Invalid Request ID"})).into_response(),
    }
}

impl FakeAamarpay {
    pub async fn start(store_id: &str, signature_key: &str) -> FakeAamarpay {
        let routes = Router::new()
            .route("/jsonpost.php", post(aamarpay_create))
            .route("/paynow.php", get(aamarpay_page))
            .route("/api/v1/trxcheck/request.php", get(aamarpay_search));
        FakeAamarpay(
            Running::start(
                AamarpayBook {
                    store_id: store_id.into(),
                    signature_key: signature_key.into(),
                    ..AamarpayBook::default()
                },
                routes,
            )
            .await,
        )
    }

    pub fn base_url(&self) -> String {
        self.0.base_url()
    }

    pub fn order(&self, tran_id: &str) -> Option<FakeAamarpayOrder> {
        self.0.book().orders.get(tran_id).cloned()
    }

    /// The payer pays; the (unsigned) form the browser then posts to the success URL.
    pub fn pay(&self, tran_id: &str) -> String {
        let mut book = self.0.book();
        aamarpay_pay(&mut book, tran_id);
        let o = &book.orders[tran_id];
        format!(
            "pay_status=Successful&status_code=2&mer_txnid={}&pg_txnid={}&amount={}&currency={}&store_id={}",
            o.tran_id,
            o.pg_txnid.clone().unwrap_or_default(),
            o.amount,
            o.currency,
            book.store_id
        )
    }
}

// ---- bKash ----------------------------------------------------------------------------------

/// A bKash payment as the fake keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeBkashPayment {
    pub payment_id: String,
    pub invoice: String,
    pub amount: String,
    /// `Initiated`, `Approved` (the payer said yes, not executed yet), `Completed`, `Cancelled`.
    pub status: String,
    pub trx_id: Option<String>,
    pub callback_url: String,
    pub executions: u32,
    pub refunds: Vec<(String, String)>,
}

#[derive(Default)]
struct BkashBook {
    app_key: String,
    app_secret: String,
    username: String,
    password: String,
    base: String,
    tokens: Vec<String>,
    grants: u32,
    payments: BTreeMap<String, FakeBkashPayment>,
    cert_pem: String,
    topic_arn: String,
    confirmed: bool,
    next: u64,
}

type BkashState = Arc<Mutex<BkashBook>>;

pub struct FakeBkash(Running<BkashBook>);

fn bkash_reply(v: Value) -> Response {
    axum::Json(v).into_response()
}

async fn bkash_grant(State(st): State<BkashState>, headers: HeaderMap, body: String) -> Response {
    let mut book = st.lock().expect("fake lock");
    let v: Value = serde_json::from_str(&body).unwrap_or_default();
    let h = |k: &str| headers.get(k).and_then(|x| x.to_str().ok()).unwrap_or_default().to_string();
    if h("username") != book.username
        || h("password") != book.password
        || v["app_key"] != book.app_key.as_str()
        || v["app_secret"] != book.app_secret.as_str()
    {
        return bkash_reply(json!({"statusCode": "2079", "statusMessage": "Invalid App Token"}));
    }
    book.grants += 1;
    book.next += 1;
    let token = format!("fake-id-token-{}", book.next);
    book.tokens.push(token.clone());
    bkash_reply(json!({"statusCode": "0000", "statusMessage": "Successful", "id_token": token, "token_type": "Bearer",
        "expires_in": 3600, "refresh_token": "fake-refresh"}))
}

fn bkash_authorised(book: &BkashBook, headers: &HeaderMap) -> bool {
    let h = |k: &str| headers.get(k).and_then(|x| x.to_str().ok()).unwrap_or_default().to_string();
    book.tokens.contains(&h("authorization")) && h("x-app-key") == book.app_key
}

fn bkash_payment_json(p: &FakeBkashPayment, status: &str) -> Value {
    json!({"statusCode": "0000", "statusMessage": "Successful", "paymentID": p.payment_id, "trxID": p.trx_id,
        "transactionStatus": status, "amount": p.amount, "currency": "BDT", "intent": "sale",
        "merchantInvoiceNumber": p.invoice, "customerMsisdn": "01770618575"})
}

async fn bkash_post(
    State(st): State<BkashState>,
    Path(op): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut book = st.lock().expect("fake lock");
    if !bkash_authorised(&book, &headers) {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"message": "Unauthorized"}))).into_response();
    }
    let v: Value = serde_json::from_str(&body).unwrap_or_default();
    let id = v["paymentID"].as_str().unwrap_or_default().to_string();
    match op.as_str() {
        "create" => {
            book.next += 1;
            let payment_id = format!("TR0011FAKE{:06}", book.next);
            let p = FakeBkashPayment {
                payment_id: payment_id.clone(),
                invoice: v["merchantInvoiceNumber"].as_str().unwrap_or_default().to_string(),
                amount: v["amount"].as_str().unwrap_or_default().to_string(),
                status: "Initiated".into(),
                trx_id: None,
                callback_url: v["callbackURL"].as_str().unwrap_or_default().to_string(),
                executions: 0,
                refunds: Vec::new(),
            };
            let mut out = bkash_payment_json(&p, "Initiated");
            out["bkashURL"] = json!(format!("{}/pay/{payment_id}", book.base));
            book.payments.insert(payment_id, p);
            bkash_reply(out)
        }
        "execute" => {
            book.next += 1;
            let n = book.next;
            let Some(p) = book.payments.get_mut(&id) else {
                return bkash_reply(json!({"statusCode": "2056", "statusMessage": "Invalid Payment State"}));
            };
            p.executions += 1;
            match p.status.as_str() {
                "Approved" => {
                    p.status = "Completed".into();
                    p.trx_id = Some(format!("FAKE{n:06}"));
                    bkash_reply(bkash_payment_json(p, "Completed"))
                }
                "Completed" => bkash_reply(
                    json!({"statusCode": "2117", "statusMessage": "Payment execution already been called before"}),
                ),
                _ => bkash_reply(json!({"statusCode": "2056", "statusMessage": "Invalid Payment State"})),
            }
        }
        "payment/status" => match book.payments.get(&id) {
            Some(p) => {
                let shown = if p.status == "Approved" { "Initiated" } else { p.status.as_str() };
                bkash_reply(bkash_payment_json(p, shown))
            }
            None => bkash_reply(json!({"statusCode": "2023", "statusMessage": "Invalid Payment ID"})),
        },
        "payment/refund" => {
            book.next += 1;
            let n = book.next;
            let Some(p) = book.payments.get_mut(&id).filter(|p| p.status == "Completed") else {
                return bkash_reply(json!({"statusCode": "2071", "statusMessage": "Transaction not found"}));
            };
            match v["amount"].as_str() {
                None => bkash_reply(json!({"statusCode": "0000", "refundTransactions":
                    p.refunds.iter().map(|(id, a)| json!({"refundTrxID": id, "amount": a})).collect::<Vec<_>>()})),
                Some(a) => {
                    let refund_id = format!("RFAKE{n:06}");
                    p.refunds.push((refund_id.clone(), a.to_string()));
                    bkash_reply(json!({"statusCode": "0000", "originalTrxID": p.trx_id, "refundTrxID": refund_id,
                        "transactionStatus": "Completed", "amount": a, "currency": "BDT"}))
                }
            }
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// bKash's page: the payer approves with PIN and OTP; the browser goes to the callback URL.
async fn bkash_page(State(st): State<BkashState>, Path(id): Path<String>) -> Response {
    let mut book = st.lock().expect("fake lock");
    let Some(p) = book.payments.get_mut(&id) else { return StatusCode::NOT_FOUND.into_response() };
    if p.status == "Initiated" {
        p.status = "Approved".into();
    }
    let sep = if p.callback_url.contains('?') { '&' } else { '?' };
    Redirect::to(&format!(
        "{}{sep}paymentID={id}&status=success&signature=fakeSig123&apiVersion=1.2.0-beta/",
        p.callback_url
    ))
    .into_response()
}

impl FakeBkash {
    pub async fn start(app_key: &str, app_secret: &str, username: &str, password: &str) -> FakeBkash {
        let routes = Router::new()
            .route("/tokenized/checkout/token/grant", post(bkash_grant))
            .route("/tokenized/checkout/{*op}", post(bkash_post))
            .route("/pay/{id}", get(bkash_page))
            .route("/SimpleNotificationService-fake.pem", get(bkash_cert))
            .route("/sns/confirm", get(bkash_confirm));
        FakeBkash(
            Running::start(
                BkashBook {
                    app_key: app_key.into(),
                    app_secret: app_secret.into(),
                    username: username.into(),
                    password: password.into(),
                    cert_pem: fake_certificate("sns.ap-southeast-1.amazonaws.fake"),
                    topic_arn: format!("arn:aws:sns:ap-southeast-1:000000000000:bkash-{app_key}"),
                    ..BkashBook::default()
                },
                routes,
            )
            .await,
        )
    }

    /// The API base an account names (`.../tokenized/checkout`).
    pub fn base_url(&self) -> String {
        format!("{}/tokenized/checkout", self.0.base_url())
    }

    pub fn payment(&self, payment_id: &str) -> Option<FakeBkashPayment> {
        self.0.book().payments.get(payment_id).cloned()
    }

    /// Token grants so far (a cached token is not granted again).
    pub fn grants(&self) -> u32 {
        self.0.book().grants
    }

    /// Every token granted so far stops working (bKash revoked them).
    pub fn revoke_tokens(&self) {
        self.0.book().tokens.clear();
    }

    /// The SNS topic this fake's notifications come from (an account pins it).
    pub fn topic_arn(&self) -> String {
        self.0.book().topic_arn.clone()
    }

    /// Whether the subscription was confirmed (its SubscribeURL fetched).
    pub fn subscription_confirmed(&self) -> bool {
        self.0.book().confirmed
    }

    /// The SNS `SubscriptionConfirmation` bKash's topic sends first, signed (version 2).
    pub fn sns_subscription(&self) -> String {
        let book = self.0.book();
        let origin = book.base.clone();
        let mut e = json!({"Type": "SubscriptionConfirmation", "MessageId": "fake-sub-1", "Token": "fake-token",
            "TopicArn": book.topic_arn, "Message": format!("You have chosen to subscribe to the topic {}.", book.topic_arn),
            "SubscribeURL": format!("{origin}/sns/confirm?Token=fake-token"), "Timestamp": "2026-12-05T10:00:00.000Z",
            "SignatureVersion": "2", "SigningCertURL": format!("{origin}/SimpleNotificationService-fake.pem")});
        let to_sign = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
            .iter()
            .map(|k| format!("{k}\n{}\n", e[*k].as_str().unwrap_or_default()))
            .collect::<String>();
        e["Signature"] = json!(sign_rsa_sha256(to_sign.as_bytes()));
        e.to_string()
    }

    /// The SNS `Notification` of a completed payment, signed (version 2), as bKash's webhook sends it.
    pub fn sns_payment(&self, payment_id: &str) -> String {
        let mut book = self.0.book();
        book.next += 1;
        let n = book.next;
        let origin = book.base.clone();
        let p = book.payments.get(payment_id).expect("a payment of this fake").clone();
        let message = json!({"dateTime": "20261205100000", "debitMSISDN": "8801770618575", "creditOrganizationName": "Demo ISP",
            "creditShortCode": "01770618575", "trxID": p.trx_id, "transactionStatus": p.status, "transactionType": "10002294",
            "amount": p.amount, "currency": "BDT", "transactionReference": p.payment_id, "merchantInvoiceNumber": p.invoice})
        .to_string();
        let mut e = json!({"Type": "Notification", "MessageId": format!("fake-msg-{n}"), "TopicArn": book.topic_arn,
            "Message": message, "Timestamp": "2026-12-05T10:00:01.000Z", "SignatureVersion": "2",
            "SigningCertURL": format!("{origin}/SimpleNotificationService-fake.pem"),
            "UnsubscribeURL": format!("{origin}/sns/unsubscribe")});
        let to_sign = ["Message", "MessageId", "Timestamp", "TopicArn", "Type"]
            .iter()
            .map(|k| format!("{k}\n{}\n", e[*k].as_str().unwrap_or_default()))
            .collect::<String>();
        e["Signature"] = json!(sign_rsa_sha256(to_sign.as_bytes()));
        e.to_string()
    }

    /// Posts an SNS message to `url` as SNS does (`text/plain`, the message type header).
    pub async fn deliver_sns(&self, url: &str, body: &str) -> u16 {
        let kind = serde_json::from_str::<Value>(body).ok().and_then(|v| v["Type"].as_str().map(str::to_string));
        let headers = [("x-amz-sns-message-type", kind.unwrap_or_default())];
        post_notification(url, &headers, "text/plain; charset=UTF-8", body.to_string()).await
    }
}

async fn bkash_cert(State(st): State<BkashState>) -> Response {
    let pem = st.lock().expect("fake lock").cert_pem.clone();
    ([("content-type", "application/x-pem-file")], pem).into_response()
}

async fn bkash_confirm(State(st): State<BkashState>) -> Response {
    st.lock().expect("fake lock").confirmed = true;
    ([("content-type", "text/xml")], "<ConfirmSubscriptionResponse/>").into_response()
}

/// A self-signed certificate over the fakes' RSA key, for `name`.
fn fake_certificate(name: &str) -> String {
    let key = rcgen::KeyPair::from_pem(FAKE_RSA_KEY_PEM).expect("the fakes' RSA key");
    rcgen::CertificateParams::new(vec![name.to_string()])
        .expect("certificate parameters")
        .self_signed(&key)
        .expect("a self-signed certificate")
        .pem()
}

// ---- PayPal ---------------------------------------------------------------------------------

/// The fakes' RSA key (a test key, generated for this project's tests and nothing else): what the
/// PayPal fake signs its webhooks with, under a self-signed certificate it serves.
pub const FAKE_RSA_KEY_PEM: &str = include_str!("keys/fake-gateway-rsa.pem");

/// A PayPal order as the fake keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct FakePaypalOrder {
    pub id: String,
    pub custom_id: String,
    pub value: String,
    pub currency: String,
    /// `PAYER_ACTION_REQUIRED`, `APPROVED`, `COMPLETED`.
    pub status: String,
    pub capture_id: Option<String>,
    pub capture_status: Option<String>,
    pub return_url: String,
    pub refunded: Vec<String>,
}

#[derive(Default)]
struct PaypalBook {
    client_id: String,
    client_secret: String,
    webhook_id: String,
    base: String,
    tokens: Vec<String>,
    orders: BTreeMap<String, FakePaypalOrder>,
    /// PayPal-Request-Id -> the answer given the first time.
    answered: HashMap<String, (u16, axum::Json<Value>)>,
    cert_pem: String,
    next: u64,
}

type PaypalState = Arc<Mutex<PaypalBook>>;

pub struct FakePaypal(Running<PaypalBook>);

fn paypal_order_json(o: &FakePaypalOrder, base: &str) -> Value {
    let mut unit = json!({"reference_id": o.custom_id, "custom_id": o.custom_id, "invoice_id": o.custom_id,
        "amount": {"currency_code": o.currency, "value": o.value}});
    if let (Some(id), Some(status)) = (&o.capture_id, &o.capture_status) {
        unit["payments"] = json!({"captures": [{"id": id, "status": status, "custom_id": o.custom_id,
            "amount": {"currency_code": o.currency, "value": o.value}}]});
    }
    json!({"id": o.id, "intent": "CAPTURE", "status": o.status, "purchase_units": [unit],
        "links": [{"rel": "payer-action", "href": format!("{base}/checkoutnow?token={}", o.id), "method": "GET"},
                  {"rel": "self", "href": format!("{base}/v2/checkout/orders/{}", o.id), "method": "GET"}]})
}

/// The currencies PayPal takes payments in (its REST API's currency codes); BDT and IDR are not
/// among them, so an ISP billing in those cannot use PayPal.
const PAYPAL_CURRENCIES: &[&str] = &[
    "AUD", "BRL", "CAD", "CNY", "CZK", "DKK", "EUR", "HKD", "HUF", "ILS", "JPY", "MYR", "MXN", "TWD", "NZD", "NOK",
    "PHP", "PLN", "GBP", "SGD", "SEK", "CHF", "THB", "USD",
];

fn paypal_error_reply(status: StatusCode, name: &str, issue: &str) -> Response {
    (status, axum::Json(json!({"name": name, "details": [{"issue": issue}], "message": issue}))).into_response()
}

fn paypal_authorised(book: &PaypalBook, headers: &HeaderMap) -> bool {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    auth.strip_prefix("Bearer ").is_some_and(|t| book.tokens.iter().any(|x| x == t))
}

async fn paypal_token(State(st): State<PaypalState>, headers: HeaderMap) -> Response {
    use base64::Engine;
    let mut book = st.lock().expect("fake lock");
    let want = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", book.client_id, book.client_secret))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(want.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_client", "error_description": "Client Authentication failed"})),
        )
            .into_response();
    }
    book.next += 1;
    let token = format!("A21AAFAKE{:06}", book.next);
    book.tokens.push(token.clone());
    axum::Json(
        json!({"scope": "https://uri.paypal.com/services/payments", "access_token": token, "token_type": "Bearer",
        "app_id": "APP-FAKE", "expires_in": 32400, "nonce": "fake"}),
    )
    .into_response()
}

fn request_id(headers: &HeaderMap) -> Option<String> {
    headers.get("paypal-request-id").and_then(|v| v.to_str().ok()).map(str::to_string)
}

async fn paypal_create(State(st): State<PaypalState>, headers: HeaderMap, body: String) -> Response {
    let mut book = st.lock().expect("fake lock");
    if !paypal_authorised(&book, &headers) {
        return paypal_error_reply(StatusCode::UNAUTHORIZED, "AUTHENTICATION_FAILURE", "INVALID_TOKEN");
    }
    let rid = request_id(&headers);
    if let Some(r) = replay(&book.answered, rid.as_ref()) {
        return r;
    }
    let v: Value = serde_json::from_str(&body).unwrap_or_default();
    let unit = &v["purchase_units"][0];
    let (Some(custom_id), Some(value), Some(currency)) =
        (unit["custom_id"].as_str(), unit["amount"]["value"].as_str(), unit["amount"]["currency_code"].as_str())
    else {
        return paypal_error_reply(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "MISSING_REQUIRED_PARAMETER");
    };
    if !PAYPAL_CURRENCIES.contains(&currency) {
        return paypal_error_reply(StatusCode::UNPROCESSABLE_ENTITY, "UNPROCESSABLE_ENTITY", "CURRENCY_NOT_SUPPORTED");
    }
    book.next += 1;
    let o = FakePaypalOrder {
        id: format!("5O190127TN{:06}", book.next),
        custom_id: custom_id.to_string(),
        value: value.to_string(),
        currency: currency.to_string(),
        status: "PAYER_ACTION_REQUIRED".into(),
        capture_id: None,
        capture_status: None,
        return_url: v["payment_source"]["paypal"]["experience_context"]["return_url"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        refunded: Vec::new(),
    };
    let answer = paypal_order_json(&o, &book.base);
    book.orders.insert(o.id.clone(), o);
    if let Some(r) = rid {
        book.answered.insert(r, (201, axum::Json(answer.clone())));
    }
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}

async fn paypal_get(State(st): State<PaypalState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let book = st.lock().expect("fake lock");
    if !paypal_authorised(&book, &headers) {
        return paypal_error_reply(StatusCode::UNAUTHORIZED, "AUTHENTICATION_FAILURE", "INVALID_TOKEN");
    }
    match book.orders.get(&id) {
        Some(o) => axum::Json(paypal_order_json(o, &book.base)).into_response(),
        None => paypal_error_reply(StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID"),
    }
}

async fn paypal_capture(State(st): State<PaypalState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let mut book = st.lock().expect("fake lock");
    if !paypal_authorised(&book, &headers) {
        return paypal_error_reply(StatusCode::UNAUTHORIZED, "AUTHENTICATION_FAILURE", "INVALID_TOKEN");
    }
    let rid = request_id(&headers);
    if let Some(r) = replay(&book.answered, rid.as_ref()) {
        return r;
    }
    book.next += 1;
    let n = book.next;
    let base = book.base.clone();
    let Some(o) = book.orders.get_mut(&id) else {
        return paypal_error_reply(StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID");
    };
    match o.status.as_str() {
        "APPROVED" => {
            o.status = "COMPLETED".into();
            o.capture_id = Some(format!("3C679366HH{n:06}"));
            o.capture_status = Some("COMPLETED".into());
            let answer = paypal_order_json(o, &base);
            if let Some(r) = rid {
                book.answered.insert(r, (201, axum::Json(answer.clone())));
            }
            (StatusCode::CREATED, axum::Json(answer)).into_response()
        }
        "COMPLETED" => {
            paypal_error_reply(StatusCode::UNPROCESSABLE_ENTITY, "UNPROCESSABLE_ENTITY", "ORDER_ALREADY_CAPTURED")
        }
        _ => paypal_error_reply(StatusCode::UNPROCESSABLE_ENTITY, "UNPROCESSABLE_ENTITY", "ORDER_NOT_APPROVED"),
    }
}

async fn paypal_refund(State(st): State<PaypalState>, headers: HeaderMap, Path(capture): Path<String>) -> Response {
    let mut book = st.lock().expect("fake lock");
    if !paypal_authorised(&book, &headers) {
        return paypal_error_reply(StatusCode::UNAUTHORIZED, "AUTHENTICATION_FAILURE", "INVALID_TOKEN");
    }
    let rid = request_id(&headers);
    if let Some(r) = replay(&book.answered, rid.as_ref()) {
        return r;
    }
    book.next += 1;
    let refund_id = format!("1JU08902781{:06}", book.next);
    let Some(o) = book.orders.values_mut().find(|o| o.capture_id.as_deref() == Some(capture.as_str())) else {
        return paypal_error_reply(StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID");
    };
    o.refunded.push(refund_id.clone());
    o.capture_status = Some("PARTIALLY_REFUNDED".into());
    let answer = json!({"id": refund_id, "status": "COMPLETED"});
    if let Some(r) = rid {
        book.answered.insert(r, (201, axum::Json(answer.clone())));
    }
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}

/// PayPal's approval page: the buyer approves and is sent to the return URL.
async fn paypal_page(
    State(st): State<PaypalState>,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    let mut book = st.lock().expect("fake lock");
    let id = q.get("token").cloned().unwrap_or_default();
    let Some(o) = book.orders.get_mut(&id) else { return StatusCode::NOT_FOUND.into_response() };
    if o.status == "PAYER_ACTION_REQUIRED" {
        o.status = "APPROVED".into();
    }
    let sep = if o.return_url.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{}{sep}token={id}&PayerID=FAKEPAYER01", o.return_url)).into_response()
}

async fn paypal_cert(State(st): State<PaypalState>) -> Response {
    let book = st.lock().expect("fake lock");
    ([("content-type", "application/x-pem-file")], book.cert_pem.clone()).into_response()
}

impl FakePaypal {
    pub async fn start(client_id: &str, client_secret: &str, webhook_id: &str) -> FakePaypal {
        let routes = Router::new()
            .route("/v1/oauth2/token", post(paypal_token))
            .route("/v2/checkout/orders", post(paypal_create))
            .route("/v2/checkout/orders/{id}", get(paypal_get))
            .route("/v2/checkout/orders/{id}/capture", post(paypal_capture))
            .route("/v2/payments/captures/{id}/refund", post(paypal_refund))
            .route("/checkoutnow", get(paypal_page))
            .route("/v1/notifications/certs/CERT-fake-paypal.pem", get(paypal_cert));
        FakePaypal(
            Running::start(
                PaypalBook {
                    client_id: client_id.into(),
                    client_secret: client_secret.into(),
                    webhook_id: webhook_id.into(),
                    cert_pem: fake_certificate("api.sandbox.paypal.fake"),
                    ..PaypalBook::default()
                },
                routes,
            )
            .await,
        )
    }

    pub fn base_url(&self) -> String {
        self.0.base_url()
    }

    pub fn order(&self, id: &str) -> Option<FakePaypalOrder> {
        self.0.book().orders.get(id).cloned()
    }

    /// The `PAYMENT.CAPTURE.COMPLETED` event of a captured order and the headers PayPal signs it
    /// with (transmission id and time, RSA-SHA256 over `id|time|webhook_id|crc32(body)`).
    pub fn capture_event(&self, order_id: &str, transmission_time: &str) -> (Vec<(&'static str, String)>, String) {
        let o = self.order(order_id).expect("an order of this fake");
        let resource = json!({"id": o.capture_id, "status": "COMPLETED", "custom_id": o.custom_id, "final_capture": true,
            "amount": {"currency_code": o.currency, "value": o.value},
            "supplementary_data": {"related_ids": {"order_id": o.id}}});
        let summary = format!("Payment completed for {} {}", o.value, o.currency);
        self.signed_event("PAYMENT.CAPTURE.COMPLETED", "capture", &summary, resource, transmission_time)
    }

    /// The `CHECKOUT.ORDER.APPROVED` event PayPal sends once the payer approved an order (before
    /// anyone captured it), signed as [`FakePaypal::capture_event`].
    pub fn approval_event(&self, order_id: &str, transmission_time: &str) -> (Vec<(&'static str, String)>, String) {
        let o = self.order(order_id).expect("an order of this fake");
        let resource = json!({"id": o.id, "status": "APPROVED", "intent": "CAPTURE",
            "purchase_units": [{"reference_id": "default", "custom_id": o.custom_id,
                "amount": {"currency_code": o.currency, "value": o.value}}]});
        self.signed_event(
            "CHECKOUT.ORDER.APPROVED",
            "checkout-order",
            "An order has been approved by buyer",
            resource,
            transmission_time,
        )
    }

    fn signed_event(
        &self,
        event_type: &str,
        resource_type: &str,
        summary: &str,
        resource: Value,
        transmission_time: &str,
    ) -> (Vec<(&'static str, String)>, String) {
        let mut book = self.0.book();
        book.next += 1;
        let n = book.next;
        let body = json!({"id": format!("WH-FAKE{n:06}"), "event_version": "1.0", "create_time": transmission_time,
            "resource_type": resource_type, "event_type": event_type, "summary": summary, "resource": resource})
        .to_string();
        let transmission = crate::paypal::Transmission {
            id: format!("fake-transmission-{n}"),
            time: transmission_time.to_string(),
            ..Default::default()
        };
        let message = crate::paypal::signed_message(&transmission, &book.webhook_id, body.as_bytes());
        let signature = sign_rsa_sha256(message.as_bytes());
        let headers = vec![
            ("paypal-transmission-id", transmission.id),
            ("paypal-transmission-time", transmission.time),
            ("paypal-transmission-sig", signature),
            ("paypal-cert-url", format!("{}/v1/notifications/certs/CERT-fake-paypal.pem", book.base)),
            ("paypal-auth-algo", "SHA256withRSA".to_string()),
        ];
        (headers, body)
    }

    /// Delivers an event with its headers to `url`; the answer's status.
    pub async fn deliver(&self, url: &str, headers: &[(&'static str, String)], body: &str) -> u16 {
        post_notification(url, headers, "application/json", body.to_string()).await
    }
}

/// A merchant's RSA key (a test key, generated for this project's tests and nothing else): the
/// key a Nagad account of the tests and the demo signs with and opens Nagad's answers with.
pub const FAKE_MERCHANT_KEY_PEM: &str = include_str!("keys/fake-merchant-rsa.pem");

/// The public half of a PKCS#8 PEM key as Nagad hands keys out: base64 DER SubjectPublicKeyInfo.
pub fn public_key_base64(private_pem: &str) -> String {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::KeyPair;
    use base64::Engine;
    let (_, pem) = x509_parser::pem::parse_x509_pem(private_pem.as_bytes()).expect("a PEM key");
    let key = aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&pem.contents).expect("an RSA key");
    let der = key.public_key().as_der().expect("the public key's DER");
    base64::engine::general_purpose::STANDARD.encode(der.as_ref())
}

/// Base64 RSA PKCS#1 v1.5 SHA-256 signature with the fakes' key.
pub fn sign_rsa_sha256(message: &[u8]) -> String {
    use base64::Engine;
    let (_, pem) = x509_parser::pem::parse_x509_pem(FAKE_RSA_KEY_PEM.as_bytes()).expect("the fakes' key PEM");
    let key = aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&pem.contents).expect("the fakes' RSA key");
    let mut sig = vec![0u8; key.public_modulus_len()];
    key.sign(&aws_lc_rs::signature::RSA_PKCS1_SHA256, &aws_lc_rs::rand::SystemRandom::new(), message, &mut sig)
        .expect("RSA signing");
    base64::engine::general_purpose::STANDARD.encode(sig)
}
