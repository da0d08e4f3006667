//! Platform analytics (`domain::analytics`): the revenue counters a settled purchase adds, the
//! daily snapshot of every ISP's counters into the platform's month partitions, and the owner's
//! and a reseller's views, which read only those (never an ISP's own data).

use crate::App;
use crate::support::{StoreResultExt, decoded};
use chrono::{DateTime, Datelike, Utc};
use domain::actor::Actor;
use domain::analytics::{
    IspMonth, MonthFigures, RevenueMonth, default_span, month_of, month_span, previous_month, revenue_counters,
    revenue_of, summarize,
};
use domain::platform::PlatformReseller;
use domain::role::{Permission, Role};
use domain::tenant::{Tenant, TenantStatus};
use domain::{Error, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use store::{Query, Store, Tx, keys};
use uuid::Uuid;

// ---- write -------------------------------------------------------------------------------------

/// A reseller's paid purchase counted in its month's revenue, in the settling transaction (so a
/// purchase counts exactly once, as it is applied exactly once).
#[allow(clippy::too_many_arguments)]
pub fn stage_purchase(
    tx: &mut Tx,
    at: DateTime<Utc>,
    reseller: Uuid,
    gateway: &str,
    currency: &str,
    amount: i64,
    slots: u32,
    months: u32,
) {
    let adds = revenue_counters(currency, amount, gateway, reseller, slots, months);
    tx.add_counters(&keys::platform_revenue(&month_of(at)), "PLATFORM_REVENUE", &adds);
}

/// What a snapshot did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SnapshotReport {
    pub isps: u32,
    pub written: u32,
}

/// ISPs snapshotted at once.
const AT_ONCE: usize = 16;

/// Takes every ISP's figures of `now`'s month into the platform's month partition (and, on a
/// month's first day, the month just ended's final figures). Idempotent: a rerun rewrites the
/// same items. Reads per ISP: its dashboard counters (one Query) and its month's collections
/// (one Query); one PutItem per month written.
pub async fn snapshot(app: &App, now: DateTime<Utc>) -> Result<SnapshotReport> {
    let q = Query::index("gsi1", keys::tenants_gsi1()).limit(500);
    let tenants: Vec<Tenant> = app.store.query_all(q, 1_000_000).await.or_500()?;
    let mut months = vec![month_of(now)];
    if now.day() == 1 {
        months.push(previous_month(&months[0]));
    }
    let mut written = 0;
    for page in tenants.chunks(AT_ONCE) {
        let n = futures::future::try_join_all(page.iter().map(|t| snapshot_isp(app, t, &months, now))).await?;
        written += n.iter().sum::<u32>();
    }
    Ok(SnapshotReport { isps: tenants.len() as u32, written })
}

async fn snapshot_isp(app: &App, t: &Tenant, months: &[String], now: DateTime<Utc>) -> Result<u32> {
    let mut n = 0;
    for month in months {
        let ((customers, new_customers), (collected, by_method)) = futures::try_join!(
            super::dashboard::isp_tally(app, t.id, month),
            super::reports::month_collections(app, t.id, month)
        )?;
        let snap = IspMonth {
            month: month.clone(),
            tenant_id: t.id,
            name: t.name.clone(),
            reseller_id: t.reseller_id,
            status: t.status,
            created_at: t.created_at,
            customers,
            new_customers,
            currency: t.currency.clone(),
            collected,
            collected_by_method: by_method,
            as_of: now,
        };
        let item =
            Store::encode(&keys::isp_month_stats(month, t.id, t.reseller_id), "ISP_MONTH", &snap, None).or_500()?;
        app.store.put(item).await.or_500()?;
        n += 1;
    }
    Ok(n)
}

// ---- read --------------------------------------------------------------------------------------

/// One month partition: its ISPs' snapshots and the platform's revenue (one Query).
async fn month_partition(app: &App, month: &str) -> Result<(Vec<IspMonth>, RevenueMonth)> {
    let q = Query::table(keys::platform_stats_pk(month)).limit(1000);
    let items = app.store.query_all_items(q, 1_000_000).await.or_500()?;
    let (mut isps, mut revenue) = (vec![], RevenueMonth::default());
    for item in items {
        if store::string_attr(&item, "sk").as_deref() == Some(keys::PLATFORM_REVENUE_SK) {
            revenue.counters = numbers(&item);
        } else {
            isps.push(Store::decode(item).or_500()?);
        }
    }
    Ok((isps, revenue))
}

