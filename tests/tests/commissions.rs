//! Commissions through the local runner: a package's rule per level, credited to the operator's
//! and sub-operator's wallets in the transaction that applies their customer's payment (cash by
//! hand, online through the fake Stripe), once however often the payment is repeated or the
//! gateway's return arrives; the monthly report by operator from the aggregates, as JSON and CSV,
//! each operator seeing its own subtree; and who may set the rules.

use crate::checkouts::{browser, checkout, location, stripe_account};
use e2e_tests::Env;
use serde_json::{Value, json};

async fn wallet(env: &Env, token: &str, id: &str) -> i64 {
    env.send("GET", &format!("/v1/operators/{id}/wallet"), Some(token), None).await.expect(200)["balance"]
        .as_i64()
        .unwrap()
}

async fn commission_entries(env: &Env, token: &str, id: &str) -> Vec<Value> {
    let page =
        env.send("GET", &format!("/v1/operators/{id}/wallet/ledger?limit=200"), Some(token), None).await.expect(200);
    page["items"].as_array().unwrap().iter().filter(|e| e["kind"] == "commission").cloned().collect()
}

#[tokio::test]
async fn commissions_are_credited_with_the_payment_once_and_reported_by_operator_and_month() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let (op_id, op) = env.create_user(&admin, "operator", "op@commission.test", None).await;
    let (sub_id, sub) = env.create_user(&op, "sub_operator", "sub@commission.test", Some(&op_id)).await;
    let package = env.create_package(&admin, "Area 10M", "10M", 50_000).await["id"].as_str().unwrap().to_string();

    // The rule: the operator 10% of the package's money, the sub-operator 20.00 per paid invoice.
    let rule = json!({"operator": {"kind": "percent", "basis_points": 1_000},
        "sub_operator": {"kind": "fixed", "amount": 2_000}});
    let path = format!("/v1/packages/{package}/commission");
    let set = env.send("PUT", &path, Some(&admin), Some(rule.clone())).await.expect(200);
    assert_eq!((set["operator"]["basis_points"].as_i64(), set["version"].as_i64()), (Some(1_000), Some(1)));
    assert_eq!(env.send("GET", &path, Some(&op), None).await.expect(200)["sub_operator"]["amount"], 2_000);

    // Not allowed or not sense: an operator setting its own commission, shares out of range,
    // unknown kinds and fields, another ISP's package; nothing changes.
    let (_, other_admin) = env.other_tenant("commission-other").await;
    let before = env.table_snapshot().await;
    for (token, body, status) in [
        (&op, rule.clone(), 403),
        (&admin, json!({"operator": {"kind": "percent", "basis_points": 10_001}}), 422),
        (&admin, json!({"operator": {"kind": "fixed", "amount": -1}}), 422),
        (&admin, json!({"operator": {"kind": "bonus", "amount": 1}}), 422),
        (&admin, json!({"operator": {"kind": "percent", "basis_points": 5, "x": 1}}), 422),
        (&admin, json!({"level": "all"}), 422),
        (&other_admin, rule.clone(), 404),
    ] {
        let a = env.send("PUT", &path, Some(token), Some(body.clone())).await;
        assert_eq!(a.status, status, "{body}: {:?}", a.body);
    }
    assert_eq!(env.send("GET", &path, Some(&other_admin), None).await.status, 404);
    assert_eq!(env.send("DELETE", &path, Some(&sub), None).await.status, 403);
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);

    // The package offered down the tree; the sub-operator's customer, with an activated prepaid
    // subscription: its invoice.
    for who in [&op_id, &sub_id] {
        env.send(
            "PUT",
            &format!("/v1/packages/{package}/offers/{who}"),
            Some(&admin),
            Some(json!({"wholesale_price": 40_000})),
        )
        .await
        .expect(200);
    }
    let customer =
        env.create_customer(&sub, "Lane Payer", "01719-400001", "lane-payer").await["id"].as_str().unwrap().to_string();
    let router = env.create_router(&admin, "area-core", "10.4.0.1", None).await["id"].as_str().unwrap().to_string();
    let subscription = env.create_subscription(&admin, &customer, &package, &router, "lane-ppp").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.send("POST", &format!("/v1/subscriptions/{subscription}/activate"), Some(&admin), None).await.expect(200);
    let list = env.send("GET", &format!("/v1/invoices?customer_id={customer}"), Some(&admin), None).await.expect(200);
    let inv = list["items"][0].clone();
    let (inv_id, total, tax) =
        (inv["id"].as_str().unwrap().to_string(), inv["total"].as_i64().unwrap(), inv["tax"].as_i64().unwrap());
    assert_eq!(total, 50_000);

    // Cash for part of it, the request repeated: one payment, one commission (10% of the
    // package's net part of 20,000); the fixed share waits for the invoice to be paid.
    let cash = json!({"invoice_id": inv_id, "amount": 20_000, "method": "cash"});
    for _ in 0..3 {
        env.send_with("POST", "/v1/payments", Some(&admin), Some(cash.clone()), &[("idempotency-key", "comm-cash-1")])
            .await
            .expect(201);
    }
    let first = (20_000 * (total - tax) / total) / 10;
    assert_eq!((wallet(&env, &op, &op_id).await, wallet(&env, &sub, &sub_id).await), (first, 0));

    // The rest online: the payer's browser returns 20 times at once; settled once, earned once.
    let (stripe, account_id) = stripe_account(&env, &admin).await;
    let created = checkout(&env, &admin, "comm-co-1", json!({"invoice_id": inv_id, "gateway_account_id": account_id}))
        .await
        .expect(201);
    assert_eq!(created["amount"], 30_000);
    let page = browser().get(created["redirect_url"].as_str().unwrap()).send().await.unwrap();
    let back = location(&page);
    let returns: Vec<_> = (0..20).map(|_| browser().get(&back).send()).collect();
    for r in futures::future::join_all(returns).await {
        assert_eq!(r.unwrap().status().as_u16(), 303);
    }
    drop(stripe);
    let invoice = env.send("GET", &format!("/v1/invoices/{inv_id}"), Some(&admin), None).await.expect(200);
    assert_eq!(invoice["status"], "paid");
    let second = (30_000 * (total - tax) / total) / 10;
    assert_eq!(wallet(&env, &op, &op_id).await, first + second, "the operator earned on both payments, once each");
    assert_eq!(wallet(&env, &sub, &sub_id).await, 2_000, "the fixed share once the invoice is paid");
    let op_entries = commission_entries(&env, &admin, &op_id).await;
    let sub_entries = commission_entries(&env, &admin, &sub_id).await;
    assert_eq!((op_entries.len(), sub_entries.len()), (2, 1), "{op_entries:#?}");
    assert!(op_entries.iter().all(|e| e["counterparty"] == json!({"kind": "isp"})), "paid by the ISP: {op_entries:#?}");

    // The report: by month and operator; each operator sees its subtree; CSV too.
    let month = inv["issued_at"].as_str().unwrap()[..7].to_string();
    let report = |token: String| {
        let env = &env;
        async move { env.send("GET", "/v1/reports/commissions", Some(&token), None).await.expect(200) }
    };
    let earned = |r: &Value, who: &str| -> Option<(i64, i64)> {
        let m = r["months"].as_array().unwrap().iter().find(|m| m["month"] == month.as_str())?;
        let o = m["by_operator"].as_array().unwrap().iter().find(|o| o["operator_id"] == who)?;
        Some((o["amount"].as_i64().unwrap(), o["count"].as_i64().unwrap()))
    };
    let isp = report(admin.clone()).await;
    assert_eq!(earned(&isp, &op_id), Some((first + second, 2)), "{isp:#}");
    assert_eq!(earned(&isp, &sub_id), Some((2_000, 1)));
    let mine = report(op.clone()).await;
    assert_eq!((earned(&mine, &op_id), earned(&mine, &sub_id)), (Some((first + second, 2)), Some((2_000, 1))));
    let lane = report(sub.clone()).await;
    assert_eq!((earned(&lane, &op_id), earned(&lane, &sub_id)), (None, Some((2_000, 1))), "{lane:#}");
    let csv = env.get_raw("/v1/reports/commissions?format=csv", &sub).await;
    assert_eq!(csv.status(), 200);
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("month,operator_id,name,level,path,amount,count"), "{text}");
    assert!(
        text.contains(&format!("{month},{sub_id},sub_operator user,sub_operator,{op_id}/{sub_id},2000,1")),
        "{text}"
    );
    assert!(!text.contains(&format!(",{op_id},")), "the sub-operator sees only itself: {text}");
    let other = env.send("GET", "/v1/reports/commissions", Some(&other_admin), None).await.expect(200);
    assert!(
        other["months"].as_array().unwrap().iter().all(|m| m["by_operator"].as_array().unwrap().is_empty()),
        "{other:#}"
    );
    for bad in ["?from=2026-13", "?from=2026-12&to=2026-01", "?from=2020-01&to=2026-12", "?format=xml", "?x=1"] {
        let a = env.send("GET", &format!("/v1/reports/commissions{bad}"), Some(&admin), None).await;
        assert_eq!(a.status, 422, "{bad}: {:?}", a.body);
    }

    // A credit note of half the paid invoice takes half of what each earned on it back (the same
    // request again: once); the month's report shows what is left, the count of payments stays.
    let op_before = wallet(&env, &op, &op_id).await;
    for _ in 0..2 {
        env.send_with(
            "POST",
            &format!("/v1/invoices/{inv_id}/credit-notes"),
            Some(&admin),
            Some(json!({"amount": total / 2, "reason": "a fortnight without service"})),
            &[("idempotency-key", "comm-cn-1")],
        )
        .await
        .expect(201);
    }
    let op_back = (first + second + 1) / 2;
    assert!((wallet(&env, &op, &op_id).await - (op_before - op_back)).abs() <= 1, "the operator gives back half");
    assert_eq!(wallet(&env, &sub, &sub_id).await, 1_000, "the sub-operator half of its 20.00");
    let after = report(admin.clone()).await;
    let (op_left, op_count) = earned(&after, &op_id).unwrap();
    assert!((op_left - (first + second - op_back)).abs() <= 1 && op_count == 2, "{after:#}");
    assert_eq!(earned(&after, &sub_id), Some((1_000, 1)));
    let backs = commission_entries(&env, &admin, &sub_id).await;
    assert_eq!(backs.len(), 1, "a reversal is its own kind: {backs:#?}");
    let ledger =
        env.send("GET", &format!("/v1/operators/{sub_id}/wallet/ledger"), Some(&admin), None).await.expect(200);
    assert_eq!(ledger["items"][0]["kind"], "commission_reversal");
    assert_eq!(ledger["items"][0]["amount"], -1_000);

    // Without a rule the earners' own rates apply (none set here: nothing more is earned).
    env.send("DELETE", &path, Some(&admin), None).await;
    assert_eq!(env.send("GET", &path, Some(&admin), None).await.expect(200)["version"], 0);
}
