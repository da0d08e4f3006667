//! `api-operators`: the operator tree and operators' business profiles (`/v1/operators`).

use crm::operators::{self, Operator, PutOperatorProfile};
use domain::actor::Actor;
use domain::user::OperatorProfile;
use isp_http::{Incoming, Problem, Reply, finish, ok};
use kernel::App;
use lambda_http::{Body, Request, Response};
use uuid::Uuid;

pub const ROUTES: &[&str] = &["GET /v1/operators", "GET /v1/operators/{id}", "PUT /v1/operators/{id}/profile"];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.actor(&app.tokens, app.now())?;
    match route {
        "GET /v1/operators" => list(app, &actor, &r).await,
        "GET /v1/operators/{id}" => get(app, &actor, params.id("id", "operator")?).await,
        _ => put_profile(app, &actor, &r, params.id("id", "operator")?).await,
    }
}

/// Operators and sub-operators with their profiles, each sub-operator after its operator. An
/// operator sees itself and its subtree.
#[utoipa::path(get, path = "/v1/operators", tag = "operators",
    responses((status = 200, body = Vec<Operator>), (status = 403, body = Problem)), security(("bearer" = [])))]
pub async fn list(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&[])?;
    ok(&operators::list_operators(app, actor).await?)
}

/// One operator: user, profile and the packages offered to it.
#[utoipa::path(get, path = "/v1/operators/{id}", tag = "operators", params(("id" = Uuid, Path)),
    responses((status = 200, body = Operator), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&operators::get_operator(app, actor, id).await?)
}

/// Set an operator's commission, credit limit and POPs (send the profile's version; 0 for a new one).
#[utoipa::path(put, path = "/v1/operators/{id}/profile", tag = "operators", request_body = PutOperatorProfile,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = OperatorProfile), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn put_profile(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: PutOperatorProfile = r.json()?;
    ok(&operators::put_profile(app, actor, id, input, r.if_match()?).await?)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(list, get, put_profile))]
pub struct Doc;
