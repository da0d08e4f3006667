//! `api-tickets`: the helpdesk (`/v1/tickets`): tickets opened by staff or operators (the
//! subscriber's own come through `api-portal`), their thread of replies and internal notes,
//! assignment, priority and the service level it sets, resolve / close / reopen; and the
//! helpdesk report (`GET /v1/reports/tickets`).

use domain::Error;
use domain::actor::Actor;
use domain::ticket::{Category, Ticket, TicketStatus};
use helpdesk::attachments::{self, Download, NewAttachment, Upload};
use helpdesk::reports::{self, TicketReport};
use helpdesk::tickets::{self, Action, OpenTicket, StaffMessage, TicketFilter, TicketThread, UpdateTicket};
use isp_http::{Incoming, ListResponse, Problem, Reply, created_outcome, finish, ok};
use kernel::App;
use lambda_http::http;
use lambda_http::{Body, Request, Response};
use uuid::Uuid;

pub const ROUTES: &[&str] = &[
    "POST /v1/tickets",
    "GET /v1/tickets",
    "GET /v1/tickets/{id}",
    "PATCH /v1/tickets/{id}",
    "POST /v1/tickets/{id}/messages",
    "POST /v1/tickets/{id}/resolve",
    "POST /v1/tickets/{id}/close",
    "POST /v1/tickets/{id}/reopen",
    "POST /v1/tickets/{id}/attachments",
    "GET /v1/tickets/{id}/attachments/{attachment_id}",
    "GET /v1/reports/tickets",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.caller(app).await?;
    match route {
        "POST /v1/tickets" => open(app, &actor, &r).await,
        "GET /v1/tickets" => list(app, &actor, &r).await,
        "GET /v1/reports/tickets" => report(app, &actor, &r).await,
        _ => {
            let id = params.id("id", "ticket")?;
            match route {
                "GET /v1/tickets/{id}" => get(app, &actor, id).await,
                "PATCH /v1/tickets/{id}" => update(app, &actor, &r, id).await,
                "POST /v1/tickets/{id}/messages" => message(app, &actor, &r, id).await,
                "POST /v1/tickets/{id}/resolve" => resolve(app, &actor, &r, id).await,
                "POST /v1/tickets/{id}/close" => close(app, &actor, &r, id).await,
                "POST /v1/tickets/{id}/attachments" => upload(app, &actor, &r, id).await,
                "GET /v1/tickets/{id}/attachments/{attachment_id}" => {
                    download(app, &actor, id, params.id("attachment_id", "attachment")?).await
                }
                _ => reopen(app, &actor, &r, id).await,
            }
        }
    }
}

/// Open a ticket for a customer (or for a caller who is not one yet): numbered in the ISP's
/// sequence (`token`, e.g. `T-000042`, what the subscriber quotes), held to the priority's service
/// level, on the customer's timeline. An operator's tickets stay in its subtree.
#[utoipa::path(post, path = "/v1/tickets", tag = "tickets", request_body = OpenTicket,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeats return the first answer")),
    responses((status = 201, body = Ticket), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn open(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: OpenTicket = r.json()?;
    created_outcome(tickets::open(app, actor, input, r.idempotent()?.as_ref()).await?)
}

fn parse_enum<T: serde::de::DeserializeOwned>(r: &Incoming, name: &str, allowed: &str) -> Result<Option<T>, Error> {
    r.query(name)
        .map(|s| {
            serde_json::from_value(serde_json::Value::String(s.into()))
                .map_err(|_| Error::field(name, format!("must be {allowed}")))
        })
        .transpose()
}

/// Tickets, newest first (an operator's subtree's); by status, category, assignee or customer;
/// `token` finds the one a subscriber quotes.
#[utoipa::path(get, path = "/v1/tickets", tag = "tickets",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query), ("status" = Option<TicketStatus>, Query),
        ("category" = Option<Category>, Query), ("assignee_id" = Option<Uuid>, Query), ("customer_id" = Option<Uuid>, Query),
        ("token" = Option<String>, Query, description = "e.g. T-000042: that ticket alone")),
    responses((status = 200, body = ListResponse<Ticket>), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn list(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["limit", "cursor", "status", "category", "assignee_id", "customer_id", "token"])?;
    let page = r.pagination()?;
    if let Some(t) = r.query("token") {
        let found = match tickets::by_token(app, actor, t).await {
            Ok(t) => vec![t],
            Err(Error::NotFound { .. }) => vec![],
            Err(e) => return Err(e),
        };
        return ok(&ListResponse { items: found, next_cursor: None });
    }
    let filter = TicketFilter {
        status: parse_enum(r, "status", "open, pending_customer, resolved or closed")?,
        category: parse_enum(
            r,
            "category",
            "no_internet, slow, billing, relocation, new_connection, equipment or other",
        )?,
        assignee_id: r.query_id("assignee_id")?,
        customer_id: r.query_id("customer_id")?,
    };
    let out = tickets::list(app, actor, filter, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

/// A ticket with its whole thread, internal notes included.
#[utoipa::path(get, path = "/v1/tickets/{id}", tag = "tickets", params(("id" = Uuid, Path)),
    responses((status = 200, body = TicketThread), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&tickets::get(app, actor, id).await?)
}

/// Change the priority (its service level follows, counted from the opening), the category or
/// the assignee (send the version you read).
#[utoipa::path(patch, path = "/v1/tickets/{id}", tag = "tickets", request_body = UpdateTicket,
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Ticket), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn update(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: UpdateTicket = r.json()?;
    ok(&tickets::update(app, actor, id, input).await?)
}

