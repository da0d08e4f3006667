//! Imports of customers with their subscriptions (`/v1/imports`), asynchronous through SQS.
//!
//! `start_import` reads the file, stores it as chunks of rows beside the job, and writes one
//! `ImportChunkReady` outbox event per chunk in the same transactions; a rule sends those to the
//! imports queue and `worker-imports` applies each chunk with `process_chunk`. Every row is one
//! transaction (the customer, its subscription, the row's marker and the chunk's progress), so a row
//! is imported whole or not at all, and a redelivered chunk skips the rows it already applied.

use chrono::{DateTime, Utc};
use crm::customers::{CreateCustomer, NewCustomerContext, prepare_customer, stage_customer_creation};
use domain::actor::Actor;
use domain::customer::{AccessMedium, ClientType, search_fold};
use domain::event::CrmEvent;
use domain::import::{ImportFormat, ImportRow, read};
use domain::package::Package;
use domain::role::Permission;
use domain::subscription::{BillingModel, SubscriptionStatus};
use domain::{Error, Result, Validation, ids};
use kernel::App;
use kernel::idempotency::{IdempotentRequest, Outcome};
use kernel::support::{Audited, StoreResultExt, audit, decoded, store_err};
use network::packages::OfferRecord;
use network::routers::RouterRecord;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use store::{Conflict, Owner, Page, Query, Store, StoreError, Tx, keys};
use subscriptions::subscriptions::{
    CreateSubscription, CustomerWrite, NewSubscription, NewSubscriptionContext, prepare_subscription,
    stage_new_subscription,
};
use uuid::Uuid;

use crate::chunks::*;
use domain::import::RowError;

/// The most packages, routers or offers a chunk reads to resolve names (far above any ISP's).
const MAX_LISTED: usize = 10_000;
/// Rows per chunk: one SQS message, applied well within a worker's timeout.
pub const CHUNK_ROWS: usize = 100;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Chunk {
    rows: Vec<ImportRow>,
}

/// Reads the file and queues it: a job id to follow, rows to come.
pub async fn start_import(
    app: &App,
    actor: &Actor,
    format: ImportFormat,
    router_id: Option<Uuid>,
    text: &str,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<ImportJob>> {
    actor.require(Permission::CustomersWrite)?;
    let tid = actor.tenant()?;
    if let Some(first) = earlier_answer(app, actor, idem).await? {
        return Ok(first);
    }
    if format == ImportFormat::RouterosSecrets && router_id.is_none() {
        return Err(Error::field("router_id", "is required: the router the secrets were exported from"));
    }
    if let Some(r) = router_id {
        network::routers::get_router(app, actor, r)
            .await
            .map_err(|_| Error::field("router_id", "is not a router of this ISP"))?;
    }
    let (rows, unreadable) = read(format, text).map_err(Error::Validation)?;
    let now = app.now();
    let chunks: Vec<&[ImportRow]> = rows.chunks(CHUNK_ROWS).collect();
    let job = JobRecord {
        id: ids::new_id(),
        tenant_id: tid,
        format: Some(format),
        action: None,
        router_id,
        total_rows: rows.len() + unreadable.len(),
        chunks: chunks.len() as u32,
        unreadable: unreadable.len(),
        started_by: JobActor::of(actor),
        created_at: now,
    };
    // The job, its audit entry and the unreadable rows first: a worker that sees a chunk always
    // finds its job.
    let mut tx = Tx::new();
    tx.put_new(Store::encode_stored(&job).or_500()?, Conflict::Exists);
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "import.started",
            entity: "import",
            id: job.id.to_string(),
            before: None,
            after: Some(serde_json::json!({"format": format, "rows": job.total_rows, "chunks": job.chunks})),
        },
        now,
    ));
    if !unreadable.is_empty() {
        // Reported at once, counted in a progress item of their own (chunk number = chunks).
        tx.update(
            &keys::job_progress(tid, job.id, job.chunks),
            "ADD failed :n SET #t = :t",
            None,
            &[("#t", "type")],
            HashMap::from([
                (":n".to_string(), kernel::support::attr(&(unreadable.len() as u64))),
                (":t".to_string(), kernel::support::attr(&"JOB_PROGRESS")),
            ]),
            Conflict::Condition,
        );
    }
    let answer = initial_view(&job);
    if let Some(first) = commit_job(app, actor, tx, idem, &answer).await? {
        return Ok(first);
    }
    for group in unreadable.chunks(90) {
        let mut tx = Tx::new();
        for u in group {
            let e = RowError { row: u.line, field: None, message: u.message.clone() };
            tx.put(Store::encode(&keys::job_error(tid, job.id, u.line), "JOB_ERROR", &e, None).or_500()?);
        }
        app.store.commit(tx).await.or_500()?;
    }
    let stored: Vec<Chunk> = chunks.iter().map(|rows| Chunk { rows: rows.to_vec() }).collect();
    store_chunks(app, &job, &stored, CrmEvent::ImportChunkReady, now).await?;
    Ok(Outcome::Fresh(answer))
}

