//! Gateway notifications end to end: each gateway's fake signs and posts exactly as the gateway
//! does to `POST /v1/webhooks/<gateway>/{account_id}`; what verifies settles once however often
//! and concurrently it arrives (a suspended subscriber is back on the router), and what does not
//! verify (forged, tampered, stale, another account's) is a 4xx that writes nothing.

use crate::checkouts::{
    account, billed_customer, billed_customer_at, browser, checkout, location, paypal_account, stripe_account,
};
use e2e_tests::Env;
use gateways::testing::{
    FAKE_MERCHANT_KEY_PEM, FAKE_RSA_KEY_PEM, FakeAamarpay, FakeBkash, FakeMidtrans, FakeNagad, FakeSslcommerz,
    FakeStripe, public_key_base64,
};
use routeros::menu::PPP_SECRET;
use serde_json::{Value, json};
use std::time::Duration;

fn webhook(env: &Env, gateway: &str, account_id: &str) -> String {
    format!("{}/v1/webhooks/{gateway}/{account_id}", env.local.base_url)
}

async fn post(url: &str, headers: &[(&str, String)], content_type: &str, body: &str) -> (u16, Value) {
    let mut req = reqwest::Client::new().post(url).header("content-type", content_type).body(body.to_string());
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The table once background work (the provisioning worker) has stopped changing it.
async fn quiet_table(env: &Env) -> std::collections::BTreeMap<String, String> {
    let mut last = env.table_snapshot().await;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = env.table_snapshot().await;
        if now == last {
            return now;
        }
        last = now;
    }
    panic!("the table kept changing");
}

