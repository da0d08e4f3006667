//! `job-turbo-sweep`: every minute, the turbo boosts whose end has come across the platform are
//! told to provisioning (`SubscriptionTurboEnded`), which puts the package's speed back. Its cost
//! follows the turbos sold (a Query per shard), not the number of ISPs.

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use kernel::App;
use subscriptions::turbo::{TurboSweep, end_due};

/// At most this many ends a run; the rest wait a minute.
pub const MAX_PER_RUN: usize = 2_000;

pub async fn handle(app: &App, event: CloudWatchEvent<serde_json::Value>) -> Result<TurboSweep, String> {
    let report = end_due(app, event.time, MAX_PER_RUN).await.map_err(|e| e.to_string())?;
    tracing::info!(?report, at = %event.time, "turbo ends told");
    Ok(report)
}
