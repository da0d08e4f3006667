//! A 10,000-row customer import (customers with active subscriptions) through the real path: HTTP
//! upload to `api-imports`, outbox -> stream -> EventBridge -> SQS -> `worker-imports`, against moto.
//! Prints the wall time and the DynamoDB requests (and estimated capacity) per imported row.
//!
//! `scripts/with-moto.sh cargo run --release -p benches --bin import-10k` (`ROWS=` to change the size).

use local_runner::seed::{DemoCredentials, seed_demo};
use local_runner::template::Template;
use local_runner::{Local, LocalOptions};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use store::{Owner, Query, RequestCounter, Store, keys};

#[tokio::main]
async fn main() {
    let rows: usize = std::env::var("ROWS").ok().and_then(|r| r.parse().ok()).unwrap_or(10_000);
    let counter = RequestCounter::new();
    let opts = LocalOptions {
        prefix: format!("imp{}", uuid::Uuid::now_v7().simple()),
        port: 0,
        counter: Some(counter.clone()),
        poll_interval: Duration::from_millis(20),
        // Imported subscribers are not provisioned here: this measures the import alone.
        provisioning: false,
        ..LocalOptions::default()
    };
    let local = Local::start(Template::load(&Template::default_path()).unwrap(), opts).await.unwrap();
    let creds = DemoCredentials::from_env();
    let seed = seed_demo(&local.app, &creds).await.unwrap();
    let tid = seed.tenant_id.unwrap();
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{}/v1/auth/login", local.base_url))
        .json(&json!({"email": creds.admin_email, "password": creds.admin_password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap().to_string();
    let routers: Value = http
        .get(format!("{}/v1/routers", local.base_url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let router = routers["items"][0]["id"].as_str().unwrap().to_string();

    let mut csv = String::from("name,phone,username,package,status\n");
    for i in 0..rows {
        csv.push_str(&format!("Imported Customer {i},013{i:08},imp{i},Home 10M,active\n"));
    }
    // Progress is read through a client without the counter, so polling is not counted.
    let reader = Store::new(Store::client_from_env(None).await, local.table.clone(), b"bench");
    counter.reset();
    let started = Instant::now();
    let resp = http
        .post(format!("{}/v1/imports?router_id={router}", local.base_url))
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body(csv.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 202, "{}", resp.text().await.unwrap_or_default());
    let job: Value = resp.json().await.unwrap();
    let accepted = started.elapsed();
    let job_id: uuid::Uuid = job["id"].as_str().unwrap().parse().unwrap();
    let upload = counter.stats();
    let mut last_report = Instant::now();
    let (imported, failed) = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let q = Query::table(keys::job_pk(tid, job_id)).prefix(keys::JOB_PROGRESS_PREFIX).limit(1000);
        // moto sometimes answers a 500 under this load; the next poll asks again.
        let Ok((items, _)) = reader.query_page_raw(Owner::Tenant(tid), "bench", q, None).await else { continue };
        let sum = |k: &str| items.iter().map(|i| store::number_attr(i, k).unwrap_or(0)).sum::<u64>();
        let (i, f) = (sum("imported"), sum("failed"));
        if last_report.elapsed() >= Duration::from_secs(60) {
            last_report = Instant::now();
            println!("  {:>5.0} s: {} rows applied", started.elapsed().as_secs_f64(), i + f);
        }
        if (i + f) as usize >= rows {
            break (i, f);
        }
    };
    let wall = started.elapsed();
    let stats = counter.stats();
    let total: u64 = stats.values().map(|s| s.requests).sum();
    let upload_total: u64 = upload.values().map(|s| s.requests).sum();
    let wcu: f64 = stats.values().map(|s| s.write_units).sum();
    let rcu: f64 = stats.values().map(|s| s.read_units).sum();
    let items: u64 = stats.values().map(|s| s.items_written).sum();
    println!("rows: {rows}; imported {imported}, failed {failed}");
    println!("upload answered (202) in {:.2} s with {upload_total} DynamoDB requests", accepted.as_secs_f64());
    println!(
        "all rows applied after {:.1} s ({:.1} rows/s, one local worker)",
        wall.as_secs_f64(),
        rows as f64 / wall.as_secs_f64()
    );
    println!("DynamoDB requests: {total} ({:.3} per row)", total as f64 / rows as f64);
    for (op, s) in stats.iter().filter(|(_, s)| s.requests > 0) {
        println!("  {op}: {} ({:.3} per row)", s.requests, s.requests as f64 / rows as f64);
    }
    println!(
        "items written per row: {:.1}; est. WCU per row: {:.1}; est. RCU per row: {:.2}",
        items as f64 / rows as f64,
        wcu / rows as f64,
        rcu / rows as f64
    );
    local.stop().await;
}
