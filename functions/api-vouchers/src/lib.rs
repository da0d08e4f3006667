//! `api-vouchers`: hotspot vouchers (`/v1/voucher-plans`): the plans an ISP sells vouchers on.

use domain::actor::Actor;
use domain::voucher::VoucherPlan;
use isp_http::{Incoming, ListResponse, Problem, Reply, created_outcome, finish, ok};
use kernel::App;
use lambda_http::{Body, Request, Response};
use uuid::Uuid;
use vouchers::plans::{self, CreatePlan, UpdatePlan};

pub const ROUTES: &[&str] = &[
    "POST /v1/voucher-plans",
    "GET /v1/voucher-plans",
    "POST /v1/voucher-plans/examples",
    "GET /v1/voucher-plans/{id}",
    "PATCH /v1/voucher-plans/{id}",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.actor(&app.tokens, app.now())?;
    match route {
        "POST /v1/voucher-plans" => create(app, &actor, &r).await,
        "GET /v1/voucher-plans" => list(app, &actor, &r).await,
        "POST /v1/voucher-plans/examples" => examples(app, &actor).await,
        "GET /v1/voucher-plans/{id}" => get(app, &actor, params.id("id", "voucher plan")?).await,
        _ => update(app, &actor, &r, params.id("id", "voucher plan")?).await,
    }
}

/// A plan: validity (hours, from first login or activation), data limit (or none), speed, devices
/// at once, price. Its name is unique in the ISP and names its hotspot profile on the routers.
#[utoipa::path(post, path = "/v1/voucher-plans", tag = "vouchers", request_body = CreatePlan,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeats return the first answer")),
    responses((status = 201, body = VoucherPlan), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn create(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: CreatePlan = r.json()?;
    created_outcome(plans::create_plan(app, actor, input, r.idempotent()?.as_ref()).await?)
}

/// The ISP's plans, by name.
#[utoipa::path(get, path = "/v1/voucher-plans", tag = "vouchers",
    responses((status = 200, body = ListResponse<VoucherPlan>), (status = 403, body = Problem)), security(("bearer" = [])))]
pub async fn list(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&[])?;
    ok(&ListResponse { items: plans::list_plans(app, actor).await?, next_cursor: None })
}

#[utoipa::path(get, path = "/v1/voucher-plans/{id}", tag = "vouchers", params(("id" = Uuid, Path)),
    responses((status = 200, body = VoucherPlan), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&plans::get_plan(app, actor, id).await?)
}

/// Change what the plan's vouchers get and cost, or retire it; send the version you read.
#[utoipa::path(patch, path = "/v1/voucher-plans/{id}", tag = "vouchers", request_body = UpdatePlan,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = VoucherPlan), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn update(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: UpdatePlan = r.json()?;
    ok(&plans::update_plan(app, actor, id, input, r.if_match()?).await?)
}

/// Add the product's example plans (1GB-DAILY, 5GB-WEEKLY, 20GB-MONTHLY, UNLIMITED-DAILY) the ISP
/// does not have yet; answers all its plans. Repeating it adds nothing.
#[utoipa::path(post, path = "/v1/voucher-plans/examples", tag = "vouchers",
    responses((status = 200, body = ListResponse<VoucherPlan>), (status = 403, body = Problem)), security(("bearer" = [])))]
pub async fn examples(app: &App, actor: &Actor) -> Reply {
    ok(&ListResponse { items: plans::add_examples(app, actor).await?, next_cursor: None })
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, examples, get, update))]
pub struct Doc;
