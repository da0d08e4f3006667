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

/// The subscription change a bulk action applies (None: a message, not a change).
fn change_of(action: &BulkAction) -> Option<Change> {
    Some(match action {
        BulkAction::Extend { days } => Change::Extend { days: *days },
        BulkAction::ChangePackage { package_id } => Change::ChangePackage { package_id: *package_id },
        BulkAction::Suspend { reason } => Change::Suspend { reason: reason.clone() },
        BulkAction::Restore => Change::Restore,
        BulkAction::MoveRouter { router_id } => Change::MoveRouter { router_id: *router_id },
        BulkAction::Sms { .. } => return None,
    })
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkFilter {
    pub status: Option<SubscriptionStatus>,
    pub package_id: Option<Uuid>,
    pub router_id: Option<Uuid>,
    pub expiring_after: Option<DateTime<Utc>>,
    pub expiring_before: Option<DateTime<Utc>>,
    /// Subscriptions on the routers of this POP.
    pub pop_id: Option<Uuid>,
    /// Subscriptions of this operator's customers (its sub-operators' included).
    pub operator_id: Option<Uuid>,
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
    match (&input.action, change_of(&input.action)) {
        (BulkAction::Sms { text }, _) => {
            notify::manual::check_text("action.text", text)?;
            notify::manual::sms_ready(app, tid, "action").await?;
        }
        (_, Some(change)) => change.validate()?,
        (_, None) => {}
    }
    let f = input.filter;
    let pop_routers: Option<Vec<Uuid>> = match f.pop_id {
        Some(p) => Some(
            network::routers::all_routers(app, tid)
                .await?
                .into_iter()
                .filter(|r| r.pop_id == Some(p))
                .map(|r| r.id)
                .collect(),
        ),
        None => None,
    };
    let operator = f.operator_id.map(|o| o.to_string());
    let by_customer = matches!(input.action, BulkAction::Sms { .. });
    let mut customers = std::collections::HashSet::new();
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
        for s in page.items {
            if pop_routers.as_ref().is_some_and(|rs| !rs.contains(&s.router_id)) {
                continue;
            }
            if let Some(op) = &operator
                && !s.scope.as_deref().is_some_and(|sc| domain::user::scope_members(sc).any(|m| m == op))
            {
                continue;
            }
            // A message goes to each customer once, whatever its subscriptions.
            if by_customer && !customers.insert(s.customer_id) {
                continue;
            }
            targets.push(Target { customer_id: s.customer_id, subscription_id: s.id });
        }
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
    let action = job.action.as_ref().ok_or_else(|| Error::Internal("bulk job without action".into()))?;
    let Some(change) = change_of(action) else {
        let BulkAction::Sms { text } = action else {
            return Err(Error::Internal("a bulk action without change".into()));
        };
        return sms_chunk(app, job, chunk_no, &chunk, &rows, &done, text).await;
    };
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

/// One chunk of a bulk SMS: each row's message (and its timeline entry) is written with the row's
/// marker, then one `MessagesDueRequested` has the notifications worker send them. A customer
/// gone or without a phone is a row error.
async fn sms_chunk(
    app: &App,
    job: &JobRecord,
    chunk_no: u32,
    chunk: &BulkChunk,
    rows: &[usize],
    done: &[bool],
    text: &str,
) -> Result<ChunkReport> {
    let tid = job.tenant_id;
    let template = notify::manual::check_text("action.text", text)?;
    let loaded = notify::manual::sms_ready(app, tid, "action").await;
    let wanted: Vec<store::ItemKeys> = chunk
        .targets
        .iter()
        .flat_map(|t| {
            [
                keys::customer(tid, t.customer_id, None),
                keys::subscription(tid, t.customer_id, t.subscription_id, None, None, None),
            ]
        })
        .collect();
    let got = app.store.batch_get_many(&wanted.iter().collect::<Vec<_>>()).await.or_500()?;
    let now = app.now();
    let mut report = ChunkReport::default();
    for (i, ((target, row), already)) in chunk.targets.iter().zip(rows).zip(done).enumerate() {
        if *already {
            report.skipped += 1;
            continue;
        }
        let customer: Option<crm::customers::CustomerRecord> = decoded(got[2 * i].clone())?;
        let customer = customer.filter(|c| c.deleted_at.is_none()).map(|c| c.customer);
        let subscription: Option<domain::subscription::Subscription> =
            decoded::<subscriptions::subscriptions::SubscriptionRecord>(got[2 * i + 1].clone())?
                .map(|r| r.subscription);
        let marker = RowMarker {
            row: *row,
            customer_id: Some(target.customer_id),
            subscription_id: Some(target.subscription_id),
        };
        // The same for every delivery of the chunk: a message is made once.
        let id = domain::ids::derived_id(job.created_at, &format!("bulk-sms:{}:{}", job.id, target.customer_id));
        let made = match (&loaded, &customer) {
            (Err(e), _) => Err(e.to_string()),
            (_, None) => Err("the customer is gone".to_string()),
            (Ok(l), Some(c)) => notify::manual::customer_sms(l, &template, id, c, subscription.as_ref(), now)
                .ok_or_else(|| "the customer has no phone number".to_string()),
        };
        let mut tx = Tx::new();
        tx.put_new(row_marker(tid, job.id, &marker)?, Conflict::Exists);
        match &made {
            Ok(msg) => {
                notify::messages::mark_due(app, &[msg]).await?;
                notify::manual::stage_message(&mut tx, msg)?;
                progress(&mut tx, tid, job.id, chunk_no, &["imported"]);
            }
            Err(why) => {
                let err =
                    RowError { row: *row, field: None, message: format!("customer {}: {why}", target.customer_id) };
                tx.put(Store::encode(&keys::job_error(tid, job.id, *row), "JOB_ERROR", &err, None).or_500()?);
                progress(&mut tx, tid, job.id, chunk_no, &["failed"]);
            }
        }
        match app.store.commit(tx).await {
            Ok(()) if made.is_ok() => report.imported += 1,
            Ok(()) => report.failed += 1,
            Err(store::StoreError::Conflict(_)) => report.skipped += 1,
            Err(e) => return Err(store_err(e)),
        }
    }
    if report.imported > 0 {
        let mut tx = Tx::new();
        notify::manual::stage_release(&mut tx, tid, now)?;
        app.store.commit(tx).await.or_500()?;
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
            assert_eq!(change_of(&action), Some(change));
        }
    }
}
