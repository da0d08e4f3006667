//! Monitoring: what the health sweep sees of each router every 5 minutes beyond "it answered"
//! (latency and loss to the ISP's targets by the router's own ping, interface rates and link
//! state, CPU, the warning and error log lines since the last sweep), the history kept of it, and
//! the thresholds that open and close episodes: an alert when a condition starts and one when it
//! ends, never one per sweep.

use crate::validate::Validation;
use chrono::{DateTime, DurationRound, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// 5-minute points are kept a week, hourly ones 90 days.
pub const POINT_DAYS: i64 = 7;
pub const HOUR_DAYS: i64 = 90;
/// Log lines kept per point.
pub const LOG_LINES_PER_POINT: usize = 20;

/// What an ISP watches, and when it wants to hear of it (a tenant setting).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitoringSettings {
    /// Pinged from every router at each sweep (the upstream gateway, 8.8.8.8, a POP's switch).
    #[serde(default)]
    pub targets: Vec<PingTarget>,
    #[serde(default)]
    pub thresholds: Thresholds,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PingTarget {
    pub name: String,
    /// An IPv4 or IPv6 address (the router pings it; names are not resolved by us).
    pub address: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Average round trip above this (ms) is high latency.
    pub latency_ms: u32,
    /// Packet loss at or above this (%) is loss.
    pub loss_percent: u8,
    /// CPU load at or above this (%) is high CPU.
    pub cpu_percent: u8,
    /// A running interface that stops running opens an episode.
    pub interface_down: bool,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds { latency_ms: 150, loss_percent: 20, cpu_percent: 90, interface_down: true }
    }
}

/// Ping targets a router takes at most (each costs the router a second of pinging).
pub const MAX_TARGETS: usize = 5;

pub fn validate_settings(v: &mut Validation, s: &MonitoringSettings) {
    if s.targets.len() > MAX_TARGETS {
        v.add("monitoring.targets", format!("at most {MAX_TARGETS}"));
    }
    let mut names = BTreeSet::new();
    for (i, t) in s.targets.iter().enumerate() {
        if t.name.trim().is_empty() || t.name.len() > 40 || !names.insert(t.name.trim().to_lowercase()) {
            v.add(&format!("monitoring.targets[{i}].name"), "must be 1-40 characters, unique");
        }
        if t.address.parse::<std::net::IpAddr>().is_err() {
            v.add(&format!("monitoring.targets[{i}].address"), "must be an IPv4 or IPv6 address");
        }
    }
    let th = &s.thresholds;
    if !(1..=10_000).contains(&th.latency_ms) {
        v.add("monitoring.thresholds.latency_ms", "must be 1-10000");
    }
    if !(1..=100).contains(&th.loss_percent) {
        v.add("monitoring.thresholds.loss_percent", "must be 1-100");
    }
    if !(1..=100).contains(&th.cpu_percent) {
        v.add("monitoring.thresholds.cpu_percent", "must be 1-100");
    }
}

/// A ping's summary, as RouterOS's `/ping` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PingPoint {
    pub target: String,
    pub address: String,
    pub sent: u32,
    pub received: u32,
    pub loss_percent: u8,
    pub avg_rtt_ms: Option<f64>,
    pub max_rtt_ms: Option<f64>,
}

/// An interface's counters as read (`/interface` `rx-byte`, `tx-byte`, `running`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceCounters {
    pub name: String,
    pub running: bool,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
}

/// An interface in a point: link state and rates since the last sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InterfacePoint {
    pub name: String,
    pub running: bool,
    /// Bits a second received since the last sweep (none on the first, or after a reset).
    pub rx_bps: Option<u64>,
    pub tx_bps: Option<u64>,
}

/// One warning or error line of the router's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LogLine {
    pub time: String,
    pub topics: String,
    pub message: String,
}

/// What one sweep saw of a router.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MonitorPoint {
    pub at: DateTime<Utc>,
    pub reachable: bool,
    pub cpu_load: Option<u8>,
    pub free_memory_bytes: Option<u64>,
    pub uptime_seconds: Option<u64>,
    pub pings: Vec<PingPoint>,
    pub interfaces: Vec<InterfacePoint>,
    /// Warning and error lines since the last sweep (at most [`LOG_LINES_PER_POINT`]).
    pub log: Vec<LogLine>,
}

