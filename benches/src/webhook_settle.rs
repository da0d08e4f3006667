//! A gateway notification, measured through the local runner against moto and the Stripe fake:
//!
//! 1. DynamoDB requests (and estimated capacity) of a settling notification, of the same one
//!    again, and of a forged one, counted by the SDK interceptor with nothing else running.
//! 2. Latency from the notification's delivery to the `SubscriptionRestored` message on the
//!    provisioning queue (the settle transaction, the stream, `stream-publisher`, EventBridge's
//!    rule), for a subscriber suspended for debt whose invoice the checkout pays; median and p99.
//!
//! `scripts/with-moto.sh cargo run --release -p benches --bin webhook-settle` (`ROUNDS=` to change).

use gateways::testing::FakeStripe;
use local_runner::seed::{DemoCredentials, seed_demo};
use local_runner::template::Template;
use local_runner::{Local, LocalOptions};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use store::RequestCounter;

struct Isp {
    local: Local,
    http: reqwest::Client,
    token: String,
    account: String,
    stripe: FakeStripe,
    router: String,
    package: String,
}

impl Isp {
    async fn start(prefix: &str, counter: Option<RequestCounter>, background: bool) -> Isp {
        let opts = LocalOptions {
            prefix: format!("{prefix}{}", uuid::Uuid::now_v7().simple()),
            port: 0,
            poll_interval: Duration::from_millis(50),
            counter,
            background,
            // The restore message stays on the queue, where it is looked for.
            provisioning: false,
            ..LocalOptions::default()
        };
        let local = Local::start(Template::load(&Template::default_path()).unwrap(), opts).await.unwrap();
        let creds = DemoCredentials::from_env();
        seed_demo(&local.app, &creds).await.unwrap();
        let http = reqwest::Client::new();
        let mut isp = Isp {
            local,
            http,
            token: String::new(),
            account: String::new(),
            stripe: FakeStripe::start("sk_test_bench", "whsec_bench").await,
            router: String::new(),
            package: String::new(),
        };
        let login = json!({"email": creds.admin_email, "password": creds.admin_password});
        isp.token =
            isp.call("POST", "/v1/auth/login", Some(login), None).await["access_token"].as_str().unwrap().to_string();
        let body = json!({"gateway": "stripe", "mode": "sandbox", "name": "Bench Stripe",
            "success_url": "https://isp.example/paid", "cancel_url": "https://isp.example/cancelled",
            "base_url": isp.stripe.base_url(), "credentials": {"secret_key": "sk_test_bench", "webhook_secret": "whsec_bench"}});
        isp.account = isp.call("POST", "/v1/payment-gateways", Some(body), None).await["id"].as_str().unwrap().into();
        isp.router = isp.call("GET", "/v1/routers", None, None).await["items"][0]["id"].as_str().unwrap().into();
        isp.package = isp.call("GET", "/v1/packages", None, None).await["items"][0]["id"].as_str().unwrap().into();
        isp
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>, key: Option<&str>) -> Value {
        let mut req = self.http.request(method.parse().unwrap(), format!("{}{path}", self.local.base_url));
        if !self.token.is_empty() {
            req = req.bearer_auth(&self.token);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{method} {path}: {status}: {v}");
        v
    }

    /// A subscriber suspended for debt, a checkout of its invoice, paid at Stripe: the
    /// subscription's id and the `checkout.session.completed` event to deliver.
    async fn suspended_and_paid(&self, i: usize) -> (String, String) {
        let c = self
            .call(
                "POST",
                "/v1/customers",
                Some(json!({"name": format!("Online Payer {i}"), "phone": format!("01556{i:06}"), "username": format!("web{i}")})),
                None,
            )
            .await;
        let customer = c["id"].as_str().unwrap().to_string();
        let s = self
            .call(
                "POST",
                &format!("/v1/customers/{customer}/subscriptions"),
                Some(json!({"package_id": self.package, "router_id": self.router, "password": "ppp-pass-1",
                    "billing_model": "prepaid"})),
                None,
            )
            .await;
        let sub = s["id"].as_str().unwrap().to_string();
        self.call("POST", &format!("/v1/subscriptions/{sub}/activate"), None, None).await;
        self.call("POST", &format!("/v1/subscriptions/{sub}/suspend"), Some(json!({"reason": "unpaid"})), None).await;
        let invoices = self.call("GET", &format!("/v1/invoices?customer_id={customer}"), None, None).await;
        let co = self
            .call(
                "POST",
                "/v1/checkouts",
                Some(json!({"invoice_id": invoices["items"][0]["id"], "gateway_account_id": self.account})),
                Some(&format!("bench-{i}")),
            )
            .await;
        (sub, self.stripe.pay(co["reference"].as_str().unwrap()))
    }

    fn webhook(&self) -> String {
        format!("{}/v1/webhooks/stripe/{}", self.local.base_url, self.account)
    }
}

fn row(name: &str, status: u16, counter: &RequestCounter) -> String {
    let stats = counter.stats();
    let requests: u64 = stats.values().map(|s| s.requests).sum();
    let ops = stats
        .iter()
        .filter(|(_, v)| v.requests > 0)
        .map(|(k, v)| format!("{k}×{}", v.requests))
        .collect::<Vec<_>>()
        .join(", ");
    let items: u64 = stats.values().map(|s| s.items_written).sum();
    let rcu: f64 = stats.values().map(|s| s.read_units).sum();
    let wcu: f64 = stats.values().map(|s| s.write_units).sum();
    format!("| {name} | {status} | {requests} | {ops} | {items} | {rcu} | {wcu} |")
}

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(30);

