//! Dunning: what the daily job does to an open invoice. Past its due date it becomes overdue;
//! reminders go out at the ISP's offsets from the due date (e.g. 3 days before, on the day, 3 days
//! after), each once; after the grace days the subscription it bills is suspended for the debt.

use crate::invoice::{Invoice, InvoiceStatus};
use chrono::{DateTime, Duration, Utc};

/// What is due for one invoice at `now`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DunningStep {
    pub mark_overdue: bool,
    /// The reminder to send (the latest offset reached); None: none due.
    pub reminder: Option<i32>,
    /// Offsets reached at `now` and not yet recorded: all are recorded as sent, so a job that
    /// missed days sends one reminder, not a burst.
    pub reached: Vec<i32>,
    pub suspend: bool,
}

impl DunningStep {
    pub fn is_empty(&self) -> bool {
        !self.mark_overdue && self.reached.is_empty() && !self.suspend
    }
}

pub fn dunning_step(inv: &Invoice, reminder_days: &[i16], grace_days: u16, now: DateTime<Utc>) -> DunningStep {
    let mut step = DunningStep::default();
    let Some(due) = inv.due_date else { return step };
    if !inv.status.is_open() || inv.amount_due <= 0 {
        return step;
    }
    step.mark_overdue = due < now && inv.status != InvoiceStatus::Overdue;
    let mut reached: Vec<i32> = reminder_days
        .iter()
        .map(|d| i32::from(*d))
        .filter(|d| due + Duration::days((*d).into()) <= now && !inv.reminders_sent.contains(d))
        .collect();
    reached.sort_unstable();
    reached.dedup();
    step.reminder = reached.last().copied();
    step.reached = reached;
    step.suspend = inv.subscription_id.is_some()
        && inv.suspension_requested_at.is_none()
        && now >= due + Duration::days(grace_days.into());
    step
}

/// Applies a step to the invoice (the caller stages it and the events).
pub fn apply_step(inv: &mut Invoice, step: &DunningStep, now: DateTime<Utc>) -> Result<(), crate::Error> {
    if step.mark_overdue {
        inv.mark_overdue()?;
    }
    inv.reminders_sent.extend(step.reached.iter().copied());
    inv.reminders_sent.sort_unstable();
    if step.suspend {
        inv.suspension_requested_at = Some(now);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invoice::InvoiceKind;
    use uuid::Uuid;

    fn issued(due: DateTime<Utc>) -> Invoice {
        let now = due - Duration::days(7);
        let mut inv = Invoice::draft(Uuid::nil(), Uuid::nil(), Uuid::nil(), "BDT", InvoiceKind::Renewal, now);
        inv.subscription_id = Some(Uuid::nil());
        inv.total = 1000;
        inv.amount_due = 1000;
        inv.issue("INV-2026-000001".into(), now, due).unwrap();
        inv
    }

    fn day(n: i64) -> Duration {
        Duration::days(n)
    }

    #[test]
    fn reminders_overdue_and_suspension_follow_the_schedule() {
        let due = "2026-12-10T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let days = [-3i16, 0, 3];
        let mut inv = issued(due);
        let at = |inv: &Invoice, t| dunning_step(inv, &days, 5, t);
        assert!(at(&inv, due - day(4)).is_empty());
        let s = at(&inv, due - day(3));
        assert_eq!((s.reminder, s.mark_overdue, s.suspend), (Some(-3), false, false));
        apply_step(&mut inv, &s, due - day(3)).unwrap();
        assert!(at(&inv, due - day(2)).is_empty(), "sent once");
        let s = at(&inv, due + Duration::hours(1));
        assert_eq!((s.reminder, s.mark_overdue), (Some(0), true));
        apply_step(&mut inv, &s, due).unwrap();
        assert_eq!(inv.status, InvoiceStatus::Overdue);
        assert!(at(&inv, due + day(2)).is_empty());
        let s = at(&inv, due + day(5));
        assert_eq!((s.reminder, s.mark_overdue, s.suspend), (Some(3), false, true));
        apply_step(&mut inv, &s, due + day(5)).unwrap();
        assert!(at(&inv, due + day(30)).is_empty(), "suspended once");
    }

    #[test]
    fn a_job_that_missed_days_sends_one_reminder() {
        let due = "2026-12-10T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let inv = issued(due);
        let s = dunning_step(&inv, &[-3, 0, 3], 30, due + day(4));
        assert_eq!((s.reminder, s.reached.clone()), (Some(3), vec![-3, 0, 3]));
    }

    #[test]
    fn paid_or_void_invoices_are_left_alone() {
        let due = "2026-12-10T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let mut inv = issued(due);
        inv.pay(1000, due).unwrap();
        assert!(dunning_step(&inv, &[-3, 0, 3], 0, due + day(10)).is_empty());
    }
}
