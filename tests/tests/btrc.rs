//! BTRC's monthly subscriber report: the rows of a month are the subscriptions in service during
//! it, laid out by the template's version 1 and filled from the customers, packages, POPs and
//! operators as the API shows them; per operator; as CSV and XLSX; the customers lacking a field;
//! the ISP's setting that requires the fields at creation.

use e2e_tests::Env;
use serde_json::{Value, json};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// The CSV's rows, header first.
async fn csv_rows(env: &Env, path: &str, token: &str) -> Vec<Vec<String>> {
    let a = env.get_raw(path, token).await;
    assert_eq!(a.status(), 200, "{path}");
    assert!(a.headers()["content-type"].to_str().unwrap().starts_with("text/csv"), "{path}");
    let text = a.text().await.unwrap();
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .into_records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

async fn report(env: &Env, token: &str, query: &str) -> Value {
    env.send("GET", &format!("/v1/reports/btrc?{query}"), Some(token), None).await.expect(200)
}

fn names(r: &Value) -> Vec<String> {
    r["rows"].as_array().unwrap().iter().map(|row| row[3].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn the_btrc_report_for_a_month_matches_the_customers() {
    let env = Env::start().await;
    let mut admin = env.admin().await;
    let tenant = env.tenant();
    // Prices include 5% VAT: the report shows them without it.
    let t = env.send("GET", &format!("/v1/tenants/{tenant}"), Some(&admin), None).await.expect(200);
    let mut billing = t["billing"].clone();
    billing["tax_rate_bps"] = json!(500);
    billing["tax_inclusive"] = json!(true);
    env.send(
        "PATCH",
        &format!("/v1/tenants/{tenant}"),
        Some(&admin),
        Some(json!({"billing": billing, "version": t["version"]})),
    )
    .await
    .expect(200);

    let pops = env.send("GET", "/v1/pops", Some(&admin), None).await.expect(200);
    let pop = id(&pops["items"][0]);
    let router = env.demo_router(&admin).await;
    let packages = env.send("GET", "/v1/packages?limit=50", Some(&admin), None).await.expect(200);
    let home10 = id(packages["items"].as_array().unwrap().iter().find(|p| p["name"] == "Home 10M").unwrap());
    let corporate = env
        .send(
            "POST",
            "/v1/packages",
            Some(&admin),
            Some(json!({"name": "Corporate 50M", "connection_type": "pppoe", "download": "50M", "upload": "50M",
                "price": 500_000, "validity_days": 30, "connectivity": "dedicated"})),
        )
        .await
        .expect(201);
    assert_eq!(corporate["connectivity"], "dedicated");
    let corporate = id(&corporate);
    let (op, _) = env.create_user(&admin, "operator", "btrc-op@demo.test", None).await;
    env.send(
        "PUT",
        &format!("/v1/packages/{corporate}/offers/{op}"),
        Some(&admin),
        Some(json!({"wholesale_price": 400_000})),
    )
    .await
    .expect(200);

    let full = |name: &str, phone: &str, username: &str| {
        json!({"name": name, "phone": phone, "username": username, "pop_id": pop, "client_type": "home",
            "access_medium": "fiber", "house_no": "12/A", "road_no": "7", "area": "Mirpur-10", "thana": "Mirpur",
            "district": "Dhaka"})
    };
    let mut zarina = full("Zarina Corp", "01711-000001", "zarina");
    zarina["operator_id"] = json!(op);
    zarina["client_type"] = json!("corporate");
    zarina["access_medium"] = json!("wireless");
    zarina["email"] = json!("it@zarina.example");
    let zarina = id(&env.send("POST", "/v1/customers", Some(&admin), Some(zarina)).await.expect(201));
    let babul = id(&env.create_customer(&admin, "Babul Incomplete", "01711-000002", "babul").await);
    let chameli = id(&env
        .send("POST", "/v1/customers", Some(&admin), Some(full("Chameli Late", "01711-000003", "chameli")))
        .await
        .expect(201));
    let dipu = id(&env
        .send("POST", "/v1/customers", Some(&admin), Some(full("Dipu Leaver", "01711-000004", "dipu")))
        .await
        .expect(201));

    let zarina_sub = env
        .send(
            "POST",
            &format!("/v1/customers/{zarina}/subscriptions"),
            Some(&admin),
            Some(json!({"package_id": corporate, "router_id": router, "username": "zarina-ppp",
                "password": "ppp-pass-1", "billing_model": "prepaid", "ip_address": "10.20.0.5"})),
        )
        .await
        .expect(201);
    let zarina_sub = id(&zarina_sub);
    let babul_sub = id(&env.create_subscription(&admin, &babul, &home10, &router, "babul-ppp").await);
    let chameli_sub = id(&env.create_subscription(&admin, &chameli, &home10, &router, "chameli-ppp").await);
    let dipu_sub = id(&env.create_subscription(&admin, &dipu, &home10, &router, "dipu-ppp").await);
    // June 15th (the test clock's start): three lines are switched on.
    for s in [&zarina_sub, &babul_sub, &dipu_sub] {
        env.send("POST", &format!("/v1/subscriptions/{s}/activate"), Some(&admin), None).await.expect(200);
    }
    // July 10th: Chameli's line goes on, Dipu leaves.
    env.clock.advance(chrono::Duration::days(25));
    admin = env.admin().await;
    env.send("POST", &format!("/v1/subscriptions/{chameli_sub}/activate"), Some(&admin), None).await.expect(200);
    env.send("POST", &format!("/v1/subscriptions/{dipu_sub}/cancel"), Some(&admin), Some(json!({"reason": "moved"})))
        .await
        .expect(200);
    // August 5th.
    env.clock.advance(chrono::Duration::days(26));
    admin = env.admin().await;
    let op_token = env.token("btrc-op@demo.test", "staff-pass-123").await;

    // June: the seed's two online subscribers (Nasrin's line is still pending), and this test's
    // three; by name.
    let june = report(&env, &admin, "month=2026-06").await;
    assert_eq!((june["month"].as_str(), june["template_version"].as_u64()), (Some("2026-06"), Some(1)));
    assert_eq!(names(&june), ["Babul Incomplete", "Dipu Leaver", "Karim Hossain", "Rahim Uddin", "Zarina Corp"]);
    assert_eq!(june["header"][0], "Operator Name");
    assert_eq!(june["header"].as_array().unwrap().len(), 17);
    let row = |r: &Value, name: &str| -> Vec<String> {
        r["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row[3] == name)
            .unwrap_or_else(|| panic!("{name}: {r:#}"))
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect()
    };
    // The operator's corporate client: the operator's name, its dedicated package, the static
    // address, the operator's selling price without the 5% VAT (5,000.00 / 1.05).
    assert_eq!(
        row(&june, "Zarina Corp"),
        [
            "operator user",
            "Corporate",
            "Dedicated",
            "Zarina Corp",
            "Mirpur POP",
            "Wireless",
            "15/06/2026",
            "50",
            "10.20.0.5",
            "12/A",
            "7",
            "Mirpur-10",
            "Dhaka",
            "Mirpur",
            "01711000001",
            "it@zarina.example",
            "4761.90"
        ]
    );
    // The ISP's own seeded subscriber: the ISP's name, a pool address, 1,000.00 without VAT.
    let rahim = row(&june, "Rahim Uddin");
    assert_eq!(
        rahim,
        [
            "Demo ISP",
            "Home",
            "Shared",
            "Rahim Uddin",
            "Mirpur POP",
            "Wired",
            "15/06/2026",
            "10",
            "Dynamic",
            "10",
            "7",
            "Mirpur",
            "Dhaka",
            "Mirpur",
            "01712345678",
            "",
            "952.38"
        ]
    );
    // Babul has none of the fields: his row is there, incomplete.
    let b = row(&june, "Babul Incomplete");
    assert_eq!((b[1].as_str(), b[4].as_str(), b[9].as_str(), b[14].as_str()), ("", "", "", "01711000002"));
    assert_eq!(june["incomplete_rows"], 1);

    // Every row matches its customer as the API shows it.
    for r in june["rows"].as_array().unwrap() {
        let name = r[3].as_str().unwrap();
        let found = env
            .send("GET", &format!("/v1/customers?name={}", name.replace(' ', "%20")), Some(&admin), None)
            .await
            .expect(200);
        let c = &found["items"][0];
        assert_eq!(c["name"], name);
        let digits: String = c["phone"].as_str().unwrap().trim_start_matches("+880").to_string();
        assert_eq!(r[14], format!("0{digits}"), "{name}");
        assert_eq!(r[12], c["district"].as_str().unwrap_or(""), "{name}");
        assert_eq!(r[10], c["road_no"].as_str().unwrap_or(""), "{name}");
        assert_eq!(r[11], c["area"].as_str().unwrap_or(""), "{name}");
    }

    // July: Chameli joins, Dipu is still counted (he left during the month); August: Dipu is gone.
    let july = report(&env, &admin, "month=2026-07").await;
    assert_eq!(
        names(&july),
        ["Babul Incomplete", "Chameli Late", "Dipu Leaver", "Karim Hossain", "Rahim Uddin", "Zarina Corp"]
    );
    assert_eq!(row(&july, "Chameli Late")[6], "10/07/2026");
    let august = report(&env, &admin, "").await;
    assert_eq!(august["month"], "2026-08", "this local month by default");
    assert_eq!(names(&august), ["Babul Incomplete", "Chameli Late", "Karim Hossain", "Rahim Uddin", "Zarina Corp"]);

    // The CSV and the XLSX carry the same header and rows.
    let csv = csv_rows(&env, "/v1/reports/btrc?month=2026-06&format=csv", &admin).await;
    let xlsx = env.xlsx_rows("/v1/reports/btrc?month=2026-06&format=xlsx", &admin).await;
    let mut json_rows: Vec<Vec<String>> =
        vec![june["header"].as_array().unwrap().iter().map(|h| h.as_str().unwrap().to_string()).collect()];
    json_rows.extend(
        june["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect::<Vec<String>>()),
    );
    assert_eq!(csv, json_rows);
    assert_eq!(xlsx.len(), json_rows.len());
    for (x, j) in xlsx.iter().zip(&json_rows) {
        // A spreadsheet shows 4761.90 as 4761.9.
        let norm = |c: &String| c.parse::<f64>().map(|f| f.to_string()).unwrap_or_else(|_| c.clone());
        assert_eq!(x.iter().map(norm).collect::<Vec<_>>(), j.iter().map(norm).collect::<Vec<_>>());
    }
    assert_eq!(xlsx[1][14], "01711000002", "a phone number stays text, its 0 kept");

    // Per operator: the operator's subtree only, asked by the ISP or by the operator itself.
    let theirs = report(&env, &admin, &format!("month=2026-06&operator_id={op}")).await;
    assert_eq!(names(&theirs), ["Zarina Corp"]);
    let own = report(&env, &op_token, "month=2026-06").await;
    assert_eq!(own["rows"], theirs["rows"]);

    // The customers lacking a field the template requires, and which.
    let missing = env.send("GET", "/v1/reports/btrc/missing", Some(&admin), None).await.expect(200);
    let listed: Vec<&str> =
        missing["customers"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(listed, ["Babul Incomplete"]);
    assert_eq!(
        missing["customers"][0]["missing"],
        json!(["client_type", "pop_id", "access_medium", "house_no", "road_no", "area", "district", "thana"])
    );
    let rows = csv_rows(&env, "/v1/reports/btrc/missing?format=csv", &admin).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][0], babul);
    let op_missing = env.send("GET", "/v1/reports/btrc/missing", Some(&op_token), None).await.expect(200);
    assert_eq!(op_missing["customers"], json!([]));
    // Filling them takes him off the list.
    let b = env.send("GET", &format!("/v1/customers/{babul}"), Some(&admin), None).await.expect(200);
    env.send(
        "PATCH",
        &format!("/v1/customers/{babul}"),
        Some(&admin),
        Some(json!({"pop_id": pop, "client_type": "sme", "access_medium": "utp", "house_no": "3", "road_no": "1",
            "area": "Pallabi", "district": "Dhaka", "thana": "Pallabi", "version": b["version"]})),
    )
    .await
    .expect(200);
    let missing = env.send("GET", "/v1/reports/btrc/missing", Some(&admin), None).await.expect(200);
    assert_eq!(missing["customers"], json!([]));
    assert_eq!(report(&env, &admin, "month=2026-06").await["incomplete_rows"], 0);

    let templates = env.send("GET", "/v1/reports/btrc/templates", Some(&admin), None).await.expect(200);
    assert_eq!(templates[0]["version"], 1);
    assert_eq!(templates[0]["columns"][16]["source"], "price_excluding_vat");
}

#[tokio::test]
async fn an_isp_may_require_the_btrc_fields_and_bad_input_changes_nothing() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let tenant = env.tenant();
    let pops = env.send("GET", "/v1/pops", Some(&admin), None).await.expect(200);
    let pop = id(&pops["items"][0]);
    let (_, staff) = env.create_user(&admin, "staff", "btrc-staff@demo.test", None).await;
    let before = env.settled_snapshot().await;
    for bad in [
        "/v1/reports/btrc?month=2026-13",
        "/v1/reports/btrc?month=June",
        "/v1/reports/btrc?month=2026-07",
        "/v1/reports/btrc?template_version=9",
        "/v1/reports/btrc?template_version=v1",
        "/v1/reports/btrc?operator_id=not-an-id",
        "/v1/reports/btrc?format=pdf",
        "/v1/reports/btrc?colour=red",
        "/v1/reports/btrc/missing?operator_id=00000000-0000-0000-0000-000000000000",
        "/v1/reports/btrc/templates?x=1",
    ] {
        let a = env.send("GET", bad, Some(&admin), None).await;
        assert!(matches!(a.status, 400 | 422), "{bad}: {}", a.status);
    }
    // Someone who may not read reports.
    for path in ["/v1/reports/btrc", "/v1/reports/btrc/missing", "/v1/reports/btrc/templates"] {
        assert_eq!(env.send("GET", path, Some(&staff), None).await.status, 403, "{path}");
    }
    for bad in [
        json!({"name": "X", "phone": "01711-000009", "username": "x9", "client_type": "villa"}),
        json!({"name": "X", "phone": "01711-000009", "username": "x9", "access_medium": "pigeon"}),
        json!({"name": "X", "phone": "01711-000009", "username": "x9", "house_no": "x".repeat(81)}),
    ] {
        let a = env.send("POST", "/v1/customers", Some(&admin), Some(bad.clone())).await;
        assert!(matches!(a.status, 400 | 422), "{bad}: {}", a.status);
    }
    let t = env.send("GET", &format!("/v1/tenants/{tenant}"), Some(&admin), None).await.expect(200);
    let bad = json!({"btrc": {"fields_required": "yes"}, "version": t["version"]});
    assert!(matches!(
        env.send("PATCH", &format!("/v1/tenants/{tenant}"), Some(&admin), Some(bad)).await.status,
        400 | 422
    ));
    e2e_tests::assert_unchanged(&before, &env.settled_snapshot().await);

    // Required: a customer without the fields is refused, naming each; nothing is created.
    let t = env
        .send(
            "PATCH",
            &format!("/v1/tenants/{tenant}"),
            Some(&admin),
            Some(json!({"btrc": {"fields_required": true}, "version": t["version"]})),
        )
        .await
        .expect(200);
    assert_eq!(t["btrc"]["fields_required"], true);
    let before = env.settled_snapshot().await;
    let a = env
        .send(
            "POST",
            "/v1/customers",
            Some(&admin),
            Some(json!({"name": "Nofields", "phone": "01711-000010", "username": "nofields", "house_no": "4"})),
        )
        .await;
    assert_eq!(a.status, 422, "{}", a.body);
    let fields: Vec<&str> = a.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["client_type", "pop_id", "access_medium", "road_no", "area", "district", "thana"]);
    e2e_tests::assert_unchanged(&before, &env.settled_snapshot().await);
    let c = env
        .send(
            "POST",
            "/v1/customers",
            Some(&admin),
            Some(json!({"name": "Allfields", "phone": "01711-000011", "username": "allfields", "pop_id": pop,
                "client_type": "home", "access_medium": "fiber", "house_no": "4", "road_no": "9", "area": "Uttara",
                "district": "Dhaka", "thana": "Uttara"})),
        )
        .await
        .expect(201);
    // A field may change but not be cleared; other changes pass.
    let path = format!("/v1/customers/{}", id(&c));
    let a = env.send("PATCH", &path, Some(&admin), Some(json!({"thana": null, "version": c["version"]}))).await;
    assert_eq!(a.status, 422, "{}", a.body);
    assert_eq!(a.body["errors"][0]["field"], "thana");
    let a = env.send("PATCH", &path, Some(&admin), Some(json!({"house_no": " ", "version": c["version"]}))).await;
    assert_eq!(a.status, 422, "{}", a.body);
    let c = env
        .send(
            "PATCH",
            &path,
            Some(&admin),
            Some(json!({"thana": "Turag", "notes": "corner house", "version": c["version"]})),
        )
        .await
        .expect(200);
    assert_eq!(c["thana"], "Turag");
    // The seed's Nasrin lacks nothing; a customer made before the setting who lacks fields may
    // still be edited in other ways.
    let old =
        env.send("GET", "/v1/customers?username=nasrin", Some(&admin), None).await.expect(200)["items"][0].clone();
    env.send(
        "PATCH",
        &format!("/v1/customers/{}", id(&old)),
        Some(&admin),
        Some(json!({"notes": "called", "version": old["version"]})),
    )
    .await
    .expect(200);
    // An import migrates existing subscribers: not held to the setting (its gaps are listed).
    let router = env.demo_router(&admin).await;
    let job = env
        .send_csv(
            &format!("/v1/imports?router_id={router}"),
            &admin,
            "name,phone,username,package,client_type,access_medium,house_no\nImported One,01911-555001,imported1,Home 10M,Corporate,wireless,7\n",
            Some("btrc-import"),
        )
        .await;
    let job = job.expect(202);
    let done = env.wait_import(&admin, &id(&job)).await;
    assert_eq!(done["imported"], 1, "{done:#}");
    let imported =
        env.send("GET", "/v1/customers?username=imported1", Some(&admin), None).await.expect(200)["items"][0].clone();
    assert_eq!(
        (imported["client_type"].as_str(), imported["access_medium"].as_str()),
        (Some("corporate"), Some("wireless"))
    );
    assert_eq!(imported["pop_id"].as_str(), Some(pop.as_str()), "the router's POP");
    let missing = env.send("GET", "/v1/reports/btrc/missing", Some(&admin), None).await.expect(200);
    let gaps = missing["customers"].as_array().unwrap().iter().find(|c| c["username"] == "imported1").unwrap();
    assert_eq!(gaps["missing"], json!(["road_no", "area", "district", "thana"]));
}
