//! `POST /v1/subscriptions/{id}/reprovision`: the "push to router again" button.

use chrono::{DateTime, Utc};
use domain::Result;
use domain::actor::Actor;
use domain::event::{DomainEvent, NetworkEvent};
use domain::role::Permission;
use kernel::App;
use kernel::support::{Audited, StoreResultExt, audit};
use serde::Serialize;
use store::Tx;
use uuid::Uuid;

/// The answer to `POST /v1/subscriptions/{id}/reprovision`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReprovisionRequested {
    pub subscription_id: Uuid,
    pub router_id: Uuid,
    pub requested_at: DateTime<Utc>,
}

/// Asks the provisioning worker to converge one subscription on its router now
/// (`SubscriptionReconcileRequested`, with its audit entry): the "push to router again" button
/// after someone changed the router by hand. The outcome shows on the subscription's
/// `provisioning` record.
pub async fn request_subscription_reconcile(app: &App, actor: &Actor, id: Uuid) -> Result<ReprovisionRequested> {
    actor.require(Permission::CustomersWrite)?;
    let s = crate::subscriptions::load_record(app, actor, id).await?.subscription;
    let now = app.now();
    let mut tx = Tx::new();
    tx.put_event(&DomainEvent::new(
        NetworkEvent::SubscriptionReconcileRequested,
        Some(s.tenant_id),
        crate::subscriptions::event_detail(&s, serde_json::json!({"requested_by": actor.user_id})),
        now,
    ));
    tx.put_audit(&audit(
        actor,
        Some(s.tenant_id),
        Audited {
            action: "subscription.reprovision_requested",
            entity: "subscription",
            id: id.to_string(),
            before: None,
            after: None,
        },
        now,
    ));
    app.store.commit(tx).await.or_500()?;
    Ok(ReprovisionRequested { subscription_id: id, router_id: s.router_id, requested_at: now })
}
