//! Vouchers on the routers, level-triggered like subscriptions: a voucher that is unused or active
//! is a hotspot user (its plan's profile, created first, with the plan's speed and devices; its
//! data limit as `limit-bytes-total`) on every router of its batch; any other voucher is not
//! there. The worker converges a batch's chunk or named vouchers on each of the batch's routers;
//! a router's full reconcile keeps its batches' vouchers (they are not "stale"); the health sweep
//! reads logins and counters back (first login activates, a reached limit uses it up); the expiry
//! sweep ends active vouchers whose validity is over.

use crate::pool::{RouterPool, open_router};
use domain::Result;
use domain::event::{DomainEvent, NetworkEvent, VouchersOnRouters};
use domain::voucher::{Voucher, VoucherBatch, VoucherPlan};
use kernel::App;
use kernel::support::{StoreResultExt, decoded, store_err};
use network::routers::live_router;
use routeros::RouterConnection;
use routeros::client::Command;
use routeros::menu::{self, HOTSPOT_USER};
use routeros::plan::{Access, Desired, ProfileSpec, Service};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use store::{Query, Store, StoreError, Tx, keys};
use uuid::Uuid;

/// What a voucher must be on its routers.
pub fn desired(app: &App, v: &Voucher, batch: &VoucherBatch, plan: &VoucherPlan) -> Result<Desired> {
    Ok(Desired {
        subscription_id: v.id.to_string(),
        service: Service::Hotspot,
        username: v.code.clone(),
        password: vouchers::batches::voucher_password(app, v)?,
        address: None,
        mac_address: None,
        profile: ProfileSpec {
            name: plan.router_profile.clone(),
            rate_limit: plan.rate_limit.clone(),
            shared_users: Some(plan.shared_users),
        },
        queue: None,
        access: if v.status.on_routers() { Access::Open } else { Access::Absent },
        last_applied: None,
        limit_bytes_total: batch.data_limit_bytes(),
    })
}

/// A batch with the plan its profile comes from (one BatchGetItem).
async fn batch_and_plan(app: &App, tid: Uuid, batch: Uuid) -> Result<Option<(VoucherBatch, VoucherPlan)>> {
    let bk = keys::voucher_batch(tid, batch);
    let mut got = app.store.get_item(&bk).await.or_500()?;
    let Some(b) = decoded::<VoucherBatch>(got.take())? else { return Ok(None) };
    let plan: Option<VoucherPlan> =
        decoded(app.store.get_item(&keys::voucher_plan(tid, b.plan_id, None)).await.or_500()?)?;
    Ok(plan.map(|p| (b, p)))
}

/// Which vouchers of a batch: a chunk's range (one Query) or named ones (BatchGetItem).
async fn load_vouchers(app: &App, b: &VoucherBatch, chunk: Option<u32>, seqs: &[u32]) -> Result<Vec<Voucher>> {
    let tid = b.tenant_id;
    match chunk {
        Some(n) => {
            let r = b.chunk_range(n);
            if r.is_empty() {
                return Ok(Vec::new());
            }
            let q = Query::table(keys::voucher_batch_pk(tid, b.id))
                .range(Some(keys::voucher_sk(r.start)), keys::voucher_sk(r.end - 1))
                .limit(1000);
            app.store.query_all(q, r.len()).await.or_500()
        }
        None => {
            let ks: Vec<store::ItemKeys> = seqs.iter().map(|s| keys::voucher(tid, b.id, *s, None)).collect();
            let refs: Vec<&store::ItemKeys> = ks.iter().collect();
            let mut out = Vec::new();
            for item in app.store.batch_get_many(&refs).await.or_500()?.into_iter().flatten() {
                out.push(Store::decode(item).or_500()?);
            }
            Ok(out)
        }
    }
}

/// The last run of a batch's vouchers on one router (`GET /v1/voucher-batches/{id}` shows it).
#[derive(Debug, Serialize)]
struct RouterOutcome {
    router_id: Uuid,
    converged: u64,
    failed: u64,
    last_error: Option<String>,
    at: chrono::DateTime<chrono::Utc>,
}

/// One router's run: its outcome and the vouchers' errors (None: the router is gone).
type RouterRun = Option<(RouterOutcome, Vec<String>)>;

