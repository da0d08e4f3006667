//! Level-triggered provisioning against the RouterOS API test server.

use routeros::menu::{ADDRESS_LIST, HOTSPOT_USER, PPP_ACTIVE, PPP_PROFILE, PPP_SECRET, SIMPLE_QUEUE};
use routeros::plan::{Access, Desired, ProfileSpec, QueueSpec, Service};
use routeros::provision::{provision, provision_in_parts, provision_in_parts_within, reconcile_router};
use routeros::testing::{Attrs, DropFault, Faults, TestRouter, TestRouterConfig};
use routeros::{Backoff, Endpoint, RouterConnection, RouterSession, Stats, Timeouts, TlsMode};
use std::sync::Arc;
use std::time::Duration;

fn endpoint(router: &TestRouter) -> Endpoint {
    Endpoint {
        host: "127.0.0.1".into(),
        port: router.port(),
        tls: TlsMode::Plain,
        username: router.username().into(),
        password: router.password().into(),
        hosts: routeros::RouterHosts { allow_loopback: true },
    }
}

async fn open(router: &TestRouter) -> RouterConnection {
    RouterConnection::open(&endpoint(router), Timeouts::WORKER, Arc::new(Stats::default())).await.unwrap()
}

fn subscriber(id: &str, name: &str, access: Access) -> Desired {
    Desired {
        subscription_id: id.into(),
        service: Service::Pppoe,
        username: name.into(),
        password: "s3cret".into(),
        address: None,
        mac_address: None,
        profile: ProfileSpec { name: "home-10m".into(), rate_limit: "5M/10M".into(), shared_users: None },
        queue: None,
        access,
        last_applied: None,
        limit_bytes_total: None,
    }
}

fn attr(item: &Attrs, k: &str) -> String {
    item.get(k).cloned().unwrap_or_default()
}

#[tokio::test]
async fn activate_suspend_restore_change_package_cancel() {
    let router = TestRouter::start(TestRouterConfig::default()).await.unwrap();
    let conn = open(&router).await;

    // Activate: profile created with the package's rate limit, secret created with it.
    let mut d = subscriber("sub-1", "rahim", Access::Open);
    let r = provision(&conn, std::slice::from_ref(&d)).await.unwrap().remove(0).unwrap();
    let secret = router.find(PPP_SECRET, "rahim").expect("secret");
    assert_eq!(attr(&secret, "profile"), "home-10m");
    assert_eq!(attr(&secret, "password"), "s3cret");
    assert_eq!(attr(&secret, "service"), "pppoe");
    assert_eq!(attr(&secret, "disabled"), "false");
    assert_eq!(attr(&secret, "comment"), "isp:sub-1");
    assert_eq!(r.item_id.as_deref(), Some(attr(&secret, ".id").as_str()));
    assert_eq!(attr(&router.find(PPP_PROFILE, "home-10m").unwrap(), "rate-limit"), "5M/10M");
    d.last_applied = Some(r.applied.clone());

    // Nothing to do twice: the second run only reads.
    router.clear_command_log();
    let again = provision(&conn, std::slice::from_ref(&d)).await.unwrap().remove(0).unwrap();
    assert!(again.actions.is_empty(), "{:?}", again.actions);
    assert!(router.command_log().iter().all(|c| c.ends_with("/print")), "{:?}", router.command_log());

    // Suspend: disabled and the session dropped.
    router.with_state(|s| s.dial_ppp("rahim", "10.20.0.2").unwrap());
    d.access = Access::Cut;
    let r = provision(&conn, std::slice::from_ref(&d)).await.unwrap().remove(0).unwrap();
    assert_eq!(attr(&router.find(PPP_SECRET, "rahim").unwrap(), "disabled"), "true");
    assert!(router.items(PPP_ACTIVE).is_empty());
    assert_eq!(r.state, "disabled");
    assert!(r.actions.contains(&"session dropped".to_string()), "{:?}", r.actions);
    d.last_applied = Some(r.applied);

    // Restore.
    d.access = Access::Open;
    let r = provision(&conn, std::slice::from_ref(&d)).await.unwrap().remove(0).unwrap();
    assert_eq!(attr(&router.find(PPP_SECRET, "rahim").unwrap(), "disabled"), "false");
    d.last_applied = Some(r.applied);

    // Package change: new profile on the secret, the session reconnects at the new speed.
    router.with_state(|s| s.dial_ppp("rahim", "10.20.0.2").unwrap());
    d.profile = ProfileSpec { name: "home-20m".into(), rate_limit: "10M/20M".into(), shared_users: None };
    let r = provision(&conn, std::slice::from_ref(&d)).await.unwrap().remove(0).unwrap();
    assert_eq!(attr(&router.find(PPP_SECRET, "rahim").unwrap(), "profile"), "home-20m");
    assert_eq!(attr(&router.find(PPP_PROFILE, "home-20m").unwrap(), "rate-limit"), "10M/20M");
    assert!(router.items(PPP_ACTIVE).is_empty());
    d.last_applied = Some(r.applied);

    // Cancel: the secret goes (and any session with it).
    router.with_state(|s| s.dial_ppp("rahim", "10.20.0.2").unwrap());
    d.access = Access::Absent;
    let r = provision(&conn, std::slice::from_ref(&d)).await.unwrap().remove(0).unwrap();
    assert!(router.find(PPP_SECRET, "rahim").is_none());
    assert!(router.items(PPP_ACTIVE).is_empty());
    assert_eq!(r.item_id, None);
    assert_eq!(router.connections(), 1);
}

