//! Platform resellers pay the platform owner online: ISP slots and renewals through the owner's
//! own gateway account, settled once by the gateway's signed notification; an expired reseller's
//! ISPs are back at once.

use crate::checkouts::account;
use e2e_tests::Env;
use gateways::testing::FakeStripe;
use serde_json::{Value, json};

pub(crate) struct Platform {
    pub(crate) stripe: FakeStripe,
    pub(crate) owner: String,
    pub(crate) reseller: String,
    pub(crate) rid: String,
    pub(crate) account: String,
}

/// The owner's Stripe account and the reseller's prices (BDT 500 a slot, BDT 2,000 a month).
pub(crate) async fn platform(env: &Env) -> Platform {
    let owner = env.owner().await;
    let stripe = FakeStripe::start("sk_test_platform", "whsec_platform").await;
    let account_id = account(
        env,
        &owner,
        json!({"gateway": "stripe", "base_url": stripe.base_url(),
            "credentials": {"secret_key": "sk_test_platform", "webhook_secret": "whsec_platform"}}),
    )
    .await;
    let rid = env.seed.reseller_id.unwrap().to_string();
    let r = env.send("GET", &format!("/v1/platform-resellers/{rid}"), Some(&owner), None).await.expect(200);
    env.send(
        "PATCH",
        &format!("/v1/platform-resellers/{rid}"),
        Some(&owner),
        Some(json!({"prices": {"currency": "BDT", "isp_slot": 50_000, "month": 200_000}, "version": r["version"]})),
    )
    .await
    .expect(200);
    Platform { stripe, owner, reseller: env.reseller().await, rid, account: account_id }
}

pub(crate) async fn buy(env: &Env, p: &Platform, token: &str, key: &str, purchase: Value) -> e2e_tests::Answer {
    env.send_with(
        "POST",
        &format!("/v1/platform-resellers/{}/checkouts", p.rid),
        Some(token),
        Some(json!({"purchase": purchase, "gateway_account_id": p.account})),
        &[("idempotency-key", key)],
    )
    .await
}

/// Stripe's notification of the paid session, delivered `times` times at once.
pub(crate) async fn paid_at_stripe(env: &Env, p: &Platform, checkout: &Value, times: usize) {
    let event = p.stripe.pay(checkout["reference"].as_str().unwrap());
    let url = format!("{}/v1/webhooks/stripe/{}", env.local.base_url, p.account);
    let t = env.clock.now().timestamp();
    let answers = futures::future::join_all((0..times).map(|_| p.stripe.deliver(&url, &event, t))).await;
    assert!(answers.iter().all(|s| *s == 200), "{answers:?}");
}

#[tokio::test]
async fn a_reseller_buys_isp_slots_once_however_often_stripe_says_so() {
    let env = Env::start().await;
    let p = platform(&env).await;
    let before = env.send("GET", &format!("/v1/platform-resellers/{}", p.rid), Some(&p.owner), None).await.expect(200);
    let created = buy(&env, &p, &p.reseller, "slots-1", json!({"kind": "isp_slots", "count": 3})).await.expect(201);
    assert_eq!((created["amount"].as_i64(), created["currency"].as_str()), (Some(150_000), Some("BDT")));
    assert_eq!(created["for"]["kind"], "platform");
    assert!(created["tenant_id"].is_null());
    let again = buy(&env, &p, &p.reseller, "slots-1", json!({"kind": "isp_slots", "count": 3})).await.expect(201);
    assert_eq!(again["id"], created["id"]);
    paid_at_stripe(&env, &p, &created, 20).await;
    let after = env.send("GET", &format!("/v1/platform-resellers/{}", p.rid), Some(&p.owner), None).await.expect(200);
    assert_eq!(after["isp_limit"].as_u64(), Some(before["isp_limit"].as_u64().unwrap() + 3), "{after:#}");
    let id = created["id"].as_str().unwrap();
    let shown =
        env.send("GET", &format!("/v1/platform-resellers/{}/checkouts/{id}", p.rid), Some(&p.reseller), None).await;
    assert_eq!(shown.expect(200)["state"], "paid");
    let list = env.send("GET", &format!("/v1/platform-resellers/{}/checkouts", p.rid), Some(&p.reseller), None).await;
    assert_eq!(list.expect(200)["items"].as_array().unwrap().len(), 1);
    // The same notification later changes nothing more.
    let settled = env.table_snapshot().await;
    paid_at_stripe(&env, &p, &created, 1).await;
    e2e_tests::assert_unchanged(&settled, &env.table_snapshot().await);

    // Bad purchases, another's account, an ISP's account: refused, nothing written.
    let admin = env.admin().await;
    let isp_account = account(
        &env,
        &admin,
        json!({"gateway": "stripe", "base_url": p.stripe.base_url(),
            "credentials": {"secret_key": "sk_test_platform", "webhook_secret": "whsec_isp"}}),
    )
    .await;
    let quiet = env.table_snapshot().await;
    for (purchase, status) in [
        (json!({"kind": "isp_slots", "count": 0}), 422),
        (json!({"kind": "renewal", "months": 37}), 422),
        (json!({"kind": "gold"}), 422),
        (json!({"kind": "isp_slots"}), 422),
    ] {
        let a = buy(&env, &p, &p.reseller, &format!("bad-{purchase}"), purchase.clone()).await;
        assert_eq!(a.status, status, "{purchase}: {}", a.body);
    }
    e2e_tests::assert_unchanged(&quiet, &env.table_snapshot().await);
    let with_isp_account = env
        .send_with(
            "POST",
            &format!("/v1/platform-resellers/{}/checkouts", p.rid),
            Some(&p.reseller),
            Some(json!({"purchase": {"kind": "isp_slots", "count": 1}, "gateway_account_id": isp_account})),
            &[("idempotency-key", "isp-acc")],
        )
        .await;
    assert_eq!(with_isp_account.status, 422, "{}", with_isp_account.body);
    let by_admin = buy(&env, &p, &admin, "admin-buys", json!({"kind": "isp_slots", "count": 1})).await;
    assert_eq!(by_admin.status, 404);
    // An ISP's checkout cannot use the platform's account.
    let (customer, _) = crate::checkouts::billed_customer_at(&env, &admin, 7, "01719-320007").await;
    let quiet2 = env.table_snapshot().await;
    let isp_with_platform = crate::checkouts::checkout(
        &env,
        &admin,
        "isp-platform",
        json!({"customer_id": customer, "amount": 100, "gateway_account_id": p.account}),
    )
    .await;
    assert_eq!(isp_with_platform.status, 422);
    e2e_tests::assert_unchanged(&quiet2, &env.table_snapshot().await);
}

