//! Router health: every 5 minutes `job-router-health` asks the provisioning worker (one message
//! per ISP) to check each router: connect, log in, read identity and resources. The telemetry goes
//! to the router's `HEALTH` item every time; the router's status and version change (with
//! `RouterWentOffline` / `RouterCameBack`) only when the verdict changes.

use crate::pool::{RouterPool, endpoint};
use chrono::{DateTime, Utc};
use domain::Result;
use domain::live::{Observed, RouterHealth, next_status, uptime_seconds};
use kernel::App;
use kernel::support::{StoreResultExt, decoded};
use network::routers::{RouterRecord, all_router_records, record_router_status};
use routeros::RouterError;
use routeros::menu::RouterInfo;
use serde::Serialize;
use std::time::Instant;
use store::{Store, keys};
use uuid::Uuid;

/// Routers of one ISP checked at once.
const PARALLEL_CHECKS: usize = 32;

/// Router checks in flight in one worker, whatever the ISPs: a page of ISPs is checked all at
/// once (a small ISP's one router does not wait for another ISP's), within what one Lambda's
/// sockets allow.
static CHECKS_IN_FLIGHT: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(256);

fn observed(outcome: &std::result::Result<RouterInfo, RouterError>) -> Observed {
    match outcome {
        Ok(_) => Observed::Answered,
        Err(e) if e.is_transient() => Observed::Unreachable,
        Err(_) => Observed::Refused,
    }
}

/// Records one check of a router (`POST /v1/routers/{id}/test`): the telemetry, and the verdict
/// when it changed.
pub async fn record(
    app: &App,
    rec: &RouterRecord,
    outcome: &std::result::Result<RouterInfo, RouterError>,
    took_ms: u64,
) -> Result<RouterHealth> {
    let router = &rec.router;
    let (previous, monitor) = futures::try_join!(
        last_health(app, router.tenant_id, router.id),
        network::monitor_points::latest_state(app, router.tenant_id, router.id)
    )?;
    let last_answer = monitor.and_then(|m| m.last).filter(|p| p.reachable).map(|p| p.at);
    let health = assess(app, rec, outcome, took_ms, previous, last_answer).await?;
    app.store
        .put(Store::encode(&keys::router_health(router.tenant_id, router.id), "HEALTH", &health, None).or_500()?)
        .await
        .or_500()?;
    Ok(health)
}

/// The telemetry of a check, and the router's new status written when it changed.
async fn assess(
    app: &App,
    rec: &RouterRecord,
    outcome: &std::result::Result<RouterInfo, RouterError>,
    took_ms: u64,
    previous: Option<RouterHealth>,
    last_answer: Option<DateTime<Utc>>,
) -> Result<RouterHealth> {
    let router = &rec.router;
    let now = app.now();
    let change =
        next_status(router.status, previous.as_ref().map(|h| h.consecutive_failures).unwrap_or(0), observed(outcome));
    let (info, error) = match outcome {
        Ok(i) => (Some(i), None),
        Err(e) => (None, Some(e)),
    };
    let health = RouterHealth {
        checked_at: now,
        reachable: info.is_some(),
        identity: info.map(|i| i.identity.clone()),
        routeros_version: info.map(|i| i.resource.version.clone()).filter(|v| !v.is_empty()),
        uptime_seconds: info.and_then(|i| i.resource.uptime.as_deref().and_then(uptime_seconds)),
        cpu_load: info.and_then(|i| i.resource.cpu_load),
        free_memory_bytes: info.and_then(|i| i.resource.free_memory),
        total_memory_bytes: info.and_then(|i| i.resource.total_memory),
        took_ms: Some(took_ms),
        error_code: error.map(|e| e.code().to_string()),
        error: error.map(|e| e.to_string()),
        // The stored record may be an hour old: the last point that answered knows better.
        last_seen_at: if info.is_some() {
            Some(now)
        } else {
            previous.as_ref().and_then(|p| p.last_seen_at).max(last_answer)
        },
        consecutive_failures: change.consecutive_failures,
    };
    let changed = record_router_status(
        app,
        rec,
        change.status,
        health.routeros_version.clone(),
        change.event,
        health.error_code.as_deref(),
    )
    .await?;
    if changed {
        tracing::info!(router = %router.id, status = change.status.as_str(), event = ?change.event, "router status changed");
    }
    Ok(health)
}

