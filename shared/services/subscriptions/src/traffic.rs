//! Traffic a subscription moved per local day, and the ISP's usage reports, read from the day
//! records the router sweeps write (`domain::traffic`, `network::traffic`) and, for the days
//! not yet written out (today, and a day a silent router has not closed), from the routers'
//! cursors; nothing here reads a router. A subscription's figures trail its router by up to a
//! quarter hour (a sample's interval), the routers' totals in the usage report by up to an hour.

use chrono::NaiveDate;
use chrono_tz::Tz;
use domain::actor::Actor;
use domain::cycle::{local_date, parse_tz};
use domain::traffic::{KEEP_DAYS, RouterTrafficDay, SubscriptionTrafficDay, TrafficFigures, series, window};
use domain::{Error, Result};
use kernel::App;
use kernel::support::{StoreResultExt, load_tenant};
use serde::Serialize;
use std::collections::BTreeMap;
use store::{Query, keys};
use uuid::Uuid;

/// Router totals are kept this long (the usage report reaches this far back).
const ROUTER_DAYS_KEPT: i64 = 400;

/// A subscription's traffic per local day.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TrafficHistory {
    pub subscription_id: Uuid,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub up_bytes: u64,
    pub down_bytes: u64,
    pub total_bytes: u64,
    /// Every date from `from` to `to`, oldest first (zero where nothing was counted).
    pub days: Vec<TrafficFigures>,
}

fn total(days: &[TrafficFigures]) -> (u64, u64) {
    days.iter().fold((0, 0), |(u, d), f| (u + f.up_bytes, d + f.down_bytes))
}

/// A subscription's days from `from` to `to` (local dates; default the last 30), its Query sent
/// together with `guard`, which checks the caller may see the subscription and answers the
/// ISP's time zone and the subscription's router: the Query spans a day more on each side of the
/// UTC dates, so the ISP's local dates are inside it whatever its zone. A window reaching the
/// last days adds the router's cursor (one Query more).
pub async fn history(
    app: &App,
    tid: Uuid,
    subscription: Uuid,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    guard: impl Future<Output = Result<(Tz, Uuid)>>,
) -> Result<TrafficHistory> {
    let utc_today = app.now().date_naive();
    let lo = from.unwrap_or(utc_today - chrono::Duration::days(31));
    let hi = to.unwrap_or(utc_today + chrono::Duration::days(1));
    if lo > hi || (hi - lo).num_days() > KEEP_DAYS + 2 {
        return Err(Error::field("from", format!("must be on or before `to`, at most {KEEP_DAYS} days before it")));
    }
    let q =
        Query::table(keys::traffic_days_pk(tid, subscription)).range(Some(lo.to_string()), hi.to_string()).limit(200);
    let ((tz, router), records) =
        futures::try_join!(guard, async { app.store.query_all::<SubscriptionTrafficDay>(q, 1000).await.or_500() })?;
    let today = local_date(tz, app.now());
    let (from, to) = window(today, from, to, KEEP_DAYS, KEEP_DAYS)?;
    let mut counted: Vec<(NaiveDate, u64, u64)> = records.iter().map(|d| (d.date, d.up_bytes, d.down_bytes)).collect();
    // The days its router's cursor still holds (not written out yet), unless written out since.
    if to >= today - chrono::Duration::days(domain::traffic::HELD_DAYS_READ) {
        let cursor = network::traffic::load_cursor(app, tid, router).await?;
        counted.extend(
            cursor
                .held_days()
                .into_iter()
                .filter(|h| h.owner.subscription_id == subscription)
                .filter(|h| !records.iter().any(|r| r.date == h.day && r.router_id == router))
                .map(|h| (h.day, h.up, h.down)),
        );
    }
    let days = series(from, to, counted);
    let (up_bytes, down_bytes) = total(&days);
    Ok(TrafficHistory {
        subscription_id: subscription,
        from,
        to,
        up_bytes,
        down_bytes,
        total_bytes: up_bytes + down_bytes,
        days,
    })
}