async fn payments_of(env: &Env, token: &str, customer: &str) -> Vec<Value> {
    let list = env.send("GET", &format!("/v1/payments?customer_id={customer}"), Some(token), None).await.expect(200);
    list["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn fifty_concurrent_stripe_deliveries_pay_once_and_the_suspended_subscriber_is_back_on_the_router() {
    let env = Env::start_with_router().await;
    let admin = env.admin().await;
    let (stripe, account_id) = stripe_account(&env, &admin).await;
    let router = env.demo_router(&admin).await;
    let package = env.create_package(&admin, "Fiber 25", "25M", 120_000).await["id"].as_str().unwrap().to_string();
    let customer =
        env.create_customer(&admin, "Shirin Akter", "01719-400001", "shirin").await["id"].as_str().unwrap().to_string();
    let sub = env.create_subscription(&admin, &customer, &package, &router, "shirin-ppp").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.send("POST", &format!("/v1/subscriptions/{sub}/activate"), Some(&admin), None).await.expect(200);
    env.send("POST", &format!("/v1/subscriptions/{sub}/suspend"), Some(&admin), Some(json!({"reason": "unpaid"})))
        .await
        .expect(200);
    let r = env.router.as_ref().unwrap();
    let disabled = |want: &str| {
        r.find(PPP_SECRET, "shirin-ppp").is_some_and(|s| s.get("disabled").map(String::as_str) == Some(want))
    };
    assert!(env.eventually(|| disabled("true")).await, "suspended on the router");
    let invoices =
        env.send("GET", &format!("/v1/invoices?customer_id={customer}"), Some(&admin), None).await.expect(200);
    let invoice = invoices["items"][0].clone();
    let inv_id = invoice["id"].as_str().unwrap();
    let created = checkout(&env, &admin, "wh-1", json!({"invoice_id": inv_id, "gateway_account_id": account_id}))
        .await
        .expect(201);
    let url = webhook(&env, "stripe", &account_id);
    let now = env.clock.now().timestamp();

    // Before it is paid: forged, tampered, stale and wrong-secret deliveries write nothing.
    let event = stripe.pay(created["reference"].as_str().unwrap());
    let tampered = event.replace(&format!("\"amount_total\":{}", invoice["amount_due"]), "\"amount_total\":1");
    assert_ne!(tampered, event, "the amount was in the event");
    // The provisioning worker records the suspension after the router shows it: let it settle.
    let before = quiet_table(&env).await;
    let wrong_secret = format!("t={now},v1={}", gateways::stripe::signature("whsec_other", now, event.as_bytes()));
    for (headers, body, status, code) in [
        (vec![], event.clone(), 401, "webhook_bad_signature"),
        (vec![("stripe-signature", wrong_secret)], event.clone(), 401, "webhook_bad_signature"),
        (
            vec![("stripe-signature", stripe.signature_header(&event, now))],
            tampered.clone(),
            401,
            "webhook_bad_signature",
        ),
        (vec![("stripe-signature", stripe.signature_header(&event, now - 301))], event.clone(), 400, "webhook_stale"),
        (vec![("stripe-signature", stripe.signature_header("{", now))], "{".to_string(), 400, "webhook_malformed"),
    ] {
        let (got, problem) = post(&url, &headers, "application/json", &body).await;
        assert_eq!((got, problem["code"].as_str()), (status, Some(code)), "{problem}");
    }
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
    // A genuine event at another ISP's account (its own secret): not that account's order.
    let (_, other) = env.other_tenant("other-isp").await;
    let other_stripe = FakeStripe::start("sk_test_other", "whsec_other").await;
    let other_account = account(
        &env,
        &other,
        json!({"gateway": "stripe", "base_url": other_stripe.base_url(),
            "credentials": {"secret_key": "sk_test_other", "webhook_secret": "whsec_other"}}),
    )
    .await;
    let before_other = quiet_table(&env).await;
    let signed_by_other = format!("t={now},v1={}", gateways::stripe::signature("whsec_other", now, event.as_bytes()));
    let (got, ack) = post(
        &webhook(&env, "stripe", &other_account),
        &[("stripe-signature", signed_by_other)],
        "application/json",
        &event,
    )
    .await;
    assert_eq!((got, ack["outcome"].as_str()), (200, Some("not_ours")), "{ack}");
    e2e_tests::assert_unchanged(&before_other, &env.table_snapshot().await);
    // Unknown and other gateways' account ids.
    let before = quiet_table(&env).await;
    for path in [format!("stripe/{}", uuid::Uuid::now_v7()), format!("midtrans/{account_id}"), "stripe/nope".into()] {
        let (got, _) =
            post(&format!("{}/v1/webhooks/{path}", env.local.base_url), &[], "application/json", &event).await;
        assert_eq!(got, 404, "{path}");
    }
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);

    // The real event, fifty times at once (Stripe retries; a proxy may double): paid once.
    let deliveries: Vec<_> = (0..50).map(|_| stripe.deliver(&url, &event, now)).collect();
    let answers = futures::future::join_all(deliveries).await;
    assert!(answers.iter().all(|s| *s == 200), "{answers:?}");
    let payments = payments_of(&env, &admin, &customer).await;
    assert_eq!(payments.len(), 1, "{payments:#?}");
    assert_eq!(payments[0]["amount"], invoice["amount_due"]);
    assert_eq!(payments[0]["gateway"]["gateway"], "stripe");
    let paid = env.send("GET", &format!("/v1/invoices/{inv_id}"), Some(&admin), None).await.expect(200);
    assert_eq!(paid["status"], "paid");
    let s = env.send("GET", &format!("/v1/subscriptions/{sub}"), Some(&admin), None).await.expect(200);
    assert_eq!((s["status"].as_str(), s["status_reason"].as_str()), (Some("active"), None));
    assert!(env.eventually(|| disabled("false")).await, "restored on the router");
    let id = created["id"].as_str().unwrap();
    let co = env.send("GET", &format!("/v1/checkouts/{id}"), Some(&admin), None).await.expect(200);
    assert_eq!(co["state"], "paid");
    assert!(
        co["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["kind"] == "settled" && h["detail"].as_str().unwrap().starts_with("notification")),
        "{co:#}"
    );
    assert_eq!(env.books_balance(&admin, &customer).await["balance"].as_i64(), Some(0));

    // A day later Stripe retries once more, and the payer's late return comes: nothing changes.
    let settled = quiet_table(&env).await;
    let (got, ack) =
        post(&url, &[("stripe-signature", stripe.signature_header(&event, now))], "application/json", &event).await;
    assert_eq!((got, ack["outcome"].as_str()), (200, Some("unchanged")), "{ack}");
    let page = browser().get(created["redirect_url"].as_str().unwrap()).send().await.unwrap();
    let back = browser().get(location(&page)).send().await.unwrap();
    assert!(location(&back).ends_with("&state=paid"));
    e2e_tests::assert_unchanged(&settled, &env.table_snapshot().await);
}

#[tokio::test]
async fn midtrans_notifications_late_twice_and_out_of_order_settle_once_and_never_unpay() {
    let env = Env::start().await;
    let (_, admin) = env.other_tenant("nusantara-net").await;
    let midtrans = FakeMidtrans::start("SB-Mid-server-isp").await;
    let account_id = account(
        &env,
        &admin,
        json!({"gateway": "midtrans", "base_url": midtrans.base_url(), "credentials": {"server_key": "SB-Mid-server-isp"}}),
    )
    .await;
    let (customer, _) = billed_customer_at(&env, &admin, 5, "0812-3456-7805").await;
    let created = checkout(
        &env,
        &admin,
        "mt-1",
        json!({"customer_id": customer, "amount": 15_000_000, "gateway_account_id": account_id}),
    )
    .await
    .expect(201);
    let order = created["order_id"].as_str().unwrap();
    let expected_url = webhook(&env, "midtrans", &account_id);
    assert_eq!(midtrans.order(order).unwrap().notify_url.as_deref(), Some(expected_url.as_str()));

    // QRIS shown, not paid yet: a pending notification settles nothing.
    let pending = midtrans.set_status(order, "pending", "qris");
    assert_eq!(midtrans.deliver(order, &pending, None).await, 200);
    assert!(payments_of(&env, &admin, &customer).await.is_empty());
    // A tampered settlement (signature of the pending one) is refused.
    let settlement = midtrans.set_status(order, "settlement", "qris");
    let mut forged: Value = serde_json::from_str(&settlement).unwrap();
    forged["signature_key"] = serde_json::from_str::<Value>(&pending).unwrap()["signature_key"].clone();
    forged["gross_amount"] = json!("999999999.00");
    let before = env.table_snapshot().await;
    let (status, problem) = post(&expected_url, &[], "application/json", &forged.to_string()).await;
    assert_eq!((status, problem["code"].as_str()), (401, Some("webhook_bad_signature")), "{problem}");
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);

    // Paid: the settlement twice, then the late pending one (out of order).
    assert_eq!(midtrans.deliver(order, &settlement, None).await, 200);
    assert_eq!(midtrans.deliver(order, &settlement, None).await, 200);
    assert_eq!(midtrans.deliver(order, &pending, None).await, 200);
    let payments = payments_of(&env, &admin, &customer).await;
    assert_eq!(payments.len(), 1, "{payments:#?}");
    assert_eq!(payments[0]["amount"].as_i64(), Some(15_000_000));
    let id = created["id"].as_str().unwrap();
    assert_eq!(env.send("GET", &format!("/v1/checkouts/{id}"), Some(&admin), None).await.expect(200)["state"], "paid");
}

