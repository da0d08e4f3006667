//! Live updates: which events an ISP's staff see pushed over the WebSocket API, as what message,
//! and who among them may see each. The connection registry and the push are `kernel::sockets`
//! and `worker-live`; this is the pure part.

use crate::actor::Actor;
use crate::event::{BillingEvent, CrmEvent, EventName, NetworkEvent};
use crate::role::Permission;
use crate::user::in_subtree;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A connection as the registry keeps it: whose it is and until when its token is good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub connection_id: String,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub role: crate::role::Role,
    pub scope: Option<String>,
    pub connected_at: chrono::DateTime<chrono::Utc>,
    /// The access token's expiry: nothing is pushed after it (renew with a fresh token).
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

impl Connection {
    /// The caller it stands for (for the permission checks of what is pushed).
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.user_id,
            tenant_id: Some(self.tenant_id),
            reseller_id: None,
            role: self.role,
            scope: self.scope.clone(),
            impersonator_id: None,
            key: None,
        }
    }
}

/// What is pushed for one event, and who may receive it.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveMessage {
    /// Receivers need this permission...
    pub needs: Permission,
    /// ...and, when the event is about a customer of an operator's subtree, to see that scope
    /// (None: the ISP's own, seen by unscoped staff only when `customer_bound`).
    pub scope: Option<String>,
    /// About one customer (operators see it only within their subtree).
    pub customer_bound: bool,
    /// For this one person only (a job's progress, for whoever started it).
    pub only_user: Option<Uuid>,
    /// The whole ISP's figures: not for operators (who see their own subtree's or POPs').
    pub isp_wide: bool,
    /// The JSON sent: `{"type": ..., "tenant_id": ..., "at": ..., "data": {...}}`.
    pub body: serde_json::Value,
}

/// The events pushed live.
pub fn pushed(name: EventName) -> bool {
    matches!(
        name,
        EventName::Network(NetworkEvent::RouterWentOffline | NetworkEvent::RouterCameBack)
            | EventName::Billing(BillingEvent::PaymentReceived)
            | EventName::Crm(CrmEvent::TicketOpened | CrmEvent::ImportProgressed)
    )
}

/// The message for an event's `detail` (None: not pushed, or a detail without what it needs).
pub fn message_for(name: EventName, detail: &serde_json::Value) -> Option<LiveMessage> {
    let tenant = detail.get("tenant_id")?.clone();
    let at = detail.get("occurred_at").cloned().unwrap_or(serde_json::Value::Null);
    let pick = |fields: &[&str]| -> serde_json::Value {
        fields.iter().filter_map(|f| detail.get(*f).map(|v| (f.to_string(), v.clone()))).collect()
    };
    let (kind, needs, customer_bound, data) = match name {
        EventName::Network(NetworkEvent::RouterWentOffline) => (
            "router.offline",
            Permission::NetworkRead,
            false,
            pick(&["router_id", "router_name", "pop_id", "error_code"]),
        ),
        EventName::Network(NetworkEvent::RouterCameBack) => {
            ("router.online", Permission::NetworkRead, false, pick(&["router_id", "router_name", "pop_id"]))
        }
        EventName::Billing(BillingEvent::PaymentReceived) => (
            "payment.received",
            Permission::BillingRead,
            true,
            pick(&["payment_id", "customer_id", "invoice_id", "receipt_number", "amount", "currency", "method"]),
        ),
        EventName::Crm(CrmEvent::TicketOpened) => (
            "ticket.opened",
            Permission::TicketsRead,
            true,
            pick(&[
                "ticket_id",
                "token",
                "subject",
                "category",
                "priority",
                "customer_id",
                "customer_name",
                "by_customer",
            ]),
        ),
        EventName::Crm(CrmEvent::ImportProgressed) => (
            "import.progress",
            Permission::CustomersRead,
            false,
            pick(&["job_id", "kind", "chunk", "chunks", "total_rows", "imported", "failed", "skipped"]),
        ),
        _ => return None,
    };
    let only_user = match name {
        EventName::Crm(CrmEvent::ImportProgressed) => Some(detail.get("started_by")?.as_str()?.parse().ok()?),
        _ => None,
    };
    let scope = detail.get("scope").and_then(|s| s.as_str()).map(str::to_string);
    Some(LiveMessage {
        needs,
        scope,
        customer_bound,
        only_user,
        isp_wide: false,
        body: serde_json::json!({"type": kind, "tenant_id": tenant, "at": at, "data": data}),
    })
}

/// The dashboard's router counts, pushed after a router's status changed (`counts`: the
/// dashboard's `routers`), to the unscoped staff who read the network.
pub fn router_counts(tenant: Uuid, at: chrono::DateTime<chrono::Utc>, counts: serde_json::Value) -> LiveMessage {
    dashboard_counts("dashboard.routers", Permission::NetworkRead, tenant, at, counts)
}

/// The dashboard's customer counts, pushed after a payment (`counts`: the dashboard's
/// `customers`), to the unscoped staff who read customers.
pub fn customer_counts(tenant: Uuid, at: chrono::DateTime<chrono::Utc>, counts: serde_json::Value) -> LiveMessage {
    dashboard_counts("dashboard.customers", Permission::CustomersRead, tenant, at, counts)
}

