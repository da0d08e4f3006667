//! SNMP devices on the health sweep (`provisioning::snmp` reads them; the rules are
//! `domain::monitoring`'s): each device's interfaces and uptime every 5 minutes, its point and
//! history like a router's, and episodes (down, a running interface down) with one alert each.
//! Reads: one Query for the devices, one BatchGetItem per 100 for their state; writes: one
//! BatchWriteItem per 25 items (state and point per device), a transaction per episode change.

use crate::monitoring::{Watched, record};
use domain::Result;
use domain::monitoring::{MonitoringSettings, Reading};
use kernel::App;
use kernel::support::StoreResultExt;
use network::devices::{DeviceRecord, all_device_records, open_credentials};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use uuid::Uuid;

/// Devices polled at once, and how long one has to answer each request.
const PARALLEL_POLLS: usize = 32;

/// SNMP polls in flight in one worker, whatever the ISPs (a page of ISPs is swept at once; each
/// poll holds a UDP socket).
static POLLS_IN_FLIGHT: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(128);
const SNMP_TIMEOUT: Duration = Duration::from_secs(2);

/// What one ISP's poll found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DevicePoll {
    pub polled: usize,
    pub answered: usize,
}

async fn read(app: &App, rec: &DeviceRecord) -> Reading {
    let d = &rec.device;
    let ip: Option<IpAddr> = d.host.parse().ok();
    let refused = ip.and_then(|ip| domain::network::router_address_refusal(ip, app.router_hosts));
    let (Some(ip), None) = (ip, refused) else {
        tracing::warn!(device = %d.id, "device address refused");
        return Reading::default();
    };
    let creds = match open_credentials(app, rec) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(device = %d.id, error = %e, "device credentials");
            return Reading::default();
        }
    };
    match crate::snmp::poll(SocketAddr::new(ip, d.port), &creds, SNMP_TIMEOUT).await {
        Ok(r) => {
            Reading { reachable: true, uptime_seconds: r.uptime_seconds, counters: r.interfaces, ..Reading::default() }
        }
        Err(e) => {
            tracing::info!(device = %d.id, error = %e, "device did not answer SNMP");
            Reading::default()
        }
    }
}

pub async fn poll_tenant(app: &App, tenant: Uuid, settings: &MonitoringSettings) -> Result<DevicePoll> {
    use futures::StreamExt;
    let devices = all_device_records(app, tenant).await?;
    if devices.is_empty() {
        return Ok(DevicePoll::default());
    }
    let results: Vec<Result<(Vec<store::Item>, bool)>> =
        futures::stream::iter(devices.into_iter().map(|rec| async move {
            let _turn = POLLS_IN_FLIGHT.acquire().await.map_err(|e| domain::Error::Internal(e.to_string()))?;
            let (prev, reading) =
                futures::join!(network::monitor_points::latest_state(app, tenant, rec.device.id), read(app, &rec));
            let prev = prev?;
            let answered = reading.reachable;
            let items = record(app, Watched::Device(&rec.device), prev, reading, settings).await?;
            Ok((items, answered))
        }))
        .buffer_unordered(PARALLEL_POLLS)
        .collect()
        .await;
    let mut poll = DevicePoll::default();
    let mut items = Vec::new();
    for r in results {
        let (device_items, answered) = r?;
        poll.polled += 1;
        poll.answered += answered as usize;
        items.extend(device_items);
    }
    app.store.put_many(items).await.or_500()?;
    Ok(poll)
}
