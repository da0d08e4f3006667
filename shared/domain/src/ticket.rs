//! Support tickets: what a subscriber (or staff for them, or an operator) reports, numbered per ISP
//! with a token a subscriber quotes on the phone, and held to a service level per priority. The
//! rules here are pure: how a ticket moves between states on replies and staff actions, when it is
//! reopened, when its SLA is breached, and how a breach escalates (manager, then admin, each once).

use crate::Validation;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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

/// An ISP's service levels per priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SlaTable {
    pub urgent: Sla,
    pub high: Sla,
    pub normal: Sla,
    pub low: Sla,
}

/// An ISP's helpdesk settings (`tickets` on `PATCH /v1/tenants/{id}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TicketSettings {
    pub sla: SlaTable,
    /// A subscriber's reply within this many days of a resolution reopens the ticket (0: never).
    pub reopen_days: u32,
}

impl Default for TicketSettings {
    fn default() -> Self {
        TicketSettings {
            sla: SlaTable {
                urgent: default_sla(Priority::Urgent),
                high: default_sla(Priority::High),
                normal: default_sla(Priority::Normal),
                low: default_sla(Priority::Low),
            },
            reopen_days: DEFAULT_REOPEN_DAYS as u32,
        }
    }
}

/// A service level is at most 30 days.
const LONGEST_SLA_MINUTES: u32 = 30 * 24 * 60;

impl TicketSettings {
    pub fn sla(&self, p: Priority) -> Sla {
        match p {
            Priority::Urgent => self.sla.urgent,
            Priority::High => self.sla.high,
            Priority::Normal => self.sla.normal,
            Priority::Low => self.sla.low,
        }
    }

    pub fn validate(&self, v: &mut Validation, prefix: &str) {
        for (name, sla) in
            [("urgent", self.sla.urgent), ("high", self.sla.high), ("normal", self.sla.normal), ("low", self.sla.low)]
        {
            let field = format!("{prefix}.sla.{name}");
            if !(1..=LONGEST_SLA_MINUTES).contains(&sla.first_response_minutes)
                || !(1..=LONGEST_SLA_MINUTES).contains(&sla.resolution_minutes)
            {
                v.add(&field, format!("minutes must be 1 to {LONGEST_SLA_MINUTES}"));
            } else if sla.first_response_minutes > sla.resolution_minutes {
                v.add(&field, "the first response cannot be due after the resolution");
            }
        }
        if self.reopen_days > 90 {
            v.add(&format!("{prefix}.reopen_days"), "must be 0 to 90");
        }
    }
}

/// Who wrote something on a ticket, as they were named then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Author {
    pub side: Side,
    /// Staff or an operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Uuid>,
    /// The subscriber.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<Uuid>,
    pub name: String,
}

/// Who works on a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Assignee {
    pub user_id: Uuid,
    pub name: String,
    /// Their role (`staff`, `operator`...).
    pub role: String,
}

/// A support ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Ticket {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The ISP's sequence.
    pub number: u64,
    /// What a subscriber quotes on the phone: `T-000042`.
    pub token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<Uuid>,
    pub category: Category,
    pub subject: String,
    pub opened_by: Author,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<Assignee>,
    #[serde(flatten)]
    pub state: TicketState,
    /// The service level it is held to (its priority's when opened or reprioritised).
    pub sla: Sla,
    pub first_response_due: DateTime<Utc>,
    pub resolution_due: DateTime<Utc>,
    pub messages: u32,
    pub last_message_at: DateTime<Utc>,
    /// Operator subtree (the customer's, or the opening operator's), for operator scoping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

impl Ticket {
    /// Holds the ticket to `sla` from its opening.
    pub fn hold_to(&mut self, sla: Sla) {
        self.sla = sla;
        let (first, resolve) = self.state.due(sla);
        self.first_response_due = first;
        self.resolution_due = resolve;
    }

