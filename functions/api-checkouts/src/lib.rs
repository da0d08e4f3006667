//! `api-checkouts`: online payments through an ISP's gateway accounts (`/v1/checkouts`) and the
//! pages the gateways send the payer's browser back to (`/v1/checkouts/returns/...`, public: they
//! settle nothing by themselves; the gateway's status API is asked, and the browser sent on to the
//! ISP's page for the outcome).

use domain::actor::Actor;
use domain::checkout::Checkout;
use isp_http::{Incoming, ListResponse, Problem, Reply, created_outcome, finish, ok, see_other};
use kernel::App;
use lambda_http::{Body, Request, Response};
use payments::checkouts::{self, CreateCheckout};
use payments::gateway_http as http;
use payments::refunds::{self, RefundCheckout};
use uuid::Uuid;

pub const ROUTES: &[&str] = &[
    "POST /v1/checkouts",
    "GET /v1/checkouts",
    "GET /v1/checkouts/{id}",
    "POST /v1/checkouts/{id}/refunds",
    "GET /v1/checkouts/returns/{account_id}/{order_id}",
    "POST /v1/checkouts/returns/{account_id}/{order_id}",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    if route.contains("/returns/") {
        let account = params.id("account_id", "checkout")?;
        let order = params.get("order_id").unwrap_or_default().to_string();
        return payer_return(app, &r, account, &order).await;
    }
    let actor = r.caller(app).await?;
    match route {
        "POST /v1/checkouts" => create(app, &actor, &r).await,
        "GET /v1/checkouts" => list(app, &actor, &r).await,
        "POST /v1/checkouts/{id}/refunds" => refund(app, &actor, &r, params.id("id", "checkout")?).await,
        _ => get(app, &actor, params.id("id", "checkout")?).await,
    }
}

/// Ask one of the ISP's gateway accounts for a payment: of an invoice (what it owes now) or of an
/// amount on a customer's account. Answers where to send the payer.
#[utoipa::path(post, path = "/v1/checkouts", tag = "payments", request_body = CreateCheckout,
    params(("Idempotency-Key" = String, Header, description = "required; a repeat returns the first checkout")),
    responses((status = 201, body = Checkout), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 502, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: CreateCheckout = r.json()?;
    let payer_ip = r.source_ip.clone().unwrap_or_else(|| "127.0.0.1".into());
    created_outcome(checkouts::create_checkout(app, actor, input, r.idempotent()?.as_ref(), http()?, &payer_ip).await?)
}

/// A customer's checkouts, oldest first.
#[utoipa::path(get, path = "/v1/checkouts", tag = "payments",
    params(("customer_id" = Uuid, Query), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<Checkout>), (status = 400, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["customer_id", "limit", "cursor"])?;
    let customer = r.query_id("customer_id")?.ok_or_else(|| domain::Error::field("customer_id", "is required"))?;
    let page = r.pagination()?;
    let out = checkouts::list_customer_checkouts(app, actor, customer, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

/// A checkout: its state and its history with the gateway.
#[utoipa::path(get, path = "/v1/checkouts/{id}", tag = "payments", params(("id" = Uuid, Path)),
    responses((status = 200, body = Checkout), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&checkouts::get_checkout(app, actor, id).await?)
}

/// Refunds (part of) a paid checkout through its gateway (Stripe, Midtrans, bKash, PayPal): the
/// invoices it paid are credited by credit notes, the gateway pays the money back, and the
/// refund leaves the customer's credit, once, however often the request is repeated. A gateway
/// that does not answer is a 503: repeat with the same key (the refund is held meanwhile).
#[utoipa::path(post, path = "/v1/checkouts/{id}/refunds", tag = "payments", request_body = RefundCheckout,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "required; a repeat resumes or returns the same refund")),
    responses((status = 201, body = Checkout), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 502, body = Problem),
        (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn refund(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: RefundCheckout = r.json()?;
    created_outcome(refunds::refund_checkout(app, actor, id, input, r.idempotent()?.as_ref(), http()?).await?)
}

/// Where a gateway sends the payer back (GET, or a form POST for SSLCommerz and aamarPay): the
/// gateway is asked, what it says applied, and the browser sent to the ISP's page with
/// `checkout` and `state` (`paid`, `pending`, `failed`...).
#[utoipa::path(get, path = "/v1/checkouts/returns/{account_id}/{order_id}", tag = "payments",
    params(("account_id" = Uuid, Path), ("order_id" = String, Path)),
    responses((status = 303, description = "to the ISP's page for the outcome"), (status = 404, body = Problem)))]
pub async fn payer_return(app: &App, r: &Incoming, account: Uuid, order: &str) -> Reply {
    let params = match r.method.as_str() {
        "POST" => String::from_utf8_lossy(r.body_bytes()).into_owned(),
        _ => r.raw_query.clone(),
    };
    let out = checkouts::confirm_return(app, account, order, &params, http()?).await?;
    see_other(&out.location)
}

/// The same return as a form POST (SSLCommerz and aamarPay post the payer's browser back).
#[utoipa::path(post, path = "/v1/checkouts/returns/{account_id}/{order_id}", tag = "payments",
    params(("account_id" = Uuid, Path), ("order_id" = String, Path)),
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "to the ISP's page for the outcome"), (status = 404, body = Problem)))]
pub async fn payer_return_form(app: &App, r: &Incoming, account: Uuid, order: &str) -> Reply {
    payer_return(app, r, account, order).await
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, get, refund, payer_return, payer_return_form))]
pub struct Doc;
