//! `api-tenants`: ISPs, `/v1/tenants`, `/v1/tenants/{id}`, suspend and resume.

use domain::actor::Actor;
use domain::tenant::{Tenant, TenantStatus};
use identity::tenants::{self, CreateTenant, CreatedTenant, UpdateTenant};
use isp_http::{Incoming, ListResponse, Problem, Reply, created_outcome, finish, ok};
use kernel::App;
use lambda_http::{Body, Request, Response};

pub const ROUTES: &[&str] = &[
    "POST /v1/tenants",
    "GET /v1/tenants",
    "GET /v1/tenants/{id}",
    "PATCH /v1/tenants/{id}",
    "POST /v1/tenants/{id}/suspend",
    "POST /v1/tenants/{id}/resume",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.actor(&app.tokens, app.now())?;
    match route {
        "POST /v1/tenants" => create(app, &actor, &r).await,
        "GET /v1/tenants" => list(app, &actor, &r).await,
        "GET /v1/tenants/{id}" => get(app, &actor, params.id("id", "tenant")?).await,
        "PATCH /v1/tenants/{id}" => update(app, &actor, &r, params.id("id", "tenant")?).await,
        "POST /v1/tenants/{id}/suspend" => suspend(app, &actor, params.id("id", "tenant")?).await,
        _ => resume(app, &actor, params.id("id", "tenant")?).await,
    }
}

/// Create an ISP with its first admin. A reseller is limited to its `isp_limit` (409 `isp_limit_reached`).
#[utoipa::path(post, path = "/v1/tenants", tag = "tenants", request_body = CreateTenant,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = CreatedTenant), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: CreateTenant = r.json()?;
    created_outcome(tenants::create_tenant(app, actor, input, r.idempotent()?.as_ref()).await?)
}

#[utoipa::path(get, path = "/v1/tenants", tag = "tenants",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<Tenant>)), security(("bearer" = [])))]
pub async fn list(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["limit", "cursor"])?;
    let page = r.pagination()?;
    let out = tenants::list_tenants(app, actor, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

#[utoipa::path(get, path = "/v1/tenants/{id}", tag = "tenants", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Tenant), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(app: &App, actor: &Actor, id: uuid::Uuid) -> Reply {
    ok(&tenants::get_tenant(app, actor, id).await?)
}

/// Change an ISP's settings (name, slug, time zone, currency, country, billing defaults).
#[utoipa::path(patch, path = "/v1/tenants/{id}", tag = "tenants", request_body = UpdateTenant,
    params(("id" = uuid::Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = Tenant), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn update(app: &App, actor: &Actor, r: &Incoming, id: uuid::Uuid) -> Reply {
    let input: UpdateTenant = r.json()?;
    ok(&tenants::update_tenant(app, actor, id, input, r.if_match()?).await?)
}

/// Suspend an ISP: its staff can no longer log in; its subscribers keep their service.
#[utoipa::path(post, path = "/v1/tenants/{id}/suspend", tag = "tenants", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Tenant), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn suspend(app: &App, actor: &Actor, id: uuid::Uuid) -> Reply {
    ok(&tenants::set_tenant_status(app, actor, id, TenantStatus::Suspended).await?)
}

#[utoipa::path(post, path = "/v1/tenants/{id}/resume", tag = "tenants", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Tenant), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn resume(app: &App, actor: &Actor, id: uuid::Uuid) -> Reply {
    ok(&tenants::set_tenant_status(app, actor, id, TenantStatus::Active).await?)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, get, update, suspend, resume))]
pub struct Doc;
