//! Live router operations behind the API: test connection, resources, interfaces, active
//! sessions, a subscriber's session and disconnecting it.
//!
//! Only `worker-provisioning` reaches routers (it alone sits in the routers' VPC), so an API
//! function authorizes the caller, then sends a [`LiveRequest`] to it through a synchronous
//! invoke ([`LiveTransport`]) and maps the [`LiveAnswer`]. The API gives the whole trip 5 seconds
//! (504 `router_timeout` after that); the worker gives the router 4.5 so that its own, more
//! precise answer (502 `router_unreachable`, `router_login_failed`...) normally arrives first.

use crate::app::App;
use crate::network::{get_router, live_router};
use crate::provisioning::{RouterPool, open_router};
use crate::support::{StoreResultExt, audit};
use domain::actor::Actor;
use domain::live::{
    OnlineSession, RouterInterface, RouterResources, RouterTest, SessionService, SessionsDropped, SubscriberSession,
    uptime_seconds,
};
use domain::package::ConnectionType;
use domain::role::Permission;
use domain::{Error, Result};
use routeros::menu::{ActiveSession, Interface, Resource};
use routeros::{RouterError, Stage};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::{Tx, keys};
use uuid::Uuid;

/// What an API call waits for a live answer, all included.
pub const API_DEADLINE: Duration = Duration::from_secs(5);
/// What the worker gives the router, so that its answer beats the API's deadline.
pub const WORKER_DEADLINE: Duration = Duration::from_millis(4500);

/// A live operation, as sent to the provisioning function. The caller has already checked that
/// the actor may see the router or subscription; the worker trusts only its invoker (IAM).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum LiveRequest {
    Test { tenant_id: Uuid, router_id: Uuid },
    Resources { tenant_id: Uuid, router_id: Uuid },
    Interfaces { tenant_id: Uuid, router_id: Uuid },
    Sessions { tenant_id: Uuid, router_id: Uuid },
    Session { tenant_id: Uuid, router_id: Uuid, subscription_id: Uuid, username: String, service: SessionService },
    Disconnect { tenant_id: Uuid, router_id: Uuid, subscription_id: Uuid, username: String, service: SessionService },
}

impl LiveRequest {
    fn target(&self) -> (Uuid, Uuid) {
        match self {
            LiveRequest::Test { tenant_id, router_id }
            | LiveRequest::Resources { tenant_id, router_id }
            | LiveRequest::Interfaces { tenant_id, router_id }
            | LiveRequest::Sessions { tenant_id, router_id }
            | LiveRequest::Session { tenant_id, router_id, .. }
            | LiveRequest::Disconnect { tenant_id, router_id, .. } => (*tenant_id, *router_id),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum LiveReply {
    Test(RouterTest),
    Resources(RouterResources),
    Interfaces(Vec<RouterInterface>),
    Sessions(Vec<OnlineSession>),
    Session(SubscriberSession),
    Disconnected(SessionsDropped),
}

/// Why a live operation failed, with the code the API answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveFailure {
    pub code: String,
    pub detail: String,
}

pub type LiveAnswer = std::result::Result<LiveReply, LiveFailure>;

impl LiveFailure {
    /// A router error in API terms. A connect that times out is an unreachable router (a
    /// black-holed VPN), not a slow one.
    pub fn from_router(e: &RouterError) -> LiveFailure {
        let code = match e {
            RouterError::Timeout(Stage::Connect) => "router_unreachable",
            other => other.code(),
        };
        LiveFailure { code: code.into(), detail: e.to_string() }
    }

    fn timeout() -> LiveFailure {
        LiveFailure {
            code: "router_timeout".into(),
            detail: format!("the router did not answer within {} ms", WORKER_DEADLINE.as_millis()),
        }
    }

    /// The API's problem for it: 504 for a router too slow, 502 for the router failing, 404 for a
    /// router deleted meanwhile.
    pub fn into_error(self) -> Error {
        const GATEWAY_CODES: &[&str] = &[
            "router_unreachable",
            "router_tls_failed",
            "router_login_failed",
            "router_connection_lost",
            "router_command_failed",
        ];
        match self.code.as_str() {
            "router_timeout" => Error::GatewayTimeout { code: "router_timeout", detail: self.detail },
            "not_found" => Error::not_found("router"),
            c => match GATEWAY_CODES.iter().find(|k| **k == c) {
                Some(code) => Error::BadGateway { code, detail: self.detail },
                None => Error::Internal(format!("live router operation failed: {} ({})", self.detail, self.code)),
            },
        }
    }
}

pub type LiveFuture<'a> = Pin<Box<dyn Future<Output = std::result::Result<LiveAnswer, String>> + Send + 'a>>;

/// How an API function reaches the provisioning function. `Err` means the call itself failed
/// (not the router).
pub trait LiveTransport: Send + Sync {
    fn call<'a>(&'a self, request: &'a LiveRequest) -> LiveFuture<'a>;
}

/// The transport an [`App`] uses for live operations (none: they answer 503).
#[derive(Clone)]
pub struct LiveRouters(pub Arc<dyn LiveTransport>);

impl std::fmt::Debug for LiveRouters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LiveRouters")
    }
}

