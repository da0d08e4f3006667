//! Live updates over the WebSocket API, through the local runner as a browser would use it: the
//! access token in `?token=`, the ISP's router going offline and a payment pushed to its staff, and
//! nothing of another ISP's; a refused handshake without a good staff token; nothing after the
//! token expires until it is renewed.

use e2e_tests::Env;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(env: &Env, token: &str) -> Socket {
    let url = format!("{}/live?token={token}", env.local.base_url.replace("http://", "ws://"));
    tokio_tungstenite::connect_async(url).await.expect("the handshake is accepted").0
}

/// The next message within `wait`, as JSON (None: nothing came).
async fn next(socket: &mut Socket, wait: Duration) -> Option<Value> {
    loop {
        match tokio::time::timeout(wait, socket.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return Some(serde_json::from_str(t.as_str()).unwrap()),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

#[tokio::test]
async fn an_isps_staff_see_its_router_go_offline_and_its_payments_and_nothing_of_another_isp() {
    let env = Env::start_with_router().await;
    let admin = env.admin().await;
    let (_, other) = env.other_tenant("live-other").await;
    let mut mine = open(&env, &admin).await;
    let mut theirs = open(&env, &other).await;
    // An accountant of the same ISP does not read the network: no router news for them.
    let (_, accountant) = env.create_user(&admin, "accountant", "acct-live@demo.test", None).await;
    let mut books = open(&env, &accountant).await;

    let rid = env.demo_router(&admin).await;
    env.router.as_ref().unwrap().go_offline();
    for _ in 0..3 {
        env.send("POST", &format!("/v1/routers/{rid}/test"), Some(&admin), None).await;
    }
    let m = next(&mut mine, Duration::from_secs(20)).await.expect("the router's going offline is pushed");
    assert_eq!((m["type"].as_str(), m["data"]["router_id"].as_str()), (Some("router.offline"), Some(rid.as_str())));
    assert_eq!(m["tenant_id"], json!(env.tenant()));
    assert_eq!(m["data"]["router_name"], "Demo Router");
    let counts = next(&mut mine, Duration::from_secs(20)).await.expect("the dashboard's router counts follow");
    assert_eq!((counts["type"].as_str(), counts["data"]["offline"].as_i64()), (Some("dashboard.routers"), Some(1)));
    assert_eq!(counts["data"]["online"].as_i64(), Some(0));

    // A payment reaches the accountant (and the admin), never the other ISP.
    let c = env.create_customer(&admin, "Live Payer", "01711000333", "livepayer").await;
    env.send_with(
        "POST",
        "/v1/payments",
        Some(&admin),
        Some(json!({"customer_id": c["id"], "amount": 500, "method": "cash"})),
        &[("idempotency-key", "live-pay-1")],
    )
    .await
    .expect(201);
    let paid = next(&mut books, Duration::from_secs(20)).await.expect("the payment is pushed to the accountant");
    assert_eq!((paid["type"].as_str(), paid["data"]["amount"].as_i64()), (Some("payment.received"), Some(500)));
    let also = next(&mut mine, Duration::from_secs(20)).await.expect("and to the admin");
    assert_eq!(also["type"], "payment.received");
    // The dashboard's customer counts follow, to the ISP's unscoped staff who read customers.
    let counts = next(&mut mine, Duration::from_secs(20)).await.expect("the customer counts follow");
    assert_eq!(counts["type"], "dashboard.customers");
    let dash = env.send("GET", "/v1/dashboard", Some(&admin), None).await.expect(200);
    assert_eq!(counts["data"], dash["customers"], "the dashboard's own figures");
    let counts = next(&mut books, Duration::from_secs(20)).await.expect("the accountant reads customers");
    assert_eq!(counts["type"], "dashboard.customers");
    // A subscriber's new ticket reaches the staff who read tickets.
    let portal = env.portal_token("rahim").await;
    env.send_with(
        "POST",
        "/v1/portal/tickets",
        Some(&portal),
        Some(json!({"category": "no_internet", "subject": "No internet since morning", "body": "The light is red."})),
        &[("idempotency-key", "live-ticket-1")],
    )
    .await
    .expect(201);
    let t = next(&mut mine, Duration::from_secs(20)).await.expect("the new ticket is pushed");
    assert_eq!((t["type"].as_str(), t["data"]["by_customer"].as_bool()), (Some("ticket.opened"), Some(true)));
    assert_eq!(t["data"]["subject"], "No internet since morning");
    let t = next(&mut books, Duration::from_secs(20)).await.expect("the accountant reads tickets too");
    assert_eq!(t["type"], "ticket.opened");
    // An import's progress reaches whoever started it, and nobody else.
    let csv =
        "name,phone,username,package\nLive One,01911-000101,liveone,Home 10M\nLive Two,01911-000102,livetwo,Home 10M\n";
    env.send_csv(&format!("/v1/imports?router_id={rid}"), &admin, csv, Some("live-import-1")).await.expect(202);
    let p = next(&mut mine, Duration::from_secs(20)).await.expect("the import's progress is pushed");
    assert_eq!((p["type"].as_str(), p["data"]["imported"].as_u64()), (Some("import.progress"), Some(2)));
    assert_eq!((p["data"]["kind"].as_str(), p["data"]["chunks"].as_u64()), (Some("import"), Some(1)));
    assert!(next(&mut theirs, Duration::from_secs(2)).await.is_none(), "nothing of another ISP's");
    assert!(
        next(&mut books, Duration::from_millis(500)).await.is_none(),
        "no router news or others' imports for the accountant"
    );
}

#[tokio::test]
async fn a_handshake_needs_a_good_staff_token_and_nothing_is_pushed_past_its_expiry_until_renewed() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let url = |t: &str| format!("{}/live?token={t}", env.local.base_url.replace("http://", "ws://"));
    for bad in [String::new(), "not-a-token".to_string(), env.portal_token("rahim").await, env.owner().await] {
        let refused = tokio_tungstenite::connect_async(url(&bad)).await;
        let status = match refused {
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => r.status().as_u16(),
            other => panic!("accepted: {:?}", other.map(|_| ())),
        };
        assert!([401, 403].contains(&status), "{status}");
    }

    let mut socket = open(&env, &admin).await;
    let c = env.create_customer(&admin, "Late Payer", "01711000444", "latepayer").await;
    // Past the token's 15 minutes nothing is pushed...
    env.clock.advance(chrono::Duration::minutes(16));
    let fresh = env.admin().await;
    let pay = |key: &'static str| {
        let body = json!({"customer_id": c["id"], "amount": 100, "method": "cash"});
        let (env, fresh) = (&env, fresh.clone());
        async move { env.send_with("POST", "/v1/payments", Some(&fresh), Some(body), &[("idempotency-key", key)]).await }
    };
    pay("late-1").await.expect(201);
    assert!(next(&mut socket, Duration::from_secs(3)).await.is_none(), "nothing past the token's expiry");
    // Another person's fresh token does not extend it.
    env.create_user(&fresh, "accountant", "renewer@demo.test", None).await;
    let someone_else = env.token("renewer@demo.test", "staff-pass-123").await;
    socket.send(Message::Text(json!({"action": "renew", "token": someone_else}).to_string().into())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    pay("late-1b").await.expect(201);
    assert!(next(&mut socket, Duration::from_secs(3)).await.is_none(), "not renewed by someone else's token");
    // ...until the connection is renewed with a fresh token of the same person.
    socket.send(Message::Text(json!({"action": "renew", "token": fresh}).to_string().into())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    pay("late-2").await.expect(201);
    let m = next(&mut socket, Duration::from_secs(20)).await.expect("pushed once renewed");
    assert_eq!(m["type"], "payment.received");
}
