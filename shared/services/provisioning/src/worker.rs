//! The provisioning worker's batch: what each queue message asks for ([`work_for`], from the
//! event's name and ids only) and running a batch of them ([`process`]): subscription work grouped
//! by router, routers in parallel, full reconciles and health checks.

use crate::converge::*;
use crate::pool::RouterPool;
use domain::event::{
    EventName, EventPayload, NetworkEvent, PackageUpdated, RouterBackupNamed, RouterNamed, RouterRestoreNamed,
    SubscriptionChanged, TenantJobRequested, VoucherPlanUpdated, VouchersOnRouters,
};
use domain::work::WorkError;
use kernel::App;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Per message: done, or why not (router faults and store errors are retried).
pub type Answers = BTreeMap<String, std::result::Result<(), WorkError>>;
type TargetResults = BTreeMap<SubscriptionTarget, std::result::Result<(), String>>;
type GroupResult = std::result::Result<TargetResults, (Vec<SubscriptionTarget>, String)>;

/// What one queue message asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Work {
    /// Converge subscriptions on these routers (a moved subscription: its new and its old one).
    Subscriptions(Vec<SubscriptionTarget>),
    /// Compare whole routers with the table.
    Routers { tenant: Uuid, routers: Vec<Uuid> },
    /// Every router of the ISP (a package's profile or speed changed: `bulk`, a snapshot of each
    /// router first; the hourly reconcile).
    AllRouters { tenant: Uuid, bulk: bool },
    /// Check the health of every router of the ISPs the job names (a page, or one ISP).
    Health(TenantJobRequested),
    /// Take this pending configuration backup.
    Backup { tenant: Uuid, router: Uuid, backup: Uuid },
    /// Apply this pending restore.
    Restore { tenant: Uuid, router: Uuid, restore: Uuid },
    /// The ISP's daily backup sweep.
    BackupSweep { tenant: Uuid, at: chrono::DateTime<chrono::Utc> },
    /// Converge a batch's chunk, or some of its vouchers, on the batch's routers.
    Vouchers { tenant: Uuid, batch: Uuid, chunk: Option<u32>, seqs: Vec<u32> },
    /// End the ISP's vouchers whose validity is over as of `at`.
    VoucherExpiry(TenantJobRequested),
    /// Nothing for provisioning (e.g. a package change routers do not see).
    Nothing,
}

/// What provisioning does for an event, by name alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Subscription,
    Router,
    RouterReconcile,
    Health,
    Package,
    Vouchers,
    VoucherPlan,
    VoucherExpiry,
    Backup,
    Restore,
    BackupSweep,
}

/// Exhaustive over the network context's events (a new one must be placed here); the other
/// contexts' events are never provisioning's.
fn kind(name: EventName) -> Option<Kind> {
    use NetworkEvent as N;
    match name {
        EventName::Network(
            N::SubscriptionCreated
            | N::SubscriptionActivated
            | N::SubscriptionSuspended
            | N::SubscriptionRestored
            | N::SubscriptionCancelled
            | N::SubscriptionExpired
            | N::SubscriptionPackageChanged
            | N::SubscriptionExtended
            | N::SubscriptionTurboStarted
            | N::SubscriptionTurboEnded
            | N::SubscriptionRouterMoved
            | N::SubscriptionPasswordReset
            | N::SubscriptionReconcileRequested,
        ) => Some(Kind::Subscription),
        // A router back online may have missed changes whose retries ran out meanwhile.
        EventName::Network(N::RouterUpdated | N::RouterCameBack) => Some(Kind::Router),
        EventName::Network(N::RouterReconcileRequested) => Some(Kind::RouterReconcile),
        EventName::Network(N::RouterHealthCheckRequested) => Some(Kind::Health),
        EventName::Network(N::PackageUpdated) => Some(Kind::Package),
        EventName::Network(N::VouchersGenerated | N::VouchersChanged) => Some(Kind::Vouchers),
        EventName::Network(N::VoucherPlanUpdated) => Some(Kind::VoucherPlan),
        EventName::Network(N::VoucherExpirySweepRequested) => Some(Kind::VoucherExpiry),
        EventName::Network(N::RouterBackupRequested) => Some(Kind::Backup),
        EventName::Network(N::RouterRestoreRequested) => Some(Kind::Restore),
        EventName::Network(N::RouterBackupSweepRequested) => Some(Kind::BackupSweep),
        EventName::Network(
            N::PackageCreated
            | N::PackageDeleted
            | N::PackageOfferSet
            | N::PackageOfferWithdrawn
            | N::PopCreated
            | N::PopUpdated
            | N::PopDeleted
            | N::RouterCreated
            | N::RouterDeleted
            | N::RouterWentOffline
            | N::BulkChunkReady
            | N::VoucherChunkReady
            | N::VoucherLoginRequested,
        )
        | EventName::Platform(_)
        | EventName::Identity(_)
        | EventName::Crm(_)
        | EventName::Billing(_)
        | EventName::Messaging(_) => None,
    }
}