/// What one ISP's check found.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct HealthSweep {
    pub checked: usize,
    pub reachable: usize,
    pub unreachable: usize,
}

/// Checks every router of an ISP, many at once, each on the worker's live session for that
/// router (a warm container does not log in again every 5 minutes), with its monitoring on the
/// same session. Reads: one Query for the routers, the ISP, one BatchGetItem per 100 routers for
/// their last health, a Query per router for its newest monitoring point; writes: one
/// BatchWriteItem per 25 items (per router its point, an hour's summary once an hour, its health
/// when it changed or hourly), and a transaction only for a router whose status changed or whose
/// monitoring opened or closed an episode.
pub async fn check_tenant(app: &App, pool: &RouterPool, tenant: Uuid, at: DateTime<Utc>) -> Result<HealthSweep> {
    use futures::StreamExt;
    let routers = all_router_records(app, tenant).await?;
    let isp = kernel::support::load_tenant(app, tenant).await?;
    if routers.is_empty() {
        poll_devices(app, tenant, &isp.monitoring).await;
        return Ok(HealthSweep::default());
    }
    let tz = domain::cycle::parse_tz(&isp.time_zone);
    let settings = &isp.monitoring;
    // Each router's last health, in one read per 100 routers; its monitoring state is its newest
    // point (a Query each, beside its check).
    let wanted: Vec<store::ItemKeys> = routers.iter().map(|r| keys::router_health(tenant, r.router.id)).collect();
    let refs: Vec<&store::ItemKeys> = wanted.iter().collect();
    let previous = app.store.batch_get_many(&refs).await.or_500()?;
    let results: Vec<Result<(Vec<store::Item>, bool)>> =
        futures::stream::iter(routers.into_iter().zip(previous).map(|(rec, prev)| async move {
            let _turn = CHECKS_IN_FLIGHT.acquire().await.map_err(|e| domain::Error::Internal(e.to_string()))?;
            let prev: Option<RouterHealth> = decoded(prev)?;
            let prev_monitor = network::monitor_points::latest_state(app, tenant, rec.router.id).await?;
            let last_answer = prev_monitor.as_ref().and_then(|m| m.last.as_ref()).filter(|p| p.reachable).map(|p| p.at);
            let after_log = prev_monitor.as_ref().and_then(|m| m.last_log_id.clone());
            // This sweep's monitoring point, whatever the router answered (one place for both).
            let record_point = |reading| {
                crate::monitoring::record(
                    app,
                    crate::monitoring::Watched::Router(&rec.router),
                    prev_monitor,
                    reading,
                    settings,
                )
            };
            let creds = network::routers::open_credentials(app, rec.clone())?;
            let ep = endpoint(&creds.router, creds.password, app.router_hosts);
            let session = pool.live_session(app, tenant, rec.router.id, &ep).await;
            let started = Instant::now();
            let outcome = session.with_retry(|conn| async move { conn.router_info().await }).await;
            let took_ms = started.elapsed().as_millis() as u64;
            let mut items = Vec::new();
            match &outcome {
                Ok(info) => {
                    // A RADIUS router's traffic is its accounting's (counting it here too would count
                    // it twice); the others' is sampled every quarter hour.
                    let sample_traffic =
                        rec.router.access_mode != domain::radius::AccessMode::Radius && domain::traffic::sample_due(at);
                    sweep_sessions(app, &session, tenant, tz, rec.router.id, sample_traffic).await;
                    let targets: Vec<String> = settings.targets.iter().map(|t| t.address.clone()).collect();
                    let after = after_log.clone();
                    let read = session
                        .with_retry(|conn| {
                            let (targets, after) = (targets.clone(), after.clone());
                            async move { conn.monitor(&targets, after.as_deref()).await }
                        })
                        .await;
                    match read {
                        Ok(m) => items.extend(record_point(crate::monitoring::reading(info, &m, settings)).await?),
                        // Monitoring waits for the next sweep; the health verdict stands.
                        Err(e) => tracing::warn!(router = %rec.router.id, error = %e, "monitoring not read"),
                    }
                }
                Err(_) => {
                    // A point that says the router did not answer (the history shows the gap);
                    // its episodes wait for its return.
                    items.extend(record_point(domain::monitoring::Reading::default()).await?);
                }
            }
            let health = assess(app, &rec, &outcome, took_ms, prev.clone(), last_answer).await?;
            // The monitoring point has this sweep's figures; the health record is rewritten only
            // when something in it matters (a verdict, an error, a new version) or hourly.
            if health.worth_writing(prev.as_ref()) {
                items.push(
                    Store::encode(&keys::router_health(tenant, rec.router.id), "HEALTH", &health, None).or_500()?,
                );
            }
            Ok((items, health.reachable))
        }))
        .buffer_unordered(PARALLEL_CHECKS)
        .collect()
        .await;
    let mut sweep = HealthSweep::default();
    let mut items = Vec::new();
    for r in results {
        let (router_items, reachable) = r?;
        sweep.checked += 1;
        if reachable {
            sweep.reachable += 1;
        } else {
            sweep.unreachable += 1;
        }
        items.extend(router_items);
    }
    app.store.put_many(items).await.or_500()?;
    tracing::info!(tenant = %tenant, ?sweep, "router health checked");
    poll_devices(app, tenant, settings).await;
    Ok(sweep)
}

