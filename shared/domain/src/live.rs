//! What a router says right now: the answers of live router operations (test connection,
//! resources, interfaces, sessions) and of the periodic health check.

use crate::Error;
use crate::event::NetworkEvent;
use crate::network::RouterStatus;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use uuid::Uuid;

/// "Test connection": the router answered, accepted our API user, and told who it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RouterTest {
    pub router_id: Uuid,
    /// `/system/identity` name.
    pub identity: String,
    pub routeros_version: String,
    pub board_name: Option<String>,
    pub uptime_seconds: Option<u64>,
    /// API-SSL was used.
    pub tls: bool,
    /// Connect, login and the two reads, in milliseconds.
    pub took_ms: u64,
    pub checked_at: DateTime<Utc>,
}

/// `/system/resource`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RouterResources {
    pub router_id: Uuid,
    pub routeros_version: String,
    pub board_name: Option<String>,
    pub architecture: Option<String>,
    pub uptime_seconds: Option<u64>,
    /// Percent.
    pub cpu_load: Option<u64>,
    pub free_memory_bytes: Option<u64>,
    pub total_memory_bytes: Option<u64>,
    pub checked_at: DateTime<Utc>,
}

/// An interface and its counters since the router booted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RouterInterface {
    pub name: String,
    /// RouterOS type: `ether`, `vlan`, `pppoe-in`, `bridge`...
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionService {
    Pppoe,
    Hotspot,
}

/// A subscriber online now (PPP or hotspot active entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OnlineSession {
    /// The PPPoE or hotspot username.
    pub username: String,
    pub service: SessionService,
    pub address: Option<String>,
    /// The CPE's MAC address (PPP `caller-id`, hotspot `mac-address`).
    pub caller_id: Option<String>,
    pub uptime_seconds: Option<u64>,
    /// From the subscriber: what the router received.
    pub bytes_in: Option<u64>,
    /// To the subscriber.
    pub bytes_out: Option<u64>,
}

/// One subscription's session: online or not, and its figures when online.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubscriberSession {
    pub subscription_id: Uuid,
    pub router_id: Uuid,
    pub online: bool,
    pub session: Option<OnlineSession>,
    pub checked_at: DateTime<Utc>,
}

/// The answer of "disconnect": how many active sessions were dropped (0 when it was offline).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionsDropped {
    pub subscription_id: Uuid,
    pub router_id: Uuid,
    pub disconnected: u32,
}

/// Telemetry of the last health check (rewritten every check; the router's status and version
/// on the router itself change only when they change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RouterHealth {
    pub checked_at: DateTime<Utc>,
    pub reachable: bool,
    pub identity: Option<String>,
    pub routeros_version: Option<String>,
    pub uptime_seconds: Option<u64>,
    pub cpu_load: Option<u64>,
    pub free_memory_bytes: Option<u64>,
    pub total_memory_bytes: Option<u64>,
    /// Round trip of the check, in milliseconds.
    pub took_ms: Option<u64>,
    /// Why the router could not be checked (a router error code such as `router_unreachable`).
    pub error_code: Option<String>,
    pub error: Option<String>,
    /// The last check that got an answer.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Failed checks in a row (0 after an answer).
    pub consecutive_failures: u32,
}

impl RouterHealth {
    /// Whether this check is stored: what the record says changed (reachable or not, failures in
    /// a row, the error, identity, version), or the record is an hour old. The 5-minute figures
    /// (CPU, memory, uptime, round trip) are the monitoring point's; storing the record every
    /// sweep as well was a write per router every 5 minutes that said nothing new.
    pub fn worth_writing(&self, previous: Option<&RouterHealth>) -> bool {
        let Some(p) = previous else { return true };
        // Failures in a row matter until they take the router offline; counting them on past
        // that changes nothing (an offline router is written hourly, like an online one).
        let failures = |h: &RouterHealth| h.consecutive_failures.min(OFFLINE_AFTER_FAILED_CHECKS);
        self.reachable != p.reachable
            || failures(self) != failures(p)
            || self.error_code != p.error_code
            || self.identity != p.identity
            || self.routeros_version != p.routeros_version
            || self.checked_at - p.checked_at >= chrono::Duration::minutes(HEALTH_REFRESH_MINUTES)
    }
}

