use e2e_tests::Env;
use serde_json::json;

/// Every number on the dashboard follows the writes: customers by status, new this month,
/// subscriptions expiring within 1/3/7 days, routers; and an operator sees only its subtree.
#[tokio::test]
async fn the_dashboard_follows_every_write() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let dash = |token: String| {
        let env = &env;
        async move { env.send("GET", "/v1/dashboard", Some(&token), None).await.expect(200) }
    };
    // The demo ISP: two customers online, one waiting; its one router never contacted.
    let d = dash(admin.clone()).await;
    assert_eq!(d["customers"], json!({"new": 1, "active": 2, "suspended": 0, "inactive": 0, "total": 3}));
    assert_eq!(d["new_customers_this_month"], 3);
    assert_eq!(d["subscriptions_expiring"], json!({"within_1_day": 0, "within_3_days": 0, "within_7_days": 0}));
    assert_eq!(d["routers"]["unknown"], 1);

    let (op_id, op) = env.create_user(&admin, "operator", "op@dash.test", None).await;
    let pkg = env.create_package(&admin, "Dash", "10M", 100).await["id"].as_str().unwrap().to_string();
    env.send("PUT", &format!("/v1/packages/{pkg}/offers/{op_id}"), Some(&admin), Some(json!({"wholesale_price": 50})))
        .await
        .expect(200);
    let router = env.create_router(&admin, "dash-r", "10.7.0.1", None).await["id"].as_str().unwrap().to_string();
    let c = env.create_customer(&op, "Dash Customer", "01719-700001", "dashc").await;
    let s = env
        .send(
            "POST",
            &format!("/v1/customers/{}/subscriptions", c["id"].as_str().unwrap()),
            Some(&op),
            Some(json!({"package_id": pkg, "router_id": router, "billing_model": "prepaid"})),
        )
        .await
        .expect(201);
    let sid = s["id"].as_str().unwrap();
    // The operator's wallet pays its price (0.50) for the activation.
    env.send_with(
        "POST",
        &format!("/v1/operators/{op_id}/wallet/top-ups"),
        Some(&admin),
        Some(json!({"amount": 50, "method": "cash"})),
        &[("idempotency-key", "dash-top")],
    )
    .await
    .expect(201);
    env.send("POST", &format!("/v1/subscriptions/{sid}/activate"), Some(&op), None).await.expect(200);
    // 30 days of validity: move the clock to 2.5 days before the end.
    env.clock.advance(chrono::Duration::hours(30 * 24 - 60));
    let (admin, op) = (env.admin().await, env.token("op@dash.test", "staff-pass-123").await);
    let d = dash(op.clone()).await;
    assert_eq!(d["scope"], "operator");
    assert_eq!(d["customers"], json!({"new": 0, "active": 1, "suspended": 0, "inactive": 0, "total": 1}));
    assert_eq!(d["subscriptions_expiring"], json!({"within_1_day": 0, "within_3_days": 1, "within_7_days": 1}));
    let d = dash(admin.clone()).await;
    assert_eq!(d["customers"]["active"], 3);
    assert_eq!(d["subscriptions_expiring"]["within_3_days"], 3, "the demo subscriptions end the same day");
    assert_eq!(d["routers"]["unknown"], 2);

    // Suspending moves the customer and drops the subscription from "expiring"; cancelling ends it.
    env.send("POST", &format!("/v1/subscriptions/{sid}/suspend"), Some(&op), None).await.expect(200);
    let d = dash(op.clone()).await;
    assert_eq!(d["customers"], json!({"new": 0, "active": 0, "suspended": 1, "inactive": 0, "total": 1}));
    assert_eq!(d["subscriptions_expiring"]["within_7_days"], 0);
    env.send("POST", &format!("/v1/subscriptions/{sid}/cancel"), Some(&op), None).await.expect(200);
    env.send("DELETE", &format!("/v1/routers/{router}"), Some(&admin), None).await.expect(204);
    let d = dash(admin.clone()).await;
    assert_eq!((d["customers"]["inactive"].as_i64(), d["customers"]["total"].as_i64()), (Some(1), Some(4)));
    assert_eq!(d["routers"]["unknown"], 1);
}
