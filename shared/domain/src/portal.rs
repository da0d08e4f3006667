//! The subscriber portal's rules that need no I/O: how an ISP is named by a request (host or ISP
//! code), which origins may call it from a browser, what a subscriber may edit, and the one-time
//! login codes.

use crate::validate::Validation;
use serde::{Deserialize, Serialize};

/// A subscriber as a customer token establishes them: the portal's caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscriber {
    pub tenant_id: uuid::Uuid,
    pub customer_id: uuid::Uuid,
}

/// At most this many host names and origins per ISP.
pub const MAX_HOSTS: usize = 10;
pub const MAX_ORIGINS: usize = 10;
/// A one-time login code: 6 digits, valid 10 minutes, 5 tries.
pub const OTP_DIGITS: usize = 6;
pub const OTP_TTL: chrono::Duration = chrono::Duration::minutes(10);
pub const OTP_MAX_TRIES: u32 = 5;

/// A profile field a subscriber may be allowed to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EditableField {
    Email,
    Address,
    Language,
}

/// How the ISP runs its subscribers' portal (part of the ISP's settings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalSettings {
    /// Host names that serve this ISP's portal (`portal.myisp.com.bd`), each held by one ISP.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Browser origins allowed to call the API for this ISP (`https://portal.myisp.com.bd`): the
    /// portal's and the ISP's own admin frontend's. Never a wildcard.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// A new portal login ends the subscriber's other portal sessions.
    #[serde(default)]
    pub one_session_per_customer: bool,
    /// Subscribers may log in with a code sent by SMS.
    #[serde(default = "yes")]
    pub otp_login: bool,
    /// What a subscriber may change in their own profile.
    #[serde(default = "default_editable")]
    pub editable_fields: Vec<EditableField>,
    /// Subscribers may move to a package that costs as much or more themselves (at once, prorated).
    #[serde(default = "yes")]
    pub self_upgrade: bool,
    /// Subscribers may move to a cheaper package themselves (at the end of the period paid for).
    #[serde(default = "yes")]
    pub self_downgrade: bool,
}

fn yes() -> bool {
    true
}

fn default_editable() -> Vec<EditableField> {
    vec![EditableField::Email, EditableField::Language]
}

impl Default for PortalSettings {
    fn default() -> Self {
        Self {
            hosts: vec![],
            allowed_origins: vec![],
            one_session_per_customer: false,
            otp_login: true,
            editable_fields: default_editable(),
            self_upgrade: true,
            self_downgrade: true,
        }
    }
}

impl PortalSettings {
    /// Validates and normalises (hosts and origins lower case, unique).
    pub fn normalised(&self, v: &mut Validation, prefix: &str) -> PortalSettings {
        let mut out = self.clone();
        out.hosts = dedup(self.hosts.iter().filter_map(|h| {
            let n = normalise_host(h);
            if n.is_none() {
                v.add(&format!("{prefix}.hosts"), format!("'{h}' is not a host name"));
            }
            n
        }));
        if out.hosts.len() > MAX_HOSTS {
            v.add(&format!("{prefix}.hosts"), format!("at most {MAX_HOSTS}"));
        }
        out.allowed_origins = dedup(self.allowed_origins.iter().filter_map(|o| {
            let n = normalise_origin(o);
            if n.is_none() {
                v.add(
                    &format!("{prefix}.allowed_origins"),
                    format!("'{o}' is not an origin such as https://portal.example.com"),
                );
            }
            n
        }));
        if out.allowed_origins.len() > MAX_ORIGINS {
            v.add(&format!("{prefix}.allowed_origins"), format!("at most {MAX_ORIGINS}"));
        }
        let mut fields = self.editable_fields.clone();
        fields.dedup();
        out.editable_fields = fields;
        out
    }

    pub fn may_edit(&self, f: EditableField) -> bool {
        self.editable_fields.contains(&f)
    }
}

fn dedup(it: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    for s in it {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// A DNS host name as a request's `Host` names it: lower case, without port or trailing dot.
/// None for anything that is not a plain host name (an IP literal is not one an ISP maps).
pub fn normalise_host(raw: &str) -> Option<String> {
    let h = raw.trim().to_ascii_lowercase();
    let h = h.split(':').next().unwrap_or_default().trim_end_matches('.').to_string();
    let labels: Vec<&str> = h.split('.').collect();
    let ok = (3..=253).contains(&h.len())
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| tld.chars().any(|c| c.is_ascii_alphabetic()));
    ok.then_some(h)
}

/// A browser origin: `https://host[:port]` (or `http://` for `localhost` and 127.0.0.1 only,
/// for development), lower case, no path. None for anything else, a wildcard included.
pub fn normalise_origin(raw: &str) -> Option<String> {
    let o = raw.trim().to_ascii_lowercase();
    let (scheme, rest) = o.split_once("://")?;
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.len() <= 5 && p.chars().all(|c| c.is_ascii_digit()) => (h, Some(p)),
        _ => (rest, None),
    };
    let local = host == "localhost" || host == "127.0.0.1";
    let host_ok = local || normalise_host(host).as_deref() == Some(host);
    let scheme_ok = scheme == "https" || (scheme == "http" && local);
    if !host_ok || !scheme_ok || port.is_some_and(|p| p.parse::<u16>().map_or(true, |n| n == 0)) {
        return None;
    }
    Some(o)
}

