//! `job-payment-reconcile`: every 10 minutes, the checkouts still pending after ten minutes are
//! asked at their gateway's status API and settled, failed or expired (a checkout whose webhook
//! never came is paid within one run); one still pending after a day is expired.

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use gateways::GatewayHttp;
use kernel::App;
use payments::checkouts::{ReconcileReport, reconcile_pending};

/// The most pending checkouts one run asks about (the rest wait for the next run).
pub const MAX_PER_RUN: usize = 2_000;

pub async fn handle(app: &App, event: CloudWatchEvent<serde_json::Value>) -> Result<ReconcileReport, String> {
    let http = GatewayHttp::shared().map_err(|e| e.to_string())?;
    let report = reconcile_pending(app, http, MAX_PER_RUN).await.map_err(|e| e.to_string())?;
    tracing::info!(?report, at = %event.time, "pending checkouts reconciled");
    Ok(report)
}
