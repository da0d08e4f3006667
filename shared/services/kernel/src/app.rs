//! What every use case needs, built once per process (outside the Lambda handler).

use crate::live::{LiveRouters, LiveTransport};
use chrono::{DateTime, Utc};
use domain::crypto::{SecretBox, Signer};
use domain::live::{LiveReply, LiveRequest};
use domain::network::RouterHosts;
use domain::token::TokenKeys;
use std::sync::{Arc, Mutex};
use store::{RequestCounter, Store};

/// Deployment configuration, from the environment (the SAM template sets it).
#[derive(Clone)]
pub struct Config {
    pub table: String,
    /// Signs access tokens, refresh tokens and cursors (a separate key is derived for each).
    pub signing_secret: Vec<u8>,
    /// AES-256 key (base64) for secrets at rest.
    pub encryption_key: String,
    /// Which router addresses are accepted (`ROUTERS_ON_LOOPBACK=true`: the local runner's).
    pub router_hosts: RouterHosts,
    /// Where the API is reached from outside (`PUBLIC_API_URL`, e.g. `https://api.isp.example`):
    /// the gateways send payers and notifications back to it.
    pub public_url: String,
    /// The platform's portal domain (`PORTAL_DOMAIN`, e.g. `portal.example.net`): an ISP's portal
    /// is also served at `<its code>.<this>`.
    pub portal_domain: String,
    /// Origins of the platform's own frontends (`ADMIN_ORIGINS`, comma-separated), allowed for
    /// every ISP's staff.
    pub admin_origins: Vec<String>,
    /// The S3 bucket of ticket attachments (`ATTACHMENTS_BUCKET`; empty: no attachments).
    pub attachments_bucket: String,
    /// The S3 bucket of router configuration backups, versioned (`BACKUPS_BUCKET`; empty: none).
    pub backups_bucket: String,
    /// The WireGuard edge (`EDGE_ENDPOINT`, `EDGE_PUBLIC_KEY`, `EDGE_POOL`; none without an
    /// endpoint: routers are reached by their own addresses only).
    pub edge: Option<domain::edge::EdgeConfig>,
    /// The concentrator's credential for its list of peers (`EDGE_SYNC_TOKEN`, 32+ characters).
    pub edge_sync_token: String,
    /// The platform FreeRADIUS's credential for `/v1/radius/*` (`RADIUS_API_TOKEN`, 32+ characters).
    pub radius_api_token: String,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config").field("table", &self.table).finish_non_exhaustive()
    }
}

/// The edge pool when `EDGE_POOL` is not set: 8,191 ISP blocks of 254 routers.
pub const DEFAULT_EDGE_POOL: &str = "10.224.0.0/11";

impl Config {
    pub fn from_env() -> Result<Self, String> {
        let get = |k: &str| std::env::var(k).map_err(|_| format!("environment variable {k} is not set"));
        let signing_secret = get("SIGNING_SECRET")?;
        if signing_secret.len() < 32 {
            return Err("SIGNING_SECRET must be at least 32 characters".into());
        }
        Ok(Self {
            table: get("TABLE_NAME")?,
            signing_secret: signing_secret.into_bytes(),
            encryption_key: get("ENCRYPTION_KEY")?,
            router_hosts: RouterHosts {
                allow_loopback: std::env::var("ROUTERS_ON_LOOPBACK").is_ok_and(|v| v == "true"),
            },
            public_url: std::env::var("PUBLIC_API_URL").unwrap_or_default().trim_end_matches('/').to_string(),
            portal_domain: std::env::var("PORTAL_DOMAIN").unwrap_or_default().trim().to_ascii_lowercase(),
            admin_origins: std::env::var("ADMIN_ORIGINS")
                .unwrap_or_default()
                .split(',')
                .filter_map(domain::portal::normalise_origin)
                .collect(),
            attachments_bucket: std::env::var("ATTACHMENTS_BUCKET").unwrap_or_default(),
            backups_bucket: std::env::var("BACKUPS_BUCKET").unwrap_or_default(),
            edge: match std::env::var("EDGE_ENDPOINT").unwrap_or_default().trim() {
                "" => None,
                endpoint => Some(domain::edge::EdgeConfig::parse(
                    endpoint,
                    std::env::var("EDGE_PUBLIC_KEY").unwrap_or_default().trim(),
                    std::env::var("EDGE_POOL")
                        .ok()
                        .filter(|p| !p.trim().is_empty())
                        .as_deref()
                        .unwrap_or(DEFAULT_EDGE_POOL),
                )?),
            },
            edge_sync_token: std::env::var("EDGE_SYNC_TOKEN").unwrap_or_default(),
            radius_api_token: std::env::var("RADIUS_API_TOKEN").unwrap_or_default(),
        })
    }
}

