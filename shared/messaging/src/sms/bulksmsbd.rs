//! BulkSMSBD: `POST {base}/api/smsapi` with form `api_key, type=text, number, senderid, message`;
//! the answer `{response_code: 202, message_id, success_message, error_message}`, other codes per
//! its table (1001 invalid number, 1002 sender id, 1007 insufficient balance, 1011/1031/1032
//! account and whitelisting, 1005 internal error). Balance: `GET {base}/api/getBalanceApi`.
//! No delivery reports.

use super::{SmsAccepted, SmsAccount, SmsBalance, SmsHttp, SmsRequest, call, digits, json};
use crate::error::{PermanentReason, SendError};

pub async fn send(http: &SmsHttp, account: &SmsAccount, req: &SmsRequest) -> Result<SmsAccepted, SendError> {
    let number = digits(&req.to);
    let form = [
        ("api_key", account.credential("api_key")?),
        ("type", "text"),
        ("number", number.as_str()),
        ("senderid", account.sender()?),
        ("message", req.text.as_str()),
    ];
    let url = format!("{}/api/smsapi", account.base_url);
    let (_, text) = call(http.client().post(url).form(&form)).await?;
    let v = json(&text)?;
    let code = response_code(&v);
    if code == Some(202) {
        let id = match &v["message_id"] {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        return Ok(SmsAccepted { provider_message_id: id, parts: None, cost: None });
    }
    let words = v["error_message"].as_str().or(v["success_message"].as_str()).unwrap_or("refused");
    let detail = format!("{}: {words}", code.map(|c| c.to_string()).unwrap_or_else(|| "?".into()));
    Err(match code {
        Some(1001) => SendError::permanent(PermanentReason::InvalidNumber, detail),
        Some(1002 | 1012 | 1013..=1017) => SendError::permanent(PermanentReason::SenderRejected, detail),
        Some(1006 | 1007) => SendError::permanent(PermanentReason::NoBalance, detail),
        Some(1011 | 1018..=1021 | 1031 | 1032) => SendError::permanent(PermanentReason::Credentials, detail),
        Some(1005) => SendError::retry(detail),
        _ => SendError::permanent(PermanentReason::Rejected, detail),
    })
}

pub async fn balance(http: &SmsHttp, account: &SmsAccount) -> Result<SmsBalance, SendError> {
    let url = format!("{}/api/getBalanceApi", account.base_url);
    let (_, text) = call(http.client().get(url).query(&[("api_key", account.credential("api_key")?)])).await?;
    let v = json(&text)?;
    match &v["balance"] {
        serde_json::Value::Number(n) => Ok(SmsBalance { amount: n.to_string(), currency: Some("BDT".into()) }),
        serde_json::Value::String(s) => Ok(SmsBalance { amount: s.clone(), currency: Some("BDT".into()) }),
        _ => Err(SendError::credentials(format!("no balance in the answer: {}", outbound::cut(&text)))),
    }
}

fn response_code(v: &serde_json::Value) -> Option<i64> {
    v["response_code"].as_i64().or_else(|| v["response_code"].as_str().and_then(|s| s.parse().ok()))
}
