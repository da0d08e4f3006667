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
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod endpoint;
mod telegram;
pub use endpoint::{FakeEndpoint, ReceivedDelivery};
pub use telegram::{FakeTelegram, TelegramMessage};

/// A fake's server and its book.
struct Running<B>(outbound::testing::FakeServer<B>);

impl<B: Send + 'static> Running<B> {
    async fn start(book: B, routes: Router<Arc<Mutex<B>>>) -> Running<B> {
        Running(outbound::testing::FakeServer::start(book, routes, |_, _| {}).await)
    }

    fn base_url(&self) -> String {
        self.0.base_url()
    }

    fn book(&self) -> std::sync::MutexGuard<'_, B> {
        self.0.book()
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

    /// Takes a message; the one kept, for the provider to add what it records beside it.
    fn take(&mut self, to: &str, text: &str, sender: Option<&str>) -> &mut FakeSmsMessage {
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
        self.messages.push(m);
        self.messages.last_mut().expect("just taken")
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

/// How a fake provider answers one send: its credentials check, then the fault queued for the
/// send (the provider's own refusal, else HTTP 500 or 429), then the message taken and the
/// provider's success answer (late, for a slow fault: the message was taken all the same).
async fn answer_send(
    st: &SmsState,
    authorised: impl FnOnce(&SmsBook) -> bool,
    denied: impl FnOnce() -> Response,
    refusal: impl FnOnce(Fault) -> Option<Response>,
    take: impl FnOnce(&mut SmsBook) -> FakeSmsMessage,
    accepted: impl FnOnce(&FakeSmsMessage) -> Response,
) -> Response {
    let fault = {
        let mut book = st.lock().expect("fake lock");
        if !authorised(&book) {
            return denied();
        }
        book.fault()
    };
    if let Some(f) = fault {
        if let Some(answer) = refusal(f) {
            return answer;
        }
        match f {
            Fault::ServerError => return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response(),
            Fault::Throttle => {
                return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], "too many requests").into_response();
            }
            _ => {}
        }
    }
    let m = take(&mut st.lock().expect("fake lock"));
    if let Some(Fault::Slow(d)) = fault {
        tokio::time::sleep(d).await;
    }
    accepted(&m)
}

/// The provider's words for a refusal fault, by provider (`None`: not a refusal).
fn refusal_words<T>(fault: Fault, invalid: T, no_balance: T, sender: T) -> Option<T> {
    match fault {
        Fault::InvalidNumber => Some(invalid),
        Fault::NoBalance => Some(no_balance),
        Fault::SenderRejected => Some(sender),
        _ => None,
    }
}

// ---- SSL Wireless -----------------------------------------------------------------------------

async fn ssl_send(State(st): State<SmsState>, axum::Json(body): axum::Json<Value>) -> Response {
    let text = |k: &str| body[k].as_str().unwrap_or_default().to_string();
    answer_send(
        &st,
        |book| text("api_token") == book.cred("api_token"),
        || {
            axum::Json(json!({"status": "FAILED", "status_code": 4001, "error_message": "Unauthorized api_token"}))
                .into_response()
        },
        |f| {
            let (code, words) =
                refusal_words(f, (4025, "Invalid MSISDN"), (4026, "Insufficient balance"), (4027, "Invalid SID"))?;
            Some(axum::Json(json!({"status": "FAILED", "status_code": code, "error_message": words})).into_response())
        },
        |book| {
            let m = book.take(&text("msisdn"), &text("sms"), body["sid"].as_str());
            m.reference = body["csms_id"].as_str().map(str::to_string);
            m.clone()
        },
        |m| {
            axum::Json(json!({"status": "SUCCESS", "status_code": 200, "error_message": "",
                "smsinfo": [{"sms_status": "SUCCESS", "status_message": "Success", "msisdn": m.to, "sms_type": "EN",
                    "sms_body": m.text, "csms_id": m.reference, "reference_id": m.id}]}))
            .into_response()
        },
    )
    .await
}

// ---- BulkSMSBD --------------------------------------------------------------------------------

