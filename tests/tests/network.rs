use e2e_tests::Env;
use serde_json::json;

#[tokio::test]
async fn packages_speak_routeros_and_refuse_what_it_would_not_take() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let p = env
        .send(
            "POST",
            "/v1/packages",
            Some(&admin),
            Some(json!({"name": "Turbo 8M", "connection_type": "pppoe", "download": "8m", "upload": "4096k",
                "burst": {"limit": "8M/16M", "threshold": "3M/6M", "time": "16s"}, "priority": 5,
                "price": 150000, "validity_days": 30,
                "fair_usage": {"quota_mb": 100000, "download": "2M", "upload": "1M"}})),
        )
        .await
        .expect(201);
    assert_eq!(
        (p["download"].as_str(), p["upload"].as_str()),
        (Some("8M"), Some("4096k")),
        "rates as RouterOS writes them"
    );
    assert_eq!(p["rate_limit"], "4096k/8M 8M/16M 3M/6M 16/16 5");
    assert_eq!(
        (p["router_profile"].as_str(), p["currency"].as_str(), p["active"].as_bool()),
        (Some("Turbo 8M"), Some("BDT"), Some(true))
    );
    let id = p["id"].as_str().unwrap();

    let before = env.table_snapshot().await;
    let cases = [
        (
            json!({"name": "X", "connection_type": "pppoe", "download": "10MB", "upload": "10M", "price": 1, "validity_days": 30}),
            vec!["download"],
        ),
        (
            json!({"name": "X", "connection_type": "pppoe", "download": "10M", "upload": "10M", "price": 1, "validity_days": 30, "validity_hours": 5}),
            vec!["validity_days"],
        ),
        (
            json!({"name": "X", "connection_type": "pppoe", "download": "10M", "upload": "10M", "price": -1, "validity_days": 30,
            "burst": {"limit": "5M", "threshold": "12M", "time": "0"}}),
            vec!["price", "burst.limit", "burst.threshold", "burst.time"],
        ),
        (
            json!({"name": "X", "connection_type": "pppoe", "download": "10M", "upload": "10M", "price": 1, "validity_days": 30, "priority": 9}),
            vec!["priority"],
        ),
        (
            json!({"name": "X", "connection_type": "pppoe", "download": "10M", "upload": "10M", "price": 1, "validity_days": 30,
            "fair_usage": {"quota_mb": 0, "download": "20M", "upload": "1M"}}),
            vec!["fair_usage.quota_mb", "fair_usage.download"],
        ),
    ];
    for (body, fields) in cases {
        let a = env.send("POST", "/v1/packages", Some(&admin), Some(body.clone())).await;
        let got: Vec<&str> =
            a.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!((a.status, got), (422, fields), "{body}");
    }
    let bad_kind = env
        .send("POST", "/v1/packages", Some(&admin), Some(json!({"name": "X", "connection_type": "adsl", "download": "1M", "upload": "1M", "price": 1, "validity_days": 1})))
        .await;
    assert_eq!((bad_kind.status, bad_kind.body["errors"][0]["field"].as_str()), (422, Some("connection_type")));
    let dup = env
        .send("POST", "/v1/packages", Some(&admin), Some(json!({"name": "turbo  8m", "connection_type": "pppoe", "download": "1M", "upload": "1M", "price": 1, "validity_days": 1})))
        .await;
    assert_eq!((dup.status, dup.body["errors"][0]["field"].as_str()), (409, Some("name")));
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);

    // A new rate is held against the kept burst; a good change bumps the version.
    let clash = env
        .send("PATCH", &format!("/v1/packages/{id}"), Some(&admin), Some(json!({"download": "20M", "version": 1})))
        .await;
    assert_eq!((clash.status, clash.body["errors"][0]["field"].as_str()), (422, Some("burst.limit")));
    let changed = env
        .send(
            "PATCH",
            &format!("/v1/packages/{id}"),
            Some(&admin),
            Some(json!({"burst": null, "download": "20M", "price": 160000, "version": 1})),
        )
        .await
        .expect(200);
    assert_eq!(
        (changed["rate_limit"].as_str(), changed["version"].as_u64()),
        (Some("4096k/20M 0/0 0/0 0/0 5"), Some(2))
    );
    let deactivated = env
        .send("PATCH", &format!("/v1/packages/{id}"), Some(&admin), Some(json!({"active": false, "version": 2})))
        .await
        .expect(200);
    assert_eq!(deactivated["active"], false);
    let active_only = env.send("GET", "/v1/packages?active=true", Some(&admin), None).await.expect(200);
    assert!(active_only["items"].as_array().unwrap().iter().all(|p| p["active"] == true && p["id"] != id));

    // Staff read packages; only admins and managers change them.
    let (_, staff) = env.create_user(&admin, "staff", "staff@pkg.test", None).await;
    env.send("GET", &format!("/v1/packages/{id}"), Some(&staff), None).await.expect(200);
    assert_eq!(
        env.send("PATCH", &format!("/v1/packages/{id}"), Some(&staff), Some(json!({"price": 1, "version": 3})))
            .await
            .status,
        403
    );

    env.send("DELETE", &format!("/v1/packages/{id}"), Some(&admin), None).await.expect(204);
    assert_eq!(env.send("GET", &format!("/v1/packages/{id}"), Some(&admin), None).await.status, 404);
    env.create_package(&admin, "Turbo 8M", "8M", 1).await;
}

