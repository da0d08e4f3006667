//! Billing periods in the ISP's time zone, and what part of a period is left at a given instant.
//!
//! Postpaid subscriptions are billed monthly, in advance, for periods that begin at local midnight
//! of their anchor day: the ISP's billing day (1-28, so every month has it) or the day of the month
//! the subscription was activated (its anniversary; the 29th-31st fall on the month's last day in
//! shorter months, and come back in the next long month). Prepaid subscriptions buy the package's
//! validity, a fixed duration from the current expiry.
//!
//! Proration of a monthly period counts **local calendar days**: a subscription switched on during
//! the 21st of a 30-day period pays for 10 of its 30 days, whatever the hour. The day of a change
//! counts for the new package. Prepaid validity is prorated by the second, since packages may last
//! hours.

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// How an ISP anchors the monthly periods of its postpaid subscriptions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PostpaidCycle {
    /// Every subscription's period starts on the ISP's (or the subscription's) billing day.
    #[default]
    BillingDay,
    /// Each subscription's period starts on the day of the month it was activated.
    Anniversary,
}

/// A half-open span `[start, end)` of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Period {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Period {
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at < self.end
    }
    pub fn seconds(&self) -> i64 {
        (self.end - self.start).num_seconds()
    }
}

pub fn parse_tz(name: &str) -> Tz {
    // Tenants' zones are validated when set; a bad stored value falls back to UTC, never panics.
    name.parse().unwrap_or(chrono_tz::UTC)
}

/// The local calendar date of an instant.
pub fn local_date(tz: Tz, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// The first instant of a local date. Where midnight does not exist (a DST jump at 00:00) it is the
/// first local time that does.
pub fn local_midnight(tz: Tz, d: NaiveDate) -> DateTime<Utc> {
    for minutes in (0..=180).step_by(15) {
        let t = d.and_hms_opt(0, 0, 0).expect("midnight") + chrono::Duration::minutes(minutes);
        match tz.from_local_datetime(&t) {
            chrono::LocalResult::Single(x) => return x.with_timezone(&Utc),
            chrono::LocalResult::Ambiguous(x, _) => return x.with_timezone(&Utc),
            chrono::LocalResult::None => continue,
        }
    }
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
}

fn last_day_of_month(year: i32, month: u32) -> u32 {
    let first = NaiveDate::from_ymd_opt(year, month, 1).expect("valid month");
    let next = first.checked_add_months(Months::new(1)).expect("in range");
    (next - first).num_days() as u32
}

/// The date of the anchor day in a month, on the month's last day when it is shorter.
fn anchor_date(year: i32, month: u32, anchor_day: u8) -> NaiveDate {
    let day = u32::from(anchor_day).clamp(1, 31).min(last_day_of_month(year, month));
    NaiveDate::from_ymd_opt(year, month, day).expect("clamped day")
}

fn shift_month(year: i32, month: u32, by: i32) -> (i32, u32) {
    let idx = year * 12 + month as i32 - 1 + by;
    (idx.div_euclid(12), (idx.rem_euclid(12) + 1) as u32)
}

/// The monthly period (anchored on `anchor_day`, 1-31) that contains `at`, in the zone `tz`.
pub fn monthly_period(tz: Tz, anchor_day: u8, at: DateTime<Utc>) -> Period {
    let d = local_date(tz, at);
    let (y, m) = (d.year(), d.month());
    let this = local_midnight(tz, anchor_date(y, m, anchor_day));
    let (start_ym, end_ym) = if at >= this { ((y, m), shift_month(y, m, 1)) } else { (shift_month(y, m, -1), (y, m)) };
    Period {
        start: local_midnight(tz, anchor_date(start_ym.0, start_ym.1, anchor_day)),
        end: local_midnight(tz, anchor_date(end_ym.0, end_ym.1, anchor_day)),
    }
}

/// The period after `p` (monthly, same anchor).
pub fn next_monthly_period(tz: Tz, anchor_day: u8, p: &Period) -> Period {
    monthly_period(tz, anchor_day, p.end)
}

/// Local calendar days in a period whose ends are local midnights.
pub fn period_days(tz: Tz, p: &Period) -> i64 {
    (local_date(tz, p.end) - local_date(tz, p.start)).num_days().max(1)
}

/// Days of a monthly period still to come at `at`, the local day of `at` included.
pub fn days_left(tz: Tz, p: &Period, at: DateTime<Utc>) -> i64 {
    if at < p.start {
        return period_days(tz, p);
    }
    (local_date(tz, p.end) - local_date(tz, at)).num_days().clamp(0, period_days(tz, p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn dhaka_billing_day_periods() {
        let tz = parse_tz("Asia/Dhaka");
        // 2026-11-21 10:00 in Dhaka (UTC+6): the period is Nov 1 - Dec 1, local midnights.
        let p = monthly_period(tz, 1, utc("2026-11-21T04:00:00Z"));
        assert_eq!(p.start, utc("2026-10-31T18:00:00Z"));
        assert_eq!(p.end, utc("2026-11-30T18:00:00Z"));
        assert_eq!(period_days(tz, &p), 30);
        assert_eq!(days_left(tz, &p, utc("2026-11-21T04:00:00Z")), 10);
        // 23:30 UTC on Nov 30 is already Dec 1 in Dhaka: the next period.
        let q = monthly_period(tz, 1, utc("2026-11-30T23:30:00Z"));
        assert_eq!(q.start, p.end);
        assert_eq!(next_monthly_period(tz, 1, &p), q);
    }

    #[test]
    fn anniversaries_on_the_31st_fall_on_the_last_day_and_come_back() {
        let tz = parse_tz("UTC");
        let p = monthly_period(tz, 31, utc("2027-02-10T00:00:00Z"));
        assert_eq!(p.start, utc("2027-01-31T00:00:00Z"));
        assert_eq!(p.end, utc("2027-02-28T00:00:00Z"));
        let q = next_monthly_period(tz, 31, &p);
        assert_eq!(q.end, utc("2027-03-31T00:00:00Z"));
        assert_eq!(period_days(tz, &q), 31);
    }

    #[test]
    fn a_dst_zone_keeps_local_midnights() {
        // Nairobi has no DST; use a zone that does: Europe/London, clocks go forward on 2027-03-28.
        let tz = parse_tz("Europe/London");
        let p = monthly_period(tz, 15, utc("2027-03-30T12:00:00Z"));
        assert_eq!(p.start, utc("2027-03-15T00:00:00Z"));
        assert_eq!(p.end, utc("2027-04-14T23:00:00Z")); // local midnight in BST
        assert_eq!(period_days(tz, &p), 31);
    }

    proptest! {
        /// Periods tile time: each contains its instant, the next starts where it ends, and a
        /// month has 28 to 31 local days.
        #[test]
        fn periods_tile_time(secs in 1_700_000_000i64..1_900_000_000, day in 1u8..=31, zone in 0usize..4) {
            let tz = parse_tz(["Asia/Dhaka", "Africa/Nairobi", "Asia/Jakarta", "America/Sao_Paulo"][zone]);
            let at = DateTime::from_timestamp(secs, 0).unwrap();
            let p = monthly_period(tz, day, at);
            prop_assert!(p.contains(at), "{:?} {}", p, at);
            let n = next_monthly_period(tz, day, &p);
            prop_assert_eq!(n.start, p.end);
            prop_assert!((28..=31).contains(&period_days(tz, &p)));
            let left = days_left(tz, &p, at);
            prop_assert!(left >= 1 && left <= period_days(tz, &p));
        }
    }
}
