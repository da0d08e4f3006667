//! `api-platform-resellers`: `/v1/platform-resellers` (platform owner; a reseller may read itself).

use domain::actor::Actor;
use domain::platform::PlatformReseller;
use identity::platform::{self, CreateReseller, UpdateReseller};
use isp_http::{Incoming, ListResponse, Problem, Reply, created, finish, ok};
use kernel::App;
use lambda_http::{Body, Request, Response};

pub const ROUTES: &[&str] = &[
    "POST /v1/platform-resellers",
    "GET /v1/platform-resellers",
    "GET /v1/platform-resellers/{id}",
    "PATCH /v1/platform-resellers/{id}",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.actor(&app.tokens, app.now())?;
    match route {
        "POST /v1/platform-resellers" => create(app, &actor, &r).await,
        "GET /v1/platform-resellers" => list(app, &actor, &r).await,
        "GET /v1/platform-resellers/{id}" => get(app, &actor, params.id("id", "platform reseller")?).await,
        _ => update(app, &actor, &r, params.id("id", "platform reseller")?).await,
    }
}

/// Create a platform reseller with its first login.
#[utoipa::path(post, path = "/v1/platform-resellers", tag = "platform", request_body = CreateReseller,
    responses((status = 201, body = PlatformReseller), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn create(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    created(&platform::create_reseller(app, actor, r.json()?).await?)
}

#[utoipa::path(get, path = "/v1/platform-resellers", tag = "platform",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<PlatformReseller>), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["limit", "cursor"])?;
    let page = r.pagination()?;
    let out = platform::list_resellers(app, actor, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

#[utoipa::path(get, path = "/v1/platform-resellers/{id}", tag = "platform", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = PlatformReseller), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(app: &App, actor: &Actor, id: uuid::Uuid) -> Reply {
    ok(&platform::get_reseller(app, actor, id).await?)
}

/// Change a reseller: name, phone, subscription end, ISP slots (never below the ISPs it has).
#[utoipa::path(patch, path = "/v1/platform-resellers/{id}", tag = "platform", request_body = UpdateReseller,
    params(("id" = uuid::Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = PlatformReseller), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn update(app: &App, actor: &Actor, r: &Incoming, id: uuid::Uuid) -> Reply {
    let input: UpdateReseller = r.json()?;
    ok(&platform::update_reseller(app, actor, id, input, r.if_match()?).await?)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, get, update))]
pub struct Doc;
