//! `api-platform-resellers`: `/v1/platform-resellers` (platform owner; a reseller may read itself).

use domain::actor::Actor;
use domain::checkout::Checkout;
use domain::platform::PlatformReseller;
use identity::platform::{self, CreateReseller, UpdateReseller};
use isp_http::{Incoming, ListResponse, Problem, Reply, created, created_outcome, finish, ok};
use kernel::App;
use lambda_http::{Body, Request, Response};
use payments::platform::{self as platform_checkouts, CreatePlatformCheckout};

pub const ROUTES: &[&str] = &[
    "POST /v1/platform-resellers",
    "GET /v1/platform-resellers",
    "GET /v1/platform-resellers/{id}",
    "PATCH /v1/platform-resellers/{id}",
    "POST /v1/platform-resellers/{id}/checkouts",
    "GET /v1/platform-resellers/{id}/checkouts",
    "GET /v1/platform-resellers/{id}/checkouts/{checkout_id}",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.caller(app).await?;
    match route {
        "POST /v1/platform-resellers" => create(app, &actor, &r).await,
        "GET /v1/platform-resellers" => list(app, &actor, &r).await,
        "GET /v1/platform-resellers/{id}" => get(app, &actor, params.id("id", "platform reseller")?).await,
        "POST /v1/platform-resellers/{id}/checkouts" => {
            buy(app, &actor, &r, params.id("id", "platform reseller")?).await
        }
        "GET /v1/platform-resellers/{id}/checkouts" => {
            purchases(app, &actor, &r, params.id("id", "platform reseller")?).await
        }
        "GET /v1/platform-resellers/{id}/checkouts/{checkout_id}" => {
            let id = params.id("id", "platform reseller")?;
            purchase(app, &actor, id, params.id("checkout_id", "checkout")?).await
        }
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

/// A reseller (or the platform owner for it) buys ISP slots or a renewal online, through one of
/// the platform owner's gateway accounts, at the prices the owner set: answers where to pay.
/// Once the gateway confirms, `isp_limit` is raised or the subscription extended (an expired one
/// is lifted at once).
#[utoipa::path(post, path = "/v1/platform-resellers/{id}/checkouts", tag = "platform",
    request_body = CreatePlatformCheckout,
    params(("id" = uuid::Uuid, Path), ("Idempotency-Key" = String, Header, description = "required; a repeat returns the first checkout")),
    responses((status = 201, body = Checkout), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 502, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn buy(app: &App, actor: &Actor, r: &Incoming, id: uuid::Uuid) -> Reply {
    let input: CreatePlatformCheckout = r.json()?;
    let payer_ip = r.source_ip.clone().unwrap_or_else(|| "127.0.0.1".into());
    let http = payments::gateway_http()?;
    created_outcome(
        platform_checkouts::create_platform_checkout(app, actor, id, input, r.idempotent()?.as_ref(), http, &payer_ip)
            .await?,
    )
}

/// A reseller's purchases, oldest first.
#[utoipa::path(get, path = "/v1/platform-resellers/{id}/checkouts", tag = "platform",
    params(("id" = uuid::Uuid, Path), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<Checkout>), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn purchases(app: &App, actor: &Actor, r: &Incoming, id: uuid::Uuid) -> Reply {
    r.allow_query(&["limit", "cursor"])?;
    let page = r.pagination()?;
    let out = platform_checkouts::list_platform_checkouts(app, actor, id, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

/// One purchase: its state and its history with the gateway.
#[utoipa::path(get, path = "/v1/platform-resellers/{id}/checkouts/{checkout_id}", tag = "platform",
    params(("id" = uuid::Uuid, Path), ("checkout_id" = uuid::Uuid, Path)),
    responses((status = 200, body = Checkout), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn purchase(app: &App, actor: &Actor, id: uuid::Uuid, checkout_id: uuid::Uuid) -> Reply {
    ok(&platform_checkouts::get_platform_checkout(app, actor, id, checkout_id).await?)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, get, update, buy, purchases, purchase))]
pub struct Doc;
