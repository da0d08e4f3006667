//! What counting subscribers' traffic adds to a router's health sweep (a sample every quarter
//! hour): the RouterOS reads
//! (PPP sessions, their `<pppoe-NAME>` interfaces and hotspot sessions, pipelined on one
//! connection) against the RouterOS API test server with every reply delayed (`LATENCY_MS`,
//! default 20 ms) on a slow router (every print costs `SCAN_US` per item of its menu, default
//! 10 µs), and the DynamoDB work of `network::traffic::sample_router` against moto: requests
//! by operation, write units, the cursor's size.
//!
//! Five samples of one router with `SESSIONS` online PPPoE subscribers (default 1,000) and
//! `HOTSPOT` hotspot ones (default 100): the first (a baseline: the directory written), the next
//! 15 minutes later with traffic on every session, the next 15 minutes later (a steady sample:
//! only the cursor), one an hour later with 10% reconnected, and one a day later (the day's turn:
//! every subscription's day record written out, the directory renumbered).
//!
//! `scripts/with-moto.sh cargo run --release -p benches --bin traffic-sweep`. The subscriptions'
//! username sentinels and refs are written straight into the table: the setup is not measured.

use kernel::Clock;
use local_runner::seed::{DemoCredentials, seed_demo};
use local_runner::template::Template;
use local_runner::{Local, LocalOptions};
use routeros::menu::{HOTSPOT_ACTIVE, INTERFACE, PPP_ACTIVE};
use routeros::testing::{Attrs, Faults, TestRouter, TestRouterConfig};
use routeros::{Backoff, Endpoint, RouterSession, Stats, Timeouts, TlsMode};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::{RequestCounter, Store, keys};
use uuid::Uuid;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn attrs(pairs: &[(&str, String)]) -> Attrs {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

fn online(router: &TestRouter, ppp: usize, hotspot: usize, generation: usize) {
    router.with_state(|s| {
        for i in 0..ppp {
            s.put(PPP_ACTIVE, attrs(&[("name", format!("ppp{i:05}")), ("service", "pppoe".into())]));
            s.put(
                INTERFACE,
                attrs(&[
                    ("name", format!("<pppoe-ppp{i:05}>")),
                    ("type", "pppoe-in".into()),
                    ("rx-byte", format!("{}", 1_000 * generation)),
                    ("tx-byte", format!("{}", 10_000 * generation)),
                ]),
            );
        }
        for i in 0..hotspot {
            s.put(
                HOTSPOT_ACTIVE,
                attrs(&[("user", format!("hs{i:04}")), ("bytes-in", "100".into()), ("bytes-out", "1000".into())]),
            );
        }
    });
}

#[tokio::main]
async fn main() {
    let (ppp, hotspot) = (env("SESSIONS", 1000), env("HOTSPOT", 100));
    let latency = Duration::from_millis(env("LATENCY_MS", 20) as u64);
    let scan = Duration::from_micros(env("SCAN_US", 10) as u64);
    let counter = RequestCounter::new();
    let start = chrono::DateTime::parse_from_rfc3339("2026-06-15T06:00:00Z").unwrap().to_utc();
    let clock = Clock::fixed(start);
    let opts = LocalOptions {
        prefix: format!("traffic{}", Uuid::now_v7().simple()),
        port: 0,
        counter: Some(counter.clone()),
        clock: Some(clock.clone()),
        background: false,
        provisioning: false,
        ..LocalOptions::default()
    };
    let local = Local::start(Template::load(&Template::default_path()).unwrap(), opts).await.unwrap();
    let app = &local.app;
    let tid = seed_demo(app, &DemoCredentials::from_env()).await.unwrap().tenant_id.unwrap();
    let rid = Uuid::now_v7();

    // Who the names are: each one's username sentinel and the ref to its customer.
    let mut items = Vec::new();
    let names: Vec<String> =
        (0..ppp).map(|i| format!("ppp{i:05}")).chain((0..hotspot).map(|i| format!("hs{i:04}"))).collect();
    for name in &names {
        let sid = Uuid::now_v7();
        let owner = serde_json::json!({"owner_id": sid.to_string()});
        items.push(Store::encode(&keys::subscription_unique(tid, "username", name), "UNIQUE", &owner, None).unwrap());
        let r = serde_json::json!({"subscription_id": sid, "customer_id": Uuid::now_v7()});
        items.push(Store::encode(&keys::subscription_ref(tid, sid), "SUBSCRIPTION_REF", &r, None).unwrap());
    }
    for chunk in items.chunks(1000) {
        app.store.put_many(chunk.to_vec()).await.unwrap();
    }

    let router = TestRouter::start(TestRouterConfig::default()).await.expect("test router");
    online(&router, ppp, hotspot, 1);
    router.set_faults(Faults { latency, scan_cost_per_item: scan, ..Faults::default() });
    let ep = Endpoint {
        host: "127.0.0.1".into(),
        port: router.port(),
        tls: TlsMode::Plain,
        username: router.username().into(),
        password: router.password().into(),
        hosts: routeros::RouterHosts { allow_loopback: true },
    };
    let session = RouterSession::new(ep, Timeouts::WORKER, Backoff::WORKER, Arc::new(Stats::default()));
    let conn = session.connection().await.unwrap();
    let tz = chrono_tz::Asia::Dhaka;

    println!(
        "one router, {ppp} PPPoE + {hotspot} hotspot sessions online, {} ms latency, prints {} µs per item",
        latency.as_millis(),
        scan.as_micros()
    );
    println!("| sweep | router read | sampling (DynamoDB) | requests | write units | read units | day records |");
    println!("|---|---|---|---|---|---|---|");
    for (what, advance, grow) in [
        ("first (baseline)", chrono::Duration::zero(), false),
        ("+15 min, traffic on every session", chrono::Duration::minutes(15), true),
        ("+15 min, steady", chrono::Duration::minutes(15), true),
        ("+1 h, 10% reconnected", chrono::Duration::hours(1), true),
        ("+1 day, the day's turn", chrono::Duration::days(1), true),
    ] {
        clock.advance(advance);
        if grow {
            router.with_state(|s| {
                for i in 0..ppp {
                    s.use_ppp_bytes(&format!("ppp{i:05}"), 5_000_000, 90_000_000).unwrap();
                }
            });
        }
        if what.contains("reconnected") {
            router.with_state(|s| {
                for i in 0..ppp / 10 {
                    let name = format!("ppp{i:05}");
                    s.remove_where(PPP_ACTIVE, |a| a.get("name") == Some(&name));
                    s.put(PPP_ACTIVE, attrs(&[("name", name), ("service", "pppoe".into())]));
                }
            });
        }
        let started = Instant::now();
        let samples = conn.session_counters().await.unwrap();
        let read = started.elapsed();
        counter.reset();
        let started = Instant::now();
        let out = network::traffic::sample_router(app, tid, tz, rid, &samples, network::traffic::Counters::RouterApi)
            .await
            .unwrap();
        let sampled = started.elapsed();
        let stats = counter.stats();
        let ops: Vec<String> = stats.iter().map(|(op, s)| format!("{op} {}", s.requests)).collect();
        let wcu: f64 = stats.values().map(|s| s.write_units).sum();
        let rcu: f64 = stats.values().map(|s| s.read_units).sum();
        println!(
            "| {what} | {:.0} ms ({} sessions) | {:.0} ms | {} | {wcu:.0} | {rcu:.1} | {} |",
            read.as_secs_f64() * 1000.0,
            samples.len(),
            sampled.as_secs_f64() * 1000.0,
            ops.join(", "),
            out.day_records
        );
    }
    let cursor: Vec<store::Item> = app
        .store
        .query_all_items(store::Query::table(keys::router_pk(tid, rid)).prefix(keys::TRAFFIC_CURSOR_SK_PREFIX), 100)
        .await
        .unwrap();
    let bytes: usize =
        cursor.iter().map(|i| i.get("b").and_then(|b| b.as_b().ok()).map_or(0, |b| b.as_ref().len())).sum();
    println!("cursor and directory: {} item(s), {bytes} bytes packed", cursor.len());
    local.stop().await;
}
