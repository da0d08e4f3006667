use e2e_tests::Env;
use serde_json::json;

/// Each bad request gets its 4xx problem, and the table is byte-for-byte unchanged afterwards.
#[tokio::test]
async fn bad_input_gets_the_right_problem_and_changes_nothing() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let c = env.create_customer(&admin, "Kept", "01716-000001", "kept").await;
    let id = c["id"].as_str().unwrap().to_string();
    let page = env.send("GET", "/v1/customers?limit=1", Some(&admin), None).await.expect(200);
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let (_, other_admin) = env.other_tenant("other-isp").await;
    let foreign_cursor =
        env.send("GET", "/v1/customers?limit=1", Some(&other_admin), None).await.expect(200)["next_cursor"]
            .as_str()
            .map(str::to_string);
    let forged = {
        let keys = domain::token::TokenKeys::new(b"some-other-signing-key");
        let actor = domain::actor::Actor {
            user_id: uuid::Uuid::now_v7(),
            tenant_id: Some(env.tenant()),
            reseller_id: None,
            role: domain::role::Role::Admin,
            scope: None,
            impersonator_id: None,
            key: None,
        };
        keys.issue(&actor, None, env.local.app.now())
    };
    let reseller = env.reseller().await;
    let before = env.table_snapshot().await;

    let cases: Vec<(&str, e2e_tests::Answer, u16, &str)> = vec![
        ("malformed json", env.send_raw("POST", "/v1/customers", Some(&admin), "application/json", b"{\"name\":".to_vec()).await, 400, "malformed_json"),
        ("wrong type", env.send("POST", "/v1/customers", Some(&admin), Some(json!({"name": 5, "phone": "01716-000002", "username": "u2"}))).await, 422, "validation_failed"),
        ("missing field", env.send("POST", "/v1/customers", Some(&admin), Some(json!({"name": "n", "phone": "01716-000002"}))).await, 422, "validation_failed"),
        ("unknown field", env.send("POST", "/v1/customers", Some(&admin), Some(json!({"name": "n", "phone": "01716-000002", "username": "u2", "tenant_id": "x"}))).await, 422, "validation_failed"),
        ("over-long", env.send("POST", "/v1/customers", Some(&admin), Some(json!({"name": "n".repeat(121), "phone": "01716-000002", "username": "u2"}))).await, 422, "validation_failed"),
        ("bad phone", env.send("POST", "/v1/customers", Some(&admin), Some(json!({"name": "n", "phone": "12", "username": "u2"}))).await, 422, "validation_failed"),
        ("huge body", env.send_raw("POST", "/v1/customers", Some(&admin), "application/json", vec![b' '; 256 * 1024 + 1]).await, 413, "payload_too_large"),
        ("not json", env.send_raw("POST", "/v1/customers", Some(&admin), "text/plain", b"name=x".to_vec()).await, 415, "unsupported_media_type"),
        ("no token", env.send("POST", "/v1/customers", None, Some(json!({"name": "n", "phone": "01716-000002", "username": "u2"}))).await, 401, "unauthorized"),
        ("garbage token", env.send("GET", "/v1/customers", Some("abc.def.ghi"), None).await, 401, "invalid_token"),
        ("forged token", env.send("DELETE", &format!("/v1/customers/{id}"), Some(&forged), None).await, 401, "invalid_token"),
        ("tampered cursor", env.send("GET", &format!("/v1/customers?cursor={}x", &cursor[..cursor.len() - 1]), Some(&admin), None).await, 400, "invalid_cursor"),
        ("cursor of another listing", env.send("GET", &format!("/v1/customers?status=active&cursor={cursor}"), Some(&admin), None).await, 400, "invalid_cursor"),
        ("bad limit", env.send("GET", "/v1/customers?limit=500", Some(&admin), None).await, 422, "validation_failed"),
        ("unknown query", env.send("GET", "/v1/customers?tenant_id=x", Some(&admin), None).await, 422, "validation_failed"),
        ("stale version", env.send("PATCH", &format!("/v1/customers/{id}"), Some(&admin), Some(json!({"name": "Changed", "version": 7}))).await, 409, "version_conflict"),
        ("bad If-Match", env.send_with("PATCH", &format!("/v1/customers/{id}"), Some(&admin), Some(json!({"name": "Changed"})), &[("if-match", "abc")]).await, 422, "validation_failed"),
        ("unknown route", env.send("GET", "/v1/nothing-here", Some(&admin), None).await, 404, "not_found"),
        ("wrong method", env.send("PUT", "/v1/customers", Some(&admin), None).await, 405, "method_not_allowed"),
        ("not a uuid", env.send("GET", "/v1/customers/not-a-uuid", Some(&admin), None).await, 404, "not_found"),
        ("bad login body", env.send("POST", "/v1/auth/login", None, Some(json!({"email": "a@b.c"}))).await, 422, "validation_failed"),
        ("bad tenant", env.send("POST", "/v1/tenants", Some(&reseller), Some(json!({"name": "x", "slug": "Bad Slug", "time_zone": "Nowhere", "currency": "XXX", "admin": {"name": "a", "email": "bad", "password": "short"}}))).await, 422, "validation_failed"),
    ];
    for (what, answer, status, code) in &cases {
        assert_eq!((answer.status, answer.code()), (*status, *code), "{what}: {:#}", answer.body);
        assert!(
            answer.body["title"].is_string() && answer.body["type"].is_string() && answer.body["detail"].is_string(),
            "{what}"
        );
    }
    // The invalid tenant names every bad field at once.
    let fields: Vec<&str> =
        cases[21].1.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["slug", "time_zone", "currency", "admin.email", "admin.password"]);
    if let Some(fc) = foreign_cursor {
        let a = env.send("GET", &format!("/v1/customers?cursor={fc}"), Some(&admin), None).await;
        assert_eq!((a.status, a.code()), (400, "invalid_cursor"), "a cursor of another tenant");
    }
    // Logins refused above count as failed logins on a separate guard item only for real attempts;
    // none were made here, so the table must be exactly as it was.
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
}