#[tokio::test]
async fn an_sslcommerz_ipn_is_validated_before_it_pays_and_a_tampered_one_is_refused() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let ssl = FakeSslcommerz::start("demoisp01", "demoisp01@ssl").await;
    let account_id = account(
        &env,
        &admin,
        json!({"gateway": "sslcommerz", "base_url": ssl.base_url(),
            "credentials": {"store_id": "demoisp01", "store_password": "demoisp01@ssl"}}),
    )
    .await;
    let (customer, inv) = billed_customer(&env, &admin, 6).await;
    let created = checkout(&env, &admin, "ssl-1", json!({"invoice_id": inv["id"], "gateway_account_id": account_id}))
        .await
        .expect(201);
    let order = created["order_id"].as_str().unwrap();
    let url = webhook(&env, "sslcommerz", &account_id);
    assert_eq!(ssl.order(order).unwrap().ipn_url.as_deref(), Some(url.as_str()));
    let ipn = ssl.pay(order);
    let tampered = ipn.replacen("amount=", "amount=1", 1);
    let before = env.table_snapshot().await;
    let (status, problem) = post(&url, &[], "application/x-www-form-urlencoded", &tampered).await;
    assert_eq!((status, problem["code"].as_str()), (401, Some("webhook_bad_signature")), "{problem}");
    let (status, _) = post(&url, &[], "application/x-www-form-urlencoded", "tran_id=x").await;
    assert!([400, 401].contains(&status), "{status}");
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
    let deliveries: Vec<_> = (0..10).map(|_| ssl.deliver(order, &ipn, None)).collect();
    assert!(futures::future::join_all(deliveries).await.iter().all(|s| *s == 200));
    let payments = payments_of(&env, &admin, &customer).await;
    assert_eq!(payments.len(), 1, "{payments:#?}");
    assert_eq!(payments[0]["amount"], inv["amount_due"]);
    let invoice =
        env.send("GET", &format!("/v1/invoices/{}", inv["id"].as_str().unwrap()), Some(&admin), None).await.expect(200);
    assert_eq!(invoice["status"], "paid");
}

