//! Router configuration backups, the API's side and the storage both sides share: a backup's
//! snapshot is a JSON object in the versioned backups bucket (its secrets sealed, bound to the
//! backup), its record is in the router's partition. Backups are taken, and restores applied, by
//! the provisioning worker (the only function that reaches routers): asking for one writes the
//! pending record and its event in one transaction.

use crate::routers::get_router;
use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::event::{DomainEvent, NetworkEvent, RouterBackupNamed, RouterRestoreNamed};
use domain::role::Permission;
use domain::router_config::{
    self as config, BackupReason, BackupStatus, ConfigSnapshot, MenuDiff, RestoreStatus, RouterBackup, RouterRestore,
};
use domain::{Error, Result, Validation, ids};
use kernel::App;
use kernel::idempotency::{IdempotentRequest, Outcome, commit_create, record};
use kernel::support::{Audited, StoreResultExt, audit, decoded, snapshot};
use serde::{Deserialize, Serialize};
use store::{Conflict, Owner, Page, Query, Store, Tx, keys};
use uuid::Uuid;

pub const BACKUP_TYPE: &str = "ROUTER_BACKUP";
pub const RESTORE_TYPE: &str = "ROUTER_RESTORE";
/// Backups a router's listing reads at most when the sweep prunes (far above any `keep`).
const PRUNE_WINDOW: usize = 500;

/// The stored object: the snapshot and what it belongs to.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredSnapshot {
    format: u32,
    tenant_id: Uuid,
    router_id: Uuid,
    backup_id: Uuid,
    taken_at: DateTime<Utc>,
    snapshot: ConfigSnapshot,
}

fn secret_aad(tenant: Uuid, backup: Uuid) -> Vec<u8> {
    format!("router-backup:{tenant}:{backup}").into_bytes()
}

fn bucket(app: &App) -> Result<&str> {
    if app.backups_bucket.is_empty() {
        return Err(Error::Unavailable { detail: "router backups are not configured (BACKUPS_BUCKET)".into() });
    }
    Ok(&app.backups_bucket)
}

pub fn backup_keys(b: &RouterBackup) -> store::ItemKeys {
    keys::router_backup(b.tenant_id, b.router_id, b.id)
}

fn restore_keys(r: &RouterRestore) -> store::ItemKeys {
    keys::router_restore(r.tenant_id, r.router_id, r.id)
}

pub fn backup_item(b: &RouterBackup) -> Result<store::Item> {
    Store::encode(&backup_keys(b), BACKUP_TYPE, b, Some(b.version)).or_500()
}

pub fn restore_item(r: &RouterRestore) -> Result<store::Item> {
    Store::encode(&restore_keys(r), RESTORE_TYPE, r, Some(r.version)).or_500()
}

/// A new backup record (pending until its snapshot is stored).
pub fn new_backup(
    tenant: Uuid,
    router: Uuid,
    id: Uuid,
    reason: BackupReason,
    by: Option<Uuid>,
    now: DateTime<Utc>,
) -> RouterBackup {
    RouterBackup {
        id,
        tenant_id: tenant,
        router_id: router,
        reason,
        status: BackupStatus::Pending,
        requested_by: by,
        requested_at: now,
        taken_at: None,
        routeros_version: None,
        items: Default::default(),
        size_bytes: None,
        object_key: None,
        object_version: None,
        error: None,
        version: 1,
    }
}

/// Seals the snapshot's secrets, stores it, and fills in the backup's record (completed). The
/// record itself is the caller's to write.
pub async fn store_snapshot(app: &App, backup: &mut RouterBackup, mut snap: ConfigSnapshot) -> Result<()> {
    let bucket = bucket(app)?;
    let aad = secret_aad(backup.tenant_id, backup.id);
    let items = snap.counts();
    snap.map_secrets(|v| Ok::<_, Error>(app.secrets.seal(v.as_bytes(), &aad)))?;
    let now = app.now();
    let stored = StoredSnapshot {
        format: 1,
        tenant_id: backup.tenant_id,
        router_id: backup.router_id,
        backup_id: backup.id,
        taken_at: now,
        snapshot: snap.clone(),
    };
    let bytes = serde_json::to_vec(&stored).map_err(|e| Error::Internal(e.to_string()))?;
    let key = keys::router_backup_object(backup.tenant_id, backup.router_id, backup.id);
    let size = bytes.len() as u64;
    let version = kernel::objects::put(bucket, &key, bytes, "application/json").await?;
    backup.status = BackupStatus::Completed;
    backup.taken_at = Some(now);
    backup.routeros_version = snap.routeros_version.clone();
    backup.items = items;
    backup.size_bytes = Some(size);
    backup.object_key = Some(key);
    backup.object_version = version;
    backup.error = None;
    Ok(())
}

