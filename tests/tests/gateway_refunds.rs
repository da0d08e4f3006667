//! Refunds of online payments through the gateway's refund API, end to end: the invoice credited
//! by a credit note, the money paid back at the gateway once (its idempotency key, a lost answer,
//! concurrent repeats), the refund in the customer's books; a refusal leaves the money as credit.

use crate::checkouts::{account, billed_customer_at, browser, checkout, location, stripe_account};
use e2e_tests::Env;
use gateways::testing::FakeStripe;
use serde_json::{Value, json};

struct Paid {
    stripe: FakeStripe,
    admin: String,
    customer: String,
    invoice: Value,
    checkout: Value,
}

/// An invoice paid in full through a Stripe checkout and the payer's return.
async fn paid_by_stripe(env: &Env, n: u32) -> Paid {
    let admin = env.admin().await;
    let (stripe, account_id) = stripe_account(env, &admin).await;
    let (customer, invoice) = billed_customer_at(env, &admin, n, &format!("01719-3100{n:02}")).await;
    let created = checkout(
        env,
        &admin,
        &format!("rf-co-{n}"),
        json!({"invoice_id": invoice["id"], "gateway_account_id": account_id}),
    )
    .await
    .expect(201);
    let page = browser().get(created["redirect_url"].as_str().unwrap()).send().await.unwrap();
    let back = browser().get(location(&page)).send().await.unwrap();
    assert!(location(&back).ends_with("&state=paid"));
    let checkout = env
        .send("GET", &format!("/v1/checkouts/{}", created["id"].as_str().unwrap()), Some(&admin), None)
        .await
        .expect(200);
    Paid { stripe, admin, customer, invoice, checkout }
}

async fn refund(env: &Env, p: &Paid, key: &str, body: Value) -> e2e_tests::Answer {
    let id = p.checkout["id"].as_str().unwrap();
    env.send_with(
        "POST",
        &format!("/v1/checkouts/{id}/refunds"),
        Some(&p.admin),
        Some(body),
        &[("idempotency-key", key)],
    )
    .await
}

async fn refunds_of(env: &Env, p: &Paid) -> Vec<Value> {
    let r = env.send("GET", &format!("/v1/customers/{}/refunds", p.customer), Some(&p.admin), None).await.expect(200);
    r.as_array().or_else(|| r["items"].as_array()).unwrap().clone()
}

