//! An ISP (tenant): its settings and status.

use crate::cycle::PostpaidCycle;
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
    /// Prices include the tax (shown per line as the part of the price it is).
    #[serde(default)]
    pub tax_inclusive: bool,
    /// How postpaid periods are anchored: the billing day, or each subscription's anniversary.
    #[serde(default)]
    pub postpaid_cycle: PostpaidCycle,
    /// Prepaid auto-renew subscriptions are invoiced this many days before they expire.
    #[serde(default = "default_renewal_days")]
    pub renewal_days: u16,
    /// Reminders, in days relative to the due date (-3: three days before; 0: on the day).
    #[serde(default = "default_reminder_days")]
    pub reminder_days: Vec<i16>,
    /// Document number prefixes: `INV-2026-000123`, `RCT-2026-000045`, `CN-2026-000002`.
    #[serde(default = "default_invoice_prefix")]
    pub invoice_prefix: String,
    #[serde(default = "default_receipt_prefix")]
    pub receipt_prefix: String,
    #[serde(default = "default_credit_note_prefix")]
    pub credit_note_prefix: String,
}

fn default_renewal_days() -> u16 {
    7
}
fn default_reminder_days() -> Vec<i16> {
    vec![-3, 0, 3]
}
fn default_invoice_prefix() -> String {
    "INV".into()
}
fn default_receipt_prefix() -> String {
    "RCT".into()
}
fn default_credit_note_prefix() -> String {
    "CN".into()
}

impl Default for BillingDefaults {
    fn default() -> Self {
        Self {
            billing_day: 1,
            due_days: 7,
            grace_days: 3,
            tax_rate_bps: 0,
            tax_inclusive: false,
            postpaid_cycle: PostpaidCycle::BillingDay,
            renewal_days: default_renewal_days(),
            reminder_days: default_reminder_days(),
            invoice_prefix: default_invoice_prefix(),
            receipt_prefix: default_receipt_prefix(),
            credit_note_prefix: default_credit_note_prefix(),
        }
    }
}

impl BillingDefaults {
    pub fn validate(&self, v: &mut Validation, prefix: &str) {
        v.range_i64(&format!("{prefix}.billing_day"), self.billing_day.into(), 1, 28);
        v.range_i64(&format!("{prefix}.due_days"), self.due_days.into(), 0, 90);
        v.range_i64(&format!("{prefix}.grace_days"), self.grace_days.into(), 0, 60);
        v.range_i64(&format!("{prefix}.tax_rate_bps"), self.tax_rate_bps.into(), 0, 10_000);
        v.range_i64(&format!("{prefix}.renewal_days"), self.renewal_days.into(), 0, 60);
        if self.reminder_days.len() > 10 {
            v.add(&format!("{prefix}.reminder_days"), "must have at most 10 entries");
        }
        for d in &self.reminder_days {
            v.range_i64(&format!("{prefix}.reminder_days"), (*d).into(), -30, 90);
        }
        for (name, value) in [
            ("invoice_prefix", &self.invoice_prefix),
            ("receipt_prefix", &self.receipt_prefix),
            ("credit_note_prefix", &self.credit_note_prefix),
        ] {
            let ok = (1..=12).contains(&value.len())
                && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '/');
            if !ok {
                v.add(&format!("{prefix}.{name}"), "must be 1-12 letters, digits, '-' or '/'");
            }
        }
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
    /// The subscriber portal: its hosts, allowed origins and what subscribers may do.
    #[serde(default)]
    pub portal: crate::portal::PortalSettings,
    /// The helpdesk's service levels.
    #[serde(default)]
    pub tickets: crate::ticket::TicketSettings,
    /// The regulator's (BTRC) subscriber report.
    #[serde(default)]
    pub btrc: crate::regulator::BtrcSettings,
    /// Router configuration backups: schedule, how many kept, the on-router daily backup.
    #[serde(default)]
    pub router_backups: crate::router_config::RouterBackupSettings,
    /// What the routers' monitoring watches (ping targets) and the thresholds of its alerts.
    #[serde(default)]
    pub monitoring: crate::monitoring::MonitoringSettings,
    /// This ISP's own request limits, over the platform's defaults (set by the platform).
    #[serde(default)]
    pub rate_limits: crate::rate::RateLimitSettings,
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