pub async fn get_import(app: &App, actor: &Actor, id: Uuid) -> Result<ImportJob> {
    get_job(app, actor, id, false).await
}

/// The rows that were not imported, in file order.
pub async fn list_errors(
    app: &App,
    actor: &Actor,
    id: Uuid,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<RowError>> {
    list_job_errors(app, actor, id, false, limit, cursor).await
}

/// What every row of a chunk is checked against, read once per chunk.
struct ChunkContext {
    tenant: domain::tenant::Tenant,
    packages: HashMap<String, Package>,
    routers: HashMap<String, RouterRecord>,
    default_router: Option<RouterRecord>,
    offers: HashMap<Uuid, OfferRecord>,
    confined_pops: Option<Vec<Uuid>>,
}

async fn chunk_context(app: &App, actor: &Actor, job: &JobRecord) -> Result<ChunkContext> {
    let tid = job.tenant_id;
    let tenant = kernel::support::load_tenant(app, tid).await?;
    let by_profile = job.format == Some(ImportFormat::RouterosSecrets);
    let packages: Vec<Package> =
        app.store.query_all(Query::index("gsi1", keys::packages_gsi1(tid)).limit(200), MAX_LISTED).await.or_500()?;
    let packages = packages
        .into_iter()
        .map(|p| (if by_profile { p.router_profile.clone() } else { search_fold(&p.name) }, p))
        .collect();
    let routers: Vec<RouterRecord> =
        app.store.query_all(Query::index("gsi1", keys::routers_gsi1(tid)).limit(200), MAX_LISTED).await.or_500()?;
    let default_router = job.router_id.and_then(|r| routers.iter().find(|x| x.router.id == r).cloned());
    let routers = routers.into_iter().map(|r| (search_fold(&r.router.name), r)).collect();
    let offers: Vec<OfferRecord> = if actor.role.is_scoped() {
        app.store
            .query_all(Query::index("gsi1", keys::offers_by_operator_gsi1(tid, actor.user_id)).limit(200), MAX_LISTED)
            .await
            .or_500()?
    } else {
        vec![]
    };
    let offers = offers.into_iter().map(|o| (o.offer.package_id, o)).collect();
    let confined_pops = kernel::access::confined_pops(app, actor).await?;
    Ok(ChunkContext { tenant, packages, routers, default_router, offers, confined_pops })
}

/// Applies one chunk. Safe to run again: rows with a marker are skipped, and a row's marker is
/// written in the row's own transaction.
pub async fn apply_chunk(app: &App, job: &JobRecord, chunk_no: u32, chunk: Option<store::Item>) -> Result<ChunkReport> {
    let (tid, job_id) = (job.tenant_id, job.id);
    let chunk: Chunk = decoded(chunk)?.ok_or_else(|| Error::not_found("import chunk"))?;
    let marker_keys: Vec<store::ItemKeys> = chunk.rows.iter().map(|r| keys::job_row(tid, job_id, r.line)).collect();
    let refs: Vec<&store::ItemKeys> = marker_keys.iter().collect();
    let done: Vec<bool> = app.store.batch_get(&refs).await.or_500()?.into_iter().map(|m| m.is_some()).collect();
    let mut report = ChunkReport::default();
    if done.iter().all(|d| *d) {
        report.skipped = done.len();
        return Ok(report);
    }
    let actor = actor_of(job);
    let ctx = chunk_context(app, &actor, job).await?;
    for (row, already) in chunk.rows.iter().zip(done) {
        if already {
            report.skipped += 1;
            continue;
        }
        match import_row(app, &actor, &ctx, job, chunk_no, row).await? {
            RowOutcome::Imported => report.imported += 1,
            RowOutcome::Failed => report.failed += 1,
            RowOutcome::AlreadyDone => report.skipped += 1,
        }
    }
    Ok(report)
}

enum RowOutcome {
    Imported,
    Failed,
    AlreadyDone,
}

/// A row's billing model: prepaid unless it says postpaid.
fn billing_model_of(v: &mut Validation, cell: Option<&str>) -> BillingModel {
    match cell.map(str::to_lowercase).as_deref() {
        None | Some("prepaid") => BillingModel::Prepaid,
        Some("postpaid") => BillingModel::Postpaid,
        Some(_) => {
            v.add("billing_model", "must be prepaid or postpaid");
            BillingModel::Prepaid
        }
    }
}

/// A row's expiry: an RFC 3339 time, or a date meaning the end of that day (UTC).
fn expiry_of(v: &mut Validation, cell: Option<&str>) -> Option<DateTime<Utc>> {
    let s = cell?;
    match DateTime::parse_from_rfc3339(s) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(_) => match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) => Some(d.and_hms_opt(23, 59, 59).expect("valid time").and_utc()),
            Err(_) => {
                v.add("expires_at", "must be a date (2026-12-31) or an RFC 3339 time");
                None
            }
        },
    }
}

