//! Messaging end to end through the local runner against the fake SMS provider: what the bus says
//! becomes one SMS per event, recipient and medium, in the customer's language, kept in the
//! message log; a redelivered event sends nothing new; provider faults end in the right state;
//! quiet hours hold a reminder until the morning.

use e2e_tests::Env;
use messaging::sms::SmsProvider;
use messaging::testing::{FakeEndpoint, FakeSms, FakeTelegram, Fault};
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

    // The seed's own invoices may still reach the worker once the account exists (a loaded
    // machine): what these tests count is what went to their customers.
    let sent: Vec<_> = fake.messages().into_iter().filter(|m| m.to.contains("17193000")).collect();
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
    let senders = notify::send::Senders::new(&env.local.app).unwrap();
    let again = notify::send::BusNotice {
        name: domain::event::EventName::Billing(domain::event::BillingEvent::InvoiceIssued),
        event_id,
        at,
        tenant_id: env.tenant(),
        detail: &detail,
    };
    notify::send::on_event(app, &senders, &again).await.unwrap();
    assert_eq!(sent_to(&fake, "1719300011") + sent_to(&fake, "1719300012"), 2, "a redelivered event sends nothing");
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
    assert_eq!(sent_to(&fake, "1719300023"), 0, "nothing was taken yet");
    let senders = notify::send::Senders::new(&env.local.app).unwrap();
    let app = &env.local.app;
    let early = notify::send::release_due(app, &senders, env.tenant(), env.clock.now()).await.unwrap();
    assert_eq!(early.sent, 0, "not before its backoff");
    env.clock.advance(chrono::Duration::minutes(1));
    let released = notify::send::release_due(app, &senders, env.tenant(), env.clock.now()).await.unwrap();
    assert!(released.sent >= 1);
    let again = notify::send::release_due(app, &senders, env.tenant(), env.clock.now()).await.unwrap();
    assert_eq!(again.sent, 0, "a second release finds nothing due");
    let m = messages(&env, &admin, &format!("customer_id={c}")).await;
    assert_eq!((m[0]["status"].as_str(), m[0]["attempts"].as_i64()), (Some("accepted"), Some(2)));
    assert_eq!(sent_to(&fake, "1719300023"), 1);
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
    let senders = notify::send::Senders::new(&env.local.app).unwrap();
    let early = notify::send::release_due(&env.local.app, &senders, env.tenant(), env.clock.now()).await.unwrap();
    assert_eq!(early.sent, 0);
    env.clock.set("2026-06-16T03:00:00Z".parse().unwrap());
    let released = notify::send::release_due(&env.local.app, &senders, env.tenant(), env.clock.now()).await.unwrap();
    assert!(released.sent >= 1);
    assert_eq!(sent_to(&fake, "1719300031"), 1);
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
    assert_eq!(items.len(), messaging::notices::Notice::ALL.len() * 3, "every notice in every language");
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

