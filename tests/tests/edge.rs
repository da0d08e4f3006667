//! The WireGuard edge end to end: routers of two ISPs enrolled (addresses from blocks of their
//! own, under concurrency too), their onboarding scripts, and the concentrator's list of peers.

use e2e_tests::Env;
use local_runner::{LOCAL_EDGE_KEY, LOCAL_EDGE_SYNC_TOKEN};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

async fn enrol(env: &Env, token: &str, router: &str, body: Option<Value>, key: &str) -> Value {
    env.send_with("POST", &format!("/v1/routers/{router}/edge"), Some(token), body, &[("idempotency-key", key)])
        .await
        .expect(201)
}

fn block_of(address: &str) -> [u8; 3] {
    let o = address.parse::<Ipv4Addr>().unwrap().octets();
    [o[0], o[1], o[2]]
}

#[tokio::test]
async fn routers_are_enrolled_in_blocks_of_their_isp_and_onboarded_by_one_script() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let (_, other) = env.other_tenant("edge-other").await;
    let a1 = env.create_router(&admin, "POP A1", "192.168.88.1", None).await;
    let a2 = env.create_router(&admin, "POP A2", "192.168.88.2", None).await;
    let b1 = env.create_router(&other, "Other B1", "192.168.99.1", None).await;
    let (a1, a2, b1) = (a1["id"].as_str().unwrap(), a2["id"].as_str().unwrap(), b1["id"].as_str().unwrap());

    let p1 = enrol(&env, &admin, a1, None, "enrol-a1").await;
    let p2 = enrol(&env, &admin, a2, Some(json!({"api_ssl": true})), "enrol-a2").await;
    let q1 = enrol(&env, &other, b1, None, "enrol-b1").await;
    assert_eq!(p1["address"], "10.224.1.1", "the first block (block 0 is the concentrator's)");
    assert_eq!(p2["address"], "10.224.1.2");
    assert_eq!(q1["address"], "10.224.2.1", "another ISP, another block");
    // The router is now reached at its tunnel address.
    let r = env.send("GET", &format!("/v1/routers/{a2}"), Some(&admin), None).await.expect(200);
    assert_eq!(
        (r["host"].as_str(), r["port"].as_u64(), r["tls"].as_bool()),
        (Some("10.224.1.2"), Some(8729), Some(true))
    );
    assert_eq!(r["tls_insecure"], true, "the router's own certificate");
    // Again (with its key, or a new one): the same peer.
    assert_eq!(enrol(&env, &admin, a1, None, "enrol-a1").await, p1);
    let again = enrol(&env, &admin, a1, None, "enrol-a1-again").await;
    assert_eq!(
        (again["address"].clone(), again["public_key"].clone()),
        (p1["address"].clone(), p1["public_key"].clone())
    );

    // The onboarding script: the router's own key, the edge's, its API password, bound to the tunnel.
    let response = env.get_raw(&format!("/v1/routers/{a1}/onboarding"), &admin).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-disposition"].to_str().unwrap().contains("onboarding.rsc"));
    let script = response.text().await.unwrap();
    let private = script
        .lines()
        .find_map(|l| l.split_whitespace().find_map(|w| w.strip_prefix("private-key=")))
        .expect("a private key")
        .trim_matches('"')
        .to_string();
    assert_eq!(domain::edge::public_key(&private).as_deref(), p1["public_key"].as_str(), "the peer's key pair");
    let edge_public = domain::edge::key_pair(LOCAL_EDGE_KEY).1;
    assert!(
        script.contains(&format!("public-key=\"{edge_public}\""))
            || script.contains(&format!("public-key={edge_public}"))
    );
    assert!(
        script.contains("endpoint-address=127.0.0.1 endpoint-port=51820 allowed-address=10.224.0.1/32"),
        "{script}"
    );
    assert!(script.contains("add address=10.224.1.1/32 network=10.224.0.1 interface=isp-edge"));
    assert!(script.contains("group=isp-api password=") && script.contains("address=10.224.0.1/32"));
    assert!(script.contains("set api address=10.224.0.1/32 port=8728 disabled=no"));
    let ssl = env.get_raw(&format!("/v1/routers/{a2}/onboarding"), &admin).await.text().await.unwrap();
    assert!(ssl.contains("set api-ssl address=10.224.0.1/32 certificate=isp-api-ssl port=8729 disabled=no"));

    // The concentrator's list: its token only.
    assert_eq!(env.send("GET", "/v1/edge/peers", None, None).await.status, 401);
    assert_eq!(
        env.send("GET", "/v1/edge/peers", Some(&admin), None).await.status,
        401,
        "a user's token is not the edge's"
    );
    let peers = env.send("GET", "/v1/edge/peers", Some(LOCAL_EDGE_SYNC_TOKEN), None).await.expect(200);
    let listed: BTreeSet<(String, String)> = peers["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["allowed_ip"].as_str().unwrap().to_string(), p["public_key"].as_str().unwrap().to_string()))
        .collect();
    let want: BTreeSet<(String, String)> = [&p1, &p2, &q1]
        .iter()
        .map(|p| (format!("{}/32", p["address"].as_str().unwrap()), p["public_key"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(listed, want);
    let wg = env.get_raw("/v1/edge/peers?format=wg", LOCAL_EDGE_SYNC_TOKEN).await.text().await.unwrap();
    assert_eq!(wg.matches("[Peer]").count(), 3);
    assert!(wg.contains(&format!("PublicKey = {}\nAllowedIPs = 10.224.2.1/32\n", q1["public_key"].as_str().unwrap())));
    assert!(!peers.to_string().contains(&private), "never a router's private key");

    // A router deleted leaves the edge: its peer is gone from the concentrator's list.
    env.send("DELETE", &format!("/v1/routers/{b1}"), Some(&other), None).await.expect(204);
    let peers = env.send("GET", "/v1/edge/peers", Some(LOCAL_EDGE_SYNC_TOKEN), None).await.expect(200);
    let left: BTreeSet<&str> =
        peers["items"].as_array().unwrap().iter().map(|p| p["allowed_ip"].as_str().unwrap()).collect();
    assert_eq!(left, BTreeSet::from(["10.224.1.1/32", "10.224.1.2/32"]));
}

#[tokio::test]
async fn concurrent_enrolments_never_share_an_address_and_bad_input_changes_nothing() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let (_, other) = env.other_tenant("edge-race").await;
    let mut routers = Vec::new();
    for i in 0..8 {
        let (token, name) = if i % 2 == 0 { (&admin, format!("A{i}")) } else { (&other, format!("B{i}")) };
        let r = env.create_router(token, &name, &format!("192.168.{}.1", 50 + i), None).await;
        routers.push((token.clone(), r["id"].as_str().unwrap().to_string()));
    }
    let peers = futures::future::join_all(
        routers
            .iter()
            .enumerate()
            .map(|(i, (t, r))| enrol(&env, t, r, None, Box::leak(format!("race-{i}").into_boxed_str()))),
    )
    .await;
    let addresses: BTreeSet<&str> = peers.iter().map(|p| p["address"].as_str().unwrap()).collect();
    assert_eq!(addresses.len(), 8, "eight routers, eight addresses: {addresses:?}");
    let blocks = |parity: usize| -> BTreeSet<[u8; 3]> {
        peers
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == parity)
            .map(|(_, p)| block_of(p["address"].as_str().unwrap()))
            .collect()
    };
    assert_eq!(blocks(0).len(), 1, "one ISP's routers share its block");
    assert_eq!(blocks(1).len(), 1);
    assert!(blocks(0).is_disjoint(&blocks(1)), "two ISPs never share one");

    let plain =
        env.create_router(&admin, "Not enrolled", "192.168.70.1", None).await["id"].as_str().unwrap().to_string();
    let (_, accountant) = env.create_user(&admin, "accountant", "acc-edge@demo.test", None).await;
    let before = env.settled_snapshot().await;
    let path = format!("/v1/routers/{plain}/edge");
    let a = env
        .send_with("POST", &path, Some(&admin), Some(json!({"api_ssl": "yes"})), &[("idempotency-key", "bad-1")])
        .await;
    assert!(matches!(a.status, 400 | 422), "{}", a.status);
    let a = env
        .send_with("POST", &path, Some(&admin), Some(json!({"tunnel": true})), &[("idempotency-key", "bad-2")])
        .await;
    assert_eq!(a.status, 422);
    assert_eq!(env.send("POST", &path, Some(&admin), None).await.status, 400, "Idempotency-Key required");
    let a = env.send_with("POST", &path, Some(&accountant), None, &[("idempotency-key", "acc")]).await;
    assert_eq!(a.status, 403);
    assert_eq!(
        env.send("GET", &format!("/v1/routers/{}/onboarding", routers[0].1), Some(&accountant), None).await.status,
        403
    );
    let a = env.send("GET", &format!("/v1/routers/{plain}/onboarding"), Some(&admin), None).await;
    assert_eq!(a.status, 409, "not enrolled yet");
    assert_eq!(a.body["code"], "not_enrolled");
    assert_eq!(env.send("GET", "/v1/edge/peers?format=yaml", Some(LOCAL_EDGE_SYNC_TOKEN), None).await.status, 422);
    assert_eq!(
        env.send("GET", "/v1/edge/peers", Some("local-edge-sync-token"), None).await.status,
        401,
        "a prefix is not the token"
    );
    let after = env.settled_snapshot().await;
    e2e_tests::assert_unchanged(&before, &after);
}
