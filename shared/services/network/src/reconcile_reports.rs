//! Full router reconciles (the API side; `provisioning::reconcile` runs them and writes the report): requested on demand (`POST /v1/routers/{id}/reconcile`) or hourly by
//! `job-router-reconcile`, run by the provisioning worker, and their last report: what was
//! repaired, and the accounts on the router that the database does not know, downloadable in
//! the RouterOS secret export format that `POST /v1/imports?format=routeros_secrets` reads.

use crate::routers::get_router;
use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::event::{DomainEvent, NetworkEvent};
#[cfg(feature = "csv")]
use domain::export::CsvExport;
use domain::live::SessionService;
use domain::role::Permission;
use domain::{Error, Result};
use kernel::App;
use kernel::support::{Audited, StoreResultExt, audit};
use serde::{Deserialize, Serialize};
use store::{Query, Tx, keys};
use uuid::Uuid;

/// Unknown accounts kept per report (far above a router's; the count is always exact).
pub const MAX_LISTED_UNKNOWN: usize = 20_000;
/// Unknown accounts per stored chunk (well under the 400 KB item limit with sealed passwords).
pub const CHUNK: usize = 500;

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
    pub fn empty(router_id: Uuid, now: DateTime<Utc>) -> ReconcileReport {
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
pub struct StoredUnknown {
    #[serde(flatten)]
    pub account: UnknownRouterAccount,
    pub password_sealed: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnknownChunk {
    pub accounts: Vec<StoredUnknown>,
}

pub fn password_aad(tenant: Uuid, router: Uuid, name: &str) -> Vec<u8> {
    format!("unknown-account:{tenant}:{router}:{name}").into_bytes()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredSummary {
    #[serde(flatten)]
    pub report: ReconcileReport,
    pub chunks: usize,
    pub digest: String,
}

/// The summary and the unknown accounts with their sealed passwords: one Query on the router's
/// collection.
pub async fn load(app: &App, tenant: Uuid, router: Uuid) -> Result<Option<(ReconcileReport, Vec<StoredUnknown>)>> {
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

#[cfg(feature = "csv")]
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
    let mut export =
        CsvExport::new(&["name", "password", "service", "profile", "remote-address", "disabled", "comment"])?;
    let mut exported = 0u32;
    for a in accounts.iter().filter(|a| a.account.service == SessionService::Pppoe) {
        let password = kernel::support::open_text(
            &app.secrets,
            &a.password_sealed,
            &password_aad(router.tenant_id, id, &a.account.name),
            "unknown account password",
        )?;
        export.row(&[
            a.account.name.as_str(),
            password.as_str(),
            "pppoe",
            a.account.profile.as_str(),
            a.account.address.as_deref().unwrap_or(""),
            if a.account.disabled { "true" } else { "false" },
            a.account.comment.as_deref().unwrap_or(""),
        ])?;
        exported += 1;
    }
    // Passwords left the system: who, as whom, which router, how many.
    kernel::support::audit_secret_read(
        app,
        actor,
        router.tenant_id,
        Audited {
            action: "router.unknown_accounts_exported",
            entity: "router",
            id: id.to_string(),
            before: None,
            after: Some(serde_json::json!({"passwords": exported})),
        },
    )
    .await?;
    export.finish()
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
        NetworkEvent::RouterReconcileRequested,
        Some(router.tenant_id),
        serde_json::json!({"router_id": id, "requested_by": actor.user_id, "version": router.version}),
        now,
    ));
    tx.put_audit(&audit(
        actor,
        Some(router.tenant_id),
        Audited {
            action: "router.reconcile_requested",
            entity: "router",
            id: id.to_string(),
            before: None,
            after: None,
        },
        now,
    ));
    app.store.commit(tx).await.or_500()?;
    Ok(ReconcileRequested { router_id: id, requested_at: now })
}
