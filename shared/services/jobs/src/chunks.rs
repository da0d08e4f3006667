//! The job machinery that imports and bulk actions share: a job record with who started it, its
//! rows stored as chunks (one queue message each), a marker per applied row so a redelivered
//! chunk applies nothing twice, progress counters `ADD`-ed by each row's transaction, and the rows
//! that failed.

use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::event::{ChunkReady, DomainEvent, EventName};
use domain::import::{ImportFormat, RowError};
use domain::role::{Permission, Role};
use domain::{Error, Result};
use kernel::App;
use kernel::idempotency::{IdempotentRequest, Outcome, record, replay};
use kernel::support::{StoreResultExt, store_err};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use store::{Conflict, Owner, Page, Query, Store, StoreError, Tx, keys};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum BulkAction {
    Extend {
        days: u32,
    },
    ChangePackage {
        package_id: Uuid,
    },
    Suspend {
        reason: Option<String>,
    },
    Restore,
    MoveRouter {
        router_id: Uuid,
    },
    /// An SMS to each matching subscription's customer (once per customer); the text may use
    /// `{isp_name}`, `{customer_name}`, `{username}`, `{package}`, `{expiry}`.
    Sms {
        text: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Running,
    Done,
}

/// Who started a job; the worker acts with these rights and the audit names them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobActor {
    user_id: Uuid,
    role: Role,
    pub scope: Option<String>,
    reseller_id: Option<Uuid>,
    impersonator_id: Option<Uuid>,
    /// The API key that started it (its abilities hold for the whole job).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<domain::actor::KeyAccess>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// An import's file format; None for a bulk action.
    #[serde(default)]
    pub format: Option<ImportFormat>,
    /// A bulk action's change; None for an import.
    #[serde(default)]
    pub action: Option<BulkAction>,
    pub router_id: Option<Uuid>,
    pub total_rows: usize,
    pub chunks: u32,
    /// Rows the reader could not split into fields (reported as errors at once).
    pub unreadable: usize,
    pub started_by: JobActor,
    pub created_at: DateTime<Utc>,
}

impl store::Stored for JobRecord {
    const TYPE: &'static str = "JOB";
    fn keys(&self) -> store::ItemKeys {
        keys::job(self.tenant_id, self.id)
    }
}

/// A job as the API shows it: counts summed from the per-chunk progress items.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportJob {
    pub id: Uuid,
    /// Imports: the file's format.
    pub format: Option<ImportFormat>,
    /// Bulk actions: the change applied to each subscription (`imported` counts those applied).
    pub action: Option<BulkAction>,
    pub status: JobStatus,
    pub total_rows: usize,
    pub processed: u64,
    pub imported: u64,
    pub failed: u64,
    /// Rows refused because a phone, e-mail, username or IP was taken (part of `failed`).
    pub duplicates: u64,
    pub created_at: DateTime<Utc>,
    pub started_by: Uuid,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RowMarker {
    pub row: usize,
    pub customer_id: Option<Uuid>,
    pub subscription_id: Option<Uuid>,
}

impl JobRecord {
    /// The job, if it is of the asked kind (imports and bulk actions have routes of their own).
    pub fn filter_kind(self, bulk: bool) -> Result<Self> {
        if self.action.is_some() == bulk {
            Ok(self)
        } else {
            Err(Error::not_found(if bulk { "bulk action" } else { "import" }))
        }
    }
}

impl JobActor {
    /// Who started the job (as whom, under an impersonation).
    pub fn user_id(&self) -> Uuid {
        self.user_id
    }

    pub fn of(actor: &Actor) -> Self {
        JobActor {
            user_id: actor.user_id,
            role: actor.role,
            scope: actor.scope.clone(),
            reseller_id: actor.reseller_id,
            impersonator_id: actor.impersonator_id,
            key: actor.key.clone(),
        }
    }
}

