//! The ISP's network: points of presence (POPs) and the routers (NAS) subscribers connect through.

use crate::validate::Validation;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PopStatus {
    Active,
    Inactive,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Pop {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    /// Short code, unique in the ISP (e.g. `DHK-01`).
    pub code: String,
    pub address: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub status: PopStatus,
    /// The branch the POP serves (its customers are that branch's); None: the ISP's as a whole.
    #[serde(default)]
    pub branch_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// Upper-case letters, digits, `-` and `_`; what fits on a label and in a report column.
pub fn validate_pop_code(v: &mut Validation, field: &str, code: &str) -> String {
    let c = code.trim().to_uppercase();
    let ok = (1..=20).contains(&c.len()) && c.chars().all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_'));
    if !ok {
        v.add(field, "must be 1-20 characters of A-Z, 0-9, '-' and '_'");
    }
    c
}

pub fn validate_coordinates(v: &mut Validation, lat: Option<f64>, lon: Option<f64>) {
    match (lat, lon) {
        (Some(a), Some(o)) => {
            if !(-90.0..=90.0).contains(&a) {
                v.add("latitude", "must be between -90 and 90");
            }
            if !(-180.0..=180.0).contains(&o) {
                v.add("longitude", "must be between -180 and 180");
            }
        }
        (None, None) => {}
        (Some(_), None) => v.add("longitude", "is required with latitude"),
        (None, Some(_)) => v.add("latitude", "is required with longitude"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RouterStatus {
    /// Not contacted yet.
    Unknown,
    Online,
    Offline,
    /// Reachable, but login or a command failed.
    Error,
}

impl RouterStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RouterStatus::Unknown => "unknown",
            RouterStatus::Online => "online",
            RouterStatus::Offline => "offline",
            RouterStatus::Error => "error",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Unknown, Self::Online, Self::Offline, Self::Error].into_iter().find(|x| x.as_str() == s)
    }
}

/// How a router cuts off a suspended or expired subscriber.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum SuspensionMode {
    /// Disable the PPP secret / hotspot user.
    Disable,
    /// Keep the subscriber connected on a restricted profile and in an address list, so a walled
    /// garden can show the payment page.
    WalledGarden { profile: String, address_list: String },
}

/// A router (NAS) as the API shows it: its password is never part of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Router {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub pop_id: Option<Uuid>,
    pub host: String,
    /// RouterOS API port: 8728 plain, 8729 API-SSL.
    pub port: u16,
    pub tls: bool,
    /// Accept a self-signed certificate on API-SSL (explicit, per router).
    pub tls_insecure: bool,
    pub username: String,
    pub routeros_version: Option<String>,
    pub status: RouterStatus,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub suspension: SuspensionMode,
    /// How its subscribers log in: secrets on the router (`api`) or RADIUS.
    #[serde(default)]
    pub access_mode: crate::radius::AccessMode,
    /// RADIUS mode's settings (present in RADIUS mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radius: Option<crate::radius::RadiusSettings>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// Which router addresses this deployment accepts. Routers live behind the VPN on private
/// (RFC 1918), CGNAT or public addresses; never where a cloud's metadata service or the function's
/// own host answers. Loopback is for the local runner and its test routers only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouterHosts {
    pub allow_loopback: bool,
}

/// Why a router may not be at `ip` (checked when a router is saved, and again at each connect on
/// every address its name resolves to), or `None`.
pub fn router_address_refusal(ip: IpAddr, hosts: RouterHosts) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_refusal(v4, hosts),
        IpAddr::V6(v6) => {
            // IPv4 inside IPv6 (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64 64:ff9b::/96)
            // reaches the IPv4 address: judged as that.
            let seg = v6.segments();
            let embedded = v6.to_ipv4_mapped().or_else(|| {
                let compatible = seg[..6] == [0; 6] && (seg[6] != 0 || seg[7] > 1);
                let nat64 = seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
                (compatible || nat64).then(|| Ipv4Addr::from(((seg[6] as u32) << 16) | seg[7] as u32))
            });
            if let Some(v4) = embedded {
                return v4_refusal(v4, hosts);
            }
            if v6.is_unspecified() {
                Some("is the unspecified address")
            } else if v6.is_loopback() && !hosts.allow_loopback {
                Some("is a loopback address")
            } else if seg[0] & 0xffc0 == 0xfe80 {
                Some("is a link-local address (cloud metadata services live there)")
            } else if v6 == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
                Some("is the cloud instance metadata service")
            } else if v6.is_multicast() {
                Some("is a multicast address")
            } else {
                None
            }
        }
    }
}

fn v4_refusal(v4: Ipv4Addr, hosts: RouterHosts) -> Option<&'static str> {
    if v4.octets()[0] == 0 {
        Some("is in 0.0.0.0/8 (this host)")
    } else if v4.is_loopback() && !hosts.allow_loopback {
        Some("is a loopback address")
    } else if v4.is_link_local() {
        Some("is a link-local address (cloud metadata services live there)")
    } else if v4.is_broadcast() || v4.is_multicast() {
        Some("is a broadcast or multicast address")
    } else {
        None
    }
}

