//! Provisioning use cases (the provisioning worker's): read what the table says a subscriber's
//! access on a router must be, converge the router to it through `routeros`, record the outcome
//! beside the subscription. Level-triggered: a message only names what to look at, so order and
//! duplicates never matter.

use crate::app::App;
use crate::network::{RouterRecord, live_router};
use crate::subscriptions::{SubscriptionRecord, open_password};
use crate::support::{StoreResultExt, decoded};
use chrono::{DateTime, Utc};
use domain::network::{Router, SuspensionMode};
use domain::package::{ConnectionType, Package};
use domain::provisioning::{ProvisioningError, ProvisioningRecord};
use domain::subscription::SubscriptionStatus;
use domain::{Error, Result};
use routeros::plan::{Access, Applied, Desired, ProfileSpec, QueueSpec, Service};
use routeros::provision::{Provisioned, RouterReconcile};
use routeros::{Backoff, Endpoint, RouterError, RouterSession, Stats, Timeouts, TlsMode};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use store::{Store, keys};
use uuid::Uuid;

/// "Converge this subscription on this router" (its own router, or the one it moved away from).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionTarget {
    pub tenant: Uuid,
    pub customer: Uuid,
    pub subscription: Uuid,
    pub router: Uuid,
}

/// The worker's routers: one session per router, kept across batches (a warm Lambda container
/// reuses its logged-in connections instead of logging in again for every batch). A router whose
/// address or credentials changed gets a new session. Live operations and health checks have
/// sessions of their own with short deadlines: a caller waits for them.
pub struct RouterPool {
    stats: Arc<Stats>,
    sessions: tokio::sync::Mutex<HashMap<Uuid, Arc<RouterSession>>>,
    live: tokio::sync::Mutex<HashMap<Uuid, Arc<RouterSession>>>,
}

impl Default for RouterPool {
    fn default() -> Self {
        RouterPool {
            stats: Arc::new(Stats::default()),
            sessions: tokio::sync::Mutex::new(HashMap::new()),
            live: tokio::sync::Mutex::new(HashMap::new()),
        }
    }
}

async fn pooled(
    map: &tokio::sync::Mutex<HashMap<Uuid, Arc<RouterSession>>>,
    router: Uuid,
    endpoint: &Endpoint,
    make: impl FnOnce() -> RouterSession,
) -> Arc<RouterSession> {
    let mut sessions = map.lock().await;
    match sessions.get(&router) {
        Some(s) if s.endpoint() == endpoint => s.clone(),
        _ => {
            let s = Arc::new(make());
            sessions.insert(router, s.clone());
            s
        }
    }
}

impl RouterPool {
    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// For provisioning: patient deadlines, retries with backoff.
    pub async fn session(&self, router: Uuid, endpoint: &Endpoint) -> Arc<RouterSession> {
        pooled(&self.sessions, router, endpoint, || {
            RouterSession::new(endpoint.clone(), Timeouts::WORKER, Backoff::WORKER, self.stats.clone())
        })
        .await
    }

    /// For live operations and health checks: short deadlines, one reconnect.
    pub async fn live_session(&self, router: Uuid, endpoint: &Endpoint) -> Arc<RouterSession> {
        pooled(&self.live, router, endpoint, || {
            RouterSession::new(endpoint.clone(), Timeouts::LIVE, Backoff::LIVE, self.stats.clone())
        })
        .await
    }
}

/// How to reach a router, from its record and its opened password.
pub fn endpoint(router: &Router, password: String) -> Endpoint {
    Endpoint {
        host: router.host.clone(),
        port: router.port,
        tls: match (router.tls, router.tls_insecure) {
            (false, _) => TlsMode::Plain,
            (true, false) => TlsMode::Verified,
            (true, true) => TlsMode::AcceptSelfSigned,
        },
        username: router.username.clone(),
        password,
    }
}

/// One subscriber to converge, with what is known about it.
#[derive(Debug, Clone)]
pub struct WorkItem {
    pub target: SubscriptionTarget,
    pub desired: Desired,
    /// The subscription's version the desired state comes from.
    pub version: u64,
    /// True when the target router is the subscription's own (its record is kept).
    pub current_router: bool,
    pub record: Option<ProvisioningRecord>,
}

/// A router and the subscribers to converge on it.
pub struct RouterWork {
    pub router: Router,
    pub endpoint: Endpoint,
    pub items: Vec<WorkItem>,
}

