//! Cross-origin calls from browsers. API Gateway's own CORS answers every route alike, so the
//! functions answer it themselves: an ISP's configured origins are allowed only for that ISP's
//! requests (its token's ISP, or the ISP its host or code names), the platform's frontends for
//! all; always the one origin by name, with credentials, never a wildcard.

use http::{HeaderValue, Method, StatusCode};
use kernel::App;
use lambda_http::{Body, Request, Response};
use uuid::Uuid;

pub const ALLOWED_METHODS: &str = "GET, POST, PUT, PATCH, DELETE";
pub const ALLOWED_HEADERS: &str = "authorization, content-type, idempotency-key, if-match, x-isp";
/// Browsers may keep a preflight's answer this long (seconds).
pub const PREFLIGHT_MAX_AGE: &str = "600";

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// The ISP of a request for CORS: its bearer token's, else the one its host or `X-ISP` code names.
async fn request_tenant(app: &App, req: &Request) -> Option<Uuid> {
    let bearer =
        header(req, "authorization").and_then(|a| a.strip_prefix("Bearer ").or_else(|| a.strip_prefix("bearer ")));
    if let Some(token) = bearer {
        // An API key names its ISP in its first part (whether it is valid is the route's business).
        if let Some(key) = domain::api_key::PresentedKey::parse(token.trim()) {
            return key.tenant_id;
        }
        return app.tokens.verify(token.trim(), app.now()).ok().and_then(|a| a.tenant_id);
    }
    kernel::tenancy::isp_by_host_or_code(app, header(req, "host"), header(req, "x-isp")).await.ok().flatten()
}

fn allow(resp: &mut Response<Body>, origin: &str) {
    if let Ok(v) = HeaderValue::from_str(origin) {
        let h = resp.headers_mut();
        h.insert("access-control-allow-origin", v);
        h.insert("access-control-allow-credentials", HeaderValue::from_static("true"));
        h.insert(
            "access-control-expose-headers",
            HeaderValue::from_static("retry-after, idempotent-replayed, location, content-disposition"),
        );
    }
}

fn vary(resp: &mut Response<Body>) {
    resp.headers_mut().append("vary", HeaderValue::from_static("Origin"));
}

/// Runs `handler` for `req` with CORS: a preflight (`OPTIONS` with an `Origin`) is answered here,
/// 204 with the allowance when the origin may call, 204 without it when not (the browser then
/// refuses); an actual request gets `Access-Control-Allow-Origin` only when its origin may call it.
pub async fn with_cors<'a, F, Fut>(app: &'a App, req: Request, handler: F) -> Response<Body>
where
    F: FnOnce(&'a App, Request) -> Fut,
    Fut: std::future::Future<Output = Response<Body>>,
{
    let origin = header(&req, "origin").map(str::to_string);
    let Some(origin) = origin else { return handler(app, req).await };
    if req.method() == Method::OPTIONS {
        let mut resp = Response::builder().status(StatusCode::NO_CONTENT).body(Body::Empty).expect("static response");
        vary(&mut resp);
        if kernel::tenancy::origin_allowed(app, &origin, None, true).await.unwrap_or(false) {
            allow(&mut resp, &origin);
            let h = resp.headers_mut();
            h.insert("access-control-allow-methods", HeaderValue::from_static(ALLOWED_METHODS));
            h.insert("access-control-allow-headers", HeaderValue::from_static(ALLOWED_HEADERS));
            h.insert("access-control-max-age", HeaderValue::from_static(PREFLIGHT_MAX_AGE));
        }
        return resp;
    }
    let tenant = request_tenant(app, &req).await;
    let allowed = kernel::tenancy::origin_allowed(app, &origin, tenant, false).await.unwrap_or(false);
    let mut resp = handler(app, req).await;
    vary(&mut resp);
    if allowed {
        allow(&mut resp, &origin);
    }
    resp
}

/// Runs an API function on Lambda with CORS (see [`with_cors`]).
pub async fn serve<F, Fut>(app: App, handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static App, Request) -> Fut + Send + Sync + Copy + 'static,
    Fut: std::future::Future<Output = Response<Body>> + Send,
{
    crate::run_api(app, move |app, req| with_cors(app, req, handler)).await
}
