//! Router configuration backups as data: which menus a backup holds and how each is keyed, the
//! snapshot (a router's configuration without counters and runtime items), the difference of two
//! snapshots, the plan that brings a menu back to a snapshot, and a snapshot as a RouterOS script
//! (`.rsc`, the format of `/export`). Pure: reading and writing routers is `routeros`'s, storing
//! snapshots the services'.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

pub type Attrs = BTreeMap<String, String>;

/// How a menu's items are told apart from one snapshot to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keying {
    /// By `name` (unique in the menu).
    Name,
    /// Address lists: by `list` and `address` together.
    ListAddress,
    /// Firewall rules: no name; their order is their meaning.
    Ordered,
    /// One item, no id (`/system/identity`).
    Single,
}

/// A menu a backup holds.
#[derive(Debug)]
pub struct BackupMenu {
    pub path: &'static str,
    pub keying: Keying,
    /// Sealed at rest, never shown in a difference.
    pub secrets: &'static [&'static str],
    /// Shown by the router, never taken by `add`/`set`.
    pub read_only: &'static [&'static str],
    /// A restore may bring it back (interfaces are hardware: kept, compared, never restored).
    pub restorable: bool,
}

pub const IDENTITY: &str = "/system/identity";
pub const SCHEDULER: &str = "/system/scheduler";

/// What a backup holds, in the order a restore adds things (a pool before the profile that names
/// it, a profile before the accounts on it); removals go in the reverse order.
pub const MENUS: &[BackupMenu] = &[
    BackupMenu { path: IDENTITY, keying: Keying::Single, secrets: &[], read_only: &[], restorable: true },
    BackupMenu { path: "/ip/pool", keying: Keying::Name, secrets: &[], read_only: &[], restorable: true },
    BackupMenu { path: "/ppp/profile", keying: Keying::Name, secrets: &[], read_only: &["default"], restorable: true },
    BackupMenu { path: "/ppp/secret", keying: Keying::Name, secrets: &["password"], read_only: &[], restorable: true },
    BackupMenu {
        path: "/ip/hotspot/user/profile",
        keying: Keying::Name,
        secrets: &[],
        read_only: &["default"],
        restorable: true,
    },
    BackupMenu {
        path: "/ip/hotspot/user",
        keying: Keying::Name,
        secrets: &["password"],
        read_only: &[],
        restorable: true,
    },
    BackupMenu { path: "/queue/simple", keying: Keying::Name, secrets: &[], read_only: &[], restorable: true },
    BackupMenu {
        path: "/ip/firewall/address-list",
        keying: Keying::ListAddress,
        secrets: &[],
        read_only: &[],
        restorable: true,
    },
    BackupMenu { path: "/ip/firewall/filter", keying: Keying::Ordered, secrets: &[], read_only: &[], restorable: true },
    BackupMenu { path: "/ip/firewall/nat", keying: Keying::Ordered, secrets: &[], read_only: &[], restorable: true },
    BackupMenu { path: SCHEDULER, keying: Keying::Name, secrets: &[], read_only: &["owner"], restorable: true },
    BackupMenu {
        path: "/interface",
        keying: Keying::Name,
        secrets: &[],
        read_only: &["type", "mac-address", "default-name", "actual-mtu", "l2mtu", "max-l2mtu", "slave"],
        restorable: false,
    },
];

pub fn menu(path: &str) -> Option<&'static BackupMenu> {
    MENUS.iter().find(|m| m.path == path)
}

/// The menus a restore may bring back.
pub fn restorable_menus() -> impl Iterator<Item = &'static str> {
    MENUS.iter().filter(|m| m.restorable).map(|m| m.path)
}

