//! Billing arithmetic on integer minor units: proration, tax, proportional splits.
//!
//! **Rounding rule.** Every fraction of a minor unit is rounded half to even (banker's rounding) on
//! the exact rational value, computed in 128-bit integers: `2.5 -> 2`, `3.5 -> 4`, `-2.5 -> -2`.
//! Half-to-even has no bias, so a year of monthly invoices does not drift one way. Wherever a whole is
//! split into parts (a period into its used and unused part, a tax-inclusive price into net and tax,
//! a discount across lines) only the parts but one are rounded and the last is the remainder, so the
//! parts always add up to the whole exactly: money is never created or lost by rounding.

/// `amount * num / den`, rounded half to even. `den` must be positive.
pub fn mul_div(amount: i64, num: i64, den: i64) -> i64 {
    assert!(den > 0, "mul_div by a non-positive denominator");
    let p = amount as i128 * num as i128;
    let d = den as i128;
    let q = p.div_euclid(d);
    let r = p.rem_euclid(d);
    // q is the floor; round up when the remainder is past half, or exactly half and q is odd.
    let twice = 2 * r;
    let rounded = if twice > d || (twice == d && q % 2 != 0) { q + 1 } else { q };
    i64::try_from(rounded).expect("minor units fit in i64")
}

/// A period's price split at a point in it: `(used, unused)`, `used + unused == price`. The used
/// part is `price * used_seconds / period_seconds`, rounded; the unused part is the remainder.
pub fn split_period(price: i64, used_seconds: i64, period_seconds: i64) -> (i64, i64) {
    let used_seconds = used_seconds.clamp(0, period_seconds);
    let used = mul_div(price, used_seconds, period_seconds);
    (used, price - used)
}

/// Basis points: 1500 = 15 %.
pub type Bps = i64;

/// Tax on a net amount (tax-exclusive prices).
pub fn tax_on_net(net: i64, rate: Bps) -> i64 {
    mul_div(net, rate, 10_000)
}

/// A tax-inclusive amount split into `(net, tax)`, `net + tax == gross`.
pub fn split_inclusive(gross: i64, rate: Bps) -> (i64, i64) {
    let net = mul_div(gross, 10_000, 10_000 + rate);
    (net, gross - net)
}

/// Splits `total` over parts in proportion to `weights` (largest remainder): the parts add up to
/// `total` exactly and each is within one minor unit of its exact share. All weights zero: the total
/// goes to the first part. Used to spread an invoice-level discount over its lines.
pub fn split_proportionally(total: i64, weights: &[i64]) -> Vec<i64> {
    if weights.is_empty() {
        return Vec::new();
    }
    let sum: i128 = weights.iter().map(|w| *w as i128).sum();
    if sum == 0 {
        let mut out = vec![0; weights.len()];
        out[0] = total;
        return out;
    }
    let t = total as i128;
    let mut parts: Vec<i128> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let exact = t * *w as i128;
        parts.push(exact.div_euclid(sum));
        remainders.push((exact.rem_euclid(sum), i));
    }
    let mut left = t - parts.iter().sum::<i128>();
    // Largest remainders first; ties to the earlier part, so the result is deterministic.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders {
        if left == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts.into_iter().map(|p| i64::try_from(p).expect("parts fit in i64")).collect()
}

// ---- what a subscription is charged ------------------------------------------------------------

use crate::cycle::{self, Period, PostpaidCycle};
use crate::invoice::{LineInput, LineKind};
use crate::package::Validity;
use crate::subscription::{BillingModel, Subscription, SubscriptionStatus};
use chrono::{DateTime, Datelike, Duration, Utc};
use chrono_tz::Tz;

/// The ISP's billing terms the charge rules need.
#[derive(Debug, Clone, Copy)]
pub struct Terms {
    pub tz: Tz,
    pub billing_day: u8,
    pub cycle: PostpaidCycle,
}

/// A charge for a period: the lines of the invoice that asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    pub period: Period,
    pub lines: Vec<LineInput>,
}

fn span(tz: Tz, p: &Period) -> String {
    let (a, b) = (cycle::local_date(tz, p.start), cycle::local_date(tz, p.end - Duration::seconds(1)));
    format!("{} - {}", a.format("%d %b %Y"), b.format("%d %b %Y"))
}

fn package_line(sub: &Subscription, package_name: &str, amount: i64, period: Period, note: String) -> LineInput {
    LineInput {
        kind: LineKind::Package,
        description: format!("{package_name} ({}){note}", sub.username),
        amount,
        package_id: Some(sub.package_id),
        period: Some(period),
        discountable: true,
    }
}

