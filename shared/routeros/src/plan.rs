//! Provisioning, level-triggered: what a subscriber's access on a router should be ([`Desired`]),
//! what the router has ([`Snapshot`]), and the smallest set of commands between the two
//! ([`plan`]). Pure: no I/O, so every rule is unit-tested without a router.

use crate::client::Command;
use crate::menu::{
    ADDRESS_LIST, Account, ActiveSession, AddressListEntry, HOTSPOT_ACTIVE, HOTSPOT_PROFILE, HOTSPOT_USER, PPP_ACTIVE,
    PPP_PROFILE, PPP_SECRET, Profile, SIMPLE_QUEUE, SimpleQueue, add, remove, set,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// How the subscriber reaches the internet through the router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    /// A PPP secret (`service=pppoe`).
    Pppoe,
    /// A hotspot user.
    Hotspot,
    /// A fixed address shaped by a simple queue; cut off through a firewall address list.
    Static,
}

impl Service {
    fn account_menu(self) -> Option<&'static str> {
        match self {
            Service::Pppoe => Some(PPP_SECRET),
            Service::Hotspot => Some(HOTSPOT_USER),
            Service::Static => None,
        }
    }

    fn profile_menu(self) -> Option<&'static str> {
        match self {
            Service::Pppoe => Some(PPP_PROFILE),
            Service::Hotspot => Some(HOTSPOT_PROFILE),
            Service::Static => None,
        }
    }

    fn active_menu(self) -> Option<(&'static str, &'static str)> {
        match self {
            Service::Pppoe => Some((PPP_ACTIVE, "name")),
            Service::Hotspot => Some((HOTSPOT_ACTIVE, "user")),
            Service::Static => None,
        }
    }
}

/// The package's profile: its name on the router and the rate limit it must carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileSpec {
    pub name: String,
    pub rate_limit: String,
    /// Hotspot profiles of voucher plans: devices logged in at once with one account.
    pub shared_users: Option<u32>,
}

/// A static-IP subscriber's simple queue, as RouterOS writes its fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueSpec {
    pub max_limit: String,
    pub burst_limit: Option<String>,
    pub burst_threshold: Option<String>,
    pub burst_time: Option<String>,
    /// `upload/download`, e.g. `8/8`.
    pub priority: String,
}

/// The address list a cut-off static subscriber is put in when the router's suspension mode is
/// "disable" (a firewall rule on the router drops it).
pub const BLOCK_LIST: &str = "isp-suspended";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Access {
    /// Online at the package's speed.
    Open,
    /// Cut off: the account disabled (static: the address in [`BLOCK_LIST`]).
    Cut,
    /// Online on a restricted profile and in an address list, so the walled garden can show the
    /// payment page.
    WalledGarden { profile: String, address_list: String },
    /// Not on this router at all: pending, cancelled, or moved to another router.
    Absent,
}

impl Access {
    pub fn state(&self) -> &'static str {
        match self {
            Access::Open => "enabled",
            Access::Cut => "disabled",
            Access::WalledGarden { .. } => "walled_garden",
            Access::Absent => "absent",
        }
    }
}

/// What was last applied in full for a subscriber (kept with the subscription). A session is
/// dropped when what it runs under changed since then, even if the change itself reached the
/// router in an earlier, interrupted attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    pub state: String,
    pub profile: Option<String>,
    pub rate_limit: Option<String>,
}

/// What the database says about one subscriber on one router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub subscription_id: String,
    pub service: Service,
    pub username: String,
    pub password: String,
    /// PPP remote address, hotspot address, or the static IP.
    pub address: Option<String>,
    pub mac_address: Option<String>,
    pub profile: ProfileSpec,
    /// Static service only.
    pub queue: Option<QueueSpec>,
    pub access: Access,
    pub last_applied: Option<Applied>,
    /// Hotspot only: the data the account may move in all (a voucher's data limit); the router
    /// itself refuses the account once it is used up.
    pub limit_bytes_total: Option<u64>,
}

impl Desired {
    /// The comment that marks the router items this system owns for the subscription.
    pub fn marker(&self) -> String {
        marker(&self.subscription_id)
    }

