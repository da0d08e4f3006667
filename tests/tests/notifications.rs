//! Messaging end to end through the local runner against the fake SMS provider: what the bus says
//! becomes one SMS per event, recipient and medium, in the customer's language, kept in the
//! message log; a redelivered event sends nothing new; provider faults end in the right state;
//! quiet hours hold a reminder until the morning.

use e2e_tests::Env;
use messaging::sms::SmsProvider;
use messaging::testing::{FakeSms, Fault};
use serde_json::{Value, json};

/// A sandbox SSL Wireless account of the ISP behind `admin`, pointed at `fake`.
pub async fn sms_channel(env: &Env, admin: &str, fake: &FakeSms) -> String {
    let body = env
        .send(
            "POST",
            "/v1/messaging/channels",
            Some(admin),
            Some(json!({"kind": "sms", "provider": "ssl_wireless", "mode": "sandbox", "name": "SSL Wireless",
                "base_url": fake.base_url(), "sender_id": "DEMOISP", "price_per_part": 25,
                "credentials": {"api_token": "ssl-token-demo"}})),
        )
        .await
        .expect(201);
    assert!(!body.to_string().contains("ssl-token-demo"), "credentials never come back: {body}");
    assert_eq!(body["credentials_set"], json!(["api_token"]));
    body["id"].as_str().unwrap().to_string()
}

