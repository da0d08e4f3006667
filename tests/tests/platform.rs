use e2e_tests::Env;
use serde_json::json;

fn tenant_body(slug: &str, email: &str) -> serde_json::Value {
    json!({"name": format!("ISP {slug}"), "slug": slug, "time_zone": "Asia/Dhaka", "currency": "BDT",
        "admin": {"name": "Admin", "email": email, "password": "tenant-admin-pass-1"}})
}

#[tokio::test]
async fn owner_manages_resellers_and_resellers_are_held_to_their_isp_limit() {
    let env = Env::start().await;
    let owner = env.owner().await;
    let r = env
        .send(
            "POST",
            "/v1/platform-resellers",
            Some(&owner),
            Some(json!({"name": "Net Reseller", "subscription_expires_at": "2099-01-01T00:00:00Z", "isp_limit": 2,
                "admin": {"name": "Reseller Two", "email": "r2@test.local", "password": "reseller-two-pass-1"}})),
        )
        .await
        .expect(201);
    let rid = r["id"].as_str().unwrap();
    let list = env.send("GET", "/v1/platform-resellers", Some(&owner), None).await.expect(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 2);

    let r2 = env.token("r2@test.local", "reseller-two-pass-1").await;
    env.send("POST", "/v1/tenants", Some(&r2), Some(tenant_body("isp-a", "a@isp-a.test"))).await.expect(201);
    env.send("POST", "/v1/tenants", Some(&r2), Some(tenant_body("isp-b", "b@isp-b.test"))).await.expect(201);
    let third = env.send("POST", "/v1/tenants", Some(&r2), Some(tenant_body("isp-c", "c@isp-c.test"))).await;
    assert_eq!((third.status, third.code()), (409, "isp_limit_reached"));
    let mine = env.send("GET", "/v1/tenants", Some(&r2), None).await.expect(200);
    assert_eq!(mine["items"].as_array().unwrap().len(), 2, "a reseller lists only its own ISPs");
    let all = env.send("GET", "/v1/tenants", Some(&owner), None).await.expect(200);
    assert_eq!(all["items"].as_array().unwrap().len(), 3, "the owner lists every ISP");

    // The limit cannot drop below the ISPs in use; a stale version is a conflict.
    let low = env
        .send(
            "PATCH",
            &format!("/v1/platform-resellers/{rid}"),
            Some(&owner),
            Some(json!({"isp_limit": 1, "version": 1})),
        )
        .await;
    assert_eq!((low.status, low.code()), (409, "isp_limit_below_usage"));
    let up = env
        .send(
            "PATCH",
            &format!("/v1/platform-resellers/{rid}"),
            Some(&owner),
            Some(json!({"isp_limit": 3, "version": 1})),
        )
        .await
        .expect(200);
    assert_eq!(
        (up["isp_limit"].as_u64(), up["isp_count"].as_u64(), up["version"].as_u64()),
        (Some(3), Some(2), Some(2))
    );
    let stale = env
        .send(
            "PATCH",
            &format!("/v1/platform-resellers/{rid}"),
            Some(&owner),
            Some(json!({"isp_limit": 4, "version": 1})),
        )
        .await;
    assert_eq!((stale.status, stale.code()), (409, "version_conflict"));
    env.send("POST", "/v1/tenants", Some(&r2), Some(tenant_body("isp-c", "c@isp-c.test"))).await.expect(201);

    // Resellers neither list nor create resellers.
    assert_eq!(env.send("GET", "/v1/platform-resellers", Some(&r2), None).await.status, 403);
}

#[tokio::test]
async fn concurrent_creates_never_exceed_the_isp_limit() {
    let env = Env::start().await;
    let owner = env.owner().await;
    env.send(
        "POST",
        "/v1/platform-resellers",
        Some(&owner),
        Some(json!({"name": "Tight", "subscription_expires_at": "2099-01-01T00:00:00Z", "isp_limit": 1,
            "admin": {"name": "Tight", "email": "tight@test.local", "password": "tight-reseller-pass-1"}})),
    )
    .await
    .expect(201);
    let t = env.token("tight@test.local", "tight-reseller-pass-1").await;
    let calls = (0..4).map(|i| {
        let body = tenant_body(&format!("race-{i}"), &format!("a{i}@race.test"));
        let t = t.clone();
        let env = &env;
        async move { env.send("POST", "/v1/tenants", Some(&t), Some(body)).await.status }
    });
    let statuses = futures::future::join_all(calls).await;
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 201 || *s == 409), "{statuses:?}");
}

