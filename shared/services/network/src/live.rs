//! Live router operations behind `/v1/routers/{id}/...`: test connection, resources, interfaces
//! and active sessions, answered by the provisioning function through [`kernel::live`].

use crate::routers::get_router;
use domain::Result;
use domain::actor::Actor;
use domain::live::*;
use kernel::App;
use kernel::live::unexpected;
use uuid::Uuid;

/// `POST /v1/routers/{id}/test`: connect, log in, read identity and version (a new login, as
/// that is what is tested). The outcome is recorded as the router's health.
pub async fn test_router(app: &App, actor: &Actor, id: Uuid) -> Result<RouterTest> {
    let router = get_router(app, actor, id).await?;
    match app.live(LiveRequest::Test { tenant_id: router.tenant_id, router_id: id }).await? {
        LiveReply::Test(t) => Ok(t),
        other => Err(unexpected(other)),
    }
}

pub async fn router_resources(app: &App, actor: &Actor, id: Uuid) -> Result<RouterResources> {
    let router = get_router(app, actor, id).await?;
    match app.live(LiveRequest::Resources { tenant_id: router.tenant_id, router_id: id }).await? {
        LiveReply::Resources(r) => Ok(r),
        other => Err(unexpected(other)),
    }
}

pub async fn router_interfaces(app: &App, actor: &Actor, id: Uuid) -> Result<Vec<RouterInterface>> {
    let router = get_router(app, actor, id).await?;
    match app.live(LiveRequest::Interfaces { tenant_id: router.tenant_id, router_id: id }).await? {
        LiveReply::Interfaces(r) => Ok(r),
        other => Err(unexpected(other)),
    }
}

/// PPP and hotspot sessions online on the router now.
pub async fn router_sessions(app: &App, actor: &Actor, id: Uuid) -> Result<Vec<OnlineSession>> {
    let router = get_router(app, actor, id).await?;
    match app.live(LiveRequest::Sessions { tenant_id: router.tenant_id, router_id: id }).await? {
        LiveReply::Sessions(r) => Ok(r),
        other => Err(unexpected(other)),
    }
}
