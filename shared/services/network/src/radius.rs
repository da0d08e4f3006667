//! RADIUS mode, the API's side (`api-radius`): what the platform's FreeRADIUS asks through
//! `rlm_rest` (authorize, post-auth, accounting) and its NAS list. Every call carries the
//! platform's RADIUS token and the NAS FreeRADIUS authenticated by that router's shared secret
//! (`X-Radius-Nas: <tenant>/<router>`): a packet that failed the secret never gets here.
//!
//! DynamoDB per call: authorize one Query (the subscriber's partition); accounting the same Query
//! and, for a Start or a Stop, one conditional write of the sessions item (an Interim-Update of a
//! known session writes nothing: the edge reports bytes per NAS and interval); post-auth one
//! TransactWriteItems.

use crate::routers::{RadiusNasEntry, open_radius_secret};
use chrono::{DateTime, Utc};
use domain::radius::{
    Decision, LoginOutcome, RadiusAnswer, RadiusClient, RadiusSessions, RestAttributes, answer_password_aad,
    authorize as decide, reply_attributes,
};
use domain::{Error, Result};
use kernel::App;
use kernel::support::StoreResultExt;
use std::collections::BTreeMap;
use store::{Conflict, Item, Query, Store, StoreError, Tx, keys, ttl_at};
use uuid::Uuid;

/// Checks the platform FreeRADIUS's token (constant time) and names the NAS it vouches for.
pub fn caller(app: &App, token: Option<&str>, nas: Option<&str>) -> Result<(Uuid, Uuid)> {
    check_token(app, token)?;
    nas.and_then(domain::radius::parse_nas)
        .ok_or_else(|| Error::field("X-Radius-Nas", "must be <tenant id>/<router id>"))
}

fn check_token(app: &App, token: Option<&str>) -> Result<()> {
    kernel::support::check_platform_token(&app.radius_api_token, token, "RADIUS server")
}

/// Authorize's answer: the attributes to send, or why the login is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorized {
    Accept(BTreeMap<String, String>),
    Reject(String),
}

/// The subscriber's partition: its answer, its sessions (with their stored version), its last login.
struct Partition {
    answer: Option<RadiusAnswer>,
    sessions: Option<(RadiusSessions, u64)>,
}

async fn read_partition(app: &App, tenant: Uuid, username: &str) -> Result<Partition> {
    let q = Query::table(keys::radius_user_pk(tenant, username)).limit(10);
    let mut p = Partition { answer: None, sessions: None };
    for item in app.store.query_all_items(q, 10).await.or_500()? {
        match store::string_attr(&item, "sk").as_deref() {
            Some(keys::RADIUS_ANSWER_SK) => p.answer = Some(Store::decode(item).or_500()?),
            Some(keys::RADIUS_SESSIONS_SK) => {
                let v = store::number_attr(&item, "v").unwrap_or(0);
                p.sessions = Some((Store::decode(item).or_500()?, v));
            }
            _ => {}
        }
    }
    Ok(p)
}

fn username_of(attrs: &RestAttributes) -> Result<String> {
    let u = attrs.text("User-Name").unwrap_or_default();
    if u.is_empty() || u.len() > 128 || u.chars().any(char::is_control) {
        return Err(Error::field("User-Name", "must be 1-128 characters"));
    }
    Ok(u)
}

/// What a login of `User-Name` on the NAS gets. The credential check itself is FreeRADIUS's
/// (PAP, CHAP or MS-CHAPv2 against the `Cleartext-Password` returned here).
pub async fn authorize(app: &App, tenant: Uuid, router: Uuid, attrs: &RestAttributes) -> Result<Authorized> {
    let username = username_of(attrs)?;
    let p = read_partition(app, tenant, &username).await?;
    let now = app.now();
    match decide(p.answer, p.sessions.as_ref().map(|(s, _)| s), router, now) {
        Decision::Reject { reason } => Ok(Authorized::Reject(reason)),
        Decision::Accept { answer, grant } => {
            let password = kernel::support::open_text(
                &app.secrets,
                &answer.password_sealed,
                &answer_password_aad(tenant, &username),
                "a subscriber's RADIUS password",
            )?;
            let mut reply = reply_attributes(&answer, &grant, now);
            reply.insert("control:Cleartext-Password".into(), password);
            Ok(Authorized::Accept(reply))
        }
    }
}