#[tokio::test]
async fn offers_bind_operators_to_their_wholesale_price() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let pkg = env.create_package(&admin, "Resold", "10M", 100_000).await;
    let pid = pkg["id"].as_str().unwrap();
    let hidden = env.create_package(&admin, "Not offered", "5M", 50_000).await;
    let (op_id, op) = env.create_user(&admin, "operator", "op@offers.test", None).await;
    let (sub_id, sub) = env.create_user(&op, "sub_operator", "sub@offers.test", Some(&op_id)).await;

    assert_eq!(env.send("GET", "/v1/packages", Some(&op), None).await.expect(200)["items"], json!([]));
    let no_wholesale =
        env.send("PUT", &format!("/v1/packages/{pid}/offers/{op_id}"), Some(&admin), Some(json!({"price": 1}))).await;
    assert_eq!((no_wholesale.status, no_wholesale.body["errors"][0]["field"].as_str()), (422, Some("wholesale_price")));
    env.send(
        "PUT",
        &format!("/v1/packages/{pid}/offers/{op_id}"),
        Some(&admin),
        Some(json!({"wholesale_price": 80_000, "price": 110_000})),
    )
    .await
    .expect(200);
    let profile = env.send("GET", &format!("/v1/operators/{op_id}"), Some(&admin), None).await.expect(200);
    assert_eq!(
        (profile["user"]["id"].as_str(), profile["packages"][0]["wholesale_price"].as_i64()),
        (Some(op_id.as_str()), Some(80_000))
    );
    let seen = env.send("GET", "/v1/packages", Some(&op), None).await.expect(200);
    assert_eq!(seen["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        (seen["items"][0]["price"].as_i64(), seen["items"][0]["wholesale_price"].as_i64()),
        (Some(110_000), Some(80_000))
    );
    assert_eq!(
        env.send("GET", &format!("/v1/packages/{}", hidden["id"].as_str().unwrap()), Some(&op), None).await.status,
        404
    );
    let own_wholesale = env
        .send("PUT", &format!("/v1/packages/{pid}/offers/{op_id}"), Some(&op), Some(json!({"wholesale_price": 1})))
        .await;
    assert_eq!(own_wholesale.status, 422, "the holder cannot lower what it pays");

    // The operator resells to its sub-operator, never below its own wholesale price.
    let under = env
        .send(
            "PUT",
            &format!("/v1/packages/{pid}/offers/{sub_id}"),
            Some(&op),
            Some(json!({"wholesale_price": 70_000})),
        )
        .await;
    assert_eq!((under.status, under.body["errors"][0]["field"].as_str()), (422, Some("wholesale_price")));
    env.send(
        "PUT",
        &format!("/v1/packages/{pid}/offers/{sub_id}"),
        Some(&op),
        Some(json!({"wholesale_price": 90_000, "price": 120_000})),
    )
    .await
    .expect(200);
    let sub_view = env.send("GET", &format!("/v1/packages/{pid}"), Some(&sub), None).await.expect(200);
    assert_eq!(sub_view["price"], 120_000);
    let offers = env.send("GET", &format!("/v1/packages/{pid}/offers"), Some(&op), None).await.expect(200);
    assert_eq!(offers.as_array().unwrap().len(), 2, "its own and its sub-operator's");
    assert_eq!(env.send("DELETE", &format!("/v1/packages/{pid}/offers/{op_id}"), Some(&op), None).await.status, 403);
    env.send("DELETE", &format!("/v1/packages/{pid}/offers/{sub_id}"), Some(&op), None).await.expect(204);
    assert_eq!(env.send("GET", &format!("/v1/packages/{pid}"), Some(&sub), None).await.status, 404);
}

