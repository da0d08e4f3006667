//! Configuration backups against the RouterOS API test server, over TCP: a snapshot, a restore of
//! chosen menus that converges and then changes nothing, the on-router backup's scheduler entry.

use domain::router_config::{ON_ROUTER_BACKUP_ENTRY, normalise};
use routeros::testing::{Attrs, TestRouter, TestRouterConfig};
use routeros::{Endpoint, RouterConnection, Stats, Timeouts, TlsMode};
use std::sync::Arc;

fn a(pairs: &[(&str, &str)]) -> Attrs {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

async fn open(router: &TestRouter) -> RouterConnection {
    let ep = Endpoint {
        host: "127.0.0.1".into(),
        port: router.port(),
        tls: TlsMode::Plain,
        username: router.username().into(),
        password: router.password().into(),
        hosts: routeros::RouterHosts { allow_loopback: true },
    };
    RouterConnection::open(&ep, Timeouts::WORKER, Arc::new(Stats::default())).await.expect("login")
}

#[tokio::test]
async fn a_restore_brings_chosen_menus_back_and_then_changes_nothing() {
    let router = TestRouter::start(TestRouterConfig::default()).await.unwrap();
    router.with_state(|s| {
        s.put("/ip/pool", a(&[("name", "pool-a"), ("ranges", "10.0.0.2-10.0.0.9")]));
        s.put(
            "/ppp/profile",
            a(&[
                ("name", "10M"),
                ("rate-limit", "10M/10M"),
                ("local-address", "10.0.0.1"),
                ("remote-address", "pool-a"),
            ]),
        );
        s.put("/ppp/secret", a(&[("name", "rahim"), ("password", "pw"), ("profile", "10M")]));
        s.put("/ip/firewall/filter", a(&[("chain", "input"), ("action", "accept"), ("comment", "first")]));
        s.put("/ip/firewall/filter", a(&[("chain", "input"), ("action", "drop"), ("comment", "second")]));
    });
    let conn = open(&router).await;
    let backup = routeros::backup::snapshot(&conn).await.unwrap();
    assert_eq!(backup.menus["/ppp/secret"][0]["password"], "pw");
    assert_eq!(backup.menus["/system/identity"], vec![a(&[("name", "test-router")])]);
    let (pools, filter) = (normalise(&router.items("/ip/pool")), normalise(&router.items("/ip/firewall/filter")));

    router.with_state(|s| {
        s.remove_where("/ip/firewall/filter", |r| r.get("comment").map(String::as_str) == Some("first"));
        s.put("/ip/firewall/filter", a(&[("chain", "input"), ("action", "accept"), ("comment", "first")]));
        s.remove_where("/ppp/secret", |_| true);
        s.remove_where("/ppp/profile", |r| r.get("name").map(String::as_str) == Some("10M"));
        s.remove_where("/ip/pool", |_| true);
        s.put("/ip/pool", a(&[("name", "stray"), ("ranges", "10.9.9.1")]));
        s.identity = "renamed".into();
    });
    let menus: Vec<String> =
        ["/system/identity", "/ip/pool", "/ppp/profile", "/ppp/secret", "/ip/firewall/filter"].map(String::from).into();
    let counts = routeros::backup::restore(&conn, &backup, &menus).await.unwrap();
    assert_eq!(counts["/ip/pool"].added, 1);
    assert_eq!(counts["/ip/pool"].removed, 1);
    assert_eq!(counts["/ppp/secret"].added, 1);
    assert_eq!(normalise(&router.items("/ip/pool")), pools);
    assert_eq!(normalise(&router.items("/ip/firewall/filter")), filter, "the rules in their order");
    assert_eq!(router.find("/ppp/secret", "rahim").unwrap()["password"], "pw");
    assert_eq!(router.with_state(|s| s.identity.clone()), "test-router");
    let again = routeros::backup::restore(&conn, &backup, &menus).await.unwrap();
    assert!(again.values().all(|c| c.added + c.changed + c.removed == 0), "{again:?}");
    let after = routeros::backup::snapshot(&conn).await.unwrap();
    assert!(domain::router_config::diff(&backup, &after).is_empty());
}

#[tokio::test]
async fn the_on_router_backup_entry_is_kept_as_wanted() {
    let router = TestRouter::start(TestRouterConfig::default()).await.unwrap();
    let conn = open(&router).await;
    assert!(routeros::backup::ensure_on_router_backup(&conn, true).await.unwrap());
    assert!(!routeros::backup::ensure_on_router_backup(&conn, true).await.unwrap(), "already there");
    let entry = router.find("/system/scheduler", ON_ROUTER_BACKUP_ENTRY).unwrap();
    assert_eq!(entry["on-event"], "/system backup save name=isp-daily");
    router.with_state(|s| {
        let id = s.find("/system/scheduler", ON_ROUTER_BACKUP_ENTRY).unwrap()[".id"].clone();
        s.execute("/system/scheduler/set", &[(".id".into(), id), ("disabled".into(), "yes".into())], &[], None);
        s.put("/system/scheduler", a(&[("name", "the-isps-own"), ("interval", "1h"), ("on-event", "/log info hi")]));
    });
    assert!(routeros::backup::ensure_on_router_backup(&conn, true).await.unwrap());
    assert_eq!(router.find("/system/scheduler", ON_ROUTER_BACKUP_ENTRY).unwrap()["disabled"], "false");
    assert!(routeros::backup::ensure_on_router_backup(&conn, false).await.unwrap());
    assert!(router.find("/system/scheduler", ON_ROUTER_BACKUP_ENTRY).is_none());
    assert!(router.find("/system/scheduler", "the-isps-own").is_some(), "only ours is touched");
}
