//! Subscriptions: a customer's access under one package, and the one state machine every change of
//! its status goes through.

use crate::error::Error;
use crate::event::NetworkEvent;
use crate::package::{ConnectionType, Validity};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    /// Created, not yet switched on.
    Pending,
    Active,
    /// Access cut by staff or dunning; comes back with `restore`.
    Suspended,
    /// Validity ran out without renewal.
    Expired,
    /// Ended for good; the username is free again.
    Cancelled,
}

impl SubscriptionStatus {
    pub const ALL: [SubscriptionStatus; 5] = [
        SubscriptionStatus::Pending,
        SubscriptionStatus::Active,
        SubscriptionStatus::Suspended,
        SubscriptionStatus::Expired,
        SubscriptionStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BillingModel {
    /// Pays in advance for the package's validity.
    Prepaid,
    /// Invoiced monthly on a billing day.
    Postpaid,
}

/// Everything that can happen to a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Activate,
    Suspend,
    Restore,
    Cancel,
    /// Validity ran out (the expiry sweep).
    Expire,
    ChangePackage,
    Extend,
    MoveRouter,
    ResetPassword,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Activate => "activate",
            Action::Suspend => "suspend",
            Action::Restore => "restore",
            Action::Cancel => "cancel",
            Action::Expire => "expire",
            Action::ChangePackage => "change_package",
            Action::Extend => "extend",
            Action::MoveRouter => "move_router",
            Action::ResetPassword => "reset_password",
        }
    }

    /// The event that announces the action (past tense).
    pub fn event(self) -> NetworkEvent {
        match self {
            Action::Activate => NetworkEvent::SubscriptionActivated,
            Action::Suspend => NetworkEvent::SubscriptionSuspended,
            Action::Restore => NetworkEvent::SubscriptionRestored,
            Action::Cancel => NetworkEvent::SubscriptionCancelled,
            Action::Expire => NetworkEvent::SubscriptionExpired,
            Action::ChangePackage => NetworkEvent::SubscriptionPackageChanged,
            Action::Extend => NetworkEvent::SubscriptionExtended,
            Action::MoveRouter => NetworkEvent::SubscriptionRouterMoved,
            Action::ResetPassword => NetworkEvent::SubscriptionPasswordReset,
        }
    }
}

/// The state machine: the status after `action` from `from`, or None when the action is not allowed.
/// Changes that keep the status (package, expiry, router, password) are allowed on any subscription
/// that is not cancelled.
pub fn next_status(from: SubscriptionStatus, action: Action) -> Option<SubscriptionStatus> {
    use Action::*;
    use SubscriptionStatus::*;
    match (from, action) {
        (Pending, Activate) => Some(Active),
        (Active, Suspend) => Some(Suspended),
        (Suspended | Expired, Restore) => Some(Active),
        (Active | Suspended, Expire) => Some(Expired),
        (Pending | Active | Suspended | Expired, Cancel) => Some(Cancelled),
        (Cancelled, _) => None,
        (s, ChangePackage | Extend | MoveRouter | ResetPassword) => Some(s),
        _ => None,
    }
}

/// 409 naming the current status, for a transition the machine refuses.
pub fn transition(from: SubscriptionStatus, action: Action) -> Result<SubscriptionStatus, Error> {
    next_status(from, action).ok_or_else(|| Error::Conflict {
        code: "invalid_transition",
        detail: format!("a {} subscription cannot {}", from.as_str(), action.as_str().replace('_', " ")),
        field: None,
    })
}

