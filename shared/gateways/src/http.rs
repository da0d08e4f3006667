//! The HTTP client every gateway call goes through: a deadline on connect and on the whole call,
//! TLS with rustls verified against the platform's trust store, no redirects followed, and the
//! rule for which base URLs an account may name.

use crate::GatewayError;
use domain::network::{RouterHosts, router_address_refusal, router_name_refusal};
use std::net::IpAddr;
use std::time::Duration;

/// A gateway call's deadlines: a checkout is created while a person waits; a webhook answers
/// within the gateway's own limit (Midtrans waits 15 s).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
pub const CALL_TIMEOUT: Duration = Duration::from_secs(8);

/// Which hosts a sandbox account's base URL may name (live accounts use the gateway's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Hosts {
    /// The local runner and the tests point sandbox accounts at fakes on 127.0.0.1.
    pub allow_loopback: bool,
}

/// A cheap-to-clone client (one connection pool per process).
#[derive(Clone, Debug)]
pub struct GatewayHttp {
    client: reqwest::Client,
}

impl GatewayHttp {
    pub fn new() -> Result<Self, GatewayError> {
        let client = client_builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(CALL_TIMEOUT)
            // A gateway that redirects an API call is not followed anywhere.
            .redirect(reqwest::redirect::Policy::none())
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

/// A reqwest builder on rustls, verifying against the platform's trust store (reqwest's
/// `rustls` feature: its own provider, so a client built anywhere in the process works).
pub fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
}

/// Decodes a form body (or a query string) into its fields, in order, with the raw values
/// (decoded, untrimmed: signatures are computed over them).
pub fn form_fields(raw: &[u8]) -> Result<Vec<(String, String)>, GatewayError> {
    let text = std::str::from_utf8(raw).map_err(|_| GatewayError::Malformed("form body is not UTF-8".into()))?;
    let url = reqwest::Url::parse(&format!("http://x/?{text}")).map_err(|e| GatewayError::Malformed(e.to_string()))?;
    Ok(url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
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
    if e.is_timeout() { "timed out".to_string() } else { e.to_string() }
}

/// At most 300 characters of a gateway's answer, for records and logs.
pub fn cut(text: &str) -> String {
    text.chars().take(300).collect()
}

/// Checks a base URL an account names: `https://` on a host that is not metadata, link-local or
/// this host (plain `http://` only on loopback, when allowed: a fake on 127.0.0.1). Returns it
/// without a trailing slash.
pub fn checked_base_url(url: &str, hosts: Hosts) -> Result<String, GatewayError> {
    let refused = |why: &str| GatewayError::AddressRefused(format!("{url}: {why}"));
    let parsed = reqwest::Url::parse(url.trim()).map_err(|e| refused(&e.to_string()))?;
    let host = parsed.host_str().ok_or_else(|| refused("no host"))?.trim_start_matches('[').trim_end_matches(']');
    let router_rule = RouterHosts { allow_loopback: hosts.allow_loopback };
    let loopback = match host.parse::<IpAddr>() {
        Ok(ip) => {
            if let Some(why) = router_address_refusal(ip, router_rule) {
                return Err(refused(why));
            }
            ip.to_canonical().is_loopback()
        }
        Err(_) => {
            if let Some(why) = router_name_refusal(host, router_rule) {
                return Err(refused(why));
            }
            host == "localhost"
        }
    };
    match parsed.scheme() {
        "https" => {}
        "http" if loopback && hosts.allow_loopback => {}
        other => return Err(refused(&format!("scheme {other} (https only)"))),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() || parsed.query().is_some() {
        return Err(refused("credentials or a query in a base URL"));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_string())
}

/// Checks a page the payer's browser is sent back to: like a base URL, but a path and a query
/// are allowed.
pub fn checked_return_url(url: &str, hosts: Hosts) -> Result<String, GatewayError> {
    let parsed = reqwest::Url::parse(url.trim()).map_err(|e| GatewayError::AddressRefused(format!("{url}: {e}")))?;
    let origin = format!("{}://{}", parsed.scheme(), parsed.host_str().unwrap_or_default());
    let origin = match parsed.port() {
        Some(p) => format!("{origin}:{p}"),
        None => origin,
    };
    checked_base_url(&origin, hosts)?;
    if !parsed.username().is_empty() || parsed.password().is_some() || url.len() > 500 {
        return Err(GatewayError::AddressRefused(format!("{url}: credentials, or longer than 500 characters")));
    }
    Ok(parsed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_https_on_allowed_hosts() {
        let strict = Hosts::default();
        assert_eq!(
            checked_base_url("https://api.sandbox.midtrans.com/", strict).unwrap(),
            "https://api.sandbox.midtrans.com"
        );
        for bad in [
            "http://api.stripe.com",
            "https://169.254.169.254/latest",
            "https://[fd00:ec2::254]",
            "https://metadata.google.internal",
            "https://127.0.0.1:9000",
            "https://user:pw@api.stripe.com",
            "ftp://api.stripe.com",
            "not a url",
        ] {
            assert!(checked_base_url(bad, strict).is_err(), "{bad}");
        }
        let local = Hosts { allow_loopback: true };
        assert_eq!(checked_base_url("http://127.0.0.1:4100", local).unwrap(), "http://127.0.0.1:4100");
        assert!(checked_base_url("http://10.0.0.5:4100", local).is_err(), "plain http only on loopback");
        assert_eq!(checked_return_url("https://isp.example/paid?x=1", strict).unwrap(), "https://isp.example/paid?x=1");
        assert!(checked_return_url("javascript:alert(1)", strict).is_err());
        assert!(checked_return_url("http://isp.example/paid", strict).is_err());
        assert!(checked_return_url("https://169.254.169.254/paid", strict).is_err());
    }
}
