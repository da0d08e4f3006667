//! Router-side cost of provisioning, against the RouterOS API test server over TCP with every reply
//! delayed (`LATENCY_MS`, default 20 ms, as over a VPN to a remote POP):
//!
//! 1. suspend 1,000 subscribers on one router (secret disabled, session dropped): wall time,
//!    commands, connections; then 1,000 and 10,000 on a slow router (every print costs `SCAN_US`
//!    per item of its menu, default 10 µs = 10 ms per 1,000, commands worked through one at a
//!    time); and, for comparison, the same work done the naive way (one login and sequential
//!    commands per subscriber) on a sample, extrapolated;
//! 2. a full reconcile of a router holding 10,000 secrets (1% drifted by hand);
//! 3. a health check of an ISP's routers (`ROUTERS=200`, 10% of them down), 32 at once on live
//!    sessions, as `worker-provisioning` does every 5 minutes; twice, the second time over the
//!    sessions the first one left (a warm container);
//! 4. a voucher batch (`VOUCHERS=10000`) put on one empty router as hotspot users (the plan's
//!    profile first, each user with its data limit), in the worker's chunks of 500, on an instant
//!    and on a slow router.
//!
//! `cargo run --release -p benches --bin router-provisioning` (`SUBSCRIBERS=`, `SECRETS=`,
//! `LATENCY_MS=`, `SCAN_US=`, `LARGE_BATCH=`, `NAIVE_SAMPLE=`, `ROUTERS=`).

use routeros::menu::{self, PPP_ACTIVE, PPP_PROFILE, PPP_SECRET};
use routeros::plan::{Access, Applied, Desired, ProfileSpec, Service};
use routeros::provision::{provision_in_parts, reconcile_router};
use routeros::testing::{Attrs, Faults, TestRouter, TestRouterConfig};
use routeros::{Backoff, Endpoint, RouterConnection, RouterSession, Stats, Timeouts, TlsMode};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn attrs(pairs: &[(&str, String)]) -> Attrs {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

fn endpoint(router: &TestRouter) -> Endpoint {
    Endpoint {
        host: "127.0.0.1".into(),
        port: router.port(),
        tls: TlsMode::Plain,
        username: router.username().into(),
        password: router.password().into(),
        hosts: routeros::RouterHosts { allow_loopback: true },
    }
}

fn subscriber(i: usize, access: Access) -> Desired {
    Desired {
        subscription_id: format!("sub-{i:05}"),
        service: Service::Pppoe,
        username: format!("user{i:05}"),
        password: format!("pw-{i:05}"),
        address: None,
        mac_address: None,
        profile: ProfileSpec { name: "home-10m".into(), rate_limit: "5M/10M".into(), shared_users: None },
        queue: None,
        access,
        last_applied: Some(Applied {
            state: "enabled".into(),
            profile: Some("home-10m".into()),
            rate_limit: Some("5M/10M".into()),
        }),
        limit_bytes_total: None,
    }
}

/// A router already holding `n` enabled subscribers of ours, each online.
async fn seeded_router(n: usize, online: bool) -> TestRouter {
    let router = TestRouter::start(TestRouterConfig::default()).await.expect("test router");
    router.with_state(|s| {
        s.put(PPP_PROFILE, attrs(&[("name", "home-10m".into()), ("rate-limit", "5M/10M".into())]));
        for i in 0..n {
            let d = subscriber(i, Access::Open);
            s.put(
                PPP_SECRET,
                attrs(&[
                    ("name", d.username.clone()),
                    ("password", d.password.clone()),
                    ("profile", "home-10m".into()),
                    ("service", "pppoe".into()),
                    ("disabled", "no".into()),
                    ("comment", d.marker()),
                ]),
            );
            if online {
                s.dial_ppp(&d.username, &format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255)).unwrap();
            }
        }
    });
    router
}

