//! A billing day's 10,000 reminder SMS for one ISP, through the fake SSL Wireless API on
//! 127.0.0.1 (each send answered after the provider's latency), against moto: the notifications
//! worker's own function (`notify::send::on_events`) on SQS batches of 10, several batches at a
//! time as concurrent Lambda instances would run them, at the ISP's send rate. Prints the DynamoDB
//! requests per message (by operation), the wall time, and checks that every reminder was sent
//! exactly once; then delivers every event again (a redelivery) and counts what that costs.
//!
//! `scripts/with-moto.sh cargo run --release -p benches --bin reminders-10k`
//! (`MESSAGES=`, `RATE=` sends per minute, `LATENCY_MS=` the provider's answer time,
//! `INSTANCES=` concurrent batches).

use chrono::{Duration, Utc};
use domain::customer::{Customer, CustomerStatus};
use domain::event::{BillingEvent, EventName};
use futures::StreamExt;
use local_runner::seed::{DemoCredentials, seed_demo};
use local_runner::template::Template;
use local_runner::{Local, LocalOptions};
use messaging::sms::SmsProvider;
use messaging::testing::{FakeSms, Fault};
use notify::send::{BusNotice, Senders};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Instant;
use store::RequestCounter;
use uuid::Uuid;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let n = env("MESSAGES", 10_000) as usize;
    let rate = env("RATE", 6000) as u32;
    let latency = std::time::Duration::from_millis(env("LATENCY_MS", 150));
    let instances = env("INSTANCES", 8) as usize;
    let counter = RequestCounter::new();
    let opts = LocalOptions {
        prefix: format!("sms{}", Uuid::now_v7().simple()),
        port: 0,
        counter: Some(counter.clone()),
        background: false,
        provisioning: false,
        ..LocalOptions::default()
    };
    let local = Local::start(Template::load(&Template::default_path()).unwrap(), opts).await.unwrap();
    let app = &local.app;
    let seed = seed_demo(app, &DemoCredentials::from_env()).await.unwrap();
    let tid = seed.tenant_id.unwrap();
    let http = reqwest::Client::new();
    let call = |method: &str, path: &str, token: Option<&str>, body: serde_json::Value| {
        let mut req = http.request(method.parse().unwrap(), format!("{}{path}", local.base_url)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move {
            let resp = req.send().await.unwrap();
            assert!(resp.status().is_success(), "{}", resp.status());
            resp.json::<serde_json::Value>().await.unwrap()
        }
    };
    let creds = DemoCredentials::from_env();
    let login =
        call("POST", "/v1/auth/login", None, json!({"email": creds.admin_email, "password": creds.admin_password}));
    let admin = login.await["access_token"].as_str().unwrap().to_string();

    // The ISP's SMS account at the fake provider, no quiet hours, its send rate.
    let fake = FakeSms::start(SmsProvider::SslWireless, &[("api_token", "bench-token")]).await;
    fake.always(Some(Fault::Slow(latency)));
    let channel = call(
        "POST",
        "/v1/messaging/channels",
        Some(&admin),
        json!({"kind": "sms", "provider": "ssl_wireless", "mode": "sandbox", "name": "SSL Wireless",
            "base_url": fake.base_url(), "sender_id": "DEMOISP", "price_per_part": 25,
            "credentials": {"api_token": "bench-token"}}),
    )
    .await;
    let channel = channel["id"].as_str().expect("channel made").to_string();
    call(
        "PUT",
        "/v1/messaging/settings",
        Some(&admin),
        json!({"default_language": "bn", "quiet_hours": null, "sends_per_minute": rate,
            "sms_channel_id": channel, "pay_url": "https://pay.demo-isp.example", "version": 0,
            "rules": [{"notice": "payment_reminder", "to": "customer"}]}),
    )
    .await;

    // The customers the reminders are about (written straight into the table: not measured).
    let now = Utc::now();
    let mut customers = Vec::with_capacity(n);
    let mut items = Vec::with_capacity(n);
    for i in 0..n {
        let c = Customer {
            id: domain::ids::new_id(),
            tenant_id: tid,
            name: format!("Bench Customer {i}"),
            phone: format!("+8801719{:06}", i),
            email: None,
            username: format!("bench{i}"),
            status: CustomerStatus::Active,
            address: None,
            area: None,
            pop_id: None,
            house_no: None,
            road_no: None,
            thana: None,
            district: None,
            client_type: None,
            access_medium: None,
            national_id: None,
            connection_date: None,
            notes: None,
            tags: vec![],
            language: None,
            subscriptions: Default::default(),
            operator_id: None,
            scope: None,
            created_by: Uuid::nil(),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        items.push(store::Store::encode_stored(&c).unwrap());
        customers.push(c);
    }
    for chunk in items.chunks(1000) {
        app.store.put_many(chunk.to_vec()).await.unwrap();
    }
    drop(items);
    let details: Vec<(Uuid, serde_json::Value)> = customers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let detail = json!({"invoice_id": domain::ids::new_id(), "number": format!("INV-2026-{:06}", i + 1),
                "customer_id": c.id, "subscription_id": domain::ids::new_id(), "currency": "BDT",
                "total": 120_000, "amount_due": 120_000, "due_date": now + Duration::days(3), "offset_days": -3});
            (domain::ids::new_id(), detail)
        })
        .collect();
    let senders = Senders::new(app).unwrap();
    let run = |label: &'static str| {
        let counter = counter.clone();
        let (details, senders) = (&details, &senders);
        async move {
            counter.reset();
            let started = Instant::now();
            let failures: usize = futures::stream::iter(details.chunks(10))
                .map(|batch| async move {
                    let events: Vec<BusNotice<'_>> = batch
                        .iter()
                        .map(|(id, detail)| BusNotice {
                            name: EventName::Billing(BillingEvent::InvoiceReminderDue),
                            event_id: *id,
                            at: now,
                            tenant_id: tid,
                            detail,
                        })
                        .collect();
                    notify::send::on_events(app, senders, &events).await.into_iter().filter(|r| r.is_err()).count()
                })
                .buffer_unordered(instances)
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .sum();
            let wall = started.elapsed();
            let stats = counter.stats();
            let total: u64 = stats.values().map(|s| s.requests).sum();
            println!(
                "{label}: {} events in {:.1} s; failures {failures}; DynamoDB requests {total} ({:.3} per message); Scan {}",
                details.len(),
                wall.as_secs_f64(),
                total as f64 / details.len() as f64,
                stats.get("Scan").map_or(0, |s| s.requests)
            );
            for (op, s) in stats.iter().filter(|(_, s)| s.requests > 0) {
                println!("  {op}: {} ({:.3} per message)", s.requests, s.requests as f64 / details.len() as f64);
            }
            wall
        }
    };
    let first = run("first delivery").await;
    // What the send rate held is sent by the release job (every 5 minutes on AWS): here at once,
    // until nothing is left.
    let mut released = 0;
    loop {
        let r = notify::send::release_due(app, &senders, tid, Utc::now() + Duration::minutes(10)).await.unwrap();
        released += r.sent;
        if r.sent == 0 && r.held == 0 {
            break;
        }
    }
    let sent = fake.messages();
    let distinct: BTreeSet<&str> = sent.iter().map(|m| m.to.as_str()).collect();
    println!(
        "sent {} SMS to {} distinct numbers ({} by the release), {:.0} per minute overall at a limit of {rate}",
        sent.len(),
        distinct.len(),
        released,
        sent.len() as f64 / first.as_secs_f64() * 60.0
    );
    assert_eq!(sent.len(), n, "every reminder sent once");
    assert_eq!(distinct.len(), n, "no one twice");
    run("redelivery of every event").await;
    assert_eq!(fake.messages().len(), n, "a redelivery sends nothing");
    local.stop().await;
}
