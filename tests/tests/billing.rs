use e2e_tests::Env;
use serde_json::{Value, json};

struct Setup {
    admin: String,
    customer: String,
    sub: String,
    gold: String,
}

/// A customer with an active prepaid subscription (50.00 for 30 days): its activation invoice.
async fn setup(env: &Env) -> (Setup, Value) {
    let admin = env.admin().await;
    let customer =
        env.create_customer(&admin, "Payer One", "01719-200001", "payer1").await["id"].as_str().unwrap().to_string();
    let silver = env.create_package(&admin, "Silver 5M", "5M", 50_000).await["id"].as_str().unwrap().to_string();
    let gold = env.create_package(&admin, "Gold 10M", "10M", 80_000).await["id"].as_str().unwrap().to_string();
    let router = env.create_router(&admin, "core-b", "10.1.0.2", None).await["id"].as_str().unwrap().to_string();
    let sub = env.create_subscription(&admin, &customer, &silver, &router, "payer1-ppp").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.send("POST", &format!("/v1/subscriptions/{sub}/activate"), Some(&admin), None).await.expect(200);
    let list = env.send("GET", &format!("/v1/invoices?customer_id={customer}"), Some(&admin), None).await.expect(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list:#}");
    let inv = list["items"][0].clone();
    (Setup { admin, customer, sub, gold }, inv)
}

async fn pay(env: &Env, token: &str, key: &str, body: Value) -> e2e_tests::Answer {
    env.send_with("POST", "/v1/payments", Some(token), Some(body), &[("idempotency-key", key)]).await
}

async fn invoice(env: &Env, s: &Setup, id: &str) -> Value {
    env.send("GET", &format!("/v1/invoices/{id}"), Some(&s.admin), None).await.expect(200)
}

#[tokio::test]
async fn activation_invoice_partial_full_over_and_advance_payments() {
    let env = Env::start().await;
    let (s, inv) = setup(&env).await;
    let year = &inv["issued_at"].as_str().unwrap()[..4];
    // Numbers run on from the demo data's: INV-<year>-<6 digits>, one more for each invoice.
    let seq = |v: &Value, prefix: &str| -> u64 {
        let n = v.as_str().unwrap();
        assert!(n.starts_with(&format!("{prefix}-{year}-")) && n.len() == prefix.len() + 12, "{n}");
        n[n.len() - 6..].parse().unwrap()
    };
    let first_number = seq(&inv["number"], "INV");
    assert_eq!((inv["status"].as_str(), inv["kind"].as_str()), (Some("issued"), Some("activation")));
    assert_eq!((inv["total"].as_i64(), inv["amount_due"].as_i64()), (Some(50_000), Some(50_000)));
    assert_eq!(inv["subscription_id"].as_str(), Some(s.sub.as_str()));
    assert_eq!(inv["lines"].as_array().unwrap().len(), 1);
    let id = inv["id"].as_str().unwrap().to_string();

    // Partial, then repeated with the same key: one payment, the first answer.
    let first =
        pay(&env, &s.admin, "pay-1", json!({"invoice_id": id, "amount": 20_000, "method": "cash"})).await.expect(201);
    let first_receipt = seq(&first["receipt_number"], "RCT");
    let again =
        pay(&env, &s.admin, "pay-1", json!({"invoice_id": id, "amount": 20_000, "method": "cash"})).await.expect(201);
    assert_eq!(again["id"], first["id"]);
    let i = invoice(&env, &s, &id).await;
    assert_eq!(
        (i["status"].as_str(), i["amount_due"].as_i64(), i["amount_paid"].as_i64()),
        (Some("partially_paid"), Some(30_000), Some(20_000))
    );

    // Overpayment by mobile money: the invoice is paid, 10.00 becomes credit.
    let second = pay(
        &env,
        &s.admin,
        "pay-2",
        json!({"invoice_id": id, "amount": 40_000, "method": "mobile_money", "reference": "BK7XQ1"}),
    )
    .await
    .expect(201);
    assert_eq!((second["to_credit"].as_i64(), second["balance_after"].as_i64()), (Some(10_000), Some(-10_000)));
    assert_eq!(seq(&second["receipt_number"], "RCT"), first_receipt + 1);
    assert_eq!(invoice(&env, &s, &id).await["status"], "paid");
    let dup = pay(
        &env,
        &s.admin,
        "pay-3",
        json!({"customer_id": s.customer, "amount": 1_000, "method": "mobile_money", "reference": "bk7xq1"}),
    )
    .await;
    assert_eq!((dup.status, dup.code()), (409, "duplicate_reference"));
    let paid = pay(&env, &s.admin, "pay-4", json!({"invoice_id": id, "amount": 1_000, "method": "cash"})).await;
    assert_eq!((paid.status, paid.code()), (409, "invoice_not_payable"));

    // An advance adds to the credit.
    let adv = pay(&env, &s.admin, "pay-5", json!({"customer_id": s.customer, "amount": 5_000, "method": "cash"}))
        .await
        .expect(201);
    assert_eq!((adv["to_credit"].as_i64(), adv["balance_after"].as_i64()), (Some(5_000), Some(-15_000)));
    let list =
        env.send("GET", &format!("/v1/payments?customer_id={}", s.customer), Some(&s.admin), None).await.expect(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    let cash = env
        .send("GET", &format!("/v1/payments?customer_id={}&method=cash", s.customer), Some(&s.admin), None)
        .await
        .expect(200);
    assert_eq!(cash["items"].as_array().unwrap().len(), 2);

    // Upgrade at once: credit for the unused Silver, charge for Gold; paid from the 15.00 credit.
    env.send(
        "POST",
        &format!("/v1/subscriptions/{}/change-package", s.sub),
        Some(&s.admin),
        Some(json!({"package_id": s.gold})),
    )
    .await
    .expect(200);
    let list =
        env.send("GET", &format!("/v1/invoices?customer_id={}", s.customer), Some(&s.admin), None).await.expect(200);
    let change = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "package_change")
        .expect("a package-change invoice")
        .clone();
    let lines = change["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{change:#}");
    let (credit, charge) = (lines[0]["amount"].as_i64().unwrap(), lines[1]["amount"].as_i64().unwrap());
    // Nearly the whole period is left: about -50.00 and +80.00.
    assert!((-50_000..=-49_900).contains(&credit) && (79_800..=80_000).contains(&charge), "{credit} {charge}");
    assert_eq!(change["total"].as_i64().unwrap(), credit + charge);
    assert_eq!(change["amount_paid"].as_i64(), Some(15_000), "the credit pays what it can");
    assert_eq!(change["amount_due"].as_i64().unwrap(), credit + charge - 15_000);
    assert_eq!(seq(&change["number"], "INV"), first_number + 1);
    let by_status = env.send("GET", "/v1/invoices?status=paid", Some(&s.admin), None).await.expect(200);
    assert!(by_status["items"].as_array().unwrap().iter().any(|i| i["id"].as_str() == Some(id.as_str())));
    assert!(by_status["items"].as_array().unwrap().iter().all(|i| i["status"] == "paid"));
}

#[tokio::test]
async fn fifty_concurrent_submissions_apply_a_payment_once() {
    let env = Env::start().await;
    let (s, inv) = setup(&env).await;
    let id = inv["id"].as_str().unwrap().to_string();
    // The same Idempotency-Key fifty times at once: one payment, every answer the same.
    let body = json!({"invoice_id": id, "amount": 10_000, "method": "cash"});
    let answers = futures::future::join_all((0..50).map(|_| pay(&env, &s.admin, "same-key", body.clone()))).await;
    let ids: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, 201, "{:#}", a.body);
            a.body["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1);
    // The same bank reference under fifty different keys: one is recorded, the rest are 409.
    let keys: Vec<String> = (0..50).map(|n| format!("key-{n}")).collect();
    let answers = futures::future::join_all(keys.iter().map(|k| {
        pay(
            &env,
            &s.admin,
            k,
            json!({"invoice_id": id, "amount": 1_000, "method": "bank_transfer", "reference": "DBBL-0099"}),
        )
    }))
    .await;
    let ok = answers.iter().filter(|a| a.status == 201).count();
    let dup = answers.iter().filter(|a| a.status == 409 && a.code() == "duplicate_reference").count();
    assert_eq!(
        (ok, dup),
        (1, 49),
        "{:?}",
        answers.iter().map(|a| (a.status, a.code().to_string())).collect::<Vec<_>>()
    );
    let i = invoice(&env, &s, &id).await;
    assert_eq!((i["amount_paid"].as_i64(), i["amount_due"].as_i64()), (Some(11_000), Some(39_000)));
    let list =
        env.send("GET", &format!("/v1/payments?customer_id={}", s.customer), Some(&s.admin), None).await.expect(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn paying_off_an_unpaid_suspension_restores_and_voiding_clears_the_debt() {
    let env = Env::start().await;
    let (s, inv) = setup(&env).await;
    let id = inv["id"].as_str().unwrap().to_string();
    // Suspended for non-payment: a part payment leaves it off, the rest brings it back at once.
    env.send(
        "POST",
        &format!("/v1/subscriptions/{}/suspend", s.sub),
        Some(&s.admin),
        Some(json!({"reason": "unpaid"})),
    )
    .await
    .expect(200);
    pay(&env, &s.admin, "part", json!({"invoice_id": id, "amount": 30_000, "method": "cash"})).await.expect(201);
    assert_eq!(subscription(&env, &s).await["status"], "suspended");
    let rest =
        pay(&env, &s.admin, "rest", json!({"invoice_id": id, "amount": 20_000, "method": "cash"})).await.expect(201);
    assert_eq!(rest["balance_after"].as_i64(), Some(0));
    let after = subscription(&env, &s).await;
    assert_eq!((after["status"].as_str(), after["status_reason"].as_str()), (Some("active"), None));
    let customer = env.send("GET", &format!("/v1/customers/{}", s.customer), Some(&s.admin), None).await.expect(200);
    assert_eq!(customer["status"], "active", "the customer's status follows");
    // Suspended for another reason: paying does not switch it back on.
    env.send("POST", &format!("/v1/subscriptions/{}/suspend", s.sub), Some(&s.admin), Some(json!({"reason": "abuse"})))
        .await
        .expect(200);
    pay(&env, &s.admin, "adv", json!({"customer_id": s.customer, "amount": 1_000, "method": "cash"})).await.expect(201);
    assert_eq!(subscription(&env, &s).await["status"], "suspended");

    // Date filters, for one customer and across the ISP.
    let issued = inv["issued_at"].as_str().unwrap();
    let t = chrono::DateTime::parse_from_rfc3339(issued).unwrap().with_timezone(&chrono::Utc);
    let at = |d: chrono::DateTime<chrono::Utc>| d.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    for scope in [format!("customer_id={}&", s.customer), String::new()] {
        let q = |from: String, to: String| format!("/v1/invoices?{scope}from={from}&to={to}");
        let hit =
            env.send("GET", &q(at(t), at(t + chrono::Duration::seconds(1))), Some(&s.admin), None).await.expect(200);
        assert!(
            hit["items"].as_array().unwrap().iter().any(|i| i["id"].as_str() == Some(id.as_str())),
            "{scope}: {hit:#}"
        );
        let miss = env
            .send(
                "GET",
                &q(at(t + chrono::Duration::seconds(1)), at(t + chrono::Duration::days(1))),
                Some(&s.admin),
                None,
            )
            .await
            .expect(200);
        assert!(
            miss["items"].as_array().unwrap().iter().all(|i| i["id"].as_str() != Some(id.as_str())),
            "{scope}: {miss:#}"
        );
    }

    // A second customer's unpaid invoice, voided: it owes nothing and the debt leaves the balance.
    let other =
        env.create_customer(&s.admin, "Payer Two", "01719-200002", "payer2").await["id"].as_str().unwrap().to_string();
    let router = env.create_router(&s.admin, "core-c", "10.1.0.3", None).await["id"].as_str().unwrap().to_string();
    let sub2 = env.create_subscription(&s.admin, &other, &s.gold, &router, "payer2-ppp").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.send("POST", &format!("/v1/subscriptions/{sub2}/activate"), Some(&s.admin), None).await.expect(200);
    let inv2 =
        env.send("GET", &format!("/v1/invoices?customer_id={other}"), Some(&s.admin), None).await.expect(200)["items"]
            [0]
        .clone();
    let void = env
        .send(
            "POST",
            &format!("/v1/invoices/{}/void", inv2["id"].as_str().unwrap()),
            Some(&s.admin),
            Some(json!({"reason": "sold by mistake"})),
        )
        .await
        .expect(200);
    assert_eq!(
        (void["status"].as_str(), void["amount_due"].as_i64(), void["void_reason"].as_str()),
        (Some("void"), Some(0), Some("sold by mistake"))
    );
    let again = env
        .send(
            "POST",
            &format!("/v1/invoices/{}/void", inv2["id"].as_str().unwrap()),
            Some(&s.admin),
            Some(json!({"reason": "x"})),
        )
        .await;
    assert_eq!((again.status, again.code()), (409, "invalid_transition"));
    let adv =
        pay(&env, &s.admin, "two", json!({"customer_id": other, "amount": 2_500, "method": "cash"})).await.expect(201);
    assert_eq!(
        (adv["balance_after"].as_i64(), adv["to_credit"].as_i64()),
        (Some(-2_500), Some(2_500)),
        "nothing owed after the void"
    );
}

async fn subscription(env: &Env, s: &Setup) -> Value {
    env.send("GET", &format!("/v1/subscriptions/{}", s.sub), Some(&s.admin), None).await.expect(200)
}

#[tokio::test]
async fn credit_notes_refunds_drafts_with_manual_lines_and_the_pdf() {
    let env = Env::start().await;
    let (s, inv) = setup(&env).await;
    let id = inv["id"].as_str().unwrap().to_string();
    pay(&env, &s.admin, "doc-pay", json!({"invoice_id": id, "amount": 50_000, "method": "cash"})).await.expect(201);

    // A credit note on the paid invoice: what it returns becomes credit. Repeated: applied once.
    let note_body = json!({"amount": 10_000, "reason": "five days without service"});
    let credit = |key: &'static str, body: Value| {
        let (env, admin, id) = (&env, s.admin.clone(), id.clone());
        async move {
            env.send_with(
                "POST",
                &format!("/v1/invoices/{id}/credit-notes"),
                Some(&admin),
                Some(body),
                &[("idempotency-key", key)],
            )
            .await
        }
    };
    let note = credit("cn-1", note_body.clone()).await.expect(201);
    assert!(note["number"].as_str().unwrap().starts_with("CN-"), "{note}");
    assert_eq!((note["returned"].as_i64(), note["to_credit"].as_i64()), (Some(10_000), Some(10_000)));
    assert_eq!(credit("cn-1", note_body).await.expect(201)["id"], note["id"]);
    let i = invoice(&env, &s, &id).await;
    assert_eq!(
        (i["amount_credited"].as_i64(), i["amount_paid"].as_i64(), i["status"].as_str()),
        (Some(10_000), Some(40_000), Some("paid"))
    );
    let notes = env.send("GET", &format!("/v1/invoices/{id}/credit-notes"), Some(&s.admin), None).await.expect(200);
    assert_eq!(notes.as_array().unwrap().len(), 1);
    let too_much = credit("cn-2", json!({"amount": 40_001, "reason": "x"})).await;
    assert_eq!((too_much.status, too_much.code()), (422, "validation_failed"));
    assert_eq!(env.books_balance(&s.admin, &s.customer).await["credit"].as_i64(), Some(10_000));

    // A refund pays credit back out; never more than the credit.
    let refund = |key: &'static str, amount: i64| {
        let (env, admin, customer) = (&env, s.admin.clone(), s.customer.clone());
        async move {
            env.send_with(
                "POST",
                &format!("/v1/customers/{customer}/refunds"),
                Some(&admin),
                Some(json!({"amount": amount, "method": "mobile_money", "reference": format!("RF-{key}"), "reason": "overbilled"})),
                &[("idempotency-key", key)],
            )
            .await
        }
    };
    assert_eq!(refund("rf-1", 4_000).await.expect(201)["balance_after"].as_i64(), Some(-6_000));
    let over = refund("rf-2", 6_001).await;
    assert_eq!((over.status, over.code()), (422, "validation_failed"));
    let refunds =
        env.send("GET", &format!("/v1/customers/{}/refunds", s.customer), Some(&s.admin), None).await.expect(200);
    assert_eq!(refunds.as_array().unwrap().len(), 1);
    assert_eq!(env.books_balance(&s.admin, &s.customer).await["credit"].as_i64(), Some(6_000));

    // A draft with manual lines, a line added, then issued: the credit pays part of it.
    let draft = env
        .send(
            "POST",
            "/v1/invoices",
            Some(&s.admin),
            Some(json!({"customer_id": s.customer, "lines": [{"description": "Router installation", "unit_amount": 150_000}]})),
        )
        .await
        .expect(201);
    assert_eq!(
        (draft["status"].as_str(), draft["number"].as_str(), draft["total"].as_i64()),
        (Some("draft"), None, Some(150_000))
    );
    let did = draft["id"].as_str().unwrap().to_string();
    let line = json!({"description": "Patch cable", "unit_amount": 5_000, "quantity": 3, "version": 1});
    let with_line =
        env.send("POST", &format!("/v1/invoices/{did}/lines"), Some(&s.admin), Some(line.clone())).await.expect(200);
    assert_eq!((with_line["total"].as_i64(), with_line["lines"].as_array().unwrap().len()), (Some(165_000), 2));
    let stale = env.send("POST", &format!("/v1/invoices/{did}/lines"), Some(&s.admin), Some(line)).await;
    assert_eq!((stale.status, stale.code()), (409, "version_conflict"));
    assert_eq!(
        env.books_balance(&s.admin, &s.customer).await["balance"].as_i64(),
        Some(-6_000),
        "a draft owes nothing yet"
    );
    let issued = env.send("POST", &format!("/v1/invoices/{did}/issue"), Some(&s.admin), None).await.expect(200);
    assert!(issued["number"].as_str().unwrap().starts_with("INV-"));
    assert_eq!((issued["status"].as_str(), issued["amount_due"].as_i64()), (Some("partially_paid"), Some(159_000)));
    let again = env.send("POST", &format!("/v1/invoices/{did}/issue"), Some(&s.admin), None).await;
    assert_eq!((again.status, again.code()), (409, "invoice_not_draft"));
    let late = env
        .send(
            "POST",
            &format!("/v1/invoices/{did}/lines"),
            Some(&s.admin),
            Some(json!({"description": "x", "unit_amount": 1, "version": 3})),
        )
        .await;
    assert_eq!((late.status, late.code()), (409, "invoice_not_draft"));
    assert_eq!(env.books_balance(&s.admin, &s.customer).await["balance"].as_i64(), Some(159_000));

    // The PDF names the ISP, the customer, the lines, the totals and what is due.
    let resp = env.get_raw(&format!("/v1/invoices/{did}/pdf"), &s.admin).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    let bytes = resp.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    let text = lopdf::Document::load_mem(&bytes).unwrap().extract_text(&[1]).unwrap();
    for want in [
        "Demo ISP",
        "Payer One",
        issued["number"].as_str().unwrap(),
        "Router installation",
        "Patch cable x 3",
        "1,650.00",
        "1,590.00",
        "PARTIALLY PAID",
    ] {
        assert!(text.contains(want), "{want} missing from the PDF text: {text}");
    }
}

/// Operators and sub-operators read their own subtree's collections and dues; revenue stays the
/// ISP's.
#[tokio::test]
async fn operators_read_their_own_collections_and_dues() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let (op_id, op) = env.create_user(&admin, "operator", "op@reports.test", None).await;
    let (sub_id, sub) = env.create_user(&op, "sub_operator", "sub@reports.test", Some(&op_id)).await;
    let a =
        env.create_customer(&op, "Area Customer", "01719-300001", "area1").await["id"].as_str().unwrap().to_string();
    let b =
        env.create_customer(&sub, "Lane Customer", "01719-300002", "lane1").await["id"].as_str().unwrap().to_string();
    pay(&env, &admin, "op-rep-1", json!({"customer_id": a, "amount": 30_000, "method": "cash"})).await.expect(201);
    pay(
        &env,
        &sub,
        "op-rep-2",
        json!({"customer_id": b, "amount": 20_000, "method": "mobile_money", "reference": "NG-77"}),
    )
    .await
    .expect(201);
    env.send_with(
        "POST",
        &format!("/v1/customers/{b}/refunds"),
        Some(&admin),
        Some(json!({"amount": 5_000, "method": "cash", "reason": "double payment"})),
        &[("idempotency-key", "op-rep-rf")],
    )
    .await
    .expect(201);

    let collections = |token: String| {
        let env = &env;
        async move { env.send("GET", "/v1/reports/collections", Some(&token), None).await.expect(200) }
    };
    let key_amount = |r: &Value, dim: &str, key: &str| {
        r[dim].as_array().unwrap().iter().find(|a| a["key"] == key).map(|a| a["amount"].as_i64().unwrap())
    };
    let mine = collections(op.clone()).await;
    assert_eq!(
        (mine["amount"].as_i64(), mine["count"].as_i64(), mine["refunds"].as_i64()),
        (Some(50_000), Some(2), Some(5_000)),
        "the operator's subtree: {mine:#}"
    );
    assert_eq!(
        (key_amount(&mine, "by_method", "cash"), key_amount(&mine, "by_method", "mobile_money")),
        (Some(30_000), Some(20_000))
    );
    assert_eq!(key_amount(&mine, "by_collector", &sub_id), Some(20_000));
    let lane = collections(sub.clone()).await;
    assert_eq!(
        (lane["amount"].as_i64(), lane["count"].as_i64(), lane["refunds"].as_i64()),
        (Some(20_000), Some(1), Some(5_000)),
        "the sub-operator sees its own customers only: {lane:#}"
    );
    let isp = collections(admin.clone()).await;
    assert!(isp["amount"].as_i64().unwrap() >= 50_000 && isp["count"].as_i64().unwrap() >= 2, "{isp:#}");

    // Dues: an invoice for each, paid from their credit as far as it goes.
    for (customer, amount) in [(&a, 40_000), (&b, 25_000)] {
        let draft = env
            .send(
                "POST",
                "/v1/invoices",
                Some(&admin),
                Some(
                    json!({"customer_id": customer, "lines": [{"description": "Installation", "unit_amount": amount}]}),
                ),
            )
            .await
            .expect(201);
        let id = draft["id"].as_str().unwrap();
        env.send("POST", &format!("/v1/invoices/{id}/issue"), Some(&admin), None).await.expect(200);
    }
    let dues = |token: String| {
        let env = &env;
        async move { env.send("GET", "/v1/reports/dues", Some(&token), None).await.expect(200) }
    };
    // a: 40,000 - 30,000 credit; b: 25,000 - (20,000 - 5,000) credit.
    let op_dues = dues(op.clone()).await;
    assert_eq!((op_dues["total"].as_i64(), op_dues["current"].as_i64()), (Some(20_000), Some(20_000)), "{op_dues:#}");
    assert_eq!(dues(sub.clone()).await["total"].as_i64(), Some(10_000));
    let isp_dues = dues(admin.clone()).await;
    assert!(isp_dues["total"].as_i64().unwrap() >= 20_000, "{isp_dues:#}");

    // Revenue is the ISP's alone.
    let r = env.send("GET", "/v1/reports/revenue", Some(&op), None).await;
    assert_eq!(r.status, 403, "{:?}", r.body);
    let csv = env.get_raw("/v1/reports/collections?format=csv", &sub).await;
    assert_eq!(csv.status(), 200);
    let text = csv.text().await.unwrap();
    assert!(text.contains(",method,mobile_money,20000,1") && !text.contains(",method,cash,"), "{text}");
    // As XLSX: the same rows, amounts as numbers.
    let rows = env.xlsx_rows("/v1/reports/collections?format=xlsx", &sub).await;
    assert_eq!(rows[0], ["date", "dimension", "key", "amount", "count"]);
    assert!(rows.iter().any(|r| r[1] == "method" && r[2] == "mobile_money" && r[3] == "20000"), "{rows:?}");
    assert_eq!(env.send("GET", "/v1/reports/collections?format=ods", Some(&sub), None).await.status, 422);
}

