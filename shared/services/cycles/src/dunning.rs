//! Dunning and the expiry sweep, each per ISP from a daily job through the invoicing queue.
//!
//! Dunning reads the open invoices by due date (gsi2 `OPENINV`, only open invoices are in it):
//! those past due become overdue (`InvoiceOverdue`), reminders go out at the ISP's offsets
//! (`InvoiceReminderDue`, for the notification path), and after the grace days the subscription is
//! suspended for the debt (`SubscriptionSuspended` with reason `unpaid`, in the same transaction as
//! the invoice's record of it). A payment that clears the debt restores it (see `payments`).
//!
//! The expiry sweep reads the expiry index (gsi2 `SUBEXP`) up to now and expires prepaid
//! subscriptions whose validity ended unpaid (`SubscriptionExpired` -> provisioning cuts access).

use crate::sweep::{IndexScan, active_tenant, until};
use billing::books::{invoice_event, stage_invoice_write};
use chrono::{DateTime, Duration, Utc};
use domain::actor::Actor;
use domain::dunning::{DunningStep, apply_step, dunning_step};
use domain::event::BillingEvent;
use domain::invoice::Invoice;
use domain::subscription::{Subscription, SubscriptionStatus, UNPAID};
use domain::tenant::Tenant;
use domain::{Error, Result};
use kernel::App;
use kernel::support::{StoreResultExt, decoded, store_err};
use serde::{Deserialize, Serialize};
use store::{Conflict, Filter, Owner, Query, StoreError, Tx, keys};
use subscriptions::subscriptions::{Change, ChangeRequest, apply};
use uuid::Uuid;

const PAGE: u32 = 100;
/// How far back the hourly expiry sweep looks: far beyond any outage the DLQ alarm would not catch.
const SWEEP_LOOKBACK_DAYS: i64 = 35;

/// What dunning did for one ISP.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DunningReport {
    pub tenant_id: Uuid,
    pub as_of: DateTime<Utc>,
    /// Open invoices read (due before now + the earliest reminder's lead).
    pub open: usize,
    pub marked_overdue: usize,
    pub reminders: usize,
    pub suspended: usize,
    /// Changed by a payment meanwhile: left for the next run.
    pub retry_later: usize,
    /// Past days of the dues report that owe nothing any more, removed.
    pub dues_days_compacted: usize,
    pub tenant_suspended: bool,
}

/// What the expiry sweep did for one ISP.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiryReport {
    pub tenant_id: Uuid,
    pub as_of: DateTime<Utc>,
    pub expired: usize,
    /// Scheduled moves to a cheaper package made (their period ended).
    #[serde(default)]
    pub package_changes: usize,
    pub tenant_suspended: bool,
}

/// Dunning of one ISP at `now` (the job's time).
pub async fn run_dunning(app: &App, tid: Uuid, now: DateTime<Utc>) -> Result<DunningReport> {
    let mut report = DunningReport { tenant_id: tid, as_of: now, ..Default::default() };
    let Some(tenant) = active_tenant(app, tid).await? else {
        report.tenant_suspended = true;
        return Ok(report);
    };
    let b = &tenant.billing;
    // Reminders before the due date reach that far ahead.
    let lead = b.reminder_days.iter().map(|d| -i64::from(*d)).max().unwrap_or(0).max(0);
    let hi = until(now + Duration::days(lead));
    let queries = (0..keys::INVOICE_SHARDS)
        .map(|s| Query::index("gsi2", keys::open_invoices_gsi2(tid, s)).range(None, hi.clone()).limit(PAGE))
        .collect();
    let mut scan = IndexScan::new(Owner::Tenant(tid), "dunning", queries);
    while let Some(page) = scan.next_page::<Invoice>(app).await? {
        for inv in page {
            report.open += 1;
            dun(app, &tenant, inv, now, &mut report).await?;
        }
    }
    report.dues_days_compacted = kernel::projections::reports::compact_dues(app, &tenant, now).await?;
    tracing::info!(?report, "dunning done");
    Ok(report)
}

