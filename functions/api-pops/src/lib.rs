//! `api-pops`: points of presence (`/v1/pops`).

use domain::actor::Actor;
use domain::network::Pop;
use isp_http::{Incoming, ListResponse, Problem, Reply, created_outcome, finish, no_content, ok};
use kernel::App;
use lambda_http::{Body, Request, Response};
use network::pops::{self, CreatePop, UpdatePop};
use uuid::Uuid;

pub const ROUTES: &[&str] =
    &["POST /v1/pops", "GET /v1/pops", "GET /v1/pops/{id}", "PATCH /v1/pops/{id}", "DELETE /v1/pops/{id}"];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.caller(app).await?;
    match route {
        "POST /v1/pops" => create(app, &actor, &r).await,
        "GET /v1/pops" => list(app, &actor, &r).await,
        "GET /v1/pops/{id}" => get(app, &actor, params.id("id", "pop")?).await,
        "PATCH /v1/pops/{id}" => update(app, &actor, &r, params.id("id", "pop")?).await,
        _ => delete(app, &actor, &r, params.id("id", "pop")?).await,
    }
}

/// Create a POP; its code is unique in the ISP.
#[utoipa::path(post, path = "/v1/pops", tag = "network", request_body = CreatePop,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeats return the first answer")),
    responses((status = 201, body = Pop), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: CreatePop = r.json()?;
    created_outcome(pops::create_pop(app, actor, input, r.idempotent()?.as_ref()).await?)
}

/// POPs by code; operators assigned to POPs see only theirs.
#[utoipa::path(get, path = "/v1/pops", tag = "network",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<Pop>), (status = 400, body = Problem)), security(("bearer" = [])))]
pub async fn list(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["limit", "cursor"])?;
    let page = r.pagination()?;
    let out = pops::list_pops(app, actor, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

#[utoipa::path(get, path = "/v1/pops/{id}", tag = "network", params(("id" = Uuid, Path)),
    responses((status = 200, body = Pop), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&pops::get_pop(app, actor, id).await?)
}

/// Change a POP; send the version you read.
#[utoipa::path(patch, path = "/v1/pops/{id}", tag = "network", request_body = UpdatePop,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = Pop), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn update(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: UpdatePop = r.json()?;
    ok(&pops::update_pop(app, actor, id, input, r.if_match()?).await?)
}

/// Delete a POP without routers (409 `pop_in_use` otherwise).
#[utoipa::path(delete, path = "/v1/pops/{id}", tag = "network",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
pub async fn delete(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    pops::delete_pop(app, actor, id, r.if_match()?).await?;
    no_content()
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, get, update, delete))]
pub struct Doc;
