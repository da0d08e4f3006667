//! The adapters against the gateways' fakes over HTTP on 127.0.0.1: checkout, the payer's page,
//! signed notifications received as a webhook function receives them, status, refunds.

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::post;
use chrono::{DateTime, Utc};
use gateways::aamarpay::{self, AamarpayAccount};
use gateways::bkash::{self, BkashAccount};
use gateways::http::{Hosts, checked_base_url};
use gateways::midtrans::{self, MidtransAccount};
use gateways::nagad::{self, NagadAccount};
use gateways::paypal::{self, PaypalAccount, Transmission};
use gateways::sslcommerz::{self, SslcommerzAccount};
use gateways::stripe::{self, StripeAccount};
use gateways::testing::{
    FAKE_MERCHANT_KEY_PEM, FAKE_RSA_KEY_PEM, FakeAamarpay, FakeBkash, FakeMidtrans, FakeNagad, FakePaypal,
    FakeSslcommerz, FakeStripe, public_key_base64,
};
use gateways::{Amount, CheckoutRequest, GatewayError, GatewayHttp, PaymentState};
use std::sync::{Arc, Mutex};

type Received = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;

/// A stand-in webhook endpoint: keeps each delivery's headers and raw body.
async fn receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let keep = got.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let keep = keep.clone();
            async move {
                keep.lock().unwrap().push((headers, body.to_vec()));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-05T10:00:00Z").unwrap().to_utc()
}

fn request(order_id: &str, amount: Amount) -> CheckoutRequest {
    CheckoutRequest {
        order_id: order_id.into(),
        amount,
        description: "Invoice INV-2026-000042".into(),
        customer_name: Some("Rahim Uddin".into()),
        customer_email: Some("rahim@example.com".into()),
        customer_phone: Some("+8801711000001".into()),
        return_url: "https://isp.example/paid".into(),
        cancel_url: "https://isp.example/cancelled".into(),
        notify_url: None,
        methods: vec![],
    }
}

