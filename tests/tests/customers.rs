use e2e_tests::Env;
use serde_json::json;

#[tokio::test]
async fn create_read_update_delete_with_versions() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let c = env
        .send(
            "POST",
            "/v1/customers",
            Some(&admin),
            Some(json!({"name": "  Salma   Begum ", "phone": "01555-123456", "email": "Salma@Example.com", "username": "Salma.B"})),
        )
        .await
        .expect(201);
    assert_eq!(c["phone"], "+8801555123456", "E.164 with the ISP's country");
    assert_eq!(c["email"], "salma@example.com");
    assert_eq!(c["username"], "salma.b");
    assert_eq!((c["status"].as_str(), c["version"].as_u64()), (Some("new"), Some(1)));
    let id = c["id"].as_str().unwrap();
    assert_eq!(env.send("GET", &format!("/v1/customers/{id}"), Some(&admin), None).await.expect(200), c);

    let u = env
        .send(
            "PATCH",
            &format!("/v1/customers/{id}"),
            Some(&admin),
            Some(json!({"area": "Mirpur-10", "tags": ["VIP", " vip "], "connection_date": "2026-01-15", "email": null, "version": 1})),
        )
        .await
        .expect(200);
    assert_eq!((u["status"].as_str(), u["email"].is_null(), u["version"].as_u64()), (Some("new"), true, Some(2)));
    assert_eq!(
        (u["area"].as_str(), u["tags"].clone(), u["connection_date"].as_str()),
        (Some("Mirpur-10"), json!(["vip"]), Some("2026-01-15"))
    );
    let derived = env
        .send("PATCH", &format!("/v1/customers/{id}"), Some(&admin), Some(json!({"status": "active", "version": 2})))
        .await;
    assert_eq!(derived.status, 422, "a customer's status follows its subscriptions");
    let stale = env
        .send_with(
            "PATCH",
            &format!("/v1/customers/{id}"),
            Some(&admin),
            Some(json!({"name": "x"})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!((stale.status, stale.code()), (409, "version_conflict"));
    let missing = env.send("PATCH", &format!("/v1/customers/{id}"), Some(&admin), Some(json!({"name": "x"}))).await;
    assert_eq!(missing.status, 422, "the version is required");

    // The e-mail was cleared, so another customer may take it.
    env.send(
        "POST",
        "/v1/customers",
        Some(&admin),
        Some(json!({"name": "Other", "phone": "01555-123457", "email": "salma@example.com", "username": "other1"})),
    )
    .await
    .expect(201);

    env.send("DELETE", &format!("/v1/customers/{id}"), Some(&admin), None).await.expect(204);
    assert_eq!(env.send("GET", &format!("/v1/customers/{id}"), Some(&admin), None).await.status, 404);
    assert_eq!(env.send("DELETE", &format!("/v1/customers/{id}"), Some(&admin), None).await.status, 404);
    let search = env.send("GET", "/v1/customers?username=salma", Some(&admin), None).await.expect(200);
    assert!(search["items"].as_array().unwrap().is_empty(), "deleted customers leave search");
    // Its phone and username are free again.
    env.create_customer(&admin, "Salma Again", "+8801555123456", "salma.b").await;
}

#[tokio::test]
async fn duplicates_are_409_naming_the_field_also_when_concurrent() {
    let env = Env::start().await;
    let admin = env.admin().await;
    env.create_customer(&admin, "A", "01712-000001", "dupe-a").await;
    let by_phone = env
        .send(
            "POST",
            "/v1/customers",
            Some(&admin),
            Some(json!({"name": "B", "phone": "+8801712000001", "username": "dupe-b"})),
        )
        .await;
    assert_eq!(
        (by_phone.status, by_phone.code(), by_phone.body["errors"][0]["field"].as_str()),
        (409, "duplicate", Some("phone"))
    );
    let by_user = env
        .send(
            "POST",
            "/v1/customers",
            Some(&admin),
            Some(json!({"name": "B", "phone": "01712-000002", "username": "DUPE-A"})),
        )
        .await;
    assert_eq!(by_user.body["errors"][0]["field"], "username");

    let before = env.table_snapshot().await;
    let calls = (0..6).map(|i| {
        let admin = admin.clone();
        let env = &env;
        async move {
            env.send(
                "POST",
                "/v1/customers",
                Some(&admin),
                Some(json!({"name": format!("Race {i}"), "phone": "01712-000009", "username": format!("race{i}")})),
            )
            .await
        }
    });
    let answers = futures::future::join_all(calls).await;
    let created = answers.iter().filter(|a| a.status == 201).count();
    assert_eq!(created, 1, "{:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
    for a in answers.iter().filter(|a| a.status != 201) {
        assert_eq!((a.status, a.body["errors"][0]["field"].as_str()), (409, Some("phone")));
    }
    let after = env.table_snapshot().await;
    let customers_added = after.keys().filter(|k| k.ends_with("|PROFILE") && !before.contains_key(*k)).count();
    assert_eq!(customers_added, 1);
}

#[tokio::test]
async fn an_idempotency_key_makes_a_repeat_return_the_first_answer() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let body = json!({"name": "Idem", "phone": "01713-000001", "username": "idem"});
    let calls = (0..4).map(|_| {
        let env = &env;
        let admin = admin.clone();
        let body = body.clone();
        async move {
            env.send_with("POST", "/v1/customers", Some(&admin), Some(body), &[("idempotency-key", "create-idem-1")])
                .await
        }
    });
    let answers = futures::future::join_all(calls).await;
    let first = &answers[0].body;
    for a in &answers {
        assert_eq!(a.status, 201);
        assert_eq!(&a.body, first, "every repeat gets the first answer");
    }
    let list = env.send("GET", "/v1/customers?username=idem", Some(&admin), None).await.expect(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let reused = env
        .send_with(
            "POST",
            "/v1/customers",
            Some(&admin),
            Some(json!({"name": "Other", "phone": "01713-000002", "username": "idem2"})),
            &[("idempotency-key", "create-idem-1")],
        )
        .await;
    assert_eq!((reused.status, reused.code()), (422, "idempotency_key_reused"));
}

#[tokio::test]
async fn list_filters_searches_and_pages_with_cursors() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let package = env.create_package(&admin, "Paged", "10M", 50_000).await["id"].as_str().unwrap().to_string();
    let router = env.create_router(&admin, "paged-r", "10.9.0.1", None).await["id"].as_str().unwrap().to_string();
    for i in 0..7 {
        let c =
            env.create_customer(&admin, &format!("Paged {i}"), &format!("01714-00000{i}"), &format!("paged{i}")).await;
        if i % 2 == 0 {
            let s = env
                .create_subscription(&admin, c["id"].as_str().unwrap(), &package, &router, &format!("paged{i}"))
                .await;
            env.send("POST", &format!("/v1/subscriptions/{}/activate", s["id"].as_str().unwrap()), Some(&admin), None)
                .await
                .expect(200);
        }
    }
    let mut seen = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/customers?limit=3&cursor={c}"),
            None => "/v1/customers?limit=3".to_string(),
        };
        let page = env.send("GET", &path, Some(&admin), None).await.expect(200);
        seen.extend(page["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 10, "7 new and 3 demo customers, each once");
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), 10);
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "newest first");

    let active = env.send("GET", "/v1/customers?status=active&limit=200", Some(&admin), None).await.expect(200);
    assert_eq!(active["items"].as_array().unwrap().len(), 6, "4 here and the 2 online demo customers");
    let by_name = env.send("GET", "/v1/customers?name=paged%203", Some(&admin), None).await.expect(200);
    assert_eq!(by_name["items"][0]["username"], "paged3");
    let by_phone = env.send("GET", "/v1/customers?phone=017140000", Some(&admin), None).await.expect(200);
    assert_eq!(by_phone["items"].as_array().unwrap().len(), 7, "local form with trunk 0");
    let intl = env.send("GET", "/v1/customers?phone=%2B8801714000005", Some(&admin), None).await.expect(200);
    assert_eq!(intl["items"][0]["username"], "paged5");
    let by_user = env.send("GET", "/v1/customers?username=paged", Some(&admin), None).await.expect(200);
    assert_eq!(by_user["items"].as_array().unwrap().len(), 7);
    let two = env.send("GET", "/v1/customers?name=a&phone=1", Some(&admin), None).await;
    assert_eq!(two.status, 422);
}
