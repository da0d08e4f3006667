//! `api-messaging`: how an ISP talks to its subscribers and staff (`/v1/messaging/...`): its
//! settings and rules, its channels (SMS provider accounts and Telegram bots; the platform
//! owner's offered accounts) with a test send, and its message templates with a preview.

use domain::actor::Actor;
use domain::language::Language;
use isp_http::{Incoming, ListResponse, Problem, Reply, created_outcome, finish, ok};
use kernel::App;
use lambda_http::{Body, Request, Response};
use messaging::notices::Notice;
use messaging::sms::SmsHttp;
use notify::channels::{self, ChannelTest, CreateChannel, MessagingChannel, TestChannel, UpdateChannel};
use notify::settings::{self, MessagingSettings, PutMessagingSettings};
use notify::templates::{self, MessageTemplate, PreviewTemplate, PutTemplate, TemplatePreview};
use std::sync::OnceLock;
use uuid::Uuid;

pub const ROUTES: &[&str] = &[
    "GET /v1/messaging/settings",
    "PUT /v1/messaging/settings",
    "POST /v1/messaging/channels",
    "GET /v1/messaging/channels",
    "GET /v1/messaging/channels/{id}",
    "PATCH /v1/messaging/channels/{id}",
    "POST /v1/messaging/channels/{id}/test",
    "GET /v1/messaging/templates",
    "PUT /v1/messaging/templates/{notice}/{language}",
    "DELETE /v1/messaging/templates/{notice}/{language}",
    "POST /v1/messaging/templates/{notice}/{language}/preview",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.caller(app).await?;
    let template = || templates::parse_path(params.get("notice").unwrap_or(""), params.get("language").unwrap_or(""));
    match route {
        "GET /v1/messaging/settings" => get_settings(app, &actor).await,
        "PUT /v1/messaging/settings" => put_settings(app, &actor, &r).await,
        "POST /v1/messaging/channels" => create_channel(app, &actor, &r).await,
        "GET /v1/messaging/channels" => list_channels(app, &actor).await,
        "GET /v1/messaging/channels/{id}" => get_channel(app, &actor, params.id("id", "messaging channel")?).await,
        "PATCH /v1/messaging/channels/{id}" => {
            update_channel(app, &actor, &r, params.id("id", "messaging channel")?).await
        }
        "POST /v1/messaging/channels/{id}/test" => {
            test_channel(app, &actor, &r, params.id("id", "messaging channel")?).await
        }
        "GET /v1/messaging/templates" => list_templates(app, &actor).await,
        "PUT /v1/messaging/templates/{notice}/{language}" => {
            let (n, l) = template()?;
            put_template(app, &actor, &r, n, l).await
        }
        "DELETE /v1/messaging/templates/{notice}/{language}" => {
            let (n, l) = template()?;
            reset_template(app, &actor, n, l).await
        }
        _ => {
            let (n, l) = template()?;
            preview_template(app, &actor, &r, n, l).await
        }
    }
}

/// The process's SMS and Telegram client.
fn http() -> Result<&'static SmsHttp, domain::Error> {
    static HTTP: OnceLock<SmsHttp> = OnceLock::new();
    if let Some(h) = HTTP.get() {
        return Ok(h);
    }
    let h = SmsHttp::new().map_err(|e| domain::Error::Internal(e.to_string()))?;
    Ok(HTTP.get_or_init(|| h))
}

/// The ISP's messaging settings (the product's defaults, version 0, until it saves its own).
#[utoipa::path(get, path = "/v1/messaging/settings", tag = "messaging",
    responses((status = 200, body = MessagingSettings), (status = 403, body = Problem)), security(("bearer" = [])))]
pub async fn get_settings(app: &App, actor: &Actor) -> Reply {
    ok(&settings::get_settings(app, actor).await?)
}