/// Rates from two readings `seconds` apart; none for a counter that went down (a reset or a
/// reboot) or a reading too close to the last.
pub fn interface_points(
    previous: &[InterfaceCounters],
    now: &[InterfaceCounters],
    seconds: f64,
) -> Vec<InterfacePoint> {
    let before: BTreeMap<&str, &InterfaceCounters> = previous.iter().map(|c| (c.name.as_str(), c)).collect();
    let rate = |old: u64, new: u64| (seconds >= 1.0 && new >= old).then(|| ((new - old) as f64 * 8.0 / seconds) as u64);
    now.iter()
        .map(|c| {
            let old = before.get(c.name.as_str());
            InterfacePoint {
                name: c.name.clone(),
                running: c.running,
                rx_bps: old.and_then(|o| rate(o.rx_bytes, c.rx_bytes)),
                tx_bps: old.and_then(|o| rate(o.tx_bytes, c.tx_bytes)),
            }
        })
        .collect()
}

/// A condition that is either in an episode or not. Its key names it (`latency:<target>`,
/// `loss:<target>`, `cpu`, `interface:<name>`; a router that does not answer is its own
/// offline alert).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Episode {
    pub key: String,
    pub since: DateTime<Utc>,
    /// What was seen when it opened (`latency to upstream 230 ms (threshold 150 ms)`).
    pub detail: String,
}

/// What the thresholds make of a point: the conditions that hold now, with their detail.
/// `was_running` are the interfaces that ran at the last sweep; an interface already in an
/// episode stays in it while it is down.
pub fn conditions(
    point: &MonitorPoint,
    t: &Thresholds,
    was_running: &BTreeSet<String>,
    open: &BTreeMap<String, Episode>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for p in &point.pings {
        if p.loss_percent >= t.loss_percent {
            out.insert(
                format!("loss:{}", p.target),
                format!("{}% loss to {} ({}) (threshold {}%)", p.loss_percent, p.target, p.address, t.loss_percent),
            );
        }
        if let Some(avg) = p.avg_rtt_ms.filter(|a| *a > t.latency_ms as f64) {
            out.insert(
                format!("latency:{}", p.target),
                format!("latency to {} ({}) {avg:.0} ms (threshold {} ms)", p.target, p.address, t.latency_ms),
            );
        }
    }
    if let Some(cpu) = point.cpu_load.filter(|c| *c >= t.cpu_percent) {
        out.insert("cpu".into(), format!("CPU {cpu}% (threshold {}%)", t.cpu_percent));
    }
    if t.interface_down {
        for i in point.interfaces.iter().filter(|i| !i.running) {
            let key = format!("interface:{}", i.name);
            if was_running.contains(&i.name) || open.contains_key(&key) {
                out.insert(key, format!("interface {} is down", i.name));
            }
        }
    }
    out
}

/// Episodes opened and closed by this sweep: the open set after it, what opened, what closed.
pub struct EpisodeChange {
    pub open: BTreeMap<String, Episode>,
    pub opened: Vec<Episode>,
    pub closed: Vec<Episode>,
}

pub fn episodes(
    open: &BTreeMap<String, Episode>,
    now_holding: BTreeMap<String, String>,
    at: DateTime<Utc>,
) -> EpisodeChange {
    let mut next = BTreeMap::new();
    let mut opened = Vec::new();
    for (key, detail) in now_holding {
        match open.get(&key) {
            Some(e) => {
                next.insert(key, e.clone());
            }
            None => {
                let e = Episode { key: key.clone(), since: at, detail };
                opened.push(e.clone());
                next.insert(key, e);
            }
        }
    }
    let closed = open.iter().filter(|(k, _)| !next.contains_key(*k)).map(|(_, e)| e.clone()).collect();
    EpisodeChange { open: next, opened, closed }
}

