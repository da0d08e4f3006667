//! Checkouts end to end through the local runner and the gateways' fakes: created for an invoice,
//! paid on the gateway's page, the browser's return confirmed with the gateway's status API and
//! settled once (receipt, ledger, invoice), however often and however concurrently it comes back.

use e2e_tests::Env;
use gateways::testing::{
    FAKE_MERCHANT_KEY_PEM, FAKE_RSA_KEY_PEM, FakeAamarpay, FakeNagad, FakePaypal, FakeStripe, public_key_base64,
};
use serde_json::{Value, json};

/// A customer with an active prepaid subscription and its open activation invoice.
pub(crate) async fn billed_customer(env: &Env, admin: &str, n: u32) -> (String, Value) {
    billed_customer_at(env, admin, n, &format!("01719-30000{n}")).await
}

/// As [`billed_customer`], with a phone number of the ISP's country.
pub(crate) async fn billed_customer_at(env: &Env, admin: &str, n: u32, phone: &str) -> (String, Value) {
    let customer = env.create_customer(admin, &format!("Online Payer {n}"), phone, &format!("online{n}")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let package =
        env.create_package(admin, &format!("Web {n}"), "5M", 50_000).await["id"].as_str().unwrap().to_string();
    let router = env.create_router(admin, &format!("core-{n}"), &format!("10.9.0.{n}"), None).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let sub = env.create_subscription(admin, &customer, &package, &router, &format!("online{n}-ppp")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.send("POST", &format!("/v1/subscriptions/{sub}/activate"), Some(admin), None).await.expect(200);
    let list = env.send("GET", &format!("/v1/invoices?customer_id={customer}"), Some(admin), None).await.expect(200);
    (customer, list["items"][0].clone())
}

pub(crate) async fn account(env: &Env, token: &str, body: Value) -> String {
    let mut b = body;
    b["mode"] = json!("sandbox");
    b["name"] = json!(format!("{} sandbox", b["gateway"].as_str().unwrap()));
    b["success_url"] = json!("https://isp.example/paid");
    b["cancel_url"] = json!("https://isp.example/cancelled");
    env.send("POST", "/v1/payment-gateways", Some(token), Some(b)).await.expect(201)["id"].as_str().unwrap().to_string()
}

/// A Stripe fake and the ISP's sandbox account at it.
pub(crate) async fn stripe_account(env: &Env, admin: &str) -> (FakeStripe, String) {
    let stripe = FakeStripe::start("sk_test_isp", "whsec_isp").await;
    let id = account(
        env,
        admin,
        json!({"gateway": "stripe", "base_url": stripe.base_url(),
            "credentials": {"secret_key": "sk_test_isp", "webhook_secret": "whsec_isp"}}),
    )
    .await;
    (stripe, id)
}

/// A PayPal fake and the ISP's sandbox account at it.
pub(crate) async fn paypal_account(env: &Env, admin: &str) -> (FakePaypal, String) {
    let paypal = FakePaypal::start("client-isp", "secret-isp", "WH-ISP-1").await;
    let id = account(
        env,
        admin,
        json!({"gateway": "paypal", "base_url": paypal.base_url(),
            "credentials": {"client_id": "client-isp", "client_secret": "secret-isp", "webhook_id": "WH-ISP-1"}}),
    )
    .await;
    (paypal, id)
}

pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

pub(crate) fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_string()
}

pub(crate) async fn checkout(env: &Env, token: &str, key: &str, body: Value) -> e2e_tests::Answer {
    env.send_with("POST", "/v1/checkouts", Some(token), Some(body), &[("idempotency-key", key)]).await
}

#[tokio::test]
async fn an_invoice_paid_online_is_settled_once_from_the_confirmed_return() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let (stripe, account_id) = stripe_account(&env, &admin).await;
    let (customer, inv) = billed_customer(&env, &admin, 1).await;
    let inv_id = inv["id"].as_str().unwrap();
    let due = inv["amount_due"].as_i64().unwrap();

    let body = json!({"invoice_id": inv_id, "gateway_account_id": account_id});
    let created = checkout(&env, &admin, "co-1", body.clone()).await.expect(201);
    assert_eq!((created["state"].as_str(), created["amount"].as_i64()), (Some("pending"), Some(due)));
    assert_eq!(created["for"], json!({"kind": "invoice", "customer_id": customer, "invoice_id": inv_id}));
    let again = checkout(&env, &admin, "co-1", body).await.expect(201);
    assert_eq!(again["id"], created["id"], "the same key: the same checkout, the gateway not asked again");
    let session = stripe.session(created["reference"].as_str().unwrap()).unwrap();
    assert_eq!((session.amount, session.currency.as_str()), (due, "bdt"));

    // The payer pays on Stripe's page and comes back: the return is confirmed with Stripe.
    let page = browser().get(created["redirect_url"].as_str().unwrap()).send().await.unwrap();
    let back = location(&page);
    assert!(back.starts_with(&format!("{}/v1/checkouts/returns/{account_id}/", env.local.base_url)), "{back}");
    let returns: Vec<_> = (0..20).map(|_| browser().get(&back).send()).collect();
    for r in futures::future::join_all(returns).await {
        let r = r.unwrap();
        assert_eq!(r.status().as_u16(), 303);
        let to = location(&r);
        assert!(to.starts_with("https://isp.example/paid?checkout=C") && to.ends_with("&state=paid"), "{to}");
    }
    let id = created["id"].as_str().unwrap();
    let paid = env.send("GET", &format!("/v1/checkouts/{id}"), Some(&admin), None).await.expect(200);
    assert_eq!(paid["state"], "paid");
    assert_eq!(paid["transaction_id"].as_str(), session_intent(&stripe, &created).as_deref());
    let invoice = env.send("GET", &format!("/v1/invoices/{inv_id}"), Some(&admin), None).await.expect(200);
    assert_eq!((invoice["status"].as_str(), invoice["amount_due"].as_i64()), (Some("paid"), Some(0)));
    let payments =
        env.send("GET", &format!("/v1/payments?customer_id={customer}"), Some(&admin), None).await.expect(200);
    let items = payments["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "settled once: {payments:#}");
    assert_eq!(
        (items[0]["method"].as_str(), items[0]["amount"].as_i64(), items[0]["gateway"]["gateway"].as_str()),
        (Some("online"), Some(due), Some("stripe"))
    );
    assert_eq!(items[0]["id"], paid["payment_id"]);
    let books = env.books_balance(&admin, &customer).await;
    assert_eq!(books["balance"].as_i64(), Some(0), "{books:#}");

    // A paid invoice cannot be checked out again; a repeat return changes nothing.
    let closed = checkout(&env, &admin, "co-2", json!({"invoice_id": inv_id, "gateway_account_id": account_id})).await;
    assert_eq!((closed.status, closed.code()), (409, "invoice_not_payable"));
    let before = env.table_snapshot().await;
    browser().get(&back).send().await.unwrap();
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
}

fn session_intent(stripe: &FakeStripe, created: &Value) -> Option<String> {
    stripe.session(created["reference"].as_str().unwrap()).and_then(|s| s.payment_intent)
}

#[tokio::test]
async fn nagad_takes_an_advance_and_a_forged_return_pays_nothing() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let nagad = FakeNagad::start("683002007104225", &public_key_base64(FAKE_MERCHANT_KEY_PEM)).await;
    let account_id = account(
        &env,
        &admin,
        json!({"gateway": "nagad", "base_url": nagad.base_url(), "credentials": {"merchant_id": "683002007104225",
            "merchant_private_key": FAKE_MERCHANT_KEY_PEM, "pg_public_key": public_key_base64(FAKE_RSA_KEY_PEM)}}),
    )
    .await;
    let (customer, _) = billed_customer(&env, &admin, 2).await;
    let created = checkout(
        &env,
        &admin,
        "nagad-1",
        json!({"customer_id": customer, "amount": 120_000, "gateway_account_id": account_id}),
    )
    .await
    .expect(201);
    let reference = created["reference"].as_str().unwrap().to_string();
    assert_eq!(nagad.payment(&reference).unwrap().amount.as_deref(), Some("1200.00"));

    // The browser comes back claiming success before paying: Nagad says not yet; nothing is paid.
    let order = created["order_id"].as_str().unwrap();
    let forged = format!(
        "{}/v1/checkouts/returns/{account_id}/{order}?order_id={order}&payment_ref_id={reference}&status=Success",
        env.local.base_url
    );
    let r = browser().get(&forged).send().await.unwrap();
    assert!(location(&r).ends_with("&state=pending"), "{}", location(&r));
    let payments =
        env.send("GET", &format!("/v1/payments?customer_id={customer}"), Some(&admin), None).await.expect(200);
    assert_eq!(payments["items"].as_array().unwrap().len(), 0);

    // Paid at Nagad's page: the callback is confirmed with verify/payment and settled.
    let page = browser().get(created["redirect_url"].as_str().unwrap()).send().await.unwrap();
    let r = browser().get(location(&page)).send().await.unwrap();
    assert!(location(&r).ends_with("&state=paid"), "{}", location(&r));
    let payments =
        env.send("GET", &format!("/v1/payments?customer_id={customer}"), Some(&admin), None).await.expect(200);
    let items = payments["items"].as_array().unwrap();
    assert_eq!((items.len(), items[0]["amount"].as_i64()), (1, Some(120_000)));
    assert_eq!(items[0]["gateway"]["transaction_id"].as_str(), Some(reference.as_str()));
}

#[tokio::test]
async fn checkouts_are_the_isps_own_and_bad_requests_change_nothing() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let (_stripe, account_id) = stripe_account(&env, &admin).await;
    let (customer, inv) = billed_customer(&env, &admin, 3).await;
    let created = checkout(&env, &admin, "iso-1", json!({"invoice_id": inv["id"], "gateway_account_id": account_id}))
        .await
        .expect(201);
    let id = created["id"].as_str().unwrap();
    let order = created["order_id"].as_str().unwrap();

    let (_, other) = env.other_tenant("other-isp").await;
    let before = env.table_snapshot().await;
    assert_eq!(env.send("GET", &format!("/v1/checkouts/{id}"), Some(&other), None).await.status, 404);
    assert_eq!(env.send("GET", &format!("/v1/checkouts?customer_id={customer}"), Some(&other), None).await.status, 404);
    let theirs = checkout(
        &env,
        &other,
        "iso-2",
        json!({"customer_id": customer, "amount": 100, "gateway_account_id": account_id}),
    )
    .await;
    assert_eq!(theirs.status, 422, "another ISP's account and customer: {}", theirs.body);
    // A return naming another account, or an order that is not ours.
    for path in [
        format!("/v1/checkouts/returns/{}/{order}", uuid::Uuid::now_v7()),
        format!("/v1/checkouts/returns/{account_id}/C0000000000000000000000000"),
        format!("/v1/checkouts/returns/{account_id}/not-an-order"),
    ] {
        let r = browser().get(format!("{}{path}", env.local.base_url)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 404, "{path}");
    }
    for (body, status) in [
        (json!({"gateway_account_id": account_id}), 422),
        (json!({"invoice_id": inv["id"], "amount": 5, "gateway_account_id": account_id}), 422),
        (json!({"customer_id": customer, "gateway_account_id": account_id}), 422),
        (json!({"customer_id": customer, "amount": 0, "gateway_account_id": account_id}), 422),
        (json!({"customer_id": customer, "amount": 100, "gateway_account_id": uuid::Uuid::now_v7()}), 422),
        (json!({"customer_id": customer, "amount": 100}), 422),
        (json!({"customer_id": customer, "amount": 100, "gateway_account_id": account_id, "extra": 1}), 422),
    ] {
        let a = checkout(&env, &admin, &format!("bad-{body}"), body.clone()).await;
        assert_eq!(a.status, status, "{body}: {}", a.body);
    }
    let no_key = env
        .send(
            "POST",
            "/v1/checkouts",
            Some(&admin),
            Some(json!({"customer_id": customer, "amount": 100,
        "gateway_account_id": account_id})),
        )
        .await;
    assert_eq!((no_key.status, no_key.code()), (400, "idempotency_key_required"));
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
}