/// Money reaches the customer's timeline, in the transaction that moves it: invoices issued and
/// voided, payments (once, however often the request is repeated), credit notes and refunds, each
/// with who did it and the document it is about.
#[tokio::test]
async fn money_reaches_the_customers_timeline_once() {
    let env = Env::start().await;
    let (s, inv) = setup(&env).await;
    let me = env.send("GET", "/v1/me", Some(&s.admin), None).await.expect(200);
    let admin_id = me["user"]["id"].as_str().unwrap().to_string();
    let id = inv["id"].as_str().unwrap().to_string();
    let body = json!({"invoice_id": id, "amount": 50_000, "method": "cash"});
    let paid = pay(&env, &s.admin, "tl-pay", body.clone()).await.expect(201);
    pay(&env, &s.admin, "tl-pay", body).await.expect(201);
    let draft = |amount: i64| {
        let (env, s) = (&env, &s);
        async move {
            let lines = json!([{"description": "Installation", "unit_amount": amount}]);
            let d = env
                .send("POST", "/v1/invoices", Some(&s.admin), Some(json!({"customer_id": s.customer, "lines": lines})))
                .await
                .expect(201);
            let did = d["id"].as_str().unwrap().to_string();
            env.send("POST", &format!("/v1/invoices/{did}/issue"), Some(&s.admin), None).await.expect(200)
        }
    };
    let mistaken = draft(20_000).await;
    let mistaken_id = mistaken["id"].as_str().unwrap();
    env.send(
        "POST",
        &format!("/v1/invoices/{mistaken_id}/void"),
        Some(&s.admin),
        Some(json!({"reason": "entered twice"})),
    )
    .await
    .expect(200);
    env.send_with(
        "POST",
        &format!("/v1/invoices/{id}/credit-notes"),
        Some(&s.admin),
        Some(json!({"amount": 10_000, "reason": "outage"})),
        &[("idempotency-key", "tl-cn")],
    )
    .await
    .expect(201);
    env.send_with(
        "POST",
        &format!("/v1/customers/{}/refunds", s.customer),
        Some(&s.admin),
        Some(json!({"amount": 4_000, "method": "cash", "reason": "overbilled"})),
        &[("idempotency-key", "tl-rf")],
    )
    .await
    .expect(201);
    let issued = draft(20_000).await;

    let tl = env.send("GET", &format!("/v1/customers/{}/timeline", s.customer), Some(&s.admin), None).await.expect(200);
    let items = tl["items"].as_array().unwrap();
    let actions: Vec<&str> = items.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "invoice.issued",
            "refund.issued",
            "credit_note.issued",
            "invoice.voided",
            "invoice.issued",
            "payment.received",
            "subscription.activate",
            "invoice.issued",
            "subscription.created",
            "customer.created"
        ],
        "{tl:#}"
    );
    let entry = |action: &str, nth: usize| items.iter().filter(|e| e["action"] == action).nth(nth).unwrap().clone();
    let payment = entry("payment.received", 0);
    assert_eq!(payment["kind"], "payment");
    assert_eq!(payment["data"]["payment_id"], paid["id"]);
    assert_eq!(payment["actor_id"].as_str(), Some(admin_id.as_str()));
    let receipt = paid["receipt_number"].as_str().unwrap();
    assert!(payment["summary"].as_str().unwrap().contains(&format!("Payment {receipt} of 500.00 BDT")), "{payment}");
    let activation = entry("invoice.issued", 2);
    assert_eq!(
        (activation["kind"].as_str(), activation["data"]["invoice_id"].as_str()),
        (Some("invoice"), Some(id.as_str()))
    );
    assert_eq!(activation["subscription_id"].as_str(), Some(s.sub.as_str()));
    let manual = entry("invoice.issued", 0);
    // The credit left by the note and the refund (6,000) paid part of the new invoice.
    assert_eq!(
        manual["summary"].as_str().unwrap(),
        format!("Invoice {} issued: 200.00 BDT (60.00 paid from credit)", issued["number"].as_str().unwrap())
    );
    let voided = entry("invoice.voided", 0);
    assert_eq!(voided["data"]["invoice_id"].as_str(), Some(mistaken_id));
    assert!(voided["summary"].as_str().unwrap().ends_with("voided: entered twice"), "{voided}");
    assert_eq!(
        entry("invoice.issued", 1)["summary"].as_str().unwrap(),
        format!("Invoice {} issued: 200.00 BDT", mistaken["number"].as_str().unwrap())
    );
    assert_eq!(entry("credit_note.issued", 0)["data"]["amount"].as_i64(), Some(10_000));
    assert_eq!(entry("refund.issued", 0)["kind"], "payment");
}