/// The state a subscription had before the import: pending unless it says active or suspended.
fn status_of(v: &mut Validation, cell: Option<&str>) -> SubscriptionStatus {
    match cell.map(str::to_lowercase).as_deref() {
        None | Some("") | Some("pending") => SubscriptionStatus::Pending,
        Some("active") => SubscriptionStatus::Active,
        Some("suspended") => SubscriptionStatus::Suspended,
        Some(_) => {
            v.add("status", "must be pending, active or suspended");
            SubscriptionStatus::Pending
        }
    }
}

/// The file's column for a field of the API's subscription (errors name what the file calls it).
fn file_column(field: &str) -> &str {
    match field {
        "package_id" => "package",
        "router_id" => "router",
        "username" => "pppoe_username",
        "password" => "pppoe_password",
        other => other,
    }
}

/// Builds a row's customer and subscription; field errors name the file's columns.
fn build_row(
    actor: &Actor,
    ctx: &ChunkContext,
    job: &JobRecord,
    row: &ImportRow,
    now: DateTime<Utc>,
) -> Result<(domain::customer::Customer, domain::subscription::Subscription, String)> {
    let mut customer = prepare_customer(
        actor,
        &NewCustomerContext {
            tenant: ctx.tenant.clone(),
            operator: None,
            pop: None,
            branch: None,
            confined_pops: None,
            operator_pops: None,
            require_btrc_fields: false,
        },
        CreateCustomer {
            name: row.name.clone(),
            phone: row.phone.clone(),
            email: row.email.clone(),
            username: row.username.clone(),
            address: row.address.clone(),
            area: row.area.clone(),
            pop_id: None,
            house_no: row.house_no.clone(),
            road_no: row.road_no.clone(),
            thana: row.thana.clone(),
            district: row.district.clone(),
            client_type: None,
            access_medium: None,
            national_id: row.national_id.clone(),
            connection_date: None,
            notes: None,
            tags: vec![],
            language: None,
            operator_id: None,
            branch_id: None,
        },
        now,
    )?;
    let mut v = Validation::new();
    let key = if job.format == Some(ImportFormat::RouterosSecrets) {
        row.package.trim().to_string()
    } else {
        search_fold(&row.package)
    };
    let package = ctx.packages.get(&key);
    let router = match &row.router {
        Some(name) => ctx.routers.get(&search_fold(name)),
        None => ctx.default_router.as_ref(),
    };
    match router {
        None => v.add("router", "is not a router of this ISP (name one, or start the import for a router)"),
        Some(r) => {
            if let Some(mine) = &ctx.confined_pops
                && !r.router.pop_id.is_some_and(|p| mine.contains(&p))
            {
                v.add("router", "is not a router of your POPs");
            }
        }
    }
    // The customer is connected through its router's POP.
    customer.pop_id = router.and_then(|r| r.router.pop_id);
    if let Some(t) = &row.client_type {
        customer.client_type = ClientType::parse(&t.to_lowercase());
        if customer.client_type.is_none() {
            v.add("client_type", "must be home, corporate, sme, government or education");
        }
    }
    if let Some(m) = &row.access_medium {
        customer.access_medium = AccessMedium::parse(&m.to_lowercase());
        if customer.access_medium.is_none() {
            v.add("access_medium", "must be fiber, utp or wireless");
        }
    }
    let billing_model = billing_model_of(&mut v, row.billing_model.as_deref());
    let expires_at = expiry_of(&mut v, row.expires_at.as_deref());
    let status = status_of(&mut v, row.status.as_deref());
    if package.is_none() {
        v.add("package", "is not a package of this ISP");
    }
    let offer = package.and_then(|p| ctx.offers.get(&p.id));
    let (mut sub, password) = prepare_subscription(
        v,
        &NewSubscriptionContext { customer: &customer, package, tenant: &ctx.tenant, offer },
        &CreateSubscription {
            package_id: package.map(|p| p.id).unwrap_or_default(),
            router_id: router.map(|r| r.router.id).unwrap_or_default(),
            username: row.pppoe_username.clone(),
            password: row.pppoe_password.clone(),
            billing_model,
            billing_day: None,
            auto_renew: None,
            ip_address: row.ip_address.clone(),
            mac_address: None,
            start_date: None,
            expires_at,
        },
        now,
    )
    .map_err(|e| match e {
        Error::Validation(errors) => Error::Validation(
            errors
                .into_iter()
                .map(|mut fe| {
                    fe.field = file_column(&fe.field).into();
                    fe
                })
                .collect(),
        ),
        other => other,
    })?;
    // Imported subscriptions keep the state they had: an active prepaid one without an expiry runs
    // for its package's validity from now.
    sub.status = status;
    if status != SubscriptionStatus::Pending {
        sub.start_date = Some(now);
        if sub.expires_at.is_none() && billing_model == BillingModel::Prepaid {
            sub.expires_at = package.map(|p| now + p.validity.duration());
        }
    }
    Ok((customer, sub, password))
}

