//! `job-ticket-sla`: every 5 minutes, the support tickets whose service level fell due across the
//! platform (a Query per shard of the SLA index) escalate to their next level (manager, then
//! admin), once per breach, each with a staff alert the ISP's messaging rules tell.

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use helpdesk::tickets::{SlaSweep, escalate_due};
use kernel::App;

/// At most this many tickets a run; the rest wait for the next.
pub const MAX_PER_RUN: usize = 2_000;

pub async fn handle(app: &App, event: CloudWatchEvent<serde_json::Value>) -> Result<SlaSweep, String> {
    let report = escalate_due(app, event.time, MAX_PER_RUN).await.map_err(|e| e.to_string())?;
    tracing::info!(?report, at = %event.time, "ticket service levels checked");
    Ok(report)
}