/// An hour's summary of the 5-minute points in it (what the 90-day history holds).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HourPoint {
    pub hour: DateTime<Utc>,
    pub samples: u32,
    pub reachable_samples: u32,
    pub cpu_max: Option<u8>,
    /// Per target: average round trip over the hour's answered pings, worst loss.
    pub pings: BTreeMap<String, HourPing>,
    /// Per interface: average and peak rates, samples it was down.
    pub interfaces: BTreeMap<String, HourInterface>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HourPing {
    pub avg_rtt_ms: Option<f64>,
    pub max_loss_percent: u8,
    #[serde(default)]
    rtt_sum: f64,
    #[serde(default)]
    rtt_samples: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HourInterface {
    pub rx_bps_avg: u64,
    pub tx_bps_avg: u64,
    pub rx_bps_max: u64,
    pub tx_bps_max: u64,
    pub down_samples: u32,
    #[serde(default)]
    rate_samples: u32,
}

pub fn hour_of(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(chrono::Duration::hours(1)).unwrap_or(at)
}

impl HourPoint {
    /// Adds a point of this hour.
    pub fn add(&mut self, p: &MonitorPoint) {
        self.hour = hour_of(p.at);
        self.samples += 1;
        if !p.reachable {
            return;
        }
        self.reachable_samples += 1;
        self.cpu_max = self.cpu_max.max(p.cpu_load);
        for ping in &p.pings {
            let h = self.pings.entry(ping.target.clone()).or_default();
            h.max_loss_percent = h.max_loss_percent.max(ping.loss_percent);
            if let Some(rtt) = ping.avg_rtt_ms {
                h.rtt_sum += rtt;
                h.rtt_samples += 1;
                h.avg_rtt_ms = Some(h.rtt_sum / h.rtt_samples as f64);
            }
        }
        for i in &p.interfaces {
            let h = self.interfaces.entry(i.name.clone()).or_default();
            if !i.running {
                h.down_samples += 1;
            }
            if let (Some(rx), Some(tx)) = (i.rx_bps, i.tx_bps) {
                let n = h.rate_samples as u64;
                h.rx_bps_avg = (h.rx_bps_avg * n + rx) / (n + 1);
                h.tx_bps_avg = (h.tx_bps_avg * n + tx) / (n + 1);
                h.rx_bps_max = h.rx_bps_max.max(rx);
                h.tx_bps_max = h.tx_bps_max.max(tx);
                h.rate_samples += 1;
            }
        }
    }
}

/// A router's monitoring between sweeps (one item beside the router): the last point, the
/// interface counters rates are taken from, the open episodes, where the log was read to, and the
/// hour being summarised.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MonitorState {
    pub last: Option<MonitorPoint>,
    #[serde(default)]
    pub counters: Vec<InterfaceCounters>,
    pub counters_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub open: BTreeMap<String, Episode>,
    pub last_log_id: Option<String>,
    pub hour: Option<HourPoint>,
}

/// What a sweep read of a router (nothing but `reachable = false` when it did not answer).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reading {
    pub reachable: bool,
    pub cpu_load: Option<u8>,
    pub free_memory_bytes: Option<u64>,
    pub uptime_seconds: Option<u64>,
    pub pings: Vec<PingPoint>,
    pub counters: Vec<InterfaceCounters>,
    pub log: Vec<LogLine>,
    pub last_log_id: Option<String>,
}

/// What a sweep makes of a reading.
pub struct Advance {
    pub state: MonitorState,
    pub point: MonitorPoint,
    /// The hour that ended before this point (its summary is stored once).
    pub finished_hour: Option<HourPoint>,
    pub opened: Vec<Episode>,
    pub closed: Vec<Episode>,
}

