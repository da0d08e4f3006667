use local_runner::template::Template;
use local_runner::{Local, LocalOptions};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Pins the DynamoDB round trips of the main operations (counts, not timings): every read is one
/// round trip, every write one transaction plus at most one read. An extra read fails here.
#[tokio::test]
async fn operations_make_the_expected_dynamodb_round_trips() {
    testkit::endpoint();
    let counter = store::RequestCounter::new();
    let opts = LocalOptions {
        prefix: format!("rc{}", uuid::Uuid::now_v7().simple()),
        port: 0,
        counter: Some(counter.clone()),
        background: false,
        // The test's own clock, so the seed's invoices land in the same month whatever today is.
        clock: Some(kernel::Clock::fixed(e2e_tests::start_time())),
        ..LocalOptions::default()
    };
    let local = Local::start(Template::load(&Template::default_path()).unwrap(), opts).await.unwrap();
    let creds = e2e_tests::demo_credentials();
    let seeded = local_runner::seed::seed_demo(&local.app, &creds).await.unwrap();
    // The request limits' own requests (a container reads its limits once a minute and shares its
    // counts every max/50 requests) are measured by `benches --bin rate-limits`; here the limits
    // are read before counting starts and high enough that no count is shared meanwhile, so each
    // operation shows its own requests.
    let unbounded = Some(domain::rate::MAX_REQUESTS_PER_MINUTE);
    let settings = domain::rate::RateLimitSettings {
        api_per_minute: unbounded,
        key_per_minute: unbounded,
        portal_per_minute: unbounded,
        ..Default::default()
    };
    identity::platform::set_rate_limits(&local.app, &domain::actor::Actor::system_platform(), settings, None)
        .await
        .unwrap();
    kernel::gate::limits(&local.app, None).await.unwrap();
    kernel::gate::limits(&local.app, seeded.tenant_id).await.unwrap();
    let http = reqwest::Client::new();
    let call_with = |method: &str, path: &str, token: Option<&str>, body: Option<Value>, headers: &[(&str, &str)]| {
        let mut req = http.request(method.parse().unwrap(), format!("{}{path}", local.base_url));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let counter = counter.clone();
        async move {
            counter.reset();
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let body: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap_or(Value::Null);
            assert!(status < 400, "{status} {body}");
            (body, counter.snapshot())
        }
    };
    let call =
        |method: &str, path: &str, token: Option<&str>, body: Option<Value>| call_with(method, path, token, body, &[]);
    let ops = |pairs: &[(&str, u64)]| pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>();

    let (pair, n) = call(
        "POST",
        "/v1/auth/login",
        None,
        Some(json!({"email": creds.admin_email, "password": creds.admin_password})),
    )
    .await;
    // The source address's and the account's attempts counted first (UpdateItem ×2), the login
    // pointer, the user with its ISP and reseller.
    assert_eq!(n, ops(&[("UpdateItem", 2), ("GetItem", 1), ("BatchGetItem", 1), ("TransactWriteItems", 1)]));
    let admin = pair["access_token"].as_str().unwrap().to_string();
    // A wrong password and an unknown address do the same requests, and so does a reset request
    // for either: what the table does tells nobody whether an account exists.
    let refused = |path: &str, body: Value, status: u16| {
        let req = http.post(format!("{}{path}", local.base_url)).json(&body);
        let counter = counter.clone();
        async move {
            counter.reset();
            assert_eq!(req.send().await.unwrap().status().as_u16(), status);
            counter.snapshot()
        }
    };
    let known = refused("/v1/auth/login", json!({"email": creds.admin_email, "password": "wrong-pass-1"}), 401).await;
    let unknown =
        refused("/v1/auth/login", json!({"email": "nobody@count.test", "password": "wrong-pass-1"}), 401).await;
    assert_eq!(known, ops(&[("UpdateItem", 2), ("GetItem", 1), ("BatchGetItem", 1)]));
    assert_eq!(unknown, known, "an unknown address does what a known one does");
    let known = refused("/v1/auth/password-reset", json!({"email": creds.admin_email}), 202).await;
    let unknown = refused("/v1/auth/password-reset", json!({"email": "nobody@count.test"}), 202).await;
    assert_eq!(known, ops(&[("TransactWriteItems", 1)]));
    assert_eq!(unknown, known, "a reset request does the same for any address");
    let (c, n) = call(
        "POST",
        "/v1/customers",
        Some(&admin),
        Some(json!({"name": "Count", "phone": "01711-444555", "username": "count"})),
    )
    .await;
    assert_eq!(n, ops(&[("BatchGetItem", 1), ("TransactWriteItems", 1)]));
    let cid = c["id"].as_str().unwrap().to_string();
    let (_, n) = call("GET", &format!("/v1/customers/{cid}"), Some(&admin), None).await;
    assert_eq!(n, ops(&[("GetItem", 1)]));
    for q in ["", "?status=new", "?phone=01711", "?name=co", "?username=cou"] {
        let (_, n) = call("GET", &format!("/v1/customers{q}"), Some(&admin), None).await;
        assert_eq!(n, ops(&[("Query", 1)]), "list {q}");
    }
    let (_, n) = call(
        "PATCH",
        &format!("/v1/customers/{cid}"),
        Some(&admin),
        Some(json!({"phone": "01711-444556", "version": 1})),
    )
    .await;
    assert_eq!(n, ops(&[("BatchGetItem", 1), ("TransactWriteItems", 1)]), "customer and ISP in one read");
    let (_, n) =
        call("PATCH", &format!("/v1/customers/{cid}"), Some(&admin), Some(json!({"name": "Count 2", "version": 2})))
            .await;
    assert_eq!(n, ops(&[("GetItem", 1), ("TransactWriteItems", 1)]));
    let (u, n) = call(
        "POST",
        "/v1/users",
        Some(&admin),
        Some(json!({"name": "Op", "email": "op@count.test", "password": "count-pass-123", "role": "operator"})),
    )
    .await;
    assert_eq!(n, ops(&[("TransactWriteItems", 1)]), "no read: the reseller id is in the token");
    let (_, n) = call("POST", "/v1/users", Some(&admin), Some(json!({"name": "Sub", "email": "sub@count.test", "password": "count-pass-123", "role": "sub_operator", "parent_id": u["id"]}))).await;
    assert_eq!(n, ops(&[("GetItem", 1), ("TransactWriteItems", 1)]), "only the parent operator is read");
    let (_, n) = call("DELETE", &format!("/v1/customers/{cid}"), Some(&admin), None).await;
    assert_eq!(n, ops(&[("GetItem", 1), ("TransactWriteItems", 1)]));
    let (_, n) = call("GET", "/v1/audit-log", Some(&admin), None).await;
    assert_eq!(n, ops(&[("Query", 1)]));

    // Operations core.
    let (p, n) = call("POST", "/v1/packages", Some(&admin), Some(json!({"name": "Count 10M", "connection_type": "pppoe", "download": "10M", "upload": "10M", "price": 1000, "validity_days": 30}))).await;
    assert_eq!(n, ops(&[("GetItem", 1), ("TransactWriteItems", 1)]), "the ISP's currency, then the write");
    let pid = p["id"].as_str().unwrap().to_string();
    let (_, n) = call("GET", "/v1/packages", Some(&admin), None).await;
    assert_eq!(n, ops(&[("Query", 1)]));
    let (_, n) =
        call("PATCH", &format!("/v1/packages/{pid}"), Some(&admin), Some(json!({"price": 1100, "version": 1}))).await;
    assert_eq!(n, ops(&[("BatchGetItem", 1), ("TransactWriteItems", 1)]), "package and its usage in one read");
    let (pop, n) = call("POST", "/v1/pops", Some(&admin), Some(json!({"name": "Count POP", "code": "CNT"}))).await;
    assert_eq!(n, ops(&[("TransactWriteItems", 1)]));
    let (r, n) = call(
        "POST",
        "/v1/routers",
        Some(&admin),
        Some(json!({"name": "count-r", "host": "10.4.0.1", "username": "u", "password": "p", "pop_id": pop["id"]})),
    )
    .await;
    assert_eq!(n, ops(&[("TransactWriteItems", 1)]), "the POP is checked inside the transaction");
    let (_, n) = call("GET", "/v1/routers", Some(&admin), None).await;
    assert_eq!(n, ops(&[("Query", 1)]));
    let rid = r["id"].as_str().unwrap().to_string();
    let (_, n) = call("GET", &format!("/v1/routers/{rid}"), Some(&admin), None).await;
    assert_eq!(n, ops(&[("BatchGetItem", 1)]), "the router and its last health check in one read");
    let (_, n) = call("POST", &format!("/v1/routers/{rid}/reconcile"), Some(&admin), None).await;
    assert_eq!(n, ops(&[("GetItem", 1), ("TransactWriteItems", 1)]), "the event with its audit entry");
    // Backups: the router read, then the pending backup with its event; reads in one round trip.
    let (b, n) =
        call_with("POST", &format!("/v1/routers/{rid}/backups"), Some(&admin), None, &[("idempotency-key", "count-b")])
            .await;
    assert_eq!(n, ops(&[("GetItem", 1), ("TransactWriteItems", 1)]));
    let bid = b["id"].as_str().unwrap().to_string();
    let (_, n) = call("GET", &format!("/v1/routers/{rid}/backups/{bid}"), Some(&admin), None).await;
    assert_eq!(n, ops(&[("BatchGetItem", 1)]), "the router and the backup in one read");
    let (_, n) = call("GET", &format!("/v1/routers/{rid}/backups"), Some(&admin), None).await;
    assert_eq!(n, ops(&[("GetItem", 1), ("Query", 1)]), "the router and the page, at once");
    // The edge: enrolment reads the router, its tunnel, the ISP's share and the block sequence;
    // one transaction; the concentrator's list is one Query.
    let (_, n) =
        call_with("POST", &format!("/v1/routers/{rid}/edge"), Some(&admin), None, &[("idempotency-key", "count-e")])
            .await;
    assert_eq!(n, ops(&[("GetItem", 2), ("BatchGetItem", 1), ("TransactWriteItems", 1)]));
    let (_, n) = call("GET", "/v1/edge/peers", Some(local_runner::LOCAL_EDGE_SYNC_TOKEN), None).await;
    assert_eq!(n, ops(&[("Query", 1)]));
    // RADIUS: authorize reads the subscriber's partition once; accounting reads it and writes
    // once (nothing for a repeat); post-auth writes once; the NAS list is one Query.
    let (r_now, _) = call("GET", &format!("/v1/routers/{rid}"), Some(&admin), None).await;
    let radius_router = call(
        "PATCH",
        &format!("/v1/routers/{rid}"),
        Some(&admin),
        Some(json!({"access_mode": "radius",
            "radius": {"secret": "count-radius-secret-0123"}, "version": r_now["version"]})),
    )
    .await;
    let tid = seeded.tenant_id.unwrap();
    let rrid: uuid::Uuid = rid.parse().unwrap();
    assert_eq!(radius_router.0["access_mode"], "radius");
    let answer = domain::radius::RadiusAnswer {
        tenant_id: tid,
        router_id: rrid,
        subscription_id: uuid::Uuid::now_v7(),
        customer_id: uuid::Uuid::now_v7(),
        username: "count-r1".into(),
        password_sealed: local.app.secrets.seal(b"pw-1", &domain::radius::answer_password_aad(tid, "count-r1")),
        grant: domain::radius::Grant::Open { profile: "home".into(), rate_limit: "5M/10M".into() },
        turbo: None,
        framed_ip: None,
        expires_at: None,
        one_session: true,
        interim_minutes: 5,
        timezone: "Asia/Dhaka".into(),
        subscription_version: 1,
        told: None,
        updated_at: e2e_tests::start_time(),
    };
    let k = store::keys::radius_answer(tid, "count-r1");
    local.app.store.put_many(vec![store::Store::encode(&k, "RADIUS_ANSWER", &answer, None).unwrap()]).await.unwrap();
    let nas = format!("{tid}/{rid}");
    let radius = |path: &'static str, body: Value| {
        let nas = nas.clone();
        let call_with = &call_with;
        async move {
            call_with("POST", path, Some(local_runner::LOCAL_RADIUS_API_TOKEN), Some(body), &[("x-radius-nas", &nas)])
                .await
        }
    };
    let name = json!({"type": "string", "value": ["count-r1"]});
    let (a, n) = radius("/v1/radius/authorize", json!({"User-Name": name})).await;
    assert_eq!(a["control:Cleartext-Password"], "pw-1");
    assert_eq!(n, ops(&[("Query", 1)]), "authorize: one read");
    let interim = json!({"User-Name": name, "Acct-Status-Type": {"value": ["Interim-Update"]},
        "Acct-Session-Id": {"value": ["c1"]}, "Acct-Input-Octets": {"value": [100]}, "Acct-Output-Octets": {"value": [900]}});
    let (_, n) = radius("/v1/radius/accounting", interim.clone()).await;
    assert_eq!(n, ops(&[("Query", 1), ("PutItem", 1)]), "accounting: one read, one write");
    let (_, n) = radius("/v1/radius/accounting", interim).await;
    assert_eq!(n, ops(&[("Query", 1)]), "a repeat writes nothing");
    // The edge's usage report for the NAS: the router and ISP in one read, the cursor's Query,
    // its write; a session reported stopped closes the subscriber's (one Query, one write).
    let report = |stopped: bool| json!({"sessions": [{"session_id": "c1", "username": "count-r1", "up_bytes": 100, "down_bytes": 900, "stopped": stopped}]});
    let (reported, n) = radius("/v1/radius/usage", report(false)).await;
    assert_eq!(reported["sessions"], 1, "{reported}");
    assert_eq!(
        n,
        ops(&[("BatchGetItem", 2), ("Query", 1), ("BatchWriteItem", 1)]),
        "a report: whose the name is, one cursor write"
    );
    let (_, n) = radius("/v1/radius/usage", report(false)).await;
    assert_eq!(n, ops(&[("BatchGetItem", 1), ("Query", 1), ("BatchWriteItem", 1)]), "the next: the cursor only");
    let (reported, n) = radius("/v1/radius/usage", report(true)).await;
    assert_eq!(reported["closed"], 1, "{reported}");
    assert_eq!(
        n,
        ops(&[("BatchGetItem", 1), ("Query", 1), ("GetItem", 1), ("BatchWriteItem", 1), ("PutItem", 1)]),
        "a Stop the API missed: the subscriber's sessions item read and closed"
    );
    let (_, n) = radius("/v1/radius/post-auth", json!({"User-Name": name})).await;
    assert_eq!(n, ops(&[("TransactWriteItems", 1)]));
    let (_, n) = call("GET", "/v1/radius/clients", Some(local_runner::LOCAL_RADIUS_API_TOKEN), None).await;
    assert_eq!(n, ops(&[("Query", 1)]));
    let (c2, _) = call(
        "POST",
        "/v1/customers",
        Some(&admin),
        Some(json!({"name": "Count Two", "phone": "01711-444557", "username": "count2"})),
    )
    .await;
    let c2 = c2["id"].as_str().unwrap().to_string();
    let (sub, n) = call(
        "POST",
        &format!("/v1/customers/{c2}/subscriptions"),
        Some(&admin),
        Some(json!({"package_id": pid, "router_id": r["id"], "billing_model": "prepaid"})),
    )
    .await;
    assert_eq!(
        n,
        ops(&[("BatchGetItem", 1), ("TransactWriteItems", 1)]),
        "customer, package, router, ISP and offer in one read"
    );
    let sid = sub["id"].as_str().unwrap().to_string();
    let (_, n) = call("GET", &format!("/v1/subscriptions/{sid}"), Some(&admin), None).await;
    assert_eq!(
        n,
        ops(&[("GetItem", 1), ("BatchGetItem", 1)]),
        "where it lives, then the subscription with its provisioning record"
    );
    let (_, n) = call("POST", &format!("/v1/subscriptions/{sid}/activate"), Some(&admin), None).await;
    // Activation issues the first invoice in the same transaction: ref; subscription+customer;
    // package; the books (ISP, account, number sequences); the ISP's discounts.
    assert_eq!(
        n,
        ops(&[("GetItem", 2), ("BatchGetItem", 2), ("Query", 1), ("TransactWriteItems", 1)]),
        "ref; subscription+customer; package; books; discounts"
    );
    let (list, _) =
        call("GET", &format!("/v1/invoices?customer_id={}", sub["customer_id"].as_str().unwrap()), Some(&admin), None)
            .await;
    let invoice = list["items"][0]["id"].as_str().unwrap().to_string();
    let (_, n) = call_with(
        "POST",
        "/v1/payments",
        Some(&admin),
        Some(json!({"invoice_id": invoice, "amount": 1, "method": "cash"})),
        &[("idempotency-key", "count-pay")],
    )
    .await;
    assert_eq!(
        n,
        ops(&[("GetItem", 2), ("BatchGetItem", 2), ("TransactWriteItems", 1)]),
        "earlier answer?; where the invoice lives; books; open invoices; one transaction"
    );
    let payer = sub["customer_id"].as_str().unwrap().to_string();
    // Paying the whole total once more leaves 1.01 of credit (the 0.01 paid and the 1.00
    // credited), all refunded.
    let total = list["items"][0]["total"].as_i64().unwrap();
    type Case<'a> = (&'a str, String, Option<Value>, Option<&'a str>, Vec<(&'a str, u64)>, &'a str);
    let billing: Vec<Case> = vec![
        (
            "POST",
            format!("/v1/invoices/{invoice}/credit-notes"),
            Some(json!({"amount": 100, "reason": "outage"})),
            Some("count-cn"),
            vec![("GetItem", 3), ("BatchGetItem", 2), ("TransactWriteItems", 1)],
            "earlier answer?; ref; invoice; books; open invoices; one transaction",
        ),
        (
            "GET",
            format!("/v1/invoices/{invoice}/credit-notes"),
            None,
            None,
            vec![("GetItem", 2), ("Query", 1)],
            "ref; invoice; its notes",
        ),
        (
            "POST",
            "/v1/payments".into(),
            Some(json!({"customer_id": payer, "amount": total, "method": "cash"})),
            Some("count-adv"),
            vec![("GetItem", 2), ("BatchGetItem", 3), ("TransactWriteItems", 1)],
            "earlier answer?; customer; books; open invoices; the subscription it extends",
        ),
        (
            "POST",
            format!("/v1/customers/{payer}/refunds"),
            Some(json!({"amount": 101, "method": "cash", "reason": "moved away"})),
            Some("count-rf"),
            vec![("GetItem", 2), ("BatchGetItem", 1), ("TransactWriteItems", 1)],
            "earlier answer?; customer; books",
        ),
        (
            "GET",
            format!("/v1/customers/{payer}/refunds"),
            None,
            None,
            vec![("GetItem", 1), ("Query", 1)],
            "customer; refunds",
        ),
        (
            "GET",
            format!("/v1/customers/{payer}/account"),
            None,
            None,
            vec![("GetItem", 1), ("BatchGetItem", 1)],
            "customer; account",
        ),
        (
            "GET",
            format!("/v1/customers/{payer}/ledger"),
            None,
            None,
            vec![("GetItem", 1), ("Query", 1)],
            "customer; ledger",
        ),
        (
            "POST",
            "/v1/billing/preview".into(),
            Some(json!({"as_of": "2099-01-01T00:00:00Z"})),
            None,
            vec![("GetItem", 1), ("Query", 2 + 2 * u64::from(store::keys::EXPIRY_SHARDS))],
            "ISP; packages; discounts; the billing index's shards, prepaid and postpaid",
        ),
        (
            "GET",
            "/v1/reports/collections?from=2026-01-01&to=2026-12-31".into(),
            None,
            None,
            vec![("GetItem", 1), ("Query", 12)],
            "ISP; one Query per month, never the payments",
        ),
        ("GET", "/v1/reports/dues".into(), None, None, vec![("GetItem", 1), ("Query", 1)], "ISP; the dues aggregate"),
        (
            "GET",
            "/v1/reports/revenue?from=2026-01&to=2026-12".into(),
            None,
            None,
            vec![("GetItem", 1), ("Query", 1), ("BatchGetItem", 1)],
            "ISP; the year's aggregate; package names",
        ),
    ];
    for (method, path, body, key, want, why) in billing {
        let headers: Vec<(&str, &str)> = key.map(|k| vec![("idempotency-key", k)]).unwrap_or_default();
        let (_, n) = call_with(method, &path, Some(&admin), body, &headers).await;
        assert_eq!(n, ops(&want), "{method} {path}: {why}");
    }
    let (draft, n) = call(
        "POST",
        "/v1/invoices",
        Some(&admin),
        Some(json!({"customer_id": payer, "lines": [{"description": "Cable", "unit_amount": 1_000}]})),
    )
    .await;
    assert_eq!(n, ops(&[("GetItem", 2), ("Query", 1), ("TransactWriteItems", 1)]), "customer; ISP; discounts");
    let did = draft["id"].as_str().unwrap().to_string();
    let line = json!({"description": "Clips", "unit_amount": 100, "version": 1});
    let (_, n) = call("POST", &format!("/v1/invoices/{did}/lines"), Some(&admin), Some(line)).await;
    assert_eq!(n, ops(&[("GetItem", 3), ("Query", 1), ("TransactWriteItems", 1)]), "ref; draft; ISP; discounts");
    let (_, n) = call("POST", &format!("/v1/invoices/{did}/issue"), Some(&admin), None).await;
    assert_eq!(n, ops(&[("GetItem", 2), ("BatchGetItem", 1), ("TransactWriteItems", 1)]), "ref; draft; books");
    let (_, n) = call("GET", &format!("/v1/invoices/{did}/pdf"), Some(&admin), None).await;
    assert_eq!(n, ops(&[("GetItem", 2), ("BatchGetItem", 1)]), "ref; invoice; ISP and customer");
    let (_, n) =
        call("POST", &format!("/v1/invoices/{did}/void"), Some(&admin), Some(json!({"reason": "wrong customer"})))
            .await;
    assert_eq!(n, ops(&[("GetItem", 2), ("BatchGetItem", 1), ("TransactWriteItems", 1)]), "ref; invoice; books");
    let (_, n) = call("POST", &format!("/v1/subscriptions/{sid}/suspend"), Some(&admin), None).await;
    assert_eq!(n, ops(&[("GetItem", 1), ("BatchGetItem", 1), ("TransactWriteItems", 1)]));
    let (_, n) = call("GET", "/v1/subscriptions?status=suspended", Some(&admin), None).await;
    assert_eq!(n, ops(&[("Query", 1)]));
    let (_, n) = call("GET", "/v1/subscriptions?expiring_before=2099-01-01T00:00:00Z", Some(&admin), None).await;
    assert_eq!(n, ops(&[("Query", store::keys::EXPIRY_SHARDS as u64)]), "one Query per shard of the expiry index");
    let (_, n) = call("GET", &format!("/v1/customers/{c2}/timeline"), Some(&admin), None).await;
    assert_eq!(n, ops(&[("GetItem", 1), ("Query", 1)]));
    let (_, n) = call("GET", &format!("/v1/customers/{c2}/subscriptions"), Some(&admin), None).await;
    assert_eq!(n, ops(&[("GetItem", 1), ("Query", 1)]));
    let (_, n) = call("GET", "/v1/dashboard", Some(&admin), None).await;
    assert_eq!(n, ops(&[("GetItem", 1), ("Query", 2)]), "counters, never a count of items");
    // Branches: made in one transaction, listed and read in one request each; a branch's
    // dashboard also reads the branch and its POPs.
    let (b, n) = call("POST", "/v1/branches", Some(&admin), Some(json!({"name": "Count", "code": "CNT"}))).await;
    assert_eq!(n, ops(&[("TransactWriteItems", 1)]));
    let bid = b["id"].as_str().unwrap().to_string();
    let (_, n) = call("GET", "/v1/branches", Some(&admin), None).await;
    assert_eq!(n, ops(&[("Query", 1)]));
    let (_, n) = call("GET", &format!("/v1/branches/{bid}"), Some(&admin), None).await;
    assert_eq!(n, ops(&[("GetItem", 1)]));
    let (_, n) = call("GET", &format!("/v1/dashboard?branch_id={bid}"), Some(&admin), None).await;
    assert_eq!(n, ops(&[("GetItem", 2), ("Query", 3)]), "the branch, its POPs, the ISP, its counters");
    // Platform analytics read the platform's own month items, never the ISPs'.
    let login = |email: &str, password: &str| {
        call("POST", "/v1/auth/login", None, Some(json!({"email": email, "password": password})))
    };
    let owner = login(&creds.owner_email, &creds.owner_password).await.0["access_token"].as_str().unwrap().to_string();
    let (_, n) = call("GET", "/v1/platform/analytics", Some(&owner), None).await;
    assert_eq!(n, ops(&[("BatchGetItem", 1), ("Query", 1)]), "the months' sums and revenue; the resellers");
    let reseller =
        login(&creds.reseller_email, &creds.reseller_password).await.0["access_token"].as_str().unwrap().to_string();
    let rid = seeded.reseller_id.unwrap();
    let (_, n) = call("GET", &format!("/v1/platform-resellers/{rid}/analytics"), Some(&reseller), None).await;
    assert_eq!(n, ops(&[("BatchGetItem", 1), ("Query", 1)]), "the months and the reseller; its ISPs now");
    let (_, n) = call("GET", &format!("/v1/operators/{}", u["id"].as_str().unwrap()), Some(&admin), None).await;
    assert_eq!(n, ops(&[("BatchGetItem", 1), ("Query", 1)]), "user and profile in one read; its offers");
    let (lead, n) =
        call("POST", "/v1/leads", Some(&admin), Some(json!({"name": "Count Lead", "phone": "01811-000777"}))).await;
    assert_eq!(n, ops(&[("BatchGetItem", 1), ("TransactWriteItems", 1)]));
    let (_, n) = call(
        "PATCH",
        &format!("/v1/leads/{}", lead["id"].as_str().unwrap()),
        Some(&admin),
        Some(json!({"stage": "survey", "version": 1})),
    )
    .await;
    assert_eq!(n, ops(&[("BatchGetItem", 1), ("TransactWriteItems", 1)]), "lead and ISP in one read");

    // The subscriber portal (the seed's Rahim): login, then one round trip per page but the
    // subscriptions' (their packages' speeds are a second read).
    let (session, n) = call_with(
        "POST",
        "/v1/portal/auth/login",
        None,
        Some(json!({"login": "rahim", "password": "rahim-portal-1"})),
        &[("x-isp", "demo-isp")],
    )
    .await;
    assert_eq!(
        n,
        ops(&[("GetItem", 3), ("UpdateItem", 2), ("BatchGetItem", 1), ("TransactWriteItems", 1)]),
        "the ISP's code, the ISP, the source's and the login's attempts, the login's sentinel, [customer, portal login], the session"
    );
    let me = session["access_token"].as_str().unwrap().to_string();
    let (_, n) = call("GET", "/v1/portal/me", Some(&me), None).await;
    assert_eq!(n, ops(&[("BatchGetItem", 1)]), "customer, ISP and account in one read");
    let (_, n) = call("GET", "/v1/portal/subscriptions", Some(&me), None).await;
    assert_eq!(n, ops(&[("Query", 1), ("BatchGetItem", 1)]));
    let (invoices, n) = call("GET", "/v1/portal/invoices", Some(&me), None).await;
    assert_eq!(n, ops(&[("Query", 1)]));
    let inv = invoices["items"][0]["id"].as_str().unwrap().to_string();
    let (_, n) = call("GET", &format!("/v1/portal/invoices/{inv}"), Some(&me), None).await;
    assert_eq!(n, ops(&[("GetItem", 1)]));
    for path in ["/v1/portal/payments", "/v1/portal/payment-methods", "/v1/portal/notifications"] {
        let (_, n) = call("GET", path, Some(&me), None).await;
        assert_eq!(n, ops(&[("Query", 1)]), "{path}");
    }
    let (_, n) = call("GET", "/v1/portal/balance", Some(&me), None).await;
    assert_eq!(n, ops(&[("BatchGetItem", 1)]));
    // Usage: the day records' Query sent beside the read of the subscription and ISP, then the
    // router's cursor (today's figures) in a second round trip.
    let subs = call("GET", "/v1/portal/subscriptions", Some(&me), None).await.0;
    let sid = subs[0]["id"].as_str().unwrap().to_string();
    let (_, n) = call("GET", &format!("/v1/portal/subscriptions/{sid}/usage"), Some(&me), None).await;
    assert_eq!(n, ops(&[("Query", 2), ("BatchGetItem", 1)]), "two round trips");
    // A browser's request from an origin: the origin's pointer, once more.
    let (_, n) = call_with("GET", "/v1/portal/me", Some(&me), None, &[("origin", "https://portal.count.test")]).await;
    assert_eq!(n, ops(&[("GetItem", 1), ("BatchGetItem", 1)]));
    local.stop().await;
}
