//! Hotspot vouchers' plans: what a printed voucher buys on an ISP's hotspot (hours or days counted
//! from first login or from activation, a data limit or none, a speed, how many devices at once)
//! and its price. A plan becomes a hotspot user profile on the ISP's routers.

use crate::Validation;
use crate::package::RatePair;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ValidityFrom {
    /// The clock starts at the voucher's first login on the router.
    FirstLogin,
    /// The clock starts when the voucher is activated (sold, or by staff).
    Activation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    Active,
    /// No new batches; vouchers already made keep working.
    Retired,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VoucherPlan {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// e.g. `1GB-DAILY`; unique within the ISP.
    pub name: String,
    pub validity_hours: u32,
    pub validity_from: ValidityFrom,
    /// None: no data limit.
    pub data_limit_mb: Option<u64>,
    /// RouterOS `rx/tx`, e.g. `5M/5M`.
    pub rate_limit: String,
    /// Devices that may be logged in with one voucher at once.
    pub shared_users: u32,
    /// Minor units of `currency` (the ISP's).
    pub price: i64,
    pub currency: String,
    /// The hotspot user profile on the routers (`vp-` and the folded name).
    pub router_profile: String,
    pub status: PlanStatus,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub version: u64,
}

/// Limits of a plan's fields.
pub const MAX_VALIDITY_HOURS: u32 = 24 * 366;
pub const MAX_DATA_MB: u64 = 10_000_000;
pub const MAX_SHARED_USERS: u32 = 20;
pub const MAX_PRICE: i64 = 100_000_000;

/// A plan's name, checked: 1-40 of A-Z, 0-9, `-`, `_`, `.` and spaces (printed on cards, typed
/// by staff), kept in upper case.
pub fn plan_name(v: &mut Validation, name: &str) -> String {
    let n = name.trim().to_uppercase();
    if n.is_empty() || n.chars().count() > 40 || !n.chars().all(|c| c.is_ascii_alphanumeric() || " -_.".contains(c)) {
        v.add("name", "must be 1-40 letters, digits, spaces, - _ or .");
    }
    n
}

/// The router profile a plan's vouchers use.
pub fn router_profile(name: &str) -> String {
    let slug: String = name.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    format!("vp-{}", slug.trim_matches('-'))
}

/// Checks the rest of a plan's fields; the rate limit comes back as RouterOS writes it.
pub fn check_plan(
    v: &mut Validation,
    validity_hours: u32,
    data_limit_mb: Option<u64>,
    rate_limit: &str,
    shared_users: u32,
    price: i64,
) -> String {
    if validity_hours == 0 || validity_hours > MAX_VALIDITY_HOURS {
        v.add("validity_hours", format!("must be 1 to {MAX_VALIDITY_HOURS} hours"));
    }
    if data_limit_mb.is_some_and(|d| d == 0 || d > MAX_DATA_MB) {
        v.add("data_limit_mb", format!("must be 1 to {MAX_DATA_MB} MB, or null for none"));
    }
    if shared_users == 0 || shared_users > MAX_SHARED_USERS {
        v.add("shared_users", format!("must be 1 to {MAX_SHARED_USERS}"));
    }
    if !(0..=MAX_PRICE).contains(&price) {
        v.add("price", format!("must be 0 to {MAX_PRICE} minor units"));
    }
    match RatePair::parse(rate_limit) {
        Some(r) => r.to_string(),
        None => {
            v.add("rate_limit", "must be a RouterOS rate such as 5M/5M or 512k/2M");
            rate_limit.to_string()
        }
    }
}

/// The plans the product ships as examples: (name, hours, MB, rate, price in major units).
pub const EXAMPLES: [(&str, u32, Option<u64>, &str, i64); 4] = [
    ("1GB-DAILY", 24, Some(1024), "5M/5M", 20),
    ("5GB-WEEKLY", 24 * 7, Some(5 * 1024), "10M/10M", 100),
    ("20GB-MONTHLY", 24 * 30, Some(20 * 1024), "10M/10M", 300),
    ("UNLIMITED-DAILY", 24, None, "3M/3M", 30),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_profiles_are_what_cards_and_routers_take() {
        let mut v = Validation::new();
        assert_eq!(plan_name(&mut v, " 1gb-daily "), "1GB-DAILY");
        assert_eq!(router_profile("1GB-DAILY"), "vp-1gb-daily");
        assert_eq!(router_profile("Café Night 3H"), "vp-caf--night-3h");
        assert!(v.finish().is_ok());
        let mut v = Validation::new();
        plan_name(&mut v, "bad/name");
        assert!(v.finish().is_err());
    }

    #[test]
    fn the_examples_are_valid_plans() {
        for (name, hours, mb, rate, price) in EXAMPLES {
            let mut v = Validation::new();
            plan_name(&mut v, name);
            assert_eq!(check_plan(&mut v, hours, mb, rate, 1, price * 100), rate);
            assert!(v.finish().is_ok(), "{name}");
        }
        let mut v = Validation::new();
        check_plan(&mut v, 0, Some(0), "fast", 0, -1);
        assert!(v.finish().is_err());
    }
}
