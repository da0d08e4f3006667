//! `api-platform-analytics`: the platform as a business. The platform owner's view
//! (`/v1/platform/analytics`: revenue by month, reseller and gateway, ISPs and subscribers over
//! time, churn, slot usage) and a reseller's (`/v1/platform-resellers/{id}/analytics`: its ISPs,
//! their subscribers, what it paid the platform), from the platform's own aggregates.

use domain::actor::Actor;
use isp_http::{Incoming, Problem, Reply, finish, ok};
use kernel::App;
use kernel::projections::platform_stats::{self, PlatformAnalytics, ResellerAnalytics};
use lambda_http::{Body, Request, Response};
use uuid::Uuid;

pub const ROUTES: &[&str] = &["GET /v1/platform/analytics", "GET /v1/platform-resellers/{id}/analytics"];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.caller(app).await?;
    match route {
        "GET /v1/platform/analytics" => platform(app, &actor, &r).await,
        _ => reseller(app, &actor, &r, params.id("id", "platform reseller")?).await,
    }
}

/// The platform month by month (default: the last 12, at most 24): its revenue from resellers'
/// purchases by gateway, ISPs (new, churned), subscribers (new, lost, churn rate), what the ISPs
/// collected by method; and per reseller its slots, ISPs, subscribers and what it paid. ISP
/// figures are as of the daily snapshot (`snapshot_at`); revenue is live. The platform owner's.
#[utoipa::path(get, path = "/v1/platform/analytics", tag = "platform",
    params(("from" = Option<String>, Query, description = "first month, e.g. 2026-01"),
        ("to" = Option<String>, Query, description = "last month (default: this one)")),
    responses((status = 200, body = PlatformAnalytics), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn platform(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["from", "to"])?;
    ok(&platform_stats::platform(app, actor, r.query("from"), r.query("to")).await?)
}

/// A reseller's ISPs month by month and as they are now, its slots, and what it paid the
/// platform. The reseller itself or the platform owner.
#[utoipa::path(get, path = "/v1/platform-resellers/{id}/analytics", tag = "platform",
    params(("id" = Uuid, Path), ("from" = Option<String>, Query, description = "first month, e.g. 2026-01"),
        ("to" = Option<String>, Query, description = "last month (default: this one)")),
    responses((status = 200, body = ResellerAnalytics), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn reseller(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    r.allow_query(&["from", "to"])?;
    ok(&platform_stats::reseller(app, actor, id, r.query("from"), r.query("to")).await?)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(platform, reseller))]
pub struct Doc;
