//! Recharge cards through the local runner: the ISP makes a batch (codes only in its CSV), a card
//! redeemed for a PPPoE subscriber pays the open renewal (the subscription is extended) once
//! however many redeem it at once, a used, disabled or unknown code redeems nothing, wrong codes
//! are throttled per customer until the window ends (the test's clock moves it), and only the
//! ISP's staff make and read cards.

use e2e_tests::Env;
use serde_json::{Value, json};

async fn redeem(env: &Env, token: &str, customer: &str, code: &str, key: &str) -> e2e_tests::Answer {
    env.send_with(
        "POST",
        &format!("/v1/customers/{customer}/recharge"),
        Some(token),
        Some(json!({"code": code})),
        &[("idempotency-key", key)],
    )
    .await
}

/// A customer with an activated prepaid subscription (50.00 for 30 days) and its open invoice.
async fn subscriber(env: &Env, admin: &str, n: u32, package: &str, router: &str) -> (String, Value) {
    let customer = env
        .create_customer(admin, &format!("Card User {n}"), &format!("01719-50000{n}"), &format!("card{n}"))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let sub = env.create_subscription(admin, &customer, package, router, &format!("card{n}-ppp")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.send("POST", &format!("/v1/subscriptions/{sub}/activate"), Some(admin), None).await.expect(200);
    let list = env.send("GET", &format!("/v1/invoices?customer_id={customer}"), Some(admin), None).await.expect(200);
    (customer, list["items"][0].clone())
}

#[tokio::test]
async fn a_card_redeems_once_under_twenty_at_once_and_guessing_is_throttled() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let package = env.create_package(&admin, "Card 5M", "5M", 50_000).await["id"].as_str().unwrap().to_string();
    let router = env.create_router(&admin, "card-core", "10.6.0.1", None).await["id"].as_str().unwrap().to_string();

    // A batch of three 500.00 cards; the same key again answers the same batch.
    let body = json!({"quantity": 3, "value": 50_000, "prefix": "rc", "note": "market day"});
    let key = [("idempotency-key", "cards-1")];
    let batch =
        env.send_with("POST", "/v1/recharge-card-batches", Some(&admin), Some(body.clone()), &key).await.expect(201);
    let again = env.send_with("POST", "/v1/recharge-card-batches", Some(&admin), Some(body), &key).await.expect(201);
    assert_eq!(batch["id"], again["id"]);
    let bid = batch["id"].as_str().unwrap().to_string();
    let cards =
        env.send("GET", &format!("/v1/recharge-card-batches/{bid}/cards"), Some(&admin), None).await.expect(200);
    let cards = cards["items"].as_array().unwrap().clone();
    assert_eq!(cards.iter().map(|c| c["seq"].as_i64().unwrap()).collect::<Vec<_>>(), [1, 2, 3], "one of each serial");
    assert!(
        cards.iter().all(|c| c["status"] == "unused" && c.get("code_hash").is_none() && c.get("code_sealed").is_none())
    );
    let csv = env.get_raw(&format!("/v1/recharge-card-batches/{bid}/csv"), &admin).await;
    assert_eq!(csv.status(), 200);
    let text = csv.text().await.unwrap();
    let codes: Vec<String> = text.lines().skip(1).map(|l| l.split(',').nth(1).unwrap().to_string()).collect();
    assert_eq!(codes.len(), 3, "{text}");
    let rows = env.xlsx_rows(&format!("/v1/recharge-card-batches/{bid}/csv?format=xlsx"), &admin).await;
    assert_eq!(rows.iter().skip(1).map(|r| r[1].clone()).collect::<Vec<_>>(), codes, "the same codes as XLSX");
    for (c, card) in codes.iter().zip(&cards) {
        let plain = c.replace('-', "");
        assert!(plain.starts_with("RC") && plain.len() == 18, "{c}");
        assert!(plain.ends_with(card["code_hint"].as_str().unwrap()), "{c} vs {card}");
        assert!(plain.bytes().all(|b| domain::voucher::CODE_ALPHABET.contains(&b)), "{c}");
    }
    // No code is stored in the clear.
    let table = env.table_snapshot().await;
    assert!(codes.iter().all(|c| !table.values().any(|v| v.contains(&c.replace('-', "")))), "a code in the table");

    // Twenty redemptions of one card at once, for the customer: one payment; the renewal paid.
    let (customer, inv) = subscriber(&env, &admin, 1, &package, &router).await;
    assert_eq!(inv["amount_due"], 50_000);
    let typed = codes[0].to_lowercase().replace('-', " ");
    let tries = (0..20).map(|i| {
        let (env, admin, customer, typed) = (&env, admin.clone(), customer.clone(), typed.clone());
        async move { redeem(env, &admin, &customer, &typed, &format!("race-{i}")).await }
    });
    let answers = futures::future::join_all(tries).await;
    let won: Vec<&e2e_tests::Answer> = answers.iter().filter(|a| a.status == 201).collect();
    let lost = answers.iter().filter(|a| a.status == 422 && a.body["errors"][0]["field"] == "code").count();
    assert_eq!(
        (won.len(), lost),
        (1, 19),
        "{:?}",
        answers.iter().map(|a| (a.status, a.body.to_string())).collect::<Vec<_>>()
    );
    let redeemed = &won[0].body;
    assert_eq!((redeemed["card"]["status"].as_str(), redeemed["card"]["seq"].as_i64()), (Some("redeemed"), Some(1)));
    assert_eq!(
        (redeemed["payment"]["method"].as_str(), redeemed["payment"]["amount"].as_i64()),
        (Some("recharge_card"), Some(50_000))
    );
    let payments =
        env.send("GET", &format!("/v1/payments?customer_id={customer}"), Some(&admin), None).await.expect(200);
    assert_eq!(payments["items"].as_array().unwrap().len(), 1, "{payments:#}");
    let inv_now =
        env.send("GET", &format!("/v1/invoices/{}", inv["id"].as_str().unwrap()), Some(&admin), None).await.expect(200);
    assert_eq!(inv_now["status"], "paid");
    // The winner's key again: its first answer.
    let winner_key = format!("race-{}", answers.iter().position(|a| a.status == 201).unwrap());
    let replay = redeem(&env, &admin, &customer, &typed, &winner_key).await.expect(201);
    assert_eq!(replay["payment"]["id"], redeemed["payment"]["id"]);

    // Another customer: the used card, a disabled one, an unknown one: nothing is paid.
    let (other, _) = subscriber(&env, &admin, 2, &package, &router).await;
    env.send("POST", &format!("/v1/recharge-card-batches/{bid}/cards/3/disable"), Some(&admin), None).await.expect(200);
    let again = env.send("POST", &format!("/v1/recharge-card-batches/{bid}/cards/3/disable"), Some(&admin), None).await;
    assert_eq!((again.status, again.code()), (409, "card_not_unused"));
    let before = env.table_snapshot().await;
    let used = redeem(&env, &admin, &other, &codes[0], "o-1").await;
    assert_eq!(used.status, 422);
    assert!(used.body.to_string().contains("redeemed already"), "{:?}", used.body);
    assert_eq!(redeem(&env, &admin, &other, &codes[2], "o-2").await.status, 422, "disabled");
    assert_eq!(redeem(&env, &admin, &other, "RCAAAABBBBCCCCDDDD", "o-3").await.status, 422, "unknown");
    let after = env.table_snapshot().await;
    let moved: Vec<&String> = after.keys().filter(|k| before.get(*k) != after.get(*k)).collect();
    assert!(moved.iter().all(|k| k.contains("#RCTRY#")), "only the wrong-code counters moved: {moved:?}");

    // Three more wrong codes make five for this customer (the used card was no guess): even the
    // right code is refused now,
    // with Retry-After; another customer still redeems; the next window lets it through.
    for i in 0..3 {
        assert_eq!(redeem(&env, &admin, &other, "RCZZZZYYYYXXXXWWWW", &format!("g-{i}")).await.status, 422);
    }
    let blocked = redeem(&env, &admin, &other, &codes[1], "o-4").await;
    assert_eq!((blocked.status, blocked.code()), (429, "too_many_card_attempts"), "{:?}", blocked.body);
    let retry: u64 = blocked.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    assert_eq!(
        redeem(&env, &admin, &customer, "RCZZZZYYYYXXXXWWWW", "o-6").await.status,
        422,
        "another customer still tries"
    );
    env.clock.advance(chrono::Duration::seconds(retry as i64 + 1));
    let admin = env.admin().await;
    let paid = redeem(&env, &admin, &other, &codes[1], "o-5").await.expect(201);
    assert_eq!(paid["card"]["seq"], 2);

    // Bad input, and who may: an operator makes no cards; another ISP sees none of these.
    let (_, op) = env.create_user(&admin, "operator", "op@cards.test", None).await;
    let (_, other_admin) = env.other_tenant("cards-other").await;
    let before = env.table_snapshot().await;
    let make = |token: String, body: Value, key: &'static str| {
        let env = &env;
        async move {
            env.send_with("POST", "/v1/recharge-card-batches", Some(&token), Some(body), &[("idempotency-key", key)])
                .await
        }
    };
    assert_eq!(make(op.clone(), json!({"quantity": 1, "value": 100}), "b-1").await.status, 403);
    for (body, field) in [
        (json!({"quantity": 0, "value": 100}), "quantity"),
        (json!({"quantity": 1001, "value": 100}), "quantity"),
        (json!({"quantity": 1, "value": 0}), "value"),
        (json!({"quantity": 1, "value": 100, "prefix": "R0"}), "prefix"),
        (json!({"quantity": 1, "value": 100, "expires_at": "2000-01-01T00:00:00Z"}), "expires_at"),
    ] {
        let a = make(admin.clone(), body.clone(), "b-2").await;
        assert_eq!((a.status, a.body["errors"][0]["field"].as_str()), (422, Some(field)), "{body}");
    }
    let no_key =
        env.send("POST", "/v1/recharge-card-batches", Some(&admin), Some(json!({"quantity": 1, "value": 100}))).await;
    assert_eq!(no_key.status, 400);
    for (method, path) in [
        ("GET", format!("/v1/recharge-card-batches/{bid}")),
        ("GET", format!("/v1/recharge-card-batches/{bid}/cards")),
        ("GET", format!("/v1/recharge-card-batches/{bid}/csv")),
        ("POST", format!("/v1/recharge-card-batches/{bid}/cards/1/disable")),
    ] {
        assert_eq!(env.send(method, &path, Some(&other_admin), None).await.status, 404, "{path}");
        assert_eq!(env.send(method, &path, Some(&op), None).await.status, 403, "{path}");
    }
    let theirs = env.send("GET", "/v1/recharge-card-batches", Some(&other_admin), None).await.expect(200);
    assert!(theirs["items"].as_array().unwrap().is_empty());
    // Redeeming for another ISP's customer, or with another ISP's card: not found / no card.
    assert_eq!(redeem(&env, &other_admin, &customer, &codes[1], "x-1").await.status, 404);
    for code in ["", "not a code!", &"A".repeat(40)] {
        assert_eq!(redeem(&env, &admin, &customer, code, "x-2").await.status, 422, "{code:?}");
    }
    e2e_tests::assert_unchanged(&before, &env.table_snapshot().await);
}