#[tokio::test]
async fn an_expired_reseller_locks_out_its_isps_staff_but_not_itself_or_the_owner() {
    let env = Env::start().await;
    let before = env.login(&env.creds.admin_email, &env.creds.admin_password).await;
    let owner = env.owner().await;
    let rid = env.seed.reseller_id.unwrap();
    let past = (env.local.app.now() - chrono::Duration::days(1)).to_rfc3339();
    env.send(
        "PATCH",
        &format!("/v1/platform-resellers/{rid}"),
        Some(&owner),
        Some(json!({"subscription_expires_at": past, "version": 1})),
    )
    .await
    .expect(200);
    // New logins and refreshes carry the expiry, so both are refused.
    let login = env
        .send(
            "POST",
            "/v1/auth/login",
            None,
            Some(json!({"email": env.creds.admin_email, "password": env.creds.admin_password})),
        )
        .await;
    assert_eq!((login.status, login.code()), (403, "subscription_expired"));
    let refresh =
        env.send("POST", "/v1/auth/refresh", None, Some(json!({"refresh_token": before["refresh_token"]}))).await;
    assert_eq!((refresh.status, refresh.code()), (403, "subscription_expired"));
    // An access token issued before the change lives out its 15 minutes (documented), then is gone.
    let old = before["access_token"].as_str().unwrap();
    env.send("GET", "/v1/customers", Some(old), None).await.expect(200);
    env.clock.advance(chrono::Duration::minutes(15));
    assert_eq!(env.send("GET", "/v1/customers", Some(old), None).await.status, 401);
    // The reseller and the owner keep working.
    env.send("GET", "/v1/tenants", Some(&env.reseller().await), None).await.expect(200);
    env.send("GET", "/v1/platform-resellers", Some(&env.owner().await), None).await.expect(200);
}

#[tokio::test]
async fn a_live_token_is_refused_on_reads_once_the_chain_expires() {
    let env = Env::start().await;
    let owner = env.owner().await;
    let rid = env.seed.reseller_id.unwrap();
    let soon = (env.local.app.now() + chrono::Duration::minutes(5)).to_rfc3339();
    env.send(
        "PATCH",
        &format!("/v1/platform-resellers/{rid}"),
        Some(&owner),
        Some(json!({"subscription_expires_at": soon, "version": 1})),
    )
    .await
    .expect(200);
    let admin = env.admin().await;
    env.send("GET", "/v1/customers", Some(&admin), None).await.expect(200);
    env.clock.advance(chrono::Duration::minutes(6));
    // The access token itself has 9 minutes left; the subscription it depends on has ended.
    for path in ["/v1/customers", "/v1/users", "/v1/me", "/v1/audit-log"] {
        let a = env.send("GET", path, Some(&admin), None).await;
        assert_eq!((a.status, a.code()), (403, "subscription_expired"), "{path}");
    }
    let w = env
        .send(
            "POST",
            "/v1/customers",
            Some(&admin),
            Some(json!({"name": "n", "phone": "01711-222333", "username": "late"})),
        )
        .await;
    assert_eq!(w.code(), "subscription_expired");
    env.send("GET", "/v1/tenants", Some(&env.reseller().await), None).await.expect(200);
}

#[tokio::test]
async fn suspended_isps_staff_cannot_log_in_and_settings_are_versioned() {
    let env = Env::start().await;
    let reseller = env.reseller().await;
    let tid = env.tenant();
    let admin = env.admin().await;
    let t = env.send("GET", &format!("/v1/tenants/{tid}"), Some(&admin), None).await.expect(200);
    assert_eq!(t["time_zone"], "Asia/Dhaka");
    let upd = env
        .send("PATCH", &format!("/v1/tenants/{tid}"), Some(&admin), Some(json!({"billing": {"billing_day": 5, "due_days": 10, "grace_days": 2, "tax_rate_bps": 500}, "version": t["version"]})))
        .await
        .expect(200);
    assert_eq!(upd["billing"]["billing_day"], 5);
    let bad = env
        .send(
            "PATCH",
            &format!("/v1/tenants/{tid}"),
            Some(&admin),
            Some(json!({"time_zone": "Mars/Olympus", "version": upd["version"]})),
        )
        .await;
    assert_eq!(bad.status, 422);

    assert_eq!(
        env.send("POST", &format!("/v1/tenants/{tid}/suspend"), Some(&admin), None).await.status,
        403,
        "admins do not suspend their own ISP"
    );
    let s = env.send("POST", &format!("/v1/tenants/{tid}/suspend"), Some(&reseller), None).await.expect(200);
    assert_eq!(s["status"], "suspended");
    let login = env
        .send(
            "POST",
            "/v1/auth/login",
            None,
            Some(json!({"email": env.creds.admin_email, "password": env.creds.admin_password})),
        )
        .await;
    assert_eq!((login.status, login.code()), (403, "tenant_suspended"));
    env.send("POST", &format!("/v1/tenants/{tid}/resume"), Some(&reseller), None).await.expect(200);
    env.admin().await;
}

#[tokio::test]
async fn tenant_creation_is_idempotent_with_a_key() {
    let env = Env::start().await;
    let reseller = env.reseller().await;
    let body = tenant_body("idem-isp", "a@idem.test");
    let first = env
        .send_with("POST", "/v1/tenants", Some(&reseller), Some(body.clone()), &[("idempotency-key", "k-1")])
        .await
        .expect(201);
    let again =
        env.send_with("POST", "/v1/tenants", Some(&reseller), Some(body.clone()), &[("idempotency-key", "k-1")]).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body, first);
    let other = env
        .send_with(
            "POST",
            "/v1/tenants",
            Some(&reseller),
            Some(tenant_body("idem-two", "b@idem.test")),
            &[("idempotency-key", "k-1")],
        )
        .await;
    assert_eq!((other.status, other.code()), (422, "idempotency_key_reused"));
    let list = env.send("GET", "/v1/tenants", Some(&reseller), None).await.expect(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 2, "demo ISP and one new ISP");
}