/// The provisioning function run in this process (local runner, tests): the request and the
/// answer still go through their JSON form, as they do through Lambda.
pub struct InProcess {
    pub app: App,
    pub pool: Arc<RouterPool>,
}

impl LiveTransport for InProcess {
    fn call<'a>(&'a self, request: &'a LiveRequest) -> LiveFuture<'a> {
        Box::pin(async move {
            let wire = serde_json::to_vec(request).map_err(|e| e.to_string())?;
            let request: LiveRequest = serde_json::from_slice(&wire).map_err(|e| e.to_string())?;
            let answer = answer(&self.app, &self.pool, request).await;
            let wire = serde_json::to_vec(&answer).map_err(|e| e.to_string())?;
            serde_json::from_slice(&wire).map_err(|e| e.to_string())
        })
    }
}

/// A synchronous `Invoke` of the provisioning function (on AWS).
#[cfg(feature = "lambda-invoke")]
pub struct LambdaInvoke {
    pub client: aws_sdk_lambda::Client,
    pub function: String,
}

#[cfg(feature = "lambda-invoke")]
impl LambdaInvoke {
    /// From `PROVISIONING_FUNCTION` (the template sets it); `None` when it is not set.
    pub async fn from_env() -> Option<LambdaInvoke> {
        let function = std::env::var("PROVISIONING_FUNCTION").ok().filter(|f| !f.is_empty())?;
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Some(LambdaInvoke { client: aws_sdk_lambda::Client::new(&config), function })
    }
}

#[cfg(feature = "lambda-invoke")]
impl LiveTransport for LambdaInvoke {
    fn call<'a>(&'a self, request: &'a LiveRequest) -> LiveFuture<'a> {
        Box::pin(async move {
            let payload = serde_json::to_vec(request).map_err(|e| e.to_string())?;
            let out = self
                .client
                .invoke()
                .function_name(&self.function)
                .payload(aws_sdk_lambda::primitives::Blob::new(payload))
                .send()
                .await
                .map_err(|e| format!("invoke {}: {e}", self.function))?;
            let body = out.payload.map(|b| b.into_inner()).unwrap_or_default();
            parse_invoke_answer(out.function_error.as_deref(), &body)
        })
    }
}

/// The invoke's result: the function's JSON answer, or its error (a crash, a timeout of the
/// function itself), which the API reports as unavailable rather than blaming the router.
pub fn parse_invoke_answer(function_error: Option<&str>, body: &[u8]) -> std::result::Result<LiveAnswer, String> {
    if let Some(kind) = function_error {
        return Err(format!("provisioning function failed ({kind}): {}", String::from_utf8_lossy(body)));
    }
    serde_json::from_slice(body).map_err(|e| format!("provisioning function answered something else: {e}"))
}

