//! A monitoring sweep of an ISP's routers: `ROUTERS` (default 200) RouterOS API test servers,
//! every reply delayed `LATENCY_MS` (default 20 ms), each pinging two targets (5 packets 200 ms
//! apart: the router's own second of pinging), reading its interfaces and log; the sweep as the
//! provisioning worker runs it (`provisioning::health::check_tenant`: health, sessions' traffic,
//! monitoring, 32 routers at once) against moto. Prints the sweep's time and its DynamoDB
//! requests and write units, and what that costs a month (288 sweeps a day).
//!
//! `scripts/with-moto.sh cargo run --release -p benches --bin monitoring-sweep`.

use kernel::Clock;
use local_runner::seed::{DemoCredentials, seed_demo};
use local_runner::template::Template;
use local_runner::{Local, LocalOptions};
use routeros::testing::{Faults, TestRouter, TestRouterConfig};
use serde_json::json;
use std::time::{Duration, Instant};
use store::RequestCounter;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let n = env("ROUTERS", 200);
    let latency = Duration::from_millis(env("LATENCY_MS", 20) as u64);
    let counter = RequestCounter::new();
    let start = chrono::DateTime::parse_from_rfc3339("2026-06-15T06:00:00Z").unwrap().to_utc();
    let clock = Clock::fixed(start);
    let opts = LocalOptions {
        prefix: format!("mon{}", uuid::Uuid::now_v7().simple()),
        port: 0,
        counter: Some(counter.clone()),
        clock: Some(clock.clone()),
        background: false,
        provisioning: false,
        ..LocalOptions::default()
    };
    let local = Local::start(Template::load(&Template::default_path()).unwrap(), opts).await.unwrap();
    let creds = DemoCredentials::from_env();
    let tid = seed_demo(&local.app, &creds).await.unwrap().tenant_id.unwrap();
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", local.base_url);
    let login: serde_json::Value = http
        .post(url("/v1/auth/login"))
        .json(&json!({"email": creds.admin_email, "password": creds.admin_password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap().to_string();
    let t: serde_json::Value =
        http.get(url(&format!("/v1/tenants/{tid}"))).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let settings =
        json!({"targets": [{"name": "upstream", "address": "10.0.0.1"}, {"name": "google", "address": "8.8.8.8"}]});
    let r = http
        .patch(url(&format!("/v1/tenants/{tid}")))
        .bearer_auth(&token)
        .json(&json!({"monitoring": settings, "version": t["version"]}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());

    // The demo router plus n-1 more, each a test server of its own.
    let mut routers = Vec::new();
    for i in 0..n {
        let router = TestRouter::start(TestRouterConfig::default()).await.expect("test router");
        router.set_faults(Faults { latency, ..Faults::default() });
        router.with_state(|s| {
            s.set_ping("10.0.0.1", 3.0 + (i % 7) as f64, 0);
            s.set_ping("8.8.8.8", 35.0, (i % 10 == 0) as u8 * 40);
            s.log_line("system,error,critical", "router was rebooted without proper shutdown");
        });
        if i > 0 {
            let body = json!({"name": format!("r{i:03}"), "host": "127.0.0.1", "port": router.port(),
                "username": router.username(), "password": router.password()});
            let r = http.post(url("/v1/routers")).bearer_auth(&token).json(&body).send().await.unwrap();
            assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        }
        routers.push(router);
    }
    // The demo router's record points at port 8728: move it to the first test server.
    let demo = network::routers::all_router_records(&local.app, tid).await.unwrap();
    let demo = demo.iter().find(|r| r.router.name == "Demo Router").unwrap();
    let r = http
        .patch(url(&format!("/v1/routers/{}", demo.router.id)))
        .bearer_auth(&token)
        .json(&json!({"port": routers[0].port(), "username": routers[0].username(), "password": routers[0].password(),
            "version": demo.router.version}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());

    let pool = provisioning::pool::RouterPool::default();
    println!("{n} routers, {} ms reply latency, 2 ping targets (5 packets, 200 ms apart) each", latency.as_millis());
    println!("| sweep | time | DynamoDB requests | write units | alerts raised |");
    println!("|---|---|---|---|---|");
    for (what, minutes) in
        [("first (logins, baselines)", 0), ("+5 min", 5), ("+5 min", 5), ("+1 h (an hour's summary)", 60)]
    {
        clock.advance(chrono::Duration::minutes(minutes));
        counter.reset();
        let t = Instant::now();
        let sweep = provisioning::health::check_tenant(&local.app, &pool, tid, local.app.now()).await.unwrap();
        let took = t.elapsed();
        assert_eq!(sweep.reachable, n, "{sweep:?}");
        let ops = counter.snapshot();
        let requests: u64 = ops.values().sum();
        let wcu: f64 = counter.stats().values().map(|s| s.write_units).sum();
        let alerts = ops.get("TransactWriteItems").copied().unwrap_or(0);
        println!(
            "| {what} | {:.2} s | {requests} ({}) | {wcu:.0} | {alerts} transactions |",
            took.as_secs_f64(),
            ops.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
        );
    }
}
