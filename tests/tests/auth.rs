use e2e_tests::Env;
use serde_json::json;

#[tokio::test]
async fn login_answers_the_contract_and_me_describes_the_caller() {
    let env = Env::start().await;
    let pair = env.login(&env.creds.admin_email, &env.creds.admin_password).await;
    assert!(pair["access_token"].as_str().unwrap().split('.').count() == 3, "a JWT");
    assert!(pair["refresh_token"].as_str().unwrap().len() > 40);
    assert_eq!(pair["expires_in"], 900);
    let me = env.send("GET", "/v1/me", pair["access_token"].as_str(), None).await.expect(200);
    assert_eq!(me["user"]["email"], env.creds.admin_email.as_str());
    assert_eq!(me["user"]["role"], "admin");
    assert_eq!(me["tenant"]["name"], "Demo ISP");
    assert!(me["permissions"].as_array().unwrap().iter().any(|p| p == "customers:write"));
    assert!(me["user"].get("password_hash").is_none(), "the hash never leaves the store");
}

#[tokio::test]
async fn wrong_password_and_unknown_email_answer_alike() {
    let env = Env::start().await;
    let a = env
        .send(
            "POST",
            "/v1/auth/login",
            None,
            Some(json!({"email": env.creds.admin_email, "password": "wrong-password-1"})),
        )
        .await;
    let b = env
        .send(
            "POST",
            "/v1/auth/login",
            None,
            Some(json!({"email": "nobody@nowhere.test", "password": "wrong-password-1"})),
        )
        .await;
    assert_eq!((a.status, b.status), (401, 401));
    assert_eq!(a.body, b.body);
    assert_eq!(a.code(), "invalid_credentials");
}

#[tokio::test]
async fn five_failures_lock_for_fifteen_minutes_known_or_not() {
    let env = Env::start().await;
    for email in [env.creds.admin_email.clone(), "ghost@nowhere.test".to_string()] {
        for _ in 0..5 {
            let a = env
                .send("POST", "/v1/auth/login", None, Some(json!({"email": email, "password": "bad-password-9"})))
                .await;
            assert_eq!(a.status, 401);
        }
        let locked =
            env.send("POST", "/v1/auth/login", None, Some(json!({"email": email, "password": "bad-password-9"}))).await;
        assert_eq!(locked.status, 429, "{email}");
        assert_eq!(locked.code(), "account_locked");
        let retry: i64 = locked.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=900).contains(&retry));
    }
    // Even the right password waits out the lock.
    let right = env
        .send(
            "POST",
            "/v1/auth/login",
            None,
            Some(json!({"email": env.creds.admin_email, "password": env.creds.admin_password})),
        )
        .await;
    assert_eq!(right.status, 429);
    env.clock.advance(chrono::Duration::minutes(15));
    env.login(&env.creds.admin_email, &env.creds.admin_password).await;
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let env = Env::start().await;
    let first = env.login(&env.creds.admin_email, &env.creds.admin_password).await;
    let r1 = first["refresh_token"].as_str().unwrap();
    let second = env.send("POST", "/v1/auth/refresh", None, Some(json!({"refresh_token": r1}))).await.expect(200);
    let r2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(r1, r2);
    env.send("GET", "/v1/me", second["access_token"].as_str(), None).await.expect(200);

    let reuse = env.send("POST", "/v1/auth/refresh", None, Some(json!({"refresh_token": r1}))).await;
    assert_eq!((reuse.status, reuse.code()), (401, "refresh_token_reused"));
    let after = env.send("POST", "/v1/auth/refresh", None, Some(json!({"refresh_token": r2}))).await;
    assert_eq!(after.status, 401, "the whole family is revoked, the newest token too");

    let tampered = format!("{}x", &r2[..r2.len() - 1]);
    assert_eq!(env.send("POST", "/v1/auth/refresh", None, Some(json!({"refresh_token": tampered}))).await.status, 401);
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let env = Env::start().await;
    let pair = env.login(&env.creds.admin_email, &env.creds.admin_password).await;
    let rt = pair["refresh_token"].as_str().unwrap();
    env.send("POST", "/v1/auth/logout", None, Some(json!({"refresh_token": rt}))).await.expect(204);
    assert_eq!(env.send("POST", "/v1/auth/refresh", None, Some(json!({"refresh_token": rt}))).await.status, 401);
}

