//! Typed RouterOS menus: what the project reads from and writes to a router.

use crate::client::{Command, RouterConnection, Row};
use crate::error::RouterError;
use serde::Serialize;

pub const PPP_SECRET: &str = "/ppp/secret";
pub const PPP_PROFILE: &str = "/ppp/profile";
pub const PPP_ACTIVE: &str = "/ppp/active";
pub const HOTSPOT_USER: &str = "/ip/hotspot/user";
pub const HOTSPOT_PROFILE: &str = "/ip/hotspot/user/profile";
pub const HOTSPOT_ACTIVE: &str = "/ip/hotspot/active";
pub const SIMPLE_QUEUE: &str = "/queue/simple";
pub const ADDRESS_LIST: &str = "/ip/firewall/address-list";
pub const IDENTITY: &str = "/system/identity";
pub const RESOURCE: &str = "/system/resource";
pub const INTERFACE: &str = "/interface";
pub const LOG: &str = "/log";
pub const DHCP_LEASE: &str = "/ip/dhcp-server/lease";

/// `print`, optionally filtered by `name` (a RouterOS query, evaluated on the router).
pub fn print(menu: &str) -> Command {
    Command::new(format!("{menu}/print"))
}

pub fn print_named(menu: &str, name: &str) -> Command {
    print(menu).query_eq("name", name)
}

pub fn add(menu: &str, attrs: &[(&str, String)]) -> Command {
    attrs.iter().fold(Command::new(format!("{menu}/add")), |c, (k, v)| c.attr(k, v.clone()))
}

pub fn set(menu: &str, id: &str, attrs: &[(&str, String)]) -> Command {
    attrs.iter().fold(Command::new(format!("{menu}/set")).attr(".id", id), |c, (k, v)| c.attr(k, v.clone()))
}

pub fn remove(menu: &str, id: &str) -> Command {
    Command::new(format!("{menu}/remove")).attr(".id", id)
}

fn get(row: &Row, key: &str) -> Option<String> {
    row.get(key).filter(|v| !v.is_empty()).cloned()
}

fn text(row: &Row, key: &str) -> String {
    row.get(key).cloned().unwrap_or_default()
}

fn flag(row: &Row, key: &str) -> bool {
    matches!(row.get(key).map(String::as_str), Some("true" | "yes"))
}

fn number(row: &Row, key: &str) -> Option<u64> {
    row.get(key).and_then(|v| v.parse().ok())
}

/// A PPP secret or a hotspot user: the subscriber's account on the router.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub id: String,
    pub name: String,
    #[serde(skip)]
    pub password: String,
    pub profile: String,
    /// PPP `remote-address` or hotspot `address`.
    pub address: Option<String>,
    /// Hotspot `mac-address`.
    pub mac_address: Option<String>,
    /// PPP `service` (pppoe, any, ...); empty for hotspot users.
    pub service: Option<String>,
    pub disabled: bool,
    pub comment: Option<String>,
    /// Hotspot `limit-bytes-total` (a voucher's data limit).
    pub limit_bytes_total: Option<u64>,
    /// Hotspot users' counters: what the account moved over all its sessions.
    pub bytes_in: Option<u64>,
    pub bytes_out: Option<u64>,
}

impl Account {
    pub fn from_ppp(row: &Row) -> Account {
        Account {
            id: text(row, ".id"),
            name: text(row, "name"),
            password: text(row, "password"),
            profile: text(row, "profile"),
            address: get(row, "remote-address"),
            mac_address: None,
            service: get(row, "service"),
            disabled: flag(row, "disabled"),
            comment: get(row, "comment"),
            limit_bytes_total: None,
            bytes_in: None,
            bytes_out: None,
        }
    }

    pub fn from_hotspot(row: &Row) -> Account {
        Account {
            id: text(row, ".id"),
            name: text(row, "name"),
            password: text(row, "password"),
            profile: text(row, "profile"),
            address: get(row, "address"),
            mac_address: get(row, "mac-address"),
            service: None,
            disabled: flag(row, "disabled"),
            comment: get(row, "comment"),
            limit_bytes_total: number(row, "limit-bytes-total").filter(|n| *n > 0),
            bytes_in: number(row, "bytes-in"),
            bytes_out: number(row, "bytes-out"),
        }
    }
}