/// How old a stored health record may get while nothing in it changes.
pub const HEALTH_REFRESH_MINUTES: i64 = 60;

/// What a health check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    /// Logged in and answered.
    Answered,
    /// No connection, or it timed out or broke.
    Unreachable,
    /// Reachable, but the login, TLS or a command was refused.
    Refused,
}

/// Failed checks in a row before an online router is marked offline: one lost check (a VPN
/// blip) does not page anyone.
pub const OFFLINE_AFTER_FAILED_CHECKS: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusChange {
    pub status: RouterStatus,
    pub consecutive_failures: u32,
    /// `RouterWentOffline` or `RouterCameBack` when the router crossed between usable and not.
    pub event: Option<NetworkEvent>,
}

/// The router's status after a check.
pub fn next_status(previous: RouterStatus, failures_before: u32, observed: Observed) -> StatusChange {
    let failed = match observed {
        Observed::Answered => {
            let event =
                matches!(previous, RouterStatus::Offline | RouterStatus::Error).then_some(NetworkEvent::RouterCameBack);
            return StatusChange { status: RouterStatus::Online, consecutive_failures: 0, event };
        }
        Observed::Unreachable => RouterStatus::Offline,
        Observed::Refused => RouterStatus::Error,
    };
    let failures = failures_before.saturating_add(1);
    match previous {
        RouterStatus::Online if failures < OFFLINE_AFTER_FAILED_CHECKS => {
            StatusChange { status: RouterStatus::Online, consecutive_failures: failures, event: None }
        }
        RouterStatus::Online | RouterStatus::Unknown => StatusChange {
            status: failed,
            consecutive_failures: failures,
            event: Some(NetworkEvent::RouterWentOffline),
        },
        RouterStatus::Offline | RouterStatus::Error => {
            StatusChange { status: failed, consecutive_failures: failures, event: None }
        }
    }
}

/// RouterOS durations as `/system/resource` and the active menus print them: `1w2d3h4m5s`
/// (any part may be missing, `ms` is ignored) or the older `2d03:04:05` / `03:04:05`.
pub fn uptime_seconds(text: &str) -> Option<u64> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if t.contains(':') {
        let (days, clock) = match t.split_once('d') {
            Some((d, rest)) => (d.parse::<u64>().ok()?, rest),
            None => (0, t),
        };
        let parts: Vec<u64> = clock.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
        let [h, m, s] = parts[..] else { return None };
        if m >= 60 || s >= 60 {
            return None;
        }
        return Some(days * 86_400 + h * 3600 + m * 60 + s);
    }
    let mut total = 0u64;
    let mut number = String::new();
    let mut chars = t.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number.parse().ok()?;
        number.clear();
        let unit = match c {
            'w' => 604_800,
            'd' => 86_400,
            'h' => 3600,
            's' => 1,
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                0
            }
            'm' => 60,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
        any = true;
    }
    (number.is_empty() && any).then_some(total)
}

// ---- live operations between an API function and the provisioning function ---------------------

/// What an API call waits for a live answer, all included.
pub const API_DEADLINE: Duration = Duration::from_secs(5);
/// What the worker gives the router, so that its answer beats the API's deadline.
pub const WORKER_DEADLINE: Duration = Duration::from_millis(4500);

/// A live operation, as sent to the provisioning function. The caller has already checked that
/// the actor may see the router or subscription; the worker trusts only its invoker (IAM).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum LiveRequest {
    Test { tenant_id: Uuid, router_id: Uuid },
    Resources { tenant_id: Uuid, router_id: Uuid },
    Interfaces { tenant_id: Uuid, router_id: Uuid },
    Sessions { tenant_id: Uuid, router_id: Uuid },
    Session { tenant_id: Uuid, router_id: Uuid, subscription_id: Uuid, username: String, service: SessionService },
    Disconnect { tenant_id: Uuid, router_id: Uuid, subscription_id: Uuid, username: String, service: SessionService },
}

