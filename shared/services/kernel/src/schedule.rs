//! Scheduled work fanned out to the ISPs: a job writes events naming the active ISPs (for due
//! messages and vouchers only those marked as having some due, [`mark_due`]) and a
//! queue's worker does their shares, so a slow or failing ISP holds up no other.
//!
//! The daily jobs (billing, dunning, backups) and the reconcile put one event per ISP: an ISP's
//! share is long. The jobs that run every few minutes (health, due messages, voucher and
//! subscription expiry) put one event per page of 100 ISPs: one event per ISP every 5 minutes
//! was most of what an idle ISP cost (an outbox write, an event, a queue message and a worker's
//! call, ~21,000 a month). Their workers take the page's ISPs together ([`each_tenant`]) and send
//! an ISP that failed back alone, so it is retried without holding up the page.

use crate::App;
use crate::support::StoreResultExt;
use chrono::{DateTime, Utc};
use domain::Result;
use domain::due::DueWork;
use domain::event::{DomainEvent, EventName, TenantJobRequested};
use domain::tenant::{Tenant, TenantStatus};
use serde::Serialize;
use std::collections::HashSet;
use std::future::Future;
use std::sync::{Mutex, OnceLock};
use store::{Owner, Page, Query, Store, Tx, keys, ttl_at};
use uuid::Uuid;

/// ISPs per page (the table's page; a page's retries fit one transaction).
pub const TENANTS_PER_PAGE: usize = 100;

/// What a fan-out job did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct FanOut {
    pub tenants: usize,
    pub skipped_suspended: usize,
    /// Active ISPs with nothing marked due (a [`Shares::PagedDue`] job).
    pub skipped_nothing_due: usize,
    /// Events put on the bus.
    pub events: usize,
}

/// How a job's shares travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shares {
    /// One event per ISP (its share is long: a billing run, a reconcile).
    PerTenant,
    /// One event per page of ISPs (a frequent, short share).
    Paged,
    /// Paged, and only to the ISPs marked as having `DueWork` due (all of them on the day's
    /// first run: [`DueWork::visits_all`]).
    PagedDue(DueWork),
}

fn detail(job: &TenantJobRequested) -> Result<serde_json::Value> {
    serde_json::to_value(job).map_err(|e| domain::Error::Internal(e.to_string()))
}

/// Events for every active ISP (`event`, e.g. `RouterHealthCheckRequested`) as `shares` says, a
/// transaction per page of ISPs; a rule brings them to the job's worker. Suspended ISPs are
/// skipped.
pub async fn fan_out(
    app: &App,
    event: impl Into<EventName> + Copy,
    now: DateTime<Utc>,
    shares: Shares,
) -> Result<FanOut> {
    let mut report = FanOut::default();
    let marked = match shares {
        Shares::PagedDue(work) if !work.visits_all(now) => Some(marked_tenants(app, work, now).await?),
        _ => None,
    };
    let mut cursor: Option<String> = None;
    loop {
        let q = Query::index("gsi1", keys::tenants_gsi1()).limit(TENANTS_PER_PAGE as u32);
        let page: Page<Tenant> =
            app.store.query_page(Owner::Platform, "tenant-fan-out", q, cursor.as_deref()).await.or_500()?;
        let active: Vec<Uuid> =
            page.items.iter().filter(|t| t.status != TenantStatus::Suspended).map(|t| t.id).collect();
        report.skipped_suspended += page.items.len() - active.len();
        let active: Vec<Uuid> = match &marked {
            Some(m) => {
                let due: Vec<Uuid> = active.iter().copied().filter(|t| m.contains(t)).collect();
                report.skipped_nothing_due += active.len() - due.len();
                due
            }
            None => active,
        };
        report.tenants += active.len();
        let mut tx = Tx::new();
        match shares {
            Shares::PerTenant => {
                for t in &active {
                    tx.put_event(&DomainEvent::new(event, Some(*t), detail(&TenantJobRequested::one(*t, now))?, now));
                }
            }
            Shares::Paged | Shares::PagedDue(_) if !active.is_empty() => {
                tx.put_event(&DomainEvent::new(event, None, detail(&TenantJobRequested::page(active, now))?, now));
            }
            Shares::Paged | Shares::PagedDue(_) => {}
        }
        if !tx.is_empty() {
            report.events += tx.len();
            app.store.commit(tx).await.or_500()?;
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(report),
        }
    }
}

