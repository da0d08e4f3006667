//! RADIUS through the local runner: Access-Requests (PAP) and Accounting-Requests (Start,
//! Interim-Update) sent over UDP to the project's FreeRADIUS (`infra/radius/raddb`, Debian's
//! freeradius with rlm_rest and its SQLite session table) in front of the runner and moto, one at
//! a time and 16 at once; the edge's usage report for the NAS (`infra/radius/post-usage.sh`); and
//! the same questions straight to `api-radius` over HTTP, to tell FreeRADIUS's share. Prints
//! median and p99 and the DynamoDB requests per request.
//!
//! `scripts/with-moto.sh cargo run --release -p benches --bin radius-latency` (`ROUNDS=` to change).

use domain::radius::{Grant, RadiusAnswer, RadiusClient, answer_password_aad, clients_conf};
use kernel::Clock;
use local_runner::seed::{DemoCredentials, seed_demo};
use local_runner::template::Template;
use local_runner::{LOCAL_RADIUS_API_TOKEN, Local, LocalOptions};
use radius::core::code::Code;
use radius::core::packet::Packet;
use radius::core::{rfc2865, rfc2866, rfc2869};
use serde_json::json;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use store::{RequestCounter, Store, keys};

const SECRET: &str = "bench-nas-secret-0123456789";
const USERS: usize = 200;

fn summary(mut ms: Vec<f64>) -> String {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    format!("median {:.2} ms, p99 {:.2} ms ({} requests)", at(0.5), at(0.99), ms.len())
}

async fn send(client: &radius::client::Client, to: SocketAddr, p: &Packet) -> (Code, f64) {
    let t = Instant::now();
    let answer = client.send_packet(&to, p).await.expect("FreeRADIUS answers");
    (answer.get_code(), t.elapsed().as_secs_f64() * 1000.0)
}

fn access(user: usize) -> Packet {
    let mut p = Packet::new(Code::AccessRequest, SECRET.as_bytes());
    rfc2865::add_user_name(&mut p, &format!("bench{user:04}"));
    rfc2865::add_user_password(&mut p, format!("pw-{user}").as_bytes()).unwrap();
    rfc2865::add_nas_ip_address(&mut p, &"127.0.0.1".parse().unwrap());
    p
}

fn interim(user: usize, round: u64, at: chrono::DateTime<chrono::Utc>) -> Packet {
    accounting(user, round, at, rfc2866::ACCT_STATUS_TYPE_INTERIM_UPDATE)
}