/// Whether the provisioning worker acts on this event (its queue's rule must route exactly these).
pub fn consumes(name: EventName) -> bool {
    kind(name).is_some()
}

/// The provisioning meaning of an event on the bus. Only ids are taken from it: the state
/// itself is always read from the table.
/// A message that names no work can never succeed: [`WorkError::Drop`].
pub fn work_for(detail_type: &str, detail: &serde_json::Value) -> std::result::Result<Work, WorkError> {
    let kind = EventName::parse(detail_type)
        .and_then(kind)
        .ok_or_else(|| WorkError::Drop(format!("provisioning does not handle {detail_type}")))?;
    let drop = |e: String| WorkError::Drop(format!("{detail_type}: {e}"));
    // The frequent jobs name a page of ISPs (or one); everything else is one ISP's.
    let job = || TenantJobRequested::read(detail).map_err(drop);
    let tenant = || -> std::result::Result<Uuid, WorkError> {
        detail
            .get("tenant_id")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| WorkError::Drop(format!("{detail_type} without tenant_id")))
    };
    if let Kind::Health | Kind::VoucherExpiry = kind {
        let job = job()?;
        if job.tenants().is_empty() {
            return Err(WorkError::Drop(format!("{detail_type} without tenant_id")));
        }
        return Ok(if kind == Kind::Health { Work::Health(job) } else { Work::VoucherExpiry(job) });
    }
    let tenant = tenant()?;
    match kind {
        Kind::Subscription => {
            let s = SubscriptionChanged::read(detail).map_err(drop)?;
            let base = SubscriptionTarget {
                tenant,
                customer: s.customer_id,
                subscription: s.subscription_id,
                router: s.router_id,
            };
            let mut targets = vec![base];
            if let Some(prev) = s.previous_router_id.filter(|p| *p != base.router) {
                targets.push(SubscriptionTarget { router: prev, ..base });
            }
            Ok(Work::Subscriptions(targets))
        }
        Kind::Router => match RouterNamed::read(detail).map_err(drop)?.router_id {
            Some(r) => Ok(Work::Routers { tenant, routers: vec![r] }),
            None => Err(drop("no router_id".into())),
        },
        // On demand for one router; hourly (no router named) for all of the ISP's.
        Kind::RouterReconcile => Ok(match RouterNamed::read(detail).map_err(drop)?.router_id {
            Some(r) => Work::Routers { tenant, routers: vec![r] },
            None => Work::AllRouters { tenant, bulk: false },
        }),
        Kind::Health | Kind::VoucherExpiry => Err(drop("a page of ISPs".into())),
        Kind::Package => {
            let p = PackageUpdated::read(detail).map_err(drop)?;
            Ok(if p.provisioning_changed && p.subscriptions > 0 {
                Work::AllRouters { tenant, bulk: true }
            } else {
                Work::Nothing
            })
        }
        Kind::Vouchers => {
            let v = VouchersOnRouters::read(detail).map_err(drop)?;
            Ok(Work::Vouchers { tenant, batch: v.batch_id, chunk: v.chunk, seqs: v.seqs })
        }
        Kind::VoucherPlan => {
            let p = VoucherPlanUpdated::read(detail).map_err(drop)?;
            Ok(if p.provisioning_changed { Work::AllRouters { tenant, bulk: true } } else { Work::Nothing })
        }
        Kind::Backup => {
            let b = RouterBackupNamed::read(detail).map_err(drop)?;
            Ok(Work::Backup { tenant, router: b.router_id, backup: b.backup_id })
        }
        Kind::Restore => {
            let r = RouterRestoreNamed::read(detail).map_err(drop)?;
            Ok(Work::Restore { tenant, router: r.router_id, restore: r.restore_id })
        }
        Kind::BackupSweep => Ok(Work::BackupSweep { tenant, at: job()?.requested_at }),
    }
}