pub(crate) fn open_router(app: &App, rec: RouterRecord) -> Result<(Router, Endpoint)> {
    let creds = crate::network::open_credentials(app, rec)?;
    let ep = endpoint(&creds.router, creds.password.clone());
    Ok((creds.router, ep))
}

/// The access a subscription must have on `router`.
pub fn access_for(status: SubscriptionStatus, on_this_router: bool, suspension: &SuspensionMode) -> Access {
    if !on_this_router {
        return Access::Absent;
    }
    match status {
        SubscriptionStatus::Active => Access::Open,
        SubscriptionStatus::Suspended | SubscriptionStatus::Expired => match suspension {
            SuspensionMode::Disable => Access::Cut,
            SuspensionMode::WalledGarden { profile, address_list } => {
                Access::WalledGarden { profile: profile.clone(), address_list: address_list.clone() }
            }
        },
        SubscriptionStatus::Pending | SubscriptionStatus::Cancelled => Access::Absent,
    }
}

fn queue_spec(p: &Package) -> QueueSpec {
    QueueSpec {
        max_limit: format!("{}/{}", p.upload, p.download),
        burst_limit: p.burst.as_ref().map(|b| b.limit.to_string()),
        burst_threshold: p.burst.as_ref().map(|b| b.threshold.to_string()),
        burst_time: p.burst.as_ref().map(|b| format!("{}s/{}s", b.time_upload, b.time_download)),
        priority: format!("{}/{}", p.priority, p.priority),
    }
}

fn service(t: ConnectionType) -> Service {
    match t {
        ConnectionType::Pppoe => Service::Pppoe,
        ConnectionType::Hotspot => Service::Hotspot,
        ConnectionType::Static => Service::Static,
    }
}

fn last_applied(rec: &Option<ProvisioningRecord>, router: Uuid) -> Option<Applied> {
    rec.as_ref().filter(|r| r.router_id == router).and_then(|r| {
        r.state.clone().map(|state| Applied { state, profile: r.profile.clone(), rate_limit: r.rate_limit.clone() })
    })
}

fn desired(
    app: &App,
    rec: &SubscriptionRecord,
    package: &Package,
    router: &Router,
    record: &Option<ProvisioningRecord>,
) -> Result<Desired> {
    let s = &rec.subscription;
    let on_this = s.router_id == router.id;
    Ok(Desired {
        subscription_id: s.id.to_string(),
        service: service(s.connection_type),
        username: s.username.clone(),
        password: open_password(app, rec)?,
        address: s.ip_address.map(|ip| ip.to_string()),
        mac_address: s.mac_address.clone(),
        profile: ProfileSpec { name: package.router_profile.clone(), rate_limit: package.rate_limit.clone() },
        queue: (s.connection_type == ConnectionType::Static).then(|| queue_spec(package)),
        access: access_for(s.status, on_this, &router.suspension),
        last_applied: last_applied(record, router.id),
    })
}

/// Reads what these subscribers (all on one router) must have there: the router, the
/// subscriptions with their provisioning records, their packages. Two or three BatchGetItems.
/// `None` when the router no longer exists (nothing can be on it any more).
pub async fn load_router_work(
    app: &App,
    tenant: Uuid,
    router: Uuid,
    targets: &[SubscriptionTarget],
) -> Result<Option<RouterWork>> {
    let router_key = keys::router(tenant, router, "", None);
    let mut keys_: Vec<store::ItemKeys> = vec![router_key];
    for t in targets {
        keys_.push(keys::subscription(tenant, t.customer, t.subscription, None, None, None));
        keys_.push(keys::subscription_provisioning(tenant, t.customer, t.subscription));
    }
    let refs: Vec<&store::ItemKeys> = keys_.iter().collect();
    let mut items = app.store.batch_get_many(&refs).await.or_500()?.into_iter();
    let Some(router_rec) = live_router(items.next().flatten())? else {
        return Ok(None);
    };
    let (router_entity, ep) = open_router(app, router_rec)?;
    let mut found = Vec::new();
    for t in targets {
        let sub: Option<SubscriptionRecord> = decoded(items.next().flatten())?;
        let record: Option<ProvisioningRecord> = decoded(items.next().flatten())?;
        if let Some(sub) = sub {
            found.push((*t, sub, record));
        }
    }
    let packages = load_packages(&app.store, tenant, found.iter().map(|(_, s, _)| s.subscription.package_id)).await?;
    let mut work = Vec::new();
    for (t, sub, record) in found {
        let Some(package) = packages.get(&sub.subscription.package_id) else {
            return Err(Error::Internal(format!(
                "package {} of subscription {} is missing",
                sub.subscription.package_id, t.subscription
            )));
        };
        work.push(WorkItem {
            target: t,
            desired: desired(app, &sub, package, &router_entity, &record)?,
            version: sub.subscription.version,
            current_router: sub.subscription.router_id == router,
            record,
        });
    }
    Ok(Some(RouterWork { router: router_entity, endpoint: ep, items: work }))
}

