//! Provisioning use cases (the provisioning worker's): read what the table says a subscriber's
//! access on a router must be, converge the router to it through `routeros`, record the outcome
//! beside the subscription. Level-triggered: a message only names what to look at, so order and
//! duplicates never matter.

use crate::pool::{RouterPool, open_router};
use chrono::{DateTime, Utc};
use domain::alert::{Alert, AlertKind, AlertSubject};
use domain::network::{Router, SuspensionMode};
use domain::package::{ConnectionType, Package};
use domain::provisioning::{ProvisioningError, ProvisioningRecord};
use domain::radius::AccessMode;
use domain::subscription::SubscriptionStatus;
use domain::{Error, Result};
use kernel::App;
use kernel::support::{StoreResultExt, decoded};
use network::routers::live_router;
use routeros::plan::{Access, Applied, Desired, ProfileSpec, QueueSpec, Service};
use routeros::provision::{Provisioned, RouterReconcile};
use routeros::{Endpoint, RouterError};
use std::collections::{BTreeMap, HashMap};
use store::{Store, Tx, keys};
use subscriptions::subscriptions::{SubscriptionRecord, open_password};
use uuid::Uuid;

/// "Converge this subscription on this router" (its own router, or the one it moved away from).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionTarget {
    pub tenant: Uuid,
    pub customer: Uuid,
    pub subscription: Uuid,
    pub router: Uuid,
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
    /// What a RADIUS answer needs beyond `desired` (used on routers in RADIUS mode).
    pub radius: domain::radius::RadiusTerms,
}

/// A router and the subscribers to converge on it.
pub struct RouterWork {
    pub router: Router,
    pub endpoint: Endpoint,
    pub items: Vec<WorkItem>,
    /// RADIUS mode: the router's shared secret, sealed.
    pub radius_secret_sealed: Option<String>,
    /// Full reconciles: the vouchers of the batches placed on the router (their outcome is the
    /// batch's, not recorded per voucher).
    pub vouchers: Vec<Desired>,
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
    // A turbo in force runs under its own profile and speed; past its end, the package's again.
    let turbo = s.turbo.as_ref().filter(|t| t.active_at(app.now()));
    let (profile_name, rate_limit) = match turbo {
        Some(t) => (t.router_profile.clone(), t.rate_limit.clone()),
        None => (package.router_profile.clone(), package.rate_limit.clone()),
    };
    let queue_package = match turbo {
        Some(t) => Package { download: t.download, upload: t.upload, burst: None, ..package.clone() },
        None => package.clone(),
    };
    Ok(Desired {
        subscription_id: s.id.to_string(),
        service: service(s.connection_type),
        username: s.username.clone(),
        password: open_password(app, rec)?,
        address: s.ip_address.map(|ip| ip.to_string()),
        mac_address: s.mac_address.clone(),
        profile: ProfileSpec { name: profile_name, rate_limit, shared_users: None },
        queue: (s.connection_type == ConnectionType::Static).then(|| queue_spec(&queue_package)),
        access: access_for(s.status, on_this, &router.suspension),
        last_applied: last_applied(record, router.id),
        limit_bytes_total: None,
    })
}

