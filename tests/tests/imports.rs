use e2e_tests::Env;
use serde_json::json;

#[tokio::test]
async fn customers_import_whole_rows_reports_the_rest_and_ignores_redelivery() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let csv = "name,phone,username,package,pppoe_password,ip_address,status,expires_at\n\
               Imported One,01911-000001,imp1,home 10m,pw-one-1,10.30.0.1,active,2027-01-31\n\
               Imported Two,01911-000002,imp2,Home 20M,,,,\n\
               Same Phone,01712-345678,imp3,Home 10M,,,,\n\
               No Package,01911-000004,imp4,Gold,,,,\n\
               short,row\n\
               Same Name,01911-000006,imp1,Home 10M,,,,\n\
               Same IP,01911-000007,imp7,Home 10M,,10.30.0.1,active,\n";
    let router = env.demo_router(&admin).await;
    let path = format!("/v1/imports?router_id={router}");
    let started = env.send_csv(&path, &admin, csv, Some("import-1")).await.expect(202);
    assert_eq!(
        (started["status"].as_str(), started["failed"].as_u64()),
        (Some("running"), Some(1)),
        "the unreadable row at once"
    );
    assert_eq!(started["total_rows"], 7);
    let id = started["id"].as_str().unwrap().to_string();
    let job = env.wait_import(&admin, &id).await;
    assert_eq!(
        (job["imported"].as_u64(), job["failed"].as_u64(), job["duplicates"].as_u64()),
        (Some(2), Some(5), Some(3)),
        "{job}"
    );

    let errors = env.send("GET", &format!("/v1/imports/{id}/errors"), Some(&admin), None).await.expect(200);
    let rows: Vec<(u64, &str)> = errors["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["field"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(rows, [(4, "phone"), (5, "package"), (6, ""), (7, "username"), (8, "ip_address")]);

    // Imported whole: the customer with its subscription, in the state the file gave.
    let found = env.send("GET", "/v1/customers?username=imp1", Some(&admin), None).await.expect(200);
    let c = &found["items"][0];
    assert_eq!((c["name"].as_str(), c["status"].as_str()), (Some("Imported One"), Some("active")));
    let subs = env
        .send("GET", &format!("/v1/customers/{}/subscriptions", c["id"].as_str().unwrap()), Some(&admin), None)
        .await
        .expect(200);
    assert_eq!(
        (subs[0]["status"].as_str(), subs[0]["ip_address"].as_str(), subs[0]["package_name"].as_str()),
        (Some("active"), Some("10.30.0.1"), Some("Home 10M"))
    );
    assert!(subs[0]["expires_at"].as_str().unwrap().starts_with("2027-01-31"));
    let pw = env
        .send("GET", &format!("/v1/subscriptions/{}/password", subs[0]["id"].as_str().unwrap()), Some(&admin), None)
        .await
        .expect(200);
    assert_eq!(pw["password"], "pw-one-1");
    // Never half a customer: a refused row left no customer behind.
    let none = env.send("GET", "/v1/customers?username=imp4", Some(&admin), None).await.expect(200);
    assert_eq!(none["items"].as_array().unwrap().len(), 0);

    // A redelivered chunk changes nothing.
    let before = env.table_snapshot().await;
    for _ in 0..2 {
        let again = jobs::worker::process_chunk(&env.local.app, env.tenant(), id.parse().unwrap(), 0).await.unwrap();
        assert_eq!((again.imported, again.failed, again.skipped), (0, 0, 6));
    }
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
    // The same upload again with its key answers the first job; nothing is queued twice.
    let again = env.send_csv(&path, &admin, csv, Some("import-1")).await;
    assert_eq!((again.status, again.body["id"].as_str()), (202, Some(id.as_str())));
    let listed = env.send("GET", "/v1/imports", Some(&admin), None).await.expect(200);
    let ids: Vec<&str> = listed["items"].as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [id.as_str()]);
    assert_eq!(listed["items"][0]["imported"], 2, "listed with its progress");
}