fn no_redirects() -> reqwest::Client {
    gateways::http::client_builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

#[tokio::test]
async fn stripe_checkout_payment_notification_status_and_refund() {
    let fake = FakeStripe::start("sk_test_isp1", "whsec_isp1").await;
    let base = checked_base_url(&fake.base_url(), Hosts { allow_loopback: true }).unwrap();
    let account =
        StripeAccount { secret_key: "sk_test_isp1".into(), webhook_secret: "whsec_isp1".into(), base_url: base };
    let http = GatewayHttp::new().unwrap();
    let req = request("c-stripe-1", Amount::new(150_050, "BDT"));

    let created = stripe::create_checkout(&http, &account, &req, "idem-1", now()).await.unwrap();
    let again = stripe::create_checkout(&http, &account, &req, "idem-1", now()).await.unwrap();
    assert_eq!(created, again, "the same idempotency key is the same session");
    let session = fake.session(&created.reference).unwrap();
    assert_eq!((session.amount, session.currency.as_str(), session.order_id.as_str()), (150_050, "bdt", "c-stripe-1"));
    let pending = stripe::checkout_status(&http, &account, &created.reference).await.unwrap();
    assert_eq!(pending.state, PaymentState::Pending);

    // The payer's browser: paid, and sent back to the ISP's page (which proves nothing by itself).
    let page = no_redirects().get(&created.redirect_url).send().await.unwrap();
    assert_eq!(page.status(), 303);
    assert_eq!(page.headers()["location"], "https://isp.example/paid");
    let paid = stripe::checkout_status(&http, &account, &created.reference).await.unwrap();
    assert_eq!((paid.state, paid.amount.clone()), (PaymentState::Paid, Some(Amount::new(150_050, "BDT"))));

    // The signed event, received as a webhook function receives it, verifies with the account's
    // secret only.
    let (url, got) = receiver().await;
    let event = fake.pay(&created.reference);
    assert_eq!(fake.deliver(&url, &event, now().timestamp()).await, 200);
    let (headers, body) = got.lock().unwrap()[0].clone();
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
    let n = stripe::verify_notification(signature, &body, "whsec_isp1", now()).unwrap();
    let s = n.status.unwrap();
    assert_eq!(
        (s.order_id.as_str(), s.state, s.transaction_id.clone()),
        ("c-stripe-1", PaymentState::Paid, paid.transaction_id)
    );
    assert_eq!(
        stripe::verify_notification(signature, &body, "whsec_isp2", now()).err(),
        Some(GatewayError::BadSignature)
    );

    // Refund: once per key, never more than was paid.
    let pi = s.transaction_id.unwrap();
    let part = Amount::new(50_000, "BDT");
    let r1 = stripe::refund(&http, &account, &pi, &part, "refund-1").await.unwrap();
    assert_eq!(stripe::refund(&http, &account, &pi, &part, "refund-1").await.unwrap(), r1);
    assert_eq!(fake.session(&created.reference).unwrap().refunded, 50_000);
    let too_much = stripe::refund(&http, &account, &pi, &Amount::new(100_051, "BDT"), "refund-2").await;
    assert!(matches!(too_much, Err(GatewayError::Refused { status: 400, .. })), "{too_much:?}");

    // Another account's key is refused by the gateway.
    let stranger = StripeAccount { secret_key: "sk_test_other".into(), ..account.clone() };
    let refused = stripe::checkout_status(&http, &stranger, &created.reference).await;
    assert!(matches!(refused, Err(GatewayError::Refused { status: 401, .. })), "{refused:?}");
    assert_eq!(stripe::checkout_status(&http, &account, "cs_test_none").await.err(), Some(GatewayError::UnknownOrder));
}

#[tokio::test]
async fn midtrans_checkout_notification_status_and_refund() {
    let fake = FakeMidtrans::start("SB-Mid-server-isp1").await;
    let base = checked_base_url(&fake.base_url(), Hosts { allow_loopback: true }).unwrap();
    let account = MidtransAccount { server_key: "SB-Mid-server-isp1".into(), snap_base: base.clone(), api_base: base };
    let http = GatewayHttp::new().unwrap();
    let (url, got) = receiver().await;
    let mut req = request("c-midtrans-1", Amount::new(15_000_000, "IDR"));
    req.notify_url = Some(url.clone());

    let created = midtrans::create_checkout(&http, &account, &req, now()).await.unwrap();
    assert!(created.redirect_url.ends_with(&created.reference));
    assert_eq!(fake.order("c-midtrans-1").unwrap().gross_amount, 150_000);
    assert_eq!(fake.order("c-midtrans-1").unwrap().notify_url.as_deref(), Some(url.as_str()));
    let twice = midtrans::create_checkout(&http, &account, &req, now()).await;
    assert!(matches!(twice, Err(GatewayError::Refused { status: 400, .. })), "an order id is used once: {twice:?}");
    // Until the payer picks a method, the status API does not know the order.
    assert_eq!(
        midtrans::checkout_status(&http, &account, "c-midtrans-1").await.err(),
        Some(GatewayError::UnknownOrder)
    );

    // Paid by QRIS: the signed notification reaches the override URL and verifies.
    let body = fake.set_status("c-midtrans-1", "settlement", "qris");
    assert_eq!(fake.deliver("c-midtrans-1", &body, None).await, 200);
    let (_, raw) = got.lock().unwrap()[0].clone();
    let n = midtrans::verify_notification(&raw, "SB-Mid-server-isp1").unwrap();
    let s = n.status.unwrap();
    assert_eq!(
        (s.state, s.amount.clone(), s.method.as_deref()),
        (PaymentState::Paid, Some(Amount::new(15_000_000, "IDR")), Some("qris"))
    );
    assert_eq!(midtrans::verify_notification(&raw, "SB-Mid-server-isp2").err(), Some(GatewayError::BadSignature));
    let status = midtrans::checkout_status(&http, &account, "c-midtrans-1").await.unwrap();
    assert_eq!((status.state, status.transaction_id), (PaymentState::Paid, s.transaction_id));

    // A partial refund, once per key; then the order reads as partially refunded.
    let part = Amount::new(5_000_000, "IDR");
    midtrans::refund(&http, &account, "c-midtrans-1", &part, "rf-1", "outage").await.unwrap();
    midtrans::refund(&http, &account, "c-midtrans-1", &part, "rf-1", "outage").await.unwrap();
    assert_eq!(fake.order("c-midtrans-1").unwrap().refunded, 50_000);
    let after = midtrans::checkout_status(&http, &account, "c-midtrans-1").await.unwrap();
    assert_eq!(after.state, PaymentState::Refunded);
    let over = midtrans::refund(&http, &account, "c-midtrans-1", &Amount::new(20_000_000, "IDR"), "rf-2", "x").await;
    assert!(matches!(over, Err(GatewayError::Refused { status: 413, .. })), "{over:?}");

    // Sen cannot be sent; another server key is refused by the gateway.
    let odd = request("c-midtrans-2", Amount::new(15_000_050, "IDR"));
    assert!(matches!(midtrans::create_checkout(&http, &account, &odd, now()).await, Err(GatewayError::Amount(_))));
    let stranger = MidtransAccount { server_key: "SB-Mid-server-other".into(), ..account.clone() };
    let refused = midtrans::checkout_status(&http, &stranger, "c-midtrans-1").await;
    assert!(matches!(refused, Err(GatewayError::Refused { status: 401, .. })), "{refused:?}");
}

#[tokio::test]
async fn an_unreachable_gateway_is_unavailable_not_refused() {
    let account =
        StripeAccount { secret_key: "sk".into(), webhook_secret: "wh".into(), base_url: "http://127.0.0.1:9".into() };
    let http = GatewayHttp::new().unwrap();
    let e = stripe::checkout_status(&http, &account, "cs_test_1").await.unwrap_err();
    assert!(e.is_transient(), "{e:?}");
}

#[tokio::test]
async fn sslcommerz_checkout_ipn_validation_and_status_without_an_ipn() {
    let fake = FakeSslcommerz::start("isp1store", "isp1pass").await;
    let base = checked_base_url(&fake.base_url(), Hosts { allow_loopback: true }).unwrap();
    let account = SslcommerzAccount { store_id: "isp1store".into(), store_password: "isp1pass".into(), base_url: base };
    let http = GatewayHttp::new().unwrap();
    let (url, got) = receiver().await;
    let mut req = request("c-ssl-1", Amount::new(150_050, "BDT"));
    req.notify_url = Some(url);

    let created = sslcommerz::create_checkout(&http, &account, &req, now()).await.unwrap();
    assert_eq!(fake.order("c-ssl-1").unwrap().total_amount, "1500.50");
    assert!(created.redirect_url.contains(&created.reference));
    let pending = sslcommerz::checkout_status(&http, &account, "c-ssl-1").await.unwrap();
    assert_eq!(pending.state, PaymentState::Pending);
    assert_eq!(sslcommerz::checkout_status(&http, &account, "c-unknown").await.err(), Some(GatewayError::UnknownOrder));

    // Paid: the signed IPN reaches our URL, verifies with the store password, and is confirmed
    // through the validation API (VALID, then VALIDATED), which alone gives the amount.
    let body = fake.pay("c-ssl-1");
    assert_eq!(fake.deliver("c-ssl-1", &body, None).await, 200);
    let (_, raw) = got.lock().unwrap()[0].clone();
    let ipn = sslcommerz::verify_ipn(&raw, "isp1pass").unwrap();
    assert_eq!((ipn.tran_id.as_str(), ipn.status.as_str()), ("c-ssl-1", "VALID"));
    assert_eq!(sslcommerz::verify_ipn(&raw, "isp2pass").err(), Some(GatewayError::BadSignature));
    let val_id = ipn.val_id.unwrap();
    let confirmed = sslcommerz::validate(&http, &account, &val_id).await.unwrap();
    assert_eq!((confirmed.state, confirmed.amount.clone()), (PaymentState::Paid, Some(Amount::new(150_050, "BDT"))));
    assert_eq!(sslcommerz::validate(&http, &account, &val_id).await.unwrap().state, PaymentState::Paid, "VALIDATED");
    assert_eq!(sslcommerz::validate(&http, &account, "nope").await.err(), Some(GatewayError::UnknownOrder));
    // Without any IPN, the tran_id lookup finds the payment and confirms it the same way.
    let by_tran = sslcommerz::checkout_status(&http, &account, "c-ssl-1").await.unwrap();
    assert_eq!((by_tran.state, by_tran.amount), (PaymentState::Paid, Some(Amount::new(150_050, "BDT"))));

    // Wrong store credentials: refused, for a lookup and for a session.
    let wrong = SslcommerzAccount { store_password: "wrong".into(), ..account.clone() };
    let refused = sslcommerz::checkout_status(&http, &wrong, "c-ssl-1").await;
    assert!(matches!(refused, Err(GatewayError::Refused { .. })), "{refused:?}");
    let stranger = SslcommerzAccount { store_password: "wrong".into(), ..account.clone() };
    let refused =
        sslcommerz::create_checkout(&http, &stranger, &request("c-ssl-2", Amount::new(1_000, "BDT")), now()).await;
    assert!(matches!(refused, Err(GatewayError::Refused { .. })), "{refused:?}");
}

#[tokio::test]
async fn aamarpay_checkout_and_the_search_api_as_the_only_truth() {
    let fake = FakeAamarpay::start("aamarpaytest", "sig-isp1").await;
    let base = checked_base_url(&fake.base_url(), Hosts { allow_loopback: true }).unwrap();
    let account = AamarpayAccount { store_id: "aamarpaytest".into(), signature_key: "sig-isp1".into(), base_url: base };
    let http = GatewayHttp::new().unwrap();
    let req = request("c-aam-1", Amount::new(150_050, "BDT"));

    let created = aamarpay::create_checkout(&http, &account, &req, now()).await.unwrap();
    assert_eq!(fake.order("c-aam-1").unwrap().amount, "1500.50");
    assert_eq!(aamarpay::checkout_status(&http, &account, "c-aam-1").await.unwrap().state, PaymentState::Pending);
    assert_eq!(aamarpay::checkout_status(&http, &account, "c-none").await.err(), Some(GatewayError::UnknownOrder));

    // The payer's browser comes back; the callback names the order and nothing else is believed.
    let page = no_redirects().get(&created.redirect_url).send().await.unwrap();
    assert_eq!(
        (page.status().as_u16(), page.headers()["location"].to_str().unwrap()),
        (303, "https://isp.example/paid")
    );
    let callback = fake.pay("c-aam-1").replace("amount=1500.50", "amount=1.00");
    assert_eq!(aamarpay::order_of_callback(callback.as_bytes()).unwrap(), "c-aam-1");
    let s = aamarpay::checkout_status(&http, &account, "c-aam-1").await.unwrap();
    assert_eq!((s.state, s.amount), (PaymentState::Paid, Some(Amount::new(150_050, "BDT"))));
    assert!(s.transaction_id.unwrap().starts_with("AAM"));

    // Another store's key: the gateway answers nothing about the order.
    let stranger = AamarpayAccount { signature_key: "sig-other".into(), ..account.clone() };
    let refused = aamarpay::checkout_status(&http, &stranger, "c-aam-1").await;
    assert!(matches!(refused, Err(GatewayError::Refused { status: 401, .. })), "{refused:?}");
    let refused =
        aamarpay::create_checkout(&http, &stranger, &request("c-aam-2", Amount::new(1_000, "BDT")), now()).await;
    assert!(matches!(refused, Err(GatewayError::Refused { .. })), "{refused:?}");
}

#[tokio::test]
async fn bkash_grant_create_approve_execute_once_status_and_refund() {
    let fake = FakeBkash::start("app-isp1", "secret-isp1", "merchant-isp1", "pw-isp1").await;
    let base = checked_base_url(&fake.base_url(), Hosts { allow_loopback: true }).unwrap();
    let account = BkashAccount {
        app_key: "app-isp1".into(),
        app_secret: "secret-isp1".into(),
        username: "merchant-isp1".into(),
        password: "pw-isp1".into(),
        base_url: base,
    };
    let http = GatewayHttp::new().unwrap();
    let mut req = request("c-bkash-1", Amount::new(150_050, "BDT"));
    req.return_url = "https://isp.example/bkash/return".into();

    let created = bkash::create_checkout(&http, &account, &req, now()).await.unwrap();
    let p = fake.payment(&created.reference).unwrap();
    assert_eq!((p.amount.as_str(), p.invoice.as_str(), p.status.as_str()), ("1500.50", "c-bkash-1", "Initiated"));
    assert_eq!(bkash::checkout_status(&http, &account, &created.reference).await.unwrap().state, PaymentState::Pending);
    assert_eq!(fake.grants(), 1, "the token is reused while it lives");

    // The payer approves; the callback only names the payment, and execute completes it.
    let page = no_redirects().get(&created.redirect_url).send().await.unwrap();
    let location = page.headers()["location"].to_str().unwrap().to_string();
    let query = location.split_once('?').unwrap().1;
    let (payment_id, status) = bkash::callback_of(query).unwrap();
    assert_eq!((payment_id.as_str(), status.as_str()), (created.reference.as_str(), "success"));
    let done = bkash::execute(&http, &account, &payment_id).await.unwrap();
    assert_eq!(
        (done.state, done.amount.clone(), done.order_id.as_str()),
        (PaymentState::Paid, Some(Amount::new(150_050, "BDT")), "c-bkash-1")
    );
    // A second execute (a repeated callback): bKash refuses it, the status answers the same.
    let again = bkash::execute(&http, &account, &payment_id).await.unwrap();
    assert_eq!((again.state, again.transaction_id.clone()), (PaymentState::Paid, done.transaction_id.clone()));
    assert_eq!(fake.payment(&payment_id).unwrap().executions, 2);

    // A revoked token is granted anew, within the same call.
    fake.revoke_tokens();
    assert_eq!(bkash::checkout_status(&http, &account, &payment_id).await.unwrap().state, PaymentState::Paid);
    assert_eq!(fake.grants(), 2);

    // A partial refund, then the refunds listed.
    let trx = done.transaction_id.unwrap();
    let refund =
        bkash::refund(&http, &account, &payment_id, &trx, &Amount::new(50_000, "BDT"), "outage").await.unwrap();
    assert_eq!(bkash::refund_status(&http, &account, &payment_id, &trx).await.unwrap(), vec![refund]);

    // The webhook: SNS messages verified with the certificate from the sandbox origin, the topic
    // pinned; the subscription confirmed once verified; the payment read from the message.
    let hosts = Hosts { allow_loopback: true };
    let origin = Some(reqwest::Url::parse(&fake.base_url()).unwrap().origin().ascii_serialization());
    let (url, got) = receiver().await;
    assert_eq!(fake.deliver_sns(&url, &fake.sns_subscription()).await, 200);
    assert_eq!(fake.deliver_sns(&url, &fake.sns_payment(&payment_id)).await, 200);
    let deliveries = got.lock().unwrap().clone();
    assert_eq!(deliveries[0].0["content-type"], "text/plain; charset=UTF-8");
    let topic = fake.topic_arn();
    match bkash::verify_sns(&http, &deliveries[0].1, &topic, origin.clone(), hosts).await.unwrap() {
        bkash::SnsDelivery::Subscribe { subscribe_url } => {
            no_redirects().get(&subscribe_url).send().await.unwrap();
            assert!(fake.subscription_confirmed());
        }
        other => panic!("{other:?}"),
    }
    let paid = match bkash::verify_sns(&http, &deliveries[1].1, &topic, origin.clone(), hosts).await.unwrap() {
        bkash::SnsDelivery::Payment(n) => n.status.unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (paid.order_id.as_str(), paid.state, paid.amount.clone()),
        ("c-bkash-1", PaymentState::Paid, Some(Amount::new(150_050, "BDT")))
    );
    assert_eq!(paid.transaction_id.as_deref(), Some(trx.as_str()));
    let tampered = String::from_utf8(deliveries[1].1.clone()).unwrap().replace("1500.50", "15000.50");
    assert_eq!(
        bkash::verify_sns(&http, tampered.as_bytes(), &topic, origin.clone(), hosts).await.err(),
        Some(GatewayError::BadSignature)
    );
    assert_eq!(
        bkash::verify_sns(&http, &deliveries[1].1, "arn:aws:sns:other", origin.clone(), hosts).await.err(),
        Some(GatewayError::BadSignature)
    );
    assert!(
        matches!(
            bkash::verify_sns(&http, &deliveries[1].1, &topic, None, hosts).await,
            Err(GatewayError::AddressRefused(_))
        ),
        "a live account takes certificates from SNS only"
    );

    // Wrong credentials: refused at the grant.
    let stranger = BkashAccount { app_secret: "nope".into(), app_key: "app-other".into(), ..account.clone() };
    let refused = bkash::checkout_status(&http, &stranger, &payment_id).await;
    assert!(matches!(refused, Err(GatewayError::Refused { .. })), "{refused:?}");
    let unknown = bkash::checkout_status(&http, &account, "TR0011NONE").await;
    assert_eq!(unknown.err(), Some(GatewayError::UnknownOrder));
}

fn transmission_of(headers: &HeaderMap) -> Transmission {
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    Transmission {
        id: h("paypal-transmission-id"),
        time: h("paypal-transmission-time"),
        signature: h("paypal-transmission-sig"),
        cert_url: h("paypal-cert-url"),
        auth_algo: h("paypal-auth-algo"),
    }
}

#[tokio::test]
async fn paypal_order_approval_capture_signed_webhook_and_refund() {
    let fake = FakePaypal::start("client-isp1", "secret-isp1", "WH-ISP1").await;
    let hosts = Hosts { allow_loopback: true };
    let account = PaypalAccount {
        client_id: "client-isp1".into(),
        client_secret: "secret-isp1".into(),
        webhook_id: "WH-ISP1".into(),
        base_url: checked_base_url(&fake.base_url(), hosts).unwrap(),
        sandbox_override: true,
    };
    let http = GatewayHttp::new().unwrap();
    let req = request("c-paypal-1", Amount::new(2_500, "USD"));

    let created = paypal::create_checkout(&http, &account, &req, "rq-1", now()).await.unwrap();
    assert_eq!(paypal::create_checkout(&http, &account, &req, "rq-1", now()).await.unwrap(), created);
    assert_eq!(fake.order(&created.reference).unwrap().value, "25.00");
    assert_eq!(
        paypal::checkout_status(&http, &account, &created.reference).await.unwrap().state,
        PaymentState::Pending
    );

    // The buyer approves; capture completes it, once: a second capture reads the order instead.
    let page = no_redirects().get(&created.redirect_url).send().await.unwrap();
    assert!(page.headers()["location"].to_str().unwrap().contains(&format!("token={}", created.reference)));
    let captured = paypal::capture(&http, &account, &created.reference, "cap-1").await.unwrap();
    assert_eq!((captured.state, captured.amount.clone()), (PaymentState::Paid, Some(Amount::new(2_500, "USD"))));
    let again = paypal::capture(&http, &account, &created.reference, "cap-2").await.unwrap();
    assert_eq!((again.state, again.transaction_id.clone()), (PaymentState::Paid, captured.transaction_id.clone()));

    // The signed webhook verifies with the certificate from the account's (sandbox) host.
    let (url, got) = receiver().await;
    let (headers, body) = fake.capture_event(&created.reference, "2026-12-05T10:00:00Z");
    assert_eq!(fake.deliver(&url, &headers, &body).await, 200);
    let (h, raw) = got.lock().unwrap()[0].clone();
    let t = transmission_of(&h);
    let n = paypal::verify_notification(&http, &account, &t, &raw, hosts).await.unwrap();
    let s = n.status.unwrap();
    assert_eq!(
        (s.order_id.as_str(), s.state, s.transaction_id.clone()),
        ("c-paypal-1", PaymentState::Paid, captured.transaction_id.clone())
    );
    // Tampered body, another webhook id, a certificate from elsewhere: refused.
    let tampered = String::from_utf8(raw.clone()).unwrap().replace("25.00", "2500.00");
    assert_eq!(
        paypal::verify_notification(&http, &account, &t, tampered.as_bytes(), hosts).await.err(),
        Some(GatewayError::BadSignature)
    );
    let other = PaypalAccount { webhook_id: "WH-OTHER".into(), ..account.clone() };
    assert_eq!(
        paypal::verify_notification(&http, &other, &t, &raw, hosts).await.err(),
        Some(GatewayError::BadSignature)
    );
    let elsewhere = Transmission { cert_url: "https://evil.example/cert.pem".into(), ..t.clone() };
    assert!(matches!(
        paypal::verify_notification(&http, &account, &elsewhere, &raw, hosts).await,
        Err(GatewayError::AddressRefused(_))
    ));
    let live = PaypalAccount { sandbox_override: false, ..account.clone() };
    assert!(
        matches!(
            paypal::verify_notification(&http, &live, &t, &raw, hosts).await,
            Err(GatewayError::AddressRefused(_))
        ),
        "a live account takes certificates from PayPal only"
    );

    // Refund once per request id.
    let capture_id = captured.transaction_id.unwrap();
    let r1 = paypal::refund(&http, &account, &capture_id, &Amount::new(1_000, "USD"), "rf-1").await.unwrap();
    assert_eq!(paypal::refund(&http, &account, &capture_id, &Amount::new(1_000, "USD"), "rf-1").await.unwrap(), r1);
    assert_eq!(fake.order(&created.reference).unwrap().refunded.len(), 1);

    // Wrong client secret: refused at the token.
    let stranger = PaypalAccount { client_secret: "nope".into(), client_id: "client-other".into(), ..account.clone() };
    let refused = paypal::checkout_status(&http, &stranger, &created.reference).await;
    assert!(matches!(refused, Err(GatewayError::Refused { status: 401, .. })), "{refused:?}");
    assert_eq!(paypal::checkout_status(&http, &account, "NOSUCHORDER").await.err(), Some(GatewayError::UnknownOrder));
}

#[tokio::test]
async fn nagad_sealed_initialize_and_complete_unsigned_callback_and_verify_as_the_only_truth() {
    let fake = FakeNagad::start("683002007104225", &public_key_base64(FAKE_MERCHANT_KEY_PEM)).await;
    let account = NagadAccount {
        merchant_id: "683002007104225".into(),
        merchant_private_key: FAKE_MERCHANT_KEY_PEM.into(),
        pg_public_key: public_key_base64(FAKE_RSA_KEY_PEM),
        base_url: checked_base_url(&fake.base_url(), Hosts { allow_loopback: true }).unwrap(),
    };
    let http = GatewayHttp::new().unwrap();
    let mut req = request("Cnagad1", Amount::new(150_050, "BDT"));
    req.return_url = "https://pay.isp.example/v1/returns/nagad/acc-1".into();

    nagad::check_account(&http, &account, "Cconnectioncheck", now()).await.unwrap();
    let created = nagad::create_checkout(&http, &account, &req, "203.0.113.7", now()).await.unwrap();
    let kept = fake.payment(&created.reference).unwrap();
    assert_eq!(
        (kept.order_id.as_str(), kept.amount.as_deref(), kept.status.as_str(), kept.payer_ip.as_str()),
        ("Cnagad1", Some("1500.50"), "Ready", "203.0.113.7")
    );
    assert_eq!(kept.datetime, "20261205160000", "Dhaka time");
    let pending = nagad::checkout_status(&http, &account, &created.reference, "127.0.0.1").await.unwrap();
    assert_eq!(pending.state, PaymentState::Pending);

    // The payer approves; the browser comes back with an unsigned query naming the payment.
    let page = no_redirects().get(&created.redirect_url).send().await.unwrap();
    let location = page.headers()["location"].to_str().unwrap().to_string();
    let (to, query) = location.split_once('?').unwrap();
    assert_eq!(to, "https://pay.isp.example/v1/returns/nagad/acc-1");
    let callback = nagad::callback_of(&query.replace("status=Success", "status=Failed")).unwrap();
    assert_eq!((callback.order_id.as_str(), callback.payment_ref_id.as_str()), ("Cnagad1", created.reference.as_str()));
    let paid = nagad::checkout_status(&http, &account, &callback.payment_ref_id, "127.0.0.1").await.unwrap();
    assert_eq!(
        (paid.state, paid.amount, paid.transaction_id.as_deref(), paid.order_id.as_str()),
        (PaymentState::Paid, Some(Amount::new(150_050, "BDT")), Some(created.reference.as_str()), "Cnagad1")
    );
    fake.set_status(&created.reference, "PartialCancelled");
    let s = nagad::checkout_status(&http, &account, &created.reference, "127.0.0.1").await.unwrap();
    assert_eq!(s.state, PaymentState::Refunded);

    // An unknown reference, another merchant, a key Nagad does not know, an outage.
    assert_eq!(
        nagad::checkout_status(&http, &account, "MDEyunknown", "127.0.0.1").await.err(),
        Some(GatewayError::UnknownOrder)
    );
    let stranger = NagadAccount { merchant_id: "683002007100000".into(), ..account.clone() };
    let refused =
        nagad::create_checkout(&http, &stranger, &request("Cnagad2", Amount::new(1_000, "BDT")), "1.1.1.1", now())
            .await;
    assert!(
        matches!(&refused, Err(GatewayError::Refused { detail, .. }) if detail.contains("merchant ID")),
        "{refused:?}"
    );
    let wrong_key = NagadAccount { merchant_private_key: FAKE_RSA_KEY_PEM.into(), ..account.clone() };
    let refused = nagad::check_account(&http, &wrong_key, "Cconnectioncheck2", now()).await;
    assert!(
        matches!(&refused, Err(GatewayError::Refused { detail, .. }) if detail.contains("Signature")),
        "{refused:?}"
    );
    let usd =
        nagad::create_checkout(&http, &account, &request("Cnagad3", Amount::new(1_000, "USD")), "1.1.1.1", now()).await;
    assert!(matches!(usd, Err(GatewayError::Amount(_))));
    fake.set_unavailable(true);
    let down = nagad::checkout_status(&http, &account, &created.reference, "127.0.0.1").await;
    assert!(down.as_ref().is_err_and(GatewayError::is_transient), "{down:?}");
}
