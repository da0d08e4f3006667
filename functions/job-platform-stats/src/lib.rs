//! `job-platform-stats`: daily, every ISP's dashboard counters and the month's collections into
//! the platform's month partition, for the platform owner's and the resellers' analytics (which
//! then read only those). The scheduled event's `time` is the snapshot's "now".

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use kernel::App;
use kernel::projections::platform_stats::{SnapshotReport, snapshot};

pub async fn handle(app: &App, event: CloudWatchEvent<serde_json::Value>) -> Result<SnapshotReport, String> {
    let now = event.time;
    let report = snapshot(app, now).await.map_err(|e| e.to_string())?;
    tracing::info!(?report, at = %now, "platform statistics taken");
    Ok(report)
}