/// What changes by itself on a running router (counters, states, timers) or is the router's own
/// bookkeeping (`.id`): never part of a configuration.
const VOLATILE: &[&str] = &[
    ".id",
    ".nextid",
    "bytes",
    "packets",
    "bytes-in",
    "bytes-out",
    "packets-in",
    "packets-out",
    "rx-byte",
    "tx-byte",
    "rx-packet",
    "tx-packet",
    "rx-drop",
    "tx-drop",
    "tx-queue-drop",
    "rx-error",
    "tx-error",
    "fp-rx-byte",
    "fp-tx-byte",
    "fp-rx-packet",
    "fp-tx-packet",
    "running",
    "dynamic",
    "invalid",
    "last-link-up-time",
    "last-link-down-time",
    "link-downs",
    "uptime",
    "run-count",
    "next-run",
    "last-started",
    "last-logged-out",
    "last-caller-id",
    "last-disconnect-reason",
    "creation-time",
    "total-bytes",
    "total-packets",
    "dropped",
    "total-dropped",
    "rate",
    "total-rate",
    "packet-rate",
    "total-packet-rate",
    "queued-bytes",
    "total-queued-bytes",
    "queued-packets",
    "total-queued-packets",
];

/// A menu's items as configuration: runtime items (`dynamic`) left out, counters and ids removed.
pub fn normalise(rows: &[Attrs]) -> Vec<Attrs> {
    rows.iter()
        .filter(|r| !is_true(r.get("dynamic")))
        .map(|r| {
            r.iter().filter(|(k, _)| !VOLATILE.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect()
        })
        .collect()
}

fn is_true(v: Option<&String>) -> bool {
    matches!(v.map(String::as_str), Some("true" | "yes"))
}

/// A router's configuration at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigSnapshot {
    pub routeros_version: Option<String>,
    pub board_name: Option<String>,
    /// Menu path to its items, normalised, in the router's order.
    pub menus: BTreeMap<String, Vec<Attrs>>,
}

impl ConfigSnapshot {
    /// From what the router printed (`rows` per menu path, `.id`s and all).
    pub fn from_rows(
        routeros_version: Option<String>,
        board_name: Option<String>,
        rows: BTreeMap<String, Vec<Attrs>>,
    ) -> Self {
        let menus = rows.into_iter().map(|(path, rows)| (path, normalise(&rows))).collect();
        ConfigSnapshot { routeros_version, board_name, menus }
    }

