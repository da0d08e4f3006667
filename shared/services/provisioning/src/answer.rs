//! The provisioning function's side of live router operations: run one [`LiveRequest`] against
//! the router within [`WORKER_DEADLINE`] and answer it; and [`InProcess`], the transport that runs
//! it in this process (the local runner, tests).

use crate::pool::{RouterPool, open_router};
use domain::Error;
use domain::live::*;
use domain::work::WorkError;
use kernel::App;
use kernel::live::{LiveFuture, LiveTransport};
use kernel::support::StoreResultExt;
use network::routers::live_router;
use routeros::menu::{ActiveSession, Interface, Resource};
use routeros::{RouterError, Stage};
use std::sync::Arc;
use std::time::Instant;
use store::keys;
use uuid::Uuid;

/// The provisioning function run in this process (local runner, tests): the request and the
/// answer still go through their JSON form, as they do through Lambda.
pub struct InProcess {
    pub app: App,
    pub pool: Arc<RouterPool>,
}

impl LiveTransport for InProcess {
    fn call<'a>(&'a self, request: &'a LiveRequest) -> LiveFuture<'a> {
        Box::pin(async move {
            let wire = serde_json::to_vec(request).map_err(WorkError::drop)?;
            let request: LiveRequest = serde_json::from_slice(&wire).map_err(WorkError::drop)?;
            let answer = answer(&self.app, &self.pool, request).await;
            let wire = serde_json::to_vec(&answer).map_err(WorkError::drop)?;
            serde_json::from_slice(&wire).map_err(WorkError::drop)
        })
    }
}

/// A router error in API terms. A connect that times out is an unreachable router (a black-holed
/// VPN), not a slow one.
pub fn failure_of(e: &RouterError) -> LiveFailure {
    let code = match e {
        RouterError::Timeout(Stage::Connect) => "router_unreachable",
        other => other.code(),
    };
    LiveFailure { code: code.into(), detail: e.to_string() }
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
            let check = crate::pool::own_address(app, tenant);
            let conn = routeros::RouterConnection::open_checked(
                &endpoint,
                routeros::Timeouts::LIVE,
                pool.stats().clone(),
                Some(check.as_ref()),
            )
            .await?;
            conn.router_info().await
        }
        .await;
        let took_ms = started.elapsed().as_millis() as u64;
        crate::health::record(app, &rec, &outcome, took_ms).await.map_err(internal)?;
        let info = outcome.map_err(|e| failure_of(&e))?;
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
    let session = pool.live_session(app, tenant, router_id, &endpoint).await;
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
    reply.map_err(|e| failure_of(&e))
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
        let e = failure_of(&RouterError::Timeout(Stage::Connect)).into_error();
        assert!(matches!(e, Error::BadGateway { code: "router_unreachable", .. }), "{e:?}");
        let e = failure_of(&RouterError::Timeout(Stage::Command)).into_error();
        assert!(matches!(e, Error::GatewayTimeout { code: "router_timeout", .. }), "{e:?}");
        let e = failure_of(&RouterError::LoginRejected("bad".into())).into_error();
        assert!(matches!(e, Error::BadGateway { code: "router_login_failed", .. }), "{e:?}");
        let e = LiveFailure { code: "internal".into(), detail: "x".into() }.into_error();
        assert!(matches!(e, Error::Internal(_)), "{e:?}");
    }
}
