//! `api-portal`: the subscriber's API (`/v1/portal/...`): login within the ISP the request's host
//! or `X-ISP` code names, sessions, and the subscriber's own profile, subscriptions, invoices
//! (with PDF), payments and balance. Also where staff set a subscriber's portal password, and
//! every browser's CORS preflight (`OPTIONS /{proxy+}`).

use domain::checkout::Checkout;
use domain::invoice::Invoice;
use domain::live::SubscriberSession;
use domain::payment::Payment;
use domain::portal::Subscriber;
use domain::subscription::Subscription;
use domain::ticket::Ticket;
use helpdesk::attachments::{Download, NewAttachment, Upload};
use helpdesk::tickets::{PortalOpenTicket, TicketReply, TicketThread};
use identity::auth::RefreshRequest;
use isp_http::{Incoming, ListResponse, Problem, Reply, finish, no_content, ok, pdf_file};
use kernel::App;
use lambda_http::{Body, Request, Response};
use notify::messages::CustomerMessage;
use payments::checkouts::{PortalCheckout, VoucherPurchase};
use payments::gateway_accounts::PaymentMethodView;
use payments::recharge_cards::{Redeem, Redemption};
use portal::auth::{
    self, PortalCodeLogin, PortalCodeRequest, PortalLoginRequest, PortalPasswordChange, PortalSession,
    SetPortalPassword,
};
use portal::pages::{self, Balance, Me, PortalSubscription, Profile, UpdateMe};
use subscriptions::package_change::{self, PackageChangeInput, PackageChangePreview, PackageChoice};
use subscriptions::traffic::TrafficHistory;
use subscriptions::turbo::{BuyTurbo, TurboBought};
use uuid::Uuid;
use vouchers::online::PlanOnSale;

