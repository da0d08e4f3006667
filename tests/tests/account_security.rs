//! Account takeover paths, reset codes, reset limits and the lockout under concurrent guesses.

use e2e_tests::Env;
use serde_json::{Value, json};

fn code_in(body: &str) -> String {
    body.lines()
        .map(str::trim)
        .find(|l| l.len() > 40 && l.contains('.') && !l.contains(' '))
        .expect("a code line")
        .to_string()
}

async fn user_id(env: &Env, token: &str) -> String {
    env.send("GET", "/v1/me", Some(token), None).await.expect(200)["user"]["id"].as_str().unwrap().to_string()
}

async fn version(env: &Env, token: &str, id: &str) -> Value {
    env.send("GET", &format!("/v1/users/{id}"), Some(token), None).await.expect(200)["version"].clone()
}

/// `PATCH /v1/users/{id}` with the user's current version (read by the ISP admin).
async fn patch_user(env: &Env, token: &str, id: &str, mut body: Value) -> e2e_tests::Answer {
    let admin = env.admin().await;
    body["version"] = version(env, &admin, id).await;
    env.send("PATCH", &format!("/v1/users/{id}"), Some(token), Some(body)).await
}

/// The reset codes delivered so far to `to`, oldest first.
fn codes_for(env: &Env, to: &str) -> Vec<String> {
    env.local
        .channel
        .recorded
        .messages()
        .iter()
        .filter(|m| m.to == to && m.subject.contains("Reset"))
        .map(|m| code_in(&m.body))
        .collect()
}

async fn confirm(env: &Env, code: &str, password: &str) -> e2e_tests::Answer {
    env.send("POST", "/v1/auth/password-reset/confirm", None, Some(json!({"token": code, "new_password": password})))
        .await
}

async fn ask_reset(env: &Env, email: &str) -> e2e_tests::Answer {
    env.send("POST", "/v1/auth/password-reset", None, Some(json!({"email": email}))).await
}

#[tokio::test]
async fn contact_details_change_with_the_own_password_or_from_above_and_the_old_address_hears_of_it() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let (m1, m1_token) = env.create_user(&admin, "manager", "m1@sec.test", None).await;
    let (m2, _) = env.create_user(&admin, "manager", "m2@sec.test", None).await;
    let (op, _) = env.create_user(&admin, "operator", "op@sec.test", None).await;

    // A peer cannot move where another manager's reset codes go (then reset its password).
    for change in [json!({"email": "mine@evil.test"}), json!({"phone": "+8801700000001"})] {
        let a = patch_user(&env, &m1_token, &m2, change).await;
        assert_eq!(a.status, 403, "{}", a.body);
    }
    // A name is ordinary work, as before.
    patch_user(&env, &m1_token, &m2, json!({"name": "Manager Two"})).await.expect(200);

    // Oneself: a stolen access token alone is not enough.
    let none = patch_user(&env, &m1_token, &m1, json!({"email": "m1-new@sec.test"})).await;
    assert_eq!(
        (none.status, none.body["errors"][0]["field"].as_str()),
        (422, Some("current_password")),
        "{}",
        none.body
    );
    let wrong =
        patch_user(&env, &m1_token, &m1, json!({"email": "m1-new@sec.test", "current_password": "guess-1234"})).await;
    assert_eq!(wrong.status, 422);
    assert_eq!(version(&env, &admin, &m1).await, json!(1), "refused changes change nothing");
    patch_user(&env, &m1_token, &m1, json!({"email": "m1-new@sec.test", "current_password": "staff-pass-123"}))
        .await
        .expect(200);
    env.login("m1-new@sec.test", "staff-pass-123").await;

    // From above: the admin may, and so may a manager for an operator.
    patch_user(&env, &admin, &m2, json!({"email": "m2-new@sec.test"})).await.expect(200);
    let m1_fresh = env.token("m1-new@sec.test", "staff-pass-123").await;
    patch_user(&env, &m1_fresh, &op, json!({"phone": "+8801700000002"})).await.expect(200);

    // Every old address is told, with who did it.
    let channel = env.local.channel.recorded.clone();
    assert!(env.eventually(|| channel.messages().len() >= 3).await, "{:?}", channel.messages());
    let notices: Vec<_> = channel.messages().into_iter().filter(|m| m.subject.contains("was changed")).collect();
    let to = |addr: &str| notices.iter().find(|m| m.to == addr).unwrap_or_else(|| panic!("no notice to {addr}"));
    assert!(to("m1@sec.test").subject.contains("e-mail address"));
    assert!(to("m1@sec.test").body.contains("from your own login"));
    assert!(to("m2@sec.test").body.contains("by another user"));
    assert!(to("op@sec.test").subject.contains("phone number"));
    assert_eq!(notices.len(), 3, "no notice for the refused changes or the name");
}

