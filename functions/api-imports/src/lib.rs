//! `api-imports`: import customers with their subscriptions from CSV (`/v1/imports`); the rows are
//! applied asynchronously by `worker-imports`, this answers with a job to follow.

use domain::Error;
use domain::actor::Actor;
use domain::import::ImportFormat;
use domain::import::RowError;
use isp_http::{Incoming, ListResponse, MAX_UPLOAD_BYTES, Problem, Reply, accepted_outcome, finish, ok};
use jobs::chunks::ImportJob;
use jobs::imports;
use kernel::App;
use lambda_http::{Body, Request, Response};
use uuid::Uuid;

pub const ROUTES: &[&str] =
    &["POST /v1/imports", "GET /v1/imports", "GET /v1/imports/{id}", "GET /v1/imports/{id}/errors"];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request_with_limit(req, MAX_UPLOAD_BYTES)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.caller(app).await?;
    match route {
        "POST /v1/imports" => start(app, &actor, &r).await,
        "GET /v1/imports" => list(app, &actor, &r).await,
        "GET /v1/imports/{id}" => get(app, &actor, params.id("id", "import")?).await,
        _ => errors(app, &actor, &r, params.id("id", "import")?).await,
    }
}

/// Start an import (`text/csv`, or an XLSX workbook's first sheet, up to 5 MiB). `format=customers` (default): header
/// `name,phone,username,package` plus optional `email,address,area,national_id,router,pppoe_username,
/// pppoe_password,ip_address,billing_model,expires_at,status`. `format=routeros_secrets`: a `/ppp secret`
/// export of the router `router_id` (profile = package's router profile; name and phone from the
/// comment). Answers 202 with the job; rows are applied in the background, each whole or not at all.
#[utoipa::path(post, path = "/v1/imports", tag = "imports",
    request_body(content = String, content_type = "text/csv"),
    params(("format" = Option<ImportFormat>, Query), ("router_id" = Option<Uuid>, Query),
        ("Idempotency-Key" = Option<String>, Header, description = "a repeat answers the first job, and queues nothing")),
    responses((status = 202, body = ImportJob), (status = 413, body = Problem), (status = 415, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn start(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["format", "router_id"])?;
    let format = match r.query("format") {
        None | Some("customers") => ImportFormat::Customers,
        Some("routeros_secrets") => ImportFormat::RouterosSecrets,
        Some(_) => return Err(Error::field("format", "must be customers or routeros_secrets")),
    };
    // An XLSX workbook is read as the CSV of its first sheet.
    let xlsx = r.header("content-type").is_some_and(|ct| ct.starts_with(domain::export::Format::Xlsx.content_type()));
    let converted;
    let text = if xlsx {
        if r.body_bytes().is_empty() {
            return Err(Error::field("file", "is empty"));
        }
        converted = domain::import::xlsx_as_csv(r.body_bytes())?;
        converted.as_str()
    } else {
        r.csv()?
    };
    accepted_outcome(
        imports::start_import(app, actor, format, r.query_id("router_id")?, text, r.idempotent()?.as_ref()).await?,
    )
}

/// Imports, newest first, with their progress (at most 20 per page).
#[utoipa::path(get, path = "/v1/imports", tag = "imports",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<ImportJob>)), security(("bearer" = [])))]
pub async fn list(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["limit", "cursor"])?;
    let page = r.pagination()?;
    let out = imports::list_imports(app, actor, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

/// One import's progress: rows processed, imported, failed (and of those, duplicates).
#[utoipa::path(get, path = "/v1/imports/{id}", tag = "imports", params(("id" = Uuid, Path)),
    responses((status = 200, body = ImportJob), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&imports::get_import(app, actor, id).await?)
}

/// The rows that were not imported, by line number.
#[utoipa::path(get, path = "/v1/imports/{id}/errors", tag = "imports",
    params(("id" = Uuid, Path), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<RowError>), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn errors(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    r.allow_query(&["limit", "cursor"])?;
    let page = r.pagination()?;
    let out = imports::list_errors(app, actor, id, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(start, list, get, errors))]
pub struct Doc;
