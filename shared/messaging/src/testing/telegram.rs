//! A fake of Telegram's Bot API (`/bot<token>/sendMessage`): keeps the messages per chat, answers
//! as Telegram does, and can throttle (429 with `retry_after`) or say the bot was blocked.

use super::Running;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramMessage {
    pub chat_id: String,
    pub text: String,
}

#[derive(Default)]
struct TelegramBook {
    token: String,
    messages: Vec<TelegramMessage>,
    /// Answers 429 with this many seconds to wait, this many times.
    throttle: u32,
    blocked: bool,
}

pub struct FakeTelegram(Running<TelegramBook>);

impl FakeTelegram {
    pub async fn start(token: &str) -> FakeTelegram {
        let book = TelegramBook { token: token.to_string(), ..TelegramBook::default() };
        let routes = Router::new().route("/{bot}/sendMessage", post(send_message));
        FakeTelegram(Running::start(book, routes).await)
    }

    pub fn base_url(&self) -> String {
        self.0.base_url()
    }

    pub fn messages(&self) -> Vec<TelegramMessage> {
        self.0.book().messages.clone()
    }

    /// The next `times` sends are throttled.
    pub fn throttle(&self, times: u32) {
        self.0.book().throttle = times;
    }

    /// The chat blocked the bot (403).
    pub fn block(&self, blocked: bool) {
        self.0.book().blocked = blocked;
    }
}

async fn send_message(
    State(st): State<Arc<Mutex<TelegramBook>>>,
    Path(bot): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let mut book = st.lock().expect("fake lock");
    if bot.strip_prefix("bot") != Some(book.token.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"ok": false, "error_code": 401, "description": "Unauthorized"})),
        )
            .into_response();
    }
    if book.throttle > 0 {
        book.throttle -= 1;
        return (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 3",
                "parameters": {"retry_after": 3}})),
        )
            .into_response();
    }
    if book.blocked {
        return (
            StatusCode::FORBIDDEN,
            axum::Json(
                json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}),
            ),
        )
            .into_response();
    }
    let chat_id = match &body["chat_id"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let text = body["text"].as_str().unwrap_or_default().to_string();
    if text.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"ok": false, "error_code": 400, "description": "Bad Request: message text is empty"})),
        )
            .into_response();
    }
    book.messages.push(TelegramMessage { chat_id: chat_id.clone(), text: text.clone() });
    let id = book.messages.len();
    axum::Json(
        json!({"ok": true, "result": {"message_id": id, "chat": {"id": chat_id}, "date": 1_764_900_000, "text": text}}),
    )
    .into_response()
}
