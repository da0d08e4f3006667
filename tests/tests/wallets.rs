//! Operators' wallets through the local runner: the ISP tops an operator up, the operator moves
//! money to its sub-operator and back, every movement two entries that sum to zero, a balance
//! never below its floor even under 50 concurrent transfers, and only the right people move it.

use e2e_tests::Env;
use serde_json::{Value, json};

async fn wallet(env: &Env, token: &str, id: &str) -> Value {
    env.send("GET", &format!("/v1/operators/{id}/wallet"), Some(token), None).await.expect(200)
}

async fn ledger(env: &Env, token: &str, id: &str) -> Vec<Value> {
    env.send("GET", &format!("/v1/operators/{id}/wallet/ledger?limit=200"), Some(token), None).await.expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn top_ups_and_transfers_keep_the_books_balanced_and_a_wallet_never_overdrawn() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let (op_id, op) = env.create_user(&admin, "operator", "op@wallet.test", None).await;
    let (sub_id, sub) = env.create_user(&op, "sub_operator", "sub@wallet.test", Some(&op_id)).await;
    let (other_id, _) = env.create_user(&admin, "operator", "other@wallet.test", None).await;
    assert_eq!(wallet(&env, &op, &op_id).await["balance"], 0);

    // The ISP tops the operator up: once however often the request is repeated.
    let body = json!({"amount": 10_000, "method": "cash", "reference": "RCPT-1"});
    let key = [("idempotency-key", "top-1")];
    let path = format!("/v1/operators/{op_id}/wallet/top-ups");
    let first = env.send_with("POST", &path, Some(&admin), Some(body.clone()), &key).await.expect(201);
    let again = env.send_with("POST", &path, Some(&admin), Some(body), &key).await.expect(201);
    assert_eq!(first["movement_id"], again["movement_id"]);
    assert_eq!((first["entry"]["amount"].as_i64(), first["wallet"]["balance"].as_i64()), (Some(10_000), Some(10_000)));
    assert_eq!(wallet(&env, &op, &op_id).await["balance"], 10_000);

    // Fifty concurrent transfers of 1,000 to the sub-operator: exactly ten pass.
    let transfers = (0..50).map(|i| {
        let (env, op, op_id, sub_id) = (&env, op.clone(), op_id.clone(), sub_id.clone());
        async move {
            env.send_with(
                "POST",
                &format!("/v1/operators/{op_id}/wallet/transfers"),
                Some(&op),
                Some(json!({"to_operator_id": sub_id, "amount": 1_000})),
                &[("idempotency-key", &format!("race-{i}"))],
            )
            .await
        }
    });
    let answers = futures::future::join_all(transfers).await;
    let passed = answers.iter().filter(|a| a.status == 201).count();
    let refused = answers.iter().filter(|a| a.status == 409 && a.code() == "insufficient_balance").count();
    assert_eq!(
        (passed, refused),
        (10, 40),
        "{:?}",
        answers.iter().map(|a| (a.status, a.code().to_string())).collect::<Vec<_>>()
    );
    assert_eq!(wallet(&env, &op, &op_id).await["balance"], 0);
    assert_eq!(wallet(&env, &sub, &sub_id).await["balance"], 10_000);

    // And back: the sub-operator returns some; the operator pulls some back.
    env.send_with(
        "POST",
        &format!("/v1/operators/{sub_id}/wallet/transfers"),
        Some(&sub),
        Some(json!({"to_operator_id": op_id, "amount": 2_500, "note": "returned"})),
        &[("idempotency-key", "back-1")],
    )
    .await
    .expect(201);
    env.send_with(
        "POST",
        &format!("/v1/operators/{sub_id}/wallet/transfers"),
        Some(&op),
        Some(json!({"to_operator_id": op_id, "amount": 500})),
        &[("idempotency-key", "back-2")],
    )
    .await
    .expect(201);
    assert_eq!(wallet(&env, &op, &op_id).await["balance"], 3_000);
    assert_eq!(wallet(&env, &sub, &sub_id).await["balance"], 7_000);

    // The books: each wallet's entries run to its balance; all of them with the ISP's side sum to zero.
    let op_entries = ledger(&env, &admin, &op_id).await;
    let sub_entries = ledger(&env, &admin, &sub_id).await;
    assert_eq!(op_entries.len(), 1 + 10 + 2);
    assert_eq!(op_entries[0]["balance_after"], 3_000, "newest first");
    let sum = |es: &[Value]| es.iter().map(|e| e["amount"].as_i64().unwrap()).sum::<i64>();
    assert_eq!((sum(&op_entries), sum(&sub_entries)), (3_000, 7_000));
    assert_eq!(sum(&op_entries) + sum(&sub_entries) - 10_000, 0, "the ISP's side holds -10,000");

    // Not allowed: a sub-operator topping up, an operator paying another operator's tree, a
    // transfer without a key, more than the wallet holds, nonsense amounts; nothing changes.
    let before = env.table_snapshot().await;
    let cases = [
        (&sub, format!("/v1/operators/{sub_id}/wallet/top-ups"), json!({"amount": 100, "method": "cash"}), 403),
        (&op, format!("/v1/operators/{op_id}/wallet/top-ups"), json!({"amount": 100, "method": "cash"}), 403),
        (
            &op,
            format!("/v1/operators/{op_id}/wallet/transfers"),
            json!({"to_operator_id": other_id, "amount": 100}),
            422,
        ),
        (
            &op,
            format!("/v1/operators/{op_id}/wallet/transfers"),
            json!({"to_operator_id": sub_id, "amount": 3_001}),
            409,
        ),
        (&op, format!("/v1/operators/{op_id}/wallet/transfers"), json!({"to_operator_id": sub_id, "amount": 0}), 422),
        (&op, format!("/v1/operators/{op_id}/wallet/transfers"), json!({"to_operator_id": sub_id, "amount": -5}), 422),
        (&admin, format!("/v1/operators/{op_id}/wallet/top-ups"), json!({"amount": 100, "method": "gold"}), 422),
        (
            &admin,
            format!("/v1/operators/{op_id}/wallet/top-ups"),
            json!({"amount": 100, "method": "cash", "x": 1}),
            422,
        ),
        (
            &admin,
            format!("/v1/operators/{}/wallet/top-ups", uuid::Uuid::now_v7()),
            json!({"amount": 100, "method": "cash"}),
            404,
        ),
    ];
    for (i, (token, path, body, status)) in cases.into_iter().enumerate() {
        let a = env
            .send_with("POST", &path, Some(token), Some(body.clone()), &[("idempotency-key", &format!("bad-{i}"))])
            .await;
        assert!(a.status == status || (status == 422 && a.status == 400), "{path} {body}: {} {:#}", a.status, a.body);
    }
    let no_key = env
        .send(
            "POST",
            &format!("/v1/operators/{op_id}/wallet/top-ups"),
            Some(&admin),
            Some(json!({"amount": 1, "method": "cash"})),
        )
        .await;
    assert_eq!((no_key.status, no_key.code()), (400, "idempotency_key_required"));
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);

    // Another operator's tree and another ISP see nothing of it.
    let other = env.token("other@wallet.test", "staff-pass-123").await;
    for path in [format!("/v1/operators/{op_id}/wallet"), format!("/v1/operators/{sub_id}/wallet/ledger")] {
        assert_eq!(env.send("GET", &path, Some(&other), None).await.status, 404, "{path}");
    }
    let (_, intruder) = env.other_tenant("wallet-intruder").await;
    assert_eq!(env.send("GET", &format!("/v1/operators/{op_id}/wallet"), Some(&intruder), None).await.status, 404);
}