#[tokio::test]
async fn walled_garden_keeps_the_subscriber_online_in_the_payment_list() {
    let router = TestRouter::start(TestRouterConfig::default()).await.unwrap();
    let conn = open(&router).await;
    let mut d = subscriber("sub-2", "karim", Access::Open);
    d.address = Some("10.30.0.9".into());
    provision(&conn, std::slice::from_ref(&d)).await.unwrap()[0].as_ref().unwrap();
    router.with_state(|s| s.dial_ppp("karim", "10.30.0.9").unwrap());

    d.access = Access::WalledGarden { profile: "unpaid".into(), address_list: "unpaid-users".into() };
    provision(&conn, std::slice::from_ref(&d)).await.unwrap()[0].as_ref().unwrap();
    let secret = router.find(PPP_SECRET, "karim").unwrap();
    assert_eq!(attr(&secret, "profile"), "unpaid");
    assert_eq!(attr(&secret, "disabled"), "false");
    assert_eq!(attr(&secret, "remote-address"), "10.30.0.9");
    assert_eq!(attr(&router.find(PPP_PROFILE, "unpaid").unwrap(), "address-list"), "unpaid-users");
    let entries = router.items(ADDRESS_LIST);
    assert_eq!(entries.len(), 1);
    assert_eq!(attr(&entries[0], "list"), "unpaid-users");
    assert_eq!(attr(&entries[0], "address"), "10.30.0.9");
    assert!(router.items(PPP_ACTIVE).is_empty(), "reconnects into the walled garden");

    // Paid: back on the package's profile, out of the list.
    d.access = Access::Open;
    provision(&conn, std::slice::from_ref(&d)).await.unwrap()[0].as_ref().unwrap();
    assert_eq!(attr(&router.find(PPP_SECRET, "karim").unwrap(), "profile"), "home-10m");
    assert!(router.items(ADDRESS_LIST).is_empty());
}

