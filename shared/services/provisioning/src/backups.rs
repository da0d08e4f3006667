//! Router configuration backups, the worker's side: taking a snapshot (asked for, scheduled, or
//! before a bulk change), restoring chosen menus from one, and the daily sweep (the ISP's
//! schedule, pruning to the ISP's `keep`, the on-router daily backup's scheduler entry).
//! Everything is safe to repeat: the system's own backups have ids derived from what they are
//! for, a restore converges the router to the backup and changes nothing the second time.

use crate::pool::{RouterPool, open_router};
use chrono::{DateTime, Duration, DurationRound, Utc};
use domain::router_config::{BackupReason, BackupStatus, RestoreStatus, RouterBackup, RouterBackupSettings};
use domain::tenant::Tenant;
use domain::work::WorkError;
use domain::{Error, Result, ids};
use kernel::App;
use kernel::support::StoreResultExt;
use network::backups::{
    backup_item, delete_backup, find_backup, find_restore, load_snapshot, new_backup, recent_backups, restore_item,
    store_snapshot,
};
use network::routers::live_router;
use routeros::RouterError;
use store::{Conflict, StoreError, Tx, keys};
use uuid::Uuid;

/// Subscribers converged on one router in one batch from which on a snapshot is taken first.
pub const BULK_BACKUP_THRESHOLD: usize = 20;

/// What a try at the router came to.
enum Taken {
    Done(RouterBackup),
    /// The router could not be read: the record says why.
    Failed(RouterBackup, RouterError),
}

/// Reads the router and stores the snapshot; the record is written by the caller.
async fn take(app: &App, pool: &RouterPool, mut backup: RouterBackup) -> Result<Taken> {
    let Some(rec) =
        live_router(app.store.get_item(&keys::router(backup.tenant_id, backup.router_id, "", None)).await.or_500()?)?
    else {
        return Err(Error::not_found("router"));
    };
    let (router, ep) = open_router(app, rec)?;
    let session = pool.session(app, router.tenant_id, router.id, &ep).await;
    match session.with_retry(|conn| async move { routeros::backup::snapshot(&conn).await }).await {
        Ok(snap) => {
            store_snapshot(app, &mut backup, snap).await?;
            Ok(Taken::Done(backup))
        }
        Err(e) => {
            backup.status = BackupStatus::Failed;
            backup.error = Some(e.to_string());
            Ok(Taken::Failed(backup, e))
        }
    }
}

/// `RouterBackupRequested`: takes the pending backup. A router that cannot be reached now is
/// retried by the queue (the record shows the last error); one that refuses fails it.
pub async fn take_requested(
    app: &App,
    pool: &RouterPool,
    tenant: Uuid,
    router: Uuid,
    id: Uuid,
) -> std::result::Result<(), WorkError> {
    let Some(before) = find_backup(app, tenant, router, id).await? else { return Ok(()) };
    if before.status != BackupStatus::Pending {
        return Ok(());
    }
    let taken = match take(app, pool, before.clone()).await {
        Err(Error::NotFound { .. }) => {
            let mut gone = before.clone();
            gone.status = BackupStatus::Failed;
            gone.error = Some("the router was deleted".into());
            Taken::Failed(gone, RouterError::Refused("the router was deleted".into()))
        }
        other => other?,
    };
    let (mut after, retry) = match taken {
        Taken::Done(b) => (b, None),
        Taken::Failed(mut b, e) if e.is_transient() => {
            // Still pending: the queue brings the message back.
            b.status = BackupStatus::Pending;
            (b, Some(e.to_string()))
        }
        Taken::Failed(b, _) => (b, None),
    };
    after.version = before.version + 1;
    let mut tx = Tx::new();
    tx.put_versioned(backup_item(&after)?, before.version);
    match app.store.commit(tx).await {
        Ok(()) | Err(StoreError::Conflict(Conflict::Version)) => {}
        Err(e) => return Err(WorkError::from(kernel::support::store_err(e))),
    }
    match retry {
        Some(e) => Err(WorkError::Retry(e)),
        None => Ok(()),
    }
}