async fn load_packages(store: &Store, tenant: Uuid, ids: impl Iterator<Item = Uuid>) -> Result<HashMap<Uuid, Package>> {
    let mut distinct: Vec<Uuid> = ids.collect();
    distinct.sort();
    distinct.dedup();
    let ks: Vec<store::ItemKeys> = distinct.iter().map(|id| keys::package(tenant, *id, "")).collect();
    let refs: Vec<&store::ItemKeys> = ks.iter().collect();
    let mut out = HashMap::new();
    for item in store.batch_get_many(&refs).await.or_500()?.into_iter().flatten() {
        let p: Package = Store::decode(item).or_500()?;
        out.insert(p.id, p);
    }
    Ok(out)
}

/// Every live subscription the table places on a router (gsi4), for a full reconcile.
pub async fn load_whole_router(app: &App, tenant: Uuid, router: Uuid) -> Result<Option<RouterWork>> {
    let Some(rec) = live_router(app.store.get_item(&keys::router(tenant, router, "", None)).await.or_500()?)? else {
        return Ok(None);
    };
    let (router_entity, ep) = open_router(app, rec)?;
    let q = store::Query::index("gsi4", keys::subscriptions_by_router_gsi4(tenant, router));
    let subs: Vec<SubscriptionRecord> = app.store.query_all(q, 200_000).await.or_500()?;
    let record_keys: Vec<store::ItemKeys> = subs
        .iter()
        .map(|s| keys::subscription_provisioning(tenant, s.subscription.customer_id, s.subscription.id))
        .collect();
    let refs: Vec<&store::ItemKeys> = record_keys.iter().collect();
    let records = app.store.batch_get_many(&refs).await.or_500()?;
    let packages = load_packages(&app.store, tenant, subs.iter().map(|s| s.subscription.package_id)).await?;
    let mut work = Vec::new();
    for (sub, record) in subs.into_iter().zip(records) {
        let record: Option<ProvisioningRecord> = decoded(record)?;
        let Some(package) = packages.get(&sub.subscription.package_id) else { continue };
        work.push(WorkItem {
            target: SubscriptionTarget {
                tenant,
                customer: sub.subscription.customer_id,
                subscription: sub.subscription.id,
                router,
            },
            desired: desired(app, &sub, package, &router_entity, &record)?,
            version: sub.subscription.version,
            current_router: true,
            record,
        });
    }
    Ok(Some(RouterWork { router: router_entity, endpoint: ep, items: work }))
}

fn new_record(item: &WorkItem, router: Uuid, now: DateTime<Utc>) -> ProvisioningRecord {
    item.record.clone().filter(|r| r.router_id == router).unwrap_or(ProvisioningRecord {
        subscription_id: item.target.subscription,
        router_id: router,
        state: None,
        item_id: None,
        subscription_version: None,
        profile: None,
        rate_limit: None,
        applied_at: None,
        actions: Vec::new(),
        last_attempt_at: now,
        last_error: None,
    })
}

/// Writes the outcome of each subscriber on its own router (one BatchWriteItem per 25).
/// Cleaning up a router a subscription left is not recorded: its record is about its router.
pub async fn record_outcomes(app: &App, work: &RouterWork, results: &[Result<Provisioned, RouterError>]) -> Result<()> {
    let now = app.now();
    let mut items = Vec::new();
    for (item, result) in work.items.iter().zip(results) {
        if !item.current_router {
            continue;
        }
        let mut rec = new_record(item, work.router.id, now);
        rec.last_attempt_at = now;
        match result {
            Ok(p) => {
                rec.state = Some(p.state.clone());
                rec.item_id = p.item_id.clone();
                rec.subscription_version = Some(item.version);
                rec.profile = p.applied.profile.clone();
                rec.rate_limit = p.applied.rate_limit.clone();
                rec.applied_at = Some(now);
                rec.actions = p.actions.clone();
                rec.last_error = None;
            }
            Err(e) => {
                rec.last_error =
                    Some(ProvisioningError { code: e.code().to_string(), message: e.to_string(), at: now });
            }
        }
        let t = item.target;
        items.push(
            Store::encode(
                &keys::subscription_provisioning(t.tenant, t.customer, t.subscription),
                "PROVISIONING",
                &rec,
                None,
            )
            .or_500()?,
        );
    }
    app.store.put_many(items).await.or_500()
}

