//! RADIUS mode: a router (NAS) that asks RADIUS who may log in instead of holding PPP secrets and
//! hotspot users itself. FreeRADIUS at the edge checks each NAS's shared secret and asks the API
//! (`rlm_rest`): what a login gets ([`authorize`]), that it happened (post-auth), and the
//! sessions' accounting ([`account`]). The provisioning worker keeps, per subscriber, the answer
//! to give ([`RadiusAnswer`], the level-triggered counterpart of a PPP secret) and tells online
//! sessions of a change by CoA or Disconnect-Request ([`session_change`]).
//!
//! Authorize reads one partition (answer, sessions, last login: one Query); accounting reads it
//! and writes once (the sessions, the day record, the router's day), so a repeated or reordered
//! accounting packet never counts twice: a session's counters only ever move forward.

use crate::validate::Validation;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use uuid::Uuid;

/// How subscribers of a router log in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessMode {
    /// PPP secrets and hotspot users kept on the router through its API.
    #[default]
    Api,
    /// The router asks RADIUS; the API keeps each subscriber's answer.
    Radius,
}

/// A RADIUS-mode router's settings (its shared secret is stored sealed beside the router).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RadiusSettings {
    /// UDP port of the router's `/radius incoming` (CoA and Disconnect-Request), 3799 by default.
    pub coa_port: u16,
    /// One session per subscriber at a time (the second login is refused while the first lasts).
    pub one_session: bool,
    /// The router's interim-update interval in minutes (sent as `Acct-Interim-Interval`; 15 by
    /// default: each interim costs a write, `docs/cost.md`); a session not heard from for three
    /// intervals counts as gone.
    pub interim_minutes: u16,
}

impl Default for RadiusSettings {
    fn default() -> Self {
        RadiusSettings { coa_port: 3799, one_session: true, interim_minutes: 15 }
    }
}

/// What the API accepts for a router's RADIUS settings (all optional on a change).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RadiusInput {
    /// The NAS's shared secret (16-128 printable characters); write-only.
    pub secret: Option<String>,
    pub coa_port: Option<u16>,
    pub one_session: Option<bool>,
    pub interim_minutes: Option<u16>,
}

/// Applies `input` over `current` (or the defaults).
pub fn radius_settings(v: &mut Validation, current: Option<&RadiusSettings>, input: &RadiusInput) -> RadiusSettings {
    let mut s = current.cloned().unwrap_or_default();
    if let Some(p) = input.coa_port {
        if p == 0 {
            v.add("radius.coa_port", "must be between 1 and 65535");
        }
        s.coa_port = p;
    }
    if let Some(o) = input.one_session {
        s.one_session = o;
    }
    if let Some(m) = input.interim_minutes {
        if !(1..=60).contains(&m) {
            v.add("radius.interim_minutes", "must be between 1 and 60");
        }
        s.interim_minutes = m;
    }
    if let Some(secret) = &input.secret {
        validate_secret(v, secret);
    }
    s
}

/// RADIUS shared secrets: long enough not to be guessed from a captured packet, printable, and
/// free of what a FreeRADIUS `clients.conf` string cannot hold.
pub fn validate_secret(v: &mut Validation, secret: &str) {
    let ok =
        (16..=128).contains(&secret.len()) && secret.chars().all(|c| c.is_ascii_graphic() && c != '"' && c != '\\');
    if !ok {
        v.add("radius.secret", "must be 16-128 printable ASCII characters without quotes or backslashes");
    }
}

/// What a subscriber's login gets, as the provisioning worker last wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Grant {
    /// Online on the package's (or a turbo's) profile and speed.
    Open { profile: String, rate_limit: String },
    /// Online, but on a restricted profile and in an address list (the walled garden).
    WalledGarden { profile: String, address_list: String },
    /// Refused (suspended or expired, and the router cuts such subscribers off).
    Refused { reason: String },
}

/// A turbo's window: while it lasts the subscriber gets its profile and speed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TurboGrant {
    pub profile: String,
    pub rate_limit: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// What an answer holds of a subscription beyond its access: the package's profile and speed, a
