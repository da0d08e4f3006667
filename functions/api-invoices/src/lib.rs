//! `api-invoices`: invoices (`/v1/invoices`): list, read, PDF, void, credit notes, and drafts with
//! manual lines.

use billing::books::{self, InvoiceFilter, VoidInput};
use billing::credit_notes::{self, CreditNote, IssueCreditNote};
use billing::manual_invoices::{self, AddLine, CreateInvoice};
use domain::Error;
use domain::actor::Actor;
use domain::invoice::{Invoice, InvoiceStatus};
use isp_http::{Incoming, ListResponse, Problem, Reply, created_outcome, finish, ok, pdf_file};
use kernel::App;
use lambda_http::{Body, Request, Response};
use uuid::Uuid;

pub const ROUTES: &[&str] = &[
    "GET /v1/invoices",
    "POST /v1/invoices",
    "GET /v1/invoices/{id}",
    "GET /v1/invoices/{id}/pdf",
    "POST /v1/invoices/{id}/void",
    "POST /v1/invoices/{id}/lines",
    "POST /v1/invoices/{id}/issue",
    "POST /v1/invoices/{id}/credit-notes",
    "GET /v1/invoices/{id}/credit-notes",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.caller(app).await?;
    let id = || params.id("id", "invoice");
    match route {
        "GET /v1/invoices" => list(app, &actor, &r).await,
        "POST /v1/invoices" => create(app, &actor, &r).await,
        "GET /v1/invoices/{id}" => get(app, &actor, id()?).await,
        "GET /v1/invoices/{id}/pdf" => pdf(app, &actor, id()?).await,
        "POST /v1/invoices/{id}/lines" => add_line(app, &actor, &r, id()?).await,
        "POST /v1/invoices/{id}/issue" => issue(app, &actor, id()?).await,
        "POST /v1/invoices/{id}/credit-notes" => credit(app, &actor, &r, id()?).await,
        "GET /v1/invoices/{id}/credit-notes" => credit_notes(app, &actor, id()?).await,
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
    let out = books::list_invoices(app, actor, filter, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

#[utoipa::path(get, path = "/v1/invoices/{id}", tag = "billing", params(("id" = Uuid, Path)),
    responses((status = 200, body = Invoice), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&books::get_invoice(app, actor, id).await?)
}

/// Void an invoice nothing was paid on (a paid one takes a credit note); what it owed leaves the
/// customer's balance.
#[utoipa::path(post, path = "/v1/invoices/{id}/void", tag = "billing", request_body = VoidInput,
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Invoice), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn void(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: VoidInput = r.json()?;
    ok(&books::void_invoice(app, actor, id, input).await?)
}

/// A draft invoice for a customer, with manual lines (installation, equipment, a late fee).
#[utoipa::path(post, path = "/v1/invoices", tag = "billing", request_body = CreateInvoice,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeats return the first answer")),
    responses((status = 201, body = Invoice), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn create(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: CreateInvoice = r.json()?;
    created_outcome(manual_invoices::create_draft(app, actor, input, r.idempotent()?.as_ref()).await?)
}

/// Add a manual line to a draft; `version` in the body or If-Match. Issued invoices do not change.
#[utoipa::path(post, path = "/v1/invoices/{id}/lines", tag = "billing", request_body = AddLine,
    params(("id" = Uuid, Path), ("If-Match" = Option<u64>, Header)),
    responses((status = 200, body = Invoice), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "not a draft, or changed meanwhile"), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn add_line(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: AddLine = r.json()?;
    ok(&manual_invoices::add_line(app, actor, id, input, r.if_match()?).await?)
}

/// Issue a draft: numbered, booked on the customer's account, paid from credit as far as it goes.
#[utoipa::path(post, path = "/v1/invoices/{id}/issue", tag = "billing", params(("id" = Uuid, Path)),
    responses((status = 200, body = Invoice), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn issue(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&manual_invoices::issue_draft(app, actor, id).await?)
}

/// The invoice as a PDF: the ISP, the customer, the lines with tax, the totals and payment status.
#[utoipa::path(get, path = "/v1/invoices/{id}/pdf", tag = "billing", params(("id" = Uuid, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn pdf(app: &App, actor: &Actor, id: Uuid) -> Reply {
    let (name, bytes) = billing::invoice_pdf::invoice_pdf(app, actor, id).await?;
    pdf_file(&name, bytes)
}

/// A credit note with a reason: off what the invoice still owes first; what exceeds it (it was
/// paid) settles the customer's other invoices or becomes credit (refund it from there).
#[utoipa::path(post, path = "/v1/invoices/{id}/credit-notes", tag = "billing", request_body = IssueCreditNote,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "required; a repeat returns the first answer")),
    responses((status = 201, body = CreditNote), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn credit(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: IssueCreditNote = r.json()?;
    created_outcome(credit_notes::issue_credit_note(app, actor, id, input, r.idempotent()?.as_ref()).await?)
}

#[utoipa::path(get, path = "/v1/invoices/{id}/credit-notes", tag = "billing", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<CreditNote>), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn credit_notes(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&credit_notes::list_credit_notes(app, actor, id).await?)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, get, pdf, void, add_line, issue, credit, credit_notes))]
pub struct Doc;
