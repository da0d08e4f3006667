//! `api-payments`: manual payments (`/v1/payments`): record (with `Idempotency-Key`), list, read.

use ::payments::payments::{self, PaymentFilter, RecordPayment};
use domain::Error;
use domain::actor::Actor;
use domain::payment::{Payment, PaymentMethod};
use isp_http::{Incoming, ListResponse, Problem, Reply, created_outcome, finish, ok};
use kernel::App;
use lambda_http::{Body, Request, Response};
use uuid::Uuid;

pub const ROUTES: &[&str] = &["POST /v1/payments", "GET /v1/payments", "GET /v1/payments/{id}"];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.actor(&app.tokens, app.now())?;
    match route {
        "POST /v1/payments" => create(app, &actor, &r).await,
        "GET /v1/payments" => list(app, &actor, &r).await,
        _ => get(app, &actor, params.id("id", "payment")?).await,
    }
}

/// Record a cash, bank-transfer or mobile-money payment against an invoice or as an advance.
/// Money beyond what the invoice owes settles the customer's other open invoices, then becomes
/// credit the next invoice uses. Clears a suspended subscription's debt -> restored at once.
#[utoipa::path(post, path = "/v1/payments", tag = "billing", request_body = RecordPayment,
    params(("Idempotency-Key" = String, Header, description = "required; a repeat returns the first answer")),
    responses((status = 201, body = Payment), (status = 400, body = Problem, description = "no Idempotency-Key"),
        (status = 409, body = Problem, description = "duplicate reference for the method, or the invoice is not open"),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: RecordPayment = r.json()?;
    created_outcome(payments::record_payment(app, actor, input, r.idempotent()?.as_ref()).await?)
}

/// Payments, newest first: by customer, method and date received.
#[utoipa::path(get, path = "/v1/payments", tag = "billing",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query), ("customer_id" = Option<Uuid>, Query),
        ("method" = Option<PaymentMethod>, Query), ("from" = Option<String>, Query), ("to" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<Payment>), (status = 400, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["limit", "cursor", "customer_id", "method", "from", "to"])?;
    let page = r.pagination()?;
    let method = r
        .query("method")
        .map(|m| {
            PaymentMethod::parse(m)
                .ok_or_else(|| Error::field("method", "must be cash, bank_transfer, mobile_money or online"))
        })
        .transpose()?;
    let filter = PaymentFilter {
        customer_id: r.query_id("customer_id")?,
        method,
        from: r.query_time("from")?,
        to: r.query_time("to")?,
    };
    let out = payments::list_payments(app, actor, filter, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

#[utoipa::path(get, path = "/v1/payments/{id}", tag = "billing", params(("id" = Uuid, Path)),
    responses((status = 200, body = Payment), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&payments::get_payment(app, actor, id).await?)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, get))]
pub struct Doc;