/// The ISP's other devices, by SNMP, on the same sweep (a failure waits for the next one).
async fn poll_devices(app: &App, tenant: Uuid, settings: &domain::monitoring::MonitoringSettings) {
    match crate::devices::poll_tenant(app, tenant, settings).await {
        Ok(p) if p.polled > 0 => tracing::info!(tenant = %tenant, ?p, "devices polled"),
        Ok(_) => {}
        Err(e) => tracing::warn!(tenant = %tenant, error = %e, "devices not polled"),
    }
}

/// On a router that answered, the same session reads every online session's counters once:
/// they count the subscribers' traffic, and the hotspot logins among them activate and use up
/// vouchers. A failure waits for the next sweep.
async fn sweep_sessions(
    app: &App,
    session: &routeros::session::RouterSession,
    tenant: Uuid,
    tz: chrono_tz::Tz,
    router: Uuid,
    sample_traffic: bool,
) {
    let read = async {
        let conn = session.connection().await?;
        let samples = conn.session_counters().await?;
        Ok::<_, routeros::RouterError>((conn, samples))
    };
    let (conn, samples) = match read.await {
        Ok(r) => r,
        Err(e) => return tracing::warn!(router = %router, error = %e, "sessions not read"),
    };
    if sample_traffic {
        match network::traffic::sample_router(app, tenant, tz, router, &samples, network::traffic::Counters::RouterApi)
            .await
        {
            Ok(t) => tracing::debug!(router = %router, ?t, "traffic sampled"),
            Err(e) => tracing::warn!(router = %router, error = %e, "traffic not sampled"),
        }
    }
    let online: Vec<String> = samples.iter().filter(|s| s.key.starts_with('h')).map(|s| s.name.clone()).collect();
    match crate::vouchers::sweep_router(app, &conn, tenant, router, &online).await {
        Ok(s) if s != crate::vouchers::VoucherSweep::default() => {
            tracing::info!(router = %router, ?s, "vouchers swept")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(router = %router, error = %e, "vouchers not swept"),
    }
}

/// The last check of a router, if any.
pub async fn last_health(app: &App, tenant: Uuid, router: Uuid) -> Result<Option<RouterHealth>> {
    decoded(app.store.get_item(&keys::router_health(tenant, router)).await.or_500()?)
}
