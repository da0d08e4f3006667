//! `api-subscriptions`: subscriptions across the ISP (`/v1/subscriptions`) and every change of one
//! (`/v1/subscriptions/{id}/<action>`), each through the state machine in `domain::subscription`.

use ::subscriptions::reprovision::{self, ReprovisionRequested};
use ::subscriptions::session;
use ::subscriptions::subscriptions::{
    self, Change, ChangePackageInput, ExtendInput, MoveRouterInput, NoFields, ReasonInput, ResetPasswordInput,
    SubscriptionDetail, SubscriptionFilter, SubscriptionPassword,
};
use ::subscriptions::traffic::{self, TrafficHistory};
use domain::Error;
use domain::actor::Actor;
use domain::import::RowError;
use domain::live::{SessionsDropped, SubscriberSession};
use domain::subscription::{Subscription, SubscriptionStatus};
use isp_http::{Incoming, ListResponse, Problem, Reply, accepted_outcome, finish, ok, ok_outcome};
use jobs::bulk::BulkRequest;
use jobs::chunks::ImportJob;
use kernel::App;
use lambda_http::{Body, Request, Response};
use uuid::Uuid;

pub const ROUTES: &[&str] = &[
    "GET /v1/subscriptions",
    "GET /v1/subscriptions/{id}",
    "GET /v1/subscriptions/{id}/password",
    "POST /v1/subscriptions/{id}/activate",
    "POST /v1/subscriptions/{id}/suspend",
    "POST /v1/subscriptions/{id}/restore",
    "POST /v1/subscriptions/{id}/cancel",
    "POST /v1/subscriptions/{id}/change-package",
    "POST /v1/subscriptions/{id}/extend",
    "POST /v1/subscriptions/{id}/move-router",
    "POST /v1/subscriptions/{id}/reset-password",
    "GET /v1/subscriptions/{id}/session",
    "GET /v1/subscriptions/{id}/usage",
    "POST /v1/subscriptions/{id}/disconnect",
    "POST /v1/subscriptions/{id}/reprovision",
    "POST /v1/subscriptions/bulk",
    "GET /v1/subscriptions/bulk/{id}",
    "GET /v1/subscriptions/bulk/{id}/errors",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.caller(app).await?;
    match route {
        "GET /v1/subscriptions" => return list(app, &actor, &r).await,
        "POST /v1/subscriptions/bulk" => return bulk(app, &actor, &r).await,
        "GET /v1/subscriptions/bulk/{id}" => return bulk_status(app, &actor, params.id("id", "bulk action")?).await,
        "GET /v1/subscriptions/bulk/{id}/errors" => {
            return bulk_errors(app, &actor, &r, params.id("id", "bulk action")?).await;
        }
        _ => {}
    }
    let id = params.id("id", "subscription")?;
    match route {
        "GET /v1/subscriptions/{id}" => get(app, &actor, id).await,
        "GET /v1/subscriptions/{id}/password" => password(app, &actor, id).await,
        "POST /v1/subscriptions/{id}/activate" => activate(app, &actor, &r, id).await,
        "POST /v1/subscriptions/{id}/suspend" => suspend(app, &actor, &r, id).await,
        "POST /v1/subscriptions/{id}/restore" => restore(app, &actor, &r, id).await,
        "POST /v1/subscriptions/{id}/cancel" => cancel(app, &actor, &r, id).await,
        "POST /v1/subscriptions/{id}/change-package" => change_package(app, &actor, &r, id).await,
        "POST /v1/subscriptions/{id}/extend" => extend(app, &actor, &r, id).await,
        "POST /v1/subscriptions/{id}/move-router" => move_router(app, &actor, &r, id).await,
        "GET /v1/subscriptions/{id}/session" => session(app, &actor, id).await,
        "GET /v1/subscriptions/{id}/usage" => usage(app, &actor, &r, id).await,
        "POST /v1/subscriptions/{id}/disconnect" => disconnect(app, &actor, id).await,
        "POST /v1/subscriptions/{id}/reprovision" => reprovision(app, &actor, id).await,
        _ => reset_password(app, &actor, &r, id).await,
    }
}

