//! `api-edge`: the WireGuard edge concentrator's list of peers (`GET /v1/edge/peers`), read every
//! 30 seconds by its sync agent (`infra/edge/`) with the deployment's `EDGE_SYNC_TOKEN`: every
//! router enrolled at the edge, its public key and its /32. No user token reaches it.

use domain::edge::{ConcentratorPeer, wg_peers};
use isp_http::{Incoming, Problem, Reply, finish, ok, text_file};
use kernel::App;
use lambda_http::{Body, Request, Response};

pub const ROUTES: &[&str] = &["GET /v1/edge/peers"];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let _ = r.route(ROUTES)?;
    peers(app, &r).await
}

/// A complete list (not paginated: the concentrator replaces its whole peer set with it).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Peers {
    pub items: Vec<ConcentratorPeer>,
}

/// Every router enrolled at the edge (`format=wg`: as `wg syncconf` peers). The bearer is the
/// concentrator's token, not a user's.
#[utoipa::path(get, path = "/v1/edge/peers", tag = "network",
    params(("format" = Option<String>, Query, description = "json (default) or wg")),
    responses((status = 200, body = Peers), (status = 401, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn peers(app: &App, r: &Incoming) -> Reply {
    r.allow_query(&["format"])?;
    let token = r.header("authorization").and_then(|h| h.strip_prefix("Bearer "));
    let items = network::edge::concentrator_peers(app, token).await?;
    match r.query("format") {
        None | Some("json") => ok(&Peers { items }),
        Some("wg") => text_file("peers.conf", "text/plain; charset=utf-8", wg_peers(&items)),
        Some(_) => Err(domain::Error::field("format", "json or wg")),
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(peers))]
pub struct Doc;
