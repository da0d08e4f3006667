//! The subscriber portal: an ISP found by host or code, subscriber login and sessions, the
//! subscriber's own pages, what a customer token can (not) reach, and CORS per ISP.

use e2e_tests::Env;
use local_runner::template::Template;
use serde_json::{Value, json};

const PORTAL_HOST: &str = "portal.demo-isp.test";
const PORTAL_ORIGIN: &str = "https://portal.demo-isp.test";

/// The demo ISP's portal on its own host and origin; answers the tenant as it is after.
async fn configure_portal(env: &Env, admin: &str, extra: Value) -> Value {
    let tid = env.tenant();
    let t = env.send("GET", &format!("/v1/tenants/{tid}"), Some(admin), None).await.expect(200);
    let mut portal = json!({"hosts": [PORTAL_HOST], "allowed_origins": [PORTAL_ORIGIN]});
    if let (Some(p), Some(e)) = (portal.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    env.send(
        "PATCH",
        &format!("/v1/tenants/{tid}"),
        Some(admin),
        Some(json!({"portal": portal, "version": t["version"]})),
    )
    .await
    .expect(200)
}

/// A customer with an active prepaid subscription (so an invoice) and a portal password.
async fn subscriber(env: &Env, admin: &str, name: &str, phone: &str, username: &str) -> (String, String) {
    let c = env.create_customer(admin, name, phone, username).await;
    let cid = c["id"].as_str().unwrap().to_string();
    let pkg = env.create_package(admin, &format!("{name} 20M"), "20M", 1500).await["id"].as_str().unwrap().to_string();
    let host = format!("10.99.0.{}", &phone[phone.len() - 2..]);
    let router =
        env.create_router(admin, &format!("{name} Router"), &host, None).await["id"].as_str().unwrap().to_string();
    let sub = env.create_subscription(admin, &cid, &pkg, &router, &format!("{username}-ppp")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.send("POST", &format!("/v1/subscriptions/{sub}/activate"), Some(admin), None).await.expect(200);
    env.send(
        "PUT",
        &format!("/v1/customers/{cid}/portal-password"),
        Some(admin),
        Some(json!({"password": format!("{username}-portal-1")})),
    )
    .await
    .expect(204);
    (cid, sub)
}

/// The demo ISP's SSLCommerz sandbox account at a fake of its own.
async fn sslcommerz(env: &Env, admin: &str) -> (gateways::testing::FakeSslcommerz, String) {
    let ssl = gateways::testing::FakeSslcommerz::start("demoisp01", "demoisp01@ssl").await;
    let id = crate::checkouts::account(
        env,
        admin,
        json!({"gateway": "sslcommerz", "base_url": ssl.base_url(),
            "credentials": {"store_id": "demoisp01", "store_password": "demoisp01@ssl"}}),
    )
    .await;
    (ssl, id)
}

async fn login(env: &Env, host: &str, login: &str, password: &str) -> e2e_tests::Answer {
    env.send_with(
        "POST",
        "/v1/portal/auth/login",
        None,
        Some(json!({"login": login, "password": password})),
        &[("host", host)],
    )
    .await
}

#[tokio::test]
async fn a_subscriber_finds_the_isp_logs_in_and_sees_only_their_own_account() {
    let env = Env::start().await;
    let admin = env.admin().await;
    configure_portal(&env, &admin, json!({})).await;
    let (cid, sub) = subscriber(&env, &admin, "Rahim Portal", "01717-300001", "rahim.portal").await;
    let (other_cid, _) = subscriber(&env, &admin, "Karim Portal", "01717-300002", "karim.portal").await;

    // By the ISP's own host, by phone in local form; by `<code>.<portal domain>`; by the X-ISP code.
    let session = login(&env, PORTAL_HOST, "01717300001", "rahim.portal-portal-1").await.expect(200);
    assert_eq!(session["customer_id"], json!(cid));
    login(&env, "demo-isp.portal.localhost:3000", "rahim.portal", "rahim.portal-portal-1").await.expect(200);
    env.send_with(
        "POST",
        "/v1/portal/auth/login",
        None,
        Some(json!({"login": "RAHIM.Portal", "password": "rahim.portal-portal-1"})),
        &[("x-isp", "demo-isp")],
    )
    .await
    .expect(200);
    // An address no ISP holds: 404, whatever the credentials.
    let a = login(&env, "portal.nobody.test", "rahim.portal", "rahim.portal-portal-1").await;
    assert_eq!((a.status, a.body["code"].as_str()), (404, Some("not_found")), "{:#}", a.body);
    // Wrong password and unknown login answer alike.
    let wrong = login(&env, PORTAL_HOST, "rahim.portal", "not-the-password").await;
    let unknown = login(&env, PORTAL_HOST, "nobody", "not-the-password").await;
    assert_eq!((wrong.status, &wrong.body["code"]), (401, &json!("invalid_credentials")));
    assert_eq!((unknown.status, &unknown.body["code"]), (401, &json!("invalid_credentials")));

    let token = session["access_token"].as_str().unwrap().to_string();
    let me = env.send("GET", "/v1/portal/me", Some(&token), None).await.expect(200);
    assert_eq!(me["customer"]["username"], "rahim.portal");
    assert_eq!(me["isp"]["code"], "demo-isp");
    assert!(me["customer"].get("notes").is_none() && me["customer"].get("tags").is_none(), "{me:#}");
    let subs = env.send("GET", "/v1/portal/subscriptions", Some(&token), None).await.expect(200);
    let subs = subs.as_array().unwrap();
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0]["id"], json!(sub));
    assert_eq!(subs[0]["status"], "active");
    assert_eq!(subs[0]["download_kbps"], 20_000);
    assert!(subs[0]["days_left"].as_i64().unwrap() >= 27, "{:#}", subs[0]);
    assert!(subs[0].get("password").is_none());

    let invoices = env.send("GET", "/v1/portal/invoices", Some(&token), None).await.expect(200);
    let items = invoices["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{invoices:#}");
    assert_eq!(items[0]["customer_id"], json!(cid));
    let inv = items[0]["id"].as_str().unwrap().to_string();
    env.send("GET", &format!("/v1/portal/invoices/{inv}"), Some(&token), None).await.expect(200);
    let pdf = env.get_raw(&format!("/v1/portal/invoices/{inv}/pdf"), &token).await;
    assert_eq!(pdf.status(), 200);
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));
    let balance = env.send("GET", "/v1/portal/balance", Some(&token), None).await.expect(200);
    assert_eq!((balance["balance"].as_i64(), balance["open_invoices"].as_u64()), (Some(1500), Some(1)), "{balance:#}");
    assert_eq!(env.send("GET", "/v1/portal/payments", Some(&token), None).await.expect(200)["items"], json!([]));

    // Karim's invoice, by its id, with Rahim's token: not there.
    let karim_inv = env
        .send("GET", &format!("/v1/invoices?customer_id={other_cid}"), Some(&admin), None)
        .await
        .expect(200)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for path in [format!("/v1/portal/invoices/{karim_inv}"), format!("/v1/portal/invoices/{karim_inv}/pdf")] {
        let a = env.send("GET", &path, Some(&token), None).await;
        assert_eq!(a.status, 404, "{path}: {:#}", a.body);
    }
    // A subscriber's token on a staff route, and a staff token on the portal: refused.
    let a = env.send("GET", &format!("/v1/customers/{cid}"), Some(&token), None).await;
    assert_eq!((a.status, a.body["code"].as_str()), (403, Some("customer_token")));
    let a = env.send("GET", "/v1/portal/me", Some(&admin), None).await;
    assert_eq!((a.status, a.body["code"].as_str()), (403, Some("portal_only")));

    // A payment by the ISP shows in the portal.
    env.send_with(
        "POST",
        "/v1/payments",
        Some(&admin),
        Some(json!({"invoice_id": inv, "amount": 1500, "method": "cash"})),
        &[("idempotency-key", "portal-pay-1")],
    )
    .await
    .expect(201);
    let paid = env.send("GET", "/v1/portal/payments", Some(&token), None).await.expect(200);
    assert_eq!(paid["items"][0]["amount"], 1500);
    assert_eq!(env.send("GET", "/v1/portal/balance", Some(&token), None).await.expect(200)["balance"], 0);
}