/// Records a login's outcome beside the subscriber's answer (only for a subscriber that has one:
/// guessed names leave nothing behind).
pub async fn post_auth(app: &App, tenant: Uuid, router: Uuid, attrs: &RestAttributes, rejected: bool) -> Result<()> {
    let username = username_of(attrs)?;
    let reason = if rejected {
        attrs
            .text("Reply-Message")
            .or_else(|| attrs.0.get("Module-Failure-Message").and_then(|v| v.value.last()).map(|v| v.to_string()))
    } else {
        None
    };
    let outcome = LoginOutcome {
        router_id: router,
        at: app.now(),
        accepted: !rejected,
        reason,
        mac_address: attrs.text("Calling-Station-Id"),
    };
    let mut tx = Tx::new();
    tx.check(&keys::radius_answer(tenant, &username), "attribute_exists(pk)", Item::new(), Conflict::Condition);
    tx.put(Store::encode(&keys::radius_login(tenant, &username), "RADIUS_LOGIN", &outcome, None).or_500()?);
    match app.store.commit(tx).await {
        Ok(()) | Err(StoreError::Conflict(_)) => Ok(()),
        Err(e) => Err(kernel::support::store_err(e)),
    }
}

/// What an accounting packet did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accounted {
    /// A session's state was recorded (a Start, a Stop, a lost Start's interim).
    Recorded,
    /// A repeat, an older update, or a NAS restart: nothing to write.
    Unchanged,
    /// No subscriber of the ISP by that name (answered, so the NAS stops resending).
    Unknown,
}

/// Records an Accounting-Request in the subscriber's sessions (Start, Stop, a lost Start's
/// interim): what the one-session rule and CoA go by. Bytes come through the edge's usage report
/// ([`crate::radius`]'s caller `POST /v1/radius/usage`), not from here. Concurrent packets for one
/// subscriber retry on the sessions' version.
pub async fn accounting(app: &App, tenant: Uuid, router: Uuid, attrs: &RestAttributes) -> Result<Accounted> {
    let now = app.now();
    let Some(update) = attrs.accounting(now) else {
        return Err(Error::field("Acct-Status-Type", "must be Start, Interim-Update, Stop, Accounting-On or -Off"));
    };
    if update.username.is_empty() {
        return Ok(Accounted::Unchanged);
    }
    let recorded = change_sessions(app, tenant, &update.username, Read::WithAnswer, |p| match p.answer {
        None => {
            tracing::info!(tenant = %tenant, router = %router, username = %update.username, "accounting for an unknown subscriber");
            None
        }
        Some(_) => Some(domain::radius::account(&mut p.sessions, router, &update, now)),
    })
    .await?;
    Ok(match recorded {
        None => Accounted::Unknown,
        Some(true) => Accounted::Recorded,
        Some(false) => Accounted::Unchanged,
    })
}

/// Subscribers whose sessions are closed at once (a NAS restart ends all of a router's).
const CLOSING_AT_ONCE: usize = 16;

/// Closes sessions of `router` the edge reports ended (their Stop lost, or gone from its table)
/// in each subscriber's sessions: a GetItem of the sessions item per subscriber, 16 at once, a
/// write only where one was open.
pub async fn close_sessions(
    app: &App,
    tenant: Uuid,
    router: Uuid,
    ended: &[(String, String)],
    cause: &str,
) -> Result<usize> {
    use futures::StreamExt;
    let now = app.now();
    let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (session, name) in ended {
        by_name.entry(name.clone()).or_default().push(session.clone());
    }
    let cause = cause.to_string();
    let closed: Vec<Result<Option<usize>>> = futures::stream::iter(by_name)
        .map(|(name, sessions)| {
            let cause = cause.clone();
            async move {
                change_sessions(app, tenant, &name, Read::SessionsOnly, |p| {
                    Some(sessions.iter().filter(|sid| p.sessions.close(router, sid, now, &cause)).count())
                })
                .await
            }
        })
        .buffer_unordered(CLOSING_AT_ONCE)
        .collect()
        .await;
    closed.into_iter().try_fold(0, |sum, n| Ok(sum + n?.unwrap_or(0)))
}

/// What [`change_sessions`] reads: the whole partition (one Query: the answer tells whether the
/// subscriber exists), or the sessions item alone (one GetItem).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    WithAnswer,
    SessionsOnly,
}

/// The subscriber's partition as [`change_sessions`] hands it over.
pub struct SessionsOf {
    pub answer: Option<RadiusAnswer>,
    pub sessions: RadiusSessions,
}

/// Reads a subscriber's sessions, lets `change` change them (its answer: `None` to write
/// nothing, else what to return; the item is written when `changed` says so), and writes them
/// back versioned, again on a concurrent change. `T: Changed` tells whether to write.
pub async fn change_sessions<T: Changed>(
    app: &App,
    tenant: Uuid,
    username: &str,
    read: Read,
    change: impl Fn(&mut SessionsOf) -> Option<T>,
) -> Result<Option<T>> {
    for attempt in 0..8u32 {
        let p = match read {
            Read::WithAnswer => read_partition(app, tenant, username).await?,
            Read::SessionsOnly => {
                let item = app.store.get_item(&keys::radius_sessions(tenant, username)).await.or_500()?;
                let sessions = match item {
                    Some(i) => {
                        let v = store::number_attr(&i, "v").unwrap_or(0);
                        Some((Store::decode(i).or_500()?, v))
                    }
                    None => None,
                };
                Partition { answer: None, sessions }
            }
        };
        let (sessions, read_version) = p.sessions.unwrap_or_default();
        let mut of = SessionsOf { answer: p.answer, sessions };
        let Some(out) = change(&mut of) else { return Ok(None) };
        if !out.changed() {
            return Ok(Some(out));
        }
        let item = sessions_item(tenant, username, &of.sessions, read_version + 1, app.now())?;
        match app.store.put_read_at(item, read_version).await {
            Ok(()) => return Ok(Some(out)),
            Err(StoreError::Conflict(_)) => {
                // Another packet of this subscriber won: read again and apply on top of it.
                let jitter = rand::random::<u64>() % (10 << attempt.min(4));
                tokio::time::sleep(std::time::Duration::from_millis(5 + jitter)).await;
            }
            Err(e) => return Err(kernel::support::store_err(e)),
        }
    }
    Err(Error::Unavailable { detail: "the subscriber's sessions kept changing; try again".into() })
}