pub fn actor_of(job: &JobRecord) -> Actor {
    Actor {
        user_id: job.started_by.user_id,
        tenant_id: Some(job.tenant_id),
        reseller_id: job.started_by.reseller_id,
        role: job.started_by.role,
        scope: job.started_by.scope.clone(),
        impersonator_id: job.started_by.impersonator_id,
        key: job.started_by.key.clone(),
    }
}

/// The stored answer when this `Idempotency-Key` started a job already.
pub async fn earlier_answer(
    app: &App,
    actor: &Actor,
    idem: Option<&IdempotentRequest>,
) -> Result<Option<Outcome<ImportJob>>> {
    match idem {
        Some(req) => kernel::idempotency::stored_answer(app, Owner::Tenant(actor.tenant()?), actor.user_id, req).await,
        None => Ok(None),
    }
}

/// Commits a job's first transaction, with the answer stored under the `Idempotency-Key`; a
/// concurrent repeat that lost the race gets the first answer (`Some`), and must write nothing more.
pub async fn commit_job(
    app: &App,
    actor: &Actor,
    mut tx: Tx,
    idem: Option<&IdempotentRequest>,
    answer: &ImportJob,
) -> Result<Option<Outcome<ImportJob>>> {
    let tid = actor.tenant()?;
    if let Some(req) = idem {
        tx.put_idempotency(Owner::Tenant(tid), &req.key_hash(actor.user_id), &record(req, 202, answer, app)?);
    }
    match app.store.commit(tx).await {
        Ok(()) => Ok(None),
        Err(StoreError::Conflict(Conflict::Idempotency)) if idem.is_some() => {
            Ok(Some(replay(app, Owner::Tenant(tid), actor.user_id, idem.expect("checked")).await?))
        }
        Err(e) => Err(store_err(e)),
    }
}

/// A job as it stands when it is accepted: nothing applied yet but the unreadable rows.
pub fn initial_view(job: &JobRecord) -> ImportJob {
    let failed = job.unreadable as u64;
    ImportJob {
        id: job.id,
        format: job.format,
        action: job.action.clone(),
        status: if job.unreadable >= job.total_rows { JobStatus::Done } else { JobStatus::Running },
        total_rows: job.total_rows,
        processed: failed,
        imported: 0,
        failed,
        duplicates: 0,
        created_at: job.created_at,
        started_by: job.started_by.user_id,
    }
}

/// Counts of one chunk (and of the unreadable rows), `ADD`-ed by each row's transaction.
#[derive(Debug, Default, Deserialize)]
struct Progress {
    #[serde(default)]
    imported: u64,
    #[serde(default)]
    failed: u64,
    #[serde(default)]
    duplicates: u64,
}

pub async fn view(app: &App, tid: Uuid, job: &JobRecord) -> Result<ImportJob> {
    let q = Query::table(keys::job_pk(tid, job.id)).prefix(keys::JOB_PROGRESS_PREFIX).limit(1000);
    let parts: Vec<Progress> = app.store.query_all(q, job.chunks as usize + 1).await.or_500()?;
    let mut counts: HashMap<&str, u64> = HashMap::new();
    for p in parts {
        *counts.entry("imported").or_default() += p.imported;
        *counts.entry("failed").or_default() += p.failed;
        *counts.entry("duplicates").or_default() += p.duplicates;
    }
    let count = |k: &str| counts.get(k).copied().unwrap_or(0);
    let (imported, failed) = (count("imported"), count("failed"));
    let processed = imported + failed;
    Ok(ImportJob {
        id: job.id,
        format: job.format,
        action: job.action.clone(),
        status: if processed as usize >= job.total_rows { JobStatus::Done } else { JobStatus::Running },
        total_rows: job.total_rows,
        processed,
        imported,
        failed,
        duplicates: count("duplicates"),
        created_at: job.created_at,
        started_by: job.started_by.user_id,
    })
}