pub const ROUTES: &[&str] = &[
    "POST /v1/portal/auth/login",
    "POST /v1/portal/auth/refresh",
    "POST /v1/portal/auth/logout",
    "POST /v1/portal/auth/code",
    "POST /v1/portal/auth/code/login",
    "POST /v1/portal/password",
    "GET /v1/portal/me",
    "PATCH /v1/portal/me",
    "GET /v1/portal/subscriptions",
    "GET /v1/portal/invoices",
    "GET /v1/portal/invoices/{id}",
    "GET /v1/portal/invoices/{id}/pdf",
    "GET /v1/portal/payments",
    "GET /v1/portal/balance",
    "GET /v1/portal/payment-methods",
    "GET /v1/portal/notifications",
    "POST /v1/portal/checkouts",
    "POST /v1/portal/subscriptions/{id}/turbo",
    "GET /v1/portal/subscriptions/{id}/packages",
    "GET /v1/portal/subscriptions/{id}/session",
    "GET /v1/portal/subscriptions/{id}/usage",
    "POST /v1/portal/recharge",
    "GET /v1/portal/voucher-plans",
    "POST /v1/portal/voucher-checkouts",
    "POST /v1/portal/tickets",
    "GET /v1/portal/tickets",
    "GET /v1/portal/tickets/{id}",
    "POST /v1/portal/tickets/{id}/messages",
    "POST /v1/portal/tickets/{id}/attachments",
    "GET /v1/portal/tickets/{id}/attachments/{attachment_id}",
    "POST /v1/portal/subscriptions/{id}/package-change/preview",
    "POST /v1/portal/subscriptions/{id}/package-change",
    "DELETE /v1/portal/subscriptions/{id}/package-change",
    "PUT /v1/customers/{id}/portal-password",
    // Every preflight: answered by the CORS layer before routing.
    "OPTIONS /{proxy+}",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    // A preflight without an `Origin` (with one, the CORS layer answered it): nothing to allow.
    if r.method == lambda_http::http::Method::OPTIONS {
        return no_content();
    }
    let (route, params) = r.route(ROUTES)?;
    match route {
        "POST /v1/portal/auth/login" => login(app, &r).await,
        "POST /v1/portal/auth/refresh" => refresh(app, &r).await,
        "POST /v1/portal/auth/logout" => logout(app, &r).await,
        "POST /v1/portal/auth/code" => request_code(app, &r).await,
        "POST /v1/portal/auth/code/login" => code_login(app, &r).await,
        "PUT /v1/customers/{id}/portal-password" => set_portal_password(app, &r, params.id("id", "customer")?).await,
        "GET /v1/portal/voucher-plans" => voucher_plans(app, &r).await,
        "POST /v1/portal/voucher-checkouts" => buy_voucher(app, &r).await,
        _ => {
            let s = r.subscriber(app).await?;
            match route {
                "POST /v1/portal/password" => change_password(app, s, &r).await,
                "GET /v1/portal/me" => me(app, s).await,
                "PATCH /v1/portal/me" => update_me(app, s, &r).await,
                "GET /v1/portal/subscriptions" => subscriptions(app, s).await,
                "GET /v1/portal/invoices" => invoices(app, s, &r).await,
                "GET /v1/portal/invoices/{id}" => invoice(app, s, params.id("id", "invoice")?).await,
                "GET /v1/portal/invoices/{id}/pdf" => invoice_pdf(app, s, params.id("id", "invoice")?).await,
                "GET /v1/portal/payments" => payments(app, s, &r).await,
                "GET /v1/portal/payment-methods" => payment_methods(app, s).await,
                "GET /v1/portal/notifications" => notifications(app, s, &r).await,
                "POST /v1/portal/checkouts" => checkout(app, s, &r).await,
                "POST /v1/portal/recharge" => recharge(app, s, &r).await,
                "POST /v1/portal/tickets" => open_ticket(app, s, &r).await,
                "GET /v1/portal/tickets" => tickets(app, s, &r).await,
                "GET /v1/portal/tickets/{id}" => ticket(app, s, params.id("id", "ticket")?).await,
                "POST /v1/portal/tickets/{id}/messages" => ticket_reply(app, s, &r, params.id("id", "ticket")?).await,
                "POST /v1/portal/tickets/{id}/attachments" => {
                    ticket_upload(app, s, &r, params.id("id", "ticket")?).await
                }
                "GET /v1/portal/tickets/{id}/attachments/{attachment_id}" => {
                    let attachment = params.id("attachment_id", "attachment")?;
                    ticket_download(app, s, params.id("id", "ticket")?, attachment).await
                }
                "POST /v1/portal/subscriptions/{id}/turbo" => {
                    buy_turbo(app, s, &r, params.id("id", "subscription")?).await
                }
                "GET /v1/portal/subscriptions/{id}/session" => {
                    live_session(app, s, params.id("id", "subscription")?).await
                }
                "GET /v1/portal/subscriptions/{id}/usage" => usage(app, s, &r, params.id("id", "subscription")?).await,
                "GET /v1/portal/subscriptions/{id}/packages" => {
                    package_choices(app, s, params.id("id", "subscription")?).await
                }
                "POST /v1/portal/subscriptions/{id}/package-change/preview" => {
                    preview_package_change(app, s, &r, params.id("id", "subscription")?).await
                }
                "POST /v1/portal/subscriptions/{id}/package-change" => {
                    change_package(app, s, &r, params.id("id", "subscription")?).await
                }
                "DELETE /v1/portal/subscriptions/{id}/package-change" => {
                    cancel_package_change(app, s, params.id("id", "subscription")?).await
                }
                _ => balance(app, s).await,
            }
        }
    }
}

/// Log in as a subscriber of the ISP this address serves (its portal host, `<code>.<portal
/// domain>`, or the `X-ISP` header's code), with username or phone and password. Unknown logins
/// and wrong passwords answer alike; 5 failures lock the login for 15 minutes (429).
#[utoipa::path(post, path = "/v1/portal/auth/login", tag = "portal", request_body = PortalLoginRequest,
    params(("X-ISP" = Option<String>, Header, description = "the ISP's code, when the host does not name it")),
    responses((status = 200, body = PortalSession), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 429, body = Problem)))]