    /// Items per menu.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.menus.iter().map(|(m, items)| (m.clone(), items.len() as u64)).collect()
    }

    /// Applies `f` to every secret value (to seal them before the snapshot is stored, or to open
    /// them after it is read).
    pub fn map_secrets<E>(&mut self, mut f: impl FnMut(&str) -> Result<String, E>) -> Result<(), E> {
        for (path, items) in self.menus.iter_mut() {
            let Some(spec) = menu(path) else { continue };
            for item in items.iter_mut() {
                for s in spec.secrets {
                    if let Some(v) = item.get_mut(*s)
                        && !v.is_empty()
                    {
                        *v = f(v)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The key an item is known by in its menu (for a difference, a restore, a script comment).
pub fn item_key(keying: Keying, item: &Attrs) -> String {
    match keying {
        Keying::Name => item.get("name").cloned().unwrap_or_default(),
        Keying::ListAddress => format!(
            "{} {}",
            item.get("list").map(String::as_str).unwrap_or(""),
            item.get("address").map(String::as_str).unwrap_or("")
        ),
        Keying::Ordered => script_attributes(item, &[]),
        Keying::Single => "identity".into(),
    }
}

// ---- difference -------------------------------------------------------------------------------

/// One attribute's value before and after (`None`: absent). Secrets read `(hidden)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AttrChange {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// An item added, removed or changed, with the attributes concerned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ItemDiff {
    pub key: String,
    pub attributes: BTreeMap<String, AttrChange>,
}

/// What differs in one menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MenuDiff {
    pub menu: String,
    pub added: Vec<ItemDiff>,
    pub removed: Vec<ItemDiff>,
    pub changed: Vec<ItemDiff>,
    /// Firewall rules: the same rules in another order (their order is their meaning).
    pub reordered: bool,
}

pub const HIDDEN: &str = "(hidden)";

fn shown(spec: &BackupMenu, attr: &str, v: Option<&String>) -> Option<String> {
    v.map(|v| if spec.secrets.contains(&attr) { HIDDEN.to_string() } else { v.clone() })
}

fn whole(spec: &BackupMenu, item: &Attrs, added: bool) -> ItemDiff {
    let attributes = item
        .iter()
        .map(|(k, v)| {
            let v = shown(spec, k, Some(v));
            (k.clone(), if added { AttrChange { from: None, to: v } } else { AttrChange { from: v, to: None } })
        })
        .collect();
    ItemDiff { key: item_key(spec.keying, item), attributes }
}

/// Menu by menu, item by item: what `to` has that `from` had not, lost, or holds otherwise.
/// Secrets are compared in the open (both snapshots opened) and shown as [`HIDDEN`].
pub fn diff(from: &ConfigSnapshot, to: &ConfigSnapshot) -> Vec<MenuDiff> {
    let empty = Vec::new();
    let mut out = Vec::new();
    for spec in MENUS {
        let a = from.menus.get(spec.path).unwrap_or(&empty);
        let b = to.menus.get(spec.path).unwrap_or(&empty);
        let mut d =
            MenuDiff { menu: spec.path.into(), added: vec![], removed: vec![], changed: vec![], reordered: false };
        match spec.keying {
            Keying::Ordered => {
                let (added, removed, reordered) = sequence_diff(a, b);
                d.added = added.iter().map(|i| whole(spec, i, true)).collect();
                d.removed = removed.iter().map(|i| whole(spec, i, false)).collect();
                d.reordered = reordered;
            }
            _ => {
                let ka: BTreeMap<String, &Attrs> = a.iter().map(|i| (item_key(spec.keying, i), i)).collect();
                let kb: BTreeMap<String, &Attrs> = b.iter().map(|i| (item_key(spec.keying, i), i)).collect();
                for (k, item) in &kb {
                    match ka.get(k) {
                        None => d.added.push(whole(spec, item, true)),
                        Some(before) => {
                            let mut attributes = BTreeMap::new();
                            for attr in before.keys().chain(item.keys()) {
                                let (x, y) = (before.get(attr), item.get(attr));
                                if x != y {
                                    let (mut from, to) = (shown(spec, attr, x), shown(spec, attr, y));
                                    if from == to {
                                        // A secret changed: say so without showing either.
                                        from = from.map(|_| format!("{HIDDEN} before"));
                                    }
                                    attributes.insert(attr.clone(), AttrChange { from, to });
                                }
                            }
                            if !attributes.is_empty() {
                                d.changed.push(ItemDiff { key: k.clone(), attributes });
                            }
                        }
                    }
                }
                for (k, item) in &ka {
                    if !kb.contains_key(k) {
                        d.removed.push(whole(spec, item, false));
                    }
                }
            }
        }
        if !(d.added.is_empty() && d.removed.is_empty() && d.changed.is_empty() && !d.reordered) {
            out.push(d);
        }
    }
    out
}

/// Ordered items: those only in `b` (added), only in `a` (removed), each counted as often as it
/// appears, and whether the ones in both stand in another order.
fn sequence_diff<'a>(a: &'a [Attrs], b: &'a [Attrs]) -> (Vec<&'a Attrs>, Vec<&'a Attrs>, bool) {
    let mut left: Vec<Option<&Attrs>> = a.iter().map(Some).collect();
    let mut added = Vec::new();
    let mut common_b = Vec::new();
    for item in b {
        match left.iter().position(|l| *l == Some(item)) {
            Some(i) => {
                left[i] = None;
                common_b.push(item);
            }
            None => added.push(item),
        }
    }
    let removed: Vec<&Attrs> = left.iter().zip(a).filter(|(l, _)| l.is_some()).map(|(_, i)| i).collect();
    let common_a: Vec<&Attrs> = a.iter().zip(&left).filter(|(_, l)| l.is_none()).map(|(i, _)| i).collect();
    (added, removed, common_a != common_b)
}

// ---- restore ----------------------------------------------------------------------------------

/// One change a restore makes on the router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigChange {
    Add {
        menu: &'static str,
        attrs: Attrs,
    },
    /// An empty value unsets the attribute. `id` is empty for [`Keying::Single`].
    Set {
        menu: &'static str,
        id: String,
        attrs: Attrs,
    },
    Remove {
        menu: &'static str,
        ids: Vec<String>,
    },
}

/// What a restore changed in one menu.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RestoreCounts {
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
}