/// The ISP's alerts, newest first (`query`: e.g. `unread=true`).
async fn alerts(env: &Env, admin: &str, query: &str) -> Vec<Value> {
    env.send("GET", &format!("/v1/alerts?{query}"), Some(admin), None).await.expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_router_going_down_and_back_is_an_alert_told_in_the_staff_telegram_chat() {
    let env = Env::start_with_router().await;
    let admin = env.admin().await;
    let router = env.router.as_ref().unwrap();
    let tg = FakeTelegram::start("777:noc-bot").await;
    let bot = env
        .send(
            "POST",
            "/v1/messaging/channels",
            Some(&admin),
            Some(json!({"kind": "telegram", "mode": "sandbox", "name": "NOC bot", "base_url": tg.base_url(),
                "credentials": {"bot_token": "777:noc-bot"}})),
        )
        .await
        .expect(201);
    let bot = bot["id"].as_str().unwrap();
    let rules = json!([
        {"notice": "router_offline", "to": "telegram", "channel_id": bot, "chat_id": "-100777"},
        {"notice": "router_online", "to": "telegram", "channel_id": bot, "chat_id": "-100777"},
    ]);
    env.send(
        "PUT",
        "/v1/messaging/settings",
        Some(&admin),
        Some(json!({"default_language": "en", "quiet_hours": {"start": "21:00", "end": "09:00"},
            "sends_per_minute": 60, "sms_channel_id": null, "pay_url": null, "rules": rules, "version": 0})),
    )
    .await
    .expect(200);
    let rid = env.demo_router(&admin).await;
    env.send("POST", &format!("/v1/routers/{rid}/test"), Some(&admin), None).await.expect(200);
    assert!(alerts(&env, &admin, "").await.is_empty(), "an answering router raises nothing");

    // Two failed checks: offline, one alert, one Telegram message (urgent: quiet hours or not).
    router.go_offline();
    for _ in 0..3 {
        env.send("POST", &format!("/v1/routers/{rid}/test"), Some(&admin), None).await;
    }
    let down = alerts(&env, &admin, "unread=true").await;
    assert_eq!(down.len(), 1, "once per episode, not once per check: {down:#?}");
    assert_eq!(
        (down[0]["kind"].as_str(), down[0]["severity"].as_str(), down[0]["title"].as_str()),
        (Some("router_offline"), Some("critical"), Some("Router Demo Router is offline"))
    );
    assert_eq!(down[0]["router_id"], rid.as_str());
    assert!(env.eventually(|| tg.messages().len() == 1).await, "told in the chat: {:?}", tg.messages());
    let told = &tg.messages()[0];
    assert_eq!(told.chat_id, "-100777");
    assert!(told.text.contains("Demo Router") && told.text.contains("OFFLINE"), "{}", told.text);

    // Back: a second alert, good news, also told.
    router.come_back().await.unwrap();
    env.send("POST", &format!("/v1/routers/{rid}/test"), Some(&admin), None).await.expect(200);
    let all = alerts(&env, &admin, "").await;
    assert_eq!(all.len(), 2);
    assert_eq!((all[0]["kind"].as_str(), all[0]["severity"].as_str()), (Some("router_back"), Some("info")));
    assert!(env.eventually(|| tg.messages().len() == 2).await);
    let log = messages(&env, &admin, "status=accepted").await;
    assert_eq!(log.iter().filter(|m| m["medium"] == "telegram").count(), 2, "{log:#?}");

    // Read: out of the unread list, by whom; reading twice changes nothing; unread again.
    let id = down[0]["id"].as_str().unwrap();
    let read = env.send("POST", &format!("/v1/alerts/{id}/read"), Some(&admin), None).await.expect(200);
    assert!(read["read_at"].is_string() && read["read_by"].is_string());
    let again = env.send("POST", &format!("/v1/alerts/{id}/read"), Some(&admin), None).await.expect(200);
    assert_eq!(again["version"], read["version"]);
    let unread = alerts(&env, &admin, "unread=true").await;
    assert_eq!(unread.iter().map(|a| a["kind"].as_str().unwrap()).collect::<Vec<_>>(), ["router_back"]);
    assert_eq!(alerts(&env, &admin, "kind=router_offline").await.len(), 1);
    env.send("POST", &format!("/v1/alerts/{id}/unread"), Some(&admin), None).await.expect(200);
    assert_eq!(alerts(&env, &admin, "unread=true").await.len(), 2);

    // Bad input: a clear 4xx, nothing changed.
    let before = env.table_snapshot().await;
    for (method, path, status) in [
        ("GET", "/v1/alerts?unread=maybe".to_string(), 400),
        ("GET", "/v1/alerts?kind=router_down".to_string(), 400),
        ("GET", "/v1/alerts?colour=red".to_string(), 422),
        ("GET", format!("/v1/alerts/{}", uuid::Uuid::now_v7()), 404),
        ("POST", format!("/v1/alerts/{}/read", uuid::Uuid::now_v7()), 404),
        ("POST", "/v1/alerts/not-an-id/read".to_string(), 404),
    ] {
        let a = env.send(method, &path, Some(&admin), None).await;
        assert_eq!(a.status, status, "{path}: {:#}", a.body);
    }
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
}

#[tokio::test]
async fn the_release_job_sends_what_quiet_hours_held() {
    let env = Env::start().await;
    // 23:00 in Dhaka.
    env.clock.set("2026-06-15T17:00:00Z".parse().unwrap());
    let admin = env.admin().await;
    let fake = FakeSms::start(SmsProvider::SslWireless, &[("api_token", "ssl-token-demo")]).await;
    sms_channel(&env, &admin, &fake).await;
    let (c, _) = billed_customer(&env, &admin, "Late Payer", "01719-300041", Some("bn")).await;
    let m = wait_messages(&env, &admin, &c, |m| m.len() == 1).await;
    assert_eq!((m[0]["status"].as_str(), m[0]["send_at"].as_str()), (Some("scheduled"), Some("2026-06-16T03:00:00Z")));
    let release = |time: &'static str| {
        env.clock.set(time.parse().unwrap());
        env.send("POST", "/_local/jobs/job-message-release", None, Some(json!({"time": time})))
    };
    // The job before the morning sends nothing (and visits no ISP: none has a message due in
    // its window); the one after it does, once.
    let r = release("2026-06-16T02:55:00Z").await.expect(200);
    assert_eq!(r["tenants"], 0, "nothing due before 03:00: {r}");
    assert!(r["skipped_nothing_due"].as_u64() >= Some(1), "{r}");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(fake.messages().iter().all(|s| !s.to.ends_with("1719300041")), "held until 09:00 Dhaka time");
    let r = release("2026-06-16T03:00:00Z").await.expect(200);
    assert_eq!(r["tenants"], 1, "the held message's ISP is visited: {r}");
    let admin = env.admin().await;
    let m = wait_messages(&env, &admin, &c, |m| m[0]["status"] == "accepted").await;
    assert_eq!(m[0]["sent_at"], "2026-06-16T03:00:00Z");
    release("2026-06-16T03:05:00Z").await.expect(200);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    // Only this customer's: the seed's own invoices may still be on their way to the worker when
    // the SMS account appears (a loaded machine), and are released with the rest.
    let mine: Vec<_> = fake.messages().into_iter().filter(|s| s.to.ends_with("1719300041")).collect();
    assert_eq!(mine.len(), 1, "sent once though released twice");
    assert!(mine[0].text.contains("Late Payer"));
    // An hour on, nothing is due: no ISP is visited, until the day's first run visits them all.
    let r = release("2026-06-16T04:05:00Z").await.expect(200);
    assert_eq!(r["tenants"], 0, "{r}");
    let r = release("2026-06-17T00:00:00Z").await.expect(200);
    assert!(r["tenants"].as_u64() >= Some(1) && r["skipped_nothing_due"] == 0, "{r}");
}

/// Sets the ISP's messaging settings to send through `channel`, no quiet hours.
async fn send_through(env: &Env, admin: &str, channel: &str) {
    let now = env.send("GET", "/v1/messaging/settings", Some(admin), None).await.expect(200);
    let mut body = now.clone();
    body["sms_channel_id"] = json!(channel);
    body["quiet_hours"] = Value::Null;
    let body = json!({"default_language": body["default_language"], "quiet_hours": null,
        "sends_per_minute": body["sends_per_minute"], "sms_channel_id": channel, "pay_url": null,
        "rules": body["rules"], "version": now["version"]});
    env.send("PUT", "/v1/messaging/settings", Some(admin), Some(body)).await.expect(200);
}