#[tokio::test]
async fn the_profile_takes_only_what_the_isp_lets_subscribers_edit() {
    let env = Env::start().await;
    let admin = env.admin().await;
    configure_portal(&env, &admin, json!({"editable_fields": ["email"]})).await;
    let (cid, _) = subscriber(&env, &admin, "Edit Me", "01717-300011", "editme").await;
    let token = login(&env, PORTAL_HOST, "editme", "editme-portal-1").await.expect(200)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let me = env.send("GET", "/v1/portal/me", Some(&token), None).await.expect(200);
    let version = me["customer"]["version"].clone();
    let before = env.table_snapshot().await;
    let a = env
        .send("PATCH", "/v1/portal/me", Some(&token), Some(json!({"address": "Elsewhere", "version": version})))
        .await;
    assert_eq!((a.status, a.body["errors"][0]["field"].as_str()), (422, Some("address")), "{:#}", a.body);
    let a = env
        .send("PATCH", "/v1/portal/me", Some(&token), Some(json!({"email": "not-an-email", "version": version})))
        .await;
    assert_eq!(a.status, 422);
    let a = env
        .send("PATCH", "/v1/portal/me", Some(&token), Some(json!({"name": "Someone Else", "version": version})))
        .await;
    assert_eq!(
        (a.status, a.body["errors"][0]["field"].as_str()),
        (422, Some("name")),
        "an unknown field: {:#}",
        a.body
    );
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
    let p = env
        .send("PATCH", "/v1/portal/me", Some(&token), Some(json!({"email": "edit.me@example.com", "version": version})))
        .await
        .expect(200);
    assert_eq!(p["email"], "edit.me@example.com");
    // A stale version: 409.
    let a = env
        .send("PATCH", "/v1/portal/me", Some(&token), Some(json!({"email": "x@example.com", "version": version})))
        .await;
    assert_eq!(a.status, 409);
    // Staff see the change, audited as the subscriber.
    let c = env.send("GET", &format!("/v1/customers/{cid}"), Some(&admin), None).await.expect(200);
    assert_eq!(c["email"], "edit.me@example.com");
    let log = env
        .send("GET", &format!("/v1/audit-log?entity_type=customer&entity_id={cid}"), Some(&admin), None)
        .await
        .expect(200);
    let entry = log["items"].as_array().unwrap().iter().find(|e| e["action"] == "customer.updated").cloned();
    assert_eq!(entry.map(|e| e["actor_id"].clone()), Some(json!(cid)), "{log:#}");
}

#[tokio::test]
async fn portal_sessions_rotate_end_on_a_password_change_and_can_be_one_per_customer() {
    let env = Env::start().await;
    let admin = env.admin().await;
    configure_portal(&env, &admin, json!({})).await;
    subscriber(&env, &admin, "Session Sam", "01717-300021", "sam").await;
    let first = login(&env, PORTAL_HOST, "sam", "sam-portal-1").await.expect(200);
    let r1 = first["refresh_token"].as_str().unwrap().to_string();
    let rotated =
        env.send("POST", "/v1/portal/auth/refresh", None, Some(json!({"refresh_token": r1}))).await.expect(200);
    // The old one again: reuse, and the whole login ends.
    let a = env.send("POST", "/v1/portal/auth/refresh", None, Some(json!({"refresh_token": r1}))).await;
    assert_eq!((a.status, a.body["code"].as_str()), (401, Some("refresh_token_reused")));
    let a = env
        .send("POST", "/v1/portal/auth/refresh", None, Some(json!({"refresh_token": rotated["refresh_token"]})))
        .await;
    assert_eq!(a.status, 401);
    // A staff refresh token is not a portal one, nor the other way round.
    let staff = env
        .send(
            "POST",
            "/v1/auth/login",
            None,
            Some(json!({"email": env.creds.admin_email, "password": env.creds.admin_password})),
        )
        .await
        .expect(200);
    let a =
        env.send("POST", "/v1/portal/auth/refresh", None, Some(json!({"refresh_token": staff["refresh_token"]}))).await;
    assert_eq!(a.status, 401);
    let portal = login(&env, PORTAL_HOST, "sam", "sam-portal-1").await.expect(200);
    let a = env.send("POST", "/v1/auth/refresh", None, Some(json!({"refresh_token": portal["refresh_token"]}))).await;
    assert_eq!(a.status, 401);

    // The subscriber changes the password: other sessions end, the new pair works.
    let other = login(&env, PORTAL_HOST, "sam", "sam-portal-1").await.expect(200);
    let token = portal["access_token"].as_str().unwrap();
    let a = env
        .send(
            "POST",
            "/v1/portal/password",
            Some(token),
            Some(json!({"current_password": "wrong", "new_password": "sam-new-pass-2"})),
        )
        .await;
    assert_eq!((a.status, a.body["errors"][0]["field"].as_str()), (422, Some("current_password")));
    let changed = env
        .send(
            "POST",
            "/v1/portal/password",
            Some(token),
            Some(json!({"current_password": "sam-portal-1", "new_password": "sam-new-pass-2"})),
        )
        .await
        .expect(200);
    let a =
        env.send("POST", "/v1/portal/auth/refresh", None, Some(json!({"refresh_token": other["refresh_token"]}))).await;
    assert_eq!(a.status, 401, "the other session ended");
    env.send("POST", "/v1/portal/auth/refresh", None, Some(json!({"refresh_token": changed["refresh_token"]})))
        .await
        .expect(200);
    login(&env, PORTAL_HOST, "sam", "sam-portal-1").await.expect(401);

    // One session per customer: a new login ends the one before.
    configure_portal(&env, &admin, json!({"one_session_per_customer": true})).await;
    let a1 = login(&env, PORTAL_HOST, "sam", "sam-new-pass-2").await.expect(200);
    let a2 = login(&env, PORTAL_HOST, "sam", "sam-new-pass-2").await.expect(200);
    let a =
        env.send("POST", "/v1/portal/auth/refresh", None, Some(json!({"refresh_token": a1["refresh_token"]}))).await;
    assert_eq!(a.status, 401, "the earlier session ended");
    env.send("POST", "/v1/portal/auth/refresh", None, Some(json!({"refresh_token": a2["refresh_token"]})))
        .await
        .expect(200);
    // Logout ends a session.
    let a3 = login(&env, PORTAL_HOST, "sam", "sam-new-pass-2").await.expect(200);
    env.send("POST", "/v1/portal/auth/logout", None, Some(json!({"refresh_token": a3["refresh_token"]})))
        .await
        .expect(204);
    let a =
        env.send("POST", "/v1/portal/auth/refresh", None, Some(json!({"refresh_token": a3["refresh_token"]}))).await;
    assert_eq!(a.status, 401);
}