pub async fn load_job(app: &App, actor: &Actor, id: Uuid) -> Result<JobRecord> {
    actor.require(Permission::CustomersRead)?;
    let tid = actor.tenant()?;
    let job: Option<JobRecord> = app.store.get(&keys::job(tid, id)).await.or_500()?;
    match job {
        Some(j) if actor.sees_scope(j.started_by.scope.as_deref()) => Ok(j),
        _ => Err(Error::not_found("import")),
    }
}

/// A job of the asked kind (an import or a bulk action: each has routes of its own), with its
/// progress.
pub async fn get_job(app: &App, actor: &Actor, id: Uuid, bulk: bool) -> Result<ImportJob> {
    let job = load_job(app, actor, id).await?.filter_kind(bulk)?;
    view(app, job.tenant_id, &job).await
}

/// The rows of a job of the asked kind that were not applied, in file order.
pub async fn list_job_errors(
    app: &App,
    actor: &Actor,
    id: Uuid,
    bulk: bool,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<RowError>> {
    let job = load_job(app, actor, id).await?.filter_kind(bulk)?;
    errors_of(app, &job, limit, cursor).await
}

pub async fn errors_of(app: &App, job: &JobRecord, limit: u32, cursor: Option<&str>) -> Result<Page<RowError>> {
    let (tid, id) = (job.tenant_id, job.id);
    let q = Query::table(keys::job_pk(tid, id)).prefix(keys::JOB_ERROR_PREFIX).limit(limit);
    app.store.query_page(Owner::Tenant(tid), &format!("job-errors:{id}"), q, cursor).await.or_500()
}

#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct ChunkReport {
    pub imported: usize,
    pub failed: usize,
    /// Rows a previous delivery applied already.
    pub skipped: usize,
}

pub fn progress(tx: &mut Tx, tid: Uuid, job: Uuid, chunk: u32, counters: &[&str]) {
    let expr: Vec<String> = counters.iter().map(|c| format!("{c} :one")).collect();
    tx.update(
        &keys::job_progress(tid, job, chunk),
        &format!("ADD {} SET #t = :t", expr.join(", ")),
        None,
        &[("#t", "type")],
        HashMap::from([
            (":one".to_string(), kernel::support::attr(&1u64)),
            (":t".to_string(), kernel::support::attr(&"JOB_PROGRESS")),
        ]),
        Conflict::Condition,
    );
}

pub fn row_marker(tid: Uuid, job: Uuid, m: &RowMarker) -> Result<store::Item> {
    Store::encode(&keys::job_row(tid, job, m.row), "JOB_ROW", m, None).or_500()
}

/// Chunks (and their events) per transaction when a job is stored.
const CHUNKS_PER_TX: usize = 40;

/// Stores a job's chunks, each with the event that sends it to the worker, `CHUNKS_PER_TX` to a
/// transaction. Called after the job's own transaction, so a worker that sees a chunk always finds
/// its job.
pub async fn store_chunks<C: Serialize>(
    app: &App,
    job: &JobRecord,
    chunks: &[C],
    ready: impl Into<EventName> + Copy,
    now: DateTime<Utc>,
) -> Result<()> {
    let tid = job.tenant_id;
    for (g, group) in chunks.chunks(CHUNKS_PER_TX).enumerate() {
        let mut tx = Tx::new();
        for (i, chunk) in group.iter().enumerate() {
            let n = (g * CHUNKS_PER_TX + i) as u32;
            tx.put(Store::encode(&keys::job_chunk(tid, job.id, n), "JOB_CHUNK", chunk, None).or_500()?);
            let detail = serde_json::to_value(ChunkReady { job_id: job.id, chunk: n })
                .map_err(|e| Error::Internal(e.to_string()))?;
            tx.put_event(&DomainEvent::new(ready, Some(tid), detail, now));
        }
        app.store.commit(tx).await.or_500()?;
    }
    Ok(())
}
