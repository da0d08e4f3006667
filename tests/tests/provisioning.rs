//! Provisioning end to end: API -> table -> stream -> EventBridge -> provisioning queue ->
//! worker-provisioning -> RouterOS API over TCP -> the test router, against moto.

use e2e_tests::{Env, Faults};
use routeros::menu::{PPP_ACTIVE, PPP_PROFILE, PPP_SECRET};
use routeros::testing::{Attrs, DropFault};
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;

fn attr(item: &Attrs, k: &str) -> String {
    item.get(k).cloned().unwrap_or_default()
}

/// Waits (up to 20 s) until the router satisfies `f`.
async fn converges(env: &Env, what: &str, f: impl Fn(&routeros::testing::TestRouter) -> bool) {
    let router = env.router.as_ref().expect("router");
    for _ in 0..400 {
        if f(router) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("router did not converge: {what}; secrets: {:?}", router.items(PPP_SECRET));
}

async fn provisioning_record(env: &Env, customer: &str, sub: &str) -> Option<Value> {
    let keys = store::keys::subscription_provisioning(env.tenant(), customer.parse().unwrap(), sub.parse().unwrap());
    env.local.app.store.get::<Value>(&keys).await.unwrap()
}

async fn action(env: &Env, token: &str, sub: &str, verb: &str, body: Value) {
    env.send("POST", &format!("/v1/subscriptions/{sub}/{verb}"), Some(token), Some(body)).await.expect(200);
}

#[tokio::test]
async fn a_subscriber_follows_the_table_through_its_life() {
    let env = Env::start_with_router().await;
    let admin = env.admin().await;
    // The seed's active subscribers reach the demo router by themselves.
    converges(&env, "seeded subscribers", |r| {
        r.find(PPP_SECRET, "rahim").is_some() && r.find(PPP_SECRET, "karim").is_some()
    })
    .await;

    let router_id = env.demo_router(&admin).await;
    let package = env.create_package(&admin, "Fiber 30", "30M", 150_000).await;
    let profile = package["router_profile"].as_str().unwrap().to_string();
    let gold = env.create_package(&admin, "Fiber 60", "60M", 250_000).await;
    let customer = env.create_customer(&admin, "Jamal Uddin", "+8801711000201", "jamal").await;
    let cid = customer["id"].as_str().unwrap().to_string();
    let sub = env.create_subscription(&admin, &cid, package["id"].as_str().unwrap(), &router_id, "jamal-ppp").await;
    let sid = sub["id"].as_str().unwrap().to_string();

    // Activate: the secret appears with the package's profile, which carries the package's speed.
    action(&env, &admin, &sid, "activate", json!({})).await;
    converges(&env, "secret created", |r| r.find(PPP_SECRET, "jamal-ppp").is_some()).await;
    let router = env.router.as_ref().unwrap();
    let secret = router.find(PPP_SECRET, "jamal-ppp").unwrap();
    assert_eq!(attr(&secret, "profile"), profile);
    assert_eq!(attr(&secret, "password"), "ppp-pass-1");
    assert_eq!(attr(&secret, "disabled"), "false");
    assert_eq!(
        attr(&router.find(PPP_PROFILE, &profile).unwrap(), "rate-limit"),
        package["rate_limit"].as_str().unwrap()
    );
    let mut record = None;
    for _ in 0..100 {
        record = provisioning_record(&env, &cid, &sid).await;
        if record.as_ref().is_some_and(|r| r["state"] == "enabled") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let record = record.expect("provisioning recorded");
    assert_eq!(record["state"], "enabled");
    assert_eq!(record["item_id"], attr(&secret, ".id"));
    assert_eq!(record["router_id"], router_id.as_str());
    assert!(record["last_error"].is_null());
    // Staff see it on the subscription.
    let shown = env.send("GET", &format!("/v1/subscriptions/{sid}"), Some(&admin), None).await.expect(200);
    assert_eq!(shown["provisioning"]["state"], "enabled");
    assert_eq!(shown["provisioning"]["item_id"], attr(&secret, ".id"));
    assert_eq!(shown["username"], "jamal-ppp");

    // Suspend: disabled, and the online session dropped.
    router.with_state(|s| s.dial_ppp("jamal-ppp", "10.20.0.50").unwrap());
    action(&env, &admin, &sid, "suspend", json!({"reason": "unpaid"})).await;
    converges(&env, "suspended", |r| {
        r.find(PPP_SECRET, "jamal-ppp").is_some_and(|s| attr(&s, "disabled") == "true")
            && r.items(PPP_ACTIVE).is_empty()
    })
    .await;

    // Restore.
    action(&env, &admin, &sid, "restore", json!({})).await;
    converges(&env, "restored", |r| r.find(PPP_SECRET, "jamal-ppp").is_some_and(|s| attr(&s, "disabled") == "false"))
        .await;

    // Package change: the new profile, and the session reconnects at the new speed.
    router.with_state(|s| s.dial_ppp("jamal-ppp", "10.20.0.50").unwrap());
    action(&env, &admin, &sid, "change-package", json!({"package_id": gold["id"]})).await;
    let gold_profile = gold["router_profile"].as_str().unwrap().to_string();
    converges(&env, "package changed", |r| {
        r.find(PPP_SECRET, "jamal-ppp").is_some_and(|s| attr(&s, "profile") == gold_profile)
            && r.items(PPP_ACTIVE).is_empty()
    })
    .await;

    // Cancel: the secret is removed.
    action(&env, &admin, &sid, "cancel", json!({"reason": "moved away"})).await;
    converges(&env, "cancelled", |r| r.find(PPP_SECRET, "jamal-ppp").is_none()).await;
    // Every change, from the seed on, went over one connection kept by the worker: one login.
    assert_eq!(router.logins(), 1);
    assert_eq!(router.connections(), 1);
}

#[tokio::test]
async fn a_router_that_is_down_refuses_logins_or_drops_still_converges() {
    let env = Env::start_with_router().await;
    let admin = env.admin().await;
    let router = env.router.as_ref().unwrap();
    converges(&env, "seeded subscribers", |r| r.find(PPP_SECRET, "rahim").is_some()).await;
    let subs = env.send("GET", "/v1/subscriptions?limit=50", Some(&admin), None).await.expect(200);
    let rahim = subs["items"].as_array().unwrap().iter().find(|s| s["username"] == "rahim").unwrap().clone();
    let sid = rahim["id"].as_str().unwrap();

    // Down: suspended and restored while the router cannot be reached; it ends up restored.
    router.go_offline();
    action(&env, &admin, sid, "suspend", json!({})).await;
    action(&env, &admin, sid, "restore", json!({})).await;
    action(&env, &admin, sid, "suspend", json!({"reason": "unpaid"})).await;
    // The failure is recorded on the subscription while the router is away.
    let cid = rahim["customer_id"].as_str().unwrap();
    let mut rec = Value::Null;
    for _ in 0..200 {
        rec = provisioning_record(&env, cid, sid).await.unwrap_or_default();
        if !rec["last_error"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(rec["last_error"]["code"], "router_unreachable", "{rec:#}");
    assert_eq!(rec["state"], "enabled", "what was last applied stays recorded");
    router.come_back().await.unwrap();
    converges(&env, "suspended after coming back", |r| {
        r.find(PPP_SECRET, "rahim").is_some_and(|s| attr(&s, "disabled") == "true")
    })
    .await;

    // Refusing logins for a while, then dropping the connection mid-command (after executing
    // it), then slow: restore still lands, once.
    router.set_faults(Faults {
        refuse_logins: 2,
        latency: Duration::from_millis(300),
        drop_after: Some(DropFault { after_commands: 4, execute_last: true }),
        ..Faults::default()
    });
    action(&env, &admin, sid, "restore", json!({})).await;
    converges(&env, "restored through faults", |r| {
        r.find(PPP_SECRET, "rahim").is_some_and(|s| attr(&s, "disabled") == "false")
    })
    .await;
    assert_eq!(router.items(PPP_SECRET).iter().filter(|s| attr(s, "name") == "rahim").count(), 1);
}

#[tokio::test]
async fn a_message_redelivered_five_times_changes_nothing_more() {
    let env = Env::start_with_router().await;
    let admin = env.admin().await;
    let router = env.router.as_ref().unwrap();
    converges(&env, "seeded subscribers", |r| r.find(PPP_SECRET, "karim").is_some()).await;
    let subs = env.send("GET", "/v1/subscriptions?limit=50", Some(&admin), None).await.expect(200);
    let karim = subs["items"].as_array().unwrap().iter().find(|s| s["username"] == "karim").unwrap().clone();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = router.items(PPP_SECRET);
    router.clear_command_log();

    let event = json!({
        "id": Uuid::now_v7().to_string(), "detail-type": "SubscriptionActivated", "source": "isp.network",
        "detail": {"tenant_id": env.tenant(), "subscription_id": karim["id"], "customer_id": karim["customer_id"],
                   "router_id": karim["router_id"], "status": "active", "version": 1},
    });
    let url = &env.local.queue_urls["ProvisioningQueue"];
    for _ in 0..5 {
        env.local.sqs.send_message().queue_url(url).message_body(event.to_string()).send().await.unwrap();
    }
    // All five are handled (messages of one batch for the same subscriber share one run), and
    // nothing but reads reached the router.
    let mut drained = false;
    for _ in 0..200 {
        let attrs = env
            .local
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap_or_default();
        let count =
            |n: aws_sdk_sqs::types::QueueAttributeName| attrs.get(&n).and_then(|v| v.parse::<u32>().ok()).unwrap_or(1);
        if router.command_log().len() >= 3
            && count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages) == 0
            && count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible) == 0
        {
            drained = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(drained, "the five messages were not all handled");
    let log = router.command_log();
    assert!(log.iter().all(|c| c.ends_with("/print")), "{log:?}");
    assert_eq!(router.items(PPP_SECRET), before);
}

#[tokio::test]
async fn a_reconcile_that_finds_nothing_to_change_rewrites_no_subscriber_record() {
    let env = Env::start_with_router().await;
    let admin = env.admin().await;
    converges(&env, "seeded subscribers", |r| {
        r.find(PPP_SECRET, "rahim").is_some() && r.find(PPP_SECRET, "karim").is_some()
    })
    .await;
    let router_id = env.demo_router(&admin).await;
    let before = env.settled_snapshot().await;
    let records: Vec<&String> = before.iter().filter(|(_, v)| v.contains("PROVISIONING")).map(|(k, _)| k).collect();
    assert!(records.len() >= 2, "the seeded subscribers' records: {records:?}");
    env.clock.advance(chrono::Duration::minutes(1));
    let admin = env.admin().await;
    env.send("POST", &format!("/v1/routers/{router_id}/reconcile"), Some(&admin), None).await.expect(202);
    let at = env.clock.now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut report = Value::Null;
    for _ in 0..400 {
        let r = env.send("GET", &format!("/v1/routers/{router_id}/reconcile"), Some(&admin), None).await;
        if r.status == 200 && r.body["last_attempt_at"].as_str().is_some_and(|t| t.starts_with(&at[..19])) {
            report = r.body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(report["repaired"], 0, "the reconcile ran and found nothing: {report:#}");
    let after = env.settled_snapshot().await;
    for k in records {
        assert_eq!(before[k], after[k], "{k} was rewritten");
    }
}
