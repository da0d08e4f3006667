//! `api-payment-gateways`: an ISP admin's (or the platform owner's) accounts at payment gateways
//! (`/v1/payment-gateways`), with a connection test. Credentials go in, never out.

use domain::actor::Actor;
use domain::checkout::GatewayAccount;
use gateways::GatewayHttp;
use isp_http::{Incoming, ListResponse, Problem, Reply, created_outcome, finish, ok};
use kernel::App;
use lambda_http::{Body, Request, Response};
use payments::gateway_accounts::{self, CreateGatewayAccount, GatewayTest, UpdateGatewayAccount};
use uuid::Uuid;

pub const ROUTES: &[&str] = &[
    "POST /v1/payment-gateways",
    "GET /v1/payment-gateways",
    "GET /v1/payment-gateways/{id}",
    "PATCH /v1/payment-gateways/{id}",
    "POST /v1/payment-gateways/{id}/test",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.caller(app).await?;
    match route {
        "POST /v1/payment-gateways" => create(app, &actor, &r).await,
        "GET /v1/payment-gateways" => list(app, &actor, &r).await,
        "GET /v1/payment-gateways/{id}" => get(app, &actor, params.id("id", "payment gateway account")?).await,
        "PATCH /v1/payment-gateways/{id}" => update(app, &actor, &r, params.id("id", "payment gateway account")?).await,
        _ => test(app, &actor, params.id("id", "payment gateway account")?).await,
    }
}

/// The process's gateway client.
fn http() -> Result<&'static GatewayHttp, domain::Error> {
    GatewayHttp::shared().map_err(|e| domain::Error::Internal(e.to_string()))
}

/// Add an account at a gateway: sandbox or live, the methods to offer, the ISP's return pages,
/// and its credentials (sealed; never shown again).
#[utoipa::path(post, path = "/v1/payment-gateways", tag = "payments", request_body = CreateGatewayAccount,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeats return the first answer")),
    responses((status = 201, body = GatewayAccount), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: CreateGatewayAccount = r.json()?;
    created_outcome(gateway_accounts::create_account(app, actor, input, r.idempotent()?.as_ref()).await?)
}

/// The accounts, by name.
#[utoipa::path(get, path = "/v1/payment-gateways", tag = "payments",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<GatewayAccount>), (status = 400, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["limit", "cursor"])?;
    let page = r.pagination()?;
    let out = gateway_accounts::list_accounts(app, actor, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

#[utoipa::path(get, path = "/v1/payment-gateways/{id}", tag = "payments", params(("id" = Uuid, Path)),
    responses((status = 200, body = GatewayAccount), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&gateway_accounts::get_account(app, actor, id).await?)
}

/// Change an account (name, methods, pages, sandbox base URL, credentials by name, or disable it);
/// send the version you read.
#[utoipa::path(patch, path = "/v1/payment-gateways/{id}", tag = "payments", request_body = UpdateGatewayAccount,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = GatewayAccount), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn update(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: UpdateGatewayAccount = r.json()?;
    ok(&gateway_accounts::update_account(app, actor, id, input, r.if_match()?).await?)
}

/// A harmless call with the account's credentials: whether the gateway accepts them.
#[utoipa::path(post, path = "/v1/payment-gateways/{id}/test", tag = "payments", params(("id" = Uuid, Path)),
    responses((status = 200, body = GatewayTest), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn test(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&gateway_accounts::test_account(app, actor, id, http()?).await?)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, get, update, test))]
pub struct Doc;