pub async fn login(app: &App, r: &Incoming) -> Reply {
    let input: PortalLoginRequest = r.json()?;
    let tenant = auth::find_isp(app, r.header("host"), r.header("x-isp")).await?;
    ok(&auth::login(app, &tenant, input, r.source_ip.as_deref()).await?)
}

/// Ask for a login code by SMS (the ISP's `otp_login`). 202 alike for any login; 429 past 5 an hour
/// for one login or 30 from one source address.
#[utoipa::path(post, path = "/v1/portal/auth/code", tag = "portal", request_body = PortalCodeRequest,
    params(("X-ISP" = Option<String>, Header, description = "the ISP's code, when the host does not name it")),
    responses((status = 202), (status = 403, body = Problem), (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn request_code(app: &App, r: &Incoming) -> Reply {
    let input: PortalCodeRequest = r.json()?;
    let tenant = auth::find_isp(app, r.header("host"), r.header("x-isp")).await?;
    auth::request_code(app, &tenant, input, r.source_ip.as_deref()).await?;
    isp_http::json(lambda_http::http::StatusCode::ACCEPTED, &serde_json::json!({"status": "accepted"}))
}

/// Log in with the code from the SMS (works once, for 10 minutes, 5 tries).
#[utoipa::path(post, path = "/v1/portal/auth/code/login", tag = "portal", request_body = PortalCodeLogin,
    params(("X-ISP" = Option<String>, Header, description = "the ISP's code, when the host does not name it")),
    responses((status = 200, body = PortalSession), (status = 401, body = Problem), (status = 429, body = Problem)))]
pub async fn code_login(app: &App, r: &Incoming) -> Reply {
    let input: PortalCodeLogin = r.json()?;
    let tenant = auth::find_isp(app, r.header("host"), r.header("x-isp")).await?;
    ok(&auth::login_with_code(app, &tenant, input, r.source_ip.as_deref()).await?)
}

/// Exchange a portal refresh token for a new pair (each works once; reuse ends the login).
#[utoipa::path(post, path = "/v1/portal/auth/refresh", tag = "portal", request_body = RefreshRequest,
    responses((status = 200, body = PortalSession), (status = 401, body = Problem)))]
pub async fn refresh(app: &App, r: &Incoming) -> Reply {
    ok(&auth::refresh(app, r.json()?).await?)
}

#[utoipa::path(post, path = "/v1/portal/auth/logout", tag = "portal", request_body = RefreshRequest,
    responses((status = 204), (status = 401, body = Problem)))]
pub async fn logout(app: &App, r: &Incoming) -> Reply {
    auth::logout(app, r.json()?).await?;
    no_content()
}

/// Change one's portal password (the current one is needed); other sessions end.
#[utoipa::path(post, path = "/v1/portal/password", tag = "portal", request_body = PortalPasswordChange,
    responses((status = 200, body = PortalSession), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn change_password(app: &App, s: Subscriber, r: &Incoming) -> Reply {
    ok(&auth::change_password(app, s, r.json()?).await?)
}

/// The subscriber's profile, their ISP (and what it lets them do) and their balance.
#[utoipa::path(get, path = "/v1/portal/me", tag = "portal", responses((status = 200, body = Me)),
    security(("bearer" = [])))]
pub async fn me(app: &App, s: Subscriber) -> Reply {
    ok(&pages::me(app, s).await?)
}

/// Change the contact details the ISP lets subscribers edit (`version` or `If-Match` required).
#[utoipa::path(patch, path = "/v1/portal/me", tag = "portal", request_body = UpdateMe,
    responses((status = 200, body = Profile), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn update_me(app: &App, s: Subscriber, r: &Incoming) -> Reply {
    let if_match = r.if_match()?;
    ok(&pages::update_me(app, s, r.json()?, if_match).await?)
}

/// The subscriber's subscriptions: status, package and speed, expiry and days left.
#[utoipa::path(get, path = "/v1/portal/subscriptions", tag = "portal",
    responses((status = 200, body = Vec<PortalSubscription>)), security(("bearer" = [])))]