impl App {
    pub fn with_live(mut self, live: Option<Arc<dyn LiveTransport>>) -> App {
        self.live = live.map(LiveRouters);
        self
    }
}

async fn call(app: &App, request: LiveRequest) -> Result<LiveReply> {
    let Some(live) = &app.live else {
        return Err(Error::Unavailable { detail: "live router operations are not configured here".into() });
    };
    match tokio::time::timeout(API_DEADLINE, live.0.call(&request)).await {
        Err(_) => Err(Error::GatewayTimeout {
            code: "router_timeout",
            detail: format!("the router did not answer within {} s", API_DEADLINE.as_secs()),
        }),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "live router operation could not reach the provisioning function");
            Err(Error::Unavailable { detail: "the provisioning function cannot be reached; try again".into() })
        }
        Ok(Ok(answer)) => answer.map_err(LiveFailure::into_error),
    }
}

fn unexpected(reply: LiveReply) -> Error {
    Error::Internal(format!("live operation answered with the wrong kind: {reply:?}"))
}

/// `POST /v1/routers/{id}/test`: connect, log in, read identity and version (a new login, as
/// that is what is tested). The outcome is recorded as the router's health.
pub async fn test_router(app: &App, actor: &Actor, id: Uuid) -> Result<RouterTest> {
    let router = get_router(app, actor, id).await?;
    match call(app, LiveRequest::Test { tenant_id: router.tenant_id, router_id: id }).await? {
        LiveReply::Test(t) => Ok(t),
        other => Err(unexpected(other)),
    }
}

pub async fn router_resources(app: &App, actor: &Actor, id: Uuid) -> Result<RouterResources> {
    let router = get_router(app, actor, id).await?;
    match call(app, LiveRequest::Resources { tenant_id: router.tenant_id, router_id: id }).await? {
        LiveReply::Resources(r) => Ok(r),
        other => Err(unexpected(other)),
    }
}

pub async fn router_interfaces(app: &App, actor: &Actor, id: Uuid) -> Result<Vec<RouterInterface>> {
    let router = get_router(app, actor, id).await?;
    match call(app, LiveRequest::Interfaces { tenant_id: router.tenant_id, router_id: id }).await? {
        LiveReply::Interfaces(r) => Ok(r),
        other => Err(unexpected(other)),
    }
}

/// PPP and hotspot sessions online on the router now.
pub async fn router_sessions(app: &App, actor: &Actor, id: Uuid) -> Result<Vec<OnlineSession>> {
    let router = get_router(app, actor, id).await?;
    match call(app, LiveRequest::Sessions { tenant_id: router.tenant_id, router_id: id }).await? {
        LiveReply::Sessions(r) => Ok(r),
        other => Err(unexpected(other)),
    }
}

/// The subscription's account on its router, for a session operation.
async fn session_target(
    app: &App,
    actor: &Actor,
    id: Uuid,
    permission: Permission,
) -> Result<(Uuid, Uuid, String, SessionService)> {
    actor.require(permission)?;
    let rec = crate::subscriptions::load_record(app, actor, id).await?;
    let s = rec.subscription;
    let service = match s.connection_type {
        ConnectionType::Pppoe => SessionService::Pppoe,
        ConnectionType::Hotspot => SessionService::Hotspot,
        ConnectionType::Static => {
            return Err(Error::Unprocessable {
                code: "no_session",
                detail: "a static-IP subscription has no PPP or hotspot session on the router".into(),
            });
        }
    };
    Ok((s.tenant_id, s.router_id, s.username, service))
}

/// `GET /v1/subscriptions/{id}/session`: online or not, address, uptime, bytes.
pub async fn subscription_session(app: &App, actor: &Actor, id: Uuid) -> Result<SubscriberSession> {
    let (tenant_id, router_id, username, service) = session_target(app, actor, id, Permission::CustomersRead).await?;
    let request = LiveRequest::Session { tenant_id, router_id, subscription_id: id, username, service };
    match call(app, request).await? {
        LiveReply::Session(s) => Ok(s),
        other => Err(unexpected(other)),
    }
}

