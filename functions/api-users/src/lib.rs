//! `api-users`: staff users of an ISP, `/v1/users` and `/v1/users/{id}`.

use domain::role::Role;
use domain::user::User;
use domain::{Error, actor::Actor};
use identity::users::{self, CreateUser, UpdateUser};
use isp_http::{Incoming, ListResponse, Problem, Reply, created, finish, no_content, ok};
use kernel::App;
use lambda_http::{Body, Request, Response};

pub const ROUTES: &[&str] =
    &["POST /v1/users", "GET /v1/users", "GET /v1/users/{id}", "PATCH /v1/users/{id}", "DELETE /v1/users/{id}"];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.caller(app).await?;
    match route {
        "POST /v1/users" => create(app, &actor, &r).await,
        "GET /v1/users" => list(app, &actor, &r).await,
        "GET /v1/users/{id}" => get(app, &actor, params.id("id", "user")?).await,
        "PATCH /v1/users/{id}" => update(app, &actor, &r, params.id("id", "user")?).await,
        _ => delete(app, &actor, &r, params.id("id", "user")?).await,
    }
}

/// Create a staff user. Nobody grants a role above their own; operators create sub-operators only.
#[utoipa::path(post, path = "/v1/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = User), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn create(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    created(&users::create_user(app, actor, r.json()?).await?)
}

#[utoipa::path(get, path = "/v1/users", tag = "users",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query), ("role" = Option<Role>, Query)),
    responses((status = 200, body = ListResponse<User>)), security(("bearer" = [])))]
pub async fn list(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["limit", "cursor", "role"])?;
    let page = r.pagination()?;
    let role = match r.query("role") {
        None => None,
        Some(s) => Some(
            serde_json::from_value::<Role>(serde_json::Value::String(s.to_string()))
                .map_err(|_| Error::field("role", "is not a role"))?,
        ),
    };
    let out = users::list_users(app, actor, role, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

#[utoipa::path(get, path = "/v1/users/{id}", tag = "users", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = User), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(app: &App, actor: &Actor, id: uuid::Uuid) -> Reply {
    ok(&users::get_user(app, actor, id).await?)
}

#[utoipa::path(patch, path = "/v1/users/{id}", tag = "users", request_body = UpdateUser,
    params(("id" = uuid::Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = User), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)), security(("bearer" = [])))]
pub async fn update(app: &App, actor: &Actor, r: &Incoming, id: uuid::Uuid) -> Reply {
    let input: UpdateUser = r.json()?;
    ok(&users::update_user(app, actor, id, input, r.if_match()?).await?)
}

/// Remove a user's access; the record stays for the audit trail.
#[utoipa::path(delete, path = "/v1/users/{id}", tag = "users",
    params(("id" = uuid::Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn delete(app: &App, actor: &Actor, r: &Incoming, id: uuid::Uuid) -> Reply {
    users::delete_user(app, actor, id, r.if_match()?).await?;
    no_content()
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, get, update, delete))]
pub struct Doc;