/// A PPP profile or a hotspot user profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    pub id: String,
    pub name: String,
    pub rate_limit: Option<String>,
    pub address_list: Option<String>,
    /// Hotspot profiles: devices logged in at once with one account.
    pub shared_users: Option<u32>,
}

impl Profile {
    pub fn from_row(row: &Row) -> Profile {
        Profile {
            id: text(row, ".id"),
            name: text(row, "name"),
            rate_limit: get(row, "rate-limit"),
            address_list: get(row, "address-list"),
            shared_users: number(row, "shared-users").map(|n| n as u32),
        }
    }
}

/// A subscriber online now: `/ppp/active` or `/ip/hotspot/active`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActiveSession {
    pub id: String,
    /// PPP `name`, hotspot `user`.
    pub name: String,
    pub service: String,
    pub address: Option<String>,
    /// PPP `caller-id` (the CPE's MAC for PPPoE), hotspot `mac-address`.
    pub caller_id: Option<String>,
    pub uptime: Option<String>,
    pub bytes_in: Option<u64>,
    pub bytes_out: Option<u64>,
}

impl ActiveSession {
    pub fn from_ppp(row: &Row) -> ActiveSession {
        ActiveSession {
            id: text(row, ".id"),
            name: text(row, "name"),
            service: get(row, "service").unwrap_or_else(|| "pppoe".into()),
            address: get(row, "address"),
            caller_id: get(row, "caller-id"),
            uptime: get(row, "uptime"),
            bytes_in: None,
            bytes_out: None,
        }
    }