/// The system's own backup with a derived `id`: taken unless it already was; a failed one is
/// tried again. Returns the backup (completed or failed).
pub async fn take_once(
    app: &App,
    pool: &RouterPool,
    tenant: Uuid,
    router: Uuid,
    id: Uuid,
    reason: BackupReason,
) -> Result<RouterBackup> {
    let existing = find_backup(app, tenant, router, id).await?;
    if let Some(b) = existing.as_ref().filter(|b| b.status == BackupStatus::Completed) {
        return Ok(b.clone());
    }
    let fresh = new_backup(tenant, router, id, reason, None, app.now());
    let mut after = match take(app, pool, fresh).await? {
        Taken::Done(b) | Taken::Failed(b, _) => b,
    };
    let mut tx = Tx::new();
    match &existing {
        Some(before) => {
            after.version = before.version + 1;
            tx.put_versioned(backup_item(&after)?, before.version);
        }
        None => tx.put_new(backup_item(&after)?, Conflict::Exists),
    }
    match app.store.commit(tx).await {
        Ok(()) => Ok(after),
        // Another try got there first: its record stands.
        Err(StoreError::Conflict(_)) => {
            find_backup(app, tenant, router, id).await?.ok_or_else(|| Error::Internal("backup record vanished".into()))
        }
        Err(e) => Err(kernel::support::store_err(e)),
    }
}

/// Before a bulk change on a router: one snapshot per router per hour, however many batches the
/// change takes. A router that cannot be read is the change's problem, not the backup's: logged.
pub async fn before_bulk_change(app: &App, pool: &RouterPool, tenant: Uuid, router: Uuid) {
    let hour = app.now().duration_trunc(Duration::hours(1)).unwrap_or(app.now());
    let id = ids::derived_id(hour, &format!("before-bulk:{tenant}:{router}:{}", hour.to_rfc3339()));
    match take_once(app, pool, tenant, router, id, BackupReason::BeforeBulkChange).await {
        Ok(b) if b.status == BackupStatus::Completed => {}
        Ok(b) => tracing::warn!(router = %router, error = ?b.error, "no backup before the bulk change"),
        Err(e) => tracing::warn!(router = %router, error = %e, "no backup before the bulk change"),
    }
}

/// `RouterRestoreRequested`: a safety backup of the router as it is, then the chosen menus
/// brought back to the backup. Repeated, it finds the restore applied (or converges again).
pub async fn restore(
    app: &App,
    pool: &RouterPool,
    tenant: Uuid,
    router: Uuid,
    id: Uuid,
) -> std::result::Result<(), WorkError> {
    let Some(before) = find_restore(app, tenant, router, id).await? else { return Ok(()) };
    if before.status != RestoreStatus::Pending {
        return Ok(());
    }
    let mut after = before.clone();
    after.version = before.version + 1;
    let outcome = apply_restore(app, pool, &mut after).await;
    let retry = match outcome {
        Ok(changes) => {
            after.status = RestoreStatus::Applied;
            after.applied_at = Some(app.now());
            after.changes = changes;
            after.error = None;
            None
        }
        Err(RestoreFault::Router(e)) if e.is_transient() => {
            after.error = Some(e.to_string());
            Some(e.to_string())
        }
        Err(RestoreFault::Router(e)) => {
            after.status = RestoreStatus::Failed;
            after.error = Some(e.to_string());
            None
        }
        Err(RestoreFault::Other(Error::Unavailable { detail })) => {
            after.error = Some(detail.clone());
            Some(detail)
        }
        Err(RestoreFault::Other(e)) => {
            after.status = RestoreStatus::Failed;
            after.error = Some(e.to_string());
            None
        }
    };
    let mut tx = Tx::new();
    tx.put_versioned(restore_item(&after)?, before.version);
    match app.store.commit(tx).await {
        Ok(()) | Err(StoreError::Conflict(Conflict::Version)) => {}
        Err(e) => return Err(WorkError::from(kernel::support::store_err(e))),
    }
    if after.status == RestoreStatus::Applied {
        tracing::info!(router = %router, restore = %id, changes = ?after.changes, "router restored");
    }
    match retry {
        Some(e) => Err(WorkError::Retry(e)),
        None => Ok(()),
    }
}

enum RestoreFault {
    Router(RouterError),
    Other(Error),
}

impl From<Error> for RestoreFault {
    fn from(e: Error) -> Self {
        RestoreFault::Other(e)
    }
}

