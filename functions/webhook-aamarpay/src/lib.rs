//! `webhook-aamarpay`: aamarPay's callbacks (a form POST naming `mer_txnid`), unsigned: only the order is read from it, and its state is what aamarPay's Search Transaction API (`trxcheck`) says.
//! Public (the gateway calls it, no token): what verifies is applied once through the payments
//! context, however often and concurrently it arrives; anything else is a 4xx that writes nothing.

use domain::checkout::Gateway;
use isp_http::{Incoming, Problem, Reply, finish, ok};
use kernel::App;
use lambda_http::{Body, Request, Response};
use payments::webhooks::{self, Acknowledged, Delivery};

pub const ROUTES: &[&str] = &["POST /v1/webhooks/aamarpay/{account_id}"];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(receive(app, req).await)
}

/// A aamarPay callback for one of an ISP's aamarPay accounts.
#[utoipa::path(post, path = "/v1/webhooks/aamarpay/{account_id}", tag = "webhooks",
    params(("account_id" = Uuid, Path, description = "the ISP's gateway account this endpoint was registered for")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = Acknowledged), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 503, body = Problem)))]
pub async fn receive(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (_, params) = r.route(ROUTES)?;
    let account = params.id("account_id", "payment gateway account")?;
    let headers = r.header_map();
    let delivery = Delivery { headers: &headers, body: r.body_bytes(), query: &r.raw_query };
    ok(&webhooks::receive(app, Gateway::Aamarpay, account, delivery, payments::gateway_http()?).await?)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(receive))]
pub struct Doc;
