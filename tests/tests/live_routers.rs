//! Live router operations, health checks and full reconciles end to end: API -> (synchronous
//! invoke of) worker-provisioning -> RouterOS API over TCP -> the test router, against moto.

use e2e_tests::{Env, Faults};
use routeros::menu::{PPP_ACTIVE, PPP_SECRET};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn wait_for(env: &Env, token: &str, path: &str, what: &str, f: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..300 {
        let a = env.send("GET", path, Some(token), None).await;
        if a.status == 200 && f(&a.body) {
            return a.body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: {path} never satisfied the condition");
}

async fn seeded_rahim(env: &Env, admin: &str) -> Value {
    let router = env.router.as_ref().unwrap();
    assert!(env.eventually(|| router.find(PPP_SECRET, "rahim").is_some()).await, "seeded secret provisioned");
    let subs = env.send("GET", "/v1/subscriptions?limit=50", Some(admin), None).await.expect(200);
    subs["items"].as_array().unwrap().iter().find(|s| s["username"] == "rahim").unwrap().clone()
}

#[tokio::test]
async fn staff_see_and_act_on_the_router_live_over_one_login() {
    let env = Env::start_with_router().await;
    let admin = env.admin().await;
    let router = env.router.as_ref().unwrap();
    let rid = env.demo_router(&admin).await;
    let rahim = seeded_rahim(&env, &admin).await;
    let sid = rahim["id"].as_str().unwrap();

    // Test connection: a login of its own, identity and version; recorded as the router's health.
    let logins = router.logins();
    let t = env.send("POST", &format!("/v1/routers/{rid}/test"), Some(&admin), None).await.expect(200);
    assert_eq!(t["identity"], "demo-router");
    assert_eq!(t["routeros_version"], "7.16.2 (stable)");
    assert_eq!(t["uptime_seconds"], 3 * 86_400 + 4 * 3600 + 12 * 60 + 9);
    assert_eq!(t["tls"], false);
    assert_eq!(router.logins(), logins + 1);
    let shown = env.send("GET", &format!("/v1/routers/{rid}"), Some(&admin), None).await.expect(200);
    assert_eq!(shown["status"], "online");
    assert_eq!(shown["routeros_version"], "7.16.2 (stable)");
    assert_eq!(shown["health"]["reachable"], true);
    assert_eq!(shown["health"]["cpu_load"], 7);
    assert!(shown["last_seen_at"].is_string());

    let r = env.send("GET", &format!("/v1/routers/{rid}/resources"), Some(&admin), None).await.expect(200);
    assert_eq!(r["cpu_load"], 7);
    assert_eq!(r["total_memory_bytes"], 1_073_741_824u64);
    assert_eq!(r["board_name"], "CCR2004-1G-12S+2XS");
    let ifaces = env.send("GET", &format!("/v1/routers/{rid}/interfaces"), Some(&admin), None).await.expect(200);
    let ether1 = ifaces["items"].as_array().unwrap().iter().find(|i| i["name"] == "ether1").expect("ether1").clone();
    assert_eq!(ether1["type"], "ether");
    assert_eq!(ether1["rx_bytes"], 918_273_645u64);

    // Rahim dials in: the router's sessions and his own show it.
    router.with_state(|s| s.dial_ppp("rahim", "10.20.0.60").unwrap());
    let online = env.send("GET", &format!("/v1/routers/{rid}/sessions"), Some(&admin), None).await.expect(200);
    let items = online["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["username"], "rahim");
    assert_eq!(items[0]["service"], "pppoe");
    assert_eq!(items[0]["address"], "10.20.0.60");
    let s = env.send("GET", &format!("/v1/subscriptions/{sid}/session"), Some(&admin), None).await.expect(200);
    assert_eq!(s["online"], true);
    assert_eq!(s["session"]["address"], "10.20.0.60");
    assert_eq!(s["router_id"], rid.as_str());

    // Disconnect: the session is dropped on the router, and the audit log says who did it.
    let d = env.send("POST", &format!("/v1/subscriptions/{sid}/disconnect"), Some(&admin), None).await.expect(200);
    assert_eq!(d["disconnected"], 1);
    assert!(router.items(PPP_ACTIVE).is_empty());
    let s = env.send("GET", &format!("/v1/subscriptions/{sid}/session"), Some(&admin), None).await.expect(200);
    assert_eq!(s["online"], false);
    assert!(s["session"].is_null());
    let again = env.send("POST", &format!("/v1/subscriptions/{sid}/disconnect"), Some(&admin), None).await.expect(200);
    assert_eq!(again["disconnected"], 0);
    let audit = env
        .send("GET", &format!("/v1/audit-log?entity_type=subscription&entity_id={sid}"), Some(&admin), None)
        .await
        .expect(200);
    let disconnects =
        audit["items"].as_array().unwrap().iter().filter(|e| e["action"] == "subscription.disconnected").count();
    assert_eq!(disconnects, 2);

    // Everything after the test ran over one kept connection: one more login in all.
    assert_eq!(router.logins(), logins + 2);

    // Someone deletes the secret by hand: "reprovision" pushes it back.
    router.with_state(|s| s.remove_where(PPP_SECRET, |i| i.get("name").is_some_and(|n| n == "rahim")));
    let r = env.send("POST", &format!("/v1/subscriptions/{sid}/reprovision"), Some(&admin), None).await.expect(202);
    assert_eq!(r["router_id"], rid.as_str());
    assert!(env.eventually(|| router.find(PPP_SECRET, "rahim").is_some()).await, "reprovisioned");

    // An accountant may not disconnect anyone; nobody sees another ISP's router (isolation.rs).
    let (_, accountant) = env.create_user(&admin, "accountant", "live-accountant@demo.test", None).await;
    let denied = env.send("POST", &format!("/v1/subscriptions/{sid}/disconnect"), Some(&accountant), None).await;
    assert_eq!((denied.status, denied.code()), (403, "forbidden"), "{:#}", denied.body);
}

#[tokio::test]
async fn a_slow_router_is_a_504_and_a_dead_one_a_502_never_a_hang() {
    let env = Env::start_with_router().await;
    let admin = env.admin().await;
    let router = env.router.as_ref().unwrap();
    let rid = env.demo_router(&admin).await;
    let rahim = seeded_rahim(&env, &admin).await;
    let sid = rahim["id"].as_str().unwrap();
    env.send("POST", &format!("/v1/routers/{rid}/test"), Some(&admin), None).await.expect(200);

    // Every reply 3 s late: past the live deadlines.
    router.set_faults(Faults { latency: Duration::from_secs(3), ..Default::default() });
    for (method, path) in
        [("GET", format!("/v1/routers/{rid}/resources")), ("GET", format!("/v1/subscriptions/{sid}/session"))]
    {
        let started = Instant::now();
        let a = env.send(method, &path, Some(&admin), None).await;
        assert_eq!((a.status, a.code()), (504, "router_timeout"), "{path}: {:#}", a.body);
        // The API's own deadline is 5 s; this bound only says it did not hang.
        assert!(started.elapsed() < Duration::from_secs(8), "{path} took {:?}", started.elapsed());
    }
    router.set_faults(Faults::default());

    // Down: 502 at once, and the health it records; one failed check is forgiven, two are not.
    router.go_offline();
    let a = env.send("GET", &format!("/v1/routers/{rid}/sessions"), Some(&admin), None).await;
    assert_eq!((a.status, a.code()), (502, "router_unreachable"), "{:#}", a.body);
    let a = env.send("POST", &format!("/v1/routers/{rid}/test"), Some(&admin), None).await;
    assert_eq!((a.status, a.code()), (502, "router_unreachable"), "{:#}", a.body);
    let shown = env.send("GET", &format!("/v1/routers/{rid}"), Some(&admin), None).await.expect(200);
    assert_eq!(shown["status"], "online", "one lost check does not mark it offline");
    assert_eq!(shown["health"]["reachable"], false);
    assert_eq!(shown["health"]["error_code"], "router_unreachable");
    env.send("POST", &format!("/v1/routers/{rid}/test"), Some(&admin), None).await;
    let shown = env.send("GET", &format!("/v1/routers/{rid}"), Some(&admin), None).await.expect(200);
    assert_eq!(shown["status"], "offline");
    assert_eq!(shown["health"]["consecutive_failures"], 2);
    let dash = env.send("GET", "/v1/dashboard", Some(&admin), None).await.expect(200);
    assert_eq!(dash["routers"]["offline"], 1, "{:#}", dash["routers"]);

    // Back: online again, and the router is reconciled (RouterCameBack): a secret removed by
    // hand while it was away comes back.
    router.come_back().await.unwrap();
    router.with_state(|s| s.remove_where(PPP_SECRET, |i| i.get("name").is_some_and(|n| n == "rahim")));
    env.send("POST", &format!("/v1/routers/{rid}/test"), Some(&admin), None).await.expect(200);
    let shown = env.send("GET", &format!("/v1/routers/{rid}"), Some(&admin), None).await.expect(200);
    assert_eq!(shown["status"], "online");
    assert!(env.eventually(|| router.find(PPP_SECRET, "rahim").is_some()).await, "reconciled after coming back");
}

#[tokio::test]
async fn health_and_reconcile_jobs_report_and_unknown_accounts_import_as_customers() {
    let env = Env::start_with_router().await;
    let admin = env.admin().await;
    let router = env.router.as_ref().unwrap();
    let rid = env.demo_router(&admin).await;
    seeded_rahim(&env, &admin).await;
    let packages = env.send("GET", "/v1/packages?limit=50", Some(&admin), None).await.expect(200);
    let profile = packages["items"][0]["router_profile"].as_str().unwrap().to_string();
    // A subscriber the ISP configured by hand before it used this system.
    router.with_state(|s| {
        s.put(
            PPP_SECRET,
            [
                ("name", "legacy-anis"),
                ("password", "anis-old-pw"),
                ("profile", profile.as_str()),
                ("service", "pppoe"),
                ("disabled", "false"),
                ("comment", "Anisur Rahman 01712-998877"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        )
    });

    // The 5-minute health job: every active ISP's routers checked by the worker; a suspended ISP's
    // are left alone.
    let (other, _) = env.other_tenant("suspended-isp").await;
    env.send("POST", &format!("/v1/tenants/{other}/suspend"), Some(&env.reseller().await), None).await.expect(200);
    let now = env.clock.now().to_rfc3339();
    let job = env.send("POST", "/_local/jobs/job-router-health", None, Some(json!({"time": now}))).await.expect(200);
    assert_eq!((job["tenants"].as_u64(), job["skipped_suspended"].as_u64()), (Some(1), Some(1)), "{job:#}");
    let shown =
        wait_for(&env, &admin, &format!("/v1/routers/{rid}"), "health recorded", |r| !r["health"].is_null()).await;
    assert_eq!(shown["status"], "online");
    assert_eq!(shown["health"]["identity"], "demo-router");

    // Before any reconcile there is no report.
    let none = env.send("GET", &format!("/v1/routers/{rid}/reconcile"), Some(&admin), None).await;
    assert_eq!(none.status, 404);
    // On demand: 202, then the report with the foreign account (never its password).
    let req = env.send("POST", &format!("/v1/routers/{rid}/reconcile"), Some(&admin), None).await.expect(202);
    assert_eq!(req["router_id"], rid.as_str());
    let report = wait_for(&env, &admin, &format!("/v1/routers/{rid}/reconcile"), "reconcile report", |r| {
        r["finished_at"].is_string()
    })
    .await;
    assert_eq!(report["unknown_count"], 1, "{report:#}");
    assert_eq!(report["unknown"][0]["name"], "legacy-anis");
    assert!(report["unknown"][0].get("password").is_none());
    assert!(!report.to_string().contains("anis-old-pw"));
    assert!(report["subscribers"].as_u64().unwrap() >= 1);
    assert_eq!(report["failed"], 0);

    // The unknown secrets as a RouterOS export, which the secret import takes as it is.
    let export = || async {
        let a = env.get_raw(&format!("/v1/routers/{rid}/unknown-accounts"), &admin).await;
        assert_eq!(a.status(), 200);
        assert!(a.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        a.text().await.unwrap()
    };
    let csv = export().await;
    assert!(csv.starts_with("name,password,service,profile,remote-address,disabled,comment\n"), "{csv}");
    assert!(csv.contains("legacy-anis,anis-old-pw,pppoe,"), "{csv}");

    // Its password changes on the router: the next reconcile stores the account again (same count,
    // new content), so the export never hands out a stale password.
    router.with_state(|s| {
        let id = s.find(PPP_SECRET, "legacy-anis").unwrap()[".id"].clone();
        s.execute("/ppp/secret/set", &[(".id".into(), id), ("password".into(), "anis-new-pw".into())], &[], None);
    });
    env.send("POST", &format!("/v1/routers/{rid}/reconcile"), Some(&admin), None).await.expect(202);
    let mut csv = String::new();
    for _ in 0..200 {
        csv = export().await;
        if csv.contains("anis-new-pw") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(csv.contains("legacy-anis,anis-new-pw,pppoe,") && !csv.contains("anis-old-pw"), "{csv}");
    let import = env
        .send_raw(
            "POST",
            &format!("/v1/imports?format=routeros_secrets&router_id={rid}"),
            Some(&admin),
            "text/csv",
            csv.into_bytes(),
        )
        .await
        .expect(202);
    let done = env.wait_import(&admin, import["id"].as_str().unwrap()).await;
    assert_eq!(done["imported"], 1, "{done:#}");
    let found = env.send("GET", "/v1/customers?name=Anisur", Some(&admin), None).await.expect(200);
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found:#}");

    // The hourly job reconciles every router again; the account is known now.
    let later = (env.clock.now() + chrono::Duration::hours(1)).to_rfc3339();
    let job =
        env.send("POST", "/_local/jobs/job-router-reconcile", None, Some(json!({"time": later}))).await.expect(200);
    assert!(job["tenants"].as_u64().unwrap() >= 1);
    wait_for(&env, &admin, &format!("/v1/routers/{rid}/reconcile"), "known after import", |r| {
        r["unknown_count"] == 0 && r["unknown"] == json!([])
    })
    .await;
}
