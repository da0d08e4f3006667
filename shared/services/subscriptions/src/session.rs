//! A subscriber's session on its router, live: `GET /v1/subscriptions/{id}/session` and
//! `POST /v1/subscriptions/{id}/disconnect`, answered by the provisioning function through
//! [`kernel::live`].

use domain::actor::Actor;
use domain::live::*;
use domain::package::ConnectionType;
use domain::role::Permission;
use domain::{Error, Result};
use kernel::App;
use kernel::live::unexpected;
use kernel::support::{Audited, StoreResultExt, audit};
use store::Tx;
use uuid::Uuid;

/// The subscription's account on its router, for a session operation.
async fn session_target(
    app: &App,
    actor: &Actor,
    id: Uuid,
    permission: Permission,
) -> Result<(Uuid, Uuid, String, SessionService)> {
    actor.require(permission)?;
    let rec = crate::subscriptions::load_record(app, actor, id).await?;
    target_of(rec.subscription)
}

/// Where a subscription's session lives and what kind it is (a static line has none).
fn target_of(s: domain::subscription::Subscription) -> Result<(Uuid, Uuid, String, SessionService)> {
    let service = match s.connection_type {
        ConnectionType::Pppoe => SessionService::Pppoe,
        ConnectionType::Hotspot => SessionService::Hotspot,
        ConnectionType::Static => {
            return Err(Error::Unprocessable {
                code: "no_session",
                detail: "a static-IP subscription has no PPP or hotspot session on the router".into(),
            });
        }
    };
    Ok((s.tenant_id, s.router_id, s.username, service))
}

/// `GET /v1/subscriptions/{id}/session`: online or not, address, uptime, bytes.
pub async fn subscription_session(app: &App, actor: &Actor, id: Uuid) -> Result<SubscriberSession> {
    let (tenant_id, router_id, username, service) = session_target(app, actor, id, Permission::CustomersRead).await?;
    let request = LiveRequest::Session { tenant_id, router_id, subscription_id: id, username, service };
    match app.live(request).await? {
        LiveReply::Session(s) => Ok(s),
        other => Err(unexpected(other)),
    }
}

/// `GET /v1/portal/subscriptions/{id}/session`: the subscriber's own session, live (the key is
/// built from the token's customer: another's subscription is not there).
pub async fn subscriber_session(app: &App, s: domain::portal::Subscriber, id: Uuid) -> Result<SubscriberSession> {
    let k = store::keys::subscription(s.tenant_id, s.customer_id, id, None, None, None);
    let rec: crate::subscriptions::SubscriptionRecord =
        app.store.get(&k).await.or_500()?.ok_or_else(|| Error::not_found("subscription"))?;
    if rec.subscription.customer_id != s.customer_id {
        return Err(Error::not_found("subscription"));
    }
    let (tenant_id, router_id, username, service) = target_of(rec.subscription)?;
    let request = LiveRequest::Session { tenant_id, router_id, subscription_id: id, username, service };
    match app.live(request).await? {
        LiveReply::Session(s) => Ok(s),
        other => Err(unexpected(other)),
    }
}

/// `POST /v1/subscriptions/{id}/disconnect`: drop its active session(s); the CPE dials again
/// (with whatever the router now says for it). Audited.
pub async fn disconnect_subscription(app: &App, actor: &Actor, id: Uuid) -> Result<SessionsDropped> {
    let (tenant_id, router_id, username, service) = session_target(app, actor, id, Permission::CustomersWrite).await?;
    let request = LiveRequest::Disconnect { tenant_id, router_id, subscription_id: id, username, service };
    let dropped = match app.live(request).await? {
        LiveReply::Disconnected(d) => d,
        other => return Err(unexpected(other)),
    };
    let mut tx = Tx::new();
    tx.put_audit(&audit(
        actor,
        Some(tenant_id),
        Audited {
            action: "subscription.disconnected",
            entity: "subscription",
            id: id.to_string(),
            before: None,
            after: Some(serde_json::json!({"router_id": router_id, "sessions_dropped": dropped.disconnected})),
        },
        app.now(),
    ));
    app.store.commit(tx).await.or_500()?;
    Ok(dropped)
}
