//! The client against the RouterOS API test server, over TCP.

use routeros::menu::{self, PPP_SECRET};
use routeros::testing::{DropFault, Faults, TestRouter, TestRouterConfig};
use routeros::{
    Backoff, Command, Endpoint, RouterConnection, RouterError, RouterSession, Stage, Stats, Timeouts, TlsMode,
};
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

const FAST: Timeouts = Timeouts {
    connect: Duration::from_millis(500),
    login: Duration::from_millis(500),
    command: Duration::from_millis(500),
};

async fn open(router: &TestRouter) -> RouterConnection {
    RouterConnection::open(&endpoint(router), Timeouts::WORKER, Arc::new(Stats::default())).await.expect("login")
}

#[tokio::test]
async fn logs_in_and_reads_identity_and_version() {
    let router = TestRouter::start(TestRouterConfig::default()).await.unwrap();
    let conn = open(&router).await;
    let info = conn.router_info().await.unwrap();
    assert_eq!(info.identity, "test-router");
    assert_eq!(info.resource.version, "7.16.2 (stable)");
    assert_eq!(info.resource.cpu_load, Some(7));
    assert_eq!(router.logins(), 1);
}

#[tokio::test]
async fn wrong_password_is_a_refused_login_and_a_closed_port_is_unreachable() {
    let router = TestRouter::start(TestRouterConfig::default()).await.unwrap();
    let mut ep = endpoint(&router);
    ep.password = "wrong".into();
    let err = RouterConnection::open(&ep, FAST, Arc::new(Stats::default())).await.err().unwrap();
    assert!(matches!(err, RouterError::LoginRejected(ref m) if m.contains("invalid user name")), "{err:?}");

    let port = router.port();
    drop(router);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let ep = Endpoint { port, ..endpoint_for_port(port) };
    let err = RouterConnection::open(&ep, FAST, Arc::new(Stats::default())).await.err().unwrap();
    assert!(matches!(err, RouterError::Unreachable(_)), "{err:?}");
    assert_eq!(err.code(), "router_unreachable");
}

fn endpoint_for_port(port: u16) -> Endpoint {
    Endpoint {
        host: "127.0.0.1".into(),
        port,
        tls: TlsMode::Plain,
        username: "api".into(),
        password: "api-secret".into(),
        hosts: routeros::RouterHosts { allow_loopback: true },
    }
}

#[tokio::test]
async fn a_large_print_returns_every_row() {
    // mikrotik-rs's own MikrotikDevice drops rows beyond 16 per read; this client must not.
    let router = TestRouter::start(TestRouterConfig::default()).await.unwrap();
    router.with_state(|s| {
        for i in 0..3000 {
            s.put(
                PPP_SECRET,
                [("name", format!("user{i:05}")), ("password", "pw".into()), ("profile", "default".into())]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            );
        }
    });
    let conn = open(&router).await;
    let secrets = conn.ppp_secrets().await.unwrap();
    assert_eq!(secrets.len(), 3000);
    assert_eq!(secrets[2999].name, "user02999");
    assert!(secrets.iter().all(|s| !s.id.is_empty()));
}

#[tokio::test]
async fn pipelined_commands_share_one_connection_and_each_gets_its_own_answer() {
    let router = TestRouter::start(TestRouterConfig::default()).await.unwrap();
    router.set_faults(Faults { latency: Duration::from_millis(20), ..Faults::default() });
    let conn = open(&router).await;
    let adds: Vec<Command> = (0..300)
        .map(|i| {
            menu::add(PPP_SECRET, &[("name", format!("p{i}")), ("password", "x".into()), ("profile", "default".into())])
        })
        .collect();
    let results = conn.run_all(&adds).await;
    // RouterOS answers add with `!done =ret=<id> .tag=..`, which mikrotik-rs 0.7.0 does not parse;
    // whatever it says, every command gets exactly its own answer and every add ran.
    assert_eq!(results.len(), 300);
    assert_eq!(router.items(PPP_SECRET).len(), 300);
    // A duplicate is refused by the router, and that answer reaches only its own command.
    let dup = menu::add(PPP_SECRET, &[("name", "p7".into()), ("password", "x".into()), ("profile", "default".into())]);
    let reads = vec![menu::print_named(PPP_SECRET, "p1"), dup, menu::print_named(PPP_SECRET, "p2")];
    let r = conn.run_all(&reads).await;
    assert_eq!(r[0].as_ref().unwrap()[0]["name"], "p1");
    assert!(
        matches!(&r[1], Err(RouterError::Trap { message, .. }) if message.contains("already exists")),
        "{:?}",
        r[1]
    );
    assert_eq!(r[2].as_ref().unwrap()[0]["name"], "p2");
    assert_eq!(router.connections(), 1);
    assert_eq!(router.logins(), 1);
}