async fn messages(env: &Env, admin: &str, query: &str) -> Vec<Value> {
    env.send("GET", &format!("/v1/messages?{query}"), Some(admin), None).await.expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// Waits until the customer's messages satisfy `f`.
async fn wait_messages(env: &Env, admin: &str, customer: &str, f: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..200 {
        let m = messages(env, admin, &format!("customer_id={customer}")).await;
        if f(&m) {
            return m;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "messages of {customer} never settled: {:#}",
        json!(messages(env, admin, &format!("customer_id={customer}")).await)
    );
}

/// A customer with an activated subscription (its activation invoice issued): `(customer, invoice)`.
async fn billed_customer(env: &Env, admin: &str, name: &str, phone: &str, language: Option<&str>) -> (String, Value) {
    let c = env.create_customer(admin, name, phone, &format!("msg-{}", phone.replace('-', ""))).await;
    let cid = c["id"].as_str().unwrap().to_string();
    if let Some(l) = language {
        env.send("PATCH", &format!("/v1/customers/{cid}"), Some(admin), Some(json!({"language": l, "version": 1})))
            .await
            .expect(200);
    }
    let pkg =
        env.create_package(admin, &format!("Home {name}"), "10M", 120_000).await["id"].as_str().unwrap().to_string();
    let router = env.demo_router(admin).await;
    let sub =
        env.create_subscription(admin, &cid, &pkg, &router, &format!("ppp-{}", phone.replace('-', ""))).await["id"]
            .as_str()
            .unwrap()
            .to_string();
    env.send("POST", &format!("/v1/subscriptions/{sub}/activate"), Some(admin), None).await.expect(200);
    let inv = env.send("GET", &format!("/v1/invoices?customer_id={cid}"), Some(admin), None).await.expect(200)["items"]
        [0]
    .clone();
    (cid, inv)
}

#[tokio::test]
async fn an_invoice_reaches_the_customer_in_their_language_once_and_is_kept_in_the_log() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let fake = FakeSms::start(SmsProvider::SslWireless, &[("api_token", "ssl-token-demo")]).await;
    let channel = sms_channel(&env, &admin, &fake).await;

    // A Bangladeshi ISP writes in Bangla unless the customer says otherwise.
    let (bn, bn_invoice) = billed_customer(&env, &admin, "রহিম উদ্দিন", "01719-300011", None).await;
    let (en, en_invoice) = billed_customer(&env, &admin, "Karim Ahmed", "01719-300012", Some("en")).await;
    let bn_msgs = wait_messages(&env, &admin, &bn, |m| m.len() == 1 && m[0]["status"] == "accepted").await;
    let en_msgs = wait_messages(&env, &admin, &en, |m| m.len() == 1 && m[0]["status"] == "accepted").await;

    let sent = fake.messages();
    assert_eq!(sent.len(), 2, "{sent:#?}");
    let bn_sms = sent.iter().find(|m| m.to.ends_with("1719300011")).expect("the Bangla SMS");
    let number = bn_invoice["number"].as_str().unwrap();
    assert!(bn_sms.text.contains("প্রিয় রহিম উদ্দিন") && bn_sms.text.contains(number), "{}", bn_sms.text);
    assert!(bn_sms.text.contains("BDT 1,200.00"), "{}", bn_sms.text);
    assert_eq!(bn_sms.sender.as_deref(), Some("DEMOISP"));
    let en_sms = sent.iter().find(|m| m.to.ends_with("1719300012")).expect("the English SMS");
    assert!(en_sms.text.contains("Dear Karim Ahmed") && en_sms.text.contains(en_invoice["number"].as_str().unwrap()));

    // The log says what was sent, how, and what it cost.
    let m = &bn_msgs[0];
    assert_eq!((m["medium"].as_str(), m["notice"].as_str()), (Some("sms"), Some("invoice_issued")));
    assert_eq!((m["encoding"].as_str(), m["language"].as_str()), (Some("ucs2"), Some("bn")));
    assert_eq!(m["channel_id"], json!(channel));
    assert_eq!(m["provider"], "ssl_wireless");
    assert_eq!(m["recipient"], "+8801719300011");
    assert_eq!(m["provider_message_id"].as_str(), Some(bn_sms.id.as_str()));
    let parts = m["parts"].as_i64().unwrap();
    assert!(parts >= 2, "Bangla is UCS-2: {m:#}");
    assert_eq!(m["cost"].as_i64(), Some(25 * parts));
    assert_eq!(en_msgs[0]["encoding"], "gsm7");
    let one =
        env.send("GET", &format!("/v1/messages/{}", m["id"].as_str().unwrap()), Some(&admin), None).await.expect(200);
    assert_eq!(one, *m);
    assert_eq!(messages(&env, &admin, "status=accepted").await.len(), 2);
    assert_eq!(messages(&env, &admin, "status=failed").await.len(), 0);

    // The same event delivered again (the bus may): found by its message id, nothing sent.
    let app = &env.local.app;
    let detail = json!({"invoice_id": bn_invoice["id"], "number": number, "customer_id": bn,
        "amount_due": bn_invoice["amount_due"], "currency": "BDT", "due_date": bn_invoice["due_date"]});
    let event_id: uuid::Uuid = m["event_id"].as_str().unwrap().parse().unwrap();
    let at = m["created_at"].as_str().unwrap().parse().unwrap();
    let senders = notify::send::Senders { http: messaging::sms::SmsHttp::new().unwrap() };
    let again = notify::send::BusNotice {
        name: domain::event::EventName::Billing(domain::event::BillingEvent::InvoiceIssued),
        event_id,
        at,
        tenant_id: env.tenant(),
        detail: &detail,
    };
    notify::send::on_event(app, &senders, &again).await.unwrap();
    assert_eq!(fake.messages().len(), 2, "a redelivered event sends nothing");
    assert_eq!(messages(&env, &admin, &format!("customer_id={bn}")).await.len(), 1);
}

#[tokio::test]
async fn provider_faults_end_in_the_right_state_and_nothing_is_sent_twice() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let fake = FakeSms::start(SmsProvider::SslWireless, &[("api_token", "ssl-token-demo")]).await;
    sms_channel(&env, &admin, &fake).await;

    // An invalid number and an empty account are final: recorded, never retried.
    fake.fail_next(Fault::InvalidNumber);
    let (a, _) = billed_customer(&env, &admin, "Invalid Number", "01719-300021", Some("en")).await;
    let m = wait_messages(&env, &admin, &a, |m| m.len() == 1 && m[0]["status"] != "sending").await;
    assert_eq!(
        (m[0]["status"].as_str(), m[0]["error_code"].as_str()),
        (Some("failed"), Some("invalid_number")),
        "{m:#?}"
    );
    fake.fail_next(Fault::NoBalance);
    let (b, _) = billed_customer(&env, &admin, "No Balance", "01719-300022", Some("en")).await;
    let m = wait_messages(&env, &admin, &b, |m| m.len() == 1 && m[0]["status"] != "sending").await;
    assert_eq!((m[0]["status"].as_str(), m[0]["error_code"].as_str()), (Some("failed"), Some("no_balance")));
    assert_eq!(m[0]["attempts"], 1);

    // A server error is retried after a backoff; the release at that time sends it once.
    fake.fail_next(Fault::ServerError);
    let (c, _) = billed_customer(&env, &admin, "Busy Provider", "01719-300023", Some("en")).await;
    let m = wait_messages(&env, &admin, &c, |m| m.len() == 1 && m[0]["status"] == "scheduled").await;
    assert_eq!((m[0]["attempts"].as_i64(), m[0]["error_code"].as_str()), (Some(1), Some("retryable")));
    assert!(fake.messages().is_empty(), "nothing was taken yet");
    let senders = notify::send::Senders { http: messaging::sms::SmsHttp::new().unwrap() };
    let app = &env.local.app;
    let early = notify::send::release_due(app, &senders, env.tenant(), env.clock.now()).await.unwrap();
    assert_eq!(early.sent, 0, "not before its backoff");
    env.clock.advance(chrono::Duration::minutes(1));
    let released = notify::send::release_due(app, &senders, env.tenant(), env.clock.now()).await.unwrap();
    assert_eq!(released.sent, 1);
    let again = notify::send::release_due(app, &senders, env.tenant(), env.clock.now()).await.unwrap();
    assert_eq!(again.sent, 0, "a second release finds nothing due");
    let m = messages(&env, &admin, &format!("customer_id={c}")).await;
    assert_eq!((m[0]["status"].as_str(), m[0]["attempts"].as_i64()), (Some("accepted"), Some(2)));
    assert_eq!(fake.messages().len(), 1);
}