/// A completed backup's snapshot, its secrets open.
pub async fn load_snapshot(app: &App, backup: &RouterBackup) -> Result<ConfigSnapshot> {
    let (Some(key), BackupStatus::Completed) = (&backup.object_key, backup.status) else {
        return Err(Error::Conflict {
            code: "backup_not_completed",
            detail: "this backup has no snapshot (not taken yet, or it failed)".into(),
            field: None,
        });
    };
    let bytes = kernel::objects::get(bucket(app)?, key, backup.object_version.as_deref())
        .await?
        .ok_or_else(|| Error::Internal(format!("the snapshot of backup {} is missing from storage", backup.id)))?;
    let stored: StoredSnapshot =
        serde_json::from_slice(&bytes).map_err(|e| Error::Internal(format!("backup {}: {e}", backup.id)))?;
    if stored.backup_id != backup.id || stored.tenant_id != backup.tenant_id || stored.router_id != backup.router_id {
        return Err(Error::Internal(format!("the object of backup {} belongs to another backup", backup.id)));
    }
    let mut snap = stored.snapshot;
    let aad = secret_aad(backup.tenant_id, backup.id);
    snap.map_secrets(|v| kernel::support::open_text(&app.secrets, v, &aad, "backed-up secret"))?;
    Ok(snap)
}

/// Deletes a backup: its object's version for good, then its record.
pub async fn delete_backup(app: &App, backup: &RouterBackup) -> Result<()> {
    if let Some(key) = &backup.object_key {
        kernel::objects::delete(bucket(app)?, key, backup.object_version.as_deref()).await?;
    }
    let mut tx = Tx::new();
    tx.delete(&backup_keys(backup));
    app.store.commit(tx).await.or_500()
}

pub async fn find_backup(app: &App, tenant: Uuid, router: Uuid, id: Uuid) -> Result<Option<RouterBackup>> {
    decoded(app.store.get_item(&keys::router_backup(tenant, router, id)).await.or_500()?)
}

pub async fn find_restore(app: &App, tenant: Uuid, router: Uuid, id: Uuid) -> Result<Option<RouterRestore>> {
    decoded(app.store.get_item(&keys::router_restore(tenant, router, id)).await.or_500()?)
}

/// A router's backups, newest first, up to `max` (the sweep's: when the last one was taken, and
/// which to prune).
pub async fn recent_backups(app: &App, tenant: Uuid, router: Uuid, max: usize) -> Result<Vec<RouterBackup>> {
    let q = Query::table(keys::router_pk(tenant, router)).prefix(keys::BACKUP_SK_PREFIX).newest_first();
    app.store.query_all(q, max.min(PRUNE_WINDOW)).await.or_500()
}

// ---- the API ----------------------------------------------------------------------------------

/// What asking the worker for a backup or a restore writes besides its pending record.
struct Asked {
    event: NetworkEvent,
    action: &'static str,
    entity: &'static str,
}

/// The pending record, its event (the worker's message), the audit entry and the idempotency
/// record, in one transaction; a repeat that lost the race answers with the first answer (202).
#[allow(clippy::too_many_arguments)]
async fn commit_asked<T: Serialize>(
    app: &App,
    actor: &Actor,
    tid: Uuid,
    item: store::Item,
    asked: Asked,
    detail: impl Serialize,
    id: Uuid,
    pending: T,
    idem: &IdempotentRequest,
) -> Result<Outcome<T>> {
    let now = app.now();
    let mut tx = Tx::new();
    tx.put_new(item, Conflict::Exists);
    tx.put_event(&DomainEvent::new(
        asked.event,
        Some(tid),
        serde_json::to_value(detail).map_err(|e| Error::Internal(e.to_string()))?,
        now,
    ));
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: asked.action,
            entity: asked.entity,
            id: id.to_string(),
            before: None,
            after: Some(snapshot(&pending)),
        },
        now,
    ));
    tx.put_idempotency(Owner::Tenant(tid), &idem.key_hash(actor.user_id), &record(idem, 202, &pending, app)?);
    commit_create(app, tx, Owner::Tenant(tid), actor.user_id, Some(idem), pending).await
}