#[tokio::test]
async fn empty_replies_of_routeros_7_18_complete_the_command() {
    let router = TestRouter::start(TestRouterConfig::default()).await.unwrap();
    router.set_faults(Faults { empty_replies: true, ..Faults::default() });
    let conn = open(&router).await;
    assert!(conn.run(&menu::print_named(PPP_SECRET, "nobody")).await.unwrap().is_empty());
    // The connection is still in step afterwards.
    assert_eq!(conn.router_info().await.unwrap().identity, "test-router");
}

#[tokio::test]
async fn a_slow_router_times_out_instead_of_hanging() {
    let router = TestRouter::start(TestRouterConfig::default()).await.unwrap();
    let conn = RouterConnection::open(&endpoint(&router), FAST, Arc::new(Stats::default())).await.unwrap();
    router.set_faults(Faults { latency: Duration::from_secs(5), ..Faults::default() });
    let err = conn.run(&menu::print(PPP_SECRET)).await.unwrap_err();
    assert_eq!(err, RouterError::Timeout(Stage::Command));
    // The login has its own deadline.
    let err = RouterConnection::open(&endpoint(&router), FAST, Arc::new(Stats::default())).await.err().unwrap();
    assert_eq!(err, RouterError::Timeout(Stage::Login));
    assert_eq!(err.code(), "router_timeout");
}

/// The command deadline measures the router's silence, not time spent queued: a slow router
/// working steadily through a long pipelined batch (each print scanning 3,000 secrets at 10 ms per
/// 1,000) answers all of it, although the batch takes far longer than the deadline.
#[tokio::test]
async fn a_slow_router_working_through_a_long_batch_is_never_cut_off() {
    let router = TestRouter::start(TestRouterConfig::default()).await.unwrap();
    router.with_state(|s| {
        for i in 0..3_000 {
            s.put(PPP_SECRET, [("name".to_string(), format!("u{i}"))].into_iter().collect());
        }
    });
    let silence = Duration::from_millis(300);
    let conn =
        RouterConnection::open(&endpoint(&router), Timeouts { command: silence, ..FAST }, Arc::new(Stats::default()))
            .await
            .unwrap();
    router.set_faults(Faults { scan_cost_per_item: Duration::from_micros(10), ..Faults::default() });
    let reads: Vec<Command> = (0..40).map(|i| menu::print_named(PPP_SECRET, &format!("u{i}"))).collect();
    let started = std::time::Instant::now();
    let results = conn.run_all(&reads).await;
    assert!(started.elapsed() > silence * 3, "the router was slow: {:?}", started.elapsed());
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.as_ref().unwrap()[0]["name"], format!("u{i}"));
    }
    // More commands than the window: all answered, in order.
    router.set_faults(Faults::default());
    let many: Vec<Command> =
        (0..(routeros::WINDOW * 3)).map(|i| menu::print_named(PPP_SECRET, &format!("u{i}"))).collect();
    let answers = conn.run_all(&many).await;
    assert!(answers.iter().enumerate().all(|(i, r)| r.as_ref().unwrap()[0]["name"] == format!("u{i}")));
}