/// The subscriber redeems a card in the portal: once, into its own account (idempotency keys are
/// each subscriber's own), and wrong codes are throttled as staff's are.
#[tokio::test]
async fn a_subscriber_redeems_a_card_in_the_portal_once() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let body = json!({"quantity": 2, "value": 30_000, "prefix": "pc"});
    let batch = env
        .send_with(
            "POST",
            "/v1/recharge-card-batches",
            Some(&admin),
            Some(body),
            &[("idempotency-key", "portal-cards")],
        )
        .await
        .expect(201);
    let csv = env.get_raw(&format!("/v1/recharge-card-batches/{}/csv", batch["id"].as_str().unwrap()), &admin).await;
    let text = csv.text().await.unwrap();
    let codes: Vec<String> = text.lines().skip(1).map(|l| l.split(',').nth(1).unwrap().to_string()).collect();
    let (rahim, karim) = (env.portal_token("rahim").await, env.portal_token("karim").await);
    let portal_redeem = |token: &str, code: &str, key: Option<&str>| {
        let (token, code, key) = (token.to_string(), code.to_string(), key.map(str::to_string));
        let env = &env;
        async move {
            let headers: Vec<(&str, &str)> = key.as_deref().map(|k| vec![("idempotency-key", k)]).unwrap_or_default();
            env.send_with("POST", "/v1/portal/recharge", Some(&token), Some(json!({"code": code})), &headers).await
        }
    };
    let before = env.send("GET", "/v1/portal/balance", Some(&rahim), None).await.expect(200);

    // A key is required: nothing is redeemed without one.
    assert_eq!(portal_redeem(&rahim, &codes[0], None).await.status, 400, "a key is required");
    let won = portal_redeem(&rahim, &codes[0], Some("k1")).await.expect(201);
    assert_eq!((won["payment"]["amount"].as_i64(), won["card"]["status"].as_str()), (Some(30_000), Some("redeemed")));
    let replay = portal_redeem(&rahim, &codes[0], Some("k1")).await.expect(201);
    assert_eq!(replay["payment"]["id"], won["payment"]["id"]);
    let used = portal_redeem(&rahim, &codes[0], Some("k2")).await;
    assert_eq!((used.status, used.body["errors"][0]["field"].as_str()), (422, Some("code")));
    // Karim's "k1" is his own key: his card, his payment.
    let his = portal_redeem(&karim, &codes[1], Some("k1")).await.expect(201);
    assert_ne!(his["payment"]["id"], won["payment"]["id"]);
    assert_ne!(his["payment"]["customer_id"], won["payment"]["customer_id"]);
    let mine = env.send("GET", "/v1/portal/payments", Some(&rahim), None).await.expect(200);
    assert!(mine["items"].as_array().unwrap().iter().any(|p| p["id"] == won["payment"]["id"]), "{mine:#}");
    assert!(!mine.to_string().contains(his["payment"]["id"].as_str().unwrap()));
    let after = env.send("GET", "/v1/portal/balance", Some(&rahim), None).await.expect(200);
    assert_ne!(before, after, "the card's value reached the account");

    // Guessing: refused, then throttled.
    let mut statuses = vec![];
    for i in 0..12 {
        statuses.push(portal_redeem(&rahim, "PC00-0000-0000-0000", Some(&format!("guess-{i}"))).await.status);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(statuses.iter().all(|s| matches!(s, 422 | 429)), "{statuses:?}");
}
