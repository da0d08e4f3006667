//! `GET /v1/dashboard`, served from counters that every write keeps up to date in its own
//! transaction (never by counting items at request time).
//!
//! Levels: `ALL` (the ISP), each operator and sub-operator on a customer's scope path (so an
//! operator's dashboard covers its whole subtree), and `POP#<pop>` for router counts. Customer and
//! router counts live in a few sharded counter items per level; subscriptions expiring are counted
//! per UTC hour, so "within 1/3/7 days" is exact whatever the ISP's time zone.

use crate::App;
use crate::support::{StoreResultExt, attr};
use chrono::{DateTime, Duration, Timelike, Utc};
use domain::actor::Actor;
use domain::customer::CustomerStatus;
use domain::network::RouterStatus;
use domain::role::Permission;
use domain::{Error, Result};
use rand::Rng;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use store::{Conflict, Item, Owner, Page, Query, Tx, keys};
use uuid::Uuid;

const ALL: &str = "ALL";

/// Changes to the counters that one transaction makes, merged per item (a transaction may touch an
/// item only once).
#[derive(Debug, Default)]
pub struct Deltas {
    counters: BTreeMap<String, BTreeMap<String, i64>>,
    expiry: BTreeMap<(String, String), i64>,
}

/// The levels a record with this operator scope counts in.
fn levels(scope: Option<&str>) -> Vec<String> {
    let mut v = vec![ALL.to_string()];
    if let Some(s) = scope {
        v.extend(domain::user::scope_members(s).map(str::to_string));
    }
    v
}

fn hour_key(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H").to_string()
}

impl Deltas {
    fn add(&mut self, level: &str, counter: &str, by: i64) {
        *self.counters.entry(level.to_string()).or_default().entry(counter.to_string()).or_default() += by;
    }

    /// A customer appears (`from: None`), changes status, or goes (`to: None`).
    pub fn customer(&mut self, scope: Option<&str>, from: Option<CustomerStatus>, to: Option<CustomerStatus>) {
        if from == to {
            return;
        }
        for l in levels(scope) {
            if let Some(f) = from {
                self.add(&l, &format!("customers_{}", f.as_str()), -1);
            }
            if let Some(t) = to {
                self.add(&l, &format!("customers_{}", t.as_str()), 1);
            }
        }
    }

    /// A new customer, counted in its month (`YYYY-MM` in the ISP's time zone).
    pub fn new_customer(&mut self, scope: Option<&str>, month: &str) {
        for l in levels(scope) {
            self.add(&l, &format!("new_{month}"), 1);
        }
    }

    /// An active subscription's expiry: `before`/`after` are its expiry while it counts (active with
    /// an expiry), None otherwise.
    pub fn expiry(&mut self, scope: Option<&str>, before: Option<DateTime<Utc>>, after: Option<DateTime<Utc>>) {
        let (b, a) = (before.map(hour_key), after.map(hour_key));
        if b == a {
            return;
        }
        for l in levels(scope) {
            if let Some(h) = &b {
                *self.expiry.entry((l.clone(), h.clone())).or_default() -= 1;
            }
            if let Some(h) = &a {
                *self.expiry.entry((l.clone(), h.clone())).or_default() += 1;
            }
        }
    }

    /// A router appears, changes status or POP, or goes.
    pub fn router(&mut self, from: Option<(Option<Uuid>, RouterStatus)>, to: Option<(Option<Uuid>, RouterStatus)>) {
        if from == to {
            return;
        }
        let level = |pop: Option<Uuid>| pop.map(|p| format!("POP#{p}"));
        if let Some((pop, s)) = from {
            self.add(ALL, &format!("routers_{}", s.as_str()), -1);
            if let Some(l) = level(pop) {
                self.add(&l, &format!("routers_{}", s.as_str()), -1);
            }
        }
        if let Some((pop, s)) = to {
            self.add(ALL, &format!("routers_{}", s.as_str()), 1);
            if let Some(l) = level(pop) {
                self.add(&l, &format!("routers_{}", s.as_str()), 1);
            }
        }
    }

