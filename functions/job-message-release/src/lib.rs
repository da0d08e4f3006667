//! `job-message-release`: every 5 minutes, one `MessagesDueRequested` per page of 100 active ISPs
//! with messages marked due in its window (`domain::due`; every active ISP on the day's first run);
//! `worker-notifications` sends each ISP's messages that have come due (held by quiet hours, a
//! retry's backoff or the send rate) and settles sends whose worker died half-way.

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use domain::due::DueWork;
use domain::event::MessagingEvent;
use kernel::App;
use kernel::schedule::{FanOut, Shares, fan_out};

pub async fn handle(app: &App, event: CloudWatchEvent<serde_json::Value>) -> Result<FanOut, String> {
    let report = fan_out(app, MessagingEvent::MessagesDueRequested, event.time, Shares::PagedDue(DueWork::Messages))
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(?report, at = %event.time, "message release requested");
    Ok(report)
}