#[tokio::test]
async fn hotspot_users_and_static_queues() {
    let router = TestRouter::start(TestRouterConfig::default()).await.unwrap();
    let conn = open(&router).await;
    let mut hotspot = subscriber("sub-h", "guest42", Access::Open);
    hotspot.service = Service::Hotspot;
    hotspot.mac_address = Some("AA:BB:CC:DD:EE:01".into());
    let mut fixed = subscriber("sub-s", "shop-7", Access::Open);
    fixed.service = Service::Static;
    fixed.address = Some("203.0.113.7".into());
    fixed.queue = Some(QueueSpec {
        max_limit: "5M/10M".into(),
        burst_limit: Some("10M/20M".into()),
        burst_threshold: Some("4M/8M".into()),
        burst_time: Some("16s/16s".into()),
        priority: "8/8".into(),
    });
    let results = provision(&conn, &[hotspot.clone(), fixed.clone()]).await.unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let user = router.find(HOTSPOT_USER, "guest42").unwrap();
    assert_eq!(attr(&user, "mac-address"), "AA:BB:CC:DD:EE:01");
    assert_eq!(attr(&user, "profile"), "home-10m");
    let q = router.find(SIMPLE_QUEUE, "shop-7").unwrap();
    assert_eq!(attr(&q, "target"), "203.0.113.7/32");
    assert_eq!(attr(&q, "max-limit"), "5M/10M");
    assert_eq!(attr(&q, "burst-time"), "16s/16s");
    assert_eq!(results[1].as_ref().unwrap().item_id.as_deref(), Some(attr(&q, ".id").as_str()));

    // A cut-off static subscriber lands in the block list; restored, it leaves it.
    fixed.access = Access::Cut;
    provision(&conn, std::slice::from_ref(&fixed)).await.unwrap()[0].as_ref().unwrap();
    let entries = router.items(ADDRESS_LIST);
    assert_eq!(entries.len(), 1);
    assert_eq!(attr(&entries[0], "list"), routeros::plan::BLOCK_LIST);
    fixed.access = Access::Open;
    provision(&conn, std::slice::from_ref(&fixed)).await.unwrap()[0].as_ref().unwrap();
    assert!(router.items(ADDRESS_LIST).is_empty());

    // Suspended hotspot user: disabled and logged out.
    router.with_state(|s| s.login_hotspot("guest42", "10.5.50.3", "AA:BB:CC:DD:EE:01").unwrap());
    hotspot.access = Access::Cut;
    provision(&conn, std::slice::from_ref(&hotspot)).await.unwrap()[0].as_ref().unwrap();
    assert_eq!(attr(&router.find(HOTSPOT_USER, "guest42").unwrap(), "disabled"), "true");
    assert!(router.items(routeros::menu::HOTSPOT_ACTIVE).is_empty());
}