#[tokio::test]
async fn router_passwords_never_leave_and_pops_confine_operators() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let north = env
        .send(
            "POST",
            "/v1/pops",
            Some(&admin),
            Some(json!({"name": "North", "code": "nrt-1", "latitude": 23.9, "longitude": 90.4})),
        )
        .await
        .expect(201);
    assert_eq!(north["code"], "NRT-1");
    let dup = env.send("POST", "/v1/pops", Some(&admin), Some(json!({"name": "Other", "code": "NRT-1"}))).await;
    assert_eq!((dup.status, dup.body["errors"][0]["field"].as_str()), (409, Some("code")));
    let south =
        env.send("POST", "/v1/pops", Some(&admin), Some(json!({"name": "South", "code": "STH-1"}))).await.expect(201);
    let (nid, sid) = (north["id"].as_str().unwrap(), south["id"].as_str().unwrap());

    let r = env
        .send(
            "POST",
            "/v1/routers",
            Some(&admin),
            Some(json!({"name": "North Core", "pop_id": nid, "host": "10.50.0.1", "tls": true, "tls_insecure": true,
                "username": "billing", "password": "Very-Secret-Router-Pw"})),
        )
        .await
        .expect(201);
    assert_eq!(
        (r["port"].as_u64(), r["status"].as_str()),
        (Some(8729), Some("unknown")),
        "API-SSL port by default with tls"
    );
    let rid = r["id"].as_str().unwrap();
    let south_router = env.create_router(&admin, "South Core", "10.60.0.1", Some(sid)).await;
    let same_host = env
        .send(
            "POST",
            "/v1/routers",
            Some(&admin),
            Some(json!({"name": "Again", "host": "10.50.0.1", "port": 8729, "username": "u", "password": "p"})),
        )
        .await;
    assert_eq!((same_host.status, same_host.body["errors"][0]["field"].as_str()), (409, Some("host")));
    let no_pop = env
        .send("POST", "/v1/routers", Some(&admin), Some(json!({"name": "Lost", "host": "10.70.0.1", "pop_id": uuid::Uuid::now_v7(), "username": "u", "password": "p"})))
        .await;
    assert_eq!((no_pop.status, no_pop.body["errors"][0]["field"].as_str()), (422, Some("pop_id")));
    let updated = env
        .send(
            "PATCH",
            &format!("/v1/routers/{rid}"),
            Some(&admin),
            Some(json!({"password": "Another-Secret-Pw", "version": 1})),
        )
        .await
        .expect(200);

    // Not in any answer, not in the audit log, not in the table in clear.
    let mut texts = vec![r.to_string(), updated.to_string()];
    texts.push(env.send("GET", &format!("/v1/routers/{rid}"), Some(&admin), None).await.expect(200).to_string());
    texts.push(env.send("GET", "/v1/routers", Some(&admin), None).await.expect(200).to_string());
    texts.push(
        env.send("GET", &format!("/v1/audit-log?entity_type=router&entity_id={rid}"), Some(&admin), None)
            .await
            .expect(200)
            .to_string(),
    );
    let table: Vec<String> = env.table_snapshot().await.into_values().collect();
    for secret in ["Very-Secret-Router-Pw", "Another-Secret-Pw"] {
        for t in texts.iter().chain(&table) {
            assert!(!t.contains(secret), "the router password leaked: {t}");
        }
    }
    let creds = network::routers::router_credentials(&env.local.app, env.tenant(), rid.parse().unwrap()).await.unwrap();
    assert_eq!(creds.password, "Another-Secret-Pw", "provisioning can still open it");

    // An operator assigned to the North POP sees only North and its routers.
    let (op_id, op) = env.create_user(&admin, "operator", "op@pops.test", None).await;
    env.send(
        "PUT",
        &format!("/v1/operators/{op_id}/profile"),
        Some(&admin),
        Some(json!({"commission_rate_bps": 500, "credit_limit": 1_000_000, "pop_ids": [nid], "version": 0})),
    )
    .await
    .expect(200);
    let pops = env.send("GET", "/v1/pops", Some(&op), None).await.expect(200);
    let codes: Vec<&str> = pops["items"].as_array().unwrap().iter().map(|p| p["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["NRT-1"]);
    let routers = env.send("GET", "/v1/routers", Some(&op), None).await.expect(200);
    let names: Vec<&str> = routers["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["North Core"]);
    let south_rid = south_router["id"].as_str().unwrap();
    assert_eq!(env.send("GET", &format!("/v1/routers/{south_rid}"), Some(&op), None).await.status, 404);
    assert_eq!(env.send("GET", &format!("/v1/pops/{sid}"), Some(&op), None).await.status, 404);
    let tree = env.send("GET", "/v1/operators", Some(&admin), None).await.expect(200);
    assert_eq!(tree[0]["profile"]["pop_ids"], json!([nid]));

    // A POP with routers stays; without them it goes.
    let busy = env.send("DELETE", &format!("/v1/pops/{sid}"), Some(&admin), None).await;
    assert_eq!((busy.status, busy.code()), (409, "pop_in_use"));
    env.send("DELETE", &format!("/v1/routers/{south_rid}"), Some(&admin), None).await.expect(204);
    env.send("DELETE", &format!("/v1/pops/{sid}"), Some(&admin), None).await.expect(204);
}

#[tokio::test]
async fn routers_import_from_csv_row_by_row() {
    let env = Env::start().await;
    let admin = env.admin().await;
    env.send("POST", "/v1/pops", Some(&admin), Some(json!({"name": "East", "code": "EST"}))).await.expect(201);
    let csv = "name,host,port,username,password,tls,pop_code\n\
               Edge 1,10.80.0.1,,api,pw-1,false,EST\n\
               Edge 2,not a host,,api,pw-2,,\n\
               Edge 3,10.80.0.3,99999,api,pw-3,,\n\
               Edge 1,10.80.0.4,,api,pw-4,,\n\
               Edge 5,10.80.0.5,8729,api,pw-5,yes,NOPE\n\
               Edge 6,10.80.0.6,8729,api,pw-6,yes,est\n";
    let out =
        env.send_raw("POST", "/v1/routers/import", Some(&admin), "text/csv", csv.as_bytes().to_vec()).await.expect(200);
    let names: Vec<&str> = out["imported"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Edge 1", "Edge 6"]);
    let rows: Vec<(u64, &str)> = out["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["field"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(rows, [(3, "host"), (4, "port"), (5, "name"), (6, "pop_code")]);
    let listed = env.send("GET", "/v1/routers?limit=200", Some(&admin), None).await.expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 3, "two imported and the demo router");
    let json_body = env.send("POST", "/v1/routers/import", Some(&admin), Some(json!({"csv": csv}))).await;
    assert_eq!(json_body.status, 415);
    let no_header = env.send_raw("POST", "/v1/routers/import", Some(&admin), "text/csv", b"a,b\n1,2\n".to_vec()).await;
    assert_eq!(no_header.status, 422);
}
