//! Calls to services outside the platform: payment gateways, SMS providers, Telegram, an ISP's own
//! webhook endpoints. One client shape (deadlines, rustls, no redirects) and one rule for which
//! addresses a configured URL may name: never a cloud metadata service, a link-local address or
//! this host (loopback only where the platform allows it: the local runner's fakes). The rule is
//! checked when a URL is saved and, for URLs an ISP chooses, again at every connect (a name may
//! resolve elsewhere later).

#[cfg(feature = "testing")]
pub mod testing;

use domain::network::{RouterHosts, router_address_refusal, router_name_refusal};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Which hosts a configured URL may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Hosts {
    /// The local runner and the tests point sandbox accounts at fakes on 127.0.0.1.
    pub allow_loopback: bool,
}

impl Hosts {
    fn rule(self) -> RouterHosts {
        RouterHosts { allow_loopback: self.allow_loopback }
    }
}

/// A reqwest builder on rustls, verifying against the platform's trust store, following no
/// redirects (a service that redirects an API call is not followed anywhere), with deadlines.
pub fn client_builder(connect: Duration, whole_call: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder().connect_timeout(connect).timeout(whole_call).redirect(reqwest::redirect::Policy::none())
}

/// As [`client_builder`], with every name resolved checked against `hosts`: for URLs someone
/// else chose (an ISP's webhook endpoint), whose name may point at a refused address by the
/// time of the call.
pub fn guarded_client_builder(connect: Duration, whole_call: Duration, hosts: Hosts) -> reqwest::ClientBuilder {
    client_builder(connect, whole_call).dns_resolver(Arc::new(GuardedResolver { hosts }))
}

struct GuardedResolver {
    hosts: Hosts,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let hosts = self.hosts;
        let host = name.as_str().to_string();
        Box::pin(async move {
            if let Some(why) = router_name_refusal(&host, hosts.rule()) {
                return Err(format!("{host} {why}").into());
            }
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed = allowed_addresses(found, hosts);
            if allowed.is_empty() {
                return Err(format!("{host} resolves only to refused addresses").into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// The resolved addresses a connection may use.
fn allowed_addresses(found: Vec<SocketAddr>, hosts: Hosts) -> Vec<SocketAddr> {
    found.into_iter().filter(|a| router_address_refusal(a.ip(), hosts.rule()).is_none()).collect()
}

/// Decodes a form body (or a query string) into its fields, in order, with the raw values
/// (decoded, untrimmed: signatures are computed over them).
pub fn form_fields(raw: &[u8]) -> Result<Vec<(String, String)>, String> {
    let text = std::str::from_utf8(raw).map_err(|_| "form body is not UTF-8".to_string())?;
    let url = reqwest::Url::parse(&format!("http://x/?{text}")).map_err(|e| e.to_string())?;
    Ok(url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
}

/// At most 300 characters of a service's answer, for records and logs.
pub fn cut(text: &str) -> String {
    text.chars().take(300).collect()
}

/// What a transport fault says, short (a timeout named as such).
pub fn transport(e: &reqwest::Error) -> String {
    if e.is_timeout() { "timed out".to_string() } else { e.to_string() }
}

/// Checks a base URL an account names: `https://` on a host that is not metadata, link-local or
/// this host (plain `http://` only on loopback, when allowed: a fake on 127.0.0.1), with no
/// credentials or query. Returns it without a trailing slash; `Err` says why not.
pub fn checked_base_url(url: &str, hosts: Hosts) -> Result<String, String> {
    let refused = |why: &str| format!("{url}: {why}");
    let parsed = reqwest::Url::parse(url.trim()).map_err(|e| refused(&e.to_string()))?;
    let host = parsed.host_str().ok_or_else(|| refused("no host"))?.trim_start_matches('[').trim_end_matches(']');
    let loopback = match host.parse::<IpAddr>() {
        Ok(ip) => {
            if let Some(why) = router_address_refusal(ip, hosts.rule()) {
                return Err(refused(why));
            }
            ip.to_canonical().is_loopback()
        }
        Err(_) => {
            if let Some(why) = router_name_refusal(host, hosts.rule()) {
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

/// Checks a whole URL (a page a browser is sent back to, an endpoint we post to): like a base
/// URL, but a path and a query are allowed; at most 500 characters.
pub fn checked_url(url: &str, hosts: Hosts) -> Result<String, String> {
    let parsed = reqwest::Url::parse(url.trim()).map_err(|e| format!("{url}: {e}"))?;
    let origin = format!("{}://{}", parsed.scheme(), parsed.host_str().unwrap_or_default());
    let origin = match parsed.port() {
        Some(p) => format!("{origin}:{p}"),
        None => origin,
    };
    checked_base_url(&origin, hosts)?;
    if !parsed.username().is_empty() || parsed.password().is_some() || url.len() > 500 {
        return Err(format!("{url}: credentials, or longer than 500 characters"));
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
        assert_eq!(checked_url("https://isp.example/paid?x=1", strict).unwrap(), "https://isp.example/paid?x=1");
        assert!(checked_url("javascript:alert(1)", strict).is_err());
        assert!(checked_url("http://isp.example/paid", strict).is_err());
        assert!(checked_url("https://169.254.169.254/paid", strict).is_err());
    }

    #[test]
    fn a_name_that_resolves_to_metadata_or_this_host_is_not_connected_to() {
        let found: Vec<SocketAddr> = ["127.0.0.1:443", "169.254.169.254:443", "[::1]:443", "203.0.113.7:443"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        assert_eq!(allowed_addresses(found.clone(), Hosts::default()), vec!["203.0.113.7:443".parse().unwrap()]);
        let local = allowed_addresses(found, Hosts { allow_loopback: true });
        assert_eq!(local.len(), 3, "loopback where allowed, never metadata: {local:?}");
    }

    #[tokio::test]
    async fn a_guarded_client_does_not_connect_where_a_name_resolves_to_a_refused_address() {
        let strict = Hosts::default();
        let client =
            guarded_client_builder(Duration::from_secs(1), Duration::from_secs(2), strict).build().expect("client");
        // `localhost` is refused by name; a name that resolves to loopback would be refused by address.
        let err = client.get("http://localhost:9/").send().await.expect_err("refused");
        assert!(format!("{err:?}").contains("loopback"), "{err:?}");
    }
}
