//! `api-monitoring`: what the health sweep's monitoring saw of a router or of a device polled by
//! SNMP (OLTs, switches), now and over time (for charts), and the devices themselves. What an
//! ISP watches (ping targets, thresholds) is its tenant setting `monitoring`.

use domain::actor::Actor;
use domain::monitoring::Device;
use isp_http::{Incoming, ListResponse, Problem, Reply, created_outcome, finish, no_content, ok};
use kernel::App;
use lambda_http::{Body, Request, Response};
use network::devices::{CreateDevice, DeviceDetail, UpdateDevice};
use network::monitoring::{MonitoringHistory, Resolution, RouterMonitoring};

pub const ROUTES: &[&str] = &[
    "GET /v1/monitoring/routers/{id}",
    "GET /v1/monitoring/routers/{id}/history",
    "POST /v1/monitoring/devices",
    "GET /v1/monitoring/devices",
    "GET /v1/monitoring/devices/{id}",
    "PATCH /v1/monitoring/devices/{id}",
    "DELETE /v1/monitoring/devices/{id}",
    "GET /v1/monitoring/devices/{id}/history",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.caller(app).await?;
    match route {
        "POST /v1/monitoring/devices" => create_device(app, &r, &actor).await,
        "GET /v1/monitoring/devices" => list_devices(app, &r, &actor).await,
        _ if route.starts_with("GET /v1/monitoring/routers/{id}") => {
            let id = params.id("id", "router")?;
            if route.ends_with("/history") {
                router_history(app, &r, &actor, id).await
            } else {
                router_state(app, &r, &actor, id).await
            }
        }
        _ => {
            let id = params.id("id", "device")?;
            match route {
                "GET /v1/monitoring/devices/{id}" => get_device(app, &r, &actor, id).await,
                "PATCH /v1/monitoring/devices/{id}" => update_device(app, &r, &actor, id).await,
                "DELETE /v1/monitoring/devices/{id}" => delete_device(app, &r, &actor, id).await,
                _ => device_history(app, &r, &actor, id).await,
            }
        }
    }
}

/// A router's monitoring now: the last sweep's point (CPU, memory, uptime, latency and loss to
/// each target, interface link state and rates, new warning and error log lines) and the
/// conditions in an episode.
#[utoipa::path(get, path = "/v1/monitoring/routers/{id}", tag = "network", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = RouterMonitoring), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn router_state(app: &App, r: &Incoming, actor: &Actor, id: uuid::Uuid) -> Reply {
    r.allow_query(&[])?;
    ok(&network::monitoring::router_monitoring(app, actor, id).await?)
}

/// A router's history for charts: 5-minute points (kept a week) or hourly summaries (kept 90
/// days), oldest first.
#[utoipa::path(get, path = "/v1/monitoring/routers/{id}/history", tag = "network",
    params(("id" = uuid::Uuid, Path), ("resolution" = Option<String>, Query, description = "5m (default) or 1h"),
        ("from" = Option<String>, Query, description = "RFC 3339"), ("to" = Option<String>, Query, description = "RFC 3339")),
    responses((status = 200, body = MonitoringHistory), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn router_history(app: &App, r: &Incoming, actor: &Actor, id: uuid::Uuid) -> Reply {
    r.allow_query(&["resolution", "from", "to"])?;
    let resolution = Resolution::parse(r.query("resolution"))?;
    let (from, to) = (r.query_time("from")?, r.query_time("to")?);
    ok(&network::monitoring::router_history(app, actor, id, resolution, from, to).await?)
}

/// Watches a device by SNMP (v2c community, or v3 user with authentication and privacy); its
/// credentials are sealed and never shown. `Idempotency-Key` makes a repeat answer the same.
#[utoipa::path(post, path = "/v1/monitoring/devices", tag = "network", request_body = CreateDevice,
    responses((status = 201, body = Device), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_device(app: &App, r: &Incoming, actor: &Actor) -> Reply {
    let input: CreateDevice = r.json()?;
    created_outcome(network::devices::create_device(app, actor, input, r.idempotent()?.as_ref()).await?)
}

#[utoipa::path(get, path = "/v1/monitoring/devices", tag = "network",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<Device>), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_devices(app: &App, r: &Incoming, actor: &Actor) -> Reply {
    r.allow_query(&["limit", "cursor"])?;
    let page = r.pagination()?;
    let out = network::devices::list_devices(app, actor, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

/// A device with its status (`up`, `down`, `unknown`), the last poll (uptime, interfaces with
/// link state and rates) and the open episodes.
#[utoipa::path(get, path = "/v1/monitoring/devices/{id}", tag = "network", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = DeviceDetail), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_device(app: &App, r: &Incoming, actor: &Actor, id: uuid::Uuid) -> Reply {
    r.allow_query(&[])?;
    ok(&network::devices::get_device(app, actor, id).await?)
}

#[utoipa::path(patch, path = "/v1/monitoring/devices/{id}", tag = "network", params(("id" = uuid::Uuid, Path)),
    request_body = UpdateDevice,
    responses((status = 200, body = Device), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn update_device(app: &App, r: &Incoming, actor: &Actor, id: uuid::Uuid) -> Reply {
    let input: UpdateDevice = r.json()?;
    ok(&network::devices::update_device(app, actor, id, input, r.if_match()?).await?)
}

#[utoipa::path(delete, path = "/v1/monitoring/devices/{id}", tag = "network", params(("id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn delete_device(app: &App, r: &Incoming, actor: &Actor, id: uuid::Uuid) -> Reply {
    network::devices::delete_device(app, actor, id, r.if_match()?).await?;
    no_content()
}

/// A device's history, as a router's.
#[utoipa::path(get, path = "/v1/monitoring/devices/{id}/history", tag = "network",
    params(("id" = uuid::Uuid, Path), ("resolution" = Option<String>, Query, description = "5m (default) or 1h"),
        ("from" = Option<String>, Query, description = "RFC 3339"), ("to" = Option<String>, Query, description = "RFC 3339")),
    responses((status = 200, body = MonitoringHistory), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn device_history(app: &App, r: &Incoming, actor: &Actor, id: uuid::Uuid) -> Reply {
    r.allow_query(&["resolution", "from", "to"])?;
    let resolution = Resolution::parse(r.query("resolution"))?;
    let (from, to) = (r.query_time("from")?, r.query_time("to")?);
    ok(&network::monitoring::device_history(app, actor, id, resolution, from, to).await?)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    router_state,
    router_history,
    create_device,
    list_devices,
    get_device,
    update_device,
    delete_device,
    device_history
))]
pub struct Doc;