/// Subscriptions of the ISP, newest first; with `expiring_before`/`expiring_after` in expiry order
/// (from the expiry index). Operators see their own subtree's.
#[utoipa::path(get, path = "/v1/subscriptions", tag = "subscriptions",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query), ("status" = Option<SubscriptionStatus>, Query),
        ("package_id" = Option<Uuid>, Query), ("router_id" = Option<Uuid>, Query),
        ("expiring_after" = Option<String>, Query, description = "RFC 3339, inclusive"),
        ("expiring_before" = Option<String>, Query, description = "RFC 3339, exclusive")),
    responses((status = 200, body = ListResponse<Subscription>), (status = 400, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["limit", "cursor", "status", "package_id", "router_id", "expiring_after", "expiring_before"])?;
    let page = r.pagination()?;
    let status = match r.query("status") {
        None => None,
        Some(s) => Some(
            SubscriptionStatus::parse(s)
                .ok_or_else(|| Error::field("status", "must be pending, active, suspended, expired or cancelled"))?,
        ),
    };
    let filter = SubscriptionFilter {
        status,
        package_id: r.query_id("package_id")?,
        router_id: r.query_id("router_id")?,
        expiring_after: r.query_time("expiring_after")?,
        expiring_before: r.query_time("expiring_before")?,
    };
    let out = subscriptions::list_subscriptions(app, actor, filter, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

#[utoipa::path(get, path = "/v1/subscriptions/{id}", tag = "subscriptions", params(("id" = Uuid, Path)),
    responses((status = 200, body = SubscriptionDetail), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&subscriptions::get_subscription(app, actor, id).await?)
}

/// The PPPoE/hotspot password (staff with `subscriptions:secrets` only).
#[utoipa::path(get, path = "/v1/subscriptions/{id}/password", tag = "subscriptions", params(("id" = Uuid, Path)),
    responses((status = 200, body = SubscriptionPassword), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn password(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&subscriptions::get_password(app, actor, id).await?)
}

/// Is the subscriber online now? Address, uptime and bytes of its PPP or hotspot session, asked
/// from the router (5 seconds at most: 504 `router_timeout`; 502 `router_unreachable`...). 422
/// `no_session` for static-IP subscriptions.
#[utoipa::path(get, path = "/v1/subscriptions/{id}/session", tag = "subscriptions", params(("id" = Uuid, Path)),
    responses((status = 200, body = SubscriberSession), (status = 404, body = Problem), (status = 422, body = Problem),
        (status = 502, body = Problem), (status = 504, body = Problem)), security(("bearer" = [])))]
pub async fn session(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&session::subscription_session(app, actor, id).await?)
}

/// Bytes up and down per local day (default the last 30 days; the last 90 are kept), counted
/// from the router's session counters every 5 minutes; today's trail by up to an hour.
#[utoipa::path(get, path = "/v1/subscriptions/{id}/usage", tag = "subscriptions",
    params(("id" = Uuid, Path), ("from" = Option<String>, Query, description = "first local date, e.g. 2026-12-01"),
        ("to" = Option<String>, Query, description = "last local date (default: today)")),
    responses((status = 200, body = TrafficHistory), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn usage(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    r.allow_query(&["from", "to"])?;
    ok(&traffic::subscription_history(app, actor, id, r.query_date("from")?, r.query_date("to")?).await?)
}

/// Drop the subscriber's active session now (its CPE dials again). `disconnected` is 0 when it
/// was offline. Audited.
#[utoipa::path(post, path = "/v1/subscriptions/{id}/disconnect", tag = "subscriptions", params(("id" = Uuid, Path)),
    responses((status = 200, body = SessionsDropped), (status = 404, body = Problem), (status = 422, body = Problem),
        (status = 502, body = Problem), (status = 504, body = Problem)), security(("bearer" = [])))]
pub async fn disconnect(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&session::disconnect_subscription(app, actor, id).await?)
}

/// Push the subscription to its router again now (after someone changed the router by hand):
/// the provisioning worker converges it in the background; its `provisioning` record shows the
/// outcome.
#[utoipa::path(post, path = "/v1/subscriptions/{id}/reprovision", tag = "subscriptions", params(("id" = Uuid, Path)),
    responses((status = 202, body = ReprovisionRequested), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn reprovision(app: &App, actor: &Actor, id: Uuid) -> Reply {
    isp_http::json(http::StatusCode::ACCEPTED, &reprovision::request_subscription_reconcile(app, actor, id).await?)
}

async fn act(app: &App, actor: &Actor, r: &Incoming, id: Uuid, change: Change) -> Reply {
    ok_outcome(subscriptions::change(app, actor, id, change, r.idempotent()?.as_ref()).await?)
}

/// pending -> active; a prepaid subscription runs for its package's validity from now.
#[utoipa::path(post, path = "/v1/subscriptions/{id}/activate", tag = "subscriptions", request_body = Option<NoFields>,
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Subscription), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "invalid_transition, naming the current status")),
    security(("bearer" = [])))]
