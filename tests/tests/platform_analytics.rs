//! Platform analytics: the owner's revenue (by month, reseller and gateway), ISPs and subscribers
//! over time with churn, slot usage; a reseller's own part. From the revenue counted with each
//! settled purchase and the daily snapshot of the ISPs' counters.

use crate::platform_checkouts::{buy, paid_at_stripe, platform};
use e2e_tests::Env;
use serde_json::{Value, json};

async fn snapshot(env: &Env) -> Value {
    let at = env.clock.now().to_rfc3339();
    env.send("POST", "/_local/jobs/job-platform-stats", None, Some(json!({"time": at}))).await.expect(200)
}

fn month<'a>(a: &'a Value, m: &str) -> &'a Value {
    a["months"].as_array().unwrap().iter().find(|x| x["month"] == m).unwrap_or_else(|| panic!("{m} in {a:#}"))
}

#[tokio::test]
async fn the_owner_sees_revenue_isps_subscribers_and_churn_and_a_reseller_its_own_part() {
    let env = Env::start().await;
    let p = platform(&env).await;
    // Two purchases in June (the clock starts 2026-06-15), each notified five times at once.
    let slots = buy(&env, &p, &p.reseller, "a-slots", json!({"kind": "isp_slots", "count": 3})).await.expect(201);
    paid_at_stripe(&env, &p, &slots, 5).await;
    let renewal = buy(&env, &p, &p.reseller, "a-renewal", json!({"kind": "renewal", "months": 1})).await.expect(201);
    paid_at_stripe(&env, &p, &renewal, 5).await;
    let taken = snapshot(&env).await;
    assert_eq!((taken["isps"].as_u64(), taken["written"].as_u64()), (Some(1), Some(1)), "{taken:#}");

    let a = env.send("GET", "/v1/platform/analytics?from=2026-05&to=2026-06", Some(&p.owner), None).await.expect(200);
    let june = month(&a, "2026-06");
    assert_eq!(
        june["revenue"],
        json!([{"currency": "BDT", "amount": 350_000, "by": {"stripe": 350_000}}]),
        "once each"
    );
    assert_eq!(
        (june["slots_sold"].as_i64(), june["months_sold"].as_i64(), june["purchases"].as_i64()),
        (Some(3), Some(1), Some(2))
    );
    // The demo ISP: created this month, three subscribers (two active, one waiting), all new.
    assert_eq!(june["isps"], json!({"total": 1, "active": 1, "new": 1, "churned": 0}));
    assert_eq!(june["subscribers"], json!({"total": 3, "active": 2, "new": 3, "lost": 0, "churn_rate_bps": 0}));
    assert_eq!(month(&a, "2026-05")["subscribers"]["total"], 0);
    let reseller = a["resellers"].as_array().unwrap().iter().find(|r| r["reseller_id"] == p.rid.as_str()).unwrap();
    assert_eq!(reseller["revenue"], json!([{"currency": "BDT", "amount": 350_000, "by": {}}]));
    assert_eq!((reseller["isps"].as_i64(), reseller["subscribers"].as_i64()), (Some(1), Some(3)));
    let (limit, count) = (reseller["isp_limit"].as_u64().unwrap(), reseller["isp_count"].as_u64().unwrap());
    assert_eq!(reseller["usage_bps"].as_u64(), Some(count * 10_000 / limit));

    // July: one subscriber leaves (its line cancelled), one joins.
    env.clock.advance(chrono::Duration::days(17));
    let admin = env.admin().await;
    let subs = env.send("GET", "/v1/subscriptions?status=active", Some(&admin), None).await.expect(200);
    let leaving = subs["items"][0]["id"].as_str().unwrap().to_string();
    env.send("POST", &format!("/v1/subscriptions/{leaving}/cancel"), Some(&admin), None).await.expect(200);
    env.create_customer(&admin, "July Joiner", "01719-777001", "julyjoiner").await;
    let dash = env.send("GET", "/v1/dashboard", Some(&admin), None).await.expect(200);
    assert_eq!(dash["customers"]["inactive"], 1, "the customer left: {dash:#}");
    snapshot(&env).await;
    let owner = env.owner().await;
    let a = env.send("GET", "/v1/platform/analytics?from=2026-06&to=2026-07", Some(&owner), None).await.expect(200);
    let july = month(&a, "2026-07");
    assert_eq!(july["subscribers"], json!({"total": 3, "active": 1, "new": 1, "lost": 1, "churn_rate_bps": 3333}));
    assert_eq!(july["isps"], json!({"total": 1, "active": 1, "new": 0, "churned": 0}));
    assert_eq!(july["revenue"], json!([]));
    // A rerun of the day's snapshot changes nothing.
    snapshot(&env).await;
    let again = env.send("GET", "/v1/platform/analytics?from=2026-06&to=2026-07", Some(&owner), None).await.expect(200);
    assert_eq!(again["months"], a["months"]);

    // The reseller's own part: its ISPs as they are, what it paid.
    let rtoken = env.reseller().await;
    let mine = env
        .send(
            "GET",
            &format!("/v1/platform-resellers/{}/analytics?from=2026-06&to=2026-07", p.rid),
            Some(&rtoken),
            None,
        )
        .await
        .expect(200);
    assert_eq!(mine["isps"].as_array().unwrap().len(), 1);
    assert_eq!(
        (mine["isps"][0]["subscribers"].as_i64(), mine["isps"][0]["new_customers"].as_i64()),
        (Some(3), Some(1))
    );
    assert_eq!(month(&mine, "2026-06")["revenue"], json!([{"currency": "BDT", "amount": 350_000, "by": {}}]));
    assert_eq!(month(&mine, "2026-07")["subscribers"]["lost"], 1);
    assert_eq!(mine["slots"]["reseller_id"], p.rid.as_str());
    // The owner may look at it; nobody else, and not at another reseller's.
    env.send("GET", &format!("/v1/platform-resellers/{}/analytics", p.rid), Some(&owner), None).await.expect(200);
    let other = uuid::Uuid::now_v7();
    env.send("GET", &format!("/v1/platform-resellers/{other}/analytics"), Some(&rtoken), None).await.expect(404);
    env.send("GET", &format!("/v1/platform-resellers/{other}/analytics"), Some(&owner), None).await.expect(404);
    env.send("GET", &format!("/v1/platform-resellers/{}/analytics", p.rid), Some(&admin), None).await.expect(403);
    env.send("GET", "/v1/platform/analytics", Some(&rtoken), None).await.expect(403);
    env.send("GET", "/v1/platform/analytics", Some(&admin), None).await.expect(403);

    // Bad spans are named.
    for (query, field) in [
        ("from=2026-13", "from"),
        ("from=2026-08&to=2026-07", "from"),
        ("to=July", "to"),
        ("from=2024-01&to=2026-07", "from"),
    ] {
        let bad = env.send("GET", &format!("/v1/platform/analytics?{query}"), Some(&owner), None).await;
        bad.expect_fields(422, &[field]);
    }
    env.send("GET", "/v1/platform/analytics?month=2026-07", Some(&owner), None).await.expect_fields(422, &["month"]);
}
