//! `api-routers`: routers (NAS) of the ISP (`/v1/routers`), their import from CSV, live
//! operations on them (test, resources, interfaces, sessions: through the provisioning function,
//! 5 seconds at most), full reconciles with their reports, and configuration backups (taken,
//! compared, downloaded as a script, restored). A router's password is write-only.

use domain::Error;
use domain::actor::Actor;
use domain::edge::EdgePeer;
use domain::live::{OnlineSession, RouterInterface, RouterResources, RouterTest};
use domain::network::{Router, RouterStatus};
use domain::router_config::{RouterBackup, RouterRestore};
use http::StatusCode;
use isp_http::{
    Incoming, ListResponse, Problem, Reply, accepted_outcome, created_outcome, csv_file, finish, json, no_content, ok,
    text_file,
};
use kernel::App;
use lambda_http::{Body, Request, Response};
use network::backups::{self, BackupDiff, RestoreRequest};
use network::edge::{self, EnrolRouter};
use network::live;
use network::reconcile_reports::{self, ReconcileReport, ReconcileRequested};
use network::router_import::{self, RouterImport};
use network::routers::{self, CreateRouter, RouterDetail, RouterFilter, UpdateRouter};
use uuid::Uuid;

pub const ROUTES: &[&str] = &[
    "POST /v1/routers",
    "GET /v1/routers",
    "POST /v1/routers/import",
    "GET /v1/routers/{id}",
    "PATCH /v1/routers/{id}",
    "DELETE /v1/routers/{id}",
    "POST /v1/routers/{id}/test",
    "GET /v1/routers/{id}/resources",
    "GET /v1/routers/{id}/interfaces",
    "GET /v1/routers/{id}/sessions",
    "POST /v1/routers/{id}/reconcile",
    "GET /v1/routers/{id}/reconcile",
    "GET /v1/routers/{id}/unknown-accounts",
    "POST /v1/routers/{id}/backups",
    "GET /v1/routers/{id}/backups",
    "GET /v1/routers/{id}/backups/{backup_id}",
    "GET /v1/routers/{id}/backups/{backup_id}/script",
    "POST /v1/routers/{id}/backups/{backup_id}/restore",
    "GET /v1/routers/{id}/backup-diff",
    "GET /v1/routers/{id}/restores/{restore_id}",
    "POST /v1/routers/{id}/edge",
    "GET /v1/routers/{id}/onboarding",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.caller(app).await?;
    match route {
        "POST /v1/routers" => create(app, &actor, &r).await,
        "GET /v1/routers" => list(app, &actor, &r).await,
        "POST /v1/routers/import" => import(app, &actor, &r).await,
        "GET /v1/routers/{id}" => get(app, &actor, params.id("id", "router")?).await,
        "PATCH /v1/routers/{id}" => update(app, &actor, &r, params.id("id", "router")?).await,
        "DELETE /v1/routers/{id}" => delete(app, &actor, &r, params.id("id", "router")?).await,
        "POST /v1/routers/{id}/test" => test(app, &actor, params.id("id", "router")?).await,
        "GET /v1/routers/{id}/resources" => resources(app, &actor, params.id("id", "router")?).await,
        "GET /v1/routers/{id}/interfaces" => interfaces(app, &actor, params.id("id", "router")?).await,
        "GET /v1/routers/{id}/sessions" => sessions(app, &actor, params.id("id", "router")?).await,
        "POST /v1/routers/{id}/reconcile" => request_reconcile(app, &actor, params.id("id", "router")?).await,
        "GET /v1/routers/{id}/reconcile" => reconcile_report(app, &actor, params.id("id", "router")?).await,
        "GET /v1/routers/{id}/unknown-accounts" => unknown_accounts(app, &actor, params.id("id", "router")?).await,
        "POST /v1/routers/{id}/backups" => request_backup(app, &actor, &r, params.id("id", "router")?).await,
        "GET /v1/routers/{id}/backups" => list_backups(app, &actor, &r, params.id("id", "router")?).await,
        "GET /v1/routers/{id}/backups/{backup_id}" => {
            get_backup(app, &actor, params.id("id", "router")?, params.id("backup_id", "backup")?).await
        }
        "GET /v1/routers/{id}/backups/{backup_id}/script" => {
            backup_script(app, &actor, params.id("id", "router")?, params.id("backup_id", "backup")?).await
        }
        "POST /v1/routers/{id}/backups/{backup_id}/restore" => {
            request_restore(app, &actor, &r, params.id("id", "router")?, params.id("backup_id", "backup")?).await
        }
        "GET /v1/routers/{id}/backup-diff" => backup_diff(app, &actor, &r, params.id("id", "router")?).await,
        "GET /v1/routers/{id}/restores/{restore_id}" => {
            get_restore(app, &actor, params.id("id", "router")?, params.id("restore_id", "restore")?).await
        }
        "POST /v1/routers/{id}/edge" => enrol_at_edge(app, &actor, &r, params.id("id", "router")?).await,
        _ => onboarding(app, &actor, params.id("id", "router")?).await,
    }
}

