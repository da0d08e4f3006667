//! Traffic per subscription per day, counted from the RouterOS test server's session counters by
//! the health sweep every quarter hour: a baseline first, growth after it, reconnects counted in
//! full, the day turning in the ISP's zone (Asia/Dhaka) and written out then; staff, the
//! subscriber and the ISP's reports see it (today's from the router's cursor).

use e2e_tests::Env;
use routeros::menu::{HOTSPOT_USER, PPP_SECRET};
use serde_json::{Value, json};
use std::time::Duration;

/// Runs the health job at the test clock's time and waits until the demo router's monitoring
/// point of that time is recorded (the sessions were sampled before it).
async fn sweep(env: &Env, admin: &str, router: &str) {
    let now = env.clock.now();
    env.send("POST", "/_local/jobs/job-router-health", None, Some(json!({"time": now.to_rfc3339()}))).await.expect(200);
    for _ in 0..400 {
        let r = env.send("GET", &format!("/v1/monitoring/routers/{router}"), Some(admin), None).await.expect(200);
        let checked = r["last"]["at"].as_str().map(|t| t.parse::<chrono::DateTime<chrono::Utc>>().unwrap());
        if checked == Some(now) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the sweep at {now} was not recorded");
}

async fn usage(env: &Env, admin: &str, sub: &str) -> Value {
    env.send("GET", &format!("/v1/subscriptions/{sub}/usage"), Some(admin), None).await.expect(200)
}

fn day<'a>(history: &'a Value, date: &str) -> &'a Value {
    history["days"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["date"] == date)
        .unwrap_or_else(|| panic!("{date} in {history:#}"))
}

fn figures(v: &Value) -> (u64, u64) {
    (v["up_bytes"].as_u64().unwrap(), v["down_bytes"].as_u64().unwrap())
}

