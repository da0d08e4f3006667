//! `api-invoices`: invoices (`/v1/invoices`): list, read, void.

use domain::Error;
use domain::actor::Actor;
use domain::invoice::{Invoice, InvoiceStatus};
use isp_http::{Incoming, ListResponse, Problem, Reply, finish, ok};
use lambda_http::{Body, Request, Response};
use services::App;
use services::billing::{self, InvoiceFilter, VoidInput};
use uuid::Uuid;

pub const ROUTES: &[&str] = &["GET /v1/invoices", "GET /v1/invoices/{id}", "POST /v1/invoices/{id}/void"];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.actor(&app.tokens, app.now())?;
    let id = || params.id("id", "invoice");
    match route {
        "GET /v1/invoices" => list(app, &actor, &r).await,
        "GET /v1/invoices/{id}" => get(app, &actor, id()?).await,
        _ => void(app, &actor, &r, id()?).await,
    }
}

/// Invoices, newest first: by status, customer, operator and issue date range.
#[utoipa::path(get, path = "/v1/invoices", tag = "billing",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query), ("status" = Option<InvoiceStatus>, Query),
        ("customer_id" = Option<Uuid>, Query), ("operator_id" = Option<Uuid>, Query),
        ("from" = Option<String>, Query, description = "issued at or after (RFC 3339)"),
        ("to" = Option<String>, Query, description = "issued before (RFC 3339)")),
    responses((status = 200, body = ListResponse<Invoice>), (status = 400, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["limit", "cursor", "status", "customer_id", "operator_id", "from", "to"])?;
    let page = r.pagination()?;
    let status = r
        .query("status")
        .map(|s| {
            InvoiceStatus::parse(s)
                .ok_or_else(|| Error::field("status", "must be draft, issued, partially_paid, paid, overdue or void"))
        })
        .transpose()?;
    let filter = InvoiceFilter {
        status,
        customer_id: r.query_id("customer_id")?,
        operator_id: r.query_id("operator_id")?,
        from: r.query_time("from")?,
        to: r.query_time("to")?,
    };
    let out = billing::list_invoices(app, actor, filter, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

#[utoipa::path(get, path = "/v1/invoices/{id}", tag = "billing", params(("id" = Uuid, Path)),
    responses((status = 200, body = Invoice), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&billing::get_invoice(app, actor, id).await?)
}

/// Void an invoice nothing was paid on (a paid one takes a credit note); what it owed leaves the
/// customer's balance.
#[utoipa::path(post, path = "/v1/invoices/{id}/void", tag = "billing", request_body = VoidInput,
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Invoice), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn void(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: VoidInput = r.json()?;
    ok(&billing::void_invoice(app, actor, id, input).await?)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(list, get, void))]
pub struct Doc;