    pub fn from_hotspot(row: &Row) -> ActiveSession {
        ActiveSession {
            id: text(row, ".id"),
            name: text(row, "user"),
            service: "hotspot".into(),
            address: get(row, "address"),
            caller_id: get(row, "mac-address"),
            uptime: get(row, "uptime"),
            bytes_in: number(row, "bytes-in"),
            bytes_out: number(row, "bytes-out"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimpleQueue {
    pub id: String,
    pub name: String,
    pub target: String,
    pub max_limit: String,
    pub burst_limit: Option<String>,
    pub burst_threshold: Option<String>,
    pub burst_time: Option<String>,
    pub priority: Option<String>,
    pub disabled: bool,
    pub comment: Option<String>,
}

impl SimpleQueue {
    pub fn from_row(row: &Row) -> SimpleQueue {
        SimpleQueue {
            id: text(row, ".id"),
            name: text(row, "name"),
            target: text(row, "target"),
            max_limit: text(row, "max-limit"),
            burst_limit: get(row, "burst-limit"),
            burst_threshold: get(row, "burst-threshold"),
            burst_time: get(row, "burst-time"),
            priority: get(row, "priority"),
            disabled: flag(row, "disabled"),
            comment: get(row, "comment"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddressListEntry {
    pub id: String,
    pub list: String,
    pub address: String,
    pub comment: Option<String>,
    pub disabled: bool,
}

impl AddressListEntry {
    pub fn from_row(row: &Row) -> AddressListEntry {
        AddressListEntry {
            id: text(row, ".id"),
            list: text(row, "list"),
            address: text(row, "address"),
            comment: get(row, "comment"),
            disabled: flag(row, "disabled"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resource {
    pub version: String,
    pub uptime: Option<String>,
    pub cpu_load: Option<u64>,
    pub free_memory: Option<u64>,
    pub total_memory: Option<u64>,
    pub board_name: Option<String>,
    pub architecture: Option<String>,
}

impl Resource {
    pub fn from_row(row: &Row) -> Resource {
        Resource {
            version: text(row, "version"),
            uptime: get(row, "uptime"),
            cpu_load: number(row, "cpu-load"),
            free_memory: number(row, "free-memory"),
            total_memory: number(row, "total-memory"),
            board_name: get(row, "board-name"),
            architecture: get(row, "architecture-name"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interface {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub running: bool,
    pub disabled: bool,
    pub mac_address: Option<String>,
    pub rx_bytes: Option<u64>,
    pub tx_bytes: Option<u64>,
    pub rx_packets: Option<u64>,
    pub tx_packets: Option<u64>,
}

impl Interface {
    pub fn from_row(row: &Row) -> Interface {
        Interface {
            id: text(row, ".id"),
            name: text(row, "name"),
            kind: text(row, "type"),
            running: flag(row, "running"),
            disabled: flag(row, "disabled"),
            mac_address: get(row, "mac-address"),
            rx_bytes: number(row, "rx-byte"),
            tx_bytes: number(row, "tx-byte"),
            rx_packets: number(row, "rx-packet"),
            tx_packets: number(row, "tx-packet"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DhcpLease {
    pub id: String,
    pub address: String,
    pub mac_address: Option<String>,
    pub host_name: Option<String>,
    pub status: Option<String>,
    pub dynamic: bool,
}

impl DhcpLease {
    pub fn from_row(row: &Row) -> DhcpLease {
        DhcpLease {
            id: text(row, ".id"),
            address: text(row, "address"),
            mac_address: get(row, "mac-address"),
            host_name: get(row, "host-name"),
            status: get(row, "status"),
            dynamic: flag(row, "dynamic"),
        }
    }
}

/// The router's identity and version: what "test connection" shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouterInfo {
    pub identity: String,
    pub resource: Resource,
}

/// Typed reads, each one command (several are pipelined where they are independent).
impl RouterConnection {
    pub async fn router_info(&self) -> Result<RouterInfo, RouterError> {
        let identity = print(IDENTITY);
        let (identity, resource) = tokio::try_join!(self.run(&identity), self.resource())?;
        Ok(RouterInfo { identity: identity.first().map(|r| text(r, "name")).unwrap_or_default(), resource })
    }

    pub async fn resource(&self) -> Result<Resource, RouterError> {
        let rows = self.run(&print(RESOURCE)).await?;
        Ok(rows.first().map(Resource::from_row).unwrap_or(Resource {
            version: String::new(),
            uptime: None,
            cpu_load: None,
            free_memory: None,
            total_memory: None,
            board_name: None,
            architecture: None,
        }))
    }

    pub async fn interfaces(&self) -> Result<Vec<Interface>, RouterError> {
        Ok(self.run(&print(INTERFACE)).await?.iter().map(Interface::from_row).collect())
    }

    pub async fn dhcp_leases(&self) -> Result<Vec<DhcpLease>, RouterError> {
        Ok(self.run(&print(DHCP_LEASE)).await?.iter().map(DhcpLease::from_row).collect())
    }

    pub async fn ppp_secrets(&self) -> Result<Vec<Account>, RouterError> {
        Ok(self.run(&print(PPP_SECRET)).await?.iter().map(Account::from_ppp).collect())
    }

    pub async fn hotspot_users(&self) -> Result<Vec<Account>, RouterError> {
        Ok(self.run(&print(HOTSPOT_USER)).await?.iter().map(Account::from_hotspot).collect())
    }

    pub async fn ppp_profiles(&self) -> Result<Vec<Profile>, RouterError> {
        Ok(self.run(&print(PPP_PROFILE)).await?.iter().map(Profile::from_row).collect())
    }

    pub async fn hotspot_profiles(&self) -> Result<Vec<Profile>, RouterError> {
        Ok(self.run(&print(HOTSPOT_PROFILE)).await?.iter().map(Profile::from_row).collect())
    }

    pub async fn simple_queues(&self) -> Result<Vec<SimpleQueue>, RouterError> {
        Ok(self.run(&print(SIMPLE_QUEUE)).await?.iter().map(SimpleQueue::from_row).collect())
    }

    pub async fn address_list(&self, list: &str) -> Result<Vec<AddressListEntry>, RouterError> {
        let rows = self.run(&print(ADDRESS_LIST).query_eq("list", list)).await?;
        Ok(rows.iter().map(AddressListEntry::from_row).collect())
    }

    /// PPP and hotspot sessions online now.
    pub async fn active_sessions(&self) -> Result<Vec<ActiveSession>, RouterError> {
        let (ppp, hotspot) = (print(PPP_ACTIVE), print(HOTSPOT_ACTIVE));
        let (ppp, hotspot) = tokio::try_join!(self.run(&ppp), self.run(&hotspot))?;
        Ok(ppp.iter().map(ActiveSession::from_ppp).chain(hotspot.iter().map(ActiveSession::from_hotspot)).collect())
    }

    /// Every online session's byte counters, in three pipelined whole-menu reads: PPP sessions
    /// (their ids) with the counters of their `<pppoe-NAME>` interfaces, and hotspot sessions. A
    /// PPP session whose interface is not there yet is left for the next sample.
    pub async fn session_counters(&self) -> Result<Vec<domain::traffic::SessionCounters>, RouterError> {
        use domain::traffic::SessionCounters;
        let ppp = print(PPP_ACTIVE).proplist(".id,name");
        let ifaces = print(INTERFACE).query_eq("type", "pppoe-in").proplist("name,rx-byte,tx-byte");
        let hotspot = print(HOTSPOT_ACTIVE).proplist(".id,user,bytes-in,bytes-out");
        let (ppp, ifaces, hotspot) = tokio::try_join!(self.run(&ppp), self.run(&ifaces), self.run(&hotspot))?;
        let counters: std::collections::HashMap<String, (u64, u64)> = ifaces
            .iter()
            .map(|r| (text(r, "name"), (number(r, "rx-byte").unwrap_or(0), number(r, "tx-byte").unwrap_or(0))))
            .collect();
        let mut out = Vec::with_capacity(ppp.len() + hotspot.len());
        for r in &ppp {
            let name = text(r, "name");
            // The interface counts from the router's side: what it received is the subscriber's upload.
            if let Some((rx, tx)) = counters.get(&format!("<pppoe-{name}>")) {
                out.push(SessionCounters { key: format!("p{}", text(r, ".id")), name, up: *rx, down: *tx });
            }
        }
        for r in &hotspot {
            out.push(SessionCounters {
                key: format!("h{}", text(r, ".id")),
                name: text(r, "user"),
                up: number(r, "bytes-in").unwrap_or(0),
                down: number(r, "bytes-out").unwrap_or(0),
            });
        }
        Ok(out)
    }

    /// One subscriber's session, with its byte counters (for PPP from its dynamic interface
    /// `<pppoe-NAME>`, as `/ppp/active` does not count bytes).
    pub async fn session_of(&self, name: &str, hotspot: bool) -> Result<Option<ActiveSession>, RouterError> {
        if hotspot {
            let rows = self.run(&print(HOTSPOT_ACTIVE).query_eq("user", name)).await?;
            return Ok(rows.first().map(ActiveSession::from_hotspot));
        }
        let iface = format!("<pppoe-{name}>");
        let (active, ifaces) = (print_named(PPP_ACTIVE, name), print_named(INTERFACE, &iface));
        let (active, ifaces) = tokio::try_join!(self.run(&active), self.run(&ifaces))?;
        Ok(active.first().map(|row| {
            let mut s = ActiveSession::from_ppp(row);
            if let Some(i) = ifaces.first().map(Interface::from_row) {
                // The interface counts from the router's side: what it received is the subscriber's upload.
                s.bytes_in = i.rx_bytes;
                s.bytes_out = i.tx_bytes;
            }
            s
        }))
    }

    /// Drop a subscriber's active session(s); `Ok(n)` sessions dropped (0 when offline).
    pub async fn disconnect(&self, name: &str, hotspot: bool) -> Result<usize, RouterError> {
        let (menu, key) = if hotspot { (HOTSPOT_ACTIVE, "user") } else { (PPP_ACTIVE, "name") };
        let rows = self.run(&print(menu).query_eq(key, name).proplist(".id")).await?;
        let mut dropped = 0;
        for r in self.run_all(&rows.iter().map(|r| remove(menu, &text(r, ".id"))).collect::<Vec<_>>()).await {
            match r {
                Ok(_) => dropped += 1,
                // It ended by itself in between.
                Err(e) if e.is_no_such_item() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(dropped)
    }
}

/// A RouterOS duration as the API prints it (`12ms363us`, `1s2ms`, `363us`, `2s`), in ms.
pub fn duration_ms(text: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut number = String::new();
    let mut chars = text.trim().chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let mut unit = c.to_string();
        while let Some(n) = chars.peek().filter(|n| n.is_ascii_alphabetic()) {
            unit.push(*n);
            chars.next();
        }
        let n: f64 = number.parse().ok()?;
        number.clear();
        total += match unit.as_str() {
            "h" => n * 3_600_000.0,
            "m" => n * 60_000.0,
            "s" => n * 1000.0,
            "ms" => n,
            "us" => n / 1000.0,
            "ns" => n / 1_000_000.0,
            _ => return None,
        };
        any = true;
    }
    if !number.is_empty() {
        return None;
    }
    any.then_some(total)
}

/// A ping's summary: the last reply of RouterOS's `/ping` carries the running totals.
#[derive(Debug, Clone, PartialEq)]
pub struct PingSummary {
    pub address: String,
    pub sent: u32,
    pub received: u32,
    pub loss_percent: u8,
    pub avg_rtt_ms: Option<f64>,
    pub max_rtt_ms: Option<f64>,
}

impl PingSummary {
    pub fn from_rows(address: &str, rows: &[Row]) -> PingSummary {
        let last = rows.last();
        let n = |k: &str| last.and_then(|r| number(r, k)).unwrap_or(0);
        let sent = n("sent") as u32;
        let received = n("received") as u32;
        let loss = last.and_then(|r| number(r, "packet-loss")).map(|l| l.min(100) as u8).unwrap_or(if sent == 0 {
            100
        } else {
            (100 - received * 100 / sent.max(1)) as u8
        });
        let rtt = |k: &str| last.and_then(|r| get(r, k)).and_then(|t| duration_ms(&t));
        PingSummary {
            address: address.to_string(),
            sent,
            received,
            loss_percent: if sent == 0 { 100 } else { loss },
            avg_rtt_ms: if received > 0 { rtt("avg-rtt") } else { None },
            max_rtt_ms: if received > 0 { rtt("max-rtt") } else { None },
        }
    }
}

/// A log line (`/log`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub id: String,
    pub time: String,
    pub topics: String,
    pub message: String,
}

/// Where a `.id` (`*1F`) falls in the router's order.
pub fn id_number(id: &str) -> Option<u64> {
    u64::from_str_radix(id.trim_start_matches('*'), 16).ok()
}

/// What one monitoring sweep reads of a router, pipelined on one connection.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorReading {
    pub pings: Vec<PingSummary>,
    /// Static interfaces (not a session's): counters and link state.
    pub interfaces: Vec<Interface>,
    /// Warning, error and critical lines after `after_log` (all of them the first time, at most 200).
    pub log: Vec<LogEntry>,
    /// The newest log line's id (where the next sweep starts).
    pub last_log_id: Option<String>,
}

/// Pings each target sends (200 ms apart: a second per target, targets at once).
pub const PING_COUNT: u32 = 5;
pub const PING_INTERVAL: &str = "200ms";

impl RouterConnection {
    pub async fn monitor(&self, targets: &[String], after_log: Option<&str>) -> Result<MonitorReading, RouterError> {
        let pings = targets.iter().map(|a| {
            let c = Command::new("/ping")
                .attr("address", a.clone())
                .attr("count", PING_COUNT.to_string())
                .attr("interval", PING_INTERVAL);
            async move { self.run(&c).await.map(|rows| PingSummary::from_rows(a, &rows)) }
        });
        let ifaces =
            print(INTERFACE).query_eq("dynamic", "false").proplist(".id,name,type,running,disabled,rx-byte,tx-byte");
        let log = print(LOG).proplist(".id,time,topics,message");
        let (pings, ifaces, log) =
            tokio::try_join!(futures::future::try_join_all(pings), self.run(&ifaces), self.run(&log))?;
        let after = after_log.and_then(id_number);
        let mut lines: Vec<LogEntry> = log
            .iter()
            .map(|r| LogEntry {
                id: text(r, ".id"),
                time: text(r, "time"),
                topics: text(r, "topics"),
                message: text(r, "message"),
            })
            .filter(|l| after.is_none_or(|a| id_number(&l.id).is_some_and(|n| n > a)))
            .filter(|l| l.topics.split(',').any(|t| matches!(t.trim(), "warning" | "error" | "critical")))
            .collect();
        if lines.len() > 200 {
            lines.drain(..lines.len() - 200);
        }
        Ok(MonitorReading {
            pings,
            interfaces: ifaces.iter().map(Interface::from_row).filter(|i| !i.disabled).collect(),
            log: lines,
            last_log_id: log.last().map(|r| text(r, ".id")).or_else(|| after_log.map(str::to_string)),
        })
    }
}