#[tokio::test]
async fn five_wrong_portal_passwords_lock_the_login_and_staff_can_reset_it() {
    let env = Env::start().await;
    let admin = env.admin().await;
    configure_portal(&env, &admin, json!({})).await;
    let (cid, _) = subscriber(&env, &admin, "Locked Lina", "01717-300031", "lina").await;
    for _ in 0..5 {
        login(&env, PORTAL_HOST, "lina", "guess-guess").await.expect(401);
    }
    let a = login(&env, PORTAL_HOST, "lina", "lina-portal-1").await;
    assert_eq!((a.status, a.body["code"].as_str()), (429, Some("account_locked")));
    assert!(a.headers.get("retry-after").is_some());
    env.clock.advance(chrono::Duration::minutes(16));
    login(&env, PORTAL_HOST, "lina", "lina-portal-1").await.expect(200);
    let admin = env.admin().await;
    // Staff reset: a weak password is refused; a good one replaces the old.
    let before = env.table_snapshot().await;
    let a = env
        .send("PUT", &format!("/v1/customers/{cid}/portal-password"), Some(&admin), Some(json!({"password": "short"})))
        .await;
    assert_eq!((a.status, a.body["errors"][0]["field"].as_str()), (422, Some("password")));
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
    env.send(
        "PUT",
        &format!("/v1/customers/{cid}/portal-password"),
        Some(&admin),
        Some(json!({"password": "lina-reset-pass-2"})),
    )
    .await
    .expect(204);
    login(&env, PORTAL_HOST, "lina", "lina-portal-1").await.expect(401);
    login(&env, PORTAL_HOST, "lina", "lina-reset-pass-2").await.expect(200);
    // Staff without customers:write may not.
    let (_, accountant) = env.create_user(&admin, "accountant", "acc-portal@demo.test", None).await;
    let a = env
        .send(
            "PUT",
            &format!("/v1/customers/{cid}/portal-password"),
            Some(&accountant),
            Some(json!({"password": "lina-pass-3x"})),
        )
        .await;
    assert_eq!(a.status, 403);
}

#[tokio::test]
async fn hosts_and_origins_belong_to_one_isp_and_cors_allows_only_that_isps_requests() {
    let env = Env::start().await;
    let admin = env.admin().await;
    configure_portal(&env, &admin, json!({})).await;
    subscriber(&env, &admin, "Cors Chowdhury", "01717-300041", "cors").await;
    let (other_tid, other) = env.other_tenant("other-isp").await;
    let t = env.send("GET", &format!("/v1/tenants/{other_tid}"), Some(&other), None).await.expect(200);
    // Another ISP cannot take the demo ISP's host or origin; a wildcard is no origin.
    for portal in [
        json!({"hosts": [PORTAL_HOST]}),
        json!({"allowed_origins": [PORTAL_ORIGIN]}),
        json!({"allowed_origins": ["*"]}),
        json!({"hosts": ["not a host"]}),
        // Under the platform's portal domain: every ISP is there by its code already.
        json!({"hosts": ["demo-isp.portal.localhost"]}),
    ] {
        let before = env.table_snapshot().await;
        let a = env
            .send(
                "PATCH",
                &format!("/v1/tenants/{other_tid}"),
                Some(&other),
                Some(json!({"portal": portal, "version": t["version"]})),
            )
            .await;
        assert!([409, 422].contains(&a.status), "{portal}: {} {:#}", a.status, a.body);
        e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
    }
    let other_origin = "https://portal.other-isp.test";
    env.send(
        "PATCH",
        &format!("/v1/tenants/{other_tid}"),
        Some(&other),
        Some(json!({"portal": {"allowed_origins": [other_origin]}, "version": t["version"]})),
    )
    .await
    .expect(200);

    let ok = preflight(&env, PORTAL_ORIGIN).await;
    assert_eq!(ok.status, 204);
    assert_eq!(ok.headers["access-control-allow-origin"], PORTAL_ORIGIN);
    assert_eq!(ok.headers["access-control-allow-credentials"], "true");
    assert!(ok.headers["access-control-allow-headers"].to_str().unwrap().contains("authorization"));
    let unknown = preflight(&env, "https://evil.example").await;
    assert_eq!(unknown.status, 204);
    assert!(unknown.headers.get("access-control-allow-origin").is_none());

    let token = login(&env, PORTAL_HOST, "cors", "cors-portal-1").await.expect(200)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let mine = from(&env, &token, PORTAL_ORIGIN).await;
    assert_eq!(mine.status, 200);
    assert_eq!(mine.headers["access-control-allow-origin"], PORTAL_ORIGIN);
    assert!(mine.headers["vary"].to_str().unwrap().contains("Origin"));
    // The other ISP's origin calling with the demo ISP's subscriber's token: no allowance.
    let theirs = from(&env, &token, "https://portal.other-isp.test").await;
    assert!(theirs.headers.get("access-control-allow-origin").is_none(), "{:?}", theirs.headers);
    // A staff route from the demo ISP's origin with its admin's token: allowed; the other ISP's
    // admin from the demo ISP's origin: not.
    let a = env.send_with("GET", "/v1/customers", Some(&admin), None, &[("origin", PORTAL_ORIGIN)]).await;
    assert_eq!(a.headers["access-control-allow-origin"], PORTAL_ORIGIN);
    let a = env.send_with("GET", "/v1/customers", Some(&other), None, &[("origin", PORTAL_ORIGIN)]).await;
    assert!(a.headers.get("access-control-allow-origin").is_none());
    // A login from the ISP's origin, naming the ISP by code: allowed.
    let a = env
        .send_with(
            "POST",
            "/v1/portal/auth/login",
            None,
            Some(json!({"login": "cors", "password": "cors-portal-1"})),
            &[("origin", PORTAL_ORIGIN), ("x-isp", "demo-isp")],
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.headers["access-control-allow-origin"], PORTAL_ORIGIN);
    // Dropping the origin from the settings frees it and ends its allowance.
    let tid = env.tenant();
    let t = env.send("GET", &format!("/v1/tenants/{tid}"), Some(&admin), None).await.expect(200);
    env.send(
        "PATCH",
        &format!("/v1/tenants/{tid}"),
        Some(&admin),
        Some(json!({"portal": {"hosts": [PORTAL_HOST]}, "version": t["version"]})),
    )
    .await
    .expect(200);
    assert!(preflight(&env, PORTAL_ORIGIN).await.headers.get("access-control-allow-origin").is_none());
}

