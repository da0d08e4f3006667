//! Service packages: what a subscription buys (speed, burst, price, validity, quota) and the RouterOS
//! rate-limit it becomes on the router.
//!
//! Rates are bits per second, written as RouterOS writes them (`512k`, `10M`, `1G`). RouterOS orders
//! a rate-limit from the router's point of view, `rx/tx`: the first value is the subscriber's upload,
//! the second its download. Burst strings given to the API follow that order too.

use crate::validate::Validation;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// A rate in bits per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rate(pub u64);

pub const MIN_RATE: u64 = 1_000;
pub const MAX_RATE: u64 = 100_000_000_000;

impl Rate {
    /// Parses `10M`, `512k`, `1G` or a plain number of bits per second (suffixes in either case,
    /// as RouterOS accepts them).
    pub fn parse(s: &str) -> Option<Rate> {
        let s = s.trim();
        let (digits, mult) = match s.chars().last()? {
            'k' | 'K' => (&s[..s.len() - 1], 1_000),
            'm' | 'M' => (&s[..s.len() - 1], 1_000_000),
            'g' | 'G' => (&s[..s.len() - 1], 1_000_000_000),
            c if c.is_ascii_digit() => (s, 1),
            _ => return None,
        };
        if digits.is_empty() || digits.len() > 12 || !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let n: u64 = digits.parse().ok()?;
        let bps = n.checked_mul(mult)?;
        (MIN_RATE..=MAX_RATE).contains(&bps).then_some(Rate(bps))
    }
}

impl fmt::Display for Rate {
    /// The shortest exact form, as RouterOS prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        if n != 0 && n.is_multiple_of(1_000_000_000) {
            write!(f, "{}G", n / 1_000_000_000)
        } else if n != 0 && n.is_multiple_of(1_000_000) {
            write!(f, "{}M", n / 1_000_000)
        } else if n != 0 && n.is_multiple_of(1_000) {
            write!(f, "{}k", n / 1_000)
        } else {
            write!(f, "{n}")
        }
    }
}

impl Serialize for Rate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Rate::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("not a rate: {s}")))
    }
}

impl utoipa::PartialSchema for Rate {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .examples([serde_json::json!("10M")])
            .description(Some("bits per second as RouterOS writes them: 512k, 10M, 1G"))
            .into()
    }
}
impl utoipa::ToSchema for Rate {}

/// An `upload/download` pair (RouterOS `rx/tx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RatePair {
    pub upload: Rate,
    pub download: Rate,
}

impl RatePair {
    /// `8M/8M`, or one value for both directions.
    pub fn parse(s: &str) -> Option<RatePair> {
        match s.trim().split_once('/') {
            Some((u, d)) => Some(RatePair { upload: Rate::parse(u)?, download: Rate::parse(d)? }),
            None => Rate::parse(s).map(|r| RatePair { upload: r, download: r }),
        }
    }
}

impl fmt::Display for RatePair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.upload, self.download)
    }
}

/// Burst: a subscriber may exceed its rate up to `limit` while its average over `time` seconds stays
/// below `threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Burst {
    #[schema(value_type = String, example = "20M/20M")]
    #[serde(with = "pair_text")]
    pub limit: RatePair,
    #[schema(value_type = String, example = "8M/8M")]
    #[serde(with = "pair_text")]
    pub threshold: RatePair,
    /// Seconds, upload then download.
    pub time_upload: u32,
    pub time_download: u32,
}

mod pair_text {
    use super::RatePair;
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(p: &RatePair, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(p)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<RatePair, D::Error> {
        let s = String::deserialize(d)?;
        RatePair::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("not a rate pair: {s}")))
    }
}

/// Burst as the API takes it: RouterOS strings, e.g. `{"limit":"20M/20M","threshold":"8M/8M","time":"16s"}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BurstInput {
    pub limit: String,
    pub threshold: String,
    /// Seconds (`16`, `16s`, `1m`), or `upload/download` (`16s/16s`).
    pub time: String,
}

/// Parses a RouterOS burst time: `16`, `16s`, `2m`, `1h`.
pub fn parse_burst_time(s: &str) -> Option<u32> {
    let s = s.trim();
    let (digits, mult) = match s.chars().last()? {
        's' => (&s[..s.len() - 1], 1),
        'm' => (&s[..s.len() - 1], 60),
        'h' => (&s[..s.len() - 1], 3600),
        c if c.is_ascii_digit() => (s, 1),
        _ => return None,
    };
    if digits.is_empty() || digits.len() > 5 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let secs = digits.parse::<u32>().ok()? * mult;
    (1..=3600).contains(&secs).then_some(secs)
}