/// Records the same connection-level failure for every subscriber of a router.
pub async fn record_failure(app: &App, work: &RouterWork, error: &RouterError) -> Result<()> {
    let results: Vec<Result<Provisioned, RouterError>> = work.items.iter().map(|_| Err(error.clone())).collect();
    record_outcomes(app, work, &results).await
}

/// Converge these subscribers on one router: one connection, pipelined, retried on a new
/// connection when the router drops it. Returns per target whether it converged.
pub async fn converge_subscriptions(
    app: &App,
    pool: &RouterPool,
    tenant: Uuid,
    router: Uuid,
    targets: &[SubscriptionTarget],
) -> Result<BTreeMap<SubscriptionTarget, std::result::Result<(), String>>> {
    let Some(work) = load_router_work(app, tenant, router, targets).await? else {
        // The router was deleted: nothing of anyone is kept on it any more.
        return Ok(targets.iter().map(|t| (*t, Ok(()))).collect());
    };
    let session = pool.session(router, &work.endpoint).await;
    let desired: Vec<Desired> = work.items.iter().map(|i| i.desired.clone()).collect();
    let outcome = session
        .with_retry(|conn| {
            let desired = desired.clone();
            async move { routeros::provision::provision(&conn, &desired).await }
        })
        .await;
    let mut answer: BTreeMap<SubscriptionTarget, std::result::Result<(), String>> =
        targets.iter().map(|t| (*t, Ok(()))).collect();
    match outcome {
        Ok(results) => {
            record_outcomes(app, &work, &results).await?;
            for (item, r) in work.items.iter().zip(&results) {
                match r {
                    Ok(p) if !p.actions.is_empty() => {
                        tracing::info!(subscription = %item.target.subscription, router = %router, state = %p.state, actions = ?p.actions, "provisioned");
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(subscription = %item.target.subscription, router = %router, error = %e, "provisioning refused");
                        answer.insert(item.target, Err(e.to_string()));
                    }
                }
            }
        }
        Err(e) => {
            tracing::warn!(router = %router, error = %e, "router unavailable for provisioning");
            record_failure(app, &work, &e).await?;
            for item in &work.items {
                answer.insert(item.target, Err(e.to_string()));
            }
        }
    }
    Ok(answer)
}

/// Full comparison of one router with the table: drift repaired, leftovers removed, foreign
/// accounts reported.
pub async fn reconcile_router(
    app: &App,
    pool: &RouterPool,
    tenant: Uuid,
    router: Uuid,
) -> Result<Option<RouterReconcile>> {
    let Some(work) = load_whole_router(app, tenant, router).await? else {
        return Ok(None);
    };
    let session = pool.session(router, &work.endpoint).await;
    let desired: Vec<Desired> = work.items.iter().map(|i| i.desired.clone()).collect();
    let report = session
        .with_retry(|conn| {
            let desired = desired.clone();
            async move { routeros::provision::reconcile_router(&conn, &desired).await }
        })
        .await;
    match report {
        Ok(report) => {
            let results: Vec<std::result::Result<Provisioned, RouterError>> =
                report.results.iter().map(|(_, r)| r.clone()).collect();
            record_outcomes(app, &work, &results).await?;
            let failed = results.iter().filter(|r| r.is_err()).count();
            crate::router_reconcile::store_report(app, tenant, router, work.items.len(), failed, &report).await?;
            tracing::info!(router = %router, repaired = report.repaired, stale_removed = report.stale_removed, unknown = report.unknown.len(), "router reconciled");
            Ok(Some(report))
        }
        Err(e) => {
            record_failure(app, &work, &e).await?;
            crate::router_reconcile::store_failure(app, tenant, router, e.code(), &e.to_string()).await?;
            Err(Error::Unavailable { detail: e.to_string() })
        }
    }
}

