//! Fakes of the messaging services on 127.0.0.1, for the tests and `make run`: each SMS
//! provider's HTTP API (its paths, its credentials check, its answers and error codes), Telegram's
//! Bot API and an ISP's webhook endpoint. They keep what they got, can fail, throttle, answer
//! slowly or refuse a number, and send delivery reports as the provider does (Twilio's signed with
//! `X-Twilio-Signature`), so the real adapter code is what runs against them.
//!
//! SSL Wireless, BulkSMSBD, Zenziva and Alpha SMS publish only parts of their error answers; the
//! fakes answer with the documented codes where there are some, and otherwise with words of the
//! kind the providers use (see each adapter's module documentation).

use crate::encoding;
use crate::sms::SmsProvider;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

mod endpoint;
mod telegram;
pub use endpoint::{FakeEndpoint, ReceivedDelivery};
pub use telegram::{FakeTelegram, TelegramMessage};

/// A fake's server on 127.0.0.1 and the book it keeps; the server stops with it.
struct Running<B> {
    addr: SocketAddr,
    book: Arc<Mutex<B>>,
    task: JoinHandle<()>,
}

impl<B: Send + 'static> Running<B> {
    async fn start(book: B, routes: Router<Arc<Mutex<B>>>) -> Running<B> {
        let book = Arc::new(Mutex::new(book));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a fake");
        let addr = listener.local_addr().expect("local address");
        let app = routes.with_state(book.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Running { addr, book, task }
    }

    fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn book(&self) -> std::sync::MutexGuard<'_, B> {
        self.book.lock().expect("fake lock")
    }
}

impl<B> Drop for Running<B> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn form_of(body: &str) -> BTreeMap<String, String> {
    outbound::form_fields(body.as_bytes()).map(|f| f.into_iter().collect()).unwrap_or_default()
}

/// What a fake provider does with the next send (or every send, see [`FakeSms::always`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 500, nothing sent.
    ServerError,
    /// Throttled (HTTP 429 with `Retry-After: 1`), nothing sent.
    Throttle,
    /// Sent, but the answer comes only after this long (past a client's deadline: the outcome
    /// is unknown to the sender).
    Slow(Duration),
    InvalidNumber,
    NoBalance,
    SenderRejected,
}

/// An SMS the fake provider took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeSmsMessage {
    pub id: String,
    /// As the provider received it (each provider's own number format).
    pub to: String,
    pub text: String,
    pub sender: Option<String>,
    pub parts: u32,
    /// SSL Wireless's `csms_id`.
    pub reference: Option<String>,
    /// Twilio's per-message `StatusCallback`.
    pub status_callback: Option<String>,
}

struct SmsBook {
    provider: SmsProvider,
    credentials: BTreeMap<String, String>,
    messages: Vec<FakeSmsMessage>,
    faults: VecDeque<Fault>,
    always: Option<Fault>,
    balance: String,
    /// Where delivery reports go when the provider's dashboard holds the URL (Africa's Talking).
    report_url: Option<String>,
    next: u64,
}

impl SmsBook {
    fn fault(&mut self) -> Option<Fault> {
        self.faults.pop_front().or(self.always)
    }

    fn cred(&self, name: &str) -> &str {
        self.credentials.get(name).map(String::as_str).unwrap_or_default()
    }

    fn take(&mut self, to: &str, text: &str, sender: Option<&str>) -> FakeSmsMessage {
        self.next += 1;
        let id = match self.provider {
            SmsProvider::Twilio => format!("SM{:032x}", self.next),
            SmsProvider::AfricasTalking => format!("ATXid_{:016x}", self.next),
            _ => format!("{}", 7_000_000 + self.next),
        };
        let m = FakeSmsMessage {
            id,
            to: to.to_string(),
            text: text.to_string(),
            sender: sender.map(str::to_string),
            parts: encoding::shape(text).parts,
            reference: None,
            status_callback: None,
        };
        self.messages.push(m.clone());
        m
    }
}

type SmsState = Arc<Mutex<SmsBook>>;

/// A fake of one SMS provider's API.
pub struct FakeSms(Running<SmsBook>);