    /// Adds one `ADD` update per touched counter item to the transaction.
    pub fn stage(self, tx: &mut Tx, tenant: Uuid) {
        let shard = rand::thread_rng().gen_range(0..keys::DASHBOARD_SHARDS);
        for (level, counters) in self.counters {
            let counters: Vec<_> = counters.into_iter().filter(|(_, v)| *v != 0).collect();
            if counters.is_empty() {
                continue;
            }
            let mut expr = Vec::new();
            let mut names: Vec<(String, String)> = vec![("#t".into(), "type".into())];
            let mut values: Item = HashMap::from([(":t".to_string(), attr(&"DASHBOARD"))]);
            for (i, (name, by)) in counters.into_iter().enumerate() {
                expr.push(format!("#c{i} :c{i}"));
                names.push((format!("#c{i}"), name));
                values.insert(format!(":c{i}"), attr(&by));
            }
            let names_ref: Vec<(&str, &str)> = names.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            tx.update(
                &keys::dashboard_counters(tenant, &level, shard),
                &format!("ADD {} SET #t = :t", expr.join(", ")),
                None,
                &names_ref,
                values,
                Conflict::Condition,
            );
        }
        for ((level, hour), by) in self.expiry {
            if by == 0 {
                continue;
            }
            // The bucket disappears a day after its hour has passed.
            let ttl = chrono::NaiveDateTime::parse_from_str(&format!("{hour}:00:00"), "%Y-%m-%dT%H:%M:%S")
                .map(|t| t.and_utc() + Duration::days(1))
                .unwrap_or_else(|_| Utc::now());
            tx.update(
                &keys::dashboard_expiry(tenant, &level, &hour),
                "ADD n :by SET #t = :t, #ttl = :ttl",
                None,
                &[("#t", "type"), ("#ttl", "ttl")],
                HashMap::from([
                    (":by".to_string(), attr(&by)),
                    (":t".to_string(), attr(&"DASHBOARD_EXPIRY")),
                    (":ttl".to_string(), store::ttl_at(ttl)),
                ]),
                Conflict::Condition,
            );
        }
    }
}

#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct CustomerCounts {
    pub new: i64,
    pub active: i64,
    pub suspended: i64,
    pub inactive: i64,
    pub total: i64,
}

#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct ExpiringCounts {
    pub within_1_day: i64,
    pub within_3_days: i64,
    pub within_7_days: i64,
}

#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct RouterCounts {
    pub online: i64,
    pub offline: i64,
    pub unknown: i64,
    pub error: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Dashboard {
    /// `isp`, `branch` (one branch's), or `operator` (the caller's own subtree).
    pub scope: &'static str,
    pub customers: CustomerCounts,
    pub new_customers_this_month: i64,
    pub subscriptions_expiring: ExpiringCounts,
    /// Operators confined to POPs see their POPs' routers; a branch its POPs'.
    pub routers: RouterCounts,
    pub as_of: DateTime<Utc>,
}

fn sum_counters(items: Vec<Item>) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for item in items {
        for (k, v) in item {
            if let Ok(n) = v.as_n()
                && let Ok(n) = n.parse::<i64>()
                && !matches!(k.as_str(), "v" | "ttl")
            {
                *out.entry(k).or_default() += n;
            }
        }
    }
    out
}

fn router_counts(from: &[BTreeMap<String, i64>]) -> RouterCounts {
    let mut routers = RouterCounts::default();
    for c in from {
        let get = |s: RouterStatus| c.get(&format!("routers_{}", s.as_str())).copied().unwrap_or(0);
        routers.online += get(RouterStatus::Online);
        routers.offline += get(RouterStatus::Offline);
        routers.unknown += get(RouterStatus::Unknown);
        routers.error += get(RouterStatus::Error);
    }
    routers
}

fn customer_counts(c: &BTreeMap<String, i64>) -> CustomerCounts {
    let get = |k: &str| c.get(k).copied().unwrap_or(0);
    let (new, active) = (get("customers_new"), get("customers_active"));
    let (suspended, inactive) = (get("customers_suspended"), get("customers_inactive"));
    CustomerCounts { new, active, suspended, inactive, total: new + active + suspended + inactive }
}

/// The whole ISP's customers by status, as its dashboard shows them (pushed live after a payment,
/// which may have restored or renewed someone).
pub async fn isp_customer_counts(app: &App, tid: Uuid) -> Result<CustomerCounts> {
    Ok(customer_counts(&counters(app, tid, ALL).await?))
}

/// The whole ISP's routers by status, as its dashboard shows them (pushed live when one changes).
pub async fn isp_router_counts(app: &App, tid: Uuid) -> Result<RouterCounts> {
    Ok(router_counts(&[counters(app, tid, ALL).await?]))
}

/// The ISP's customers by status, and those added in its local month `month` (`YYYY-MM`), as its
/// dashboard counts them (one Query).
pub(crate) async fn isp_tally(app: &App, tid: Uuid, month: &str) -> Result<(domain::analytics::CustomerTally, i64)> {
    let c = counters(app, tid, ALL).await?;
    let get = |k: &str| c.get(k).copied().unwrap_or(0);
    let tally = domain::analytics::CustomerTally {
        new: get("customers_new"),
        active: get("customers_active"),
        suspended: get("customers_suspended"),
        inactive: get("customers_inactive"),
    };
    Ok((tally, get(&format!("new_{month}"))))
}

