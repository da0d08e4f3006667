//! Monitoring as the API shows it: a router's current state (the last sweep's point, the open
//! episodes, the ISP's targets and thresholds) and its history for charts (5-minute points for a
//! week, hourly summaries for 90 days). The sweep itself is the provisioning worker's.

//! How points are stored: `crate::monitor_points`.

use crate::monitor_points::{latest_state, state_of};
use crate::routers::router_with;
use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::monitoring::{Episode, HOUR_DAYS, HourPoint, MonitorPoint, MonitoringSettings, POINT_DAYS};
use domain::network::RouterStatus;
use domain::{Error, Result};
use kernel::App;
use kernel::support::{StoreResultExt, decoded};
use serde::Serialize;
use store::{Query, keys};
use uuid::Uuid;

/// A router's monitoring now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RouterMonitoring {
    pub router_id: Uuid,
    pub name: String,
    pub status: RouterStatus,
    /// The last sweep's point (none before the first sweep).
    pub last: Option<MonitorPoint>,
    /// Conditions in an episode now (`latency:<target>`, `loss:<target>`, `cpu`,
    /// `interface:<name>`), since when, and what opened them.
    pub open: Vec<Episode>,
    /// What the ISP watches.
    pub settings: MonitoringSettings,
}

/// `GET /v1/monitoring/routers/{id}`: the router and the ISP's settings in one BatchGetItem,
/// beside the Query for its newest point (the state; shown only once the router is visible).
pub async fn router_monitoring(app: &App, actor: &Actor, id: Uuid) -> Result<RouterMonitoring> {
    let tid = actor.tenant()?;
    let isp = [keys::tenant(tid, None)];
    let ((router, items), state) = futures::try_join!(router_with(app, actor, id, &isp), latest_state(app, tid, id))?;
    let mut items = items.into_iter();
    let tenant: Option<domain::tenant::Tenant> = decoded(items.next().flatten())?;
    let state = state.unwrap_or_default();
    Ok(RouterMonitoring {
        router_id: router.id,
        name: router.name,
        status: router.status,
        last: state.last,
        open: state.open.into_values().collect(),
        settings: tenant.map(|t| t.monitoring).unwrap_or_default(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    FiveMinutes,
    Hour,
}

impl Resolution {
    pub fn parse(s: Option<&str>) -> Result<Resolution> {
        match s {
            None | Some("5m") => Ok(Resolution::FiveMinutes),
            Some("1h") => Ok(Resolution::Hour),
            Some(_) => Err(Error::field("resolution", "5m or 1h")),
        }
    }
}

/// A history series, oldest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MonitoringHistory {
    /// The router's or the device's id.
    pub id: Uuid,
    pub resolution: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// 5-minute points (`resolution=5m`).
    pub points: Vec<MonitorPoint>,
    /// Hourly summaries (`resolution=1h`).
    pub hours: Vec<HourPoint>,
}

/// `GET /v1/monitoring/routers/{id}/history`: the router (visible to the caller) and its series.
pub async fn router_history(
    app: &App,
    actor: &Actor,
    id: Uuid,
    resolution: Resolution,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<MonitoringHistory> {
    let window = window(app, resolution, from, to)?;
    let (router, _) = router_with(app, actor, id, &[]).await?;
    series(app, actor.tenant()?, router.id, resolution, window).await
}

/// `GET /v1/monitoring/devices/{id}/history`: the device (of the caller's ISP) and its series.
pub async fn device_history(
    app: &App,
    actor: &Actor,
    id: Uuid,
    resolution: Resolution,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<MonitoringHistory> {
    let window = window(app, resolution, from, to)?;
    let device = crate::devices::device_record(app, actor, id).await?;
    series(app, actor.tenant()?, device.device.id, resolution, window).await
}

/// `from`..`to` (default: the last day of 5-minute points, the last 30 days of hours; at most
/// what is kept).
fn window(
    app: &App,
    resolution: Resolution,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    let now = app.now();
    let (kept, default) = match resolution {
        Resolution::FiveMinutes => (chrono::Duration::days(POINT_DAYS), chrono::Duration::days(1)),
        Resolution::Hour => (chrono::Duration::days(HOUR_DAYS), chrono::Duration::days(30)),
    };
    let to = to.unwrap_or(now);
    let from = from.unwrap_or(to - default).max(now - kept);
    if from > to {
        return Err(Error::field("from", "must not be after to"));
    }
    Ok((from, to))
}

/// One Query of the history partition between the window's ends.
async fn series(
    app: &App,
    tid: Uuid,
    id: Uuid,
    resolution: Resolution,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> Result<MonitoringHistory> {
    let (lo, hi) = match resolution {
        Resolution::FiveMinutes => (keys::monitor_point(tid, id, from), keys::monitor_point(tid, id, to)),
        Resolution::Hour => (keys::monitor_hour(tid, id, from), keys::monitor_hour(tid, id, to)),
    };
    let q = Query::table(lo.pk.clone()).range(Some(lo.sk.clone()), hi.sk.clone()).limit(500);
    let mut out = MonitoringHistory {
        id,
        resolution: if resolution == Resolution::Hour { "1h".into() } else { "5m".into() },
        from,
        to,
        points: Vec::new(),
        hours: Vec::new(),
    };
    match resolution {
        Resolution::FiveMinutes => {
            out.points = app
                .store
                .query_all_items(q, 10_000)
                .await
                .or_500()?
                .into_iter()
                .filter_map(|i| state_of(i)?.last)
                .collect()
        }
        Resolution::Hour => out.hours = app.store.query_all(q, 10_000).await.or_500()?,
    }
    Ok(out)
}
