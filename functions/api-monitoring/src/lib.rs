//! `api-monitoring`: what the health sweep's monitoring saw of a router, now and over time (for
//! charts). What an ISP watches (ping targets, thresholds) is its tenant setting `monitoring`.

use isp_http::{Incoming, Problem, Reply, finish, ok};
use kernel::App;
use lambda_http::{Body, Request, Response};
use network::monitoring::{MonitoringHistory, Resolution, RouterMonitoring};

pub const ROUTES: &[&str] = &["GET /v1/monitoring/routers/{id}", "GET /v1/monitoring/routers/{id}/history"];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.actor(&app.tokens, app.now())?;
    let id = params.id("id", "router")?;
    match route {
        "GET /v1/monitoring/routers/{id}" => router_state(app, &r, &actor, id).await,
        _ => router_history(app, &r, &actor, id).await,
    }
}

/// A router's monitoring now: the last sweep's point (CPU, memory, uptime, latency and loss to
/// each target, interface link state and rates, new warning and error log lines) and the
/// conditions in an episode.
#[utoipa::path(get, path = "/v1/monitoring/routers/{id}", tag = "network", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = RouterMonitoring), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn router_state(app: &App, r: &Incoming, actor: &domain::actor::Actor, id: uuid::Uuid) -> Reply {
    r.allow_query(&[])?;
    ok(&network::monitoring::router_monitoring(app, actor, id).await?)
}

/// A router's history for charts: 5-minute points (kept a week) or hourly summaries (kept 90
/// days), oldest first.
#[utoipa::path(get, path = "/v1/monitoring/routers/{id}/history", tag = "network",
    params(("id" = uuid::Uuid, Path), ("resolution" = Option<String>, Query, description = "5m (default) or 1h"),
        ("from" = Option<String>, Query, description = "RFC 3339"), ("to" = Option<String>, Query, description = "RFC 3339")),
    responses((status = 200, body = MonitoringHistory), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn router_history(app: &App, r: &Incoming, actor: &domain::actor::Actor, id: uuid::Uuid) -> Reply {
    r.allow_query(&["resolution", "from", "to"])?;
    let resolution = Resolution::parse(r.query("resolution"))?;
    let (from, to) = (r.query_time("from")?, r.query_time("to")?);
    ok(&network::monitoring::router_history(app, actor, id, resolution, from, to).await?)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(router_state, router_history))]
pub struct Doc;