async fn preflight(env: &Env, origin: &str) -> e2e_tests::Answer {
    env.send_with(
        "OPTIONS",
        "/v1/portal/me",
        None,
        None,
        &[("origin", origin), ("access-control-request-method", "GET")],
    )
    .await
}

async fn from(env: &Env, token: &str, origin: &str) -> e2e_tests::Answer {
    env.send_with("GET", "/v1/portal/me", Some(token), None, &[("origin", origin)]).await
}

/// Walks every route of the template with a subscriber's token: outside `/v1/portal/` each answers
/// 403 `customer_token` (or, for the routes that take no token, what they answer anyone), and nothing
/// changes. A route added later is walked too.
#[tokio::test]
async fn a_customer_token_reaches_no_staff_route() {
    let env = Env::start().await;
    let admin = env.admin().await;
    configure_portal(&env, &admin, json!({})).await;
    let (cid, sub) = subscriber(&env, &admin, "Walker", "01717-300051", "walker").await;
    let token = login(&env, PORTAL_HOST, "walker", "walker-portal-1").await.expect(200)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let before = env.table_snapshot().await;
    let template = Template::load(&Template::default_path()).unwrap();
    let (mut refused, mut portal, mut open) = (0, 0, 0);
    for f in &template.functions {
        for (method, path) in &f.routes {
            if path.starts_with("/v1/portal/") || method == "OPTIONS" {
                portal += 1;
                continue;
            }
            // Routes that take no user's token: webhooks, gateway returns, login and reset, the
            // edge concentrator's list and FreeRADIUS's routes (their own tokens).
            let tokenless = path.starts_with("/v1/webhooks/")
                || path.starts_with("/v1/edge/")
                || path.starts_with("/v1/radius/")
                || path.starts_with("/v1/checkouts/returns/")
                || path.starts_with("/v1/auth/")
                || path == "/v1/openapi.json"
                || path.starts_with("/docs");
            let target = path
                .replace("{id}", &cid)
                .replace("{customer_id}", &cid)
                .replace("{subscription_id}", &sub)
                .replace("{code}", "ABCD")
                .replace("{account_id}", &cid)
                .replace("{order_id}", "x")
                .replace("{owner}", &cid)
                .replace("{channel_id}", &cid)
                .replace("{secret}", "x")
                .replace("{delivery_id}", &cid);
            let a = env.send(method, &target, Some(&token), Some(json!({}))).await;
            if tokenless {
                assert!(
                    a.status >= 400
                        || path == "/v1/openapi.json"
                        || path.starts_with("/docs")
                        || path.starts_with("/v1/checkouts/returns/"),
                    "{method} {path}: {} {:#}",
                    a.status,
                    a.body
                );
                open += 1;
                continue;
            }
            assert_eq!(
                (a.status, a.body["code"].as_str()),
                (403, Some("customer_token")),
                "{method} {target}: {:#}",
                a.body
            );
            refused += 1;
        }
    }
    assert!(refused > 150 && portal >= 12 && open > 5, "walked {refused} staff, {portal} portal, {open} open routes");
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
}

#[tokio::test]
async fn a_subscriber_logs_in_with_a_code_sent_by_sms_once() {
    let env = Env::start().await;
    let admin = env.admin().await;
    configure_portal(&env, &admin, json!({})).await;
    let sms = messaging::testing::FakeSms::start(
        messaging::sms::SmsProvider::SslWireless,
        &[("api_token", "ssl-token-demo")],
    )
    .await;
    crate::notifications::sms_channel(&env, &admin, &sms).await;
    let (cid, _) = subscriber(&env, &admin, "Otp Omar", "01717-300061", "omar").await;
    let ask = |login: &'static str| {
        env.send_with("POST", "/v1/portal/auth/code", None, Some(json!({"login": login})), &[("x-isp", "demo-isp")])
    };
    // Unknown and known logins answer alike; only the customer gets an SMS.
    assert_eq!(ask("nobody-here").await.expect(202)["status"], "accepted");
    ask("01717-300061").await.expect(202);
    // The codes (the activation's invoice SMS goes to the same phone); the ISP writes in Bangla.
    let to_omar = || {
        sms.messages()
            .into_iter()
            .filter(|m| m.to.ends_with("1717300061") && m.text.contains("কোড"))
            .collect::<Vec<_>>()
    };
    assert!(env.eventually(|| to_omar().len() == 1).await, "{:?}", sms.messages());
    let text = to_omar()[0].text.clone();
    let code = text.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).unwrap_or_default().to_string();
    assert_eq!(code.len(), 6, "{text}");
    assert!(text.contains("10"), "it says how long the code works: {text}");
    assert!(
        sms.messages().iter().all(|m| m.to.ends_with("1717300061")),
        "nothing went anywhere for the unknown login: {:?}",
        sms.messages()
    );

    let with_code = |c: String| {
        env.send_with(
            "POST",
            "/v1/portal/auth/code/login",
            None,
            Some(json!({"login": "omar", "code": c})),
            &[("x-isp", "demo-isp")],
        )
    };
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let a = with_code(wrong.into()).await;
    assert_eq!((a.status, a.body["code"].as_str()), (401, Some("invalid_code")));
    let session = with_code(code.clone()).await.expect(200);
    assert_eq!(session["customer_id"], json!(cid));
    env.send("GET", "/v1/portal/me", session["access_token"].as_str(), None).await.expect(200);
    // The subscriber's messages: the activation's invoice and the code, whose text is never shown
    // again (nor to staff, who could log in with it).
    let notes = env.send("GET", "/v1/portal/notifications", session["access_token"].as_str(), None).await.expect(200);
    let items = notes["items"].as_array().unwrap();
    assert!(items.iter().any(|m| m["notice"] == "invoice_issued"), "{notes:#}");
    let coded = items.iter().find(|m| m["notice"] == "password_reset_code").expect("the code's message");
    assert!(!coded["text"].as_str().unwrap().contains(&code), "{coded:#}");
    let staff_view = env.send("GET", &format!("/v1/messages?customer_id={cid}"), Some(&admin), None).await.expect(200);
    assert!(!staff_view.to_string().contains(&code), "{staff_view:#}");
    // Once only.
    let a = with_code(code.clone()).await;
    assert_eq!(a.status, 401, "a code works once");

    // A new code; ten minutes later it is dead.
    ask("omar").await.expect(202);
    assert!(env.eventually(|| to_omar().len() == 2).await);
    let text = to_omar()[1].text.clone();
    let code2 = text.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).unwrap().to_string();
    env.clock.advance(chrono::Duration::minutes(11));
    assert_eq!(with_code(code2).await.status, 401);

    // Asking too often: 429 after 5 an hour for one login, and nothing written. (The 11 minutes
    // may have crossed into a new hour: 4 or 5 more are accepted.)
    let mut accepted = 0;
    for _ in 0..5 {
        let a = ask("omar").await;
        accepted += usize::from(a.status == 202);
    }
    assert!((4..=5).contains(&accepted), "{accepted}");
    assert!(env.eventually(|| to_omar().len() == 2 + accepted).await, "each accepted request sent its code");
    // Settled: the messages' outcomes are written after the provider answered.
    let before = env.settled_snapshot().await;
    let a = ask("omar").await;
    assert_eq!((a.status, a.body["code"].as_str()), (429, Some("too_many_code_requests")), "{:#}", a.body);
    assert!(a.headers.get("retry-after").is_some());
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);

    // The ISP turns code logins off.
    configure_portal(&env, &env.admin().await, json!({"otp_login": false})).await;
    let a = ask("someone-else").await;
    assert_eq!((a.status, a.body["code"].as_str()), (403, Some("otp_login_disabled")));
}