#[tokio::test]
async fn bkash_sns_notifications_are_verified_with_the_pinned_topic_and_apply_once_beside_the_return() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let bkash = FakeBkash::start("app-isp", "secret-isp", "merchant-isp", "pw-isp").await;
    let creds =
        json!({"app_key": "app-isp", "app_secret": "secret-isp", "username": "merchant-isp", "password": "pw-isp"});
    let mut with_topic = creds.clone();
    with_topic["webhook_topic_arn"] = json!(bkash.topic_arn());
    let account_id =
        account(&env, &admin, json!({"gateway": "bkash", "base_url": bkash.base_url(), "credentials": with_topic}))
            .await;
    let url = webhook(&env, "bkash", &account_id);

    // The topic's subscription is confirmed first (its SubscribeURL fetched).
    assert_eq!(bkash.deliver_sns(&url, &bkash.sns_subscription()).await, 200);
    assert!(bkash.subscription_confirmed());

    let (customer, inv) = billed_customer(&env, &admin, 7).await;
    let created = checkout(&env, &admin, "bk-1", json!({"invoice_id": inv["id"], "gateway_account_id": account_id}))
        .await
        .expect(201);
    // The payer pays and comes back: executed and settled by the return.
    let page = browser().get(created["redirect_url"].as_str().unwrap()).send().await.unwrap();
    let back = browser().get(location(&page)).send().await.unwrap();
    assert!(location(&back).ends_with("&state=paid"), "{}", location(&back));
    // bKash's notification of the same payment, twice: acknowledged, nothing more paid.
    let note = bkash.sns_payment(created["reference"].as_str().unwrap());
    let before = env.table_snapshot().await;
    assert_eq!(bkash.deliver_sns(&url, &note).await, 200);
    assert_eq!(bkash.deliver_sns(&url, &note).await, 200);
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
    assert_eq!(payments_of(&env, &admin, &customer).await.len(), 1);

    // Tampered, another topic, a certificate off the gateway's hosts: refused, nothing written.
    let mut tampered: Value = serde_json::from_str(&note).unwrap();
    tampered["Message"] = json!(tampered["Message"].as_str().unwrap().replace("\"amount\":\"", "\"amount\":\"9"));
    assert_ne!(tampered.to_string(), note, "the amount was in the message");
    let mut other_topic: Value = serde_json::from_str(&note).unwrap();
    other_topic["TopicArn"] = json!("arn:aws:sns:ap-southeast-1:000000000000:someone-else");
    let mut off_host: Value = serde_json::from_str(&note).unwrap();
    off_host["SigningCertURL"] = json!("https://attacker.example/cert.pem");
    for body in [tampered, other_topic, off_host] {
        let (status, problem) = post(&url, &[], "text/plain; charset=UTF-8", &body.to_string()).await;
        assert!([400, 401].contains(&status), "{status} {problem}");
    }
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);

    // An account without a topic takes no notifications.
    let bare =
        account(&env, &admin, json!({"gateway": "bkash", "base_url": bkash.base_url(), "credentials": creds})).await;
    let (status, problem) = post(&webhook(&env, "bkash", &bare), &[], "text/plain", &note).await;
    assert_eq!((status, problem["code"].as_str()), (400, Some("webhook_not_configured")), "{problem}");
}