/// Add a router. Name and host:port are unique in the ISP; the password is stored encrypted and
/// never returned.
#[utoipa::path(post, path = "/v1/routers", tag = "network", request_body = CreateRouter,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeats return the first answer")),
    responses((status = 201, body = Router), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: CreateRouter = r.json()?;
    created_outcome(routers::create_router(app, actor, input, r.idempotent()?.as_ref()).await?)
}

/// Routers by name; filter by POP or status. Operators assigned to POPs see only those POPs' routers.
#[utoipa::path(get, path = "/v1/routers", tag = "network",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query), ("pop_id" = Option<Uuid>, Query),
        ("status" = Option<RouterStatus>, Query)),
    responses((status = 200, body = ListResponse<Router>), (status = 400, body = Problem)), security(("bearer" = [])))]
pub async fn list(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["limit", "cursor", "pop_id", "status"])?;
    let page = r.pagination()?;
    let pop_id = r.query_id("pop_id")?;
    let status = match r.query("status") {
        None => None,
        Some(s) => Some(
            RouterStatus::parse(s)
                .ok_or_else(|| Error::field("status", "must be unknown, online, offline or error"))?,
        ),
    };
    let out =
        routers::list_routers(app, actor, RouterFilter { pop_id, status }, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

/// Import routers from CSV (`text/csv`; header `name,host,port,username,password,tls,tls_insecure,
/// pop_code,routeros_version`, the first four required). Valid rows are created; the others are
/// reported with their line numbers.
#[utoipa::path(post, path = "/v1/routers/import", tag = "network",
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = RouterImport), (status = 415, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn import(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let text = r.csv()?;
    ok(&router_import::import_routers(app, actor, text.as_bytes()).await?)
}

/// A router with its last health check (`health`: reachable, version, uptime, CPU, memory, last seen).
#[utoipa::path(get, path = "/v1/routers/{id}", tag = "network", params(("id" = Uuid, Path)),
    responses((status = 200, body = RouterDetail), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&routers::router_detail(app, actor, id).await?)
}

/// Change a router; send the version you read. A `password` replaces the stored one.
#[utoipa::path(patch, path = "/v1/routers/{id}", tag = "network", request_body = UpdateRouter,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = Router), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn update(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: UpdateRouter = r.json()?;
    ok(&routers::update_router(app, actor, id, input, r.if_match()?).await?)
}

/// Delete a router without subscriptions (409 `router_in_use` otherwise: move them first).
#[utoipa::path(delete, path = "/v1/routers/{id}", tag = "network",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
pub async fn delete(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    routers::delete_router(app, actor, id, r.if_match()?).await?;
    no_content()
}

/// Test connection: connect, log in (a new login: that is what is tested), read identity and
/// version. Recorded as the router's health. 502 `router_unreachable`, `router_login_failed`,
/// `router_tls_failed`...; 504 `router_timeout` after 5 seconds.
#[utoipa::path(post, path = "/v1/routers/{id}/test", tag = "network", params(("id" = Uuid, Path)),
    responses((status = 200, body = RouterTest), (status = 404, body = Problem), (status = 502, body = Problem),
        (status = 504, body = Problem)), security(("bearer" = [])))]
pub async fn test(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&live::test_router(app, actor, id).await?)
}

/// The router's `/system/resource` now: version, uptime, CPU load, memory.
#[utoipa::path(get, path = "/v1/routers/{id}/resources", tag = "network", params(("id" = Uuid, Path)),
    responses((status = 200, body = RouterResources), (status = 404, body = Problem), (status = 502, body = Problem),
        (status = 504, body = Problem)), security(("bearer" = [])))]
pub async fn resources(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&live::router_resources(app, actor, id).await?)
}

/// The router's interfaces and their counters now.
#[utoipa::path(get, path = "/v1/routers/{id}/interfaces", tag = "network", params(("id" = Uuid, Path)),
    responses((status = 200, body = ItemsOf<RouterInterface>), (status = 404, body = Problem),
        (status = 502, body = Problem), (status = 504, body = Problem)), security(("bearer" = [])))]