#[tokio::test]
async fn delivery_reports_move_a_message_forward_once_and_forged_ones_are_refused() {
    let env = Env::start().await;
    let admin = env.admin().await;

    // Twilio: the status callback goes with each message and comes back signed.
    let twilio =
        FakeSms::start(SmsProvider::Twilio, &[("account_sid", "AC0123"), ("auth_token", "twilio-token")]).await;
    let channel = env
        .send(
            "POST",
            "/v1/messaging/channels",
            Some(&admin),
            Some(json!({"kind": "sms", "provider": "twilio", "mode": "sandbox", "name": "Twilio",
                "base_url": twilio.base_url(), "sender_id": "+15005550006",
                "credentials": {"account_sid": "AC0123", "auth_token": "twilio-token"}})),
        )
        .await
        .expect(201);
    assert!(channel["delivery_report_url"].is_null(), "Twilio's callback is per message");
    send_through(&env, &admin, channel["id"].as_str().unwrap()).await;
    let (c, _) = billed_customer(&env, &admin, "Report Twilio", "01719-300051", Some("en")).await;
    wait_messages(&env, &admin, &c, |m| m.len() == 1 && m[0]["status"] == "accepted").await;
    let sms = twilio.messages()[0].clone();
    let callback = sms.status_callback.clone().expect("a status callback with the message");
    assert!(callback.contains("/v1/webhooks/sms/twilio/"), "{callback}");
    assert_eq!(twilio.report(&sms.id, true).await, 200);
    let m = wait_messages(&env, &admin, &c, |m| m[0]["status"] == "delivered").await;
    assert_eq!(m[0]["delivery_report"], "delivered");
    assert!(m[0]["delivered_at"].is_string());
    // Late and out of order: an "undelivered" after "delivered" changes nothing.
    assert_eq!(twilio.report(&sms.id, false).await, 200);
    let m = messages(&env, &admin, &format!("customer_id={c}")).await;
    assert_eq!((m[0]["status"].as_str(), m[0]["version"].as_i64()), (Some("delivered"), Some(3)), "{m:#?}");

    // Forged: no or a wrong signature is a 401, an unknown account a 404; nothing changes.
    let before = env.table_snapshot().await;
    let path = callback.split_once("/v1/").map(|(_, p)| format!("/v1/{p}")).unwrap();
    let form = format!("MessageSid={}&MessageStatus=undelivered&ErrorCode=30003", sms.id);
    for (target, signature, status) in [
        (path.clone(), None, 401),
        (path.clone(), Some("c2lnbmVkIGJ5IG5vYm9keQ=="), 401),
        (path.replace(channel["id"].as_str().unwrap(), &uuid::Uuid::now_v7().to_string()), None, 404),
        (path.replace("/twilio/", "/bulksmsbd/"), None, 404),
    ] {
        let headers: Vec<(&str, &str)> = signature.map(|s| ("x-twilio-signature", s)).into_iter().collect();
        let a = env
            .send_raw_with(
                "POST",
                &target,
                None,
                "application/x-www-form-urlencoded",
                form.clone().into_bytes(),
                &headers,
            )
            .await;
        assert_eq!(a.status, status, "{target}: {:#}", a.body);
    }
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);

    // Africa's Talking: its dashboard holds one URL, with a secret; a failure report is final.
    let at = FakeSms::start(SmsProvider::AfricasTalking, &[("username", "sandbox"), ("api_key", "at-key")]).await;
    let channel = env
        .send(
            "POST",
            "/v1/messaging/channels",
            Some(&admin),
            Some(json!({"kind": "sms", "provider": "africas_talking", "mode": "sandbox", "name": "AT",
                "base_url": at.base_url(), "credentials": {"username": "sandbox", "api_key": "at-key"}})),
        )
        .await
        .expect(201);
    let id = channel["id"].as_str().unwrap();
    let url = channel["delivery_report_url"].as_str().expect("the URL for the dashboard").to_string();
    let shown = env.send("GET", &format!("/v1/messaging/channels/{id}"), Some(&admin), None).await.expect(200);
    assert_eq!(shown["delivery_report_url"], url.as_str());
    at.report_to(&url);
    send_through(&env, &admin, id).await;
    let (c, _) = billed_customer(&env, &admin, "Report Africa", "01719-300052", Some("en")).await;
    wait_messages(&env, &admin, &c, |m| m.len() == 1 && m[0]["status"] == "accepted").await;
    let sms = at.messages()[0].clone();
    assert_eq!(at.report(&sms.id, false).await, 200);
    let m = wait_messages(&env, &admin, &c, |m| m[0]["status"] == "failed").await;
    assert_eq!(
        (m[0]["error_code"].as_str(), m[0]["delivery_report"].as_str()),
        (Some("undelivered"), Some("Failed AbsentSubscriber"))
    );
    let wrong = format!("{}/wrong-secret", url.rsplit_once('/').unwrap().0);
    let path = wrong.split_once("/v1/").map(|(_, p)| format!("/v1/{p}")).unwrap();
    let form = format!("id={}&status=Success", sms.id);
    let a = env.send_raw("POST", &path, None, "application/x-www-form-urlencoded", form.into_bytes()).await;
    assert_eq!(a.status, 401, "{:#}", a.body);
}

