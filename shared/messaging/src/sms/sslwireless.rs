//! SSL Wireless ISMS (smsplus): `POST {base}/api/v3/send-sms` with JSON `{api_token, sid, msisdn,
//! sms, csms_id}`; `sid` is the approved mask, `csms_id` our message's unique id. The answer:
//! `{status, status_code (200 = OK), error_message, smsinfo: [{sms_status, status_message, msisdn,
//! csms_id, reference_id}]}`. SSL publishes no error table or delivery-report callback; 4003 is "IP
//! Blacklisted" (the sender's address must be whitelisted). Everything else it refuses is
//! recorded with its words as rejected.

use super::{SmsAccepted, SmsAccount, SmsHttp, SmsRequest, call, digits, json};
use crate::error::{PermanentReason, SendError};

pub async fn send(http: &SmsHttp, account: &SmsAccount, req: &SmsRequest) -> Result<SmsAccepted, SendError> {
    let body = serde_json::json!({
        "api_token": account.credential("api_token")?,
        "sid": account.sender()?,
        "msisdn": digits(&req.to),
        "sms": req.text,
        "csms_id": req.reference,
    });
    let url = format!("{}/api/v3/send-sms", account.base_url);
    let (status, text) = call(http.client().post(url).header("accept", "application/json").json(&body)).await?;
    let v = json(&text)?;
    let code = v["status_code"].as_i64().or_else(|| v["status_code"].as_str().and_then(|s| s.parse().ok()));
    let info = &v["smsinfo"][0];
    if status == 200 && code == Some(200) && info["sms_status"].as_str() == Some("SUCCESS") {
        return Ok(SmsAccepted {
            provider_message_id: info["reference_id"].as_str().map(str::to_string),
            parts: None,
            cost: None,
        });
    }
    let words = v["error_message"]
        .as_str()
        .filter(|s| !s.is_empty())
        .or(info["status_message"].as_str())
        .unwrap_or("refused")
        .to_string();
    Err(match code {
        Some(4001 | 4003) => SendError::permanent(PermanentReason::Credentials, format!("{code:?}: {words}")),
        _ if status == 401 || status == 403 => SendError::permanent(PermanentReason::Credentials, words),
        _ => {
            let lower = words.to_lowercase();
            let reason = if lower.contains("balance") {
                PermanentReason::NoBalance
            } else if lower.contains("msisdn") || lower.contains("number") {
                PermanentReason::InvalidNumber
            } else if lower.contains("sid") || lower.contains("mask") {
                PermanentReason::SenderRejected
            } else {
                PermanentReason::Rejected
            };
            SendError::permanent(reason, format!("{}: {words}", code.unwrap_or(i64::from(status))))
        }
    })
}