/// The day of the month a postpaid subscription's periods start: its own billing day, else the
/// ISP's, or on anniversary billing the local day it is switched on.
pub fn anchor_day(sub: &Subscription, terms: &Terms, activated_at: DateTime<Utc>) -> u8 {
    sub.billing_day.unwrap_or(match terms.cycle {
        PostpaidCycle::BillingDay => terms.billing_day,
        PostpaidCycle::Anniversary => cycle::local_date(terms.tz, activated_at).day() as u8,
    })
}

/// What switching a subscription on at `now` charges, and until when it is then billed. Prepaid:
/// the package's whole validity from now (nothing when a migrated subscription is paid ahead).
/// Postpaid: the rest of the current month, prorated by local days.
pub fn activation_charge(sub: &Subscription, validity: Validity, terms: &Terms, now: DateTime<Utc>) -> Option<Charge> {
    match sub.billing_model {
        BillingModel::Prepaid => {
            if sub.expires_at.is_some_and(|e| e > now) {
                return None;
            }
            let period = Period { start: now, end: now + validity.duration() };
            let line =
                package_line(sub, &sub.package_name, sub.price, period, format!(", {}", span(terms.tz, &period)));
            Some(Charge { period, lines: vec![line] })
        }
        BillingModel::Postpaid => {
            let anchor = anchor_day(sub, terms, now);
            let month = cycle::monthly_period(terms.tz, anchor, now);
            let (left, days) = (cycle::days_left(terms.tz, &month, now), cycle::period_days(terms.tz, &month));
            let period =
                Period { start: cycle::local_midnight(terms.tz, cycle::local_date(terms.tz, now)), end: month.end };
            let amount = mul_div(sub.price, left, days);
            let note = format!(", {} ({left} of {days} days)", span(terms.tz, &period));
            Some(Charge { period, lines: vec![package_line(sub, &sub.package_name, amount, period, note)] })
        }
    }
}

/// Where a subscription sits in the billing index: prepaid auto-renew subscriptions by their expiry
/// (the run looks `renewal_days` ahead) until the renewal is invoiced; active postpaid ones by the
/// start of their next period. None: the billing run has nothing to do for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillingDue {
    Prepaid(DateTime<Utc>),
    Postpaid(DateTime<Utc>),
}

pub fn billing_due(sub: &Subscription) -> Option<BillingDue> {
    if sub.status != SubscriptionStatus::Active {
        return None;
    }
    match sub.billing_model {
        BillingModel::Prepaid => {
            let e = sub.expires_at?;
            (sub.auto_renew && sub.billed_through.is_none_or(|b| b <= e)).then_some(BillingDue::Prepaid(e))
        }
        BillingModel::Postpaid => sub.billed_through.map(BillingDue::Postpaid),
    }
}

/// The renewal the billing run issues at `now`, if one is due. Prepaid: the next validity from the
/// current expiry, once `now` is within `renewal_days` of it. Postpaid: the period starting where
/// the last invoiced one ended, once it has begun (months the subscription spent switched off are
/// skipped, never billed).
pub fn renewal_charge(
    sub: &Subscription,
    validity: Validity,
    terms: &Terms,
    renewal_days: u16,
    now: DateTime<Utc>,
) -> Option<Charge> {
    match billing_due(sub)? {
        BillingDue::Prepaid(e) => {
            if now < e - Duration::days(renewal_days.into()) {
                return None;
            }
            let period = Period { start: e, end: e + validity.duration() };
            let line =
                package_line(sub, &sub.package_name, sub.price, period, format!(", {}", span(terms.tz, &period)));
            Some(Charge { period, lines: vec![line] })
        }
        BillingDue::Postpaid(next) => {
            if now < next {
                return None;
            }
            let anchor = anchor_day(sub, terms, sub.start_date.unwrap_or(next));
            let current = cycle::monthly_period(terms.tz, anchor, now);
            let period = cycle::monthly_period(terms.tz, anchor, next.max(current.start));
            let line =
                package_line(sub, &sub.package_name, sub.price, period, format!(", {}", span(terms.tz, &period)));
            Some(Charge { period, lines: vec![line] })
        }
    }
}

/// A package as the proration needs it.
#[derive(Debug, Clone)]
pub struct Priced<'a> {
    pub name: &'a str,
    pub price: i64,
    pub validity: Validity,
}