/// An operator's sales: activating, renewing and upgrading its customer's package is paid from
/// its wallet at its price for the package, in the change's own transaction (a wallet that cannot
/// pay refuses the change, nothing written); voiding the invoice the change made gives it back,
/// once; the ISP's staff changing the same customer's package move no operator money.
#[tokio::test]
async fn an_operators_wallet_pays_for_what_it_sells_and_gets_it_back_when_voided() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let (op_id, op) = env.create_user(&admin, "operator", "seller@wallet.test", None).await;
    let basic = env.create_package(&admin, "Seller 5M", "5M", 50_000).await["id"].as_str().unwrap().to_string();
    let fast = env.create_package(&admin, "Seller 20M", "20M", 90_000).await["id"].as_str().unwrap().to_string();
    for (package, wholesale, price) in [(&basic, 30_000, 50_000), (&fast, 60_000, 90_000)] {
        env.send(
            "PUT",
            &format!("/v1/packages/{package}/offers/{op_id}"),
            Some(&admin),
            Some(json!({"wholesale_price": wholesale, "price": price})),
        )
        .await
        .expect(200);
    }
    let router = env.create_router(&admin, "seller-core", "10.7.0.1", None).await["id"].as_str().unwrap().to_string();
    env.send_with(
        "POST",
        &format!("/v1/operators/{op_id}/wallet/top-ups"),
        Some(&admin),
        Some(json!({"amount": 50_000, "method": "cash"})),
        &[("idempotency-key", "seller-top-1")],
    )
    .await
    .expect(201);
    let customer = |n: u32| {
        let (env, op, router, basic) = (&env, op.clone(), router.clone(), basic.clone());
        async move {
            let c = env
                .create_customer(&op, &format!("Bought {n}"), &format!("01719-60000{n}"), &format!("bought{n}"))
                .await;
            let c = c["id"].as_str().unwrap().to_string();
            env.create_subscription(&op, &c, &basic, &router, &format!("bought{n}-ppp")).await["id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let act = |token: String, sub: String, action: &'static str, body: Option<Value>| {
        let env = &env;
        async move { env.send("POST", &format!("/v1/subscriptions/{sub}/{action}"), Some(&token), body).await }
    };

    // The first activation: 300.00 of 500.00 paid; the second would need 300.00 of the 200.00
    // left: refused, the subscription still pending, nothing written.
    let first = customer(1).await;
    act(op.clone(), first.clone(), "activate", None).await.expect(200);
    assert_eq!(wallet(&env, &op, &op_id).await["balance"], 20_000);
    let second = customer(2).await;
    let before = env.table_snapshot().await;
    let refused = act(op.clone(), second.clone(), "activate", None).await;
    assert_eq!((refused.status, refused.code()), (409, "insufficient_balance"), "{:?}", refused.body);
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
    let pending = env.send("GET", &format!("/v1/subscriptions/{second}"), Some(&op), None).await.expect(200);
    assert_eq!(pending["status"], "pending");

    // A renewal of 15 of the 30 days: half the operator's price.
    act(op.clone(), first.clone(), "extend", Some(json!({"days": 15}))).await.expect(200);
    assert_eq!(wallet(&env, &op, &op_id).await["balance"], 5_000);
    // An upgrade needs its difference for the time left (more than the 50.00 left): refused.
    let upgrade = act(op.clone(), first.clone(), "change-package", Some(json!({"package_id": fast}))).await;
    assert_eq!((upgrade.status, upgrade.code()), (409, "insufficient_balance"), "{:?}", upgrade.body);

    // The ISP voids the activation invoice: the 300.00 returns, once however often it is asked.
    let invoices = env
        .send(
            "GET",
            &format!("/v1/invoices?customer_id={}", pending["customer_id"].as_str().unwrap()),
            Some(&admin),
            None,
        )
        .await
        .expect(200);
    assert!(invoices["items"].as_array().unwrap().is_empty(), "the refused activation billed nothing: {invoices:#}");
    let sub = env.send("GET", &format!("/v1/subscriptions/{first}"), Some(&op), None).await.expect(200);
    let invoices = env
        .send("GET", &format!("/v1/invoices?customer_id={}", sub["customer_id"].as_str().unwrap()), Some(&admin), None)
        .await
        .expect(200);
    let activation = invoices["items"].as_array().unwrap().iter().find(|i| i["kind"] == "activation").unwrap().clone();
    let path = format!("/v1/invoices/{}/void", activation["id"].as_str().unwrap());
    env.send("POST", &path, Some(&admin), Some(json!({"reason": "sold by mistake"}))).await.expect(200);
    let again = env.send("POST", &path, Some(&admin), Some(json!({"reason": "sold by mistake"}))).await;
    assert_eq!(again.status, 409, "{:?}", again.body);
    assert_eq!(wallet(&env, &op, &op_id).await["balance"], 35_000);

    // The upgrade with 45 days left: the 300.00 difference per 30 days, for 45: 450.00. Topped
    // up, it is paid; the ISP's staff downgrading it again moves no operator money.
    let still = act(op.clone(), first.clone(), "change-package", Some(json!({"package_id": fast}))).await;
    assert_eq!(still.status, 409, "{:?}", still.body);
    env.send_with(
        "POST",
        &format!("/v1/operators/{op_id}/wallet/top-ups"),
        Some(&admin),
        Some(json!({"amount": 20_000, "method": "cash"})),
        &[("idempotency-key", "seller-top-2")],
    )
    .await
    .expect(201);
    act(op.clone(), first.clone(), "change-package", Some(json!({"package_id": fast}))).await.expect(200);
    let after_upgrade = wallet(&env, &op, &op_id).await["balance"].as_i64().unwrap();
    assert_eq!(after_upgrade, 55_000 - 45_000);
    act(admin.clone(), first.clone(), "change-package", Some(json!({"package_id": basic}))).await.expect(200);
    assert_eq!(wallet(&env, &op, &op_id).await["balance"], after_upgrade);

    // A credit note of half the upgrade's invoice gives back half of what the upgrade cost; the
    // same request again changes nothing.
    let customer_id = sub["customer_id"].as_str().unwrap();
    let invoices =
        env.send("GET", &format!("/v1/invoices?customer_id={customer_id}"), Some(&admin), None).await.expect(200);
    let upgrade_inv = invoices["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "package_change" && i["total"].as_i64().unwrap() > 0)
        .unwrap()
        .clone();
    let half = upgrade_inv["total"].as_i64().unwrap() / 2;
    for _ in 0..2 {
        env.send_with(
            "POST",
            &format!("/v1/invoices/{}/credit-notes", upgrade_inv["id"].as_str().unwrap()),
            Some(&admin),
            Some(json!({"amount": half, "reason": "line was down for two weeks"})),
            &[("idempotency-key", "seller-cn-1")],
        )
        .await
        .expect(201);
    }
    let share = (45_000 * half + upgrade_inv["total"].as_i64().unwrap() / 2) / upgrade_inv["total"].as_i64().unwrap();
    assert!((share - 22_500).abs() <= 1, "{share}");
    assert_eq!(wallet(&env, &op, &op_id).await["balance"].as_i64().unwrap(), after_upgrade + share);

    // The ledger: top-up, activation, renewal, reversal, upgrade, its share back; it sums to the
    // balance.
    let entries = ledger(&env, &admin, &op_id).await;
    let kinds: Vec<&str> = entries.iter().rev().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["top_up", "package_sale", "package_sale", "sale_reversal", "top_up", "package_sale", "sale_reversal"]
    );
    assert_eq!(entries.iter().map(|e| e["amount"].as_i64().unwrap()).sum::<i64>(), after_upgrade + share);
}

/// An operator tops up its own wallet online through the ISP's (fake) Stripe: the money arrives
/// once however many times the payer's browser comes back; another operator's wallet is not its
/// to pay into, and "online" is never recorded by hand.
#[tokio::test]
async fn an_operator_tops_up_its_wallet_online_once() {
    use crate::checkouts::{browser, checkout, location, stripe_account};
    let env = Env::start().await;
    let admin = env.admin().await;
    let (op_id, op) = env.create_user(&admin, "operator", "online@wallet.test", None).await;
    let (other_id, _) = env.create_user(&admin, "operator", "other-online@wallet.test", None).await;
    let (_stripe, account_id) = stripe_account(&env, &admin).await;

    let body = json!({"operator_id": op_id, "amount": 25_000, "gateway_account_id": account_id});
    let created = checkout(&env, &op, "top-online-1", body).await.expect(201);
    assert_eq!(created["for"], json!({"kind": "wallet_top_up", "operator_id": op_id}));
    let page = browser().get(created["redirect_url"].as_str().unwrap()).send().await.unwrap();
    let back = location(&page);
    let returns: Vec<_> = (0..10).map(|_| browser().get(&back).send()).collect();
    for r in futures::future::join_all(returns).await {
        assert_eq!(r.unwrap().status().as_u16(), 303);
    }
    let id = created["id"].as_str().unwrap();
    assert_eq!(env.send("GET", &format!("/v1/checkouts/{id}"), Some(&admin), None).await.expect(200)["state"], "paid");
    assert_eq!(wallet(&env, &op, &op_id).await["balance"], 25_000, "topped up once");
    let entries = ledger(&env, &op, &op_id).await;
    assert_eq!(entries.len(), 1);
    assert_eq!((entries[0]["method"].as_str(), entries[0]["kind"].as_str()), (Some("online"), Some("top_up")));

    let before = env.table_snapshot().await;
    for (body, field) in [
        (json!({"operator_id": other_id, "amount": 100, "gateway_account_id": account_id}), "operator_id"),
        (json!({"operator_id": op_id, "gateway_account_id": account_id}), "amount"),
        (
            json!({"operator_id": op_id, "customer_id": op_id, "amount": 1, "gateway_account_id": account_id}),
            "operator_id",
        ),
    ] {
        let a = checkout(&env, &op, "top-online-2", body.clone()).await;
        assert_eq!((a.status, a.body["errors"][0]["field"].as_str()), (422, Some(field)), "{body}");
    }
    let by_hand = env
        .send_with(
            "POST",
            &format!("/v1/operators/{op_id}/wallet/top-ups"),
            Some(&admin),
            Some(json!({"amount": 100, "method": "online"})),
            &[("idempotency-key", "top-online-3")],
        )
        .await;
    assert_eq!((by_hand.status, by_hand.body["errors"][0]["field"].as_str()), (422, Some("method")));
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
}

/// The ISP sets an operator's low-balance threshold; the payment that takes the wallet below it
/// (here a transfer to its sub-operator) tells the operator by SMS through the ISP's account,
/// once per fall: further payments below it say nothing, a top-up and a new fall say it again.
#[tokio::test]
async fn an_operator_is_told_once_when_its_wallet_falls_below_the_threshold() {
    use messaging::sms::SmsProvider;
    use messaging::testing::FakeSms;
    let env = Env::start().await;
    let admin = env.admin().await;
    let sms = FakeSms::start(SmsProvider::SslWireless, &[("api_token", "ssl-token-demo")]).await;
    crate::notifications::sms_channel(&env, &admin, &sms).await;
    let op = env
        .send(
            "POST",
            "/v1/users",
            Some(&admin),
            Some(json!({"name": "Lane Cable", "email": "low@wallet.test", "password": "staff-pass-123",
                "role": "operator", "phone": "+8801719900001"})),
        )
        .await
        .expect(201);
    let op_id = op["id"].as_str().unwrap().to_string();
    let op = env.token("low@wallet.test", "staff-pass-123").await;
    let (sub_id, _) = env.create_user(&op, "sub_operator", "low-sub@wallet.test", Some(&op_id)).await;
    let profile = |alert: i64, version: u64| {
        json!({"commission_rate_bps": 0, "credit_limit": 0,
        "low_balance_alert": alert, "version": version})
    };
    let bad = env.send("PUT", &format!("/v1/operators/{op_id}/profile"), Some(&admin), Some(profile(-1, 0))).await;
    assert_eq!((bad.status, bad.body["errors"][0]["field"].as_str()), (422, Some("low_balance_alert")));
    env.send("PUT", &format!("/v1/operators/{op_id}/profile"), Some(&admin), Some(profile(10_000, 0)))
        .await
        .expect(200);
    let top_up = |amount: i64, key: &'static str| {
        let (env, admin, op_id) = (&env, admin.clone(), op_id.clone());
        async move {
            env.send_with(
                "POST",
                &format!("/v1/operators/{op_id}/wallet/top-ups"),
                Some(&admin),
                Some(json!({"amount": amount, "method": "cash"})),
                &[("idempotency-key", key)],
            )
            .await
            .expect(201);
        }
    };
    let give = |amount: i64, key: &'static str| {
        let (env, op, op_id, sub_id) = (&env, op.clone(), op_id.clone(), sub_id.clone());
        async move {
            env.send_with(
                "POST",
                &format!("/v1/operators/{op_id}/wallet/transfers"),
                Some(&op),
                Some(json!({"to_operator_id": sub_id, "amount": amount})),
                &[("idempotency-key", key)],
            )
            .await
            .expect(201);
        }
    };
    let told = || sms.messages().into_iter().filter(|m| m.to.ends_with("1719900001")).collect::<Vec<_>>();
    top_up(30_000, "low-top-1").await;
    give(15_000, "low-give-1").await; // 15,000: above
    give(6_000, "low-give-2").await; // 9,000: below -> told
    assert!(env.eventually(|| told().len() == 1).await, "{:?}", sms.messages());
    let text = &told()[0].text;
    assert!(text.contains("Lane Cable") && text.contains("BDT 90.00") && text.contains("BDT 100.00"), "{text}");
    give(1_000, "low-give-3").await; // 8,000: still below, nothing new
    top_up(20_000, "low-top-2").await; // 28,000
    give(20_000, "low-give-4").await; // 8,000: below again -> told again
    assert!(env.eventually(|| told().len() == 2).await, "{:?}", sms.messages());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(told().len(), 2, "once per fall");
}