#[tokio::test]
async fn impersonation_is_for_looking_and_ordinary_work_and_the_platform_logs_it() {
    let env = Env::start().await;
    let owner = env.owner().await;
    let admin = env.admin().await;
    let admin_id = user_id(&env, &admin).await;
    let (staff, _) = env.create_user(&admin, "staff", "staff@sec.test", None).await;
    let imp = env
        .send("POST", "/v1/impersonate", Some(&owner), Some(json!({"user_id": admin_id, "tenant_id": env.tenant()})))
        .await
        .expect(200);
    let t = imp["access_token"].as_str().unwrap();
    let (admin_v, staff_v) = (version(&env, &admin, &admin_id).await, version(&env, &admin, &staff).await);
    let before = env.table_snapshot().await;
    let refused = [
        (
            "POST",
            "/v1/users".to_string(),
            json!({"name": "Backdoor", "email": "back@door.test", "password": "backdoor-pass-1", "role": "admin"}),
        ),
        (
            "PATCH",
            format!("/v1/users/{admin_id}"),
            json!({"email": "owner@evil.test", "current_password": env.creds.admin_password, "version": admin_v}),
        ),
        ("PATCH", format!("/v1/users/{staff}"), json!({"email": "staff2@evil.test", "version": staff_v})),
        ("PATCH", format!("/v1/users/{staff}"), json!({"status": "disabled", "version": staff_v})),
        ("PATCH", format!("/v1/users/{staff}"), json!({"role": "accountant", "version": staff_v})),
        ("DELETE", format!("/v1/users/{staff}"), Value::Null),
        (
            "POST",
            "/v1/auth/password".to_string(),
            json!({"current_password": env.creds.admin_password, "new_password": "taken-over-pass-1"}),
        ),
    ];
    for (method, path, body) in refused {
        let a = env.send(method, &path, Some(t), (!body.is_null()).then_some(body)).await;
        assert_eq!(a.status, 403, "{method} {path}: {}", a.body);
    }
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
    // Ordinary work goes on.
    patch_user(&env, t, &staff, json!({"name": "Staff Renamed"})).await.expect(200);
    env.create_customer(t, "Imp Customer", "01711-000112", "impcust2").await;

    // The platform's own log has it, beside the ISP's.
    let platform = env.send("GET", "/v1/audit-log", Some(&owner), None).await.expect(200);
    let started: Vec<_> =
        platform["items"].as_array().unwrap().iter().filter(|e| e["action"] == "impersonation.started").collect();
    assert_eq!(started.len(), 1, "{platform}");
    assert_eq!(started[0]["entity_id"], admin_id.as_str());
    assert_eq!(started[0]["actor_id"], user_id(&env, &owner).await.as_str());
    let isp = env.send("GET", "/v1/audit-log", Some(&admin), None).await.expect(200);
    assert!(isp["items"].as_array().unwrap().iter().any(|e| e["action"] == "impersonation.started"));
}

#[tokio::test]
async fn enabling_a_disabled_user_again_revives_no_session_and_no_reset_code() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let (staff, _) = env.create_user(&admin, "staff", "back@sec.test", None).await;
    let pair = env.login("back@sec.test", "staff-pass-123").await;
    ask_reset(&env, "back@sec.test").await.expect(202);
    assert!(env.eventually(|| !codes_for(&env, "back@sec.test").is_empty()).await);
    let code = codes_for(&env, "back@sec.test")[0].clone();
    for status in ["disabled", "active"] {
        patch_user(&env, &admin, &staff, json!({"status": status})).await.expect(200);
    }
    let refresh =
        env.send("POST", "/v1/auth/refresh", None, Some(json!({"refresh_token": pair["refresh_token"]}))).await;
    assert_eq!(refresh.status, 401, "a session from before the disable stays dead");
    assert_eq!(confirm(&env, &code, "revived-pass-123").await.code(), "invalid_reset_token");
    env.login("back@sec.test", "staff-pass-123").await;
}

