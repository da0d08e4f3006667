//! `job-expiry-sweep`: hourly, one `ExpirySweepRequested` per page of 100 active ISPs; `worker-invoicing`
//! expires each ISP's prepaid subscriptions whose validity ended unpaid (provisioning then cuts access).

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use domain::event::BillingEvent;
use kernel::App;
use kernel::schedule::{FanOut, Shares, fan_out};

pub async fn handle(app: &App, event: CloudWatchEvent<serde_json::Value>) -> Result<FanOut, String> {
    let report =
        fan_out(app, BillingEvent::ExpirySweepRequested, event.time, Shares::Paged).await.map_err(|e| e.to_string())?;
    tracing::info!(?report, at = %event.time, "expiry sweep requested");
    Ok(report)
}
