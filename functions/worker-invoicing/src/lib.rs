//! `worker-invoicing`: the invoicing queue's consumer. Each message is one ISP's share of a daily
//! job, done as of the time the job ran: `BillingRunRequested` (renewal invoices),
//! `DunningRequested` (overdue, reminders, suspension for debt) and `ExpirySweepRequested`
//! (prepaid validity ended). Each is safe to repeat (an invoice's id comes from its subscription
//! and period and the billed period moves in the invoice's transaction; reminders are recorded on
//! the invoice; state changes go through the state machines), so a redelivered message does
//! nothing twice. Failures are reported per message, retried, and end in the dead-letter queue and
//! its alarm.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use domain::event::{BillingEvent, EventName, EventPayload, TenantJobRequested};
use domain::work::WorkError;
use events::{BatchResponse, BusEvent};
use kernel::App;

/// The daily job an event asks for. Exhaustive over the billing context's events (a new one must
/// be placed here); the other contexts' events are never this worker's.
fn job(name: EventName) -> Option<BillingEvent> {
    use BillingEvent as B;
    match name {
        EventName::Billing(
            e @ (B::BillingRunRequested | B::DunningRequested | B::ExpirySweepRequested | B::TurboCheckoutPaid),
        ) => Some(e),
        EventName::Billing(
            B::InvoiceDrafted
            | B::InvoiceDraftUpdated
            | B::InvoiceIssued
            | B::InvoicePaid
            | B::InvoiceVoided
            | B::InvoiceCredited
            | B::InvoiceOverdue
            | B::InvoiceReminderDue
            | B::CreditNoteIssued
            | B::RefundIssued
            | B::DiscountCreated
            | B::DiscountUpdated
            | B::DiscountDeleted
            | B::PaymentReceived
            | B::CommissionEarned
            | B::WalletLowBalance,
        )
        | EventName::Platform(_)
        | EventName::Identity(_)
        | EventName::Crm(_)
        | EventName::Network(_)
        | EventName::Messaging(_) => None,
    }
}

/// Whether this worker acts on the event (its queue's rule must route exactly these).
pub fn consumes(name: EventName) -> bool {
    job(name).is_some()
}

/// The queue's `maxReceiveCount` (the template's): a failure at this receive is the last.
pub const DLQ_AFTER_RECEIVES: u32 = 5;

pub async fn handle(app: &App, event: SqsEvent) -> BatchResponse {
    let mut resp = BatchResponse::default();
    for m in &event.records {
        let id = m.message_id.clone().unwrap_or_default();
        resp.settle("worker-invoicing", &id, handle_one(app, m).await);
    }
    kernel::alerts::raise_dead_letters(app, "worker-invoicing", &resp.last_failures(&event, DLQ_AFTER_RECEIVES)).await;
    resp
}

async fn handle_one(app: &App, m: &SqsMessage) -> Result<(), WorkError> {
    let ev: BusEvent = serde_json::from_str(m.body.as_deref().unwrap_or(""))
        .map_err(|e| WorkError::Drop(format!("not an EventBridge event: {e}")))?;
    let Some(job) = EventName::parse(&ev.detail_type).and_then(job) else {
        return Err(WorkError::Drop(format!("unexpected event {}", ev.detail_type)));
    };
    if job == BillingEvent::TurboCheckoutPaid {
        return Box::pin(turbo_paid(app, &ev)).await;
    }
    // The run's "now" is the job's time, so a retried message bills what was due then. The
    // hourly expiry sweep names a page of ISPs, the daily runs one ISP each.
    let run = TenantJobRequested::read(&ev.detail).map_err(WorkError::Drop)?;
    if run.tenants().is_empty() {
        return Err(WorkError::Drop(format!("{} names no ISP", ev.detail_type)));
    }
    let as_of = run.requested_at;
    // Boxed: the runs' futures are deep, and their layout would otherwise be computed into this
    // crate's `main` (past the compiler's query depth limit).
    let done = kernel::schedule::each_tenant(app, job, &run, 4, |tenant| async move {
        match job {
            BillingEvent::BillingRunRequested => {
                Box::pin(cycles::billing_run::run_tenant(app, tenant, as_of)).await.map(|_| ())
            }
            BillingEvent::DunningRequested => {
                Box::pin(cycles::dunning::run_dunning(app, tenant, as_of)).await.map(|_| ())
            }
            _ => Box::pin(cycles::dunning::run_expiry_sweep(app, tenant, as_of)).await.map(|_| ()),
        }
    })
    .await;
    // A run's failure is a store error or a lost race: retried (the runs are safe to repeat).
    done.map_err(WorkError::from)
}

/// A turbo paid online: bought from the money the checkout put in the account (see
/// [`subscriptions::turbo::buy_paid`]).
async fn turbo_paid(app: &App, ev: &BusEvent) -> Result<(), WorkError> {
    let paid = domain::event::TurboCheckoutPaid::read(&ev.detail).map_err(WorkError::Drop)?;
    let tenant: uuid::Uuid = ev
        .detail
        .get("tenant_id")
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| WorkError::Drop("TurboCheckoutPaid without tenant_id".into()))?;
    subscriptions::turbo::buy_paid(app, tenant, &paid).await.map(|_| ()).map_err(WorkError::from)
}
