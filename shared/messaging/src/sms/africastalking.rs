//! Africa's Talking: `POST {base}/version1/messaging` (header `apiKey`, `Accept: application/json`)
//! with form `username, to, message, from, bulkSMSMode=1`; the answer's
//! `SMSMessageData.Recipients[]` carry `statusCode` (100 Processed, 101 Sent, 102 Queued; 401
//! RiskHold, 402 InvalidSenderId, 403 InvalidPhoneNumber, 404 UnsupportedNumberType, 405
//! InsufficientBalance, 406 UserInBlacklist, 407 CouldNotRoute, 409 DoNotDisturbRejection, 500
//! InternalServerError, 501 GatewayError, 502 RejectedByGateway), `messageId`, `cost` and
//! `messageParts`. Balance: `GET {base}/version1/user?username=`. Delivery reports are posted
//! (form, unsigned) to the callback URL set in the dashboard: `id, status, phoneNumber,
//! networkCode, failureReason, retryCount`.

use super::{DeliveryReport, DeliveryState, SmsAccepted, SmsAccount, SmsBalance, SmsHttp, SmsRequest, call, json};
use crate::error::{PermanentReason, SendError};

pub async fn send(http: &SmsHttp, account: &SmsAccount, req: &SmsRequest) -> Result<SmsAccepted, SendError> {
    let mut form = vec![
        ("username", account.credential("username")?),
        ("to", req.to.as_str()),
        ("message", req.text.as_str()),
        ("bulkSMSMode", "1"),
    ];
    if let Some(s) = account.sender_id.as_deref().filter(|s| !s.is_empty()) {
        form.push(("from", s));
    }
    let url = format!("{}/version1/messaging", account.base_url);
    let request = http
        .client()
        .post(url)
        .header("apiKey", account.credential("api_key")?)
        .header("accept", "application/json")
        .form(&form);
    let (status, text) = call(request).await?;
    if status == 401 {
        return Err(SendError::credentials(format!("HTTP 401: {}", outbound::cut(&text))));
    }
    if !(200..300).contains(&status) {
        return Err(SendError::permanent(
            PermanentReason::Rejected,
            format!("HTTP {status}: {}", outbound::cut(&text)),
        ));
    }
    let v = json(&text)?;
    let data = &v["SMSMessageData"];
    let Some(r) = data["Recipients"].as_array().and_then(|a| a.first()) else {
        // No recipient taken: the message says why (`InvalidSenderId`, `Invalid phoneNumber`).
        let words = data["Message"].as_str().unwrap_or("no recipient accepted").to_string();
        let reason = if words.contains("Sender") { PermanentReason::SenderRejected } else { PermanentReason::Rejected };
        return Err(SendError::permanent(reason, words));
    };
    let code = r["statusCode"].as_i64().unwrap_or(0);
    let detail = format!("{code} {}", r["status"].as_str().unwrap_or_default());
    match code {
        100..=102 => Ok(SmsAccepted {
            provider_message_id: r["messageId"].as_str().map(str::to_string),
            parts: r["messageParts"].as_u64().map(|p| p as u32),
            cost: r["cost"].as_str().filter(|c| *c != "0").map(str::to_string),
        }),
        402 => Err(SendError::permanent(PermanentReason::SenderRejected, detail)),
        403 | 404 => Err(SendError::permanent(PermanentReason::InvalidNumber, detail)),
        405 => Err(SendError::permanent(PermanentReason::NoBalance, detail)),
        500 | 501 => Err(SendError::retry(detail)),
        _ => Err(SendError::permanent(PermanentReason::Rejected, detail)),
    }
}

pub async fn balance(http: &SmsHttp, account: &SmsAccount) -> Result<SmsBalance, SendError> {
    let url = format!("{}/version1/user", account.base_url);
    let request = http
        .client()
        .get(url)
        .query(&[("username", account.credential("username")?)])
        .header("apiKey", account.credential("api_key")?)
        .header("accept", "application/json");
    let (status, text) = call(request).await?;
    if status == 401 {
        return Err(SendError::credentials(format!("HTTP 401: {}", outbound::cut(&text))));
    }
    let v = json(&text)?;
    let stated = v["UserData"]["balance"]
        .as_str()
        .ok_or_else(|| SendError::credentials(format!("no balance: {}", outbound::cut(&text))))?;
    // `KES 1785.50`: currency then amount.
    Ok(match stated.split_once(' ') {
        Some((currency, amount)) => SmsBalance { amount: amount.to_string(), currency: Some(currency.to_string()) },
        None => SmsBalance { amount: stated.to_string(), currency: None },
    })
}

/// Reads a delivery report (a form body). Unsigned: the service trusts it only at a callback URL
/// carrying a secret, and only to move a message it sent, by the id the provider gave it.
pub fn delivery_report(form: &[u8]) -> Result<DeliveryReport, String> {
    let fields = outbound::form_fields(form)?;
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let id = get("id").filter(|s| !s.is_empty()).ok_or("a report without id")?;
    let status = get("status").ok_or("a report without status")?;
    let state = match status.as_str() {
        "Success" => DeliveryState::Delivered,
        "Sent" | "Submitted" | "Buffered" => DeliveryState::Sent,
        "Rejected" | "Failed" | "AbsentSubscriber" | "Expired" => DeliveryState::Failed,
        other => return Err(format!("unknown status {other}")),
    };
    let detail = match get("failureReason").filter(|r| !r.is_empty()) {
        Some(r) => format!("{status} {r}"),
        None => status,
    };
    Ok(DeliveryReport { provider_message_id: id, state, detail })
}
