//! `api-radius`: what the platform's FreeRADIUS asks through `rlm_rest` for routers in RADIUS
//! mode (`infra/radius/`), the edge's usage reports, and its NAS list. Every call carries the deployment's
//! `RADIUS_API_TOKEN` and the NAS FreeRADIUS authenticated (`X-Radius-Nas`); no user token
//! reaches it. Answers are in `rlm_rest`'s terms: 200 with `list:Attribute` values (a refused
//! login is `control:Auth-Type = Reject` with `reply:Reply-Message`), 204 when there is nothing
//! to add; a 4xx is a fault of the call itself (problem+json).

use domain::radius::{RadiusClient, RestAttributes, clients_conf};
use isp_http::{Incoming, Problem, Reply, finish, no_content, ok, text_file};
use kernel::App;
use lambda_http::{Body, Request, Response};
use network::radius::{Authorized, caller};

pub const ROUTES: &[&str] = &[
    "POST /v1/radius/authorize",
    "POST /v1/radius/post-auth",
    "POST /v1/radius/accounting",
    "POST /v1/radius/usage",
    "GET /v1/radius/clients",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, _) = r.route(ROUTES)?;
    match route {
        "POST /v1/radius/authorize" => authorize(app, &r).await,
        "POST /v1/radius/post-auth" => post_auth(app, &r).await,
        "POST /v1/radius/accounting" => accounting(app, &r).await,
        "POST /v1/radius/usage" => usage(app, &r).await,
        _ => clients(app, &r).await,
    }
}

fn token(r: &Incoming) -> Option<&str> {
    r.header("authorization").and_then(|h| h.strip_prefix("Bearer "))
}

/// The request's attributes as `rlm_rest` encodes them (`{"User-Name": {"type": "string",
/// "value": ["bob"]}, ...}`).
fn attributes(r: &Incoming) -> Result<RestAttributes, domain::Error> {
    r.json::<RestAttributes>()
}

/// What a login gets: 200 with `control:Cleartext-Password` (FreeRADIUS checks PAP, CHAP or
/// MS-CHAPv2 against it) and the reply attributes (`Mikrotik-Group`, `Mikrotik-Rate-Limit`,
/// `Mikrotik-Address-List`, `Framed-IP-Address`, `Session-Timeout`, `Acct-Interim-Interval`);
/// when refused (unknown, suspended, on another router, already online) 200 with
/// `control:Auth-Type = Reject` and the reason as `reply:Reply-Message`.
#[utoipa::path(post, path = "/v1/radius/authorize", tag = "network",
    request_body(content = Object, description = "rlm_rest's JSON encoding of the Access-Request"),
    params(("X-Radius-Nas" = String, Header, description = "<tenant id>/<router id> of the NAS")),
    responses((status = 200, body = std::collections::BTreeMap<String, String>), (status = 401, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn authorize(app: &App, r: &Incoming) -> Reply {
    let (tenant, router) = caller(app, token(r), r.header("x-radius-nas"))?;
    let attrs = attributes(r)?;
    match network::radius::authorize(app, tenant, router, &attrs).await? {
        Authorized::Accept(reply) => ok(&reply),
        Authorized::Reject(reason) => ok(&domain::radius::reject_attributes(&reason)),
    }
}

/// Records a login's outcome (`X-Radius-Outcome: reject` for a refused one) beside the
/// subscriber's answer. The project's FreeRADIUS calls it for refusals only (an accepted login is
/// recorded by its session's Start).
#[utoipa::path(post, path = "/v1/radius/post-auth", tag = "network",
    request_body(content = Object, description = "rlm_rest's JSON encoding of the Access-Request"),
    params(("X-Radius-Nas" = String, Header, description = "<tenant id>/<router id> of the NAS"),
        ("X-Radius-Outcome" = Option<String>, Header, description = "reject for a refused login")),
    responses((status = 204), (status = 401, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn post_auth(app: &App, r: &Incoming) -> Reply {
    let (tenant, router) = caller(app, token(r), r.header("x-radius-nas"))?;
    let attrs = attributes(r)?;
    let rejected = r.header("x-radius-outcome") == Some("reject");
    network::radius::post_auth(app, tenant, router, &attrs, rejected).await?;
    no_content()
}

/// Records an Accounting-Request in the subscriber's sessions: a Start opens one, a Stop closes
/// it (a repeated or late packet changes nothing); bytes come with the edge's usage report. 204
/// once recorded (FreeRADIUS then answers the NAS); 503 makes the NAS send it again.
#[utoipa::path(post, path = "/v1/radius/accounting", tag = "network",
    request_body(content = Object, description = "rlm_rest's JSON encoding of the Accounting-Request"),
    params(("X-Radius-Nas" = String, Header, description = "<tenant id>/<router id> of the NAS")),
    responses((status = 204), (status = 401, body = Problem), (status = 422, body = Problem),
        (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn accounting(app: &App, r: &Incoming) -> Reply {
    let (tenant, router) = caller(app, token(r), r.header("x-radius-nas"))?;
    let attrs = attributes(r)?;
    network::radius::accounting(app, tenant, router, &attrs).await?;
    no_content()
}

/// The edge's usage report for one NAS (every interval, `infra/radius/post-usage.sh`): each
/// session FreeRADIUS holds open and those stopped since, with their counters. Counted into the
/// router's traffic cursor (the subscriber's daily usage, the router's day) as API mode's
/// sampling is: a repeated report counts nothing twice. Sessions stopped or gone are closed in
/// their subscriber's sessions (a lost Stop frees the one-session seat). 409 for a router in API
/// mode.
#[utoipa::path(post, path = "/v1/radius/usage", tag = "network",
    request_body = domain::radius::UsageReport,
    params(("X-Radius-Nas" = String, Header, description = "<tenant id>/<router id> of the NAS")),
    responses((status = 200, body = domain::radius::UsageRecorded), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn usage(app: &App, r: &Incoming) -> Reply {
    let (tenant, router) = caller(app, token(r), r.header("x-radius-nas"))?;
    let report: domain::radius::UsageReport = r.json()?;
    ok(&network::radius::usage(app, tenant, router, &report).await?)
}

/// A complete list (FreeRADIUS replaces its clients with it).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Clients {
    pub items: Vec<RadiusClient>,
}

/// Every router in RADIUS mode on the platform, with its shared secret (`format=freeradius`: as
/// a `clients.conf`). Only for the FreeRADIUS token.
#[utoipa::path(get, path = "/v1/radius/clients", tag = "network",
    params(("format" = Option<String>, Query, description = "json (default) or freeradius")),
    responses((status = 200, body = Clients), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn clients(app: &App, r: &Incoming) -> Reply {
    r.allow_query(&["format"])?;
    let items = network::radius::clients(app, token(r)).await?;
    match r.query("format") {
        None | Some("json") => ok(&Clients { items }),
        Some("freeradius") => text_file("clients.conf", "text/plain; charset=utf-8", clients_conf(&items)),
        Some(_) => Err(domain::Error::field("format", "json or freeradius")),
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(authorize, post_auth, accounting, usage, clients))]
pub struct Doc;