/// A subscription as stored and returned. The password is sealed at rest and never part of this.
/// A package change waiting for the end of the period paid for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScheduledPackage {
    pub package_id: Uuid,
    pub package_name: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Subscription {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub customer_id: Uuid,
    pub package_id: Uuid,
    pub package_name: String,
    pub connection_type: ConnectionType,
    pub router_id: Uuid,
    /// PPPoE secret name or hotspot user name; unique in the ISP while the subscription lives.
    pub username: String,
    /// PPPoE remote address / static IP.
    #[schema(value_type = Option<String>)]
    pub ip_address: Option<Ipv4Addr>,
    /// Hotspot MAC binding.
    pub mac_address: Option<String>,
    pub billing_model: BillingModel,
    /// Postpaid: day of the month periods start and invoices are issued (1-28; an anniversary,
    /// set at activation, may be 29-31 and then falls on the last day of shorter months).
    pub billing_day: Option<u8>,
    /// End of the last period invoiced (postpaid: where the next period starts; prepaid: the
    /// renewal was invoiced when this is past the expiry).
    #[serde(default)]
    pub billed_through: Option<DateTime<Utc>>,
    pub auto_renew: bool,
    /// What the customer pays per period, in minor units of `currency`.
    pub price: i64,
    pub currency: String,
    pub status: SubscriptionStatus,
    pub status_reason: Option<String>,
    pub start_date: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was cancelled (the end of the service, as regulators' reports count it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    /// The turbo boost bought last (in force between its start and end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turbo: Option<crate::turbo::Turbo>,
    /// A move to a cheaper package the subscriber asked for, made at the end of the period paid for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_package: Option<ScheduledPackage>,
    /// Owner operator subtree (copied from the customer), for operator scoping.
    pub operator_id: Option<Uuid>,
    pub scope: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

impl Subscription {
    /// Expiry after activation: prepaid subscriptions run for the package's validity from now
    /// (unless an expiry was set already and lies ahead).
    pub fn expiry_on_activation(&self, validity: Validity, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match (self.billing_model, self.expires_at) {
            (_, Some(e)) if e > now => Some(e),
            (BillingModel::Prepaid, _) => Some(now + validity.duration()),
            (BillingModel::Postpaid, e) => e,
        }
    }
}

/// `status_reason` of a subscription the dunning run suspended: a payment that clears its overdue
/// invoices restores it.
pub const UNPAID: &str = "unpaid";

/// A subscription whose prepaid validity has run out cannot simply be switched back on: it would
/// expire again at once. Extend or renew it first.
pub fn check_restore(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<(), Error> {
    match expires_at {
        Some(e) if e <= now => Err(Error::Conflict {
            code: "validity_ended",
            detail: "the subscription's validity has ended; extend or renew it first".into(),
            field: None,
        }),
        _ => Ok(()),
    }
}

/// Status after an extension: an expired subscription whose new expiry lies ahead is active again.
pub fn status_after_extension(
    status: SubscriptionStatus,
    new_expiry: DateTime<Utc>,
    now: DateTime<Utc>,
) -> SubscriptionStatus {
    if status == SubscriptionStatus::Expired && new_expiry > now { SubscriptionStatus::Active } else { status }
}

/// PPPoE/hotspot passwords travel to RouterOS in API words: printable ASCII, no spaces or quotes.
pub fn valid_secret_password(p: &str) -> bool {
    (4..=64).contains(&p.len()) && p.chars().all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
}

/// New expiry after extending by `days`: from the current expiry, or from now when it already passed.
pub fn extended_expiry(current: Option<DateTime<Utc>>, days: u32, now: DateTime<Utc>) -> DateTime<Utc> {
    let base = current.filter(|e| *e > now).unwrap_or(now);
    base + Duration::days(days as i64)
}

/// Counts of a customer's subscriptions by status; the customer's own status follows from them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusCounts {
    #[serde(default)]
    pub pending: u32,
    #[serde(default)]
    pub active: u32,
    #[serde(default)]
    pub suspended: u32,
    #[serde(default)]
    pub expired: u32,
    #[serde(default)]
    pub cancelled: u32,
}

impl StatusCounts {
    fn slot(&mut self, s: SubscriptionStatus) -> &mut u32 {
        match s {
            SubscriptionStatus::Pending => &mut self.pending,
            SubscriptionStatus::Active => &mut self.active,
            SubscriptionStatus::Suspended => &mut self.suspended,
            SubscriptionStatus::Expired => &mut self.expired,
            SubscriptionStatus::Cancelled => &mut self.cancelled,
        }
    }

    /// Moves one subscription from `from` (None: a new one) to `to`.
    pub fn moved(mut self, from: Option<SubscriptionStatus>, to: SubscriptionStatus) -> Self {
        if let Some(f) = from {
            let s = self.slot(f);
            *s = s.saturating_sub(1);
        }
        *self.slot(to) += 1;
        self
    }

    /// The customer's status: active if anything is active; suspended if something is cut off
    /// (suspended or expired); new while only pending ones exist (or none); inactive once all ended.
    pub fn customer_status(&self) -> crate::customer::CustomerStatus {
        use crate::customer::CustomerStatus as C;
        if self.active > 0 {
            C::Active
        } else if self.suspended + self.expired > 0 {
            C::Suspended
        } else if self.pending > 0 || self.cancelled == 0 {
            C::New
        } else {
            C::Inactive
        }
    }
}

/// MAC address in RouterOS form (`AA:BB:CC:DD:EE:FF`).
pub fn normalize_mac(s: &str) -> Option<String> {
    let hex: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    let seps_ok = s.chars().all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | '-' | '.'));
    if hex.len() != 12 || !seps_ok {
        return None;
    }
    let up = hex.to_uppercase();
    Some((0..6).map(|i| &up[i * 2..i * 2 + 2]).collect::<Vec<_>>().join(":"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::CustomerStatus;
    use SubscriptionStatus::*;
    use proptest::prelude::*;

    const ACTIONS: [Action; 9] = [
        Action::Activate,
        Action::Suspend,
        Action::Restore,
        Action::Cancel,
        Action::Expire,
        Action::ChangePackage,
        Action::Extend,
        Action::MoveRouter,
        Action::ResetPassword,
    ];

    #[test]
    fn the_whole_transition_table() {
        let status_changes = [
            (Pending, Action::Activate, Some(Active)),
            (Pending, Action::Suspend, None),
            (Pending, Action::Restore, None),
            (Pending, Action::Expire, None),
            (Pending, Action::Cancel, Some(Cancelled)),
            (Active, Action::Activate, None),
            (Active, Action::Suspend, Some(Suspended)),
            (Active, Action::Restore, None),
            (Active, Action::Expire, Some(Expired)),
            (Active, Action::Cancel, Some(Cancelled)),
            (Suspended, Action::Activate, None),
            (Suspended, Action::Suspend, None),
            (Suspended, Action::Restore, Some(Active)),
            (Suspended, Action::Expire, Some(Expired)),
            (Suspended, Action::Cancel, Some(Cancelled)),
            (Expired, Action::Activate, None),
            (Expired, Action::Suspend, None),
            (Expired, Action::Restore, Some(Active)),
            (Expired, Action::Expire, None),
            (Expired, Action::Cancel, Some(Cancelled)),
        ];
        for (from, action, to) in status_changes {
            assert_eq!(next_status(from, action), to, "{from:?} {action:?}");
        }
        for a in ACTIONS {
            assert_eq!(next_status(Cancelled, a), None, "cancelled is final");
        }
        for s in [Pending, Active, Suspended, Expired] {
            for a in [Action::ChangePackage, Action::Extend, Action::MoveRouter, Action::ResetPassword] {
                assert_eq!(next_status(s, a), Some(s));
            }
        }
    }

    #[test]
    fn refused_transitions_name_the_current_state() {
        let e = transition(Active, Action::Activate).unwrap_err();
        match e {
            Error::Conflict { code, detail, .. } => {
                assert_eq!(code, "invalid_transition");
                assert!(detail.contains("active"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn customer_status_follows_subscriptions() {
        let none = StatusCounts::default();
        assert_eq!(none.customer_status(), CustomerStatus::New);
        let c = none.moved(None, Pending);
        assert_eq!(c.customer_status(), CustomerStatus::New);
        let c = c.moved(Some(Pending), Active);
        assert_eq!(c.customer_status(), CustomerStatus::Active);
        let c = c.moved(Some(Active), Suspended);
        assert_eq!(c.customer_status(), CustomerStatus::Suspended);
        let c = c.moved(Some(Suspended), Cancelled);
        assert_eq!(c.customer_status(), CustomerStatus::Inactive);
        assert_eq!(c, StatusCounts { cancelled: 1, ..Default::default() });
    }

    proptest! {
        /// Whatever sequence of actions is tried, the counts always add up to the number of
        /// subscriptions and nothing leaves `cancelled`.
        #[test]
        fn counts_stay_consistent(seq in proptest::collection::vec((0usize..3, 0usize..9), 0..60)) {
            let mut subs = [Pending; 3];
            let mut counts = StatusCounts::default();
            for _ in 0..3 { counts = counts.moved(None, Pending); }
            for (i, a) in seq {
                let from = subs[i];
                if let Some(to) = next_status(from, ACTIONS[a]) {
                    prop_assert!(from != Cancelled);
                    counts = counts.moved(Some(from), to);
                    subs[i] = to;
                }
            }
            let total = counts.pending + counts.active + counts.suspended + counts.expired + counts.cancelled;
            prop_assert_eq!(total, 3);
            prop_assert_eq!(counts.active as usize, subs.iter().filter(|s| **s == Active).count());
        }
    }

    #[test]
    fn extension_counts_from_expiry_or_now() {
        let now = DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z").unwrap().with_timezone(&Utc);
        let later = now + Duration::days(5);
        assert_eq!(extended_expiry(Some(later), 3, now), later + Duration::days(3));
        assert_eq!(extended_expiry(Some(now - Duration::days(5)), 3, now), now + Duration::days(3));
        assert_eq!(extended_expiry(None, 1, now), now + Duration::days(1));
    }

    #[test]
    fn restore_and_extension_rules() {
        let now = DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z").unwrap().with_timezone(&Utc);
        assert!(check_restore(Some(now + Duration::hours(1)), now).is_ok());
        assert!(check_restore(None, now).is_ok(), "postpaid without an expiry");
        assert!(check_restore(Some(now), now).is_err());
        assert_eq!(status_after_extension(Expired, now + Duration::days(1), now), Active);
        assert_eq!(status_after_extension(Expired, now - Duration::days(1), now), Expired);
        assert_eq!(status_after_extension(Suspended, now + Duration::days(1), now), Suspended);
        assert!(valid_secret_password("s3cret-Pass"));
        assert!(!valid_secret_password("has space"));
        assert!(!valid_secret_password("abc"));
    }

    #[test]
    fn macs() {
        assert_eq!(normalize_mac("aa-bb-cc-dd-ee-ff").as_deref(), Some("AA:BB:CC:DD:EE:FF"));
        assert_eq!(normalize_mac("aabb.ccdd.eeff").as_deref(), Some("AA:BB:CC:DD:EE:FF"));
        assert_eq!(normalize_mac("aa:bb:cc:dd:ee"), None);
        assert_eq!(normalize_mac("zz:bb:cc:dd:ee:ff"), None);
    }
}
