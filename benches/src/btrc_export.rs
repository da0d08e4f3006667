//! The BTRC subscriber report of an ISP with 10,000 customers (one subscription each), against
//! moto: the report service as `GET /v1/reports/btrc` calls it (time, DynamoDB requests by
//! operation, peak memory it added to the process), then the CSV and XLSX files through the local
//! runner's HTTP API (time, size), and the list of customers lacking a field.
//!
//! `scripts/with-moto.sh cargo run --release -p benches --bin btrc-export` (`CUSTOMERS=` to change
//! the size, `MISSING_EVERY=` one customer in that many lacks its address parts). The customers and
//! subscriptions are written straight into the table (BatchWriteItem): the setup is not measured.

use chrono::{Datelike, Duration, Utc};
use domain::actor::Actor;
use domain::customer::{AccessMedium, ClientType, Customer, CustomerStatus};
use domain::package::ConnectionType;
use domain::subscription::{BillingModel, Subscription, SubscriptionStatus};
use local_runner::seed::{DemoCredentials, seed_demo};
use local_runner::template::Template;
use local_runner::{Local, LocalOptions};
use serde_json::json;
use std::time::Instant;
use store::{RequestCounter, Store};
use uuid::Uuid;

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn print_requests(counter: &RequestCounter, per: f64, what: &str) {
    let stats = counter.stats();
    let total: u64 = stats.values().map(|s| s.requests).sum();
    println!(
        "  DynamoDB requests: {total} ({:.4} per {what}); Scan: {}",
        total as f64 / per,
        stats.get("Scan").map_or(0, |s| s.requests)
    );
    for (op, s) in stats.iter().filter(|(_, s)| s.requests > 0) {
        println!("    {op}: {} ({:.0} RCU)", s.requests, s.read_units);
    }
}

