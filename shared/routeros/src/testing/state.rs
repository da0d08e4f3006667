//! The test router's configuration: in-memory menus that answer like RouterOS does.

use std::collections::BTreeMap;

pub type Attrs = BTreeMap<String, String>;

/// A reply to one command: rows, then `!done` (with `=ret=` for add / count-only), or a trap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Rows { rows: Vec<Attrs>, ret: Option<String> },
    Trap { category: Option<u8>, message: String },
}

impl Reply {
    pub(crate) fn trap(message: impl Into<String>) -> Reply {
        Reply::Trap { category: None, message: message.into() }
    }
    fn done() -> Reply {
        Reply::Rows { rows: Vec::new(), ret: None }
    }
}

struct MenuSpec {
    path: &'static str,
    /// The attribute RouterOS keeps unique in the menu, and the noun its error uses.
    unique: Option<(&'static str, &'static str)>,
    /// Attributes `add`/`set` accept.
    params: &'static [&'static str],
    /// Items are created by the router itself (sessions, interfaces): no add.
    read_only: bool,
}

const MENUS: &[MenuSpec] = &[
    MenuSpec {
        path: "/ppp/secret",
        unique: Some(("name", "secret")),
        params: &[
            "name",
            "password",
            "profile",
            "service",
            "remote-address",
            "local-address",
            "caller-id",
            "disabled",
            "comment",
            "limit-bytes-in",
            "limit-bytes-out",
            "routes",
        ],
        read_only: false,
    },
    MenuSpec {
        path: "/ppp/profile",
        unique: Some(("name", "profile")),
        params: &[
            "name",
            "rate-limit",
            "address-list",
            "local-address",
            "remote-address",
            "dns-server",
            "only-one",
            "parent-queue",
            "comment",
        ],
        read_only: false,
    },
    MenuSpec { path: "/ppp/active", unique: None, params: &[], read_only: true },
    MenuSpec {
        path: "/ip/hotspot/user",
        unique: Some(("name", "user")),
        params: &[
            "name",
            "password",
            "profile",
            "address",
            "mac-address",
            "server",
            "disabled",
            "comment",
            "limit-uptime",
            "limit-bytes-total",
        ],
        read_only: false,
    },
    MenuSpec {
        path: "/ip/hotspot/user/profile",
        unique: Some(("name", "profile")),
        params: &["name", "rate-limit", "address-list", "shared-users", "session-timeout", "comment"],
        read_only: false,
    },
    MenuSpec { path: "/ip/hotspot/active", unique: None, params: &[], read_only: true },
    MenuSpec {
        path: "/queue/simple",
        unique: Some(("name", "queue")),
        params: &[
            "name",
            "target",
            "max-limit",
            "burst-limit",
            "burst-threshold",
            "burst-time",
            "priority",
            "limit-at",
            "parent",
            "disabled",
            "comment",
        ],
        read_only: false,
    },
    MenuSpec {
        path: "/ip/firewall/address-list",
        unique: None,
        params: &["list", "address", "comment", "disabled", "timeout"],
        read_only: false,
    },
    MenuSpec {
        path: "/ip/pool",
        unique: Some(("name", "pool")),
        params: &["name", "ranges", "next-pool", "comment"],
        read_only: false,
    },
    MenuSpec { path: "/ip/firewall/filter", unique: None, params: FIREWALL_PARAMS, read_only: false },
    MenuSpec { path: "/ip/firewall/nat", unique: None, params: FIREWALL_PARAMS, read_only: false },
    MenuSpec {
        path: "/system/scheduler",
        unique: Some(("name", "item")),
        params: &["name", "start-date", "start-time", "interval", "on-event", "policy", "comment", "disabled"],
        read_only: false,
    },
    MenuSpec {
        path: "/interface",
        unique: Some(("name", "interface")),
        params: &["name", "disabled", "comment", "mtu"],
        read_only: true,
    },
    MenuSpec { path: "/log", unique: None, params: &["time", "topics", "message"], read_only: true },
    MenuSpec {
        path: "/ip/dhcp-server/lease",
        unique: None,
        params: &["address", "mac-address", "server", "comment", "disabled"],
        read_only: false,
    },
];

/// What firewall filter and NAT rules take.
const FIREWALL_PARAMS: &[&str] = &[
    "chain",
    "action",
    "src-address",
    "dst-address",
    "src-address-list",
    "dst-address-list",
    "protocol",
    "src-port",
    "dst-port",
    "in-interface",
    "out-interface",
    "connection-state",
    "to-addresses",
    "to-ports",
    "jump-target",
    "reject-with",
    "log",
    "log-prefix",
    "comment",
    "disabled",
];