/// One invoice's step, read again once if a payment moved it meanwhile.
async fn dun(
    app: &App,
    tenant: &Tenant,
    mut inv: Invoice,
    now: DateTime<Utc>,
    report: &mut DunningReport,
) -> Result<()> {
    let b = &tenant.billing;
    for attempt in 0..2 {
        let step = dunning_step(&inv, &b.reminder_days, b.grace_days, now);
        if step.is_empty() {
            return Ok(());
        }
        match commit_step(app, tenant, &inv, &step, now).await {
            Ok(suspended) => {
                report.marked_overdue += usize::from(step.mark_overdue);
                report.reminders += usize::from(step.reminder.is_some());
                report.suspended += usize::from(suspended);
                return Ok(());
            }
            Err(Error::Conflict { code: "version_conflict", .. }) if attempt == 0 => {
                let k = keys::invoice(inv.tenant_id, inv.customer_id, inv.id, None, None, None);
                match decoded::<Invoice>(app.store.get_item(&k).await.or_500()?)? {
                    Some(fresh) => inv = fresh,
                    None => return Ok(()),
                }
            }
            Err(Error::Conflict { code: "version_conflict", .. }) => {
                report.retry_later += 1;
                return Ok(());
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Stages the invoice's new state and its events; with a suspension, inside the subscription's
/// own transaction. Returns whether a subscription was suspended.
async fn commit_step(
    app: &App,
    tenant: &Tenant,
    before: &Invoice,
    step: &DunningStep,
    now: DateTime<Utc>,
) -> Result<bool> {
    let mut inv = before.clone();
    apply_step(&mut inv, step, now)?;
    inv.version += 1;
    inv.updated_at = now;
    let stage = |tx: &mut Tx| -> Result<()> {
        stage_invoice_write(tx, tenant, &inv, Some(before))?;
        if step.mark_overdue {
            tx.put_event(&invoice_event(BillingEvent::InvoiceOverdue, &inv, now));
        }
        if let Some(offset) = step.reminder {
            let mut ev = invoice_event(BillingEvent::InvoiceReminderDue, &inv, now);
            ev.detail["offset_days"] = serde_json::json!(offset);
            tx.put_event(&ev);
        }
        Ok(())
    };
    if step.suspend
        && let Some(sub) = inv.subscription_id
    {
        let tid = inv.tenant_id;
        let change = Change::Suspend { reason: Some(UNPAID.into()) };
        match apply(
            app,
            &Actor::system(tid),
            &ChangeRequest::new(tid, inv.customer_id, sub, &change).with_writes(&stage),
        )
        .await
        {
            Ok(_) => return Ok(true),
            // Not active (suspended already, expired, cancelled) or gone: nothing to cut.
            Err(Error::Conflict { code: "invalid_transition", .. } | Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let mut tx = Tx::new();
    stage(&mut tx)?;
    match app.store.commit(tx).await {
        Ok(()) => Ok(false),
        Err(StoreError::Conflict(Conflict::Version)) => Err(Error::version_conflict()),
        Err(e) => Err(store_err(e)),
    }
}

/// The expiry sweep of one ISP at `now`: prepaid subscriptions whose validity ended expire.
pub async fn run_expiry_sweep(app: &App, tid: Uuid, now: DateTime<Utc>) -> Result<ExpiryReport> {
    let mut report = ExpiryReport { tenant_id: tid, as_of: now, ..Default::default() };
    if active_tenant(app, tid).await?.is_none() {
        report.tenant_suspended = true;
        return Ok(report);
    }
    let live = Filter::default().any_of("status", &["active".to_string(), "suspended".to_string()]);
    // Expired subscriptions stay in the expiry index (it lists them by expiry); the sweep runs
    // hourly, so it reads only what ended in the last few weeks rather than every expiry ever.
    let since = Some(keys::key_time(now - Duration::days(SWEEP_LOOKBACK_DAYS)));
    let queries = (0..keys::EXPIRY_SHARDS)
        .map(|s| {
            Query::index("gsi2", keys::subscriptions_by_expiry_gsi2(tid, s))
                .range(since.clone(), until(now))
                .filter(live.clone())
                .limit(PAGE)
        })
        .collect();
    let mut scan = IndexScan::new(Owner::Tenant(tid), "expiry-sweep", queries);
    let system = Actor::system(tid);
    while let Some(page) = scan.next_page::<Subscription>(app).await? {
        for s in page {
            let live = matches!(s.status, SubscriptionStatus::Active | SubscriptionStatus::Suspended);
            if !live || s.expires_at.is_none_or(|e| e > now) {
                continue;
            }
            match apply(app, &system, &ChangeRequest::new(tid, s.customer_id, s.id, &Change::Expire { at: now })).await
            {
                Ok(_) => report.expired += 1,
                // Renewed, expired or cancelled meanwhile.
                Err(Error::Conflict { code: "invalid_transition" | "not_expired", .. } | Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
    }
    // After the expiries: a subscription that ended unpaid moves too, so its renewal bills the
    // package asked for.
    report.package_changes = subscriptions::package_change::apply_due(app, tid, now).await?;
    tracing::info!(?report, "expiry sweep done");
    Ok(report)
}