    /// What a successful apply leaves in place (recorded with the subscription).
    pub fn applied(&self) -> Applied {
        let profile = self.effective_profile().map(|(p, _)| p.to_string());
        let rate_limit = match &self.access {
            Access::Open | Access::Cut => Some(self.profile.rate_limit.clone()),
            _ => None,
        };
        Applied { state: self.access.state().to_string(), profile, rate_limit }
    }

    /// The profile the account must carry, and whether this system manages its rate limit.
    fn effective_profile(&self) -> Option<(&str, bool)> {
        if self.service == Service::Static {
            return None;
        }
        match &self.access {
            Access::Open | Access::Cut => Some((&self.profile.name, true)),
            Access::WalledGarden { profile, .. } => Some((profile, false)),
            Access::Absent => None,
        }
    }
}

pub fn marker(subscription_id: &str) -> String {
    format!("isp:{subscription_id}")
}

/// What the router has, for the subscribers being reconciled (or for all of them).
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub ppp_secrets: HashMap<String, Account>,
    pub hotspot_users: HashMap<String, Account>,
    pub ppp_profiles: HashMap<String, Profile>,
    pub hotspot_profiles: HashMap<String, Profile>,
    pub queues: HashMap<String, SimpleQueue>,
    /// Address-list entries carrying a marker, by marker.
    pub list_entries: HashMap<String, Vec<AddressListEntry>>,
    /// Active sessions by PPP name / hotspot user.
    pub ppp_sessions: HashMap<String, Vec<ActiveSession>>,
    pub hotspot_sessions: HashMap<String, Vec<ActiveSession>>,
}

impl Snapshot {
    fn account(&self, service: Service, name: &str) -> Option<&Account> {
        match service {
            Service::Pppoe => self.ppp_secrets.get(name),
            Service::Hotspot => self.hotspot_users.get(name),
            Service::Static => None,
        }
    }

    fn profile(&self, service: Service, name: &str) -> Option<&Profile> {
        match service {
            Service::Pppoe => self.ppp_profiles.get(name),
            Service::Hotspot => self.hotspot_profiles.get(name),
            Service::Static => None,
        }
    }