#[tokio::test]
async fn a_dropped_connection_fails_the_commands_in_flight_and_the_session_reconnects() {
    let router = TestRouter::start(TestRouterConfig::default()).await.unwrap();
    let stats = Arc::new(Stats::default());
    let session = RouterSession::new(
        endpoint(&router),
        FAST,
        Backoff { attempts: 3, first: Duration::from_millis(10), max: Duration::from_millis(50) },
        stats.clone(),
    );
    let conn = session.connection().await.unwrap();
    router.set_faults(Faults {
        drop_after: Some(DropFault { after_commands: 2, execute_last: false }),
        ..Faults::default()
    });
    let reads = vec![menu::print(PPP_SECRET), menu::print(menu::PPP_PROFILE), menu::print(menu::INTERFACE)];
    let results = conn.run_all(&reads).await;
    // The second command arrives and the router hangs up: neither it nor the third is answered.
    assert!(matches!(results[1], Err(RouterError::ConnectionLost(_))), "{results:?}");
    assert!(matches!(results[2], Err(RouterError::ConnectionLost(_))), "{results:?}");
    assert!(conn.is_closed());
    assert!(conn.run(&menu::print(PPP_SECRET)).await.is_err(), "a dead connection refuses new commands");

    // with_retry runs the work again on a new connection.
    let rows = session.with_retry(|c| async move { c.run(&menu::print(menu::INTERFACE)).await }).await.unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(router.connections(), 2);
}

#[tokio::test]
async fn refused_logins_are_retried_with_backoff_until_the_router_accepts() {
    let router = TestRouter::start(TestRouterConfig::default()).await.unwrap();
    router.set_faults(Faults { refuse_logins: 2, ..Faults::default() });
    let stats = Arc::new(Stats::default());
    let session = RouterSession::new(
        endpoint(&router),
        FAST,
        Backoff { attempts: 4, first: Duration::from_millis(10), max: Duration::from_millis(40) },
        stats.clone(),
    );
    session.connection().await.unwrap().router_info().await.unwrap();
    assert_eq!(stats.connections(), 3);
    assert_eq!(router.logins(), 1);

    // With fewer attempts than refusals, the refusal is the answer.
    router.set_faults(Faults { refuse_logins: 5, ..Faults::default() });
    let session = RouterSession::new(
        endpoint(&router),
        FAST,
        Backoff { attempts: 2, first: Duration::from_millis(10), max: Duration::from_millis(40) },
        stats,
    );
    assert!(matches!(session.connection().await, Err(RouterError::LoginRejected(_))));
}

#[tokio::test]
async fn api_ssl_verifies_certificates_unless_the_router_opts_out() {
    let router = TestRouter::start(TestRouterConfig { tls: true, ..TestRouterConfig::default() }).await.unwrap();
    let mut ep = endpoint(&router);
    ep.tls = TlsMode::Verified;
    let err = RouterConnection::open(&ep, FAST, Arc::new(Stats::default())).await.err().unwrap();
    assert!(matches!(err, RouterError::Tls(_)), "{err:?}");

    ep.tls = TlsMode::AcceptSelfSigned;
    let conn = RouterConnection::open(&ep, FAST, Arc::new(Stats::default())).await.unwrap();
    assert_eq!(conn.router_info().await.unwrap().identity, "test-router");
}

#[tokio::test]
async fn an_offline_router_comes_back_on_the_same_port() {
    let router = TestRouter::start(TestRouterConfig::default()).await.unwrap();
    let conn = open(&router).await;
    router.go_offline();
    assert!(conn.run(&menu::print(PPP_SECRET)).await.is_err());
    let err = RouterConnection::open(&endpoint(&router), FAST, Arc::new(Stats::default())).await.err().unwrap();
    assert!(err.is_transient(), "{err:?}");
    router.come_back().await.unwrap();
    let conn = open(&router).await;
    assert_eq!(conn.router_info().await.unwrap().identity, "test-router");
}

