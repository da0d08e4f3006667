//! The HTTP client every gateway call goes through: a deadline on connect and on the whole call,
//! TLS with rustls verified against the platform's trust store, no redirects followed, and the
//! rule for which base URLs an account may name.

use crate::GatewayError;
pub use outbound::Hosts;
use std::time::Duration;

/// A gateway call's deadlines: a checkout is created while a person waits; a webhook answers
/// within the gateway's own limit (Midtrans waits 15 s).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
pub const CALL_TIMEOUT: Duration = Duration::from_secs(8);

/// A cheap-to-clone client (one connection pool per process).
#[derive(Clone, Debug)]
pub struct GatewayHttp {
    client: reqwest::Client,
}

impl GatewayHttp {
    pub fn new() -> Result<Self, GatewayError> {
        let client = outbound::client_builder(CONNECT_TIMEOUT, CALL_TIMEOUT)
            .build()
            .map_err(|e| GatewayError::Unavailable(format!("HTTP client: {e}")))?;
        Ok(GatewayHttp { client })
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// One client per process (a Lambda execution environment): its connection pool outlives an
    /// invocation.
    pub fn shared() -> Result<&'static GatewayHttp, GatewayError> {
        static SHARED: std::sync::OnceLock<GatewayHttp> = std::sync::OnceLock::new();
        if let Some(h) = SHARED.get() {
            return Ok(h);
        }
        let made = GatewayHttp::new()?;
        Ok(SHARED.get_or_init(|| made))
    }
}

/// Access tokens a gateway grants (bKash, PayPal), kept per account (API base and client id)
/// until a minute before they run out: the gateways ask merchants to reuse a token for its life
/// rather than grant one per call.
pub struct TokenCache(std::sync::Mutex<Option<std::collections::HashMap<Account, Kept>>>);

/// An account: its API base and client id (bKash's app key, PayPal's client id).
type Account = (String, String);
/// A token and when it stops being used.
type Kept = (String, std::time::Instant);

impl TokenCache {
    pub const fn new() -> Self {
        TokenCache(std::sync::Mutex::new(None))
    }

    /// The account's live token, if one is kept.
    pub fn get(&self, base_url: &str, client_id: &str) -> Option<String> {
        let cache = self.0.lock().expect("token cache");
        let (token, until) = cache.as_ref()?.get(&(base_url.to_string(), client_id.to_string()))?;
        (*until > std::time::Instant::now()).then(|| token.clone())
    }

    /// Keeps a token granted for `expires_in` seconds (a minute less).
    pub fn put(&self, base_url: &str, client_id: &str, token: &str, expires_in: u64) {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(expires_in.saturating_sub(60));
        self.0
            .lock()
            .expect("token cache")
            .get_or_insert_with(Default::default)
            .insert((base_url.to_string(), client_id.to_string()), (token.to_string(), until));
    }

    /// Forgets the account's token (the gateway refused it, or the credentials are being tested).
    pub fn forget(&self, base_url: &str, client_id: &str) {
        if let Some(m) = self.0.lock().expect("token cache").as_mut() {
            m.remove(&(base_url.to_string(), client_id.to_string()));
        }
    }
}

impl Default for TokenCache {
    fn default() -> Self {
        Self::new()
    }
}

/// A reqwest builder on rustls, verifying against the platform's trust store.
pub fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
}

/// Decodes a form body (or a query string) into its fields, in order, with the raw values.
pub fn form_fields(raw: &[u8]) -> Result<Vec<(String, String)>, GatewayError> {
    outbound::form_fields(raw).map_err(GatewayError::Malformed)
}

/// Sends a request and reads its body, mapping transport faults and 5xx to `Unavailable` and
/// other non-2xx answers to `Refused` (with the gateway's words, cut short).
pub async fn send(req: reqwest::RequestBuilder) -> Result<(u16, String), GatewayError> {
    let resp = req.send().await.map_err(|e| GatewayError::Unavailable(transport(&e)))?;
    let status = resp.status().as_u16();
    let body = resp.text().await.map_err(|e| GatewayError::Unavailable(transport(&e)))?;
    if status >= 500 || status == 429 {
        return Err(GatewayError::Unavailable(format!("HTTP {status}: {}", cut(&body))));
    }
    Ok((status, body))
}

/// A 2xx answer's body, or the error its status means.
pub fn expect_success(status: u16, body: &str) -> Result<(), GatewayError> {
    match status {
        200..=299 => Ok(()),
        404 => Err(GatewayError::UnknownOrder),
        s => Err(GatewayError::Refused { status: s, detail: cut(body) }),
    }
}

fn transport(e: &reqwest::Error) -> String {
    outbound::transport(e)
}

/// At most 300 characters of a gateway's answer, for records and logs.
pub fn cut(text: &str) -> String {
    outbound::cut(text)
}

/// Checks a base URL an account names (see [`outbound::checked_base_url`]).
pub fn checked_base_url(url: &str, hosts: Hosts) -> Result<String, GatewayError> {
    outbound::checked_base_url(url, hosts).map_err(GatewayError::AddressRefused)
}

/// Checks a page the payer's browser is sent back to: like a base URL, but a path and a query
/// are allowed.
pub fn checked_return_url(url: &str, hosts: Hosts) -> Result<String, GatewayError> {
    outbound::checked_url(url, hosts).map_err(GatewayError::AddressRefused)
}
