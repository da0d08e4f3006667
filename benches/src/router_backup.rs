//! A configuration backup of a large router, and a restore, against the RouterOS API test server
//! with every reply delayed (`LATENCY_MS`, default 20 ms) on a slow router (every print costs
//! `SCAN_US` per item of its menu, default 10 µs): `SECRETS` PPP secrets (default 10,000) with
//! 20 profiles, a queue per 10 secrets, 200 address-list entries, 60 filter and 10 NAT rules.
//!
//! Measured: the snapshot (one pipelined batch of prints), its stored size with every password
//! sealed as the worker stores it, the diff of two snapshots, and a restore of every backed-up
//! menu after 1% of the secrets, two profiles and five firewall rules were changed by hand
//! (read, plan, apply), then the same restore again (nothing to change). The table's share of a
//! backup is fixed (see docs/data-model.md): 2 GetItem and 1 write per backup taken.
//!
//! `cargo run --release -p benches --bin router-backup`.

use domain::crypto::SecretBox;
use domain::router_config::{MENUS, diff, restorable_menus};
use routeros::testing::{Attrs, Faults, TestRouter, TestRouterConfig};
use routeros::{Backoff, Endpoint, RouterSession, Stats, Timeouts, TlsMode};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn attrs(pairs: &[(&str, String)]) -> Attrs {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

#[tokio::main]
async fn main() {
    let secrets = env("SECRETS", 10_000);
    let latency = Duration::from_millis(env("LATENCY_MS", 20) as u64);
    let scan = Duration::from_micros(env("SCAN_US", 10) as u64);
    let router = TestRouter::start(TestRouterConfig::default()).await.expect("test router");
    router.with_state(|s| {
        for p in 0..20 {
            s.put(
                "/ppp/profile",
                attrs(&[("name", format!("pkg-{p}")), ("rate-limit", format!("{}M/{}M", p + 5, p + 5))]),
            );
        }
        for i in 0..secrets {
            s.put(
                "/ppp/secret",
                attrs(&[
                    ("name", format!("sub{i:06}")),
                    ("password", format!("pw-{i:06}-secret")),
                    ("profile", format!("pkg-{}", i % 20)),
                    ("service", "pppoe".into()),
                    ("comment", format!("isp:{i:032x}")),
                ]),
            );
            if i % 10 == 0 {
                s.put(
                    "/queue/simple",
                    attrs(&[
                        ("name", format!("q{i:06}")),
                        ("target", format!("10.{}.{}.{}/32", i / 65536, (i / 256) % 256, i % 256)),
                        ("max-limit", "10M/10M".into()),
                    ]),
                );
            }
        }
        for i in 0..200 {
            s.put(
                "/ip/firewall/address-list",
                attrs(&[("list", "blocked".into()), ("address", format!("10.99.{}.{}", i / 256, i % 256))]),
            );
        }
        for i in 0..60 {
            s.put(
                "/ip/firewall/filter",
                attrs(&[
                    ("chain", "forward".into()),
                    ("action", "drop".into()),
                    ("src-address", format!("192.0.2.{i}")),
                    ("comment", format!("rule {i}")),
                ]),
            );
        }
        for i in 0..10 {
            s.put(
                "/ip/firewall/nat",
                attrs(&[
                    ("chain", "srcnat".into()),
                    ("action", "masquerade".into()),
                    ("out-interface", format!("ether{i}")),
                ]),
            );
        }
    });
    router.set_faults(Faults { latency, scan_cost_per_item: scan, ..Faults::default() });
    let ep = Endpoint {
        host: "127.0.0.1".into(),
        port: router.port(),
        tls: TlsMode::Plain,
        username: router.username().into(),
        password: router.password().into(),
        hosts: routeros::RouterHosts { allow_loopback: true },
    };
    let session = RouterSession::new(ep, Timeouts::WORKER, Backoff::WORKER, Arc::new(Stats::default()));
    let conn = session.connection().await.unwrap();

    let before = router.commands();
    let t = Instant::now();
    let first = routeros::backup::snapshot(&conn).await.unwrap();
    let snapshot_ms = t.elapsed().as_millis();
    let snapshot_commands = router.commands() - before;
    let items: u64 = first.counts().values().sum();
    let sealer = SecretBox::from_key(&[7u8; 32]).unwrap();
    let mut sealed = first.clone();
    let t = Instant::now();
    sealed.map_secrets(|v| Ok::<_, ()>(sealer.seal(v.as_bytes(), b"router-backup:bench"))).unwrap();
    let bytes = serde_json::to_vec(&sealed).unwrap();
    let seal_ms = t.elapsed().as_millis();

    // Changes by hand: 1% of the secrets' passwords, two profiles' speeds, five rules gone.
    router.set_faults(Faults::default());
    router.with_state(|s| {
        for i in (0..secrets).step_by(100) {
            let id = s.find("/ppp/secret", &format!("sub{i:06}")).unwrap()[".id"].clone();
            s.execute("/ppp/secret/set", &[(".id".into(), id), ("password".into(), "changed".into())], &[], None);
        }
        for p in 0..2 {
            let id = s.find("/ppp/profile", &format!("pkg-{p}")).unwrap()[".id"].clone();
            s.execute("/ppp/profile/set", &[(".id".into(), id), ("rate-limit".into(), "1M/1M".into())], &[], None);
        }
        s.remove_where("/ip/firewall/filter", |r| r.get("comment").is_some_and(|c| c.ends_with('7')));
    });
    router.set_faults(Faults { latency, scan_cost_per_item: scan, ..Faults::default() });
    let second = routeros::backup::snapshot(&conn).await.unwrap();
    let t = Instant::now();
    let changes = diff(&first, &second);
    let diff_ms = t.elapsed().as_millis();
    let changed_items: usize = changes.iter().map(|m| m.added.len() + m.removed.len() + m.changed.len()).sum();

    let menus: Vec<String> = restorable_menus().map(String::from).collect();
    let before = router.commands();
    let t = Instant::now();
    let counts = routeros::backup::restore(&conn, &first, &menus).await.unwrap();
    let restore_ms = t.elapsed().as_millis();
    let restore_commands = router.commands() - before;
    let applied: u64 = counts.values().map(|c| c.added + c.changed + c.removed).sum();
    let before = router.commands();
    let t = Instant::now();
    let again = routeros::backup::restore(&conn, &first, &menus).await.unwrap();
    let again_ms = t.elapsed().as_millis();
    let again_commands = router.commands() - before;
    assert!(again.values().all(|c| c.added + c.changed + c.removed == 0));
    assert!(diff(&first, &routeros::backup::snapshot(&conn).await.unwrap()).is_empty(), "restored");

    println!(
        "router: {secrets} PPP secrets, {} menus, {latency:?} reply latency, {scan:?} per item scanned",
        MENUS.len()
    );
    println!("snapshot: {items} items, {snapshot_commands} commands (pipelined), {snapshot_ms} ms");
    println!("stored object: {} KiB with every password sealed ({seal_ms} ms to seal and encode)", bytes.len() / 1024);
    println!("diff after the changes: {changed_items} items in {} menus, {diff_ms} ms", changes.len());
    println!("restore of {} menus: {applied} changes, {restore_commands} commands, {restore_ms} ms", menus.len());
    println!("the same restore again: 0 changes, {again_commands} commands (the reads), {again_ms} ms");
}
