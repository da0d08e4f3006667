//! `api-auth`: staff identity. `/v1/auth/*` (login, refresh, logout, password change and reset),
//! `GET /v1/me`, and `POST /v1/impersonate`.

use domain::actor::Actor;
use identity::auth::{
    self, ChangePasswordRequest, ImpersonateRequest, ImpersonationToken, LoginRequest, Me, PasswordResetConfirm,
    PasswordResetRequest, RefreshRequest, TokenPair,
};
use isp_http::{Incoming, Problem, Reply, finish, no_content, ok};
use kernel::App;
use lambda_http::{Body, Request, Response};

pub const ROUTES: &[&str] = &[
    "POST /v1/auth/login",
    "POST /v1/auth/refresh",
    "POST /v1/auth/logout",
    "POST /v1/auth/password",
    "POST /v1/auth/password-reset",
    "POST /v1/auth/password-reset/confirm",
    "GET /v1/me",
    "POST /v1/impersonate",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, _) = r.route(ROUTES)?;
    match route {
        "POST /v1/auth/login" => login(app, &r).await,
        "POST /v1/auth/refresh" => refresh(app, &r).await,
        "POST /v1/auth/logout" => logout(app, &r).await,
        "POST /v1/auth/password-reset" => password_reset(app, &r).await,
        "POST /v1/auth/password-reset/confirm" => password_reset_confirm(app, &r).await,
        _ => {
            let actor = r.caller(app).await?;
            match route {
                "POST /v1/auth/password" => change_password(app, &actor, &r).await,
                "GET /v1/me" => me(app, &actor).await,
                _ => impersonate(app, &actor, &r).await,
            }
        }
    }
}

/// Log in with e-mail and password. A wrong password and an unknown e-mail answer the same; after 5
/// failures the address is locked for 15 minutes (429 with `Retry-After`).
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenPair), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 429, body = Problem)))]
pub async fn login(app: &App, r: &Incoming) -> Reply {
    ok(&auth::login(app, r.json()?, r.source_ip.as_deref()).await?)
}

/// Exchange a refresh token for a new pair. Each refresh token works once; reusing one revokes the
/// whole login.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenPair), (status = 401, body = Problem)))]
pub async fn refresh(app: &App, r: &Incoming) -> Reply {
    ok(&auth::refresh(app, r.json()?).await?)
}

#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204), (status = 401, body = Problem)))]
pub async fn logout(app: &App, r: &Incoming) -> Reply {
    auth::logout(app, r.json()?).await?;
    no_content()
}

/// Change one's own password; other sessions end and a fresh pair is returned.
#[utoipa::path(post, path = "/v1/auth/password", tag = "auth", request_body = ChangePasswordRequest,
    responses((status = 200, body = TokenPair), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn change_password(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    ok(&auth::change_password(app, actor, r.json()?).await?)
}

/// Ask for a password-reset code (sent through the notification channel). 202 alike for any
/// address; 429 past 5 requests an hour for one address or 30 from one source address.
#[utoipa::path(post, path = "/v1/auth/password-reset", tag = "auth", request_body = PasswordResetRequest,
    responses((status = 202), (status = 429, body = Problem)))]
pub async fn password_reset(app: &App, r: &Incoming) -> Reply {
    auth::request_password_reset(app, r.json()?, r.source_ip.as_deref()).await?;
    isp_http::json(lambda_http::http::StatusCode::ACCEPTED, &serde_json::json!({"status": "accepted"}))
}

/// Set a new password with a reset token (single use, 30 minutes).
#[utoipa::path(post, path = "/v1/auth/password-reset/confirm", tag = "auth", request_body = PasswordResetConfirm,
    responses((status = 204), (status = 400, body = Problem), (status = 422, body = Problem)))]
pub async fn password_reset_confirm(app: &App, r: &Incoming) -> Reply {
    auth::confirm_password_reset(app, r.json()?).await?;
    no_content()
}

#[utoipa::path(get, path = "/v1/me", tag = "auth", responses((status = 200, body = Me)), security(("bearer" = [])))]
pub async fn me(app: &App, actor: &Actor) -> Reply {
    ok(&auth::me(app, actor).await?)
}

/// Act as another user (platform owner: anyone; platform reseller: its ISPs' staff). Audited.
#[utoipa::path(post, path = "/v1/impersonate", tag = "auth", request_body = ImpersonateRequest,
    responses((status = 200, body = ImpersonationToken), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn impersonate(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    ok(&auth::impersonate(app, actor, r.json::<ImpersonateRequest>()?).await?)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(login, refresh, logout, change_password, password_reset, password_reset_confirm, me, impersonate))]
pub struct Doc;
