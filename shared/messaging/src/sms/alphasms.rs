//! Alpha SMS (sms.net.bd): `POST {base}/sendsms` with form `api_key, msg, to[, sender_id]`; the
//! answer `{error: 0, msg, data: {request_id}}`, or `{error: <code>, msg}` (405 authorization
//! required, 410/411 account expired, 413 invalid sender id, 416 no valid number, 417
//! insufficient balance, 420 content blocked). Balance: `GET {base}/user/balance/`. Delivery is
//! pulled (`GET {base}/report/request/{id}/`), never pushed.

use super::{DeliveryState, SmsAccepted, SmsAccount, SmsBalance, SmsHttp, SmsRequest, call, digits, json};
use crate::error::{PermanentReason, SendError};

pub async fn send(http: &SmsHttp, account: &SmsAccount, req: &SmsRequest) -> Result<SmsAccepted, SendError> {
    let to = digits(&req.to);
    let mut form = vec![("api_key", account.credential("api_key")?), ("msg", req.text.as_str()), ("to", to.as_str())];
    if let Some(s) = account.sender_id.as_deref().filter(|s| !s.is_empty()) {
        form.push(("sender_id", s));
    }
    let url = format!("{}/sendsms", account.base_url);
    let (_, text) = call(http.client().post(url).form(&form)).await?;
    let v = json(&text)?;
    let code = v["error"].as_i64().unwrap_or(-1);
    if code == 0 {
        let id = match &v["data"]["request_id"] {
            serde_json::Value::Number(n) => Some(n.to_string()),
            serde_json::Value::String(s) => Some(s.clone()),
            _ => None,
        };
        return Ok(SmsAccepted { provider_message_id: id, parts: None, cost: None });
    }
    let detail = format!("{code}: {}", v["msg"].as_str().unwrap_or("refused"));
    Err(match code {
        416 => SendError::permanent(PermanentReason::InvalidNumber, detail),
        417 => SendError::permanent(PermanentReason::NoBalance, detail),
        413 => SendError::permanent(PermanentReason::SenderRejected, detail),
        403 | 405 | 410 | 411 => SendError::permanent(PermanentReason::Credentials, detail),
        409 => SendError::retry(detail),
        _ => SendError::permanent(PermanentReason::Rejected, detail),
    })
}

pub async fn balance(http: &SmsHttp, account: &SmsAccount) -> Result<SmsBalance, SendError> {
    let url = format!("{}/user/balance/", account.base_url);
    let (_, text) = call(http.client().get(url).query(&[("api_key", account.credential("api_key")?)])).await?;
    let v = json(&text)?;
    if v["error"].as_i64() != Some(0) {
        return Err(SendError::credentials(format!("{}: {}", v["error"], v["msg"].as_str().unwrap_or("refused"))));
    }
    let amount = match &v["data"]["balance"] {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Ok(SmsBalance { amount, currency: Some("BDT".into()) })
}

/// A request's delivery, pulled: each recipient's state (`None` while the request is still being
/// worked on).
pub async fn report(
    http: &SmsHttp,
    account: &SmsAccount,
    request_id: &str,
) -> Result<Option<Vec<(String, DeliveryState)>>, SendError> {
    if !request_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(SendError::permanent(PermanentReason::Rejected, "not a request id"));
    }
    let url = format!("{}/report/request/{request_id}/", account.base_url);
    let (_, text) = call(http.client().get(url).query(&[("api_key", account.credential("api_key")?)])).await?;
    let v = json(&text)?;
    if v["error"].as_i64() != Some(0) {
        return Err(SendError::permanent(PermanentReason::Rejected, outbound::cut(&text)));
    }
    if v["data"]["request_status"].as_str() != Some("Complete") {
        return Ok(None);
    }
    let recipients = v["data"]["recipients"].as_array().cloned().unwrap_or_default();
    Ok(Some(
        recipients
            .iter()
            .map(|r| {
                let state = match r["status"].as_str().unwrap_or_default().to_ascii_lowercase().as_str() {
                    "delivered" | "success" => DeliveryState::Delivered,
                    "sent" | "pending" | "submitted" => DeliveryState::Sent,
                    _ => DeliveryState::Failed,
                };
                (r["number"].as_str().unwrap_or_default().to_string(), state)
            })
            .collect(),
    ))
}
