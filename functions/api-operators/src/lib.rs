//! `api-operators`: the operator tree, operators' business profiles and their wallets
//! (`/v1/operators`).

use crm::operators::{self, Operator, PutOperatorProfile};
use domain::actor::Actor;
use domain::user::OperatorProfile;
use domain::wallet::WalletEntry;
use isp_http::{Incoming, ListResponse, Problem, Reply, created_outcome, finish, ok};
use kernel::App;
use lambda_http::{Body, Request, Response};
use uuid::Uuid;
use wallets::{MovementAnswer, TopUp, Transfer, WalletView};

pub const ROUTES: &[&str] = &[
    "GET /v1/operators",
    "GET /v1/operators/{id}",
    "PUT /v1/operators/{id}/profile",
    "GET /v1/operators/{id}/wallet",
    "GET /v1/operators/{id}/wallet/ledger",
    "POST /v1/operators/{id}/wallet/top-ups",
    "POST /v1/operators/{id}/wallet/transfers",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.caller(app).await?;
    match route {
        "GET /v1/operators" => list(app, &actor, &r).await,
        "GET /v1/operators/{id}" => get(app, &actor, params.id("id", "operator")?).await,
        "PUT /v1/operators/{id}/profile" => put_profile(app, &actor, &r, params.id("id", "operator")?).await,
        "GET /v1/operators/{id}/wallet" => wallet(app, &actor, params.id("id", "operator")?).await,
        "GET /v1/operators/{id}/wallet/ledger" => ledger(app, &actor, &r, params.id("id", "operator")?).await,
        "POST /v1/operators/{id}/wallet/top-ups" => top_up(app, &actor, &r, params.id("id", "operator")?).await,
        _ => transfer(app, &actor, &r, params.id("id", "operator")?).await,
    }
}

/// Operators and sub-operators with their profiles, each sub-operator after its operator. An
/// operator sees itself and its subtree.
#[utoipa::path(get, path = "/v1/operators", tag = "operators",
    responses((status = 200, body = Vec<Operator>), (status = 403, body = Problem)), security(("bearer" = [])))]
pub async fn list(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&[])?;
    ok(&operators::list_operators(app, actor).await?)
}

/// One operator: user, profile and the packages offered to it.
#[utoipa::path(get, path = "/v1/operators/{id}", tag = "operators", params(("id" = Uuid, Path)),
    responses((status = 200, body = Operator), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&operators::get_operator(app, actor, id).await?)
}

/// Set an operator's commission, credit limit and POPs (send the profile's version; 0 for a new one).
#[utoipa::path(put, path = "/v1/operators/{id}/profile", tag = "operators", request_body = PutOperatorProfile,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = OperatorProfile), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn put_profile(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: PutOperatorProfile = r.json()?;
    ok(&operators::put_profile(app, actor, id, input, r.if_match()?).await?)
}

/// The operator's wallet: balance, credit limit, what it may still spend.
#[utoipa::path(get, path = "/v1/operators/{id}/wallet", tag = "operators", params(("id" = Uuid, Path)),
    responses((status = 200, body = WalletView), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn wallet(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&wallets::get_wallet(app, actor, id).await?)
}

/// The wallet's entries, newest first: each movement's side in this wallet, with the balance after.
#[utoipa::path(get, path = "/v1/operators/{id}/wallet/ledger", tag = "operators",
    params(("id" = Uuid, Path), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<WalletEntry>), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn ledger(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    r.allow_query(&["limit", "cursor"])?;
    let page = r.pagination()?;
    let out = wallets::list_entries(app, actor, id, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

/// The ISP credits the operator's wallet (cash, bank or mobile money it received).
#[utoipa::path(post, path = "/v1/operators/{id}/wallet/top-ups", tag = "operators", request_body = TopUp,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "required; repeats return the first answer")),
    responses((status = 201, body = MovementAnswer), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn top_up(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: TopUp = r.json()?;
    created_outcome(wallets::top_up(app, actor, id, input, r.idempotent()?.as_ref()).await?)
}

/// Move money from this wallet to the operator's own sub-operator, or from a sub-operator's
/// wallet back to its operator.
#[utoipa::path(post, path = "/v1/operators/{id}/wallet/transfers", tag = "operators", request_body = Transfer,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "required; repeats return the first answer")),
    responses((status = 201, body = MovementAnswer), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn transfer(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: Transfer = r.json()?;
    created_outcome(wallets::transfer(app, actor, id, input, r.idempotent()?.as_ref()).await?)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(list, get, put_profile, wallet, ledger, top_up, transfer))]
pub struct Doc;