/// A Bengali customer name and line print as Bangla on the invoice (shaped, in the embedded Noto
/// Sans Bengali), not as `?`: the page rendered by pdftoppm has the name's ink where the
/// Latin-1-only invoice left question marks, and the font is in the file.
#[tokio::test]
async fn a_bengali_name_prints_shaped_on_the_invoice() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let c = env.create_customer(&admin, "রহিম উদ্দিন", "01711-555111", "rahim-bn").await;
    let d = env
        .send(
            "POST",
            "/v1/invoices",
            Some(&admin),
            Some(json!({"customer_id": c["id"], "lines": [{"description": "রাউটার স্থাপন (installation)", "unit_amount": 150_000}]})),
        )
        .await
        .expect(201);
    let resp = env.get_raw(&format!("/v1/invoices/{}/pdf", d["id"].as_str().unwrap()), &admin).await;
    assert_eq!(resp.status(), 200);
    let bytes = resp.bytes().await.unwrap();
    let doc = lopdf::Document::load_mem(&bytes).unwrap();
    let embedded = doc.objects.values().filter_map(|o| o.as_dict().ok()).filter(|d| d.has(b"FontFile2")).count();
    assert!(embedded >= 1, "a TrueType font is embedded for the Bangla text");
    let text = doc.extract_text(&[1]).unwrap();
    assert!(!text.contains("??"), "nothing printed as question marks: {text}");
    // Rendered, the name's line (where "Bill to" puts it) carries Bangla ink.
    let dir = std::env::temp_dir().join(format!("invoice-bn-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("invoice.pdf"), &bytes).unwrap();
    let ok = std::process::Command::new("pdftoppm")
        .args(["-r", "50", "-gray", "-singlefile"])
        .arg(dir.join("invoice.pdf"))
        .arg(dir.join("page"))
        .status()
        .expect("pdftoppm runs (make test installs poppler-utils)");
    assert!(ok.success());
    let pgm = std::fs::read(dir.join("page.pgm")).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(pgm.iter().filter(|p| **p < 128).count() > 500, "the page has text");
}