pub async fn subscriptions(app: &App, s: Subscriber) -> Reply {
    ok(&pages::subscriptions(app, s).await?)
}

/// The subscriber's invoices, newest first.
#[utoipa::path(get, path = "/v1/portal/invoices", tag = "portal",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<Invoice>)), security(("bearer" = [])))]
pub async fn invoices(app: &App, s: Subscriber, r: &Incoming) -> Reply {
    let p = r.pagination()?;
    let page = pages::invoices(app, s, p.limit, p.cursor.as_deref()).await?;
    ok(&ListResponse { items: page.items, next_cursor: page.next_cursor })
}

#[utoipa::path(get, path = "/v1/portal/invoices/{id}", tag = "portal", params(("id" = Uuid, Path)),
    responses((status = 200, body = Invoice), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn invoice(app: &App, s: Subscriber, id: Uuid) -> Reply {
    ok(&pages::invoice(app, s, id).await?)
}

/// The invoice as a PDF.
#[utoipa::path(get, path = "/v1/portal/invoices/{id}/pdf", tag = "portal", params(("id" = Uuid, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn invoice_pdf(app: &App, s: Subscriber, id: Uuid) -> Reply {
    let (name, bytes) = pages::invoice_pdf(app, s, id).await?;
    pdf_file(&name, bytes)
}

/// The subscriber's payments (each with its receipt number), newest first.
#[utoipa::path(get, path = "/v1/portal/payments", tag = "portal",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<Payment>)), security(("bearer" = [])))]
pub async fn payments(app: &App, s: Subscriber, r: &Incoming) -> Reply {
    let p = r.pagination()?;
    let page = pages::payments(app, s, p.limit, p.cursor.as_deref()).await?;
    ok(&ListResponse { items: page.items, next_cursor: page.next_cursor })
}

/// What the subscriber owes or holds in credit.
#[utoipa::path(get, path = "/v1/portal/balance", tag = "portal", responses((status = 200, body = Balance)),
    security(("bearer" = [])))]
pub async fn balance(app: &App, s: Subscriber) -> Reply {
    ok(&pages::balance(app, s).await?)
}

/// The messages the ISP sent the subscriber (SMS, e-mail), newest first; a login code's text is
/// never shown again.
#[utoipa::path(get, path = "/v1/portal/notifications", tag = "portal",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<CustomerMessage>)), security(("bearer" = [])))]
pub async fn notifications(app: &App, s: Subscriber, r: &Incoming) -> Reply {
    let p = r.pagination()?;
    let page = notify::messages::for_customer(app, s, p.limit, p.cursor.as_deref()).await?;
    ok(&ListResponse { items: page.items, next_cursor: page.next_cursor })
}

/// The ISP's payment methods (its active gateway accounts) to pay online with.
#[utoipa::path(get, path = "/v1/portal/payment-methods", tag = "portal",
    responses((status = 200, body = Vec<PaymentMethodView>)), security(("bearer" = [])))]
pub async fn payment_methods(app: &App, s: Subscriber) -> Reply {
    ok(&payments::gateway_accounts::payment_methods(app, s.tenant_id).await?)
}

/// Pay online: an invoice of one's own (what it owes now) or an amount on one's account, through
/// one of the ISP's payment methods. Answers the gateway's page to send the browser to; the
/// gateway's word settles it (a suspended subscription is restored then) and its return comes back
/// to the ISP's pages.
#[utoipa::path(post, path = "/v1/portal/checkouts", tag = "portal", request_body = PortalCheckout,
    params(("Idempotency-Key" = String, Header, description = "required; a repeat returns the first checkout")),
    responses((status = 201, body = Checkout), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 502, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn checkout(app: &App, s: Subscriber, r: &Incoming) -> Reply {
    let input: PortalCheckout = r.json()?;
    let payer_ip = r.source_ip.clone().unwrap_or_else(|| "127.0.0.1".into());
    let http = payments::gateway_http()?;
    isp_http::created_outcome(
        payments::checkouts::create_portal_checkout(app, s, input, r.idempotent()?.as_ref(), http, &payer_ip).await?,
    )
}

/// The hotspot's offer to anyone at its login page (no account): the ISP's voucher plans and the
/// payment methods to buy one with.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct VoucherShop {
    pub isp_name: String,
    pub plans: Vec<PlanOnSale>,
    pub payment_methods: Vec<PaymentMethodView>,
}