pub async fn activate(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let _: NoFields = r.json_or_default()?;
    act(app, actor, r, id, Change::Activate).await
}

/// active -> suspended, with an optional reason.
#[utoipa::path(post, path = "/v1/subscriptions/{id}/suspend", tag = "subscriptions", request_body = Option<ReasonInput>,
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Subscription), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn suspend(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: ReasonInput = r.json_or_default()?;
    act(app, actor, r, id, Change::Suspend { reason: input.reason }).await
}

/// suspended or expired -> active (409 `validity_ended` when the validity has run out: extend first).
#[utoipa::path(post, path = "/v1/subscriptions/{id}/restore", tag = "subscriptions", request_body = Option<NoFields>,
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Subscription), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn restore(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let _: NoFields = r.json_or_default()?;
    act(app, actor, r, id, Change::Restore).await
}

/// Any live status -> cancelled; the username and IP are free again.
#[utoipa::path(post, path = "/v1/subscriptions/{id}/cancel", tag = "subscriptions", request_body = Option<ReasonInput>,
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Subscription), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn cancel(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: ReasonInput = r.json_or_default()?;
    act(app, actor, r, id, Change::Cancel { reason: input.reason }).await
}

/// Move to another active package of the same connection type (price follows the new package).
#[utoipa::path(post, path = "/v1/subscriptions/{id}/change-package", tag = "subscriptions", request_body = ChangePackageInput,
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Subscription), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn change_package(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: ChangePackageInput = r.json()?;
    act(app, actor, r, id, Change::ChangePackage { package_id: input.package_id }).await
}

/// Extend the expiry by N days (from now if it already passed); an expired subscription whose new
/// expiry lies ahead is active again. Send an `Idempotency-Key` so a retry never extends twice.
#[utoipa::path(post, path = "/v1/subscriptions/{id}/extend", tag = "subscriptions", request_body = ExtendInput,
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Subscription), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn extend(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: ExtendInput = r.json()?;
    act(app, actor, r, id, Change::Extend { days: input.days }).await
}

/// Provision the subscription on another router (the old router's entry is removed by provisioning).
#[utoipa::path(post, path = "/v1/subscriptions/{id}/move-router", tag = "subscriptions", request_body = MoveRouterInput,
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Subscription), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn move_router(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: MoveRouterInput = r.json()?;
    act(app, actor, r, id, Change::MoveRouter { router_id: input.router_id }).await
}

/// Set a new PPPoE/hotspot password (generated when omitted; read it at `/password`).
#[utoipa::path(post, path = "/v1/subscriptions/{id}/reset-password", tag = "subscriptions", request_body = Option<ResetPasswordInput>,
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Subscription), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn reset_password(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: ResetPasswordInput = r.json_or_default()?;
    act(app, actor, r, id, Change::ResetPassword { password: input.password }).await
}

/// Apply one change (extend, change package, suspend, restore, move router) to every subscription
/// the filter matches (operators: in their subtree). Answers 202 with a job; each subscription is
/// changed once, in its own transaction, also when the work is redelivered.
#[utoipa::path(post, path = "/v1/subscriptions/bulk", tag = "subscriptions", request_body = BulkRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "a repeat answers the first job, and queues nothing")),
    responses((status = 202, body = ImportJob), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn bulk(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: BulkRequest = r.json()?;
    accepted_outcome(jobs::bulk::start_bulk(app, actor, input, r.idempotent()?.as_ref()).await?)
}

/// A bulk action's progress (`imported` counts the subscriptions changed).
#[utoipa::path(get, path = "/v1/subscriptions/bulk/{id}", tag = "subscriptions", params(("id" = Uuid, Path)),
    responses((status = 200, body = ImportJob), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn bulk_status(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&jobs::bulk::get_bulk(app, actor, id).await?)
}

/// The subscriptions a bulk action could not change, and why.
#[utoipa::path(get, path = "/v1/subscriptions/bulk/{id}/errors", tag = "subscriptions",
    params(("id" = Uuid, Path), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<RowError>), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn bulk_errors(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    r.allow_query(&["limit", "cursor"])?;
    let page = r.pagination()?;
    let out = jobs::bulk::list_bulk_errors(app, actor, id, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list,
    get,
    password,
    session,
    usage,
    disconnect,
    reprovision,
    activate,
    suspend,
    restore,
    cancel,
    change_package,
    extend,
    move_router,
    reset_password,
    bulk,
    bulk_status,
    bulk_errors
))]
pub struct Doc;