    /// When the SLA job must look at it next (None: nothing more can breach).
    pub fn next_sla_check(&self) -> Option<DateTime<Utc>> {
        self.state.next_check(self.sla)
    }
}

/// One message on a ticket: a public reply or an internal note (staff only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TicketMessage {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub ticket_id: Uuid,
    pub author: Author,
    /// Staff and operators only; never shown to the subscriber.
    pub internal: bool,
    pub body: String,
    #[serde(default)]
    pub attachment_ids: Vec<Uuid>,
    pub at: DateTime<Utc>,
}

/// The longest subject and message.
pub const SUBJECT_MAX: usize = 200;
pub const BODY_MAX: usize = 10_000;

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

    /// When a promise not yet broken and escalated falls due (None: resolved, closed, or
    /// escalated to the top already).
    pub fn next_check(&self, sla: Sla) -> Option<DateTime<Utc>> {
        if matches!(self.status, TicketStatus::Resolved | TicketStatus::Closed)
            || matches!(self.escalations.last(), Some((Escalation::Admin, ..)))
        {
            return None;
        }
        let escalated = |b: Breach| self.escalations.iter().any(|(_, x, _)| *x == b);
        let (first, resolve) = self.due(sla);
        let mut next = None;
        if self.first_response_at.is_none() && !escalated(Breach::FirstResponse) {
            next = Some(first);
        }
        if !escalated(Breach::Resolution) {
            next = Some(next.map_or(resolve, |n: DateTime<Utc>| n.min(resolve)));
        }
        next
    }

    /// The escalation `now` calls for: the next level for a breach not escalated yet (a first
    /// response breach goes to the manager; a resolution breach to the next level up), each level
    /// once. Records it and answers it; None when nothing new.
    pub fn escalate(&mut self, sla: Sla, now: DateTime<Utc>) -> Option<(Escalation, Breach)> {
        // A ticket never answered and past its resolution too has broken both promises: the one
        // not escalated yet goes up.
        let (first, resolve) = self.due(sla);
        let broken = [
            (self.first_response_at.is_none() && now > first).then_some(Breach::FirstResponse),
            (now > resolve).then_some(Breach::Resolution),
        ];
        self.breach(sla, now)?;
        let breach = broken.into_iter().flatten().find(|b| !self.escalations.iter().any(|(_, done, _)| done == b))?;
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
    fn the_sla_job_looks_again_at_the_next_promise_until_the_top() {
        let t0 = at("2026-12-01T08:00:00Z");
        let sla = default_sla(Priority::High);
        let mut t = TicketState::new(Priority::High, t0);
        assert_eq!(t.next_check(sla), Some(t0 + Duration::hours(2)));
        t.escalate(sla, t0 + Duration::hours(3)).unwrap();
        assert_eq!(t.next_check(sla), Some(t0 + Duration::hours(24)), "then the resolution");
        t.escalate(sla, t0 + Duration::hours(25)).unwrap();
        assert_eq!(t.next_check(sla), None, "escalated to the admin: nothing above");
        let mut answered = TicketState::new(Priority::High, t0);
        answered.reply(Side::Support, false, 7, t0 + Duration::minutes(5)).unwrap();
        assert_eq!(answered.next_check(sla), Some(t0 + Duration::hours(24)));
        answered.resolve(t0 + Duration::hours(1)).unwrap();
        assert_eq!(answered.next_check(sla), None);
        let mut v = Validation::default();
        TicketSettings::default().validate(&mut v, "tickets");
        assert!(v.is_empty());
        let mut bad = TicketSettings::default();
        bad.sla.low.first_response_minutes = bad.sla.low.resolution_minutes + 1;
        bad.reopen_days = 91;
        let mut v = Validation::default();
        bad.validate(&mut v, "tickets");
        let fields: Vec<String> = v.finish().unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["tickets.sla.low", "tickets.reopen_days"]);
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