/// `POST /v1/subscriptions/{id}/disconnect`: drop its active session(s); the CPE dials again
/// (with whatever the router now says for it). Audited.
pub async fn disconnect_subscription(app: &App, actor: &Actor, id: Uuid) -> Result<SessionsDropped> {
    let (tenant_id, router_id, username, service) = session_target(app, actor, id, Permission::CustomersWrite).await?;
    let request = LiveRequest::Disconnect { tenant_id, router_id, subscription_id: id, username, service };
    let dropped = match call(app, request).await? {
        LiveReply::Disconnected(d) => d,
        other => return Err(unexpected(other)),
    };
    let mut tx = Tx::new();
    tx.put_audit(&audit(
        actor,
        Some(tenant_id),
        "subscription.disconnected",
        "subscription",
        id,
        None,
        Some(serde_json::json!({"router_id": router_id, "sessions_dropped": dropped.disconnected})),
        app.now(),
    ));
    app.store.commit(tx).await.or_500()?;
    Ok(dropped)
}

/// The worker's side: run one live operation within [`WORKER_DEADLINE`].
pub async fn answer(app: &App, pool: &RouterPool, request: LiveRequest) -> LiveAnswer {
    match tokio::time::timeout(WORKER_DEADLINE, run(app, pool, request)).await {
        Err(_) => Err(LiveFailure::timeout()),
        Ok(r) => r,
    }
}

fn internal(e: Error) -> LiveFailure {
    tracing::error!(error = %e, "live router operation failed inside");
    LiveFailure { code: "internal".into(), detail: "internal error".into() }
}

async fn run(app: &App, pool: &RouterPool, request: LiveRequest) -> LiveAnswer {
    let (tenant, router_id) = request.target();
    let rec = app.store.get_item(&keys::router(tenant, router_id, "", None)).await.or_500().map_err(internal)?;
    let Some(rec) = live_router(rec).map_err(internal)? else {
        return Err(LiveFailure { code: "not_found".into(), detail: "router not found".into() });
    };
    let (router, endpoint) = open_router(app, rec.clone()).map_err(internal)?;
    let now = app.now();
    if let LiveRequest::Test { .. } = request {
        // A fresh connection and login: that is what "test" tests. Recorded as the router's health.
        let started = Instant::now();
        let outcome = async {
            let conn =
                routeros::RouterConnection::open(&endpoint, routeros::Timeouts::LIVE, pool.stats().clone()).await?;
            conn.router_info().await
        }
        .await;
        let took_ms = started.elapsed().as_millis() as u64;
        crate::router_health::record(app, &rec, &outcome, took_ms).await.map_err(internal)?;
        let info = outcome.map_err(|e| LiveFailure::from_router(&e))?;
        return Ok(LiveReply::Test(RouterTest {
            router_id,
            identity: info.identity,
            routeros_version: info.resource.version.clone(),
            board_name: info.resource.board_name.clone(),
            uptime_seconds: info.resource.uptime.as_deref().and_then(uptime_seconds),
            tls: router.tls,
            took_ms,
            checked_at: now,
        }));
    }
    let session = pool.live_session(router_id, &endpoint).await;
    let reply = session
        .with_retry(|conn| {
            let request = request.clone();
            async move {
                Ok(match request {
                    LiveRequest::Test { .. } => unreachable!("answered above"),
                    LiveRequest::Resources { .. } => {
                        LiveReply::Resources(resources(router_id, conn.resource().await?, now))
                    }
                    LiveRequest::Interfaces { .. } => {
                        LiveReply::Interfaces(conn.interfaces().await?.into_iter().map(interface).collect())
                    }
                    LiveRequest::Sessions { .. } => {
                        LiveReply::Sessions(conn.active_sessions().await?.into_iter().map(online).collect())
                    }
                    LiveRequest::Session { subscription_id, username, service, .. } => {
                        let s = conn.session_of(&username, service == SessionService::Hotspot).await?;
                        LiveReply::Session(SubscriberSession {
                            subscription_id,
                            router_id,
                            online: s.is_some(),
                            session: s.map(online),
                            checked_at: now,
                        })
                    }
                    LiveRequest::Disconnect { subscription_id, username, service, .. } => {
                        let n = conn.disconnect(&username, service == SessionService::Hotspot).await?;
                        LiveReply::Disconnected(SessionsDropped {
                            subscription_id,
                            router_id,
                            disconnected: u32::try_from(n).unwrap_or(u32::MAX),
                        })
                    }
                })
            }
        })
        .await;
    reply.map_err(|e| LiveFailure::from_router(&e))
}

