//! From the payment API call to the restore message on the provisioning queue, in the local
//! runner against moto: a subscription suspended for debt is paid up; the payment's transaction
//! restores it and writes `SubscriptionRestored` to the outbox; the stream carries it through
//! `stream-publisher` to EventBridge, whose provisioning rule puts it on the queue. Prints the
//! latency of each round and its median and maximum.
//!
//! `scripts/with-moto.sh cargo run --release -p benches --bin restore-latency` (`ROUNDS=` to change).

use local_runner::seed::{DemoCredentials, seed_demo};
use local_runner::template::Template;
use local_runner::{Local, LocalOptions};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
    key: Option<&str>,
) -> Value {
    let mut req = http.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{status}: {v}");
    v
}

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(20);
    let opts = LocalOptions {
        prefix: format!("rst{}", uuid::Uuid::now_v7().simple()),
        port: 0,
        // The stream is read every 50 ms (Lambda's DynamoDB stream polling is ~4 per second).
        poll_interval: Duration::from_millis(50),
        // The restore message stays on the queue, where it is looked for.
        provisioning: false,
        ..LocalOptions::default()
    };
    let local = Local::start(Template::load(&Template::default_path()).unwrap(), opts).await.unwrap();
    let creds = DemoCredentials::from_env();
    seed_demo(&local.app, &creds).await.unwrap();
    let base = local.base_url.clone();
    let http = reqwest::Client::new();
    let login = call(
        &http,
        reqwest::Method::POST,
        format!("{base}/v1/auth/login"),
        "",
        Some(json!({"email": creds.admin_email, "password": creds.admin_password})),
        None,
    )
    .await;
    let token = login["access_token"].as_str().unwrap().to_string();
    let routers = call(&http, reqwest::Method::GET, format!("{base}/v1/routers"), &token, None, None).await;
    let router = routers["items"][0]["id"].as_str().unwrap().to_string();
    let packages = call(&http, reqwest::Method::GET, format!("{base}/v1/packages"), &token, None, None).await;
    let package = packages["items"][0]["id"].as_str().unwrap().to_string();
    let queue = local.queue_urls["ProvisioningQueue"].clone();
    let mut took = vec![];
    for i in 0..rounds {
        let c = call(&http, reqwest::Method::POST, format!("{base}/v1/customers"), &token,
            Some(json!({"name": format!("Late Payer {i}"), "phone": format!("01555{i:06}"), "username": format!("late{i}")})), None).await;
        let customer = c["id"].as_str().unwrap().to_string();
        let s = call(&http, reqwest::Method::POST, format!("{base}/v1/customers/{customer}/subscriptions"), &token,
            Some(json!({"package_id": package, "router_id": router, "password": "ppp-pass-1", "billing_model": "prepaid"})), None).await;
        let sub = s["id"].as_str().unwrap().to_string();
        call(&http, reqwest::Method::POST, format!("{base}/v1/subscriptions/{sub}/activate"), &token, None, None).await;
        call(
            &http,
            reqwest::Method::POST,
            format!("{base}/v1/subscriptions/{sub}/suspend"),
            &token,
            Some(json!({"reason": "unpaid"})),
            None,
        )
        .await;
        let invoices =
            call(&http, reqwest::Method::GET, format!("{base}/v1/invoices?customer_id={customer}"), &token, None, None)
                .await;
        let inv = &invoices["items"][0];
        // Let the earlier events reach the queue, then empty it.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let _ = local.sqs.purge_queue().queue_url(&queue).send().await;
        let started = Instant::now();
        call(
            &http,
            reqwest::Method::POST,
            format!("{base}/v1/payments"),
            &token,
            Some(json!({"invoice_id": inv["id"], "amount": inv["amount_due"], "method": "cash"})),
            Some(&format!("restore-{i}")),
        )
        .await;
        let answered = started.elapsed();
        let on_queue = loop {
            let got = local
                .sqs
                .receive_message()
                .queue_url(&queue)
                .max_number_of_messages(10)
                .visibility_timeout(0)
                .send()
                .await
                .unwrap();
            let found = got.messages().iter().any(|m| {
                let b = m.body().unwrap_or_default();
                b.contains("SubscriptionRestored") && b.contains(&sub)
            });
            if found {
                break started.elapsed();
            }
            assert!(started.elapsed() < Duration::from_secs(30), "no restore message within 30 s");
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        println!(
            "round {i}: payment answered in {:.0} ms, restore message on the queue after {:.0} ms",
            answered.as_secs_f64() * 1000.0,
            on_queue.as_secs_f64() * 1000.0
        );
        took.push(on_queue);
    }
    took.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "payment call -> restore on the provisioning queue, {rounds} rounds: median {:.0} ms, p90 {:.0} ms, max {:.0} ms",
        ms(took[took.len() / 2]),
        ms(took[took.len() * 9 / 10]),
        ms(took[took.len() - 1])
    );
    local.stop().await;
}
