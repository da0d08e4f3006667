//! `api-messages`: the message log (`/v1/messages`): every SMS, Telegram message and webhook
//! delivery the product sent or tried to send for the ISP, by time, customer or status, with its
//! delivery status; and an SMS staff write to one customer.

use domain::actor::Actor;
use isp_http::{Incoming, ListResponse, Problem, Reply, created_outcome, finish, ok};
use kernel::App;
use lambda_http::{Body, Request, Response};
use notify::manual::SendSms;
use notify::messages::{self, Message, MessageFilter};
use uuid::Uuid;

pub const ROUTES: &[&str] = &["GET /v1/messages", "POST /v1/messages", "GET /v1/messages/{id}"];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.caller(app).await?;
    match route {
        "GET /v1/messages" => list(app, &actor, &r).await,
        "POST /v1/messages" => send(app, &actor, &r).await,
        _ => get(app, &actor, params.id("id", "message")?).await,
    }
}

/// Messages, newest first; narrowed by customer, status (`scheduled`, `sending`, `accepted`,
/// `delivered`, `failed`, `unknown`) and time (`from`, `to`, RFC 3339).
#[utoipa::path(get, path = "/v1/messages", tag = "messaging",
    params(("customer_id" = Option<Uuid>, Query), ("status" = Option<String>, Query),
        ("from" = Option<String>, Query), ("to" = Option<String>, Query),
        ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<Message>), (status = 400, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["limit", "cursor", "customer_id", "status", "from", "to"])?;
    let page = r.pagination()?;
    let status = match r.query("status") {
        None => None,
        Some(s) => Some(serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|_| {
            domain::Error::BadRequest {
                code: "invalid_query",
                detail: "status must be one of scheduled, sending, accepted, delivered, failed, unknown".into(),
            }
        })?),
    };
    let filter = MessageFilter {
        customer_id: r.query_id("customer_id")?,
        status,
        from: r.query_time("from")?,
        to: r.query_time("to")?,
    };
    let out = messages::list_messages(app, actor, &filter, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

#[utoipa::path(get, path = "/v1/messages/{id}", tag = "messaging", params(("id" = Uuid, Path)),
    responses((status = 200, body = Message), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&messages::get_message(app, actor, id).await?)
}

/// Send an SMS to one customer now (through the ISP's SMS account, at its send rate); the text may
/// use `{isp_name}`, `{customer_name}`, `{username}`, `{package}`, `{expiry}`.
#[utoipa::path(post, path = "/v1/messages", tag = "messaging", request_body = SendSms,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeats return the first answer, send nothing")),
    responses((status = 201, body = Message), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn send(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: SendSms = r.json()?;
    created_outcome(notify::manual::send_to_customer(app, actor, input, r.idempotent()?.as_ref()).await?)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(list, send, get))]
pub struct Doc;