fn sub_of(all: &Value, username: &str) -> String {
    all["items"].as_array().unwrap().iter().find(|s| s["username"] == username).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn traffic_is_counted_per_day_from_the_routers_session_counters() {
    let env = Env::start_with_router().await;
    let router = env.router.as_ref().unwrap();
    let mut admin = env.admin().await;
    let rid = env.demo_router(&admin).await;
    // A hotspot subscriber beside the seed's PPPoE ones.
    let packages = env.send("GET", "/v1/packages?limit=50", Some(&admin), None).await.expect(200);
    let hotspot = packages["items"].as_array().unwrap().iter().find(|p| p["name"] == "Hotspot Day").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let c = env.create_customer(&admin, "Salma Begum", "01715-000111", "salma").await;
    let s = env.create_subscription(&admin, c["id"].as_str().unwrap(), &hotspot, &rid, "salma-hs").await;
    env.send("POST", &format!("/v1/subscriptions/{}/activate", s["id"].as_str().unwrap()), Some(&admin), None)
        .await
        .expect(200);
    let on_router = || {
        router.find(PPP_SECRET, "rahim").is_some()
            && router.find(PPP_SECRET, "karim").is_some()
            && router.find(HOTSPOT_USER, "salma-hs").is_some()
    };
    assert!(env.eventually(on_router).await, "the subscribers are on the router");
    let all = env.send("GET", "/v1/subscriptions?limit=50", Some(&admin), None).await.expect(200);
    let (rahim, karim, salma) = (sub_of(&all, "rahim"), sub_of(&all, "karim"), sub_of(&all, "salma-hs"));
    router.with_state(|s| {
        s.dial_ppp("rahim", "10.20.0.61").unwrap();
        s.dial_ppp("karim", "10.20.0.62").unwrap();
        s.login_hotspot("salma-hs", "10.5.50.20", "AA:BB:CC:00:00:20").unwrap();
    });

    // 12:00 in Dhaka. The first sweep only takes the counters as they are: the bytes before it
    // belong to no day anybody measured.
    let today = "2026-06-15";
    sweep(&env, &admin, &rid).await;
    let h = usage(&env, &admin, &rahim).await;
    assert_eq!((h["from"].as_str(), h["to"].as_str()), (Some("2026-05-17"), Some(today)), "the last 30 days");
    assert_eq!(h["days"].as_array().unwrap().len(), 30);
    assert_eq!(h["total_bytes"], 0);

    // A quarter hour of traffic (a sample every 15 minutes; today's figures are the router's
    // cursor's until the day is over).
    router.with_state(|s| {
        s.use_ppp_bytes("rahim", 1_000_000, 20_000_000).unwrap();
        s.use_hotspot_session_bytes("salma-hs", 100, 5_000).unwrap();
    });
    env.clock.advance(chrono::Duration::minutes(15));
    admin = env.admin().await;
    sweep(&env, &admin, &rid).await;
    let h = usage(&env, &admin, &rahim).await;
    assert_eq!(figures(day(&h, today)), (1_000_000, 20_000_000), "{h:#}");
    assert_eq!(day(&h, today)["total_bytes"], 21_000_000);
    assert_eq!(h["total_bytes"], 21_000_000);
    assert_eq!(figures(day(&usage(&env, &admin, &salma).await, today)), (100, 5_000));
    assert_eq!(usage(&env, &admin, &karim).await["total_bytes"], 0, "Karim moved nothing");
    let no_record = store::keys::traffic_day(env.tenant(), rahim.parse().unwrap(), today, 0);
    assert!(env.local.app.store.get_item(&no_record).await.unwrap().is_none(), "written out when the day is over");

    // Rahim reconnects: the new session's counters count in full (the test server starts a PPP
    // interface at 123,456,789 up and 987,654,321 down). The sweep five minutes later is not a
    // sample; the next quarter hour's is.
    router.with_state(|s| {
        assert_eq!(s.hang_up_ppp("rahim"), 2);
        s.dial_ppp("rahim", "10.20.0.61").unwrap();
        s.use_hotspot_session_bytes("salma-hs", 0, 1_000).unwrap();
    });
    env.clock.advance(chrono::Duration::minutes(5));
    sweep(&env, &admin, &rid).await;
    assert_eq!(figures(day(&usage(&env, &admin, &rahim).await, today)), (1_000_000, 20_000_000), "not a sample");
    env.clock.advance(chrono::Duration::minutes(10));
    admin = env.admin().await;
    sweep(&env, &admin, &rid).await;
    let h = usage(&env, &admin, &rahim).await;
    assert_eq!(figures(day(&h, today)), (124_456_789, 1_007_654_321), "{h:#}");
    assert_eq!(figures(day(&usage(&env, &admin, &salma).await, today)), (100, 6_000));
    env.clock.advance(chrono::Duration::hours(1));
    admin = env.admin().await;
    sweep(&env, &admin, &rid).await;
    assert_eq!(figures(day(&usage(&env, &admin, &rahim).await, today)), (124_456_789, 1_007_654_321));

    // Midnight in Dhaka (18:00 UTC): the 15th is written out; what Rahim moves after it counts
    // on the 16th.
    env.clock.advance(chrono::Duration::minutes(10 * 60 + 30));
    admin = env.admin().await;
    router.with_state(|s| s.use_ppp_bytes("rahim", 500, 7_000).unwrap());
    sweep(&env, &admin, &rid).await;
    let h = usage(&env, &admin, &rahim).await;
    assert_eq!(h["to"], "2026-06-16");
    assert_eq!(figures(day(&h, "2026-06-16")), (500, 7_000), "{h:#}");
    assert_eq!(figures(day(&h, today)), (124_456_789, 1_007_654_321));
    assert_eq!(h["total_bytes"], 124_456_789u64 + 1_007_654_321 + 7_500);
    let two =
        env.send("GET", &format!("/v1/subscriptions/{rahim}/usage?from={today}&to={today}"), Some(&admin), None).await;
    assert_eq!(two.expect(200)["days"].as_array().unwrap().len(), 1);
    // A day record lives 90 days (DynamoDB's TTL removes it after).
    let item = env
        .local
        .app
        .store
        .get_item(&store::keys::traffic_day(env.tenant(), rahim.parse().unwrap(), today, 0))
        .await
        .unwrap()
        .expect("day record");
    let ttl: i64 = item["ttl"].as_n().unwrap().parse().unwrap();
    assert_eq!(ttl, "2026-09-14T00:00:00Z".parse::<chrono::DateTime<chrono::Utc>>().unwrap().timestamp());

    // The subscriber sees the same in the portal, and not Karim's.
    let portal = env.portal_token("rahim").await;
    let mine =
        env.send("GET", &format!("/v1/portal/subscriptions/{rahim}/usage"), Some(&portal), None).await.expect(200);
    assert_eq!(mine, usage(&env, &admin, &rahim).await);
    let theirs = env.send("GET", &format!("/v1/portal/subscriptions/{karim}/usage"), Some(&portal), None).await;
    assert_eq!(theirs.status, 404);

    // The ISP's reports: per day and router, and the day's top users.
    let report = env.send("GET", &format!("/v1/reports/usage?from={today}&to=2026-06-16"), Some(&admin), None).await;
    let report = report.expect(200);
    assert_eq!(figures(day(&report, today)), (124_456_889, 1_007_660_321), "{report:#}");
    assert_eq!(figures(day(&report, "2026-06-16")), (500, 7_000));
    assert_eq!(report["routers"][0]["name"], "Demo Router");
    assert_eq!(report["routers"][0]["total_bytes"], report["total_bytes"]);
    let top = env.send("GET", &format!("/v1/reports/top-users?date={today}"), Some(&admin), None).await.expect(200);
    let ranked: Vec<(&str, u64)> = top["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["username"].as_str().unwrap(), u["total_bytes"].as_u64().unwrap()))
        .collect();
    assert_eq!(ranked, vec![("rahim", 1_132_111_110), ("salma-hs", 6_100)], "Karim moved nothing");
    assert_eq!(
        (top["users"][0]["rank"].as_u64(), top["users"][0]["customer_name"].as_str()),
        (Some(1), Some("Rahim Uddin"))
    );
    // Today's (the 16th's) from the router's cursor.
    let top = env.send("GET", "/v1/reports/top-users", Some(&admin), None).await.expect(200);
    assert_eq!((top["date"].as_str(), top["users"].as_array().unwrap().len()), (Some("2026-06-16"), 1), "{top:#}");
    assert_eq!(
        (top["users"][0]["username"].as_str(), top["users"][0]["total_bytes"].as_u64()),
        (Some("rahim"), Some(7_500))
    );
    assert_eq!(top["users"][0]["customer_name"], "Rahim Uddin");
    let one = env.send("GET", &format!("/v1/reports/top-users?date={today}&limit=1"), Some(&admin), None).await;
    assert_eq!(one.expect(200)["users"].as_array().unwrap().len(), 1);
    let csv =
        env.get_raw(&format!("/v1/reports/top-users?date={today}&format=csv"), &admin).await.text().await.unwrap();
    assert!(
        csv.starts_with("rank,subscription_id,customer_id,customer_name,username,up_bytes,down_bytes,total_bytes\n")
    );
    assert!(
        csv.contains(&format!("1,{rahim},")) && csv.contains(",Rahim Uddin,rahim,124456789,1007654321,1132111110"),
        "{csv}"
    );
    // The same as XLSX: numbers as numbers, names as text.
    let rows = env.xlsx_rows(&format!("/v1/reports/top-users?date={today}&format=xlsx"), &admin).await;
    assert_eq!(rows[0][0], "rank");
    assert_eq!((rows[1][3].as_str(), rows[1][4].as_str(), rows[1][7].as_str()), ("Rahim Uddin", "rahim", "1132111110"));
    let csv = env
        .get_raw(&format!("/v1/reports/usage?from={today}&to={today}&format=csv"), &admin)
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.contains(&format!("day,{today},,124456889,1007660321,1132117210")), "{csv}");
    assert!(csv.contains(&format!("router,{rid},Demo Router,")), "{csv}");

    // Another ISP sees none of it; an operator (not the whole ISP) may not read traffic reports.
    let (_, other) = env.other_tenant("usage-other").await;
    assert_eq!(env.send("GET", &format!("/v1/subscriptions/{rahim}/usage"), Some(&other), None).await.status, 404);
    let theirs = env.send("GET", &format!("/v1/reports/top-users?date={today}"), Some(&other), None).await.expect(200);
    assert_eq!(theirs["users"], json!([]));
    let (_, op) = env.create_user(&admin, "operator", "usage-op@demo.test", None).await;
    assert_eq!(env.send("GET", "/v1/reports/usage", Some(&op), None).await.status, 403);

    // Bad input.
    let before = env.settled_snapshot().await;
    for bad in [
        format!("/v1/subscriptions/{rahim}/usage?from=2026-06-16&to=2026-06-15"),
        format!("/v1/subscriptions/{rahim}/usage?from=2026-03-01"),
        format!("/v1/subscriptions/{rahim}/usage?from=15-06-2026"),
        format!("/v1/subscriptions/{rahim}/usage?days=3"),
        "/v1/reports/usage?from=2025-01-01&to=2026-06-16".to_string(),
        "/v1/reports/usage?format=xml".to_string(),
        "/v1/reports/top-users?limit=0".to_string(),
        "/v1/reports/top-users?limit=101".to_string(),
        "/v1/reports/top-users?limit=ten".to_string(),
        "/v1/reports/top-users?date=yesterday".to_string(),
    ] {
        let a = env.send("GET", &bad, Some(&admin), None).await;
        assert!(matches!(a.status, 400 | 422), "{bad}: {}", a.status);
        assert!(a.body["type"].is_string() || a.body["title"].is_string(), "{bad}: problem+json");
    }
    let a = env.send("GET", &format!("/v1/portal/subscriptions/{rahim}/usage?from=x"), Some(&portal), None).await;
    assert_eq!(a.status, 422);
    e2e_tests::assert_unchanged(&before, &env.settled_snapshot().await);
}
