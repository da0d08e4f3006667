//! Full router reconciles, the worker's side: store what a reconcile found (the report and the
//! unknown accounts, passwords sealed) or why it could not run.

use domain::Result;
use domain::live::SessionService;
use kernel::App;
use kernel::support::{StoreResultExt, decoded};
use network::reconcile_reports::*;
use routeros::plan::{Service, UnknownAccount};
use routeros::provision::RouterReconcile;
use store::{Store, keys};
use uuid::Uuid;

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