/// Runs a batch of messages: subscription work grouped by router so each router gets one
/// connection and one pipelined run for all its messages; routers in parallel. Returns, per
/// message, whether it is done.
pub async fn process(app: &App, pool: &RouterPool, messages: &[(String, Work)]) -> Answers {
    use futures::StreamExt;
    let mut by_router: BTreeMap<(Uuid, Uuid), Vec<SubscriptionTarget>> = BTreeMap::new();
    let mut whole: Vec<(Uuid, Uuid)> = Vec::new();
    // Routers a bulk change reaches: a snapshot of each comes first.
    let mut bulk: std::collections::BTreeSet<(Uuid, Uuid)> = Default::default();
    let mut answer: Answers = BTreeMap::new();
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
            Work::AllRouters { tenant, bulk: is_bulk } => match network::routers::all_router_ids(app, *tenant).await {
                Ok(ids) => {
                    if *is_bulk {
                        bulk.extend(ids.iter().map(|r| (*tenant, *r)));
                    }
                    whole.extend(ids.into_iter().map(|r| (*tenant, r)))
                }
                Err(e) => {
                    answer.insert(id.clone(), Err(WorkError::from(e)));
                }
            },
            // A page's ISPs all at once (the router checks in flight are bounded in
            // `health`): their checks wait on the routers, so the worker's time is shared.
            Work::Health(job) => {
                let done = kernel::schedule::each_tenant(
                    app,
                    NetworkEvent::RouterHealthCheckRequested,
                    job,
                    kernel::schedule::TENANTS_PER_PAGE,
                    |t| async move { crate::health::check_tenant(app, pool, t, job.requested_at).await.map(drop) },
                )
                .await;
                if let Err(e) = done {
                    answer.insert(id.clone(), Err(WorkError::from(e)));
                }
            }
            Work::Vouchers { tenant, batch, chunk, seqs } => {
                match crate::vouchers::converge_vouchers(app, pool, *tenant, *batch, *chunk, seqs).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        answer.insert(id.clone(), Err(WorkError::Retry(e)));
                    }
                    Err(e) => {
                        answer.insert(id.clone(), Err(WorkError::from(e)));
                    }
                }
            }
            Work::VoucherExpiry(job) => {
                let done = kernel::schedule::each_tenant(
                    app,
                    NetworkEvent::VoucherExpirySweepRequested,
                    job,
                    16,
                    |t| async move {
                        let n = crate::vouchers::expire_due(app, t, job.requested_at).await?;
                        if n > 0 {
                            tracing::info!(tenant = %t, expired = n, "vouchers expired");
                        }
                        Ok(())
                    },
                )
                .await;
                if let Err(e) = done {
                    answer.insert(id.clone(), Err(WorkError::from(e)));
                }
            }
            Work::Backup { tenant, router, backup } => {
                if let Err(e) = crate::backups::take_requested(app, pool, *tenant, *router, *backup).await {
                    answer.insert(id.clone(), Err(e));
                }
            }
            Work::Restore { tenant, router, restore } => {
                if let Err(e) = crate::backups::restore(app, pool, *tenant, *router, *restore).await {
                    answer.insert(id.clone(), Err(e));
                }
            }
            Work::BackupSweep { tenant, at } => {
                if let Err(e) = crate::backups::sweep(app, pool, *tenant, *at).await {
                    answer.insert(id.clone(), Err(WorkError::from(e)));
                }
            }
            Work::Nothing => {}
        }
    }
    whole.sort();
    for (key, targets) in &by_router {
        if targets.len() >= crate::backups::BULK_BACKUP_THRESHOLD {
            bulk.insert(*key);
        }
    }
    for (tenant, router) in &bulk {
        crate::backups::before_bulk_change(app, pool, *tenant, *router).await;
    }
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
            Work::AllRouters { tenant, .. } => {
                failed_routers.iter().find(|((t, _), _)| t == tenant).map(|(_, e)| e.clone())
            }
            Work::Health(_)
            | Work::Vouchers { .. }
            | Work::VoucherExpiry(_)
            | Work::Backup { .. }
            | Work::Restore { .. }
            | Work::BackupSweep { .. }
            | Work::Nothing => None,
        };
        if let Some(e) = failure {
            answer.insert(id.clone(), Err(WorkError::Retry(e)));
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
            Work::AllRouters { tenant: t, bulk: false }
        );
        assert_eq!(
            work_for("RouterCameBack", &json!({"tenant_id": t, "router_id": r})).unwrap(),
            Work::Routers { tenant: t, routers: vec![r] }
        );
        assert_eq!(
            work_for("RouterHealthCheckRequested", &json!({"tenant_ids": [t], "requested_at": "2026-03-10T10:15:00Z"}))
                .unwrap(),
            Work::Health(TenantJobRequested::page(vec![t], "2026-03-10T10:15:00Z".parse().unwrap()))
        );
        assert_eq!(
            work_for("PackageUpdated", &json!({"tenant_id": t, "provisioning_changed": false})).unwrap(),
            Work::Nothing
        );
        assert!(
            matches!(work_for("SubscriptionSuspended", &json!({"tenant_id": t})), Err(WorkError::Drop(_))),
            "ids are required"
        );
        assert!(work_for("InvoiceIssued", &json!({"tenant_id": t})).is_err());
        assert!(work_for("RouterCameBack", &json!({})).is_err(), "no tenant, no work");
    }
}