/// Marks `tenant` as having `work` due at `due` (see [`domain::due`]). Written before the work's
/// own record, so a run that reads the mark may find nothing yet (the next run will) but never
/// misses work for want of its mark. Once per ISP and interval in this process: a bulk send
/// writes the mark once, not per message.
pub async fn mark_due(app: &App, work: DueWork, tenant: Uuid, due: DateTime<Utc>) -> Result<()> {
    type Marked = Mutex<HashSet<(String, DueWork, Uuid, DateTime<Utc>)>>;
    static MARKED: OnceLock<Marked> = OnceLock::new();
    let marked = MARKED.get_or_init(Default::default);
    let now = app.now();
    let bucket = work.bucket(due, now);
    let memo = (app.store.table().to_string(), work, tenant, bucket);
    if marked.lock().is_ok_and(|m| m.contains(&memo)) {
        return Ok(());
    }
    let sk_time = keys::key_time(bucket);
    let mut item = Store::encode(
        &keys::due_marker(work.as_str(), &sk_time, tenant),
        "DUE_MARK",
        &serde_json::json!({"tenant_id": tenant, "due_at": sk_time}),
        None,
    )
    .or_500()?;
    item.insert("ttl".into(), ttl_at(bucket + work.keep()));
    app.store.put(item).await.or_500()?;
    if let Ok(mut m) = marked.lock() {
        // Only intervals a run will still read are worth remembering.
        let oldest = now - work.keep();
        m.retain(|(_, _, _, b)| *b >= oldest);
        m.insert(memo);
    }
    Ok(())
}

/// [`mark_due`] for a voucher about to be written active: the expiry job visits its ISP when its
/// validity ends.
pub async fn mark_voucher_due(app: &App, voucher: &domain::voucher::Voucher) -> Result<()> {
    match voucher.ends_at() {
        Some(end) => mark_due(app, DueWork::Vouchers, voucher.tenant_id, end).await,
        None => Ok(()),
    }
}

/// The ISPs marked with `work` in a run's window (one Query; marks are one per ISP and interval).
async fn marked_tenants(app: &App, work: DueWork, run_at: DateTime<Utc>) -> Result<HashSet<Uuid>> {
    let (lo, hi) = work.window(run_at);
    let q = Query::table(keys::due_markers_pk(work.as_str()))
        .range(Some(keys::key_time(lo)), format!("{}~", keys::key_time(hi)))
        .limit(1000);
    let items = app.store.query_all_items(q, usize::MAX).await.or_500()?;
    Ok(items.iter().filter_map(|i| store::string_attr(i, "sk")).filter_map(|sk| keys::due_marker_tenant(&sk)).collect())
}

/// How long a page's shares may keep starting: an ISP not started by then is sent back alone, so
/// a page with a few slow shares (a bulk SMS at the send rate, a slow router's ISP) ends well
/// within the worker's 120 s and the rest are not held up.
pub const PAGE_BUDGET: std::time::Duration = std::time::Duration::from_secs(45);

/// Does `share` for each ISP a job event names, `at_once` ISPs at a time. For one ISP, its
/// failure is the message's (the queue retries it). For a page, the ISPs that failed, and those
/// not started within [`PAGE_BUDGET`], are sent back as events of their own (retried alone, the
/// rest of the page done); only if that fails does the whole page fail (the shares are safe to
/// repeat).
pub async fn each_tenant<F, Fut>(
    app: &App,
    event: impl Into<EventName> + Copy,
    job: &TenantJobRequested,
    at_once: usize,
    share: F,
) -> Result<()>
where
    F: Fn(Uuid) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    each_tenant_within(app, event, job, at_once, PAGE_BUDGET, share).await
}

/// [`each_tenant`] with a page's time of its own.
pub async fn each_tenant_within<F, Fut>(
    app: &App,
    event: impl Into<EventName> + Copy,
    job: &TenantJobRequested,
    at_once: usize,
    budget: std::time::Duration,
    share: F,
) -> Result<()>
where
    F: Fn(Uuid) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    use futures::StreamExt;
    let share = &share;
    let started = std::time::Instant::now();
    let paged = job.tenant_id.is_none();
    // None: not started (the page's time was up).
    let results: Vec<(Uuid, Option<Result<()>>)> = futures::stream::iter(job.tenants())
        .map(|t| async move {
            if paged && started.elapsed() >= budget {
                return (t, None);
            }
            (t, Some(share(t).await))
        })
        .buffer_unordered(at_once.max(1))
        .collect()
        .await;
    if !paged {
        return results.into_iter().find_map(|(_, r)| r.and_then(|r| r.err())).map_or(Ok(()), Err);
    }
    let mut again = Vec::new();
    for (t, r) in results {
        match r {
            Some(Ok(())) => {}
            Some(Err(e)) => {
                tracing::warn!(tenant = %t, error = %e, "an ISP's share failed: sent back alone");
                again.push(t);
            }
            None => again.push(t),
        }
    }
    if again.is_empty() {
        return Ok(());
    }
    tracing::info!(sent_back = again.len(), "ISPs of a page sent back alone");
    let now = app.now();
    let mut tx = Tx::new();
    for t in again {
        tx.put_event(&DomainEvent::new(event, Some(t), detail(&TenantJobRequested::one(t, job.requested_at))?, now));
    }
    app.store.commit(tx).await.or_500()
}
