//! Support tickets: what a subscriber (or staff for them, or an operator) reports, numbered per ISP
//! with a token a subscriber quotes on the phone, and held to a service level per priority. The
//! rules here are pure: how a ticket moves between states on replies and staff actions, when it is
//! reopened, when its SLA is breached, and how a breach escalates (manager, then admin, each once).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    NoInternet,
    Slow,
    Billing,
    Relocation,
    NewConnection,
    Equipment,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Open,
    /// Waiting for the subscriber's answer (the resolution clock keeps running).
    PendingCustomer,
    Resolved,
    Closed,
}

/// Who writes on a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The subscriber (the portal).
    Customer,
    /// The ISP's staff or an operator.
    Support,
}

/// How fast a priority is answered and resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Sla {
    pub first_response_minutes: u32,
    pub resolution_minutes: u32,
}

/// The product's service levels (an ISP may set its own).
pub fn default_sla(p: Priority) -> Sla {
    let (first, resolve) = match p {
        Priority::Urgent => (30, 4 * 60),
        Priority::High => (2 * 60, 24 * 60),
        Priority::Normal => (8 * 60, 3 * 24 * 60),
        Priority::Low => (24 * 60, 7 * 24 * 60),
    };
    Sla { first_response_minutes: first, resolution_minutes: resolve }
}

/// A subscriber's reply within this many days of a resolution reopens the ticket.
pub const DEFAULT_REOPEN_DAYS: i64 = 7;

/// Who a breach is escalated to: each level once, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Escalation {
    Manager,
    Admin,
}

/// Which promise was broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Breach {
    FirstResponse,
    Resolution,
}

/// A ticket's state as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TicketState {
    pub status: TicketStatus,
    pub priority: Priority,
    pub opened_at: DateTime<Utc>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub reopened: u32,
    /// The escalations made, in order (at most one per level).
    pub escalations: Vec<(Escalation, Breach, DateTime<Utc>)>,
}

/// Why an action cannot be taken now (a 409 for the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotNow(pub &'static str);

impl TicketState {
    pub fn new(priority: Priority, at: DateTime<Utc>) -> Self {
        TicketState {
            status: TicketStatus::Open,
            priority,
            opened_at: at,
            first_response_at: None,
            resolved_at: None,
            closed_at: None,
            reopened: 0,
            escalations: vec![],
        }
    }

    /// A public reply. Support's first one is the first response; support may put the ticket on
    /// the subscriber (`wait`). The subscriber's reply takes a ticket waiting on it back to open,
    /// and reopens a resolved one within `reopen_days` (after that, or once closed, it is refused:
    /// a new ticket is opened instead).
    pub fn reply(&mut self, side: Side, wait: bool, reopen_days: i64, at: DateTime<Utc>) -> Result<(), NotNow> {
        match (side, self.status) {
            (_, TicketStatus::Closed) => return Err(NotNow("the ticket is closed: open a new one")),
            (Side::Support, TicketStatus::Resolved) => return Err(NotNow("the ticket is resolved: reopen it first")),
            (Side::Support, _) => {
                self.first_response_at.get_or_insert(at);
                self.status = if wait { TicketStatus::PendingCustomer } else { TicketStatus::Open };
            }
            (Side::Customer, TicketStatus::Resolved) => {
                let resolved = self.resolved_at.unwrap_or(at);
                if at - resolved > Duration::days(reopen_days) {
                    return Err(NotNow("the ticket was resolved too long ago: open a new one"));
                }
                self.reopen();
            }
            (Side::Customer, _) => self.status = TicketStatus::Open,
        }
        Ok(())
    }

    fn reopen(&mut self) {
        self.status = TicketStatus::Open;
        self.resolved_at = None;
        self.reopened += 1;
    }

    /// Support resolves it (a resolution is also a response).
    pub fn resolve(&mut self, at: DateTime<Utc>) -> Result<(), NotNow> {
        match self.status {
            TicketStatus::Open | TicketStatus::PendingCustomer => {
                self.first_response_at.get_or_insert(at);
                self.status = TicketStatus::Resolved;
                self.resolved_at = Some(at);
                Ok(())
            }
            _ => Err(NotNow("only an open ticket is resolved")),
        }
    }

    /// Support closes it for good (from any state but closed).
    pub fn close(&mut self, at: DateTime<Utc>) -> Result<(), NotNow> {
        if self.status == TicketStatus::Closed {
            return Err(NotNow("the ticket is closed already"));
        }
        self.status = TicketStatus::Closed;
        self.closed_at = Some(at);
        Ok(())
    }

    /// Support reopens a resolved ticket.
    pub fn reopen_by_support(&mut self) -> Result<(), NotNow> {
        match self.status {
            TicketStatus::Resolved => {
                self.reopen();
                Ok(())
            }
            _ => Err(NotNow("only a resolved ticket is reopened")),
        }
    }

