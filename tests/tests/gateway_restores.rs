//! Every gateway end to end to the router: a subscriber suspended for an unpaid invoice pays it
//! through the gateway's fake, the gateway's own signed (or confirmed) notification settles it,
//! the receipt is numbered, the books balance and the subscriber is back on the RouterOS test
//! server. (Stripe's run, with its fifty concurrent deliveries, is in `webhooks`.)

use crate::checkouts::{account, browser, checkout, location, paypal_account};
use e2e_tests::Env;
use gateways::testing::{
    FAKE_MERCHANT_KEY_PEM, FAKE_RSA_KEY_PEM, FakeAamarpay, FakeBkash, FakeMidtrans, FakeNagad, FakeSslcommerz,
    public_key_base64,
};
use routeros::menu::PPP_SECRET;
use serde_json::{Value, json};

fn webhook(env: &Env, gateway: &str, account_id: &str) -> String {
    format!("{}/v1/webhooks/{gateway}/{account_id}", env.local.base_url)
}

async fn post_form(url: &str, body: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A subscriber of the ISP behind `admin`, suspended on `router` for its unpaid activation invoice.
struct Suspended {
    customer: String,
    subscription: String,
    username: String,
    invoice: Value,
}

async fn suspended(env: &Env, admin: &str, router: &str, name: &str, phone: &str) -> Suspended {
    let package =
        env.create_package(admin, &format!("Home {name}"), "10M", 80_000).await["id"].as_str().unwrap().to_string();
    let customer = env.create_customer(admin, &format!("Payer {name}"), phone, &format!("gw-{name}")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let username = format!("gw-{name}-ppp");
    let subscription = env.create_subscription(admin, &customer, &package, router, &username).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.send("POST", &format!("/v1/subscriptions/{subscription}/activate"), Some(admin), None).await.expect(200);
    env.send(
        "POST",
        &format!("/v1/subscriptions/{subscription}/suspend"),
        Some(admin),
        Some(json!({"reason": "unpaid"})),
    )
    .await
    .expect(200);
    let list = env.send("GET", &format!("/v1/invoices?customer_id={customer}"), Some(admin), None).await.expect(200);
    let s = Suspended { customer, subscription, username, invoice: list["items"][0].clone() };
    if env.router.is_some() {
        assert!(env.eventually(|| on_router(env, &s.username) == Some("true")).await, "{} suspended", s.username);
    } else {
        let sub =
            env.send("GET", &format!("/v1/subscriptions/{}", s.subscription), Some(admin), None).await.expect(200);
        assert_eq!(sub["status"], "suspended", "{sub:#}");
    }
    s
}

/// The PPP secret's `disabled` on the test router.
fn on_router(env: &Env, username: &str) -> Option<&'static str> {
    let secret = env.router.as_ref().unwrap().find(PPP_SECRET, username)?;
    match secret.get("disabled").map(String::as_str) {
        Some("true") => Some("true"),
        Some("false") => Some("false"),
        _ => None,
    }
}

/// What the settled payment left behind: one payment of the invoice's amount through `gateway`
/// with a receipt number, the invoice paid, the books balanced, the subscriber active and enabled
/// on the router. The receipt number, to check numbers are not reused.
async fn assert_restored(env: &Env, admin: &str, s: &Suspended, gateway: &str) -> String {
    let list =
        env.send("GET", &format!("/v1/payments?customer_id={}", s.customer), Some(admin), None).await.expect(200);
    let payments = list["items"].as_array().unwrap();
    assert_eq!(payments.len(), 1, "{gateway}: {payments:#?}");
    let p = &payments[0];
    assert_eq!((&p["amount"], p["gateway"]["gateway"].as_str()), (&s.invoice["amount_due"], Some(gateway)), "{p:#}");
    let receipt = p["receipt_number"].as_str().unwrap_or_default().to_string();
    assert!(!receipt.is_empty(), "{gateway}: a numbered receipt: {p:#}");
    let inv = s.invoice["id"].as_str().unwrap();
    assert_eq!(env.send("GET", &format!("/v1/invoices/{inv}"), Some(admin), None).await.expect(200)["status"], "paid");
    assert_eq!(env.books_balance(admin, &s.customer).await["balance"].as_i64(), Some(0), "{gateway}");
    let sub = env.send("GET", &format!("/v1/subscriptions/{}", s.subscription), Some(admin), None).await.expect(200);
    assert_eq!((sub["status"].as_str(), sub["status_reason"].as_str()), (Some("active"), None), "{gateway}: {sub:#}");
    if env.router.is_some() {
        assert!(env.eventually(|| on_router(env, &s.username) == Some("false")).await, "{gateway}: back on the router");
    }
    receipt
}

#[tokio::test]
async fn every_gateway_restores_a_suspended_subscriber_from_its_own_notification() {
    let env = Env::start_with_router().await;
    let admin = env.admin().await;
    let router = env.demo_router(&admin).await;
    let mut receipts = vec![];

    // bKash: the payer's one-shot return executes the payment (bKash pays only then); the SNS
    // notification of the same payment that follows changes nothing more.
    let bkash = FakeBkash::start("app-isp", "secret-isp", "merchant-isp", "pw-isp").await;
    let bkash_account = account(
        &env,
        &admin,
        json!({"gateway": "bkash", "base_url": bkash.base_url(), "credentials": {"app_key": "app-isp",
            "app_secret": "secret-isp", "username": "merchant-isp", "password": "pw-isp",
            "webhook_topic_arn": bkash.topic_arn()}}),
    )
    .await;
    let s = suspended(&env, &admin, &router, "rahim", "01719-300101").await;
    let created =
        checkout(&env, &admin, "r-bk", json!({"invoice_id": s.invoice["id"], "gateway_account_id": bkash_account}))
            .await
            .expect(201);
    let page = browser().get(created["redirect_url"].as_str().unwrap()).send().await.unwrap();
    let back = browser().get(location(&page)).send().await.unwrap();
    assert!(location(&back).ends_with("&state=paid"), "{}", location(&back));
    let note = bkash.sns_payment(created["reference"].as_str().unwrap());
    assert_eq!(bkash.deliver_sns(&webhook(&env, "bkash", &bkash_account), &note).await, 200);
    receipts.push(assert_restored(&env, &admin, &s, "bkash").await);

    // Nagad: its callback only names the payment; verify/payment says it is paid.
    let nagad = FakeNagad::start("683002007104225", &public_key_base64(FAKE_MERCHANT_KEY_PEM)).await;
    let nagad_account = account(
        &env,
        &admin,
        json!({"gateway": "nagad", "base_url": nagad.base_url(), "credentials": {"merchant_id": "683002007104225",
            "merchant_private_key": FAKE_MERCHANT_KEY_PEM, "pg_public_key": public_key_base64(FAKE_RSA_KEY_PEM)}}),
    )
    .await;
    let s = suspended(&env, &admin, &router, "karim", "01719-300102").await;
    let created =
        checkout(&env, &admin, "r-ng", json!({"invoice_id": s.invoice["id"], "gateway_account_id": nagad_account}))
            .await
            .expect(201);
    let (order, reference) = (created["order_id"].as_str().unwrap(), created["reference"].as_str().unwrap());
    nagad.pay(reference);
    let callback = format!("merchant=683002007104225&order_id={order}&payment_ref_id={reference}&status=Success");
    let (status, ack) = post_form(&webhook(&env, "nagad", &nagad_account), &callback).await;
    assert_eq!((status, ack["outcome"].as_str()), (200, Some("paid")), "{ack}");
    receipts.push(assert_restored(&env, &admin, &s, "nagad").await);

    // SSLCommerz: the IPN's verify_sign, then the validation API.
    let ssl = FakeSslcommerz::start("demoisp01", "demoisp01@ssl").await;
    let ssl_account = account(
        &env,
        &admin,
        json!({"gateway": "sslcommerz", "base_url": ssl.base_url(),
            "credentials": {"store_id": "demoisp01", "store_password": "demoisp01@ssl"}}),
    )
    .await;
    let s = suspended(&env, &admin, &router, "salma", "01719-300103").await;
    let created =
        checkout(&env, &admin, "r-ssl", json!({"invoice_id": s.invoice["id"], "gateway_account_id": ssl_account}))
            .await
            .expect(201);
    let order = created["order_id"].as_str().unwrap();
    let ipn = ssl.pay(order);
    assert_eq!(ssl.deliver(order, &ipn, None).await, 200);
    receipts.push(assert_restored(&env, &admin, &s, "sslcommerz").await);

    // aamarPay: its callback is unsigned; trxcheck says it is paid.
    let aamarpay = FakeAamarpay::start("aamarpaytest", "sig-isp").await;
    let aamarpay_account = account(
        &env,
        &admin,
        json!({"gateway": "aamarpay", "base_url": aamarpay.base_url(),
            "credentials": {"store_id": "aamarpaytest", "signature_key": "sig-isp"}}),
    )
    .await;
    let s = suspended(&env, &admin, &router, "nasrin", "01719-300104").await;
    let created =
        checkout(&env, &admin, "r-am", json!({"invoice_id": s.invoice["id"], "gateway_account_id": aamarpay_account}))
            .await
            .expect(201);
    let form = aamarpay.pay(created["order_id"].as_str().unwrap());
    let (status, ack) = post_form(&webhook(&env, "aamarpay", &aamarpay_account), &form).await;
    assert_eq!((status, ack["outcome"].as_str()), (200, Some("paid")), "{ack}");
    receipts.push(assert_restored(&env, &admin, &s, "aamarpay").await);

    receipts.sort();
    receipts.dedup();
    assert_eq!(receipts.len(), 4, "each payment its own receipt number: {receipts:?}");
}

/// Midtrans and PayPal bill in rupiah and dollars, so their subscribers belong to other ISPs than
/// the demo one, whose router holds the test server's address (a router's address belongs to one
/// ISP): the subscription is back (what provisioning then converges, as above), not yet the router.
#[tokio::test]
async fn midtrans_and_paypal_restore_a_suspended_subscriber_from_their_own_notifications() {
    let env = Env::start().await;
    // Midtrans, at an Indonesian ISP: the SHA-512-signed settlement.
    let (_, rupiah_admin) = env.other_tenant("nusantara-net").await;
    let rupiah_router =
        env.create_router(&rupiah_admin, "jakarta-core", "10.20.0.1", None).await["id"].as_str().unwrap().to_string();
    let midtrans = FakeMidtrans::start("SB-Mid-server-isp").await;
    let midtrans_account = account(
        &env,
        &rupiah_admin,
        json!({"gateway": "midtrans", "base_url": midtrans.base_url(), "credentials": {"server_key": "SB-Mid-server-isp"}}),
    )
    .await;
    let s = suspended(&env, &rupiah_admin, &rupiah_router, "budi", "0812-3456-7901").await;
    let created = checkout(
        &env,
        &rupiah_admin,
        "r-mt",
        json!({"invoice_id": s.invoice["id"], "gateway_account_id": midtrans_account}),
    )
    .await
    .expect(201);
    let order = created["order_id"].as_str().unwrap();
    let settlement = midtrans.set_status(order, "settlement", "gopay");
    assert_eq!(midtrans.deliver(order, &settlement, None).await, 200);
    assert_restored(&env, &rupiah_admin, &s, "midtrans").await;

    // PayPal, at a dollar-billing ISP: the payer approves and closes the browser; PayPal's signed
    // CHECKOUT.ORDER.APPROVED makes us capture, and the capture's own event changes nothing more.
    let (_, dollar_admin) = env.tenant_in("dollar-net", "USD", "BD", "Asia/Dhaka").await;
    let dollar_router =
        env.create_router(&dollar_admin, "dollar-core", "10.30.0.1", None).await["id"].as_str().unwrap().to_string();
    let (paypal, paypal_account) = paypal_account(&env, &dollar_admin).await;
    let s = suspended(&env, &dollar_admin, &dollar_router, "jamal", "01719-300105").await;
    let created = checkout(
        &env,
        &dollar_admin,
        "r-pp",
        json!({"invoice_id": s.invoice["id"], "gateway_account_id": paypal_account}),
    )
    .await
    .expect(201);
    let order = created["reference"].as_str().unwrap();
    let page = browser().get(created["redirect_url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 303, "approved at PayPal");
    let url = webhook(&env, "paypal", &paypal_account);
    let (headers, body) = paypal.approval_event(order, "2026-11-21T03:43:10Z");
    let approvals: Vec<_> = (0..5).map(|_| paypal.deliver(&url, &headers, &body)).collect();
    assert!(futures::future::join_all(approvals).await.iter().all(|s| *s == 200));
    assert_eq!(paypal.order(order).unwrap().status, "COMPLETED", "captured once");
    let (headers, body) = paypal.capture_event(order, "2026-11-21T03:43:12Z");
    assert_eq!(paypal.deliver(&url, &headers, &body).await, 200);
    assert_restored(&env, &dollar_admin, &s, "paypal").await;
}

#[tokio::test]
async fn a_paypal_order_approved_without_return_or_webhook_is_captured_by_the_janitor() {
    let env = Env::start().await;
    let (_, admin) = env.tenant_in("dollar-net", "USD", "BD", "Asia/Dhaka").await;
    let (paypal, account_id) = paypal_account(&env, &admin).await;
    let (customer, inv) = crate::checkouts::billed_customer(&env, &admin, 3).await;
    let created = checkout(&env, &admin, "jan-pp", json!({"invoice_id": inv["id"], "gateway_account_id": account_id}))
        .await
        .expect(201);
    let order = created["reference"].as_str().unwrap();
    // Approved at PayPal; the browser never comes back and the webhook is lost.
    browser().get(created["redirect_url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(paypal.order(order).unwrap().status, "APPROVED");
    env.clock.advance(chrono::Duration::minutes(11));
    let now = env.clock.now().to_rfc3339();
    for _ in 0..2 {
        env.send("POST", "/_local/jobs/job-payment-reconcile", None, Some(json!({"time": now}))).await.expect(200);
    }
    assert_eq!(paypal.order(order).unwrap().status, "COMPLETED");
    let list = env.send("GET", &format!("/v1/payments?customer_id={customer}"), Some(&admin), None).await.expect(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list:#}");
    assert_eq!(list["items"][0]["amount"], inv["amount_due"]);
    // The late return finds it captured: still one payment.
    let page = browser().get(created["redirect_url"].as_str().unwrap()).send().await.unwrap();
    let back = browser().get(location(&page)).send().await.unwrap();
    assert!(location(&back).ends_with("&state=paid"), "{}", location(&back));
    let list = env.send("GET", &format!("/v1/payments?customer_id={customer}"), Some(&admin), None).await.expect(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}