#[tokio::test]
async fn an_expired_reseller_that_renews_online_has_its_isps_back_at_once() {
    let env = Env::start().await;
    let p = platform(&env).await;
    let r = env.send("GET", &format!("/v1/platform-resellers/{}", p.rid), Some(&p.owner), None).await.expect(200);
    let past = (env.clock.now() - chrono::Duration::days(3)).to_rfc3339();
    env.send(
        "PATCH",
        &format!("/v1/platform-resellers/{}", p.rid),
        Some(&p.owner),
        Some(json!({"subscription_expires_at": past, "version": r["version"]})),
    )
    .await
    .expect(200);
    let creds = json!({"email": env.creds.admin_email, "password": env.creds.admin_password});
    let locked = env.send("POST", "/v1/auth/login", None, Some(creds.clone())).await;
    assert_eq!((locked.status, locked.code()), (403, "subscription_expired"));
    // The reseller itself still works, and pays.
    let created = buy(&env, &p, &p.reseller, "renew-1", json!({"kind": "renewal", "months": 1})).await.expect(201);
    assert_eq!(created["amount"].as_i64(), Some(200_000));
    paid_at_stripe(&env, &p, &created, 3).await;
    let after = env.send("GET", &format!("/v1/platform-resellers/{}", p.rid), Some(&p.owner), None).await.expect(200);
    let expected = env.clock.now().checked_add_months(chrono::Months::new(1)).unwrap();
    let got: chrono::DateTime<chrono::Utc> = after["subscription_expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(got, expected, "a month from now, not from the old end");
    env.send("POST", "/v1/auth/login", None, Some(creds)).await.expect(200);
}

#[tokio::test]
async fn a_reseller_without_prices_cannot_buy() {
    let env = Env::start().await;
    let owner = env.owner().await;
    let stripe = FakeStripe::start("sk_test_platform", "whsec_platform").await;
    let account_id = account(
        &env,
        &owner,
        json!({"gateway": "stripe", "base_url": stripe.base_url(),
            "credentials": {"secret_key": "sk_test_platform", "webhook_secret": "whsec_platform"}}),
    )
    .await;
    let rid = env.seed.reseller_id.unwrap();
    let reseller = env.reseller().await;
    let before = env.table_snapshot().await;
    let a = env
        .send_with(
            "POST",
            &format!("/v1/platform-resellers/{rid}/checkouts"),
            Some(&reseller),
            Some(json!({"purchase": {"kind": "isp_slots", "count": 1}, "gateway_account_id": account_id})),
            &[("idempotency-key", "no-prices")],
        )
        .await;
    assert_eq!((a.status, a.code()), (409, "no_platform_prices"));
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
}