#[tokio::test]
async fn a_refund_credits_the_invoice_pays_back_once_and_leaves_the_books_balanced() {
    let env = Env::start().await;
    let p = paid_by_stripe(&env, 1).await;
    let session = p.checkout["reference"].as_str().unwrap().to_string();
    let paid = p.invoice["amount_due"].as_i64().unwrap();
    let part = paid * 4 / 10;

    // Ten concurrent repeats of one request: one refund at Stripe, one in the books.
    let body = json!({"amount": part, "reason": "line down for a week"});
    let answers = futures::future::join_all((0..10).map(|_| refund(&env, &p, "rf-1", body.clone()))).await;
    let ok: Vec<_> = answers.iter().filter(|a| a.status == 201).collect();
    assert!(!ok.is_empty(), "{:?}", answers.iter().map(|a| (a.status, a.body.clone())).collect::<Vec<_>>());
    assert!(
        answers.iter().all(|a| [201, 409].contains(&a.status)),
        "a repeat either answers or is told one is running"
    );
    let done = refund(&env, &p, "rf-1", body.clone()).await.expect(201);
    let r = &done["refunds"][0];
    assert_eq!((r["state"].as_str(), r["amount"].as_i64()), (Some("done"), Some(part)), "{done:#}");
    assert!(r["gateway_refund_id"].as_str().unwrap().starts_with("re_test_"));
    assert_eq!(done["refunds"].as_array().unwrap().len(), 1);
    assert_eq!(done["state"], "paid", "partly refunded");
    assert_eq!(p.stripe.refunds_made(), 1);
    assert_eq!(p.stripe.session(&session).unwrap().refunded, part);
    // The invoice is credited by a note, the refund is in the books, the books balance.
    let inv_id = p.invoice["id"].as_str().unwrap();
    let notes = env.send("GET", &format!("/v1/invoices/{inv_id}/credit-notes"), Some(&p.admin), None).await.expect(200);
    let notes = notes.as_array().or_else(|| notes["items"].as_array()).unwrap().clone();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["amount"].as_i64(), Some(part));
    assert_eq!(r["credit_notes"][0]["credit_note_id"], notes[0]["id"]);
    let refunds = refunds_of(&env, &p).await;
    assert_eq!(refunds.len(), 1);
    assert_eq!(
        (refunds[0]["method"].as_str(), refunds[0]["reference"].as_str()),
        (Some("online"), r["gateway_refund_id"].as_str())
    );
    let books = env.books_balance(&p.admin, &p.customer).await;
    assert_eq!((books["balance"].as_i64(), books["credit"].as_i64()), (Some(0), Some(0)), "{books:#}");

    // The rest, whose answer Stripe loses: held, then the same request again pays it once.
    let rest = json!({"amount": paid - part, "reason": "moving away"});
    p.stripe.lose_next_refund_answer();
    let lost = refund(&env, &p, "rf-2", rest.clone()).await;
    assert_eq!(lost.status, 503, "{}", lost.body);
    let held =
        env.send("GET", &format!("/v1/customers/{}/account", p.customer), Some(&p.admin), None).await.expect(200);
    assert_eq!(held["held"].as_i64(), Some(paid - part), "{held:#}");
    let other = refund(&env, &p, "rf-3", json!({"amount": 1, "reason": "x"})).await;
    assert_eq!((other.status, other.code()), (409, "refund_in_progress"));
    let done = refund(&env, &p, "rf-2", rest.clone()).await.expect(201);
    assert_eq!(done["state"], "refunded");
    assert_eq!(p.stripe.refunds_made(), 2, "the repeat was Stripe's idempotent replay");
    assert_eq!(p.stripe.session(&session).unwrap().refunded, paid);
    assert_eq!(refunds_of(&env, &p).await.len(), 2);
    let books = env.books_balance(&p.admin, &p.customer).await;
    assert_eq!((books["balance"].as_i64(), books["credit"].as_i64()), (Some(0), Some(0)), "{books:#}");
    let invoice = env.send("GET", &format!("/v1/invoices/{inv_id}"), Some(&p.admin), None).await.expect(200);
    assert_eq!(invoice["amount_credited"].as_i64(), Some(paid), "{invoice:#}");

    // Nothing more to refund; a key reused for another amount; bad input. Nothing is written.
    let before = env.table_snapshot().await;
    let more = refund(&env, &p, "rf-4", json!({"amount": 1, "reason": "again"})).await;
    assert_eq!((more.status, more.code()), (422, "validation_failed"), "{}", more.body);
    let reused = refund(&env, &p, "rf-1", json!({"amount": 5, "reason": "line down for a week"})).await;
    assert_eq!((reused.status, reused.code()), (422, "idempotency_key_reused"));
    for bad in [
        json!({"amount": 0, "reason": "x"}),
        json!({"amount": 10}),
        json!({"amount": 10, "reason": ""}),
        json!({"amount": 10, "reason": "x", "extra": true}),
        json!("nope"),
    ] {
        let a = refund(&env, &p, &format!("bad-{bad}"), bad.clone()).await;
        assert_eq!(a.status, 422, "{bad}: {}", a.body);
    }
    let id = p.checkout["id"].as_str().unwrap();
    let no_key = env
        .send("POST", &format!("/v1/checkouts/{id}/refunds"), Some(&p.admin), Some(json!({"amount": 1, "reason": "x"})))
        .await;
    assert_eq!((no_key.status, no_key.code()), (400, "idempotency_key_required"));
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
}