/// Suspends `n` online subscribers of a router (secret disabled, session dropped) in one batch.
async fn suspend_batch(n: usize, faults: Faults, what: &str) {
    let router = seeded_router(n, true).await;
    router.set_faults(faults);
    let stats = Arc::new(Stats::default());
    let desired: Vec<Desired> = (0..n).map(|i| subscriber(i, Access::Cut)).collect();
    let started = Instant::now();
    let session = RouterSession::new(endpoint(&router), Timeouts::WORKER, Backoff::WORKER, stats.clone());
    let results = provision_in_parts(&session, &desired).await;
    let took = started.elapsed();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let disabled =
        router.items(PPP_SECRET).iter().filter(|s| s.get("disabled").map(String::as_str) == Some("true")).count();
    println!("suspend {n} subscribers, one batch ({what}):");
    println!("  wall time          {:.2} s", took.as_secs_f64());
    println!("  commands sent      {} ({:.1} per subscriber)", stats.commands(), stats.commands() as f64 / n as f64);
    println!("  connections opened {} (logins {})", router.connections(), router.logins());
    println!(
        "  converged          {ok} ok, {disabled} secrets disabled, {} sessions left",
        router.items(PPP_ACTIVE).len()
    );
}

fn voucher(i: usize) -> Desired {
    Desired {
        subscription_id: format!("voucher-{i:05}"),
        service: Service::Hotspot,
        username: format!("CAFE{i:08}"),
        password: format!("CAFE{i:08}"),
        address: None,
        mac_address: None,
        profile: ProfileSpec { name: "vp-1gb-daily".into(), rate_limit: "5M/5M".into(), shared_users: Some(1) },
        queue: None,
        access: Access::Open,
        last_applied: None,
        limit_bytes_total: Some(1024 * 1024 * 1024),
    }
}

/// A batch of vouchers provisioned on an empty router, chunk by chunk as the worker gets them.
async fn voucher_batch(n: usize, faults: Faults, what: &str) {
    let router = TestRouter::start(TestRouterConfig::default()).await.expect("test router");
    router.set_faults(faults);
    let stats = Arc::new(Stats::default());
    let desired: Vec<Desired> = (0..n).map(voucher).collect();
    let session = RouterSession::new(endpoint(&router), Timeouts::WORKER, Backoff::WORKER, stats.clone());
    let started = Instant::now();
    let mut ok = 0;
    for chunk in desired.chunks(domain::voucher::BATCH_CHUNK as usize) {
        ok += provision_in_parts(&session, chunk).await.iter().filter(|r| r.is_ok()).count();
    }
    let took = started.elapsed();
    println!("{n} vouchers onto an empty router as hotspot users, chunks of 500 ({what}):");
    println!(
        "  wall time          {:.2} s ({:.1} ms per voucher)",
        took.as_secs_f64(),
        took.as_secs_f64() * 1000.0 / n as f64
    );
    println!("  commands sent      {} ({:.2} per voucher)", stats.commands(), stats.commands() as f64 / n as f64);
    println!("  connections opened {} (logins {})", router.connections(), router.logins());
    println!("  converged          {ok} ok, {} hotspot users on the router\n", router.items(menu::HOTSPOT_USER).len());
}

