//! Full router reconciles: requested on demand (`POST /v1/routers/{id}/reconcile`) or hourly by
//! `job-router-reconcile`, run by the provisioning worker, and their last report: what was
//! repaired, and the accounts on the router that the database does not know, downloadable in
//! the RouterOS secret export format that `POST /v1/imports?format=routeros_secrets` reads.

use crate::app::App;
use crate::network::get_router;
use crate::support::{StoreResultExt, audit, decoded};
use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::event::DomainEvent;
use domain::live::SessionService;
use domain::role::Permission;
use domain::{Error, Result};
use routeros::plan::{Service, UnknownAccount};
use routeros::provision::RouterReconcile;
use serde::{Deserialize, Serialize};
use store::{Query, Store, Tx, keys};
use uuid::Uuid;

/// Unknown accounts kept per report (far above a router's; the count is always exact).
pub const MAX_LISTED_UNKNOWN: usize = 20_000;
/// Unknown accounts per stored chunk (well under the 400 KB item limit with sealed passwords).
const CHUNK: usize = 500;

/// An account on the router that no subscription accounts for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UnknownRouterAccount {
    pub service: SessionService,
    pub name: String,
    pub profile: String,
    pub address: Option<String>,
    pub disabled: bool,
    pub comment: Option<String>,
}

/// The last full reconcile of a router.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReconcileReport {
    pub router_id: Uuid,
    /// When the last reconcile that reached the router finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Subscriptions the database places on this router.
    pub subscribers: usize,
    pub secrets_on_router: usize,
    /// Subscribers whose items on the router had to change (drift repaired).
    pub repaired: usize,
    /// Items this system created for subscriptions that left the router, removed.
    pub stale_removed: usize,
    /// Subscribers the router refused (see each subscription's provisioning record).
    pub failed: usize,
    pub unknown_count: usize,
    /// Unknown accounts (the first [`MAX_LISTED_UNKNOWN`] by name).
    #[serde(default)]
    pub unknown: Vec<UnknownRouterAccount>,
    /// The last attempt, and why it failed when it did.
    pub last_attempt_at: DateTime<Utc>,
    pub last_error_code: Option<String>,
    pub last_error: Option<String>,
}