#[tokio::test]
async fn webhook_endpoints_hear_signed_events_are_retried_disabled_after_a_day_and_replayed() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let hook = FakeEndpoint::start("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").await;

    // Bad input: a clear 422, nothing written.
    let before = env.table_snapshot().await;
    for body in [
        json!({"url": "http://169.254.169.254/latest", "events": ["InvoiceIssued"]}),
        json!({"url": "not a url", "events": ["InvoiceIssued"]}),
        json!({"url": hook.url(), "events": []}),
        json!({"url": hook.url(), "events": ["PasswordResetRequested"]}),
        json!({"url": hook.url(), "events": ["InvoiceIssued", "InvoiceIssued"]}),
        json!({"url": hook.url(), "events": ["InvoiceIssued"], "secret": "mine"}),
    ] {
        let a = env.send("POST", "/v1/webhook-endpoints", Some(&admin), Some(body.clone())).await;
        assert!(matches!(a.status, 400 | 422), "{body}: {:#}", a.body);
    }
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);

    let made = env
        .send(
            "POST",
            "/v1/webhook-endpoints",
            Some(&admin),
            Some(json!({"url": hook.url(), "description": "ERP", "events": ["InvoiceIssued", "PaymentReceived"]})),
        )
        .await
        .expect(201);
    let id = made["id"].as_str().unwrap().to_string();
    let secret = made["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"), "{made:#}");
    let shown = env.send("GET", &format!("/v1/webhook-endpoints/{id}"), Some(&admin), None).await.expect(200);
    assert!(shown.get("secret").is_none() && !shown.to_string().contains(secret), "shown once: {shown:#}");
    hook.set_secret(secret);

    // A signed ping on demand.
    let ping = env.send("POST", &format!("/v1/webhook-endpoints/{id}/test"), Some(&admin), None).await.expect(200);
    assert_eq!(ping["status"], 204, "{ping:#}");
    assert!(hook.received()[0].verified && hook.received()[0].body.contains("\"ping\""));

    // An invoice: one signed delivery of the event, logged as delivered.
    let (_, invoice) = billed_customer(&env, &admin, "Hook One", "01719-300061", Some("en")).await;
    assert!(env.eventually(|| hook.received().len() == 2).await, "{:?}", hook.received());
    let got = hook.received()[1].clone();
    assert!(got.verified);
    let body: Value = serde_json::from_str(&got.body).unwrap();
    assert_eq!(
        (body["type"].as_str(), body["data"]["invoice_id"].as_str()),
        (Some("InvoiceIssued"), invoice["id"].as_str())
    );
    let first = deliveries(&env, &admin, &id).await;
    assert_eq!(first.len(), 1);
    assert_eq!((first[0]["status"].as_str(), first[0]["id"].as_str()), (Some("delivered"), Some(got.id.as_str())));

    // The endpoint fails: retried on the schedule, disabled once it has failed for a day.
    hook.fail_with(Some(500));
    billed_customer(&env, &admin, "Hook Two", "01719-300062", Some("en")).await;
    let failing = loop {
        let l = deliveries(&env, &admin, &id).await;
        if let Some(m) = l.iter().find(|m| m["status"] == "scheduled") {
            break m.clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!((failing["attempts"].as_i64(), failing["error_code"].as_str()), (Some(1), Some("http_500")));
    let senders = notify::send::Senders::new(&env.local.app).unwrap();
    let app = &env.local.app;
    for wait in [5, 300, 1800, 7200, 18_000, 36_000, 36_000] {
        let early = notify::send::release_due(app, &senders, env.tenant(), env.clock.now()).await.unwrap();
        assert_eq!(early.sent, 0, "not before its time");
        env.clock.advance(chrono::Duration::seconds(wait));
        let due = notify::send::release_due(app, &senders, env.tenant(), env.clock.now()).await.unwrap();
        assert!(due.sent >= 1, "retried after {wait} s");
    }
    let tries: Vec<_> = hook.received().into_iter().filter(|d| d.id == failing["id"].as_str().unwrap()).collect();
    assert_eq!(tries.len(), 8, "the first try and seven retries, one webhook-id");
    let admin = env.admin().await;
    let ep = env.send("GET", &format!("/v1/webhook-endpoints/{id}"), Some(&admin), None).await.expect(200);
    assert_eq!(
        (ep["status"].as_str(), ep["disabled_reason"].as_str()),
        (Some("disabled"), Some("every delivery failed for a day"))
    );
    let l = deliveries(&env, &admin, &id).await;
    let failed = l.iter().find(|m| m["id"] == failing["id"]).unwrap();
    assert_eq!((failed["status"].as_str(), failed["attempts"].as_i64()), (Some("failed"), Some(8)));

    // Disabled: a replay is refused, and nothing new is made for it.
    let replay = format!("/v1/webhook-endpoints/{id}/deliveries/{}/replay", failing["id"].as_str().unwrap());
    let a = env.send("POST", &replay, Some(&admin), None).await;
    assert_eq!((a.status, a.code()), (409, "endpoint_disabled"), "{:#}", a.body);
    billed_customer(&env, &admin, "Hook Three", "01719-300063", Some("en")).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(deliveries(&env, &admin, &id).await.len(), 2);

    // Enabled again and mended: the missed delivery replayed, with its own webhook-id.
    hook.fail_with(None);
    let ep = env
        .send(
            "PATCH",
            &format!("/v1/webhook-endpoints/{id}"),
            Some(&admin),
            Some(json!({"status": "active", "version": ep["version"]})),
        )
        .await
        .expect(200);
    assert!(ep["failing_since"].is_null() && ep["disabled_reason"].is_null());
    env.send("POST", &replay, Some(&admin), None).await.expect(200);
    let released = notify::send::release_due(app, &senders, env.tenant(), env.clock.now()).await.unwrap();
    assert!(released.sent >= 1);
    let last = hook.received().last().unwrap().clone();
    assert_eq!((last.id.as_str(), last.status), (failing["id"].as_str().unwrap(), 204));
    let l = deliveries(&env, &admin, &id).await;
    assert_eq!(l.iter().find(|m| m["id"] == failing["id"]).unwrap()["status"], "delivered");
    let again = env
        .send(
            "POST",
            &format!("/v1/webhook-endpoints/{id}/deliveries/{}/replay", uuid::Uuid::now_v7()),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(again.status, 404);

    // A rotated secret signs what follows; a deleted endpoint is gone.
    let rotated =
        env.send("POST", &format!("/v1/webhook-endpoints/{id}/rotate-secret"), Some(&admin), None).await.expect(200);
    assert_ne!(rotated["secret"].as_str(), Some(secret));
    hook.set_secret(rotated["secret"].as_str().unwrap());
    let ping = env.send("POST", &format!("/v1/webhook-endpoints/{id}/test"), Some(&admin), None).await.expect(200);
    assert_eq!(ping["status"], 204);
    env.send("DELETE", &format!("/v1/webhook-endpoints/{id}"), Some(&admin), None).await.expect(204);
    let gone = env.send("GET", &format!("/v1/webhook-endpoints/{id}"), Some(&admin), None).await;
    assert_eq!(gone.status, 404);
}

/// An endpoint's deliveries, newest first.
async fn deliveries(env: &Env, admin: &str, id: &str) -> Vec<Value> {
    env.send("GET", &format!("/v1/webhook-endpoints/{id}/deliveries"), Some(admin), None).await.expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_customers_month_by_sms_reminder_in_the_morning_payment_suspension_and_restore() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let fake = FakeSms::start(SmsProvider::SslWireless, &[("api_token", "ssl-token-demo")]).await;
    sms_channel(&env, &admin, &fake).await;
    let (c, invoice) = billed_customer(&env, &admin, "Month Long", "01719-300071", Some("en")).await;
    wait_messages(&env, &admin, &c, |m| m.len() == 1 && m[0]["status"] == "accepted").await;

    // The daily dunning at 00:35 UTC after the "3 days before" moment: 06:35 in Dhaka, inside the
    // quiet hours.
    let due: chrono::DateTime<chrono::Utc> = invoice["due_date"].as_str().unwrap().parse().unwrap();
    let run = (due - chrono::Duration::days(2)).date_naive().and_hms_opt(0, 35, 0).unwrap().and_utc();
    env.clock.set(run);
    env.send("POST", "/_local/jobs/job-dunning", None, Some(json!({"time": run}))).await.expect(200);
    let admin = env.admin().await;
    let m = wait_messages(&env, &admin, &c, |m| m.len() == 2).await;
    let reminder = m.iter().find(|m| m["notice"] == "payment_reminder").expect("a reminder").clone();
    assert_eq!(reminder["status"], "scheduled", "{reminder:#}");
    let morning = run.date_naive().and_hms_opt(3, 0, 0).unwrap().and_utc();
    assert_eq!(reminder["send_at"], json!(morning), "09:00 in Dhaka");
    assert!(reminder["text"].as_str().unwrap().contains("3"), "days left: {}", reminder["text"]);
    env.clock.set(morning);
    env.send("POST", "/_local/jobs/job-message-release", None, Some(json!({"time": morning}))).await.expect(200);
    let admin = env.admin().await;
    wait_messages(&env, &admin, &c, |m| m.iter().all(|m| m["status"] == "accepted")).await;

    // Paid: a receipt by SMS with what is left.
    let paid = env
        .send_with(
            "POST",
            "/v1/payments",
            Some(&admin),
            Some(json!({"customer_id": c, "amount": invoice["amount_due"], "method": "cash"})),
            &[("idempotency-key", "month-pay")],
        )
        .await
        .expect(201);
    let m = wait_messages(&env, &admin, &c, |m| m.len() == 3 && m.iter().all(|m| m["status"] == "accepted")).await;
    let receipt = m.iter().find(|m| m["notice"] == "payment_received").unwrap();
    assert!(
        receipt["text"].as_str().unwrap().contains(paid["receipt_number"].as_str().unwrap()),
        "{}",
        receipt["text"]
    );

    // Suspended by staff, then restored: one SMS each.
    let sub = invoice["subscription_id"].as_str().unwrap().to_string();
    env.send("POST", &format!("/v1/subscriptions/{sub}/suspend"), Some(&admin), Some(json!({"reason": "abuse"})))
        .await
        .expect(200);
    env.send("POST", &format!("/v1/subscriptions/{sub}/restore"), Some(&admin), None).await.expect(200);
    let m = wait_messages(&env, &admin, &c, |m| m.len() == 5 && m.iter().all(|m| m["status"] == "accepted")).await;
    let notices: std::collections::BTreeSet<&str> = m.iter().map(|m| m["notice"].as_str().unwrap()).collect();
    assert_eq!(
        notices,
        ["invoice_issued", "payment_received", "payment_reminder", "subscription_restored", "subscription_suspended"]
            .into_iter()
            .collect()
    );
    let to_customer = fake.messages().into_iter().filter(|s| s.to.ends_with("1719300071")).count();
    assert_eq!(to_customer, 5, "each once");

    // Each on the customer's timeline.
    let timeline =
        env.send("GET", &format!("/v1/customers/{c}/timeline?limit=100"), Some(&admin), None).await.expect(200);
    let sms: Vec<&Value> = timeline["items"].as_array().unwrap().iter().filter(|e| e["kind"] == "sms").collect();
    assert_eq!(sms.len(), 5, "{timeline:#}");
    assert!(sms.iter().any(|e| e["summary"].as_str().unwrap().starts_with("SMS payment received to +8801719300071")));
}

#[tokio::test]
async fn a_timeout_is_tried_once_more_and_throttling_backs_off_nothing_sent_twice() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let fake = FakeSms::start(SmsProvider::SslWireless, &[("api_token", "ssl-token-demo")]).await;
    sms_channel(&env, &admin, &fake).await;
    let senders = notify::send::Senders::new(&env.local.app).unwrap();
    let app = &env.local.app;

    // Throttled: retried after its backoff, then sent.
    fake.fail_next(Fault::Throttle);
    let (a, _) = billed_customer(&env, &admin, "Throttled One", "01719-300081", Some("en")).await;
    let m = wait_messages(&env, &admin, &a, |m| m.len() == 1 && m[0]["status"] == "scheduled").await;
    assert_eq!((m[0]["error_code"].as_str(), m[0]["attempts"].as_i64()), (Some("retryable"), Some(1)), "{m:#?}");
    env.clock.advance(chrono::Duration::minutes(2));
    notify::send::release_due(app, &senders, env.tenant(), env.clock.now()).await.unwrap();
    let admin = env.admin().await;
    let m = messages(&env, &admin, &format!("customer_id={a}")).await;
    assert_eq!((m[0]["status"].as_str(), m[0]["attempts"].as_i64()), (Some("accepted"), Some(2)));

    // The provider takes the SMS but answers after the deadline: unknown, tried once more (the
    // provider's `csms_id` is the message's, so SSL Wireless can refuse the copy), then settled.
    fake.fail_next(Fault::Slow(std::time::Duration::from_secs(12)));
    let (b, _) = billed_customer(&env, &admin, "Slow Provider", "01719-300082", Some("en")).await;
    let m = wait_messages(&env, &admin, &b, |m| m.len() == 1 && m[0]["status"] != "sending").await;
    assert_eq!((m[0]["status"].as_str(), m[0]["unknown_attempts"].as_i64()), (Some("scheduled"), Some(1)), "{m:#?}");
    fake.fail_next(Fault::Slow(std::time::Duration::from_secs(12)));
    env.clock.advance(chrono::Duration::minutes(2));
    notify::send::release_due(app, &senders, env.tenant(), env.clock.now()).await.unwrap();
    let admin = env.admin().await;
    let m = messages(&env, &admin, &format!("customer_id={b}")).await;
    assert_eq!(
        (m[0]["status"].as_str(), m[0]["unknown_attempts"].as_i64(), m[0]["attempts"].as_i64()),
        (Some("unknown"), Some(2), Some(2)),
        "recorded as unknown after one more try: {m:#?}"
    );
    env.clock.advance(chrono::Duration::hours(1));
    let again = notify::send::release_due(app, &senders, env.tenant(), env.clock.now()).await.unwrap();
    assert_eq!(again.sent, 0, "never a third try");
    let to_b = fake.messages().iter().filter(|s| s.to.ends_with("1719300082")).count();
    assert_eq!(to_b, 2, "the provider saw the first send and the one retry only");
}

#[tokio::test]
async fn staff_send_one_customer_an_sms_or_a_filtered_set_once_each_as_a_job() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let fake = FakeSms::start(SmsProvider::SslWireless, &[("api_token", "ssl-token-demo")]).await;

    // Before there is an SMS account: a 422, nothing written.
    let (one, _) = billed_customer(&env, &admin, "Manual One", "01719-300091", Some("en")).await;
    let before = env.table_snapshot().await;
    let body = json!({"customer_id": one, "text": "Hello {customer_name}"});
    let a = env.send("POST", "/v1/messages", Some(&admin), Some(body.clone())).await;
    assert_eq!(a.status, 422, "{:#}", a.body);
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
    sms_channel(&env, &admin, &fake).await;

    // Bad input: a clear 4xx, nothing written.
    let before = env.table_snapshot().await;
    for (body, status) in [
        (json!({"customer_id": one, "text": "Pay {amount} now"}), 422),
        (json!({"customer_id": one, "text": ""}), 422),
        (json!({"customer_id": one, "text": "x".repeat(481)}), 422),
        (json!({"customer_id": uuid::Uuid::now_v7(), "text": "Hello"}), 404),
        (json!({"customer_id": one, "text": "Hello", "to": "+8801700000000"}), 422),
    ] {
        let a = env.send("POST", "/v1/messages", Some(&admin), Some(body.clone())).await;
        assert!(a.status == status || (status == 422 && a.status == 400), "{body}: {:#}", a.body);
    }
    for (body, status) in [
        (json!({"action": {"type": "sms", "text": "Hi {nobody}"}}), 422),
        (json!({"action": {"type": "sms"}}), 422),
        (json!({"filter": {"pop_id": uuid::Uuid::now_v7()}, "action": {"type": "sms", "text": "Hi"}}), 422),
    ] {
        let a = env
            .send_with(
                "POST",
                "/v1/subscriptions/bulk",
                Some(&admin),
                Some(body.clone()),
                &[("idempotency-key", "bad-bulk")],
            )
            .await;
        assert!(a.status == status || a.status == 400, "{body}: {:#}", a.body);
    }
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);

    // One customer, within seconds; a repeated request (same key) sends nothing more.
    let key = [("idempotency-key", "manual-1")];
    let sent = env.send_with("POST", "/v1/messages", Some(&admin), Some(body.clone()), &key).await.expect(201);
    assert_eq!((sent["status"].as_str(), sent["text"].as_str()), (Some("scheduled"), Some("Hello Manual One")));
    let again = env.send_with("POST", "/v1/messages", Some(&admin), Some(body), &key).await.expect(201);
    assert_eq!(again["id"], sent["id"]);
    let m = wait_messages(&env, &admin, &one, |m| m.iter().any(|m| m["id"] == sent["id"] && m["status"] == "accepted"))
        .await;
    assert_eq!(m.iter().filter(|m| m["notice"].is_null()).count(), 1);
    assert_eq!(fake.messages().iter().filter(|s| s.text == "Hello Manual One").count(), 1);

    // Everyone on the demo router's active subscriptions, once per customer, as a job.
    let (two, _) = billed_customer(&env, &admin, "Manual Two", "01719-300092", Some("en")).await;
    let router = env.demo_router(&admin).await;
    let bulk = json!({"filter": {"router_id": router, "status": "active"},
        "action": {"type": "sms", "text": "{isp_name}: maintenance tonight, {customer_name} ({package})."}});
    let key = [("idempotency-key", "bulk-sms-1")];
    let job = env.send_with("POST", "/v1/subscriptions/bulk", Some(&admin), Some(bulk.clone()), &key).await.expect(202);
    let total = job["total_rows"].as_u64().unwrap();
    assert!(total >= 2, "{job:#}");
    let jid = job["id"].as_str().unwrap().to_string();
    let done = env.wait_job(&admin, &format!("/v1/subscriptions/bulk/{jid}")).await;
    assert_eq!((done["imported"].as_u64(), done["failed"].as_u64()), (Some(total), Some(0)), "{done:#}");
    let again = env.send_with("POST", "/v1/subscriptions/bulk", Some(&admin), Some(bulk), &key).await.expect(202);
    assert_eq!(again["id"].as_str(), Some(jid.as_str()));
    for (c, name) in [(&one, "Manual One"), (&two, "Manual Two")] {
        let m = wait_messages(&env, &admin, c, |m| {
            m.iter().any(|m| m["text"].as_str().unwrap_or("").contains("maintenance") && m["status"] == "accepted")
        })
        .await;
        let text = m.iter().find(|m| m["text"].as_str().unwrap().contains("maintenance")).unwrap()["text"].clone();
        assert_eq!(text, format!("Demo ISP: maintenance tonight, {name} (Home {name})."));
    }
    // A chunk delivered again makes nothing new. (Every message of the job sent and recorded
    // first: the demo router's other subscribers' too, whose records settle on their own.)
    let sent_all = || fake.messages().iter().filter(|s| s.text.contains("maintenance")).count() as u64 == total;
    assert!(env.eventually(sent_all).await, "every subscriber on the router was sent the message");
    let snapshot = env.settled_snapshot().await;
    let redo = jobs::worker::process_chunk(&env.local.app, env.tenant(), jid.parse().unwrap(), 0).await.unwrap();
    assert_eq!((redo.imported, redo.failed), (0, 0));
    e2e_tests::assert_unchanged(&snapshot, &env.table_snapshot().await);
    let maintenance = fake.messages().iter().filter(|s| s.text.contains("maintenance")).count();
    assert_eq!(maintenance as u64, total, "once per customer");
}

