//! Telegram Bot API, for staff chats: `POST {base}/bot<token>/sendMessage` with JSON `{chat_id,
//! text, parse_mode, disable_web_page_preview}`; `{ok: true, result: Message}`, or `{ok: false,
//! error_code, description, parameters: {retry_after}}` (429: wait `retry_after` seconds; about
//! one message a second per chat, 20 a minute per group). 400 "chat not found" and 403 "bot was
//! blocked" are permanent.

use crate::error::{PermanentReason, SendError};
use std::time::Duration;

pub const LIVE_BASE_URL: &str = "https://api.telegram.org";

/// A bot: its token (never logged) and the API base (another only for a sandbox: a fake).
#[derive(Clone)]
pub struct TelegramBot {
    pub base_url: String,
    pub token: String,
}

impl std::fmt::Debug for TelegramBot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramBot").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

/// Telegram's id of the message sent.
pub async fn send_message(
    http: &crate::sms::SmsHttp,
    bot: &TelegramBot,
    chat_id: &str,
    text: &str,
) -> Result<String, SendError> {
    if bot.token.is_empty() || !bot.token.chars().all(|c| c.is_ascii_alphanumeric() || c == ':' || c == '_' || c == '-')
    {
        return Err(SendError::credentials("not a bot token".into()));
    }
    let url = format!("{}/bot{}/sendMessage", bot.base_url, bot.token);
    let body = serde_json::json!({"chat_id": chat_id, "text": text, "disable_web_page_preview": true});
    let resp = http.client().post(url).json(&body).send().await.map_err(|e| SendError::from_transport(&e))?;
    let status = resp.status().as_u16();
    let text = resp.text().await.map_err(|e| SendError::Unknown { detail: outbound::transport(&e) })?;
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    if v["ok"].as_bool() == Some(true) {
        return Ok(v["result"]["message_id"].to_string());
    }
    let words = v["description"].as_str().map(str::to_string).unwrap_or_else(|| outbound::cut(&text));
    let detail = format!("{status}: {words}");
    Err(match status {
        429 => SendError::Retryable {
            detail,
            retry_after: v["parameters"]["retry_after"].as_u64().map(Duration::from_secs),
        },
        s if s >= 500 => SendError::retry(detail),
        401 | 404 => SendError::permanent(PermanentReason::Credentials, detail),
        _ => SendError::permanent(PermanentReason::Rejected, detail),
    })
}