/// `POST /v1/routers/{id}/backups`: a backup now (taken by the provisioning worker within
/// seconds; the answer is the pending record to poll).
pub async fn request_backup(
    app: &App,
    actor: &Actor,
    router_id: Uuid,
    idem: &IdempotentRequest,
) -> Result<Outcome<RouterBackup>> {
    actor.require(Permission::NetworkWrite)?;
    let router = get_router(app, actor, router_id).await?;
    bucket(app)?;
    let tid = router.tenant_id;
    let now = app.now();
    let backup = new_backup(tid, router.id, ids::new_id(), BackupReason::OnDemand, Some(actor.real_actor()), now);
    let event = RouterBackupNamed { router_id: router.id, backup_id: backup.id };
    let item = backup_item(&backup)?;
    let asked = Asked {
        event: NetworkEvent::RouterBackupRequested,
        action: "router_backup.requested",
        entity: "router_backup",
    };
    commit_asked(app, actor, tid, item, asked, event, backup.id, backup, idem).await
}

/// `GET /v1/routers/{id}/backups`: newest first.
pub async fn list_backups(
    app: &App,
    actor: &Actor,
    router_id: Uuid,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<RouterBackup>> {
    // The router and the page read at once; the page is shown only if the router may be seen.
    let tid = actor.tenant()?;
    let q = Query::table(keys::router_pk(tid, router_id)).prefix(keys::BACKUP_SK_PREFIX).newest_first().limit(limit);
    let qid = format!("router-backups:{router_id}");
    let (_, page) = futures::try_join!(get_router(app, actor, router_id), async {
        app.store.query_page(Owner::Tenant(tid), &qid, q, cursor).await.or_500()
    })?;
    Ok(page)
}

/// The router and one of its backups, in one BatchGetItem.
async fn router_and_backup(
    app: &App,
    actor: &Actor,
    router_id: Uuid,
    id: Uuid,
) -> Result<(domain::network::Router, RouterBackup)> {
    let tid = actor.tenant()?;
    let (router, mut items) =
        crate::routers::router_with(app, actor, router_id, &[keys::router_backup(tid, router_id, id)]).await?;
    let backup: Option<RouterBackup> = decoded(items.remove(0))?;
    Ok((router, backup.ok_or_else(|| Error::not_found("backup"))?))
}

pub async fn get_backup(app: &App, actor: &Actor, router_id: Uuid, id: Uuid) -> Result<RouterBackup> {
    Ok(router_and_backup(app, actor, router_id, id).await?.1)
}

/// What changed between two backups of a router.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BackupDiff {
    pub from: RouterBackup,
    pub to: RouterBackup,
    /// Only the menus that differ; secrets are compared, never shown.
    pub menus: Vec<MenuDiff>,
}

/// `GET /v1/routers/{id}/backup-diff?from=&to=`.
pub async fn diff_backups(app: &App, actor: &Actor, router_id: Uuid, from: Uuid, to: Uuid) -> Result<BackupDiff> {
    let tid = actor.tenant()?;
    let both = [keys::router_backup(tid, router_id, from), keys::router_backup(tid, router_id, to)];
    let mut found = crate::routers::router_with(app, actor, router_id, &both).await?.1.into_iter();
    let a: Option<RouterBackup> = decoded(found.next().flatten())?;
    let b: Option<RouterBackup> = decoded(found.next().flatten())?;
    let mut v = Validation::new();
    if a.is_none() {
        v.add("from", "is not a backup of this router");
    }
    if b.is_none() {
        v.add("to", "is not a backup of this router");
    }
    v.finish()?;
    let (a, b) = (a.expect("checked"), b.expect("checked"));
    let (sa, sb) = futures::try_join!(load_snapshot(app, &a), load_snapshot(app, &b))?;
    Ok(BackupDiff { menus: config::diff(&sa, &sb), from: a, to: b })
}