fn resources(router_id: Uuid, r: Resource, checked_at: chrono::DateTime<chrono::Utc>) -> RouterResources {
    RouterResources {
        router_id,
        routeros_version: r.version,
        board_name: r.board_name,
        architecture: r.architecture,
        uptime_seconds: r.uptime.as_deref().and_then(uptime_seconds),
        cpu_load: r.cpu_load,
        free_memory_bytes: r.free_memory,
        total_memory_bytes: r.total_memory,
        checked_at,
    }
}

fn interface(i: Interface) -> RouterInterface {
    RouterInterface {
        name: i.name,
        kind: i.kind,
        running: i.running,
        disabled: i.disabled,
        mac_address: i.mac_address,
        rx_bytes: i.rx_bytes,
        tx_bytes: i.tx_bytes,
        rx_packets: i.rx_packets,
        tx_packets: i.tx_packets,
    }
}

fn online(s: ActiveSession) -> OnlineSession {
    OnlineSession {
        username: s.name,
        service: if s.service == "hotspot" { SessionService::Hotspot } else { SessionService::Pppoe },
        address: s.address,
        caller_id: s.caller_id,
        uptime_seconds: s.uptime.as_deref().and_then(uptime_seconds),
        bytes_in: s.bytes_in,
        bytes_out: s.bytes_out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_map_to_problems() {
        let e = LiveFailure::from_router(&RouterError::Timeout(Stage::Connect)).into_error();
        assert!(matches!(e, Error::BadGateway { code: "router_unreachable", .. }), "{e:?}");
        let e = LiveFailure::from_router(&RouterError::Timeout(Stage::Command)).into_error();
        assert!(matches!(e, Error::GatewayTimeout { code: "router_timeout", .. }), "{e:?}");
        let e = LiveFailure::from_router(&RouterError::LoginRejected("bad".into())).into_error();
        assert!(matches!(e, Error::BadGateway { code: "router_login_failed", .. }), "{e:?}");
        let e = LiveFailure { code: "internal".into(), detail: "x".into() }.into_error();
        assert!(matches!(e, Error::Internal(_)), "{e:?}");
    }

    #[test]
    fn invoke_answers() {
        let ok = serde_json::to_vec(&LiveAnswer::Err(LiveFailure::timeout())).unwrap();
        assert_eq!(parse_invoke_answer(None, &ok).unwrap(), Err(LiveFailure::timeout()));
        assert!(parse_invoke_answer(Some("Unhandled"), b"{\"errorMessage\":\"boom\"}").unwrap_err().contains("boom"));
        assert!(parse_invoke_answer(None, b"not json").is_err());
    }

    #[test]
    fn requests_have_a_stable_wire_form() {
        let t = Uuid::nil();
        let r = LiveRequest::Session {
            tenant_id: t,
            router_id: t,
            subscription_id: t,
            username: "rahim".into(),
            service: SessionService::Pppoe,
        };
        let j = serde_json::to_value(&r).unwrap();
        assert_eq!(j["op"], "session");
        assert_eq!(j["service"], "pppoe");
        assert_eq!(serde_json::from_value::<LiveRequest>(j).unwrap(), r);
    }
}