/// What the ISP's hotspot sells online (ISP from the host or `X-ISP`; no token).
#[utoipa::path(get, path = "/v1/portal/voucher-plans", tag = "portal",
    params(("X-ISP" = Option<String>, Header, description = "the ISP's code, when the host does not name it")),
    responses((status = 200, body = VoucherShop), (status = 404, body = Problem)))]
pub async fn voucher_plans(app: &App, r: &Incoming) -> Reply {
    r.allow_query(&[])?;
    let tenant = auth::find_selling_isp(app, r.header("host"), r.header("x-isp")).await?;
    let (plans, payment_methods) = futures::try_join!(
        vouchers::online::plans_on_sale(app, tenant.id),
        payments::gateway_accounts::payment_methods(app, tenant.id)
    )?;
    ok(&VoucherShop { isp_name: tenant.name, plans, payment_methods })
}

/// Buy a voucher at the hotspot's login page, without an account: a checkout at the chosen
/// gateway for the plan's price; once paid, a voucher's login is sent to `buyer_phone` by SMS.
/// `Idempotency-Key` required; 429 past 5 an hour for one phone or 60 from one address.
#[utoipa::path(post, path = "/v1/portal/voucher-checkouts", tag = "portal", request_body = VoucherPurchase,
    params(("X-ISP" = Option<String>, Header, description = "the ISP's code, when the host does not name it"),
        ("Idempotency-Key" = String, Header, description = "required: a repeat returns the first checkout")),
    responses((status = 201, body = Checkout), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn buy_voucher(app: &App, r: &Incoming) -> Reply {
    let input: VoucherPurchase = r.json()?;
    let tenant = auth::find_selling_isp(app, r.header("host"), r.header("x-isp")).await?;
    let payer_ip = r.source_ip.clone().unwrap_or_else(|| "127.0.0.1".into());
    let http = payments::gateway_http()?;
    isp_http::created_outcome(
        payments::checkouts::create_voucher_purchase(app, tenant.id, input, r.idempotent()?.as_ref(), http, &payer_ip)
            .await?,
    )
}

/// Redeem a recharge card into the account: its value pays open invoices first (a suspended
/// subscription paid up is restored), the rest is credit. `Idempotency-Key` required; wrong codes
/// are throttled per subscriber and per ISP (429).
#[utoipa::path(post, path = "/v1/portal/recharge", tag = "portal", request_body = Redeem,
    params(("Idempotency-Key" = String, Header, description = "required: a repeat returns the first answer")),
    responses((status = 201, body = Redemption), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem)), security(("bearer" = [])))]
pub async fn recharge(app: &App, s: Subscriber, r: &Incoming) -> Reply {
    let input: Redeem = r.json()?;
    isp_http::created_outcome(
        payments::recharge_cards::redeem_by_subscriber(app, s, input, r.idempotent()?.as_ref(), r.source_ip.as_deref())
            .await?,
    )
}

