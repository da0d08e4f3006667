//! Hotspot voucher plans through the local runner: made with checked fields and a unique name,
//! listed, changed with their version, retired; only staff who manage packages may.

use e2e_tests::Env;
use serde_json::json;

#[tokio::test]
async fn voucher_plans_are_checked_unique_versioned_and_retired() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let mut made = vec![];
    for (name, hours, mb, rate, price) in domain::voucher::EXAMPLES {
        let body = json!({"name": name, "validity_hours": hours, "validity_from": "first_login",
            "data_limit_mb": mb, "rate_limit": rate, "price": price * 100});
        made.push(env.send("POST", "/v1/voucher-plans", Some(&admin), Some(body)).await.expect(201));
    }
    assert_eq!(made[0]["router_profile"], "vp-1gb-daily");
    assert_eq!((made[0]["currency"].as_str(), made[0]["shared_users"].as_i64()), (Some("BDT"), Some(1)));
    assert!(made[3]["data_limit_mb"].is_null(), "unlimited");
    let listed = env.send("GET", "/v1/voucher-plans", Some(&admin), None).await.expect(200);
    let names: Vec<&str> = listed["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["1GB-DAILY", "20GB-MONTHLY", "5GB-WEEKLY", "UNLIMITED-DAILY"]);

    // Bad input, a taken name (in any case), a stale version: refused, nothing written.
    let before = env.table_snapshot().await;
    for (body, status) in [
        (
            json!({"name": "1gb-daily", "validity_hours": 24, "validity_from": "first_login", "data_limit_mb": null, "rate_limit": "1M/1M", "price": 100}),
            409,
        ),
        (
            json!({"name": "X", "validity_hours": 0, "validity_from": "first_login", "data_limit_mb": 0, "rate_limit": "fast", "price": -1}),
            422,
        ),
        (
            json!({"name": "bad/name", "validity_hours": 1, "validity_from": "first_login", "data_limit_mb": null, "rate_limit": "1M", "price": 1}),
            422,
        ),
        (
            json!({"name": "Y", "validity_hours": 1, "validity_from": "whenever", "data_limit_mb": null, "rate_limit": "1M", "price": 1}),
            422,
        ),
        (
            json!({"name": "Z", "validity_hours": 1, "validity_from": "activation", "data_limit_mb": null, "rate_limit": "1M", "price": 1, "colour": "red"}),
            422,
        ),
    ] {
        let a = env.send("POST", "/v1/voucher-plans", Some(&admin), Some(body.clone())).await;
        assert!(a.status == status || (status == 422 && a.status == 400), "{body}: {} {:#}", a.status, a.body);
    }
    let id = made[0]["id"].as_str().unwrap();
    let stale = env
        .send("PATCH", &format!("/v1/voucher-plans/{id}"), Some(&admin), Some(json!({"price": 2500, "version": 7})))
        .await;
    assert_eq!(stale.status, 409);
    let bad = env
        .send("PATCH", &format!("/v1/voucher-plans/{id}"), Some(&admin), Some(json!({"shared_users": 0, "version": 1})))
        .await;
    assert_eq!(bad.status, 422);
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);

    // Changed and retired; its name and router profile stay.
    let changed = env
        .send(
            "PATCH",
            &format!("/v1/voucher-plans/{id}"),
            Some(&admin),
            Some(json!({"price": 2500, "data_limit_mb": null, "status": "retired", "version": 1})),
        )
        .await
        .expect(200);
    assert_eq!(
        (
            changed["price"].as_i64(),
            changed["data_limit_mb"].is_null(),
            changed["status"].as_str(),
            changed["router_profile"].as_str()
        ),
        (Some(2500), true, Some("retired"), Some("vp-1gb-daily"))
    );

    // The examples a second time, and for another ISP: nothing added here, all four there.
    let again = env.send("POST", "/v1/voucher-plans/examples", Some(&admin), None).await.expect(200);
    assert_eq!(again["items"].as_array().unwrap().len(), 4);
    let (_, fresh) = env.other_tenant("vouchers-examples").await;
    let theirs = env.send("POST", "/v1/voucher-plans/examples", Some(&fresh), None).await.expect(200);
    let theirs: Vec<&str> = theirs["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(theirs, ["1GB-DAILY", "20GB-MONTHLY", "5GB-WEEKLY", "UNLIMITED-DAILY"]);

    // Staff without package rights may look, not change; another ISP sees none of it.
    let (_, staff) = env.create_user(&admin, "staff", "staff@vouchers.test", None).await;
    env.send("GET", &format!("/v1/voucher-plans/{id}"), Some(&staff), None).await.expect(200);
    let denied = env
        .send("PATCH", &format!("/v1/voucher-plans/{id}"), Some(&staff), Some(json!({"price": 1, "version": 2})))
        .await;
    assert_eq!(denied.status, 403);
    let (_, other) = env.other_tenant("vouchers-other").await;
    assert_eq!(env.send("GET", &format!("/v1/voucher-plans/{id}"), Some(&other), None).await.status, 404);
    let theirs = env.send("GET", "/v1/voucher-plans", Some(&other), None).await.expect(200);
    assert!(theirs["items"].as_array().unwrap().is_empty());
}

const HOTSPOT_USER: &str = "/ip/hotspot/user";
const HOTSPOT_PROFILE: &str = "/ip/hotspot/user/profile";

