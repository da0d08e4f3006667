//! Billing reports, served from aggregates the money transactions maintain (never by reading every
//! invoice): collections per local day (by method, collector and operator), revenue per local
//! month (by package), and what open invoices owe per due date (aged at request time). Each
//! aggregate is write-sharded ([`keys::REPORT_SHARDS`]); a transaction adds to one shard.

use crate::App;
use crate::support::{StoreResultExt, store_err};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use domain::actor::Actor;
use domain::billing::mul_div;
use domain::cycle::{local_date, parse_tz};
use domain::invoice::Invoice;
use domain::payment::Payment;
use domain::role::Permission;
use domain::tenant::Tenant;
use domain::user::scope_chain;
use domain::{Error, Result};
use rand::Rng;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use store::{Conflict, Item, Query, StoreError, Tx, keys};
use uuid::Uuid;

const ITEM: &str = "REPORT";

/// One random shard per transaction: concurrent transactions spread over the shards, and one
/// transaction that moves many invoices touches few aggregate items.
fn shard(tx: &mut Tx) -> u8 {
    tx.aggregate_shard(|| rand::thread_rng().gen_range(0..keys::REPORT_SHARDS))
}

fn adds(pairs: Vec<(String, i64)>) -> Vec<(String, i64)> {
    pairs.into_iter().filter(|(_, v)| *v != 0).collect()
}

fn local_day(tenant: &Tenant, at: DateTime<Utc>) -> NaiveDate {
    local_date(parse_tz(&tenant.time_zone), at)
}

// ---- written with the money -----------------------------------------------------------------

fn scoped_dues(scope: &str) -> String {
    format!("amount#scope#{scope}")
}

/// What an invoice still owes moves from `before` to `inv` (by the ISP's local due date; only
/// while open).
pub fn stage_dues(tx: &mut Tx, tenant: &Tenant, before: Option<&Invoice>, inv: &Invoice) {
    let owed = |i: &Invoice| i.due_date.filter(|_| i.status.is_open()).map(|d| (local_day(tenant, d), i.amount_due));
    let mut by_day: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    if let Some((d, a)) = before.and_then(owed) {
        *by_day.entry(d).or_default() -= a;
    }
    if let Some((d, a)) = owed(inv) {
        *by_day.entry(d).or_default() += a;
    }
    // An operator's dues are its subtree's part of the same items (`amount#scope#<path>`): the
    // daily clean-up of settled dates covers them too, since every invoice owes zero or more.
    let scopes = inv.scope.as_deref().map(scope_chain).unwrap_or_default();
    for (day, delta) in by_day.into_iter().filter(|(_, d)| *d != 0) {
        let shard = shard(tx);
        let k = keys::dues_day(inv.tenant_id, &day.to_string(), shard);
        let mut adds = vec![("amount".to_string(), delta)];
        adds.extend(scopes.iter().map(|s| (scoped_dues(s), delta)));
        tx.add_counters(&k, ITEM, &adds);
    }
}

/// An invoice counts in the revenue of the month it is issued (`sign` 1), and leaves the month
/// it is voided in (`sign` -1): net of tax, per package (`other` for manual lines).
pub fn stage_revenue(tx: &mut Tx, tenant: &Tenant, inv: &Invoice, sign: i64, at: DateTime<Utc>) {
    let month = local_day(tenant, at).format("%Y-%m").to_string();
    let mut a = vec![
        ("net".to_string(), sign * (inv.total - inv.tax)),
        ("tax".to_string(), sign * inv.tax),
        ("invoices".to_string(), sign),
    ];
    for l in &inv.lines {
        let key = l.package_id.map(|p| p.to_string()).unwrap_or_else(|| "other".into());
        a.push((format!("net#package#{key}"), sign * (l.total - l.tax)));
    }
    let k = keys::revenue_month(tenant.id, &month, shard(tx));
    tx.add_counters(&k, ITEM, &adds(a));
}

/// A credit note takes its amount off the month's revenue (its tax share off the tax).
pub fn stage_credit_note(tx: &mut Tx, tenant: &Tenant, inv: &Invoice, amount: i64, at: DateTime<Utc>) {
    let month = local_day(tenant, at).format("%Y-%m").to_string();
    let tax = if inv.total > 0 { mul_div(amount, inv.tax, inv.total) } else { 0 };
    let a = vec![("net".to_string(), -(amount - tax)), ("tax".to_string(), -tax), ("credited".to_string(), amount)];
    let k = keys::revenue_month(tenant.id, &month, shard(tx));
    tx.add_counters(&k, ITEM, &adds(a));
}