/// Per message: done, or why not.
pub type Answers = BTreeMap<String, std::result::Result<(), String>>;
type TargetResults = BTreeMap<SubscriptionTarget, std::result::Result<(), String>>;
type GroupResult = std::result::Result<TargetResults, (Vec<SubscriptionTarget>, String)>;

/// What one queue message asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Work {
    /// Converge subscriptions on these routers (a moved subscription: its new and its old one).
    Subscriptions(Vec<SubscriptionTarget>),
    /// Compare whole routers with the table.
    Routers { tenant: Uuid, routers: Vec<Uuid> },
    /// Every router of the ISP (a package's profile or speed changed; the hourly reconcile).
    AllRouters { tenant: Uuid },
    /// Check the health of every router of the ISP.
    Health { tenant: Uuid },
    /// Nothing for provisioning (e.g. a package change routers do not see).
    Nothing,
}

/// The provisioning meaning of an event on the bus. Only ids are taken from it: the state
/// itself is always read from the table.
pub fn work_for(detail_type: &str, detail: &serde_json::Value) -> std::result::Result<Work, String> {
    let id = |k: &str| -> std::result::Result<Uuid, String> {
        detail
            .get(k)
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("{detail_type} without {k}"))
    };
    let opt = |k: &str| detail.get(k).and_then(|v| v.as_str()).and_then(|s| s.parse::<Uuid>().ok());
    let tenant = id("tenant_id")?;
    match detail_type {
        "SubscriptionCreated"
        | "SubscriptionActivated"
        | "SubscriptionSuspended"
        | "SubscriptionRestored"
        | "SubscriptionCancelled"
        | "SubscriptionExpired"
        | "SubscriptionPackageChanged"
        | "SubscriptionExtended"
        | "SubscriptionRouterMoved"
        | "SubscriptionPasswordReset"
        | "SubscriptionReconcileRequested" => {
            let base = SubscriptionTarget {
                tenant,
                customer: id("customer_id")?,
                subscription: id("subscription_id")?,
                router: id("router_id")?,
            };
            let mut targets = vec![base];
            if let Some(prev) = opt("previous_router_id").filter(|p| *p != base.router) {
                targets.push(SubscriptionTarget { router: prev, ..base });
            }
            Ok(Work::Subscriptions(targets))
        }
        // A router back online may have missed changes whose retries ran out meanwhile.
        "RouterUpdated" | "RouterCameBack" => Ok(Work::Routers { tenant, routers: vec![id("router_id")?] }),
        // On demand for one router; hourly (no router named) for all of the ISP's.
        "RouterReconcileRequested" => Ok(match opt("router_id") {
            Some(r) => Work::Routers { tenant, routers: vec![r] },
            None => Work::AllRouters { tenant },
        }),
        "RouterHealthCheckRequested" => Ok(Work::Health { tenant }),
        "PackageUpdated" => {
            let changed = detail.get("provisioning_changed").and_then(|v| v.as_bool()).unwrap_or(true);
            let used = detail.get("subscriptions").and_then(|v| v.as_u64()).unwrap_or(1);
            Ok(if changed && used > 0 { Work::AllRouters { tenant } } else { Work::Nothing })
        }
        other => Err(format!("provisioning does not handle {other}")),
    }
}