impl BurstInput {
    /// Checks the burst against the package's rates: the limit must exceed the rate, the threshold lie
    /// between zero and the rate (RouterOS would accept other values, but the burst would never start).
    pub fn validate(&self, v: &mut Validation, field: &str, rate: RatePair) -> Option<Burst> {
        let limit = RatePair::parse(&self.limit);
        let threshold = RatePair::parse(&self.threshold);
        let time = match self.time.split_once('/') {
            Some((u, d)) => parse_burst_time(u).zip(parse_burst_time(d)),
            None => parse_burst_time(&self.time).map(|t| (t, t)),
        };
        let before = v.is_empty();
        match limit {
            None => v.add(&format!("{field}.limit"), "must be a rate or upload/download rates, e.g. 20M/20M"),
            Some(l) if l.upload <= rate.upload || l.download <= rate.download => {
                v.add(&format!("{field}.limit"), "must be above the package's upload and download rates")
            }
            _ => {}
        }
        match threshold {
            None => v.add(&format!("{field}.threshold"), "must be a rate or upload/download rates, e.g. 8M/8M"),
            Some(t) if t.upload > rate.upload || t.download > rate.download => {
                v.add(&format!("{field}.threshold"), "must not be above the package's upload and download rates")
            }
            _ => {}
        }
        if time.is_none() {
            v.add(&format!("{field}.time"), "must be 1-3600 seconds, e.g. 16s or 16s/16s");
        }
        if !before || !v.is_empty() {
            return None;
        }
        let (time_upload, time_download) = time?;
        Some(Burst { limit: limit?, threshold: threshold?, time_upload, time_download })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionType {
    Pppoe,
    Hotspot,
    Static,
}

impl ConnectionType {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionType::Pppoe => "pppoe",
            ConnectionType::Hotspot => "hotspot",
            ConnectionType::Static => "static",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pppoe" => Some(Self::Pppoe),
            "hotspot" => Some(Self::Hotspot),
            "static" => Some(Self::Static),
            _ => None,
        }
    }
}

/// Whether the package's bandwidth is shared with other subscribers (contended) or reserved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Connectivity {
    #[default]
    Shared,
    Dedicated,
}

impl Connectivity {
    pub fn as_str(self) -> &'static str {
        match self {
            Connectivity::Shared => "shared",
            Connectivity::Dedicated => "dedicated",
        }
    }
}

/// How long one purchase of the package lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Validity {
    Days(u32),
    Hours(u32),
}

impl Validity {
    pub fn duration(self) -> Duration {
        match self {
            Validity::Days(d) => Duration::days(d as i64),
            Validity::Hours(h) => Duration::hours(h as i64),
        }
    }

    /// From the API's `validity_days` / `validity_hours` (exactly one of them).
    pub fn from_fields(v: &mut Validation, days: Option<u32>, hours: Option<u32>) -> Option<Validity> {
        match (days, hours) {
            (Some(d), None) if (1..=3660).contains(&d) => Some(Validity::Days(d)),
            (Some(_), None) => {
                v.add("validity_days", "must be between 1 and 3660");
                None
            }
            (None, Some(h)) if (1..=8784).contains(&h) => Some(Validity::Hours(h)),
            (None, Some(_)) => {
                v.add("validity_hours", "must be between 1 and 8784");
                None
            }
            (Some(_), Some(_)) => {
                v.add("validity_days", "give validity_days or validity_hours, not both");
                None
            }
            (None, None) => {
                v.add("validity_days", "is required (or validity_hours)");
                None
            }
        }
    }
}

