//! `api-branches`: an ISP's branches (`/v1/branches`), each grouping POPs, staff, operators and
//! customers; staff bound to a branch see and change only its data.

use crm::branches::{self, CreateBranch, UpdateBranch};
use domain::actor::Actor;
use domain::branch::{Branch, BranchStatus};
use isp_http::{Incoming, ListResponse, Problem, Reply, created_outcome, finish, ok};
use kernel::App;
use lambda_http::{Body, Request, Response};
use uuid::Uuid;

pub const ROUTES: &[&str] =
    &["POST /v1/branches", "GET /v1/branches", "GET /v1/branches/{id}", "PATCH /v1/branches/{id}"];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.caller(app).await?;
    match route {
        "POST /v1/branches" => create(app, &actor, &r).await,
        "GET /v1/branches" => list(app, &actor, &r).await,
        "GET /v1/branches/{id}" => get(app, &actor, params.id("id", "branch")?).await,
        _ => update(app, &actor, &r, params.id("id", "branch")?).await,
    }
}

/// Create a branch (the ISP's admins); its code is unique in the ISP.
#[utoipa::path(post, path = "/v1/branches", tag = "branches", request_body = CreateBranch,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeats return the first answer")),
    responses((status = 201, body = Branch), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: CreateBranch = r.json()?;
    created_outcome(branches::create_branch(app, actor, input, r.idempotent()?.as_ref()).await?)
}

/// Branches by code; a branch's own staff and operators see theirs only.
#[utoipa::path(get, path = "/v1/branches", tag = "branches",
    params(("status" = Option<BranchStatus>, Query), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<Branch>), (status = 400, body = Problem)), security(("bearer" = [])))]
pub async fn list(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["status", "limit", "cursor"])?;
    let status = match r.query("status") {
        None => None,
        Some(s) => {
            Some(BranchStatus::parse(s).ok_or_else(|| domain::Error::field("status", "must be active or closed"))?)
        }
    };
    let page = r.pagination()?;
    let out = branches::list_branches(app, actor, status, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

#[utoipa::path(get, path = "/v1/branches/{id}", tag = "branches", params(("id" = Uuid, Path)),
    responses((status = 200, body = Branch), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&branches::get_branch(app, actor, id).await?)
}

/// Change or close a branch; send the version you read.
#[utoipa::path(patch, path = "/v1/branches/{id}", tag = "branches", request_body = UpdateBranch,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = Branch), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn update(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: UpdateBranch = r.json()?;
    ok(&branches::update_branch(app, actor, id, input, r.if_match()?).await?)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, get, update))]
pub struct Doc;
