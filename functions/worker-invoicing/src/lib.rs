//! `worker-invoicing`: the invoicing queue's consumer. Each message is one ISP's share of a daily
//! job, done as of the time the job ran: `BillingRunRequested` (renewal invoices),
//! `DunningRequested` (overdue, reminders, suspension for debt) and `ExpirySweepRequested`
//! (prepaid validity ended). Each is safe to repeat (an invoice's id comes from its subscription
//! and period and the billed period moves in the invoice's transaction; reminders are recorded on
//! the invoice; state changes go through the state machines), so a redelivered message does
//! nothing twice. Failures are reported per message, retried, and end in the dead-letter queue and
//! its alarm.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use events::{BatchResponse, BusEvent};
use kernel::App;

pub async fn handle(app: &App, event: SqsEvent) -> BatchResponse {
    let mut resp = BatchResponse::default();
    for m in &event.records {
        let id = m.message_id.clone().unwrap_or_default();
        if let Err(e) = handle_one(app, m).await {
            tracing::warn!(message_id = %id, error = %e, "billing run failed; will be retried");
            resp.fail(id);
        }
    }
    resp
}

async fn handle_one(app: &App, m: &SqsMessage) -> Result<(), String> {
    let ev: BusEvent =
        serde_json::from_str(m.body.as_deref().unwrap_or("")).map_err(|e| format!("not an EventBridge event: {e}"))?;
    let tenant = ev.tenant_id().ok_or("event without tenant_id")?;
    // The run's "now" is the job's time, so a retried message bills what was due then.
    let as_of = ev
        .detail
        .get("requested_at")
        .and_then(|v| v.as_str())
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok_or("event without requested_at")?;
    // Boxed: the runs' futures are deep, and their layout would otherwise be computed into this
    // crate's `main` (past the compiler's query depth limit).
    let done = match ev.detail_type.as_str() {
        "BillingRunRequested" => Box::pin(cycles::billing_run::run_tenant(app, tenant, as_of)).await.map(|_| ()),
        "DunningRequested" => Box::pin(cycles::dunning::run_dunning(app, tenant, as_of)).await.map(|_| ()),
        "ExpirySweepRequested" => Box::pin(cycles::dunning::run_expiry_sweep(app, tenant, as_of)).await.map(|_| ()),
        other => return Err(format!("unexpected event {other}")),
    };
    done.map_err(|e| e.to_string())
}