pub(crate) async fn counters(app: &App, tid: Uuid, level: &str) -> Result<BTreeMap<String, i64>> {
    let q = Query::table(keys::dashboard_pk(tid, level)).prefix(keys::DASHBOARD_COUNTERS_PREFIX).limit(50);
    let (items, _) = app.store.query_page_raw(Owner::Tenant(tid), "dashboard", q, None).await.or_500()?;
    Ok(sum_counters(items))
}

/// The dashboard of the whole ISP, of one of its branches (`branch`: the ISP's staff, or a
/// branch's own), or of the caller's subtree.
pub async fn get_dashboard(app: &App, actor: &Actor, branch: Option<Uuid>) -> Result<Dashboard> {
    actor.require(Permission::CustomersRead)?;
    let tid = actor.tenant()?;
    let now = app.now();
    let (level, scope, branch_pops) = match (actor.confinement()?, branch) {
        (Some(s), None) => {
            let kind = if actor.role.is_scoped() { "operator" } else { "branch" };
            (domain::user::scope_owner(s).to_string(), kind, None)
        }
        (Some(_), Some(b)) if !actor.role.is_scoped() && actor.branch() == Some(b) => {
            (domain::branch::scope_of(b), "branch", None)
        }
        (Some(_), Some(_)) => return Err(Error::not_found("branch")),
        (None, Some(b)) => {
            crate::access::load_branch(app, tid, b).await?.ok_or_else(|| Error::not_found("branch"))?;
            (domain::branch::scope_of(b), "branch", Some(crate::access::branch_pops(app, tid, b).await?))
        }
        (None, None) => (ALL.to_string(), "isp", None),
    };
    let tenant = crate::support::load_tenant(app, tid).await?;
    let mine = counters(app, tid, &level).await?;
    // Expiring: hourly buckets from this hour up to 7 days ahead (at most 169 small items).
    let from = now.with_minute(0).and_then(|t| t.with_second(0)).unwrap_or(now);
    let q = Query::table(keys::dashboard_pk(tid, &level)).range(
        Some(format!("{}{}", keys::DASHBOARD_EXPIRY_PREFIX, hour_key(from))),
        format!("{}{}", keys::DASHBOARD_EXPIRY_PREFIX, hour_key(now + Duration::days(7))),
    );
    let mut expiring = ExpiringCounts::default();
    let mut cursor = None;
    loop {
        let page: Page<serde_json::Value> = app
            .store
            .query_page(Owner::Tenant(tid), "dashboard-expiry", q.clone().limit(200), cursor.as_deref())
            .await
            .or_500()?;
        for b in page.items {
            let hour = b["sk"].as_str().unwrap_or("").trim_start_matches(keys::DASHBOARD_EXPIRY_PREFIX).to_string();
            let n = b["n"].as_i64().unwrap_or(0);
            let Ok(at) = chrono::NaiveDateTime::parse_from_str(&format!("{hour}:00:00"), "%Y-%m-%dT%H:%M:%S") else {
                continue;
            };
            let ahead = at.and_utc() - from;
            if ahead < Duration::days(1) {
                expiring.within_1_day += n;
            }
            if ahead < Duration::days(3) {
                expiring.within_3_days += n;
            }
            expiring.within_7_days += n;
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let confined = match branch_pops {
        Some(pops) => Some(pops),
        None => crate::access::confined_pops(app, actor).await?,
    };
    let routers_from = match confined {
        None => vec![mine.clone()],
        Some(pops) => {
            let mut v = Vec::new();
            for p in pops {
                v.push(counters(app, tid, &format!("POP#{p}")).await?);
            }
            v
        }
    };
    let routers = router_counts(&routers_from);
    let get = |k: &str| mine.get(k).copied().unwrap_or(0);
    let customers = customer_counts(&mine);
    let month = month_of(now, &tenant.time_zone);
    Ok(Dashboard {
        scope,
        customers,
        new_customers_this_month: get(&format!("new_{month}")),
        subscriptions_expiring: expiring,
        routers,
        as_of: now,
    })
}

/// `YYYY-MM` of an instant in the ISP's time zone.
pub fn month_of(at: DateTime<Utc>, time_zone: &str) -> String {
    match time_zone.parse::<chrono_tz::Tz>() {
        Ok(tz) => at.with_timezone(&tz).format("%Y-%m").to_string(),
        Err(_) => at.format("%Y-%m").to_string(),
    }
}

/// Whether a subscription counts as "expiring": active, with an expiry.
pub fn counted_expiry(s: &domain::subscription::Subscription) -> Option<DateTime<Utc>> {
    (s.status == domain::subscription::SubscriptionStatus::Active).then_some(s.expires_at).flatten()
}