async fn import_row(
    app: &App,
    actor: &Actor,
    ctx: &ChunkContext,
    job: &JobRecord,
    chunk_no: u32,
    row: &ImportRow,
) -> Result<RowOutcome> {
    let tid = job.tenant_id;
    let now = app.now();
    let failure = match build_row(actor, ctx, job, row, now) {
        Ok((mut customer, sub, password)) => {
            customer.subscriptions = customer.subscriptions.moved(None, sub.status);
            customer.status = customer.subscriptions.customer_status();
            let mut tx = Tx::new();
            stage_customer_creation(&mut tx, actor, &customer, &ctx.tenant, now)?;
            let new = NewSubscription {
                customer: &customer,
                sub: &sub,
                password: &password,
                write: CustomerWrite::CreatedByCaller,
            };
            stage_new_subscription(app, &mut tx, actor, new, now)?;
            let marker = RowMarker { row: row.line, customer_id: Some(customer.id), subscription_id: Some(sub.id) };
            tx.put_new(row_marker(tid, job.id, &marker)?, Conflict::Idempotency);
            progress(&mut tx, tid, job.id, chunk_no, &["imported"]);
            match app.store.commit(tx).await {
                Ok(()) => return Ok(RowOutcome::Imported),
                Err(StoreError::Conflict(Conflict::Idempotency)) => return Ok(RowOutcome::AlreadyDone),
                Err(e @ StoreError::Conflict(_)) => store_err(e),
                Err(e) => return Err(store_err(e)),
            }
        }
        Err(e @ (Error::Validation(_) | Error::Conflict { .. })) => e,
        Err(e) => return Err(e),
    };
    let (errors, duplicate): (Vec<RowError>, bool) = match failure {
        Error::Validation(fields) => (
            fields.into_iter().map(|f| RowError { row: row.line, field: Some(f.field), message: f.message }).collect(),
            false,
        ),
        Error::Conflict { code, detail, field } => {
            (vec![RowError { row: row.line, field, message: detail }], code == "duplicate")
        }
        other => return Err(other),
    };
    let mut tx = Tx::new();
    tx.put_new(
        row_marker(tid, job.id, &RowMarker { row: row.line, customer_id: None, subscription_id: None })?,
        Conflict::Idempotency,
    );
    // One error item per row (the first problem's field; all messages joined).
    let first = errors.first().cloned().unwrap_or(RowError { row: row.line, field: None, message: "refused".into() });
    let all = RowError {
        row: row.line,
        field: first.field.clone(),
        message: errors
            .iter()
            .map(|e| match &e.field {
                Some(f) => format!("{f}: {}", e.message),
                None => e.message.clone(),
            })
            .collect::<Vec<_>>()
            .join("; "),
    };
    tx.put(Store::encode(&keys::job_error(tid, job.id, row.line), "JOB_ERROR", &all, None).or_500()?);
    progress(&mut tx, tid, job.id, chunk_no, if duplicate { &["failed", "duplicates"] } else { &["failed"] });
    match app.store.commit(tx).await {
        Ok(()) => Ok(RowOutcome::Failed),
        Err(StoreError::Conflict(Conflict::Idempotency)) => Ok(RowOutcome::AlreadyDone),
        Err(e) => Err(store_err(e)),
    }
}