/// turbo's window (picked at login time), the expiry (`Session-Timeout`), a static address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RadiusTerms {
    pub profile: String,
    pub rate_limit: String,
    pub turbo: Option<TurboGrant>,
    pub expires_at: Option<DateTime<Utc>>,
    pub framed_ip: Option<Ipv4Addr>,
}

/// The answer a subscriber's login gets on its router (one item per ISP and user name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RadiusAnswer {
    pub tenant_id: Uuid,
    pub router_id: Uuid,
    pub subscription_id: Uuid,
    pub customer_id: Uuid,
    pub username: String,
    /// The subscriber's password, sealed to this answer ([`answer_password_aad`]).
    pub password_sealed: String,
    pub grant: Grant,
    pub turbo: Option<TurboGrant>,
    pub framed_ip: Option<Ipv4Addr>,
    pub expires_at: Option<DateTime<Utc>>,
    pub one_session: bool,
    pub interim_minutes: u16,
    /// The ISP's time zone: accounting counts bytes on the ISP's local days.
    pub timezone: String,
    pub subscription_version: u64,
    /// What the subscriber's online sessions were last granted (told by CoA or a login), so a
    /// change is told once and a failed telling is tried again.
    pub told: Option<Grant>,
    pub updated_at: DateTime<Utc>,
}

pub fn answer_password_aad(tenant: Uuid, username: &str) -> Vec<u8> {
    format!("radius-answer:{tenant}:{username}").into_bytes()
}

impl RadiusAnswer {
    /// The grant in force at `now` (a turbo in its window replaces an open grant's speed).
    pub fn grant_at(&self, now: DateTime<Utc>) -> Grant {
        grant_in_force(&self.grant, self.turbo.as_ref(), now)
    }
}

/// `grant` at `now`, with a turbo in its window in place of an open grant's profile and speed.
pub fn grant_in_force(grant: &Grant, turbo: Option<&TurboGrant>, now: DateTime<Utc>) -> Grant {
    match (grant, turbo) {
        (Grant::Open { .. }, Some(t)) if t.starts_at <= now && now < t.ends_at => {
            Grant::Open { profile: t.profile.clone(), rate_limit: t.rate_limit.clone() }
        }
        (g, _) => g.clone(),
    }
}

/// One accounting session as counted (keyed by router and `Acct-Session-Id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RadiusSession {
    pub router_id: Uuid,
    pub session_id: String,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bytes from the subscriber (`Acct-Input-Octets` with its gigawords).
    pub up_bytes: u64,
    /// Bytes to the subscriber.
    pub down_bytes: u64,
    pub framed_ip: Option<String>,
    pub mac_address: Option<String>,
    pub stopped_at: Option<DateTime<Utc>>,
    pub terminate_cause: Option<String>,
}

/// A subscriber's sessions (one item, versioned): what the one-session rule and CoA go by.
/// Bytes are not counted here: the edge posts each NAS's sessions in one request per interval
/// into the router's traffic cursor (`POST /v1/radius/usage`), as API mode's sampling does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RadiusSessions {
    pub sessions: BTreeMap<String, RadiusSession>,
}

/// Stopped sessions are remembered this long, so a repeated Stop (a NAS retries for minutes)
/// changes nothing.
pub const SESSION_MEMORY_DAYS: i64 = 3;

impl RadiusSessions {
    /// Sessions online: started and not stopped. A session whose Stop was lost is closed when
    /// the edge's next usage report has it stopped or no longer has it ([`RadiusSessions::close`]),
    /// so no timer guesses (a PPPoE session may last weeks without a word but its interims,
    /// which the edge keeps).
    pub fn online(&self) -> impl Iterator<Item = &RadiusSession> {
        self.sessions.values().filter(|s| s.stopped_at.is_none())
    }

    /// Whether an item with no session online may expire (nothing to disconnect or refuse).
    pub fn idle(&self) -> bool {
        self.online().next().is_none()
    }