fn numbers(item: &store::Item) -> BTreeMap<String, i64> {
    item.iter()
        .filter(|(k, _)| k.as_str() != "v")
        .filter_map(|(k, v)| v.as_n().ok().and_then(|n| n.parse::<i64>().ok()).map(|n| (k.clone(), n)))
        .collect()
}

fn span(now: DateTime<Utc>, from: Option<&str>, to: Option<&str>) -> Result<Vec<String>> {
    let (dfrom, dto) = default_span(now);
    let to = to.map(str::to_string).unwrap_or(dto);
    let from = from.map(str::to_string).unwrap_or_else(|| if to < dfrom { to.clone() } else { dfrom });
    month_span(&from, &to).map_err(|(field, msg)| Error::field(field, msg))
}

/// A reseller's slots: how many ISPs it may have, has, and the share used.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SlotUsage {
    pub reseller_id: Uuid,
    pub name: String,
    pub isp_limit: u32,
    pub isp_count: u32,
    /// `isp_count` per 10,000 of `isp_limit`.
    pub usage_bps: u32,
    pub subscription_expires_at: DateTime<Utc>,
}

impl SlotUsage {
    fn of(r: &PlatformReseller) -> SlotUsage {
        SlotUsage {
            reseller_id: r.id,
            name: r.name.clone(),
            isp_limit: r.isp_limit,
            isp_count: r.isp_count,
            usage_bps: if r.isp_limit == 0 {
                0
            } else {
                (u64::from(r.isp_count) * 10_000 / u64::from(r.isp_limit)) as u32
            },
            subscription_expires_at: r.subscription_expires_at,
        }
    }
}

/// A reseller's part of the platform over the span.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ResellerSummary {
    #[serde(flatten)]
    pub slots: SlotUsage,
    /// Its ISPs and their subscribers at the span's last month's end.
    pub isps: i64,
    pub subscribers: i64,
    /// What it paid the platform over the span, per currency.
    pub revenue: Vec<domain::analytics::Money>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlatformAnalytics {
    pub from: String,
    pub to: String,
    pub months: Vec<MonthFigures>,
    pub resellers: Vec<ResellerSummary>,
    /// When the newest ISP snapshot in the span was taken (revenue is live).
    pub snapshot_at: Option<DateTime<Utc>>,
}

/// The platform owner's view: month by month, and per reseller.
pub async fn platform(app: &App, actor: &Actor, from: Option<&str>, to: Option<&str>) -> Result<PlatformAnalytics> {
    actor.require(Permission::PlatformResellersRead)?;
    if actor.role != Role::Developer {
        return Err(Error::forbidden("platform analytics are the platform owner's"));
    }
    let months = span(app.now(), from, to)?;
    let mut wanted = vec![previous_month(&months[0])];
    wanted.extend(months.iter().cloned());
    let q = Query::index("gsi1", keys::resellers_gsi1()).limit(500);
    let (parts, resellers): (Vec<(Vec<IspMonth>, RevenueMonth)>, Vec<PlatformReseller>) =
        futures::try_join!(futures::future::try_join_all(wanted.iter().map(|m| month_partition(app, m))), async {
            app.store.query_all(q, 100_000).await.or_500()
        })?;
    let figures: Vec<MonthFigures> =
        (1..parts.len()).map(|i| summarize(&wanted[i], &parts[i - 1].0, &parts[i].0, &parts[i].1, None)).collect();
    let last = &parts[parts.len() - 1].0;
    let resellers = resellers
        .iter()
        .map(|r| {
            let mine: Vec<&IspMonth> = last.iter().filter(|i| i.reseller_id == Some(r.id)).collect();
            let mut revenue: Vec<domain::analytics::Money> = vec![];
            for (_, rev) in &parts[1..] {
                for m in revenue_of(rev, Some(r.id)).0 {
                    match revenue.iter_mut().find(|x| x.currency == m.currency) {
                        Some(x) => x.amount += m.amount,
                        None => revenue.push(m),
                    }
                }
            }
            ResellerSummary {
                slots: SlotUsage::of(r),
                isps: mine.len() as i64,
                subscribers: mine.iter().map(|i| i.customers.subscribers()).sum(),
                revenue,
            }
        })
        .collect();
    let snapshot_at = parts.iter().flat_map(|(isps, _)| isps.iter().map(|i| i.as_of)).max();
    Ok(PlatformAnalytics {
        from: months[0].clone(),
        to: months[months.len() - 1].clone(),
        months: figures,
        resellers,
        snapshot_at,
    })
}

