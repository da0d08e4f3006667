//! `api-dashboard`: `GET /v1/dashboard`, from counters the writes keep (no counting at request time).

use domain::actor::Actor;
use isp_http::{Incoming, Problem, Reply, finish, ok};
use kernel::App;
use kernel::projections::dashboard::{self, Dashboard};
use lambda_http::{Body, Request, Response};

pub const ROUTES: &[&str] = &["GET /v1/dashboard"];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    r.route(ROUTES)?;
    let actor = r.caller(app).await?;
    get(app, &actor, &r).await
}

/// Customers by status, new this month, subscriptions expiring within 1/3/7 days, routers by status;
/// for the ISP, for one of its branches (`branch_id`), or for the caller's own subtree or branch.
#[utoipa::path(get, path = "/v1/dashboard", tag = "dashboard",
    params(("branch_id" = Option<uuid::Uuid>, Query, description = "one branch's figures (the ISP's staff)")),
    responses((status = 200, body = Dashboard), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["branch_id"])?;
    ok(&dashboard::get_dashboard(app, actor, r.query_id("branch_id")?).await?)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(get))]
pub struct Doc;