#[tokio::test]
async fn live_reads_sessions_interfaces_and_disconnect() {
    let router = TestRouter::start(TestRouterConfig::default()).await.unwrap();
    router.with_state(|s| {
        s.put(
            PPP_SECRET,
            [("name", "rahim"), ("password", "pw"), ("profile", "default")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        s.dial_ppp("rahim", "10.20.0.2").unwrap();
    });
    let conn = open(&router).await;
    let session = conn.session_of("rahim", false).await.unwrap().expect("online");
    assert_eq!(session.address.as_deref(), Some("10.20.0.2"));
    assert_eq!(session.bytes_in, Some(123456789));
    assert_eq!(conn.active_sessions().await.unwrap().len(), 1);
    assert!(conn.interfaces().await.unwrap().iter().any(|i| i.name == "<pppoe-rahim>"));
    assert_eq!(conn.dhcp_leases().await.unwrap().len(), 1);
    assert_eq!(conn.disconnect("rahim", false).await.unwrap(), 1);
    assert!(conn.session_of("rahim", false).await.unwrap().is_none());
    assert_eq!(conn.disconnect("rahim", false).await.unwrap(), 0);
}

#[tokio::test]
async fn a_host_that_is_or_resolves_to_a_refused_address_is_never_connected_to() {
    let router = TestRouter::start(TestRouterConfig::default()).await.unwrap();
    // A deployment's policy: loopback is this host, not a router. By literal and by a name that
    // resolves to it, checked on the address actually connected to.
    for host in ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "metadata.google.internal"] {
        let ep = Endpoint { host: host.into(), hosts: routeros::RouterHosts::default(), ..endpoint(&router) };
        let got = RouterConnection::open(&ep, Timeouts::LIVE, Arc::new(Stats::default())).await;
        assert!(matches!(got, Err(RouterError::Refused(_))), "{host}: {:?}", got.err());
    }
    assert_eq!(router.connections(), 0, "nothing reached the router");
    // The same router where loopback is allowed (the local runner's policy) is reached.
    open(&router).await;
    assert_eq!(router.connections(), 1);
}

/// Refuses one address, as the provisioning function refuses another ISP's router.
struct RefuseAddress(std::net::IpAddr);

impl routeros::AddressCheck for RefuseAddress {
    fn check(&self, address: std::net::IpAddr) -> futures::future::BoxFuture<'_, Result<(), RouterError>> {
        Box::pin(async move {
            if address == self.0 { Err(RouterError::Refused(format!("{address} is taken"))) } else { Ok(()) }
        })
    }
}

/// A host name is checked on the address it resolves to, before anything is sent there; a
/// literal address is not asked about (it was claimed when the router was saved).
#[tokio::test]
async fn an_address_check_refuses_what_a_name_resolves_to_before_connecting() {
    let router = TestRouter::start(TestRouterConfig::default()).await.unwrap();
    let check = RefuseAddress("127.0.0.1".parse().unwrap());
    let by_name = Endpoint { host: "localhost".into(), ..endpoint(&router) };
    let err =
        RouterConnection::open_checked(&by_name, FAST, Arc::new(Stats::default()), Some(&check)).await.err().unwrap();
    assert_eq!(err.code(), "router_address_refused", "{err}");
    assert_eq!(router.connections(), 0, "nothing was sent to the refused address");
    // The same router by its literal address: not asked, connected.
    RouterConnection::open_checked(&endpoint(&router), FAST, Arc::new(Stats::default()), Some(&check)).await.unwrap();
    assert_eq!(router.connections(), 1);
    // Through a session too.
    let session = RouterSession::new(by_name, FAST, Backoff::LIVE, Arc::new(Stats::default()))
        .with_address_check(Arc::new(RefuseAddress("127.0.0.1".parse().unwrap())));
    assert_eq!(session.connection().await.err().unwrap().code(), "router_address_refused");
    assert_eq!(router.connections(), 1);
}

/// However long a batch, at most [`routeros::WINDOW`] commands are on the wire at once: the router
/// holds no more than that of one connection's work, and the rest follow as answers come back.
#[tokio::test]
async fn no_more_than_the_window_is_in_flight() {
    let router = TestRouter::start(TestRouterConfig::default()).await.unwrap();
    let conn = Arc::new(
        RouterConnection::open(
            &endpoint(&router),
            Timeouts { command: Duration::from_secs(10), ..FAST },
            Arc::new(Stats::default()),
        )
        .await
        .unwrap(),
    );
    let before = router.commands();
    router.set_faults(Faults { latency: Duration::from_millis(600), ..Faults::default() });
    let reads: Vec<Command> = (0..300).map(|i| menu::print_named(PPP_SECRET, &format!("u{i}"))).collect();
    let batch = tokio::spawn({
        let conn = conn.clone();
        async move { conn.run_all(&reads).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(router.commands() - before, routeros::WINDOW as u64, "one window on the wire, no more");
    let answers = batch.await.unwrap();
    assert_eq!(answers.len(), 300);
    assert!(answers.iter().all(|a| a.as_ref().is_ok_and(|rows| rows.is_empty())));
    assert_eq!(router.commands() - before, 300);
}