/// Complain: a ticket numbered in the ISP's sequence (its `token`, e.g. `T-000042`, is what to
/// quote on the phone), held to the ISP's service level.
#[utoipa::path(post, path = "/v1/portal/tickets", tag = "portal", request_body = PortalOpenTicket,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeats return the first answer")),
    responses((status = 201, body = Ticket), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn open_ticket(app: &App, s: Subscriber, r: &Incoming) -> Reply {
    let input: PortalOpenTicket = r.json()?;
    isp_http::created_outcome(helpdesk::tickets::open_by_subscriber(app, s, input, r.idempotent()?.as_ref()).await?)
}

/// The subscriber's tickets, newest first.
#[utoipa::path(get, path = "/v1/portal/tickets", tag = "portal",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<Ticket>)), security(("bearer" = [])))]
pub async fn tickets(app: &App, s: Subscriber, r: &Incoming) -> Reply {
    r.allow_query(&["limit", "cursor"])?;
    let p = r.pagination()?;
    let page = helpdesk::tickets::list_for_subscriber(app, s, p.limit, p.cursor.as_deref()).await?;
    ok(&ListResponse { items: page.items, next_cursor: page.next_cursor })
}

/// A ticket of the subscriber's with its replies (staff's internal notes are not shown).
#[utoipa::path(get, path = "/v1/portal/tickets/{id}", tag = "portal", params(("id" = Uuid, Path)),
    responses((status = 200, body = TicketThread), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn ticket(app: &App, s: Subscriber, id: Uuid) -> Reply {
    ok(&helpdesk::tickets::get_for_subscriber(app, s, id).await?)
}

/// Reply on a ticket (a reply within the ISP's window reopens a resolved one; 409 on a closed
/// one: open a new ticket).
#[utoipa::path(post, path = "/v1/portal/tickets/{id}/messages", tag = "portal", request_body = TicketReply,
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Ticket), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn ticket_reply(app: &App, s: Subscriber, r: &Incoming, id: Uuid) -> Reply {
    let input: TicketReply = r.json()?;
    ok(&helpdesk::tickets::post_customer_message(app, s, id, input).await?)
}

/// Ask to upload a photo or document for the ticket (JPEG, PNG, WebP, PDF or text; at most
/// 10 MB): PUT the file to the URL within 15 minutes with the headers given, then cite it in a
/// reply's `attachment_ids`.
#[utoipa::path(post, path = "/v1/portal/tickets/{id}/attachments", tag = "portal", request_body = NewAttachment,
    params(("id" = Uuid, Path)),
    responses((status = 201, body = Upload), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn ticket_upload(app: &App, s: Subscriber, r: &Incoming, id: Uuid) -> Reply {
    let input: NewAttachment = r.json()?;
    isp_http::json(
        lambda_http::http::StatusCode::CREATED,
        &helpdesk::attachments::upload_for_subscriber(app, s, id, input).await?,
    )
}

/// A file of a reply on the subscriber's ticket: a URL to GET it from within 5 minutes.
#[utoipa::path(get, path = "/v1/portal/tickets/{id}/attachments/{attachment_id}", tag = "portal",
    params(("id" = Uuid, Path), ("attachment_id" = Uuid, Path)),
    responses((status = 200, body = Download), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn ticket_download(app: &App, s: Subscriber, id: Uuid, attachment: Uuid) -> Reply {
    ok(&helpdesk::attachments::download_for_subscriber(app, s, id, attachment).await?)
}

/// Buy one of the package's turbo boosts from the account's credit: the faster speed at once, until
/// its end (never past the subscription's expiry); one at a time. 409 `insufficient_credit` when
/// the credit does not cover it (pay the amount online first).
#[utoipa::path(post, path = "/v1/portal/subscriptions/{id}/turbo", tag = "portal", params(("id" = Uuid, Path),
        ("Idempotency-Key" = String, Header, description = "required; a repeat returns the first purchase")),
    request_body = BuyTurbo,
    responses((status = 201, body = TurboBought), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn buy_turbo(app: &App, s: Subscriber, r: &Incoming, id: Uuid) -> Reply {
    let input: BuyTurbo = r.json()?;
    isp_http::created_outcome(subscriptions::turbo::buy(app, s, id, input, r.idempotent()?.as_ref()).await?)
}

/// The subscription's session on its router, live: online since, address, bytes (the same path as
/// staff's; 503 when the router cannot be reached).
#[utoipa::path(get, path = "/v1/portal/subscriptions/{id}/session", tag = "portal", params(("id" = Uuid, Path)),
    responses((status = 200, body = SubscriberSession), (status = 404, body = Problem), (status = 422, body = Problem),
        (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn live_session(app: &App, s: Subscriber, id: Uuid) -> Reply {
    ok(&subscriptions::session::subscriber_session(app, s, id).await?)
}

/// Bytes up and down per local day (default the last 30 days; the last 90 are kept); today's
/// trail the router by up to an hour.
#[utoipa::path(get, path = "/v1/portal/subscriptions/{id}/usage", tag = "portal",
    params(("id" = Uuid, Path), ("from" = Option<String>, Query, description = "first local date, e.g. 2026-12-01"),
        ("to" = Option<String>, Query, description = "last local date (default: today)")),
    responses((status = 200, body = TrafficHistory), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn usage(app: &App, s: Subscriber, r: &Incoming, id: Uuid) -> Reply {
    r.allow_query(&["from", "to"])?;
    ok(&subscriptions::traffic::subscriber_history(app, s, id, r.query_date("from")?, r.query_date("to")?).await?)
}

/// The packages the subscription may move to, at the subscriber's price, and whether the move
/// happens at once (as dear or dearer) or at the end of the period paid for (cheaper).
#[utoipa::path(get, path = "/v1/portal/subscriptions/{id}/packages", tag = "portal", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<PackageChoice>), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn package_choices(app: &App, s: Subscriber, id: Uuid) -> Reply {
    ok(&package_change::choices(app, s, id).await?)
}

/// What moving to a package would do: when, and (at once) the invoice's lines and total.
#[utoipa::path(post, path = "/v1/portal/subscriptions/{id}/package-change/preview", tag = "portal",
    params(("id" = Uuid, Path)), request_body = PackageChangeInput,
    responses((status = 200, body = PackageChangePreview), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn preview_package_change(app: &App, s: Subscriber, r: &Incoming, id: Uuid) -> Reply {
    ok(&package_change::preview(app, s, id, r.json()?).await?)
}

/// Move to a package as the ISP allows: a dearer one at once (the change's invoice), a cheaper one
/// at the end of the period paid for. Answers the subscription.
#[utoipa::path(post, path = "/v1/portal/subscriptions/{id}/package-change", tag = "portal",
    params(("id" = Uuid, Path),
        ("Idempotency-Key" = String, Header, description = "required; a repeat returns the first answer")),
    request_body = PackageChangeInput,
    responses((status = 200, body = Subscription), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn change_package(app: &App, s: Subscriber, r: &Incoming, id: Uuid) -> Reply {
    let input: PackageChangeInput = r.json()?;
    isp_http::ok_outcome(package_change::change(app, s, id, input, r.idempotent()?.as_ref()).await?)
}

/// Call off a scheduled move to a cheaper package.
#[utoipa::path(delete, path = "/v1/portal/subscriptions/{id}/package-change", tag = "portal",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Subscription), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn cancel_package_change(app: &App, s: Subscriber, id: Uuid) -> Reply {
    ok(&package_change::cancel(app, s, id).await?)
}

/// Staff set or reset a subscriber's portal password (`customers:write`); their sessions end.
#[utoipa::path(put, path = "/v1/customers/{id}/portal-password", tag = "customers", params(("id" = Uuid, Path)),
    request_body = SetPortalPassword,
    responses((status = 204), (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn set_portal_password(app: &App, r: &Incoming, id: Uuid) -> Reply {
    let actor = r.caller(app).await?;
    auth::set_password(app, &actor, id, r.json::<SetPortalPassword>()?).await?;
    no_content()
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    login,
    request_code,
    code_login,
    refresh,
    logout,
    change_password,
    me,
    update_me,
    subscriptions,
    invoices,
    invoice,
    invoice_pdf,
    payments,
    balance,
    payment_methods,
    notifications,
    checkout,
    recharge,
    voucher_plans,
    buy_voucher,
    buy_turbo,
    live_session,
    usage,
    open_ticket,
    tickets,
    ticket,
    ticket_reply,
    ticket_upload,
    ticket_download,
    package_choices,
    preview_package_change,
    change_package,
    cancel_package_change,
    set_portal_password
))]
pub struct Doc;