/// The next state from a reading at `now`. A router that does not answer opens and closes
/// nothing (its being down is the router's own offline alert): its episodes wait for its return.
/// A device that does not answer (`unreachable_is_episode`) opens a `down` episode instead.
pub fn advance(
    prev: MonitorState,
    r: Reading,
    t: &Thresholds,
    now: DateTime<Utc>,
    unreachable_is_episode: bool,
) -> Advance {
    let seconds = prev.counters_at.map(|at| (now - at).num_milliseconds() as f64 / 1000.0).unwrap_or(0.0);
    let interfaces = if r.reachable { interface_points(&prev.counters, &r.counters, seconds) } else { Vec::new() };
    let mut log = r.log;
    if log.len() > LOG_LINES_PER_POINT {
        log.drain(..log.len() - LOG_LINES_PER_POINT);
    }
    let point = MonitorPoint {
        at: now,
        reachable: r.reachable,
        cpu_load: r.cpu_load,
        free_memory_bytes: r.free_memory_bytes,
        uptime_seconds: r.uptime_seconds,
        pings: r.pings,
        interfaces,
        log,
    };
    let (open, opened, closed) = if r.reachable {
        let was_running: BTreeSet<String> =
            prev.counters.iter().filter(|c| c.running).map(|c| c.name.clone()).collect();
        let holding = conditions(&point, t, &was_running, &prev.open);
        let e = episodes(&prev.open, holding, now);
        (e.open, e.opened, e.closed)
    } else if unreachable_is_episode {
        let mut holding: BTreeMap<String, String> =
            prev.open.iter().map(|(k, e)| (k.clone(), e.detail.clone())).collect();
        holding.insert("down".into(), "does not answer SNMP".into());
        let e = episodes(&prev.open, holding, now);
        (e.open, e.opened, e.closed)
    } else {
        (prev.open.clone(), Vec::new(), Vec::new())
    };
    let this_hour = hour_of(now);
    let (mut hour, finished_hour) = match prev.hour {
        Some(h) if h.hour == this_hour => (h, None),
        Some(h) => (HourPoint::default(), Some(h)),
        None => (HourPoint::default(), None),
    };
    hour.add(&point);
    let state = MonitorState {
        last: Some(point.clone()),
        counters: if r.reachable { r.counters } else { prev.counters },
        counters_at: if r.reachable { Some(now) } else { prev.counters_at },
        open,
        last_log_id: r.last_log_id.or(prev.last_log_id),
        hour: Some(hour),
    };
    Advance { state, point, finished_hour, opened, closed }
}

// ---- devices polled by SNMP (OLTs, switches) ---------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SnmpAuthProtocol {
    Md5,
    Sha1,
    Sha256,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SnmpPrivacy {
    None,
    Des,
    /// AES-128 (CFB).
    Aes,
}

/// How to ask a device (stored sealed; never shown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "version", rename_all = "snake_case")]
pub enum SnmpCredentials {
    V2c {
        community: String,
    },
    V3 {
        username: String,
        auth_protocol: SnmpAuthProtocol,
        auth_password: String,
        privacy: SnmpPrivacy,
        privacy_password: Option<String>,
    },
}

/// What the API shows of a device's SNMP access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SnmpSummary {
    /// `v2c` or `v3`.
    pub version: String,
    pub username: Option<String>,
    pub auth_protocol: Option<SnmpAuthProtocol>,
    pub privacy: Option<SnmpPrivacy>,
}

impl SnmpCredentials {
    pub fn validate(&self, v: &mut Validation) {
        let printable = |s: &str, min: usize, max: usize| {
            (min..=max).contains(&s.len()) && s.chars().all(|c| c.is_ascii_graphic() || c == ' ')
        };
        match self {
            SnmpCredentials::V2c { community } => {
                if !printable(community, 1, 64) {
                    v.add("snmp.community", "must be 1-64 printable characters");
                }
            }
            SnmpCredentials::V3 { username, auth_password, privacy, privacy_password, .. } => {
                if !printable(username, 1, 32) {
                    v.add("snmp.username", "must be 1-32 printable characters");
                }
                // RFC 3414: passwords of at least 8 characters.
                if !printable(auth_password, 8, 64) {
                    v.add("snmp.auth_password", "must be 8-64 printable characters");
                }
                match (privacy, privacy_password) {
                    (SnmpPrivacy::None, Some(_)) => v.add("snmp.privacy_password", "applies only with privacy"),
                    (SnmpPrivacy::None, None) => {}
                    (_, Some(p)) if printable(p, 8, 64) => {}
                    _ => v.add("snmp.privacy_password", "must be 8-64 printable characters"),
                }
            }
        }
    }

