//! What every authenticated call passes before its use case runs: an API key is looked up and
//! turned into its caller, and the call is counted against its ISP's (and its key's) request
//! limit. The access-token check itself is `domain::token`; the parsing of the request is the
//! `isp-http` crate's.
//!
//! Costs, per call: a key is one strongly consistent GetItem (so a revoked key is refused on its
//! very next call); what it acts as (its creator, the ISP, its platform reseller) is one
//! BatchGetItem a minute per container; its "last used" time one UpdateItem a minute per container.
//! A limit's count is a fraction of a write (see `domain::rate::Batched`); an ISP's limits are read
//! once a minute per container.

use crate::App;
use crate::support::{StoreResultExt, attr, decoded};
use chrono::{DateTime, Duration, Utc};
use domain::actor::{Actor, KeyAccess};
use domain::api_key::{PresentedKey, StoredApiKey, refused};
use domain::platform::PlatformReseller;
use domain::rate::{API_WINDOW, Admission, Batched, RateLimitSettings, RateLimits};
use domain::tenant::{Tenant, TenantStatus};
use domain::user::{User, UserStatus};
use domain::{Error, Result};
use std::collections::HashMap;
use std::sync::Mutex;
use store::{Owner, keys};
use uuid::Uuid;

/// How long a container trusts what it read about limits and a key's principals.
pub const FRESH_FOR: Duration = Duration::seconds(60);
/// A container forgets counts of past windows once it holds this many subjects.
const MAX_SUBJECTS: usize = 10_000;

/// Per-container state: the counts of the current windows and the cached settings.
#[derive(Debug, Default)]
pub struct Gate {
    counts: Mutex<HashMap<String, Batched>>,
    limits: Cache<Option<Uuid>, RateLimits>,
    principals: Cache<Uuid, Principal>,
    /// When this container last recorded a key's use.
    last_used: Cache<Uuid, ()>,
}

/// What a container read, trusted for [`FRESH_FOR`] by the app's clock.
#[derive(Debug)]
struct Cache<K, V>(Mutex<HashMap<K, (DateTime<Utc>, V)>>);

impl<K, V> Default for Cache<K, V> {
    fn default() -> Self {
        Cache(Mutex::new(HashMap::new()))
    }
}

impl<K: std::hash::Hash + Eq, V: Clone> Cache<K, V> {
    fn fresh(&self, k: &K, now: DateTime<Utc>) -> Option<V> {
        let held = self.0.lock().expect("cache lock");
        held.get(k).filter(|(at, _)| *at <= now && now - *at < FRESH_FOR).map(|(_, v)| v.clone())
    }

    fn keep(&self, k: K, v: V, now: DateTime<Utc>) {
        let mut held = self.0.lock().expect("cache lock");
        if held.len() >= MAX_SUBJECTS {
            held.retain(|_, (at, _)| *at <= now && now - *at < FRESH_FOR);
        }
        held.insert(k, (now, v));
    }

    fn clear(&self) {
        self.0.lock().expect("cache lock").clear();
    }
}

/// Who a key acts as, as last read: its role and scope, and whether it may act at all.
#[derive(Debug, Clone)]
struct Principal {
    acting: User,
    refusal: Option<Error>,
}

/// The limits in force for `tenant` (None: platform callers), at most [`FRESH_FOR`] old.
pub async fn limits(app: &App, tenant: Option<Uuid>) -> Result<RateLimits> {
    let now = app.now();
    if let Some(l) = app.gate.limits.fresh(&tenant, now) {
        return Ok(l);
    }
    let resolved = read_limits(app, tenant).await?;
    app.gate.limits.keep(tenant, resolved, now);
    Ok(resolved)
}

/// The limits as stored now: the platform's settings and the ISP's override, in one BatchGetItem.
pub async fn read_limits(app: &App, tenant: Option<Uuid>) -> Result<RateLimits> {
    let pk = keys::platform_settings();
    let tk = keys::tenant(tenant.unwrap_or_default(), None);
    let wanted: Vec<&store::ItemKeys> = if tenant.is_some() { vec![&pk, &tk] } else { vec![&pk] };
    let mut got = app.store.batch_get(&wanted).await.or_500()?.into_iter();
    let platform: Option<PlatformSettings> = decoded(got.next().flatten())?;
    let isp: Option<Tenant> = decoded(got.next().flatten())?;
    let platform = platform.unwrap_or_default().rate_limits;
    Ok(RateLimits::resolve(&platform, isp.as_ref().map(|t| &t.rate_limits)))
}