    fn sessions(&self, service: Service, name: &str) -> &[ActiveSession] {
        let map = match service {
            Service::Pppoe => &self.ppp_sessions,
            Service::Hotspot => &self.hotspot_sessions,
            Service::Static => return &[],
        };
        map.get(name).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// The reads that fill a [`Snapshot`] for exactly these subscribers: a few queries each, all
/// pipelined. (A full router reconcile prints whole menus instead.)
pub fn targeted_reads(desired: &[Desired]) -> Vec<Command> {
    let mut reads = Vec::new();
    let mut profiles = BTreeSet::new();
    for d in desired {
        if let Some(menu) = d.service.account_menu() {
            reads.push(crate::menu::print_named(menu, &d.username));
        }
        if let Some((menu, key)) = d.service.active_menu() {
            reads.push(crate::menu::print(menu).query_eq(key, &d.username));
        }
        if d.service == Service::Static {
            reads.push(crate::menu::print_named(SIMPLE_QUEUE, &d.username));
        }
        reads.push(crate::menu::print(ADDRESS_LIST).query_eq("comment", d.marker()));
        if let Some(menu) = d.service.profile_menu() {
            profiles.insert((menu, d.profile.name.clone()));
            if let Access::WalledGarden { profile, .. } = &d.access {
                profiles.insert((menu, profile.clone()));
            }
        }
    }
    reads.extend(profiles.into_iter().map(|(menu, name)| crate::menu::print_named(menu, &name)));
    reads
}

/// From this many subscribers on, a batch reads whole menus instead of each subscriber's items:
/// a router scans its whole menu for a filtered print as well, so N filtered reads cost N whole
/// scans (on a small router 10-15 ms per 1,000 secrets each), while a whole-menu read costs one.
pub const WHOLE_MENUS_FROM: usize = 16;

/// What to read before converging these subscribers: their own items for a few, whole menus for
/// a batch.
pub fn reads_for(desired: &[Desired]) -> Vec<Command> {
    if desired.len() < WHOLE_MENUS_FROM {
        return targeted_reads(desired);
    }
    let mut menus = BTreeSet::new();
    for d in desired {
        menus.extend(d.service.account_menu());
        menus.extend(d.service.profile_menu());
        menus.extend(d.service.active_menu().map(|(menu, _)| menu));
        if d.service == Service::Static {
            menus.insert(SIMPLE_QUEUE);
        }
        menus.insert(ADDRESS_LIST);
    }
    menus.into_iter().map(crate::menu::print).collect()
}

/// Files the rows of a read (a targeted one or a whole menu) into the snapshot.
pub fn absorb(snapshot: &mut Snapshot, command: &Command, rows: &[crate::client::Row]) {
    let menu = command.path.trim_end_matches("/print");
    for row in rows {
        match menu {
            PPP_SECRET => {
                let a = Account::from_ppp(row);
                snapshot.ppp_secrets.insert(a.name.clone(), a);
            }
            HOTSPOT_USER => {
                let a = Account::from_hotspot(row);
                snapshot.hotspot_users.insert(a.name.clone(), a);
            }
            PPP_PROFILE => {
                let p = Profile::from_row(row);
                snapshot.ppp_profiles.insert(p.name.clone(), p);
            }
            HOTSPOT_PROFILE => {
                let p = Profile::from_row(row);
                snapshot.hotspot_profiles.insert(p.name.clone(), p);
            }
            SIMPLE_QUEUE => {
                let q = SimpleQueue::from_row(row);
                snapshot.queues.insert(q.name.clone(), q);
            }
            ADDRESS_LIST => {
                let e = AddressListEntry::from_row(row);
                if let Some(c) = e.comment.clone().filter(|c| c.starts_with("isp:")) {
                    snapshot.list_entries.entry(c).or_default().push(e);
                }
            }
            PPP_ACTIVE => {
                let s = ActiveSession::from_ppp(row);
                snapshot.ppp_sessions.entry(s.name.clone()).or_default().push(s);
            }
            HOTSPOT_ACTIVE => {
                let s = ActiveSession::from_hotspot(row);
                snapshot.hotspot_sessions.entry(s.name.clone()).or_default().push(s);
            }
            _ => {}
        }
    }
}

/// The profile writes the subscribers need: missing profiles created, the packages' rate limits
/// corrected. A walled-garden profile is created when missing (with its address list) and never
/// otherwise touched: the ISP may have tuned it. Returns the commands and the names of profiles
/// whose rate limit changes (their subscribers' sessions must reconnect to get the new speed).
pub fn profile_plan(desired: &[Desired], snapshot: &Snapshot) -> (Vec<Command>, BTreeSet<(Service, String)>) {
    type Wanted = (Option<String>, Option<String>, Option<u32>);
    let mut wanted: BTreeMap<(Service, String), Wanted> = BTreeMap::new();
    for d in desired {
        if d.service == Service::Static || d.access == Access::Absent {
            continue;
        }
        wanted.insert(
            (d.service, d.profile.name.clone()),
            (Some(d.profile.rate_limit.clone()), None, d.profile.shared_users),
        );
        if let Access::WalledGarden { profile, address_list } = &d.access {
            wanted.entry((d.service, profile.clone())).or_insert((None, Some(address_list.clone()), None));
        }
    }
    let mut commands = Vec::new();
    let mut rate_changed = BTreeSet::new();
    for ((service, name), (rate_limit, address_list, shared_users)) in wanted {
        let menu = service.profile_menu().expect("account services have profiles");
        match snapshot.profile(service, &name) {
            None => {
                let mut attrs = vec![("name", name.clone())];
                if let Some(r) = &rate_limit {
                    attrs.push(("rate-limit", r.clone()));
                }
                if let Some(l) = &address_list {
                    attrs.push(("address-list", l.clone()));
                }
                if let Some(n) = shared_users {
                    attrs.push(("shared-users", n.to_string()));
                }
                commands.push(add(menu, &attrs));
            }
            Some(existing) => {
                let mut fix = Vec::new();
                if let Some(r) = rate_limit.filter(|r| existing.rate_limit.as_deref() != Some(r)) {
                    fix.push(("rate-limit", r));
                    rate_changed.insert((service, name));
                }
                if let Some(n) = shared_users.filter(|n| existing.shared_users != Some(*n)) {
                    fix.push(("shared-users", n.to_string()));
                }
                if !fix.is_empty() {
                    commands.push(set(menu, &existing.id, &fix));
                }
            }
        }
    }
    (commands, rate_changed)
}

/// One subscriber's commands, in the order they must run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriberPlan {
    /// Account, queue and address-list writes.
    pub changes: Vec<Command>,
    /// Session drops, sent after the changes so the subscriber reconnects into the new state.
    pub disconnects: Vec<Command>,
    /// What this does, in words for the record and the logs.
    pub actions: Vec<String>,
    /// An item is added; its router id is read back afterwards.
    pub adds_item: bool,
}

impl SubscriberPlan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.disconnects.is_empty()
    }
}