    /// Closes the router's session `session_id` at `at` (`cause`: why); false when it is not
    /// open here.
    pub fn close(&mut self, router: Uuid, session_id: &str, at: DateTime<Utc>, cause: &str) -> bool {
        match self.sessions.get_mut(&session_key(router, session_id)) {
            Some(x) if x.stopped_at.is_none() => {
                x.stopped_at = Some(at.max(x.started_at));
                x.terminate_cause = Some(cause.to_string());
                x.updated_at = at.max(x.updated_at);
                true
            }
            _ => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcctStatus {
    Start,
    Interim,
    Stop,
    /// Accounting-On/Off: the NAS (re)started; carries no session.
    NasRestart,
}

/// One Accounting-Request, as FreeRADIUS passed it on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountingUpdate {
    pub status: AcctStatus,
    pub username: String,
    pub session_id: String,
    pub up_bytes: u64,
    pub down_bytes: u64,
    /// `Event-Timestamp`, or when it arrived.
    pub at: DateTime<Utc>,
    pub framed_ip: Option<String>,
    pub mac_address: Option<String>,
    pub terminate_cause: Option<String>,
}

/// A session's key among a subscriber's: `Acct-Session-Id` is unique per NAS only.
pub fn session_key(router: Uuid, session_id: &str) -> String {
    format!("{router}:{session_id}")
}

/// Records one accounting update in a subscriber's sessions; true when the item changed (and
/// must be written). A Start opens the session, a Stop closes it (a repeat or a late one changes
/// nothing); an Interim-Update only opens a session whose Start was lost, or tells a new address.
/// Counters are kept as the largest seen (what the session had when it ended).
pub fn account(s: &mut RadiusSessions, router: Uuid, u: &AccountingUpdate, now: DateTime<Utc>) -> bool {
    let oldest_kept = now - chrono::Duration::days(SESSION_MEMORY_DAYS);
    let before = s.sessions.len();
    s.sessions.retain(|_, x| x.stopped_at.is_none_or(|t| t >= oldest_kept));
    let mut changed = s.sessions.len() != before;
    if u.status == AcctStatus::NasRestart || u.session_id.is_empty() {
        return changed;
    }
    let key = session_key(router, &u.session_id);
    let entry = s.sessions.entry(key).or_insert_with(|| {
        changed = true;
        RadiusSession {
            router_id: router,
            session_id: u.session_id.clone(),
            started_at: u.at,
            updated_at: u.at,
            up_bytes: 0,
            down_bytes: 0,
            framed_ip: None,
            mac_address: None,
            stopped_at: None,
            terminate_cause: None,
        }
    });
    if u.status == AcctStatus::Start && u.at < entry.started_at {
        entry.started_at = u.at;
        changed = true;
    }
    for (field, value) in [(&mut entry.framed_ip, &u.framed_ip), (&mut entry.mac_address, &u.mac_address)] {
        if value.is_some() && field != value {
            field.clone_from(value);
            changed = true;
        }
    }
    if u.status == AcctStatus::Stop && entry.stopped_at.is_none() {
        entry.stopped_at = Some(u.at);
        entry.terminate_cause.clone_from(&u.terminate_cause);
        changed = true;
    }
    if changed {
        entry.up_bytes = entry.up_bytes.max(u.up_bytes);
        entry.down_bytes = entry.down_bytes.max(u.down_bytes);
        entry.updated_at = entry.updated_at.max(u.at);
    }
    changed
}

/// One session in the edge's usage report: the NAS's counters as FreeRADIUS last had them
/// (Start, Interim-Update or Stop, whichever came last, whatever their order).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportedSession {
    /// `Acct-Session-Id`.
    pub session_id: String,
    /// `User-Name`.
    pub username: String,
    /// Bytes from the subscriber (`Acct-Input-Octets` with its gigawords).
    pub up_bytes: u64,
    /// Bytes to the subscriber.
    pub down_bytes: u64,
    /// The session ended (its Stop, or the edge gave up on it): counted one last time, then gone.
    #[serde(default)]
    pub stopped: bool,
}

/// What the edge reports for one NAS every interval: every session it holds open, and those
/// stopped since its last report.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageReport {
    pub sessions: Vec<ReportedSession>,
}

