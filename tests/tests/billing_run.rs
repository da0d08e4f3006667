use chrono::{DateTime, Duration, SubsecRound, Utc};
use e2e_tests::Env;
use serde_json::{Value, json};
use subscriptions::subscriptions::ChangeRequest;

fn at(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("a time")).expect("RFC 3339").with_timezone(&Utc)
}

/// A customer with an activated prepaid subscription (`price` for 30 days); (customer, subscription).
async fn prepaid(env: &Env, admin: &str, package: &str, router: &str, n: usize) -> (String, String) {
    let c = env.create_customer(admin, &format!("Renewer {n}"), &format!("01719-3{n:05}"), &format!("renew{n}")).await;
    let customer = c["id"].as_str().unwrap().to_string();
    let s = env.create_subscription(admin, &customer, package, router, &format!("renew{n}-ppp")).await;
    let sub = s["id"].as_str().unwrap().to_string();
    env.send("POST", &format!("/v1/subscriptions/{sub}/activate"), Some(admin), None).await.expect(200);
    (customer, sub)
}

async fn invoices_of(env: &Env, admin: &str, customer: &str) -> Vec<Value> {
    let list = env.send("GET", &format!("/v1/invoices?customer_id={customer}"), Some(admin), None).await.expect(200);
    list["items"].as_array().unwrap().clone()
}

async fn preview(env: &Env, admin: &str, as_of: DateTime<Utc>) -> Value {
    env.send("POST", "/v1/billing/preview", Some(admin), Some(json!({"as_of": at(as_of), "limit": 1000})))
        .await
        .expect(200)
}

fn previewed<'a>(p: &'a Value, sub: &str) -> Option<&'a Value> {
    p["invoices"].as_array().unwrap().iter().find(|i| i["subscription_id"].as_str() == Some(sub))
}

#[tokio::test]
async fn the_daily_run_invoices_a_renewal_once_and_the_payment_renews() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let package = env.create_package(&admin, "Renew 8M", "8M", 50_000).await["id"].as_str().unwrap().to_string();
    let router = env.create_router(&admin, "core-r", "10.1.0.9", None).await["id"].as_str().unwrap().to_string();
    let (customer, sub) = prepaid(&env, &admin, &package, &router, 1).await;
    let detail = env.send("GET", &format!("/v1/subscriptions/{sub}"), Some(&admin), None).await.expect(200);
    let expires = time(&detail["expires_at"]);

    // Eight days before the expiry nothing is due; within the ISP's 7 renewal days it is.
    assert!(previewed(&preview(&env, &admin, expires - Duration::days(8)).await, &sub).is_none());
    // Whole seconds: the job's time travels as RFC 3339 without a fraction.
    let run_at = (expires - Duration::days(6)).trunc_subsecs(0);
    let p = preview(&env, &admin, run_at).await;
    let draft = previewed(&p, &sub).expect("the renewal is previewed").clone();
    assert_eq!((draft["status"].as_str(), draft["kind"].as_str()), (Some("draft"), Some("renewal")));
    assert_eq!(draft["total"].as_i64(), Some(50_000));
    assert_eq!(time(&draft["period"]["start"]), expires, "renews from the expiry");
    assert_eq!(time(&draft["due_date"]), expires, "due when the paid validity ends");
    assert!(p["count"].as_u64().unwrap() >= 1 && p["total"].as_i64().unwrap() >= 50_000, "{p:#}");
    assert_eq!(invoices_of(&env, &admin, &customer).await.len(), 1, "a preview writes nothing");

    // The job asks the invoicing worker; the invoice appears with the previewed id.
    let job =
        env.send("POST", "/_local/jobs/job-billing-run", None, Some(json!({"time": at(run_at)}))).await.expect(200);
    assert!(job["tenants"].as_u64().unwrap() >= 1, "{job}");
    let mut renewal = None;
    for _ in 0..200 {
        renewal = invoices_of(&env, &admin, &customer).await.into_iter().find(|i| i["kind"] == "renewal");
        if renewal.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let renewal = renewal.expect("the worker issued the renewal");
    assert_eq!(renewal["id"], draft["id"]);
    assert_eq!((renewal["status"].as_str(), renewal["amount_due"].as_i64()), (Some("issued"), Some(50_000)));
    assert_eq!(time(&renewal["due_date"]), expires);
    assert_eq!(time(&renewal["issued_at"]), run_at, "the run's time is the job's");

    // Run again (a repeated job, a redelivered message): nothing more is issued.
    let again = cycles::billing_run::run_tenant(&env.local.app, env.tenant(), run_at).await.unwrap();
    assert_eq!(again.issued, 0, "{again:?}");
    let later = cycles::billing_run::run_tenant(&env.local.app, env.tenant(), run_at + Duration::days(3)).await;
    assert_eq!(later.unwrap().issued, 0);
    assert_eq!(invoices_of(&env, &admin, &customer).await.len(), 2);
    assert!(previewed(&preview(&env, &admin, run_at).await, &sub).is_none(), "invoiced: no longer due");

    // Paying it renews from the expiry; the next renewal is due 7 days before the new one.
    let id = renewal["id"].as_str().unwrap();
    env.send_with(
        "POST",
        "/v1/payments",
        Some(&admin),
        Some(json!({"invoice_id": id, "amount": 50_000, "method": "cash"})),
        &[("idempotency-key", "renewal-pay")],
    )
    .await
    .expect(201);
    let detail = env.send("GET", &format!("/v1/subscriptions/{sub}"), Some(&admin), None).await.expect(200);
    assert_eq!(time(&detail["expires_at"]), expires + Duration::days(30));
    // A sweep that read the expiry index before this payment cannot expire it any more.
    let tid = env.tenant();
    let (cid, sid) = (customer.parse().unwrap(), sub.parse().unwrap());
    let stale = subscriptions::subscriptions::Change::Expire { at: expires + Duration::hours(1) };
    let system = domain::actor::Actor::system(tid);
    let refused =
        subscriptions::subscriptions::apply(&env.local.app, &system, &ChangeRequest::new(tid, cid, sid, &stale)).await;
    assert!(matches!(refused, Err(domain::Error::Conflict { code: "not_expired", .. })), "{refused:?}");
    let next = preview(&env, &admin, expires + Duration::days(24)).await;
    let next = previewed(&next, &sub).expect("the next renewal is due");
    assert_eq!(time(&next["period"]["start"]), expires + Duration::days(30));
    assert_ne!(next["id"], draft["id"], "another period, another invoice");
}