#[tokio::main]
async fn main() {
    let subscribers = env("SUBSCRIBERS", 1000);
    let secrets = env("SECRETS", 10_000);
    let latency = Duration::from_millis(env("LATENCY_MS", 20) as u64);
    let sample = env("NAIVE_SAMPLE", 25);
    println!("reply latency {latency:?}\n");

    // 1. Suspend N subscribers in one batch, as the worker does (provision_in_parts on a session).
    suspend_batch(subscribers, Faults { latency, ..Faults::default() }, "instant router").await;
    // The same on a slow router: every print costs SCAN_US per item of its menu (10 ms per 1,000
    // secrets by default, what a small router measures), worked through one command at a time.
    let scan = Duration::from_micros(env("SCAN_US", 10) as u64);
    for n in [subscribers, env("LARGE_BATCH", 10_000)] {
        let faults = Faults { latency, scan_cost_per_item: scan, ..Faults::default() };
        suspend_batch(n, faults, &format!("slow router, prints {:?} per 1,000 items", scan * 1000)).await;
    }

    // The naive way, as a PHP billing system does it: per subscriber a new login, then find the
    // secret, disable it, find the session, remove it, each waiting for the previous answer.
    let naive_router = seeded_router(sample, true).await;
    naive_router.set_faults(Faults { latency, ..Faults::default() });
    let started = Instant::now();
    for i in 0..sample {
        let name = format!("user{i:05}");
        let c = RouterConnection::open(&endpoint(&naive_router), Timeouts::WORKER, Arc::new(Stats::default()))
            .await
            .expect("login");
        let secret = c.run(&menu::print_named(PPP_SECRET, &name)).await.unwrap();
        let id = secret[0][".id"].clone();
        c.run(&menu::set(PPP_SECRET, &id, &[("disabled", "yes".into())])).await.unwrap();
        let active = c.run(&menu::print_named(PPP_ACTIVE, &name)).await.unwrap();
        for a in active {
            c.run(&menu::remove(PPP_ACTIVE, &a[".id"])).await.unwrap();
        }
    }
    let per = started.elapsed().as_secs_f64() / sample as f64;
    println!(
        "  naive (login + sequential commands per subscriber), {sample} measured: {:.3} s each -> {:.0} s for {subscribers}\n",
        per,
        per * subscribers as f64
    );

    // 2. Full reconcile of a router with many secrets, 1% drifted by hand.
    let router = seeded_router(secrets, false).await;
    let drifted = secrets / 100;
    router.with_state(|s| {
        for i in 0..drifted {
            let id = s.find(PPP_SECRET, &format!("user{i:05}")).unwrap()[".id"].clone();
            s.execute("/ppp/secret/set", &[(".id".into(), id), ("disabled".into(), "yes".into())], &[], None);
        }
    });
    router.set_faults(Faults { latency, ..Faults::default() });
    let stats = Arc::new(Stats::default());
    let desired: Vec<Desired> = (0..secrets).map(|i| subscriber(i, Access::Open)).collect();
    let started = Instant::now();
    let conn = RouterConnection::open(&endpoint(&router), Timeouts::WORKER, stats.clone()).await.expect("login");
    let report = reconcile_router(&conn, &desired).await.expect("reconciled");
    let took = started.elapsed();
    println!("full reconcile of {secrets} secrets ({drifted} drifted):");
    println!("  wall time          {:.2} s", took.as_secs_f64());
    println!("  commands sent      {}", stats.commands());
    println!("  connections opened {}", router.connections());
    println!(
        "  repaired           {}, unknown {}, secrets read {}",
        report.repaired,
        report.unknown.len(),
        report.secrets_on_router
    );

    // 3. Health checks of an ISP's routers.
    let routers = env("ROUTERS", 200);
    let mut fleet = Vec::new();
    for i in 0..routers {
        let r = TestRouter::start(TestRouterConfig::default()).await.expect("test router");
        r.set_faults(Faults { latency, ..Faults::default() });
        if i % 10 == 9 {
            r.go_offline();
        }
        fleet.push(r);
    }
    let stats = Arc::new(Stats::default());
    let sessions: Vec<RouterSession> =
        fleet.iter().map(|r| RouterSession::new(endpoint(r), Timeouts::LIVE, Backoff::LIVE, stats.clone())).collect();
    for round in ["cold", "warm"] {
        use futures::StreamExt;
        let started = Instant::now();
        let answers: Vec<bool> = futures::stream::iter(
            sessions
                .iter()
                .map(|s| async move { s.with_retry(|conn| async move { conn.router_info().await }).await.is_ok() }),
        )
        .buffer_unordered(32)
        .collect()
        .await;
        let took = started.elapsed();
        let up = answers.iter().filter(|a| **a).count();
        println!("health check of {routers} routers ({round} sessions), 32 at once:");
        println!("  wall time          {:.2} s", took.as_secs_f64());
        println!("  answered           {up}, down {}", answers.len() - up);
        println!("  logins so far      {}, commands so far {}", stats.logins(), stats.commands());
    }

    // 4. A voucher batch onto one router.
    let vouchers = env("VOUCHERS", 10_000);
    voucher_batch(vouchers, Faults { latency, ..Faults::default() }, "instant router").await;
    let scan = Duration::from_micros(env("SCAN_US", 10) as u64);
    voucher_batch(
        vouchers,
        Faults { latency, scan_cost_per_item: scan, ..Faults::default() },
        &format!("slow router, prints {:?} per 1,000 items", scan * 1000),
    )
    .await;
}
