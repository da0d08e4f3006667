//! Harness for the end-to-end tests: a private local runner per test (its own table, bus and queues
//! in the shared moto), real HTTP on 127.0.0.1, a settable clock, and the demo seed.

use kernel::Clock;
use local_runner::seed::{DemoCredentials, SeedReport, seed_demo};
use local_runner::template::Template;
use local_runner::{Local, LocalOptions};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use uuid::Uuid;

pub use routeros::testing::{Faults, TestRouter, TestRouterConfig};

pub struct Env {
    /// The RouterOS API test server the demo router points at (only with provisioning on).
    pub router: Option<TestRouter>,
    pub local: Local,
    pub http: reqwest::Client,
    pub clock: Clock,
    pub creds: DemoCredentials,
    pub seed: SeedReport,
}

/// An HTTP answer: status, headers, JSON body (Null when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status, status, "unexpected answer: {:#}", self.body);
        self.body
    }
    /// A problem of `status` whose field errors name exactly `fields` (in any order).
    #[track_caller]
    pub fn expect_fields(self, status: u16, fields: &[&str]) -> Value {
        assert_eq!(self.status, status, "unexpected answer: {:#}", self.body);
        let mut named: Vec<&str> = self.body["errors"]
            .as_array()
            .map(|e| e.iter().filter_map(|e| e["field"].as_str()).collect())
            .unwrap_or_default();
        named.sort_unstable();
        named.dedup();
        let mut want = fields.to_vec();
        want.sort_unstable();
        assert_eq!(named, want, "field errors of {:#}", self.body);
        self.body
    }
}

/// Where every test's clock starts, the demo seed included: a fixed instant, never the real date, so
/// a test that moves its clock to a month of its own finds there only what it made (the seed's
/// activation invoices stay in June 2026). 12:00 in Dhaka on a Monday in the middle of a month.
pub const START: &str = "2026-06-15T06:00:00Z";

pub fn start_time() -> chrono::DateTime<chrono::Utc> {
    START.parse().expect("START is an RFC 3339 time")
}

/// `(queue, detail-type)` for every target of every rule in the template: what reaches which queue.
pub fn routed_events(t: &Template) -> Vec<(String, String)> {
    let mut out = vec![];
    for r in &t.rules {
        let types = r.pattern["detail-type"].as_array().cloned().unwrap_or_default();
        assert!(!types.is_empty(), "rule {} matches no detail-type", r.logical_id);
        for q in &r.targets {
            out.extend(types.iter().map(|d| (q.clone(), d.as_str().expect("a detail-type").to_string())));
        }
    }
    out
}

pub fn demo_credentials() -> DemoCredentials {
    DemoCredentials {
        owner_email: "owner@test.local".into(),
        owner_password: "owner-test-pass-1".into(),
        reseller_email: "reseller@test.local".into(),
        reseller_password: "reseller-test-pass-1".into(),
        admin_email: "admin@test.local".into(),
        admin_password: "admin-test-pass-1".into(),
        router_host: "127.0.0.1".into(),
        router_port: 8728,
    }
}

impl Env {
    /// A runner without provisioning: the demo router is not contacted.
    pub async fn start() -> Env {
        Self::start_with(false).await
    }

    /// A runner whose provisioning worker converges the demo router, a RouterOS API test server
    /// of this test's own.
    pub async fn start_with_router() -> Env {
        Self::start_with(true).await
    }

    async fn start_with(provisioning: bool) -> Env {
        testkit::endpoint();
        // E2E_LOG=1 shows what the functions log (the runner, workers and publisher included).
        if std::env::var("E2E_LOG").is_ok() {
            let _ = tracing_subscriber::fmt().with_env_filter("info").with_test_writer().try_init();
        }
        let clock = Clock::fixed(start_time());
        let opts = LocalOptions {
            prefix: format!("t{}", Uuid::now_v7().simple()),
            port: 0,
            poll_interval: Duration::from_millis(50),
            clock: Some(clock.clone()),
            provisioning,
            ..LocalOptions::default()
        };
        let mut creds = demo_credentials();
        let router = if provisioning {
            let r = TestRouter::start(TestRouterConfig {
                username: local_runner::seed::DEMO_ROUTER_USER.into(),
                password: local_runner::seed::DEMO_ROUTER_PASSWORD.into(),
                identity: "demo-router".into(),
                ..TestRouterConfig::default()
            })
            .await
            .expect("test router");
            creds.router_port = r.port();
            Some(r)
        } else {
            None
        };
        let template = Template::load(&Template::default_path()).expect("template");
        let local = Local::start(template, opts).await.expect("local runner starts");
        let seed = seed_demo(&local.app, &creds).await.expect("seed");
        Env { router, local, http: reqwest::Client::new(), clock, creds, seed }
    }