impl FakeSms {
    /// A fake of `provider` that takes these credentials (by the provider's names).
    pub async fn start(provider: SmsProvider, credentials: &[(&str, &str)]) -> FakeSms {
        let book = SmsBook {
            provider,
            credentials: credentials.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            messages: vec![],
            faults: VecDeque::new(),
            always: None,
            balance: "1250.50".into(),
            report_url: None,
            next: 0,
        };
        let routes: Router<SmsState> = match provider {
            SmsProvider::SslWireless => Router::new().route("/api/v3/send-sms", post(ssl_send)),
            SmsProvider::Bulksmsbd => Router::new()
                .route("/api/smsapi", post(bulksmsbd_send))
                .route("/api/getBalanceApi", get(bulksmsbd_balance)),
            SmsProvider::AlphaSms => Router::new()
                .route("/sendsms", post(alpha_send))
                .route("/user/balance/", get(alpha_balance))
                .route("/report/request/{id}/", get(alpha_report)),
            SmsProvider::Zenziva => Router::new().route("/reguler/api/sendsms/", post(zenziva_send)),
            SmsProvider::AfricasTalking => {
                Router::new().route("/version1/messaging", post(at_send)).route("/version1/user", get(at_balance))
            }
            SmsProvider::Twilio => Router::new()
                .route("/2010-04-01/Accounts/{sid}/Messages.json", post(twilio_send))
                .route("/2010-04-01/Accounts/{sid}/Balance.json", get(twilio_balance)),
        };
        FakeSms(Running::start(book, routes).await)
    }

    pub fn base_url(&self) -> String {
        self.0.base_url()
    }

    pub fn provider(&self) -> SmsProvider {
        self.0.book().provider
    }

    /// Every message taken so far, in order.
    pub fn messages(&self) -> Vec<FakeSmsMessage> {
        self.0.book().messages.clone()
    }

    /// The next send meets `fault` (queued: several calls, several sends).
    pub fn fail_next(&self, fault: Fault) {
        self.0.book().faults.push_back(fault);
    }

    /// Every send meets `fault` until told otherwise.
    pub fn always(&self, fault: Option<Fault>) {
        self.0.book().always = fault;
    }

    pub fn set_balance(&self, amount: &str) {
        self.0.book().balance = amount.to_string();
    }

    /// Where the provider posts delivery reports (Africa's Talking's dashboard setting).
    pub fn report_to(&self, url: &str) {
        self.0.book().report_url = Some(url.to_string());
    }

    /// Reports a taken message delivered (or failed), as the provider does: Twilio to the
    /// message's `StatusCallback`, signed; Africa's Talking to the dashboard's URL. The
    /// receiver's status code (0: nowhere to report, or no answer).
    pub async fn report(&self, message_id: &str, delivered: bool) -> u16 {
        let (url, form, headers) = {
            let book = self.0.book();
            let Some(m) = book.messages.iter().find(|m| m.id == message_id) else { return 0 };
            match book.provider {
                SmsProvider::Twilio => {
                    let Some(url) = m.status_callback.clone() else { return 0 };
                    let mut form = vec![
                        ("MessageSid", m.id.clone()),
                        ("SmsSid", m.id.clone()),
                        ("AccountSid", book.cred("account_sid").to_string()),
                        ("From", m.sender.clone().unwrap_or_default()),
                        ("To", m.to.clone()),
                        ("ApiVersion", "2010-04-01".to_string()),
                        ("MessageStatus", if delivered { "delivered" } else { "undelivered" }.to_string()),
                        ("SmsStatus", if delivered { "delivered" } else { "undelivered" }.to_string()),
                    ];
                    if !delivered {
                        form.push(("ErrorCode", "30003".to_string()));
                    }
                    let owned: Vec<(String, String)> = form.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
                    let sig = crate::sms::twilio::signature(book.cred("auth_token"), &url, &owned);
                    (url, form, vec![("x-twilio-signature", sig)])
                }
                SmsProvider::AfricasTalking => {
                    let Some(url) = book.report_url.clone() else { return 0 };
                    let mut form = vec![
                        ("id", m.id.clone()),
                        ("status", if delivered { "Success" } else { "Failed" }.to_string()),
                        ("phoneNumber", m.to.clone()),
                        ("networkCode", "63902".to_string()),
                        ("retryCount", "0".to_string()),
                    ];
                    if !delivered {
                        form.push(("failureReason", "AbsentSubscriber".to_string()));
                    }
                    (url, form, vec![])
                }
                _ => return 0,
            }
        };
        let client = reqwest::Client::new();
        let mut req = client.post(url).form(&form);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        req.send().await.map(|r| r.status().as_u16()).unwrap_or(0)
    }
}

/// Applies a transport-level fault (500, 429, slow); `Some` is the answer to give instead.
async fn transport_fault(st: &SmsState, fault: Option<Fault>) -> Option<Response> {
    match fault {
        Some(Fault::ServerError) => Some((StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()),
        Some(Fault::Throttle) => {
            Some((StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], "too many requests").into_response())
        }
        Some(Fault::Slow(d)) => {
            let _ = st;
            tokio::time::sleep(d).await;
            None
        }
        _ => None,
    }
}

