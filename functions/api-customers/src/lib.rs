//! `api-customers`: `/v1/customers`, `/v1/customers/{id}` and the customer's subscriptions, timeline
//! and notes.

use ::subscriptions::subscriptions::{self, CreateSubscription};
use crm::customers::{self, CreateCustomer, CustomerFilter, UpdateCustomer};
use crm::timeline::{NewNote, TimelineEntry};
use domain::customer::{Customer, CustomerStatus};
use domain::subscription::Subscription;
use domain::{Error, actor::Actor};
use isp_http::{Incoming, ListResponse, Problem, Reply, created, created_outcome, finish, no_content, ok};
use kernel::App;
use lambda_http::{Body, Request, Response};

pub const ROUTES: &[&str] = &[
    "POST /v1/customers",
    "GET /v1/customers",
    "GET /v1/customers/{id}",
    "PATCH /v1/customers/{id}",
    "DELETE /v1/customers/{id}",
    "POST /v1/customers/{id}/subscriptions",
    "GET /v1/customers/{id}/subscriptions",
    "GET /v1/customers/{id}/timeline",
    "POST /v1/customers/{id}/notes",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.caller(app).await?;
    match route {
        "POST /v1/customers" => create(app, &actor, &r).await,
        "GET /v1/customers" => list(app, &actor, &r).await,
        "GET /v1/customers/{id}" => get(app, &actor, params.id("id", "customer")?).await,
        "PATCH /v1/customers/{id}" => update(app, &actor, &r, params.id("id", "customer")?).await,
        "DELETE /v1/customers/{id}" => delete(app, &actor, &r, params.id("id", "customer")?).await,
        "POST /v1/customers/{id}/subscriptions" => {
            create_subscription(app, &actor, &r, params.id("id", "customer")?).await
        }
        "GET /v1/customers/{id}/subscriptions" => subscriptions(app, &actor, params.id("id", "customer")?).await,
        "GET /v1/customers/{id}/timeline" => timeline(app, &actor, &r, params.id("id", "customer")?).await,
        _ => add_note(app, &actor, &r, params.id("id", "customer")?).await,
    }
}

/// Create a customer. Phone, e-mail and username are unique within the ISP.
#[utoipa::path(post, path = "/v1/customers", tag = "customers", request_body = CreateCustomer,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeats return the first answer")),
    responses((status = 201, body = Customer), (status = 409, body = Problem, description = "duplicate phone, e-mail or username"),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: CreateCustomer = r.json()?;
    created_outcome(customers::create_customer(app, actor, input, r.idempotent()?.as_ref()).await?)
}

/// List customers, newest first; filter by status, or search by a prefix of name, phone or username.
#[utoipa::path(get, path = "/v1/customers", tag = "customers",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query),
        ("status" = Option<CustomerStatus>, Query), ("name" = Option<String>, Query, description = "name prefix"),
        ("phone" = Option<String>, Query, description = "phone prefix, local or international form"),
        ("username" = Option<String>, Query, description = "username prefix")),
    responses((status = 200, body = ListResponse<Customer>), (status = 400, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["limit", "cursor", "status", "name", "phone", "username"])?;
    let page = r.pagination()?;
    let status = match r.query("status") {
        None => None,
        Some(s) => Some(
            CustomerStatus::parse(s)
                .ok_or_else(|| Error::field("status", "must be new, active, suspended or inactive"))?,
        ),
    };
    let filter = CustomerFilter {
        status,
        name: r.query("name").map(str::to_string),
        phone: r.query("phone").map(str::to_string),
        username: r.query("username").map(str::to_string),
    };
    let out = customers::list_customers(app, actor, filter, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

#[utoipa::path(get, path = "/v1/customers/{id}", tag = "customers", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Customer), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(app: &App, actor: &Actor, id: uuid::Uuid) -> Reply {
    ok(&customers::get_customer(app, actor, id).await?)
}

/// Change a customer; send the version you read (`version` or `If-Match`).
#[utoipa::path(patch, path = "/v1/customers/{id}", tag = "customers", request_body = UpdateCustomer,
    params(("id" = uuid::Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = Customer), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn update(app: &App, actor: &Actor, r: &Incoming, id: uuid::Uuid) -> Reply {
    let input: UpdateCustomer = r.json()?;
    ok(&customers::update_customer(app, actor, id, input, r.if_match()?).await?)
}

/// Give the customer a subscription (status `pending`; activate it to switch it on). The username
/// (default: the customer's) is unique in the ISP among live subscriptions; the password is stored
/// encrypted.
#[utoipa::path(post, path = "/v1/customers/{id}/subscriptions", tag = "subscriptions", request_body = CreateSubscription,
    params(("id" = uuid::Uuid, Path), ("Idempotency-Key" = Option<String>, Header, description = "repeats return the first answer")),
    responses((status = 201, body = Subscription), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn create_subscription(app: &App, actor: &Actor, r: &Incoming, id: uuid::Uuid) -> Reply {
    let input: CreateSubscription = r.json()?;
    created_outcome(subscriptions::create_subscription(app, actor, id, input, r.idempotent()?.as_ref()).await?)
}

/// The customer's subscriptions, oldest first.
#[utoipa::path(get, path = "/v1/customers/{id}/subscriptions", tag = "subscriptions", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Vec<Subscription>), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn subscriptions(app: &App, actor: &Actor, id: uuid::Uuid) -> Reply {
    ok(&subscriptions::list_for_customer(app, actor, id).await?)
}

/// Everything that happened to the customer, newest first.
#[utoipa::path(get, path = "/v1/customers/{id}/timeline", tag = "customers",
    params(("id" = uuid::Uuid, Path), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<TimelineEntry>), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn timeline(app: &App, actor: &Actor, r: &Incoming, id: uuid::Uuid) -> Reply {
    r.allow_query(&["limit", "cursor"])?;
    let page = r.pagination()?;
    let out = crm::timeline::list(app, actor, id, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

/// Add a note to the customer's timeline.
#[utoipa::path(post, path = "/v1/customers/{id}/notes", tag = "customers", request_body = NewNote,
    params(("id" = uuid::Uuid, Path)),
    responses((status = 201, body = TimelineEntry), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn add_note(app: &App, actor: &Actor, r: &Incoming, id: uuid::Uuid) -> Reply {
    let input: NewNote = r.json()?;
    created(&crm::timeline::add_note(app, actor, id, input).await?)
}

/// Soft-delete a customer: it leaves listings and its phone, e-mail and username are free again.
/// A customer with live subscriptions is 409 `customer_has_subscriptions`.
#[utoipa::path(delete, path = "/v1/customers/{id}", tag = "customers",
    params(("id" = uuid::Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
pub async fn delete(app: &App, actor: &Actor, r: &Incoming, id: uuid::Uuid) -> Reply {
    customers::delete_customer(app, actor, id, r.if_match()?).await?;
    no_content()
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, get, update, delete, create_subscription, subscriptions, timeline, add_note))]
pub struct Doc;
