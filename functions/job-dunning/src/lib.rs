//! `job-dunning`: daily, one `DunningRequested` per active ISP; `worker-invoicing` marks that ISP's
//! past-due invoices overdue, sends its reminders and suspends for debt after the grace days.

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use domain::event::BillingEvent;
use kernel::App;
use kernel::schedule::{FanOut, Shares, fan_out};

pub async fn handle(app: &App, event: CloudWatchEvent<serde_json::Value>) -> Result<FanOut, String> {
    let report =
        fan_out(app, BillingEvent::DunningRequested, event.time, Shares::PerTenant).await.map_err(|e| e.to_string())?;
    tracing::info!(?report, at = %event.time, "dunning requested");
    Ok(report)
}