/// The same for the network, package and subscription routes: each bad request is refused with its
/// 4xx and the table stays byte-for-byte the same.
#[tokio::test]
async fn bad_input_on_operations_routes_changes_nothing() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let c = env.create_customer(&admin, "Kept", "01716-000001", "kept").await;
    let cid = c["id"].as_str().unwrap().to_string();
    let pkg = env.create_package(&admin, "Kept 10M", "10M", 1000).await["id"].as_str().unwrap().to_string();
    let router = env.create_router(&admin, "kept-r", "10.3.0.1", None).await["id"].as_str().unwrap().to_string();
    let sub =
        env.create_subscription(&admin, &cid, &pkg, &router, "kept-ppp").await["id"].as_str().unwrap().to_string();
    let (op, _) = env.create_user(&admin, "operator", "kept-op@demo.test", None).await;
    let fixed = env
        .send("POST", "/v1/packages", Some(&admin), Some(json!({"name": "Fixed 20M", "connection_type": "static", "download": "20M", "upload": "20M", "price": 1000, "validity_days": 30})))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let fixed_sub = env
        .send("POST", &format!("/v1/customers/{cid}/subscriptions"), Some(&admin), Some(json!({"package_id": fixed, "router_id": router, "ip_address": "10.3.1.20", "billing_model": "prepaid"})))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, accountant) = env.create_user(&admin, "accountant", "kept-acct@demo.test", None).await;
    let billed =
        env.create_customer(&admin, "Billed", "01716-000002", "billed").await["id"].as_str().unwrap().to_string();
    let billed_sub =
        env.create_subscription(&admin, &billed, &pkg, &router, "billed-ppp").await["id"].as_str().unwrap().to_string();
    env.send("POST", &format!("/v1/subscriptions/{billed_sub}/activate"), Some(&admin), None).await.expect(200);
    let inv =
        env.send("GET", &format!("/v1/invoices?customer_id={billed}"), Some(&admin), None).await.expect(200)["items"]
            [0]["id"]
            .as_str()
            .unwrap()
            .to_string();
    let pay = |body: serde_json::Value, key: &'static str| {
        let env = &env;
        let admin = admin.clone();
        async move {
            let headers: Vec<(&str, &str)> = if key.is_empty() { vec![] } else { vec![("idempotency-key", key)] };
            env.send_with("POST", "/v1/payments", Some(&admin), Some(body), &headers).await
        }
    };
    pay(json!({"invoice_id": inv, "amount": 1000, "method": "mobile_money", "reference": "KEPT-1"}), "kept-pay")
        .await
        .expect(201);
    let discount = env
        .send(
            "POST",
            "/v1/billing/discounts",
            Some(&admin),
            Some(json!({"name": "Kept", "value": {"type": "fixed", "amount": 500}, "target": {"applies_to": "package", "id": pkg}})),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let empty_draft =
        env.send("POST", "/v1/invoices", Some(&admin), Some(json!({"customer_id": billed}))).await.expect(201)["id"]
            .as_str()
            .unwrap()
            .to_string();
    let before = env.table_snapshot().await;
    let s = |a: &str| format!("/v1/subscriptions/{sub}/{a}");
    let keyed = |path: String, body: serde_json::Value, key: &'static str| {
        let (env, admin) = (&env, admin.clone());
        async move {
            let headers: Vec<(&str, &str)> = if key.is_empty() { vec![] } else { vec![("idempotency-key", key)] };
            env.send_with("POST", &path, Some(&admin), Some(body), &headers).await
        }
    };
    let cn = format!("/v1/invoices/{inv}/credit-notes");
    let rf = format!("/v1/customers/{billed}/refunds");
    let d = |body: serde_json::Value| env.send("POST", "/v1/billing/discounts", Some(&admin), Some(body));
    let to_pkg = json!({"applies_to": "package", "id": pkg});
    let cases: Vec<(&str, e2e_tests::Answer, u16, &str)> = vec![
        ("payment without key", pay(json!({"invoice_id": inv, "amount": 1, "method": "cash"}), "").await, 400, "idempotency_key_required"),
        ("payment zero", pay(json!({"customer_id": billed, "amount": 0, "method": "cash"}), "bad-1").await, 422, "validation_failed"),
        ("payment both targets", pay(json!({"invoice_id": inv, "customer_id": billed, "amount": 1, "method": "cash"}), "bad-2").await, 422, "validation_failed"),
        ("payment no target", pay(json!({"amount": 1, "method": "cash"}), "bad-3").await, 422, "validation_failed"),
        ("payment unknown method", pay(json!({"customer_id": billed, "amount": 1, "method": "cheque"}), "bad-4").await, 422, "validation_failed"),
        ("payment transfer without reference", pay(json!({"customer_id": billed, "amount": 1, "method": "bank_transfer"}), "bad-5").await, 422, "validation_failed"),
        ("payment duplicate reference", pay(json!({"customer_id": billed, "amount": 1, "method": "mobile_money", "reference": "kept-1"}), "bad-6").await, 409, "duplicate_reference"),
        ("payment on a paid invoice", pay(json!({"invoice_id": inv, "amount": 1, "method": "cash"}), "bad-7").await, 409, "invoice_not_payable"),
        ("payment unknown customer", pay(json!({"customer_id": uuid::Uuid::now_v7(), "amount": 1, "method": "cash"}), "bad-8").await, 422, "validation_failed"),
        ("payment malformed", env.send_raw("POST", "/v1/payments", Some(&admin), "application/json", b"{".to_vec()).await, 400, "malformed_json"),
        ("void without reason", env.send("POST", &format!("/v1/invoices/{inv}/void"), Some(&admin), Some(json!({}))).await, 422, "validation_failed"),
        ("void a paid invoice", env.send("POST", &format!("/v1/invoices/{inv}/void"), Some(&admin), Some(json!({"reason": "x"}))).await, 409, "invoice_has_payments"),
        ("invoices bad status", env.send("GET", "/v1/invoices?status=unpaid", Some(&admin), None).await, 422, "validation_failed"),
        ("invoices bad date", env.send("GET", "/v1/invoices?from=yesterday", Some(&admin), None).await, 422, "validation_failed"),
        ("package malformed", env.send_raw("POST", "/v1/packages", Some(&admin), "application/json", b"{".to_vec()).await, 400, "malformed_json"),
        ("package bad rate", env.send("POST", "/v1/packages", Some(&admin), Some(json!({"name": "n", "connection_type": "pppoe", "download": "fast", "upload": "1M", "price": 1, "validity_days": 1}))).await, 422, "validation_failed"),
        ("package unknown field", env.send("POST", "/v1/packages", Some(&admin), Some(json!({"name": "n", "connection_type": "pppoe", "download": "1M", "upload": "1M", "price": 1, "validity_days": 1, "tenant_id": "x"}))).await, 422, "validation_failed"),
        ("package stale", env.send("PATCH", &format!("/v1/packages/{pkg}"), Some(&admin), Some(json!({"price": 5, "version": 9}))).await, 409, "version_conflict"),
        ("package in use", env.send("DELETE", &format!("/v1/packages/{pkg}"), Some(&admin), None).await, 409, "package_in_use"),
        ("offer to a non-operator", env.send("PUT", &format!("/v1/packages/{pkg}/offers/{}", uuid::Uuid::now_v7()), Some(&admin), Some(json!({"wholesale_price": 1}))).await, 404, "not_found"),
        ("offer negative", env.send("PUT", &format!("/v1/packages/{pkg}/offers/{op}"), Some(&admin), Some(json!({"wholesale_price": -1}))).await, 422, "validation_failed"),
        ("pop coordinates", env.send("POST", "/v1/pops", Some(&admin), Some(json!({"name": "p", "code": "P1", "latitude": 95.0, "longitude": 10.0}))).await, 422, "validation_failed"),
        ("router no password", env.send("POST", "/v1/routers", Some(&admin), Some(json!({"name": "r", "host": "10.0.0.9", "username": "u"}))).await, 422, "validation_failed"),
        ("router bad host", env.send("POST", "/v1/routers", Some(&admin), Some(json!({"name": "r", "host": "no such host!", "username": "u", "password": "p"}))).await, 422, "validation_failed"),
        ("router in use", env.send("DELETE", &format!("/v1/routers/{router}"), Some(&admin), None).await, 409, "router_in_use"),
        ("import as json", env.send("POST", "/v1/routers/import", Some(&admin), Some(json!({}))).await, 415, "unsupported_media_type"),
        ("import empty", env.send_raw("POST", "/v1/routers/import", Some(&admin), "text/csv", b"name,host,username,password\n".to_vec()).await, 422, "validation_failed"),
        ("profile commission", env.send("PUT", &format!("/v1/operators/{op}/profile"), Some(&admin), Some(json!({"commission_rate_bps": 20000, "credit_limit": 0, "version": 0}))).await, 422, "validation_failed"),
        ("subscription bad ip", env.send("POST", &format!("/v1/customers/{cid}/subscriptions"), Some(&admin), Some(json!({"package_id": pkg, "router_id": router, "username": "x1", "ip_address": "300.1.1.1", "billing_model": "prepaid"}))).await, 422, "validation_failed"),
        ("subscription unknown package", env.send("POST", &format!("/v1/customers/{cid}/subscriptions"), Some(&admin), Some(json!({"package_id": uuid::Uuid::now_v7(), "router_id": router, "username": "x1", "billing_model": "prepaid"}))).await, 422, "validation_failed"),
        ("subscription bad model", env.send("POST", &format!("/v1/customers/{cid}/subscriptions"), Some(&admin), Some(json!({"package_id": pkg, "router_id": router, "billing_model": "weekly"}))).await, 422, "validation_failed"),
        ("subscription taken username", env.send("POST", &format!("/v1/customers/{cid}/subscriptions"), Some(&admin), Some(json!({"package_id": pkg, "router_id": router, "username": "kept-ppp", "billing_model": "prepaid"}))).await, 409, "duplicate"),
        ("extend zero", env.send("POST", &s("extend"), Some(&admin), Some(json!({"days": 0}))).await, 422, "validation_failed"),
        ("extend text", env.send("POST", &s("extend"), Some(&admin), Some(json!({"days": "ten"}))).await, 422, "validation_failed"),
        ("activate with fields", env.send("POST", &s("activate"), Some(&admin), Some(json!({"status": "active"}))).await, 422, "validation_failed"),
        ("suspend pending", env.send("POST", &s("suspend"), Some(&admin), None).await, 409, "invalid_transition"),
        ("move to unknown router", env.send("POST", &s("move-router"), Some(&admin), Some(json!({"router_id": uuid::Uuid::now_v7()}))).await, 422, "validation_failed"),
        ("weak password", env.send("POST", &s("reset-password"), Some(&admin), Some(json!({"password": "a b"}))).await, 422, "validation_failed"),
        ("list bad status", env.send("GET", "/v1/subscriptions?status=bogus", Some(&admin), None).await, 422, "validation_failed"),
        ("list bad time", env.send("GET", "/v1/subscriptions?expiring_before=tomorrow", Some(&admin), None).await, 422, "validation_failed"),
        ("empty note", env.send("POST", &format!("/v1/customers/{cid}/notes"), Some(&admin), Some(json!({"text": "  "}))).await, 422, "validation_failed"),
        ("not a uuid", env.send("GET", "/v1/subscriptions/nope", Some(&admin), None).await, 404, "not_found"),
        ("lead bad phone", env.send("POST", "/v1/leads", Some(&admin), Some(json!({"name": "L", "phone": "12"}))).await, 422, "validation_failed"),
        ("lead bad assignee", env.send("POST", "/v1/leads", Some(&admin), Some(json!({"name": "L", "phone": "01811-555009", "assigned_to": uuid::Uuid::now_v7()}))).await, 422, "validation_failed"),
        ("lead bad stage", env.send("GET", "/v1/leads?stage=hot", Some(&admin), None).await, 422, "validation_failed"),
        ("live op on no uuid", env.send("GET", "/v1/routers/nope/resources", Some(&admin), None).await, 404, "not_found"),
        ("live op on no router", env.send("POST", &format!("/v1/routers/{}/test", uuid::Uuid::now_v7()), Some(&admin), None).await, 404, "not_found"),
        ("report before any reconcile", env.send("GET", &format!("/v1/routers/{router}/reconcile"), Some(&admin), None).await, 404, "not_found"),
        ("unknown accounts before any reconcile", env.send("GET", &format!("/v1/routers/{router}/unknown-accounts"), Some(&admin), None).await, 404, "not_found"),
        ("unknown accounts without the secrets right", env.send("GET", &format!("/v1/routers/{router}/unknown-accounts"), Some(&accountant), None).await, 403, "forbidden"),
        ("reconcile without the network right", env.send("POST", &format!("/v1/routers/{router}/reconcile"), Some(&accountant), None).await, 403, "forbidden"),
        ("session of no subscription", env.send("GET", &format!("/v1/subscriptions/{}/session", uuid::Uuid::now_v7()), Some(&admin), None).await, 404, "not_found"),
        ("session of a static subscription", env.send("GET", &format!("/v1/subscriptions/{fixed_sub}/session"), Some(&admin), None).await, 422, "no_session"),
        ("disconnect a static subscription", env.send("POST", &format!("/v1/subscriptions/{fixed_sub}/disconnect"), Some(&admin), None).await, 422, "no_session"),
        ("customer with subscriptions", env.send("DELETE", &format!("/v1/customers/{cid}"), Some(&admin), None).await, 409, "customer_has_subscriptions"),
        ("discount zero percent", d(json!({"name": "z", "value": {"type": "percent", "bps": 0}, "target": to_pkg})).await, 422, "validation_failed"),
        ("discount over 100%", d(json!({"name": "z", "value": {"type": "percent", "bps": 10001}, "target": to_pkg})).await, 422, "validation_failed"),
        ("discount negative", d(json!({"name": "z", "value": {"type": "fixed", "amount": -5}, "target": to_pkg})).await, 422, "validation_failed"),
        ("discount unknown type", d(json!({"name": "z", "value": {"type": "bogo"}, "target": to_pkg})).await, 422, "validation_failed"),
        ("discount no name", d(json!({"name": " ", "value": {"type": "fixed", "amount": 5}, "target": to_pkg})).await, 422, "validation_failed"),
        ("discount unknown customer", d(json!({"name": "z", "value": {"type": "fixed", "amount": 5}, "target": {"applies_to": "customer", "id": uuid::Uuid::now_v7()}})).await, 422, "validation_failed"),
        ("discount window backwards", d(json!({"name": "z", "value": {"type": "fixed", "amount": 5}, "target": to_pkg, "valid_from": "2026-02-01T00:00:00Z", "valid_until": "2026-01-01T00:00:00Z"})).await, 422, "validation_failed"),
        ("discount without version", env.send("PATCH", &format!("/v1/billing/discounts/{discount}"), Some(&admin), Some(json!({"active": false}))).await, 422, "validation_failed"),
        ("discount stale", env.send("PATCH", &format!("/v1/billing/discounts/{discount}"), Some(&admin), Some(json!({"active": false, "version": 7}))).await, 409, "version_conflict"),
        ("discount unknown", env.send("DELETE", &format!("/v1/billing/discounts/{}", uuid::Uuid::now_v7()), Some(&admin), None).await, 404, "not_found"),
        ("draft for no customer", env.send("POST", "/v1/invoices", Some(&admin), Some(json!({"customer_id": uuid::Uuid::now_v7()}))).await, 422, "validation_failed"),
        ("draft line without description", env.send("POST", "/v1/invoices", Some(&admin), Some(json!({"customer_id": billed, "lines": [{"description": "", "unit_amount": 5}]}))).await, 422, "validation_failed"),
        ("draft line quantity zero", env.send("POST", &format!("/v1/invoices/{empty_draft}/lines"), Some(&admin), Some(json!({"description": "x", "unit_amount": 5, "quantity": 0, "version": 1}))).await, 422, "validation_failed"),
        ("issue an empty draft", env.send("POST", &format!("/v1/invoices/{empty_draft}/issue"), Some(&admin), None).await, 422, "validation_failed"),
        ("issue an issued invoice", env.send("POST", &format!("/v1/invoices/{inv}/issue"), Some(&admin), None).await, 409, "invoice_not_draft"),
        ("credit note without key", keyed(cn.clone(), json!({"amount": 1, "reason": "x"}), "").await, 400, "idempotency_key_required"),
        ("credit note zero", keyed(cn.clone(), json!({"amount": 0, "reason": "x"}), "bad-cn-1").await, 422, "validation_failed"),
        ("credit note without reason", keyed(cn.clone(), json!({"amount": 1, "reason": " "}), "bad-cn-2").await, 422, "validation_failed"),
        ("credit note beyond the invoice", keyed(cn, json!({"amount": 10_000_000, "reason": "x"}), "bad-cn-3").await, 422, "validation_failed"),
        ("refund without key", keyed(rf.clone(), json!({"amount": 1, "method": "cash", "reason": "x"}), "").await, 400, "idempotency_key_required"),
        ("refund transfer without reference", keyed(rf.clone(), json!({"amount": 1, "method": "bank_transfer", "reason": "x"}), "bad-rf-1").await, 422, "validation_failed"),
        ("refund beyond the credit", keyed(rf, json!({"amount": 1_000_000, "method": "cash", "reason": "x"}), "bad-rf-2").await, 422, "validation_failed"),
        ("pdf of no invoice", env.send("GET", &format!("/v1/invoices/{}/pdf", uuid::Uuid::now_v7()), Some(&admin), None).await, 404, "not_found"),
        ("report bad date", env.send("GET", "/v1/reports/collections?from=yesterday", Some(&admin), None).await, 422, "validation_failed"),
        ("report backwards", env.send("GET", "/v1/reports/collections?from=2026-12-31&to=2026-12-01", Some(&admin), None).await, 422, "validation_failed"),
        ("report too long", env.send("GET", "/v1/reports/collections?from=2024-01-01&to=2026-12-01", Some(&admin), None).await, 422, "validation_failed"),
        ("revenue bad month", env.send("GET", "/v1/reports/revenue?from=2026-13", Some(&admin), None).await, 422, "validation_failed"),
        ("report bad format", env.send("GET", "/v1/reports/dues?format=xml", Some(&admin), None).await, 422, "validation_failed"),
        ("report unknown parameter", env.send("GET", "/v1/reports/dues?bucket=90", Some(&admin), None).await, 422, "validation_failed"),
        ("preview limit", env.send("POST", "/v1/billing/preview", Some(&admin), Some(json!({"limit": 0}))).await, 422, "validation_failed"),
        ("preview bad time", env.send("POST", "/v1/billing/preview", Some(&admin), Some(json!({"as_of": "soon"}))).await, 422, "validation_failed"),
        ("account of no customer", env.send("GET", &format!("/v1/customers/{}/account", uuid::Uuid::now_v7()), Some(&admin), None).await, 404, "not_found"),
        ("ledger bad cursor", env.send("GET", &format!("/v1/customers/{billed}/ledger?cursor=forged"), Some(&admin), None).await, 400, "invalid_cursor"),
    ];
    for (what, answer, status, code) in &cases {
        assert_eq!((answer.status, answer.code()), (*status, *code), "{what}: {:#}", answer.body);
    }
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
}