#[tokio::test]
async fn the_janitor_settles_a_checkout_whose_payer_never_came_back_and_expires_an_abandoned_one() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let aamarpay = FakeAamarpay::start("aamarpaytest", "sig-isp").await;
    let account_id = account(
        &env,
        &admin,
        json!({"gateway": "aamarpay", "base_url": aamarpay.base_url(),
            "credentials": {"store_id": "aamarpaytest", "signature_key": "sig-isp"}}),
    )
    .await;
    let (customer, inv) = billed_customer(&env, &admin, 4).await;
    let paid_later =
        checkout(&env, &admin, "jan-1", json!({"invoice_id": inv["id"], "gateway_account_id": account_id}))
            .await
            .expect(201);
    let abandoned = checkout(
        &env,
        &admin,
        "jan-2",
        json!({"customer_id": customer, "amount": 10_000, "gateway_account_id": account_id}),
    )
    .await
    .expect(201);
    // The payer pays at aamarPay and closes the browser: no return, no notification.
    aamarpay.pay(paid_later["order_id"].as_str().unwrap());
    // Too fresh to ask about.
    assert_eq!(run_janitor(&env).await["asked"], 0);
    env.clock.advance(chrono::Duration::minutes(11));
    let report = run_janitor(&env).await;
    assert_eq!(
        (report["asked"].as_u64(), report["settled"].as_u64(), report["still_pending"].as_u64()),
        (Some(2), Some(1), Some(1)),
        "{report}"
    );
    let paid_id = paid_later["id"].as_str().unwrap();
    let paid = env.send("GET", &format!("/v1/checkouts/{paid_id}"), Some(&admin), None).await.expect(200);
    assert_eq!(paid["state"], "paid");
    let invoice =
        env.send("GET", &format!("/v1/invoices/{}", inv["id"].as_str().unwrap()), Some(&admin), None).await.expect(200);
    assert_eq!(invoice["status"], "paid");
    // A day on, the abandoned one is expired; the paid one is no longer asked about.
    env.clock.advance(chrono::Duration::hours(24));
    let report = run_janitor(&env).await;
    assert_eq!((report["asked"].as_u64(), report["closed"].as_u64()), (Some(1), Some(1)), "{report}");
    let admin = env.admin().await;
    let abandoned_id = abandoned["id"].as_str().unwrap();
    let expired = env.send("GET", &format!("/v1/checkouts/{abandoned_id}"), Some(&admin), None).await.expect(200);
    assert_eq!(expired["state"], "expired");
    assert!(expired["history"].as_array().unwrap().iter().any(|h| h["kind"] == "expired"), "{expired:#}");
    let payments =
        env.send("GET", &format!("/v1/payments?customer_id={customer}"), Some(&admin), None).await.expect(200);
    assert_eq!(payments["items"].as_array().unwrap().len(), 1);
    assert_eq!(run_janitor(&env).await["asked"], 0, "nothing is left pending");
}

async fn run_janitor(env: &Env) -> Value {
    let at = env.clock.now().to_rfc3339();
    env.send("POST", "/_local/jobs/job-payment-reconcile", None, Some(json!({"time": at}))).await.expect(200)
}