#[tokio::test]
async fn an_invoice_goes_by_email_with_its_pdf_through_ses() {
    let env = Env::start().await;
    let admin = env.admin().await;
    env.send(
        "PUT",
        "/v1/messaging/settings",
        Some(&admin),
        Some(json!({"default_language": "en", "quiet_hours": null, "sends_per_minute": 60, "sms_channel_id": null,
            "pay_url": "https://pay.demo-isp.example", "version": 0,
            "rules": [{"notice": "invoice_issued", "to": "customer_email"}]})),
    )
    .await
    .expect(200);
    let c = env.create_customer(&admin, "Mail Reader", "01719-300101", "mail-reader").await;
    let cid = c["id"].as_str().unwrap().to_string();
    let address = format!("mail.reader.{}@example.com", uuid::Uuid::now_v7().simple());
    env.send("PATCH", &format!("/v1/customers/{cid}"), Some(&admin), Some(json!({"email": address, "version": 1})))
        .await
        .expect(200);
    let pkg = env.create_package(&admin, "Home Mail", "10M", 120_000).await["id"].as_str().unwrap().to_string();
    let router = env.demo_router(&admin).await;
    let sub = env.create_subscription(&admin, &cid, &pkg, &router, "ppp-mail-reader").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.send("POST", &format!("/v1/subscriptions/{sub}/activate"), Some(&admin), None).await.expect(200);
    let number = env.send("GET", &format!("/v1/invoices?customer_id={cid}"), Some(&admin), None).await.expect(200)
        ["items"][0]["number"]
        .as_str()
        .unwrap()
        .to_string();
    let m = wait_messages(&env, &admin, &cid, |m| m.len() == 1 && m[0]["status"] != "sending").await;
    assert_eq!((m[0]["medium"].as_str(), m[0]["status"].as_str()), (Some("email"), Some("accepted")), "{m:#?}");
    assert!(m[0]["provider_message_id"].is_string());

    // What SES (moto) took: a MIME message to the customer with the invoice's PDF.
    let moto = std::env::var("AWS_ENDPOINT_URL").expect("moto's address");
    let data: Value = reqwest::get(format!("{moto}/moto-api/data.json")).await.unwrap().json().await.unwrap();
    let sent = data["ses"]["RawMessage"].as_array().expect("raw messages");
    let mail = sent
        .iter()
        .find(|r| r["destinations"].as_array().is_some_and(|d| d.iter().any(|a| a == address.as_str())))
        .expect("the e-mail reached SES");
    let raw = mail["raw_data"].as_str().unwrap();
    assert_eq!(mail["source"], "billing@demo-isp.example");
    assert!(raw.contains(&format!("Subject: Demo ISP: Invoice {number}")), "{raw}");
    assert!(raw.contains(&format!("filename=\"{number}.pdf\"")));
    let pdf_part = raw.split(&format!("filename=\"{number}.pdf\"")).nth(1).unwrap();
    assert!(pdf_part.contains("JVBERi"), "the attachment is a PDF (%PDF in base64)");
}

