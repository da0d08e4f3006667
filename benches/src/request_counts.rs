//! `make bench`: DynamoDB requests and estimated capacity units of each API operation, measured
//! through the SDK interceptor while the real handlers serve real HTTP requests against moto.
//! Prints a Markdown table (copied into docs/benchmarks.md).

use local_runner::seed::{DemoCredentials, seed_demo};
use local_runner::template::Template;
use local_runner::{Local, LocalOptions};
use serde_json::{Value, json};
use store::RequestCounter;

struct Bench {
    local: Local,
    http: reqwest::Client,
    counter: RequestCounter,
    rows: Vec<String>,
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
        let bytes = resp.bytes().await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// Runs one operation with a clean counter and records its row.
    async fn measure(
        &mut self,
        name: &str,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Value {
        self.counter.reset();
        let (status, out) = self.call(method, path, token, body).await;
        assert!(status < 400, "{name}: {status} {out}");
        let stats = self.counter.stats();
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
        self.rows.push(format!(
            "| {name} | `{method} {path_shape}` | {requests} | {ops} | {items} | {rcu} | {wcu} |",
            path_shape = shape(path)
        ));
        out
    }
}

fn shape(path: &str) -> String {
    path.split('?')
        .next()
        .unwrap()
        .split('/')
        .map(|s| if uuid::Uuid::parse_str(s).is_ok() { "{id}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
        + if path.contains('?') { "?…" } else { "" }
}

#[tokio::main]
async fn main() {
    let counter = RequestCounter::new();
    let opts = LocalOptions {
        prefix: format!("bench{}", uuid::Uuid::now_v7().simple()),
        port: 0,
        counter: Some(counter.clone()),
        background: false,
        ..LocalOptions::default()
    };
    let local = Local::start(Template::load(&Template::default_path()).unwrap(), opts).await.unwrap();
    let creds = DemoCredentials::from_env();
    seed_demo(&local.app, &creds).await.unwrap();
    let mut b = Bench { local, http: reqwest::Client::new(), counter, rows: vec![] };

    let login = json!({"email": creds.admin_email, "password": creds.admin_password});
    let pair = b.measure("log in", "POST", "/v1/auth/login", None, Some(login)).await;
    let admin = pair["access_token"].as_str().unwrap().to_string();
    let refreshed = b
        .measure("refresh", "POST", "/v1/auth/refresh", None, Some(json!({"refresh_token": pair["refresh_token"]})))
        .await;
    let me = b.measure("who am I", "GET", "/v1/me", Some(&admin), None).await;
    let tenant_id = me["tenant"]["id"].as_str().unwrap().to_string();
    let c = b
        .measure("create customer", "POST", "/v1/customers", Some(&admin), Some(json!({"name": "Bench Customer", "phone": "01711-999888", "username": "bench1", "email": "bench@example.com"})))
        .await;
    let cid = c["id"].as_str().unwrap().to_string();
    b.measure("get customer", "GET", &format!("/v1/customers/{cid}"), Some(&admin), None).await;
    b.measure("list customers", "GET", "/v1/customers?limit=50", Some(&admin), None).await;
    b.measure("search customers by phone", "GET", "/v1/customers?phone=01711", Some(&admin), None).await;
    b.measure(
        "update customer",
        "PATCH",
        &format!("/v1/customers/{cid}"),
        Some(&admin),
        Some(json!({"phone": "+8801711999887", "version": 1})),
    )
    .await;
    b.measure("delete customer", "DELETE", &format!("/v1/customers/{cid}"), Some(&admin), None).await;
    let u = b
        .measure("create user", "POST", "/v1/users", Some(&admin), Some(json!({"name": "Bench Staff", "email": "benchstaff@example.com", "password": "bench-staff-pass-1", "role": "staff"})))
        .await;
    let uid = u["id"].as_str().unwrap().to_string();
    b.measure("list users", "GET", "/v1/users", Some(&admin), None).await;
    b.measure(
        "update user",
        "PATCH",
        &format!("/v1/users/{uid}"),
        Some(&admin),
        Some(json!({"role": "accountant", "version": 1})),
    )
    .await;
    b.measure(
        "audit log of a customer",
        "GET",
        &format!("/v1/audit-log?entity_type=customer&entity_id={cid}"),
        Some(&admin),
        None,
    )
    .await;

    let reseller = b
        .call(
            "POST",
            "/v1/auth/login",
            None,
            Some(json!({"email": creds.reseller_email, "password": creds.reseller_password})),
        )
        .await
        .1;
    let reseller = reseller["access_token"].as_str().unwrap().to_string();
    let t = b
        .measure("create ISP", "POST", "/v1/tenants", Some(&reseller), Some(json!({"name": "Bench ISP", "slug": "bench-isp", "time_zone": "Asia/Dhaka", "currency": "BDT", "admin": {"name": "A", "email": "a@bench.test", "password": "bench-admin-pass-1"}})))
        .await;
    let tid = t["id"].as_str().unwrap().to_string();
    b.measure("list ISPs (reseller)", "GET", "/v1/tenants", Some(&reseller), None).await;
    b.measure("get ISP", "GET", &format!("/v1/tenants/{tid}"), Some(&reseller), None).await;
    b.measure(
        "update ISP settings",
        "PATCH",
        &format!("/v1/tenants/{tid}"),
        Some(&reseller),
        Some(json!({"name": "Bench ISP 2", "version": 1})),
    )
    .await;
    let owner = b
        .call(
            "POST",
            "/v1/auth/login",
            None,
            Some(json!({"email": creds.owner_email, "password": creds.owner_password})),
        )
        .await
        .1;
    let owner = owner["access_token"].as_str().unwrap().to_string();
    b.measure("create platform reseller", "POST", "/v1/platform-resellers", Some(&owner), Some(json!({"name": "Bench Reseller", "subscription_expires_at": "2099-01-01T00:00:00Z", "isp_limit": 5, "admin": {"name": "R", "email": "r@bench.test", "password": "bench-reseller-pass-1"}})))
        .await;
    b.measure("list platform resellers", "GET", "/v1/platform-resellers", Some(&owner), None).await;
    b.measure(
        "impersonate",
        "POST",
        "/v1/impersonate",
        Some(&owner),
        Some(json!({"user_id": uid, "tenant_id": tenant_id})),
    )
    .await;
    b.measure(
        "request password reset",
        "POST",
        "/v1/auth/password-reset",
        None,
        Some(json!({"email": creds.admin_email})),
    )
    .await;
    b.measure("log out", "POST", "/v1/auth/logout", None, Some(json!({"refresh_token": refreshed["refresh_token"]})))
        .await;

    println!("| operation | route | DynamoDB requests | by operation | items written | RCU (est.) | WCU (est.) |");
    println!("|---|---|---|---|---|---|---|");
    for r in &b.rows {
        println!("{r}");
    }
    b.local.stop().await;
}