#[tokio::test]
async fn access_tokens_expire_after_fifteen_minutes() {
    let env = Env::start().await;
    let t = env.admin().await;
    env.clock.advance(chrono::Duration::minutes(15));
    let a = env.send("GET", "/v1/me", Some(&t), None).await;
    assert_eq!((a.status, a.code()), (401, "token_expired"));
    assert_eq!(env.send("GET", "/v1/me", Some("not-a-token"), None).await.code(), "invalid_token");
    assert_eq!(env.send("GET", "/v1/me", None, None).await.status, 401);
}

#[tokio::test]
async fn password_change_ends_other_sessions() {
    let env = Env::start().await;
    let old = env.login(&env.creds.admin_email, &env.creds.admin_password).await;
    let token = old["access_token"].as_str().unwrap();
    let bad = env
        .send(
            "POST",
            "/v1/auth/password",
            Some(token),
            Some(json!({"current_password": "nope-nope-1", "new_password": "new-admin-pass-2"})),
        )
        .await;
    assert_eq!(bad.status, 422);
    let fresh = env
        .send(
            "POST",
            "/v1/auth/password",
            Some(token),
            Some(json!({"current_password": env.creds.admin_password, "new_password": "new-admin-pass-2"})),
        )
        .await
        .expect(200);
    assert_eq!(
        env.send("POST", "/v1/auth/refresh", None, Some(json!({"refresh_token": old["refresh_token"]}))).await.status,
        401
    );
    env.send("POST", "/v1/auth/refresh", None, Some(json!({"refresh_token": fresh["refresh_token"]})))
        .await
        .expect(200);
    env.login(&env.creds.admin_email, "new-admin-pass-2").await;
    let old_pw = env
        .send(
            "POST",
            "/v1/auth/login",
            None,
            Some(json!({"email": env.creds.admin_email, "password": env.creds.admin_password})),
        )
        .await;
    assert_eq!(old_pw.status, 401);
}

#[tokio::test]
async fn impersonation_acts_as_the_target_and_audits_both() {
    let env = Env::start().await;
    let owner = env.owner().await;
    let me = env.send("GET", "/v1/me", Some(&env.admin().await), None).await.expect(200);
    let admin_id = me["user"]["id"].as_str().unwrap();
    let imp = env
        .send("POST", "/v1/impersonate", Some(&owner), Some(json!({"user_id": admin_id, "tenant_id": env.tenant()})))
        .await
        .expect(200);
    let t = imp["access_token"].as_str().unwrap();
    assert!(imp.get("refresh_token").is_none(), "impersonation has no refresh token");
    let me2 = env.send("GET", "/v1/me", Some(t), None).await.expect(200);
    assert_eq!(me2["user"]["id"], admin_id);
    let owner_me = env.send("GET", "/v1/me", Some(&owner), None).await.expect(200);
    assert_eq!(me2["impersonator_id"], owner_me["user"]["id"]);
    let c = env.create_customer(t, "Imp Customer", "01711-000111", "impcust").await;
    let log = env
        .send(
            "GET",
            &format!("/v1/audit-log?entity_type=customer&entity_id={}", c["id"].as_str().unwrap()),
            Some(t),
            None,
        )
        .await
        .expect(200);
    let entry = &log["items"][0];
    assert_eq!(entry["action"], "customer.created");
    assert_eq!(entry["acting_as_id"], admin_id);
    assert_ne!(entry["actor_id"], admin_id, "the real actor is the owner");
    assert_eq!(entry["actor_id"], me2["impersonator_id"]);

    // Resellers impersonate only their own ISPs' staff; nobody impersonates while impersonating.
    let nested = env
        .send("POST", "/v1/impersonate", Some(t), Some(json!({"user_id": admin_id, "tenant_id": env.tenant()})))
        .await;
    assert_eq!(nested.status, 403);
    let reseller = env.reseller().await;
    env.send("POST", "/v1/impersonate", Some(&reseller), Some(json!({"user_id": admin_id, "tenant_id": env.tenant()})))
        .await
        .expect(200);
    let admin = env.admin().await;
    assert_eq!(
        env.send(
            "POST",
            "/v1/impersonate",
            Some(&admin),
            Some(json!({"user_id": admin_id, "tenant_id": env.tenant()}))
        )
        .await
        .status,
        403
    );
}
