//! Turbo boost: a faster speed for a few hours at a price, bought by the subscriber. The package
//! lists its offers; a subscription holds the one it bought with its end time, and what the routers
//! must apply is read against the clock (level-triggered): past its end the package's own speed is
//! back, whether or not anything ran at that moment.

use crate::Timestamp;
use crate::package::{Package, Rate, RatePair, rate_limit};
use crate::validate::Validation;
use serde::{Deserialize, Serialize};

pub const MAX_OFFERS: usize = 5;
pub const MAX_HOURS: u16 = 72;

/// A boost a package offers: its speed for `hours` at `price`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TurboOffer {
    /// Names the offer within the package (`night`, `6h`): lower-case letters, digits and `-`.
    pub code: String,
    pub name: String,
    #[schema(value_type = String, example = "50M")]
    pub download: Rate,
    #[schema(value_type = String, example = "20M")]
    pub upload: Rate,
    pub hours: u16,
    /// Minor units of the ISP's currency.
    pub price: i64,
}

/// A turbo to buy once a checkout's money is in the account (a turbo paid online).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TurboIntent {
    pub subscription_id: uuid::Uuid,
    pub code: String,
}

/// A turbo a subscription bought.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Turbo {
    pub code: String,
    pub name: String,
    /// The router profile and rate-limit it runs under while it lasts.
    pub router_profile: String,
    pub rate_limit: String,
    #[schema(value_type = String)]
    pub download: Rate,
    #[schema(value_type = String)]
    pub upload: Rate,
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub ends_at: Timestamp,
    /// The invoice that paid for it.
    pub invoice_id: uuid::Uuid,
}

impl Turbo {
    pub fn active_at(&self, now: Timestamp) -> bool {
        self.starts_at <= now && now < self.ends_at
    }
}

/// The router profile a package's turbo runs under: the package's own name with the offer's code.
pub fn turbo_profile(package: &Package, code: &str) -> String {
    let base: String = package.router_profile.chars().take(50).collect();
    format!("{base}-turbo-{code}")
}

/// Checks a package's offers against the package (faster than it, at most five, codes unique).
pub fn validate_offers(v: &mut Validation, field: &str, offers: &[TurboOffer], base: RatePair) {
    if offers.len() > MAX_OFFERS {
        v.add(field, format!("at most {MAX_OFFERS} turbo offers"));
    }
    let mut codes: Vec<&str> = vec![];
    for (i, o) in offers.iter().enumerate() {
        let f = format!("{field}[{i}]");
        let code_ok = (1..=12).contains(&o.code.len())
            && o.code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !code_ok {
            v.add(&format!("{f}.code"), "must be 1-12 lower-case letters, digits or '-'");
        }
        if codes.contains(&o.code.as_str()) {
            v.add(&format!("{f}.code"), "is used by another offer of the package");
        }
        codes.push(&o.code);
        if o.name.trim().is_empty() || o.name.chars().count() > 60 {
            v.add(&format!("{f}.name"), "must be 1-60 characters");
        }
        if o.download <= base.download && o.upload <= base.upload {
            v.add(&format!("{f}.download"), "must be faster than the package");
        }
        if o.download < base.download || o.upload < base.upload {
            v.add(&format!("{f}.upload"), "must not be slower than the package in either direction");
        }
        if o.hours == 0 || o.hours > MAX_HOURS {
            v.add(&format!("{f}.hours"), format!("must be 1-{MAX_HOURS}"));
        }
        if o.price < 0 || o.price > 100_000_000 {
            v.add(&format!("{f}.price"), "must be 0 or more");
        }
    }
}

/// The turbo `offer` of `package` bought at `now` for a subscription expiring at `expires_at`: it
/// never outlives the subscription. None when no time is left.
pub fn start(
    package: &Package,
    offer: &TurboOffer,
    now: Timestamp,
    expires_at: Option<Timestamp>,
    invoice_id: uuid::Uuid,
) -> Option<Turbo> {
    let end = now + chrono::Duration::hours(offer.hours.into());
    let ends_at = expires_at.map_or(end, |e| e.min(end));
    (ends_at > now).then(|| Turbo {
        code: offer.code.clone(),
        name: offer.name.clone(),
        router_profile: turbo_profile(package, &offer.code),
        rate_limit: rate_limit(offer.upload, offer.download, None, package.priority),
        download: offer.download,
        upload: offer.upload,
        starts_at: now,
        ends_at,
        invoice_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};

    fn package() -> Package {
        let now = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        Package {
            id: uuid::Uuid::nil(),
            tenant_id: uuid::Uuid::nil(),
            name: "Home 10M".into(),
            connection_type: crate::package::ConnectionType::Pppoe,
            download: Rate(10_000_000),
            upload: Rate(10_000_000),
            burst: None,
            priority: 8,
            price: 100_000,
            currency: "BDT".into(),
            validity: crate::package::Validity::Days(30),
            fair_usage: None,
            connectivity: Default::default(),
            router_profile: "Home 10M".into(),
            rate_limit: "10M/10M".into(),
            turbo_offers: vec![],
            active: true,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    fn offer(code: &str, down: u64, hours: u16) -> TurboOffer {
        TurboOffer {
            code: code.into(),
            name: "Night boost".into(),
            download: Rate(down),
            upload: Rate(10_000_000),
            hours,
            price: 5000,
        }
    }

    #[test]
    fn offers_must_be_faster_few_and_distinct() {
        let base = RatePair { download: Rate(10_000_000), upload: Rate(10_000_000) };
        let mut v = Validation::new();
        validate_offers(&mut v, "turbo_offers", &[offer("night", 50_000_000, 3)], base);
        assert!(v.finish().is_ok());
        for bad in [
            vec![offer("night", 10_000_000, 3)],
            vec![offer("Night!", 50_000_000, 3)],
            vec![offer("night", 50_000_000, 0)],
            vec![offer("night", 50_000_000, 73)],
            vec![offer("a", 50_000_000, 3), offer("a", 60_000_000, 3)],
            (0..6).map(|i| offer(&format!("o{i}"), 50_000_000, 3)).collect(),
        ] {
            let mut v = Validation::new();
            validate_offers(&mut v, "turbo_offers", &bad, base);
            assert!(v.finish().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_turbo_never_outlives_the_subscription() {
        let p = package();
        let now = Utc.with_ymd_and_hms(2026, 11, 10, 20, 0, 0).unwrap();
        let t = start(&p, &offer("night", 50_000_000, 6), now, Some(now + Duration::hours(2)), uuid::Uuid::nil());
        let t = t.unwrap();
        assert_eq!(t.ends_at, now + Duration::hours(2));
        assert_eq!((t.router_profile.as_str(), t.rate_limit.as_str()), ("Home 10M-turbo-night", "10M/50M"));
        assert!(t.active_at(now) && t.active_at(now + Duration::minutes(119)) && !t.active_at(t.ends_at));
        assert!(start(&p, &offer("night", 50_000_000, 6), now, Some(now), uuid::Uuid::nil()).is_none());
        let full = start(&p, &offer("night", 50_000_000, 6), now, None, uuid::Uuid::nil()).unwrap();
        assert_eq!(full.ends_at, now + Duration::hours(6));
    }
}