/// `GET /v1/routers/{id}/backups/{backup_id}/script`: the backup as a RouterOS script, passwords
/// included (the right to see subscribers' passwords; every download is audited).
pub async fn backup_script(app: &App, actor: &Actor, router_id: Uuid, id: Uuid) -> Result<(String, String)> {
    actor.require(Permission::SubscriptionSecretsRead)?;
    let (router, backup) = router_and_backup(app, actor, router_id, id).await?;
    let snap = load_snapshot(app, &backup).await?;
    let taken = backup.taken_at.unwrap_or(backup.requested_at);
    let script = config::to_script(
        &snap,
        &[
            format!("{} ({}), backup {}", router.name, router.host, backup.id),
            format!(
                "taken {} ({})",
                taken.to_rfc3339(),
                serde_json::to_value(backup.reason).unwrap_or_default().as_str().unwrap_or("")
            ),
            "holds passwords: keep it safe".into(),
        ],
    );
    let now = app.now();
    let mut tx = Tx::new();
    tx.put_audit(&audit(
        actor,
        Some(router.tenant_id),
        Audited {
            action: "router_backup.downloaded",
            entity: "router_backup",
            id: backup.id.to_string(),
            before: None,
            after: None,
        },
        now,
    ));
    app.store.commit(tx).await.or_500()?;
    let stem: String = domain::export::file_stem(&router.name);
    Ok((format!("{stem}-{}.rsc", taken.format("%Y%m%d-%H%M")), script))
}

/// `POST /v1/routers/{id}/backups/{backup_id}/restore`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreRequest {
    /// Menu paths, e.g. `/ppp/profile`, `/ip/firewall/filter` (those a backup holds, but
    /// `/interface`).
    pub menus: Vec<String>,
}

/// Asks the provisioning worker to bring the chosen menus back to the backup (after a safety
/// backup of the router as it is). Subscribers' own accounts follow the table again at the next
/// reconcile: a restore repairs what the system does not own, or recovers from a mistake.
pub async fn request_restore(
    app: &App,
    actor: &Actor,
    router_id: Uuid,
    backup_id: Uuid,
    input: RestoreRequest,
    idem: &IdempotentRequest,
) -> Result<Outcome<RouterRestore>> {
    actor.require(Permission::NetworkWrite)?;
    let (router, backup) = router_and_backup(app, actor, router_id, backup_id).await?;
    let tid = router.tenant_id;
    let mut v = Validation::new();
    let mut menus: Vec<String> = Vec::new();
    if input.menus.is_empty() {
        v.add("menus", "name at least one menu");
    }
    for (i, m) in input.menus.iter().enumerate() {
        if !config::restorable_menus().any(|r| r == m) {
            v.add(
                &format!("menus[{i}]"),
                format!(
                    "{m} is not a menu a restore brings back (one of: {})",
                    config::restorable_menus().collect::<Vec<_>>().join(", ")
                ),
            );
        } else if menus.contains(m) {
            v.add(&format!("menus[{i}]"), "each menu once");
        } else {
            menus.push(m.clone());
        }
    }
    v.finish()?;
    if backup.status != BackupStatus::Completed {
        if let Some(first) = kernel::idempotency::stored_answer(app, Owner::Tenant(tid), actor.user_id, idem).await? {
            return Ok(first);
        }
        return Err(Error::Conflict {
            code: "backup_not_completed",
            detail: "only a completed backup can be restored".into(),
            field: None,
        });
    }
    let now = app.now();
    let restore = RouterRestore {
        id: ids::new_id(),
        tenant_id: tid,
        router_id: router.id,
        backup_id,
        menus,
        status: RestoreStatus::Pending,
        requested_by: actor.real_actor(),
        requested_at: now,
        safety_backup_id: None,
        applied_at: None,
        changes: Default::default(),
        error: None,
        version: 1,
    };
    let event = RouterRestoreNamed { router_id: router.id, restore_id: restore.id };
    let item = restore_item(&restore)?;
    let asked = Asked {
        event: NetworkEvent::RouterRestoreRequested,
        action: "router_restore.requested",
        entity: "router_restore",
    };
    commit_asked(app, actor, tid, item, asked, event, restore.id, restore, idem).await
}

/// `GET /v1/routers/{id}/restores/{restore_id}`.
pub async fn get_restore(app: &App, actor: &Actor, router_id: Uuid, id: Uuid) -> Result<RouterRestore> {
    let tid = actor.tenant()?;
    let (_, mut items) =
        crate::routers::router_with(app, actor, router_id, &[keys::router_restore(tid, router_id, id)]).await?;
    let restore: Option<RouterRestore> = decoded(items.remove(0))?;
    restore.ok_or_else(|| Error::not_found("restore"))
}
