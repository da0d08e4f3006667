//! The life of a message, decided here and kept by the service: one message per (event,
//! recipient, channel), so a repeated event finds the message it already made; after each try,
//! what next: accepted, failed for good (a permanent refusal is recorded, never retried), tried
//! again later (retryable faults back off, then give up), or — when the provider may have sent it
//! without saying so — tried at most once more and otherwise recorded as unknown.

use crate::error::SendError;
use crate::sms::DeliveryState;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Medium {
    Sms,
    Email,
    Telegram,
    Webhook,
}

impl Medium {
    pub fn as_str(self) -> &'static str {
        match self {
            Medium::Sms => "sms",
            Medium::Email => "email",
            Medium::Telegram => "telegram",
            Medium::Webhook => "webhook",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Waiting for its time (quiet hours, the ISP's send rate, a retry's backoff).
    Scheduled,
    /// A worker is sending it; still so after its lease, the try's outcome is unknown.
    Sending,
    /// The provider took it.
    Accepted,
    /// The provider reported it on the phone.
    Delivered,
    Failed,
    /// It may or may not have been sent (no answer, twice): not tried again.
    Unknown,
}

impl MessageStatus {
    /// Whether nothing more will be tried (delivery reports may still move an accepted one).
    pub fn settled(self) -> bool {
        !matches!(self, MessageStatus::Scheduled | MessageStatus::Sending)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Scheduled => "scheduled",
            MessageStatus::Sending => "sending",
            MessageStatus::Accepted => "accepted",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Failed => "failed",
            MessageStatus::Unknown => "unknown",
        }
    }
}

/// The id of the message an event makes for one recipient on one medium: the same however often
/// the event is delivered, sorted by the event's time.
pub fn message_id(event_id: Uuid, event_at: DateTime<Utc>, recipient: &str, medium: Medium) -> Uuid {
    domain::ids::derived_id(event_at, &format!("message:{event_id}:{}:{recipient}", medium.as_str()))
}

/// Tries so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Tries {
    pub attempts: u32,
    /// Of those, how many ended without knowing whether it was sent.
    pub unknowns: u32,
}

/// Retryable faults back off: 30 s, 2, 10 and 30 minutes, 2 hours; then the message has failed.
pub const BACKOFF: [Duration; 5] = [
    Duration::from_secs(30),
    Duration::from_secs(120),
    Duration::from_secs(600),
    Duration::from_secs(1800),
    Duration::from_secs(7200),
];

/// What follows a try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Accepted,
    /// Failed for good; the code (`invalid_number`, `no_balance`, `gave_up`...) and the words.
    Failed {
        code: &'static str,
        detail: String,
    },
    /// Try again after this long (the provider's own `Retry-After` when it said one).
    Retry {
        after: Duration,
        unknown: bool,
    },
    /// Sent or not, no one can say; not tried again (a second copy is worse than none).
    Unknown {
        detail: String,
    },
}

/// Decides what follows a try, given the tries before it (`tries` does not count this one).
pub fn after_try<T>(result: &Result<T, SendError>, tries: Tries) -> Next {
    match result {
        Ok(_) => Next::Accepted,
        Err(SendError::Permanent { detail, .. }) => Next::Failed {
            code: result.as_ref().err().map(SendError::code).unwrap_or("rejected"),
            detail: detail.clone(),
        },
        Err(SendError::Unknown { detail }) => {
            if tries.unknowns == 0 && (tries.attempts as usize) < BACKOFF.len() {
                Next::Retry { after: BACKOFF[0], unknown: true }
            } else {
                Next::Unknown { detail: detail.clone() }
            }
        }
        Err(SendError::Retryable { detail, retry_after }) => match BACKOFF.get(tries.attempts as usize) {
            Some(step) => Next::Retry { after: retry_after.map_or(*step, |r| r.max(*step)), unknown: false },
            None => Next::Failed { code: "gave_up", detail: detail.clone() },
        },
    }
}

/// A delivery report's effect on a message: an accepted (or unknown: the report proves it was
/// sent) message moves; a delivered one stays delivered whatever arrives late, out of order.
pub fn after_report(current: MessageStatus, report: DeliveryState) -> Option<MessageStatus> {
    match (current, report) {
        (MessageStatus::Accepted | MessageStatus::Unknown, DeliveryState::Delivered) => Some(MessageStatus::Delivered),
        (MessageStatus::Accepted | MessageStatus::Unknown, DeliveryState::Failed) => Some(MessageStatus::Failed),
        (MessageStatus::Unknown, DeliveryState::Sent) => Some(MessageStatus::Accepted),
        _ => None,
    }
}

