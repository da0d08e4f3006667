//! Monitoring on the health sweep (the rules are `domain::monitoring`'s; devices polled by SNMP
//! go through the same steps, `crate::devices`): on a router that
//! answered, the same session pings the ISP's targets, reads the static interfaces and the log
//! (one pipelined batch); the point is kept (5-minute history a week, hourly 90 days), and an
//! episode that opens or closes raises one alert each. Writes ride the sweep's batch: the point
//! (packed with the state the next sweep starts from, `network::monitor_points::point_item`), an
//! hour's summary once an hour; a transaction only when an episode opens or closes.

use chrono::{DateTime, Utc};
use domain::Result;
use domain::alert::{Alert, AlertKind, AlertSubject};
use domain::monitoring::Device;
use domain::monitoring::{
    Episode, HOUR_DAYS, InterfaceCounters, LogLine, MonitorState, MonitoringSettings, PingPoint, Reading, advance,
};
use domain::network::Router;
use kernel::App;
use kernel::support::StoreResultExt;
use routeros::menu::{MonitorReading, RouterInfo};
use store::{Item, Store, Tx, keys, ttl_at};

/// What the router's reading says, in the domain's terms.
pub fn reading(info: &RouterInfo, m: &MonitorReading, settings: &MonitoringSettings) -> Reading {
    Reading {
        reachable: true,
        cpu_load: info.resource.cpu_load.map(|c| c.min(100) as u8),
        free_memory_bytes: info.resource.free_memory,
        uptime_seconds: info.resource.uptime.as_deref().and_then(domain::live::uptime_seconds),
        pings: settings
            .targets
            .iter()
            .zip(&m.pings)
            .map(|(t, p)| PingPoint {
                target: t.name.clone(),
                address: t.address.clone(),
                sent: p.sent,
                received: p.received,
                loss_percent: p.loss_percent,
                avg_rtt_ms: p.avg_rtt_ms,
                max_rtt_ms: p.max_rtt_ms,
            })
            .collect(),
        counters: m
            .interfaces
            .iter()
            .map(|i| InterfaceCounters {
                name: i.name.clone(),
                running: i.running,
                rx_bytes: i.rx_bytes.unwrap_or(0),
                tx_bytes: i.tx_bytes.unwrap_or(0),
            })
            .collect(),
        log: m
            .log
            .iter()
            .map(|l| LogLine { time: l.time.clone(), topics: l.topics.clone(), message: l.message.clone() })
            .collect(),
        last_log_id: m.last_log_id.clone(),
    }
}

fn expiring(mut item: Item, at: DateTime<Utc>, days: i64) -> Item {
    item.insert("ttl".into(), ttl_at(at + chrono::Duration::days(days)));
    item
}

/// What is watched: a router (its being down is its own alert), or a device polled by SNMP.
#[derive(Clone, Copy)]
pub enum Watched<'a> {
    Router(&'a Router),
    Device(&'a Device),
}

impl Watched<'_> {
    fn ids(&self) -> (uuid::Uuid, uuid::Uuid) {
        match self {
            Watched::Router(r) => (r.tenant_id, r.id),
            Watched::Device(d) => (d.tenant_id, d.id),
        }
    }

    fn subject(&self) -> AlertSubject {
        match self {
            Watched::Router(r) => AlertSubject {
                router_id: Some(r.id),
                router_name: Some(r.name.clone()),
                pop_id: r.pop_id,
                ..Default::default()
            },
            Watched::Device(d) => AlertSubject {
                device_id: Some(d.id),
                device_name: Some(d.name.clone()),
                pop_id: d.pop_id,
                ..Default::default()
            },
        }
    }
}

/// Advances a router's or a device's monitoring by one sweep: the items left to write (the point
/// with the new state unless an episode changed, a finished hour). An episode that opens or
/// closes is committed with its alert and the point in one transaction, so a sweep that runs again
/// (a redelivered message, a later clock) finds the episode open and raises nothing twice.
pub async fn record(
    app: &App,
    watched: Watched<'_>,
    prev: Option<MonitorState>,
    reading: Reading,
    settings: &MonitoringSettings,
) -> Result<Vec<Item>> {
    let now = app.now();
    let (tid, rid) = watched.ids();
    let device = matches!(watched, Watched::Device(_));
    let a = advance(prev.unwrap_or_default(), reading, &settings.thresholds, now, device);
    // The point carries the state: one write a sweep.
    let point = network::monitor_points::point_item(tid, rid, &a.state)?;
    let mut items = Vec::new();
    if a.opened.is_empty() && a.closed.is_empty() {
        items.push(point);
    } else {
        let mut tx = Tx::new();
        for (e, kind) in a
            .opened
            .iter()
            .map(|e| (e, AlertKind::MonitoringProblem))
            .chain(a.closed.iter().map(|e| (e, AlertKind::MonitoringRecovered)))
        {
            kernel::alerts::raise(&mut tx, &episode_alert(watched, e, kind, now))?;
        }
        tx.put(point.clone());
        match app.store.commit(tx).await {
            Ok(()) => {}
            // Raised already by a run of this sweep that lost its point's write: the point alone.
            Err(store::StoreError::Conflict(_)) => items.push(point),
            Err(e) => return Err(kernel::support::store_err(e)),
        }
        for e in &a.opened {
            tracing::info!(id = %rid, episode = %e.key, detail = %e.detail, "monitoring episode opened");
        }
        for e in &a.closed {
            tracing::info!(id = %rid, episode = %e.key, "monitoring episode closed");
        }
    }
    if let Some(h) = &a.finished_hour {
        items.push(expiring(
            Store::encode(&keys::monitor_hour(tid, rid, h.hour), "MONITOR_HOUR", h, None).or_500()?,
            h.hour,
            HOUR_DAYS,
        ));
    }
    Ok(items)
}

fn episode_alert(watched: Watched<'_>, e: &Episode, kind: AlertKind, now: DateTime<Utc>) -> Alert {
    let (tid, id) = watched.ids();
    // One alert per episode and kind: the same id for every try.
    let seed = format!("monitoring:{id}:{}:{}:{}", e.key, e.since.timestamp(), kind.as_str());
    let alert_id = domain::ids::derived_id(e.since, &seed);
    let detail = match kind {
        AlertKind::MonitoringRecovered => format!("{} (since {})", e.detail, e.since.format("%Y-%m-%d %H:%M UTC")),
        _ => e.detail.clone(),
    };
    Alert::new(alert_id, tid, kind, watched.subject(), Some(detail), now)
}