/// Names that are metadata services or this host, whatever they resolve to.
pub fn router_name_refusal(name: &str, hosts: RouterHosts) -> Option<&'static str> {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    if n == "metadata" || n.ends_with(".internal") || n.starts_with("instance-data") {
        Some("names a cloud metadata or internal service")
    } else if (n == "localhost" || n.ends_with(".localhost")) && !hosts.allow_loopback {
        Some("is a loopback name")
    } else {
        None
    }
}

/// A host name or IP literal, as a router is reached over the VPN, and not one refused by
/// [`router_address_refusal`] or [`router_name_refusal`].
pub fn validate_host(v: &mut Validation, field: &str, host: &str, hosts: RouterHosts) -> String {
    let h = host.trim().to_lowercase();
    let literal = h.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<IpAddr>() {
        if let Some(why) = router_address_refusal(ip, hosts) {
            v.add(field, format!("{why}; a router cannot be there"));
        }
        // One spelling per address (`::ffff:10.0.0.1` is `10.0.0.1`), so one address is one router.
        return ip.to_canonical().to_string();
    }
    let is_name = !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if !is_name {
        v.add(field, "must be an IP address or a host name");
    } else if let Some(why) = router_name_refusal(&h, hosts) {
        v.add(field, format!("{why}; a router cannot be there"));
    }
    h
}

/// RouterOS user names: printable, no spaces, at most 64 characters.
pub fn validate_router_username(v: &mut Validation, field: &str, name: &str) -> String {
    let n = name.trim().to_string();
    if n.is_empty() || n.len() > 64 || n.chars().any(|c| c.is_control() || c.is_whitespace()) {
        v.add(field, "must be 1-64 characters without spaces");
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        let public = RouterHosts::default();
        let mut v = Validation::new();
        assert_eq!(validate_host(&mut v, "host", " 10.0.0.1 ", public), "10.0.0.1");
        validate_host(&mut v, "host", "core-1.pop.example.net", public);
        for fine in ["172.16.5.1", "192.168.88.1", "100.64.0.1", "103.4.145.2", "2001:db8::1", "fd12:3456::1"] {
            validate_host(&mut v, "host", fine, public);
        }
        assert!(v.is_empty(), "{v:?}");
        for bad in ["", "bad host", "-a.example", "a..b", "x:y:z"] {
            let mut v = Validation::new();
            validate_host(&mut v, "host", bad, public);
            assert!(!v.is_empty(), "{bad}");
        }
    }

    #[test]
    fn metadata_link_local_and_this_host_are_refused_in_every_spelling() {
        let public = RouterHosts::default();
        for bad in [
            "169.254.169.254",
            "169.254.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "fe80::1",
            "[fe80::1]",
            "febf::1",
            "fd00:ec2::254",
            "::",
            "::1",
            "::ffff:169.254.169.254",
            "::ffff:a9fe:a9fe",
            "::169.254.169.254",
            "64:ff9b::169.254.169.254",
            "::ffff:127.0.0.1",
            "::ffff:0.0.0.0",
            "ff02::1",
            "metadata.google.internal",
            "metadata",
            "METADATA.GOOGLE.INTERNAL.",
            "instance-data.ec2.internal",
            "localhost",
            "x.localhost",
        ] {
            let mut v = Validation::new();
            validate_host(&mut v, "host", bad, public);
            assert!(!v.is_empty(), "{bad} is accepted");
        }
        let local = RouterHosts { allow_loopback: true };
        let mut v = Validation::new();
        for fine in ["127.0.0.1", "::1", "localhost"] {
            validate_host(&mut v, "host", fine, local);
        }
        assert!(v.is_empty(), "the local runner's test routers: {v:?}");
        validate_host(&mut v, "host", "169.254.169.254", local);
        assert!(!v.is_empty(), "metadata stays refused locally");
    }

    #[test]
    fn pop_codes_and_coordinates() {
        let mut v = Validation::new();
        assert_eq!(validate_pop_code(&mut v, "code", "dhk-01"), "DHK-01");
        validate_coordinates(&mut v, Some(23.8), Some(90.4));
        assert!(v.is_empty());
        validate_pop_code(&mut v, "code", "no spaces");
        validate_coordinates(&mut v, Some(91.0), None);
        let fields: Vec<_> = v.finish().unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["code", "longitude"]);
    }

    #[test]
    fn suspension_mode_shape() {
        let m = SuspensionMode::WalledGarden { profile: "expired".into(), address_list: "unpaid".into() };
        let j = serde_json::to_value(&m).unwrap();
        assert_eq!(j, serde_json::json!({"mode": "walled_garden", "profile": "expired", "address_list": "unpaid"}));
        let d: SuspensionMode = serde_json::from_value(serde_json::json!({"mode": "disable"})).unwrap();
        assert_eq!(d, SuspensionMode::Disable);
    }
}
