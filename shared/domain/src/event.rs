//! Domain events: past-tense facts written to the outbox in the same transaction as the change.
//!
//! [`EventName`] is the catalogue: every event the system emits, grouped by the context that owns
//! it (its EventBridge `source`, `isp.<context>`). Emitters name events through it, consumers parse
//! `detail-type` back into it and `match` it, and a test holds it to the template's rules, the
//! consumers and `docs/events.md`.

use crate::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! catalogue {
    ($( $(#[$doc:meta])* $Variant:ident: $Enum:ident $context:literal { $($Name:ident),* $(,)? } )*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
            pub enum $Enum { $($Name),* }

            impl $Enum {
                pub const ALL: &'static [$Enum] = &[$($Enum::$Name),*];

                pub const fn as_str(self) -> &'static str {
                    match self { $($Enum::$Name => stringify!($Name)),* }
                }
            }

            impl From<$Enum> for EventName {
                fn from(e: $Enum) -> Self {
                    EventName::$Variant(e)
                }
            }
        )*

        /// Every event the system emits (its EventBridge `detail-type`), by owning context.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventName { $($Variant($Enum)),* }

        impl EventName {
            pub const fn as_str(self) -> &'static str {
                match self { $(EventName::$Variant(e) => e.as_str()),* }
            }

            /// The owning context: the EventBridge source is `isp.<context>`.
            pub const fn context(self) -> &'static str {
                match self { $(EventName::$Variant(_) => $context),* }
            }

            /// The whole catalogue.
            pub fn all() -> Vec<EventName> {
                let mut all = Vec::new();
                $(all.extend($Enum::ALL.iter().map(|e| EventName::$Variant(*e)));)*
                all
            }

            /// A `detail-type` read back; `None` for a name the catalogue does not hold.
            pub fn parse(detail_type: &str) -> Option<EventName> {
                Self::all().into_iter().find(|e| e.as_str() == detail_type)
            }
        }
    };
}

catalogue! {
    /// The platform owner's business: platform resellers, ISPs (tenants), platform subscriptions.
    Platform: PlatformEvent "platform" {
        PlatformResellerCreated, PlatformResellerUpdated, PlatformSubscriptionExpiring, PlatformSubscriptionExpired,
        PlatformPurchasePaid,
        TenantCreated, TenantUpdated, TenantSuspended, TenantResumed,
    }
    /// Logins: users, passwords, impersonation.
    Identity: IdentityEvent "identity" {
        UserCreated, UserUpdated, UserDeleted, PasswordChanged, PasswordResetRequested, PasswordResetCompleted,
        ImpersonationStarted, ContactDetailsChanged,
    }
    /// Customers, leads, operators, customer imports, support tickets.
    Crm: CrmEvent "crm" {
        CustomerCreated, CustomerUpdated, CustomerDeleted, CustomerNoteAdded,
        LeadCreated, LeadUpdated, LeadStageChanged, LeadConverted,
        OperatorProfileUpdated, ImportChunkReady, ImportProgressed, PortalCodeRequested, TicketOpened,
    }
    /// Packages, POPs, routers and subscriptions on them (what provisioning acts on), bulk actions.
    Network: NetworkEvent "network" {
        PackageCreated, PackageUpdated, PackageDeleted, PackageOfferSet, PackageOfferWithdrawn,
        PopCreated, PopUpdated, PopDeleted,
        RouterCreated, RouterUpdated, RouterDeleted, RouterWentOffline, RouterCameBack,
        RouterHealthCheckRequested, RouterReconcileRequested,
        RouterBackupRequested, RouterBackupSweepRequested, RouterRestoreRequested,
        SubscriptionCreated, SubscriptionActivated, SubscriptionSuspended, SubscriptionRestored,
        SubscriptionCancelled, SubscriptionExpired, SubscriptionPackageChanged, SubscriptionExtended,
        SubscriptionTurboStarted, SubscriptionTurboEnded,
        SubscriptionRouterMoved, SubscriptionPasswordReset, SubscriptionReconcileRequested,
        BulkChunkReady,
        VoucherPlanUpdated, VoucherChunkReady, VouchersGenerated, VouchersChanged, VoucherExpirySweepRequested,
        VoucherLoginRequested,
    }
    /// Money: invoices, credit notes, refunds, discounts, payments, and the daily billing cycle.
    Billing: BillingEvent "billing" {
        BillingRunRequested, DunningRequested, ExpirySweepRequested,
        InvoiceDrafted, InvoiceDraftUpdated, InvoiceIssued, InvoicePaid, InvoiceVoided, InvoiceCredited,
        InvoiceOverdue, InvoiceReminderDue,
        CreditNoteIssued, RefundIssued, DiscountCreated, DiscountUpdated, DiscountDeleted, PaymentReceived,
        CommissionEarned, WalletLowBalance, TurboCheckoutPaid,
    }
    /// Messages to subscribers and staff: the release of scheduled messages, staff alerts.
    Messaging: MessagingEvent "messaging" {
        MessagesDueRequested, AlertRaised,
    }
}