/// The whole ISP's counters: never to an operator or a branch's staff, whose dashboards are their own.
fn dashboard_counts(
    kind: &str,
    needs: Permission,
    tenant: Uuid,
    at: chrono::DateTime<chrono::Utc>,
    counts: serde_json::Value,
) -> LiveMessage {
    LiveMessage {
        needs,
        scope: None,
        customer_bound: false,
        only_user: None,
        isp_wide: true,
        body: serde_json::json!({"type": kind, "tenant_id": tenant, "at": at, "data": counts}),
    }
}

/// Whether an event may change the dashboard's customer counts (a payment restores, renews or
/// activates; the counters moved in its own transaction).
pub fn moves_customer_counts(name: EventName) -> bool {
    matches!(name, EventName::Billing(BillingEvent::PaymentReceived))
}

/// Whether an event changes the dashboard's router counts.
pub fn moves_router_counts(name: EventName) -> bool {
    matches!(name, EventName::Network(NetworkEvent::RouterWentOffline | NetworkEvent::RouterCameBack))
}

impl LiveMessage {
    /// Whether `c` may receive it at `now`: its ISP's, its token still good, its permission, and
    /// for an operator only what is about its own subtree's customers.
    pub fn for_connection(&self, c: &Connection, tenant: Uuid, now: chrono::DateTime<chrono::Utc>) -> bool {
        if c.tenant_id != tenant || c.expires_at <= now || self.only_user.is_some_and(|u| u != c.user_id) {
            return false;
        }
        let actor = c.actor();
        if !actor.can(self.needs) || (self.isp_wide && actor.is_confined()) {
            return false;
        }
        if actor.is_confined() && self.customer_bound {
            return match (&self.scope, &c.scope) {
                (Some(owner), Some(mine)) => in_subtree(Some(owner), mine),
                _ => false,
            };
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::role::Role;

    fn conn(tenant: Uuid, role: Role, scope: Option<&str>) -> Connection {
        Connection {
            connection_id: "c1".into(),
            tenant_id: tenant,
            user_id: Uuid::from_u128(5),
            role,
            scope: scope.map(str::to_string),
            connected_at: "2026-12-07T10:00:00Z".parse().unwrap(),
            expires_at: "2026-12-07T10:15:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn a_message_reaches_its_isps_staff_who_may_see_it_while_their_token_is_good() {
        let (t, other) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let now = "2026-12-07T10:05:00Z".parse().unwrap();
        let detail = serde_json::json!({"tenant_id": t, "occurred_at": "2026-12-07T10:04:59Z", "router_id": Uuid::nil(),
            "router_name": "core", "pop_id": null, "status": "offline", "version": 3});
        let m = message_for(EventName::Network(NetworkEvent::RouterWentOffline), &detail).unwrap();
        assert_eq!(m.body["type"], "router.offline");
        assert_eq!(m.body["data"]["router_name"], "core");
        assert!(m.body["data"].get("version").is_none(), "only what the message names");
        assert!(m.for_connection(&conn(t, Role::Admin, None), t, now));
        assert!(!m.for_connection(&conn(other, Role::Admin, None), t, now), "never another ISP's");
        assert!(!m.for_connection(&conn(t, Role::Accountant, None), t, now), "the accountant may not read the network");
        let late = "2026-12-07T10:15:00Z".parse().unwrap();
        assert!(!m.for_connection(&conn(t, Role::Admin, None), t, late), "never after the token expired");
        assert!(m.for_connection(&conn(t, Role::Operator, Some("op1")), t, now), "routers are not customer-bound");
        let counts = router_counts(t, now, serde_json::json!({"online": 1, "offline": 1}));
        assert!(counts.for_connection(&conn(t, Role::Manager, None), t, now));
        assert!(
            !counts.for_connection(&conn(t, Role::Operator, Some("op1")), t, now),
            "the ISP's figures, not an operator's"
        );
    }

    #[test]
    fn a_payment_reaches_an_operator_only_within_its_subtree() {
        let t = Uuid::from_u128(1);
        let now = "2026-12-07T10:05:00Z".parse().unwrap();
        let mine = serde_json::json!({"tenant_id": t, "payment_id": Uuid::nil(), "amount": 500, "scope": "op1/sub1"});
        let m = message_for(EventName::Billing(BillingEvent::PaymentReceived), &mine).unwrap();
        assert!(m.for_connection(&conn(t, Role::Operator, Some("op1")), t, now));
        assert!(!m.for_connection(&conn(t, Role::Operator, Some("op2")), t, now));
        let isp_own = serde_json::json!({"tenant_id": t, "payment_id": Uuid::nil(), "amount": 500});
        let m = message_for(EventName::Billing(BillingEvent::PaymentReceived), &isp_own).unwrap();
        assert!(!m.for_connection(&conn(t, Role::Operator, Some("op1")), t, now));
        assert!(m.for_connection(&conn(t, Role::Manager, None), t, now));
        assert!(!pushed(EventName::Billing(BillingEvent::InvoiceIssued)));
        let progress = serde_json::json!({"tenant_id": t, "job_id": Uuid::nil(), "chunk": 0, "imported": 10,
            "started_by": Uuid::from_u128(5)});
        let m = message_for(EventName::Crm(CrmEvent::ImportProgressed), &progress).unwrap();
        assert!(m.for_connection(&conn(t, Role::Manager, None), t, now), "its starter (user 5)");
        let other_user = Connection { user_id: Uuid::from_u128(6), ..conn(t, Role::Admin, None) };
        assert!(!m.for_connection(&other_user, t, now), "nobody else");
        assert!(message_for(EventName::Billing(BillingEvent::InvoiceIssued), &isp_own).is_none());
    }
}
