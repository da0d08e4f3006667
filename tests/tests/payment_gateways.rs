//! Gateway accounts (`/v1/payment-gateways`) end to end: credentials in and never out, the rules
//! for sandbox base URLs and return pages, the connection test against the gateways' fakes, who
//! may manage them, and the platform's own accounts.

use e2e_tests::Env;
use gateways::testing::{
    FAKE_MERCHANT_KEY_PEM, FAKE_RSA_KEY_PEM, FakeBkash, FakeMidtrans, FakeNagad, FakePaypal, FakeSslcommerz,
    FakeStripe, public_key_base64,
};
use serde_json::{Value, json};

fn stripe_body(base_url: Option<&str>, secret_key: &str) -> Value {
    let mut b = json!({"gateway": "stripe", "mode": "sandbox", "name": "Stripe test", "methods": ["card"],
        "success_url": "https://isp.example/paid", "cancel_url": "https://isp.example/cancelled",
        "credentials": {"secret_key": secret_key, "webhook_secret": "whsec_demo"}});
    if let Some(u) = base_url {
        b["base_url"] = json!(u);
    }
    b
}

#[tokio::test]
async fn accounts_keep_credentials_sealed_and_the_test_asks_the_gateway() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let stripe = FakeStripe::start("sk_test_demo", "whsec_demo").await;

    let created = env
        .send("POST", "/v1/payment-gateways", Some(&admin), Some(stripe_body(Some(&stripe.base_url()), "sk_test_demo")))
        .await
        .expect(201);
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["credentials_set"], json!(["secret_key", "webhook_secret"]));
    assert_eq!((created["status"].as_str(), created["mode"].as_str()), (Some("active"), Some("sandbox")));
    let shown = [
        created.to_string(),
        env.send("GET", &format!("/v1/payment-gateways/{id}"), Some(&admin), None).await.expect(200).to_string(),
        env.send("GET", "/v1/payment-gateways", Some(&admin), None).await.expect(200).to_string(),
    ];
    for text in &shown {
        assert!(!text.contains("sk_test_demo") && !text.contains("whsec_demo"), "a credential was shown: {text}");
    }
    // Nor stored in the clear, nor in the audit log.
    let table = env.table_snapshot().await;
    assert!(table.values().all(|v| !v.contains("sk_test_demo")), "a credential is in the table in the clear");

    // The connection test asks the gateway: accepted.
    let test = env.send("POST", &format!("/v1/payment-gateways/{id}/test"), Some(&admin), None).await.expect(200);
    assert_eq!((test["ok"].as_bool(), test["code"].as_str()), (Some(true), Some("credentials_accepted")), "{test}");

    // A wrong key, changed by name: the gateway refuses it, and the test says so.
    let changed = env
        .send(
            "PATCH",
            &format!("/v1/payment-gateways/{id}"),
            Some(&admin),
            Some(json!({"credentials": {"secret_key": "sk_test_wrong"}, "version": 1})),
        )
        .await
        .expect(200);
    assert_eq!(
        (changed["version"].as_i64(), changed["credentials_set"].clone()),
        (Some(2), json!(["secret_key", "webhook_secret"]))
    );
    let test = env.send("POST", &format!("/v1/payment-gateways/{id}/test"), Some(&admin), None).await.expect(200);
    assert_eq!((test["ok"].as_bool(), test["code"].as_str()), (Some(false), Some("gateway_refused")), "{test}");
    let stale = env
        .send("PATCH", &format!("/v1/payment-gateways/{id}"), Some(&admin), Some(json!({"name": "x", "version": 1})))
        .await;
    assert_eq!((stale.status, stale.code()), (409, "version_conflict"));

    // A gateway that does not answer: unavailable, not refused.
    env.send(
        "PATCH",
        &format!("/v1/payment-gateways/{id}"),
        Some(&admin),
        Some(json!({"base_url": "http://127.0.0.1:9", "version": 2})),
    )
    .await
    .expect(200);
    let test = env.send("POST", &format!("/v1/payment-gateways/{id}/test"), Some(&admin), None).await.expect(200);
    assert_eq!((test["ok"].as_bool(), test["code"].as_str()), (Some(false), Some("gateway_unavailable")), "{test}");

    // Disabled, still listed (checkouts and refunds name it).
    let off = env
        .send(
            "PATCH",
            &format!("/v1/payment-gateways/{id}"),
            Some(&admin),
            Some(json!({"status": "disabled", "version": 3})),
        )
        .await
        .expect(200);
    assert_eq!(off["status"], "disabled");
    let list = env.send("GET", "/v1/payment-gateways", Some(&admin), None).await.expect(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // The other gateways with adapters, each tested against its fake.
    let midtrans = FakeMidtrans::start("SB-Mid-server-demo").await;
    let ssl = FakeSslcommerz::start("demostore", "demopass").await;
    let bkash = FakeBkash::start("app-demo", "secret-demo", "merchant-demo", "pw-demo").await;
    let paypal = FakePaypal::start("client-demo", "secret-demo", "WH-DEMO").await;
    let paypal_creds =
        |secret: &str| json!({"client_id": "client-demo", "client_secret": secret, "webhook_id": "WH-DEMO"});
    let bkash_creds = |secret: &str| json!({"app_key": "app-demo", "app_secret": secret, "username": "merchant-demo", "password": "pw-demo"});
    let nagad = FakeNagad::start("683002007104225", &public_key_base64(FAKE_MERCHANT_KEY_PEM)).await;
    // Nagad's key for the merchant, and a merchant key Nagad was never given.
    let nagad_creds = |private: &str| {
        json!({"merchant_id": "683002007104225", "merchant_private_key": private,
        "pg_public_key": public_key_base64(FAKE_RSA_KEY_PEM)})
    };
    for (body, expect_ok) in [
        (
            json!({"gateway": "midtrans", "credentials": {"server_key": "SB-Mid-server-demo"}, "base_url": midtrans.base_url()}),
            true,
        ),
        (
            json!({"gateway": "midtrans", "credentials": {"server_key": "SB-Mid-server-nope"}, "base_url": midtrans.base_url()}),
            false,
        ),
        (
            json!({"gateway": "sslcommerz", "credentials": {"store_id": "demostore", "store_password": "demopass"}, "base_url": ssl.base_url()}),
            true,
        ),
        (
            json!({"gateway": "sslcommerz", "credentials": {"store_id": "demostore", "store_password": "nope"}, "base_url": ssl.base_url()}),
            false,
        ),
        (json!({"gateway": "bkash", "credentials": bkash_creds("secret-demo"), "base_url": bkash.base_url()}), true),
        (json!({"gateway": "bkash", "credentials": bkash_creds("nope"), "base_url": bkash.base_url()}), false),
        (json!({"gateway": "paypal", "credentials": paypal_creds("secret-demo"), "base_url": paypal.base_url()}), true),
        (json!({"gateway": "paypal", "credentials": paypal_creds("nope"), "base_url": paypal.base_url()}), false),
        (
            json!({"gateway": "nagad", "credentials": nagad_creds(FAKE_MERCHANT_KEY_PEM), "base_url": nagad.base_url()}),
            true,
        ),
        (
            json!({"gateway": "nagad", "credentials": nagad_creds(FAKE_RSA_KEY_PEM), "base_url": nagad.base_url()}),
            false,
        ),
    ] {
        let mut b = body.clone();
        b["mode"] = json!("sandbox");
        b["name"] = json!(format!("{} {expect_ok}", body["gateway"]));
        b["success_url"] = json!("https://isp.example/paid");
        b["cancel_url"] = json!("https://isp.example/cancelled");
        let a = env.send("POST", "/v1/payment-gateways", Some(&admin), Some(b)).await.expect(201);
        let t = env
            .send("POST", &format!("/v1/payment-gateways/{}/test", a["id"].as_str().unwrap()), Some(&admin), None)
            .await
            .expect(200);
        assert_eq!(t["ok"].as_bool(), Some(expect_ok), "{body}: {t}");
    }
}