// ---- payloads that workers read -----------------------------------------------------------------
// The `detail` of the events a queue worker acts on, as typed structs: emitters that build them
// write exactly these fields, and workers read them with `EventPayload::read` (a missing or
// malformed field is an error the worker drops, never a guess). Fields a worker does not read may
// be present (`event_id`, `occurred_at`, `tenant_id` are added to every detail).

/// Reads an event's `detail` as its payload type.
pub trait EventPayload: serde::de::DeserializeOwned {
    fn read(detail: &serde_json::Value) -> Result<Self, String> {
        Self::deserialize(detail).map_err(|e| format!("event detail: {e}"))
    }
}

/// `ImportChunkReady`, `BulkChunkReady`, `VoucherChunkReady`: one chunk of a job is stored (a
/// voucher chunk's `job_id` is its batch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkReady {
    pub job_id: Uuid,
    pub chunk: u32,
}
impl EventPayload for ChunkReady {}

/// `BillingRunRequested`, `DunningRequested`, `ExpirySweepRequested`, `RouterHealthCheckRequested`,
/// `RouterBackupSweepRequested`, `VoucherExpirySweepRequested`, `MessagesDueRequested` and the
/// scheduled `RouterReconcileRequested`: a scheduled job's share for one ISP (`tenant_id`, the
/// event being the ISP's) or for a page of ISPs (`tenant_ids`, up to 100, a platform event: the
/// jobs that run every few minutes, where one event per ISP was most of what an idle ISP cost),
/// as of the job's time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantJobRequested {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenant_ids: Vec<Uuid>,
    pub requested_at: Timestamp,
}
impl EventPayload for TenantJobRequested {}

impl TenantJobRequested {
    /// One ISP's share.
    pub fn one(tenant_id: Uuid, requested_at: Timestamp) -> Self {
        TenantJobRequested { tenant_id: Some(tenant_id), tenant_ids: Vec::new(), requested_at }
    }

    /// A page of ISPs' shares.
    pub fn page(tenant_ids: Vec<Uuid>, requested_at: Timestamp) -> Self {
        TenantJobRequested { tenant_id: None, tenant_ids, requested_at }
    }

    /// The ISPs whose shares these are.
    pub fn tenants(&self) -> Vec<Uuid> {
        match self.tenant_id {
            Some(t) => vec![t],
            None => self.tenant_ids.clone(),
        }
    }
}

/// The `Subscription*` events: which subscription, on which router (and the one it left).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SubscriptionChanged {
    pub subscription_id: Uuid,
    pub customer_id: Uuid,
    pub router_id: Uuid,
    #[serde(default)]
    pub previous_router_id: Option<Uuid>,
}
impl EventPayload for SubscriptionChanged {}