/// What a RADIUS answer holds of the subscription: the package's profile and speed, a turbo's
/// window (picked at login time), the expiry, a static address.
fn radius_terms(rec: &SubscriptionRecord, package: &Package) -> domain::radius::RadiusTerms {
    let s = &rec.subscription;
    domain::radius::RadiusTerms {
        profile: package.router_profile.clone(),
        rate_limit: package.rate_limit.clone(),
        turbo: s.turbo.as_ref().map(|t| domain::radius::TurboGrant {
            profile: t.router_profile.clone(),
            rate_limit: t.rate_limit.clone(),
            starts_at: t.starts_at,
            ends_at: t.ends_at,
        }),
        expires_at: s.expires_at,
        framed_ip: s.ip_address,
    }
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
    let radius_secret_sealed = router_rec.radius_secret_sealed.clone();
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
            radius: radius_terms(&sub, package),
            record,
        });
    }
    Ok(Some(RouterWork {
        router: router_entity,
        endpoint: ep,
        items: work,
        radius_secret_sealed,
        vouchers: Vec::new(),
    }))
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
    let radius_secret_sealed = rec.radius_secret_sealed.clone();
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
            radius: radius_terms(&sub, package),
            record,
        });
    }
    let vouchers = crate::vouchers::router_vouchers(app, tenant, router).await?;
    Ok(Some(RouterWork { router: router_entity, endpoint: ep, items: work, radius_secret_sealed, vouchers }))
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
    let mut alerts = Tx::new();
    for (item, result) in work.items.iter().zip(results) {
        if !item.current_router {
            continue;
        }
        if let Err(e @ RouterError::Trap { .. }) = result {
            let before = item.record.as_ref().and_then(|r| r.last_error.as_ref()).map(|e| e.code.as_str());
            // Once per episode: the first refusal after a success (or after another kind of failure).
            if before != Some(e.code()) {
                let t = item.target;
                let subject = AlertSubject {
                    router_id: Some(work.router.id),
                    router_name: Some(work.router.name.clone()),
                    pop_id: work.router.pop_id,
                    customer_id: Some(t.customer),
                    subscription_id: Some(t.subscription),
                    username: Some(item.desired.username.clone()),
                    ..Default::default()
                };
                // The same for every try at this version: a retry after a crash finds it raised.
                let seed = format!("provisioning-alert:{}:{}", t.subscription, item.version);
                let id = domain::ids::derived_id(DateTime::UNIX_EPOCH, &seed);
                kernel::alerts::raise(
                    &mut alerts,
                    &Alert::new(id, t.tenant, AlertKind::ProvisioningFailed, subject, Some(e.to_string()), now),
                )?;
            }
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
        // A subscriber that was already as it should be, and recorded so, is not written again:
        // the hourly reconcile of a router of 1,000 subscribers would otherwise rewrite 1,000
        // records (24,000 write units a day) to say nothing changed.
        if result.as_ref().is_ok_and(|p| p.actions.is_empty())
            && item.record.as_ref().is_some_and(|old| unchanged(old, &rec))
        {
            continue;
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
    // Alerts first: the records' errors decide the episode, so they are written once it is raised.
    if !alerts.is_empty() {
        match app.store.commit(alerts).await {
            // Raised by an earlier try at the same version.
            Ok(()) | Err(store::StoreError::Conflict(_)) => {}
            Err(e) => return Err(kernel::support::store_err(e)),
        }
    }
    app.store.put_many(items).await.or_500()
}

/// Whether a record says the same as before, but for when it was tried and applied.
fn unchanged(old: &ProvisioningRecord, new: &ProvisioningRecord) -> bool {
    let strip = |r: &ProvisioningRecord| ProvisioningRecord {
        last_attempt_at: DateTime::UNIX_EPOCH,
        applied_at: None,
        actions: Vec::new(),
        ..r.clone()
    };
    old.last_error.is_none() && strip(old) == strip(new)
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
    let results = if work.router.access_mode == AccessMode::Radius {
        converge_radius_router(app, pool, &work, false).await?
    } else {
        let session = pool.session(app, tenant, router, &work.endpoint).await;
        let desired: Vec<Desired> = work.items.iter().map(|i| i.desired.clone()).collect();
        routeros::provision::provision_in_parts(&session, &desired).await
    };
    // What converged is recorded even when the rest of the batch could not be done.
    record_outcomes(app, &work, &results).await?;
    let mut answer: BTreeMap<SubscriptionTarget, std::result::Result<(), String>> =
        targets.iter().map(|t| (*t, Ok(()))).collect();
    for (item, r) in work.items.iter().zip(&results) {
        match r {
            Ok(p) if !p.actions.is_empty() => {
                tracing::info!(subscription = %item.target.subscription, router = %router, state = %p.state, actions = ?p.actions, "provisioned");
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(subscription = %item.target.subscription, router = %router, error = %e, code = e.code(), "not provisioned");
                answer.insert(item.target, Err(e.to_string()));
            }
        }
    }
    Ok(answer)
}

/// A RADIUS router's subscribers: PPPoE and hotspot ones get answers (and their sessions are
/// told); static ones (no login) keep their queues through the API. Results in `work.items`' order.
async fn converge_radius_router(
    app: &App,
    pool: &RouterPool,
    work: &RouterWork,
    whole: bool,
) -> Result<Vec<std::result::Result<Provisioned, RouterError>>> {
    let (by_radius, by_api): (Vec<usize>, Vec<usize>) =
        (0..work.items.len()).partition(|i| work.items[*i].desired.service != Service::Static);
    let mut results: Vec<Option<std::result::Result<Provisioned, RouterError>>> = vec![None; work.items.len()];
    if !by_radius.is_empty() {
        let nas = crate::radius::nas_of(app, &work.router, work.radius_secret_sealed.as_deref()).await?;
        let items: Vec<crate::radius::RadiusItem> = by_radius
            .iter()
            .map(|i| {
                let w = &work.items[*i];
                crate::radius::RadiusItem {
                    subscription: w.target.subscription,
                    customer: w.target.customer,
                    desired: &w.desired,
                    terms: &w.radius,
                    version: w.version,
                    current_router: w.current_router,
                    previous_username: w
                        .record
                        .as_ref()
                        .filter(|r| r.router_id == work.router.id)
                        .and_then(|r| r.item_id.as_deref())
                        .and_then(crate::radius::username_of_item_id)
                        .map(str::to_string),
                }
            })
            .collect();
        for (i, r) in by_radius.iter().zip(crate::radius::converge(app, &work.router, &items, &nas).await?) {
            results[*i] = Some(r);
        }
    }
    if !by_api.is_empty() && !whole {
        let session = pool.session(app, work.router.tenant_id, work.router.id, &work.endpoint).await;
        let desired: Vec<Desired> = by_api.iter().map(|i| work.items[*i].desired.clone()).collect();
        for (i, r) in by_api.iter().zip(routeros::provision::provision_in_parts(&session, &desired).await) {
            results[*i] = Some(r);
        }
    }
    Ok(results.into_iter().map(|r| r.expect("every item has a result")).collect())
}

/// Full comparison of one router with the table: drift repaired, leftovers removed, foreign
/// accounts reported.
pub async fn reconcile_router(
    app: &App,
    pool: &RouterPool,
    tenant: Uuid,
    router: Uuid,
) -> Result<Option<RouterReconcile>> {
    let Some(mut work) = load_whole_router(app, tenant, router).await? else {
        return Ok(None);
    };
    if work.router.access_mode == AccessMode::Radius {
        // The logins' answers first; then the router through its API with only what it still
        // holds itself (static subscribers' queues, vouchers): secrets of ours left from API mode go.
        let radius = converge_radius_router(app, pool, &work, true).await?;
        let (answers, on_router): (Vec<_>, Vec<_>) =
            work.items.iter().cloned().zip(radius).partition(|(i, _)| i.desired.service != Service::Static);
        let (items, results): (Vec<WorkItem>, Vec<_>) = answers.into_iter().unzip();
        let answered = RouterWork {
            router: work.router.clone(),
            endpoint: work.endpoint.clone(),
            items,
            radius_secret_sealed: None,
            vouchers: Vec::new(),
        };
        record_outcomes(app, &answered, &results).await?;
        work.items = on_router.into_iter().map(|(i, _)| i).collect();
    }
    let session = pool.session(app, tenant, router, &work.endpoint).await;
    let desired: Vec<Desired> =
        work.items.iter().map(|i| i.desired.clone()).chain(work.vouchers.iter().cloned()).collect();
    let report = session
        .with_retry(|conn| {
            let desired = desired.clone();
            async move { routeros::provision::reconcile_router(&conn, &desired).await }
        })
        .await;
    match report {
        Ok(report) => {
            // Subscribers first, then vouchers: only the subscribers' outcomes are recorded here.
            let results: Vec<std::result::Result<Provisioned, RouterError>> =
                report.results.iter().take(work.items.len()).map(|(_, r)| r.clone()).collect();
            record_outcomes(app, &work, &results).await?;
            let failed = results.iter().filter(|r| r.is_err()).count();
            crate::reconcile::store_report(app, tenant, router, work.items.len(), failed, &report).await?;
            tracing::info!(router = %router, repaired = report.repaired, stale_removed = report.stale_removed, unknown = report.unknown.len(), "router reconciled");
            Ok(Some(report))
        }
        Err(e) => {
            record_failure(app, &work, &e).await?;
            crate::reconcile::store_failure(app, tenant, router, e.code(), &e.to_string()).await?;
            Err(Error::Unavailable { detail: e.to_string() })
        }
    }
}