    pub fn tenant(&self) -> Uuid {
        self.seed.tenant_id.expect("seeded tenant")
    }

    pub async fn send(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
        self.send_with(method, path, token, body, &[]).await
    }

    pub async fn send_with(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut req =
            self.http.request(Method::from_bytes(method.as_bytes()).unwrap(), format!("{}{path}", self.local.base_url));
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.answer(req).await
    }

    /// A GET whose answer is not JSON (a CSV export, a PDF): the response as it came.
    pub async fn get_raw(&self, path: &str, token: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.local.base_url)).bearer_auth(token).send().await.unwrap()
    }

    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Answer {
        self.send_raw_with(method, path, token, content_type, body, &[]).await
    }

    /// A raw body with extra headers (a webhook's signature).
    pub async fn send_raw_with(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut req = self
            .http
            .request(Method::from_bytes(method.as_bytes()).unwrap(), format!("{}{path}", self.local.base_url))
            .header("content-type", content_type)
            .body(body);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.answer(req).await
    }

    /// A CSV upload, with an `Idempotency-Key` when given.
    pub async fn send_csv(&self, path: &str, token: &str, csv: &str, key: Option<&str>) -> Answer {
        let mut req = self
            .http
            .post(format!("{}{path}", self.local.base_url))
            .header("content-type", "text/csv")
            .header("authorization", format!("Bearer {token}"))
            .body(csv.to_string());
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        self.answer(req).await
    }

    async fn answer(&self, req: reqwest::RequestBuilder) -> Answer {
        let resp = req.send().await.expect("request reaches the runner");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
        if status >= 400 {
            let ct = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
            assert_eq!(ct, "application/problem+json", "errors are problem+json: {body}");
        }
        Answer { status, headers, body }
    }

    pub async fn login(&self, email: &str, password: &str) -> Value {
        self.send("POST", "/v1/auth/login", None, Some(json!({"email": email, "password": password}))).await.expect(200)
    }

    pub async fn token(&self, email: &str, password: &str) -> String {
        self.login(email, password).await["access_token"].as_str().unwrap().to_string()
    }

    pub async fn owner(&self) -> String {
        self.token(&self.creds.owner_email, &self.creds.owner_password).await
    }
    pub async fn reseller(&self) -> String {
        self.token(&self.creds.reseller_email, &self.creds.reseller_password).await
    }
    pub async fn admin(&self) -> String {
        self.token(&self.creds.admin_email, &self.creds.admin_password).await
    }

    /// A second ISP (under the demo reseller, in Indonesia, billing in IDR) and its admin's token.
    pub async fn other_tenant(&self, slug: &str) -> (Uuid, String) {
        self.tenant_in(slug, "IDR", "ID", "Asia/Jakarta").await
    }

    /// Another ISP in `country` billing in `currency` in `time_zone`, and its admin's token.
    pub async fn tenant_in(&self, slug: &str, currency: &str, country: &str, time_zone: &str) -> (Uuid, String) {
        let email = format!("admin@{slug}.test");
        let body = self
            .send(
                "POST",
                "/v1/tenants",
                Some(&self.reseller().await),
                Some(
                    json!({"name": format!("ISP {slug}"), "slug": slug, "time_zone": time_zone, "currency": currency, "country": country,
                    "admin": {"name": "Other Admin", "email": email, "password": "other-admin-pass-1"}}),
                ),
            )
            .await
            .expect(201);
        (body["id"].as_str().unwrap().parse().unwrap(), self.token(&email, "other-admin-pass-1").await)
    }

    /// Downloads an XLSX export and reads its first sheet back as text cells (what a spreadsheet
    /// shows).
    pub async fn xlsx_rows(&self, path: &str, token: &str) -> Vec<Vec<String>> {
        use calamine::Reader;
        let a = self.get_raw(path, token).await;
        assert_eq!(a.status(), 200, "{path}");
        assert_eq!(
            a.headers()["content-type"],
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "{path}"
        );
        let bytes = a.bytes().await.unwrap().to_vec();
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("an XLSX");
        let sheet = book.worksheet_range_at(0).expect("a sheet").expect("readable");
        sheet.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect()
    }

    /// A seeded subscriber's portal access token (`<login>-portal-1`, the demo ISP by its code).
    pub async fn portal_token(&self, login: &str) -> String {
        self.send_with(
            "POST",
            "/v1/portal/auth/login",
            None,
            Some(json!({"login": login, "password": format!("{login}-portal-1")})),
            &[("x-isp", "demo-isp")],
        )
        .await
        .expect(200)["access_token"]
            .as_str()
            .expect("an access token")
            .to_string()
    }

    pub async fn create_user(&self, token: &str, role: &str, email: &str, parent: Option<&str>) -> (String, String) {
        let mut body =
            json!({"name": format!("{role} user"), "email": email, "password": "staff-pass-123", "role": role});
        if let Some(p) = parent {
            body["parent_id"] = json!(p);
        }
        let u = self.send("POST", "/v1/users", Some(token), Some(body)).await.expect(201);
        (u["id"].as_str().unwrap().to_string(), self.token(email, "staff-pass-123").await)
    }

    pub async fn create_customer(&self, token: &str, name: &str, phone: &str, username: &str) -> Value {
        self.send(
            "POST",
            "/v1/customers",
            Some(token),
            Some(json!({"name": name, "phone": phone, "username": username})),
        )
        .await
        .expect(201)
    }

    pub async fn create_package(&self, token: &str, name: &str, rate: &str, price: i64) -> Value {
        self.send(
            "POST",
            "/v1/packages",
            Some(token),
            Some(json!({"name": name, "connection_type": "pppoe", "download": rate, "upload": rate,
                "price": price, "validity_days": 30})),
        )
        .await
        .expect(201)
    }

    pub async fn create_router(&self, token: &str, name: &str, host: &str, pop: Option<&str>) -> Value {
        let mut body = json!({"name": name, "host": host, "username": "api", "password": format!("{name}-secret-pw")});
        if let Some(p) = pop {
            body["pop_id"] = json!(p);
        }
        self.send("POST", "/v1/routers", Some(token), Some(body)).await.expect(201)
    }

    /// A pending PPPoE subscription of `customer`.
    pub async fn create_subscription(
        &self,
        token: &str,
        customer: &str,
        package: &str,
        router: &str,
        username: &str,
    ) -> Value {
        self.send(
            "POST",
            &format!("/v1/customers/{customer}/subscriptions"),
            Some(token),
            Some(json!({"package_id": package, "router_id": router, "username": username, "password": "ppp-pass-1",
                "billing_model": "prepaid"})),
        )
        .await
        .expect(201)
    }

    /// Waits (up to 20 s) until an import job is done; its final state.
    pub async fn wait_import(&self, token: &str, id: &str) -> Value {
        self.wait_job(token, &format!("/v1/imports/{id}")).await
    }

    /// Waits (up to 20 s) until the job at `path` is done; its final state.
    pub async fn wait_job(&self, token: &str, path: &str) -> Value {
        for _ in 0..400 {
            let job = self.send("GET", path, Some(token), None).await.expect(200);
            if job["status"] == "done" {
                return job;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("job {path} did not finish");
    }

    /// The demo router's id.
    pub async fn demo_router(&self, token: &str) -> String {
        let routers = self.send("GET", "/v1/routers?limit=200", Some(token), None).await.expect(200);
        let demo =
            routers["items"].as_array().unwrap().iter().find(|r| r["name"] == "Demo Router").expect("demo router");
        demo["id"].as_str().unwrap().to_string()
    }

    /// Every item of this test's table, for "nothing was written" checks. Test-only: a Scan is never
    /// on a request path.
    /// The table once the background work (workers, provisioning) has stopped changing it: two
    /// snapshots 200 ms apart alike (up to 10 s).
    pub async fn settled_snapshot(&self) -> BTreeMap<String, String> {
        let mut snapshot = self.table_snapshot().await;
        for _ in 0..50 {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            let now = self.table_snapshot().await;
            if now == snapshot {
                break;
            }
            snapshot = now;
        }
        snapshot
    }

    /// The API's request counts (`<owner>APIRATE#...`) are left out: they record that a request
    /// was made (a refused one too), not a change of anyone's data.
    pub async fn table_snapshot(&self) -> BTreeMap<String, String> {
        let client = self.local.app.store.client();
        let mut out = BTreeMap::new();
        let mut start = None;
        loop {
            let page =
                client.scan().table_name(&self.local.table).set_exclusive_start_key(start).send().await.expect("scan");
            for item in page.items.unwrap_or_default() {
                let pk = item.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                let sk = item.get("sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                if pk.contains("#APIRATE#") {
                    continue;
                }
                let mut fields: Vec<_> = item.iter().map(|(k, v)| format!("{k}={}", canonical(v))).collect();
                fields.sort();
                out.insert(format!("{pk}|{sk}"), fields.join(","));
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        out
    }

    /// The account agrees with its ledger and its open invoices.
    pub async fn books_balance(&self, token: &str, customer: &str) -> Value {
        let account =
            self.send("GET", &format!("/v1/customers/{customer}/account"), Some(token), None).await.expect(200);
        let ledger = self
            .send("GET", &format!("/v1/customers/{customer}/ledger?limit=200"), Some(token), None)
            .await
            .expect(200);
        let entries = ledger["items"].as_array().unwrap();
        let balance = account["balance"].as_i64().unwrap();
        let sum: i64 = entries.iter().map(|e| e["amount"].as_i64().unwrap()).sum();
        assert_eq!(sum, balance, "the ledger adds up to the balance: {ledger:#} {account:#}");
        assert_eq!(entries.last().map(|e| e["balance_after"].as_i64().unwrap()).unwrap_or(0), balance);
        let open: i64 = account["open"].as_array().unwrap().iter().map(|o| o["amount_due"].as_i64().unwrap()).sum();
        let credit = account["credit"].as_i64().unwrap();
        assert_eq!(balance, open - credit, "balance = open invoices - credit: {account:#}");
        assert!(credit == 0 || open == 0, "credit is used before anything is left owing");
        for o in account["open"].as_array().unwrap() {
            let path = format!("/v1/invoices/{}", o["invoice_id"].as_str().unwrap());
            let inv = self.send("GET", &path, Some(token), None).await.expect(200);
            assert_eq!(inv["amount_due"], o["amount_due"]);
            assert_eq!(
                inv["amount_due"].as_i64().unwrap(),
                inv["total"].as_i64().unwrap()
                    - inv["amount_paid"].as_i64().unwrap()
                    - inv["amount_credited"].as_i64().unwrap()
            );
        }
        account
    }

    /// Waits (up to 10 s) until `f` holds.
    pub async fn eventually<F: Fn() -> bool>(&self, f: F) -> bool {
        for _ in 0..200 {
            if f() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }
}

/// Fails naming the keys that were added, removed or changed (not the whole table).
#[track_caller]
pub fn assert_unchanged(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) {
    let added: Vec<_> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    let removed: Vec<_> = before.keys().filter(|k| !after.contains_key(*k)).collect();
    let changed: Vec<_> = before.keys().filter(|k| after.get(*k).is_some_and(|v| v != &before[*k])).collect();
    assert!(
        added.is_empty() && removed.is_empty() && changed.is_empty(),
        "data changed: added {added:?}, removed {removed:?}, changed {changed:?}"
    );
}

/// An attribute value in a stable text form (map keys sorted, at every depth).
fn canonical(v: &aws_sdk_dynamodb::types::AttributeValue) -> String {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    match v {
        A::M(m) => {
            let mut parts: Vec<_> = m.iter().map(|(k, v)| format!("{k}:{}", canonical(v))).collect();
            parts.sort();
            format!("{{{}}}", parts.join(","))
        }
        A::L(l) => format!("[{}]", l.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => format!("{other:?}"),
    }
}
