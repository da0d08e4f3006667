//! Platform analytics at scale, against moto: the daily snapshot of 1,000 ISPs (time, DynamoDB
//! requests and units per ISP), then the platform owner's view of a year and a reseller's (its
//! 1,000 ISPs): time, requests and read units per answer.
//!
//! `scripts/with-moto.sh cargo run --release -p benches --bin platform-analytics` (`ISPS=` to
//! change the count). The ISPs, their counters and collections, and the earlier months'
//! snapshots and sums are written straight into the table (BatchWriteItem): the setup is not
//! measured.

use chrono::{Duration, Utc};
use domain::actor::Actor;
use domain::analytics::{IspMonth, month_of, previous_month};
use domain::role::Role;
use domain::tenant::Tenant;
use local_runner::seed::{DemoCredentials, seed_demo};
use local_runner::template::Template;
use local_runner::{Local, LocalOptions};
use serde_json::json;
use std::time::Instant;
use store::{RequestCounter, Store, keys};
use uuid::Uuid;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn print_requests(counter: &RequestCounter, per: f64, what: &str) {
    let stats = counter.stats();
    let total: u64 = stats.values().map(|s| s.requests).sum();
    println!(
        "  DynamoDB requests: {total} ({:.3} per {what}); Scan: {}",
        total as f64 / per,
        stats.get("Scan").map_or(0, |s| s.requests)
    );
    for (op, s) in stats.iter().filter(|(_, s)| s.requests > 0) {
        println!("    {op}: {} ({:.0} read units, {:.0} write units)", s.requests, s.read_units, s.write_units);
    }
}

#[tokio::main]
async fn main() {
    let n = env("ISPS", 1_000);
    let counter = RequestCounter::new();
    let opts = LocalOptions {
        prefix: format!("analytics{}", Uuid::now_v7().simple()),
        port: 0,
        counter: Some(counter.clone()),
        background: false,
        provisioning: false,
        ..LocalOptions::default()
    };
    let local = Local::start(Template::load(&Template::default_path()).unwrap(), opts).await.unwrap();
    let app = &local.app;
    let seed = seed_demo(app, &DemoCredentials::from_env()).await.unwrap();
    let demo: Tenant = app.store.get(&keys::tenant(seed.tenant_id.unwrap(), None)).await.unwrap().unwrap();
    let reseller = seed.reseller_id.expect("the demo reseller");
    let now = Utc::now();
    let month = month_of(now);
    let day = now.date_naive().to_string();

    // N ISPs of the demo reseller, each with its counters and two days of collections.
    let setup = Instant::now();
    let mut items = Vec::with_capacity(4 * n);
    let mut tenants = Vec::with_capacity(n);
    for i in 0..n {
        let mut t = demo.clone();
        t.id = domain::ids::new_id();
        t.name = format!("Bench ISP {i:04}");
        t.slug = format!("bench-isp-{i}");
        t.reseller_id = Some(reseller);
        items.push(Store::encode(&keys::tenant(t.id, t.reseller_id), "TENANT", &t, Some(1)).unwrap());
        let counters = json!({"customers_new": 3, "customers_active": 80 + i % 40, "customers_suspended": 5,
            "customers_inactive": 12, format!("new_{month}"): 7, "type": "DASHBOARD"});
        items.push(Store::encode(&keys::dashboard_counters(t.id, "ALL", 0), "DASHBOARD", &counters, None).unwrap());
        for (d, shard) in [(day.clone(), 0u8), ((now - Duration::days(1)).date_naive().to_string(), 1)] {
            if d[..7] != month[..] {
                continue;
            }
            let c = json!({"amount": 250_000, "count": 50, "amount#method#cash": 100_000, "count#method#cash": 20,
                "amount#method#bkash": 150_000, "count#method#bkash": 30});
            items.push(Store::encode(&keys::collections_day(t.id, None, &d, shard), "REPORT", &c, None).unwrap());
        }
        tenants.push(t);
    }
    items.push(Store::encode(&keys::tenant(demo.id, demo.reseller_id), "TENANT", &demo, Some(1)).unwrap());
    for chunk in items.chunks(1000) {
        app.store.put_many(chunk.to_vec()).await.unwrap();
    }
    println!("setup: {n} ISPs with counters and collections in {:.1} s", setup.elapsed().as_secs_f64());

    counter.reset();
    let t = Instant::now();
    let report = kernel::projections::platform_stats::snapshot(app, now).await.unwrap();
    let took = t.elapsed();
    println!(
        "snapshot of {} ISPs ({} written): {:.2} s (moto, 16 ISPs at once)",
        report.isps,
        report.written,
        took.as_secs_f64()
    );
    print_requests(&counter, f64::from(report.isps), "ISP");

    // Eleven earlier months of the same ISPs, with the sums the job would have written then.
    let latest: Vec<IspMonth> = app
        .store
        .query_all(store::Query::table(keys::platform_stats_pk(&month)).prefix("T#").limit(1000), 1_000_000)
        .await
        .unwrap();
    let mut months = vec![];
    let mut m = month.clone();
    for _ in 0..12 {
        m = previous_month(&m);
        months.push(m.clone());
    }
    months.reverse();
    let mut history = Vec::new();
    let mut prev: Vec<IspMonth> = vec![];
    for (k, m) in months.iter().enumerate() {
        let this: Vec<IspMonth> = latest
            .iter()
            .map(|s| {
                let mut old = s.clone();
                old.month = m.clone();
                old.customers.active -= 12 - k as i64;
                old
            })
            .collect();
        for old in &this {
            history.push(
                Store::encode(&keys::isp_month_stats(m, old.tenant_id, old.reseller_id), "ISP_MONTH", old, None)
                    .unwrap(),
            );
        }
        let sums = domain::analytics::summarize_month(m, &prev, &this, now);
        history.push(Store::encode(&keys::platform_month_summary(m), "PLATFORM_SUMMARY", &sums, None).unwrap());
        prev = this;
    }
    for chunk in history.chunks(1000) {
        app.store.put_many(chunk.to_vec()).await.unwrap();
    }
    let from = {
        let mut f = month.clone();
        for _ in 0..11 {
            f = previous_month(&f);
        }
        f
    };

    let owner = Actor::system_platform();
    counter.reset();
    let t = Instant::now();
    let view = kernel::projections::platform_stats::platform(app, &owner, Some(&from), Some(&month)).await.unwrap();
    let took = t.elapsed();
    let size = serde_json::to_vec(&view).unwrap().len();
    println!(
        "owner's view {from}..{month}: {} months, {} resellers, {:.0} ms (moto), {} KB of JSON",
        view.months.len(),
        view.resellers.len(),
        took.as_secs_f64() * 1e3,
        size / 1024
    );
    print_requests(&counter, 1.0, "view");

    let reseller_actor = Actor {
        user_id: Uuid::now_v7(),
        tenant_id: None,
        reseller_id: Some(reseller),
        role: Role::SuperAdmin,
        scope: None,
        impersonator_id: None,
        key: None,
    };
    counter.reset();
    let t = Instant::now();
    let mine = kernel::projections::platform_stats::reseller(app, &reseller_actor, reseller, Some(&from), Some(&month))
        .await
        .unwrap();
    let took = t.elapsed();
    println!(
        "reseller's view ({} ISPs, {} months): {:.0} ms (moto)",
        mine.isps.len(),
        mine.months.len(),
        took.as_secs_f64() * 1e3
    );
    print_requests(&counter, 1.0, "view");
}
