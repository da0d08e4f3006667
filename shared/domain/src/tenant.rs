//! An ISP (tenant): its settings and status.

use crate::validate::Validation;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    Active,
    Suspended,
}

/// Defaults the billing engine uses for customers that do not override them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BillingDefaults {
    /// Day of month invoices are issued for monthly plans (1-28, so every month has it).
    pub billing_day: u8,
    /// Days between issue and due date.
    pub due_days: u16,
    /// Days after the due date before service is suspended.
    pub grace_days: u16,
    /// VAT/tax rate in basis points (1500 = 15%).
    pub tax_rate_bps: u16,
}

impl Default for BillingDefaults {
    fn default() -> Self {
        Self { billing_day: 1, due_days: 7, grace_days: 3, tax_rate_bps: 0 }
    }
}

impl BillingDefaults {
    pub fn validate(&self, v: &mut Validation, prefix: &str) {
        v.range_i64(&format!("{prefix}.billing_day"), self.billing_day.into(), 1, 28);
        v.range_i64(&format!("{prefix}.due_days"), self.due_days.into(), 0, 90);
        v.range_i64(&format!("{prefix}.grace_days"), self.grace_days.into(), 0, 60);
        v.range_i64(&format!("{prefix}.tax_rate_bps"), self.tax_rate_bps.into(), 0, 10_000);
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tenant {
    pub id: Uuid,
    /// The platform reseller that sold this ISP its slot; None when the owner created it directly.
    pub reseller_id: Option<Uuid>,
    pub name: String,
    pub slug: String,
    pub time_zone: String,
    pub currency: String,
    /// ISO 3166 alpha-2 country used to read local phone numbers.
    pub country: String,
    pub billing: BillingDefaults,
    pub status: TenantStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

pub fn validate_time_zone(v: &mut Validation, field: &str, tz: &str) {
    if tz.parse::<chrono_tz::Tz>().is_err() {
        v.add(field, "must be an IANA time zone such as Asia/Dhaka");
    }
}

pub fn validate_currency(v: &mut Validation, field: &str, currency: &str) {
    if crate::money::minor_units(currency).is_none() {
        v.add(field, "must be a supported ISO-4217 currency code such as BDT");
    }
}

pub fn validate_country(v: &mut Validation, field: &str, country: &str) {
    if !crate::phone::is_known_country(country) {
        v.add(field, "must be an ISO 3166 alpha-2 country code such as BD");
    }
}

/// A sensible default country for a currency, so most ISPs need not set it.
pub fn default_country_for(currency: &str) -> &'static str {
    match currency {
        "BDT" => "BD",
        "IDR" => "ID",
        "KES" => "KE",
        "UGX" => "UG",
        "TZS" => "TZ",
        "RWF" => "RW",
        "ETB" => "ET",
        "NGN" => "NG",
        "GHS" => "GH",
        "ZAR" => "ZA",
        "INR" => "IN",
        "NPR" => "NP",
        "PKR" => "PK",
        "LKR" => "LK",
        "MYR" => "MY",
        "PHP" => "PH",
        "THB" => "TH",
        "VND" => "VN",
        "MMK" => "MM",
        "KHR" => "KH",
        "AED" => "AE",
        "SAR" => "SA",
        "GBP" => "GB",
        "EUR" => "DE",
        _ => "US",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_validation() {
        let mut v = Validation::new();
        validate_time_zone(&mut v, "time_zone", "Asia/Dhaka");
        validate_currency(&mut v, "currency", "BDT");
        validate_country(&mut v, "country", "BD");
        BillingDefaults::default().validate(&mut v, "billing");
        assert!(v.is_empty());
        validate_time_zone(&mut v, "time_zone", "Mars/Base");
        validate_currency(&mut v, "currency", "bdt");
        BillingDefaults { billing_day: 31, ..Default::default() }.validate(&mut v, "billing");
        let errs = v.finish().unwrap_err();
        assert_eq!(
            errs.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            ["time_zone", "currency", "billing.billing_day"]
        );
    }
}