/// `WalletLowBalance`: a payment from an operator's wallet took it below the threshold the ISP
/// set for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletLowBalance {
    pub operator_id: Uuid,
    pub balance: i64,
    pub threshold: i64,
    pub currency: String,
}
impl EventPayload for WalletLowBalance {}

/// `VoucherLoginRequested`: send a voucher's login (code and password, read from the voucher
/// itself, never carried in the event) to a phone by SMS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherLoginRequested {
    pub batch_id: Uuid,
    pub seq: u32,
    /// E.164.
    pub phone: String,
}
impl EventPayload for VoucherLoginRequested {}

/// Router events; `router_id` is absent on the hourly whole-ISP reconcile.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RouterNamed {
    #[serde(default)]
    pub router_id: Option<Uuid>,
}
impl EventPayload for RouterNamed {}

/// `RouterBackupRequested`: take this (pending) backup of the router.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouterBackupNamed {
    pub router_id: Uuid,
    pub backup_id: Uuid,
}
impl EventPayload for RouterBackupNamed {}

/// `RouterRestoreRequested`: apply this (pending) restore to the router.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouterRestoreNamed {
    pub router_id: Uuid,
    pub restore_id: Uuid,
}
impl EventPayload for RouterRestoreNamed {}

/// `PackageUpdated`: whether routers see the change, and how many subscriptions use the package.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PackageUpdated {
    #[serde(default = "yes")]
    pub provisioning_changed: bool,
    #[serde(default = "one")]
    pub subscriptions: u64,
}
impl EventPayload for PackageUpdated {}

fn yes() -> bool {
    true
}

fn one() -> u64 {
    1
}

/// `VouchersGenerated` (a chunk of a batch exists), `VouchersChanged` (these vouchers' place on
/// the routers changed): which of a batch's vouchers provisioning converges on its routers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VouchersOnRouters {
    pub batch_id: Uuid,
    #[serde(default)]
    pub chunk: Option<u32>,
    #[serde(default)]
    pub seqs: Vec<u32>,
}
impl EventPayload for VouchersOnRouters {}

/// `VoucherPlanUpdated`: whether the routers' hotspot profile of the plan changes (speed, devices).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherPlanUpdated {
    pub plan_id: Uuid,
    pub provisioning_changed: bool,
}
impl EventPayload for VoucherPlanUpdated {}

/// `PasswordResetRequested`: an address someone asked a reset code for. Whether it has an account
/// is decided by the worker, so the request itself does the same work either way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordResetRequested {
    pub email: String,
    /// The code's 30 minutes count from here, not from its delivery.
    pub requested_at: Timestamp,
}
impl EventPayload for PasswordResetRequested {}

/// `TurboCheckoutPaid`: a checkout that pays for a turbo was settled; the turbo is bought from the
/// money now in the customer's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TurboCheckoutPaid {
    pub customer_id: Uuid,
    pub subscription_id: Uuid,
    pub code: String,
    pub checkout_id: Uuid,
}
impl EventPayload for TurboCheckoutPaid {}

/// `PortalCodeRequested`: someone asked for a portal login code for a login name in the ISP.
/// Whether a customer has it is decided by the notification worker, which makes and sends the code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalCodeRequested {
    /// `phone:<E.164>` or `username:<name>`.
    pub login: String,
    /// The code's 10 minutes count from here.
    pub requested_at: Timestamp,
}
impl EventPayload for PortalCodeRequested {}

/// `ContactDetailsChanged`: a login's e-mail or phone (where reset codes go) changed; the old
/// address is told, so a takeover does not go unnoticed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactDetailsChanged {
    pub user_id: Uuid,
    pub name: String,
    /// The address the notice goes to: the e-mail before the change.
    pub old_email: String,
    pub email_changed: bool,
    pub phone_changed: bool,
    /// Who made the change (the real person, also when impersonating).
    pub changed_by: Uuid,
}
impl EventPayload for ContactDetailsChanged {}