#[tokio::test]
async fn a_router_refusing_a_subscriber_is_one_alert_told_to_the_admins_by_sms() {
    let env = Env::start_with_router().await;
    let admin = env.admin().await;
    let router = env.router.as_ref().unwrap();
    let fake = FakeSms::start(SmsProvider::SslWireless, &[("api_token", "ssl-token-demo")]).await;
    let channel = sms_channel(&env, &admin, &fake).await;
    // The admin's phone, where alerts for the admins go.
    let me = env.send("GET", "/v1/me", Some(&admin), None).await.expect(200)["user"].clone();
    let uid = me["id"].as_str().unwrap();
    env.send(
        "PATCH",
        &format!("/v1/users/{uid}"),
        Some(&admin),
        Some(json!({"phone": "+8801719300111", "version": me["version"],
            "current_password": e2e_tests::demo_credentials().admin_password})),
    )
    .await
    .expect(200);
    env.send(
        "PUT",
        "/v1/messaging/settings",
        Some(&admin),
        Some(json!({"default_language": "en", "quiet_hours": null, "sends_per_minute": 60, "sms_channel_id": channel,
            "pay_url": null, "version": 0, "rules": [{"notice": "provisioning_failed", "to": "admins"}]})),
    )
    .await
    .expect(200);

    // The router refuses every new secret.
    router.update_faults(|f| {
        f.refuse = Some(("/ppp/secret/add".into(), "failure: remote address pool exhausted".into()))
    });
    let c = env.create_customer(&admin, "Refused Rafiq", "01719-300112", "refused-rafiq").await;
    let cid = c["id"].as_str().unwrap();
    let pkg = env.create_package(&admin, "Home Refused", "10M", 120_000).await["id"].as_str().unwrap().to_string();
    let rid = env.demo_router(&admin).await;
    let sub =
        env.create_subscription(&admin, cid, &pkg, &rid, "refused-rafiq").await["id"].as_str().unwrap().to_string();
    env.send("POST", &format!("/v1/subscriptions/{sub}/activate"), Some(&admin), None).await.expect(200);
    let mut alerts_now = vec![];
    for _ in 0..200 {
        alerts_now = alerts(&env, &admin, "kind=provisioning_failed").await;
        if !alerts_now.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(alerts_now.len(), 1, "raised: {alerts_now:#?}");
    let a = &alerts_now[0];
    assert_eq!((a["severity"].as_str(), a["username"].as_str()), (Some("warning"), Some("refused-rafiq")));
    assert_eq!(a["title"], "Demo Router refused the change of refused-rafiq");
    assert!(a["detail"].as_str().unwrap().contains("pool exhausted"), "{a:#}");
    assert!(
        env.eventually(|| fake
            .messages()
            .iter()
            .any(|s| s.to.ends_with("1719300111") && s.text.contains("refused-rafiq")))
            .await,
        "the admins are told: {:?}",
        fake.messages()
    );

    // Tried again, still refused: the same episode, no second alert.
    env.send("POST", &format!("/v1/subscriptions/{sub}/reprovision"), Some(&admin), None).await.expect(202);
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(alerts(&env, &admin, "kind=provisioning_failed").await.len(), 1);

    // Mended: the subscriber converges, nothing more is raised.
    router.update_faults(|f| f.refuse = None);
    env.send("POST", &format!("/v1/subscriptions/{sub}/reprovision"), Some(&admin), None).await.expect(202);
    assert!(env.eventually(|| router.find(routeros::menu::PPP_SECRET, "refused-rafiq").is_some()).await);
    assert_eq!(alerts(&env, &admin, "kind=provisioning_failed").await.len(), 1);
}

#[tokio::test]
async fn a_gateway_account_the_gateway_refuses_is_one_alert_a_day() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let stripe = gateways::testing::FakeStripe::start("sk_test_real", "whsec_isp").await;
    // The account holds a key Stripe does not know (rolled in Stripe's dashboard, say).
    let account = env
        .send(
            "POST",
            "/v1/payment-gateways",
            Some(&admin),
            Some(json!({"gateway": "stripe", "mode": "sandbox", "name": "Main Stripe", "base_url": stripe.base_url(),
                "success_url": "https://isp.example/paid", "cancel_url": "https://isp.example/cancelled",
                "credentials": {"secret_key": "sk_test_rolled", "webhook_secret": "whsec_isp"}})),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, invoice) = billed_customer(&env, &admin, "Online Payer", "01719-300121", Some("en")).await;
    for key in ["co-a", "co-b"] {
        let a = env
            .send_with(
                "POST",
                "/v1/checkouts",
                Some(&admin),
                Some(json!({"invoice_id": invoice["id"], "gateway_account_id": account})),
                &[("idempotency-key", key)],
            )
            .await;
        assert_eq!((a.status, a.code()), (502, "gateway_refused"), "{:#}", a.body);
    }
    let raised = alerts(&env, &admin, "kind=gateway_failing").await;
    assert_eq!(raised.len(), 1, "one a day, not one per payer: {raised:#?}");
    assert_eq!(
        (raised[0]["severity"].as_str(), raised[0]["title"].as_str(), raised[0]["account_id"].as_str()),
        (Some("critical"), Some("Payment gateway stripe (Main Stripe) is failing"), Some(account.as_str()))
    );
    // The next day it is raised again if it still fails.
    env.clock.advance(chrono::Duration::days(1));
    let admin = env.admin().await;
    env.send_with(
        "POST",
        "/v1/checkouts",
        Some(&admin),
        Some(json!({"invoice_id": invoice["id"], "gateway_account_id": account})),
        &[("idempotency-key", "co-c")],
    )
    .await;
    assert_eq!(alerts(&env, &admin, "kind=gateway_failing").await.len(), 2);
}