#[tokio::test]
async fn every_outstanding_reset_code_dies_when_the_password_changes() {
    let env = Env::start().await;
    let email = env.creds.admin_email.clone();
    for n in 1..=2 {
        ask_reset(&env, &email).await.expect(202);
        assert!(env.eventually(|| codes_for(&env, &email).len() == n).await);
    }
    let codes = codes_for(&env, &email);
    assert_ne!(codes[0], codes[1]);
    confirm(&env, &codes[1], "newest-code-pass-1").await;
    assert_eq!(confirm(&env, &codes[0], "older-code-pass-1").await.code(), "invalid_reset_token");
    env.login(&email, "newest-code-pass-1").await;

    // A code, then a password change by the logged-in user: the code is dead too.
    ask_reset(&env, &email).await.expect(202);
    assert!(env.eventually(|| codes_for(&env, &email).len() == 3).await);
    let token = env.token(&email, "newest-code-pass-1").await;
    env.send(
        "POST",
        "/v1/auth/password",
        Some(&token),
        Some(json!({"current_password": "newest-code-pass-1", "new_password": "changed-pass-12"})),
    )
    .await
    .expect(200);
    assert_eq!(confirm(&env, &codes_for(&env, &email)[2], "stale-code-pass-1").await.code(), "invalid_reset_token");
    env.login(&email, "changed-pass-12").await;
}

#[tokio::test]
async fn reset_requests_are_limited_per_address_and_per_source_alike_for_unknown_addresses() {
    let env = Env::start().await;
    for email in [env.creds.admin_email.clone(), "nobody@sec.test".to_string()] {
        for _ in 0..5 {
            ask_reset(&env, &email).await.expect(202);
        }
        let sixth = ask_reset(&env, &email).await;
        assert_eq!((sixth.status, sixth.code()), (429, "too_many_reset_requests"), "{email}");
        let retry: i64 = sixth.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=3600).contains(&retry), "{retry}");
    }
    // Five codes reached the real address, none more.
    let email = env.creds.admin_email.clone();
    assert!(env.eventually(|| codes_for(&env, &email).len() == 5).await);
    ask_reset(&env, "someone-else@sec.test").await.expect(202);
    env.clock.advance(chrono::Duration::hours(1));
    ask_reset(&env, &email).await.expect(202);

    // Per source address (API Gateway's sourceIp; the local runner passes the TCP peer's).
    let app = &env.local.app;
    let ask = |n: u32, ip: &'static str| {
        identity::auth::request_password_reset(
            app,
            serde_json::from_value(json!({"email": format!("spray{n}@sec.test")})).unwrap(),
            Some(ip),
        )
    };
    for n in 0..30 {
        ask(n, "203.0.113.7").await.unwrap();
    }
    let err = ask(30, "203.0.113.7").await.unwrap_err();
    assert!(matches!(err, domain::Error::TooManyRequests { code: "too_many_reset_requests", .. }), "{err:?}");
    ask(31, "203.0.113.8").await.expect("another source is not held back");
}

#[tokio::test]
async fn a_burst_of_guesses_checks_at_most_five_passwords() {
    let env = Env::start().await;
    let email = env.creds.admin_email.clone();
    let guess = |password: String| {
        let env = &env;
        let email = email.clone();
        async move {
            env.send("POST", "/v1/auth/login", None, Some(json!({"email": email, "password": password}))).await.status
        }
    };
    let burst: Vec<u16> = futures::future::join_all((0..20).map(|n| guess(format!("wrong-guess-{n}")))).await;
    assert_eq!(burst.iter().filter(|s| **s == 401).count(), 5, "{burst:?}");
    assert_eq!(burst.iter().filter(|s| **s == 429).count(), 15, "{burst:?}");
    assert_eq!(guess(env.creds.admin_password.clone()).await, 429, "the right password waits out the lock");

    // After the lock: four failures, then a burst with the right password among wrong ones. One
    // attempt is left, so exactly one password of the burst is checked.
    env.clock.advance(chrono::Duration::minutes(15));
    for n in 0..4 {
        assert_eq!(guess(format!("wrong-again-{n}")).await, 401);
    }
    let mut passwords: Vec<String> = (0..7).map(|n| format!("wrong-burst-{n}")).collect();
    passwords.insert(3, env.creds.admin_password.clone());
    let burst: Vec<u16> = futures::future::join_all(passwords.into_iter().map(guess)).await;
    assert_eq!(burst.iter().filter(|s| **s != 429).count(), 1, "{burst:?}");
    env.clock.advance(chrono::Duration::minutes(15));
    env.login(&email, &env.creds.admin_password).await;
}
