//! `job-platform-subscriptions`: the daily sweep of platform reseller subscriptions. The scheduled
//! event's `time` is the sweep's "now", so a rerun for the same day (or a test) is deterministic.

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use identity::platform::{SubscriptionSweep, subscription_sweep};
use kernel::App;

pub async fn handle(app: &App, event: CloudWatchEvent<serde_json::Value>) -> Result<SubscriptionSweep, String> {
    let now = event.time;
    let report = subscription_sweep(app, now).await.map_err(|e| e.to_string())?;
    tracing::info!(?report, at = %now, "platform subscription sweep done");
    Ok(report)
}