/// A payment counts on the local day it was received: in total, by method, collector, operator.
/// The collections a payment or refund of a customer owned at `scope` counts in: the ISP's, and
/// each operator subtree's it lies within.
fn collection_scopes(scope: Option<&str>) -> Vec<Option<&str>> {
    std::iter::once(None).chain(scope.map(scope_chain).unwrap_or_default().into_iter().map(Some)).collect()
}

pub fn stage_collection(tx: &mut Tx, tenant: &Tenant, p: &Payment) {
    let day = local_day(tenant, p.received_at).to_string();
    let operator = p.operator_id.map(|o| o.to_string()).unwrap_or_else(|| "direct".into());
    let mut a = vec![];
    for dim in [
        "".to_string(),
        format!("#method#{}", p.method.as_str()),
        format!("#collector#{}", p.collected_by),
        format!("#operator#{operator}"),
    ] {
        a.push((format!("amount{dim}"), p.amount));
        a.push((format!("count{dim}"), 1));
    }
    let shard = shard(tx);
    for scope in collection_scopes(p.scope.as_deref()) {
        tx.add_counters(&keys::collections_day(tenant.id, scope, &day, shard), ITEM, &a);
    }
}

/// Commissions count in the local month they were earned: in total and per earner's path.
pub fn stage_commissions(tx: &mut Tx, tenant: &Tenant, earned: &[domain::commission::Earning], at: DateTime<Utc>) {
    let month = local_day(tenant, at).format("%Y-%m").to_string();
    let mut a = vec![];
    for e in earned {
        // A commission taken back (negative) lowers the amount, not the count of payments.
        let n = i64::from(e.amount > 0);
        a.push(("amount".to_string(), e.amount));
        a.push(("count".to_string(), n));
        a.push((format!("amount#op#{}", e.path), e.amount));
        a.push((format!("count#op#{}", e.path), n));
    }
    let k = keys::commissions_month(tenant.id, &month, shard(tx));
    tx.add_counters(&k, ITEM, &adds(a));
}

/// Money paid back out to a customer owned at `scope`, on the day it left.
pub fn stage_refund(tx: &mut Tx, tenant: &Tenant, scope: Option<&str>, amount: i64, at: DateTime<Utc>) {
    let day = local_day(tenant, at).to_string();
    let shard = shard(tx);
    for scope in collection_scopes(scope) {
        tx.add_counters(&keys::collections_day(tenant.id, scope, &day, shard), ITEM, &[("refunds".into(), amount)]);
    }
}

// ---- read ------------------------------------------------------------------------------------

/// The number attributes of an aggregate item.
pub(crate) fn numbers(item: &Item) -> BTreeMap<String, i64> {
    item.iter().filter_map(|(k, v)| v.as_n().ok().and_then(|n| n.parse::<i64>().ok()).map(|n| (k.clone(), n))).collect()
}

/// What the whole ISP collected in its local month `month` (`YYYY-MM`): the amount, and by method
/// (one Query of the month's day aggregates).
pub(crate) async fn month_collections(app: &App, tid: Uuid, month: &str) -> Result<(i64, BTreeMap<String, i64>)> {
    let days = sum_periods(app, keys::collections_month_pk(tid, None, month), "0", "9").await?;
    let (mut amount, mut by) = (0, BTreeMap::new());
    for acc in days.values() {
        for (k, v) in acc {
            match k.strip_prefix("amount#method#") {
                Some(m) => *by.entry(m.to_string()).or_default() += v,
                None if k == "amount" => amount += v,
                None => {}
            }
        }
    }
    Ok((amount, by))
}

/// Every aggregate item of `pk` with a sort key in `lo..=hi~` (shards summed per period).
async fn sum_periods(app: &App, pk: String, lo: &str, hi: &str) -> Result<BTreeMap<String, BTreeMap<String, i64>>> {
    let q = Query::table(pk).range(Some(lo.to_string()), format!("{hi}~")).limit(500);
    let raw = app.store.query_all_items(q, 100_000).await.or_500()?;
    let mut out: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for item in raw {
        let sk = store::string_attr(&item, "sk").unwrap_or_default();
        let period = sk.split('#').next().unwrap_or_default().to_string();
        let acc = out.entry(period).or_default();
        for (k, v) in numbers(&item) {
            if k != "v" {
                *acc.entry(k).or_default() += v;
            }
        }
    }
    Ok(out)
}

