use e2e_tests::Env;
use serde_json::{Value, json};

struct Setup {
    admin: String,
    customer: String,
    package: String,
    router: String,
}

async fn setup(env: &Env) -> Setup {
    let admin = env.admin().await;
    let customer = env.create_customer(&admin, "Sub Scriber", "01719-100001", "subscriber").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let package = env.create_package(&admin, "Gold 10M", "10M", 120_000).await["id"].as_str().unwrap().to_string();
    let router = env.create_router(&admin, "core-1", "10.1.0.1", None).await["id"].as_str().unwrap().to_string();
    Setup { admin, customer, package, router }
}

async fn customer(env: &Env, s: &Setup) -> Value {
    env.send("GET", &format!("/v1/customers/{}", s.customer), Some(&s.admin), None).await.expect(200)
}

async fn act(env: &Env, token: &str, id: &str, action: &str, body: Option<Value>) -> e2e_tests::Answer {
    env.send("POST", &format!("/v1/subscriptions/{id}/{action}"), Some(token), body).await
}

#[tokio::test]
async fn the_contract_and_every_transition_valid_or_not() {
    let env = Env::start().await;
    let mut s = setup(&env).await;
    let created = env
        .send(
            "POST",
            &format!("/v1/customers/{}/subscriptions", s.customer),
            Some(&s.admin),
            Some(
                json!({"package_id": s.package, "router_id": s.router, "username": "Sub.One", "password": "ppp-Secret1",
                "billing_model": "prepaid"}),
            ),
        )
        .await
        .expect(201);
    assert_eq!(
        (created["status"].as_str(), created["username"].as_str(), created["price"].as_i64()),
        (Some("pending"), Some("sub.one"), Some(120_000))
    );
    assert!(created.get("password").is_none() && !created.to_string().contains("ppp-Secret1"), "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(customer(&env, &s).await["status"], "new");

    // Refused from pending: suspend, restore. Then the happy path, each refused twice in a row.
    for bad in ["suspend", "restore"] {
        let a = act(&env, &s.admin, &id, bad, None).await;
        assert_eq!((a.status, a.code()), (409, "invalid_transition"), "{bad}");
        assert!(a.body["detail"].as_str().unwrap().contains("pending"), "names the current state: {:#}", a.body);
    }
    let active = act(&env, &s.admin, &id, "activate", None).await.expect(200);
    assert_eq!(active["status"], "active");
    let expires = chrono::DateTime::parse_from_rfc3339(active["expires_at"].as_str().unwrap()).unwrap();
    let days = (expires.with_timezone(&chrono::Utc) - env.clock.now()).num_days();
    assert_eq!(days, 30, "a prepaid subscription runs for its package's validity");
    assert_eq!(customer(&env, &s).await["status"], "active", "the customer's status follows");
    assert_eq!(act(&env, &s.admin, &id, "activate", None).await.status, 409);
    assert_eq!(act(&env, &s.admin, &id, "restore", None).await.status, 409);

    let suspended = act(&env, &s.admin, &id, "suspend", Some(json!({"reason": "unpaid"}))).await.expect(200);
    assert_eq!(
        (suspended["status"].as_str(), suspended["status_reason"].as_str()),
        (Some("suspended"), Some("unpaid"))
    );
    assert_eq!(customer(&env, &s).await["status"], "suspended");
    assert_eq!(act(&env, &s.admin, &id, "suspend", None).await.status, 409);
    assert_eq!(act(&env, &s.admin, &id, "activate", None).await.status, 409);
    let restored = act(&env, &s.admin, &id, "restore", None).await.expect(200);
    assert_eq!((restored["status"].as_str(), restored["status_reason"].is_null()), (Some("active"), true));

    // Past its validity it cannot be restored without an extension.
    act(&env, &s.admin, &id, "suspend", None).await.expect(200);
    env.clock.advance(chrono::Duration::days(31));
    s.admin = env.admin().await;
    let a = act(&env, &s.admin, &id, "restore", None).await;
    assert_eq!((a.status, a.code()), (409, "validity_ended"));
    let extended = act(&env, &s.admin, &id, "extend", Some(json!({"days": 3}))).await.expect(200);
    let e = chrono::DateTime::parse_from_rfc3339(extended["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!((e.with_timezone(&chrono::Utc) - env.clock.now()).num_days(), 3, "counted from now once expired");
    assert_eq!(extended["status"], "suspended", "an extension does not lift a suspension");
    act(&env, &s.admin, &id, "restore", None).await.expect(200);

    let cancelled = act(&env, &s.admin, &id, "cancel", Some(json!({"reason": "moved away"}))).await.expect(200);
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(customer(&env, &s).await["status"], "inactive");
    for any in ["activate", "suspend", "restore", "cancel", "reset-password"] {
        let a = act(&env, &s.admin, &id, any, None).await;
        assert_eq!((a.status, a.code()), (409, "invalid_transition"), "cancelled is final: {any}");
    }
    let a = act(&env, &s.admin, &id, "extend", Some(json!({"days": 1}))).await;
    assert_eq!(a.status, 409);

    // The username is free again for a new subscription.
    env.create_subscription(&s.admin, &s.customer, &s.package, &s.router, "sub.one").await;

    // Every change is on the customer's timeline, newest first.
    let tl = env.send("GET", &format!("/v1/customers/{}/timeline", s.customer), Some(&s.admin), None).await.expect(200);
    let actions: Vec<&str> = tl["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "subscription.created",
            "subscription.cancel",
            "subscription.restore",
            "subscription.extend",
            "subscription.suspend",
            "subscription.restore",
            "subscription.suspend",
            "subscription.activate",
            "invoice.issued",
            "subscription.created",
            "customer.created"
        ]
    );
}

#[tokio::test]
async fn usernames_are_unique_per_isp_even_when_created_at_once() {
    let env = Env::start().await;
    let s = setup(&env).await;
    let mut customers = vec![];
    for i in 0..6 {
        let c = env
            .create_customer(&s.admin, &format!("Racer {i}"), &format!("01719-20000{i}"), &format!("racer{i}"))
            .await;
        customers.push(c["id"].as_str().unwrap().to_string());
    }
    let paths: Vec<String> = customers.iter().map(|c| format!("/v1/customers/{c}/subscriptions")).collect();
    let answers = futures::future::join_all(paths.iter().map(|p| {
        env.send(
            "POST",
            p,
            Some(&s.admin),
            Some(json!({"package_id": s.package, "router_id": s.router, "username": "shared-name", "billing_model": "prepaid"})),
        )
    }))
    .await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    for a in answers.iter().filter(|a| a.status != 201) {
        assert_eq!((a.status, a.body["errors"][0]["field"].as_str()), (409, Some("username")));
    }
    let list = env.send("GET", "/v1/subscriptions?limit=200", Some(&s.admin), None).await.expect(200);
    let named = list["items"].as_array().unwrap().iter().filter(|x| x["username"] == "shared-name").count();
    assert_eq!(named, 1, "exactly one subscription holds the name");
    // A taken static IP is a 409 naming the field as well.
    let first = env
        .send(
            "POST",
            &format!("/v1/customers/{}/subscriptions", customers[0]),
            Some(&s.admin),
            Some(json!({"package_id": s.package, "router_id": s.router, "username": "ip-a", "ip_address": "10.20.0.5", "billing_model": "postpaid"})),
        )
        .await
        .expect(201);
    assert_eq!(first["billing_day"], 1, "the ISP's billing day by default");
    let dup = env
        .send(
            "POST",
            &format!("/v1/customers/{}/subscriptions", customers[1]),
            Some(&s.admin),
            Some(json!({"package_id": s.package, "router_id": s.router, "username": "ip-b", "ip_address": "10.20.0.5", "billing_model": "prepaid"})),
        )
        .await;
    assert_eq!((dup.status, dup.body["errors"][0]["field"].as_str()), (409, Some("ip_address")));
}

#[tokio::test]
async fn package_change_router_move_password_and_listings() {
    let env = Env::start().await;
    let s = setup(&env).await;
    let sub = env.create_subscription(&s.admin, &s.customer, &s.package, &s.router, "mover").await;
    let id = sub["id"].as_str().unwrap().to_string();
    act(&env, &s.admin, &id, "activate", None).await.expect(200);

    let faster = env.create_package(&s.admin, "Gold 20M", "20M", 180_000).await["id"].as_str().unwrap().to_string();
    let changed = act(&env, &s.admin, &id, "change-package", Some(json!({"package_id": faster}))).await.expect(200);
    assert_eq!((changed["package_name"].as_str(), changed["price"].as_i64()), (Some("Gold 20M"), Some(180_000)));
    let same = act(&env, &s.admin, &id, "change-package", Some(json!({"package_id": faster}))).await;
    assert_eq!(same.status, 422);
    // The old package is free now and can be deleted; the new one is in use.
    env.send("DELETE", &format!("/v1/packages/{}", s.package), Some(&s.admin), None).await.expect(204);
    let in_use = env.send("DELETE", &format!("/v1/packages/{faster}"), Some(&s.admin), None).await;
    assert_eq!((in_use.status, in_use.code()), (409, "package_in_use"));

    let other = env.create_router(&s.admin, "core-2", "10.1.0.2", None).await["id"].as_str().unwrap().to_string();
    let moved = act(&env, &s.admin, &id, "move-router", Some(json!({"router_id": other}))).await.expect(200);
    assert_eq!(moved["router_id"].as_str(), Some(other.as_str()));
    env.send("DELETE", &format!("/v1/routers/{}", s.router), Some(&s.admin), None).await.expect(204);
    let busy = env.send("DELETE", &format!("/v1/routers/{other}"), Some(&s.admin), None).await;
    assert_eq!((busy.status, busy.code()), (409, "router_in_use"));

    // The password: set, readable only with the right permission, reset by staff.
    let pw = env.send("GET", &format!("/v1/subscriptions/{id}/password"), Some(&s.admin), None).await.expect(200);
    assert_eq!(pw["password"], "ppp-pass-1");
    let (_, staff) = env.create_user(&s.admin, "staff", "staff@subs.test", None).await;
    let denied = env.send("GET", &format!("/v1/subscriptions/{id}/password"), Some(&staff), None).await;
    assert_eq!(denied.status, 403);
    env.send("GET", &format!("/v1/subscriptions/{id}"), Some(&staff), None).await.expect(200);
    act(&env, &s.admin, &id, "reset-password", Some(json!({"password": "New-Pass-2"}))).await.expect(200);
    let pw = env.send("GET", &format!("/v1/subscriptions/{id}/password"), Some(&s.admin), None).await.expect(200);
    assert_eq!(pw["password"], "New-Pass-2");
    let generated = act(&env, &s.admin, &id, "reset-password", None).await.expect(200);
    assert_eq!(generated["version"].as_u64(), Some(6));
    let pw2 = env.send("GET", &format!("/v1/subscriptions/{id}/password"), Some(&s.admin), None).await.expect(200);
    assert!(pw2["password"].as_str().unwrap().len() >= 8 && pw2["password"] != "New-Pass-2");

    // An extension with an Idempotency-Key applies once, however often it is sent.
    let before = env.send("GET", &format!("/v1/subscriptions/{id}"), Some(&s.admin), None).await.expect(200);
    let mut answers = vec![];
    for _ in 0..3 {
        let a = env
            .send_with(
                "POST",
                &format!("/v1/subscriptions/{id}/extend"),
                Some(&s.admin),
                Some(json!({"days": 10})),
                &[("idempotency-key", "extend-once-1")],
            )
            .await;
        answers.push(a.expect(200));
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "repeats answer the first response");
    let e0 = chrono::DateTime::parse_from_rfc3339(before["expires_at"].as_str().unwrap()).unwrap();
    let e1 = chrono::DateTime::parse_from_rfc3339(answers[0]["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!((e1 - e0).num_days(), 10, "extended once");

    // Listings: the customer's, the ISP's by status and by expiry window.
    let mine =
        env.send("GET", &format!("/v1/customers/{}/subscriptions", s.customer), Some(&s.admin), None).await.expect(200);
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let active = env.send("GET", "/v1/subscriptions?status=active", Some(&s.admin), None).await.expect(200);
    let ids: Vec<&str> = active["items"].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&id.as_str()));
    assert_eq!(ids.len(), 3, "ours and the two online demo customers");
    let soon = (env.clock.now() + chrono::Duration::days(35)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let later = (env.clock.now() + chrono::Duration::days(45)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let expiring =
        env.send("GET", &format!("/v1/subscriptions?expiring_before={soon}"), Some(&s.admin), None).await.expect(200);
    assert_eq!(expiring["items"].as_array().unwrap().len(), 2, "the demo subscriptions run out in 30 days; ours in 40");
    let window = env
        .send("GET", &format!("/v1/subscriptions?expiring_after={soon}&expiring_before={later}"), Some(&s.admin), None)
        .await
        .expect(200);
    assert_eq!(window["items"][0]["id"].as_str(), Some(id.as_str()));
    let bad = env
        .send("GET", &format!("/v1/subscriptions?expiring_after={later}&expiring_before={soon}"), Some(&s.admin), None)
        .await;
    assert_eq!(bad.status, 422);
}

#[tokio::test]
async fn operators_see_and_change_only_their_subtree_of_subscriptions() {
    let env = Env::start().await;
    let s = setup(&env).await;
    let (op_id, op) = env.create_user(&s.admin, "operator", "op@subs.test", None).await;
    let (_, other_op) = env.create_user(&s.admin, "operator", "op2@subs.test", None).await;
    // The operator may only sell the package once it is offered to it.
    let c = env.create_customer(&op, "Op Customer", "01719-300001", "opcust").await;
    let cid = c["id"].as_str().unwrap();
    let refused = env
        .send(
            "POST",
            &format!("/v1/customers/{cid}/subscriptions"),
            Some(&op),
            Some(json!({"package_id": s.package, "router_id": s.router, "billing_model": "prepaid"})),
        )
        .await;
    assert_eq!((refused.status, refused.body["errors"][0]["field"].as_str()), (422, Some("package_id")));
    env.send(
        "PUT",
        &format!("/v1/packages/{}/offers/{op_id}", s.package),
        Some(&s.admin),
        Some(json!({"wholesale_price": 90_000})),
    )
    .await
    .expect(200);
    let low = env
        .send("PUT", &format!("/v1/packages/{}/offers/{op_id}", s.package), Some(&op), Some(json!({"price": 80_000})))
        .await;
    assert_eq!((low.status, low.body["errors"][0]["field"].as_str()), (422, Some("price")));
    env.send("PUT", &format!("/v1/packages/{}/offers/{op_id}", s.package), Some(&op), Some(json!({"price": 130_000})))
        .await
        .expect(200);
    let sub = env
        .send(
            "POST",
            &format!("/v1/customers/{cid}/subscriptions"),
            Some(&op),
            Some(json!({"package_id": s.package, "router_id": s.router, "billing_model": "prepaid"})),
        )
        .await
        .expect(201);
    assert_eq!(
        (sub["price"].as_i64(), sub["username"].as_str()),
        (Some(130_000), Some("opcust")),
        "the operator's price"
    );
    let sid = sub["id"].as_str().unwrap();
    let admins = env.create_subscription(&s.admin, &s.customer, &s.package, &s.router, "isp-own").await;
    let aid = admins["id"].as_str().unwrap();

    let listed = env.send("GET", "/v1/subscriptions", Some(&op), None).await.expect(200);
    let ids: Vec<&str> = listed["items"].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [sid]);
    env.send("GET", &format!("/v1/subscriptions/{sid}"), Some(&op), None).await.expect(200);
    // The operator's wallet pays its price for what it activates.
    env.send_with(
        "POST",
        &format!("/v1/operators/{op_id}/wallet/top-ups"),
        Some(&s.admin),
        Some(json!({"amount": 90_000, "method": "cash"})),
        &[("idempotency-key", "op-sub-top")],
    )
    .await
    .expect(201);
    act(&env, &op, sid, "activate", None).await.expect(200);
    for (who, target) in [(&op, aid), (&other_op, sid)] {
        assert_eq!(env.send("GET", &format!("/v1/subscriptions/{target}"), Some(who), None).await.status, 404);
        assert_eq!(act(&env, who, target, "suspend", None).await.status, 404);
    }
    let empty = env.send("GET", "/v1/subscriptions", Some(&other_op), None).await.expect(200);
    assert_eq!(empty["items"].as_array().unwrap().len(), 0);
}

/// A bulk action changes every matching subscription once, reports the ones it cannot change, and
/// applies nothing twice when its work is delivered again.
#[tokio::test]
async fn bulk_actions_apply_once_per_subscription() {
    let env = Env::start().await;
    let s = setup(&env).await;
    let mut ids = vec![];
    for i in 0..4 {
        let c =
            env.create_customer(&s.admin, &format!("Bulk {i}"), &format!("01719-40000{i}"), &format!("bulk{i}")).await;
        let sub = env
            .create_subscription(&s.admin, c["id"].as_str().unwrap(), &s.package, &s.router, &format!("bulk-{i}"))
            .await;
        let id = sub["id"].as_str().unwrap().to_string();
        if i < 3 {
            act(&env, &s.admin, &id, "activate", None).await.expect(200);
        }
        ids.push(id);
    }
    let expiry = |v: &Value| chrono::DateTime::parse_from_rfc3339(v["expires_at"].as_str().unwrap()).unwrap();
    let before: Vec<Value> = futures::future::join_all(ids.iter().map(|id| {
        let path = format!("/v1/subscriptions/{id}");
        let admin = s.admin.clone();
        let env = &env;
        async move { env.send("GET", &path, Some(&admin), None).await.expect(200) }
    }))
    .await;

    // Extend every active subscription of the package by 7 days.
    let extend =
        json!({"filter": {"package_id": s.package, "status": "active"}, "action": {"type": "extend", "days": 7}});
    let key = [("idempotency-key", "bulk-extend-1")];
    let job =
        env.send_with("POST", "/v1/subscriptions/bulk", Some(&s.admin), Some(extend.clone()), &key).await.expect(202);
    assert_eq!(job["total_rows"], 3);
    let jid = job["id"].as_str().unwrap().to_string();
    let done = env.wait_job(&s.admin, &format!("/v1/subscriptions/bulk/{jid}")).await;
    assert_eq!((done["imported"].as_u64(), done["failed"].as_u64()), (Some(3), Some(0)));
    // The same request again (a client retry) answers the first job and queues nothing.
    let again = env.send_with("POST", "/v1/subscriptions/bulk", Some(&s.admin), Some(extend), &key).await;
    assert_eq!((again.status, again.body["id"].as_str()), (202, Some(jid.as_str())));
    assert_eq!(again.headers.get("idempotent-replayed").map(|v| v.to_str().unwrap()), Some("true"));
    for (id, b) in ids.iter().zip(&before).take(3) {
        let after = env.send("GET", &format!("/v1/subscriptions/{id}"), Some(&s.admin), None).await.expect(200);
        assert_eq!((expiry(&after) - expiry(b)).num_days(), 7, "extended once");
    }
    let snapshot = env.table_snapshot().await;
    for _ in 0..3 {
        let again = jobs::worker::process_chunk(&env.local.app, env.tenant(), jid.parse().unwrap(), 0).await.unwrap();
        assert_eq!((again.imported, again.failed, again.skipped), (0, 0, 3));
    }
    e2e_tests::assert_unchanged(&snapshot, &env.table_snapshot().await);

    // Suspending the whole package: the pending one cannot be suspended and is reported.
    let job = env
        .send(
            "POST",
            "/v1/subscriptions/bulk",
            Some(&s.admin),
            Some(json!({"filter": {"package_id": s.package}, "action": {"type": "suspend", "reason": "maintenance"}})),
        )
        .await
        .expect(202);
    let jid = job["id"].as_str().unwrap();
    let done = env.wait_job(&s.admin, &format!("/v1/subscriptions/bulk/{jid}")).await;
    assert_eq!((done["imported"].as_u64(), done["failed"].as_u64()), (Some(3), Some(1)));
    let errors =
        env.send("GET", &format!("/v1/subscriptions/bulk/{jid}/errors"), Some(&s.admin), None).await.expect(200);
    let message = errors["items"][0]["message"].as_str().unwrap();
    assert!(message.contains(&ids[3]) && message.contains("pending"), "{message}");
    let suspended = env.send("GET", "/v1/subscriptions?status=suspended", Some(&s.admin), None).await.expect(200);
    assert_eq!(suspended["items"].as_array().unwrap().len(), 3);

    let nothing = env
        .send(
            "POST",
            "/v1/subscriptions/bulk",
            Some(&s.admin),
            Some(json!({"filter": {"status": "expired"}, "action": {"type": "restore"}})),
        )
        .await;
    assert_eq!((nothing.status, nothing.body["errors"][0]["field"].as_str()), (422, Some("filter")));
    let bad = env
        .send("POST", "/v1/subscriptions/bulk", Some(&s.admin), Some(json!({"action": {"type": "delete_everything"}})))
        .await;
    assert_eq!(bad.status, 422);
}
