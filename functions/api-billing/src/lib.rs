//! `api-billing`: the billing run's preview, discounts, and customers' accounts and ledgers.

use billing::books;
use billing::credit_notes::{self, IssueRefund, Refund};
use billing::discounts::{self, CreateDiscount, UpdateDiscount};
use chrono::{DateTime, Utc};
use cycles::billing_run::{self, BillingPreview};
use domain::actor::Actor;
use domain::invoice::Discount;
use domain::ledger::{Account, LedgerEntry};
use isp_http::{Incoming, ListResponse, Problem, Reply, created_outcome, finish, no_content, ok};
use kernel::App;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use uuid::Uuid;

pub const ROUTES: &[&str] = &[
    "POST /v1/billing/preview",
    "POST /v1/billing/discounts",
    "GET /v1/billing/discounts",
    "GET /v1/billing/discounts/{id}",
    "PATCH /v1/billing/discounts/{id}",
    "DELETE /v1/billing/discounts/{id}",
    "GET /v1/customers/{id}/account",
    "GET /v1/customers/{id}/ledger",
    "POST /v1/customers/{id}/refunds",
    "GET /v1/customers/{id}/refunds",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.caller(app).await?;
    let discount = || params.id("id", "discount");
    let customer = || params.id("id", "customer");
    match route {
        "POST /v1/billing/preview" => preview(app, &actor, &r).await,
        "POST /v1/billing/discounts" => create_discount(app, &actor, &r).await,
        "GET /v1/billing/discounts" => list_discounts(app, &actor, &r).await,
        "GET /v1/billing/discounts/{id}" => get_discount(app, &actor, discount()?).await,
        "PATCH /v1/billing/discounts/{id}" => update_discount(app, &actor, &r, discount()?).await,
        "DELETE /v1/billing/discounts/{id}" => delete_discount(app, &actor, discount()?).await,
        "GET /v1/customers/{id}/account" => account(app, &actor, customer()?).await,
        "POST /v1/customers/{id}/refunds" => refund(app, &actor, &r, customer()?).await,
        "GET /v1/customers/{id}/refunds" => refunds(app, &actor, customer()?).await,
        _ => ledger(app, &actor, &r, customer()?).await,
    }
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewInput {
    /// The run's time (default: now).
    pub as_of: Option<DateTime<Utc>>,
    /// Invoices listed (1-1000, default 100); count and total cover them all.
    pub limit: Option<u32>,
}

/// What the billing run at `as_of` would issue: renewal invoices of prepaid auto-renew
/// subscriptions expiring within the renewal days, and of postpaid ones whose period started.
/// Nothing is written.
#[utoipa::path(post, path = "/v1/billing/preview", tag = "billing", request_body = PreviewInput,
    responses((status = 200, body = BillingPreview), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn preview(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: PreviewInput = r.json_or_default()?;
    ok(&billing_run::preview(app, actor, input.as_of, input.limit).await?)
}

/// Create a discount: fixed (`{"type":"fixed","amount":..}`) or percent (`{"type":"percent","bps":..}`),
/// for a customer or a package (`{"applies_to":"customer","id":..}`), valid from/until.
#[utoipa::path(post, path = "/v1/billing/discounts", tag = "billing", request_body = CreateDiscount,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeats return the first answer")),
    responses((status = 201, body = Discount), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn create_discount(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: CreateDiscount = r.json()?;
    created_outcome(discounts::create_discount(app, actor, input, r.idempotent()?.as_ref()).await?)
}

#[utoipa::path(get, path = "/v1/billing/discounts", tag = "billing",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<Discount>), (status = 400, body = Problem)), security(("bearer" = [])))]
pub async fn list_discounts(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["limit", "cursor"])?;
    let page = r.pagination()?;
    let out = discounts::list_discounts(app, actor, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

#[utoipa::path(get, path = "/v1/billing/discounts/{id}", tag = "billing", params(("id" = Uuid, Path)),
    responses((status = 200, body = Discount), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get_discount(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&discounts::get_discount(app, actor, id).await?)
}

/// Change a discount (invoices issued from now on); `version` in the body or If-Match.
#[utoipa::path(patch, path = "/v1/billing/discounts/{id}", tag = "billing", request_body = UpdateDiscount,
    params(("id" = Uuid, Path), ("If-Match" = Option<u64>, Header)),
    responses((status = 200, body = Discount), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn update_discount(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: UpdateDiscount = r.json()?;
    ok(&discounts::update_discount(app, actor, id, input, r.if_match()?).await?)
}

/// Delete a discount; invoices it priced keep their discount lines.
#[utoipa::path(delete, path = "/v1/billing/discounts/{id}", tag = "billing", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn delete_discount(app: &App, actor: &Actor, id: Uuid) -> Reply {
    discounts::delete_discount(app, actor, id).await?;
    no_content()
}

/// A customer's account: balance (positive: owed), credit, and open invoices.
#[utoipa::path(get, path = "/v1/customers/{id}/account", tag = "billing", params(("id" = Uuid, Path)),
    responses((status = 200, body = Account), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn account(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&books::get_account(app, actor, id).await?)
}

/// A customer's ledger, oldest first: every invoice, payment, credit note, refund and void.
#[utoipa::path(get, path = "/v1/customers/{id}/ledger", tag = "billing",
    params(("id" = Uuid, Path), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<LedgerEntry>), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn ledger(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    r.allow_query(&["limit", "cursor"])?;
    let page = r.pagination()?;
    let out = books::list_ledger(app, actor, id, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

/// Pay a customer's credit back out (cash, bank transfer, mobile money), with a reason. A paid
/// invoice is refunded by a credit note first, then this.
#[utoipa::path(post, path = "/v1/customers/{id}/refunds", tag = "billing", request_body = IssueRefund,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "required; a repeat returns the first answer")),
    responses((status = 201, body = Refund), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem, description = "more than the customer's credit")), security(("bearer" = [])))]
pub async fn refund(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: IssueRefund = r.json()?;
    created_outcome(credit_notes::issue_refund(app, actor, id, input, r.idempotent()?.as_ref()).await?)
}

#[utoipa::path(get, path = "/v1/customers/{id}/refunds", tag = "billing", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<Refund>), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn refunds(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&credit_notes::list_refunds(app, actor, id).await?)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    preview,
    create_discount,
    list_discounts,
    get_discount,
    update_discount,
    delete_discount,
    account,
    ledger,
    refund,
    refunds
))]
pub struct Doc;
