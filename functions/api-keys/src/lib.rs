//! `api-keys`: API keys for an ISP's (or the platform owner's) own systems (`/v1/api-keys`).

use domain::actor::Actor;
use domain::api_key::ApiKey;
use identity::api_keys::{self, CreateApiKey, CreatedApiKey, UpdateApiKey};
use isp_http::{Incoming, ListResponse, Problem, Reply, created, finish, ok};
use kernel::App;
use lambda_http::{Body, Request, Response};
use uuid::Uuid;

pub const ROUTES: &[&str] = &[
    "POST /v1/api-keys",
    "GET /v1/api-keys",
    "GET /v1/api-keys/{id}",
    "PATCH /v1/api-keys/{id}",
    "DELETE /v1/api-keys/{id}",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.caller(app).await?;
    match route {
        "POST /v1/api-keys" => create(app, &actor, &r).await,
        "GET /v1/api-keys" => list(app, &actor, &r).await,
        "GET /v1/api-keys/{id}" => get(app, &actor, params.id("id", "API key")?).await,
        "PATCH /v1/api-keys/{id}" => update(app, &actor, &r, params.id("id", "API key")?).await,
        _ => revoke(app, &actor, params.id("id", "API key")?).await,
    }
}

/// Create an API key: a name, its abilities (each one of your own permissions, e.g.
/// `customers:read`, `payments:collect`), optionally an operator it is confined to, an expiry and
/// its own request limit. The answer's `secret` is shown this once; present it as
/// `Authorization: Bearer <secret>` on the `/v1` routes (never the portal's). A key never creates
/// keys, logins or passwords, and every change made with it is in the audit log under the key and
/// its creator.
#[utoipa::path(post, path = "/v1/api-keys", tag = "api-keys", request_body = CreateApiKey,
    responses((status = 201, body = CreatedApiKey), (status = 403, body = Problem),
        (status = 409, body = Problem, description = "50 keys in use already"), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: CreateApiKey = r.json()?;
    created(&api_keys::create(app, actor, input).await?)
}

/// The API keys, in use and ended (an ended one is listed for 90 days), newest first, each with
/// its last use (to the minute).
#[utoipa::path(get, path = "/v1/api-keys", tag = "api-keys",
    responses((status = 200, body = ListResponse<ApiKey>), (status = 403, body = Problem)), security(("bearer" = [])))]
pub async fn list(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&[])?;
    ok(&ListResponse { items: api_keys::list(app, actor).await?, next_cursor: None })
}

#[utoipa::path(get, path = "/v1/api-keys/{id}", tag = "api-keys", params(("id" = Uuid, Path)),
    responses((status = 200, body = ApiKey), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&api_keys::get(app, actor, id).await?)
}

/// Change an API key's name, abilities (as a whole) or own request limit (`null`: the ISP's
/// default); send the version you read. Its secret, operator and expiry never change.
#[utoipa::path(patch, path = "/v1/api-keys/{id}", tag = "api-keys", request_body = UpdateApiKey,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = ApiKey), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn update(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: UpdateApiKey = r.json()?;
    ok(&api_keys::update(app, actor, id, input, r.if_match()?).await?)
}

/// Revoke an API key: its next call is refused (401). The key stays listed as revoked.
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "api-keys", params(("id" = Uuid, Path)),
    responses((status = 200, body = ApiKey), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn revoke(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&api_keys::revoke(app, actor, id).await?)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, get, update, revoke))]
pub struct Doc;
