//! `api-customers`: `/v1/customers` and `/v1/customers/{id}`.

use domain::customer::{Customer, CustomerStatus};
use domain::{Error, actor::Actor};
use isp_http::{Incoming, ListResponse, Problem, Reply, created_outcome, finish, no_content, ok};
use lambda_http::{Body, Request, Response};
use services::App;
use services::customers::{self, CreateCustomer, CustomerFilter, UpdateCustomer};

pub const ROUTES: &[&str] = &[
    "POST /v1/customers",
    "GET /v1/customers",
    "GET /v1/customers/{id}",
    "PATCH /v1/customers/{id}",
    "DELETE /v1/customers/{id}",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.actor(&app.tokens, app.now())?;
    match route {
        "POST /v1/customers" => create(app, &actor, &r).await,
        "GET /v1/customers" => list(app, &actor, &r).await,
        "GET /v1/customers/{id}" => get(app, &actor, params.id("id", "customer")?).await,
        "PATCH /v1/customers/{id}" => update(app, &actor, &r, params.id("id", "customer")?).await,
        _ => delete(app, &actor, &r, params.id("id", "customer")?).await,
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

/// Soft-delete a customer: it leaves listings and its phone, e-mail and username are free again.
#[utoipa::path(delete, path = "/v1/customers/{id}", tag = "customers",
    params(("id" = uuid::Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
pub async fn delete(app: &App, actor: &Actor, r: &Incoming, id: uuid::Uuid) -> Reply {
    customers::delete_customer(app, actor, id, r.if_match()?).await?;
    no_content()
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, get, update, delete))]
pub struct Doc;
