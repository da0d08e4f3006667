//! `api-vouchers`: hotspot vouchers: the plans an ISP sells them on (`/v1/voucher-plans`), batches
//! of printed vouchers (`/v1/voucher-batches`, with their PDF sheets and CSV) and the vouchers
//! themselves (`/v1/vouchers`).

use domain::Error;
use domain::actor::Actor;
use domain::voucher::VoucherPlan;
use domain::voucher::VoucherStatus;
use isp_http::{Incoming, ListResponse, Problem, Reply, created_outcome, finish, json, ok, ok_outcome, pdf_file};
use kernel::App;
use lambda_http::{Body, Request, Response};
use uuid::Uuid;
use vouchers::batches::{self, BatchView, CreateBatch};
use vouchers::plans::{self, CreatePlan, UpdatePlan};
use vouchers::sales::SellVoucher;
use vouchers::vouchers::{self as voucher_use, ResendSms, SmsQueued, TransferVoucher, VoucherFilter, VoucherView};

pub const ROUTES: &[&str] = &[
    "POST /v1/voucher-plans",
    "GET /v1/voucher-plans",
    "POST /v1/voucher-plans/examples",
    "GET /v1/voucher-plans/{id}",
    "PATCH /v1/voucher-plans/{id}",
    "POST /v1/voucher-batches",
    "GET /v1/voucher-batches",
    "GET /v1/voucher-batches/{id}",
    "GET /v1/voucher-batches/{id}/pdf",
    "GET /v1/voucher-batches/{id}/csv",
    "GET /v1/vouchers",
    "GET /v1/vouchers/{code}",
    "POST /v1/vouchers/{code}/activate",
    "POST /v1/vouchers/{code}/disable",
    "POST /v1/vouchers/{code}/transfer",
    "POST /v1/vouchers/{code}/sell",
    "POST /v1/vouchers/{code}/refund",
    "POST /v1/vouchers/{code}/resend-sms",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.caller(app).await?;
    match route {
        "POST /v1/voucher-plans" => create(app, &actor, &r).await,
        "GET /v1/voucher-plans" => list(app, &actor, &r).await,
        "POST /v1/voucher-plans/examples" => examples(app, &actor).await,
        "GET /v1/voucher-plans/{id}" => get(app, &actor, params.id("id", "voucher plan")?).await,
        "PATCH /v1/voucher-plans/{id}" => update(app, &actor, &r, params.id("id", "voucher plan")?).await,
        "POST /v1/voucher-batches" => create_batch(app, &actor, &r).await,
        "GET /v1/voucher-batches" => list_batches(app, &actor, &r).await,
        "GET /v1/voucher-batches/{id}" => get_batch(app, &actor, params.id("id", "voucher batch")?).await,
        "GET /v1/voucher-batches/{id}/pdf" => batch_pdf(app, &actor, &r, params.id("id", "voucher batch")?).await,
        "GET /v1/voucher-batches/{id}/csv" => batch_csv(app, &actor, &r, params.id("id", "voucher batch")?).await,
        "GET /v1/vouchers" => list_vouchers(app, &actor, &r).await,
        _ => {
            let code = params.get("code").unwrap_or_default().to_string();
            match route {
                "GET /v1/vouchers/{code}" => get_voucher(app, &actor, &code).await,
                "POST /v1/vouchers/{code}/activate" => activate(app, &actor, &code).await,
                "POST /v1/vouchers/{code}/disable" => disable(app, &actor, &code).await,
                "POST /v1/vouchers/{code}/sell" => sell(app, &actor, &r, &code).await,
                "POST /v1/vouchers/{code}/refund" => refund(app, &actor, &r, &code).await,
                "POST /v1/vouchers/{code}/resend-sms" => resend_sms(app, &actor, &r, &code).await,
                _ => transfer(app, &actor, &r, &code).await,
            }
        }
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

/// A batch of up to 10,000 vouchers of a plan for a router, a POP or all routers, sold by the ISP
/// or an operator. Codes come from a CSPRNG without look-alike symbols and are unique in the ISP;
/// the vouchers are generated by a job (watch `generated` and `status`) and then reach the
/// routers as hotspot users. `Idempotency-Key` is required.
#[utoipa::path(post, path = "/v1/voucher-batches", tag = "vouchers", request_body = CreateBatch,
    params(("Idempotency-Key" = String, Header, description = "required; repeats return the first answer")),
    responses((status = 201, body = BatchView), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn create_batch(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: CreateBatch = r.json()?;
    created_outcome(batches::create_batch(app, actor, input, r.idempotent()?.as_ref()).await?)
}

/// The ISP's batches, newest first (an operator: those it sells).
#[utoipa::path(get, path = "/v1/voucher-batches", tag = "vouchers",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<BatchView>), (status = 403, body = Problem)), security(("bearer" = [])))]
pub async fn list_batches(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["limit", "cursor"])?;
    let page = r.pagination()?;
    let out = batches::list_batches(app, actor, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

/// A batch: how many vouchers exist yet, and the last provisioning outcome on each router.
#[utoipa::path(get, path = "/v1/voucher-batches/{id}", tag = "vouchers", params(("id" = Uuid, Path)),
    responses((status = 200, body = BatchView), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get_batch(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&batches::get_batch(app, actor, id).await?)
}

/// The batch as A4 sheets of 24 cards: ISP, plan, price, validity, code (and password) and a QR
/// code of the hotspot login with the code filled in. Needs `subscriptions:secrets`. A batch of
/// more than 1,000 prints in parts (`from`, `to`: the cards' numbers as printed).
#[utoipa::path(get, path = "/v1/voucher-batches/{id}/pdf", tag = "vouchers",
    params(("id" = Uuid, Path), ("from" = Option<u32>, Query, description = "first card, from 1"),
        ("to" = Option<u32>, Query, description = "last card (at most 1,000 after from)")),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn batch_pdf(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    r.allow_query(&["from", "to"])?;
    let number = |name: &str| -> Result<Option<u32>, Error> {
        r.query(name).map(|s| s.parse::<u32>().map_err(|_| Error::field(name, "must be a card's number"))).transpose()
    };
    let part = match (number("from")?, number("to")?) {
        (None, None) => None,
        (Some(f), Some(t)) => Some((f, t)),
        _ => return Err(Error::field("from", "give both from and to")),
    };
    let (name, bytes) = vouchers::cards::batch_pdf(app, actor, id, part).await?;
    pdf_file(&name, bytes)
}

/// The batch as a spreadsheet (`format=csv`, the default, or `xlsx`): sequence, code, password,
/// plan, price, validity, data limit, status.
#[utoipa::path(get, path = "/v1/voucher-batches/{id}/csv", tag = "vouchers",
    params(("id" = Uuid, Path), ("format" = Option<String>, Query, description = "csv (default) or xlsx")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = Problem),
        (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn batch_csv(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    r.allow_query(&["format"])?;
    let format = r.download_format()?;
    isp_http::spreadsheet_file(&format!("vouchers-{id}"), format, batches::export_sheet(app, actor, id, format).await?)
}

/// Vouchers by `code`, `batch`, `status` or `operator` (the seller; an operator sees its own
/// subtree). At least one of them.
#[utoipa::path(get, path = "/v1/vouchers", tag = "vouchers",
    params(("code" = Option<String>, Query), ("batch" = Option<Uuid>, Query),
        ("status" = Option<VoucherStatus>, Query), ("operator" = Option<Uuid>, Query),
        ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<VoucherView>), (status = 403, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn list_vouchers(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["code", "batch", "status", "operator", "limit", "cursor"])?;
    let page = r.pagination()?;
    let status =
        match r.query("status") {
            None => None,
            Some(s) => Some(VoucherStatus::parse(s).ok_or_else(|| {
                Error::field("status", "must be unused, active, expired, used_up, disabled or refunded")
            })?),
        };
    let filter = VoucherFilter {
        code: r.query("code").map(str::to_string),
        batch: r.query_id("batch")?,
        status,
        operator: r.query_id("operator")?,
    };
    let out = voucher_use::list_vouchers(app, actor, filter, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

/// A voucher by its code: status, first login, bytes used and left, validity left.
#[utoipa::path(get, path = "/v1/vouchers/{code}", tag = "vouchers", params(("code" = String, Path)),
    responses((status = 200, body = VoucherView), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get_voucher(app: &App, actor: &Actor, code: &str) -> Reply {
    ok(&voucher_use::get_voucher(app, actor, code).await?)
}

/// Start an unused voucher's validity now (sold at the counter).
#[utoipa::path(post, path = "/v1/vouchers/{code}/activate", tag = "vouchers", params(("code" = String, Path)),
    responses((status = 200, body = VoucherView), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn activate(app: &App, actor: &Actor, code: &str) -> Reply {
    ok(&voucher_use::activate(app, actor, code).await?)
}

/// Stop a voucher: it is removed from the routers.
#[utoipa::path(post, path = "/v1/vouchers/{code}/disable", tag = "vouchers", params(("code" = String, Path)),
    responses((status = 200, body = VoucherView), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn disable(app: &App, actor: &Actor, code: &str) -> Reply {
    ok(&voucher_use::disable(app, actor, code).await?)
}

/// Send the voucher's login (code, password, plan, validity, login link) by SMS again: to its
/// buyer, or the phone given. The message leaves through the ISP's messaging (its SMS account and
/// template `voucher_login`); answers 202 with where it goes.
#[utoipa::path(post, path = "/v1/vouchers/{code}/resend-sms", tag = "vouchers",
    params(("code" = String, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "a repeat sends nothing more")),
    request_body = ResendSms,
    responses((status = 202, body = SmsQueued), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn resend_sms(app: &App, actor: &Actor, r: &Incoming, code: &str) -> Reply {
    let input: ResendSms = r.json()?;
    let queued = voucher_use::resend_sms(app, actor, code, input, r.idempotent()?.as_ref()).await?;
    json(lambda_http::http::StatusCode::ACCEPTED, &queued)
}

/// Give an unused voucher to another seller (an operator, or the ISP's counter with null).
#[utoipa::path(post, path = "/v1/vouchers/{code}/transfer", tag = "vouchers", params(("code" = String, Path)),
    request_body = TransferVoucher,
    responses((status = 200, body = VoucherView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn transfer(app: &App, actor: &Actor, r: &Incoming, code: &str) -> Reply {
    let input: TransferVoucher = r.json()?;
    ok(&voucher_use::transfer(app, actor, code, input).await?)
}

/// Sell an unused voucher for cash: an operator's wallet pays the ISP the batch's price in the
/// same transaction (409 `insufficient_balance` when it cannot); a plan counted from activation
/// starts now. `Idempotency-Key` is required.
#[utoipa::path(post, path = "/v1/vouchers/{code}/sell", tag = "vouchers", params(("code" = String, Path),
    ("Idempotency-Key" = String, Header, description = "required; repeats return the first answer")),
    request_body = SellVoucher,
    responses((status = 200, body = VoucherView), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
pub async fn sell(app: &App, actor: &Actor, r: &Incoming, code: &str) -> Reply {
    let input: SellVoucher = r.json_or_default()?;
    ok_outcome(vouchers::sales::sell(app, actor, code, input, r.idempotent()?.as_ref()).await?)
}

/// Take back an unused, sold voucher: its price returns to the wallet that paid it, and it leaves
/// the routers. `Idempotency-Key` is required.
#[utoipa::path(post, path = "/v1/vouchers/{code}/refund", tag = "vouchers", params(("code" = String, Path),
    ("Idempotency-Key" = String, Header, description = "required; repeats return the first answer")),
    responses((status = 200, body = VoucherView), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
pub async fn refund(app: &App, actor: &Actor, r: &Incoming, code: &str) -> Reply {
    ok_outcome(vouchers::sales::refund(app, actor, code, r.idempotent()?.as_ref()).await?)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create,
    list,
    examples,
    get,
    update,
    create_batch,
    list_batches,
    get_batch,
    batch_pdf,
    batch_csv,
    list_vouchers,
    get_voucher,
    activate,
    disable,
    transfer,
    sell,
    refund,
    resend_sms
))]
pub struct Doc;
