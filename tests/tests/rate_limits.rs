//! Request limits: an ISP hammering the API is refused (429 with `Retry-After`) while another ISP's
//! calls pass; a key has its own limit; logins from one address are limited; the limits are the
//! platform owner's settings with an override per ISP.

use e2e_tests::Env;
use serde_json::json;

#[tokio::test]
async fn an_isp_over_its_limit_gets_429_while_another_isps_calls_pass() {
    let env = Env::start().await;
    let owner = env.owner().await;
    let admin = env.admin().await;
    let (_, other) = env.other_tenant("calm-isp").await;
    let tid = env.tenant();
    let t = env.send("GET", &format!("/v1/tenants/{tid}"), Some(&owner), None).await.expect(200);
    env.send(
        "PATCH",
        &format!("/v1/tenants/{tid}"),
        Some(&owner),
        Some(json!({"rate_limits": {"api_per_minute": 10}, "version": t["version"]})),
    )
    .await
    .expect(200);
    let shown = env.send("GET", &format!("/v1/tenants/{tid}/rate-limits"), Some(&admin), None).await.expect(200);
    assert_eq!(
        (shown["settings"]["api_per_minute"].as_u64(), shown["effective"]["api_per_minute"].as_u64()),
        (Some(10), Some(10))
    );
    assert_eq!(shown["effective"]["key_per_minute"].as_u64(), Some(300), "the rest are the platform's defaults");
    // A container applies what it read within a minute.
    env.clock.advance(chrono::Duration::seconds(61));

    let (mut passed, mut refused) = (0, vec![]);
    for _ in 0..15 {
        let a = env.send("GET", "/v1/packages", Some(&admin), None).await;
        match a.status {
            200 => passed += 1,
            429 => refused.push(a),
            s => panic!("unexpected {s}: {:#}", a.body),
        }
        // The calm ISP is served throughout.
        env.send("GET", "/v1/packages", Some(&other), None).await.expect(200);
    }
    assert_eq!((passed, refused.len()), (10, 5), "ten a minute, counted exactly at this size");
    let r = &refused[0];
    assert_eq!(r.code(), "rate_limited");
    assert_eq!(r.headers["content-type"], "application/problem+json");
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // The next minute it is served again.
    env.clock.advance(chrono::Duration::seconds(retry as i64));
    env.send("GET", "/v1/packages", Some(&admin), None).await.expect(200);

    // Only the platform owner sets an ISP's limits, and only to sensible values.
    let t = env.send("GET", &format!("/v1/tenants/{tid}"), Some(&owner), None).await.expect(200);
    let version = t["version"].clone();
    let by_admin = env
        .send(
            "PATCH",
            &format!("/v1/tenants/{tid}"),
            Some(&admin),
            Some(json!({"rate_limits": {"api_per_minute": 100000}, "version": version})),
        )
        .await;
    assert_eq!((by_admin.status, by_admin.code()), (403, "platform_setting"));
    let reseller = env.reseller().await;
    let by_reseller = env
        .send(
            "PATCH",
            &format!("/v1/tenants/{tid}"),
            Some(&reseller),
            Some(json!({"rate_limits": {"api_per_minute": 100000}, "version": version})),
        )
        .await;
    assert_eq!(by_reseller.status, 403);
    let zero = env
        .send(
            "PATCH",
            &format!("/v1/tenants/{tid}"),
            Some(&owner),
            Some(json!({"rate_limits": {"api_per_minute": 0, "resets_per_source_per_hour": 5}, "version": version})),
        )
        .await;
    assert_eq!(zero.status, 422);
    let fields: Vec<_> = zero.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["rate_limits.api_per_minute", "rate_limits.resets_per_source_per_hour"]);
    let unchanged = env.send("GET", &format!("/v1/tenants/{tid}"), Some(&owner), None).await.expect(200);
    assert_eq!(unchanged["version"], version, "a refused change changes nothing");
}

#[tokio::test]
async fn a_key_has_its_own_limit_within_its_isps() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let k = env
        .send(
            "POST",
            "/v1/api-keys",
            Some(&admin),
            Some(json!({"name": "polling script", "abilities": ["customers:read"], "requests_per_minute": 3})),
        )
        .await
        .expect(201);
    let key = k["secret"].as_str().unwrap();
    for _ in 0..3 {
        env.send("GET", "/v1/customers", Some(key), None).await.expect(200);
    }
    let over = env.send("GET", "/v1/customers", Some(key), None).await;
    assert_eq!((over.status, over.code()), (429, "rate_limited"));
    assert!(over.body["detail"].as_str().unwrap().contains("API key"), "{:#}", over.body);
    // The ISP's staff are not held to the key's limit.
    env.send("GET", "/v1/customers", Some(&admin), None).await.expect(200);
}