#[tokio::test]
async fn paypal_events_are_verified_with_the_transmission_signature_and_a_capture_pays_once() {
    let env = Env::start().await;
    let (_, admin) = env.tenant_in("dollar-net", "USD", "BD", "Asia/Dhaka").await;
    let (paypal, account_id) = paypal_account(&env, &admin).await;
    let (customer, inv) = billed_customer(&env, &admin, 8).await;
    let created = checkout(&env, &admin, "pp-1", json!({"invoice_id": inv["id"], "gateway_account_id": account_id}))
        .await
        .expect(201);
    let order = created["reference"].as_str().unwrap().to_string();
    let page = browser().get(created["redirect_url"].as_str().unwrap()).send().await.unwrap();
    let back_url = location(&page);
    // The return captures; PayPal's capture event arrives at the same moment, and again later.
    let back = browser().get(&back_url).send().await.unwrap();
    assert!(location(&back).ends_with("&state=paid"), "{}", location(&back));
    let (headers, body) = paypal.capture_event(&order, "2026-11-21T03:43:10Z");
    let url = webhook(&env, "paypal", &account_id);
    let deliveries: Vec<_> = (0..10).map(|_| paypal.deliver(&url, &headers, &body)).collect();
    assert!(futures::future::join_all(deliveries).await.iter().all(|s| *s == 200));
    let payments = payments_of(&env, &admin, &customer).await;
    assert_eq!(payments.len(), 1, "{payments:#?}");
    assert_eq!(payments[0]["amount"], inv["amount_due"]);

    // Tampered body, a certificate off PayPal's hosts, no signature.
    let before = env.table_snapshot().await;
    let tampered = body.replace("\"COMPLETED\"", "\"REFUNDED\"");
    assert_ne!(tampered, body);
    let mut off_host = headers.clone();
    off_host.iter_mut().find(|(k, _)| *k == "paypal-cert-url").unwrap().1 = "https://attacker.example/cert.pem".into();
    for (h, b) in [(headers.clone(), tampered), (off_host, body.clone()), (vec![], body.clone())] {
        let hs: Vec<(&str, String)> = h.iter().map(|(k, v)| (*k, v.clone())).collect();
        let (status, problem) = post(&url, &hs, "application/json", &b).await;
        assert!([400, 401].contains(&status), "{status} {problem}");
    }
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
}

#[tokio::test]
async fn paypal_refuses_a_currency_it_does_not_take() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let (_paypal, account_id) = paypal_account(&env, &admin).await;
    let (_, inv) = billed_customer(&env, &admin, 9).await;
    let before = env.table_snapshot().await;
    let refused =
        checkout(&env, &admin, "pp-bdt", json!({"invoice_id": inv["id"], "gateway_account_id": account_id})).await;
    assert!([422, 502].contains(&refused.status), "{}", refused.body);
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
}