/// Converges these vouchers of a batch on each of the batch's routers (8 at once). `Err` names
/// what did not converge, so the message comes back.
pub async fn converge_vouchers(
    app: &App,
    pool: &RouterPool,
    tid: Uuid,
    batch: Uuid,
    chunk: Option<u32>,
    seqs: &[u32],
) -> Result<std::result::Result<(), String>> {
    use futures::StreamExt;
    let Some((b, plan)) = batch_and_plan(app, tid, batch).await? else {
        return Ok(Ok(()));
    };
    let vouchers = load_vouchers(app, &b, chunk, seqs).await?;
    let desired: Vec<Desired> = vouchers.iter().map(|v| desired(app, v, &b, &plan)).collect::<Result<_>>()?;
    if desired.is_empty() {
        return Ok(Ok(()));
    }
    let desired = &desired;
    let outcomes: Vec<Result<RouterRun>> =
        futures::stream::iter(b.router_ids.clone().into_iter().map(|router| async move {
            let Some(rec) = live_router(app.store.get_item(&keys::router(tid, router, "", None)).await.or_500()?)?
            else {
                return Ok(None);
            };
            let (_, ep) = open_router(app, rec)?;
            let session = pool.session(app, tid, router, &ep).await;
            let results = routeros::provision::provision_in_parts(&session, desired).await;
            let errors: Vec<String> = results
                .iter()
                .zip(desired)
                .filter_map(|(r, d)| r.as_ref().err().map(|e| format!("{}: {e}", d.username)))
                .collect();
            let outcome = RouterOutcome {
                router_id: router,
                converged: (results.len() - errors.len()) as u64,
                failed: errors.len() as u64,
                last_error: errors.first().cloned(),
                at: app.now(),
            };
            Ok(Some((outcome, errors)))
        }))
        .buffer_unordered(8)
        .collect()
        .await;
    let mut items = Vec::new();
    let mut failures = Vec::new();
    for o in outcomes {
        let Some((outcome, errors)) = o? else { continue };
        if let Some(e) = errors.first() {
            tracing::warn!(batch = %batch, router = %outcome.router_id, failed = errors.len(), first = %e, "vouchers not provisioned");
            failures.push(format!("router {}: {e}", outcome.router_id));
        }
        items.push(
            Store::encode(&keys::voucher_batch_router(tid, batch, outcome.router_id), "VBATCH_ROUTER", &outcome, None)
                .or_500()?,
        );
    }
    app.store.put_many(items).await.or_500()?;
    Ok(if failures.is_empty() { Ok(()) } else { Err(failures.join("; ")) })
}

/// Every voucher of every batch placed on a router, for its full reconcile (a Query for the
/// batches, then per batch a BatchGetItem and its partition's vouchers).
pub async fn router_vouchers(app: &App, tid: Uuid, router: Uuid) -> Result<Vec<Desired>> {
    let mut out = Vec::new();
    for b in router_batches(app, tid, router).await? {
        let Some((b, plan)) = batch_and_plan(app, tid, b).await? else { continue };
        let vouchers = vouchers::batches::batch_vouchers(app, tid, b.id).await?;
        for v in &vouchers {
            out.push(desired(app, v, &b, &plan)?);
        }
    }
    Ok(out)
}

async fn router_batches(app: &App, tid: Uuid, router: Uuid) -> Result<Vec<Uuid>> {
    let q = Query::table(keys::router_voucher_batches_pk(tid, router)).limit(1000);
    let items = app.store.query_all_items(q, 100_000).await.or_500()?;
    Ok(items.iter().filter_map(|i| store::string_attr(i, "sk")).filter_map(|s| s.parse().ok()).collect())
}

/// What a sweep of one router found about vouchers.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct VoucherSweep {
    pub activated: usize,
    pub used_up: usize,
    pub counted: usize,
}

/// Reads a router's hotspot logins and the counters of the ISP's active vouchers on it: a voucher
/// seen logged in for the first time is activated (its validity starts), one whose counters
/// reached its data limit is used up (and leaves the routers). Each voucher written versioned; a
/// voucher changed meanwhile waits for the next sweep.
/// `online`: the hotspot users logged in now (the sweep read them with the session counters).
pub async fn sweep_router(
    app: &App,
    conn: &RouterConnection,
    tid: Uuid,
    router: Uuid,
    online: &[String],
) -> Result<VoucherSweep> {
    let batches = router_batches(app, tid, router).await?;
    if batches.is_empty() {
        return Ok(VoucherSweep::default());
    }
    let mut sweep = VoucherSweep::default();
    // Vouchers among the logged-in users, by their codes' sentinels.
    let mut found: Vec<Voucher> = Vec::new();
    let code_keys: Vec<store::ItemKeys> = online.iter().map(|c| keys::voucher_code(tid, c)).collect();
    let refs: Vec<&store::ItemKeys> = code_keys.iter().collect();
    let places: Vec<(Uuid, u32)> = app
        .store
        .batch_get_many(&refs)
        .await
        .or_500()?
        .into_iter()
        .flatten()
        .filter_map(|i| store::string_attr(&i, "owner_id"))
        .filter_map(|p| p.split_once(':').and_then(|(b, s)| Some((b.parse().ok()?, s.parse().ok()?))))
        .filter(|(b, _)| batches.contains(b))
        .collect();
    let vk: Vec<store::ItemKeys> = places.iter().map(|(b, s)| keys::voucher(tid, *b, *s, None)).collect();
    let refs: Vec<&store::ItemKeys> = vk.iter().collect();
    for item in app.store.batch_get_many(&refs).await.or_500()?.into_iter().flatten() {
        found.push(Store::decode(item).or_500()?);
    }
    // The ISP's active vouchers of this router's batches: their counters matter until they end.
    let active: Vec<Voucher> = app
        .store
        .query_all(Query::index("gsi1", keys::vouchers_by_status_gsi1(tid, "active")).limit(1000), 100_000)
        .await
        .or_500()?;
    let mut by_code: BTreeMap<String, Voucher> = BTreeMap::new();
    for v in active.into_iter().filter(|v| batches.contains(&v.batch_id)).chain(found) {
        by_code.insert(v.code.clone(), v);
    }
    if by_code.is_empty() {
        return Ok(sweep);
    }
    let counters = user_counters(conn, by_code.keys()).await?;
    let mut batch_cache: HashMap<Uuid, Option<VoucherBatch>> = HashMap::new();
    let now = app.now();
    let mut changed: Vec<(Voucher, Voucher)> = Vec::new();
    for (code, before) in by_code {
        if let std::collections::hash_map::Entry::Vacant(e) = batch_cache.entry(before.batch_id) {
            e.insert(decoded(app.store.get_item(&keys::voucher_batch(tid, before.batch_id)).await.or_500()?)?);
        }
        let Some(Some(batch)) = batch_cache.get(&before.batch_id) else { continue };
        let mut after = before.clone();
        if online.contains(&code) && after.activate(batch, now, true).is_ok() {
            sweep.activated += 1;
        }
        if let Some(bytes) = counters.get(&code) {
            sweep.counted += 1;
            after.record_usage(*bytes, batch, now);
            if after.status != before.status && after.status == domain::voucher::VoucherStatus::UsedUp {
                sweep.used_up += 1;
            }
        }
        if after != before {
            changed.push((before, after));
        }
    }
    write_changes(app, tid, changed).await?;
    Ok(sweep)
}

