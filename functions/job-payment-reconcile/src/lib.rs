//! `job-payment-reconcile`: every 10 minutes, the checkouts still pending after ten minutes are
//! asked at their gateway's status API and settled, failed or expired (a checkout whose webhook
//! never came is paid within one run); one still pending after a day is expired. Refunds whose
//! request went away before the gateway answered are asked again and paid out or released.

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use gateways::GatewayHttp;
use kernel::App;
use payments::checkouts::{ReconcileReport, reconcile_pending};
use payments::refunds::{HeldRefundsReport, resume_held_refunds};

/// The most pending checkouts one run asks about (the rest wait for the next run).
pub const MAX_PER_RUN: usize = 2_000;

/// What one run did.
#[derive(Debug, serde::Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub checkouts: ReconcileReport,
    #[serde(flatten)]
    pub refunds: HeldRefundsReport,
}

pub async fn handle(app: &App, event: CloudWatchEvent<serde_json::Value>) -> Result<Report, String> {
    let http = GatewayHttp::shared().map_err(|e| e.to_string())?;
    let checkouts = reconcile_pending(app, http, MAX_PER_RUN).await.map_err(|e| e.to_string())?;
    let refunds = resume_held_refunds(app, http, MAX_PER_RUN).await.map_err(|e| e.to_string())?;
    let report = Report { checkouts, refunds };
    tracing::info!(?report, at = %event.time, "pending checkouts and held refunds reconciled");
    Ok(report)
}