/// Replace the settings: default language, quiet hours, send rate, SMS account, pay link and the
/// rules (which notice reaches whom); send the version you read.
#[utoipa::path(put, path = "/v1/messaging/settings", tag = "messaging", request_body = PutMessagingSettings,
    params(("If-Match" = Option<String>, Header)),
    responses((status = 200, body = MessagingSettings), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn put_settings(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: PutMessagingSettings = r.json()?;
    ok(&settings::put_settings(app, actor, input, r.if_match()?).await?)
}

/// Add an SMS provider account or a Telegram bot (credentials sealed; never shown again). The
/// platform owner's accounts are offered to ISPs in the countries given.
#[utoipa::path(post, path = "/v1/messaging/channels", tag = "messaging", request_body = CreateChannel,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeats return the first answer")),
    responses((status = 201, body = MessagingChannel), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_channel(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: CreateChannel = r.json()?;
    created_outcome(channels::create_channel(app, actor, input, r.idempotent()?.as_ref()).await?)
}

/// The ISP's channels, and the platform's accounts offered in its country.
#[utoipa::path(get, path = "/v1/messaging/channels", tag = "messaging",
    responses((status = 200, body = ListResponse<MessagingChannel>), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_channels(app: &App, actor: &Actor) -> Reply {
    ok(&ListResponse { items: channels::list_channels(app, actor).await?, next_cursor: None })
}

#[utoipa::path(get, path = "/v1/messaging/channels/{id}", tag = "messaging", params(("id" = Uuid, Path)),
    responses((status = 200, body = MessagingChannel), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get_channel(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&channels::get_channel(app, actor, id).await?)
}

/// Change a channel (name, sender id, sandbox base URL, price per part, credentials by name, or
/// disable it); send the version you read.
#[utoipa::path(patch, path = "/v1/messaging/channels/{id}", tag = "messaging", request_body = UpdateChannel,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = MessagingChannel), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn update_channel(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: UpdateChannel = r.json()?;
    ok(&channels::update_channel(app, actor, id, input, r.if_match()?).await?)
}

/// Send a real test message through the channel and read the account's balance where the
/// provider tells it.
#[utoipa::path(post, path = "/v1/messaging/channels/{id}/test", tag = "messaging", request_body = TestChannel,
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ChannelTest), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn test_channel(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: TestChannel = r.json()?;
    ok(&channels::test_channel(app, actor, id, input, http()?).await?)
}

/// Every notice in every language: the ISP's own text or the product's default.
#[utoipa::path(get, path = "/v1/messaging/templates", tag = "messaging",
    responses((status = 200, body = ListResponse<MessageTemplate>), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_templates(app: &App, actor: &Actor) -> Reply {
    ok(&ListResponse { items: templates::list_templates(app, actor).await?, next_cursor: None })
}

/// Save the ISP's own text for a notice in a language (an unknown placeholder is a 422).
#[utoipa::path(put, path = "/v1/messaging/templates/{notice}/{language}", tag = "messaging", request_body = PutTemplate,
    params(("notice" = String, Path), ("language" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = MessageTemplate), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn put_template(app: &App, actor: &Actor, r: &Incoming, n: Notice, l: Language) -> Reply {
    let input: PutTemplate = r.json()?;
    ok(&templates::put_template(app, actor, n, l, input, r.if_match()?).await?)
}

/// Back to the product's default text.
#[utoipa::path(delete, path = "/v1/messaging/templates/{notice}/{language}", tag = "messaging",
    params(("notice" = String, Path), ("language" = String, Path)),
    responses((status = 200, body = MessageTemplate), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn reset_template(app: &App, actor: &Actor, n: Notice, l: Language) -> Reply {
    ok(&templates::reset_template(app, actor, n, l).await?)
}

/// Render a text (the saved one, or one being written) for a real customer: the SMS it makes,
/// its encoding (GSM-7 or UCS-2), parts and estimated cost.
#[utoipa::path(post, path = "/v1/messaging/templates/{notice}/{language}/preview", tag = "messaging",
    request_body = PreviewTemplate, params(("notice" = String, Path), ("language" = String, Path)),
    responses((status = 200, body = TemplatePreview), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn preview_template(app: &App, actor: &Actor, r: &Incoming, n: Notice, l: Language) -> Reply {
    let input: PreviewTemplate = r.json()?;
    ok(&templates::preview_template(app, actor, n, l, input).await?)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    get_settings,
    put_settings,
    create_channel,
    list_channels,
    get_channel,
    update_channel,
    test_channel,
    list_templates,
    put_template,
    reset_template,
    preview_template
))]
pub struct Doc;