#[tokio::test]
async fn unsigned_aamarpay_and_nagad_callbacks_pay_only_what_the_gateway_confirms() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let aamarpay = FakeAamarpay::start("aamarpaytest", "sig-isp").await;
    let aamarpay_account = account(
        &env,
        &admin,
        json!({"gateway": "aamarpay", "base_url": aamarpay.base_url(),
            "credentials": {"store_id": "aamarpaytest", "signature_key": "sig-isp"}}),
    )
    .await;
    let (customer, inv) = billed_customer_at(&env, &admin, 10, "01719-300010").await;
    let created =
        checkout(&env, &admin, "am-1", json!({"invoice_id": inv["id"], "gateway_account_id": aamarpay_account}))
            .await
            .expect(201);
    let order = created["order_id"].as_str().unwrap();
    let url = webhook(&env, "aamarpay", &aamarpay_account);
    // A callback claiming success before anything was paid: aamarPay says not paid, nothing is.
    let claim = format!("pay_status=Successful&status_code=2&mer_txnid={order}&amount=999999.00&currency=BDT");
    let before = env.table_snapshot().await;
    let (status, ack) = post(&url, &[], "application/x-www-form-urlencoded", &claim).await;
    assert_eq!(status, 200, "{ack}");
    assert_ne!(ack["outcome"], "paid");
    assert!(payments_of(&env, &admin, &customer).await.is_empty());
    // Another order, and no order at all.
    let (status, ack) =
        post(&url, &[], "application/x-www-form-urlencoded", "mer_txnid=C0000000000000000000000000").await;
    assert_eq!((status, ack["outcome"].as_str()), (200, Some("not_ours")));
    let (status, _) = post(&url, &[], "application/x-www-form-urlencoded", "pay_status=Successful").await;
    assert_eq!(status, 400);
    let pending_only: Vec<_> =
        env.table_snapshot().await.into_iter().filter(|(k, v)| before.get(k) != Some(v)).collect();
    assert!(pending_only.iter().all(|(k, _)| k.contains("CHECKOUT")), "only the checkout's history: {pending_only:?}");
    // Paid at aamarPay: the same callback now settles, once.
    aamarpay.pay(order);
    for _ in 0..3 {
        assert_eq!(post(&url, &[], "application/x-www-form-urlencoded", &claim).await.0, 200);
    }
    let payments = payments_of(&env, &admin, &customer).await;
    assert_eq!(payments.len(), 1, "{payments:#?}");
    assert_eq!(payments[0]["amount"], inv["amount_due"], "aamarPay's amount, not the callback's");

    // Nagad: the reference must be the one Nagad gave for the order.
    let nagad = FakeNagad::start("683002007104225", &public_key_base64(FAKE_MERCHANT_KEY_PEM)).await;
    let nagad_account = account(
        &env,
        &admin,
        json!({"gateway": "nagad", "base_url": nagad.base_url(), "credentials": {"merchant_id": "683002007104225",
            "merchant_private_key": FAKE_MERCHANT_KEY_PEM, "pg_public_key": public_key_base64(FAKE_RSA_KEY_PEM)}}),
    )
    .await;
    let advance = checkout(
        &env,
        &admin,
        "ng-1",
        json!({"customer_id": customer, "amount": 30_000, "gateway_account_id": nagad_account}),
    )
    .await
    .expect(201);
    let (order, reference) = (advance["order_id"].as_str().unwrap(), advance["reference"].as_str().unwrap());
    let url = webhook(&env, "nagad", &nagad_account);
    let hint = |r: &str| format!("merchant=683002007104225&order_id={order}&payment_ref_id={r}&status=Success");
    let (status, ack) = post(&url, &[], "application/x-www-form-urlencoded", &hint("SOMEONEELSE123")).await;
    assert_eq!((status, ack["outcome"].as_str()), (200, Some("not_ours")));
    nagad.pay(reference);
    let (status, ack) = post(&url, &[], "application/x-www-form-urlencoded", &hint(reference)).await;
    assert_eq!((status, ack["outcome"].as_str()), (200, Some("paid")), "{ack}");
    let (status, ack) = post(&url, &[], "application/x-www-form-urlencoded", &hint(reference)).await;
    assert_eq!((status, ack["outcome"].as_str()), (200, Some("unchanged")), "{ack}");
    assert_eq!(payments_of(&env, &admin, &customer).await.len(), 2);
}