#[tokio::test]
async fn quiet_hours_hold_a_notice_until_morning_in_the_isps_time_zone() {
    let env = Env::start().await;
    // 02:00 in Dhaka (UTC+6).
    env.clock.set("2026-06-15T20:00:00Z".parse().unwrap());
    let admin = env.admin().await;
    let fake = FakeSms::start(SmsProvider::SslWireless, &[("api_token", "ssl-token-demo")]).await;
    sms_channel(&env, &admin, &fake).await;
    let (c, _) = billed_customer(&env, &admin, "Night Owl", "01719-300031", Some("en")).await;
    let m = wait_messages(&env, &admin, &c, |m| m.len() == 1).await;
    assert_eq!(m[0]["status"], "scheduled");
    // The default quiet hours end at 09:00 Dhaka time.
    assert_eq!(m[0]["send_at"], "2026-06-16T03:00:00Z");
    let senders = notify::send::Senders { http: messaging::sms::SmsHttp::new().unwrap() };
    let early = notify::send::release_due(&env.local.app, &senders, env.tenant(), env.clock.now()).await.unwrap();
    assert_eq!(early.sent, 0);
    env.clock.set("2026-06-16T03:00:00Z".parse().unwrap());
    let released = notify::send::release_due(&env.local.app, &senders, env.tenant(), env.clock.now()).await.unwrap();
    assert_eq!(released.sent, 1);
    assert_eq!(fake.messages().len(), 1);
    let admin = env.admin().await;
    let m = messages(&env, &admin, &format!("customer_id={c}")).await;
    assert_eq!(m[0]["status"], "accepted");
}