/// Fair-usage policy: after `quota_mb` in one validity period, the speed drops to `rate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FairUsage {
    pub quota_mb: u64,
    #[schema(value_type = String, example = "2M")]
    pub download: Rate,
    #[schema(value_type = String, example = "2M")]
    pub upload: Rate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Package {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub connection_type: ConnectionType,
    #[schema(value_type = String, example = "10M")]
    pub download: Rate,
    #[schema(value_type = String, example = "10M")]
    pub upload: Rate,
    pub burst: Option<Burst>,
    /// RouterOS queue priority, 1 (highest) to 8.
    pub priority: u8,
    /// Minor units of `currency`.
    pub price: i64,
    pub currency: String,
    pub validity: Validity,
    pub fair_usage: Option<FairUsage>,
    /// Shared (the default) or dedicated bandwidth.
    #[serde(default)]
    pub connectivity: Connectivity,
    /// The PPP/hotspot profile that carries this package on the routers.
    pub router_profile: String,
    /// The rate-limit the profile gets, exactly as written to RouterOS.
    pub rate_limit: String,
    /// Boosts a subscriber of the package may buy (a faster speed for a few hours).
    #[serde(default)]
    pub turbo_offers: Vec<crate::turbo::TurboOffer>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// The RouterOS rate-limit string: `rx/tx [burst-limit [burst-threshold [burst-time [priority]]]]`.
pub fn rate_limit(upload: Rate, download: Rate, burst: Option<&Burst>, priority: u8) -> String {
    let rate = RatePair { upload, download };
    match burst {
        Some(b) => format!("{rate} {} {} {}/{} {priority}", b.limit, b.threshold, b.time_upload, b.time_download),
        None if priority != 8 => format!("{rate} 0/0 0/0 0/0 {priority}"),
        None => rate.to_string(),
    }
}

/// Profile names travel in RouterOS API words and print in Winbox: printable, no leading space.
pub fn validate_profile_name(v: &mut Validation, field: &str, name: &str) -> String {
    let n = name.trim().to_string();
    if n.is_empty() || n.chars().count() > 64 || n.chars().any(|c| c.is_control() || c == '"') {
        v.add(field, "must be 1-64 printable characters without quotes");
    }
    n
}

impl Package {
    /// Whether a change from `self` to `other` changes what routers must apply.
    pub fn provisioning_differs(&self, other: &Package) -> bool {
        self.rate_limit != other.rate_limit
            || self.router_profile != other.router_profile
            || self.connection_type != other.connection_type
            || self.fair_usage != other.fair_usage
    }
}

/// A package offered to an operator or sub-operator: what its grantor charges it (`wholesale_price`)
/// and what it sells at (`price`, never below the wholesale price).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PackageOffer {
    pub package_id: Uuid,
    pub operator_id: Uuid,
    pub wholesale_price: i64,
    pub price: i64,
    pub updated_by: Uuid,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rates_parse_as_routeros_writes_them() {
        assert_eq!(Rate::parse("10M"), Some(Rate(10_000_000)));
        assert_eq!(Rate::parse("10m"), Some(Rate(10_000_000)));
        assert_eq!(Rate::parse("512k"), Some(Rate(512_000)));
        assert_eq!(Rate::parse("1G"), Some(Rate(1_000_000_000)));
        assert_eq!(Rate::parse("2500000"), Some(Rate(2_500_000)));
        for bad in ["", "M", "10 M", "10MB", "-1M", "1.5M", "0", "999", "101G", "10Mbps", "abc"] {
            assert_eq!(Rate::parse(bad), None, "{bad}");
        }
        assert_eq!(Rate(1_500_000).to_string(), "1500k");
        assert_eq!(Rate(10_000_000).to_string(), "10M");
        assert_eq!(Rate(1_234).to_string(), "1234");
    }

    proptest! {
        #[test]
        fn a_written_rate_reads_back_the_same(bps in MIN_RATE..=MAX_RATE) {
            let r = Rate(bps);
            prop_assert_eq!(Rate::parse(&r.to_string()), Some(r));
        }
    }

    #[test]
    fn rate_limit_strings() {
        let up = Rate::parse("5M").unwrap();
        let down = Rate::parse("10M").unwrap();
        assert_eq!(rate_limit(up, down, None, 8), "5M/10M");
        assert_eq!(rate_limit(up, down, None, 3), "5M/10M 0/0 0/0 0/0 3");
        let mut v = Validation::new();
        let b = BurstInput { limit: "8M/16M".into(), threshold: "4M/8M".into(), time: "16s".into() }
            .validate(&mut v, "burst", RatePair { upload: up, download: down })
            .unwrap();
        assert_eq!(rate_limit(up, down, Some(&b), 8), "5M/10M 8M/16M 4M/8M 16/16 8");
    }

    #[test]
    fn burst_must_make_sense() {
        let rate = RatePair::parse("10M/10M").unwrap();
        let check = |limit: &str, threshold: &str, time: &str| {
            let mut v = Validation::new();
            let b = BurstInput { limit: limit.into(), threshold: threshold.into(), time: time.into() }
                .validate(&mut v, "burst", rate);
            (b.is_some(), v.finish().err().map(|e| e.into_iter().map(|e| e.field).collect::<Vec<_>>()))
        };
        assert_eq!(check("20M", "8M", "10"), (true, None));
        assert_eq!(check("20M/30M", "8M/6M", "1m/30s"), (true, None));
        assert_eq!(check("10M", "8M", "10").1, Some(vec!["burst.limit".into()]));
        assert_eq!(check("20M", "12M", "10").1, Some(vec!["burst.threshold".into()]));
        assert_eq!(check("20M", "8M", "0").1, Some(vec!["burst.time".into()]));
        assert_eq!(check("fast", "8M", "2h").1, Some(vec!["burst.limit".into(), "burst.time".into()]));
    }

    #[test]
    fn validity_takes_one_unit() {
        let mut v = Validation::new();
        assert_eq!(Validity::from_fields(&mut v, Some(30), None), Some(Validity::Days(30)));
        assert_eq!(Validity::from_fields(&mut v, None, Some(6)), Some(Validity::Hours(6)));
        assert!(v.is_empty());
        assert_eq!(Validity::from_fields(&mut v, Some(30), Some(6)), None);
        assert_eq!(Validity::from_fields(&mut v, None, None), None);
        assert_eq!(Validity::from_fields(&mut v, Some(0), None), None);
        assert_eq!(v.finish().unwrap_err().len(), 3);
        assert_eq!(Validity::Hours(6).duration(), Duration::hours(6));
    }
}