/// What a usage report did.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct UsageRecorded {
    pub sessions: usize,
    pub up_bytes: u64,
    pub down_bytes: u64,
    /// Sessions closed in their subscriber's sessions (a lost Stop, or gone from the edge).
    pub closed: usize,
}

/// A NAS holds at most this many sessions in one report.
pub const REPORT_SESSIONS_MAX: usize = 100_000;

impl UsageReport {
    pub fn check(&self) -> Result<(), crate::Error> {
        if self.sessions.len() > REPORT_SESSIONS_MAX {
            return Err(crate::Error::field("sessions", format!("at most {REPORT_SESSIONS_MAX} a report")));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, s) in self.sessions.iter().enumerate() {
            let bad = |t: &str| t.is_empty() || t.len() > 128 || t.chars().any(char::is_control);
            if bad(&s.session_id) {
                return Err(crate::Error::field(&format!("sessions[{i}].session_id"), "must be 1-128 characters"));
            }
            if bad(&s.username) {
                return Err(crate::Error::field(&format!("sessions[{i}].username"), "must be 1-128 characters"));
            }
            if !seen.insert(s.session_id.as_str()) {
                return Err(crate::Error::field(&format!("sessions[{i}].session_id"), "is listed twice"));
            }
        }
        Ok(())
    }
}

/// Why a login is refused, or what it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Reject { reason: String },
    Accept { answer: Box<RadiusAnswer>, grant: Grant },
}

/// Decides a login of `username` on `nas` (router) at `now`: the answer the worker wrote, the
/// ISP's one-session rule against the sessions still online.
pub fn authorize(
    answer: Option<RadiusAnswer>,
    sessions: Option<&RadiusSessions>,
    nas: Uuid,
    now: DateTime<Utc>,
) -> Decision {
    let Some(answer) = answer else {
        return Decision::Reject { reason: "unknown subscriber".into() };
    };
    if answer.router_id != nas {
        return Decision::Reject { reason: "the subscriber is not on this router".into() };
    }
    let grant = answer.grant_at(now);
    if let Grant::Refused { reason } = &grant {
        return Decision::Reject { reason: reason.clone() };
    }
    if answer.one_session && sessions.is_some_and(|s| !s.idle()) {
        return Decision::Reject { reason: "already online (one session at a time)".into() };
    }
    Decision::Accept { answer: Box::new(answer), grant }
}

/// The reply attributes of an accepted login, as `rlm_rest` takes them (`list:Attribute` keys,
/// string values), without the credential.
pub fn reply_attributes(answer: &RadiusAnswer, grant: &Grant, now: DateTime<Utc>) -> BTreeMap<String, String> {
    let mut r = BTreeMap::new();
    match grant {
        Grant::Open { profile, rate_limit } => {
            r.insert("reply:Mikrotik-Group".into(), profile.clone());
            if !rate_limit.is_empty() {
                r.insert("reply:Mikrotik-Rate-Limit".into(), rate_limit.clone());
            }
            // Online until the subscription runs out: the router ends the session itself.
            if let Some(end) = answer.expires_at {
                let secs = (end - now).num_seconds().max(60);
                r.insert("reply:Session-Timeout".into(), secs.to_string());
            }
        }
        Grant::WalledGarden { profile, address_list } => {
            r.insert("reply:Mikrotik-Group".into(), profile.clone());
            r.insert("reply:Mikrotik-Address-List".into(), address_list.clone());
        }
        Grant::Refused { .. } => {}
    }
    if let Some(ip) = answer.framed_ip {
        r.insert("reply:Framed-IP-Address".into(), ip.to_string());
    }
    r.insert("reply:Acct-Interim-Interval".into(), (answer.interim_minutes as u32 * 60).to_string());
    r
}

/// A refused login as `rlm_rest` takes it: `Auth-Type := Reject`, and the reason the NAS logs.
pub fn reject_attributes(reason: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("control:Auth-Type".to_string(), "Reject".to_string()),
        ("reply:Reply-Message".to_string(), reason.to_string()),
    ])
}

/// How online sessions must learn of a changed grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionChange {
    /// Nothing to tell.
    None,
    /// A new speed (CoA-Request with `Mikrotik-Rate-Limit`).
    Rate(String),
    /// Cut the session (Disconnect-Request): refused now, or moved into or out of the walled
    /// garden (a profile and address list only apply at login).
    Disconnect,
}