fn accounting(user: usize, round: u64, at: chrono::DateTime<chrono::Utc>, status: u32) -> Packet {
    let mut p = Packet::new(Code::AccountingRequest, SECRET.as_bytes());
    rfc2865::add_user_name(&mut p, &format!("bench{user:04}"));
    rfc2866::add_acct_status_type(&mut p, status);
    rfc2866::add_acct_session_id(&mut p, &format!("s{user}"));
    rfc2866::add_acct_input_octets(&mut p, (round * 1_000) as u32);
    rfc2866::add_acct_output_octets(&mut p, (round * 50_000) as u32);
    rfc2869::add_event_timestamp(&mut p, &at);
    p
}

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(400);
    let now = chrono::DateTime::parse_from_rfc3339("2026-06-15T06:00:00Z").unwrap().to_utc();
    let counter = RequestCounter::new();
    let opts = LocalOptions {
        prefix: format!("rad{}", uuid::Uuid::now_v7().simple()),
        port: 0,
        background: false,
        counter: Some(counter.clone()),
        clock: Some(Clock::fixed(now)),
        ..LocalOptions::default()
    };
    let local = Local::start(Template::load(&Template::default_path()).unwrap(), opts).await.unwrap();
    let seeded = seed_demo(&local.app, &DemoCredentials::from_env()).await.unwrap();
    let tid = seeded.tenant_id.unwrap();
    let router = network::routers::all_router_ids(&local.app, tid).await.unwrap()[0];
    // Answers as the provisioning worker writes them, for USERS subscribers of the demo router.
    let mut items = Vec::new();
    for u in 0..USERS {
        let name = format!("bench{u:04}");
        let answer = RadiusAnswer {
            tenant_id: tid,
            router_id: router,
            subscription_id: uuid::Uuid::now_v7(),
            customer_id: uuid::Uuid::now_v7(),
            username: name.clone(),
            password_sealed: local.app.secrets.seal(format!("pw-{u}").as_bytes(), &answer_password_aad(tid, &name)),
            grant: Grant::Open { profile: "Home 10M".into(), rate_limit: "10M/10M".into() },
            turbo: None,
            framed_ip: None,
            expires_at: Some(now + chrono::Duration::days(20)),
            one_session: false,
            interim_minutes: 5,
            timezone: "Asia/Dhaka".into(),
            subscription_version: 1,
            told: None,
            updated_at: now,
        };
        items.push(Store::encode(&keys::radius_answer(tid, &name), "RADIUS_ANSWER", &answer, None).unwrap());
    }
    local.app.store.put_many(items).await.unwrap();
    // The demo router in RADIUS mode (its usage comes in the edge's reports).
    let key = keys::router(tid, router, "", None);
    let mut rec: network::routers::RouterRecord = local.app.store.get(&key).await.unwrap().unwrap();
    rec.router.access_mode = domain::radius::AccessMode::Radius;
    local.app.store.put(Store::encode_stored(&rec).unwrap()).await.unwrap();
    let nas = RadiusClient { tenant_id: tid, router_id: router, address: "127.0.0.1".into(), secret: SECRET.into() };
    let server =
        testkit::radius::FreeRadius::start(&local.base_url, LOCAL_RADIUS_API_TOKEN, &clients_conf(&[nas])).await;
    let auth: SocketAddr = format!("127.0.0.1:{}", server.auth_port).parse().unwrap();
    let acct: SocketAddr = format!("127.0.0.1:{}", server.acct_port).parse().unwrap();
    let client = radius::client::Client::new(Some(Duration::from_secs(5)), Some(Duration::from_secs(5)));

    // Warm: FreeRADIUS's connections to the runner, the runner's to moto.
    for u in 0..20 {
        send(&client, auth, &access(u)).await;
    }
    // Each session starts (a Start goes on to the API: the one-session rule and CoA go by it).
    let mut starts = vec![];
    let mut start_requests = std::collections::BTreeMap::new();
    for u in 0..USERS {
        counter.reset();
        let (code, ms) = send(&client, acct, &accounting(u, 0, now, rfc2866::ACCT_STATUS_TYPE_START)).await;
        assert_eq!(code, Code::AccountingResponse);
        starts.push(ms);
        for (k, v) in counter.snapshot() {
            *start_requests.entry(k).or_insert(0u64) += v;
        }
    }
    let (mut authorize, mut accounting) = (vec![], vec![]);
    let (mut auth_requests, mut acct_requests) = (std::collections::BTreeMap::new(), std::collections::BTreeMap::new());
    for i in 0..rounds {
        let u = i % USERS;
        counter.reset();
        let (code, ms) = send(&client, auth, &access(u)).await;
        assert_eq!(code, Code::AccessAccept);
        authorize.push(ms);
        for (k, v) in counter.snapshot() {
            *auth_requests.entry(k).or_insert(0u64) += v;
        }
        counter.reset();
        let (code, ms) = send(&client, acct, &interim(u, (i / USERS + 1) as u64, now)).await;
        assert_eq!(code, Code::AccountingResponse);
        accounting.push(ms);
        for (k, v) in counter.snapshot() {
            *acct_requests.entry(k).or_insert(0u64) += v;
        }
    }
    let per = |m: &std::collections::BTreeMap<String, u64>| {
        m.iter().map(|(k, v)| format!("{k} {:.2}", *v as f64 / rounds as f64)).collect::<Vec<_>>().join(", ")
    };
    println!("through FreeRADIUS, one at a time ({rounds} each):");
    println!("  authorize (PAP, Access-Accept): {}", summary(authorize));
    println!("    DynamoDB per request (authorize + post-auth): {}", per(&auth_requests));
    println!("  accounting, Start ({USERS}): {}", summary(starts));
    let per_start = start_requests
        .iter()
        .map(|(k, v)| format!("{k} {:.2}", *v as f64 / USERS as f64))
        .collect::<Vec<_>>()
        .join(", ");
    println!("    DynamoDB per Start: {per_start}");
    println!("  accounting, Interim-Update (new bytes each; kept at the edge): {}", summary(accounting));
    println!(
        "    DynamoDB per Interim-Update: {}",
        if acct_requests.is_empty() { "none".into() } else { per(&acct_requests) }
    );
    // The edge's usage report: the NAS's sessions in one request.
    for round in 0..3 {
        counter.reset();
        let t = Instant::now();
        let (sent, out) = server.post_usage().await;
        assert!(sent, "{out}");
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        let requests: Vec<String> = counter.snapshot().into_iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!(
            "  usage report of a NAS with {USERS} sessions (round {round}): {ms:.0} ms; DynamoDB: {}",
            requests.join(", ")
        );
    }

    // 16 logins in flight at all times (a POP's morning, many NAS at once).
    use futures::StreamExt;
    let t = Instant::now();
    let lat: Vec<f64> = futures::stream::iter((0..rounds).map(|i| {
        let client = &client;
        async move { send(client, auth, &access(i % USERS)).await.1 }
    }))
    .buffer_unordered(16)
    .collect()
    .await;
    let took = t.elapsed().as_secs_f64();
    println!("  authorize, 16 in flight: {}; {:.0} logins/s", summary(lat), rounds as f64 / took);

    // Straight to api-radius (what rlm_rest sends), without FreeRADIUS.
    let http = reqwest::Client::new();
    let nas_header = format!("{tid}/{router}");
    let mut direct_auth = vec![];
    let mut direct_acct = vec![];
    for i in 0..rounds {
        let u = i % USERS;
        let body = json!({"User-Name": {"type": "string", "value": [format!("bench{u:04}")]},
            "User-Password": {"type": "string", "value": [format!("pw-{u}")]}});
        let t = Instant::now();
        let r = http
            .post(format!("{}/v1/radius/authorize", local.base_url))
            .bearer_auth(LOCAL_RADIUS_API_TOKEN)
            .header("x-radius-nas", &nas_header)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        direct_auth.push(t.elapsed().as_secs_f64() * 1000.0);
        let body = json!({"User-Name": {"value": [format!("bench{u:04}")]}, "Acct-Status-Type": {"value": ["Interim-Update"]},
            "Acct-Session-Id": {"value": [format!("d{u}")]}, "Acct-Input-Octets": {"value": [i * 10 + 1]},
            "Acct-Output-Octets": {"value": [i * 100 + 1]}});
        let t = Instant::now();
        let r = http
            .post(format!("{}/v1/radius/accounting", local.base_url))
            .bearer_auth(LOCAL_RADIUS_API_TOKEN)
            .header("x-radius-nas", &nas_header)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        direct_acct.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!("straight to api-radius over HTTP:");
    println!("  authorize: {}", summary(direct_auth));
    println!("  accounting: {}", summary(direct_acct));
}