pub async fn interfaces(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&ItemsOf { items: live::router_interfaces(app, actor, id).await? })
}

/// Subscribers online on the router now (PPP and hotspot active sessions).
#[utoipa::path(get, path = "/v1/routers/{id}/sessions", tag = "network", params(("id" = Uuid, Path)),
    responses((status = 200, body = ItemsOf<OnlineSession>), (status = 404, body = Problem),
        (status = 502, body = Problem), (status = 504, body = Problem)), security(("bearer" = [])))]
pub async fn sessions(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&ItemsOf { items: live::router_sessions(app, actor, id).await? })
}

/// Ask for a full reconcile of the router now (drift repaired, unknown accounts reported). The
/// provisioning worker runs it in the background; the report is at `GET .../reconcile`.
#[utoipa::path(post, path = "/v1/routers/{id}/reconcile", tag = "network", params(("id" = Uuid, Path)),
    responses((status = 202, body = ReconcileRequested), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn request_reconcile(app: &App, actor: &Actor, id: Uuid) -> Reply {
    json(StatusCode::ACCEPTED, &reconcile_reports::request_reconcile(app, actor, id).await?)
}

/// The router's last full reconcile: repairs, failures, and the accounts on the router that no
/// subscription accounts for (without passwords). 404 until the first reconcile.
#[utoipa::path(get, path = "/v1/routers/{id}/reconcile", tag = "network", params(("id" = Uuid, Path)),
    responses((status = 200, body = ReconcileReport), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn reconcile_report(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&reconcile_reports::last_report(app, actor, id).await?)
}

/// The unknown PPP secrets of the last reconcile as a RouterOS secret export (CSV with passwords),
/// to import them as customers with `POST /v1/imports?format=routeros_secrets&router_id={id}`.
/// Needs the right to see subscriber passwords.
#[utoipa::path(get, path = "/v1/routers/{id}/unknown-accounts", tag = "network", params(("id" = Uuid, Path)),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = Problem),
        (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn unknown_accounts(app: &App, actor: &Actor, id: Uuid) -> Reply {
    csv_file(
        &format!("router-{id}-unknown-accounts.csv"),
        reconcile_reports::unknown_accounts_csv(app, actor, id).await?,
    )
}

/// Take a configuration backup of the router now (the menus this system manages and the ones an
/// ISP cares about: PPP, hotspot, queues, address lists, pools, firewall filter and NAT,
/// scheduler, interfaces, identity). The provisioning worker takes it within seconds; poll the
/// backup until it is `completed` (or `failed`, with why). `Idempotency-Key` required.
#[utoipa::path(post, path = "/v1/routers/{id}/backups", tag = "network",
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "repeats return the first answer")),
    responses((status = 202, body = RouterBackup), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 503, body = Problem)), security(("bearer" = [])))]
pub async fn request_backup(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    r.json_or_default::<NoBody>()?;
    let idem = r.idempotent()?;
    let idem = kernel::idempotency::require_key(idem.as_ref(), "backup")?;
    accepted_outcome(backups::request_backup(app, actor, id, idem).await?)
}

/// An empty body (unknown fields refused).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NoBody {}