// ---- SSL Wireless -----------------------------------------------------------------------------

async fn ssl_send(State(st): State<SmsState>, axum::Json(body): axum::Json<Value>) -> Response {
    let fault = {
        let mut book = st.lock().expect("fake lock");
        if body["api_token"].as_str() != Some(book.cred("api_token")) {
            return axum::Json(
                json!({"status": "FAILED", "status_code": 4001, "error_message": "Unauthorized api_token"}),
            )
            .into_response();
        }
        book.fault()
    };
    if let Some(r) = transport_fault(&st, fault.filter(|f| !matches!(f, Fault::Slow(_)))).await {
        return r;
    }
    let refusal = match fault {
        Some(Fault::InvalidNumber) => Some((4025, "Invalid MSISDN")),
        Some(Fault::NoBalance) => Some((4026, "Insufficient balance")),
        Some(Fault::SenderRejected) => Some((4027, "Invalid SID")),
        _ => None,
    };
    if let Some((code, words)) = refusal {
        return axum::Json(json!({"status": "FAILED", "status_code": code, "error_message": words})).into_response();
    }
    let m = {
        let mut book = st.lock().expect("fake lock");
        let mut m = book.take(
            body["msisdn"].as_str().unwrap_or_default(),
            body["sms"].as_str().unwrap_or_default(),
            body["sid"].as_str(),
        );
        m.reference = body["csms_id"].as_str().map(str::to_string);
        if let Some(last) = book.messages.last_mut() {
            last.reference = m.reference.clone();
        }
        m
    };
    transport_fault(&st, fault.filter(|f| matches!(f, Fault::Slow(_)))).await;
    axum::Json(json!({"status": "SUCCESS", "status_code": 200, "error_message": "",
        "smsinfo": [{"sms_status": "SUCCESS", "status_message": "Success", "msisdn": m.to, "sms_type": "EN",
            "sms_body": m.text, "csms_id": m.reference, "reference_id": m.id}]}))
    .into_response()
}

// ---- BulkSMSBD --------------------------------------------------------------------------------

async fn bulksmsbd_send(State(st): State<SmsState>, body: String) -> Response {
    let f = form_of(&body);
    let fault = {
        let mut book = st.lock().expect("fake lock");
        if f.get("api_key").map(String::as_str) != Some(book.cred("api_key")) {
            return axum::Json(json!({"response_code": 1011, "error_message": "User ID not found"})).into_response();
        }
        book.fault()
    };
    if let Some(r) = transport_fault(&st, fault.filter(|f| !matches!(f, Fault::Slow(_)))).await {
        return r;
    }
    let refusal = match fault {
        Some(Fault::InvalidNumber) => Some((1001, "Invalid Number")),
        Some(Fault::NoBalance) => Some((1007, "Balance Insufficient")),
        Some(Fault::SenderRejected) => Some((1002, "Sender ID not correct or disabled")),
        _ => None,
    };
    if let Some((code, words)) = refusal {
        return axum::Json(json!({"response_code": code, "error_message": words})).into_response();
    }
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    let m = st.lock().expect("fake lock").take(get("number"), get("message"), f.get("senderid").map(String::as_str));
    transport_fault(&st, fault.filter(|f| matches!(f, Fault::Slow(_)))).await;
    axum::Json(json!({"response_code": 202, "message_id": m.id.parse::<u64>().unwrap_or(0),
        "success_message": "SMS Submitted Successfully", "error_message": ""}))
    .into_response()
}

async fn bulksmsbd_balance(
    State(st): State<SmsState>,
    axum::extract::Query(q): axum::extract::Query<BTreeMap<String, String>>,
) -> Response {
    let book = st.lock().expect("fake lock");
    if q.get("api_key").map(String::as_str) != Some(book.cred("api_key")) {
        return axum::Json(json!({"response_code": 1011, "error_message": "User ID not found"})).into_response();
    }
    axum::Json(json!({"response_code": 202, "balance": book.balance.parse::<f64>().unwrap_or(0.0)})).into_response()
}

// ---- Alpha SMS --------------------------------------------------------------------------------