#[tokio::test]
async fn bad_accounts_are_refused_and_change_nothing() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let before = env.table_snapshot().await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({"base_url": "https://169.254.169.254"}), "base_url"),
        (json!({"base_url": "https://metadata.google.internal"}), "base_url"),
        (json!({"base_url": "http://api.stripe.example"}), "base_url"),
        (json!({"mode": "live", "base_url": "https://api.stripe.example"}), "base_url"),
        (json!({"success_url": "javascript:alert(1)"}), "success_url"),
        (json!({"cancel_url": "http://isp.example/no"}), "cancel_url"),
        (json!({"credentials": {"secret_key": "sk"}}), "credentials.webhook_secret"),
        (json!({"credentials": {"secret_key": "sk", "webhook_secret": "wh", "extra": "x"}}), "credentials.extra"),
        (json!({"credentials": {"secret_key": "", "webhook_secret": "wh"}}), "credentials.secret_key"),
        (json!({"gateway": "nagad", "credentials": {}}), "credentials.merchant_private_key"),
        (
            json!({"gateway": "nagad", "credentials": {"merchant_id": "1", "merchant_private_key": "not a key",
                "pg_public_key": public_key_base64(FAKE_RSA_KEY_PEM)}}),
            "credentials.merchant_private_key",
        ),
        (
            json!({"gateway": "nagad", "credentials": {"merchant_id": "1", "merchant_private_key": FAKE_MERCHANT_KEY_PEM,
                "pg_public_key": "MIIBIjANBgkq"}}),
            "credentials.pg_public_key",
        ),
        (json!({"gateway": "bkash", "credentials": {"app_key": "k"}}), "credentials.app_secret"),
        (json!({"methods": ["card", "bad method!"]}), "methods"),
        (json!({"name": ""}), "name"),
    ];
    for (patch, field) in cases {
        let mut body = stripe_body(None, "sk_test_x");
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let a = env.send("POST", "/v1/payment-gateways", Some(&admin), Some(body.clone())).await;
        let fields: Vec<&str> = a.body["errors"]
            .as_array()
            .map(|e| e.iter().filter_map(|x| x["field"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(a.status, 422, "{body}: {}", a.body);
        assert!(fields.contains(&field), "{body}: {fields:?}");
    }
    for (body, status) in [
        (json!({"gateway": "unknown"}), 400),
        (json!({"gateway": "stripe", "mode": "sandbox"}), 400),
        (json!({"gateway": "stripe", "surprise": 1}), 400),
    ] {
        let a = env.send("POST", "/v1/payment-gateways", Some(&admin), Some(body.clone())).await;
        assert!((400..=422).contains(&a.status) && a.status >= status, "{body}: {} {}", a.status, a.body);
    }
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
}

#[tokio::test]
async fn only_the_isps_admin_or_the_platform_owner_manages_accounts() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let id = env
        .send("POST", "/v1/payment-gateways", Some(&admin), Some(stripe_body(None, "sk_test_admin")))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    for role in ["manager", "operator", "staff"] {
        let (_, token) = env.create_user(&admin, role, &format!("{role}-gw@demo.test"), None).await;
        for (method, path) in
            [("GET", "/v1/payment-gateways".to_string()), ("GET", format!("/v1/payment-gateways/{id}"))]
        {
            let a = env.send(method, &path, Some(&token), None).await;
            assert_eq!(a.status, 403, "{role} {method} {path}");
        }
        let a = env.send("POST", "/v1/payment-gateways", Some(&token), Some(stripe_body(None, "sk_test_x"))).await;
        assert_eq!(a.status, 403, "{role} creates");
    }
    // The platform owner keeps its own accounts, apart from every ISP's.
    let owner = env.owner().await;
    let platform = env
        .send("POST", "/v1/payment-gateways", Some(&owner), Some(stripe_body(None, "sk_test_platform")))
        .await
        .expect(201);
    assert!(platform["tenant_id"].is_null());
    let theirs = env.send("GET", "/v1/payment-gateways", Some(&owner), None).await.expect(200);
    assert_eq!(theirs["items"].as_array().unwrap().len(), 1);
    assert_eq!(env.send("GET", &format!("/v1/payment-gateways/{id}"), Some(&owner), None).await.status, 404);
    let isp = env.send("GET", "/v1/payment-gateways", Some(&admin), None).await.expect(200);
    assert_eq!(isp["items"].as_array().unwrap().len(), 1);
    assert_eq!(isp["items"][0]["id"], id.as_str());
}