#[tokio::test]
async fn a_message_given_up_after_its_retries_is_one_alert_for_its_isp() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let event_id = uuid::Uuid::now_v7();
    let body = json!({"version": "0", "id": "e-1", "detail-type": "InvoiceIssued", "source": "isp.billing",
        "time": "2026-06-15T06:00:00Z", "detail": {"event_id": event_id, "tenant_id": env.tenant()}});
    let record = |receives: &str| {
        json!({"messageId": "m-dead-1", "receiptHandle": "h", "body": body.to_string(), "md5OfBody": "",
            "attributes": {"ApproximateReceiveCount": receives}, "messageAttributes": {},
            "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:q", "awsRegion": "us-east-1"})
    };
    let failed = events::BatchResponse {
        batch_item_failures: vec![serde_json::from_value(json!({"itemIdentifier": "m-dead-1"})).unwrap()],
    };
    // Failed on an earlier receive: SQS will deliver it again, nothing to say yet.
    let early: aws_lambda_events::event::sqs::SqsEvent =
        serde_json::from_value(json!({"Records": [record("4")]})).unwrap();
    assert!(failed.last_failures(&early, 5).is_empty());
    // Failed on the last: it goes to the dead-letter queue, and the ISP's staff hear of it once.
    let last: aws_lambda_events::event::sqs::SqsEvent =
        serde_json::from_value(json!({"Records": [record("5")]})).unwrap();
    let letters = failed.last_failures(&last, 5);
    assert_eq!(letters.len(), 1);
    for _ in 0..2 {
        kernel::alerts::raise_dead_letters(&env.local.app, "worker-notifications", &letters).await;
    }
    let raised = alerts(&env, &admin, "kind=dead_letter").await;
    assert_eq!(raised.len(), 1, "{raised:#?}");
    assert_eq!(raised[0]["severity"], "warning");
    let detail = raised[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("InvoiceIssued")
            && detail.contains(&event_id.to_string())
            && detail.contains("worker-notifications")
    );
    // Another ISP sees none of it.
    let (_, other) = env.other_tenant("dead-letter-other").await;
    assert!(alerts(&env, &other, "").await.is_empty());
}