async fn alpha_send(State(st): State<SmsState>, body: String) -> Response {
    let f = form_of(&body);
    let fault = {
        let mut book = st.lock().expect("fake lock");
        if f.get("api_key").map(String::as_str) != Some(book.cred("api_key")) {
            return axum::Json(json!({"error": 405, "msg": "Authorization required"})).into_response();
        }
        book.fault()
    };
    if let Some(r) = transport_fault(&st, fault.filter(|f| !matches!(f, Fault::Slow(_)))).await {
        return r;
    }
    let refusal = match fault {
        Some(Fault::InvalidNumber) => Some((416, "No valid number found")),
        Some(Fault::NoBalance) => Some((417, "Insufficient balance")),
        Some(Fault::SenderRejected) => Some((413, "Invalid sender id")),
        _ => None,
    };
    if let Some((code, words)) = refusal {
        return axum::Json(json!({"error": code, "msg": words})).into_response();
    }
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    let m = st.lock().expect("fake lock").take(get("to"), get("msg"), f.get("sender_id").map(String::as_str));
    transport_fault(&st, fault.filter(|f| matches!(f, Fault::Slow(_)))).await;
    axum::Json(json!({"error": 0, "msg": "Request successfully submitted", "data": {"request_id": m.id.parse::<u64>().unwrap_or(0)}}))
        .into_response()
}

async fn alpha_balance(
    State(st): State<SmsState>,
    axum::extract::Query(q): axum::extract::Query<BTreeMap<String, String>>,
) -> Response {
    let book = st.lock().expect("fake lock");
    if q.get("api_key").map(String::as_str) != Some(book.cred("api_key")) {
        return axum::Json(json!({"error": 405, "msg": "Authorization required"})).into_response();
    }
    axum::Json(json!({"error": 0, "msg": "Success", "data": {"balance": book.balance}})).into_response()
}

async fn alpha_report(
    State(st): State<SmsState>,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<BTreeMap<String, String>>,
) -> Response {
    let book = st.lock().expect("fake lock");
    if q.get("api_key").map(String::as_str) != Some(book.cred("api_key")) {
        return axum::Json(json!({"error": 405, "msg": "Authorization required"})).into_response();
    }
    let Some(m) = book.messages.iter().find(|m| m.id == id) else {
        return axum::Json(json!({"error": 404, "msg": "Not found"})).into_response();
    };
    axum::Json(json!({"error": 0, "msg": "Success", "data": {"request_id": id, "request_status": "Complete",
        "request_charge": "0.35", "recipients": [{"number": m.to, "charge": "0.35", "status": "Delivered"}]}}))
    .into_response()
}

// ---- Zenziva ----------------------------------------------------------------------------------

async fn zenziva_send(State(st): State<SmsState>, body: String) -> Response {
    let f = form_of(&body);
    let fault = {
        let mut book = st.lock().expect("fake lock");
        if f.get("userkey").map(String::as_str) != Some(book.cred("userkey"))
            || f.get("passkey").map(String::as_str) != Some(book.cred("passkey"))
        {
            return axum::Json(json!({"status": "0", "text": "Userkey / Passkey Salah"})).into_response();
        }
        book.fault()
    };
    if let Some(r) = transport_fault(&st, fault.filter(|f| !matches!(f, Fault::Slow(_)))).await {
        return r;
    }
    let refusal = match fault {
        Some(Fault::InvalidNumber) => Some("Nomor tujuan tidak valid"),
        Some(Fault::NoBalance) => Some("Saldo tidak mencukupi"),
        Some(Fault::SenderRejected) => Some("Masking tidak aktif"),
        _ => None,
    };
    if let Some(words) = refusal {
        return axum::Json(json!({"status": "0", "text": words})).into_response();
    }
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    let m = st.lock().expect("fake lock").take(get("to"), get("message"), None);
    transport_fault(&st, fault.filter(|f| matches!(f, Fault::Slow(_)))).await;
    axum::Json(json!({"messageId": m.id, "to": m.to, "status": "1", "text": "Success"})).into_response()
}

// ---- Africa's Talking -------------------------------------------------------------------------