#[tokio::main]
async fn main() {
    let n = env("CUSTOMERS", 10_000);
    let missing_every = env("MISSING_EVERY", 20).max(1);
    let counter = RequestCounter::new();
    let opts = LocalOptions {
        prefix: format!("btrc{}", Uuid::now_v7().simple()),
        port: 0,
        counter: Some(counter.clone()),
        background: false,
        provisioning: false,
        ..LocalOptions::default()
    };
    let local = Local::start(Template::load(&Template::default_path()).unwrap(), opts).await.unwrap();
    let app = &local.app;
    let creds = DemoCredentials::from_env();
    let seed = seed_demo(app, &creds).await.unwrap();
    let tid = seed.tenant_id.unwrap();
    let packages: Vec<serde_json::Value> = app
        .store
        .query_all(store::Query::index("gsi1", store::keys::packages_gsi1(tid)).limit(100), 100)
        .await
        .unwrap();
    let package = &packages[0];
    let package_id: Uuid = package["id"].as_str().unwrap().parse().unwrap();
    let pops: Vec<serde_json::Value> =
        app.store.query_all(store::Query::index("gsi1", store::keys::pops_gsi1(tid)).limit(10), 10).await.unwrap();
    let pop: Uuid = pops[0]["id"].as_str().unwrap().parse().unwrap();
    let now = Utc::now();
    let started_at = now - Duration::days(40);

    let setup = Instant::now();
    let mut items = Vec::with_capacity(2 * n);
    for i in 0..n {
        let complete = i % missing_every != 0;
        let part = |s: &str| complete.then(|| s.to_string());
        let c = Customer {
            id: domain::ids::new_id(),
            tenant_id: tid,
            name: format!("Bench Customer {i:05}"),
            phone: format!("+8801719{i:06}"),
            email: None,
            username: format!("btrc{i}"),
            status: CustomerStatus::Active,
            address: None,
            area: Some("Mirpur".into()),
            pop_id: Some(pop),
            house_no: part(&format!("{}", i % 300 + 1)),
            road_no: part(&format!("{}", i % 40 + 1)),
            thana: part("Mirpur"),
            district: part("Dhaka"),
            client_type: Some(if i % 50 == 0 { ClientType::Corporate } else { ClientType::Home }),
            access_medium: Some(AccessMedium::Fiber),
            national_id: None,
            connection_date: None,
            notes: None,
            tags: vec![],
            language: None,
            subscriptions: Default::default(),
            operator_id: None,
            scope: None,
            created_by: Uuid::nil(),
            created_at: started_at,
            updated_at: started_at,
            version: 1,
        };
        let s = Subscription {
            id: domain::ids::new_id(),
            tenant_id: tid,
            customer_id: c.id,
            package_id,
            package_name: package["name"].as_str().unwrap().to_string(),
            connection_type: ConnectionType::Pppoe,
            router_id: Uuid::nil(),
            username: format!("btrc{i}"),
            ip_address: None,
            mac_address: None,
            billing_model: BillingModel::Prepaid,
            billing_day: None,
            billed_through: None,
            auto_renew: true,
            price: package["price"].as_i64().unwrap(),
            currency: "BDT".into(),
            status: SubscriptionStatus::Active,
            status_reason: None,
            start_date: Some(started_at),
            expires_at: Some(now + Duration::days(20)),
            ended_at: None,
            turbo: None,
            scheduled_package: None,
            operator_id: None,
            scope: None,
            created_at: started_at,
            updated_at: started_at,
            version: 1,
        };
        items.push(Store::encode_stored(&c).unwrap());
        items.push(subscriptions::subscriptions::stored_item(app, &s, "bench-pass").unwrap());
    }
    for chunk in items.chunks(1000) {
        app.store.put_many(chunk.to_vec()).await.unwrap();
    }
    drop(items);
    println!("setup: {n} customers and subscriptions written in {:.1} s", setup.elapsed().as_secs_f64());

    let admin = Actor::system(tid);
    let month = format!("{}-{:02}", now.year(), now.month());

    // The report as the function builds it: what it reads, then the rows in memory.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss_before = status_kib("VmRSS:");
    counter.reset();
    let t = Instant::now();
    let sources = subscriptions::regulator::read_sources(app, &admin, Some(&month), None, None).await.unwrap();
    let read = t.elapsed();
    let t = Instant::now();
    let report = subscriptions::regulator::assemble(&sources);
    let assembled = t.elapsed();
    let peak = status_kib("VmHWM:");
    println!(
        "report {month}: {} rows ({} incomplete); reads {:.2} s (moto), rows assembled in {:.1} ms",
        report.rows.len(),
        report.incomplete_rows,
        read.as_secs_f64(),
        assembled.as_secs_f64() * 1e3
    );
    print_requests(&counter, report.rows.len().max(1) as f64, "row");
    println!(
        "  memory: RSS {:.1} MiB before, peak {:.1} MiB during it (+{:.1} MiB)",
        rss_before as f64 / 1024.0,
        peak as f64 / 1024.0,
        peak.saturating_sub(rss_before) as f64 / 1024.0
    );
    drop(sources);
    drop(report);

    // The files through the API, as staff download them.
    let http = reqwest::Client::new();
    let login = http
        .post(format!("{}/v1/auth/login", local.base_url))
        .json(&json!({"email": creds.admin_email, "password": creds.admin_password}))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap().to_string();
    for format in ["csv", "xlsx"] {
        counter.reset();
        let t = Instant::now();
        let resp = http
            .get(format!("{}/v1/reports/btrc?month={month}&format={format}", local.base_url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
        let bytes = resp.bytes().await.unwrap();
        println!(
            "GET /v1/reports/btrc?format={format}: {:.2} s, {:.2} MB",
            t.elapsed().as_secs_f64(),
            bytes.len() as f64 / 1e6
        );
        print_requests(&counter, n as f64, "customer");
    }

    counter.reset();
    let t = Instant::now();
    let gaps = subscriptions::regulator::btrc_missing(app, &admin, None).await.unwrap();
    println!("missing fields: {} customers listed in {:.2} s", gaps.customers.len(), t.elapsed().as_secs_f64());
    print_requests(&counter, n as f64, "customer");
    local.stop().await;
}
