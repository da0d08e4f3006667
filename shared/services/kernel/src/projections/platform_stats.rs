//! Platform analytics (`domain::analytics`): the revenue counters a settled purchase adds, the
//! daily snapshot of every ISP's counters into the platform's month partitions, and the owner's
//! and a reseller's views, which read only those (never an ISP's own data).

use crate::App;
use crate::support::{StoreResultExt, decoded};
use chrono::{DateTime, Datelike, Utc};
use domain::actor::Actor;
use domain::analytics::{
    IspMonth, MonthFigures, MonthSummary, RevenueMonth, default_span, month_of, month_span, previous_month,
    reseller_key, revenue_counters, revenue_of, summarize_month,
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
/// month's first day, the month just ended's final figures), then sums each month written for
/// the platform and per reseller against the month before (so the views read one item a month).
/// Idempotent: a rerun rewrites the same items. Reads per ISP: its dashboard counters and its
/// month's collections (a Query each); one PutItem per ISP and month; per month one Query of
/// the month before and one PutItem of the sums.
pub async fn snapshot(app: &App, now: DateTime<Utc>) -> Result<SnapshotReport> {
    let q = Query::index("gsi1", keys::tenants_gsi1()).limit(500);
    let tenants: Vec<Tenant> = app.store.query_all(q, 1_000_000).await.or_500()?;
    let mut months = vec![month_of(now)];
    if now.day() == 1 {
        months.push(previous_month(&months[0]));
    }
    let mut written = 0;
    let mut taken: BTreeMap<&str, Vec<IspMonth>> = months.iter().map(|m| (m.as_str(), vec![])).collect();
    for page in tenants.chunks(AT_ONCE) {
        let snaps = futures::future::try_join_all(page.iter().map(|t| snapshot_isp(app, t, &months, now))).await?;
        for s in snaps.into_iter().flatten() {
            written += 1;
            if let Some(list) = taken.get_mut(s.month.as_str()) {
                list.push(s);
            }
        }
    }
    for (month, this) in taken {
        let prev = month_partition(app, &previous_month(month)).await?;
        let summary = summarize_month(month, &prev, &this, now);
        let item = Store::encode(&keys::platform_month_summary(month), "PLATFORM_SUMMARY", &summary, None).or_500()?;
        app.store.put(item).await.or_500()?;
    }
    Ok(SnapshotReport { isps: tenants.len() as u32, written })
}

async fn snapshot_isp(app: &App, t: &Tenant, months: &[String], now: DateTime<Utc>) -> Result<Vec<IspMonth>> {
    let mut out = vec![];
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
        out.push(snap);
    }
    Ok(out)
}

// ---- read --------------------------------------------------------------------------------------

/// One month partition's ISP snapshots (one Query; the snapshot job's, to sum a month).
async fn month_partition(app: &App, month: &str) -> Result<Vec<IspMonth>> {
    let q = Query::table(keys::platform_stats_pk(month)).prefix("T#".to_string()).limit(1000);
    app.store.query_all(q, 1_000_000).await.or_500()
}

/// Each month's sums (the platform's and its resellers') and its revenue counters.
type Months = Vec<(MonthSummary, RevenueMonth)>;

/// The months' sums and revenue counters, and more keys asked with them (one BatchGetItem).
async fn months_read(
    app: &App,
    months: &[String],
    more: &[store::ItemKeys],
) -> Result<(Months, Vec<Option<store::Item>>)> {
    let mut wanted: Vec<store::ItemKeys> = vec![];
    for m in months {
        wanted.push(keys::platform_month_summary(m));
        wanted.push(keys::platform_revenue(m));
    }
    wanted.extend(more.iter().cloned());
    let refs: Vec<&store::ItemKeys> = wanted.iter().collect();
    let mut got = app.store.batch_get_many(&refs).await.or_500()?.into_iter();
    let mut out = vec![];
    for m in months {
        let summary: Option<MonthSummary> = decoded(got.next().flatten())?;
        let revenue =
            RevenueMonth { counters: got.next().flatten().as_ref().map(super::reports::numbers).unwrap_or_default() };
        out.push((summary.unwrap_or_else(|| MonthSummary { month: m.clone(), ..Default::default() }), revenue));
    }
    Ok((out, got.collect()))
}