/// `PlatformSubscriptionExpiring`, `PlatformSubscriptionExpired`: whose subscription.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PlatformSubscriptionNotice {
    pub reseller_id: Uuid,
}
impl EventPayload for PlatformSubscriptionNotice {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainEvent {
    pub id: Uuid,
    /// EventBridge `detail-type`, e.g. `CustomerCreated`.
    pub name: String,
    /// EventBridge `source`, `isp.<context>`.
    pub source: String,
    pub tenant_id: Option<Uuid>,
    /// Ids and a version; never secrets.
    pub detail: serde_json::Value,
    pub occurred_at: Timestamp,
}

impl DomainEvent {
    pub fn new(name: impl Into<EventName>, tenant_id: Option<Uuid>, detail: serde_json::Value, now: Timestamp) -> Self {
        let name = name.into();
        let id = crate::ids::new_id();
        let mut detail = detail;
        if let serde_json::Value::Object(m) = &mut detail {
            m.insert("event_id".into(), id.to_string().into());
            m.insert("occurred_at".into(), now.to_rfc3339().into());
            if let Some(t) = tenant_id {
                m.insert("tenant_id".into(), t.to_string().into());
            }
        }
        Self {
            id,
            name: name.as_str().to_string(),
            source: format!("isp.{}", name.context()),
            tenant_id,
            detail,
            occurred_at: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn names_are_unique_and_read_back() {
        let all = EventName::all();
        let names: BTreeSet<&str> = all.iter().map(|e| e.as_str()).collect();
        assert_eq!(names.len(), all.len(), "a name in two contexts");
        for e in all {
            assert_eq!(EventName::parse(e.as_str()), Some(e));
        }
        assert_eq!(EventName::parse("CustomerCreated"), Some(EventName::Crm(CrmEvent::CustomerCreated)));
        assert_eq!(EventName::parse("Nope"), None);
    }

    #[test]
    fn payloads_read_what_emitters_write() {
        let at: Timestamp = "2026-06-15T06:00:00Z".parse().unwrap();
        let job = ChunkReady { job_id: Uuid::nil(), chunk: 7 };
        let e =
            DomainEvent::new(CrmEvent::ImportChunkReady, Some(Uuid::nil()), serde_json::to_value(&job).unwrap(), at);
        assert_eq!(ChunkReady::read(&e.detail).unwrap(), job, "event_id and tenant_id ride along");
        let run = TenantJobRequested::one(Uuid::nil(), at);
        assert_eq!(TenantJobRequested::read(&serde_json::to_value(&run).unwrap()).unwrap(), run);
        let page = TenantJobRequested::page(vec![Uuid::from_u128(1), Uuid::from_u128(2)], at);
        let read = TenantJobRequested::read(&serde_json::to_value(&page).unwrap()).unwrap();
        assert_eq!(read.tenants(), vec![Uuid::from_u128(1), Uuid::from_u128(2)]);
        assert_eq!(run.tenants(), vec![Uuid::nil()]);
        assert!(ChunkReady::read(&serde_json::json!({"job_id": Uuid::nil()})).is_err(), "no chunk, no guess");
        let p = PackageUpdated::read(&serde_json::json!({"package_id": Uuid::nil()})).unwrap();
        assert!(p.provisioning_changed && p.subscriptions == 1, "older events: assume the routers care");
    }

    #[test]
    fn the_source_is_the_owning_context() {
        let at = "2026-06-15T06:00:00Z".parse().unwrap();
        let e = DomainEvent::new(NetworkEvent::SubscriptionSuspended, Some(Uuid::nil()), serde_json::json!({}), at);
        assert_eq!((e.name.as_str(), e.source.as_str()), ("SubscriptionSuspended", "isp.network"));
        assert_eq!(e.detail["event_id"], e.id.to_string());
        let e = DomainEvent::new(BillingEvent::InvoiceIssued, None, serde_json::json!({}), at);
        assert_eq!(e.source, "isp.billing");
    }
}
