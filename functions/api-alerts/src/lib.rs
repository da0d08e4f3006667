//! `api-alerts`: the staff alert log (`/v1/alerts`): routers that went offline and came back,
//! subscribers a router refused, gateway accounts failing; newest first, read or unread.

use domain::actor::Actor;
use domain::alert::{Alert, AlertKind};
use isp_http::{Incoming, ListResponse, Problem, Reply, finish, ok};
use kernel::App;
use lambda_http::{Body, Request, Response};
use notify::alerts::{self, AlertFilter};
use uuid::Uuid;

pub const ROUTES: &[&str] =
    &["GET /v1/alerts", "GET /v1/alerts/{id}", "POST /v1/alerts/{id}/read", "POST /v1/alerts/{id}/unread"];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.caller(app).await?;
    match route {
        "GET /v1/alerts" => list(app, &actor, &r).await,
        "GET /v1/alerts/{id}" => get(app, &actor, params.id("id", "alert")?).await,
        "POST /v1/alerts/{id}/read" => read(app, &actor, params.id("id", "alert")?).await,
        _ => unread(app, &actor, params.id("id", "alert")?).await,
    }
}

/// Alerts, newest first; `unread=true` for the unread ones only, `kind` (`router_offline`,
/// `router_back`, `provisioning_failed`, `gateway_failing`, `dead_letter`) for one kind.
#[utoipa::path(get, path = "/v1/alerts", tag = "messaging",
    params(("unread" = Option<bool>, Query), ("kind" = Option<String>, Query),
        ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<Alert>), (status = 400, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["limit", "cursor", "unread", "kind"])?;
    let page = r.pagination()?;
    let unread = match r.query("unread") {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(bad_query("unread must be true or false")),
    };
    let kind = match r.query("kind") {
        None => None,
        Some(k) => Some(AlertKind::parse(k).ok_or_else(|| {
            bad_query(
                "kind must be one of router_offline, router_back, provisioning_failed, gateway_failing, dead_letter",
            )
        })?),
    };
    let filter = AlertFilter { unread, kind };
    let out = alerts::list_alerts(app, actor, &filter, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

fn bad_query(detail: &str) -> domain::Error {
    domain::Error::BadRequest { code: "invalid_query", detail: detail.into() }
}

#[utoipa::path(get, path = "/v1/alerts/{id}", tag = "messaging", params(("id" = Uuid, Path)),
    responses((status = 200, body = Alert), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&alerts::get_alert(app, actor, id).await?)
}

/// Marks the alert read by the caller (already read: unchanged).
#[utoipa::path(post, path = "/v1/alerts/{id}/read", tag = "messaging", params(("id" = Uuid, Path)),
    responses((status = 200, body = Alert), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn read(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&alerts::mark_alert(app, actor, id, true).await?)
}

/// Marks the alert unread again.
#[utoipa::path(post, path = "/v1/alerts/{id}/unread", tag = "messaging", params(("id" = Uuid, Path)),
    responses((status = 200, body = Alert), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn unread(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&alerts::mark_alert(app, actor, id, false).await?)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(list, get, read, unread))]
pub struct Doc;
