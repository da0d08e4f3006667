//! `api-tenants`: ISPs, `/v1/tenants`, `/v1/tenants/{id}`, suspend and resume, their request limits and
//! the platform's defaults (`/v1/platform/rate-limits`).

use domain::actor::Actor;
use domain::rate::RateLimitSettings;
use domain::tenant::{Tenant, TenantStatus};
use identity::platform::PlatformRateLimits;
use identity::tenants::{self, CreateTenant, CreatedTenant, IspRateLimits, UpdateTenant};
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
    "GET /v1/tenants/{id}/rate-limits",
    "GET /v1/platform/rate-limits",
    "PUT /v1/platform/rate-limits",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.caller(app).await?;
    match route {
        "POST /v1/tenants" => create(app, &actor, &r).await,
        "GET /v1/tenants" => list(app, &actor, &r).await,
        "GET /v1/tenants/{id}" => get(app, &actor, params.id("id", "tenant")?).await,
        "PATCH /v1/tenants/{id}" => update(app, &actor, &r, params.id("id", "tenant")?).await,
        "POST /v1/tenants/{id}/suspend" => suspend(app, &actor, params.id("id", "tenant")?).await,
        "POST /v1/tenants/{id}/resume" => resume(app, &actor, params.id("id", "tenant")?).await,
        "GET /v1/tenants/{id}/rate-limits" => isp_rate_limits(app, &actor, params.id("id", "tenant")?).await,
        "GET /v1/platform/rate-limits" => platform_rate_limits(app, &actor).await,
        _ => set_platform_rate_limits(app, &actor, &r).await,
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

/// An ISP's request limits: what is set for it (`rate_limits` of `PATCH /v1/tenants/{id}`, the
/// platform owner's) and the limits in force over the platform's defaults.
#[utoipa::path(get, path = "/v1/tenants/{id}/rate-limits", tag = "tenants", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = IspRateLimits), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn isp_rate_limits(app: &App, actor: &Actor, id: uuid::Uuid) -> Reply {
    ok(&tenants::rate_limits(app, actor, id).await?)
}

/// The platform's default request limits (the platform owner's).
#[utoipa::path(get, path = "/v1/platform/rate-limits", tag = "tenants",
    responses((status = 200, body = PlatformRateLimits), (status = 403, body = Problem)), security(("bearer" = [])))]
pub async fn platform_rate_limits(app: &App, actor: &Actor) -> Reply {
    ok(&identity::platform::rate_limits(app, actor).await?)
}

/// Set the platform's default request limits, as a whole: API requests a minute per ISP, per API
/// key and per ISP's portal; logins, password resets and portal codes per account and per source
/// address; wrong recharge card codes. Applied within a minute.
#[utoipa::path(put, path = "/v1/platform/rate-limits", tag = "tenants", request_body = RateLimitSettings,
    params(("If-Match" = Option<String>, Header)),
    responses((status = 200, body = PlatformRateLimits), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn set_platform_rate_limits(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: RateLimitSettings = r.json()?;
    ok(&identity::platform::set_rate_limits(app, actor, input, r.if_match()?).await?)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create,
    list,
    get,
    update,
    suspend,
    resume,
    isp_rate_limits,
    platform_rate_limits,
    set_platform_rate_limits
))]
pub struct Doc;
