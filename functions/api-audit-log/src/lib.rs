//! `api-audit-log`: `GET /v1/audit-log`, newest first, by entity or by user.

use domain::actor::Actor;
use domain::audit::AuditEntry;
use domain::{Error, ids};
use isp_http::{Incoming, ListResponse, Problem, Reply, finish, ok};
use kernel::App;
use kernel::audit_log::{self, AuditFilter};
use lambda_http::{Body, Request, Response};

pub const ROUTES: &[&str] = &["GET /v1/audit-log"];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    r.route(ROUTES)?;
    let actor = r.caller(app).await?;
    list(app, &actor, &r).await
}

#[utoipa::path(get, path = "/v1/audit-log", tag = "audit",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query),
        ("entity_type" = Option<String>, Query), ("entity_id" = Option<String>, Query),
        ("user_id" = Option<uuid::Uuid>, Query)),
    responses((status = 200, body = ListResponse<AuditEntry>), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["limit", "cursor", "entity_type", "entity_id", "user_id"])?;
    let page = r.pagination()?;
    let user_id = match r.query("user_id") {
        None => None,
        Some(u) => Some(ids::parse_id(u).ok_or_else(|| Error::field("user_id", "must be a UUID"))?),
    };
    let filter = AuditFilter {
        entity_type: r.query("entity_type").map(str::to_string),
        entity_id: r.query("entity_id").map(str::to_string),
        user_id,
    };
    let out = audit_log::list_audit(app, actor, filter, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(list))]
pub struct Doc;