/// A public reply (the first is the ticket's first response; `wait_for_customer` puts it on the
/// subscriber) or an internal note (`internal`: never shown to the subscriber).
#[utoipa::path(post, path = "/v1/tickets/{id}/messages", tag = "tickets", request_body = StaffMessage,
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Ticket), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn message(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: StaffMessage = r.json()?;
    ok(&tickets::post_staff_message(app, actor, id, input).await?)
}

async fn act(app: &App, actor: &Actor, r: &Incoming, id: Uuid, action: Action) -> Reply {
    r.allow_query(&[])?;
    ok(&tickets::act(app, actor, id, action).await?)
}

/// Resolve an open ticket (a subscriber's reply within the ISP's window reopens it).
#[utoipa::path(post, path = "/v1/tickets/{id}/resolve", tag = "tickets", params(("id" = Uuid, Path)),
    responses((status = 200, body = Ticket), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn resolve(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    act(app, actor, r, id, Action::Resolve).await
}

/// Close a ticket for good (a later complaint is a new ticket).
#[utoipa::path(post, path = "/v1/tickets/{id}/close", tag = "tickets", params(("id" = Uuid, Path)),
    responses((status = 200, body = Ticket), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn close(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    act(app, actor, r, id, Action::Close).await
}

/// Reopen a resolved ticket.
#[utoipa::path(post, path = "/v1/tickets/{id}/reopen", tag = "tickets", params(("id" = Uuid, Path)),
    responses((status = 200, body = Ticket), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn reopen(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    act(app, actor, r, id, Action::Reopen).await
}

/// Ask to upload a file for the ticket (JPEG, PNG, WebP, PDF or text; at most 10 MB): the answer
/// is a URL to PUT the file to within 15 minutes, with the headers it was signed with; then cite
/// it in a message's `attachment_ids`.
#[utoipa::path(post, path = "/v1/tickets/{id}/attachments", tag = "tickets", request_body = NewAttachment,
    params(("id" = Uuid, Path)),
    responses((status = 201, body = Upload), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn upload(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: NewAttachment = r.json()?;
    isp_http::json(http::StatusCode::CREATED, &attachments::upload_for_staff(app, actor, id, input).await?)
}

/// A file of a message on the ticket: a URL to GET it from within 5 minutes.
#[utoipa::path(get, path = "/v1/tickets/{id}/attachments/{attachment_id}", tag = "tickets",
    params(("id" = Uuid, Path), ("attachment_id" = Uuid, Path)),
    responses((status = 200, body = Download), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn download(app: &App, actor: &Actor, id: Uuid, attachment: Uuid) -> Reply {
    ok(&attachments::download_for_staff(app, actor, id, attachment).await?)
}

/// The open tickets by age and category, per assignee, and those past their service level now
/// (an operator's subtree's).
#[utoipa::path(get, path = "/v1/reports/tickets", tag = "reports",
    responses((status = 200, body = TicketReport), (status = 403, body = Problem)), security(("bearer" = [])))]
pub async fn report(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&[])?;
    ok(&reports::tickets_report(app, actor).await?)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(open, list, get, update, message, resolve, close, reopen, upload, download, report))]
pub struct Doc;