const BOOLEANS: &[&str] = &["disabled", "running", "dynamic", "only-one"];

/// Everything the router holds.
pub struct RouterState {
    menus: BTreeMap<&'static str, Vec<Attrs>>,
    pub identity: String,
    pub resource: Attrs,
    next_id: u64,
    /// Round trip (ms) and loss (%) of pings to an address (`set_ping`).
    pings: BTreeMap<String, (f64, u8)>,
}

fn attrs(pairs: &[(&str, &str)]) -> Attrs {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

impl RouterState {
    pub fn new(identity: &str) -> Self {
        let mut s = RouterState {
            menus: MENUS.iter().map(|m| (m.path, Vec::new())).collect(),
            identity: identity.to_string(),
            resource: attrs(&[
                ("version", "7.16.2 (stable)"),
                ("uptime", "3d4h12m9s"),
                ("cpu-load", "7"),
                ("free-memory", "824180736"),
                ("total-memory", "1073741824"),
                ("board-name", "CCR2004-1G-12S+2XS"),
                ("architecture-name", "arm64"),
                ("cpu-count", "4"),
            ]),
            next_id: 1,
            pings: BTreeMap::new(),
        };
        for (name, kind, mac) in [
            ("ether1", "ether", "48:A9:8A:00:00:01"),
            ("ether2", "ether", "48:A9:8A:00:00:02"),
            ("sfp-sfpplus1", "ether", "48:A9:8A:00:00:03"),
        ] {
            s.insert(
                "/interface",
                attrs(&[
                    ("name", name),
                    ("type", kind),
                    ("mac-address", mac),
                    ("running", "true"),
                    ("disabled", "false"),
                    ("dynamic", "false"),
                    ("rx-byte", "918273645"),
                    ("tx-byte", "5647382910"),
                    ("rx-packet", "1203944"),
                    ("tx-packet", "4399812"),
                ]),
            );
        }
        s.insert("/ppp/profile", attrs(&[("name", "default"), ("default", "true")]));
        s.insert("/ppp/profile", attrs(&[("name", "default-encryption"), ("default", "true")]));
        s.insert("/ip/hotspot/user/profile", attrs(&[("name", "default"), ("default", "true")]));
        s.insert(
            "/ip/dhcp-server/lease",
            attrs(&[
                ("address", "10.20.0.15"),
                ("mac-address", "AA:BB:CC:00:11:22"),
                ("host-name", "cpe-rahim"),
                ("status", "bound"),
                ("dynamic", "true"),
            ]),
        );
        s
    }

    fn insert(&mut self, menu: &'static str, mut item: Attrs) -> String {
        let id = format!("*{:X}", self.next_id);
        self.next_id += 1;
        item.insert(".id".into(), id.clone());
        // `disabled` only where the menu has it (pools and profiles have none on RouterOS).
        let has_disabled = MENUS.iter().any(|m| m.path == menu && m.params.contains(&"disabled"));
        for b in BOOLEANS {
            if item.contains_key(*b) || (*b == "disabled" && has_disabled) {
                let v = item.get(*b).map(|v| bool_text(v)).unwrap_or("false");
                item.insert(b.to_string(), v.to_string());
            }
        }
        self.menus.get_mut(menu).expect("known menu").push(item);
        id
    }

    pub fn items(&self, menu: &str) -> Vec<Attrs> {
        self.menus.get(menu).cloned().unwrap_or_default()
    }

    /// Items a command makes the router go through: a print (filtered or not) scans its whole
    /// menu; anything else is taken as free.
    pub fn scanned_by(&self, command: &str) -> usize {
        match command.rsplit_once('/') {
            Some((menu, "print" | "getall")) => self.menus.get(menu).map_or(0, Vec::len),
            _ => 0,
        }
    }

    pub fn find(&self, menu: &str, name: &str) -> Option<Attrs> {
        self.menus.get(menu)?.iter().find(|i| i.get("name").map(String::as_str) == Some(name)).cloned()
    }

    /// Put an item in directly, as if configured by hand on the router.
    pub fn put(&mut self, menu: &str, item: Attrs) -> String {
        let spec = MENUS.iter().find(|m| m.path == menu).expect("known menu");
        self.insert(spec.path, item)
    }

    pub fn remove_where(&mut self, menu: &str, f: impl Fn(&Attrs) -> bool) -> usize {
        let items = self.menus.get_mut(menu).expect("known menu");
        let before = items.len();
        items.retain(|i| !f(i));
        before - items.len()
    }

    /// A subscriber dials in: a PPP session (and its `<pppoe-NAME>` interface) when the secret
    /// exists and is enabled, as RouterOS would authenticate it.
    pub fn dial_ppp(&mut self, name: &str, address: &str) -> Result<String, String> {
        let secret = self.find("/ppp/secret", name).ok_or("no such secret")?;
        if secret.get("disabled").map(String::as_str) == Some("true") {
            return Err("secret disabled".into());
        }
        let id = self.insert(
            "/ppp/active",
            attrs(&[
                ("name", name),
                ("service", "pppoe"),
                ("address", address),
                ("caller-id", "AA:BB:CC:00:11:22"),
                ("uptime", "1h2m3s"),
                ("encoding", ""),
            ]),
        );
        let iface = format!("<pppoe-{name}>");
        self.insert(
            "/interface",
            attrs(&[
                ("name", &iface),
                ("type", "pppoe-in"),
                ("running", "true"),
                ("rx-byte", "123456789"),
                ("tx-byte", "987654321"),
                ("dynamic", "true"),
            ]),
        );
        Ok(id)
    }

    pub fn login_hotspot(&mut self, user: &str, address: &str, mac: &str) -> Result<String, String> {
        let u = self.find("/ip/hotspot/user", user).ok_or("no such user")?;
        if u.get("disabled").map(String::as_str) == Some("true") {
            return Err("user disabled".into());
        }
        let counter = |k: &str| u.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        let limit = counter("limit-bytes-total");
        if limit > 0 && counter("bytes-in") + counter("bytes-out") >= limit {
            return Err("traffic limit reached".into());
        }
        Ok(self.insert(
            "/ip/hotspot/active",
            attrs(&[
                ("user", user),
                ("address", address),
                ("mac-address", mac),
                ("uptime", "12m"),
                ("bytes-in", "1048576"),
                ("bytes-out", "8388608"),
            ]),
        ))
    }

    /// Traffic through a hotspot user's sessions: its counters grow (RouterOS keeps them on the
    /// user across sessions).
    pub fn use_hotspot_bytes(&mut self, user: &str, bytes_in: u64, bytes_out: u64) -> Result<(), String> {
        let menu = self.menus.get_mut("/ip/hotspot/user").expect("known menu");
        let u = menu.iter_mut().find(|u| u.get("name").map(String::as_str) == Some(user)).ok_or("no such user")?;
        for (k, add) in [("bytes-in", bytes_in), ("bytes-out", bytes_out)] {
            let now = u.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            u.insert(k.to_string(), (now + add).to_string());
        }
        Ok(())
    }

    /// Traffic through a PPP session: its `<pppoe-NAME>` interface's counters grow (`up`: what the
    /// router receives from the subscriber).
    pub fn use_ppp_bytes(&mut self, name: &str, up: u64, down: u64) -> Result<(), String> {
        let iface = format!("<pppoe-{name}>");
        let menu = self.menus.get_mut("/interface").expect("known menu");
        let i = menu.iter_mut().find(|i| i.get("name") == Some(&iface)).ok_or("not online")?;
        grow(i, &[("rx-byte", up), ("tx-byte", down)]);
        Ok(())
    }

    /// How the router's pings to `address` go from now on: the round trip, and the share of
    /// packets lost (the first ones of each ping, so a summary is exact).
    pub fn set_ping(&mut self, address: &str, rtt_ms: f64, loss_percent: u8) {
        self.pings.insert(address.to_string(), (rtt_ms, loss_percent.min(100)));
    }

    /// A line in the router's log (`topics` as RouterOS writes them, e.g. `system,error,critical`).
    pub fn log_line(&mut self, topics: &str, message: &str) -> String {
        let n = self.menus.get("/log").map(Vec::len).unwrap_or(0);
        let time = format!("12:{:02}:{:02}", (n / 60) % 60, n % 60);
        self.insert("/log", attrs(&[("time", &time), ("topics", topics), ("message", message)]))
    }

    /// Traffic through a static interface, or its link going down and up.
    pub fn interface_traffic(&mut self, name: &str, rx: u64, tx: u64) -> Result<(), String> {
        let menu = self.menus.get_mut("/interface").expect("known menu");
        let i = menu.iter_mut().find(|i| i.get("name").map(String::as_str) == Some(name)).ok_or("no such interface")?;
        grow(i, &[("rx-byte", rx), ("tx-byte", tx)]);
        Ok(())
    }

    pub fn set_running(&mut self, name: &str, running: bool) -> Result<(), String> {
        let menu = self.menus.get_mut("/interface").expect("known menu");
        let i = menu.iter_mut().find(|i| i.get("name").map(String::as_str) == Some(name)).ok_or("no such interface")?;
        i.insert("running".into(), bool_text(if running { "true" } else { "false" }).to_string());
        Ok(())
    }

    /// `/ping address=... count=N`: a reply per packet with the running totals, as RouterOS
    /// gives them; an address with no route (none set) times out.
    fn ping(&self, args: &[(String, String)]) -> Reply {
        let get = |k: &str| args.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
        let Some(address) = get("address") else {
            return Reply::trap("missing value for address");
        };
        let count: u32 = get("count").and_then(|c| c.parse().ok()).unwrap_or(4).clamp(1, 100);
        let (rtt, loss) = self.pings.get(address).copied().unwrap_or((0.0, 100));
        let lost = (count * loss as u32).div_ceil(100);
        let mut out = Vec::new();
        let (mut received, mut sum, mut max) = (0u32, 0.0f64, 0.0f64);
        for seq in 0..count {
            let mut row = attrs(&[("seq", &seq.to_string()), ("host", address)]);
            if seq < lost {
                row.insert("status".into(), "timeout".into());
            } else {
                received += 1;
                // A little jitter around the set round trip, the same every time.
                let this = rtt * (1.0 + (seq % 3) as f64 * 0.05);
                sum += this;
                max = max.max(this);
                row.insert("size".into(), "56".into());
                row.insert("ttl".into(), "64".into());
                row.insert("time".into(), ros_duration(this));
            }
            let sent = seq + 1;
            row.insert("sent".into(), sent.to_string());
            row.insert("received".into(), received.to_string());
            row.insert("packet-loss".into(), ((sent - received) * 100 / sent).to_string());
            if received > 0 {
                row.insert("avg-rtt".into(), ros_duration(sum / received as f64));
                row.insert("max-rtt".into(), ros_duration(max));
            }
            out.push(row);
        }
        Reply::Rows { rows: out, ret: None }
    }

    /// A PPP session ends: its active entry and its dynamic interface go.
    pub fn hang_up_ppp(&mut self, name: &str) -> usize {
        let iface = format!("<pppoe-{name}>");
        self.remove_where("/interface", |i| i.get("name") == Some(&iface))
            + self.remove_where("/ppp/active", |i| i.get("name").map(String::as_str) == Some(name))
    }

    /// Traffic through a hotspot user's active session: the session's counters and the user's grow.
    pub fn use_hotspot_session_bytes(&mut self, user: &str, up: u64, down: u64) -> Result<(), String> {
        let menu = self.menus.get_mut("/ip/hotspot/active").expect("known menu");
        let s = menu.iter_mut().find(|s| s.get("user").map(String::as_str) == Some(user)).ok_or("not online")?;
        grow(s, &[("bytes-in", up), ("bytes-out", down)]);
        self.use_hotspot_bytes(user, up, down)
    }

    /// Runs one command sentence (already split into the command word, `=attributes` and
    /// `?queries`).
    pub fn execute(
        &mut self,
        command: &str,
        args: &[(String, String)],
        queries: &[String],
        proplist: Option<&str>,
    ) -> Reply {
        if command == "/system/identity/print" {
            return rows(vec![attrs(&[("name", &self.identity)])], proplist);
        }
        if command == "/system/identity/set" {
            if let Some((_, v)) = args.iter().find(|(k, _)| k == "name") {
                self.identity = v.clone();
            }
            return Reply::done();
        }
        if command == "/system/resource/print" {
            return rows(vec![self.resource.clone()], proplist);
        }
        if command == "/ping" {
            return self.ping(args);
        }
        let Some((menu, verb)) = command.rsplit_once('/') else {
            return Reply::trap("no such command");
        };
        let Some(spec) = MENUS.iter().find(|m| m.path == menu) else {
            return Reply::Trap { category: Some(0), message: "no such command prefix".into() };
        };
        match verb {
            "print" | "getall" => {
                let items = &self.menus[spec.path];
                let selected: Vec<Attrs> = match select(items, queries) {
                    Ok(s) => s,
                    Err(e) => return Reply::trap(e),
                };
                if args.iter().any(|(k, _)| k == "count-only") {
                    return Reply::Rows { rows: Vec::new(), ret: Some(selected.len().to_string()) };
                }
                rows(selected, proplist)
            }
            "add" => {
                if spec.read_only {
                    return Reply::trap("no such command");
                }
                let mut item = Attrs::new();
                for (k, v) in args {
                    if !spec.params.contains(&k.as_str()) {
                        return Reply::trap(format!("unknown parameter {k}"));
                    }
                    item.insert(k.clone(), v.clone());
                }
                if let Err(e) = self.validate(spec, &item, None) {
                    return Reply::trap(e);
                }
                let id = self.insert(spec.path, item);
                Reply::Rows { rows: Vec::new(), ret: Some(id) }
            }
            "set" | "enable" | "disable" => {
                let Some(target) = args.iter().find(|(k, _)| k == ".id" || k == "numbers").map(|(_, v)| v.clone())
                else {
                    return Reply::trap("no such item");
                };
                let Some(index) = self.position(spec.path, &target) else {
                    return Reply::trap("no such item");
                };
                let mut item = self.menus[spec.path][index].clone();
                for (k, v) in args.iter().filter(|(k, _)| k != ".id" && k != "numbers") {
                    if !spec.params.contains(&k.as_str()) || verb != "set" {
                        return Reply::trap(format!("unknown parameter {k}"));
                    }
                    let v = if BOOLEANS.contains(&k.as_str()) { bool_text(v).to_string() } else { v.clone() };
                    if v.is_empty() {
                        item.remove(k);
                    } else {
                        item.insert(k.clone(), v);
                    }
                }
                match verb {
                    "enable" => {
                        item.insert("disabled".into(), "false".into());
                    }
                    "disable" => {
                        item.insert("disabled".into(), "true".into());
                    }
                    _ => {}
                }
                if let Err(e) = self.validate(spec, &item, Some(index)) {
                    return Reply::trap(e);
                }
                self.menus.get_mut(spec.path).expect("menu")[index] = item;
                Reply::done()
            }
            "remove" => {
                let Some(target) = args.iter().find(|(k, _)| k == ".id" || k == "numbers").map(|(_, v)| v.clone())
                else {
                    return Reply::trap("no such item");
                };
                let mut indexes = Vec::new();
                for t in target.split(',') {
                    match self.position(spec.path, t) {
                        Some(i) => indexes.push(i),
                        None => return Reply::trap("no such item"),
                    }
                }
                indexes.sort_unstable();
                let removed: Vec<Attrs> =
                    indexes.into_iter().rev().map(|i| self.menus.get_mut(spec.path).expect("menu").remove(i)).collect();
                // A dropped PPP session takes its dynamic interface with it.
                if spec.path == "/ppp/active" {
                    for r in removed {
                        let iface = format!("<pppoe-{}>", r.get("name").cloned().unwrap_or_default());
                        self.remove_where("/interface", |i| i.get("name") == Some(&iface));
                    }
                }
                Reply::done()
            }
            _ => Reply::trap("no such command"),
        }
    }

    fn position(&self, menu: &str, target: &str) -> Option<usize> {
        let items = &self.menus[menu];
        items
            .iter()
            .position(|i| i.get(".id").map(String::as_str) == Some(target))
            .or_else(|| items.iter().position(|i| i.get("name").map(String::as_str) == Some(target)))
    }

    fn validate(&self, spec: &MenuSpec, item: &Attrs, replacing: Option<usize>) -> Result<(), String> {
        if let Some((key, noun)) = spec.unique {
            let Some(value) = item.get(key) else {
                return Err(format!("failure: {key} must be set"));
            };
            let clash = self.menus[spec.path]
                .iter()
                .enumerate()
                .any(|(i, other)| Some(i) != replacing && other.get(key) == Some(value));
            if clash {
                return Err(format!("failure: {noun} with the same {key} already exists"));
            }
        }
        let profile_menu = match spec.path {
            "/ppp/secret" => Some("/ppp/profile"),
            "/ip/hotspot/user" => Some("/ip/hotspot/user/profile"),
            _ => None,
        };
        if let (Some(pm), Some(profile)) = (profile_menu, item.get("profile"))
            && self.find(pm, profile).is_none()
        {
            return Err("input does not match any value of profile".into());
        }
        if spec.path == "/ip/firewall/address-list" {
            let (Some(list), Some(address)) = (item.get("list"), item.get("address")) else {
                return Err("failure: list and address must be set".into());
            };
            let clash = self.menus[spec.path]
                .iter()
                .enumerate()
                .any(|(i, o)| Some(i) != replacing && o.get("list") == Some(list) && o.get("address") == Some(address));
            if clash {
                return Err("failure: already have such entry".into());
            }
        }
        Ok(())
    }
}

fn bool_text(v: &str) -> &'static str {
    if matches!(v, "yes" | "true") { "true" } else { "false" }
}

