//! `api-webhook-endpoints`: an ISP's own systems that hear of its events (`/v1/webhook-endpoints`),
//! signed per the Standard Webhooks convention: the endpoints (the secret shown once, rotated on
//! demand), a signed test ping, each endpoint's delivery log, and the replay of a delivery.

use domain::actor::Actor;
use isp_http::{Incoming, ListResponse, Problem, Reply, created_outcome, finish, no_content, ok};
use kernel::App;
use lambda_http::{Body, Request, Response};
use messaging::webhook::{Attempt, EndpointClient};
use notify::messages::Message;
use notify::webhooks::{self, CreateEndpoint, EndpointWithSecret, UpdateEndpoint, WebhookEndpoint};
use std::sync::OnceLock;
use uuid::Uuid;

pub const ROUTES: &[&str] = &[
    "POST /v1/webhook-endpoints",
    "GET /v1/webhook-endpoints",
    "GET /v1/webhook-endpoints/{id}",
    "PATCH /v1/webhook-endpoints/{id}",
    "DELETE /v1/webhook-endpoints/{id}",
    "POST /v1/webhook-endpoints/{id}/rotate-secret",
    "POST /v1/webhook-endpoints/{id}/test",
    "GET /v1/webhook-endpoints/{id}/deliveries",
    "POST /v1/webhook-endpoints/{id}/deliveries/{delivery_id}/replay",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.caller(app).await?;
    let id = || params.id("id", "webhook endpoint");
    match route {
        "POST /v1/webhook-endpoints" => create(app, &actor, &r).await,
        "GET /v1/webhook-endpoints" => list(app, &actor).await,
        "GET /v1/webhook-endpoints/{id}" => get(app, &actor, id()?).await,
        "PATCH /v1/webhook-endpoints/{id}" => update(app, &actor, &r, id()?).await,
        "DELETE /v1/webhook-endpoints/{id}" => delete(app, &actor, id()?).await,
        "POST /v1/webhook-endpoints/{id}/rotate-secret" => rotate_secret(app, &actor, id()?).await,
        "POST /v1/webhook-endpoints/{id}/test" => test(app, &actor, id()?).await,
        "GET /v1/webhook-endpoints/{id}/deliveries" => deliveries(app, &actor, &r, id()?).await,
        _ => replay(app, &actor, id()?, params.id("delivery_id", "delivery")?).await,
    }
}

/// The process's client for ISPs' endpoints.
fn client(app: &App) -> Result<&'static EndpointClient, domain::Error> {
    static CLIENT: OnceLock<EndpointClient> = OnceLock::new();
    if let Some(c) = CLIENT.get() {
        return Ok(c);
    }
    let c = webhooks::endpoint_client(app).map_err(domain::Error::Internal)?;
    Ok(CLIENT.get_or_init(|| c))
}

/// Add an endpoint: its URL (HTTPS; public addresses only) and the events it hears. The answer
/// holds its `whsec_` secret, shown this once.
#[utoipa::path(post, path = "/v1/webhook-endpoints", tag = "webhooks", request_body = CreateEndpoint,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeats return the first answer")),
    responses((status = 201, body = EndpointWithSecret), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: CreateEndpoint = r.json()?;
    created_outcome(webhooks::create_endpoint(app, actor, input, r.idempotent()?.as_ref()).await?)
}

#[utoipa::path(get, path = "/v1/webhook-endpoints", tag = "webhooks",
    responses((status = 200, body = ListResponse<WebhookEndpoint>), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(app: &App, actor: &Actor) -> Reply {
    ok(&ListResponse { items: webhooks::list_endpoints(app, actor).await?, next_cursor: None })
}

#[utoipa::path(get, path = "/v1/webhook-endpoints/{id}", tag = "webhooks", params(("id" = Uuid, Path)),
    responses((status = 200, body = WebhookEndpoint), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&webhooks::get_endpoint(app, actor, id).await?)
}

/// Change the URL, description or events, or disable / enable it (enabling forgets its
/// failures); send the version you read.
#[utoipa::path(patch, path = "/v1/webhook-endpoints/{id}", tag = "webhooks", request_body = UpdateEndpoint,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = WebhookEndpoint), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn update(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: UpdateEndpoint = r.json()?;
    ok(&webhooks::update_endpoint(app, actor, id, input, r.if_match()?).await?)
}

#[utoipa::path(delete, path = "/v1/webhook-endpoints/{id}", tag = "webhooks", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn delete(app: &App, actor: &Actor, id: Uuid) -> Reply {
    webhooks::delete_endpoint(app, actor, id).await?;
    no_content()
}

/// A new secret (shown this once); deliveries from now on are signed with it.
#[utoipa::path(post, path = "/v1/webhook-endpoints/{id}/rotate-secret", tag = "webhooks", params(("id" = Uuid, Path)),
    responses((status = 200, body = EndpointWithSecret), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn rotate_secret(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&webhooks::rotate_secret(app, actor, id).await?)
}

/// Post a signed `ping` to the endpoint now and show what it answered.
#[utoipa::path(post, path = "/v1/webhook-endpoints/{id}/test", tag = "webhooks", params(("id" = Uuid, Path)),
    responses((status = 200, body = Attempt), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn test(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&webhooks::test_endpoint(app, actor, client(app)?, id).await?)
}

/// The endpoint's deliveries, newest first: what was sent, each try's answer, the status.
#[utoipa::path(get, path = "/v1/webhook-endpoints/{id}/deliveries", tag = "webhooks",
    params(("id" = Uuid, Path), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<Message>), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn deliveries(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    r.allow_query(&["limit", "cursor"])?;
    let page = r.pagination()?;
    let out = webhooks::list_deliveries(app, actor, id, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

/// Send a delivery again, at once, with the same `webhook-id` (a failed or delivered one).
#[utoipa::path(post, path = "/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/replay", tag = "webhooks",
    params(("id" = Uuid, Path), ("delivery_id" = Uuid, Path)),
    responses((status = 200, body = Message), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn replay(app: &App, actor: &Actor, id: Uuid, delivery: Uuid) -> Reply {
    ok(&webhooks::replay_delivery(app, actor, id, delivery).await?)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, get, update, delete, rotate_secret, test, deliveries, replay))]
pub struct Doc;
