//! A voucher batch (default 10,000) through the real path: `POST /v1/voucher-batches` to
//! `api-vouchers`, outbox -> stream -> EventBridge -> SQS -> `worker-imports` generating the chunks
//! of 500 against moto; then the batch's PDF sheets and CSV through the API. Prints the wall time,
//! the DynamoDB requests (and estimated capacity) per voucher, and the PDF's size and build time.
//! The routers' side is `router-provisioning` (its part 4).
//!
//! `scripts/with-moto.sh cargo run --release -p benches --bin voucher-batch` (`VOUCHERS=` to change
//! the size).

use local_runner::seed::{DemoCredentials, seed_demo};
use local_runner::template::Template;
use local_runner::{Local, LocalOptions};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use store::{Owner, Query, RequestCounter, Store, keys};

#[tokio::main]
async fn main() {
    let vouchers: u64 = std::env::var("VOUCHERS").ok().and_then(|r| r.parse().ok()).unwrap_or(10_000);
    let counter = RequestCounter::new();
    let opts = LocalOptions {
        prefix: format!("vb{}", uuid::Uuid::now_v7().simple()),
        port: 0,
        counter: Some(counter.clone()),
        poll_interval: Duration::from_millis(20),
        // The routers' side is measured by router-provisioning.
        provisioning: false,
        ..LocalOptions::default()
    };
    let local = Local::start(Template::load(&Template::default_path()).unwrap(), opts).await.unwrap();
    let creds = DemoCredentials::from_env();
    let seed = seed_demo(&local.app, &creds).await.unwrap();
    let tid = seed.tenant_id.unwrap();
    let http = reqwest::Client::new();
    let base = local.base_url.clone();
    let login: Value = http
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({"email": creds.admin_email, "password": creds.admin_password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap().to_string();
    let plan: Value = http
        .post(format!("{base}/v1/voucher-plans"))
        .bearer_auth(&token)
        .json(&json!({"name": "1GB-DAILY", "validity_hours": 24, "validity_from": "first_login",
            "data_limit_mb": 1024, "rate_limit": "5M/5M", "price": 2000}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let reader = Store::new(Store::client_from_env(None).await, local.table.clone(), b"bench");
    counter.reset();
    let started = Instant::now();
    let resp = http
        .post(format!("{base}/v1/voucher-batches"))
        .bearer_auth(&token)
        .header("idempotency-key", "bench-batch")
        .json(&json!({"plan_id": plan["id"], "quantity": vouchers, "prefix": "HS", "placement": {"type": "all"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201, "{}", resp.text().await.unwrap_or_default());
    let batch: Value = resp.json().await.unwrap();
    let accepted = started.elapsed();
    let request = counter.stats();
    let bid: uuid::Uuid = batch["id"].as_str().unwrap().parse().unwrap();
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let q = Query::table(keys::voucher_batch_pk(tid, bid)).prefix(keys::VOUCHER_PROGRESS_PREFIX).limit(1000);
        let Ok((items, _)) = reader.query_page_raw(Owner::Tenant(tid), "bench", q, None).await else { continue };
        let made: u64 = items.iter().map(|i| store::number_attr(i, "generated").unwrap_or(0)).sum();
        if made >= vouchers {
            break;
        }
    }
    let wall = started.elapsed();
    let stats = counter.stats();
    let total: u64 = stats.values().map(|s| s.requests).sum();
    let request_total: u64 = request.values().map(|s| s.requests).sum();
    let wcu: f64 = stats.values().map(|s| s.write_units).sum();
    let items: u64 = stats.values().map(|s| s.items_written).sum();
    println!("vouchers: {vouchers}");
    println!("request answered (201) in {:.2} s with {request_total} DynamoDB requests", accepted.as_secs_f64());
    println!(
        "all vouchers generated after {:.1} s ({:.0} vouchers/s, one local worker)",
        wall.as_secs_f64(),
        vouchers as f64 / wall.as_secs_f64()
    );
    println!("DynamoDB requests: {total} ({:.4} per voucher)", total as f64 / vouchers as f64);
    for (op, s) in stats.iter().filter(|(_, s)| s.requests > 0) {
        println!("  {op}: {} ({:.4} per voucher)", s.requests, s.requests as f64 / vouchers as f64);
    }
    println!(
        "items written per voucher: {:.2}; est. WCU per voucher: {:.2}",
        items as f64 / vouchers as f64,
        wcu / vouchers as f64
    );

    // The PDF in its parts of at most 1,000 cards (one request each), then the CSV whole.
    let parts: Vec<String> = (0..(vouchers as u32).div_ceil(1_000))
        .map(|i| format!("pdf?from={}&to={}", i * 1_000 + 1, ((i + 1) * 1_000).min(vouchers as u32)))
        .collect();
    let mut pdf = (0usize, 0f64, 0f64, 0u64);
    for path in parts.iter().map(String::as_str).chain(std::iter::once("csv")) {
        counter.reset();
        let started = Instant::now();
        let resp =
            http.get(format!("{base}/v1/voucher-batches/{bid}/{path}")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        let bytes = resp.bytes().await.unwrap();
        let took = started.elapsed().as_secs_f64();
        let reqs: u64 = counter.stats().values().map(|s| s.requests).sum();
        if path == "csv" {
            println!(
                "CSV: {:.2} MB ({:.0} bytes per voucher), answered in {took:.2} s, {reqs} DynamoDB requests",
                bytes.len() as f64 / 1e6,
                bytes.len() as f64 / vouchers as f64
            );
        } else {
            println!(
                "PDF part {path}: {:.2} MB, answered in {took:.2} s, {reqs} DynamoDB requests",
                bytes.len() as f64 / 1e6
            );
            pdf = (pdf.0 + bytes.len(), pdf.1 + took, pdf.2.max(took), pdf.3 + reqs);
        }
    }
    println!(
        "PDF: {} parts, {:.2} MB in all ({:.0} bytes per voucher), {:.2} s in all, the slowest part {:.2} s, {} DynamoDB requests",
        parts.len(),
        pdf.0 as f64 / 1e6,
        pdf.0 as f64 / vouchers as f64,
        pdf.1,
        pdf.2,
        pdf.3
    );
    local.stop().await;
}