/// Whose figures a report shows: the whole ISP's (`None`), or an operator's or sub-operator's own
/// subtree's.
pub fn reader(actor: &Actor) -> Result<(Uuid, Option<String>)> {
    actor.require(Permission::ReportsRead)?;
    let tid = actor.tenant()?;
    Ok((tid, actor.confinement()?.map(str::to_string)))
}

/// The revenue report is the ISP's as a whole.
pub fn whole_isp_reader(actor: &Actor) -> Result<Uuid> {
    match reader(actor)? {
        (tid, None) => Ok(tid),
        _ => Err(Error::forbidden("revenue covers the whole ISP")),
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Amount {
    /// A method, a collector's user id, an operator's id (`direct`: the ISP's own customers), a
    /// package id (`other`: manual lines) or a date.
    pub key: String,
    pub amount: i64,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CollectionsReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub currency: String,
    pub amount: i64,
    pub count: i64,
    pub refunds: i64,
    pub by_day: Vec<Amount>,
    pub by_method: Vec<Amount>,
    pub by_collector: Vec<Amount>,
    pub by_operator: Vec<Amount>,
}

fn dimension(acc: &BTreeMap<String, i64>, dim: &str) -> Vec<Amount> {
    let prefix = format!("amount#{dim}#");
    acc.iter()
        .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|key| (key.to_string(), *v)))
        .map(|(key, amount)| Amount {
            count: acc.get(&format!("count#{dim}#{key}")).copied().unwrap_or(0),
            key,
            amount,
        })
        .collect()
}

fn months(from: NaiveDate, to: NaiveDate) -> Vec<String> {
    let mut out = vec![];
    let mut d = from.with_day(1).expect("day 1");
    while d <= to {
        out.push(d.format("%Y-%m").to_string());
        d = d.checked_add_months(chrono::Months::new(1)).expect("in range");
    }
    out
}