/// The router's backups, newest first: on demand, scheduled (the ISP's `router_backups`
/// setting), before bulk changes and before restores.
#[utoipa::path(get, path = "/v1/routers/{id}/backups", tag = "network",
    params(("id" = Uuid, Path), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<RouterBackup>), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn list_backups(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    r.allow_query(&["limit", "cursor"])?;
    let page = r.pagination()?;
    let out = backups::list_backups(app, actor, id, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

#[utoipa::path(get, path = "/v1/routers/{id}/backups/{backup_id}", tag = "network",
    params(("id" = Uuid, Path), ("backup_id" = Uuid, Path)),
    responses((status = 200, body = RouterBackup), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get_backup(app: &App, actor: &Actor, id: Uuid, backup_id: Uuid) -> Reply {
    ok(&backups::get_backup(app, actor, id, backup_id).await?)
}

/// The backup as a RouterOS script (`.rsc`) that recreates it, passwords included: the right to
/// see subscribers' passwords, and every download is in the audit log.
#[utoipa::path(get, path = "/v1/routers/{id}/backups/{backup_id}/script", tag = "network",
    params(("id" = Uuid, Path), ("backup_id" = Uuid, Path)),
    responses((status = 200, content_type = "text/plain", body = String), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
pub async fn backup_script(app: &App, actor: &Actor, id: Uuid, backup_id: Uuid) -> Reply {
    let (file_name, script) = backups::backup_script(app, actor, id, backup_id).await?;
    text_file(&file_name, "text/plain; charset=utf-8", script)
}

/// Bring chosen menus of the router back to this backup. The worker first takes a safety backup
/// of the router as it is, then makes the smallest change per menu (adds and sets, removals
/// last); poll the restore. `Idempotency-Key` required.
#[utoipa::path(post, path = "/v1/routers/{id}/backups/{backup_id}/restore", tag = "network",
    params(("id" = Uuid, Path), ("backup_id" = Uuid, Path),
        ("Idempotency-Key" = String, Header, description = "repeats return the first answer")),
    request_body = RestoreRequest,
    responses((status = 202, body = RouterRestore), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn request_restore(app: &App, actor: &Actor, r: &Incoming, id: Uuid, backup_id: Uuid) -> Reply {
    let input: RestoreRequest = r.json()?;
    let idem = r.idempotent()?;
    let idem = kernel::idempotency::require_key(idem.as_ref(), "restore")?;
    accepted_outcome(backups::request_restore(app, actor, id, backup_id, input, idem).await?)
}

/// What changed between two backups of the router, menu by menu and item by item (secrets are
/// compared, never shown).
#[utoipa::path(get, path = "/v1/routers/{id}/backup-diff", tag = "network",
    params(("id" = Uuid, Path), ("from" = Uuid, Query), ("to" = Uuid, Query)),
    responses((status = 200, body = BackupDiff), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn backup_diff(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    r.allow_query(&["from", "to"])?;
    let (from, to) = match (r.query_id("from")?, r.query_id("to")?) {
        (Some(f), Some(t)) => (f, t),
        (None, _) => return Err(Error::field("from", "the older backup's id is required")),
        (_, None) => return Err(Error::field("to", "the newer backup's id is required")),
    };
    ok(&backups::diff_backups(app, actor, id, from, to).await?)
}

#[utoipa::path(get, path = "/v1/routers/{id}/restores/{restore_id}", tag = "network",
    params(("id" = Uuid, Path), ("restore_id" = Uuid, Path)),
    responses((status = 200, body = RouterRestore), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get_restore(app: &App, actor: &Actor, id: Uuid, restore_id: Uuid) -> Reply {
    ok(&backups::get_restore(app, actor, id, restore_id).await?)
}

/// Enrol the router at the WireGuard edge: the next tunnel address of the ISP's own blocks, a key
/// pair, and the router's host, port and TLS moved to the tunnel (provisioning reaches it there once
/// the onboarding script ran). Already enrolled: its peer. `Idempotency-Key` required.
#[utoipa::path(post, path = "/v1/routers/{id}/edge", tag = "network", request_body = EnrolRouter,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "repeats return the first answer")),
    responses((status = 201, body = EdgePeer), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn enrol_at_edge(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: EnrolRouter = r.json_or_default()?;
    let idem = r.idempotent()?;
    let idem = kernel::idempotency::require_key(idem.as_ref(), "enrolment")?;
    created_outcome(edge::enrol(app, actor, id, input, idem).await?)
}

/// The RouterOS 7 script that connects an enrolled router to the edge: its WireGuard tunnel and
/// key, an API user with only the rights the system needs, the API bound to the tunnel (API-SSL
/// when enrolled so), a filter rule for it. Paste it into the router's terminal. Holds the router's
/// key and API password: the right to change the network, and audited.
#[utoipa::path(get, path = "/v1/routers/{id}/onboarding", tag = "network", params(("id" = Uuid, Path)),
    responses((status = 200, content_type = "text/plain", body = String), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn onboarding(app: &App, actor: &Actor, id: Uuid) -> Reply {
    let (file_name, script) = edge::onboarding(app, actor, id).await?;
    text_file(&file_name, "text/plain; charset=utf-8", script)
}

/// A complete list (not paginated: it is what the router has now).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ItemsOf<T: serde::Serialize> {
    pub items: Vec<T>,
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create,
    list,
    import,
    get,
    update,
    delete,
    test,
    resources,
    interfaces,
    sessions,
    request_reconcile,
    reconcile_report,
    unknown_accounts,
    request_backup,
    list_backups,
    get_backup,
    backup_script,
    request_restore,
    backup_diff,
    get_restore,
    enrol_at_edge,
    onboarding
))]
pub struct Doc;