impl LiveRequest {
    /// The ISP and router it is for.
    pub fn target(&self) -> (Uuid, Uuid) {
        match self {
            LiveRequest::Test { tenant_id, router_id }
            | LiveRequest::Resources { tenant_id, router_id }
            | LiveRequest::Interfaces { tenant_id, router_id }
            | LiveRequest::Sessions { tenant_id, router_id }
            | LiveRequest::Session { tenant_id, router_id, .. }
            | LiveRequest::Disconnect { tenant_id, router_id, .. } => (*tenant_id, *router_id),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum LiveReply {
    Test(RouterTest),
    Resources(RouterResources),
    Interfaces(Vec<RouterInterface>),
    Sessions(Vec<OnlineSession>),
    Session(SubscriberSession),
    Disconnected(SessionsDropped),
}

/// Why a live operation failed, with the code the API answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveFailure {
    pub code: String,
    pub detail: String,
}

pub type LiveAnswer = std::result::Result<LiveReply, LiveFailure>;

impl LiveFailure {
    /// The worker gave the router all of [`WORKER_DEADLINE`].
    pub fn timeout() -> LiveFailure {
        LiveFailure {
            code: "router_timeout".into(),
            detail: format!("the router did not answer within {} ms", WORKER_DEADLINE.as_millis()),
        }
    }

    /// The API's problem for it: 504 for a router too slow, 502 for the router failing, 404 for a
    /// router deleted meanwhile, 409 for a host this platform refuses to connect to.
    pub fn into_error(self) -> Error {
        const GATEWAY_CODES: &[&str] = &[
            "router_unreachable",
            "router_tls_failed",
            "router_login_failed",
            "router_connection_lost",
            "router_command_failed",
        ];
        match self.code.as_str() {
            "router_timeout" => Error::GatewayTimeout { code: "router_timeout", detail: self.detail },
            "not_found" => Error::not_found("router"),
            // The router's host is not one this platform connects to for this ISP (metadata,
            // link-local, or another ISP's router): the router's record must change, not the call.
            "router_address_refused" => {
                Error::Conflict { code: "router_address_refused", detail: self.detail, field: Some("host".into()) }
            }
            c => match GATEWAY_CODES.iter().find(|k| **k == c) {
                Some(code) => Error::BadGateway { code, detail: self.detail },
                None => Error::Internal(format!("live router operation failed: {} ({})", self.detail, self.code)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_health_record_is_stored_when_it_says_something_new_or_hourly() {
        let at: DateTime<Utc> = "2026-03-10T10:00:00Z".parse().unwrap();
        let first = RouterHealth {
            checked_at: at,
            reachable: true,
            identity: Some("core".into()),
            routeros_version: Some("7.16".into()),
            uptime_seconds: Some(100),
            cpu_load: Some(3),
            free_memory_bytes: None,
            total_memory_bytes: None,
            took_ms: Some(20),
            error_code: None,
            error: None,
            last_seen_at: Some(at),
            consecutive_failures: 0,
        };
        assert!(first.worth_writing(None));
        let later = |minutes: i64| RouterHealth {
            checked_at: at + chrono::Duration::minutes(minutes),
            uptime_seconds: Some(100 + 60 * minutes as u64),
            cpu_load: Some(9),
            ..first.clone()
        };
        assert!(!later(5).worth_writing(Some(&first)), "only the 5-minute figures moved");
        assert!(!later(55).worth_writing(Some(&first)));
        assert!(later(60).worth_writing(Some(&first)), "hourly");
        let failed = RouterHealth { reachable: false, consecutive_failures: 1, ..later(5) };
        assert!(failed.worth_writing(Some(&first)));
        let again = RouterHealth { consecutive_failures: 2, ..failed.clone() };
        assert!(again.worth_writing(Some(&failed)), "a failure in a row counts toward offline");
        let offline = RouterHealth { consecutive_failures: OFFLINE_AFTER_FAILED_CHECKS, ..failed.clone() };
        let still = RouterHealth { consecutive_failures: OFFLINE_AFTER_FAILED_CHECKS + 1, ..offline.clone() };
        assert!(!still.worth_writing(Some(&offline)), "offline already: counting on changes nothing");
        let upgraded = RouterHealth { routeros_version: Some("7.17".into()), ..later(5) };
        assert!(upgraded.worth_writing(Some(&first)));
    }

    #[test]
    fn failures_map_to_the_problem_the_caller_can_act_on() {
        let kind = |code: &str| match (LiveFailure { code: code.into(), detail: "d".into() }).into_error() {
            Error::GatewayTimeout { code, .. } => format!("504 {code}"),
            Error::BadGateway { code, .. } => format!("502 {code}"),
            Error::NotFound { .. } => "404".to_string(),
            Error::Conflict { code, field, .. } => format!("409 {code} {}", field.unwrap_or_default()),
            Error::Internal(_) => "500".to_string(),
            other => format!("{other:?}"),
        };
        assert_eq!(kind("router_timeout"), "504 router_timeout");
        assert_eq!(kind("router_unreachable"), "502 router_unreachable");
        assert_eq!(kind("router_login_failed"), "502 router_login_failed");
        assert_eq!(kind("not_found"), "404");
        assert_eq!(kind("router_address_refused"), "409 router_address_refused host");
        assert_eq!(kind("internal"), "500");
    }

    #[test]
    fn routeros_durations() {
        assert_eq!(uptime_seconds("1w2d3h4m5s"), Some(604_800 + 2 * 86_400 + 3 * 3600 + 4 * 60 + 5));
        assert_eq!(uptime_seconds("45m"), Some(2700));
        assert_eq!(uptime_seconds("3h2m1s250ms"), Some(3 * 3600 + 2 * 60 + 1));
        assert_eq!(uptime_seconds("2d03:04:05"), Some(2 * 86_400 + 3 * 3600 + 4 * 60 + 5));
        assert_eq!(uptime_seconds("00:00:09"), Some(9));
        for bad in ["", "abc", "5", "1x", "3:61:00", "1:2"] {
            assert_eq!(uptime_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn status_follows_checks_with_one_blip_forgiven() {
        use Observed::*;
        use RouterStatus::*;
        let first = next_status(Unknown, 0, Unreachable);
        assert_eq!((first.status, first.event), (Offline, Some(NetworkEvent::RouterWentOffline)));
        let back = next_status(Offline, 3, Answered);
        assert_eq!(
            (back.status, back.consecutive_failures, back.event),
            (Online, 0, Some(NetworkEvent::RouterCameBack))
        );
        let blip = next_status(Online, 0, Unreachable);
        assert_eq!((blip.status, blip.consecutive_failures, blip.event), (Online, 1, None));
        let down = next_status(Online, 1, Unreachable);
        assert_eq!((down.status, down.event), (Offline, Some(NetworkEvent::RouterWentOffline)));
        let refused = next_status(Online, 1, Refused);
        assert_eq!(refused.status, Error);
        let still = next_status(Offline, 2, Refused);
        assert_eq!((still.status, still.event), (Error, None));
        assert_eq!(next_status(Unknown, 0, Answered).event, None);
        assert_eq!(next_status(Online, 0, Answered).event, None);
    }

    proptest::proptest! {
        #[test]
        fn both_forms_agree(d in 0u64..400, h in 0u64..24, m in 0u64..60, s in 0u64..60) {
            let long = format!("{}w{}d{h}h{m}m{s}s", d / 7, d % 7);
            let clock = format!("{d}d{h:02}:{m:02}:{s:02}");
            let want = d * 86_400 + h * 3600 + m * 60 + s;
            proptest::prop_assert_eq!(uptime_seconds(&long), Some(want));
            proptest::prop_assert_eq!(uptime_seconds(&clock), Some(want));
        }
    }

    #[test]
    fn requests_have_a_stable_wire_form() {
        let t = Uuid::nil();
        let r = LiveRequest::Session {
            tenant_id: t,
            router_id: t,
            subscription_id: t,
            username: "rahim".into(),
            service: SessionService::Pppoe,
        };
        let j = serde_json::to_value(&r).unwrap();
        assert_eq!(j["op"], "session");
        assert_eq!(j["service"], "pppoe");
        assert_eq!(serde_json::from_value::<LiveRequest>(j).unwrap(), r);
    }
}