fn rows(items: Vec<Attrs>, proplist: Option<&str>) -> Reply {
    let rows = match proplist {
        None => items,
        Some(p) => {
            let keep: Vec<&str> = p.split(',').collect();
            items.into_iter().map(|i| i.into_iter().filter(|(k, _)| keep.contains(&k.as_str())).collect()).collect()
        }
    };
    Reply::Rows { rows, ret: None }
}

/// RouterOS queries: a stack machine. `?name=value`, `?name` (has), `?-name` (has not), `?<name=v`,
/// `?>name=v` push a result per item; `?#|`, `?#&`, `?#!` combine; all that stays on the stack
/// must hold.
/// A duration as RouterOS prints it: `12ms363us`.
fn ros_duration(ms: f64) -> String {
    let us = (ms * 1000.0).round() as u64;
    match (us / 1000, us % 1000) {
        (0, u) => format!("{u}us"),
        (m, 0) => format!("{m}ms"),
        (m, u) => format!("{m}ms{u}us"),
    }
}

/// How long `/ping` takes on a router: `count` packets `interval` apart.
pub fn ping_duration(args: &[(String, String)]) -> std::time::Duration {
    let get = |k: &str| args.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
    let count: u32 = get("count").and_then(|c| c.parse().ok()).unwrap_or(4).clamp(1, 100);
    let interval = get("interval")
        .and_then(|i| {
            i.strip_suffix("ms")
                .and_then(|n| n.parse::<u64>().ok())
                .or_else(|| i.strip_suffix('s').and_then(|n| n.parse::<u64>().ok()).map(|s| s * 1000))
        })
        .unwrap_or(1000);
    std::time::Duration::from_millis(interval * (count.saturating_sub(1)) as u64)
}