/// Waits (up to 20 s) until `f` holds for the JSON at `path`.
async fn wait_for(
    env: &Env,
    token: &str,
    path: &str,
    what: &str,
    f: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    for _ in 0..400 {
        let a = env.send("GET", path, Some(token), None).await;
        if a.status == 200 && f(&a.body) {
            return a.body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{what}: {path} never got there");
}

async fn health_job(env: &Env) {
    let now = env.clock.now().to_rfc3339();
    env.send("POST", "/_local/jobs/job-router-health", None, Some(json!({"time": now}))).await.expect(200);
}

/// The acceptance path: a plan and a batch of 200 on the demo router; the vouchers generated by
/// the job, printed (the PDF read back holds every code), exported, provisioned as hotspot users
/// with the plan's profile; a login activates one, its data limit uses it up, validity expires
/// another, a disabled one is removed, an unused one changes seller; the router's full
/// reconcile keeps them; operators see only what they sell.
#[tokio::test]
async fn a_batch_is_generated_printed_provisioned_and_lives_on_the_router() {
    let env = Env::start_with_router().await;
    let mut admin = env.admin().await;
    let router = env.router.as_ref().unwrap();
    let rid = env.demo_router(&admin).await;
    let plan = env
        .send(
            "POST",
            "/v1/voucher-plans",
            Some(&admin),
            Some(json!({"name": "1GB-DAILY", "validity_hours": 24, "validity_from": "first_login",
                "data_limit_mb": 1, "rate_limit": "5M/5M", "shared_users": 2, "price": 2000})),
        )
        .await
        .expect(201);
    let plan_id = plan["id"].as_str().unwrap();
    let body = json!({"plan_id": plan_id, "quantity": 200, "prefix": "cafe", "code_length": 8,
        "placement": {"type": "router", "router_id": rid}, "note": "Campus café"});

    // No key, bad input, a router of nobody: refused, nothing written (the seed's subscribers'
    // provisioning records may still be landing meanwhile: not this request's).
    let ours = |mut t: std::collections::BTreeMap<String, String>| {
        t.retain(|k, _| !k.contains("|PROV#"));
        t
    };
    let before = ours(env.table_snapshot().await);
    let a = env.send("POST", "/v1/voucher-batches", Some(&admin), Some(body.clone())).await;
    assert_eq!((a.status, a.code()), (400, "idempotency_key_required"));
    for bad in [
        json!({"plan_id": plan_id, "quantity": 10_001, "placement": {"type": "all"}}),
        json!({"plan_id": plan_id, "quantity": 5, "code_length": 3, "placement": {"type": "all"}}),
        json!({"plan_id": plan_id, "quantity": 5, "prefix": "no-dash", "placement": {"type": "all"}}),
        json!({"plan_id": plan_id, "quantity": 5, "placement": {"type": "router", "router_id": uuid::Uuid::nil()}}),
        json!({"plan_id": uuid::Uuid::nil(), "quantity": 5, "placement": {"type": "all"}}),
        json!({"plan_id": plan_id, "quantity": 5, "placement": {"type": "everywhere"}}),
        json!({"plan_id": plan_id, "quantity": 5, "placement": {"type": "all"}, "login_url": "ftp://x"}),
    ] {
        let a = env
            .send_with("POST", "/v1/voucher-batches", Some(&admin), Some(bad.clone()), &[("idempotency-key", "bad")])
            .await;
        assert_eq!(a.status, 422, "{bad}: {:#}", a.body);
    }
    e2e_tests::assert_unchanged(&before, &ours(env.table_snapshot().await));

    let key = [("idempotency-key", "batch-1")];
    let batch = env.send_with("POST", "/v1/voucher-batches", Some(&admin), Some(body.clone()), &key).await.expect(201);
    let bid = batch["id"].as_str().unwrap().to_string();
    assert_eq!((batch["prefix"].as_str(), batch["router_ids"][0].as_str()), (Some("CAFE"), Some(rid.as_str())));
    let again = env.send_with("POST", "/v1/voucher-batches", Some(&admin), Some(body), &key).await;
    assert_eq!(again.body["id"], bid.as_str(), "a repeat answers the first batch");

    // Generated by the job, then placed on the router.
    let path = format!("/v1/voucher-batches/{bid}");
    let shown = wait_for(&env, &admin, &path, "batch on the router", |b| {
        b["status"] == "ready" && b["routers"][0]["converged"] == 200
    })
    .await;
    assert_eq!((shown["generated"].as_u64(), shown["routers"][0]["failed"].as_u64()), (Some(200), Some(0)));
    // Two pages of 100, in print order.
    let mut vouchers = Vec::new();
    let mut next = format!("/v1/vouchers?batch={bid}&limit=100");
    loop {
        let page = env.send("GET", &next, Some(&admin), None).await.expect(200);
        vouchers.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => next = format!("/v1/vouchers?batch={bid}&limit=100&cursor={c}"),
            None => break,
        }
    }
    assert!(vouchers.iter().enumerate().all(|(i, v)| v["seq"] == i), "in print order");
    assert_eq!(vouchers.len(), 200);
    let codes: Vec<String> = vouchers.iter().map(|v| v["code"].as_str().unwrap().to_string()).collect();
    let distinct: std::collections::BTreeSet<&String> = codes.iter().collect();
    assert_eq!(distinct.len(), 200, "codes are unique");
    for c in &codes {
        assert!(c.starts_with("CAFE") && c.len() == 12, "{c}");
        assert!(c[4..].chars().all(|ch| domain::voucher::CODE_ALPHABET.contains(&(ch as u8))), "{c}");
    }
    assert!(vouchers.iter().all(|v| v["status"] == "unused" && v["password"] == v["code"]));

    // On the router: the plan's profile (speed, devices), each voucher a hotspot user with its data limit.
    let profile = router.find(HOTSPOT_PROFILE, "vp-1gb-daily").expect("the plan's profile is on the router");
    assert_eq!((profile["rate-limit"].as_str(), profile["shared-users"].as_str()), ("5M/5M", "2"));
    let users = router.items(HOTSPOT_USER);
    assert_eq!(users.len(), 200);
    let first = router.find(HOTSPOT_USER, &codes[0]).unwrap();
    assert_eq!(
        (first["profile"].as_str(), first["password"].as_str(), first["limit-bytes-total"].as_str()),
        ("vp-1gb-daily", codes[0].as_str(), "1048576")
    );

    // Printed: A4 sheets of 24 cards, every code on them; the CSV has them all with passwords.
    let pdf = env.get_raw(&format!("{path}/pdf"), &admin).await;
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let bytes = pdf.bytes().await.unwrap();
    let doc = lopdf::Document::load_mem(&bytes).unwrap();
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    assert_eq!(pages.len(), 9, "200 cards, 24 to a page");
    let text = doc.extract_text(&pages).unwrap();
    for c in &codes {
        assert!(text.contains(&format!("Code: {c}")), "{c} is printed");
    }
    assert!(text.contains("1 day - 1 MB") && text.contains("1GB-DAILY"), "{}", &text[..300.min(text.len())]);
    // A part of the sheets: cards 25 to 72 on two pages, nothing else; a bad part is refused.
    let part = env.get_raw(&format!("{path}/pdf?from=25&to=72"), &admin).await;
    assert_eq!(part.status(), 200);
    let doc = lopdf::Document::load_mem(&part.bytes().await.unwrap()).unwrap();
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    let text = doc.extract_text(&pages).unwrap();
    assert_eq!(pages.len(), 2);
    assert!(codes[24..72].iter().all(|c| text.contains(&format!("Code: {c}"))));
    assert!(!text.contains(&format!("Code: {}", codes[23])) && !text.contains(&format!("Code: {}", codes[72])));
    for bad in ["?from=0&to=5", "?from=5&to=4", "?from=1&to=201", "?from=1", "?from=a&to=2", "?page=1"] {
        assert_eq!(env.send("GET", &format!("{path}/pdf{bad}"), Some(&admin), None).await.status, 422, "{bad}");
    }
    let csv = env.get_raw(&format!("{path}/csv"), &admin).await.text().await.unwrap();
    assert_eq!(csv.lines().count(), 201);
    let rows = env.xlsx_rows(&format!("{path}/csv?format=xlsx"), &admin).await;
    assert_eq!(rows.len(), 201);
    assert_eq!((rows[1][0].as_str(), rows[1][1].as_str(), rows[1][3].as_str()), ("1", codes[0].as_str(), "1GB-DAILY"));
    assert_eq!(env.send("GET", &format!("{path}/csv?format=pdf"), Some(&admin), None).await.status, 422);
    assert!(csv.lines().nth(1).unwrap().starts_with(&format!("1,{0},{0},1GB-DAILY,", codes[0])), "{csv}");

    // A login on the router activates a voucher (its day starts); its counters reaching the
    // limit use it up, and it leaves the router.
    let code = &codes[0];
    router.with_state(|s| s.login_hotspot(code, "10.5.50.10", "AA:BB:CC:00:00:01")).unwrap();
    health_job(&env).await;
    let v =
        wait_for(&env, &admin, &format!("/v1/vouchers/{code}"), "activated by its login", |v| v["status"] == "active")
            .await;
    let started = env.clock.now();
    assert_eq!(
        v["first_login_at"].as_str().map(|t| t.parse::<chrono::DateTime<chrono::Utc>>().unwrap()),
        Some(started)
    );
    assert_eq!(v["seconds_left"], 24 * 3600);
    router.with_state(|s| s.use_hotspot_bytes(code, 300_000, 200_000)).unwrap();
    health_job(&env).await;
    wait_for(&env, &admin, &format!("/v1/vouchers/{code}"), "usage counted", |v| v["bytes_used"] == 500_000).await;
    router.with_state(|s| s.use_hotspot_bytes(code, 300_000, 300_000)).unwrap();
    health_job(&env).await;
    let v = wait_for(&env, &admin, &format!("/v1/vouchers/{code}"), "used up", |v| v["status"] == "used_up").await;
    assert_eq!(v["bytes_left"], 0);
    assert!(env.eventually(|| router.find(HOTSPOT_USER, code).is_none()).await, "a used-up voucher leaves the router");

    // Validity: another voucher logs in, a day passes, the expiry job ends it.
    let second = &codes[1];
    router.with_state(|s| s.login_hotspot(second, "10.5.50.11", "AA:BB:CC:00:00:02")).unwrap();
    health_job(&env).await;
    wait_for(&env, &admin, &format!("/v1/vouchers/{second}"), "second active", |v| v["status"] == "active").await;
    env.clock.advance(chrono::Duration::hours(24));
    admin = env.admin().await;
    let now = env.clock.now().to_rfc3339();
    env.send("POST", "/_local/jobs/job-voucher-expiry", None, Some(json!({"time": now}))).await.expect(200);
    wait_for(&env, &admin, &format!("/v1/vouchers/{second}"), "expired", |v| v["status"] == "expired").await;
    assert!(
        env.eventually(|| router.find(HOTSPOT_USER, second).is_none()).await,
        "an expired voucher leaves the router"
    );

    // Disabled by staff: removed; a second disable is a conflict.
    let third = &codes[2];
    let d = env.send("POST", &format!("/v1/vouchers/{third}/disable"), Some(&admin), None).await.expect(200);
    assert_eq!(d["status"], "disabled");
    assert!(
        env.eventually(|| router.find(HOTSPOT_USER, third).is_none()).await,
        "a disabled voucher leaves the router"
    );
    assert_eq!(env.send("POST", &format!("/v1/vouchers/{third}/disable"), Some(&admin), None).await.status, 409);

    // Transfer: an unused one to an operator (who then sees it, and only it); a used one cannot move.
    let (op_id, op_token) = env.create_user(&admin, "operator", "op-vouchers@example.com", None).await;
    let fourth = &codes[3];
    let t = env
        .send("POST", &format!("/v1/vouchers/{fourth}/transfer"), Some(&admin), Some(json!({"operator_id": op_id})))
        .await
        .expect(200);
    assert_eq!(t["operator_id"], op_id.as_str());
    let moved = env
        .send("POST", &format!("/v1/vouchers/{code}/transfer"), Some(&admin), Some(json!({"operator_id": op_id})))
        .await;
    assert_eq!(moved.status, 409);
    let mine = env.send("GET", "/v1/vouchers?status=unused", Some(&op_token), None).await.expect(200);
    let mine: Vec<&str> = mine["items"].as_array().unwrap().iter().map(|v| v["code"].as_str().unwrap()).collect();
    assert_eq!(mine, [fourth.as_str()]);
    assert_eq!(env.send("GET", &format!("/v1/vouchers/{}", codes[5]), Some(&op_token), None).await.status, 404);
    assert_eq!(
        env.send("GET", &path, Some(&op_token), None).await.status,
        404,
        "the ISP's batch is not the operator's"
    );
    assert_eq!(env.send("POST", &format!("/v1/vouchers/{fourth}/disable"), Some(&op_token), None).await.status, 403);
    let by_status = env.send("GET", "/v1/vouchers?status=used_up", Some(&admin), None).await.expect(200);
    assert_eq!(by_status["items"].as_array().unwrap().len(), 1);
    assert_eq!(env.send("GET", "/v1/vouchers", Some(&admin), None).await.status, 422, "a listing needs a criterion");

    // The router's full reconcile keeps the vouchers and finds nothing unknown.
    env.send("POST", &format!("/v1/routers/{rid}/reconcile"), Some(&admin), None).await.expect(202);
    let report =
        wait_for(&env, &admin, &format!("/v1/routers/{rid}/reconcile"), "reconcile", |r| r["finished_at"].is_string())
            .await;
    assert_eq!((report["unknown_count"].as_u64(), report["failed"].as_u64()), (Some(0), Some(0)), "{report:#}");
    assert_eq!(router.items(HOTSPOT_USER).len(), 197, "197 vouchers still sellable on the router");
}

/// Selling from an operator's wallet: 50 sales at once on a wallet that holds enough for 10 sell
/// exactly 10, the balance ends at 0 and its ledger adds up; a repeat of a sale answers the first
/// result without paying twice; a refund returns the price and takes the voucher back.
#[tokio::test]
async fn fifty_concurrent_sales_on_a_wallet_for_ten_sell_exactly_ten() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let (op, seller) = env.create_user(&admin, "operator", "voucher-seller@example.com", None).await;
    let plan = env
        .send(
            "POST",
            "/v1/voucher-plans",
            Some(&admin),
            Some(json!({"name": "3H-CAFE", "validity_hours": 3, "validity_from": "activation",
                "data_limit_mb": null, "rate_limit": "2M/2M", "price": 2000})),
        )
        .await
        .expect(201);
    let batch = env
        .send_with(
            "POST",
            "/v1/voucher-batches",
            Some(&admin),
            Some(json!({"plan_id": plan["id"], "quantity": 60, "placement": {"type": "all"}, "operator_id": op})),
            &[("idempotency-key", "sales-batch")],
        )
        .await
        .expect(201);
    let bid = batch["id"].as_str().unwrap();
    wait_for(&env, &admin, &format!("/v1/voucher-batches/{bid}"), "generated", |b| b["status"] == "ready").await;
    let listed = env.send("GET", &format!("/v1/vouchers?batch={bid}&limit=100"), Some(&seller), None).await.expect(200);
    let codes: Vec<String> =
        listed["items"].as_array().unwrap().iter().map(|v| v["code"].as_str().unwrap().to_string()).collect();
    assert_eq!(codes.len(), 60, "the operator sees the vouchers it sells");
    env.send_with(
        "POST",
        &format!("/v1/operators/{op}/wallet/top-ups"),
        Some(&admin),
        Some(json!({"amount": 20_000, "method": "cash"})),
        &[("idempotency-key", "sales-topup")],
    )
    .await
    .expect(201);

    let sales = futures::future::join_all(codes[..50].iter().map(|c| {
        let (env, seller) = (&env, &seller);
        async move {
            let key = format!("sale-{c}");
            env.send_with(
                "POST",
                &format!("/v1/vouchers/{c}/sell"),
                Some(seller),
                Some(json!({"buyer_phone": "01711000000"})),
                &[("idempotency-key", key.as_str())],
            )
            .await
        }
    }))
    .await;
    let sold: Vec<&e2e_tests::Answer> = sales.iter().filter(|a| a.status == 200).collect();
    assert_eq!(sold.len(), 10, "{:?}", sales.iter().map(|a| a.status).collect::<Vec<_>>());
    assert!(sales.iter().filter(|a| a.status != 200).all(|a| a.status == 409 && a.code() == "insufficient_balance"));
    for s in &sold {
        assert_eq!((s.body["status"].as_str(), s.body["sold_price"].as_i64()), (Some("active"), Some(2000)));
        assert_eq!(s.body["seconds_left"], 3 * 3600, "an activation plan starts at the sale");
    }
    let wallet = env.send("GET", &format!("/v1/operators/{op}/wallet"), Some(&admin), None).await.expect(200);
    assert_eq!(wallet["balance"], 0);
    let ledger =
        env.send("GET", &format!("/v1/operators/{op}/wallet/ledger?limit=100"), Some(&admin), None).await.expect(200);
    let entries = ledger["items"].as_array().unwrap();
    assert_eq!(entries.len(), 11);
    assert_eq!(
        entries.iter().map(|e| e["amount"].as_i64().unwrap()).sum::<i64>(),
        0,
        "the ledger adds up to the balance"
    );
    assert_eq!(entries.iter().filter(|e| e["kind"] == "voucher_sale").count(), 10);

    // A repeated sale answers the first result; a new sale of a sold voucher is refused.
    let code = sold[0].body["code"].as_str().unwrap().to_string();
    let key = format!("sale-{code}");
    let again = env
        .send_with(
            "POST",
            &format!("/v1/vouchers/{code}/sell"),
            Some(&seller),
            Some(json!({"buyer_phone": "01711000000"})),
            &[("idempotency-key", key.as_str())],
        )
        .await
        .expect(200);
    assert_eq!(again["sold_at"], sold[0].body["sold_at"]);
    let twice = env
        .send_with("POST", &format!("/v1/vouchers/{code}/sell"), Some(&seller), None, &[("idempotency-key", "another")])
        .await;
    assert_eq!((twice.status, twice.code()), (409, "voucher_state"));
    let wallet = env.send("GET", &format!("/v1/operators/{op}/wallet"), Some(&admin), None).await.expect(200);
    assert_eq!(wallet["balance"], 0, "nothing paid twice");

    // The refund: the operator may not; the ISP does, once; the price returns.
    let path = format!("/v1/vouchers/{code}/refund");
    assert_eq!(env.send_with("POST", &path, Some(&seller), None, &[("idempotency-key", "r1")]).await.status, 403);
    let r = env.send_with("POST", &path, Some(&admin), None, &[("idempotency-key", "r1")]).await.expect(200);
    assert_eq!(r["status"], "refunded");
    let repeat = env.send_with("POST", &path, Some(&admin), None, &[("idempotency-key", "r1")]).await.expect(200);
    assert_eq!(repeat["version"], r["version"]);
    assert_eq!(env.send_with("POST", &path, Some(&admin), None, &[("idempotency-key", "r2")]).await.status, 409);
    let unsold = &codes[55];
    let a = env
        .send_with("POST", &format!("/v1/vouchers/{unsold}/refund"), Some(&admin), None, &[("idempotency-key", "r3")])
        .await;
    assert_eq!((a.status, a.code()), (409, "voucher_state"), "nothing to refund on an unsold voucher");
    let wallet = env.send("GET", &format!("/v1/operators/{op}/wallet"), Some(&admin), None).await.expect(200);
    assert_eq!(wallet["balance"], 2000);
    let ledger =
        env.send("GET", &format!("/v1/operators/{op}/wallet/ledger?limit=100"), Some(&admin), None).await.expect(200);
    assert_eq!(ledger["items"][0]["kind"], "voucher_refund");
}

