//! A billing run over 10,000 due prepaid subscriptions of one ISP, against moto: the invoicing
//! worker's own function (`billing_run::run_tenant`) as the queue message would run it. Prints the
//! wall time, the DynamoDB requests per issued invoice (by operation) and the peak memory the run
//! added to the process.
//!
//! `scripts/with-moto.sh cargo run --release -p benches --bin billing-run` (`SUBS=` to change the
//! size). The subscriptions are written straight into the table (BatchWriteItem) as an activation
//! would leave them: the setup is not what is measured.

use chrono::{Duration, Utc};
use domain::package::ConnectionType;
use domain::subscription::{BillingModel, Subscription, SubscriptionStatus};
use local_runner::seed::{DemoCredentials, seed_demo};
use local_runner::template::Template;
use local_runner::{Local, LocalOptions};
use std::time::Instant;
use store::RequestCounter;
use uuid::Uuid;

/// Peak resident memory of this process (VmHWM), in KiB.
fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

fn current_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let subs: usize = std::env::var("SUBS").ok().and_then(|r| r.parse().ok()).unwrap_or(10_000);
    let counter = RequestCounter::new();
    let opts = LocalOptions {
        prefix: format!("bill{}", Uuid::now_v7().simple()),
        port: 0,
        counter: Some(counter.clone()),
        // The run is called as the worker would call it; nothing else runs meanwhile.
        background: false,
        provisioning: false,
        ..LocalOptions::default()
    };
    let local = Local::start(Template::load(&Template::default_path()).unwrap(), opts).await.unwrap();
    let app = &local.app;
    let seed = seed_demo(app, &DemoCredentials::from_env()).await.unwrap();
    let tid = seed.tenant_id.unwrap();
    let packages: Vec<serde_json::Value> = app
        .store
        .query_all(store::Query::index("gsi1", store::keys::packages_gsi1(tid)).limit(100), 100)
        .await
        .unwrap();
    let package = &packages[0];
    let package_id: Uuid = package["id"].as_str().unwrap().parse().unwrap();
    let price = package["price"].as_i64().unwrap();
    let now = Utc::now();
    let expires = now + Duration::days(3);

    let setup = Instant::now();
    let mut items = Vec::with_capacity(subs);
    for i in 0..subs {
        let s = Subscription {
            id: domain::ids::new_id(),
            tenant_id: tid,
            customer_id: domain::ids::new_id(),
            package_id,
            package_name: package["name"].as_str().unwrap().to_string(),
            connection_type: ConnectionType::Pppoe,
            router_id: Uuid::nil(),
            username: format!("bench{i}"),
            ip_address: None,
            mac_address: None,
            billing_model: BillingModel::Prepaid,
            billing_day: None,
            billed_through: Some(expires),
            auto_renew: true,
            price,
            currency: "BDT".into(),
            status: SubscriptionStatus::Active,
            status_reason: None,
            start_date: Some(expires - Duration::days(30)),
            expires_at: Some(expires),
            ended_at: None,
            turbo: None,
            scheduled_package: None,
            operator_id: None,
            scope: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        items.push(subscriptions::subscriptions::stored_item(app, &s, "bench-pass").unwrap());
    }
    for chunk in items.chunks(1000) {
        app.store.put_many(chunk.to_vec()).await.unwrap();
    }
    drop(items);
    println!("setup: {subs} due subscriptions written in {:.1} s", setup.elapsed().as_secs_f64());

    // Peak memory from here on: reset the high-water mark (Linux `clear_refs` 5).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss_before = current_kib();
    counter.reset();
    let started = Instant::now();
    let report = cycles::billing_run::run_tenant(app, tid, now).await.unwrap();
    let wall = started.elapsed();
    let peak = peak_kib();
    let stats = counter.stats();
    let total: u64 = stats.values().map(|s| s.requests).sum();
    let issued = report.issued.max(1) as f64;
    println!("report: {report:?}");
    println!(
        "issued {} invoices in {:.1} s ({:.0} invoices/s)",
        report.issued,
        wall.as_secs_f64(),
        report.issued as f64 / wall.as_secs_f64()
    );
    println!(
        "DynamoDB requests: {total} ({:.3} per invoice); Scan: {}",
        total as f64 / issued,
        stats.get("Scan").map_or(0, |s| s.requests)
    );
    for (op, s) in stats.iter().filter(|(_, s)| s.requests > 0) {
        println!("  {op}: {} ({:.3} per invoice)", s.requests, s.requests as f64 / issued);
    }
    let items: u64 = stats.values().map(|s| s.items_written).sum();
    let wcu: f64 = stats.values().map(|s| s.write_units).sum();
    println!("items written per invoice: {:.1}; est. WCU per invoice: {:.1}", items as f64 / issued, wcu / issued);
    println!(
        "memory: RSS {:.1} MiB before the run, peak {:.1} MiB during it (+{:.1} MiB)",
        rss_before as f64 / 1024.0,
        peak as f64 / 1024.0,
        peak.saturating_sub(rss_before) as f64 / 1024.0
    );

    // Run again, as a redelivered message would: nothing more is issued.
    counter.reset();
    let again = cycles::billing_run::run_tenant(app, tid, now).await.unwrap();
    println!(
        "second run: issued {}, already issued {}, {} DynamoDB requests",
        again.issued,
        again.already_issued,
        counter.stats().values().map(|s| s.requests).sum::<u64>()
    );
    local.stop().await;
}