/// Imports of the ISP, newest first.
/// Each listed job's progress is one more Query (run concurrently), so a page holds at most this many.
pub const MAX_LISTED_JOBS: u32 = 20;

pub async fn list_imports(app: &App, actor: &Actor, limit: u32, cursor: Option<&str>) -> Result<Page<ImportJob>> {
    actor.require(Permission::CustomersRead)?;
    let tid = actor.tenant()?;
    let q = Query::index("gsi1", keys::jobs_gsi1(tid)).newest_first().limit(limit.min(MAX_LISTED_JOBS));
    let page: Page<JobRecord> = app.store.query_page(Owner::Tenant(tid), "imports", q, cursor).await.or_500()?;
    let jobs = page.items.iter().filter(|j| j.action.is_none() && actor.sees_scope(j.started_by.scope.as_deref()));
    let items = futures::future::join_all(jobs.map(|j| view(app, tid, j))).await.into_iter().collect::<Result<_>>()?;
    Ok(Page { items, next_cursor: page.next_cursor })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cells_of_a_row_read_as_the_file_means_them() {
        let mut v = Validation::new();
        assert_eq!(billing_model_of(&mut v, None), BillingModel::Prepaid);
        assert_eq!(billing_model_of(&mut v, Some("PostPaid")), BillingModel::Postpaid);
        assert_eq!(status_of(&mut v, Some("")), SubscriptionStatus::Pending);
        assert_eq!(status_of(&mut v, Some("Active")), SubscriptionStatus::Active);
        let end_of_day: DateTime<Utc> = "2026-12-31T23:59:59Z".parse().unwrap();
        assert_eq!(expiry_of(&mut v, Some("2026-12-31")), Some(end_of_day));
        let exact: DateTime<Utc> = "2026-12-31T12:00:00Z".parse().unwrap();
        assert_eq!(expiry_of(&mut v, Some("2026-12-31T18:00:00+06:00")), Some(exact), "an offset is honoured");
        assert!(v.finish().is_ok(), "nothing above is an error");
        let mut bad = Validation::new();
        billing_model_of(&mut bad, Some("weekly"));
        status_of(&mut bad, Some("gone"));
        assert_eq!(expiry_of(&mut bad, Some("31/12/2026")), None);
        let fields: Vec<String> = match bad.finish() {
            Err(f) => f.into_iter().map(|f| f.field).collect(),
            Ok(()) => panic!("the bad cells were taken"),
        };
        assert_eq!(fields, ["billing_model", "status", "expires_at"]);
        assert_eq!((file_column("router_id"), file_column("phone")), ("router", "phone"));
    }
}