impl ReconcileReport {
    fn empty(router_id: Uuid, now: DateTime<Utc>) -> ReconcileReport {
        ReconcileReport {
            router_id,
            finished_at: None,
            subscribers: 0,
            secrets_on_router: 0,
            repaired: 0,
            stale_removed: 0,
            failed: 0,
            unknown_count: 0,
            unknown: Vec::new(),
            last_attempt_at: now,
            last_error_code: None,
            last_error: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredUnknown {
    #[serde(flatten)]
    account: UnknownRouterAccount,
    password_sealed: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct UnknownChunk {
    accounts: Vec<StoredUnknown>,
}

fn password_aad(tenant: Uuid, router: Uuid, name: &str) -> Vec<u8> {
    format!("unknown-account:{tenant}:{router}:{name}").into_bytes()
}

fn service(s: Service) -> SessionService {
    match s {
        Service::Hotspot => SessionService::Hotspot,
        _ => SessionService::Pppoe,
    }
}

/// Stores a reconcile's report: the summary, and the unknown accounts (passwords sealed) in
/// chunks, rewritten only when the set changed (an hourly reconcile of an unchanged router
/// writes one small item).
pub async fn store_report(
    app: &App,
    tenant: Uuid,
    router: Uuid,
    subscribers: usize,
    failed: usize,
    r: &RouterReconcile,
) -> Result<()> {
    let now = app.now();
    let listed: Vec<&UnknownAccount> = r.unknown.iter().take(MAX_LISTED_UNKNOWN).collect();
    let digest = digest(app, &listed);
    let previous: Option<StoredSummary> =
        decoded(app.store.get_item(&keys::router_reconcile(tenant, router)).await.or_500()?)?;
    let summary = StoredSummary {
        report: ReconcileReport {
            finished_at: Some(now),
            subscribers,
            secrets_on_router: r.secrets_on_router,
            repaired: r.repaired,
            stale_removed: r.stale_removed,
            failed,
            unknown_count: r.unknown.len(),
            ..ReconcileReport::empty(router, now)
        },
        chunks: listed.len().div_ceil(CHUNK),
        digest: digest.clone(),
    };
    let unchanged = previous.as_ref().is_some_and(|p| p.digest == digest);
    let mut items = Vec::new();
    if !unchanged {
        for (i, chunk) in listed.chunks(CHUNK).enumerate() {
            let accounts = chunk
                .iter()
                .map(|a| StoredUnknown {
                    account: UnknownRouterAccount {
                        service: service(a.service),
                        name: a.name.clone(),
                        profile: a.profile.clone(),
                        address: a.address.clone(),
                        disabled: a.disabled,
                        comment: a.comment.clone(),
                    },
                    password_sealed: app.secrets.seal(a.password.as_bytes(), &password_aad(tenant, router, &a.name)),
                })
                .collect();
            items.push(
                Store::encode(
                    &keys::router_reconcile_chunk(tenant, router, i),
                    "RECONCILE_UNKNOWN",
                    &UnknownChunk { accounts },
                    None,
                )
                .or_500()?,
            );
        }
    }
    items.push(Store::encode(&keys::router_reconcile(tenant, router), "RECONCILE", &summary, None).or_500()?);
    app.store.put_many(items).await.or_500()?;
    // Chunks beyond the new count belong to an older, longer list: emptied so they never mix in.
    if !unchanged && let Some(p) = previous {
        let empties: Vec<store::Item> = (summary.chunks..p.chunks)
            .map(|i| {
                Store::encode(
                    &keys::router_reconcile_chunk(tenant, router, i),
                    "RECONCILE_UNKNOWN",
                    &UnknownChunk { accounts: Vec::new() },
                    None,
                )
            })
            .collect::<std::result::Result<_, _>>()
            .or_500()?;
        app.store.put_many(empties).await.or_500()?;
    }
    Ok(())
}

/// A reconcile that could not reach the router: the last good report stays, with the failure.
pub async fn store_failure(app: &App, tenant: Uuid, router: Uuid, code: &str, error: &str) -> Result<()> {
    let now = app.now();
    let previous: Option<StoredSummary> =
        decoded(app.store.get_item(&keys::router_reconcile(tenant, router)).await.or_500()?)?;
    let mut summary = previous.unwrap_or(StoredSummary {
        report: ReconcileReport::empty(router, now),
        chunks: 0,
        digest: String::new(),
    });
    summary.report.last_attempt_at = now;
    summary.report.last_error_code = Some(code.to_string());
    summary.report.last_error = Some(error.to_string());
    app.store
        .put(Store::encode(&keys::router_reconcile(tenant, router), "RECONCILE", &summary, None).or_500()?)
        .await
        .or_500()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredSummary {
    #[serde(flatten)]
    report: ReconcileReport,
    chunks: usize,
    digest: String,
}

/// A keyed fingerprint of the listed accounts (passwords included, so a changed password is
/// stored again; keyed, so the stored value says nothing about any password).
fn digest(app: &App, accounts: &[&UnknownAccount]) -> String {
    let mut text = String::new();
    for a in accounts {
        let fields = [
            format!("{:?}", a.service),
            a.name.clone(),
            a.password.clone(),
            a.profile.clone(),
            a.address.clone().unwrap_or_default(),
            a.disabled.to_string(),
            a.comment.clone().unwrap_or_default(),
        ];
        text.push_str(&serde_json::to_string(&fields).unwrap_or_default());
        text.push('\n');
    }
    domain::crypto::b64url_encode(&app.fingerprint.sign(text.as_bytes()))
}

/// The summary and the unknown accounts with their sealed passwords: one Query on the router's
/// collection.
async fn load(app: &App, tenant: Uuid, router: Uuid) -> Result<Option<(ReconcileReport, Vec<StoredUnknown>)>> {
    let q = Query::table(keys::router_pk(tenant, router)).prefix(keys::RECONCILE_SK_PREFIX);
    let items: Vec<serde_json::Value> = app.store.query_all(q, 2 + MAX_LISTED_UNKNOWN / CHUNK).await.or_500()?;
    let mut summary: Option<StoredSummary> = None;
    let mut chunks: Vec<(String, UnknownChunk)> = Vec::new();
    let bad = |e: serde_json::Error| Error::Internal(format!("reconcile report: {e}"));
    for item in items {
        let sk = item.get("sk").and_then(|v| v.as_str()).unwrap_or_default().to_string();
        if sk == keys::RECONCILE_SK_PREFIX {
            summary = Some(serde_json::from_value(item).map_err(bad)?);
        } else {
            chunks.push((sk, serde_json::from_value(item).map_err(bad)?));
        }
    }
    let Some(summary) = summary else { return Ok(None) };
    chunks.sort_by(|a, b| a.0.cmp(&b.0));
    let accounts = chunks.into_iter().take(summary.chunks).flat_map(|(_, c)| c.accounts).collect();
    Ok(Some((summary.report, accounts)))
}

/// `GET /v1/routers/{id}/reconcile`: the last report, unknown accounts without passwords.
pub async fn last_report(app: &App, actor: &Actor, id: Uuid) -> Result<ReconcileReport> {
    let router = get_router(app, actor, id).await?;
    let (mut report, accounts) = load(app, router.tenant_id, id)
        .await?
        .ok_or_else(|| Error::NotFound { detail: "this router has not been reconciled yet".into() })?;
    report.unknown = accounts.into_iter().map(|a| a.account).collect();
    Ok(report)
}

/// `GET /v1/routers/{id}/unknown-accounts`: the unknown PPP secrets as a RouterOS secret export
/// (`name,password,service,profile,remote-address,disabled,comment`), with their passwords, ready
/// for `POST /v1/imports?format=routeros_secrets&router_id=...`. Hotspot users are not in it: the
/// secret import is for PPPoE. Needs the right to see subscriber passwords.
pub async fn unknown_accounts_csv(app: &App, actor: &Actor, id: Uuid) -> Result<String> {
    actor.require(Permission::SubscriptionSecretsRead)?;
    let router = get_router(app, actor, id).await?;
    let (_, accounts) = load(app, router.tenant_id, id)
        .await?
        .ok_or_else(|| Error::NotFound { detail: "this router has not been reconciled yet".into() })?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| Error::Internal(e.to_string());
    w.write_record(["name", "password", "service", "profile", "remote-address", "disabled", "comment"]).map_err(io)?;
    for a in accounts.iter().filter(|a| a.account.service == SessionService::Pppoe) {
        let password = crate::support::open_text(
            &app.secrets,
            &a.password_sealed,
            &password_aad(router.tenant_id, id, &a.account.name),
            "unknown account password",
        )?;
        w.write_record([
            a.account.name.as_str(),
            password.as_str(),
            "pppoe",
            a.account.profile.as_str(),
            a.account.address.as_deref().unwrap_or(""),
            if a.account.disabled { "true" } else { "false" },
            a.account.comment.as_deref().unwrap_or(""),
        ])
        .map_err(io)?;
    }
    let bytes = w.into_inner().map_err(|e| Error::Internal(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| Error::Internal(e.to_string()))
}

/// The answer to `POST /v1/routers/{id}/reconcile`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReconcileRequested {
    pub router_id: Uuid,
    pub requested_at: DateTime<Utc>,
}

/// Asks the provisioning worker for a full reconcile of the router now (`RouterReconcileRequested`
/// in the same transaction as its audit entry). Repeating it is harmless: reconciling is.
pub async fn request_reconcile(app: &App, actor: &Actor, id: Uuid) -> Result<ReconcileRequested> {
    actor.require(Permission::NetworkWrite)?;
    let router = get_router(app, actor, id).await?;
    let now = app.now();
    let mut tx = Tx::new();
    tx.put_event(&DomainEvent::new(
        "RouterReconcileRequested",
        "network",
        Some(router.tenant_id),
        serde_json::json!({"router_id": id, "requested_by": actor.user_id, "version": router.version}),
        now,
    ));
    tx.put_audit(&audit(actor, Some(router.tenant_id), "router.reconcile_requested", "router", id, None, None, now));
    app.store.commit(tx).await.or_500()?;
    Ok(ReconcileRequested { router_id: id, requested_at: now })
}

/// The answer to `POST /v1/subscriptions/{id}/reprovision`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReprovisionRequested {
    pub subscription_id: Uuid,
    pub router_id: Uuid,
    pub requested_at: DateTime<Utc>,
}

/// Asks the provisioning worker to converge one subscription on its router now
/// (`SubscriptionReconcileRequested`, with its audit entry): the "push to router again" button
/// after someone changed the router by hand. The outcome shows on the subscription's
/// `provisioning` record.
pub async fn request_subscription_reconcile(app: &App, actor: &Actor, id: Uuid) -> Result<ReprovisionRequested> {
    actor.require(Permission::CustomersWrite)?;
    let s = crate::subscriptions::load_record(app, actor, id).await?.subscription;
    let now = app.now();
    let mut tx = Tx::new();
    tx.put_event(&DomainEvent::new(
        "SubscriptionReconcileRequested",
        "network",
        Some(s.tenant_id),
        crate::subscriptions::event_detail(&s, serde_json::json!({"requested_by": actor.user_id})),
        now,
    ));
    tx.put_audit(&audit(
        actor,
        Some(s.tenant_id),
        "subscription.reprovision_requested",
        "subscription",
        id,
        None,
        None,
        now,
    ));
    app.store.commit(tx).await.or_500()?;
    Ok(ReprovisionRequested { subscription_id: id, router_id: s.router_id, requested_at: now })
}
