//! `job-router-reconcile`: every 6 hours, one `RouterReconcileRequested` (no router: all of them) per
//! active ISP; the provisioning worker compares each router with the table, repairs drift and
//! stores the report with the accounts nobody knows.

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use domain::event::NetworkEvent;
use kernel::App;
use kernel::schedule::{FanOut, Shares, fan_out};

pub async fn handle(app: &App, event: CloudWatchEvent<serde_json::Value>) -> Result<FanOut, String> {
    let report = fan_out(app, NetworkEvent::RouterReconcileRequested, event.time, Shares::PerTenant)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(?report, at = %event.time, "router reconciles requested");
    Ok(report)
}
