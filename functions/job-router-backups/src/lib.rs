//! `job-router-backups`: daily, one `RouterBackupSweepRequested` per active ISP; the provisioning
//! worker (the only function that reaches routers) takes the scheduled backups that are due,
//! prunes to the ISP's `keep`, and keeps each router's on-router daily backup entry as wanted.

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use domain::event::NetworkEvent;
use kernel::App;
use kernel::schedule::{FanOut, Shares, fan_out};

pub async fn handle(app: &App, event: CloudWatchEvent<serde_json::Value>) -> Result<FanOut, String> {
    let report = fan_out(app, NetworkEvent::RouterBackupSweepRequested, event.time, Shares::PerTenant)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(?report, at = %event.time, "router backup sweeps requested");
    Ok(report)
}
