//! `api-leads`: prospects (`/v1/leads`), their stages, and conversion into customers.

use crm::leads::{self, Conversion, ConvertLead, CreateLead, LeadFilter, UpdateLead};
use domain::Error;
use domain::actor::Actor;
use domain::lead::{Lead, LeadStage};
use isp_http::{Incoming, ListResponse, Problem, Reply, created_outcome, finish, ok};
use kernel::App;
use lambda_http::{Body, Request, Response};
use uuid::Uuid;

pub const ROUTES: &[&str] =
    &["POST /v1/leads", "GET /v1/leads", "GET /v1/leads/{id}", "PATCH /v1/leads/{id}", "POST /v1/leads/{id}/convert"];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.caller(app).await?;
    match route {
        "POST /v1/leads" => create(app, &actor, &r).await,
        "GET /v1/leads" => list(app, &actor, &r).await,
        "GET /v1/leads/{id}" => get(app, &actor, params.id("id", "lead")?).await,
        "PATCH /v1/leads/{id}" => update(app, &actor, &r, params.id("id", "lead")?).await,
        _ => convert(app, &actor, &r, params.id("id", "lead")?).await,
    }
}

/// Record a prospect (stage `new`).
#[utoipa::path(post, path = "/v1/leads", tag = "leads", request_body = CreateLead,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeats return the first answer")),
    responses((status = 201, body = Lead), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn create(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: CreateLead = r.json()?;
    created_outcome(leads::create_lead(app, actor, input, r.idempotent()?.as_ref()).await?)
}

/// Leads, newest first; filter by stage or assignee. Operators see their subtree's.
#[utoipa::path(get, path = "/v1/leads", tag = "leads",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query), ("stage" = Option<LeadStage>, Query),
        ("assigned_to" = Option<Uuid>, Query)),
    responses((status = 200, body = ListResponse<Lead>), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn list(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["limit", "cursor", "stage", "assigned_to"])?;
    let page = r.pagination()?;
    let stage = match r.query("stage") {
        None => None,
        Some(s) => Some(
            LeadStage::parse(s)
                .ok_or_else(|| Error::field("stage", "must be new, contacted, survey, negotiation, won or lost"))?,
        ),
    };
    let filter = LeadFilter { stage, assigned_to: r.query_id("assigned_to")? };
    let out = leads::list_leads(app, actor, filter, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

#[utoipa::path(get, path = "/v1/leads/{id}", tag = "leads", params(("id" = Uuid, Path)),
    responses((status = 200, body = Lead), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&leads::get_lead(app, actor, id).await?)
}

/// Change a lead, assign it, or move it between stages (send the version you read). `won` is
/// reached only by converting.
#[utoipa::path(patch, path = "/v1/leads/{id}", tag = "leads", request_body = UpdateLead,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = Lead), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn update(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: UpdateLead = r.json()?;
    ok(&leads::update_lead(app, actor, id, input, r.if_match()?).await?)
}

/// Convert an open lead into a customer, in one transaction.
#[utoipa::path(post, path = "/v1/leads/{id}/convert", tag = "leads", request_body = ConvertLead,
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Conversion), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "already converted or lost; or a duplicate phone, e-mail or username"),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn convert(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: ConvertLead = r.json()?;
    created_outcome(leads::convert_lead(app, actor, id, input, r.idempotent()?.as_ref()).await?)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, get, update, convert))]
pub struct Doc;