#[tokio::test]
async fn one_refused_subscriber_does_not_fail_the_others() {
    let router = TestRouter::start(TestRouterConfig::default()).await.unwrap();
    let conn = open(&router).await;
    let mut bad = subscriber("sub-bad", "x", Access::Open);
    bad.service = Service::Static;
    bad.address = Some("198.51.100.1".into());
    bad.queue = Some(QueueSpec {
        max_limit: "1M/1M".into(),
        burst_limit: None,
        burst_threshold: None,
        burst_time: None,
        priority: "8/8".into(),
    });
    // Cut off, it belongs in the block list, where someone already typed its address by hand:
    // the router refuses the duplicate entry.
    bad.access = Access::Cut;
    router.with_state(|s| {
        s.put(
            ADDRESS_LIST,
            [("list", routeros::plan::BLOCK_LIST), ("address", "198.51.100.1")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
    });
    let good = subscriber("sub-good", "good", Access::Open);
    let results = provision(&conn, &[bad, good]).await.unwrap();
    assert!(
        matches!(&results[0], Err(routeros::RouterError::Trap { message, .. }) if message.contains("already have such entry")),
        "{:?}",
        results[0]
    );
    assert!(results[1].is_ok(), "{:?}", results[1]);
    assert!(router.find(PPP_SECRET, "good").is_some());
}

#[tokio::test]
async fn a_router_that_drops_mid_command_converges_without_duplicates() {
    let router = TestRouter::start(TestRouterConfig::default()).await.unwrap();
    let session = RouterSession::new(
        endpoint(&router),
        Timeouts::WORKER,
        Backoff { attempts: 5, first: Duration::from_millis(10), max: Duration::from_millis(50) },
        Arc::new(Stats::default()),
    );
    let desired: Vec<Desired> =
        (0..12).map(|i| subscriber(&format!("sub-{i}"), &format!("u{i}"), Access::Open)).collect();
    // A small batch reads each subscriber's items: 3 per subscriber + 1 profile = 37 commands,
    // then the profile add; the 45th command (a secret add) runs but is never answered, and the
    // connection dies.
    router.set_faults(Faults {
        drop_after: Some(DropFault { after_commands: 45, execute_last: true }),
        ..Faults::default()
    });
    let results = session
        .with_retry(|c| {
            let desired = desired.clone();
            async move { provision(&c, &desired).await }
        })
        .await
        .unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(router.connections(), 2);
    assert_eq!(router.command_log()[44], "/ppp/secret/add");
    let secrets = router.items(PPP_SECRET);
    assert_eq!(secrets.len(), 12, "each secret exactly once");
    assert_eq!(router.items(PPP_PROFILE).iter().filter(|p| attr(p, "name") == "home-10m").count(), 1);

    // Redelivered five times: nothing more is written.
    router.clear_command_log();
    for _ in 0..5 {
        let conn = session.connection().await.unwrap();
        let r = provision(&conn, &desired).await.unwrap();
        assert!(r.iter().all(|r| r.as_ref().unwrap().actions.is_empty()));
    }
    assert!(router.command_log().iter().all(|c| c.ends_with("/print")));
    assert_eq!(router.items(PPP_SECRET).len(), 12);
}

fn session(router: &TestRouter) -> RouterSession {
    RouterSession::new(
        endpoint(router),
        Timeouts::WORKER,
        Backoff { attempts: 3, first: Duration::from_millis(10), max: Duration::from_millis(50) },
        Arc::new(Stats::default()),
    )
}

/// A batch reads whole menus once: a router scans its whole menu for a filtered print too, so
/// per-subscriber reads would cost the router one whole scan each.
#[tokio::test]
async fn a_batch_reads_whole_menus_not_each_subscribers_items() {
    let router = TestRouter::start(TestRouterConfig::default()).await.unwrap();
    let desired: Vec<Desired> =
        (0..100).map(|i| subscriber(&format!("sub-{i}"), &format!("u{i}"), Access::Open)).collect();
    let conn = open(&router).await;
    assert!(provision(&conn, &desired).await.unwrap().iter().all(Result::is_ok));
    let suspended: Vec<Desired> = desired.iter().map(|d| Desired { access: Access::Cut, ..d.clone() }).collect();
    router.clear_command_log();
    let results = provision(&conn, &suspended).await.unwrap();
    let actions: std::collections::BTreeSet<Vec<String>> =
        results.iter().map(|r| r.as_ref().unwrap().actions.clone()).collect();
    assert_eq!(actions, [vec!["secret updated (disabled)".to_string()]].into_iter().collect());
    let log = router.command_log();
    let reads: Vec<&String> = log.iter().filter(|c| c.ends_with("/print")).collect();
    assert_eq!(
        reads,
        ["/ip/firewall/address-list/print", "/ppp/active/print", "/ppp/profile/print", "/ppp/secret/print"]
    );
    assert_eq!(log.iter().filter(|c| *c == "/ppp/secret/set").count(), 100);
    assert!(router.items(PPP_SECRET).iter().all(|s| attr(s, "disabled") == "true"));
}

/// When the connection dies under a batch, what was done stays done and is not sent again; the
/// rest goes again in two halves on a new connection, and every subscriber gets its answer.
#[tokio::test]
async fn an_interrupted_batch_goes_on_in_smaller_parts_from_where_it_was() {
    let router = TestRouter::start(TestRouterConfig::default()).await.unwrap();
    let desired: Vec<Desired> =
        (0..64).map(|i| subscriber(&format!("sub-{i}"), &format!("u{i:02}"), Access::Open)).collect();
    // 4 whole-menu reads, the profile add, then the secret adds: the 30th command (the 25th add)
    // runs but is never answered, and the router hangs up.
    router.set_faults(Faults {
        drop_after: Some(DropFault { after_commands: 30, execute_last: true }),
        ..Faults::default()
    });
    let results = provision_in_parts(&session(&router), &desired).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 64);
    assert_eq!(router.connections(), 2);
    let log = router.command_log();
    assert_eq!(log.iter().filter(|c| *c == "/ppp/secret/add").count(), 64, "no add is sent twice");
    // Each part reads the profiles once: the first try, then two halves.
    assert_eq!(log.iter().filter(|c| *c == "/ppp/profile/print").count(), 3);
    assert_eq!(router.items(PPP_SECRET).len(), 64);
    assert_eq!(results.iter().filter(|r| r.as_ref().unwrap().item_id.is_some()).count(), 64);
}

/// A router that stays down: every subscriber gets the connection's error, nobody waits for ever.
#[tokio::test]
async fn a_router_that_is_gone_answers_every_subscriber_with_the_error() {
    let router = TestRouter::start(TestRouterConfig::default()).await.unwrap();
    let desired: Vec<Desired> =
        (0..40).map(|i| subscriber(&format!("sub-{i}"), &format!("u{i}"), Access::Open)).collect();
    let session = session(&router);
    router.go_offline();
    let results = provision_in_parts(&session, &desired).await;
    assert_eq!(results.len(), 40);
    assert!(results.iter().all(|r| r.as_ref().is_err_and(|e| e.code() == "router_unreachable")));
}

#[tokio::test]
async fn full_reconcile_repairs_drift_removes_stale_items_and_reports_strangers() {
    let router = TestRouter::start(TestRouterConfig::default()).await.unwrap();
    let conn = open(&router).await;
    let desired: Vec<Desired> =
        (0..5).map(|i| subscriber(&format!("sub-{i}"), &format!("u{i}"), Access::Open)).collect();
    provision(&conn, &desired).await.unwrap();
    // Drift by hand: one secret disabled, one removed, the profile's speed edited; plus a secret
    // of ours for a subscription no longer on this router and one nobody knows.
    let s = |pairs: &[(&str, &str)]| -> Attrs { pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() };
    router.with_state(|st| {
        let id = attr(&st.find(PPP_SECRET, "u1").unwrap(), ".id");
        st.execute("/ppp/secret/set", &[(".id".into(), id), ("disabled".into(), "yes".into())], &[], None);
        st.remove_where(PPP_SECRET, |i| i.get("name").map(String::as_str) == Some("u2"));
        let pid = attr(&st.find(PPP_PROFILE, "home-10m").unwrap(), ".id");
        st.execute("/ppp/profile/set", &[(".id".into(), pid), ("rate-limit".into(), "50M/50M".into())], &[], None);
        st.put(
            PPP_SECRET,
            s(&[("name", "moved-away"), ("password", "p"), ("profile", "default"), ("comment", "isp:sub-gone")]),
        );
        st.put(
            PPP_SECRET,
            s(&[
                ("name", "legacy-user"),
                ("password", "p"),
                ("profile", "default"),
                ("comment", "from the old billing"),
            ]),
        );
        st.dial_ppp("u3", "10.0.0.3").unwrap();
    });
    let report = reconcile_router(&conn, &desired).await.unwrap();
    assert_eq!(report.stale_removed, 1);
    assert_eq!(report.unknown.len(), 1);
    assert_eq!(report.unknown[0].name, "legacy-user");
    assert!(router.find(PPP_SECRET, "moved-away").is_none());
    assert!(router.find(PPP_SECRET, "legacy-user").is_some(), "never touched");
    assert_eq!(attr(&router.find(PPP_SECRET, "u1").unwrap(), "disabled"), "false");
    assert!(router.find(PPP_SECRET, "u2").is_some());
    assert_eq!(attr(&router.find(PPP_PROFILE, "home-10m").unwrap(), "rate-limit"), "5M/10M");
    // The profile's speed was wrong: sessions on it reconnect to get the right one.
    assert!(router.items(PPP_ACTIVE).is_empty());
    assert_eq!(report.results.len(), 5);
    assert!(report.repaired >= 2);
}

/// A router that logs in but never answers: each try ends after the command deadline of silence,
/// and no new try starts once the retry budget is spent (the function must answer within its own
/// timeout), however many halvings the batch would still allow.
#[tokio::test]
async fn a_hung_router_stops_the_retries_at_the_budget() {
    let router = TestRouter::start(TestRouterConfig::default()).await.unwrap();
    let silence = Timeouts {
        connect: Duration::from_millis(500),
        login: Duration::from_millis(500),
        command: Duration::from_millis(200),
    };
    let session = RouterSession::new(
        endpoint(&router),
        silence,
        Backoff { attempts: 3, first: Duration::from_millis(10), max: Duration::from_millis(10) },
        Arc::new(Stats::default()),
    );
    let desired: Vec<Desired> =
        (0..64).map(|i| subscriber(&format!("sub-{i}"), &format!("u{i}"), Access::Open)).collect();
    // Logins answer at once; every print takes half a minute (one secret at 30 s an item).
    router.with_state(|s| s.put(PPP_SECRET, [("name".to_string(), "x".to_string())].into_iter().collect()));
    router.set_faults(Faults { scan_cost_per_item: Duration::from_secs(30), ..Faults::default() });
    let results = provision_in_parts_within(&session, &desired, Duration::from_millis(500)).await;
    assert!(results.iter().all(|r| r.as_ref().is_err_and(|e| e.code() == "router_timeout")));
    // 3 attempts + 7 halvings would allow 10 tries; the budget allows the first few only.
    let tries = router.connections();
    assert!((2..=4).contains(&tries), "{tries} tries");
}
