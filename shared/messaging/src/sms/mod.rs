//! SMS providers, each with its real API: SSL Wireless ISMS, BulkSMSBD, Alpha SMS (sms.net.bd)
//! in Bangladesh, Zenziva in Indonesia, Africa's Talking in East Africa and Twilio anywhere.
//! A send's answer is mapped to accepted, retryable (not sent: timeouts before the request left,
//! 5xx, throttled), permanent (invalid number, no balance, sender id not approved, credentials
//! refused) or unknown (the request left and no answer came: it may have been sent).

use crate::error::SendError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

pub mod africastalking;
pub mod alphasms;
pub mod bulksmsbd;
pub mod sslwireless;
pub mod twilio;
pub mod zenziva;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SmsProvider {
    SslWireless,
    Bulksmsbd,
    AlphaSms,
    Zenziva,
    AfricasTalking,
    Twilio,
}

impl SmsProvider {
    pub const ALL: [SmsProvider; 6] = [
        SmsProvider::SslWireless,
        SmsProvider::Bulksmsbd,
        SmsProvider::AlphaSms,
        SmsProvider::Zenziva,
        SmsProvider::AfricasTalking,
        SmsProvider::Twilio,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SmsProvider::SslWireless => "ssl_wireless",
            SmsProvider::Bulksmsbd => "bulksmsbd",
            SmsProvider::AlphaSms => "alpha_sms",
            SmsProvider::Zenziva => "zenziva",
            SmsProvider::AfricasTalking => "africas_talking",
            SmsProvider::Twilio => "twilio",
        }
    }

    pub fn parse(s: &str) -> Option<SmsProvider> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The credentials an account needs, by the names the provider's dashboard uses.
    pub fn required_credentials(self) -> &'static [&'static str] {
        match self {
            SmsProvider::SslWireless => &["api_token"],
            SmsProvider::Bulksmsbd => &["api_key"],
            SmsProvider::AlphaSms => &["api_key"],
            SmsProvider::Zenziva => &["userkey", "passkey"],
            SmsProvider::AfricasTalking => &["username", "api_key"],
            SmsProvider::Twilio => &["account_sid", "auth_token"],
        }
    }

    /// Where a live account's API is (a sandbox account may name another base).
    pub fn live_base_url(self) -> &'static str {
        match self {
            SmsProvider::SslWireless => "https://smsplus.sslwireless.com",
            SmsProvider::Bulksmsbd => "https://bulksmsbd.net",
            SmsProvider::AlphaSms => "https://api.sms.net.bd",
            SmsProvider::Zenziva => "https://console.zenziva.net",
            SmsProvider::AfricasTalking => "https://api.africastalking.com",
            SmsProvider::Twilio => "https://api.twilio.com",
        }
    }

    /// Whether the sender id is required (SSL Wireless's `sid` is the approved mask; BulkSMSBD
    /// needs its `senderid`; Twilio a `From` number or messaging service).
    pub fn needs_sender_id(self) -> bool {
        matches!(self, SmsProvider::SslWireless | SmsProvider::Bulksmsbd | SmsProvider::Twilio)
    }

    /// Whether the provider reports an account balance through its API.
    pub fn has_balance_api(self) -> bool {
        matches!(
            self,
            SmsProvider::Bulksmsbd | SmsProvider::AlphaSms | SmsProvider::AfricasTalking | SmsProvider::Twilio
        )
    }

    /// Whether the provider pushes delivery reports to a URL we give it (Twilio per message,
    /// Africa's Talking to the callback set in its dashboard).
    pub fn pushes_delivery_reports(self) -> bool {
        matches!(self, SmsProvider::AfricasTalking | SmsProvider::Twilio)
    }
}

/// An account at a provider, its credentials opened (never logged: `Debug` hides them).
#[derive(Clone)]
pub struct SmsAccount {
    pub provider: SmsProvider,
    /// Without a trailing slash.
    pub base_url: String,
    pub sender_id: Option<String>,
    pub credentials: BTreeMap<String, String>,
}

impl std::fmt::Debug for SmsAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsAccount")
            .field("provider", &self.provider)
            .field("base_url", &self.base_url)
            .field("sender_id", &self.sender_id)
            .field("credentials", &self.credentials.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl SmsAccount {
    fn credential(&self, name: &str) -> Result<&str, SendError> {
        self.credentials
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| SendError::credentials(format!("the account has no {name}")))
    }

    fn sender(&self) -> Result<&str, SendError> {
        self.sender_id.as_deref().filter(|s| !s.is_empty()).ok_or_else(|| SendError::Permanent {
            reason: crate::error::PermanentReason::SenderRejected,
            detail: "the account has no sender id".into(),
        })
    }
}

