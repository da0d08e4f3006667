//! Platform analytics: what the platform owner and its resellers see of the platform as a
//! business, from aggregates written beside the money and the counters (never by reading ISPs'
//! data when asked): the platform's revenue per month (written in the transaction that settles a
//! reseller's purchase), and a snapshot per ISP per month of its dashboard counters and its
//! month's collections, summed per month for the platform and per reseller (taken daily by
//! `job-platform-stats`; a view reads one item a month, whatever the number of ISPs). Months are UTC calendar months
//! (`2026-12`); an ISP's own figures in them (new customers, collections) are of its local month of
//! the same name.

use crate::tenant::TenantStatus;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// The most months one answer covers.
pub const MAX_MONTHS: usize = 24;

/// Customers of an ISP by status (its dashboard's counters).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustomerTally {
    pub new: i64,
    pub active: i64,
    pub suspended: i64,
    pub inactive: i64,
}

impl CustomerTally {
    /// Subscribers: every customer not (yet or any more) inactive.
    pub fn subscribers(&self) -> i64 {
        self.new + self.active + self.suspended
    }
}

/// One ISP in one month, as last snapshotted in it (the month's last snapshot is its month-end).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IspMonth {
    pub month: String,
    pub tenant_id: Uuid,
    pub name: String,
    pub reseller_id: Option<Uuid>,
    pub status: TenantStatus,
    pub created_at: DateTime<Utc>,
    pub customers: CustomerTally,
    /// Customers added in the month.
    pub new_customers: i64,
    pub currency: String,
    /// Money collected from subscribers in the month (minor units), and by method or gateway.
    pub collected: i64,
    pub collected_by_method: BTreeMap<String, i64>,
    pub as_of: DateTime<Utc>,
}

/// The platform's own revenue in a month: resellers' purchases (ISP slots, renewals), per
/// currency, with its counters as stored (`revenue#<cur>`, `revenue#<cur>#gw#<gateway>`,
/// `revenue#<cur>#rs#<reseller>`, `slots`, `slots#rs#<reseller>`, `months`, `months#rs#..`,
/// `purchases`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevenueMonth {
    pub counters: BTreeMap<String, i64>,
}

