//! Twilio: `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json` (HTTP Basic with the
//! account SID and auth token) with form `To, From | MessagingServiceSid, Body, StatusCallback`;
//! 201 with `{sid, status, num_segments, price, price_unit}`, or `{code, message, status}`
//! (21211 invalid `To`, 21614 not a mobile number, 21606/21212/21659 `From` not usable, 21610
//! unsubscribed, 21408 region not enabled, 20003 authentication, 20429 and HTTP 429 too many
//! requests). Balance: `GET .../Balance.json`. Status callbacks are form posts signed with
//! `X-Twilio-Signature` = base64(HMAC-SHA1(auth token, the full URL followed by each POST field's
//! name and value, sorted by name)).

use super::{DeliveryReport, DeliveryState, SmsAccepted, SmsAccount, SmsBalance, SmsHttp, SmsRequest, call, json};
use crate::error::{PermanentReason, SendError};
use base64::Engine;

fn account_url(account: &SmsAccount, sid: &str, rest: &str) -> Result<String, SendError> {
    if !sid.starts_with("AC") || !sid.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(SendError::credentials("the account SID is not an AC... SID".into()));
    }
    Ok(format!("{}/2010-04-01/Accounts/{sid}/{rest}", account.base_url))
}

pub async fn send(http: &SmsHttp, account: &SmsAccount, req: &SmsRequest) -> Result<SmsAccepted, SendError> {
    let sid = account.credential("account_sid")?;
    let token = account.credential("auth_token")?;
    let sender = account.sender()?;
    let from_field = if sender.starts_with("MG") { "MessagingServiceSid" } else { "From" };
    let mut form = vec![("To", req.to.as_str()), (from_field, sender), ("Body", req.text.as_str())];
    if let Some(cb) = &req.status_callback {
        form.push(("StatusCallback", cb.as_str()));
    }
    let url = account_url(account, sid, "Messages.json")?;
    let (status, text) = call(http.client().post(url).basic_auth(sid, Some(token)).form(&form)).await?;
    let v = json(&text)?;
    if (200..300).contains(&status) {
        let price = v["price"].as_str().map(|p| match v["price_unit"].as_str() {
            Some(unit) => format!("{unit} {p}"),
            None => p.to_string(),
        });
        return Ok(SmsAccepted {
            provider_message_id: v["sid"].as_str().map(str::to_string),
            parts: v["num_segments"].as_str().and_then(|n| n.parse().ok()),
            cost: price,
        });
    }
    let code = v["code"].as_i64().unwrap_or(0);
    let detail = format!("{code}: {}", v["message"].as_str().unwrap_or("refused"));
    Err(match code {
        21211 | 21614 | 21401 | 21407 => SendError::permanent(PermanentReason::InvalidNumber, detail),
        21606 | 21212 | 21659 | 21608 => SendError::permanent(PermanentReason::SenderRejected, detail),
        20003 | 20005 | 20404 => SendError::permanent(PermanentReason::Credentials, detail),
        20429 => SendError::retry(detail),
        _ if status == 401 => SendError::permanent(PermanentReason::Credentials, detail),
        _ => SendError::permanent(PermanentReason::Rejected, detail),
    })
}

pub async fn balance(http: &SmsHttp, account: &SmsAccount) -> Result<SmsBalance, SendError> {
    let sid = account.credential("account_sid")?;
    let token = account.credential("auth_token")?;
    let url = account_url(account, sid, "Balance.json")?;
    let (status, text) = call(http.client().get(url).basic_auth(sid, Some(token))).await?;
    if status == 401 || status == 404 {
        return Err(SendError::credentials(format!("HTTP {status}: {}", outbound::cut(&text))));
    }
    let v = json(&text)?;
    let amount = v["balance"].as_str().ok_or_else(|| SendError::credentials(outbound::cut(&text)))?;
    Ok(SmsBalance { amount: amount.to_string(), currency: v["currency"].as_str().map(str::to_string) })
}

/// `X-Twilio-Signature` of a form POST to `url`: base64(HMAC-SHA1(auth token, url + each field's
/// name and value, sorted by name, then value)).
pub fn signature(auth_token: &str, url: &str, fields: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = fields.iter().collect();
    sorted.sort();
    let mut data = url.to_string();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, auth_token.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(aws_lc_rs::hmac::sign(&key, data.as_bytes()).as_ref())
}

/// Verifies a status callback posted to `url` and reads it.
pub fn verify_status_callback(
    auth_token: &str,
    url: &str,
    signature_header: Option<&str>,
    form: &[u8],
) -> Result<DeliveryReport, String> {
    let fields = outbound::form_fields(form)?;
    let given = signature_header.ok_or("no X-Twilio-Signature")?;
    let expected = signature(auth_token, url, &fields);
    if !bool::from(subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), given.as_bytes())) {
        return Err("the signature does not verify".into());
    }
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let id = get("MessageSid").or_else(|| get("SmsSid")).ok_or("a callback without MessageSid")?;
    let status = get("MessageStatus").or_else(|| get("SmsStatus")).ok_or("a callback without MessageStatus")?;
    let state = match status.as_str() {
        "delivered" | "read" => DeliveryState::Delivered,
        "undelivered" | "failed" | "canceled" => DeliveryState::Failed,
        _ => DeliveryState::Sent,
    };
    let detail = match get("ErrorCode").filter(|c| !c.is_empty()) {
        Some(c) => format!("{status} {c}"),
        None => status,
    };
    Ok(DeliveryReport { provider_message_id: id, state, detail })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_matches_twilios_published_example() {
        // The fixture of twilio-node's request-validator tests (Twilio's security guide).
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let fields: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(signature("12345", url, &fields), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    }
}
