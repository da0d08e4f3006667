//! The ISP's network: points of presence (POPs) and the routers (NAS) subscribers connect through.

use crate::validate::Validation;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
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
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// A host name or IP literal, as a router is reached over the VPN.
pub fn validate_host(v: &mut Validation, field: &str, host: &str) -> String {
    let h = host.trim().to_lowercase();
    let is_ip = h.parse::<std::net::IpAddr>().is_ok();
    let is_name = !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if !(is_ip || is_name) {
        v.add(field, "must be an IP address or a host name");
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
        let mut v = Validation::new();
        assert_eq!(validate_host(&mut v, "host", " 10.0.0.1 "), "10.0.0.1");
        validate_host(&mut v, "host", "core-1.pop.example.net");
        validate_host(&mut v, "host", "fe80::1");
        assert!(v.is_empty());
        for bad in ["", "bad host", "-a.example", "a..b", "x:y:z"] {
            let mut v = Validation::new();
            validate_host(&mut v, "host", bad);
            assert!(!v.is_empty(), "{bad}");
        }
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