/// The time as the use cases see it: the system clock, or a settable one in tests and the local
/// runner's job triggers.
#[derive(Clone, Debug, Default)]
pub struct Clock(Option<Arc<Mutex<DateTime<Utc>>>>);

impl Clock {
    pub fn system() -> Self {
        Self(None)
    }
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self(Some(Arc::new(Mutex::new(at))))
    }
    pub fn now(&self) -> DateTime<Utc> {
        match &self.0 {
            None => Utc::now(),
            Some(t) => *t.lock().expect("clock lock"),
        }
    }
    /// Sets a fixed clock to `at`; no effect on the system clock.
    pub fn set(&self, at: DateTime<Utc>) {
        if let Some(t) = &self.0 {
            *t.lock().expect("clock lock") = at;
        }
    }
    /// Moves a fixed clock; no effect on the system clock.
    pub fn advance(&self, by: chrono::Duration) {
        if let Some(t) = &self.0 {
            let mut g = t.lock().expect("clock lock");
            *g += by;
        }
    }
}

#[derive(Clone, Debug)]
pub struct App {
    pub store: Store,
    pub tokens: TokenKeys,
    pub secrets: SecretBox,
    pub refresh_signer: Signer,
    pub reset_signer: Signer,
    /// Keyed fingerprints of data that includes secrets (never a plain hash of a password).
    pub fingerprint: Signer,
    pub clock: Clock,
    /// How live router operations reach the provisioning function (none: they answer 503).
    pub live: Option<LiveRouters>,
    /// Which router addresses are accepted, when saved and when connected to.
    pub router_hosts: RouterHosts,
    /// Where the API is reached from outside (see [`Config::public_url`]).
    pub public_url: String,
    /// See [`Config::portal_domain`].
    pub portal_domain: String,
    /// See [`Config::admin_origins`].
    pub admin_origins: Vec<String>,
    /// See [`Config::attachments_bucket`].
    pub attachments_bucket: String,
    /// See [`Config::backups_bucket`].
    pub backups_bucket: String,
    /// See [`Config::edge`].
    pub edge: Option<domain::edge::EdgeConfig>,
    /// See [`Config::edge_sync_token`].
    pub edge_sync_token: String,
    /// See [`Config::radius_api_token`].
    pub radius_api_token: String,
    /// This container's request counts and cached limits (see [`crate::gate`]).
    pub gate: Arc<crate::gate::Gate>,
}

impl App {
    pub fn new(store: Store, config: &Config, clock: Clock) -> Result<Self, String> {
        let access_key = Signer::new(&config.signing_secret, "access-token").sign(b"key");
        Ok(Self {
            store,
            tokens: TokenKeys::new(&access_key),
            secrets: SecretBox::from_base64_key(&config.encryption_key).map_err(|e| e.to_string())?,
            refresh_signer: Signer::new(&config.signing_secret, "refresh-token"),
            reset_signer: Signer::new(&config.signing_secret, "password-reset"),
            fingerprint: Signer::new(&config.signing_secret, "fingerprint"),
            clock,
            live: None,
            router_hosts: config.router_hosts,
            public_url: config.public_url.clone(),
            portal_domain: config.portal_domain.clone(),
            admin_origins: config.admin_origins.clone(),
            attachments_bucket: config.attachments_bucket.clone(),
            backups_bucket: config.backups_bucket.clone(),
            edge: config.edge.clone(),
            edge_sync_token: config.edge_sync_token.clone(),
            radius_api_token: config.radius_api_token.clone(),
            gate: Arc::default(),
        })
    }

    /// From the environment: what a function's `main` calls once.
    pub async fn from_env() -> Result<Self, String> {
        Self::from_env_with_counter(None).await
    }

    pub async fn from_env_with_counter(counter: Option<RequestCounter>) -> Result<Self, String> {
        let config = Config::from_env()?;
        let client = Store::client_from_env(counter).await;
        let cursor_key = Signer::new(&config.signing_secret, "cursor-key").sign(b"key");
        Self::new(Store::new(client, config.table.clone(), &cursor_key), &config, Clock::system())
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

impl App {
    pub fn with_live(mut self, live: Option<Arc<dyn LiveTransport>>) -> App {
        self.live = live.map(LiveRouters);
        self
    }

    /// Runs a live router operation through the provisioning function (503 when none is
    /// configured here).
    pub async fn live(&self, request: LiveRequest) -> domain::Result<LiveReply> {
        match &self.live {
            Some(live) => live.call(request).await,
            None => Err(domain::Error::Unavailable { detail: "live router operations are not configured here".into() }),
        }
    }
}
