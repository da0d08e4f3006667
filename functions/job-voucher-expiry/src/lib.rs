//! `job-voucher-expiry`: every 15 minutes, one `VoucherExpirySweepRequested` per page of 100 active
//! ISPs with a voucher marked as ending in its window (`domain::due`; all of them on the day's first
//! run); `worker-provisioning` expires each ISP's active vouchers whose validity ended and removes
//! them from the routers.

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use domain::due::DueWork;
use domain::event::NetworkEvent;
use kernel::App;
use kernel::schedule::{FanOut, Shares, fan_out};

pub async fn handle(app: &App, event: CloudWatchEvent<serde_json::Value>) -> Result<FanOut, String> {
    let report =
        fan_out(app, NetworkEvent::VoucherExpirySweepRequested, event.time, Shares::PagedDue(DueWork::Vouchers))
            .await
            .map_err(|e| e.to_string())?;
    tracing::info!(?report, at = %event.time, "voucher expiry requested");
    Ok(report)
}