#[tokio::test]
async fn the_platform_sets_the_defaults_and_logins_from_one_address_are_limited() {
    let env = Env::start().await;
    let owner = env.owner().await;
    let shown = env.send("GET", "/v1/platform/rate-limits", Some(&owner), None).await.expect(200);
    assert_eq!((shown["effective"]["api_per_minute"].as_u64(), shown["version"].as_u64()), (Some(1200), Some(0)));
    let bad =
        env.send("PUT", "/v1/platform/rate-limits", Some(&owner), Some(json!({"logins_per_source_per_hour": 0}))).await;
    assert_eq!(bad.status, 422);
    let unknown = env.send("PUT", "/v1/platform/rate-limits", Some(&owner), Some(json!({"logins_per_hour": 3}))).await;
    assert_eq!(unknown.status, 422);
    let set = env
        .send("PUT", "/v1/platform/rate-limits", Some(&owner), Some(json!({"logins_per_source_per_hour": 4})))
        .await
        .expect(200);
    assert_eq!((set["effective"]["logins_per_source_per_hour"].as_u64(), set["version"].as_u64()), (Some(4), Some(1)));
    let stale =
        env.send_with("PUT", "/v1/platform/rate-limits", Some(&owner), Some(json!({})), &[("if-match", "0")]).await;
    assert_eq!(stale.status, 409);
    let admin = env.admin().await;
    assert_eq!(env.send("GET", "/v1/platform/rate-limits", Some(&admin), None).await.status, 403);
    assert_eq!(env.send("PUT", "/v1/platform/rate-limits", Some(&admin), Some(json!({}))).await.status, 403);
    // The logins above counted in this hour's window: the next hour starts afresh.
    env.clock.advance(chrono::Duration::hours(1));

    // Logins from this address this hour: four, right or wrong, then 429 for any account.
    let login = |email: &str, password: &str| {
        env.send("POST", "/v1/auth/login", None, Some(json!({"email": email, "password": password})))
    };
    assert_eq!(login("nobody@x.test", "wrong-password-1").await.status, 401);
    assert_eq!(login(&env.creds.admin_email, &env.creds.admin_password).await.status, 200);
    assert_eq!(login("nobody@x.test", "wrong-password-1").await.status, 401);
    assert_eq!(login(&env.creds.admin_email, &env.creds.admin_password).await.status, 200);
    let over = login(&env.creds.admin_email, &env.creds.admin_password).await;
    assert_eq!((over.status, over.code()), (429, "too_many_logins_from_address"));
    assert!(over.headers.contains_key("retry-after"));
    env.clock.advance(chrono::Duration::hours(1));
    assert_eq!(login(&env.creds.admin_email, &env.creds.admin_password).await.status, 200);
}

#[tokio::test]
async fn an_isps_portal_has_its_own_limit_and_wrong_card_codes_are_limited_per_address() {
    let env = Env::start().await;
    let owner = env.owner().await;
    let admin = env.admin().await;
    let tid = env.tenant();
    let t = env.send("GET", &format!("/v1/tenants/{tid}"), Some(&owner), None).await.expect(200);
    env.send(
        "PATCH",
        &format!("/v1/tenants/{tid}"),
        Some(&owner),
        Some(json!({"rate_limits": {"portal_per_minute": 3, "wrong_cards_per_source": 2}, "version": t["version"]})),
    )
    .await
    .expect(200);
    env.clock.advance(chrono::Duration::seconds(61));

    // The ISP's subscribers together: three portal calls this minute, then 429; staff pass.
    let rahim = env.portal_token("rahim").await;
    for _ in 0..3 {
        env.send("GET", "/v1/portal/me", Some(&rahim), None).await.expect(200);
    }
    let over = env.send("GET", "/v1/portal/me", Some(&rahim), None).await;
    assert_eq!((over.status, over.code()), (429, "rate_limited"));
    assert!(over.body["detail"].as_str().unwrap().contains("portal"), "{:#}", over.body);
    env.send("GET", "/v1/customers", Some(&admin), None).await.expect(200);

    // Wrong recharge codes from one address, whichever customers they name: two, then refused.
    let id_of = |username: &'static str| {
        let (env, admin) = (&env, admin.clone());
        async move {
            env.send("GET", &format!("/v1/customers?username={username}"), Some(&admin), None).await.expect(200)["items"]
                [0]["id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let (first, second) = (id_of("rahim").await, id_of("karim").await);
    let redeem = |customer: String, key: &'static str| {
        let (env, admin) = (&env, admin.clone());
        async move {
            env.send_with(
                "POST",
                &format!("/v1/customers/{customer}/recharge"),
                Some(&admin),
                Some(json!({"code": "RCZZZZYYYYXXXXWWWW"})),
                &[("idempotency-key", key)],
            )
            .await
        }
    };
    assert_eq!(redeem(first.clone(), "w-1").await.status, 422);
    assert_eq!(redeem(second.clone(), "w-2").await.status, 422);
    let blocked = redeem(second, "w-3").await;
    assert_eq!((blocked.status, blocked.code()), (429, "too_many_card_attempts"), "{:#}", blocked.body);
    assert!(blocked.body["detail"].as_str().unwrap().contains("this address"), "{:#}", blocked.body);
}
