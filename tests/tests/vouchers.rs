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
