//! Bulk actions on a filtered set of subscriptions (`/v1/subscriptions/bulk`), asynchronous through
//! the same job machinery as imports: the matching subscriptions are listed once (from the same
//! indexes as `GET /v1/subscriptions`, within the caller's scope), stored as chunks with one
//! `BulkChunkReady` event each, and `worker-imports` applies the change to each subscription in the
//! change's own transaction together with the row's marker, so a redelivered chunk applies nothing
//! twice.

use crate::chunks::*;
use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::event::NetworkEvent;
use domain::import::RowError;
use domain::role::Permission;
use domain::subscription::SubscriptionStatus;
use domain::{Error, Result, ids};
use kernel::App;
use kernel::idempotency::{IdempotentRequest, Outcome};
use kernel::support::{Audited, StoreResultExt, audit, decoded, store_err};
use serde::{Deserialize, Serialize};
use store::{Conflict, Page, Store, Tx, keys};
use subscriptions::subscriptions::{Change, ChangeRequest, SubscriptionFilter, apply, list_subscriptions};
use uuid::Uuid;

/// At most this many subscriptions per bulk action.
pub const MAX_TARGETS: usize = 20_000;
const CHUNK_TARGETS: usize = 100;

/// The subscription change a bulk action applies.
fn change_of(action: &BulkAction) -> Change {
    match action {
        BulkAction::Extend { days } => Change::Extend { days: *days },
        BulkAction::ChangePackage { package_id } => Change::ChangePackage { package_id: *package_id },
        BulkAction::Suspend { reason } => Change::Suspend { reason: reason.clone() },
        BulkAction::Restore => Change::Restore,
        BulkAction::MoveRouter { router_id } => Change::MoveRouter { router_id: *router_id },
    }
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkFilter {
    pub status: Option<SubscriptionStatus>,
    pub package_id: Option<Uuid>,
    pub router_id: Option<Uuid>,
    pub expiring_after: Option<DateTime<Utc>>,
    pub expiring_before: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    /// Which subscriptions (as `GET /v1/subscriptions` filters them; operators: their subtree).
    #[serde(default)]
    pub filter: BulkFilter,
    pub action: BulkAction,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Target {
    customer_id: Uuid,
    subscription_id: Uuid,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct BulkChunk {
    /// Row numbers continue across chunks (1-based).
    first_row: usize,
    targets: Vec<Target>,
}

/// Lists the matching subscriptions and queues the action on them.
pub async fn start_bulk(
    app: &App,
    actor: &Actor,
    input: BulkRequest,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<ImportJob>> {
    actor.require(Permission::CustomersWrite)?;
    let tid = actor.tenant()?;
    // A repeated request (an extension!) must not queue the change a second time.
    if let Some(first) = earlier_answer(app, actor, idem).await? {
        return Ok(first);
    }
    change_of(&input.action).validate()?;
    let f = input.filter;
    let filter = SubscriptionFilter {
        status: f.status,
        package_id: f.package_id,
        router_id: f.router_id,
        expiring_after: f.expiring_after,
        expiring_before: f.expiring_before,
    };
    let mut targets = Vec::new();
    let mut cursor = None;
    loop {
        let page = list_subscriptions(app, actor, filter.clone(), 200, cursor.as_deref()).await?;
        targets.extend(page.items.into_iter().map(|s| Target { customer_id: s.customer_id, subscription_id: s.id }));
        if targets.len() > MAX_TARGETS {
            return Err(Error::field("filter", format!("matches more than {MAX_TARGETS} subscriptions; narrow it")));
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    if targets.is_empty() {
        return Err(Error::field("filter", "matches no subscription"));
    }
    let now = app.now();
    let chunks: Vec<&[Target]> = targets.chunks(CHUNK_TARGETS).collect();
    let job = JobRecord {
        id: ids::new_id(),
        tenant_id: tid,
        format: None,
        action: Some(input.action.clone()),
        router_id: None,
        total_rows: targets.len(),
        chunks: chunks.len() as u32,
        unreadable: 0,
        started_by: JobActor::of(actor),
        created_at: now,
    };
    let mut tx = Tx::new();
    tx.put_new(Store::encode_stored(&job).or_500()?, Conflict::Exists);
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "subscriptions.bulk_started",
            entity: "bulk_action",
            id: job.id.to_string(),
            before: None,
            after: Some(serde_json::json!({"action": input.action, "subscriptions": targets.len()})),
        },
        now,
    ));
    let answer = initial_view(&job);
    if let Some(first) = commit_job(app, actor, tx, idem, &answer).await? {
        return Ok(first);
    }
    let stored: Vec<BulkChunk> = chunks
        .iter()
        .enumerate()
        .map(|(n, part)| BulkChunk { first_row: n * CHUNK_TARGETS + 1, targets: part.to_vec() })
        .collect();
    store_chunks(app, &job, &stored, NetworkEvent::BulkChunkReady, now).await?;
    Ok(Outcome::Fresh(answer))
}

pub async fn get_bulk(app: &App, actor: &Actor, id: Uuid) -> Result<ImportJob> {
    get_job(app, actor, id, true).await
}

pub async fn list_bulk_errors(
    app: &App,
    actor: &Actor,
    id: Uuid,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<RowError>> {
    list_job_errors(app, actor, id, true, limit, cursor).await
}

/// Applies one chunk of a bulk action; rows with a marker are skipped, and each row's marker is
/// written in the transaction of its change.
pub async fn apply_chunk(app: &App, job: &JobRecord, chunk_no: u32) -> Result<ChunkReport> {
    let tid = job.tenant_id;
    let chunk: BulkChunk = decoded(app.store.get_item(&keys::job_chunk(tid, job.id, chunk_no)).await.or_500()?)?
        .ok_or_else(|| Error::not_found("bulk chunk"))?;
    let rows: Vec<usize> = (0..chunk.targets.len()).map(|i| chunk.first_row + i).collect();
    let marker_keys: Vec<store::ItemKeys> = rows.iter().map(|r| keys::job_row(tid, job.id, *r)).collect();
    let refs: Vec<&store::ItemKeys> = marker_keys.iter().collect();
    let done: Vec<bool> = app.store.batch_get(&refs).await.or_500()?.into_iter().map(|m| m.is_some()).collect();
    let actor = actor_of(job);
    let change = change_of(job.action.as_ref().ok_or_else(|| Error::Internal("bulk job without action".into()))?);
    let mut report = ChunkReport::default();
    for ((target, row), already) in chunk.targets.iter().zip(rows).zip(done) {
        if already {
            report.skipped += 1;
            continue;
        }
        let marker =
            RowMarker { row, customer_id: Some(target.customer_id), subscription_id: Some(target.subscription_id) };
        let item = row_marker(tid, job.id, &marker)?;
        let extra = move |tx: &mut Tx| -> Result<()> {
            tx.put_new(item.clone(), Conflict::Exists);
            progress(tx, tid, job.id, chunk_no, &["imported"]);
            Ok(())
        };
        match apply(
            app,
            &actor,
            &ChangeRequest::new(tid, target.customer_id, target.subscription_id, &change).with_writes(&extra),
        )
        .await
        {
            Ok(_) => report.imported += 1,
            Err(Error::Conflict { code: "already_applied", .. }) => report.skipped += 1,
            Err(e @ (Error::Conflict { .. } | Error::Validation(_) | Error::NotFound { .. })) => {
                let message = match &e {
                    Error::Validation(fields) => {
                        fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; ")
                    }
                    other => other.to_string(),
                };
                let err = RowError {
                    row,
                    field: None,
                    message: format!("subscription {}: {message}", target.subscription_id),
                };
                let mut tx = Tx::new();
                tx.put_new(row_marker(tid, job.id, &marker)?, Conflict::Exists);
                tx.put(Store::encode(&keys::job_error(tid, job.id, row), "JOB_ERROR", &err, None).or_500()?);
                progress(&mut tx, tid, job.id, chunk_no, &["failed"]);
                match app.store.commit(tx).await {
                    Ok(()) => report.failed += 1,
                    Err(store::StoreError::Conflict(Conflict::Exists)) => report.skipped += 1,
                    Err(e) => return Err(store_err(e)),
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bulk_action_is_the_subscription_change_of_the_same_name() {
        let id = Uuid::nil();
        let cases = [
            (BulkAction::Extend { days: 30 }, Change::Extend { days: 30 }),
            (BulkAction::ChangePackage { package_id: id }, Change::ChangePackage { package_id: id }),
            (BulkAction::Suspend { reason: Some("dues".into()) }, Change::Suspend { reason: Some("dues".into()) }),
            (BulkAction::Restore, Change::Restore),
            (BulkAction::MoveRouter { router_id: id }, Change::MoveRouter { router_id: id }),
        ];
        for (action, change) in cases {
            assert_eq!(change_of(&action), change);
        }
    }
}