/// A voucher sold with `send_sms` reaches its buyer's phone by SMS through the ISP's SMS account
/// (the fake SSL Wireless): code, password and the login link, in the ISP's `voucher_login`
/// template; `resend-sms` sends it again (to another phone too); a voucher that can no longer be
/// used, a phone that is none, and another ISP's caller send nothing.
#[tokio::test]
async fn a_sold_voucher_sends_its_login_by_sms_and_again_on_request() {
    use messaging::sms::SmsProvider;
    use messaging::testing::FakeSms;
    let env = Env::start().await;
    let admin = env.admin().await;
    let sms = FakeSms::start(SmsProvider::SslWireless, &[("api_token", "ssl-token-demo")]).await;
    crate::notifications::sms_channel(&env, &admin, &sms).await;
    let plan = env
        .send(
            "POST",
            "/v1/voucher-plans",
            Some(&admin),
            Some(json!({"name": "SMS-DAILY", "validity_hours": 24, "validity_from": "first_login",
                "data_limit_mb": 1024, "rate_limit": "5M/5M", "price": 3000})),
        )
        .await
        .expect(201);
    let batch = env
        .send_with(
            "POST",
            "/v1/voucher-batches",
            Some(&admin),
            Some(json!({"plan_id": plan["id"], "quantity": 2, "placement": {"type": "all"},
                "password_mode": "separate", "login_url": "https://wifi.example.net/login"})),
            &[("idempotency-key", "sms-batch")],
        )
        .await
        .expect(201);
    let bid = batch["id"].as_str().unwrap();
    wait_for(&env, &admin, &format!("/v1/voucher-batches/{bid}"), "generated", |b| b["status"] == "ready").await;
    let listed = env.send("GET", &format!("/v1/vouchers?batch={bid}"), Some(&admin), None).await.expect(200);
    let code = listed["items"][0]["code"].as_str().unwrap().to_string();
    let other_code = listed["items"][1]["code"].as_str().unwrap().to_string();
    let csv = env.get_raw(&format!("/v1/voucher-batches/{bid}/csv"), &admin).await.text().await.unwrap();
    let password = csv.lines().find(|l| l.contains(&code)).unwrap().split(',').nth(2).unwrap().to_string();
    assert!(!password.is_empty() && password != code, "a separate password: {csv}");

    let sold = env
        .send_with(
            "POST",
            &format!("/v1/vouchers/{code}/sell"),
            Some(&admin),
            Some(json!({"buyer_name": "Walk-in", "buyer_phone": "01719-800001", "send_sms": true})),
            &[("idempotency-key", "sms-sale")],
        )
        .await
        .expect(200);
    assert_eq!(sold["buyer_phone"], "+8801719800001");
    let to_buyer = |n: usize| {
        let sms = &sms;
        move || sms.messages().iter().filter(|m| m.to.ends_with("1719800001")).count() == n
    };
    assert!(env.eventually(to_buyer(1)).await, "the login reached the buyer: {:?}", sms.messages());
    let text = sms.messages().into_iter().find(|m| m.to.ends_with("1719800001")).unwrap().text;
    assert!(text.contains(&code) && text.contains(&password), "{text}");
    assert!(text.contains(&format!("https://wifi.example.net/login?username={code}&password={password}")), "{text}");
    assert!(text.contains("SMS-DAILY") && text.contains("1 day"), "{text}");

    // Again, to its buyer and to another phone; the event never carries the password.
    // The same resend repeated with its key: one SMS.
    for _ in 0..3 {
        let again = env
            .send_with(
                "POST",
                &format!("/v1/vouchers/{code}/resend-sms"),
                Some(&admin),
                Some(json!({})),
                &[("idempotency-key", "resend-1")],
            )
            .await;
        assert_eq!((again.status, again.body["phone"].as_str()), (202, Some("+8801719800001")));
    }
    let other = env
        .send("POST", &format!("/v1/vouchers/{code}/resend-sms"), Some(&admin), Some(json!({"phone": "01719800002"})))
        .await;
    assert_eq!(other.status, 202);
    assert!(env.eventually(to_buyer(2)).await, "{:?}", sms.messages());
    assert!(env.eventually(|| sms.messages().iter().any(|m| m.to.ends_with("1719800002"))).await);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(to_buyer(2)(), "the sale's SMS and one resend, however often it was repeated: {:?}", sms.messages());
    let table = env.table_snapshot().await;
    assert!(
        table.iter().filter(|(k, _)| k.contains("OUTBOX") || k.contains("#EVENT")).all(|(_, v)| !v.contains(&password)),
        "no event holds the password"
    );

    // A batch made for one buyer with send_sms: each voucher's login reaches the phone once made.
    let theirs = env
        .send_with(
            "POST",
            "/v1/voucher-batches",
            Some(&admin),
            Some(json!({"plan_id": plan["id"], "quantity": 3, "placement": {"type": "all"},
                "buyer_name": "Green School", "buyer_phone": "01719800005", "send_sms": true})),
            &[("idempotency-key", "sms-batch-2")],
        )
        .await
        .expect(201);
    let tid_batch = theirs["id"].as_str().unwrap();
    wait_for(&env, &admin, &format!("/v1/voucher-batches/{tid_batch}"), "generated", |b| b["status"] == "ready").await;
    let made = env.send("GET", &format!("/v1/vouchers?batch={tid_batch}"), Some(&admin), None).await.expect(200);
    let made: Vec<String> =
        made["items"].as_array().unwrap().iter().map(|v| v["code"].as_str().unwrap().to_string()).collect();
    assert_eq!(made.len(), 3);
    let school = || sms.messages().into_iter().filter(|m| m.to.ends_with("1719800005")).collect::<Vec<_>>();
    assert!(env.eventually(|| school().len() == 3).await, "{:?}", sms.messages());
    assert!(made.iter().all(|c| school().iter().any(|m| m.text.contains(c.as_str()))), "{:?}", school());
    for (body, field) in [
        (
            json!({"plan_id": plan["id"], "quantity": 21, "placement": {"type": "all"}, "buyer_phone": "01719800005", "send_sms": true}),
            "send_sms",
        ),
        (json!({"plan_id": plan["id"], "quantity": 2, "placement": {"type": "all"}, "send_sms": true}), "buyer_phone"),
    ] {
        let a = env
            .send_with(
                "POST",
                "/v1/voucher-batches",
                Some(&admin),
                Some(body.clone()),
                &[("idempotency-key", "sms-batch-3")],
            )
            .await;
        assert_eq!((a.status, a.body["errors"][0]["field"].as_str()), (422, Some(field)), "{body}");
    }

    // Refused: an unsold voucher without a phone, a phone that is none, a disabled voucher,
    // another ISP; nothing is written.
    env.send("POST", &format!("/v1/vouchers/{code}/disable"), Some(&admin), None).await.expect(200);
    let (_, intruder) = env.other_tenant("sms-intruder").await;
    let before = env.table_snapshot().await;
    for (token, c, body, status) in [
        (&admin, &other_code, json!({}), 422),
        (&admin, &other_code, json!({"phone": "not a phone"}), 422),
        (&admin, &code, json!({}), 409),
        (&intruder, &other_code, json!({"phone": "01719800003"}), 404),
        (&admin, &other_code, json!({"phone": "01719800003", "x": 1}), 422),
    ] {
        let a = env.send("POST", &format!("/v1/vouchers/{c}/resend-sms"), Some(token), Some(body.clone())).await;
        assert_eq!(a.status, status, "{body}: {:?}", a.body);
    }
    let sale = env
        .send_with(
            "POST",
            &format!("/v1/vouchers/{other_code}/sell"),
            Some(&admin),
            Some(json!({"send_sms": true})),
            &[("idempotency-key", "sms-sale-2")],
        )
        .await;
    assert_eq!((sale.status, sale.body["errors"][0]["field"].as_str()), (422, Some("buyer_phone")));
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
}

