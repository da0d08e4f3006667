//! `job-router-health`: every 5 minutes, one `RouterHealthCheckRequested` per active ISP; the
//! provisioning worker (the only function that reaches routers) checks that ISP's routers.

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use domain::event::NetworkEvent;
use kernel::App;
use kernel::schedule::{FanOut, fan_out};

pub async fn handle(app: &App, event: CloudWatchEvent<serde_json::Value>) -> Result<FanOut, String> {
    let report = fan_out(app, NetworkEvent::RouterHealthCheckRequested, event.time).await.map_err(|e| e.to_string())?;
    tracing::info!(?report, at = %event.time, "router health checks requested");
    Ok(report)
}
