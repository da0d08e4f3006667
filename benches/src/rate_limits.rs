//! The request limits' own DynamoDB cost, through the local runner: calls of `GET /v1/me` (one
//! BatchGetItem of its own) with an access token at the default limits, with an API key, at a small
//! limit counted exactly, and past a limit (refused calls). Prints the requests by operation per
//! call, the route's own taken away.
//!
//! `scripts/with-moto.sh cargo run --release -p benches --bin rate-limits`

use kernel::Clock;
use local_runner::seed::{DemoCredentials, seed_demo};
use local_runner::template::Template;
use local_runner::{Local, LocalOptions};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use store::RequestCounter;

struct Bench {
    local: Local,
    http: reqwest::Client,
    counter: RequestCounter,
    clock: Clock,
}

impl Bench {
    async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.request(method.parse().unwrap(), format!("{}{path}", self.local.base_url));
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap_or(Value::Null))
    }

    /// `calls` calls of `GET /v1/me` with `token`, `per_minute` in each minute of the clock:
    /// (answers by status, requests by operation beyond the route's own BatchGetItem).
    async fn run(&self, token: &str, calls: usize, per_minute: usize) -> (BTreeMap<u16, usize>, BTreeMap<String, f64>) {
        self.counter.reset();
        let mut statuses = BTreeMap::new();
        for i in 0..calls {
            if i > 0 && i % per_minute == 0 {
                self.clock.advance(chrono::Duration::minutes(1));
            }
            let (status, _) = self.call("GET", "/v1/me", Some(token), None).await;
            *statuses.entry(status).or_insert(0) += 1;
        }
        let mut ops: BTreeMap<String, f64> = self.counter.snapshot().into_iter().map(|(k, v)| (k, v as f64)).collect();
        // The route's own read, for the calls that reached it.
        *ops.entry("BatchGetItem".into()).or_default() -= statuses.get(&200).copied().unwrap_or(0) as f64;
        ops.retain(|_, v| *v != 0.0);
        (statuses, ops)
    }
}

fn per_call(ops: &BTreeMap<String, f64>, calls: usize) -> String {
    let parts: Vec<_> = ops.iter().map(|(k, v)| format!("{k} {:.4}", v / calls as f64)).collect();
    if parts.is_empty() { "none".into() } else { parts.join(", ") }
}

#[tokio::main]
async fn main() {
    let now = chrono::DateTime::parse_from_rfc3339("2026-06-15T06:00:00Z").unwrap().to_utc();
    let counter = RequestCounter::new();
    let clock = Clock::fixed(now);
    let opts = LocalOptions {
        prefix: format!("rl{}", uuid::Uuid::now_v7().simple()),
        port: 0,
        background: false,
        counter: Some(counter.clone()),
        clock: Some(clock.clone()),
        ..LocalOptions::default()
    };
    let local = Local::start(Template::load(&Template::default_path()).unwrap(), opts).await.unwrap();
    let creds = DemoCredentials::from_env();
    let seeded = seed_demo(&local.app, &creds).await.unwrap();
    let tid = seeded.tenant_id.unwrap();
    let b = Bench { local, http: reqwest::Client::new(), counter, clock };
    let login = |email: String, password: String| {
        let b = &b;
        async move {
            b.call("POST", "/v1/auth/login", None, Some(json!({"email": email, "password": password}))).await.1
                ["access_token"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let admin = login(creds.admin_email.clone(), creds.admin_password.clone()).await;
    let key = b
        .call(
            "POST",
            "/v1/api-keys",
            Some(&admin),
            Some(json!({"name": "bench", "abilities": ["customers:read"], "expires_at": "2027-01-01T00:00:00Z"})),
        )
        .await
        .1["secret"]
        .as_str()
        .unwrap()
        .to_string();
    b.clock.advance(chrono::Duration::minutes(1));

    println!("| case | calls | answers | the limits' requests per call |");
    println!("|---|---|---|---|");
    // Default limits: 1,200 a minute for the ISP (a count shared every 24 calls per container).
    let calls = 3_000;
    let (st, ops) = b.run(&admin, calls, 1_000).await;
    println!(
        "| access token, default limits (1,200/min), 1,000 calls a minute | {calls} | {st:?} | {} |",
        per_call(&ops, calls)
    );
    // An API key: its item read on every call; its own count (300/min: shared every 6 calls) and
    // the ISP's; its principals and last use once a minute.
    b.clock.advance(chrono::Duration::minutes(1));
    let calls = 1_500;
    let (st, ops) = b.run(&key, calls, 250).await;
    println!(
        "| API key, default limits (300/min per key), 250 calls a minute | {calls} | {st:?} | {} |",
        per_call(&ops, calls)
    );

    // A small limit is counted exactly: one write per call, and none for a refused call.
    let owner = login(creds.owner_email.clone(), creds.owner_password.clone()).await;
    let t = b.call("GET", &format!("/v1/tenants/{tid}"), Some(&owner), None).await.1;
    let (status, _) = b
        .call(
            "PATCH",
            &format!("/v1/tenants/{tid}"),
            Some(&owner),
            Some(json!({"rate_limits": {"api_per_minute": 60}, "version": t["version"]})),
        )
        .await;
    assert_eq!(status, 200);
    let admin = login(creds.admin_email.clone(), creds.admin_password.clone()).await;
    b.clock.advance(chrono::Duration::minutes(1));
    let calls = 600;
    let (st, ops) = b.run(&admin, calls, 60).await;
    println!("| access token, ISP limit 60/min, 60 calls a minute | {calls} | {st:?} | {} |", per_call(&ops, calls));
    b.clock.advance(chrono::Duration::minutes(1));
    let calls = 1_000;
    let (st, ops) = b.run(&admin, calls, 1_000).await;
    println!(
        "| access token, ISP limit 60/min, 1,000 calls in one minute (hammering) | {calls} | {st:?} | {} |",
        per_call(&ops, calls)
    );
}