/// The platform's settings item.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlatformSettings {
    #[serde(default)]
    pub rate_limits: RateLimitSettings,
    #[serde(default)]
    pub version: u64,
}

/// Forgets this container's cached limits (after this container changed them).
pub fn forget_limits(app: &App) {
    app.gate.limits.clear();
}

fn too_many(what: &str, retry_after_secs: u64) -> Error {
    Error::TooManyRequests {
        code: "rate_limited",
        detail: format!("{what}'s request limit for this minute is used up; retry after {retry_after_secs} s"),
        retry_after_secs,
    }
}

/// Counts one request of `subject` (of `owner`) against `max` a minute. A failure to share the
/// count lets the request through: the limiter never takes the API down with it.
async fn count(app: &App, owner: Owner, subject: &str, max: u32, what: &str) -> Result<()> {
    let now = app.now();
    let counter = format!("{}{subject}", owner.prefix());
    let (decision, window) = {
        let mut counts = app.gate.counts.lock().expect("counts lock");
        if counts.len() >= MAX_SUBJECTS {
            let current = now.timestamp().div_euclid(API_WINDOW.num_seconds()) * API_WINDOW.num_seconds();
            counts.retain(|_, b| b.window == current);
        }
        let b = counts.entry(counter.clone()).or_default();
        let d = b.admit(max, API_WINDOW, now);
        (d, b.window)
    };
    match decision {
        Admission::Admit => Ok(()),
        Admission::Refuse { retry_after_secs } => Err(too_many(what, retry_after_secs)),
        Admission::AdmitAfterSharing { add } => {
            let end = DateTime::from_timestamp(window, 0).unwrap_or(now) + API_WINDOW;
            let k = keys::api_rate_window(owner, subject, window);
            match app.store.add_to_count(&k, add, end + Duration::hours(1)).await {
                Ok(total) => {
                    if let Some(b) = app.gate.counts.lock().expect("counts lock").get_mut(&counter) {
                        b.shared(window, total);
                    }
                    if total > u64::from(max) {
                        Err(too_many(what, (end - now).num_seconds().max(1) as u64))
                    } else {
                        Ok(())
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, subject, "a request count was not shared; the request goes through");
                    Ok(())
                }
            }
        }
    }
}

/// Counts a staff (or key) call against its ISP's limit and its key's. Platform users without a
/// key are bounded by the whole API's throttling only.
pub async fn admit_staff(app: &App, actor: &Actor) -> Result<()> {
    let owner = Owner::from_tenant(actor.tenant_id);
    if actor.tenant_id.is_none() && actor.key.is_none() {
        return Ok(());
    }
    let l = limits(app, actor.tenant_id).await?;
    if let Some(k) = &actor.key {
        let max = k.requests_per_minute.unwrap_or(l.key_per_minute);
        count(app, owner, &format!("key#{}", k.key_id), max, "this API key").await?;
    }
    if actor.tenant_id.is_some() {
        count(app, owner, "isp", l.api_per_minute, "this ISP").await?;
    }
    Ok(())
}

/// Counts a subscriber's portal call against its ISP's portal limit.
pub async fn admit_subscriber(app: &App, tenant: Uuid) -> Result<()> {
    let l = limits(app, Some(tenant)).await?;
    count(app, Owner::Tenant(tenant), "portal", l.portal_per_minute, "this ISP's portal").await
}