/// A voucher bought online: the ISP's staff open a checkout for a plan and the buyer's phone
/// (the fake Stripe), the buyer pays; on payment one of the counter's unsold vouchers is sold to
/// that phone, once however often the return arrives, and its login reaches the phone by SMS.
/// With none left, no checkout is opened.
#[tokio::test]
async fn a_voucher_bought_online_is_sold_once_and_its_login_sent_by_sms() {
    use crate::checkouts::{browser, checkout, location, stripe_account};
    use messaging::sms::SmsProvider;
    use messaging::testing::FakeSms;
    let env = Env::start().await;
    let admin = env.admin().await;
    let sms = FakeSms::start(SmsProvider::SslWireless, &[("api_token", "ssl-token-demo")]).await;
    crate::notifications::sms_channel(&env, &admin, &sms).await;
    let (_stripe, account_id) = stripe_account(&env, &admin).await;
    let plan = env
        .send(
            "POST",
            "/v1/voucher-plans",
            Some(&admin),
            Some(json!({"name": "WEB-WEEKLY", "validity_hours": 168, "validity_from": "activation",
                "data_limit_mb": 5120, "rate_limit": "10M/10M", "price": 15_000})),
        )
        .await
        .expect(201);
    let plan_id = plan["id"].as_str().unwrap().to_string();
    let body =
        |phone: &str| json!({"voucher_plan_id": plan_id, "buyer_phone": phone, "gateway_account_id": account_id});
    let none_yet = checkout(&env, &admin, "web-v-0", body("01719810000")).await;
    assert_eq!((none_yet.status, none_yet.code()), (409, "no_vouchers_left"), "{:?}", none_yet.body);
    let batch = env
        .send_with(
            "POST",
            "/v1/voucher-batches",
            Some(&admin),
            Some(json!({"plan_id": plan_id, "quantity": 1, "placement": {"type": "all"}})),
            &[("idempotency-key", "web-batch")],
        )
        .await
        .expect(201);
    let bid = batch["id"].as_str().unwrap();
    wait_for(&env, &admin, &format!("/v1/voucher-batches/{bid}"), "generated", |b| b["status"] == "ready").await;

    let created = checkout(&env, &admin, "web-v-1", body("01719810001")).await.expect(201);
    assert_eq!((created["amount"].as_i64(), created["for"]["kind"].as_str()), (Some(15_000), Some("voucher")));
    assert_eq!(created["for"]["phone"], "+8801719810001");
    let page = browser().get(created["redirect_url"].as_str().unwrap()).send().await.unwrap();
    let back = location(&page);
    let returns: Vec<_> = (0..8).map(|_| browser().get(&back).send()).collect();
    for r in futures::future::join_all(returns).await {
        assert_eq!(r.unwrap().status().as_u16(), 303);
    }
    let id = created["id"].as_str().unwrap();
    let paid = env.send("GET", &format!("/v1/checkouts/{id}"), Some(&admin), None).await.expect(200);
    assert_eq!(paid["state"], "paid", "{paid:#}");
    let listed = env.send("GET", &format!("/v1/vouchers?batch={bid}"), Some(&admin), None).await.expect(200);
    let v = &listed["items"][0];
    assert_eq!(
        (v["status"].as_str(), v["buyer_phone"].as_str(), v["sold_price"].as_i64()),
        (Some("active"), Some("+8801719810001"), Some(15_000))
    );
    let code = v["code"].as_str().unwrap().to_string();
    assert!(
        env.eventually(|| sms.messages().iter().any(|m| m.to.ends_with("1719810001") && m.text.contains(&code))).await
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(sms.messages().iter().filter(|m| m.to.ends_with("1719810001")).count(), 1, "sold and told once");

    // The only voucher is gone: no second checkout. Bad input and operators change nothing.
    let (_, op) = env.create_user(&admin, "operator", "web-op@vouchers.test", None).await;
    let before = env.table_snapshot().await;
    let gone = checkout(&env, &admin, "web-v-2", body("01719810002")).await;
    assert_eq!((gone.status, gone.code()), (409, "no_vouchers_left"));
    assert_eq!(checkout(&env, &op, "web-v-3", body("01719810002")).await.status, 403);
    for (b, field) in [
        (json!({"voucher_plan_id": plan_id, "gateway_account_id": account_id}), "buyer_phone"),
        (json!({"voucher_plan_id": plan_id, "buyer_phone": "x", "gateway_account_id": account_id}), "buyer_phone"),
        (
            json!({"voucher_plan_id": plan_id, "buyer_phone": "01719810002", "amount": 1, "gateway_account_id": account_id}),
            "amount",
        ),
        (
            json!({"customer_id": plan_id, "buyer_phone": "01719810002", "amount": 1, "gateway_account_id": account_id}),
            "buyer_phone",
        ),
        (
            json!({"voucher_plan_id": uuid::Uuid::now_v7(), "buyer_phone": "01719810002", "gateway_account_id": account_id}),
            "voucher_plan_id",
        ),
    ] {
        let a = checkout(&env, &admin, "web-v-4", b.clone()).await;
        assert_eq!((a.status, a.body["errors"][0]["field"].as_str()), (422, Some(field)), "{b}");
    }
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
}

/// Someone at the hotspot's login page, without an account, sees the ISP's plans and buys one
/// (the ISP found from the address): paid at the fake Stripe, a voucher is sold to the phone and
/// its login sent by SMS. A key is each phone's own; purchases are counted per phone.
#[tokio::test]
async fn a_voucher_is_bought_at_the_hotspot_login_page_without_an_account() {
    use crate::checkouts::{browser, location, stripe_account};
    use messaging::sms::SmsProvider;
    use messaging::testing::FakeSms;
    let env = Env::start().await;
    let admin = env.admin().await;
    let sms = FakeSms::start(SmsProvider::SslWireless, &[("api_token", "ssl-token-demo")]).await;
    crate::notifications::sms_channel(&env, &admin, &sms).await;
    let (_stripe, account_id) = stripe_account(&env, &admin).await;
    let plan = env
        .send("POST", "/v1/voucher-plans", Some(&admin),
            Some(json!({"name": "CAFE-DAY", "validity_hours": 24, "validity_from": "first_login", "rate_limit": "5M/5M", "price": 3_000})))
        .await
        .expect(201);
    let plan_id = plan["id"].as_str().unwrap().to_string();
    let batch = env
        .send_with(
            "POST",
            "/v1/voucher-batches",
            Some(&admin),
            Some(json!({"plan_id": plan_id, "quantity": 2, "placement": {"type": "all"}})),
            &[("idempotency-key", "cafe-batch")],
        )
        .await
        .expect(201);
    let bid = batch["id"].as_str().unwrap();
    wait_for(&env, &admin, &format!("/v1/voucher-batches/{bid}"), "generated", |b| b["status"] == "ready").await;

    // The shop, found by the ISP's code (a host would do too); none for an unknown ISP.
    let isp = [("x-isp", "demo-isp")];
    let shop = env.send_with("GET", "/v1/portal/voucher-plans", None, None, &isp).await.expect(200);
    assert!(
        shop["plans"].as_array().unwrap().iter().any(|p| p["id"] == plan_id.as_str() && p["price"] == 3_000),
        "{shop:#}"
    );
    assert!(shop["payment_methods"].to_string().contains(&account_id), "{shop:#}");
    assert!(shop.get("router_profile").is_none() && !shop.to_string().contains("vp-"), "no internal names");
    assert_eq!(
        env.send_with("GET", "/v1/portal/voucher-plans", None, None, &[("x-isp", "no-such-isp")]).await.status,
        404
    );

    let buy = |key: &str, phone: &str| {
        let (env, key, phone) = (&env, key.to_string(), phone.to_string());
        let body = json!({"voucher_plan_id": plan_id, "buyer_phone": phone, "gateway_account_id": account_id});
        async move {
            env.send_with(
                "POST",
                "/v1/portal/voucher-checkouts",
                None,
                Some(body),
                &[("x-isp", "demo-isp"), ("idempotency-key", &key)],
            )
            .await
        }
    };
    let created = buy("cafe-1", "01719820001").await.expect(201);
    assert_eq!((created["amount"].as_i64(), created["for"]["phone"].as_str()), (Some(3_000), Some("+8801719820001")));
    assert_eq!(buy("cafe-1", "01719820001").await.expect(201)["id"], created["id"], "the same buyer's repeat");
    let other = buy("cafe-1", "01719820002").await.expect(201);
    assert_ne!(other["id"], created["id"], "another phone's key is its own");
    let page = browser().get(created["redirect_url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(browser().get(location(&page)).send().await.unwrap().status().as_u16(), 303);
    let id = created["id"].as_str().unwrap();
    assert_eq!(env.send("GET", &format!("/v1/checkouts/{id}"), Some(&admin), None).await.expect(200)["state"], "paid");
    let sold = env.send("GET", &format!("/v1/vouchers?batch={bid}"), Some(&admin), None).await.expect(200);
    let v = sold["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["buyer_phone"] == "+8801719820001")
        .expect("sold to the buyer");
    let code = v["code"].as_str().unwrap().to_string();
    assert!(
        env.eventually(|| sms.messages().iter().any(|m| m.to.ends_with("1719820001") && m.text.contains(&code))).await
    );

    // Bad input, and a phone past its purchases this hour. Settled: the login SMS's outcome is
    // written after the provider answered.
    let before = env.settled_snapshot().await;
    let no_key = env
        .send_with(
            "POST",
            "/v1/portal/voucher-checkouts",
            None,
            Some(json!({"voucher_plan_id": plan_id, "buyer_phone": "01719820003", "gateway_account_id": account_id})),
            &isp,
        )
        .await;
    assert_eq!(no_key.status, 400, "a key is required");
    assert_eq!(buy("cafe-x", "12").await.status, 422);
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
    let mut statuses = vec![];
    for i in 0..6 {
        statuses.push(buy(&format!("cafe-many-{i}"), "01719820009").await.status);
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    // A retry of a purchase made before the limit still gets its checkout.
    assert_eq!(statuses[0], 201);
    assert_eq!(buy("cafe-many-0", "01719820009").await.status, 201, "a repeat is not a new purchase");
}