/// A month's figures: the summed ones (the platform's or a reseller's) with the live revenue.
fn with_revenue(
    month: &str,
    figures: Option<&MonthFigures>,
    revenue: &RevenueMonth,
    reseller: Option<Uuid>,
) -> MonthFigures {
    let mut f = figures.cloned().unwrap_or_default();
    f.month = month.to_string();
    let (money, slots, months, purchases) = revenue_of(revenue, reseller);
    (f.revenue, f.slots_sold, f.months_sold, f.purchases) = (money, slots, months, purchases);
    f
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

/// The platform owner's view: month by month, and per reseller (one BatchGetItem of the months'
/// sums and revenue, one Query of the resellers).
pub async fn platform(app: &App, actor: &Actor, from: Option<&str>, to: Option<&str>) -> Result<PlatformAnalytics> {
    actor.require(Permission::PlatformResellersRead)?;
    if actor.role != Role::Developer {
        return Err(Error::forbidden("platform analytics are the platform owner's"));
    }
    let months = span(app.now(), from, to)?;
    let q = Query::index("gsi1", keys::resellers_gsi1()).limit(500);
    let ((read, _), resellers): ((Months, _), Vec<PlatformReseller>) =
        futures::try_join!(months_read(app, &months, &[]), async { app.store.query_all(q, 100_000).await.or_500() })?;
    let figures: Vec<MonthFigures> = read.iter().map(|(s, r)| with_revenue(&s.month, Some(&s.all), r, None)).collect();
    let last = &read[read.len() - 1].0;
    let resellers = resellers
        .iter()
        .map(|r| {
            let now = last.resellers.get(&reseller_key(Some(r.id)));
            let mut revenue: Vec<domain::analytics::Money> = vec![];
            for (_, rev) in &read {
                for m in revenue_of(rev, Some(r.id)).0 {
                    match revenue.iter_mut().find(|x| x.currency == m.currency) {
                        Some(x) => x.amount += m.amount,
                        None => revenue.push(m),
                    }
                }
            }
            ResellerSummary {
                slots: SlotUsage::of(r),
                isps: now.map_or(0, |f| f.isps.total),
                subscribers: now.map_or(0, |f| f.subscribers.total),
                revenue,
            }
        })
        .collect();
    let snapshot_at = read.iter().filter_map(|(s, _)| s.as_of).max();
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

/// A reseller's view of its own part (the platform owner may look at any reseller's): one
/// BatchGetItem (the months' sums and revenue, the reseller) and one Query (its ISPs' snapshots of
/// the last month).
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
    let last = months[months.len() - 1].clone();
    let q = Query::index("gsi1", keys::reseller_stats_gsi1(Some(reseller_id))).prefix(format!("{last}#")).limit(1000);
    let record_key = [keys::platform_reseller(reseller_id)];
    let ((read, mut more), snaps): ((Months, Vec<Option<store::Item>>), Vec<IspMonth>) =
        futures::try_join!(months_read(app, &months, &record_key), async {
            app.store.query_all(q, 1_000_000).await.or_500()
        })?;
    let record: PlatformReseller =
        decoded(more.pop().flatten())?.ok_or_else(|| Error::not_found("platform reseller"))?;
    let key = reseller_key(Some(reseller_id));
    let figures: Vec<MonthFigures> =
        read.iter().map(|(s, r)| with_revenue(&s.month, s.resellers.get(&key), r, Some(reseller_id))).collect();
    let isps = snaps
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
    let snapshot_at = read.iter().filter_map(|(s, _)| s.as_of).max();
    Ok(ResellerAnalytics {
        from: months[0].clone(),
        to: last,
        slots: SlotUsage::of(&record),
        months: figures,
        isps,
        snapshot_at,
    })
}
