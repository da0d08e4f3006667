//! `webhook-sms`: SMS providers' delivery reports. Twilio posts each message's status to the
//! callback URL sent with it, signed in `X-Twilio-Signature` with the account's auth token;
//! Africa's Talking posts to the URL set in its dashboard (shown on the channel), which carries a
//! secret derived from the account. Public (no token): a report that does not verify is a 401,
//! one about a message it does not know a 404; what verifies moves the message forward once.

use isp_http::{Incoming, Params, Problem, Reply, finish, ok};
use kernel::App;
use lambda_http::{Body, Request, Response};
use notify::reports::{self, IncomingReport, ReportAnswer};

pub const ROUTES: &[&str] = &[
    "POST /v1/webhooks/sms/twilio/{owner}/{channel_id}",
    "POST /v1/webhooks/sms/africas_talking/{owner}/{channel_id}/{secret}",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    if route == ROUTES[0] { twilio(app, &r, &params).await } else { africas_talking(app, &r, &params).await }
}

/// A Twilio status callback (form-encoded: `MessageSid`, `MessageStatus`, `ErrorCode`...).
#[utoipa::path(post, path = "/v1/webhooks/sms/twilio/{owner}/{channel_id}", tag = "webhooks",
    params(("owner" = String, Path, description = "the ISP's id, or `platform` for a platform account"),
        ("channel_id" = Uuid, Path), ("X-Twilio-Signature" = String, Header)),
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = ReportAnswer), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem)))]
pub async fn twilio(app: &App, r: &Incoming, params: &Params) -> Reply {
    let report = IncomingReport {
        provider: "twilio",
        owner: params.get("owner").unwrap_or_default(),
        channel_id: params.id("channel_id", "messaging channel")?,
        secret: None,
        signature: r.header("x-twilio-signature"),
        body: r.body_bytes(),
    };
    ok(&reports::receive_report(app, report).await?)
}

/// An Africa's Talking delivery report (form-encoded: `id`, `status`, `failureReason`...).
#[utoipa::path(post, path = "/v1/webhooks/sms/africas_talking/{owner}/{channel_id}/{secret}", tag = "webhooks",
    params(("owner" = String, Path, description = "the ISP's id, or `platform` for a platform account"),
        ("channel_id" = Uuid, Path), ("secret" = String, Path, description = "from the channel's `delivery_report_url`")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = ReportAnswer), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem)))]
pub async fn africas_talking(app: &App, r: &Incoming, params: &Params) -> Reply {
    let report = IncomingReport {
        provider: "africas_talking",
        owner: params.get("owner").unwrap_or_default(),
        channel_id: params.id("channel_id", "messaging channel")?,
        secret: params.get("secret"),
        signature: None,
        body: r.body_bytes(),
    };
    ok(&reports::receive_report(app, report).await?)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(twilio, africas_talking))]
pub struct Doc;