async fn apply_restore(
    app: &App,
    pool: &RouterPool,
    restore: &mut domain::router_config::RouterRestore,
) -> std::result::Result<std::collections::BTreeMap<String, domain::router_config::RestoreCounts>, RestoreFault> {
    let (tenant, router) = (restore.tenant_id, restore.router_id);
    let backup = find_backup(app, tenant, router, restore.backup_id)
        .await?
        .ok_or_else(|| Error::not_found("backup (deleted since the restore was asked for)"))?;
    let snap = load_snapshot(app, &backup).await?;
    let safety_id = ids::derived_id(restore.requested_at, &format!("before-restore:{}", restore.id));
    let safety = take_once(app, pool, tenant, router, safety_id, BackupReason::BeforeRestore).await?;
    if safety.status != BackupStatus::Completed {
        return Err(RestoreFault::Other(Error::Unavailable {
            detail: format!("no safety backup: {}", safety.error.unwrap_or_default()),
        }));
    }
    restore.safety_backup_id = Some(safety.id);
    let Some(rec) = live_router(app.store.get_item(&keys::router(tenant, router, "", None)).await.or_500()?)? else {
        return Err(Error::not_found("router").into());
    };
    let (r, ep) = open_router(app, rec)?;
    let session = pool.session(app, tenant, r.id, &ep).await;
    let menus = restore.menus.clone();
    session
        .with_retry(|conn| {
            let (snap, menus) = (&snap, &menus);
            async move { routeros::backup::restore(&conn, snap, menus).await }
        })
        .await
        .map_err(RestoreFault::Router)
}

/// `RouterBackupSweepRequested` (daily): for each of the ISP's routers, the on-router daily
/// backup's scheduler entry as the ISP wants it, a scheduled backup when one is due, and the
/// backups beyond the ISP's `keep` deleted. A router that cannot be reached is logged (its
/// scheduled backup is recorded as failed) and does not hold up the others.
pub async fn sweep(app: &App, pool: &RouterPool, tenant: Uuid, at: DateTime<Utc>) -> Result<()> {
    let Some(t) = app.store.get::<Tenant>(&keys::tenant(tenant, None)).await.or_500()? else { return Ok(()) };
    let settings = t.router_backups;
    let routers = network::routers::all_router_records(app, tenant).await?;
    for rec in routers {
        let router = rec.router.id;
        if let Err(e) = sweep_router(app, pool, rec, &settings, at).await {
            tracing::warn!(router = %router, error = %e, "router backup sweep");
        }
    }
    Ok(())
}

async fn sweep_router(
    app: &App,
    pool: &RouterPool,
    rec: network::routers::RouterRecord,
    settings: &RouterBackupSettings,
    at: DateTime<Utc>,
) -> Result<()> {
    let (router, ep) = open_router(app, rec)?;
    let (tenant, id) = (router.tenant_id, router.id);
    let session = pool.session(app, tenant, id, &ep).await;
    let wanted = settings.on_router_daily;
    match session.with_retry(|conn| async move { routeros::backup::ensure_on_router_backup(&conn, wanted).await }).await
    {
        Ok(true) => tracing::info!(router = %id, wanted, "on-router daily backup entry converged"),
        Ok(false) => {}
        Err(e) => tracing::warn!(router = %id, error = %e, "on-router daily backup entry"),
    }
    let mut recent = recent_backups(app, tenant, id, 500).await?;
    let last = recent.iter().filter(|b| b.status == BackupStatus::Completed).filter_map(|b| b.taken_at).max();
    if settings.due(last, at) {
        let day = at.duration_trunc(Duration::days(1)).unwrap_or(at);
        let bid = ids::derived_id(day, &format!("scheduled:{tenant}:{id}:{}", day.date_naive()));
        let b = take_once(app, pool, tenant, id, bid, BackupReason::Scheduled).await?;
        if b.status != BackupStatus::Completed {
            tracing::warn!(router = %id, error = ?b.error, "scheduled backup failed");
        }
        // The list read above, with this backup as it now is (no second Query).
        recent.retain(|r| r.id != b.id);
        recent.push(b);
    }
    // Newest first: the completed ones past `keep`, and failed ones older than a week, go.
    recent.sort_by_key(|b| std::cmp::Reverse(b.taken_at.unwrap_or(b.requested_at)));
    let mut kept = 0u32;
    for b in recent {
        let prune = match b.status {
            BackupStatus::Completed => {
                kept += 1;
                kept > settings.keep
            }
            BackupStatus::Failed => b.requested_at + Duration::days(7) < at,
            BackupStatus::Pending => false,
        };
        if prune {
            delete_backup(app, &b).await?;
        }
    }
    Ok(())
}