/// The acceptance path: a suspended subscriber finds the ISP by its host, logs in, sees the
/// suspended subscription and the open invoice, pays it online through the ISP's SSLCommerz (the
/// gateway's fake speaking its protocol), and is back on the router once the IPN settles it.
#[tokio::test]
async fn a_suspended_subscriber_pays_online_from_the_portal_and_is_restored() {
    let env = Env::start_with_router().await;
    let admin = env.admin().await;
    configure_portal(&env, &admin, json!({})).await;
    let router = env.demo_router(&admin).await;
    let (ssl, ssl_account) = sslcommerz(&env, &admin).await;
    let pkg = env.create_package(&admin, "Portal 10M", "10M", 80_000).await["id"].as_str().unwrap().to_string();
    let cid =
        env.create_customer(&admin, "Payer Parvin", "01719-300201", "parvin").await["id"].as_str().unwrap().to_string();
    let other =
        env.create_customer(&admin, "Other Ovi", "01719-300202", "ovi").await["id"].as_str().unwrap().to_string();
    let sub =
        env.create_subscription(&admin, &cid, &pkg, &router, "parvin-ppp").await["id"].as_str().unwrap().to_string();
    env.send("POST", &format!("/v1/subscriptions/{sub}/activate"), Some(&admin), None).await.expect(200);
    env.send("POST", &format!("/v1/subscriptions/{sub}/suspend"), Some(&admin), Some(json!({"reason": "unpaid"})))
        .await
        .expect(200);
    let disabled = |want: &'static str| {
        let env = &env;
        move || {
            env.router
                .as_ref()
                .unwrap()
                .find(routeros::menu::PPP_SECRET, "parvin-ppp")
                .and_then(|s| s.get("disabled").cloned())
                == Some(want.to_string())
        }
    };
    assert!(env.eventually(disabled("true")).await, "suspended on the router");
    env.send(
        "PUT",
        &format!("/v1/customers/{cid}/portal-password"),
        Some(&admin),
        Some(json!({"password": "parvin-pass-1"})),
    )
    .await
    .expect(204);

    let token = login(&env, PORTAL_HOST, "01719300201", "parvin-pass-1").await.expect(200)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let subs = env.send("GET", "/v1/portal/subscriptions", Some(&token), None).await.expect(200);
    assert_eq!(subs[0]["status"], "suspended");
    let invoices = env.send("GET", "/v1/portal/invoices", Some(&token), None).await.expect(200);
    let invoice = invoices["items"][0].clone();
    assert_eq!(
        (invoice["status"].as_str(), invoice["amount_due"].as_i64()),
        (Some("issued"), Some(80_000)),
        "{invoice:#}"
    );
    let methods = env.send("GET", "/v1/portal/payment-methods", Some(&token), None).await.expect(200);
    assert_eq!(
        methods,
        json!([{"gateway_account_id": ssl_account, "gateway": "sslcommerz",
        "name": "sslcommerz sandbox", "methods": methods[0]["methods"]}])
    );
    assert!(methods[0].get("credentials_set").is_none() && methods[0].get("success_url").is_none());

    // Bad requests change nothing: both an invoice and an amount; another customer's invoice; no key.
    let other_sub =
        env.create_subscription(&admin, &other, &pkg, &router, "ovi-ppp").await["id"].as_str().unwrap().to_string();
    env.send("POST", &format!("/v1/subscriptions/{other_sub}/activate"), Some(&admin), None).await.expect(200);
    let other_inv = env.send("GET", &format!("/v1/invoices?customer_id={other}"), Some(&admin), None).await.expect(200)
        ["items"][0]["id"]
        .clone();
    // Ovi's line is on the router and recorded so (provisioning done) before the table is compared.
    let mut provisioned = false;
    for _ in 0..400 {
        let s = env.send("GET", &format!("/v1/subscriptions/{other_sub}"), Some(&admin), None).await.expect(200);
        if s["provisioning"]["state"] == "enabled" {
            provisioned = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(provisioned, "Ovi's line was provisioned");
    let before = env.settled_snapshot().await;
    let pay = |key: &'static str, body: Value| {
        let token = token.clone();
        let env = &env;
        async move {
            env.send_with("POST", "/v1/portal/checkouts", Some(&token), Some(body), &[("idempotency-key", key)]).await
        }
    };
    for (body, field) in [
        (json!({"invoice_id": invoice["id"], "amount": 5, "gateway_account_id": ssl_account}), "amount"),
        (json!({"invoice_id": other_inv, "gateway_account_id": ssl_account}), "invoice_id"),
        (json!({"amount": 0, "gateway_account_id": ssl_account}), "amount"),
        (json!({"amount": 100, "gateway_account_id": cid}), "gateway_account_id"),
    ] {
        let a = pay("bad", body.clone()).await;
        assert_eq!((a.status, a.body["errors"][0]["field"].as_str()), (422, Some(field)), "{body}: {:#}", a.body);
    }
    let a = env
        .send(
            "POST",
            "/v1/portal/checkouts",
            Some(&token),
            Some(json!({"amount": 100, "gateway_account_id": ssl_account})),
        )
        .await;
    assert_eq!(a.status, 400, "an Idempotency-Key is required: {:#}", a.body);
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);

    let body = json!({"invoice_id": invoice["id"], "gateway_account_id": ssl_account});
    let created = pay("portal-pay", body.clone()).await.expect(201);
    assert!(created["redirect_url"].as_str().unwrap().starts_with(&ssl.base_url()), "{created:#}");
    let again = pay("portal-pay", body).await.expect(201);
    assert_eq!(again["id"], created["id"], "a repeat answers the first checkout");
    let order = created["order_id"].as_str().unwrap();
    assert_eq!(ssl.deliver(order, &ssl.pay(order), None).await, 200);

    assert!(env.eventually(disabled("false")).await, "back on the router");
    let subs = env.send("GET", "/v1/portal/subscriptions", Some(&token), None).await.expect(200);
    assert_eq!(subs[0]["status"], "active");
    let paid = env.send("GET", "/v1/portal/payments", Some(&token), None).await.expect(200);
    assert_eq!((paid["items"][0]["amount"].as_i64(), paid["items"].as_array().unwrap().len()), (Some(80_000), 1));
    assert_eq!(env.send("GET", "/v1/portal/balance", Some(&token), None).await.expect(200)["balance"], 0);
    let inv =
        env.send("GET", &format!("/v1/portal/invoices/{}", invoice["id"].as_str().unwrap()), Some(&token), None).await;
    assert_eq!(inv.expect(200)["status"], "paid");
}