/// The caller an API key stands for: refused (401, whatever the reason) when it is unknown,
/// revoked, expired or its secret is wrong; 403 when its creator or ISP may not work now.
pub async fn key_caller(app: &App, presented: &PresentedKey) -> Result<Actor> {
    let now = app.now();
    let owner = Owner::from_tenant(presented.tenant_id);
    let stored: StoredApiKey =
        app.store.get(&keys::api_key(owner, presented.key_id)).await.or_500()?.ok_or_else(refused)?;
    let fingerprint = domain::crypto::b64url_encode(&app.fingerprint.sign(presented.secret.as_bytes()));
    if stored.key.tenant_id != presented.tenant_id
        || !domain::crypto::constant_time_eq(fingerprint.as_bytes(), stored.secret_fingerprint.as_bytes())
        || stored.usable(now).is_err()
    {
        return Err(refused());
    }
    let principal = principal(app, &stored).await?;
    if let Some(e) = principal.refusal {
        return Err(e);
    }
    touch(app, owner, &stored, now).await;
    let acting = principal.acting;
    Ok(Actor {
        user_id: acting.id,
        tenant_id: stored.key.tenant_id,
        reseller_id: acting.reseller_id,
        role: acting.role,
        scope: acting.scope,
        impersonator_id: None,
        key: Some(KeyAccess {
            key_id: stored.key.id,
            created_by: stored.key.created_by,
            abilities: stored.permissions(),
            requests_per_minute: stored.key.requests_per_minute,
        }),
    })
}

/// Who the key acts as and whether they may act, from this container's copy when fresh.
async fn principal(app: &App, stored: &StoredApiKey) -> Result<Principal> {
    let now = app.now();
    if let Some(p) = app.gate.principals.fresh(&stored.key.id, now) {
        return Ok(p);
    }
    let tid = stored.key.tenant_id;
    let creator_k = keys::user(tid, stored.key.created_by);
    let acting_k = keys::user(tid, stored.acts_as);
    let tenant_k = keys::tenant(tid.unwrap_or_default(), None);
    let reseller_k = keys::platform_reseller(stored.reseller_id.unwrap_or_default());
    let mut wanted = vec![&creator_k, &acting_k];
    if tid.is_some() {
        wanted.push(&tenant_k);
    }
    if tid.is_some() && stored.reseller_id.is_some() {
        wanted.push(&reseller_k);
    }
    let mut got = app.store.batch_get(&wanted).await.or_500()?.into_iter();
    let creator: Option<User> = decoded(got.next().flatten())?;
    let acting: Option<User> = decoded(got.next().flatten())?;
    let tenant: Option<Tenant> = if tid.is_some() { decoded(got.next().flatten())? } else { None };
    let reseller: Option<PlatformReseller> = decoded(got.next().flatten())?;
    let works = |u: &Option<User>| u.as_ref().is_some_and(|u| u.status == UserStatus::Active && !u.email.is_empty());
    let refusal = if !works(&creator) || !works(&acting) {
        Some(Error::Forbidden {
            code: "api_key_owner_disabled",
            detail: "the user this API key acts for is disabled or deleted".into(),
        })
    } else if tenant.as_ref().is_some_and(|t| t.status == TenantStatus::Suspended) {
        Some(Error::Forbidden { code: "tenant_suspended", detail: "this ISP is suspended".into() })
    } else if reseller.as_ref().is_some_and(|r| r.is_expired(now)) {
        Some(Error::Forbidden {
            code: "subscription_expired",
            detail: "the platform subscription of this ISP has expired".into(),
        })
    } else {
        None
    };
    let Some(acting) = acting.or(creator) else { return Err(refused()) };
    let p = Principal { acting, refusal };
    app.gate.principals.keep(stored.key.id, p.clone(), now);
    Ok(p)
}

/// Records the key's last use, at most once a minute per container (a failure only logs).
async fn touch(app: &App, owner: Owner, stored: &StoredApiKey, now: DateTime<Utc>) {
    if app.gate.last_used.fresh(&stored.key.id, now).is_some()
        || stored.key.last_used_at.is_some_and(|at| at <= now && now - at < FRESH_FOR)
    {
        return;
    }
    app.gate.last_used.keep(stored.key.id, (), now);
    let update = app
        .store
        .update(&keys::api_key(owner, stored.key.id))
        .update_expression("SET last_used_at = :now")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":now", attr(&now));
    if let Err(e) = app.store.send_update(update).await {
        tracing::warn!(error = %e, "an API key's last use was not recorded");
    }
}