/// `GET /v1/subscriptions/{id}/usage`: staff who may see the subscription.
pub async fn subscription_history(
    app: &App,
    actor: &Actor,
    id: Uuid,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<TrafficHistory> {
    let tid = actor.tenant()?;
    let guard = async {
        let (visible, tenant) =
            futures::try_join!(crate::subscriptions::load_record(app, actor, id), load_tenant(app, tid))?;
        Ok((parse_tz(&tenant.time_zone), visible.subscription.router_id))
    };
    history(app, tid, id, from, to, guard).await
}

/// `GET /v1/portal/subscriptions/{id}/usage`: the subscriber's own (the subscription's key is
/// built from the token's customer: another's is not there). One round trip: the Query, the
/// subscription and the ISP read at once.
pub async fn subscriber_history(
    app: &App,
    s: domain::portal::Subscriber,
    id: Uuid,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<TrafficHistory> {
    let guard = async {
        let ks =
            [keys::subscription(s.tenant_id, s.customer_id, id, None, None, None), keys::tenant(s.tenant_id, None)];
        let mut got = app.store.batch_get(&[&ks[0], &ks[1]]).await.or_500()?.into_iter();
        let (owned, tenant) = (got.next().flatten(), got.next().flatten());
        let owned =
            owned.filter(|i| store::string_attr(i, "customer_id").is_some_and(|c| c == s.customer_id.to_string()));
        let router = owned.and_then(|i| store::string_attr(&i, "router_id")).and_then(|r| r.parse().ok());
        let Some(router) = router else {
            return Err(Error::not_found("subscription"));
        };
        Ok((parse_tz(&kernel::support::tenant_of(tenant)?.time_zone), router))
    };
    history(app, s.tenant_id, id, from, to, guard).await
}

/// The ISP's traffic per local day and per router.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UsageReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub up_bytes: u64,
    pub down_bytes: u64,
    pub total_bytes: u64,
    pub days: Vec<TrafficFigures>,
    pub routers: Vec<RouterUsage>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RouterUsage {
    pub router_id: Uuid,
    /// None: the router was deleted since.
    pub name: Option<String>,
    pub up_bytes: u64,
    pub down_bytes: u64,
    pub total_bytes: u64,
}

/// `GET /v1/reports/usage`: the whole ISP's traffic from `from` to `to` (local dates, default the
/// last 30, at most 366 days): one Query of the routers' day totals, one BatchGetItem for the
/// routers' names.
pub async fn usage_report(
    app: &App,
    actor: &Actor,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<UsageReport> {
    let tid = kernel::projections::reports::whole_isp_reader(actor)?;
    let tenant = load_tenant(app, tid).await?;
    let (from, to) = window(local_date(parse_tz(&tenant.time_zone), app.now()), from, to, 366, ROUTER_DAYS_KEPT)?;
    let q = Query::table(keys::router_traffic_pk(tid)).range(Some(from.to_string()), format!("{to}~")).limit(1000);
    let rows: Vec<RouterTrafficDay> = app.store.query_all(q, 1_000_000).await.or_500()?;
    let mut by_router: BTreeMap<Uuid, TrafficFigures> = BTreeMap::new();
    for r in &rows {
        by_router.entry(r.router_id).or_insert_with(|| TrafficFigures::zero(from)).add(r.up_bytes, r.down_bytes);
    }
    let router_keys: Vec<store::ItemKeys> = by_router.keys().map(|r| keys::router(tid, *r, "", None)).collect();
    let refs: Vec<&store::ItemKeys> = router_keys.iter().collect();
    let names: Vec<Option<String>> = app
        .store
        .batch_get_many(&refs)
        .await
        .or_500()?
        .into_iter()
        .map(|i| i.and_then(|i| store::string_attr(&i, "name")))
        .collect();
    let days = series(from, to, rows.iter().map(|r| (r.date, r.up_bytes, r.down_bytes)));
    let (up_bytes, down_bytes) = total(&days);
    let mut routers: Vec<RouterUsage> = by_router
        .into_iter()
        .zip(names)
        .map(|((router_id, f), name)| RouterUsage {
            router_id,
            name,
            up_bytes: f.up_bytes,
            down_bytes: f.down_bytes,
            total_bytes: f.total_bytes,
        })
        .collect();
    routers.sort_by(|a, b| b.total_bytes.cmp(&a.total_bytes).then(a.router_id.cmp(&b.router_id)));
    Ok(UsageReport { from, to, up_bytes, down_bytes, total_bytes: up_bytes + down_bytes, days, routers })
}

/// The subscriptions that moved the most on one local day.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TopUsers {
    pub date: NaiveDate,
    pub users: Vec<TopUser>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TopUser {
    pub rank: usize,
    pub subscription_id: Uuid,
    pub customer_id: Uuid,
    /// None: the customer was deleted since.
    pub customer_name: Option<String>,
    pub username: String,
    pub up_bytes: u64,
    pub down_bytes: u64,
    pub total_bytes: u64,
}

pub const TOP_USERS_MAX: u32 = 100;

/// `GET /v1/reports/top-users`: the day's biggest users (default today, local), from the day
/// records' index by total (one Query, biggest first) and their customers' names (one
/// BatchGetItem); for a day the routers' cursors may still hold (today, the last days), the
/// ISP's routers' cursors too (a Query for the routers, one per router).
pub async fn top_users(app: &App, actor: &Actor, date: Option<NaiveDate>, limit: Option<u32>) -> Result<TopUsers> {
    let tid = kernel::projections::reports::whole_isp_reader(actor)?;
    let limit = limit.unwrap_or(20);
    if !(1..=TOP_USERS_MAX).contains(&limit) {
        return Err(Error::field("limit", format!("must be 1 to {TOP_USERS_MAX}")));
    }
    let today = local_date(parse_tz(&load_tenant(app, tid).await?.time_zone), app.now());
    let date = date.unwrap_or(today);
    let q = Query::index("gsi1", keys::traffic_by_day_gsi1(tid, &date.to_string())).newest_first().limit(limit);
    let mut days: Vec<SubscriptionTrafficDay> = app.store.query_all(q, limit as usize).await.or_500()?;
    if date >= today - chrono::Duration::days(domain::traffic::HELD_DAYS_READ) {
        days.extend(held_on(app, tid, date).await?);
        days.sort_by(|a, b| b.total_bytes.cmp(&a.total_bytes).then(a.subscription_id.cmp(&b.subscription_id)));
        // A subscription counted on two routers that day (it moved) appears once, its bigger part.
        let mut seen = std::collections::HashSet::new();
        days.retain(|d| seen.insert(d.subscription_id));
        days.truncate(limit as usize);
    }
    let customer_keys: Vec<store::ItemKeys> = days.iter().map(|d| keys::customer(tid, d.customer_id, None)).collect();
    let refs: Vec<&store::ItemKeys> = customer_keys.iter().collect();
    let names: Vec<Option<String>> = app
        .store
        .batch_get_many(&refs)
        .await
        .or_500()?
        .into_iter()
        .map(|i| i.filter(|i| !i.contains_key("deleted_at")).and_then(|i| store::string_attr(&i, "name")))
        .collect();
    let users = days
        .into_iter()
        .zip(names)
        .enumerate()
        .map(|(i, (d, customer_name))| TopUser {
            rank: i + 1,
            subscription_id: d.subscription_id,
            customer_id: d.customer_id,
            customer_name,
            username: d.username,
            up_bytes: d.up_bytes,
            down_bytes: d.down_bytes,
            total_bytes: d.total_bytes,
        })
        .collect();
    Ok(TopUsers { date, users })
}

/// The usage report as a spreadsheet: one row per day, then one per router.
#[cfg(feature = "csv")]
pub fn usage_sheet(r: &UsageReport, format: domain::export::Format) -> Result<Vec<u8>> {
    let mut out =
        domain::export::Sheet::new(format, &["kind", "key", "name", "up_bytes", "down_bytes", "total_bytes"])?;
    for d in &r.days {
        let (u, dn, t) = (d.up_bytes.to_string(), d.down_bytes.to_string(), d.total_bytes.to_string());
        out.row(&["day", &d.date.to_string(), "", &u, &dn, &t])?;
    }
    for x in &r.routers {
        let (u, dn, t) = (x.up_bytes.to_string(), x.down_bytes.to_string(), x.total_bytes.to_string());
        out.row(&["router", &x.router_id.to_string(), x.name.as_deref().unwrap_or(""), &u, &dn, &t])?;
    }
    out.finish()
}

/// The subscriptions' totals on `date` that the ISP's routers' cursors hold (not written out yet).
async fn held_on(app: &App, tid: Uuid, date: NaiveDate) -> Result<Vec<SubscriptionTrafficDay>> {
    use futures::StreamExt;
    let routers = network::routers::all_router_ids(app, tid).await?;
    let cursors: Vec<(Uuid, Result<domain::traffic::Cursor>)> = futures::stream::iter(routers)
        .map(|r| async move { (r, network::traffic::load_cursor(app, tid, r).await) })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut out = Vec::new();
    for (router_id, cursor) in cursors {
        out.extend(cursor?.held_days().into_iter().filter(|h| h.day == date).map(|h| SubscriptionTrafficDay {
            subscription_id: h.owner.subscription_id,
            customer_id: h.owner.customer_id,
            username: h.name,
            router_id,
            date,
            up_bytes: h.up,
            down_bytes: h.down,
            total_bytes: h.up.saturating_add(h.down),
        }));
    }
    Ok(out)
}

/// The top users as a spreadsheet.
#[cfg(feature = "csv")]
pub fn top_users_sheet(r: &TopUsers, format: domain::export::Format) -> Result<Vec<u8>> {
    let mut out = domain::export::Sheet::new(
        format,
        &[
            "rank",
            "subscription_id",
            "customer_id",
            "customer_name",
            "username",
            "up_bytes",
            "down_bytes",
            "total_bytes",
        ],
    )?;
    for u in &r.users {
        out.row(&[
            u.rank.to_string(),
            u.subscription_id.to_string(),
            u.customer_id.to_string(),
            u.customer_name.clone().unwrap_or_default(),
            u.username.clone(),
            u.up_bytes.to_string(),
            u.down_bytes.to_string(),
            u.total_bytes.to_string(),
        ])?;
    }
    out.finish()
}