/// `bytes-in + bytes-out` of these hotspot users: each one's own print for a few, one print of
/// the menu's names and counters for many.
async fn user_counters<'a>(
    conn: &RouterConnection,
    codes: impl Iterator<Item = &'a String> + Clone,
) -> Result<HashMap<String, u64>> {
    let wanted: Vec<&String> = codes.collect();
    let reads: Vec<Command> = if wanted.len() < routeros::plan::WHOLE_MENUS_FROM {
        wanted.iter().map(|c| menu::print_named(HOTSPOT_USER, c).proplist("name,bytes-in,bytes-out")).collect()
    } else {
        vec![menu::print(HOTSPOT_USER).proplist("name,bytes-in,bytes-out")]
    };
    let mut out = HashMap::new();
    for rows in conn.run_all(&reads).await {
        let rows = rows.map_err(|e| domain::Error::Unavailable { detail: e.to_string() })?;
        for r in rows {
            let n = |k: &str| r.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            if let Some(name) = r.get("name").filter(|n| wanted.contains(n)) {
                out.insert(name.clone(), n("bytes-in") + n("bytes-out"));
            }
        }
    }
    Ok(out)
}

/// Writes changed vouchers (versioned, 25 to a transaction) with a `VouchersChanged` event per
/// batch for those that left the routers; a group whose voucher moved meanwhile is skipped (the
/// next sweep sees it again).
async fn write_changes(app: &App, tid: Uuid, changed: Vec<(Voucher, Voucher)>) -> Result<usize> {
    let mut written = 0;
    for group in changed.chunks(25) {
        let mut tx = Tx::new();
        let mut leaving: BTreeMap<Uuid, Vec<u32>> = BTreeMap::new();
        for (before, after) in group {
            let mut after = after.clone();
            after.version = before.version + 1;
            if after.ends_at() != before.ends_at() {
                kernel::schedule::mark_voucher_due(app, &after).await?;
            }
            tx.put_versioned(Store::encode_stored(&after).or_500()?, before.version);
            if before.status.on_routers() && !after.status.on_routers() {
                leaving.entry(after.batch_id).or_default().push(after.seq);
            }
        }
        for (batch_id, seqs) in leaving {
            let detail = serde_json::to_value(VouchersOnRouters { batch_id, chunk: None, seqs })
                .map_err(|e| domain::Error::Internal(e.to_string()))?;
            tx.put_event(&DomainEvent::new(NetworkEvent::VouchersChanged, Some(tid), detail, app.now()));
        }
        match app.store.commit(tx).await {
            Ok(()) => written += group.len(),
            Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(store_err(e)),
        }
    }
    Ok(written)
}

/// Ends the ISP's active vouchers whose validity is over (the expiry index up to now, one Query
/// per page): each expired in a versioned write, and the routers told to remove them.
pub async fn expire_due(app: &App, tid: Uuid, at: chrono::DateTime<chrono::Utc>) -> Result<usize> {
    let hi = format!("{}~", store::stored::sort_time(at));
    let q = Query::index("gsi3", keys::vouchers_by_expiry_gsi3(tid)).range(None, hi).limit(1000);
    let due: Vec<Voucher> = app.store.query_all(q, 1_000_000).await.or_500()?;
    let changed: Vec<(Voucher, Voucher)> = due
        .into_iter()
        .filter_map(|before| {
            let mut after = before.clone();
            after.expire_if_due(at).then_some((before, after))
        })
        .collect();
    write_changes(app, tid, changed).await
}