/// Turbo: bought from the account's credit (refused, with nothing written, when it does not cover
/// it), the router runs the faster profile at once, and after the end the package's own is back,
/// also when the router was down at that moment (it converges when it comes back).
#[tokio::test]
async fn a_turbo_speeds_the_line_up_until_its_end_even_across_a_router_outage() {
    use routeros::menu::{PPP_PROFILE, PPP_SECRET};
    let env = Env::start_with_router().await;
    let admin = env.admin().await;
    configure_portal(&env, &admin, json!({})).await;
    let router = env.demo_router(&admin).await;
    let pkg = env
        .send(
            "POST",
            "/v1/packages",
            Some(&admin),
            Some(json!({"name": "Turbo Home 10M", "connection_type": "pppoe", "download": "10M", "upload": "10M",
                "price": 100_000, "validity_days": 30,
                "turbo_offers": [{"code": "night", "name": "Night 50M", "download": "50M", "upload": "20M",
                    "hours": 3, "price": 5_000}]})),
        )
        .await
        .expect(201);
    // An offer slower than the package is refused.
    let a = env
        .send(
            "PATCH",
            &format!("/v1/packages/{}", pkg["id"].as_str().unwrap()),
            Some(&admin),
            Some(json!({"turbo_offers": [{"code": "slow", "name": "Slow", "download": "5M", "upload": "5M",
                "hours": 3, "price": 1}], "version": pkg["version"]})),
        )
        .await;
    assert_eq!(
        (a.status, a.body["errors"][0]["field"].as_str()),
        (422, Some("turbo_offers[0].download")),
        "{:#}",
        a.body
    );
    let cid =
        env.create_customer(&admin, "Turbo Tania", "01719-300301", "tania").await["id"].as_str().unwrap().to_string();
    let sub = env.create_subscription(&admin, &cid, pkg["id"].as_str().unwrap(), &router, "tania-ppp").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.send("POST", &format!("/v1/subscriptions/{sub}/activate"), Some(&admin), None).await.expect(200);
    let inv = env.send("GET", &format!("/v1/invoices?customer_id={cid}"), Some(&admin), None).await.expect(200)["items"][0]
        ["id"]
        .clone();
    env.send_with(
        "POST",
        "/v1/payments",
        Some(&admin),
        Some(json!({"invoice_id": inv, "amount": 100_000, "method": "cash"})),
        &[("idempotency-key", "tania-1")],
    )
    .await
    .expect(201);
    let secret = |env: &Env| env.router.as_ref().unwrap().find(PPP_SECRET, "tania-ppp");
    let profile_is = |want: &'static str| {
        let env = &env;
        move || secret(env).and_then(|s| s.get("profile").cloned()).as_deref() == Some(want)
    };
    assert!(env.eventually(profile_is("Turbo Home 10M")).await, "on the router: {:?}", secret(&env));
    env.send(
        "PUT",
        &format!("/v1/customers/{cid}/portal-password"),
        Some(&admin),
        Some(json!({"password": "tania-pass-1"})),
    )
    .await
    .expect(204);
    let token = login(&env, PORTAL_HOST, "tania", "tania-pass-1").await.expect(200)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let subs = env.send("GET", "/v1/portal/subscriptions", Some(&token), None).await.expect(200);
    assert_eq!(subs[0]["turbo_offers"][0]["code"], "night");
    assert!(subs[0]["turbo"].is_null());
    let buy = |key: &'static str, code: &'static str| {
        let (env, token, sub) = (&env, token.clone(), sub.clone());
        async move {
            env.send_with(
                "POST",
                &format!("/v1/portal/subscriptions/{sub}/turbo"),
                Some(&token),
                Some(json!({"code": code})),
                &[("idempotency-key", key)],
            )
            .await
        }
    };

    // No credit yet: refused, nothing written; an unknown offer is a 422.
    let before = env.settled_snapshot().await;
    let a = buy("t-0", "night").await;
    assert_eq!((a.status, a.body["code"].as_str()), (409, Some("insufficient_credit")), "{:#}", a.body);
    assert!(a.body["detail"].as_str().unwrap().contains("50.00"), "{:#}", a.body);
    let a = buy("t-00", "dawn").await;
    assert_eq!((a.status, a.body["errors"][0]["field"].as_str()), (422, Some("code")));
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);

    env.send_with(
        "POST",
        "/v1/payments",
        Some(&admin),
        Some(json!({"customer_id": cid, "amount": 5_000, "method": "cash"})),
        &[("idempotency-key", "tania-2")],
    )
    .await
    .expect(201);
    let bought = buy("t-1", "night").await.expect(201);
    let ends_at: chrono::DateTime<chrono::Utc> = bought["turbo"]["ends_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(ends_at, env.clock.now() + chrono::Duration::hours(3));
    assert_eq!(
        (bought["invoice"]["status"].as_str(), bought["invoice"]["total"].as_i64()),
        (Some("paid"), Some(5_000))
    );
    assert_eq!(buy("t-1", "night").await.expect(201)["invoice"]["id"], bought["invoice"]["id"], "a repeat, once");
    let a = buy("t-2", "night").await;
    assert_eq!((a.status, a.body["code"].as_str()), (409, Some("turbo_active")), "one at a time");
    assert_eq!(env.send("GET", "/v1/portal/balance", Some(&token), None).await.expect(200)["credit"], 0);

    assert!(env.eventually(profile_is("Turbo Home 10M-turbo-night")).await, "turbo on the router: {:?}", secret(&env));
    let turbo_profile = env.router.as_ref().unwrap().find(PPP_PROFILE, "Turbo Home 10M-turbo-night").unwrap();
    assert_eq!(turbo_profile.get("rate-limit").map(String::as_str), Some("20M/50M"));
    let subs = env.send("GET", "/v1/portal/subscriptions", Some(&token), None).await.expect(200);
    assert_eq!(subs[0]["turbo"]["code"], "night");

    // The router is down when the turbo ends; the sweep tells provisioning once.
    env.router.as_ref().unwrap().go_offline();
    env.clock.advance(chrono::Duration::hours(3) + chrono::Duration::minutes(1));
    let now = json!({"time": env.clock.now()});
    let swept = env.send("POST", "/_local/jobs/job-turbo-sweep", None, Some(now.clone())).await.expect(200);
    assert_eq!(swept["ended"], 1);
    let again = env.send("POST", "/_local/jobs/job-turbo-sweep", None, Some(now)).await.expect(200);
    assert_eq!(again["ended"], 0, "told once");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(secret(&env).and_then(|s| s.get("profile").cloned()).as_deref(), Some("Turbo Home 10M-turbo-night"));
    env.router.as_ref().unwrap().come_back().await.unwrap();
    assert!(env.eventually(profile_is("Turbo Home 10M")).await, "the package's speed is back: {:?}", secret(&env));
    let token = login(&env, PORTAL_HOST, "tania", "tania-pass-1").await.expect(200)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let subs = env.send("GET", "/v1/portal/subscriptions", Some(&token), None).await.expect(200);
    assert!(subs[0]["turbo"].is_null(), "{:#}", subs[0]);
}