/// The counters one paid purchase adds to its month's revenue.
pub fn revenue_counters(
    currency: &str,
    amount: i64,
    gateway: &str,
    reseller: Uuid,
    slots: u32,
    months: u32,
) -> Vec<(String, i64)> {
    let cur = currency.to_uppercase();
    vec![
        (format!("revenue#{cur}"), amount),
        (format!("revenue#{cur}#gw#{gateway}"), amount),
        (format!("revenue#{cur}#rs#{reseller}"), amount),
        ("slots".into(), i64::from(slots)),
        (format!("slots#rs#{reseller}"), i64::from(slots)),
        ("months".into(), i64::from(months)),
        (format!("months#rs#{reseller}"), i64::from(months)),
        ("purchases".into(), 1),
        (format!("purchases#rs#{reseller}"), 1),
    ]
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Money {
    pub currency: String,
    pub amount: i64,
    /// By gateway (revenue) or by method (collections: cash, bkash, stripe, ...).
    pub by: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IspFigures {
    /// ISPs on the platform at the month's end (any status).
    pub total: i64,
    pub active: i64,
    /// Created in the month.
    pub new: i64,
    /// Active at the previous month's end, suspended or gone at this one's.
    pub churned: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubscriberFigures {
    /// At the month's end: customers not inactive.
    pub total: i64,
    pub active: i64,
    pub new: i64,
    /// Subscribers lost in the month: per ISP, what it had, plus what it added, less what it has
    /// (at least 0); an ISP gone loses all it had.
    pub lost: i64,
    /// `lost` per 10,000 subscribers at the previous month's end.
    pub churn_rate_bps: i64,
}

/// One month of the platform (or of one reseller's part of it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MonthFigures {
    pub month: String,
    pub isps: IspFigures,
    pub subscribers: SubscriberFigures,
    /// What the ISPs collected from their subscribers, per currency.
    pub collected: Vec<Money>,
    /// The platform's revenue from resellers' purchases, per currency, by gateway.
    pub revenue: Vec<Money>,
    pub slots_sold: i64,
    pub months_sold: i64,
    pub purchases: i64,
}

/// A month's figures as the snapshot job summed them: the whole platform's and each reseller's
/// (`none`: ISPs without one), revenue left out (it is counted live, beside them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthSummary {
    pub month: String,
    pub all: MonthFigures,
    pub resellers: BTreeMap<String, MonthFigures>,
    pub as_of: Option<DateTime<Utc>>,
}

/// The key of a reseller's figures in a [`MonthSummary`].
pub fn reseller_key(reseller: Option<Uuid>) -> String {
    reseller.map(|r| r.to_string()).unwrap_or_else(|| "none".into())
}

/// Sums a month's ISP snapshots (and the previous month's) for the platform and per reseller.
pub fn summarize_month(month: &str, prev: &[IspMonth], this: &[IspMonth], as_of: DateTime<Utc>) -> MonthSummary {
    let none = RevenueMonth::default();
    let resellers: BTreeSet<Option<Uuid>> = prev.iter().chain(this).map(|i| i.reseller_id).collect();
    let of = |r: Option<Uuid>, list: &[IspMonth]| -> Vec<IspMonth> {
        list.iter().filter(|i| i.reseller_id == r).cloned().collect()
    };
    MonthSummary {
        month: month.to_string(),
        all: summarize(month, prev, this, &none, None),
        resellers: resellers
            .into_iter()
            .map(|r| (reseller_key(r), summarize(month, &of(r, prev), &of(r, this), &none, None)))
            .collect(),
        as_of: Some(as_of),
    }
}

/// The month a time falls in (UTC), `2026-12`.
pub fn month_of(at: DateTime<Utc>) -> String {
    at.format("%Y-%m").to_string()
}

/// The months from `from` to `to` (`YYYY-MM`), at most [`MAX_MONTHS`]; an error names the field.
pub fn month_span(from: &str, to: &str) -> Result<Vec<String>, (&'static str, String)> {
    let parse = |field: &'static str, m: &str| {
        NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d")
            .ok()
            .filter(|_| m.len() == 7)
            .ok_or((field, "must be a month, e.g. 2026-12".to_string()))
    };
    let (a, b) = (parse("from", from)?, parse("to", to)?);
    if a > b {
        return Err(("from", "must be on or before `to`".into()));
    }
    let mut out = vec![];
    let mut m = a;
    while m <= b {
        if out.len() == MAX_MONTHS {
            return Err(("from", format!("at most {MAX_MONTHS} months at a time")));
        }
        out.push(m.format("%Y-%m").to_string());
        m = m.checked_add_months(chrono::Months::new(1)).expect("a month later");
    }
    Ok(out)
}

/// The month before `m` (`2026-01` -> `2025-12`).
pub fn previous_month(m: &str) -> String {
    NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.checked_sub_months(chrono::Months::new(1)))
        .map(|d| d.format("%Y-%m").to_string())
        .unwrap_or_default()
}

/// The default span: the twelve months up to `now`'s.
pub fn default_span(now: DateTime<Utc>) -> (String, String) {
    let to = now.date_naive().with_day(1).expect("day 1");
    let from = to.checked_sub_months(chrono::Months::new(11)).expect("a year back");
    (from.format("%Y-%m").to_string(), to.format("%Y-%m").to_string())
}

fn add_money(list: &mut Vec<Money>, currency: &str, amount: i64, by: &BTreeMap<String, i64>) {
    let i = match list.iter().position(|m| m.currency == currency) {
        Some(i) => i,
        None => {
            list.push(Money { currency: currency.to_string(), ..Default::default() });
            list.len() - 1
        }
    };
    list[i].amount += amount;
    for (k, v) in by {
        *list[i].by.entry(k.clone()).or_default() += v;
    }
}

/// The platform's revenue of a month from its counters, all of it (`reseller` None) or one
/// reseller's: (money per currency by gateway, slots, months, purchases).
pub fn revenue_of(r: &RevenueMonth, reseller: Option<Uuid>) -> (Vec<Money>, i64, i64, i64) {
    let mut money = vec![];
    let suffix = |base: &str| match reseller {
        Some(rid) => format!("{base}#rs#{rid}"),
        None => base.to_string(),
    };
    let currencies: BTreeSet<&str> = r
        .counters
        .keys()
        .filter_map(|k| k.strip_prefix("revenue#"))
        .map(|rest| rest.split('#').next().unwrap_or(rest))
        .collect();
    for cur in currencies {
        let amount = r.counters.get(&suffix(&format!("revenue#{cur}"))).copied().unwrap_or(0);
        if amount == 0 {
            continue;
        }
        // By gateway only for the whole platform (a reseller's purchases are its own list).
        let by = match reseller {
            None => r
                .counters
                .iter()
                .filter_map(|(k, v)| k.strip_prefix(&format!("revenue#{cur}#gw#")).map(|g| (g.to_string(), *v)))
                .collect(),
            Some(_) => BTreeMap::new(),
        };
        add_money(&mut money, cur, amount, &by);
    }
    let get = |k: &str| r.counters.get(&suffix(k)).copied().unwrap_or(0);
    (money, get("slots"), get("months"), get("purchases"))
}

