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