/// One SMS to one phone.
#[derive(Debug, Clone)]
pub struct SmsRequest {
    /// E.164 (`+8801712345678`).
    pub to: String,
    pub text: String,
    /// Our message's id: the provider's de-duplication id where it takes one (SSL Wireless's
    /// `csms_id`), so a retry after a lost answer is the same message there.
    pub reference: String,
    /// Where the provider should report delivery, where it takes one per message (Twilio).
    pub status_callback: Option<String>,
}

/// The provider took the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsAccepted {
    /// The provider's id of the message (its delivery reports name it).
    pub provider_message_id: Option<String>,
    /// Parts as the provider counted them, where it says.
    pub parts: Option<u32>,
    /// The cost as the provider states it (`KES 0.8000`, `USD -0.0075`), where it says.
    pub cost: Option<String>,
}

/// An account's balance as the provider states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SmsBalance {
    pub amount: String,
    pub currency: Option<String>,
}

/// Where a message stands by a provider's delivery report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// With the carrier, not yet on the phone.
    Sent,
    Delivered,
    /// Will not be delivered.
    Failed,
}

/// A delivery report: which message, where it stands, and the provider's words for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryReport {
    pub provider_message_id: String,
    pub state: DeliveryState,
    /// The provider's own status and error code (`undelivered 30003`, `Failed AbsentSubscriber`).
    pub detail: String,
}

/// A provider call's deadlines: a send is made by a queue worker, never while a person waits,
/// but a slow provider must not hold a batch past its visibility timeout.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP client every provider call goes through (one connection pool per process).
#[derive(Clone, Debug)]
pub struct SmsHttp {
    client: reqwest::Client,
}

impl SmsHttp {
    pub fn new() -> Result<Self, SendError> {
        Self::with_timeout(CALL_TIMEOUT)
    }

    /// A client with another whole-call deadline (tests of a slow provider).
    pub fn with_timeout(call: Duration) -> Result<Self, SendError> {
        let client = outbound::client_builder(CONNECT_TIMEOUT, call)
            .build()
            .map_err(|e| SendError::Retryable { detail: format!("HTTP client: {e}"), retry_after: None })?;
        Ok(SmsHttp { client })
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }
}

/// Sends one SMS through the account's provider.
pub async fn send(http: &SmsHttp, account: &SmsAccount, req: &SmsRequest) -> Result<SmsAccepted, SendError> {
    match account.provider {
        SmsProvider::SslWireless => sslwireless::send(http, account, req).await,
        SmsProvider::Bulksmsbd => bulksmsbd::send(http, account, req).await,
        SmsProvider::AlphaSms => alphasms::send(http, account, req).await,
        SmsProvider::Zenziva => zenziva::send(http, account, req).await,
        SmsProvider::AfricasTalking => africastalking::send(http, account, req).await,
        SmsProvider::Twilio => twilio::send(http, account, req).await,
    }
}

/// The account's balance, where the provider has an API for it (`None`: it has none).
pub async fn balance(http: &SmsHttp, account: &SmsAccount) -> Result<Option<SmsBalance>, SendError> {
    match account.provider {
        SmsProvider::Bulksmsbd => bulksmsbd::balance(http, account).await.map(Some),
        SmsProvider::AlphaSms => alphasms::balance(http, account).await.map(Some),
        SmsProvider::AfricasTalking => africastalking::balance(http, account).await.map(Some),
        SmsProvider::Twilio => twilio::balance(http, account).await.map(Some),
        SmsProvider::SslWireless | SmsProvider::Zenziva => Ok(None),
    }
}

/// Sends a request and reads the answer's status and body. Faults before the request left, and
/// 5xx and 429 answers, are retryable; a fault after it left is unknown.
pub(crate) async fn call(req: reqwest::RequestBuilder) -> Result<(u16, String), SendError> {
    let resp = req.send().await.map_err(|e| SendError::from_transport(&e))?;
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = resp.text().await.map_err(|e| SendError::Unknown { detail: outbound::transport(&e) })?;
    if status >= 500 || status == 429 {
        return Err(SendError::Retryable { detail: format!("HTTP {status}: {}", outbound::cut(&body)), retry_after });
    }
    Ok((status, body))
}

/// A JSON answer, or an unknown outcome (the provider answered something we cannot read: it may
/// have taken the message).
pub(crate) fn json(body: &str) -> Result<serde_json::Value, SendError> {
    serde_json::from_str(body)
        .map_err(|e| SendError::Unknown { detail: format!("unreadable answer ({e}): {}", outbound::cut(body)) })
}

/// The digits of an E.164 number without the `+` (`8801712345678`), as the Bangladeshi
/// providers take it.
pub(crate) fn digits(e164: &str) -> String {
    e164.chars().filter(char::is_ascii_digit).collect()
}