/// A month's figures from its ISP snapshots, the previous month's, and its revenue.
pub fn summarize(
    month: &str,
    prev: &[IspMonth],
    this: &[IspMonth],
    revenue: &RevenueMonth,
    reseller: Option<Uuid>,
) -> MonthFigures {
    let before: BTreeMap<Uuid, &IspMonth> = prev.iter().map(|i| (i.tenant_id, i)).collect();
    let now: BTreeMap<Uuid, &IspMonth> = this.iter().map(|i| (i.tenant_id, i)).collect();
    let mut f = MonthFigures { month: month.to_string(), ..Default::default() };
    for i in this {
        f.isps.total += 1;
        f.isps.active += i64::from(i.status == TenantStatus::Active);
        f.isps.new += i64::from(month_of(i.created_at) == month);
        f.subscribers.total += i.customers.subscribers();
        f.subscribers.active += i.customers.active;
        f.subscribers.new += i.new_customers;
        let had = before.get(&i.tenant_id).map(|p| p.customers.subscribers()).unwrap_or(0);
        f.subscribers.lost += (had + i.new_customers - i.customers.subscribers()).max(0);
        add_money(&mut f.collected, &i.currency, i.collected, &i.collected_by_method);
    }
    for p in prev {
        let gone = !now.contains_key(&p.tenant_id);
        if gone {
            f.subscribers.lost += p.customers.subscribers();
        }
        let still_active = now.get(&p.tenant_id).is_some_and(|i| i.status == TenantStatus::Active);
        f.isps.churned += i64::from(p.status == TenantStatus::Active && !still_active);
    }
    let base: i64 = prev.iter().map(|p| p.customers.subscribers()).sum();
    f.subscribers.churn_rate_bps = if base > 0 { f.subscribers.lost * 10_000 / base } else { 0 };
    let (money, slots, months, purchases) = revenue_of(revenue, reseller);
    (f.revenue, f.slots_sold, f.months_sold, f.purchases) = (money, slots, months, purchases);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn isp(id: u128, month: &str, subs: (i64, i64, i64, i64), new: i64, status: TenantStatus) -> IspMonth {
        IspMonth {
            month: month.into(),
            tenant_id: Uuid::from_u128(id),
            name: format!("ISP {id}"),
            reseller_id: None,
            status,
            created_at: "2026-01-10T00:00:00Z".parse().unwrap(),
            customers: CustomerTally { new: subs.0, active: subs.1, suspended: subs.2, inactive: subs.3 },
            new_customers: new,
            currency: "BDT".into(),
            collected: 1_000,
            collected_by_method: BTreeMap::from([("bkash".into(), 600), ("cash".into(), 400)]),
            as_of: "2026-02-28T00:30:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn churn_counts_each_isps_losses_and_growth_elsewhere_does_not_hide_them() {
        use TenantStatus::*;
        let prev = vec![isp(1, "2026-01", (0, 100, 0, 0), 100, Active), isp(2, "2026-01", (0, 50, 0, 0), 50, Active)];
        // ISP 1 added 10 and lost 20 (90 left); ISP 2 grew by 30 and lost none; ISP 3 is new.
        let this = vec![
            isp(1, "2026-02", (0, 85, 5, 20), 10, Active),
            isp(2, "2026-02", (10, 70, 0, 0), 30, Active),
            isp(3, "2026-02", (0, 5, 0, 0), 5, Active),
        ];
        let f = summarize("2026-02", &prev, &this, &RevenueMonth::default(), None);
        assert_eq!((f.subscribers.total, f.subscribers.active, f.subscribers.new), (175, 160, 45));
        assert_eq!(f.subscribers.lost, 20, "net growth of 25 does not hide ISP 1's 20 lost");
        assert_eq!(f.subscribers.churn_rate_bps, 20 * 10_000 / 150);
        assert_eq!((f.isps.total, f.isps.active, f.isps.churned), (3, 3, 0));
        assert_eq!(
            f.collected,
            vec![Money {
                currency: "BDT".into(),
                amount: 3_000,
                by: BTreeMap::from([("bkash".into(), 1_800), ("cash".into(), 1_200)])
            }]
        );
        // An ISP suspended churns; one gone loses all its subscribers.
        let next = vec![isp(1, "2026-03", (0, 90, 0, 20), 0, Suspended), isp(3, "2026-03", (0, 5, 0, 0), 0, Active)];
        let g = summarize("2026-03", &this, &next, &RevenueMonth::default(), None);
        assert_eq!((g.isps.churned, g.isps.total, g.isps.active), (2, 2, 1));
        assert_eq!(g.subscribers.lost, 80, "ISP 2's 80 went with it");
    }

    #[test]
    fn a_months_sums_are_the_platforms_and_each_resellers() {
        use TenantStatus::*;
        let (r1, r2) = (Uuid::from_u128(7), Uuid::from_u128(8));
        let with = |mut i: IspMonth, r: Option<Uuid>| {
            i.reseller_id = r;
            i
        };
        let prev = vec![with(isp(1, "2026-01", (0, 10, 0, 0), 10, Active), Some(r1))];
        let this = vec![
            with(isp(1, "2026-02", (0, 8, 0, 2), 0, Active), Some(r1)),
            with(isp(2, "2026-02", (0, 4, 0, 0), 4, Active), Some(r2)),
            with(isp(3, "2026-02", (1, 0, 0, 0), 1, Active), None),
        ];
        let at = "2026-02-10T00:30:00Z".parse().unwrap();
        let s = summarize_month("2026-02", &prev, &this, at);
        assert_eq!((s.all.subscribers.total, s.all.subscribers.lost, s.all.isps.total), (13, 2, 3));
        assert_eq!(s.resellers[&reseller_key(Some(r1))].subscribers.lost, 2);
        assert_eq!(s.resellers[&reseller_key(Some(r2))].subscribers.total, 4);
        assert_eq!(s.resellers["none"].isps.total, 1);
        assert_eq!(s.as_of, Some(at));
    }

    #[test]
    fn revenue_by_gateway_for_the_platform_and_by_reseller_for_each() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let mut r = RevenueMonth::default();
        for (rid, gw, amount, slots, months) in
            [(a, "stripe", 150_000, 3, 0), (b, "bkash", 200_000, 0, 1), (a, "bkash", 50_000, 1, 0)]
        {
            for (k, v) in revenue_counters("bdt", amount, gw, rid, slots, months) {
                *r.counters.entry(k).or_default() += v;
            }
        }
        let (all, slots, months, purchases) = revenue_of(&r, None);
        assert_eq!(
            all,
            vec![Money {
                currency: "BDT".into(),
                amount: 400_000,
                by: BTreeMap::from([("bkash".into(), 250_000), ("stripe".into(), 150_000)])
            }]
        );
        assert_eq!((slots, months, purchases), (4, 1, 3));
        let (mine, slots, months, purchases) = revenue_of(&r, Some(a));
        assert_eq!((mine[0].amount, slots, months, purchases), (200_000, 4, 0, 2));
        assert!(revenue_of(&r, Some(Uuid::from_u128(9))).0.is_empty());
    }

    #[test]
    fn spans_are_calendar_months_and_bounded() {
        assert_eq!(month_span("2025-11", "2026-02").unwrap(), ["2025-11", "2025-12", "2026-01", "2026-02"]);
        assert_eq!(month_span("2026-03", "2026-02").unwrap_err().0, "from");
        assert_eq!(month_span("2026-3", "2026-04").unwrap_err().0, "from");
        assert_eq!(month_span("2026-01", "nope").unwrap_err().0, "to");
        assert!(month_span("2024-01", "2025-12").is_ok());
        assert!(month_span("2024-01", "2026-01").is_err(), "25 months");
        assert_eq!(previous_month("2026-01"), "2025-12");
        let now = "2026-12-07T21:00:00Z".parse().unwrap();
        assert_eq!(default_span(now), ("2026-01".to_string(), "2026-12".to_string()));
    }
}