#[tokio::test]
async fn two_runs_started_together_issue_each_invoice_once_with_gapless_numbers() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let package = env.create_package(&admin, "Race 6M", "6M", 30_000).await["id"].as_str().unwrap().to_string();
    let router = env.create_router(&admin, "core-q", "10.1.0.10", None).await["id"].as_str().unwrap().to_string();
    let mut subs = vec![];
    for n in 0..24 {
        subs.push(prepaid(&env, &admin, &package, &router, n).await);
    }
    // A customer with two subscriptions due: its account is read and written once per chunk.
    let twice = subs[0].0.clone();
    let second = env.create_subscription(&admin, &twice, &package, &router, "renew0-second").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.send("POST", &format!("/v1/subscriptions/{second}/activate"), Some(&admin), None).await.expect(200);
    subs.push((twice, second));
    let run_at = env.clock.now() + Duration::days(25);
    let due = preview(&env, &admin, run_at).await;
    let expected = due["count"].as_u64().unwrap() as usize;
    let first = env
        .send("POST", "/v1/billing/preview", Some(&admin), Some(json!({"as_of": at(run_at), "limit": 1})))
        .await
        .expect(200);
    assert_eq!((first["count"].as_u64(), first["truncated"].as_bool()), (Some(expected as u64), Some(true)));
    assert_eq!((first["invoices"].as_array().unwrap().len(), &first["total"]), (1, &due["total"]));
    assert!(expected >= subs.len(), "{due:#}");

    let app = &env.local.app;
    let (a, b) = tokio::join!(
        cycles::billing_run::run_tenant(app, env.tenant(), run_at),
        cycles::billing_run::run_tenant(app, env.tenant(), run_at)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.issued + b.issued, expected, "{a:?} {b:?}");
    assert_eq!(a.amount + b.amount, due["total"].as_i64().unwrap());
    for (customer, sub) in &subs {
        let renewals: Vec<Value> = invoices_of(&env, &admin, customer)
            .await
            .into_iter()
            .filter(|i| i["kind"] == "renewal" && i["subscription_id"].as_str() == Some(sub))
            .collect();
        assert_eq!(renewals.len(), 1, "one renewal for {sub}");
    }

    // Every invoice number of the ISP this year is used once, with no gap.
    let mut numbers = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/invoices?limit=100&cursor={c}"),
            None => "/v1/invoices?limit=100".to_string(),
        };
        let page = env.send("GET", &path, Some(&admin), None).await.expect(200);
        for i in page["items"].as_array().unwrap() {
            let n = i["number"].as_str().unwrap();
            numbers.push((n[..n.len() - 7].to_string(), n[n.len() - 6..].parse::<u64>().unwrap()));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let mut by_year: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
    for (prefix, n) in numbers {
        by_year.entry(prefix).or_default().push(n);
    }
    for (prefix, mut ns) in by_year {
        ns.sort();
        let want: Vec<u64> = (1..=ns.len() as u64).collect();
        assert_eq!(ns, want, "numbers of {prefix}");
    }
}