pub fn session_change(told: Option<&Grant>, now_granted: Option<&Grant>) -> SessionChange {
    match (told, now_granted) {
        (Some(a), Some(b)) if a == b => SessionChange::None,
        (None, Some(Grant::Refused { .. })) | (None, None) => SessionChange::None,
        (_, None) | (_, Some(Grant::Refused { .. })) => SessionChange::Disconnect,
        (Some(Grant::Open { profile: p1, .. }), Some(Grant::Open { profile: p2, rate_limit })) if p1 == p2 => {
            SessionChange::Rate(rate_limit.clone())
        }
        // Unknown (a session older than our record) or a profile or garden change.
        _ => SessionChange::Disconnect,
    }
}

/// A NAS of the platform's FreeRADIUS: where its packets come from and its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RadiusClient {
    pub tenant_id: Uuid,
    pub router_id: Uuid,
    /// The router's address as FreeRADIUS sees it (its tunnel address).
    pub address: String,
    pub secret: String,
}

impl RadiusClient {
    /// The name FreeRADIUS gives the NAS and sends back as `X-Radius-Nas`.
    pub fn shortname(&self) -> String {
        format!("{}/{}", self.tenant_id, self.router_id)
    }
}

/// The `X-Radius-Nas` header: `<tenant id>/<router id>`.
pub fn parse_nas(header: &str) -> Option<(Uuid, Uuid)> {
    let (t, r) = header.trim().split_once('/')?;
    Some((t.parse().ok()?, r.parse().ok()?))
}

/// FreeRADIUS's `clients.conf` for these NAS (what `infra/radius/sync-clients.sh` installs).
pub fn clients_conf(clients: &[RadiusClient]) -> String {
    let mut out = String::from("# Written from GET /v1/radius/clients; do not edit.\n");
    for c in clients {
        out.push_str(&format!(
            "client r-{router} {{\n\tipaddr = {addr}\n\tsecret = \"{secret}\"\n\tshortname = {short}\n\tnas_type = other\n\trequire_message_authenticator = no\n}}\n",
            router = c.router_id,
            addr = c.address,
            secret = c.secret,
            short = c.shortname(),
        ));
    }
    out
}

/// The attributes of a request as `rlm_rest` sends them (`{"User-Name": {"type": "string",
/// "value": ["bob"]}, ...}`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RestAttributes(pub BTreeMap<String, RestValue>);

#[derive(Debug, Clone, Deserialize)]
pub struct RestValue {
    #[serde(default)]
    pub value: Vec<serde_json::Value>,
}