#[tokio::test]
async fn the_notifications_worker_raises_the_alert_when_it_gives_a_message_up() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let channel = messaging::RecordingChannel::default();
    let worker = worker_notifications::Worker {
        app: env.local.app.clone(),
        channel: channel.clone(),
        senders: notify::send::Senders::new(&env.local.app).unwrap(),
    };
    let uid = uuid::Uuid::now_v7();
    let body = json!({"version": "0", "id": "e-2", "detail-type": "ContactDetailsChanged", "source": "isp.identity",
        "time": "2026-06-15T06:00:00Z", "detail": {"event_id": uuid::Uuid::now_v7(), "tenant_id": env.tenant(),
            "user_id": uid, "name": "Someone", "old_email": "old@example.com", "email_changed": true,
            "phone_changed": false, "changed_by": uid}});
    let event = |id: &str, receives: u32| -> aws_lambda_events::event::sqs::SqsEvent {
        serde_json::from_value(json!({"Records": [{"messageId": id, "receiptHandle": "h", "body": body.to_string(),
            "md5OfBody": "", "attributes": {"ApproximateReceiveCount": receives.to_string()}, "messageAttributes": {},
            "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:q", "awsRegion": "us-east-1"}]}))
        .unwrap()
    };
    // The e-mail provider is down: an early receive fails quietly, the last one raises the alert.
    *channel.fail_next.lock().unwrap() = 2;
    let early = worker_notifications::handle(&worker, event("m-early", 1)).await;
    assert_eq!(early.batch_item_failures.len(), 1);
    assert!(alerts(&env, &admin, "kind=dead_letter").await.is_empty());
    let last = worker_notifications::handle(&worker, event("m-last", worker_notifications::DLQ_AFTER_RECEIVES)).await;
    assert_eq!(last.batch_item_failures.len(), 1);
    let raised = alerts(&env, &admin, "kind=dead_letter").await;
    assert_eq!(raised.len(), 1, "{raised:#?}");
    assert!(raised[0]["detail"].as_str().unwrap().contains("ContactDetailsChanged"));
}

/// How many SMS the fake took for the number ending in `digits`.
fn sent_to(fake: &FakeSms, digits: &str) -> usize {
    fake.messages().iter().filter(|m| m.to.ends_with(digits)).count()
}
