//! The worker's connections to routers, kept across batches, and how a router is reached.

use domain::Result;
use domain::network::Router;
use futures::future::BoxFuture;
use kernel::App;
use network::routers::RouterRecord;
use routeros::{AddressCheck, Backoff, Endpoint, RouterError, RouterHosts, RouterSession, Stats, Timeouts, TlsMode};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use uuid::Uuid;

/// The worker's routers: one session per router, kept across batches (a warm Lambda container
/// reuses its logged-in connections instead of logging in again for every batch). A router whose
/// address or credentials changed gets a new session. Live operations and health checks have
/// sessions of their own with short deadlines: a caller waits for them.
pub struct RouterPool {
    stats: Arc<Stats>,
    sessions: tokio::sync::Mutex<HashMap<Uuid, Arc<RouterSession>>>,
    live: tokio::sync::Mutex<HashMap<Uuid, Arc<RouterSession>>>,
}

impl Default for RouterPool {
    fn default() -> Self {
        RouterPool {
            stats: Arc::new(Stats::default()),
            sessions: tokio::sync::Mutex::new(HashMap::new()),
            live: tokio::sync::Mutex::new(HashMap::new()),
        }
    }
}

/// Sessions kept per kind: a container that sweeps pages of ISPs meets more routers than a
/// Lambda may hold sockets for (1,024); past this, a session is dropped (its router logs in again
/// when next reached).
const KEPT_SESSIONS: usize = 384;

async fn pooled(
    map: &tokio::sync::Mutex<HashMap<Uuid, Arc<RouterSession>>>,
    router: Uuid,
    endpoint: &Endpoint,
    make: impl FnOnce() -> RouterSession,
) -> Arc<RouterSession> {
    let mut sessions = map.lock().await;
    match sessions.get(&router) {
        Some(s) if s.endpoint() == endpoint => s.clone(),
        _ => {
            if sessions.len() >= KEPT_SESSIONS
                && let Some(other) = sessions.keys().find(|k| **k != router).copied()
            {
                sessions.remove(&other);
            }
            let s = Arc::new(make());
            sessions.insert(router, s.clone());
            s
        }
    }
}

impl RouterPool {
    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// For provisioning: patient deadlines, retries with backoff.
    pub async fn session(&self, app: &App, tenant: Uuid, router: Uuid, endpoint: &Endpoint) -> Arc<RouterSession> {
        pooled(&self.sessions, router, endpoint, || {
            RouterSession::new(endpoint.clone(), Timeouts::WORKER, Backoff::WORKER, self.stats.clone())
                .with_address_check(own_address(app, tenant))
        })
        .await
    }

    /// For live operations and health checks: short deadlines, one reconnect.
    pub async fn live_session(&self, app: &App, tenant: Uuid, router: Uuid, endpoint: &Endpoint) -> Arc<RouterSession> {
        pooled(&self.live, router, endpoint, || {
            RouterSession::new(endpoint.clone(), Timeouts::LIVE, Backoff::LIVE, self.stats.clone())
                .with_address_check(own_address(app, tenant))
        })
        .await
    }
}

/// The check every connection of `tenant` to a router makes (see [`OwnAddress`]).
pub fn own_address(app: &App, tenant: Uuid) -> Arc<dyn AddressCheck> {
    Arc::new(OwnAddress { app: app.clone(), tenant })
}

/// A router reached by name is used only when no other ISP's router is registered at the address
/// the name resolved to, nor reached there by another name within a day: a router belongs to one
/// ISP (a GetItem and an UpdateItem per new connection, which are kept across batches).
struct OwnAddress {
    app: App,
    tenant: Uuid,
}

impl AddressCheck for OwnAddress {
    fn check(&self, address: IpAddr) -> BoxFuture<'_, std::result::Result<(), RouterError>> {
        Box::pin(async move {
            let unknown =
                |e: domain::Error| RouterError::Unreachable(format!("could not check who holds {address}: {e}"));
            match network::routers::router_address_holder(&self.app, address).await.map_err(unknown)? {
                Some(holder) if holder == self.tenant => return Ok(()),
                Some(_) => return Err(RouterError::Refused(format!("{address} is a router of another ISP"))),
                None => {}
            }
            // Nobody registered the address itself: whoever reaches it by a name holds it a while.
            match network::routers::lease_router_address(&self.app, self.tenant, address).await.map_err(unknown)? {
                true => Ok(()),
                false => Err(RouterError::Refused(format!("{address} is in use by another ISP's router"))),
            }
        })
    }
}

/// How to reach a router, from its record and its opened password, and which addresses it may
/// resolve to.
pub fn endpoint(router: &Router, password: String, hosts: RouterHosts) -> Endpoint {
    Endpoint {
        host: router.host.clone(),
        port: router.port,
        tls: match (router.tls, router.tls_insecure) {
            (false, _) => TlsMode::Plain,
            (true, false) => TlsMode::Verified,
            (true, true) => TlsMode::AcceptSelfSigned,
        },
        username: router.username.clone(),
        password,
        hosts,
    }
}

/// A live router record with its password opened, and how to reach it.
pub fn open_router(app: &App, rec: RouterRecord) -> Result<(Router, Endpoint)> {
    let creds = network::routers::open_credentials(app, rec)?;
    let ep = endpoint(&creds.router, creds.password.clone(), app.router_hosts);
    Ok((creds.router, ep))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_container_keeps_a_bounded_number_of_sessions() {
        let map = tokio::sync::Mutex::new(HashMap::new());
        let stats = Arc::new(Stats::default());
        let endpoint = Endpoint {
            host: "10.0.0.1".into(),
            port: 8728,
            tls: TlsMode::Plain,
            username: "api".into(),
            password: "secret".into(),
            hosts: RouterHosts::default(),
        };
        let make = || RouterSession::new(endpoint.clone(), Timeouts::LIVE, Backoff::LIVE, stats.clone());
        let routers: Vec<Uuid> = (0..KEPT_SESSIONS as u128 + 50).map(Uuid::from_u128).collect();
        for r in &routers {
            pooled(&map, *r, &endpoint, make).await;
        }
        let kept = map.lock().await.len();
        assert_eq!(kept, KEPT_SESSIONS);
        // The router just reached is kept, and reached again it is the same session.
        let last = *routers.last().unwrap();
        let again = pooled(&map, last, &endpoint, make).await;
        assert!(Arc::ptr_eq(&again, map.lock().await.get(&last).unwrap()));
        assert_eq!(map.lock().await.len(), KEPT_SESSIONS);
    }
}
