//! Monitoring end to end: the health job -> the provisioning worker -> the RouterOS API test
//! server's `/ping`, `/interface` and `/log` -> the history and the alerts, and back through
//! `GET /v1/monitoring/...`.

use e2e_tests::Env;
use serde_json::{Value, json};
use std::time::Duration;

/// Runs the health sweep at the test's clock and waits until the router's point of that time is
/// recorded; the router's monitoring then.
async fn sweep(env: &Env, _admin: &str, router: &str) -> Value {
    let now = env.clock.now();
    // The clock moves on between sweeps: a token of this time.
    let admin = &env.admin().await;
    env.send("POST", "/_local/jobs/job-router-health", None, Some(json!({"time": now.to_rfc3339()}))).await.expect(200);
    for _ in 0..400 {
        let m = env.send("GET", &format!("/v1/monitoring/routers/{router}"), Some(admin), None).await.expect(200);
        let at = m["last"]["at"].as_str().map(|t| t.parse::<chrono::DateTime<chrono::Utc>>().unwrap());
        if at == Some(now) {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the sweep at {now} was not recorded");
}

async fn alerts(env: &Env, admin: &str, kind: &str) -> Vec<Value> {
    let a = env.send("GET", &format!("/v1/alerts?kind={kind}&limit=100"), Some(admin), None).await.expect(200);
    a["items"].as_array().unwrap().clone()
}

fn open_keys(m: &Value) -> Vec<String> {
    m["open"].as_array().unwrap().iter().map(|e| e["key"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn a_slow_lossy_router_raises_one_alert_and_clears_it_once() {
    let env = Env::start_with_router().await;
    let admin = env.admin().await;
    let rid = env.demo_router(&admin).await;
    let router = env.router.as_ref().unwrap();
    let tenant = env.tenant();
    let t = env.send("GET", &format!("/v1/tenants/{tenant}"), Some(&admin), None).await.expect(200);
    assert_eq!(
        t["monitoring"]["thresholds"],
        json!({"latency_ms": 150, "loss_percent": 20, "cpu_percent": 90, "interface_down": true})
    );
    let settings = json!({"targets": [{"name": "upstream", "address": "10.0.0.1"}, {"name": "google", "address": "8.8.8.8"}],
        "thresholds": {"latency_ms": 100, "loss_percent": 20, "cpu_percent": 90, "interface_down": true}});
    env.send(
        "PATCH",
        &format!("/v1/tenants/{tenant}"),
        Some(&admin),
        Some(json!({"monitoring": settings, "version": t["version"]})),
    )
    .await
    .expect(200);
    router.with_state(|s| {
        s.set_ping("10.0.0.1", 4.0, 0);
        s.set_ping("8.8.8.8", 30.0, 0);
    });

    let m = sweep(&env, &admin, &rid).await;
    assert_eq!(m["settings"], settings);
    let pings = m["last"]["pings"].as_array().unwrap();
    assert_eq!((pings[0]["target"].as_str(), pings[0]["loss_percent"].as_u64()), (Some("upstream"), Some(0)));
    assert!((4.0..5.0).contains(&pings[0]["avg_rtt_ms"].as_f64().unwrap()), "{m:#}");
    assert!(open_keys(&m).is_empty());
    assert_eq!(m["last"]["cpu_load"], 7, "{m:#}");

    // Five minutes of traffic through ether1: its rate.
    router.with_state(|s| s.interface_traffic("ether1", 3_750_000, 1_500_000).unwrap());
    env.clock.advance(chrono::Duration::minutes(5));
    let m = sweep(&env, &admin, &rid).await;
    let ether1 = m["last"]["interfaces"].as_array().unwrap().iter().find(|i| i["name"] == "ether1").unwrap().clone();
    assert_eq!((ether1["rx_bps"].as_u64(), ether1["tx_bps"].as_u64()), (Some(100_000), Some(40_000)));

    // The upstream goes slow and lossy for three sweeps: one alert per condition, once.
    router.with_state(|s| s.set_ping("10.0.0.1", 250.0, 40));
    for _ in 0..3 {
        env.clock.advance(chrono::Duration::minutes(5));
        let m = sweep(&env, &admin, &rid).await;
        assert_eq!(open_keys(&m), ["latency:upstream", "loss:upstream"]);
    }
    let admin = env.admin().await;
    let raised = alerts(&env, &admin, "monitoring_problem").await;
    assert_eq!(raised.len(), 2, "{raised:#?}");
    assert!(raised.iter().any(|a| a["detail"].as_str().unwrap().contains("40% loss to upstream")));
    assert!(alerts(&env, &admin, "monitoring_recovered").await.is_empty());

    // Well again: both close, once; a log error and a port going down are seen.
    router.with_state(|s| {
        s.set_ping("10.0.0.1", 4.0, 0);
        s.log_line("interface,warning", "ether2 link down");
        s.log_line("system,info", "user admin logged in");
        s.set_running("ether2", false).unwrap();
    });
    env.clock.advance(chrono::Duration::minutes(5));
    let m = sweep(&env, &admin, &rid).await;
    assert_eq!(open_keys(&m), ["interface:ether2"]);
    let log = m["last"]["log"].as_array().unwrap();
    assert_eq!(log.len(), 1, "only warnings and errors: {log:?}");
    assert_eq!(log[0]["message"], "ether2 link down");
    env.clock.advance(chrono::Duration::minutes(5));
    let m = sweep(&env, &admin, &rid).await;
    assert!(m["last"]["log"].as_array().unwrap().is_empty(), "a line is reported once");
    let admin = env.admin().await;
    assert_eq!(alerts(&env, &admin, "monitoring_recovered").await.len(), 2);
    assert_eq!(alerts(&env, &admin, "monitoring_problem").await.len(), 3, "the port's episode");

    // History: every sweep's point, oldest first; an hour's summary once the hour is over.
    let h = env.send("GET", &format!("/v1/monitoring/routers/{rid}/history"), Some(&admin), None).await.expect(200);
    let points = h["points"].as_array().unwrap();
    assert_eq!(points.len(), 7);
    assert!(points.windows(2).all(|w| w[0]["at"].as_str() < w[1]["at"].as_str()));
    env.clock.advance(chrono::Duration::minutes(30));
    sweep(&env, &admin, &rid).await;
    let admin = env.admin().await;
    let h = env
        .send("GET", &format!("/v1/monitoring/routers/{rid}/history?resolution=1h"), Some(&admin), None)
        .await
        .expect(200);
    let hours = h["hours"].as_array().unwrap();
    assert_eq!(hours.len(), 1, "{h:#}");
    assert_eq!(hours[0]["samples"], 7);
    assert_eq!(hours[0]["pings"]["upstream"]["max_loss_percent"], 40);
}

#[tokio::test]
async fn monitoring_settings_and_queries_are_checked() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let rid = env.demo_router(&admin).await;
    let tenant = env.tenant();
    let t = env.send("GET", &format!("/v1/tenants/{tenant}"), Some(&admin), None).await.expect(200);
    let before = env.settled_snapshot().await;
    for bad in [
        json!({"targets": [{"name": "x", "address": "not-an-ip"}]}),
        json!({"targets": [{"name": "a", "address": "10.0.0.1"}, {"name": "A", "address": "10.0.0.2"}]}),
        json!({"thresholds": {"latency_ms": 0, "loss_percent": 20, "cpu_percent": 90, "interface_down": true}}),
        json!({"targets": [], "extra": 1}),
    ] {
        let a = env
            .send(
                "PATCH",
                &format!("/v1/tenants/{tenant}"),
                Some(&admin),
                Some(json!({"monitoring": bad, "version": t["version"]})),
            )
            .await;
        assert_eq!(a.status, 422, "{bad}: {:#}", a.body);
    }
    for q in ["resolution=2h", "from=2026-06-15T06:00:00Z&to=2026-06-15T05:00:00Z", "from=yesterday", "nope=1"] {
        let a = env.send("GET", &format!("/v1/monitoring/routers/{rid}/history?{q}"), Some(&admin), None).await;
        assert!(matches!(a.status, 400 | 422), "{q}: {}", a.status);
    }
    let a = env.send("GET", &format!("/v1/monitoring/routers/{}", uuid::Uuid::now_v7()), Some(&admin), None).await;
    assert_eq!(a.status, 404);
    // Before any sweep: no point, nothing open, the defaults.
    let m = env.send("GET", &format!("/v1/monitoring/routers/{rid}"), Some(&admin), None).await.expect(200);
    assert!(m["last"].is_null() && m["open"].as_array().unwrap().is_empty());
    e2e_tests::assert_unchanged(&before, &env.settled_snapshot().await);
}

async fn device(env: &Env, admin: &str, id: &str, at: chrono::DateTime<chrono::Utc>) -> Value {
    for _ in 0..400 {
        let d = env.send("GET", &format!("/v1/monitoring/devices/{id}"), Some(admin), None).await.expect(200);
        if d["last"]["at"].as_str().map(|t| t.parse::<chrono::DateTime<chrono::Utc>>().unwrap()) == Some(at) {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("device {id} not polled at {at}");
}

#[tokio::test]
async fn devices_are_polled_by_snmp_v2c_and_v3_and_a_silent_one_is_down_once() {
    let env = Env::start_with_router().await;
    let admin = env.admin().await;
    let rid = env.demo_router(&admin).await;
    let mut snmpd =
        testkit::snmp::Snmpd::start("isp-public", "monitor", "monitor-auth-pass", "monitor-priv-pass").await;
    let create = |body: Value| {
        let env = &env;
        let admin = admin.clone();
        async move { env.send("POST", "/v1/monitoring/devices", Some(&admin), Some(body)).await }
    };
    let v2c = create(json!({"name": "OLT Mirpur", "kind": "olt", "host": "127.0.0.1", "port": snmpd.port,
        "snmp": {"version": "v2c", "community": "isp-public"}}))
    .await
    .expect(201);
    assert_eq!(v2c["snmp"], json!({"version": "v2c", "username": null, "auth_protocol": null, "privacy": null}));
    assert!(!v2c.to_string().contains("isp-public"), "the community is never shown");
    let v3 = create(json!({"name": "Core switch", "kind": "switch", "host": "127.0.0.1", "port": snmpd.port,
        "snmp": {"version": "v3", "username": "monitor", "auth_protocol": "sha1", "auth_password": "monitor-auth-pass",
            "privacy": "aes", "privacy_password": "monitor-priv-pass"}}))
    .await
    .expect(201);
    let wrong = create(json!({"name": "Wrong community", "kind": "other", "host": "127.0.0.1", "port": snmpd.port,
        "snmp": {"version": "v2c", "community": "not-it"}}))
    .await
    .expect(201);
    for bad in [
        json!({"name": "x", "kind": "olt", "host": "127.0.0.1", "snmp": {"version": "v2c", "community": ""}}),
        json!({"name": "x", "kind": "olt", "host": "169.254.169.254", "snmp": {"version": "v2c", "community": "c"}}),
        json!({"name": "x", "kind": "olt", "host": "olt.example", "snmp": {"version": "v2c", "community": "c"}}),
        json!({"name": "x", "kind": "olt", "host": "127.0.0.1", "snmp": {"version": "v3", "username": "u",
            "auth_protocol": "sha1", "auth_password": "short", "privacy": "none"}}),
        json!({"name": "x", "kind": "toaster", "host": "127.0.0.1", "snmp": {"version": "v2c", "community": "c"}}),
    ] {
        assert_eq!(create(bad.clone()).await.status, 422, "{bad}");
    }
    let ids: Vec<String> = [&v2c, &v3, &wrong].iter().map(|d| d["id"].as_str().unwrap().to_string()).collect();

    let t0 = env.clock.now();
    sweep(&env, &admin, &rid).await;
    for (id, version) in [(&ids[0], "v2c"), (&ids[1], "v3")] {
        let d = device(&env, &admin, id, t0).await;
        assert_eq!(d["status"], "up", "{version}: {d:#}");
        let lo = d["last"]["interfaces"].as_array().unwrap().iter().find(|i| i["name"] == "lo").cloned();
        assert_eq!(lo.expect("the loopback interface")["running"], true, "{version}");
        assert!(d["last"]["uptime_seconds"].as_u64().is_some(), "{version}");
        assert!(d["open"].as_array().unwrap().is_empty());
    }
    let silent = device(&env, &admin, &ids[2], t0).await;
    assert_eq!(silent["status"], "down");
    assert_eq!(open_keys(&silent), ["down"]);

    // Five minutes later: traffic on lo (this test's own HTTP) has a rate; the silent one stays
    // down without a second alert.
    // snmpd caches the interface table for 5 s: the next poll must see fresh counters, with this
    // test's loopback traffic in between.
    for _ in 0..12 {
        env.send("GET", "/v1/monitoring/devices", Some(&admin), None).await.expect(200);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    env.clock.advance(chrono::Duration::minutes(5));
    let t1 = env.clock.now();
    sweep(&env, &admin, &rid).await;
    let admin = env.admin().await;
    let d = device(&env, &admin, &ids[0], t1).await;
    let lo = d["last"]["interfaces"].as_array().unwrap().iter().find(|i| i["name"] == "lo").unwrap().clone();
    assert!(lo["rx_bps"].as_u64().is_some_and(|r| r > 0), "{lo}");
    device(&env, &admin, &ids[2], t1).await;
    let problems = alerts(&env, &admin, "monitoring_problem").await;
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0]["device_name"], "Wrong community");
    assert_eq!(problems[0]["title"], "Device Wrong community crossed a monitoring threshold");

    // The agent stops: both real devices go down once; it starts again... (one episode each).
    snmpd.stop();
    env.clock.advance(chrono::Duration::minutes(5));
    let t2 = env.clock.now();
    sweep(&env, &admin, &rid).await;
    let admin = env.admin().await;
    assert_eq!(device(&env, &admin, &ids[1], t2).await["status"], "down");
    assert_eq!(alerts(&env, &admin, "monitoring_problem").await.len(), 3);
    let h =
        env.send("GET", &format!("/v1/monitoring/devices/{}/history", ids[0]), Some(&admin), None).await.expect(200);
    assert_eq!(h["points"].as_array().unwrap().len(), 3);

    // Changes and deletion; the list.
    let changed = env
        .send(
            "PATCH",
            &format!("/v1/monitoring/devices/{}", ids[2]),
            Some(&admin),
            Some(json!({"snmp": {"version": "v2c", "community": "isp-public"}, "version": 1})),
        )
        .await
        .expect(200);
    assert_eq!(changed["version"], 2);
    let list = env.send("GET", "/v1/monitoring/devices", Some(&admin), None).await.expect(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    assert!(!list.to_string().contains("snmp_sealed"));
    env.send("DELETE", &format!("/v1/monitoring/devices/{}", ids[2]), Some(&admin), None).await.expect(204);
    let gone = env.send("GET", &format!("/v1/monitoring/devices/{}", ids[2]), Some(&admin), None).await;
    assert_eq!(gone.status, 404);
}