/// A turbo paid online in one step: the checkout's price is the turbo's less the credit; once the
/// gateway's word settles it, the invoicing worker buys the turbo from the money (once, however
/// often the IPN comes), and the router runs it.
#[tokio::test]
async fn a_turbo_paid_online_is_bought_when_the_gateway_settles_it() {
    use routeros::menu::PPP_SECRET;
    let env = Env::start_with_router().await;
    let admin = env.admin().await;
    configure_portal(&env, &admin, json!({})).await;
    let router = env.demo_router(&admin).await;
    let (ssl, ssl_account) = sslcommerz(&env, &admin).await;
    let pkg = env
        .send(
            "POST",
            "/v1/packages",
            Some(&admin),
            Some(json!({"name": "Online Turbo 10M", "connection_type": "pppoe", "download": "10M", "upload": "10M",
                "price": 100_000, "validity_days": 30,
                "turbo_offers": [{"code": "eve", "name": "Evening 40M", "download": "40M", "upload": "10M",
                    "hours": 2, "price": 4_000}]})),
        )
        .await
        .expect(201);
    let cid =
        env.create_customer(&admin, "Online Oishi", "01719-300401", "oishi").await["id"].as_str().unwrap().to_string();
    let sub = env.create_subscription(&admin, &cid, pkg["id"].as_str().unwrap(), &router, "oishi-ppp").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.send("POST", &format!("/v1/subscriptions/{sub}/activate"), Some(&admin), None).await.expect(200);
    env.send(
        "PUT",
        &format!("/v1/customers/{cid}/portal-password"),
        Some(&admin),
        Some(json!({"password": "oishi-pass-1"})),
    )
    .await
    .expect(204);
    let token = login(&env, PORTAL_HOST, "oishi", "oishi-pass-1").await.expect(200)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let pay = |key: &'static str, body: Value| {
        let (env, token) = (&env, token.clone());
        async move {
            env.send_with("POST", "/v1/portal/checkouts", Some(&token), Some(body), &[("idempotency-key", key)]).await
        }
    };
    let turbo = json!({"turbo": {"subscription_id": sub, "code": "eve"}, "gateway_account_id": ssl_account});
    // The activation invoice is open: the money would go there first.
    let a = pay("o-0", turbo.clone()).await;
    assert_eq!((a.status, a.body["code"].as_str()), (409, Some("open_invoices_first")), "{:#}", a.body);
    let inv = env.send("GET", &format!("/v1/invoices?customer_id={cid}"), Some(&admin), None).await.expect(200)["items"][0]
        ["id"]
        .clone();
    env.send_with(
        "POST",
        "/v1/payments",
        Some(&admin),
        Some(json!({"invoice_id": inv, "amount": 101_000, "method": "cash"})),
        &[("idempotency-key", "oishi-1")],
    )
    .await
    .expect(201);
    let a =
        pay("o-1", json!({"turbo": {"subscription_id": sub, "code": "nope"}, "gateway_account_id": ssl_account})).await;
    assert_eq!((a.status, a.body["errors"][0]["field"].as_str()), (422, Some("turbo.code")), "{:#}", a.body);
    let a = pay(
        "o-2",
        json!({"turbo": {"subscription_id": sub, "code": "eve"}, "amount": 5, "gateway_account_id": ssl_account}),
    )
    .await;
    assert_eq!((a.status, a.body["errors"][0]["field"].as_str()), (422, Some("turbo")));

    // 1,000 of credit: the checkout asks for the other 3,000.
    let created = pay("o-3", turbo).await.expect(201);
    assert_eq!(created["amount"], 3_000);
    assert_eq!(created["then_turbo"]["code"], "eve");
    let order = created["order_id"].as_str().unwrap();
    let ipn = ssl.pay(order);
    for _ in 0..3 {
        assert_eq!(ssl.deliver(order, &ipn, None).await, 200);
    }
    let profile =
        |env: &Env| env.router.as_ref().unwrap().find(PPP_SECRET, "oishi-ppp").and_then(|s| s.get("profile").cloned());
    let on_turbo = || profile(&env).as_deref() == Some("Online Turbo 10M-turbo-eve");
    assert!(env.eventually(on_turbo).await, "the turbo on the router: {:?}", profile(&env));
    let subs = env.send("GET", "/v1/portal/subscriptions", Some(&token), None).await.expect(200);
    assert_eq!(subs[0]["turbo"]["code"], "eve");
    // Bought once: one turbo invoice, paid; the credit spent.
    let invoices = env.send("GET", &format!("/v1/invoices?customer_id={cid}"), Some(&admin), None).await.expect(200);
    let turbo_invoices: Vec<&Value> = invoices["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["lines"][0]["description"].as_str().unwrap_or("").starts_with("Evening 40M"))
        .collect();
    assert_eq!(turbo_invoices.len(), 1, "{invoices:#}");
    assert_eq!(turbo_invoices[0]["status"], "paid");
    // The event delivered again (the queue's at-least-once): the first purchase answers, nothing more.
    let paid = domain::event::TurboCheckoutPaid {
        customer_id: cid.parse().unwrap(),
        subscription_id: sub.parse().unwrap(),
        code: "eve".into(),
        checkout_id: created["id"].as_str().unwrap().parse().unwrap(),
    };
    let before = env.settled_snapshot().await;
    assert!(subscriptions::turbo::buy_paid(&env.local.app, env.tenant(), &paid).await.unwrap());
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
    assert_eq!(env.send("GET", "/v1/portal/balance", Some(&token), None).await.expect(200)["credit"], 0);
}