async fn bulksmsbd_send(State(st): State<SmsState>, body: String) -> Response {
    let f = form_of(&body);
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    answer_send(
        &st,
        |book| get("api_key") == book.cred("api_key"),
        || axum::Json(json!({"response_code": 1011, "error_message": "User ID not found"})).into_response(),
        |fault| {
            let (code, words) = refusal_words(
                fault,
                (1001, "Invalid Number"),
                (1007, "Balance Insufficient"),
                (1002, "Sender ID not correct or disabled"),
            )?;
            Some(axum::Json(json!({"response_code": code, "error_message": words})).into_response())
        },
        |book| book.take(get("number"), get("message"), f.get("senderid").map(String::as_str)).clone(),
        |m| {
            axum::Json(json!({"response_code": 202, "message_id": m.id.parse::<u64>().unwrap_or(0),
                "success_message": "SMS Submitted Successfully", "error_message": ""}))
            .into_response()
        },
    )
    .await
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
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    answer_send(
        &st,
        |book| get("api_key") == book.cred("api_key"),
        || axum::Json(json!({"error": 405, "msg": "Authorization required"})).into_response(),
        |fault| {
            let (code, words) = refusal_words(
                fault,
                (416, "No valid number found"),
                (417, "Insufficient balance"),
                (413, "Invalid sender id"),
            )?;
            Some(axum::Json(json!({"error": code, "msg": words})).into_response())
        },
        |book| book.take(get("to"), get("msg"), f.get("sender_id").map(String::as_str)).clone(),
        |m| {
            axum::Json(json!({"error": 0, "msg": "Request successfully submitted",
                "data": {"request_id": m.id.parse::<u64>().unwrap_or(0)}}))
            .into_response()
        },
    )
    .await
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
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    answer_send(
        &st,
        |book| get("userkey") == book.cred("userkey") && get("passkey") == book.cred("passkey"),
        || axum::Json(json!({"status": "0", "text": "Userkey / Passkey Salah"})).into_response(),
        |fault| {
            let words =
                refusal_words(fault, "Nomor tujuan tidak valid", "Saldo tidak mencukupi", "Masking tidak aktif")?;
            Some(axum::Json(json!({"status": "0", "text": words})).into_response())
        },
        |book| book.take(get("to"), get("message"), None).clone(),
        |m| axum::Json(json!({"messageId": m.id, "to": m.to, "status": "1", "text": "Success"})).into_response(),
    )
    .await
}

// ---- Africa's Talking -------------------------------------------------------------------------

async fn at_send(State(st): State<SmsState>, headers: HeaderMap, body: String) -> Response {
    let f = form_of(&body);
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    let key = headers.get("apikey").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    answer_send(
        &st,
        |book| key == book.cred("api_key") && get("username") == book.cred("username"),
        || (StatusCode::UNAUTHORIZED, "The supplied authentication is invalid").into_response(),
        |fault| {
            let (code, words) = refusal_words(
                fault,
                (403, "InvalidPhoneNumber"),
                (405, "InsufficientBalance"),
                (402, "InvalidSenderId"),
            )?;
            let recipient =
                json!({"statusCode": code, "number": get("to"), "status": words, "cost": "0", "messageId": "None"});
            let answer = json!({"SMSMessageData": {"Message": "Sent to 0/1 Total Cost: 0", "Recipients": [recipient]}});
            Some((StatusCode::CREATED, axum::Json(answer)).into_response())
        },
        |book| book.take(get("to"), get("message"), f.get("from").map(String::as_str)).clone(),
        |m| {
            let cost = format!("KES {:.4}", 0.8 * f64::from(m.parts));
            let recipient = json!({"statusCode": 101, "number": m.to, "status": "Success", "cost": cost,
                "messageId": m.id, "messageParts": m.parts});
            let answer = json!({"SMSMessageData": {"Message": format!("Sent to 1/1 Total Cost: {cost}"),
                "Recipients": [recipient]}});
            (StatusCode::CREATED, axum::Json(answer)).into_response()
        },
    )
    .await
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
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    answer_send(
        &st,
        |book| twilio_authorised(book, &sid, &headers),
        || twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate"),
        |fault| match fault {
            Fault::ServerError => Some(twilio_error(StatusCode::INTERNAL_SERVER_ERROR, 20500, "Internal Server Error")),
            Fault::Throttle => Some(twilio_error(StatusCode::TOO_MANY_REQUESTS, 20429, "Too Many Requests")),
            Fault::InvalidNumber => {
                Some(twilio_error(StatusCode::BAD_REQUEST, 21211, "The 'To' number is not a valid phone number."))
            }
            // A Twilio account out of funds is suspended: its calls fail authentication.
            Fault::NoBalance => Some(twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate")),
            Fault::SenderRejected => Some(twilio_error(
                StatusCode::BAD_REQUEST,
                21606,
                "The 'From' phone number provided is not a valid message-capable Twilio phone number for this destination.",
            )),
            Fault::Slow(_) => None,
        },
        |book| {
            let sender = f.get("From").or(f.get("MessagingServiceSid")).map(String::as_str);
            let m = book.take(get("To"), get("Body"), sender);
            m.status_callback = f.get("StatusCallback").cloned();
            m.clone()
        },
        |m| {
            (
                StatusCode::CREATED,
                axum::Json(json!({"sid": m.id, "account_sid": sid, "to": m.to, "from": m.sender, "body": m.text,
                    "status": "queued", "num_segments": m.parts.to_string(), "price": null, "price_unit": "USD",
                    "error_code": null, "api_version": "2010-04-01"})),
            )
                .into_response()
        },
    )
    .await
}

async fn twilio_balance(State(st): State<SmsState>, Path(sid): Path<String>, headers: HeaderMap) -> Response {
    let book = st.lock().expect("fake lock");
    if !twilio_authorised(&book, &sid, &headers) {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    axum::Json(json!({"balance": book.balance, "currency": "USD", "account_sid": sid})).into_response()
}
