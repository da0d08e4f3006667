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