#[tokio::test]
async fn templates_are_checked_previewed_and_used() {
    let env = Env::start().await;
    let admin = env.admin().await;
    // An unknown placeholder is refused, nothing saved.
    let bad = env
        .send(
            "PUT",
            "/v1/messaging/templates/invoice_issued/en",
            Some(&admin),
            Some(json!({"text": "Hi {customer_name}, pay {amont}", "version": 0})),
        )
        .await;
    assert_eq!(bad.status, 422, "{:#}", bad.body);
    assert!(bad.body.to_string().contains("{amont}"), "{:#}", bad.body);
    let list = env.send("GET", "/v1/messaging/templates", Some(&admin), None).await.expect(200);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 13 * 3);
    assert!(items.iter().all(|t| t["custom"] == false));

    let saved = env
        .send(
            "PUT",
            "/v1/messaging/templates/invoice_issued/en",
            Some(&admin),
            Some(json!({"text": "{isp_name}: {customer_name}, bill {invoice_number} {amount} by {due_date}.", "version": 0})),
        )
        .await
        .expect(200);
    assert_eq!((saved["custom"].as_bool(), saved["version"].as_i64()), (Some(true), Some(1)));
    let stale = env
        .send(
            "PUT",
            "/v1/messaging/templates/invoice_issued/en",
            Some(&admin),
            Some(json!({"text": "x", "version": 0})),
        )
        .await;
    assert_eq!(stale.status, 409);

    let c = env.create_customer(&admin, "রহিম উদ্দিন", "01719-300041", "msg-preview").await;
    let preview = env
        .send(
            "POST",
            "/v1/messaging/templates/invoice_issued/en/preview",
            Some(&admin),
            Some(json!({"customer_id": c["id"]})),
        )
        .await
        .expect(200);
    let text = preview["text"].as_str().unwrap();
    assert!(text.contains("রহিম উদ্দিন") && text.contains("INV-2026-000123"), "{text}");
    // A Bangla name makes even an English text UCS-2.
    assert_eq!((preview["encoding"].as_str(), preview["parts"].as_i64()), (Some("ucs2"), Some(2)), "{preview:#}");
    let short = env
        .send(
            "POST",
            "/v1/messaging/templates/payment_received/en/preview",
            Some(&admin),
            Some(json!({"customer_id": c["id"], "text": "Got {amount}, thanks."})),
        )
        .await
        .expect(200);
    assert_eq!((short["encoding"].as_str(), short["parts"].as_i64()), (Some("gsm7"), Some(1)), "{short:#}");
    assert_eq!(short["text"], "Got BDT 1,000.00, thanks.");

    let reset = env.send("DELETE", "/v1/messaging/templates/invoice_issued/en", Some(&admin), None).await.expect(200);
    assert_eq!(reset["custom"], false);
    let unknown = env.send("DELETE", "/v1/messaging/templates/invoice_issued/fr", Some(&admin), None).await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn settings_and_channels_refuse_bad_input_and_change_nothing() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let before = env.table_snapshot().await;
    for body in [
        json!({"kind": "sms", "mode": "sandbox", "name": "No provider", "credentials": {}}),
        json!({"kind": "sms", "provider": "twilio", "mode": "live", "name": "T", "sender_id": "+15005550006",
            "base_url": "http://127.0.0.1:9", "credentials": {"account_sid": "AC1", "auth_token": "t"}}),
        json!({"kind": "sms", "provider": "ssl_wireless", "mode": "sandbox", "name": "No sender",
            "credentials": {"api_token": "t"}}),
        json!({"kind": "sms", "provider": "zenziva", "mode": "sandbox", "name": "Missing passkey",
            "credentials": {"userkey": "u"}}),
        json!({"kind": "telegram", "mode": "sandbox", "name": "Bot", "base_url": "http://169.254.169.254",
            "credentials": {"bot_token": "1:x"}}),
        json!({"kind": "sms", "provider": "bulksmsbd", "mode": "sandbox", "name": "Platform only",
            "sender_id": "X", "countries": ["BD"], "credentials": {"api_key": "k"}}),
    ] {
        let a = env.send("POST", "/v1/messaging/channels", Some(&admin), Some(body.clone())).await;
        assert_eq!(a.status, 422, "{body}: {:#}", a.body);
    }
    let settings = env.send("GET", "/v1/messaging/settings", Some(&admin), None).await.expect(200);
    assert_eq!((settings["version"].as_i64(), settings["default_language"].as_str()), (Some(0), Some("bn")));
    for body in [
        json!({"default_language": "bn", "quiet_hours": null, "sends_per_minute": 0, "sms_channel_id": null,
            "pay_url": null, "rules": [], "version": 0}),
        json!({"default_language": "bn", "quiet_hours": null, "sends_per_minute": 60,
            "sms_channel_id": uuid::Uuid::now_v7(), "pay_url": null, "rules": [], "version": 0}),
        json!({"default_language": "bn", "quiet_hours": null, "sends_per_minute": 60, "sms_channel_id": null,
            "pay_url": null, "rules": [{"notice": "router_offline", "to": "customer"}], "version": 0}),
        json!({"default_language": "bn", "quiet_hours": null, "sends_per_minute": 60, "sms_channel_id": null,
            "pay_url": null, "rules": [{"notice": "router_offline", "to": "telegram",
                "channel_id": uuid::Uuid::now_v7(), "chat_id": "-100123"}], "version": 0}),
    ] {
        let a = env.send("PUT", "/v1/messaging/settings", Some(&admin), Some(body.clone())).await;
        assert_eq!(a.status, 422, "{body}: {:#}", a.body);
    }
    let after = env.table_snapshot().await;
    e2e_tests::assert_unchanged(&before, &after);
}