/// A package change at `now`: credit for the unused part of the old package and a charge for the
/// rest of the period at the new one's price. Nothing when no paid-for time is left (a prepaid
/// subscription past its expiry, a postpaid one whose current month was not invoiced).
pub fn package_change_lines(
    sub: &Subscription,
    old: &Priced<'_>,
    new: &Priced<'_>,
    new_price: i64,
    terms: &Terms,
    now: DateTime<Utc>,
) -> Vec<LineInput> {
    let (credit, charge, period, note) = match sub.billing_model {
        BillingModel::Prepaid => {
            let Some(e) = sub.expires_at.filter(|e| *e > now) else { return vec![] };
            let left = (e - now).num_seconds();
            let period = Period { start: now, end: e };
            let credit = mul_div(old.price, left, old.validity.duration().num_seconds());
            let charge = mul_div(new_price, left, new.validity.duration().num_seconds());
            (credit, charge, period, format!(", {}", span(terms.tz, &period)))
        }
        BillingModel::Postpaid => {
            let anchor = anchor_day(sub, terms, sub.start_date.unwrap_or(now));
            let month = cycle::monthly_period(terms.tz, anchor, now);
            if sub.billed_through.is_none_or(|b| b < month.end) {
                return vec![];
            }
            let (left, days) = (cycle::days_left(terms.tz, &month, now), cycle::period_days(terms.tz, &month));
            let period =
                Period { start: cycle::local_midnight(terms.tz, cycle::local_date(terms.tz, now)), end: month.end };
            let note = format!(", {} ({left} of {days} days)", span(terms.tz, &period));
            (mul_div(old.price, left, days), mul_div(new_price, left, days), period, note)
        }
    };
    let mut lines = vec![];
    if credit != 0 {
        lines.push(LineInput {
            kind: LineKind::PackageCredit,
            description: format!("Unused {} ({}){note}", old.name, sub.username),
            amount: -credit,
            package_id: Some(sub.package_id),
            period: Some(period),
            discountable: false,
        });
    }
    if charge != 0 {
        lines.push(LineInput {
            kind: LineKind::Package,
            description: format!("{} ({}){note}", new.name, sub.username),
            amount: charge,
            package_id: None,
            period: Some(period),
            discountable: true,
        });
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use crate::package::ConnectionType;
    use crate::subscription::BillingModel;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn sub(model: BillingModel, price: i64) -> Subscription {
        let now = utc("2026-11-01T00:00:00Z");
        Subscription {
            id: uuid::Uuid::now_v7(),
            tenant_id: uuid::Uuid::nil(),
            customer_id: uuid::Uuid::nil(),
            package_id: uuid::Uuid::nil(),
            package_name: "Home 10M".into(),
            connection_type: ConnectionType::Pppoe,
            router_id: uuid::Uuid::nil(),
            username: "rahim".into(),
            ip_address: None,
            mac_address: None,
            billing_model: model,
            billing_day: None,
            billed_through: None,
            auto_renew: true,
            price,
            currency: "BDT".into(),
            status: SubscriptionStatus::Active,
            status_reason: None,
            start_date: None,
            expires_at: None,
            ended_at: None,
            turbo: None,
            scheduled_package: None,
            operator_id: None,
            scope: None,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    fn dhaka() -> Terms {
        Terms { tz: cycle::parse_tz("Asia/Dhaka"), billing_day: 1, cycle: PostpaidCycle::BillingDay }
    }

    #[test]
    fn postpaid_activation_is_prorated_by_local_days() {
        let s = sub(BillingModel::Postpaid, 60_000);
        // 21 Nov, 10:00 in Dhaka: 10 of 30 days left.
        let c = activation_charge(&s, Validity::Days(30), &dhaka(), utc("2026-11-21T04:00:00Z")).unwrap();
        assert_eq!(c.lines[0].amount, 20_000);
        assert_eq!(c.period.start, utc("2026-11-20T18:00:00Z"));
        assert_eq!(c.period.end, utc("2026-11-30T18:00:00Z"));
        assert!(c.lines[0].description.contains("10 of 30 days"), "{}", c.lines[0].description);
        // Anniversary billing: the period starts on the day it is switched on.
        let t = Terms { cycle: PostpaidCycle::Anniversary, ..dhaka() };
        assert_eq!(anchor_day(&s, &t, utc("2026-11-21T04:00:00Z")), 21);
        let c = activation_charge(&s, Validity::Days(30), &t, utc("2026-11-21T04:00:00Z")).unwrap();
        assert_eq!(c.lines[0].amount, 60_000);
    }

    #[test]
    fn renewals() {
        let mut s = sub(BillingModel::Prepaid, 50_000);
        s.expires_at = Some(utc("2026-12-10T00:00:00Z"));
        assert_eq!(billing_due(&s), Some(BillingDue::Prepaid(utc("2026-12-10T00:00:00Z"))));
        assert!(renewal_charge(&s, Validity::Days(30), &dhaka(), 7, utc("2026-12-02T23:59:59Z")).is_none());
        let c = renewal_charge(&s, Validity::Days(30), &dhaka(), 7, utc("2026-12-03T00:00:00Z")).unwrap();
        assert_eq!(c.period.end, utc("2027-01-09T00:00:00Z"));
        s.billed_through = Some(c.period.end);
        assert_eq!(billing_due(&s), None, "invoiced already");
        s.auto_renew = false;
        s.billed_through = None;
        assert_eq!(billing_due(&s), None);

        let mut p = sub(BillingModel::Postpaid, 60_000);
        p.billing_day = Some(1);
        p.billed_through = Some(utc("2026-11-30T18:00:00Z"));
        assert!(renewal_charge(&p, Validity::Days(30), &dhaka(), 7, utc("2026-11-30T17:00:00Z")).is_none());
        let c = renewal_charge(&p, Validity::Days(30), &dhaka(), 7, utc("2026-12-01T00:05:00Z")).unwrap();
        assert_eq!((c.period.start, c.period.end), (utc("2026-11-30T18:00:00Z"), utc("2026-12-31T18:00:00Z")));
        assert_eq!(c.lines[0].amount, 60_000);
        // Switched off through January: February is billed, January is not.
        let c = renewal_charge(&p, Validity::Days(30), &dhaka(), 7, utc("2027-02-03T00:00:00Z")).unwrap();
        assert_eq!(c.period.start, utc("2027-01-31T18:00:00Z"));
        p.status = SubscriptionStatus::Suspended;
        assert_eq!(billing_due(&p), None);
    }

    #[test]
    fn package_change_credits_the_old_and_charges_the_new() {
        let old = Priced { name: "Home 10M", price: 60_000, validity: Validity::Days(30) };
        let new = Priced { name: "Home 20M", price: 90_000, validity: Validity::Days(30) };
        let mut p = sub(BillingModel::Postpaid, 60_000);
        p.billing_day = Some(1);
        p.billed_through = Some(utc("2026-11-30T18:00:00Z"));
        let lines = package_change_lines(&p, &old, &new, 90_000, &dhaka(), utc("2026-11-21T04:00:00Z"));
        assert_eq!(lines.iter().map(|l| l.amount).collect::<Vec<_>>(), vec![-20_000, 30_000]);
        p.billed_through = Some(utc("2026-10-31T18:00:00Z"));
        assert!(package_change_lines(&p, &old, &new, 90_000, &dhaka(), utc("2026-11-21T04:00:00Z")).is_empty());

        let mut s = sub(BillingModel::Prepaid, 60_000);
        s.expires_at = Some(utc("2026-11-16T00:00:00Z"));
        let lines = package_change_lines(&s, &old, &new, 90_000, &dhaka(), utc("2026-11-01T00:00:00Z"));
        assert_eq!(lines.iter().map(|l| l.amount).collect::<Vec<_>>(), vec![-30_000, 45_000]);
    }

    proptest! {
        /// Postpaid: whatever package changes happen on whatever days of a month, activation plus
        /// the changes charge the exact day-weighted price within half a unit per charge.
        #[test]
        fn a_month_of_changes_charges_what_was_used(
            start_day in 0i64..29, prices in proptest::collection::vec(1i64..10_000_000, 1..6), gaps in proptest::collection::vec(0i64..6, 6),
        ) {
            let terms = Terms { tz: cycle::parse_tz("UTC"), billing_day: 1, cycle: PostpaidCycle::BillingDay };
            let month_start = utc("2026-12-01T00:00:00Z");
            let days_in = 31i64;
            let mut s = sub(BillingModel::Postpaid, prices[0]);
            s.billing_day = Some(1);
            let mut at = month_start + Duration::days(start_day) + Duration::hours(10);
            let first = activation_charge(&s, Validity::Days(30), &terms, at).unwrap();
            s.billed_through = Some(first.period.end);
            let mut charged: i64 = first.lines.iter().map(|l| l.amount).sum();
            let mut exact: i128 = 0;
            let mut day = start_day;
            let mut charges = 1i128;
            for (i, p) in prices.iter().enumerate().skip(1) {
                let next_day = (day + gaps[i]).min(days_in - 1);
                exact += prices[i - 1] as i128 * (next_day - day) as i128;
                day = next_day;
                at = month_start + Duration::days(day) + Duration::hours(3);
                let old = Priced { name: "a", price: prices[i - 1], validity: Validity::Days(30) };
                let new = Priced { name: "b", price: *p, validity: Validity::Days(30) };
                charged += package_change_lines(&s, &old, &new, *p, &terms, at).iter().map(|l| l.amount).sum::<i64>();
                charges += 2;
            }
            exact += *prices.last().unwrap() as i128 * (days_in - day) as i128;
            let diff = (charged as i128 * days_in as i128 - exact).abs();
            prop_assert!(diff * 2 <= charges * days_in as i128, "charged {} exact {}/{}", charged, exact, days_in);
        }
    }

    #[test]
    fn rounds_half_to_even() {
        assert_eq!(mul_div(5, 1, 2), 2); // 2.5
        assert_eq!(mul_div(7, 1, 2), 4); // 3.5
        assert_eq!(mul_div(-5, 1, 2), -2); // -2.5
        assert_eq!(mul_div(10, 1, 3), 3); // 3.33
        assert_eq!(mul_div(20, 1, 3), 7); // 6.67
        assert_eq!(mul_div(i64::MAX, 1, 1), i64::MAX);
    }

    #[test]
    fn bangladesh_vat_and_a_half_month() {
        // 1,000.00 BDT at 15 % VAT: 150.00 exclusive; 869.57 + 130.43 inclusive.
        assert_eq!(tax_on_net(100_000, 1500), 15_000);
        assert_eq!(split_inclusive(100_000, 1500), (86_957, 13_043));
        // 15 days of a 30-day 500.00 package.
        assert_eq!(split_period(50_000, 15 * 86_400, 30 * 86_400), (25_000, 25_000));
        assert_eq!(split_period(50_000, -5, 30), (0, 50_000));
        assert_eq!(split_period(50_000, 31, 30), (50_000, 0));
        assert_eq!(split_proportionally(100, &[1, 1, 1]), vec![34, 33, 33]);
        assert_eq!(split_proportionally(7, &[0, 0]), vec![7, 0]);
    }

    proptest! {
        #[test]
        fn parts_always_add_up(price in 0i64..10_000_000_000, used in 0i64..3_000_000, period in 1i64..3_000_000) {
            let (u, r) = split_period(price, used, period);
            prop_assert_eq!(u + r, price);
            prop_assert!(u >= 0 && r >= 0);
        }

        #[test]
        fn inclusive_tax_splits_exactly(gross in 0i64..10_000_000_000, rate in 0i64..5_000) {
            let (net, tax) = split_inclusive(gross, rate);
            prop_assert_eq!(net + tax, gross);
            // Charging the tax on that net again lands within a minor unit of the gross.
            prop_assert!((net + tax_on_net(net, rate) - gross).abs() <= 1);
        }

        #[test]
        fn proportional_split_is_exact_and_fair(total in -1_000_000i64..1_000_000, weights in proptest::collection::vec(0i64..100_000, 1..20)) {
            let parts = split_proportionally(total, &weights);
            prop_assert_eq!(parts.iter().sum::<i64>(), total);
            let sum: i128 = weights.iter().map(|w| *w as i128).sum();
            if sum > 0 {
                for (p, w) in parts.iter().zip(&weights) {
                    let exact = total as f64 * *w as f64 / sum as f64;
                    prop_assert!((*p as f64 - exact).abs() < 1.0 + 1e-9, "{} vs {}", p, exact);
                }
            }
        }

        #[test]
        fn a_year_of_prorated_charges_stays_within_half_a_unit_a_month(price in 1i64..10_000_000, days in proptest::collection::vec(1i64..31, 12)) {
            // Each month charged for a part of it: the rounded charges differ from the exact
            // rational sum by at most half a minor unit per month (no systematic drift).
            let rounded: i64 = days.iter().map(|d| split_period(price, d * 86_400, 31 * 86_400).0).sum();
            let exact: i128 = days.iter().map(|d| price as i128 * *d as i128).sum();
            let diff = (rounded as i128 * 31 - exact).abs();
            prop_assert!(diff * 2 <= 12 * 31, "rounded {} exact {}/31", rounded, exact);
        }
    }
}