fn select(items: &[Attrs], queries: &[String]) -> Result<Vec<Attrs>, String> {
    let mut out = Vec::new();
    for item in items {
        let mut stack: Vec<bool> = Vec::new();
        for q in queries {
            if let Some(ops) = q.strip_prefix('#') {
                for op in ops.chars() {
                    match op {
                        '|' | '&' => {
                            let (Some(b), Some(a)) = (stack.pop(), stack.pop()) else {
                                return Err("invalid query".into());
                            };
                            stack.push(if op == '|' { a || b } else { a && b });
                        }
                        '!' => {
                            let a = stack.pop().ok_or("invalid query")?;
                            stack.push(!a);
                        }
                        _ => return Err("invalid query".into()),
                    }
                }
            } else if let Some(rest) = q.strip_prefix('-') {
                stack.push(!item.contains_key(rest));
            } else if let Some(rest) = q.strip_prefix('<').or_else(|| q.strip_prefix('>')) {
                let less = q.starts_with('<');
                let (k, v) = rest.split_once('=').ok_or("invalid query")?;
                let have = item.get(k);
                let r = match (have.and_then(|h| h.parse::<i64>().ok()), v.parse::<i64>().ok()) {
                    (Some(a), Some(b)) => {
                        if less {
                            a < b
                        } else {
                            a > b
                        }
                    }
                    _ => have.is_some_and(|h| if less { h.as_str() < v } else { h.as_str() > v }),
                };
                stack.push(r);
            } else if let Some((k, v)) = q.split_once('=') {
                stack.push(item.get(k).map(String::as_str).unwrap_or("") == v);
            } else {
                stack.push(item.contains_key(q.as_str()));
            }
        }
        if stack.iter().all(|b| *b) {
            out.push(item.clone());
        }
    }
    Ok(out)
}

/// Adds to counters of an item.
fn grow(item: &mut Attrs, adds: &[(&str, u64)]) {
    for (k, add) in adds {
        let now = item.get(*k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        item.insert(k.to_string(), (now + add).to_string());
    }
}