/// The ISP code in a portal host under the platform's portal domain: `myisp.portal.example.net`
/// with base `portal.example.net` gives `myisp`.
pub fn subdomain_code<'a>(host: &'a str, base: &str) -> Option<&'a str> {
    if base.is_empty() {
        return None;
    }
    let label = host.strip_suffix(base)?.strip_suffix('.')?;
    (!label.is_empty() && !label.contains('.')).then_some(label)
}

/// How a subscriber names themselves at login: a phone number (digits, maybe `+`) or a username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginName {
    Phone(String),
    Username(String),
}

/// Reads a login name: what parses as a phone number of the ISP's country is a phone; anything else
/// a username (lower case, as usernames are stored).
pub fn login_name(raw: &str, country: &str) -> Option<LoginName> {
    let t = raw.trim();
    if t.is_empty() || t.len() > 64 {
        return None;
    }
    let phoneish = t.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-'));
    if phoneish && let Some(p) = crate::phone::to_e164(t, country) {
        return Some(LoginName::Phone(p));
    }
    Some(LoginName::Username(t.to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_plain_lower_case_names() {
        assert_eq!(normalise_host("Portal.MyISP.com.bd:443").as_deref(), Some("portal.myisp.com.bd"));
        assert_eq!(normalise_host("portal.myisp.net.").as_deref(), Some("portal.myisp.net"));
        for bad in ["", "localhost", "10.0.0.1", "a..b", "-a.com", "a_b.com", "*.isp.com", "isp.com/x"] {
            assert_eq!(normalise_host(bad), None, "{bad}");
        }
    }

    #[test]
    fn origins_are_https_without_path_and_never_a_wildcard() {
        assert_eq!(normalise_origin("https://Portal.ISP.com").as_deref(), Some("https://portal.isp.com"));
        assert_eq!(normalise_origin("https://portal.isp.com:8443").as_deref(), Some("https://portal.isp.com:8443"));
        assert_eq!(normalise_origin("http://localhost:5173").as_deref(), Some("http://localhost:5173"));
        for bad in [
            "*",
            "https://*",
            "http://portal.isp.com",
            "https://isp.com/path",
            "ftp://isp.com",
            "isp.com",
            "https://isp.com:0",
            "https://isp.com:99999",
            "null",
        ] {
            assert_eq!(normalise_origin(bad), None, "{bad}");
        }
    }

    #[test]
    fn settings_are_validated_and_deduplicated() {
        let s = PortalSettings {
            hosts: vec!["A.isp.com".into(), "a.isp.com".into()],
            allowed_origins: vec!["https://a.isp.com".into()],
            editable_fields: vec![EditableField::Email, EditableField::Email],
            ..Default::default()
        };
        let mut v = Validation::new();
        let n = s.normalised(&mut v, "portal");
        assert!(v.finish().is_ok());
        assert_eq!(n.hosts, vec!["a.isp.com"]);
        assert_eq!(n.editable_fields, vec![EditableField::Email]);
        let mut v = Validation::new();
        PortalSettings { allowed_origins: vec!["*".into()], ..Default::default() }.normalised(&mut v, "portal");
        let errs = v.finish().unwrap_err();
        assert_eq!(errs[0].field, "portal.allowed_origins");
    }

    #[test]
    fn subdomains_of_the_platform_name_an_isp() {
        assert_eq!(subdomain_code("myisp.portal.example.net", "portal.example.net"), Some("myisp"));
        assert_eq!(subdomain_code("a.b.portal.example.net", "portal.example.net"), None);
        assert_eq!(subdomain_code("portal.example.net", "portal.example.net"), None);
        assert_eq!(subdomain_code("myisp.evilportal.example.net", "portal.example.net"), None);
        assert_eq!(subdomain_code("x.portal.example.net", ""), None);
    }

    #[test]
    fn a_login_name_is_a_phone_or_a_username() {
        assert_eq!(login_name("01712345678", "BD"), Some(LoginName::Phone("+8801712345678".into())));
        assert_eq!(login_name("+880 1712-345678", "BD"), Some(LoginName::Phone("+8801712345678".into())));
        assert_eq!(login_name("Rahim.Home", "BD"), Some(LoginName::Username("rahim.home".into())));
        assert_eq!(login_name("  ", "BD"), None);
    }
}