/// Runs a batch of messages: subscription work grouped by router so each router gets one
/// connection and one pipelined run for all its messages; routers in parallel. Returns, per
/// message, whether it is done.
pub async fn process(
    app: &App,
    pool: &RouterPool,
    messages: &[(String, Work)],
) -> BTreeMap<String, std::result::Result<(), String>> {
    use futures::StreamExt;
    let mut by_router: BTreeMap<(Uuid, Uuid), Vec<SubscriptionTarget>> = BTreeMap::new();
    let mut whole: Vec<(Uuid, Uuid)> = Vec::new();
    let mut answer: BTreeMap<String, std::result::Result<(), String>> = BTreeMap::new();
    for (id, work) in messages {
        answer.insert(id.clone(), Ok(()));
        match work {
            Work::Subscriptions(ts) => {
                for t in ts {
                    let group = by_router.entry((t.tenant, t.router)).or_default();
                    if !group.contains(t) {
                        group.push(*t);
                    }
                }
            }
            Work::Routers { tenant, routers } => whole.extend(routers.iter().map(|r| (*tenant, *r))),
            Work::AllRouters { tenant } => match crate::network::all_router_ids(app, *tenant).await {
                Ok(ids) => whole.extend(ids.into_iter().map(|r| (*tenant, r))),
                Err(e) => {
                    answer.insert(id.clone(), Err(e.to_string()));
                }
            },
            Work::Health { tenant } => {
                if let Err(e) = crate::router_health::check_tenant(app, pool, *tenant).await {
                    answer.insert(id.clone(), Err(e.to_string()));
                }
            }
            Work::Nothing => {}
        }
    }
    whole.sort();
    whole.dedup();

    // Up to 8 routers at once; each router's subscribers in one pipelined run.
    let groups: Vec<((Uuid, Uuid), Vec<SubscriptionTarget>)> = by_router.into_iter().collect();
    let sub_results: Vec<GroupResult> =
        futures::stream::iter(groups.into_iter().map(|((tenant, router), targets)| async move {
            converge_subscriptions(app, pool, tenant, router, &targets).await.map_err(|e| (targets, e.to_string()))
        }))
        .buffer_unordered(8)
        .collect()
        .await;
    let mut failed_targets: BTreeMap<SubscriptionTarget, String> = BTreeMap::new();
    for r in sub_results {
        match r {
            Ok(m) => {
                for (t, r) in m {
                    if let Err(e) = r {
                        failed_targets.insert(t, e);
                    }
                }
            }
            Err((ts, e)) => {
                for t in ts {
                    failed_targets.insert(t, e.clone());
                }
            }
        }
    }
    let router_results: Vec<((Uuid, Uuid), std::result::Result<(), String>)> =
        futures::stream::iter(whole.into_iter().map(|(tenant, router)| async move {
            let r = reconcile_router(app, pool, tenant, router).await.map(|_| ()).map_err(|e| e.to_string());
            ((tenant, router), r)
        }))
        .buffer_unordered(8)
        .collect()
        .await;
    let failed_routers: BTreeMap<(Uuid, Uuid), String> =
        router_results.into_iter().filter_map(|(k, r)| r.err().map(|e| (k, e))).collect();

    for (id, work) in messages {
        let failure = match work {
            Work::Subscriptions(ts) => ts.iter().find_map(|t| failed_targets.get(t).cloned()),
            Work::Routers { tenant, routers } => {
                routers.iter().find_map(|r| failed_routers.get(&(*tenant, *r)).cloned())
            }
            Work::AllRouters { tenant } => {
                failed_routers.iter().find(|((t, _), _)| t == tenant).map(|(_, e)| e.clone())
            }
            Work::Health { .. } | Work::Nothing => None,
        };
        if let Some(e) = failure {
            answer.insert(id.clone(), Err(e));
        }
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_name_the_work_and_nothing_else() {
        let (t, r, c, s) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let moved = json!({"tenant_id": t, "customer_id": c, "subscription_id": s, "router_id": r, "previous_router_id": Uuid::nil()});
        match work_for("SubscriptionRouterMoved", &moved).unwrap() {
            Work::Subscriptions(ts) => {
                assert_eq!(ts.len(), 2, "the new router and the one it left");
                assert_eq!(ts[1].router, Uuid::nil());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            work_for("RouterReconcileRequested", &json!({"tenant_id": t, "router_id": r})).unwrap(),
            Work::Routers { tenant: t, routers: vec![r] }
        );
        assert_eq!(
            work_for("RouterReconcileRequested", &json!({"tenant_id": t})).unwrap(),
            Work::AllRouters { tenant: t }
        );
        assert_eq!(
            work_for("RouterCameBack", &json!({"tenant_id": t, "router_id": r})).unwrap(),
            Work::Routers { tenant: t, routers: vec![r] }
        );
        assert_eq!(
            work_for("RouterHealthCheckRequested", &json!({"tenant_id": t})).unwrap(),
            Work::Health { tenant: t }
        );
        assert_eq!(
            work_for("PackageUpdated", &json!({"tenant_id": t, "provisioning_changed": false})).unwrap(),
            Work::Nothing
        );
        assert!(work_for("SubscriptionSuspended", &json!({"tenant_id": t})).is_err(), "ids are required");
        assert!(work_for("InvoiceIssued", &json!({"tenant_id": t})).is_err());
        assert!(work_for("RouterCameBack", &json!({})).is_err(), "no tenant, no work");
    }
}
