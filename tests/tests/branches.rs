//! Branches: a branch groups POPs, staff, operators and customers; staff bound to a branch see
//! and change only its data; the dashboard per branch; data without a branch stays as it was.

use e2e_tests::Env;
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn ids(list: &Value) -> BTreeSet<String> {
    list["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_branch_bound_manager_sees_and_changes_only_its_branch() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let before = env.send("GET", "/v1/customers", Some(&admin), None).await.expect(200);
    let seeded = ids(&before);

    // The ISP's admin makes two branches; bad input and a taken code change nothing.
    let north = env
        .send(
            "POST",
            "/v1/branches",
            Some(&admin),
            Some(json!({"name": "North", "code": "north", "phone": "+8801700000001"})),
        )
        .await
        .expect(201);
    assert_eq!((north["code"].as_str(), north["status"].as_str()), (Some("NORTH"), Some("active")));
    let south = env
        .send("POST", "/v1/branches", Some(&admin), Some(json!({"name": "South", "code": "SOUTH"})))
        .await
        .expect(201);
    let (n, s) = (id(&north), id(&south));
    let bad = env.send("POST", "/v1/branches", Some(&admin), Some(json!({"name": "", "code": "no spaces"}))).await;
    bad.expect_fields(422, &["name", "code"]);
    env.send("POST", "/v1/branches", Some(&admin), Some(json!({"name": "Again", "code": "NORTH"}))).await.expect(409);
    env.send("POST", "/v1/branches", Some(&admin), Some(json!({"name": "X", "code": "X", "region": "?"})))
        .await
        .expect(422);
    assert_eq!(
        ids(&env.send("GET", "/v1/branches", Some(&admin), None).await.expect(200)),
        BTreeSet::from([n.clone(), s.clone()])
    );

    // POPs, staff, an operator and customers in each; one customer of the ISP as a whole.
    let pop = |code: &str, branch: &str| json!({"name": code, "code": code, "branch_id": branch});
    let pop_n = id(&env.send("POST", "/v1/pops", Some(&admin), Some(pop("P-N", &n))).await.expect(201));
    let pop_s = id(&env.send("POST", "/v1/pops", Some(&admin), Some(pop("P-S", &s))).await.expect(201));
    let user = |role: &str, email: &str, branch: Option<&str>| json!({"name": role, "email": email, "password": "staff-pass-123", "role": role, "branch_id": branch});
    let manager_id = id(&env
        .send("POST", "/v1/users", Some(&admin), Some(user("manager", "m@north.test", Some(&n))))
        .await
        .expect(201));
    let op_id = id(&env
        .send("POST", "/v1/users", Some(&admin), Some(user("operator", "op@north.test", Some(&n))))
        .await
        .expect(201));
    env.send("POST", "/v1/users", Some(&admin), Some(user("admin", "a@north.test", Some(&n))))
        .await
        .expect_fields(422, &["branch_id"]);
    let phones = std::sync::atomic::AtomicU32::new(100);
    let customer = |username: &str, branch: Option<&str>, pop: Option<&str>| {
        let phone = format!("01711-000{}", phones.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        json!({"name": username, "phone": phone, "username": username, "branch_id": branch, "pop_id": pop})
    };
    let c_north = id(&env
        .send("POST", "/v1/customers", Some(&admin), Some(customer("cnorth", Some(&n), Some(&pop_n))))
        .await
        .expect(201));
    let c_south = id(&env
        .send("POST", "/v1/customers", Some(&admin), Some(customer("csouth", Some(&s), Some(&pop_s))))
        .await
        .expect(201));
    let c_isp =
        id(&env.send("POST", "/v1/customers", Some(&admin), Some(customer("cisp", None, None))).await.expect(201));
    // A branch's POP serves that branch's customers only.
    env.send("POST", "/v1/customers", Some(&admin), Some(customer("cmixed", Some(&n), Some(&pop_s))))
        .await
        .expect_fields(422, &["pop_id"]);
    let op = env.token("op@north.test", "staff-pass-123").await;
    let c_op = id(&env.create_customer(&op, "Operator's", "01711-000099", "cop").await);

    // The manager of North: its branch's customers (direct and its operator's), nothing else.
    let manager = env.token("m@north.test", "staff-pass-123").await;
    let listed = env.send("GET", "/v1/customers", Some(&manager), None).await.expect(200);
    assert_eq!(ids(&listed), BTreeSet::from([c_north.clone(), c_op.clone()]));
    env.send("GET", &format!("/v1/customers/{c_north}"), Some(&manager), None).await.expect(200);
    for other in [&c_south, &c_isp] {
        env.send("GET", &format!("/v1/customers/{other}"), Some(&manager), None).await.expect(404);
        env.send(
            "PATCH",
            &format!("/v1/customers/{other}"),
            Some(&manager),
            Some(json!({"name": "Taken", "version": 1})),
        )
        .await
        .expect(404);
    }
    // What it adds goes into North; it cannot add to South, nor use South's POP.
    let added = env
        .send("POST", "/v1/customers", Some(&manager), Some(customer("cadded", None, Some(&pop_n))))
        .await
        .expect(201);
    assert_eq!(added["scope"], json!(format!("br-{n}")));
    env.send("POST", "/v1/customers", Some(&manager), Some(customer("cs2", Some(&s), None)))
        .await
        .expect_fields(422, &["branch_id"]);
    env.send("POST", "/v1/customers", Some(&manager), Some(customer("cs3", None, Some(&pop_s))))
        .await
        .expect_fields(422, &["pop_id"]);
    // Nobody moves a customer onto another branch's POP, nor gives an operator one.
    let on_north = env.send("GET", &format!("/v1/customers/{c_north}"), Some(&admin), None).await.expect(200);
    env.send(
        "PATCH",
        &format!("/v1/customers/{c_north}"),
        Some(&admin),
        Some(json!({"pop_id": pop_s, "version": on_north["version"]})),
    )
    .await
    .expect_fields(422, &["pop_id"]);
    env.send(
        "PUT",
        &format!("/v1/operators/{op_id}/profile"),
        Some(&admin),
        Some(json!({"commission_rate_bps": 0, "credit_limit": 0, "pop_ids": [pop_s], "version": 0})),
    )
    .await
    .expect_fields(422, &["pop_ids[0]"]);
    // Its POPs, its people, its branch.
    assert_eq!(
        ids(&env.send("GET", "/v1/pops", Some(&manager), None).await.expect(200)),
        BTreeSet::from([pop_n.clone()])
    );
    env.send("GET", &format!("/v1/pops/{pop_s}"), Some(&manager), None).await.expect(404);
    let people = ids(&env.send("GET", "/v1/users", Some(&manager), None).await.expect(200));
    assert_eq!(people, BTreeSet::from([manager_id.clone(), op_id.clone()]));
    assert_eq!(
        ids(&env.send("GET", "/v1/branches", Some(&manager), None).await.expect(200)),
        BTreeSet::from([n.clone()])
    );
    env.send("GET", &format!("/v1/branches/{s}"), Some(&manager), None).await.expect(404);
    let staff =
        env.send("POST", "/v1/users", Some(&manager), Some(user("staff", "st@north.test", None))).await.expect(201);
    assert_eq!(staff["scope"], json!(format!("br-{n}")));
    env.send("POST", "/v1/users", Some(&manager), Some(user("staff", "st@south.test", Some(&s))))
        .await
        .expect_fields(422, &["branch_id"]);
    // What is the whole ISP's is not a branch's to change.
    let refused = env
        .send(
            "POST",
            "/v1/packages",
            Some(&manager),
            Some(json!({"name": "B", "connection_type": "pppoe",
        "download": "5M", "upload": "5M", "price": 100, "validity_days": 30})),
        )
        .await;
    assert_eq!(refused.expect(403)["code"], "branch_bound");
    env.send("PATCH", &format!("/v1/branches/{n}"), Some(&manager), Some(json!({"name": "Mine", "version": 1})))
        .await
        .expect(403);

    // The dashboard per branch: the manager's is North's; the admin sees any branch's or all.
    let d = env.send("GET", "/v1/dashboard", Some(&manager), None).await.expect(200);
    assert_eq!((d["scope"].as_str(), d["customers"]["total"].as_i64()), (Some("branch"), Some(3)));
    let d = env.send("GET", &format!("/v1/dashboard?branch_id={s}"), Some(&admin), None).await.expect(200);
    assert_eq!((d["scope"].as_str(), d["customers"]["total"].as_i64()), (Some("branch"), Some(1)));
    let d = env.send("GET", "/v1/dashboard", Some(&admin), None).await.expect(200);
    assert_eq!(d["customers"]["total"].as_i64(), Some(seeded.len() as i64 + 5));
    env.send("GET", &format!("/v1/dashboard?branch_id={s}"), Some(&manager), None).await.expect(404);
    env.send("GET", &format!("/v1/dashboard?branch_id={}", uuid::Uuid::now_v7()), Some(&admin), None).await.expect(404);

    // Reports per branch: an invoice issued to North's customer is North's due, not South's.
    let draft = env
        .send(
            "POST",
            "/v1/invoices",
            Some(&admin),
            Some(json!({"customer_id": c_north,
            "lines": [{"description": "Installation", "unit_amount": 1500}]})),
        )
        .await
        .expect(201);
    env.send("POST", &format!("/v1/invoices/{}/issue", id(&draft)), Some(&admin), None).await.expect(200);
    let dues = |token: String, query: String| {
        let env = &env;
        async move {
            env.send("GET", &format!("/v1/reports/dues{query}"), Some(&token), None).await.expect(200)["total"].as_i64()
        }
    };
    assert_eq!(dues(admin.clone(), format!("?branch_id={n}")).await, Some(1500));
    assert_eq!(dues(admin.clone(), format!("?branch_id={s}")).await, Some(0));
    assert_eq!(dues(manager.clone(), String::new()).await, Some(1500), "the manager's own figures are North's");
    env.send("GET", &format!("/v1/reports/dues?branch_id={s}"), Some(&manager), None).await.expect(404);
    env.send("GET", "/v1/reports/revenue", Some(&manager), None).await.expect(403);

    // The ISP's own staff see everything, as before branches: the seeded customers included.
    let all = ids(&env.send("GET", "/v1/customers?limit=100", Some(&admin), None).await.expect(200));
    assert!(all.is_superset(&seeded) && all.contains(&c_south) && all.contains(&c_isp) && all.contains(&c_op));

    // An operator's branch is set when it is made; a closed branch takes nothing new.
    env.send("PATCH", &format!("/v1/users/{op_id}"), Some(&admin), Some(json!({"branch_id": s, "version": 1})))
        .await
        .expect_fields(422, &["branch_id"]);
    let closed = env
        .send("PATCH", &format!("/v1/branches/{s}"), Some(&admin), Some(json!({"status": "closed", "version": 1})))
        .await
        .expect(200);
    assert_eq!((closed["status"].as_str(), closed["version"].as_i64()), (Some("closed"), Some(2)));
    env.send("POST", "/v1/customers", Some(&admin), Some(customer("clate", Some(&s), None)))
        .await
        .expect_fields(422, &["branch_id"]);
    env.send("POST", "/v1/pops", Some(&admin), Some(pop("P-S2", &s))).await.expect_fields(422, &["branch_id"]);
    let still = env.send("GET", &format!("/v1/customers/{c_south}"), Some(&admin), None).await.expect(200);
    assert_eq!(still["scope"], json!(format!("br-{s}")), "a closed branch keeps its customers");

    // Moving the manager out of its branch ends its sessions; its next login sees the whole ISP.
    let session = env.login("m@north.test", "staff-pass-123").await;
    env.send("PATCH", &format!("/v1/users/{manager_id}"), Some(&admin), Some(json!({"branch_id": null, "version": 1})))
        .await
        .expect(200);
    let refreshed =
        env.send("POST", "/v1/auth/refresh", None, Some(json!({"refresh_token": session["refresh_token"]}))).await;
    assert_eq!(refreshed.status, 401, "the old session ended: {:#}", refreshed.body);
    let manager = env.token("m@north.test", "staff-pass-123").await;
    let listed = ids(&env.send("GET", "/v1/customers?limit=100", Some(&manager), None).await.expect(200));
    assert!(listed.contains(&c_south) && listed.contains(&c_isp));

    // Another ISP sees none of it.
    let (_, other) = env.other_tenant("branchless").await;
    env.send("GET", &format!("/v1/branches/{n}"), Some(&other), None).await.expect(404);
    assert!(ids(&env.send("GET", "/v1/branches", Some(&other), None).await.expect(200)).is_empty());
}