#[tokio::test]
async fn garbage_at_every_webhook_is_a_4xx_that_writes_nothing() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let nagad_creds = json!({"merchant_id": "683002007104225", "merchant_private_key": FAKE_MERCHANT_KEY_PEM,
        "pg_public_key": public_key_base64(FAKE_RSA_KEY_PEM)});
    let accounts = [
        ("stripe", json!({"secret_key": "sk_test_x", "webhook_secret": "whsec_x"})),
        ("midtrans", json!({"server_key": "SB-Mid-server-x"})),
        ("sslcommerz", json!({"store_id": "x", "store_password": "x@ssl"})),
        ("aamarpay", json!({"store_id": "x", "signature_key": "x"})),
        (
            "bkash",
            json!({"app_key": "k", "app_secret": "s", "username": "u", "password": "p",
            "webhook_topic_arn": "arn:aws:sns:ap-southeast-1:000000000000:bkash"}),
        ),
        ("paypal", json!({"client_id": "c", "client_secret": "s", "webhook_id": "WH-1"})),
        ("nagad", nagad_creds),
    ];
    let mut urls = vec![];
    for (gateway, credentials) in accounts {
        let id = account(&env, &admin, json!({"gateway": gateway, "credentials": credentials})).await;
        urls.push((gateway, webhook(&env, gateway, &id)));
    }
    let before = env.table_snapshot().await;
    let huge = "x".repeat(7 * 1024 * 1024);
    for (gateway, url) in &urls {
        for (content_type, body) in [
            ("application/json", ""),
            ("application/json", "{"),
            ("application/json", "[]"),
            ("application/json", "{\"Type\":\"Notification\",\"order_id\":null}"),
            ("application/x-www-form-urlencoded", "a=%zz&&=="),
            ("text/plain", "\u{0}\u{1}binary"),
            ("application/octet-stream", huge.as_str()),
        ] {
            let (status, problem) = post(url, &[], content_type, body).await;
            assert!((400..500).contains(&status), "{gateway} {content_type} {:.40}: {status} {problem}", body);
        }
        let r = reqwest::Client::new().get(url).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 405, "{gateway}: GET");
    }
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
}

#[tokio::test]
async fn a_late_webhook_racing_the_janitor_pays_once() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let (stripe, account_id) = stripe_account(&env, &admin).await;
    let (customer, inv) = billed_customer_at(&env, &admin, 11, "01719-300011").await;
    let created = checkout(&env, &admin, "race-1", json!({"invoice_id": inv["id"], "gateway_account_id": account_id}))
        .await
        .expect(201);
    let event = stripe.pay(created["reference"].as_str().unwrap());
    env.clock.advance(chrono::Duration::minutes(11));
    let now = env.clock.now();
    let url = webhook(&env, "stripe", &account_id);
    let janitor = env.send("POST", "/_local/jobs/job-payment-reconcile", None, Some(json!({"time": now.to_rfc3339()})));
    let deliveries = futures::future::join_all((0..10).map(|_| stripe.deliver(&url, &event, now.timestamp())));
    let (report, answers) = tokio::join!(janitor, deliveries);
    let report = report.expect(200);
    assert!(answers.iter().all(|s| *s == 200), "{answers:?}");
    assert_eq!(report["asked"].as_u64(), Some(1), "{report}");
    let admin = env.admin().await;
    let payments = payments_of(&env, &admin, &customer).await;
    assert_eq!(payments.len(), 1, "{payments:#?}");
    assert_eq!(env.books_balance(&admin, &customer).await["balance"].as_i64(), Some(0));
}

#[tokio::test]
async fn a_gateway_payment_for_an_invoice_paid_by_hand_meanwhile_becomes_credit() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let (stripe, account_id) = stripe_account(&env, &admin).await;
    let (customer, inv) = billed_customer_at(&env, &admin, 12, "01719-300012").await;
    let due = inv["amount_due"].as_i64().unwrap();
    let created = checkout(&env, &admin, "both-1", json!({"invoice_id": inv["id"], "gateway_account_id": account_id}))
        .await
        .expect(201);
    // The customer pays cash at the office while the online payment is on its way.
    env.send_with(
        "POST",
        "/v1/payments",
        Some(&admin),
        Some(json!({"invoice_id": inv["id"], "amount": due, "method": "cash"})),
        &[("idempotency-key", "cash-meanwhile")],
    )
    .await
    .expect(201);
    let event = stripe.pay(created["reference"].as_str().unwrap());
    let url = webhook(&env, "stripe", &account_id);
    assert_eq!(stripe.deliver(&url, &event, env.clock.now().timestamp()).await, 200);
    let payments = payments_of(&env, &admin, &customer).await;
    assert_eq!(payments.len(), 2, "{payments:#?}");
    let online = payments.iter().find(|p| p["method"] == "online").expect("the online payment");
    assert_eq!((online["amount"].as_i64(), online["to_credit"].as_i64()), (Some(due), Some(due)), "{online:#}");
    let books = env.books_balance(&admin, &customer).await;
    assert_eq!((books["credit"].as_i64(), books["balance"].as_i64()), (Some(due), Some(-due)), "{books:#}");
}