#[tokio::test]
async fn a_refund_the_gateway_refuses_leaves_the_money_as_the_customers_credit() {
    let env = Env::start().await;
    let p = paid_by_stripe(&env, 2).await;
    let paid = p.invoice["amount_due"].as_i64().unwrap();
    // The ISP already refunded most of it in Stripe's dashboard: Stripe refuses ours.
    p.stripe.refund_in_dashboard(p.checkout["reference"].as_str().unwrap(), paid - 100);
    let refused = refund(&env, &p, "rf-x", json!({"amount": 500, "reason": "duplicate charge"})).await;
    assert_eq!((refused.status, refused.code()), (502, "gateway_refused_refund"), "{}", refused.body);
    let again = refund(&env, &p, "rf-x", json!({"amount": 500, "reason": "duplicate charge"})).await;
    assert_eq!((again.status, again.code()), (502, "gateway_refused_refund"), "a repeat is the same answer");
    let id = p.checkout["id"].as_str().unwrap();
    let c = env.send("GET", &format!("/v1/checkouts/{id}"), Some(&p.admin), None).await.expect(200);
    assert_eq!(c["refunds"][0]["state"], "refused");
    assert!(refunds_of(&env, &p).await.is_empty());
    let books = env.books_balance(&p.admin, &p.customer).await;
    assert_eq!((books["credit"].as_i64(), books["balance"].as_i64()), (Some(500), Some(-500)), "{books:#}");
    let acc = env.send("GET", &format!("/v1/customers/{}/account", p.customer), Some(&p.admin), None).await.expect(200);
    assert_eq!(acc["held"].as_i64(), Some(0));
    // Another ISP cannot refund it.
    let (_, other) = env.other_tenant("other-isp").await;
    let before = env.table_snapshot().await;
    let theirs = env
        .send_with(
            "POST",
            &format!("/v1/checkouts/{id}/refunds"),
            Some(&other),
            Some(json!({"amount": 1, "reason": "x"})),
            &[("idempotency-key", "steal")],
        )
        .await;
    assert_eq!(theirs.status, 404);
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
}

#[tokio::test]
async fn gateways_without_a_refund_api_say_so_and_write_nothing() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let aamarpay = gateways::testing::FakeAamarpay::start("aamarpaytest", "sig-isp").await;
    let account_id = account(
        &env,
        &admin,
        json!({"gateway": "aamarpay", "base_url": aamarpay.base_url(),
            "credentials": {"store_id": "aamarpaytest", "signature_key": "sig-isp"}}),
    )
    .await;
    let (_, inv) = billed_customer_at(&env, &admin, 3, "01719-310003").await;
    let created = checkout(&env, &admin, "rf-am", json!({"invoice_id": inv["id"], "gateway_account_id": account_id}))
        .await
        .expect(201);
    let before = env.table_snapshot().await;
    let id = created["id"].as_str().unwrap();
    let a = env
        .send_with(
            "POST",
            &format!("/v1/checkouts/{id}/refunds"),
            Some(&admin),
            Some(json!({"amount": 1, "reason": "x"})),
            &[("idempotency-key", "rf-am-1")],
        )
        .await;
    assert_eq!((a.status, a.code()), (409, "gateway_cannot_refund"));
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
}

#[tokio::test]
async fn a_refund_whose_request_went_away_is_finished_by_the_janitor() {
    let env = Env::start().await;
    let p = paid_by_stripe(&env, 4).await;
    let paid = p.invoice["amount_due"].as_i64().unwrap();
    p.stripe.lose_next_refund_answer();
    let lost = refund(&env, &p, "rf-gone", json!({"amount": paid, "reason": "cancelled the connection"})).await;
    assert_eq!(lost.status, 503);
    // Too fresh for the janitor: the requester may still repeat it.
    let at = env.clock.now().to_rfc3339();
    let report =
        env.send("POST", "/_local/jobs/job-payment-reconcile", None, Some(json!({"time": at}))).await.expect(200);
    assert_eq!(report["refunds_asked"], 0, "{report}");
    env.clock.advance(chrono::Duration::minutes(10));
    let at = env.clock.now().to_rfc3339();
    let report =
        env.send("POST", "/_local/jobs/job-payment-reconcile", None, Some(json!({"time": at}))).await.expect(200);
    assert_eq!((report["refunds_asked"].as_u64(), report["refunds_done"].as_u64()), (Some(1), Some(1)), "{report}");
    assert_eq!(p.stripe.refunds_made(), 1, "asked again with the same key: Stripe's replay");
    let admin = env.admin().await;
    let id = p.checkout["id"].as_str().unwrap();
    let c = env.send("GET", &format!("/v1/checkouts/{id}"), Some(&admin), None).await.expect(200);
    assert_eq!((c["state"].as_str(), c["refunds"][0]["state"].as_str()), (Some("refunded"), Some("done")));
    let books = env.books_balance(&admin, &p.customer).await;
    assert_eq!((books["balance"].as_i64(), books["credit"].as_i64()), (Some(0), Some(0)), "{books:#}");
    // Nothing is left for the next run.
    let at = env.clock.now().to_rfc3339();
    let report =
        env.send("POST", "/_local/jobs/job-payment-reconcile", None, Some(json!({"time": at}))).await.expect(200);
    assert_eq!(report["refunds_asked"], 0);
}
