//! A router as a caller sees it: one connection, reopened with backoff when it dies.

use crate::client::{AddressCheck, Endpoint, RouterConnection, Stats, Timeouts};
use crate::error::RouterError;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// How often and how patiently to reconnect.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Connection attempts in total (1 = no retry).
    pub attempts: u32,
    pub first: Duration,
    pub max: Duration,
}

impl Backoff {
    pub const WORKER: Backoff = Backoff { attempts: 4, first: Duration::from_millis(200), max: Duration::from_secs(2) };
    /// A live API call has 5 seconds in all: one immediate second attempt, for a kept connection
    /// that died while nobody used it (a NAT or the router dropped it).
    pub const LIVE: Backoff = Backoff { attempts: 2, first: Duration::ZERO, max: Duration::ZERO };

    /// Delay before retry `n` (0-based): doubling, capped.
    pub fn delay(&self, n: u32) -> Duration {
        self.first.saturating_mul(1u32 << n.min(16)).min(self.max)
    }
}

/// Holds at most one logged-in connection to a router and reopens it when needed. All work on the
/// router goes through the same connection, pipelined: never one login per operation.
pub struct RouterSession {
    endpoint: Endpoint,
    timeouts: Timeouts,
    backoff: Backoff,
    stats: Arc<Stats>,
    check: Option<Arc<dyn AddressCheck>>,
    current: Mutex<Option<RouterConnection>>,
}

impl RouterSession {
    pub fn new(endpoint: Endpoint, timeouts: Timeouts, backoff: Backoff, stats: Arc<Stats>) -> Self {
        RouterSession { endpoint, timeouts, backoff, stats, check: None, current: Mutex::new(None) }
    }

    /// Every connection of this session first asks `check` about the address a host name
    /// resolved to.
    pub fn with_address_check(mut self, check: Arc<dyn AddressCheck>) -> Self {
        self.check = Some(check);
        self
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub fn backoff(&self) -> Backoff {
        self.backoff
    }

    /// The open connection, or a new one (retrying transient faults and refused logins, which a
    /// rebooting router produces for a while, with backoff).
    pub async fn connection(&self) -> Result<RouterConnection, RouterError> {
        let mut current = self.current.lock().await;
        if let Some(c) = current.as_ref().filter(|c| !c.is_closed()) {
            return Ok(c.clone());
        }
        *current = None;
        let mut last = None;
        for attempt in 0..self.backoff.attempts.max(1) {
            if attempt > 0 {
                tokio::time::sleep(self.backoff.delay(attempt - 1)).await;
            }
            match RouterConnection::open_checked(
                &self.endpoint,
                self.timeouts,
                self.stats.clone(),
                self.check.as_deref(),
            )
            .await
            {
                Ok(c) => {
                    *current = Some(c.clone());
                    return Ok(c);
                }
                Err(e) if e.is_transient() || matches!(e, RouterError::LoginRejected(_)) => {
                    tracing::debug!(host = %self.endpoint.host, attempt, error = %e, "router connection attempt failed");
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| RouterError::Unreachable("no attempt made".into())))
    }

    /// Drop the current connection: the next call opens a new one.
    pub async fn reset(&self) {
        *self.current.lock().await = None;
    }

    /// Run `work` on a connection; when it fails because the connection died (dropped, timed
    /// out), reconnect and run it again from the start, within the backoff's attempts. `work`
    /// must be safe to repeat, which level-triggered work is: it reads the router before it
    /// changes anything.
    pub async fn with_retry<T, F, Fut>(&self, mut work: F) -> Result<T, RouterError>
    where
        F: FnMut(RouterConnection) -> Fut,
        Fut: Future<Output = Result<T, RouterError>>,
    {
        let mut attempt = 0;
        loop {
            let conn = self.connection().await?;
            match work(conn).await {
                Ok(v) => return Ok(v),
                Err(e) if e.kills_connection() => {
                    self.reset().await;
                    attempt += 1;
                    if !e.is_transient() || attempt >= self.backoff.attempts.max(1) {
                        return Err(e);
                    }
                    tracing::info!(host = %self.endpoint.host, attempt, error = %e, "router work interrupted; reconnecting");
                    tokio::time::sleep(self.backoff.delay(attempt - 1)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}
