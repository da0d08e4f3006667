//! `job-billing-run`: daily, one `BillingRunRequested` per active ISP; `worker-invoicing` issues
//! that ISP's due invoices as of the job's time.

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use domain::event::BillingEvent;
use kernel::App;
use kernel::schedule::{FanOut, Shares, fan_out};

pub async fn handle(app: &App, event: CloudWatchEvent<serde_json::Value>) -> Result<FanOut, String> {
    let report = fan_out(app, BillingEvent::BillingRunRequested, event.time, Shares::PerTenant)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(?report, at = %event.time, "billing runs requested");
    Ok(report)
}
