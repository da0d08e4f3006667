//! Live updates' latency through the local runner: from a payment's commit (its `PaymentReceived`
//! outbox item written, `POST /v1/payments` answered) to the message on a browser-style WebSocket
//! client, through the table's stream, `stream-publisher`, EventBridge and SQS (moto), `worker-live`
//! and the runner's Management API. The runner polls the stream and the queues every 50 ms (API
//! Gateway and Lambda's event sources do not wait so; the figure is the local path's). Prints
//! median and p99.
//!
//! `scripts/with-moto.sh cargo run --release -p benches --bin live-push` (`ROUNDS=` to change).

use futures::StreamExt;
use kernel::Clock;
use local_runner::seed::{DemoCredentials, seed_demo};
use local_runner::template::Template;
use local_runner::{Local, LocalOptions};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

fn summary(mut ms: Vec<f64>) -> String {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    format!("median {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} pushes)", at(0.5), at(0.99), ms[ms.len() - 1], ms.len())
}

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(200);
    let now = chrono::DateTime::parse_from_rfc3339("2026-06-15T06:00:00Z").unwrap().to_utc();
    let opts = LocalOptions {
        prefix: format!("lp{}", uuid::Uuid::now_v7().simple()),
        port: 0,
        poll_interval: Duration::from_millis(50),
        clock: Some(Clock::fixed(now)),
        provisioning: false,
        ..LocalOptions::default()
    };
    let local = Local::start(Template::load(&Template::default_path()).unwrap(), opts).await.unwrap();
    let creds = DemoCredentials::from_env();
    seed_demo(&local.app, &creds).await.unwrap();
    let http = reqwest::Client::new();
    let call = |method: &str, path: &str, token: Option<&str>, body: Value, key: Option<String>| {
        let mut req = http.request(method.parse().unwrap(), format!("{}{path}", local.base_url)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let login = call(
        "POST",
        "/v1/auth/login",
        None,
        json!({"email": creds.admin_email, "password": creds.admin_password}),
        None,
    )
    .await;
    let admin = login["access_token"].as_str().unwrap().to_string();
    let customer = call(
        "POST",
        "/v1/customers",
        Some(&admin),
        json!({"name": "Bench Payer", "phone": "01711000222", "username": "benchpayer"}),
        None,
    )
    .await;
    let url = format!("{}/live?token={admin}", local.base_url.replace("http://", "ws://"));
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let mut ms = vec![];
    for i in 0..rounds {
        call(
            "POST",
            "/v1/payments",
            Some(&admin),
            json!({"customer_id": customer["id"], "amount": 100, "method": "cash"}),
            Some(format!("bench-{i}")),
        )
        .await;
        let committed = Instant::now();
        loop {
            match tokio::time::timeout(Duration::from_secs(30), socket.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => {
                    let m: Value = serde_json::from_str(t.as_str()).unwrap();
                    if m["type"] == "payment.received" {
                        ms.push(committed.elapsed().as_secs_f64() * 1000.0);
                        break;
                    }
                }
                Ok(Some(Ok(_))) => {}
                other => panic!("no push: {other:?}"),
            }
        }
    }
    println!("payment committed -> WebSocket client: {}", summary(ms));
    local.stop().await;
}