#[tokio::test]
async fn routeros_secret_exports_import_for_their_router() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let router = env.demo_router(&admin).await;
    let export = "Name;Password;Service;Profile;Remote Address;Disabled;Comment\n\
                  sec1;pw-one-1;pppoe;Home 10M;;false;Selim Reza 01511-000001\n\
                  sec2;pw-two-2;pppoe;Home 20M;10.40.0.2;true;01511-000002, Mina Akter\n\
                  sec3;pw-three-3;pppoe;Home 10M;;false;no phone here\n";
    let missing = env
        .send_raw("POST", "/v1/imports?format=routeros_secrets", Some(&admin), "text/csv", export.as_bytes().to_vec())
        .await;
    assert_eq!((missing.status, missing.body["errors"][0]["field"].as_str()), (422, Some("router_id")));
    let started = env
        .send_raw(
            "POST",
            &format!("/v1/imports?format=routeros_secrets&router_id={router}"),
            Some(&admin),
            "text/csv",
            export.as_bytes().to_vec(),
        )
        .await
        .expect(202);
    let job = env.wait_import(&admin, started["id"].as_str().unwrap()).await;
    let errs = env
        .send("GET", &format!("/v1/imports/{}/errors", started["id"].as_str().unwrap()), Some(&admin), None)
        .await
        .expect(200);
    assert_eq!((job["imported"].as_u64(), job["failed"].as_u64()), (Some(2), Some(1)), "{errs}");
    let mina = env.send("GET", "/v1/customers?username=sec2", Some(&admin), None).await.expect(200);
    assert_eq!(
        (mina["items"][0]["name"].as_str(), mina["items"][0]["status"].as_str()),
        (Some("Mina Akter"), Some("suspended"))
    );
    let subs = env
        .send("GET", &format!("/v1/subscriptions?router_id={router}&status=suspended"), Some(&admin), None)
        .await
        .expect(200);
    assert_eq!(subs["items"][0]["username"], "sec2");
}

#[tokio::test]
async fn imports_refuse_bad_files_and_stay_in_their_isp() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let before = env.table_snapshot().await;
    let cases = [
        (env.send("POST", "/v1/imports", Some(&admin), Some(json!({"rows": []}))).await, 415),
        (env.send_raw("POST", "/v1/imports?format=excel", Some(&admin), "text/csv", b"name\n".to_vec()).await, 422),
        (
            env.send_raw("POST", "/v1/imports", Some(&admin), "text/csv", b"name,phone,username\nx,y,z\n".to_vec())
                .await,
            422,
        ),
        (env.send_raw("POST", "/v1/imports", Some(&admin), "text/csv", vec![b'a'; 5 * 1024 * 1024 + 1]).await, 413),
        (env.send("GET", &format!("/v1/imports/{}", uuid::Uuid::now_v7()), Some(&admin), None).await, 404),
    ];
    for (a, status) in cases {
        assert_eq!(a.status, status, "{:#}", a.body);
    }
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
}

/// The seed's "CSV/Excel processing": an XLSX workbook imports like its CSV (its first sheet,
/// cells as a spreadsheet shows them: a typed number without `.0`); a file that is not one is 400.
#[tokio::test]
async fn an_xlsx_workbook_imports_like_its_csv() {
    use domain::export::{Format, Sheet};
    let env = Env::start().await;
    let admin = env.admin().await;
    let mut sheet = Sheet::new(Format::Xlsx, &["name", "phone", "username", "package", "ip_address"]).unwrap();
    sheet.row(&["Excel One", "01911-000101", "xl1", "Home 10M", "10.31.0.1"]).unwrap();
    sheet.row(&["Excel Two", "01911000102", "xl2", "Home 20M", ""]).unwrap();
    sheet.row(&["Excel Bad", "01911000103", "xl3", "Gold", ""]).unwrap();
    let bytes = sheet.finish().unwrap();
    let router = env.demo_router(&admin).await;
    let xlsx = Format::Xlsx.content_type();
    let path = format!("/v1/imports?router_id={router}");
    let started = env
        .send_raw_with("POST", &path, Some(&admin), xlsx, bytes.clone(), &[("idempotency-key", "xlsx-1")])
        .await
        .expect(202);
    assert_eq!(started["total_rows"], 3);
    let job = env.wait_import(&admin, started["id"].as_str().unwrap()).await;
    assert_eq!((job["imported"].as_u64(), job["failed"].as_u64()), (Some(2), Some(1)), "{job}");
    let found = env.send("GET", "/v1/customers?username=xl2", Some(&admin), None).await.expect(200);
    assert_eq!(found["items"][0]["phone"], "+8801911000102");

    let before = env.settled_snapshot().await;
    let not_xlsx = env.send_raw("POST", &path, Some(&admin), xlsx, b"name,phone\nx,y\n".to_vec()).await;
    assert_eq!((not_xlsx.status, not_xlsx.code()), (400, "invalid_xlsx"));
    assert_eq!(env.send_raw("POST", &path, Some(&admin), xlsx, vec![]).await.status, 422);
    e2e_tests::assert_unchanged(&before, &env.settled_snapshot().await);
}