fn settable(spec: &BackupMenu, item: &Attrs) -> Attrs {
    item.iter().filter(|(k, _)| !spec.read_only.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The smallest change that makes the router's `current` items of a menu (as printed, with
/// `.id`s) what `backup` holds: adds and sets first, removals last (see [`restore_order`]).
/// Built-in items (`default=true`) and runtime ones (`dynamic`) are never removed. Empty when
/// the menu is already as backed up: a restore repeated changes nothing.
pub fn restore_plan(
    spec: &'static BackupMenu,
    backup: &[Attrs],
    current: &[Attrs],
) -> (Vec<ConfigChange>, RestoreCounts) {
    let mut changes = Vec::new();
    let mut counts = RestoreCounts::default();
    let statics: Vec<&Attrs> = current.iter().filter(|r| !is_true(r.get("dynamic"))).collect();
    let id_of = |r: &Attrs| r.get(".id").cloned().unwrap_or_default();
    match spec.keying {
        Keying::Single => {
            let want = backup.first().map(|b| settable(spec, b)).unwrap_or_default();
            let have = statics.first().map(|r| normalise(&[(*r).clone()]).remove(0)).unwrap_or_default();
            let attrs: Attrs =
                want.iter().filter(|(k, v)| have.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect();
            if !attrs.is_empty() {
                counts.changed = 1;
                changes.push(ConfigChange::Set { menu: spec.path, id: String::new(), attrs });
            }
        }
        Keying::Ordered => {
            let have: Vec<Attrs> = statics.iter().map(|r| normalise(&[(*r).clone()]).remove(0)).collect();
            if have.as_slice() != backup {
                // The backup's rules go in first, after the present ones, then the present ones
                // go: the router is never without rules on the way.
                for b in backup {
                    changes.push(ConfigChange::Add { menu: spec.path, attrs: settable(spec, b) });
                }
                let ids: Vec<String> = statics.iter().map(|r| id_of(r)).collect();
                counts.added = backup.len() as u64;
                counts.removed = ids.len() as u64;
                if !ids.is_empty() {
                    changes.push(ConfigChange::Remove { menu: spec.path, ids });
                }
            }
        }
        Keying::Name | Keying::ListAddress => {
            let have: BTreeMap<String, (&Attrs, Attrs)> = statics
                .iter()
                .map(|r| {
                    let n = normalise(&[(*r).clone()]).remove(0);
                    (item_key(spec.keying, &n), (*r, n))
                })
                .collect();
            let mut wanted = std::collections::BTreeSet::new();
            for b in backup {
                let key = item_key(spec.keying, b);
                wanted.insert(key.clone());
                let want = settable(spec, b);
                match have.get(&key) {
                    None => {
                        counts.added += 1;
                        changes.push(ConfigChange::Add { menu: spec.path, attrs: want });
                    }
                    Some((raw, now)) => {
                        let now = settable(spec, now);
                        let mut attrs: Attrs = want
                            .iter()
                            .filter(|(k, v)| now.get(*k) != Some(*v))
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect();
                        for k in now.keys().filter(|k| !want.contains_key(*k)) {
                            attrs.insert(k.clone(), String::new());
                        }
                        if !attrs.is_empty() {
                            counts.changed += 1;
                            changes.push(ConfigChange::Set { menu: spec.path, id: id_of(raw), attrs });
                        }
                    }
                }
            }
            let ids: Vec<String> = have
                .iter()
                .filter(|(k, (raw, _))| !wanted.contains(*k) && !is_true(raw.get("default")))
                .map(|(_, (raw, _))| id_of(raw))
                .collect();
            counts.removed = ids.len() as u64;
            if !ids.is_empty() {
                changes.push(ConfigChange::Remove { menu: spec.path, ids });
            }
        }
    }
    (changes, counts)
}

/// Orders the changes of several menus: every add and set in [`MENUS`] order, then every removal
/// in the reverse order (accounts before the profiles they name, profiles before their pools).
pub fn restore_order(mut per_menu: Vec<(&'static BackupMenu, Vec<ConfigChange>)>) -> Vec<ConfigChange> {
    let rank = |p: &str| MENUS.iter().position(|m| m.path == p).unwrap_or(usize::MAX);
    per_menu.sort_by_key(|(m, _)| rank(m.path));
    let mut out = Vec::new();
    let mut removals = Vec::new();
    for (_, changes) in per_menu {
        for c in changes {
            match c {
                ConfigChange::Remove { .. } => removals.push(c),
                other => out.push(other),
            }
        }
    }
    removals.reverse();
    out.extend(removals);
    out
}

// ---- script (.rsc) ----------------------------------------------------------------------------

/// A value as `/export` writes it: bare when it is plain, else quoted with RouterOS escapes;
/// `true`/`false` as `yes`/`no`.
pub fn script_value(v: &str) -> String {
    match v {
        "true" => return "yes".into(),
        "false" => return "no".into(),
        _ => {}
    }
    let plain = !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || "._:/,*+@-<>".contains(c));
    if plain {
        return v.to_string();
    }
    let mut out = String::from("\"");
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '$' => out.push_str("\\$"),
            '?' => out.push_str("\\?"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `name=... k=v ...`: `name` first, the rest by name, `skip` left out, and `disabled=no` too
/// (the default, which `/export` leaves out).
fn script_attributes(item: &Attrs, skip: &[&str]) -> String {
    let mut parts = Vec::new();
    if let Some(n) = item.get("name") {
        parts.push(format!("name={}", script_value(n)));
    }
    for (k, v) in item {
        if k == "name" || skip.contains(&k.as_str()) || v.is_empty() || (k == "disabled" && !is_true(Some(v))) {
            continue;
        }
        parts.push(format!("{k}={}", script_value(v)));
    }
    parts.join(" ")
}

/// The snapshot as a RouterOS script that recreates it (paste into a terminal or `/import`).
/// Built-in items are `set`, not added; interfaces are listed as comments (they are hardware).
pub fn to_script(snapshot: &ConfigSnapshot, header: &[String]) -> String {
    let mut out = String::new();
    for h in header {
        out.push_str(&format!("# {h}\n"));
    }
    if let Some(v) = &snapshot.routeros_version {
        out.push_str(&format!(
            "# RouterOS {v}{}\n",
            snapshot.board_name.as_ref().map(|b| format!(" on {b}")).unwrap_or_default()
        ));
    }
    for spec in MENUS {
        let Some(items) = snapshot.menus.get(spec.path).filter(|i| !i.is_empty()) else { continue };
        let section = spec.path.trim_start_matches('/').replace('/', " ");
        if !spec.restorable {
            out.push_str(&format!("# /{section}\n"));
            for i in items {
                out.push_str(&format!("#   {}\n", script_attributes(i, &[])));
            }
            continue;
        }
        out.push_str(&format!("/{section}\n"));
        for i in items {
            let line = match spec.keying {
                Keying::Single => format!("set {}", script_attributes(i, spec.read_only)),
                _ if is_true(i.get("default")) => {
                    let name = i.get("name").map(|n| script_value(n)).unwrap_or_default();
                    let mut rest = i.clone();
                    rest.remove("name");
                    format!("set [ find name={name} ] {}", script_attributes(&rest, spec.read_only))
                        .trim_end()
                        .to_string()
                }
                _ => format!("add {}", script_attributes(i, spec.read_only)),
            };
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

// ---- the on-router daily backup -----------------------------------------------------------------

/// The `/system scheduler` entry this system keeps on a router when the ISP wants the router's
/// own daily `/system backup` (the file stays on the router's flash, beside our snapshots).
pub const ON_ROUTER_BACKUP_ENTRY: &str = "isp-daily-backup";

pub fn on_router_backup_entry() -> Attrs {
    [
        ("name", ON_ROUTER_BACKUP_ENTRY),
        ("interval", "1d"),
        ("start-time", "03:10:00"),
        ("on-event", "/system backup save name=isp-daily"),
        ("policy", "read,write,policy,test,password,sensitive"),
        ("comment", "Daily /system backup, kept by the ISP's billing system"),
        ("disabled", "false"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

// ---- backups as records -----------------------------------------------------------------------

/// Why a backup was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BackupReason {
    OnDemand,
    Scheduled,
    /// Before a change to many subscribers at once (a bulk action, a package's profile).
    BeforeBulkChange,
    BeforeRestore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BackupStatus {
    Pending,
    Completed,
    Failed,
}

/// A backup of one router: the snapshot is an object in S3, this is what the table knows of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RouterBackup {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub router_id: Uuid,
    pub reason: BackupReason,
    pub status: BackupStatus,
    /// The user who asked (on demand); none for the system's own.
    #[serde(default)]
    pub requested_by: Option<Uuid>,
    pub requested_at: DateTime<Utc>,
    #[serde(default)]
    pub taken_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub routeros_version: Option<String>,
    /// Items per menu.
    #[serde(default)]
    pub items: BTreeMap<String, u64>,
    #[serde(default)]
    pub size_bytes: Option<u64>,
    /// The snapshot's S3 object and its version (the bucket keeps versions).
    #[serde(default)]
    pub object_key: Option<String>,
    #[serde(default)]
    pub object_version: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    pub version: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RestoreStatus {
    Pending,
    Applied,
    Failed,
}

/// A restore of chosen menus of a router from one of its backups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RouterRestore {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub router_id: Uuid,
    pub backup_id: Uuid,
    pub menus: Vec<String>,
    pub status: RestoreStatus,
    pub requested_by: Uuid,
    pub requested_at: DateTime<Utc>,
    /// The backup taken just before the restore changed anything.
    #[serde(default)]
    pub safety_backup_id: Option<Uuid>,
    #[serde(default)]
    pub applied_at: Option<DateTime<Utc>>,
    /// What the restore changed, per menu.
    #[serde(default)]
    pub changes: BTreeMap<String, RestoreCounts>,
    #[serde(default)]
    pub error: Option<String>,
    pub version: u64,
}

// ---- the ISP's schedule -----------------------------------------------------------------------

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BackupSchedule {
    Off,
    Daily,
    #[default]
    Weekly,
}

/// The ISP's router backups: how often they are taken, how many are kept per router, and whether
/// each router also keeps its own daily `/system backup` (a scheduler entry kept by us).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouterBackupSettings {
    #[serde(default)]
    pub schedule: BackupSchedule,
    /// Completed backups kept per router (1-100); older ones are deleted by the daily sweep.
    #[serde(default = "default_keep")]
    pub keep: u32,
    #[serde(default = "yes")]
    pub on_router_daily: bool,
}

fn default_keep() -> u32 {
    12
}

fn yes() -> bool {
    true
}

impl Default for RouterBackupSettings {
    fn default() -> Self {
        RouterBackupSettings { schedule: BackupSchedule::Weekly, keep: default_keep(), on_router_daily: true }
    }
}

impl RouterBackupSettings {
    pub fn validate(&self, v: &mut crate::Validation, prefix: &str) {
        if !(1..=100).contains(&self.keep) {
            v.add(&format!("{prefix}.keep"), "must be 1-100");
        }
    }

    /// Whether a scheduled backup is due, the newest completed one being `last` (the daily sweep
    /// runs at about the same time each day: an hour's slack keeps "weekly" weekly).
    pub fn due(&self, last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
        let every = match self.schedule {
            BackupSchedule::Off => return false,
            BackupSchedule::Daily => Duration::days(1),
            BackupSchedule::Weekly => Duration::days(7),
        };
        last.is_none_or(|l| l + every - Duration::hours(1) <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(pairs: &[(&str, &str)]) -> Attrs {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn snap(menus: &[(&str, Vec<Attrs>)]) -> ConfigSnapshot {
        ConfigSnapshot {
            routeros_version: Some("7.16.2".into()),
            board_name: None,
            menus: menus.iter().map(|(p, i)| (p.to_string(), i.clone())).collect(),
        }
    }

    #[test]
    fn counters_ids_and_runtime_items_are_not_configuration() {
        let rows = vec![
            a(&[(".id", "*1"), ("name", "ether1"), ("rx-byte", "10"), ("running", "true"), ("mtu", "1500")]),
            a(&[(".id", "*2"), ("name", "<pppoe-x>"), ("dynamic", "true")]),
        ];
        assert_eq!(normalise(&rows), vec![a(&[("name", "ether1"), ("mtu", "1500")])]);
    }

    #[test]
    fn a_diff_names_each_change_and_hides_secrets() {
        let before = snap(&[
            ("/ppp/secret", vec![a(&[("name", "rahim"), ("password", "p1"), ("profile", "10M")])]),
            ("/ppp/profile", vec![a(&[("name", "10M"), ("rate-limit", "10M/10M")])]),
            (
                "/ip/firewall/filter",
                vec![a(&[("chain", "input"), ("action", "accept")]), a(&[("chain", "input"), ("action", "drop")])],
            ),
        ]);
        let after = snap(&[
            (
                "/ppp/secret",
                vec![
                    a(&[("name", "rahim"), ("password", "p2"), ("profile", "10M")]),
                    a(&[("name", "new"), ("password", "x")]),
                ],
            ),
            ("/ppp/profile", vec![a(&[("name", "10M"), ("rate-limit", "12M/12M")])]),
            (
                "/ip/firewall/filter",
                vec![a(&[("chain", "input"), ("action", "drop")]), a(&[("chain", "input"), ("action", "accept")])],
            ),
        ]);
        let d = diff(&before, &after);
        let by: BTreeMap<&str, &MenuDiff> = d.iter().map(|m| (m.menu.as_str(), m)).collect();
        assert_eq!(by.len(), 3);
        let secrets = by["/ppp/secret"];
        assert_eq!(secrets.added.len(), 1);
        assert_eq!(secrets.added[0].attributes["password"].to.as_deref(), Some(HIDDEN));
        assert_eq!(secrets.changed[0].key, "rahim");
        let pw = &secrets.changed[0].attributes["password"];
        assert!(pw.from.as_deref() != Some("p1") && pw.to.as_deref() == Some(HIDDEN) && pw.from != pw.to);
        let profile = &by["/ppp/profile"].changed[0].attributes["rate-limit"];
        assert_eq!((profile.from.as_deref(), profile.to.as_deref()), (Some("10M/10M"), Some("12M/12M")));
        let filter = by["/ip/firewall/filter"];
        assert!(filter.reordered && filter.added.is_empty() && filter.removed.is_empty());
        assert!(diff(&after, &after).is_empty());
    }

    #[test]
    fn a_restore_plan_is_the_smallest_change_and_empty_once_done() {
        let spec = menu("/ppp/profile").unwrap();
        let backup = vec![
            a(&[("name", "default"), ("default", "true")]),
            a(&[("name", "10M"), ("rate-limit", "10M/10M")]),
            a(&[("name", "20M"), ("rate-limit", "20M/20M")]),
        ];
        let current = vec![
            a(&[(".id", "*1"), ("name", "default"), ("default", "true")]),
            a(&[(".id", "*2"), ("name", "10M"), ("rate-limit", "15M/15M"), ("comment", "by hand")]),
            a(&[(".id", "*3"), ("name", "junk")]),
        ];
        let (changes, counts) = restore_plan(spec, &backup, &current);
        assert_eq!(counts, RestoreCounts { added: 1, changed: 1, removed: 1 });
        assert!(changes.contains(&ConfigChange::Set {
            menu: "/ppp/profile",
            id: "*2".into(),
            attrs: a(&[("rate-limit", "10M/10M"), ("comment", "")])
        }));
        assert!(changes.contains(&ConfigChange::Remove { menu: "/ppp/profile", ids: vec!["*3".into()] }));
        let done = vec![
            a(&[(".id", "*1"), ("name", "default"), ("default", "true")]),
            a(&[(".id", "*2"), ("name", "10M"), ("rate-limit", "10M/10M")]),
            a(&[(".id", "*4"), ("name", "20M"), ("rate-limit", "20M/20M")]),
        ];
        assert_eq!(restore_plan(spec, &backup, &done), (vec![], RestoreCounts::default()));

        let rules = menu("/ip/firewall/filter").unwrap();
        let want = vec![a(&[("chain", "input"), ("action", "accept")])];
        let (changes, _) = restore_plan(rules, &want, &[a(&[(".id", "*9"), ("chain", "input"), ("action", "drop")])]);
        assert_eq!(changes.len(), 2);
        assert!(matches!(&changes[0], ConfigChange::Add { .. }), "the backup's rules first");
        assert!(
            restore_plan(rules, &want, &[a(&[(".id", "*9"), ("chain", "input"), ("action", "accept")])]).0.is_empty()
        );
    }

    #[test]
    fn removals_come_after_every_add_in_reverse_dependency_order() {
        let pool = menu("/ip/pool").unwrap();
        let secret = menu("/ppp/secret").unwrap();
        let ordered = restore_order(vec![
            (
                secret,
                vec![
                    ConfigChange::Remove { menu: secret.path, ids: vec!["*1".into()] },
                    ConfigChange::Add { menu: secret.path, attrs: Attrs::new() },
                ],
            ),
            (
                pool,
                vec![
                    ConfigChange::Remove { menu: pool.path, ids: vec!["*2".into()] },
                    ConfigChange::Add { menu: pool.path, attrs: Attrs::new() },
                ],
            ),
        ]);
        let shape: Vec<(&str, bool)> = ordered
            .iter()
            .map(|c| match c {
                ConfigChange::Add { menu, .. } | ConfigChange::Set { menu, .. } => (*menu, true),
                ConfigChange::Remove { menu, .. } => (*menu, false),
            })
            .collect();
        assert_eq!(shape, vec![("/ip/pool", true), ("/ppp/secret", true), ("/ppp/secret", false), ("/ip/pool", false)]);
    }

    #[test]
    fn the_script_quotes_what_routeros_would() {
        assert_eq!(script_value("10M/10M"), "10M/10M");
        assert_eq!(script_value("true"), "yes");
        assert_eq!(script_value("Rahim's home"), "\"Rahim's home\"");
        assert_eq!(script_value("a\"b$c?"), "\"a\\\"b\\$c\\?\"");
        assert_eq!(script_value(""), "\"\"");
        let s = snap(&[
            (IDENTITY, vec![a(&[("name", "POP 1")])]),
            (
                "/ppp/profile",
                vec![
                    a(&[("name", "default"), ("default", "true"), ("only-one", "yes")]),
                    a(&[("name", "10M"), ("rate-limit", "10M/10M")]),
                ],
            ),
            (
                "/ppp/secret",
                vec![a(&[("name", "rahim"), ("password", "pw 1"), ("profile", "10M"), ("disabled", "false")])],
            ),
            ("/interface", vec![a(&[("name", "ether1"), ("type", "ether")])]),
        ]);
        let script = to_script(&s, &["backup x".into()]);
        assert_eq!(
            script,
            "# backup x\n# RouterOS 7.16.2\n/system identity\nset name=\"POP 1\"\n/ppp profile\nset [ find name=default ] only-one=yes\nadd name=10M rate-limit=10M/10M\n/ppp secret\nadd name=rahim password=\"pw 1\" profile=10M\n# /interface\n#   name=ether1 type=ether\n"
        );
    }

    #[test]
    fn a_schedule_is_due_once_per_period() {
        let now: DateTime<Utc> = "2026-07-08T03:00:00Z".parse().unwrap();
        let weekly = RouterBackupSettings::default();
        assert!(weekly.due(None, now));
        assert!(!weekly.due(Some(now - Duration::days(6)), now));
        assert!(weekly.due(Some(now - Duration::days(7) + Duration::minutes(20)), now), "the sweep a little early");
        let off = RouterBackupSettings { schedule: BackupSchedule::Off, ..weekly };
        assert!(!off.due(None, now));
        let mut v = crate::Validation::new();
        RouterBackupSettings { keep: 0, ..weekly }.validate(&mut v, "router_backups");
        assert!(!v.is_empty());
    }
}
