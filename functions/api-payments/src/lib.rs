//! `api-payments`: manual payments (`/v1/payments`): record (with `Idempotency-Key`), list, read;
//! recharge cards (`/v1/recharge-card-batches`): made, listed, printed as CSV, disabled, and
//! redeemed for a customer (`POST /v1/customers/{id}/recharge`).

use ::payments::payments::{self, PaymentFilter, RecordPayment};
use ::payments::recharge_cards::{self as cards, MakeCards, Redeem, Redemption};
use domain::Error;
use domain::actor::Actor;
use domain::payment::{Payment, PaymentMethod};
use domain::recharge::{CardBatch, CardStatus, RechargeCard};
use isp_http::{Incoming, ListResponse, Problem, Reply, created_outcome, finish, ok};
use kernel::App;
use lambda_http::{Body, Request, Response};
use uuid::Uuid;

pub const ROUTES: &[&str] = &[
    "POST /v1/payments",
    "GET /v1/payments",
    "GET /v1/payments/{id}",
    "POST /v1/recharge-card-batches",
    "GET /v1/recharge-card-batches",
    "GET /v1/recharge-card-batches/{id}",
    "GET /v1/recharge-card-batches/{id}/cards",
    "GET /v1/recharge-card-batches/{id}/csv",
    "POST /v1/recharge-card-batches/{id}/cards/{serial}/disable",
    "POST /v1/customers/{id}/recharge",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.caller(app).await?;
    match route {
        "POST /v1/payments" => create(app, &actor, &r).await,
        "GET /v1/payments" => list(app, &actor, &r).await,
        "GET /v1/payments/{id}" => get(app, &actor, params.id("id", "payment")?).await,
        "POST /v1/recharge-card-batches" => make_cards(app, &actor, &r).await,
        "GET /v1/recharge-card-batches" => card_batches(app, &actor, &r).await,
        "POST /v1/customers/{id}/recharge" => recharge(app, &actor, &r, params.id("id", "customer")?).await,
        route => {
            let batch = params.id("id", "recharge card batch")?;
            match route {
                "GET /v1/recharge-card-batches/{id}" => card_batch(app, &actor, batch).await,
                "GET /v1/recharge-card-batches/{id}/cards" => batch_cards(app, &actor, &r, batch).await,
                "GET /v1/recharge-card-batches/{id}/csv" => batch_csv(app, &actor, &r, batch).await,
                _ => {
                    let serial = params
                        .get("serial")
                        .and_then(|s| s.parse::<u32>().ok())
                        .ok_or_else(|| Error::not_found("recharge card"))?;
                    disable_card(app, &actor, batch, serial).await
                }
            }
        }
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
            PaymentMethod::parse(m).ok_or_else(|| {
                Error::field("method", "must be cash, bank_transfer, mobile_money, online or recharge_card")
            })
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

/// Make recharge cards (1 to 1,000, each of `value`), with codes of 16 random symbols from a
/// CSPRNG, stored hashed and sealed. The ISP's only.
#[utoipa::path(post, path = "/v1/recharge-card-batches", tag = "billing", request_body = MakeCards,
    params(("Idempotency-Key" = String, Header, description = "required; a repeat returns the first batch")),
    responses((status = 201, body = CardBatch), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn make_cards(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: MakeCards = r.json()?;
    created_outcome(cards::make_cards(app, actor, input, r.idempotent()?.as_ref()).await?)
}

/// The ISP's recharge card batches, newest first.
#[utoipa::path(get, path = "/v1/recharge-card-batches", tag = "billing",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<CardBatch>), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn card_batches(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["limit", "cursor"])?;
    let page = r.pagination()?;
    let out = cards::list_batches(app, actor, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

#[utoipa::path(get, path = "/v1/recharge-card-batches/{id}", tag = "billing", params(("id" = Uuid, Path)),
    responses((status = 200, body = CardBatch), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn card_batch(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&cards::get_batch(app, actor, id).await?)
}

/// A batch's cards in serial order (status, who redeemed it, the payment; never the code).
#[utoipa::path(get, path = "/v1/recharge-card-batches/{id}/cards", tag = "billing",
    params(("id" = Uuid, Path), ("status" = Option<CardStatus>, Query), ("limit" = Option<u32>, Query),
        ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<RechargeCard>), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn batch_cards(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    r.allow_query(&["status", "limit", "cursor"])?;
    let page = r.pagination()?;
    let status = r
        .query("status")
        .map(|s| CardStatus::parse(s).ok_or_else(|| Error::field("status", "must be unused, redeemed or disabled")))
        .transpose()?;
    let out = cards::list_cards(app, actor, id, status, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

/// The batch's cards with their codes, for printing (`serial,code,value,currency,expires_at,status`),
/// as CSV (the default) or XLSX (`format=xlsx`).
#[utoipa::path(get, path = "/v1/recharge-card-batches/{id}/csv", tag = "billing",
    params(("id" = Uuid, Path), ("format" = Option<String>, Query, description = "csv (default) or xlsx")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn batch_csv(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    r.allow_query(&["format"])?;
    let format = r.download_format()?;
    isp_http::spreadsheet_file(
        &format!("recharge-cards-{id}"),
        format,
        cards::export_sheet(app, actor, id, format).await?,
    )
}

/// Disable an unused card (lost or stolen): it never redeems.
#[utoipa::path(post, path = "/v1/recharge-card-batches/{id}/cards/{serial}/disable", tag = "billing",
    params(("id" = Uuid, Path), ("serial" = u32, Path)),
    responses((status = 200, body = RechargeCard), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn disable_card(app: &App, actor: &Actor, batch: Uuid, serial: u32) -> Reply {
    ok(&cards::disable_card(app, actor, batch, serial).await?)
}

/// Redeem a recharge card for the customer: its value is paid into the customer's account (open
/// invoices first: a prepaid renewal paid extends the subscription; the rest is credit). One card
/// pays once however many redeem it at once; wrong codes are throttled per customer and per ISP
/// (429 with `Retry-After`).
#[utoipa::path(post, path = "/v1/customers/{id}/recharge", tag = "billing", request_body = Redeem,
    params(("id" = Uuid, Path),
        ("Idempotency-Key" = String, Header, description = "required; a repeat returns the first answer")),
    responses((status = 201, body = Redemption), (status = 404, body = Problem),
        (status = 422, body = Problem, description = "no usable card has this code, or it was redeemed already"),
        (status = 429, body = Problem)),
    security(("bearer" = [])))]
pub async fn recharge(app: &App, actor: &Actor, r: &Incoming, customer: Uuid) -> Reply {
    let input: Redeem = r.json()?;
    created_outcome(cards::redeem(app, actor, customer, input, r.idempotent()?.as_ref(), r.source_ip.as_deref()).await?)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create,
    list,
    get,
    make_cards,
    card_batches,
    card_batch,
    batch_cards,
    batch_csv,
    disable_card,
    recharge
))]
pub struct Doc;
