//! `job-router-health`: every 5 minutes, one `RouterHealthCheckRequested` per page of 100 active ISPs;
//! the provisioning worker (the only function that reaches routers) checks their routers.

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use domain::event::NetworkEvent;
use kernel::App;
use kernel::schedule::{FanOut, Shares, fan_out};

pub async fn handle(app: &App, event: CloudWatchEvent<serde_json::Value>) -> Result<FanOut, String> {
    let report = fan_out(app, NetworkEvent::RouterHealthCheckRequested, event.time, Shares::Paged)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(?report, at = %event.time, "router health checks requested");
    Ok(report)
}