/// Whether a change of sessions must be written.
pub trait Changed {
    fn changed(&self) -> bool;
}

impl Changed for bool {
    fn changed(&self) -> bool {
        *self
    }
}

impl Changed for usize {
    fn changed(&self) -> bool {
        *self > 0
    }
}

/// A subscriber's sessions item at `version`: it expires only once no session is open (an open
/// one is what a suspension must disconnect, however long it lasts).
pub fn sessions_item(
    tenant: Uuid,
    username: &str,
    sessions: &RadiusSessions,
    version: u64,
    now: DateTime<Utc>,
) -> Result<Item> {
    let mut item =
        Store::encode(&keys::radius_sessions(tenant, username), "RADIUS_SESSIONS", sessions, Some(version)).or_500()?;
    if sessions.idle() {
        item.insert("ttl".into(), ttl_at(now + chrono::Duration::days(domain::radius::SESSION_MEMORY_DAYS + 1)));
    }
    Ok(item)
}

/// Every NAS of the platform's FreeRADIUS (one Query per 1,000), secrets opened: only for the
/// FreeRADIUS token.
pub async fn clients(app: &App, token: Option<&str>) -> Result<Vec<RadiusClient>> {
    check_token(app, token)?;
    let q = Query::table(keys::RADIUS_NAS_PK.to_string()).limit(1000);
    let entries: Vec<RadiusNasEntry> = app.store.query_all(q, 1_000_000).await.or_500()?;
    entries
        .into_iter()
        .map(|e| {
            Ok(RadiusClient {
                secret: open_radius_secret(app, e.tenant_id, e.router_id, &e.secret_sealed)?,
                tenant_id: e.tenant_id,
                router_id: e.router_id,
                address: e.address,
            })
        })
        .collect()
}

/// Counts a RADIUS router's usage report into its traffic cursor, as API mode's sampling does
/// (one write of the packed cursor per report, day records at a day's turn): the same usage the
/// portal and staff read. A report repeated counts nothing twice (the counters have not grown).
/// Sessions stopped, or gone since the last report, are closed in their subscriber's sessions.
/// DynamoDB: one BatchGetItem (router, ISP), the cursor's Query and writes, a GetItem of each
/// ended session's subscriber's sessions item.
pub async fn usage(
    app: &App,
    tenant: Uuid,
    router: Uuid,
    report: &domain::radius::UsageReport,
) -> Result<domain::radius::UsageRecorded> {
    report.check()?;
    let got =
        app.store.batch_get(&[&keys::router(tenant, router, "", None), &keys::tenant(tenant, None)]).await.or_500()?;
    let rec = crate::routers::live_router(got[0].clone())?.ok_or_else(|| Error::not_found("router"))?;
    if rec.router.access_mode != domain::radius::AccessMode::Radius {
        return Err(Error::Conflict {
            code: "not_radius_mode",
            detail: "the router is in API mode: its usage is sampled through its API".into(),
            field: None,
        });
    }
    let tz = kernel::support::tenant_of(got[1].clone())?.time_zone.parse().unwrap_or(chrono_tz::Tz::UTC);
    let samples: Vec<domain::traffic::SessionCounters> = report
        .sessions
        .iter()
        .map(|s| domain::traffic::SessionCounters {
            key: s.session_id.clone(),
            name: s.username.clone(),
            up: s.up_bytes,
            down: s.down_bytes,
        })
        .collect();
    let sampled =
        crate::traffic::sample_router(app, tenant, tz, router, &samples, crate::traffic::Counters::FromStart).await?;
    let mut ended = sampled.ended.clone();
    ended.extend(report.sessions.iter().filter(|s| s.stopped).map(|s| (s.session_id.clone(), s.username.clone())));
    let closed = close_sessions(app, tenant, router, &ended, "Lost-Service").await?;
    Ok(domain::radius::UsageRecorded {
        sessions: samples.len(),
        up_bytes: sampled.up_bytes,
        down_bytes: sampled.down_bytes,
        closed,
    })
}