    // 1. Requests per notification, nothing else running.
    let counter = RequestCounter::new();
    let isp = Isp::start("whc", Some(counter.clone()), false).await;
    let (_, event) = isp.suspended_and_paid(0).await;
    let now = chrono::Utc::now().timestamp();
    let mut rows = vec![
        "| notification | answer | DynamoDB requests | by operation | items written | RCU (est.) | WCU (est.) |"
            .to_string(),
        "|---|---|---|---|---|---|---|".to_string(),
    ];
    let forged = event.replace("\"paid\"", "\"unpaid\"");
    for (name, body, header) in [
        ("forged (signature does not verify)", forged.as_str(), isp.stripe.signature_header(&event, now)),
        (
            "settles (pays the invoice, restores the subscriber)",
            event.as_str(),
            isp.stripe.signature_header(&event, now),
        ),
        ("the same again (already settled)", event.as_str(), isp.stripe.signature_header(&event, now)),
    ] {
        counter.reset();
        let r = isp
            .http
            .post(isp.webhook())
            .header("content-type", "application/json")
            .header("stripe-signature", header)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        rows.push(row(name, r.status().as_u16(), &counter));
    }
    println!("{}", rows.join("\n"));
    isp.local.stop().await;

    // 2. Delivery -> restore message on the provisioning queue.
    let isp = Isp::start("whl", None, true).await;
    let queue = isp.local.queue_urls["ProvisioningQueue"].clone();
    let mut answered = vec![];
    let mut restored = vec![];
    for i in 0..rounds {
        let (sub, event) = isp.suspended_and_paid(i).await;
        // Let the earlier events reach the queue, then empty it.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let _ = isp.local.sqs.purge_queue().queue_url(&queue).send().await;
        let started = Instant::now();
        let status = isp.stripe.deliver(&isp.webhook(), &event, chrono::Utc::now().timestamp()).await;
        assert_eq!(status, 200);
        answered.push(started.elapsed());
        loop {
            let got = isp
                .local
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
                restored.push(started.elapsed());
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "no restore message within 30 s");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let pct = |v: &mut Vec<Duration>, p: usize| {
        v.sort();
        ms(v[((v.len() * p).div_ceil(100)).saturating_sub(1)])
    };
    println!(
        "{rounds} rounds: notification answered median {:.0} ms, p99 {:.0} ms; restore message on the provisioning queue median {:.0} ms, p99 {:.0} ms",
        pct(&mut answered, 50),
        pct(&mut answered, 99),
        pct(&mut restored, 50),
        pct(&mut restored, 99)
    );
    isp.local.stop().await;
}