/// Package change from the portal: the choices at the subscriber's price, a preview, an upgrade at
/// once with its prorated invoice, a downgrade scheduled for the end of the period (called off,
/// asked again) and made by the hourly expiry sweep when the period has ended.
#[tokio::test]
async fn a_subscriber_upgrades_at_once_and_downgrades_at_the_end_of_the_period() {
    let env = Env::start().await;
    let admin = env.admin().await;
    configure_portal(&env, &admin, json!({})).await;
    let p10 = env.create_package(&admin, "Pc 10M", "10M", 100_000).await["id"].as_str().unwrap().to_string();
    let p20 = env.create_package(&admin, "Pc 20M", "20M", 150_000).await["id"].as_str().unwrap().to_string();
    let p5 = env.create_package(&admin, "Pc 5M", "5M", 60_000).await["id"].as_str().unwrap().to_string();
    let router = env.create_router(&admin, "Pc Router", "10.99.0.71", None).await["id"].as_str().unwrap().to_string();
    let cid = env.create_customer(&admin, "Change Chandni", "01719-300501", "chandni").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let sub =
        env.create_subscription(&admin, &cid, &p10, &router, "chandni-ppp").await["id"].as_str().unwrap().to_string();
    let activated =
        env.send("POST", &format!("/v1/subscriptions/{sub}/activate"), Some(&admin), None).await.expect(200);
    let expires_at = activated["expires_at"].as_str().unwrap().to_string();
    env.send(
        "PUT",
        &format!("/v1/customers/{cid}/portal-password"),
        Some(&admin),
        Some(json!({"password": "chandni-pass-1"})),
    )
    .await
    .expect(204);
    let token = login(&env, PORTAL_HOST, "chandni", "chandni-pass-1").await.expect(200)["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    let choices =
        env.send("GET", &format!("/v1/portal/subscriptions/{sub}/packages"), Some(&token), None).await.expect(200);
    let by_id = |id: &str| choices.as_array().unwrap().iter().find(|c| c["package_id"] == id).cloned();
    assert_eq!(by_id(&p20).map(|c| c["takes_effect"].clone()), Some(json!("now")), "{choices:#}");
    assert_eq!(by_id(&p5).map(|c| c["takes_effect"].clone()), Some(json!("at_renewal")));
    assert!(by_id(&p10).is_none(), "not the current package");

    let preview = env
        .send(
            "POST",
            &format!("/v1/portal/subscriptions/{sub}/package-change/preview"),
            Some(&token),
            Some(json!({"package_id": p20})),
        )
        .await
        .expect(200);
    assert_eq!(preview["takes_effect"], "now");
    let lines = preview["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{preview:#}");
    assert!(lines[0]["amount"].as_i64().unwrap() < 0 && lines[1]["amount"].as_i64().unwrap() > 0, "{preview:#}");
    let total = preview["total"].as_i64().unwrap();
    assert!(total > 0, "{preview:#}");

    // Bad input changes nothing: the current package, another connection type, no key.
    let before = env.settled_snapshot().await;
    let change = |key: &'static str, body: Value| {
        let (env, token, sub) = (&env, token.clone(), sub.clone());
        async move {
            env.send_with(
                "POST",
                &format!("/v1/portal/subscriptions/{sub}/package-change"),
                Some(&token),
                Some(body),
                &[("idempotency-key", key)],
            )
            .await
        }
    };
    let a = change("pc-0", json!({"package_id": p10})).await;
    assert_eq!((a.status, a.body["errors"][0]["field"].as_str()), (422, Some("package_id")));
    let a = change("pc-00", json!({"package_id": cid})).await;
    assert_eq!(a.status, 422);
    let a = env
        .send(
            "POST",
            &format!("/v1/portal/subscriptions/{sub}/package-change"),
            Some(&token),
            Some(json!({"package_id": p20})),
        )
        .await;
    assert_eq!(a.status, 400, "an Idempotency-Key is required");
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);

    // Upgrade: at once, invoiced as previewed.
    let up = change("pc-1", json!({"package_id": p20})).await.expect(200);
    assert_eq!(up["package_id"], json!(p20));
    assert_eq!(change("pc-1", json!({"package_id": p20})).await.expect(200)["version"], up["version"], "once");
    let invoices = env.send("GET", "/v1/portal/invoices", Some(&token), None).await.expect(200);
    let change_inv = invoices["items"].as_array().unwrap().iter().find(|i| i["kind"] == "package_change").cloned();
    assert_eq!(change_inv.map(|i| i["total"].clone()), Some(json!(total)), "{invoices:#}");

    // Downgrade: scheduled for the expiry; called off; asked again.
    let down = change("pc-2", json!({"package_id": p5})).await.expect(200);
    assert_eq!(
        (down["package_id"].as_str(), down["scheduled_package"]["package_id"].as_str()),
        (Some(p20.as_str()), Some(p5.as_str()))
    );
    assert_eq!(down["scheduled_package"]["at"], json!(expires_at));
    let off = env
        .send("DELETE", &format!("/v1/portal/subscriptions/{sub}/package-change"), Some(&token), None)
        .await
        .expect(200);
    assert!(off.get("scheduled_package").is_none_or(|v| v.is_null()), "{off:#}");
    let a = env.send("DELETE", &format!("/v1/portal/subscriptions/{sub}/package-change"), Some(&token), None).await;
    assert_eq!(a.status, 404);
    change("pc-3", json!({"package_id": p5})).await.expect(200);

    // The ISP may keep downgrades for itself.
    configure_portal(&env, &admin, json!({"self_downgrade": false})).await;
    let a = env
        .send(
            "POST",
            &format!("/v1/portal/subscriptions/{sub}/package-change/preview"),
            Some(&token),
            Some(json!({"package_id": p5})),
        )
        .await;
    assert_eq!((a.status, a.body["code"].as_str()), (403, Some("package_change_not_allowed")));

    // The period ends; the hourly sweep makes the move.
    env.clock.advance(chrono::Duration::days(30) + chrono::Duration::hours(2));
    let now = json!({"time": env.clock.now()});
    env.send("POST", "/_local/jobs/job-expiry-sweep", None, Some(now)).await.expect(200);
    let admin = env.admin().await;
    let mut moved = Value::Null;
    for _ in 0..200 {
        moved = env.send("GET", &format!("/v1/subscriptions/{sub}"), Some(&admin), None).await.expect(200);
        if moved["package_id"] == json!(p5) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(moved["package_id"], json!(p5), "{moved:#}");
    assert!(moved.get("scheduled_package").is_none_or(|v| v.is_null()), "{moved:#}");
    assert_eq!(moved["price"], 60_000);
}

/// The live session: through the same path as staff's, only one's own.
#[tokio::test]
async fn a_subscriber_sees_their_own_live_session_and_no_one_elses() {
    let env = Env::start_with_router().await;
    let token = env
        .send_with(
            "POST",
            "/v1/portal/auth/login",
            None,
            Some(json!({"login": "rahim", "password": "rahim-portal-1"})),
            &[("x-isp", "demo-isp")],
        )
        .await
        .expect(200)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let subs = env.send("GET", "/v1/portal/subscriptions", Some(&token), None).await.expect(200);
    let sid = subs[0]["id"].as_str().unwrap().to_string();
    let path = format!("/v1/portal/subscriptions/{sid}/session");
    let s = env.send("GET", &path, Some(&token), None).await.expect(200);
    assert_eq!(s["online"], false);
    let provisioned = || env.router.as_ref().unwrap().find(routeros::menu::PPP_SECRET, "rahim").is_some();
    assert!(env.eventually(provisioned).await, "Rahim's line is on the router");
    env.router.as_ref().unwrap().with_state(|s| s.dial_ppp("rahim", "10.20.0.61").unwrap());
    let s = env.send("GET", &path, Some(&token), None).await.expect(200);
    assert_eq!((s["online"].as_bool(), s["session"]["address"].as_str()), (Some(true), Some("10.20.0.61")), "{s:#}");
    // Karim's subscription, with Rahim's token: not there.
    let admin = env.admin().await;
    let all = env.send("GET", "/v1/subscriptions?limit=50", Some(&admin), None).await.expect(200);
    let karim = all["items"].as_array().unwrap().iter().find(|s| s["username"] == "karim").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let a = env.send("GET", &format!("/v1/portal/subscriptions/{karim}/session"), Some(&token), None).await;
    assert_eq!(a.status, 404);
}