/// Outgoing webhooks retry on the Standard Webhooks reference schedule: 5 s, 5 min, 30 min,
/// 2 h, 5 h, 10 h, 10 h (a little over a day in all); `None`: no more tries.
pub fn webhook_retry_after(attempts: u32) -> Option<Duration> {
    const SCHEDULE: [u64; 7] = [5, 300, 1800, 7200, 18_000, 36_000, 36_000];
    SCHEDULE.get(attempts.saturating_sub(1) as usize).map(|s| Duration::from_secs(*s))
}

/// An endpoint that has failed every delivery for a day is disabled (the ISP is told and may
/// enable it and replay what it missed).
pub fn endpoint_should_be_disabled(failing_since: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    failing_since.is_some_and(|since| now - since >= chrono::Duration::hours(24))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::PermanentReason;

    fn retryable(after: Option<u64>) -> Result<(), SendError> {
        Err(SendError::Retryable { detail: "HTTP 503".into(), retry_after: after.map(Duration::from_secs) })
    }

    #[test]
    fn a_repeated_event_makes_the_same_message_and_another_recipient_another() {
        let at = "2026-12-05T10:00:00Z".parse().unwrap();
        let e = Uuid::now_v7();
        assert_eq!(message_id(e, at, "+8801719300101", Medium::Sms), message_id(e, at, "+8801719300101", Medium::Sms));
        assert_ne!(message_id(e, at, "+8801719300101", Medium::Sms), message_id(e, at, "+8801719300102", Medium::Sms));
        assert_ne!(message_id(e, at, "chat-1", Medium::Sms), message_id(e, at, "chat-1", Medium::Telegram));
    }

    #[test]
    fn permanent_refusals_are_final_and_retryable_faults_back_off_then_give_up() {
        let invalid: Result<(), SendError> =
            Err(SendError::Permanent { reason: PermanentReason::InvalidNumber, detail: "1001".into() });
        assert_eq!(
            after_try(&invalid, Tries::default()),
            Next::Failed { code: "invalid_number", detail: "1001".into() }
        );
        assert_eq!(after_try(&retryable(None), Tries::default()), Next::Retry { after: BACKOFF[0], unknown: false });
        assert_eq!(
            after_try(&retryable(Some(600)), Tries { attempts: 1, unknowns: 0 }),
            Next::Retry { after: Duration::from_secs(600), unknown: false },
            "the provider's Retry-After when longer"
        );
        assert!(matches!(
            after_try(&retryable(None), Tries { attempts: 5, unknowns: 0 }),
            Next::Failed { code: "gave_up", .. }
        ));
        assert_eq!(after_try(&Ok::<(), SendError>(()), Tries { attempts: 3, unknowns: 1 }), Next::Accepted);
    }

    #[test]
    fn an_unknown_outcome_is_tried_once_more_at_most() {
        let unknown: Result<(), SendError> = Err(SendError::Unknown { detail: "timed out".into() });
        assert_eq!(after_try(&unknown, Tries::default()), Next::Retry { after: BACKOFF[0], unknown: true });
        assert_eq!(
            after_try(&unknown, Tries { attempts: 1, unknowns: 1 }),
            Next::Unknown { detail: "timed out".into() }
        );
        // An unknown after retryable faults still gets its one more try.
        assert!(matches!(after_try(&unknown, Tries { attempts: 2, unknowns: 0 }), Next::Retry { unknown: true, .. }));
    }

    #[test]
    fn reports_never_undo_a_delivery() {
        assert_eq!(after_report(MessageStatus::Accepted, DeliveryState::Delivered), Some(MessageStatus::Delivered));
        assert_eq!(after_report(MessageStatus::Delivered, DeliveryState::Failed), None);
        assert_eq!(after_report(MessageStatus::Delivered, DeliveryState::Sent), None);
        assert_eq!(after_report(MessageStatus::Unknown, DeliveryState::Sent), Some(MessageStatus::Accepted));
        assert_eq!(after_report(MessageStatus::Failed, DeliveryState::Delivered), None);
    }

    #[test]
    fn webhooks_retry_for_about_a_day_and_a_day_of_failures_disables_the_endpoint() {
        assert_eq!(webhook_retry_after(1), Some(Duration::from_secs(5)));
        assert_eq!(webhook_retry_after(7), Some(Duration::from_secs(36_000)));
        assert_eq!(webhook_retry_after(8), None);
        let total: u64 = (1..=7).filter_map(webhook_retry_after).map(|d| d.as_secs()).sum();
        assert!(total > 86_400 && total < 2 * 86_400, "{total}");
        let now: DateTime<Utc> = "2026-12-05T10:00:00Z".parse().unwrap();
        assert!(!endpoint_should_be_disabled(None, now));
        assert!(!endpoint_should_be_disabled(Some(now - chrono::Duration::hours(23)), now));
        assert!(endpoint_should_be_disabled(Some(now - chrono::Duration::hours(24)), now));
    }
}