/// The smallest change from what the router has to what the database says, for one subscriber.
/// `rate_changed`: profiles whose rate limit this run corrects.
pub fn plan(d: &Desired, snapshot: &Snapshot, rate_changed: &BTreeSet<(Service, String)>) -> SubscriberPlan {
    let mut p = SubscriberPlan::default();
    let marker = d.marker();
    let mut access_changed = false;

    // The account (PPP secret / hotspot user).
    if let Some(menu) = d.service.account_menu() {
        let existing = snapshot.account(d.service, &d.username);
        match (&d.access, existing) {
            (Access::Absent, None) => {}
            (Access::Absent, Some(a)) => {
                p.changes.push(remove(menu, &a.id));
                p.actions.push(format!("{} removed", noun(d.service)));
                access_changed = true;
            }
            (access, existing) => {
                let (profile, _) = d.effective_profile().expect("present accounts have a profile");
                let disabled = *access == Access::Cut;
                let mut want: Vec<(&str, String)> = vec![
                    ("name", d.username.clone()),
                    ("password", d.password.clone()),
                    ("profile", profile.to_string()),
                    ("disabled", yes_no(disabled)),
                    ("comment", marker.clone()),
                ];
                match d.service {
                    Service::Pppoe => {
                        want.push(("service", "pppoe".into()));
                        want.push(("remote-address", d.address.clone().unwrap_or_default()));
                    }
                    Service::Hotspot => {
                        want.push(("address", d.address.clone().unwrap_or_default()));
                        want.push(("mac-address", d.mac_address.clone().unwrap_or_default()));
                        if let Some(limit) = d.limit_bytes_total {
                            want.push(("limit-bytes-total", limit.to_string()));
                        }
                    }
                    Service::Static => {}
                }
                match existing {
                    None => {
                        let attrs: Vec<(&str, String)> = want.into_iter().filter(|(_, v)| !v.is_empty()).collect();
                        p.changes.push(add(menu, &attrs));
                        p.actions.push(format!("{} added ({})", noun(d.service), access.state()));
                        p.adds_item = true;
                        access_changed = true;
                    }
                    Some(a) => {
                        let differs: Vec<(&str, String)> =
                            want.into_iter().filter(|(k, v)| current(a, k) != *v).collect();
                        if !differs.is_empty() {
                            let keys: Vec<&str> = differs.iter().map(|(k, _)| *k).collect();
                            access_changed |= keys.iter().any(|k| matches!(*k, "profile" | "disabled"));
                            p.actions.push(format!("{} updated ({})", noun(d.service), keys.join(", ")));
                            p.changes.push(set(menu, &a.id, &differs));
                        }
                    }
                }
            }
        }
    }

    // The static subscriber's queue.
    if d.service == Service::Static {
        let existing = snapshot.queues.get(&d.username);
        match (&d.access, &d.queue, &d.address, existing) {
            (Access::Absent, _, _, Some(q)) => {
                p.changes.push(remove(SIMPLE_QUEUE, &q.id));
                p.actions.push("queue removed".into());
            }
            (Access::Absent, _, _, None) => {}
            (_, Some(spec), Some(address), existing) => {
                let want: Vec<(&str, String)> = vec![
                    ("name", d.username.clone()),
                    ("target", format!("{address}/32")),
                    ("max-limit", spec.max_limit.clone()),
                    ("burst-limit", spec.burst_limit.clone().unwrap_or_default()),
                    ("burst-threshold", spec.burst_threshold.clone().unwrap_or_default()),
                    ("burst-time", spec.burst_time.clone().unwrap_or_default()),
                    ("priority", spec.priority.clone()),
                    ("comment", marker.clone()),
                ];
                match existing {
                    None => {
                        let attrs: Vec<(&str, String)> = want.into_iter().filter(|(_, v)| !v.is_empty()).collect();
                        p.changes.push(add(SIMPLE_QUEUE, &attrs));
                        p.actions.push("queue added".into());
                        p.adds_item = true;
                    }
                    Some(q) => {
                        let differs: Vec<(&str, String)> =
                            want.into_iter().filter(|(k, v)| queue_field(q, k) != *v).collect();
                        if !differs.is_empty() {
                            let keys: Vec<&str> = differs.iter().map(|(k, _)| *k).collect();
                            p.actions.push(format!("queue updated ({})", keys.join(", ")));
                            p.changes.push(set(SIMPLE_QUEUE, &q.id, &differs));
                        }
                    }
                }
            }
            _ => {}
        }
    }

    // Address-list entries: the walled garden's (any service with a fixed address) or the block
    // list (a cut-off static subscriber). Everything else carrying the marker goes.
    let wanted_entry: Option<(String, String)> = match (&d.access, &d.address) {
        (Access::WalledGarden { address_list, .. }, Some(a)) => Some((address_list.clone(), a.clone())),
        (Access::Cut, Some(a)) if d.service == Service::Static => Some((BLOCK_LIST.to_string(), a.clone())),
        _ => None,
    };
    let entries = snapshot.list_entries.get(&marker).map(Vec::as_slice).unwrap_or(&[]);
    let mut kept = false;
    for e in entries {
        let keep = !kept
            && wanted_entry
                .as_ref()
                .is_some_and(|(list, address)| e.list == *list && e.address == *address && !e.disabled);
        if keep {
            kept = true;
        } else {
            p.changes.push(remove(ADDRESS_LIST, &e.id));
            p.actions.push(format!("address-list {} entry removed", e.list));
        }
    }
    if let (Some((list, address)), false) = (&wanted_entry, kept) {
        p.changes.push(add(
            ADDRESS_LIST,
            &[("list", list.clone()), ("address", address.clone()), ("comment", marker.clone())],
        ));
        p.actions.push(format!("added to address-list {list}"));
    }

    // Sessions: none may exist when cut off or absent; otherwise one reconnects when what it runs
    // under changed (now, or in an earlier attempt that did not finish).
    if let Some((menu, _)) = d.service.active_menu() {
        let sessions = snapshot.sessions(d.service, &d.username);
        let applied = d.applied();
        let drop = match &d.access {
            Access::Cut | Access::Absent => true,
            Access::Open | Access::WalledGarden { .. } => {
                access_changed
                    || d.last_applied.as_ref().is_some_and(|last| *last != applied)
                    || applied.profile.as_ref().is_some_and(|prof| rate_changed.contains(&(d.service, prof.clone())))
            }
        };
        if drop {
            for s in sessions {
                p.disconnects.push(remove(menu, &s.id));
            }
            if !sessions.is_empty() {
                p.actions.push("session dropped".into());
            }
        }
    }
    p
}

