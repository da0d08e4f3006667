//! Platform resellers ("Super Admins") buy ISP slots from the platform owner.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlatformReseller {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    /// The reseller's ISPs' staff are locked out (403 `subscription_expired`) after this instant.
    pub subscription_expires_at: DateTime<Utc>,
    /// How many ISPs it may have.
    pub isp_limit: u32,
    /// How many ISPs it has; raised in the same transaction that creates one, never above the limit.
    pub isp_count: u32,
    /// What the platform owner charges it online (none: it cannot buy online yet).
    #[serde(default)]
    pub prices: Option<PlatformPrices>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

impl PlatformReseller {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.subscription_expires_at <= now
    }
}

/// The platform owner's prices for one reseller, in minor units of `currency`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlatformPrices {
    pub currency: String,
    /// One more ISP it may have.
    pub isp_slot: i64,
    /// One month of its platform subscription.
    pub month: i64,
}

/// What a platform reseller buys from the platform owner online.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PlatformPurchase {
    /// More ISPs it may have.
    IspSlots { count: u32 },
    /// Its subscription this many months longer: from its end, or from now once it has ended.
    Renewal { months: u32 },
}

pub const MAX_SLOTS_PER_PURCHASE: u32 = 1_000;
pub const MAX_MONTHS_PER_PURCHASE: u32 = 36;

impl PlatformPurchase {
    /// Its price, or what is wrong with it.
    pub fn price(&self, prices: &PlatformPrices) -> Result<i64, crate::Error> {
        let (n, max, unit, field) = match *self {
            PlatformPurchase::IspSlots { count } => (count, MAX_SLOTS_PER_PURCHASE, prices.isp_slot, "purchase.count"),
            PlatformPurchase::Renewal { months } => (months, MAX_MONTHS_PER_PURCHASE, prices.month, "purchase.months"),
        };
        if n == 0 || n > max {
            return Err(crate::Error::field(field, format!("must be between 1 and {max}")));
        }
        unit.checked_mul(i64::from(n)).filter(|a| *a > 0).ok_or_else(|| crate::Error::field(field, "has no price"))
    }

    /// The reseller once paid for: more ISPs, or a later end (which lifts an expired one at once).
    pub fn apply(&self, reseller: &mut PlatformReseller, now: DateTime<Utc>) {
        match *self {
            PlatformPurchase::IspSlots { count } => reseller.isp_limit = reseller.isp_limit.saturating_add(count),
            PlatformPurchase::Renewal { months } => {
                let from = reseller.subscription_expires_at.max(now);
                reseller.subscription_expires_at = from.checked_add_months(chrono::Months::new(months)).unwrap_or(from);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reseller(expires: &str) -> PlatformReseller {
        let t: DateTime<Utc> = "2026-06-15T06:00:00Z".parse().unwrap();
        PlatformReseller {
            id: Uuid::nil(),
            name: "R".into(),
            email: "r@x.test".into(),
            phone: None,
            subscription_expires_at: expires.parse().unwrap(),
            isp_limit: 3,
            isp_count: 1,
            prices: None,
            created_at: t,
            updated_at: t,
            version: 1,
        }
    }

    #[test]
    fn a_renewal_extends_from_the_end_or_from_now_once_ended() {
        let now: DateTime<Utc> = "2026-06-15T06:00:00Z".parse().unwrap();
        let mut active = reseller("2026-07-01T00:00:00Z");
        PlatformPurchase::Renewal { months: 2 }.apply(&mut active, now);
        assert_eq!(active.subscription_expires_at, "2026-09-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap());
        let mut expired = reseller("2026-05-01T00:00:00Z");
        PlatformPurchase::Renewal { months: 1 }.apply(&mut expired, now);
        assert_eq!(expired.subscription_expires_at, "2026-07-15T06:00:00Z".parse::<DateTime<Utc>>().unwrap());
        assert!(!expired.is_expired(now));
        PlatformPurchase::IspSlots { count: 2 }.apply(&mut expired, now);
        assert_eq!(expired.isp_limit, 5);
    }

    #[test]
    fn prices_are_counted_and_bounded() {
        let p = PlatformPrices { currency: "BDT".into(), isp_slot: 50_000, month: 200_000 };
        assert_eq!(PlatformPurchase::IspSlots { count: 3 }.price(&p).unwrap(), 150_000);
        assert_eq!(PlatformPurchase::Renewal { months: 12 }.price(&p).unwrap(), 2_400_000);
        assert!(PlatformPurchase::IspSlots { count: 0 }.price(&p).is_err());
        assert!(PlatformPurchase::Renewal { months: 37 }.price(&p).is_err());
        let free = PlatformPrices { isp_slot: 0, ..p };
        assert!(PlatformPurchase::IspSlots { count: 1 }.price(&free).is_err());
    }
}