impl RestAttributes {
    pub fn text(&self, name: &str) -> Option<String> {
        let v = self.0.get(name)?.value.first()?;
        match v {
            serde_json::Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }

    pub fn number(&self, name: &str) -> Option<u64> {
        let v = self.0.get(name)?.value.first()?;
        v.as_u64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
    }

    /// An octet counter with its gigawords (RFC 2869).
    pub fn octets(&self, name: &str, gigawords: &str) -> u64 {
        (self.number(gigawords).unwrap_or(0) << 32).saturating_add(self.number(name).unwrap_or(0))
    }

    /// `Event-Timestamp` as FreeRADIUS prints it (`Dec  7 2026 12:00:00 UTC`), or a Unix time.
    pub fn timestamp(&self, name: &str) -> Option<DateTime<Utc>> {
        if let Some(n) = self.0.get(name)?.value.first()?.as_i64() {
            return DateTime::from_timestamp(n, 0);
        }
        let s = self.text(name)?;
        let s = s.trim().trim_end_matches(" UTC").trim_end_matches(" GMT");
        let squeezed = s.split_whitespace().collect::<Vec<_>>().join(" ");
        chrono::NaiveDateTime::parse_from_str(&squeezed, "%b %d %Y %H:%M:%S")
            .ok()
            .map(|d| d.and_utc())
            .or_else(|| s.parse::<i64>().ok().and_then(|n| DateTime::from_timestamp(n, 0)))
    }

    /// The accounting update these attributes describe; `None` without a user name or status.
    pub fn accounting(&self, now: DateTime<Utc>) -> Option<AccountingUpdate> {
        let status = match self.text("Acct-Status-Type")?.as_str() {
            "Start" | "1" => AcctStatus::Start,
            "Stop" | "2" => AcctStatus::Stop,
            "Interim-Update" | "Alive" | "3" => AcctStatus::Interim,
            "Accounting-On" | "Accounting-Off" | "7" | "8" => AcctStatus::NasRestart,
            _ => return None,
        };
        let username = self.text("User-Name").unwrap_or_default();
        if username.is_empty() && status != AcctStatus::NasRestart {
            return None;
        }
        Some(AccountingUpdate {
            status,
            username,
            session_id: self.text("Acct-Session-Id").unwrap_or_default(),
            up_bytes: self.octets("Acct-Input-Octets", "Acct-Input-Gigawords"),
            down_bytes: self.octets("Acct-Output-Octets", "Acct-Output-Gigawords"),
            // A timestamp from the future (a NAS with a wrong clock) is taken as now.
            at: self.timestamp("Event-Timestamp").filter(|t| *t <= now).unwrap_or(now),
            framed_ip: self.text("Framed-IP-Address"),
            mac_address: self.text("Calling-Station-Id"),
            terminate_cause: self.text("Acct-Terminate-Cause"),
        })
    }
}

/// A login's outcome, as post-auth reports it (what support sees when a subscriber cannot
/// connect).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LoginOutcome {
    pub router_id: Uuid,
    pub at: DateTime<Utc>,
    pub accepted: bool,
    pub reason: Option<String>,
    pub mac_address: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap().and_hms_opt(h, m, 0).unwrap().and_utc()
    }

    fn update(status: AcctStatus, up: u64, down: u64, t: DateTime<Utc>) -> AccountingUpdate {
        AccountingUpdate {
            status,
            username: "bob".into(),
            session_id: "81a00001".into(),
            up_bytes: up,
            down_bytes: down,
            at: t,
            framed_ip: None,
            mac_address: None,
            terminate_cause: None,
        }
    }

    #[test]
    fn sessions_open_and_close_once_whatever_the_order() {
        let r = Uuid::from_u128(1);
        let mut s = RadiusSessions::default();
        let now = at(12, 0);
        let start = update(AcctStatus::Start, 0, 0, at(10, 0));
        let i1 = update(AcctStatus::Interim, 100, 1000, at(10, 5));
        let stop = update(AcctStatus::Stop, 400, 6000, at(10, 12));
        // A lost Start: the interim opens the session; the Start then only moves its beginning.
        assert!(account(&mut s, r, &i1, now));
        assert_eq!(s.online().count(), 1);
        assert!(account(&mut s, r, &start, now));
        // Interims of a known session write nothing (bytes go through the edge's usage report).
        assert!(!account(&mut s, r, &update(AcctStatus::Interim, 300, 5000, at(10, 10)), now));
        assert!(account(&mut s, r, &stop, now));
        assert!(!account(&mut s, r, &stop, now), "a repeated Stop changes nothing");
        assert!(!account(&mut s, r, &i1, now), "a late interim does not reopen it");
        let sess = s.sessions.values().next().unwrap();
        assert_eq!((sess.started_at, sess.stopped_at), (at(10, 0), Some(at(10, 12))));
        assert_eq!((sess.up_bytes, sess.down_bytes), (400, 6000));
        assert!(s.idle());
    }

    #[test]
    fn open_sessions_stay_until_closed_and_stopped_ones_are_forgotten() {
        let r = Uuid::from_u128(1);
        let mut s = RadiusSessions::default();
        account(&mut s, r, &update(AcctStatus::Start, 0, 0, at(10, 0)), at(10, 0));
        let mut other = update(AcctStatus::Start, 0, 0, at(10, 0));
        other.session_id = "S2".into();
        account(&mut s, r, &other, at(10, 0));
        // Weeks later the open one is still online; the edge's report closes the other.
        let later = at(10, 0) + chrono::Duration::days(20);
        assert!(s.close(r, "S2", later, "Lost-Carrier"));
        assert!(!s.close(r, "S2", later, "Lost-Carrier"), "closed once");
        assert!(!account(&mut s, r, &update(AcctStatus::NasRestart, 0, 0, later), later));
        assert_eq!(s.online().count(), 1);
        let much_later = later + chrono::Duration::days(SESSION_MEMORY_DAYS + 1);
        assert!(account(&mut s, r, &update(AcctStatus::NasRestart, 0, 0, much_later), much_later));
        assert_eq!((s.sessions.len(), s.online().count()), (1, 1), "the stopped one is forgotten");
    }

    #[test]
    fn a_usage_report_names_each_session_once() {
        let one = |sid: &str, name: &str| ReportedSession {
            session_id: sid.into(),
            username: name.into(),
            up_bytes: 1,
            down_bytes: 2,
            stopped: false,
        };
        let report = |s: Vec<ReportedSession>| UsageReport { sessions: s };
        assert!(report(vec![one("S1", "rahim"), one("S2", "rahim")]).check().is_ok());
        assert!(report(vec![]).check().is_ok(), "a NAS with nobody online reports too");
        for (bad, field) in [
            (report(vec![one("S1", "rahim"), one("S1", "karim")]), "sessions[1].session_id"),
            (report(vec![one("", "rahim")]), "sessions[0].session_id"),
            (report(vec![one("S1", &"x".repeat(129))]), "sessions[0].username"),
        ] {
            let e = bad.check().unwrap_err();
            assert!(format!("{e:?}").contains(field), "{e:?}");
        }
    }

    fn answer(grant: Grant) -> RadiusAnswer {
        RadiusAnswer {
            tenant_id: Uuid::from_u128(9),
            router_id: Uuid::from_u128(1),
            subscription_id: Uuid::from_u128(2),
            customer_id: Uuid::from_u128(3),
            username: "bob".into(),
            password_sealed: String::new(),
            grant,
            turbo: None,
            framed_ip: Some(Ipv4Addr::new(10, 9, 0, 7)),
            expires_at: Some(at(13, 0)),
            one_session: true,
            interim_minutes: 5,
            timezone: "UTC".into(),
            subscription_version: 1,
            told: None,
            updated_at: at(9, 0),
        }
    }

    #[test]
    fn authorize_answers_what_the_subscriber_gets() {
        let open = Grant::Open { profile: "home-10M".into(), rate_limit: "5M/10M".into() };
        let nas = Uuid::from_u128(1);
        let Decision::Accept { answer: a, grant } = authorize(Some(answer(open.clone())), None, nas, at(12, 0)) else {
            panic!("accepted")
        };
        let reply = reply_attributes(&a, &grant, at(12, 0));
        assert_eq!(reply["reply:Mikrotik-Rate-Limit"], "5M/10M");
        assert_eq!(reply["reply:Mikrotik-Group"], "home-10M");
        assert_eq!(reply["reply:Session-Timeout"], "3600");
        assert_eq!(reply["reply:Framed-IP-Address"], "10.9.0.7");
        // A turbo in its window replaces the speed; outside it, the package's.
        let mut t = answer(open.clone());
        t.turbo = Some(TurboGrant {
            profile: "turbo".into(),
            rate_limit: "20M/40M".into(),
            starts_at: at(11, 0),
            ends_at: at(12, 30),
        });
        assert_eq!(t.grant_at(at(12, 0)), Grant::Open { profile: "turbo".into(), rate_limit: "20M/40M".into() });
        assert_eq!(t.grant_at(at(12, 30)), open);
        // Unknown, on another router, refused, or already online.
        assert!(matches!(authorize(None, None, nas, at(12, 0)), Decision::Reject { .. }));
        assert!(matches!(
            authorize(Some(answer(open.clone())), None, Uuid::from_u128(5), at(12, 0)),
            Decision::Reject { .. }
        ));
        let refused = answer(Grant::Refused { reason: "suspended".into() });
        assert_eq!(authorize(Some(refused), None, nas, at(12, 0)), Decision::Reject { reason: "suspended".into() });
        let mut online = RadiusSessions::default();
        account(&mut online, nas, &update(AcctStatus::Start, 0, 0, at(11, 58)), at(11, 58));
        assert!(matches!(
            authorize(Some(answer(open.clone())), Some(&online), nas, at(12, 0)),
            Decision::Reject { .. }
        ));
        // Closed (its Stop, or the edge's report of it gone), it no longer holds the seat.
        assert!(online.close(nas, "81a00001", at(12, 10), "Lost-Carrier"));
        assert!(matches!(authorize(Some(answer(open)), Some(&online), nas, at(12, 15)), Decision::Accept { .. }));
        let garden = answer(Grant::WalledGarden { profile: "unpaid".into(), address_list: "unpaid".into() });
        let reply = reply_attributes(&garden, &garden.grant, at(12, 0));
        assert_eq!(reply["reply:Mikrotik-Address-List"], "unpaid");
        assert!(!reply.contains_key("reply:Mikrotik-Rate-Limit") && !reply.contains_key("reply:Session-Timeout"));
    }

    #[test]
    fn what_online_sessions_are_told() {
        let open = |p: &str, r: &str| Grant::Open { profile: p.into(), rate_limit: r.into() };
        let refused = Grant::Refused { reason: "suspended".into() };
        let garden = Grant::WalledGarden { profile: "x".into(), address_list: "y".into() };
        assert_eq!(session_change(Some(&open("a", "1M/1M")), Some(&open("a", "1M/1M"))), SessionChange::None);
        assert_eq!(
            session_change(Some(&open("a", "1M/1M")), Some(&open("a", "2M/2M"))),
            SessionChange::Rate("2M/2M".into())
        );
        assert_eq!(session_change(Some(&open("a", "1M/1M")), Some(&open("b", "2M/2M"))), SessionChange::Disconnect);
        assert_eq!(session_change(Some(&open("a", "1M/1M")), Some(&refused)), SessionChange::Disconnect);
        assert_eq!(session_change(Some(&open("a", "1M/1M")), Some(&garden)), SessionChange::Disconnect);
        assert_eq!(session_change(Some(&open("a", "1M/1M")), None), SessionChange::Disconnect);
        assert_eq!(session_change(None, Some(&refused)), SessionChange::None);
    }

    #[test]
    fn rlm_rest_attributes() {
        let j = serde_json::json!({
            "User-Name": {"type": "string", "value": ["bob"]},
            "Acct-Status-Type": {"type": "integer", "value": ["Interim-Update"]},
            "Acct-Session-Id": {"type": "string", "value": ["81a0"]},
            "Acct-Input-Octets": {"type": "integer", "value": [100]},
            "Acct-Input-Gigawords": {"type": "integer", "value": [1]},
            "Acct-Output-Octets": {"type": "integer", "value": ["7"]},
            "Event-Timestamp": {"type": "date", "value": ["Dec  7 2026 10:05:00 UTC"]}
        });
        let a: RestAttributes = serde_json::from_value(j).unwrap();
        let u = a.accounting(at(12, 0)).unwrap();
        assert_eq!((u.status, u.up_bytes, u.down_bytes, u.at), (AcctStatus::Interim, (1 << 32) + 100, 7, at(10, 5)));
        assert_eq!(
            parse_nas(&format!("{}/{}", Uuid::from_u128(1), Uuid::from_u128(2))),
            Some((Uuid::from_u128(1), Uuid::from_u128(2)))
        );
        assert_eq!(parse_nas("nope"), None);
        let mut v = Validation::new();
        validate_secret(&mut v, "short");
        validate_secret(&mut v, "has \"quote\" in it 123456");
        assert_eq!(v.finish().unwrap_err().len(), 2);
        let conf = clients_conf(&[RadiusClient {
            tenant_id: Uuid::from_u128(1),
            router_id: Uuid::from_u128(2),
            address: "10.224.1.2".into(),
            secret: "0123456789abcdefXYZ".into(),
        }]);
        assert!(conf.contains("ipaddr = 10.224.1.2") && conf.contains("secret = \"0123456789abcdefXYZ\""));
    }
}