fn noun(service: Service) -> &'static str {
    match service {
        Service::Pppoe => "secret",
        Service::Hotspot => "hotspot user",
        Service::Static => "queue",
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

/// An account's field as RouterOS prints it, for comparison with what is wanted.
fn current(a: &Account, key: &str) -> String {
    match key {
        "name" => a.name.clone(),
        "password" => a.password.clone(),
        "profile" => a.profile.clone(),
        "disabled" => yes_no(a.disabled),
        "comment" => a.comment.clone().unwrap_or_default(),
        "service" => a.service.clone().unwrap_or_default(),
        "remote-address" | "address" => a.address.clone().unwrap_or_default(),
        "mac-address" => a.mac_address.clone().unwrap_or_default(),
        "limit-bytes-total" => a.limit_bytes_total.map(|n| n.to_string()).unwrap_or_default(),
        _ => String::new(),
    }
}

fn queue_field(q: &SimpleQueue, key: &str) -> String {
    match key {
        "name" => q.name.clone(),
        "target" => q.target.clone(),
        "max-limit" => q.max_limit.clone(),
        "burst-limit" => q.burst_limit.clone().unwrap_or_default(),
        "burst-threshold" => q.burst_threshold.clone().unwrap_or_default(),
        "burst-time" => q.burst_time.clone().unwrap_or_default(),
        "priority" => q.priority.clone().unwrap_or_default(),
        "comment" => q.comment.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

/// An account on the router that no subscription of the database accounts for: reported by the
/// full reconcile, importable as a customer through the bulk import.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct UnknownAccount {
    pub service: Service,
    pub name: String,
    /// Kept so the account can be imported with the subscriber's current password; never printed.
    #[serde(skip_serializing)]
    pub password: String,
    pub profile: String,
    pub address: Option<String>,
    pub disabled: bool,
    pub comment: Option<String>,
}

impl std::fmt::Debug for UnknownAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnknownAccount")
            .field("service", &self.service)
            .field("name", &self.name)
            .field("profile", &self.profile)
            .field("address", &self.address)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

/// Accounts on the router not matched by any desired subscriber. Items carrying our marker for a
/// subscription the database does not place on this router are not "unknown": the caller turns
/// them into `Absent` subscribers and removes them.
pub fn unknown_accounts(desired: &[Desired], snapshot: &Snapshot) -> Vec<UnknownAccount> {
    let known: BTreeSet<(Service, &str)> = desired.iter().map(|d| (d.service, d.username.as_str())).collect();
    let known = &known;
    let mut out: Vec<UnknownAccount> =
        [(Service::Pppoe, &snapshot.ppp_secrets), (Service::Hotspot, &snapshot.hotspot_users)]
            .into_iter()
            .flat_map(|(service, accounts)| {
                accounts
                    .values()
                    .filter(move |a| !known.contains(&(service, a.name.as_str())))
                    .filter(|a| !a.comment.as_deref().is_some_and(|c| c.starts_with("isp:")))
                    .map(move |a| UnknownAccount {
                        service,
                        name: a.name.clone(),
                        password: a.password.clone(),
                        profile: a.profile.clone(),
                        address: a.address.clone(),
                        disabled: a.disabled,
                        comment: a.comment.clone(),
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Accounts and queues carrying our marker whose subscription the database does not place on
/// this router: (subscription id from the marker, service, name).
pub fn stale_owned(desired: &[Desired], snapshot: &Snapshot) -> Vec<(String, Service, String)> {
    let known: BTreeSet<&str> = desired.iter().map(|d| d.subscription_id.as_str()).collect();
    let owned = |comment: &Option<String>| {
        comment.as_deref().and_then(|c| c.strip_prefix("isp:")).filter(|id| !known.contains(id)).map(str::to_string)
    };
    let mut out = Vec::new();
    for (service, accounts) in [(Service::Pppoe, &snapshot.ppp_secrets), (Service::Hotspot, &snapshot.hotspot_users)] {
        for a in accounts.values() {
            if let Some(id) = owned(&a.comment) {
                out.push((id, service, a.name.clone()));
            }
        }
    }
    for q in snapshot.queues.values() {
        if let Some(id) = owned(&q.comment) {
            out.push((id, Service::Static, q.name.clone()));
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired(access: Access) -> Desired {
        Desired {
            subscription_id: "s1".into(),
            service: Service::Pppoe,
            username: "rahim".into(),
            password: "pw".into(),
            address: None,
            mac_address: None,
            profile: ProfileSpec { name: "home".into(), rate_limit: "5M/10M".into(), shared_users: None },
            queue: None,
            access,
            last_applied: None,
            limit_bytes_total: None,
        }
    }

    /// The router as a finished "open" apply leaves it, with the subscriber online.
    fn converged(d: &Desired) -> Snapshot {
        let mut s = Snapshot::default();
        s.ppp_secrets.insert(
            "rahim".into(),
            Account {
                id: "*1".into(),
                name: "rahim".into(),
                password: "pw".into(),
                profile: "home".into(),
                address: None,
                mac_address: None,
                service: Some("pppoe".into()),
                disabled: false,
                comment: Some(d.marker()),
                limit_bytes_total: None,
                bytes_in: None,
                bytes_out: None,
            },
        );
        s.ppp_profiles.insert(
            "home".into(),
            Profile {
                id: "*2".into(),
                name: "home".into(),
                rate_limit: Some("5M/10M".into()),
                address_list: None,
                shared_users: None,
            },
        );
        s.ppp_sessions.insert(
            "rahim".into(),
            vec![ActiveSession {
                id: "*9".into(),
                name: "rahim".into(),
                service: "pppoe".into(),
                address: None,
                caller_id: None,
                uptime: None,
                bytes_in: None,
                bytes_out: None,
            }],
        );
        s
    }

    fn paths(cs: &[Command]) -> Vec<&str> {
        cs.iter().map(|c| c.path.as_str()).collect()
    }

    #[test]
    fn a_converged_subscriber_needs_nothing() {
        let mut d = desired(Access::Open);
        d.last_applied = Some(d.applied());
        let s = converged(&d);
        assert!(plan(&d, &s, &BTreeSet::new()).is_empty());
        assert!(profile_plan(&[d], &s).0.is_empty());
    }

    #[test]
    fn cutting_off_disables_and_drops_the_session() {
        let d = desired(Access::Cut);
        let p = plan(&d, &converged(&d), &BTreeSet::new());
        assert_eq!(paths(&p.changes), ["/ppp/secret/set"]);
        assert_eq!(
            p.changes[0].attributes,
            vec![(".id".to_string(), "*1".to_string()), ("disabled".to_string(), "yes".to_string())]
        );
        assert_eq!(paths(&p.disconnects), ["/ppp/active/remove"]);
    }

    #[test]
    fn a_change_applied_by_an_interrupted_run_still_drops_the_session() {
        // The router already has the new profile, but the record says the session was set up
        // under the old one: the reconnect is still owed.
        let mut d = desired(Access::Open);
        d.last_applied =
            Some(Applied { state: "enabled".into(), profile: Some("old".into()), rate_limit: Some("1M/2M".into()) });
        let p = plan(&d, &converged(&d), &BTreeSet::new());
        assert!(p.changes.is_empty());
        assert_eq!(paths(&p.disconnects), ["/ppp/active/remove"]);
    }

    #[test]
    fn a_profile_speed_corrected_on_the_router_reconnects_its_subscribers() {
        let mut d = desired(Access::Open);
        d.last_applied = Some(d.applied());
        let mut s = converged(&d);
        s.ppp_profiles.get_mut("home").unwrap().rate_limit = Some("50M/50M".into());
        let (cmds, changed) = profile_plan(std::slice::from_ref(&d), &s);
        assert_eq!(paths(&cmds), ["/ppp/profile/set"]);
        assert_eq!(paths(&plan(&d, &s, &changed).disconnects), ["/ppp/active/remove"]);
    }

    #[test]
    fn absent_removes_and_foreign_accounts_are_reported_not_removed() {
        let d = desired(Access::Absent);
        let mut s = converged(&d);
        s.ppp_secrets.insert(
            "legacy".into(),
            Account {
                id: "*5".into(),
                name: "legacy".into(),
                password: String::new(),
                profile: "default".into(),
                address: None,
                mac_address: None,
                service: None,
                disabled: false,
                comment: None,
                limit_bytes_total: None,
                bytes_in: None,
                bytes_out: None,
            },
        );
        let p = plan(&d, &s, &BTreeSet::new());
        assert_eq!(paths(&p.changes), ["/ppp/secret/remove"]);
        let unknown = unknown_accounts(std::slice::from_ref(&d), &s);
        assert_eq!(unknown.len(), 1);
        assert_eq!(unknown[0].name, "legacy");
        assert!(stale_owned(std::slice::from_ref(&d), &s).is_empty());
    }
}