/// One of a reseller's ISPs at the span's last month's end.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ResellerIsp {
    pub tenant_id: Uuid,
    pub name: String,
    pub status: TenantStatus,
    pub created_at: DateTime<Utc>,
    pub customers: domain::analytics::CustomerTally,
    pub subscribers: i64,
    pub new_customers: i64,
    pub currency: String,
    pub collected: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ResellerAnalytics {
    pub from: String,
    pub to: String,
    pub slots: SlotUsage,
    /// Its ISPs' figures month by month; `revenue` is what it paid the platform.
    pub months: Vec<MonthFigures>,
    pub isps: Vec<ResellerIsp>,
    pub snapshot_at: Option<DateTime<Utc>>,
}

/// A reseller's view of its own part (the platform owner may look at any reseller's).
pub async fn reseller(
    app: &App,
    actor: &Actor,
    reseller_id: Uuid,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<ResellerAnalytics> {
    actor.require(Permission::TenantsRead)?;
    let allowed = match actor.role {
        Role::Developer => true,
        Role::SuperAdmin => actor.reseller_id == Some(reseller_id),
        _ => return Err(Error::forbidden("reseller analytics are the platform's and the reseller's")),
    };
    if !allowed {
        return Err(Error::not_found("platform reseller"));
    }
    let months = span(app.now(), from, to)?;
    let first = previous_month(&months[0]);
    let last = months[months.len() - 1].clone();
    // Its ISPs' snapshots of the span (one Query of its index), the months' revenue counters
    // (one BatchGetItem) and its own record.
    let q = Query::index("gsi1", keys::reseller_stats_gsi1(Some(reseller_id)))
        .range(Some(format!("{first}#")), format!("{last}#~"))
        .limit(1000);
    let wanted: Vec<String> = std::iter::once(first.clone()).chain(months.iter().cloned()).collect();
    let revenue_keys: Vec<store::ItemKeys> = wanted.iter().map(|m| keys::platform_revenue(m)).collect();
    let mut revenue_refs: Vec<&store::ItemKeys> = revenue_keys.iter().collect();
    let rk = keys::platform_reseller(reseller_id);
    revenue_refs.push(&rk);
    let (snaps, got): (Vec<IspMonth>, Vec<Option<store::Item>>) =
        futures::try_join!(async { app.store.query_all(q, 1_000_000).await.or_500() }, async {
            app.store.batch_get(&revenue_refs).await.or_500()
        })?;
    let mut got = got;
    let record: PlatformReseller =
        decoded(got.pop().flatten())?.ok_or_else(|| Error::not_found("platform reseller"))?;
    let revenue: Vec<RevenueMonth> =
        got.into_iter().map(|i| RevenueMonth { counters: i.as_ref().map(numbers).unwrap_or_default() }).collect();
    let mut by_month: BTreeMap<&str, Vec<IspMonth>> = wanted.iter().map(|m| (m.as_str(), vec![])).collect();
    for s in snaps {
        if let Some(v) = by_month.get_mut(s.month.as_str()) {
            v.push(s);
        }
    }
    let figures: Vec<MonthFigures> = (1..wanted.len())
        .map(|i| {
            summarize(
                &wanted[i],
                &by_month[wanted[i - 1].as_str()],
                &by_month[wanted[i].as_str()],
                &revenue[i],
                Some(reseller_id),
            )
        })
        .collect();
    let isps = by_month[last.as_str()]
        .iter()
        .map(|i| ResellerIsp {
            tenant_id: i.tenant_id,
            name: i.name.clone(),
            status: i.status,
            created_at: i.created_at,
            customers: i.customers,
            subscribers: i.customers.subscribers(),
            new_customers: i.new_customers,
            currency: i.currency.clone(),
            collected: i.collected,
        })
        .collect();
    let snapshot_at = by_month.values().flatten().map(|i| i.as_of).max();
    Ok(ResellerAnalytics {
        from: months[0].clone(),
        to: last,
        slots: SlotUsage::of(&record),
        months: figures,
        isps,
        snapshot_at,
    })
}