/// Collections from `from` to `to` (local dates, at most 366 days; default: this month).
pub async fn collections(
    app: &App,
    actor: &Actor,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<CollectionsReport> {
    let (tid, scope) = reader(actor)?;
    let t = crate::support::load_tenant(app, tid).await?;
    let today = local_day(&t, app.now());
    let to = to.unwrap_or(today);
    let from = from.unwrap_or_else(|| to.with_day(1).expect("day 1"));
    if from > to || (to - from).num_days() > 366 {
        return Err(Error::field("from", "must be on or before `to`, at most 366 days before it"));
    }
    // One Query per month partition, all at once (a year's report waits for one round trip).
    let (lo, hi) = (from.to_string(), to.to_string());
    let per_month = futures::future::try_join_all(
        months(from, to)
            .into_iter()
            .map(|m| sum_periods(app, keys::collections_month_pk(tid, scope.as_deref(), &m), &lo, &hi)),
    )
    .await?;
    let days: BTreeMap<String, BTreeMap<String, i64>> = per_month.into_iter().flatten().collect();
    let mut total: BTreeMap<String, i64> = BTreeMap::new();
    for acc in days.values() {
        for (k, v) in acc {
            *total.entry(k.clone()).or_default() += v;
        }
    }
    Ok(CollectionsReport {
        from,
        to,
        currency: t.currency,
        amount: total.get("amount").copied().unwrap_or(0),
        count: total.get("count").copied().unwrap_or(0),
        refunds: total.get("refunds").copied().unwrap_or(0),
        by_day: days
            .iter()
            .map(|(d, acc)| Amount {
                key: d.clone(),
                amount: acc.get("amount").copied().unwrap_or(0),
                count: acc.get("count").copied().unwrap_or(0),
            })
            .collect(),
        by_method: dimension(&total, "method"),
        by_collector: dimension(&total, "collector"),
        by_operator: dimension(&total, "operator"),
    })
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RevenueMonth {
    /// `2026-12`.
    pub month: String,
    pub net: i64,
    pub tax: i64,
    pub invoices: i64,
    /// Taken off by credit notes (with tax).
    pub credited: i64,
    pub by_package: Vec<PackageRevenue>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PackageRevenue {
    /// A package id, or `other` for manual lines.
    pub package: String,
    pub name: Option<String>,
    pub net: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RevenueReport {
    pub currency: String,
    pub months: Vec<RevenueMonth>,
}

fn parse_month(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d").ok()
}

/// The months a monthly report covers: `from` to `to` (`2026-01`; at most 24 months; default:
/// the last 12 to this local month).
fn month_span(t: &Tenant, now: DateTime<Utc>, from: Option<&str>, to: Option<&str>) -> Result<(NaiveDate, NaiveDate)> {
    let month = |s: Option<&str>, field: &str| -> Result<Option<NaiveDate>> {
        s.map(|s| parse_month(s).ok_or_else(|| Error::field(field, "must be a month like 2026-12"))).transpose()
    };
    let this = local_day(t, now).with_day(1).expect("day 1");
    let to = month(to, "to")?.unwrap_or(this);
    let from =
        month(from, "from")?.unwrap_or_else(|| to.checked_sub_months(chrono::Months::new(11)).expect("in range"));
    if from > to || to.checked_sub_months(chrono::Months::new(24)).is_some_and(|l| from < l) {
        return Err(Error::field("from", "must be on or before `to`, at most 24 months before it"));
    }
    Ok((from, to))
}

/// The names of the things a report names (packages, operators), read at once by id.
async fn names_of(
    app: &App,
    mut ids: Vec<Uuid>,
    key: impl Fn(Uuid) -> store::ItemKeys,
) -> Result<BTreeMap<String, String>> {
    ids.sort();
    ids.dedup();
    let ks: Vec<store::ItemKeys> = ids.into_iter().map(key).collect();
    Ok(app
        .store
        .batch_get_many(&ks.iter().collect::<Vec<_>>())
        .await
        .or_500()?
        .into_iter()
        .flatten()
        .filter_map(|i| Some((store::string_attr(&i, "id")?, store::string_attr(&i, "name")?)))
        .collect())
}

/// A monthly aggregate's months from `from` to `to`, read from its yearly partitions.
async fn sum_months(
    app: &App,
    from: NaiveDate,
    to: NaiveDate,
    year_pk: impl Fn(&str) -> String,
) -> Result<BTreeMap<String, BTreeMap<String, i64>>> {
    let (lo, hi) = (from.format("%Y-%m").to_string(), to.format("%Y-%m").to_string());
    let years: Vec<String> = (from.year()..=to.year()).map(|y| y.to_string()).collect();
    let parts = futures::future::try_join_all(years.iter().map(|y| sum_periods(app, year_pk(y), &lo, &hi))).await?;
    Ok(parts.into_iter().flatten().collect())
}

/// Revenue by month and package from `from` to `to` (`2026-01`; at most 24 months; default: the
/// last 12).
pub async fn revenue(app: &App, actor: &Actor, from: Option<&str>, to: Option<&str>) -> Result<RevenueReport> {
    let tid = whole_isp_reader(actor)?;
    let t = crate::support::load_tenant(app, tid).await?;
    let (from, to) = month_span(&t, app.now(), from, to)?;
    let by_month = sum_months(app, from, to, |year| keys::revenue_year_pk(tid, year)).await?;
    // Package names, read once (an ISP has tens of packages).
    let ids: Vec<Uuid> = by_month
        .values()
        .flat_map(|acc| acc.keys().filter_map(|k| k.strip_prefix("net#package#")).filter_map(|p| p.parse().ok()))
        .collect();
    let names = names_of(app, ids, |p| keys::package(tid, p, "")).await?;
    Ok(RevenueReport {
        currency: t.currency,
        months: by_month
            .into_iter()
            .map(|(month, acc)| RevenueMonth {
                net: acc.get("net").copied().unwrap_or(0),
                tax: acc.get("tax").copied().unwrap_or(0),
                invoices: acc.get("invoices").copied().unwrap_or(0),
                credited: acc.get("credited").copied().unwrap_or(0),
                by_package: acc
                    .iter()
                    .filter_map(|(k, v)| k.strip_prefix("net#package#").map(|p| (p.to_string(), *v)))
                    .map(|(package, net)| PackageRevenue { name: names.get(&package).cloned(), package, net })
                    .collect(),
                month,
            })
            .collect(),
    })
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OperatorCommission {
    pub operator_id: Uuid,
    /// Its place in the ISP (`op` or `op/sub`).
    pub path: String,
    pub level: domain::commission::Level,
    pub name: Option<String>,
    pub amount: i64,
    /// Payments it earned on.
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CommissionMonth {
    /// `2026-12`.
    pub month: String,
    pub amount: i64,
    pub by_operator: Vec<OperatorCommission>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CommissionReport {
    pub currency: String,
    pub months: Vec<CommissionMonth>,
}

/// Commissions earned per local month and operator from `from` to `to` (`2026-01`; at most 24
/// months; default: the last 12): the whole ISP's, or an operator's own subtree's.
pub async fn commissions(app: &App, actor: &Actor, from: Option<&str>, to: Option<&str>) -> Result<CommissionReport> {
    let (tid, scope) = reader(actor)?;
    let t = crate::support::load_tenant(app, tid).await?;
    let (from, to) = month_span(&t, app.now(), from, to)?;
    let by_month = sum_months(app, from, to, |year| keys::commissions_year_pk(tid, year)).await?;
    let seen = |path: &str| scope.as_deref().is_none_or(|s| domain::user::in_subtree(Some(path), s));
    let ids: Vec<Uuid> = by_month
        .values()
        .flat_map(|acc| acc.keys().filter_map(|k| k.strip_prefix("amount#op#")))
        .filter(|p| seen(p))
        .filter_map(|p| p.rsplit('/').next().and_then(|id| id.parse().ok()))
        .collect();
    let names = names_of(app, ids, |id| keys::user(Some(tid), id)).await?;
    let months = by_month
        .into_iter()
        .map(|(month, acc)| {
            let by_operator: Vec<OperatorCommission> = acc
                .iter()
                .filter_map(|(k, v)| k.strip_prefix("amount#op#").map(|p| (p, *v)))
                .filter(|(p, v)| seen(p) && *v != 0)
                .filter_map(|(path, amount)| {
                    let id = path.rsplit('/').next()?;
                    Some(OperatorCommission {
                        operator_id: id.parse().ok()?,
                        path: path.to_string(),
                        level: if domain::user::operators_on(path).len() > 1 {
                            domain::commission::Level::SubOperator
                        } else {
                            domain::commission::Level::Operator
                        },
                        name: names.get(id).cloned(),
                        amount,
                        count: acc.get(&format!("count#op#{path}")).copied().unwrap_or(0),
                    })
                })
                .collect();
            CommissionMonth { amount: by_operator.iter().map(|o| o.amount).sum(), by_operator, month }
        })
        .collect();
    Ok(CommissionReport { currency: t.currency, months })
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DuesReport {
    pub as_of: DateTime<Utc>,
    pub currency: String,
    pub total: i64,
    /// Not due yet.
    pub current: i64,
    pub days_0_30: i64,
    pub days_31_60: i64,
    pub days_61_90: i64,
    pub days_over_90: i64,
}

/// A past local due date whose dues shards add up to nothing (every invoice due then was paid,
/// credited or voided), with each shard's amount as read.
#[derive(Debug, Clone)]
pub struct SettledDuesDay {
    pub day: String,
    pub shards: Vec<(u8, i64)>,
}

/// The past local due dates of the dues aggregate that owe nothing any more.
pub async fn settled_dues_days(app: &App, tenant: &Tenant, now: DateTime<Utc>) -> Result<Vec<SettledDuesDay>> {
    let today = local_day(tenant, now).to_string();
    let q = Query::table(keys::dues_pk(tenant.id)).range(Some("0".into()), today).limit(500);
    let raw = app.store.query_all_items(q, 100_000).await.or_500()?;
    let mut days: BTreeMap<String, Vec<(u8, i64)>> = BTreeMap::new();
    for item in &raw {
        let sk = store::string_attr(item, "sk").unwrap_or_default();
        let Some((day, shard)) = sk.split_once('#') else { continue };
        let Ok(shard) = shard.parse::<u8>() else { continue };
        let amount = numbers(item).get("amount").copied().unwrap_or(0);
        days.entry(day.to_string()).or_default().push((shard, amount));
    }
    Ok(days
        .into_iter()
        .filter(|(_, s)| s.iter().map(|(_, a)| a).sum::<i64>() == 0)
        .map(|(day, shards)| SettledDuesDay { day, shards })
        .collect())
}

/// Deletes a settled day's shards in one transaction, each only while still at the amount read:
/// an add since the read fails it (false: the next run tries again), and an add after it creates
/// the item anew. What is deleted adds up to zero, so no total moves.
pub async fn drop_settled_dues_day(app: &App, tid: Uuid, settled: &SettledDuesDay) -> Result<bool> {
    let mut tx = Tx::new();
    for (shard, amount) in &settled.shards {
        let values = HashMap::from([(":a".to_string(), AttributeValue::N(amount.to_string()))]);
        let cond = if *amount == 0 { "attribute_not_exists(amount) OR amount = :a" } else { "amount = :a" };
        tx.delete_if(&keys::dues_day(tid, &settled.day, *shard), cond, values, Conflict::Version);
    }
    match app.store.commit(tx).await {
        Ok(()) => Ok(true),
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(e) => Err(store_err(e)),
    }
}

/// Removes the past due dates that owe nothing from the dues aggregate, so the dues report reads
/// only dates that still owe (run by the daily dunning). Returns the dates removed.
pub async fn compact_dues(app: &App, tenant: &Tenant, now: DateTime<Utc>) -> Result<usize> {
    let mut removed = 0;
    for settled in settled_dues_days(app, tenant, now).await? {
        removed += usize::from(drop_settled_dues_day(app, tenant.id, &settled).await?);
    }
    Ok(removed)
}

/// A receivables aging bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aging {
    Current,
    Days0To30,
    Days31To60,
    Days61To90,
    Over90,
}

/// How late a debt due on `due` is on `today`, both the ISP's local dates: due today is not late
/// yet; the first day after it starts "0-30".
fn aging_bucket(due: NaiveDate, today: NaiveDate) -> Aging {
    match (today - due).num_days() {
        ..=0 => Aging::Current,
        1..=30 => Aging::Days0To30,
        31..=60 => Aging::Days31To60,
        61..=90 => Aging::Days61To90,
        _ => Aging::Over90,
    }
}

/// What open invoices owe (the whole ISP's, or the caller's subtree's), aged by how far past their
/// (local) due date they are today.
pub async fn dues(app: &App, actor: &Actor) -> Result<DuesReport> {
    let (tid, scope) = reader(actor)?;
    let field = scope.as_deref().map(scoped_dues).unwrap_or_else(|| "amount".into());
    let t = crate::support::load_tenant(app, tid).await?;
    let now = app.now();
    let today = local_day(&t, now);
    let days = sum_periods(app, keys::dues_pk(tid), "0", "9").await?;
    let mut r = DuesReport {
        as_of: now,
        currency: t.currency,
        total: 0,
        current: 0,
        days_0_30: 0,
        days_31_60: 0,
        days_61_90: 0,
        days_over_90: 0,
    };
    for (day, acc) in days {
        let amount = acc.get(&field).copied().unwrap_or(0);
        let Ok(due) = day.parse::<NaiveDate>() else { continue };
        r.total += amount;
        let bucket = match aging_bucket(due, today) {
            Aging::Current => &mut r.current,
            Aging::Days0To30 => &mut r.days_0_30,
            Aging::Days31To60 => &mut r.days_31_60,
            Aging::Days61To90 => &mut r.days_61_90,
            Aging::Over90 => &mut r.days_over_90,
        };
        *bucket += amount;
    }
    Ok(r)
}

// ---- CSV -------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn aging_counts_whole_local_days_past_the_due_date() {
        let due = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        let on = |m: u32, d: u32| aging_bucket(due, NaiveDate::from_ymd_opt(2026, m, d).unwrap());
        assert_eq!(on(12, 1), Aging::Current);
        assert_eq!(on(12, 5), Aging::Current, "due today is not late yet");
        assert_eq!(on(12, 6), Aging::Days0To30);
        assert_eq!(on(12, 31), Aging::Days0To30);
        assert_eq!(aging_bucket(due, due + Duration::days(30)), Aging::Days0To30);
        assert_eq!(aging_bucket(due, due + Duration::days(31)), Aging::Days31To60);
        assert_eq!(aging_bucket(due, due + Duration::days(60)), Aging::Days31To60);
        assert_eq!(aging_bucket(due, due + Duration::days(61)), Aging::Days61To90);
        assert_eq!(aging_bucket(due, due + Duration::days(90)), Aging::Days61To90);
        assert_eq!(aging_bucket(due, due + Duration::days(91)), Aging::Over90);
    }
}
