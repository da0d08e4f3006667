//! `api-routers`: routers (NAS) of the ISP (`/v1/routers`), and their import from CSV. A router's
//! password is write-only.

use domain::Error;
use domain::actor::Actor;
use domain::network::{Router, RouterStatus};
use isp_http::{Incoming, ListResponse, Problem, Reply, created_outcome, finish, no_content, ok};
use lambda_http::{Body, Request, Response};
use services::App;
use services::network::{self, CreateRouter, RouterFilter, RouterImport, UpdateRouter};
use uuid::Uuid;

pub const ROUTES: &[&str] = &[
    "POST /v1/routers",
    "GET /v1/routers",
    "POST /v1/routers/import",
    "GET /v1/routers/{id}",
    "PATCH /v1/routers/{id}",
    "DELETE /v1/routers/{id}",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.actor(&app.tokens, app.now())?;
    match route {
        "POST /v1/routers" => create(app, &actor, &r).await,
        "GET /v1/routers" => list(app, &actor, &r).await,
        "POST /v1/routers/import" => import(app, &actor, &r).await,
        "GET /v1/routers/{id}" => get(app, &actor, params.id("id", "router")?).await,
        "PATCH /v1/routers/{id}" => update(app, &actor, &r, params.id("id", "router")?).await,
        _ => delete(app, &actor, &r, params.id("id", "router")?).await,
    }
}

/// Add a router. Name and host:port are unique in the ISP; the password is stored encrypted and
/// never returned.
#[utoipa::path(post, path = "/v1/routers", tag = "network", request_body = CreateRouter,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeats return the first answer")),
    responses((status = 201, body = Router), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: CreateRouter = r.json()?;
    created_outcome(network::create_router(app, actor, input, r.idempotent()?.as_ref()).await?)
}

/// Routers by name; filter by POP or status. Operators assigned to POPs see only those POPs' routers.
#[utoipa::path(get, path = "/v1/routers", tag = "network",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query), ("pop_id" = Option<Uuid>, Query),
        ("status" = Option<RouterStatus>, Query)),
    responses((status = 200, body = ListResponse<Router>), (status = 400, body = Problem)), security(("bearer" = [])))]
pub async fn list(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["limit", "cursor", "pop_id", "status"])?;
    let page = r.pagination()?;
    let pop_id = r.query_id("pop_id")?;
    let status = match r.query("status") {
        None => None,
        Some(s) => Some(
            RouterStatus::parse(s)
                .ok_or_else(|| Error::field("status", "must be unknown, online, offline or error"))?,
        ),
    };
    let out =
        network::list_routers(app, actor, RouterFilter { pop_id, status }, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

/// Import routers from CSV (`text/csv`; header `name,host,port,username,password,tls,tls_insecure,
/// pop_code,routeros_version`, the first four required). Valid rows are created; the others are
/// reported with their line numbers.
#[utoipa::path(post, path = "/v1/routers/import", tag = "network",
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = RouterImport), (status = 415, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn import(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let text = r.csv()?;
    ok(&network::import_routers(app, actor, text.as_bytes()).await?)
}

#[utoipa::path(get, path = "/v1/routers/{id}", tag = "network", params(("id" = Uuid, Path)),
    responses((status = 200, body = Router), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&network::get_router(app, actor, id).await?)
}

/// Change a router; send the version you read. A `password` replaces the stored one.
#[utoipa::path(patch, path = "/v1/routers/{id}", tag = "network", request_body = UpdateRouter,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = Router), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn update(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: UpdateRouter = r.json()?;
    ok(&network::update_router(app, actor, id, input, r.if_match()?).await?)
}

/// Delete a router without subscriptions (409 `router_in_use` otherwise: move them first).
#[utoipa::path(delete, path = "/v1/routers/{id}", tag = "network",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
pub async fn delete(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    network::delete_router(app, actor, id, r.if_match()?).await?;
    no_content()
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, import, get, update, delete))]
pub struct Doc;