    /// When each promise falls due.
    pub fn due(&self, sla: Sla) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            self.opened_at + Duration::minutes(sla.first_response_minutes.into()),
            self.opened_at + Duration::minutes(sla.resolution_minutes.into()),
        )
    }

    /// The promise broken by `now`, if any (the first response before the resolution). A
    /// resolved or closed ticket breaches nothing more.
    pub fn breach(&self, sla: Sla, now: DateTime<Utc>) -> Option<Breach> {
        if matches!(self.status, TicketStatus::Resolved | TicketStatus::Closed) {
            return None;
        }
        let (first, resolve) = self.due(sla);
        if self.first_response_at.is_none() && now > first {
            return Some(Breach::FirstResponse);
        }
        (now > resolve).then_some(Breach::Resolution)
    }

    /// The escalation `now` calls for: the next level for a breach not escalated yet (a first
    /// response breach goes to the manager; a resolution breach to the next level up), each level
    /// once. Records it and answers it; None when nothing new.
    pub fn escalate(&mut self, sla: Sla, now: DateTime<Utc>) -> Option<(Escalation, Breach)> {
        let breach = self.breach(sla, now)?;
        if self.escalations.iter().any(|(_, b, _)| *b == breach) {
            return None;
        }
        let level = match self.escalations.last() {
            None => Escalation::Manager,
            Some((Escalation::Manager, ..)) => Escalation::Admin,
            Some((Escalation::Admin, ..)) => return None,
        };
        self.escalations.push((level, breach, now));
        Some((level, breach))
    }
}

/// A ticket's token as a subscriber reads it out: `T-` and the ISP's sequence, six digits at least.
pub fn token(number: u64) -> String {
    format!("T-{number:06}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn replies_move_the_ticket_and_a_late_reply_does_not_reopen_it() {
        let t0 = at("2026-12-01T08:00:00Z");
        let mut t = TicketState::new(Priority::Normal, t0);
        t.reply(Side::Customer, false, 7, t0 + Duration::minutes(5)).unwrap();
        assert_eq!((t.status, t.first_response_at), (TicketStatus::Open, None), "the subscriber's own words");
        t.reply(Side::Support, true, 7, t0 + Duration::hours(1)).unwrap();
        assert_eq!((t.status, t.first_response_at), (TicketStatus::PendingCustomer, Some(t0 + Duration::hours(1))));
        t.reply(Side::Customer, false, 7, t0 + Duration::hours(2)).unwrap();
        assert_eq!(t.status, TicketStatus::Open);
        t.resolve(t0 + Duration::hours(3)).unwrap();
        assert_eq!(t.first_response_at, Some(t0 + Duration::hours(1)), "the first response stays the first");
        assert_eq!(
            t.reply(Side::Support, false, 7, t0 + Duration::hours(4)),
            Err(NotNow("the ticket is resolved: reopen it first"))
        );
        // Within the window the subscriber reopens it; after it, not.
        t.reply(Side::Customer, false, 7, t0 + Duration::days(2)).unwrap();
        assert_eq!((t.status, t.reopened, t.resolved_at), (TicketStatus::Open, 1, None));
        t.resolve(t0 + Duration::days(3)).unwrap();
        assert!(t.reply(Side::Customer, false, 7, t0 + Duration::days(11)).is_err());
        assert_eq!(t.status, TicketStatus::Resolved, "a refused reply changes nothing");
        t.close(t0 + Duration::days(12)).unwrap();
        assert!(t.reply(Side::Customer, false, 7, t0 + Duration::days(12)).is_err());
        assert!(t.close(t0 + Duration::days(13)).is_err() && t.resolve(t0 + Duration::days(13)).is_err());
    }

    #[test]
    fn a_breach_escalates_to_the_manager_then_the_admin_each_once() {
        let t0 = at("2026-12-01T08:00:00Z");
        let sla = default_sla(Priority::High); // 2 h to answer, 24 h to resolve
        let mut t = TicketState::new(Priority::High, t0);
        assert_eq!(t.escalate(sla, t0 + Duration::minutes(119)), None);
        assert_eq!(t.escalate(sla, t0 + Duration::minutes(121)), Some((Escalation::Manager, Breach::FirstResponse)));
        assert_eq!(t.escalate(sla, t0 + Duration::minutes(200)), None, "once per breach");
        t.reply(Side::Support, false, 7, t0 + Duration::hours(5)).unwrap();
        assert_eq!(t.breach(sla, t0 + Duration::hours(6)), None, "answered late, but answered");
        assert_eq!(t.escalate(sla, t0 + Duration::hours(25)), Some((Escalation::Admin, Breach::Resolution)));
        assert_eq!(t.escalate(sla, t0 + Duration::hours(50)), None, "nobody above the admin");
        // A resolved ticket breaches nothing.
        let mut r = TicketState::new(Priority::Urgent, t0);
        r.resolve(t0 + Duration::minutes(10)).unwrap();
        assert_eq!(r.escalate(default_sla(Priority::Urgent), t0 + Duration::days(3)), None);
        // A resolution breach first (answered in time) goes to the manager.
        let mut a = TicketState::new(Priority::Urgent, t0);
        a.reply(Side::Support, false, 7, t0 + Duration::minutes(5)).unwrap();
        assert_eq!(
            a.escalate(default_sla(Priority::Urgent), t0 + Duration::hours(5)),
            Some((Escalation::Manager, Breach::Resolution))
        );
    }

    #[test]
    fn tokens_and_service_levels() {
        assert_eq!(token(42), "T-000042");
        assert_eq!(token(1_234_567), "T-1234567");
        for p in [Priority::Low, Priority::Normal, Priority::High, Priority::Urgent] {
            let s = default_sla(p);
            assert!(s.first_response_minutes < s.resolution_minutes, "{p:?}");
        }
        assert!(
            default_sla(Priority::Urgent).resolution_minutes < default_sla(Priority::Low).first_response_minutes * 10
        );
    }
}
