//! Zenziva (Indonesia), the console's regular SMS API: `POST {base}/reguler/api/sendsms/` with
//! form `userkey, passkey, to, message`; success is `status == "1"` with a `messageId`, a refusal
//! `status == "0"` with Zenziva's words in `text` (Indonesian). It publishes no error table, no
//! balance API for this product and no signed delivery report, so a refusal is classified by its
//! words and otherwise recorded as rejected.

use super::{SmsAccepted, SmsAccount, SmsHttp, SmsRequest, call, json};
use crate::error::{PermanentReason, SendError};

pub async fn send(http: &SmsHttp, account: &SmsAccount, req: &SmsRequest) -> Result<SmsAccepted, SendError> {
    // Zenziva takes the national form (`0812...`).
    let to = format!("0{}", domain::phone::national_digits(&req.to));
    let form = [
        ("userkey", account.credential("userkey")?),
        ("passkey", account.credential("passkey")?),
        ("to", to.as_str()),
        ("message", req.text.as_str()),
    ];
    let url = format!("{}/reguler/api/sendsms/", account.base_url);
    let (_, text) = call(http.client().post(url).form(&form)).await?;
    let v = json(&text)?;
    let status = match &v["status"] {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if status == "1" {
        let id = match &v["messageId"] {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        return Ok(SmsAccepted { provider_message_id: id, parts: None, cost: None });
    }
    let words = v["text"].as_str().unwrap_or("refused").to_string();
    let lower = words.to_lowercase();
    let reason = if lower.contains("saldo") || lower.contains("balance") || lower.contains("kredit") {
        PermanentReason::NoBalance
    } else if lower.contains("nomor") || lower.contains("number") {
        PermanentReason::InvalidNumber
    } else if lower.contains("masking") || lower.contains("sender") {
        PermanentReason::SenderRejected
    } else if lower.contains("userkey") || lower.contains("passkey") || lower.contains("auth") {
        PermanentReason::Credentials
    } else {
        PermanentReason::Rejected
    };
    Err(SendError::permanent(reason, words))
}
