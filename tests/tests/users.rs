use e2e_tests::Env;
use serde_json::json;

#[tokio::test]
async fn nobody_grants_a_role_above_their_own() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let (_, manager) = env.create_user(&admin, "manager", "m@demo.test", None).await;
    let a = env
        .send(
            "POST",
            "/v1/users",
            Some(&manager),
            Some(json!({"name": "x", "email": "x@demo.test", "password": "staff-pass-123", "role": "admin"})),
        )
        .await;
    assert_eq!(a.status, 403);
    let (op_id, operator) = env.create_user(&manager, "operator", "op@demo.test", None).await;
    for role in ["admin", "manager", "operator", "staff", "accountant"] {
        let a = env
            .send(
                "POST",
                "/v1/users",
                Some(&operator),
                Some(
                    json!({"name": "x", "email": format!("{role}@x.test"), "password": "staff-pass-123", "role": role}),
                ),
            )
            .await;
        assert_eq!(a.status, 403, "operator may not create {role}");
    }
    let (sub_id, sub) = env.create_user(&operator, "sub_operator", "sub@demo.test", None).await;
    let u = env.send("GET", &format!("/v1/users/{sub_id}"), Some(&operator), None).await.expect(200);
    assert_eq!(u["parent_id"], op_id.as_str());
    assert_eq!(u["scope"], format!("{op_id}/{sub_id}"));
    let a = env
        .send(
            "POST",
            "/v1/users",
            Some(&sub),
            Some(json!({"name": "x", "email": "y@x.test", "password": "staff-pass-123", "role": "sub_operator"})),
        )
        .await;
    assert_eq!(a.status, 403, "sub-operators create no users");
    // An operator may not put sub-operators under someone else.
    let (other_op, _) = env.create_user(&admin, "operator", "op2@demo.test", None).await;
    let a = env
        .send("POST", "/v1/users", Some(&operator), Some(json!({"name": "x", "email": "z@x.test", "password": "staff-pass-123", "role": "sub_operator", "parent_id": other_op})))
        .await;
    assert_eq!(a.status, 422);
    // Operators see their own subtree of users only.
    let seen = env.send("GET", "/v1/users", Some(&operator), None).await.expect(200);
    let ids: Vec<_> = seen["items"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids.len(), 2, "itself and its sub-operator: {ids:?}");
    assert_eq!(env.send("GET", &format!("/v1/users/{other_op}"), Some(&operator), None).await.status, 404);
}

#[tokio::test]
async fn operators_see_and_change_only_their_subtree_of_customers() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let (op_id, op) = env.create_user(&admin, "operator", "op@demo.test", None).await;
    let (_, sub) = env.create_user(&op, "sub_operator", "sub@demo.test", None).await;
    let (_, op2) = env.create_user(&admin, "operator", "op2@demo.test", None).await;
    let mine = env.create_customer(&op, "Op Customer", "01711-111111", "opcust").await;
    assert_eq!(mine["operator_id"], op_id.as_str());
    let subs = env.create_customer(&sub, "Sub Customer", "01711-111112", "subcust").await;
    let other = env.create_customer(&op2, "Other Customer", "01711-111113", "othercust").await;
    let isp = env.create_customer(&admin, "ISP Customer", "01711-111114", "ispcust").await;

    let names = |v: serde_json::Value| -> Vec<String> {
        let mut n: Vec<String> =
            v["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_string()).collect();
        n.sort();
        n
    };
    assert_eq!(
        names(env.send("GET", "/v1/customers", Some(&op), None).await.expect(200)),
        ["Op Customer", "Sub Customer"]
    );
    assert_eq!(names(env.send("GET", "/v1/customers", Some(&sub), None).await.expect(200)), ["Sub Customer"]);
    assert_eq!(names(env.send("GET", "/v1/customers?name=o", Some(&op2), None).await.expect(200)), ["Other Customer"]);
    assert_eq!(
        env.send("GET", "/v1/customers", Some(&admin), None).await.expect(200)["items"].as_array().unwrap().len(),
        4 + 3
    );

    for c in [&other, &isp] {
        let id = c["id"].as_str().unwrap();
        assert_eq!(env.send("GET", &format!("/v1/customers/{id}"), Some(&op), None).await.status, 404);
        let p = env
            .send("PATCH", &format!("/v1/customers/{id}"), Some(&op), Some(json!({"name": "hijack", "version": 1})))
            .await;
        assert_eq!(p.status, 404);
        assert_eq!(env.send("DELETE", &format!("/v1/customers/{id}"), Some(&op), None).await.status, 404);
    }
    let sid = subs["id"].as_str().unwrap();
    assert_eq!(
        env.send("GET", &format!("/v1/customers/{sid}"), Some(&op), None).await.status,
        200,
        "an operator sees its sub-operators' customers"
    );
    let mid = mine["id"].as_str().unwrap();
    assert_eq!(
        env.send("GET", &format!("/v1/customers/{mid}"), Some(&sub), None).await.status,
        404,
        "but not the other way round"
    );
}

#[tokio::test]
async fn users_are_updated_with_versions_and_deleting_frees_the_email() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let (id, staff) = env.create_user(&admin, "staff", "s@demo.test", None).await;
    let dup = env
        .send(
            "POST",
            "/v1/users",
            Some(&admin),
            Some(json!({"name": "x", "email": "S@Demo.test", "password": "staff-pass-123", "role": "staff"})),
        )
        .await;
    assert_eq!((dup.status, dup.body["errors"][0]["field"].as_str()), (409, Some("email")));
    let u = env
        .send("PATCH", &format!("/v1/users/{id}"), Some(&admin), Some(json!({"role": "accountant", "version": 1})))
        .await
        .expect(200);
    assert_eq!((u["role"].as_str(), u["version"].as_u64()), (Some("accountant"), Some(2)));
    assert_eq!(
        env.send("PATCH", &format!("/v1/users/{id}"), Some(&admin), Some(json!({"name": "n", "version": 1})))
            .await
            .status,
        409
    );
    let me = env.send("GET", "/v1/me", Some(&admin), None).await.expect(200);
    let own = env
        .send(
            "PATCH",
            &format!("/v1/users/{}", me["user"]["id"].as_str().unwrap()),
            Some(&admin),
            Some(json!({"role": "staff", "version": 1})),
        )
        .await;
    assert_eq!(own.status, 403, "nobody changes their own role");
    env.send("DELETE", &format!("/v1/users/{id}"), Some(&admin), None).await.expect(204);
    assert_eq!(env.send("GET", &format!("/v1/users/{id}"), Some(&admin), None).await.status, 404);
    let gone = env
        .send("POST", "/v1/auth/login", None, Some(json!({"email": "s@demo.test", "password": "staff-pass-123"})))
        .await;
    assert_eq!(gone.status, 401);
    let _ = staff;
    env.create_user(&admin, "staff", "s@demo.test", None).await;
}