    pub fn summary(&self) -> SnmpSummary {
        match self {
            SnmpCredentials::V2c { .. } => {
                SnmpSummary { version: "v2c".into(), username: None, auth_protocol: None, privacy: None }
            }
            SnmpCredentials::V3 { username, auth_protocol, privacy, .. } => SnmpSummary {
                version: "v3".into(),
                username: Some(username.clone()),
                auth_protocol: Some(*auth_protocol),
                privacy: Some(*privacy),
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    Olt,
    Switch,
    Router,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeviceStatus {
    /// Not polled yet.
    Unknown,
    Up,
    Down,
}

/// A device the ISP watches by SNMP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Device {
    pub id: uuid::Uuid,
    pub tenant_id: uuid::Uuid,
    pub name: String,
    pub kind: DeviceKind,
    pub pop_id: Option<uuid::Uuid>,
    /// Its address, as the worker reaches it (through the edge, like a router).
    pub host: String,
    /// SNMP port, 161 by default.
    pub port: u16,
    pub snmp: SnmpSummary,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(m: i64) -> DateTime<Utc> {
        "2026-06-15T06:00:00Z".parse::<DateTime<Utc>>().unwrap() + chrono::Duration::minutes(m)
    }

    fn point(m: i64, rtt: f64, loss: u8, eth1_running: bool) -> MonitorPoint {
        MonitorPoint {
            at: at(m),
            reachable: true,
            cpu_load: Some(12),
            free_memory_bytes: None,
            uptime_seconds: None,
            pings: vec![PingPoint {
                target: "upstream".into(),
                address: "10.0.0.1".into(),
                sent: 5,
                received: 5 - (loss as u32 / 20),
                loss_percent: loss,
                avg_rtt_ms: Some(rtt),
                max_rtt_ms: Some(rtt),
            }],
            interfaces: vec![InterfacePoint {
                name: "ether1".into(),
                running: eth1_running,
                rx_bps: None,
                tx_bps: None,
            }],
            log: vec![],
        }
    }

    #[test]
    fn an_episode_opens_once_and_closes_once() {
        let t = Thresholds::default();
        let running: BTreeSet<String> = ["ether1".to_string()].into();
        let mut open = BTreeMap::new();
        let mut opened = vec![];
        let mut closed = vec![];
        // Fine, then slow and lossy for three sweeps, then fine again.
        for (m, rtt, loss) in
            [(0, 10.0, 0), (5, 300.0, 40), (10, 280.0, 60), (15, 260.0, 40), (20, 12.0, 0), (25, 11.0, 0)]
        {
            let c = conditions(&point(m, rtt, loss, true), &t, &running, &open);
            let e = episodes(&open, c, at(m));
            opened.extend(e.opened.into_iter().map(|e| (e.key, e.since)));
            closed.extend(e.closed.into_iter().map(|e| e.key));
            open = e.open;
        }
        assert_eq!(opened, [("latency:upstream".to_string(), at(5)), ("loss:upstream".to_string(), at(5))]);
        assert_eq!(closed, ["latency:upstream", "loss:upstream"]);
        assert!(open.is_empty());
        // CPU at the threshold is an episode.
        let mut busy = point(30, 10.0, 0, true);
        busy.cpu_load = Some(90);
        assert_eq!(conditions(&busy, &t, &running, &BTreeMap::new()).keys().collect::<Vec<_>>(), ["cpu"]);
    }

    #[test]
    fn an_interface_that_stops_running_is_an_episode_until_it_runs() {
        let t = Thresholds::default();
        let ran: BTreeSet<String> = ["ether1".to_string()].into();
        let c = conditions(&point(0, 1.0, 0, false), &t, &ran, &BTreeMap::new());
        let e = episodes(&BTreeMap::new(), c, at(0));
        assert_eq!(e.opened.len(), 1);
        // Next sweep: it did not run last time, but its episode is open: still down, no new alert.
        let c = conditions(&point(5, 1.0, 0, false), &t, &BTreeSet::new(), &e.open);
        let e2 = episodes(&e.open, c, at(5));
        assert!(e2.opened.is_empty() && e2.closed.is_empty());
        // A port that never ran is no episode.
        assert!(conditions(&point(0, 1.0, 0, false), &t, &BTreeSet::new(), &BTreeMap::new()).is_empty());
    }

    #[test]
    fn rates_and_hours() {
        let c = |rx, tx| InterfaceCounters { name: "ether1".into(), running: true, rx_bytes: rx, tx_bytes: tx };
        let p = interface_points(&[c(1_000, 2_000)], &[c(76_000, 2_000)], 300.0);
        assert_eq!((p[0].rx_bps, p[0].tx_bps), (Some(2_000), Some(0)));
        let p = interface_points(&[c(1_000, 2_000)], &[c(10, 2_000)], 300.0);
        assert_eq!(p[0].rx_bps, None, "a counter that went down (a reboot) gives no rate");
        let mut h = HourPoint::default();
        h.add(&point(0, 10.0, 0, true));
        h.add(&point(5, 30.0, 40, true));
        assert_eq!(h.samples, 2);
        assert_eq!(h.pings["upstream"].avg_rtt_ms, Some(20.0));
        assert_eq!(h.pings["upstream"].max_loss_percent, 40);
        assert_eq!(h.hour, at(0));
    }

    #[test]
    fn settings_are_checked() {
        let mut v = Validation::new();
        let s = MonitoringSettings {
            targets: vec![
                PingTarget { name: "upstream".into(), address: "10.0.0.1".into() },
                PingTarget { name: "Upstream".into(), address: "dns.google".into() },
            ],
            thresholds: Thresholds { latency_ms: 0, ..Thresholds::default() },
        };
        validate_settings(&mut v, &s);
        let fields: Vec<String> = v.finish().unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            ["monitoring.targets[1].name", "monitoring.targets[1].address", "monitoring.thresholds.latency_ms"]
        );
    }

    #[test]
    fn a_sweep_advances_the_state_and_an_unanswered_one_changes_no_episode() {
        let t = Thresholds::default();
        let counters = |rx: u64, running: bool| {
            vec![InterfaceCounters { name: "ether1".into(), running, rx_bytes: rx, tx_bytes: 0 }]
        };
        let reading = |rtt: f64, rx: u64, running: bool| Reading {
            reachable: true,
            cpu_load: Some(5),
            pings: point(0, rtt, 0, true).pings,
            counters: counters(rx, running),
            last_log_id: Some("*3".into()),
            ..Reading::default()
        };
        let a = advance(MonitorState::default(), reading(10.0, 0, true), &t, at(0), false);
        assert!(a.opened.is_empty() && a.point.interfaces[0].rx_bps.is_none());
        let b = advance(a.state, reading(400.0, 3_000_000, false), &t, at(5), false);
        assert_eq!(b.point.interfaces[0].rx_bps, Some(80_000));
        let keys: Vec<_> = b.opened.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["interface:ether1", "latency:upstream"]);
        let c = advance(b.state, Reading::default(), &t, at(10), false);
        assert!(c.opened.is_empty() && c.closed.is_empty() && c.state.open.len() == 2);
        assert_eq!(c.state.last_log_id.as_deref(), Some("*3"));
        // Back, well, an hour later: both close; the earlier hour is summarised once.
        let d = advance(c.state, reading(10.0, 3_000_000, true), &t, at(65), false);
        assert_eq!(d.closed.len(), 2);
        let h = d.finished_hour.expect("06:00's hour");
        assert_eq!((h.hour, h.samples, h.reachable_samples), (at(0), 3, 2));
        // A device that does not answer is an episode of its own, closed when it answers.
        let e = advance(MonitorState::default(), Reading::default(), &t, at(0), true);
        assert_eq!(e.opened.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(), ["down"]);
        let f = advance(e.state, reading(10.0, 0, true), &t, at(5), true);
        assert_eq!(f.closed.len(), 1);
    }
}