async fn at_send(State(st): State<SmsState>, headers: HeaderMap, body: String) -> Response {
    let f = form_of(&body);
    let fault = {
        let mut book = st.lock().expect("fake lock");
        let key = headers.get("apikey").and_then(|v| v.to_str().ok());
        if key != Some(book.cred("api_key")) || f.get("username").map(String::as_str) != Some(book.cred("username")) {
            return (StatusCode::UNAUTHORIZED, "The supplied authentication is invalid").into_response();
        }
        book.fault()
    };
    if let Some(r) = transport_fault(&st, fault.filter(|f| !matches!(f, Fault::Slow(_)))).await {
        return r;
    }
    let to = f.get("to").cloned().unwrap_or_default();
    let refusal = match fault {
        Some(Fault::InvalidNumber) => Some((403, "InvalidPhoneNumber")),
        Some(Fault::NoBalance) => Some((405, "InsufficientBalance")),
        Some(Fault::SenderRejected) => Some((402, "InvalidSenderId")),
        _ => None,
    };
    if let Some((code, words)) = refusal {
        return (
            StatusCode::CREATED,
            axum::Json(json!({"SMSMessageData": {"Message": "Sent to 0/1 Total Cost: 0",
                "Recipients": [{"statusCode": code, "number": to, "status": words, "cost": "0", "messageId": "None"}]}})),
        )
            .into_response();
    }
    let m = st.lock().expect("fake lock").take(
        &to,
        f.get("message").map(String::as_str).unwrap_or_default(),
        f.get("from").map(String::as_str),
    );
    transport_fault(&st, fault.filter(|f| matches!(f, Fault::Slow(_)))).await;
    let cost = format!("KES {:.4}", 0.8 * f64::from(m.parts));
    (
        StatusCode::CREATED,
        axum::Json(json!({"SMSMessageData": {"Message": format!("Sent to 1/1 Total Cost: {cost}"),
            "Recipients": [{"statusCode": 101, "number": m.to, "status": "Success", "cost": cost,
                "messageId": m.id, "messageParts": m.parts}]}})),
    )
        .into_response()
}

async fn at_balance(
    State(st): State<SmsState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<BTreeMap<String, String>>,
) -> Response {
    let book = st.lock().expect("fake lock");
    let key = headers.get("apikey").and_then(|v| v.to_str().ok());
    if key != Some(book.cred("api_key")) || q.get("username").map(String::as_str) != Some(book.cred("username")) {
        return (StatusCode::UNAUTHORIZED, "The supplied authentication is invalid").into_response();
    }
    axum::Json(json!({"UserData": {"balance": format!("KES {}", book.balance)}})).into_response()
}

// ---- Twilio -----------------------------------------------------------------------------------

fn twilio_error(status: StatusCode, code: u32, message: &str) -> Response {
    (
        status,
        axum::Json(
            json!({"code": code, "message": message, "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status.as_u16()}),
        ),
    )
        .into_response()
}

fn twilio_authorised(book: &SmsBook, sid: &str, headers: &HeaderMap) -> bool {
    use base64::Engine;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            book.cred("account_sid"),
            book.cred("auth_token")
        ))
    );
    sid == book.cred("account_sid")
        && headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str())
}

async fn twilio_send(
    State(st): State<SmsState>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let f = form_of(&body);
    let fault = {
        let mut book = st.lock().expect("fake lock");
        if !twilio_authorised(&book, &sid, &headers) {
            return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
        }
        book.fault()
    };
    match fault {
        Some(Fault::ServerError) => {
            return twilio_error(StatusCode::INTERNAL_SERVER_ERROR, 20500, "Internal Server Error");
        }
        Some(Fault::Throttle) => return twilio_error(StatusCode::TOO_MANY_REQUESTS, 20429, "Too Many Requests"),
        Some(Fault::InvalidNumber) => {
            return twilio_error(StatusCode::BAD_REQUEST, 21211, "The 'To' number is not a valid phone number.");
        }
        // A Twilio account out of funds is suspended: its calls fail authentication.
        Some(Fault::NoBalance) => return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate"),
        Some(Fault::SenderRejected) => {
            return twilio_error(
                StatusCode::BAD_REQUEST,
                21606,
                "The 'From' phone number provided is not a valid message-capable Twilio phone number for this destination.",
            );
        }
        _ => {}
    }
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    let sender = f.get("From").or(f.get("MessagingServiceSid")).map(String::as_str);
    let m = {
        let mut book = st.lock().expect("fake lock");
        let mut m = book.take(get("To"), get("Body"), sender);
        m.status_callback = f.get("StatusCallback").cloned();
        if let Some(last) = book.messages.last_mut() {
            last.status_callback = m.status_callback.clone();
        }
        m
    };
    if let Some(Fault::Slow(d)) = fault {
        tokio::time::sleep(d).await;
    }
    (
        StatusCode::CREATED,
        axum::Json(json!({"sid": m.id, "account_sid": sid, "to": m.to, "from": m.sender, "body": m.text,
            "status": "queued", "num_segments": m.parts.to_string(), "price": null, "price_unit": "USD",
            "error_code": null, "api_version": "2010-04-01"})),
    )
        .into_response()
}

async fn twilio_balance(State(st): State<SmsState>, Path(sid): Path<String>, headers: HeaderMap) -> Response {
    let book = st.lock().expect("fake lock");
    if !twilio_authorised(&book, &sid, &headers) {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    axum::Json(json!({"balance": book.balance, "currency": "USD", "account_sid": sid})).into_response()
}
