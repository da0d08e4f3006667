//! A month and a bit of an ISP's life, through the local runner with the clock set by each job's
//! time: postpaid activation with proration and a discount, partial, full and over-payment, the
//! renewal paid partly from credit, reminders, overdue, suspension for debt, payment and restore,
//! a package change; a prepaid subscriber suspended for debt, then expired by the sweep. The
//! customer's books balance at every step.

use chrono::{DateTime, Utc};
use e2e_tests::Env;
use serde_json::{Value, json};
use std::time::Duration;

fn t(s: &str) -> DateTime<Utc> {
    s.parse().expect("a UTC time")
}

struct Life<'a> {
    env: &'a Env,
    admin: String,
}

impl Life<'_> {
    /// Sets the clock (the API's now) and signs in again (tokens live 15 minutes).
    async fn at(&mut self, now: &str) {
        self.env.clock.set(t(now));
        self.admin = self.env.admin().await;
    }

    async fn get(&self, path: &str) -> Value {
        self.env.send("GET", path, Some(&self.admin), None).await.expect(200)
    }

    async fn job(&mut self, name: &str, now: &str) {
        self.at(now).await;
        let r = self.env.send("POST", &format!("/_local/jobs/{name}"), None, Some(json!({"time": now}))).await;
        assert!(r.expect(200)["tenants"].as_u64().unwrap() >= 1);
    }

    /// Polls `path` until `f` holds (the queue's worker does a job's work), up to 15 s.
    async fn until(&self, path: &str, what: &str, f: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..300 {
            let v = self.get(path).await;
            if f(&v) {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{what}: {:#}", self.get(path).await);
    }

    async fn pay(&self, key: &str, body: Value) -> Value {
        self.env
            .send_with("POST", "/v1/payments", Some(&self.admin), Some(body), &[("idempotency-key", key)])
            .await
            .expect(201)
    }
}

fn kind<'a>(list: &'a Value, kind: &str) -> Option<&'a Value> {
    list["items"].as_array().unwrap().iter().find(|i| i["kind"] == kind)
}

#[tokio::test]
async fn a_month_of_an_isps_life_keeps_the_books_balanced() {
    let env = Env::start().await;
    let mut life = Life { env: &env, admin: String::new() };
    // Dhaka is UTC+6: 12:00 local on 10 December.
    life.at("2026-12-10T06:00:00Z").await;
    let admin = life.admin.clone();
    let home = env.create_package(&admin, "Life 20M", "20M", 93_000).await["id"].as_str().unwrap().to_string();
    let plus = env.create_package(&admin, "Life 40M", "40M", 124_000).await["id"].as_str().unwrap().to_string();
    let router = env.create_router(&admin, "core-life", "10.1.0.30", None).await["id"].as_str().unwrap().to_string();
    let customer = env.create_customer(&admin, "Rahim Uddin", "01719-400001", "rahim.life").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let sub = env
        .send(
            "POST",
            &format!("/v1/customers/{customer}/subscriptions"),
            Some(&admin),
            Some(json!({"package_id": home, "router_id": router, "username": "rahim-ppp", "password": "ppp-pass-1",
                "billing_model": "postpaid"})),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    // 10% off for this customer until mid-January.
    env.send(
        "POST",
        "/v1/billing/discounts",
        Some(&admin),
        Some(json!({"name": "Loyalty 10%", "value": {"type": "percent", "bps": 1000},
            "target": {"applies_to": "customer", "id": customer}, "valid_until": "2027-01-15T00:00:00Z"})),
    )
    .await
    .expect(201);

    // A prepaid neighbour who never pays.
    let prepaid_pkg =
        env.create_package(&admin, "Life Pre 10M", "10M", 50_000).await["id"].as_str().unwrap().to_string();
    let neighbour = env.create_customer(&admin, "Karim Mia", "01719-400002", "karim.life").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let pre = env.create_subscription(&admin, &neighbour, &prepaid_pkg, &router, "karim-ppp").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.send("POST", &format!("/v1/subscriptions/{pre}/activate"), Some(&admin), None).await.expect(200);

    // Activation on the 10th: the rest of December, 22 of 31 days, less 10%.
    env.send("POST", &format!("/v1/subscriptions/{sub}/activate"), Some(&admin), None).await.expect(200);
    let list = life.get(&format!("/v1/invoices?customer_id={customer}")).await;
    let first = kind(&list, "activation").expect("an activation invoice").clone();
    let line = &first["lines"][0];
    assert_eq!(line["amount"].as_i64(), Some(66_000), "93,000 x 22/31: {first:#}");
    assert_eq!((first["discount"].as_i64(), first["total"].as_i64()), (Some(6_600), Some(59_400)));
    assert_eq!(first["period"]["end"], "2026-12-31T18:00:00Z", "to local midnight of 1 January");
    let first_id = first["id"].as_str().unwrap().to_string();
    env.books_balance(&life.admin, &customer).await;

    // Partial, then the rest and 100.00 more: the invoice is paid and the surplus is credit.
    life.pay("life-1", json!({"invoice_id": first_id, "amount": 20_000, "method": "cash"})).await;
    let i = life.get(&format!("/v1/invoices/{first_id}")).await;
    assert_eq!((i["status"].as_str(), i["amount_due"].as_i64()), (Some("partially_paid"), Some(39_400)));
    env.books_balance(&life.admin, &customer).await;
    let over = life
        .pay(
            "life-2",
            json!({"invoice_id": first_id, "amount": 49_400, "method": "mobile_money", "reference": "BKASH-77A1"}),
        )
        .await;
    assert_eq!(over["to_credit"].as_i64(), Some(10_000));
    assert_eq!(life.get(&format!("/v1/invoices/{first_id}")).await["status"], "paid");
    let acc = env.books_balance(&life.admin, &customer).await;
    assert_eq!((acc["credit"].as_i64(), acc["balance"].as_i64()), (Some(10_000), Some(-10_000)));

    // New Year's billing run: January, less 10%, paid from the credit as far as it goes.
    life.job("job-billing-run", "2027-01-01T00:05:00Z").await;
    let list = life
        .until(&format!("/v1/invoices?customer_id={customer}"), "the January invoice", |l| kind(l, "renewal").is_some())
        .await;
    let jan = kind(&list, "renewal").unwrap().clone();
    assert_eq!((jan["total"].as_i64(), jan["amount_paid"].as_i64()), (Some(83_700), Some(10_000)));
    assert_eq!((jan["status"].as_str(), jan["amount_due"].as_i64()), (Some("partially_paid"), Some(73_700)));
    assert_eq!(
        (jan["period"]["start"].as_str(), jan["period"]["end"].as_str()),
        (Some("2026-12-31T18:00:00Z"), Some("2027-01-31T18:00:00Z"))
    );
    assert_eq!(jan["due_date"], "2027-01-08T00:05:00Z");
    let jan_id = jan["id"].as_str().unwrap().to_string();
    let inv_path = format!("/v1/invoices/{jan_id}");
    let acc = env.books_balance(&life.admin, &customer).await;
    assert_eq!((acc["credit"].as_i64(), acc["balance"].as_i64()), (Some(0), Some(73_700)));

    // Three days before the due date: a reminder. The neighbour's activation invoice is long
    // past due and its grace is over: overdue and suspended for the debt.
    life.job("job-dunning", "2027-01-05T00:05:00Z").await;
    life.until(&inv_path, "the -3 reminder", |i| i["reminders_sent"] == json!([-3])).await;
    assert_eq!(life.get(&inv_path).await["status"], "partially_paid");
    let pre_path = format!("/v1/subscriptions/{pre}");
    let p = life.until(&pre_path, "the neighbour suspended", |s| s["status"] == "suspended").await;
    assert_eq!(p["status_reason"], "unpaid");

    // Past the due date: overdue, and the on-the-day reminder.
    life.job("job-dunning", "2027-01-08T01:00:00Z").await;
    let i = life.until(&inv_path, "overdue", |i| i["status"] == "overdue").await;
    assert_eq!(i["reminders_sent"], json!([-3, 0]));
    let sub_path = format!("/v1/subscriptions/{sub}");
    assert_eq!(life.get(&sub_path).await["status"], "active", "within the grace days");
    env.books_balance(&life.admin, &customer).await;

    // The neighbour's validity ended unpaid: the sweep expires it.
    life.job("job-expiry-sweep", "2027-01-09T07:00:00Z").await;
    life.until(&pre_path, "the neighbour expired", |s| s["status"] == "expired").await;

    // Grace over: the last reminder, and the subscription is suspended for the debt.
    life.job("job-dunning", "2027-01-11T01:00:00Z").await;
    let s = life.until(&sub_path, "suspended for debt", |s| s["status"] == "suspended").await;
    assert_eq!(s["status_reason"], "unpaid");
    assert_eq!(life.get(&inv_path).await["reminders_sent"], json!([-3, 0, 3]));
    // Running dunning again changes nothing more.
    let again = cycles::dunning::run_dunning(&env.local.app, env.tenant(), t("2027-01-11T01:00:00Z")).await.unwrap();
    assert_eq!((again.reminders, again.suspended, again.marked_overdue), (0, 0, 0), "{again:?}");

    // The customer pays the debt by bank transfer: paid, and restored in the same transaction.
    life.at("2027-01-11T09:00:00Z").await;
    life.pay(
        "life-3",
        json!({"invoice_id": jan_id, "amount": 73_700, "method": "bank_transfer", "reference": "DBBL-0091"}),
    )
    .await;
    assert_eq!(life.get(&inv_path).await["status"], "paid");
    let s = life.get(&sub_path).await;
    assert_eq!((s["status"].as_str(), s["status_reason"].as_str()), (Some("active"), None));
    let acc = env.books_balance(&life.admin, &customer).await;
    assert_eq!(acc["balance"].as_i64(), Some(0));

    // Mid-January upgrade (the discount has ended): credit for the unused Home 20M, charge for
    // the rest of the month on Home 40M.
    life.at("2027-01-16T06:00:00Z").await;
    let admin = life.admin.clone();
    env.send(
        "POST",
        &format!("/v1/subscriptions/{sub}/change-package"),
        Some(&admin),
        Some(json!({"package_id": plus})),
    )
    .await
    .expect(200);
    let list = life.get(&format!("/v1/invoices?customer_id={customer}")).await;
    let change = kind(&list, "package_change").expect("a package-change invoice").clone();
    let lines = change["lines"].as_array().unwrap();
    let (credit, charge) = (lines[0]["amount"].as_i64().unwrap(), lines[1]["amount"].as_i64().unwrap());
    let days = (1..=31).find(|d| 93_000 * d % 31 == 0 && -(93_000 * d / 31) == credit);
    let days = days.expect("the credit is whole days of the old price");
    assert_eq!(charge, 124_000 * days / 31, "{change:#}");
    assert_eq!((change["discount"].as_i64(), change["total"].as_i64()), (Some(0), Some(credit + charge)));
    let acc = env.books_balance(&life.admin, &customer).await;
    assert_eq!(acc["balance"].as_i64(), Some(credit + charge));

    // What happened, in the ledger: every invoice and payment once.
    let ledger = life.get(&format!("/v1/customers/{customer}/ledger?limit=200")).await;
    let kinds: Vec<&str> = ledger["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "invoice_issued").count(), 3, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "payment_received").count(), 3, "{kinds:?}");

    // The reports, from the aggregates kept with the money: every payment of December and
    // January, December's revenue by package, and dues that match the open invoices.
    let c = life.get("/v1/reports/collections?from=2026-12-01&to=2027-01-31").await;
    assert_eq!((c["amount"].as_i64(), c["count"].as_i64()), (Some(143_100), Some(3)), "{c:#}");
    let method = |m: &str| {
        c["by_method"].as_array().unwrap().iter().find(|a| a["key"] == m).map(|a| a["amount"].as_i64().unwrap())
    };
    assert_eq!(
        (method("cash"), method("mobile_money"), method("bank_transfer")),
        (Some(20_000), Some(49_400), Some(73_700))
    );
    let days: Vec<&str> = c["by_day"].as_array().unwrap().iter().map(|d| d["key"].as_str().unwrap()).collect();
    assert_eq!(days, ["2026-12-10", "2027-01-11"], "local days");
    let r = life.get("/v1/reports/revenue?from=2026-12&to=2026-12").await;
    let dec = &r["months"][0];
    assert_eq!(
        (dec["month"].as_str(), dec["net"].as_i64(), dec["invoices"].as_i64()),
        (Some("2026-12"), Some(109_400), Some(2)),
        "{r:#}"
    );
    let pkg = |name: &str| {
        dec["by_package"].as_array().unwrap().iter().find(|p| p["name"] == name).map(|p| p["net"].as_i64().unwrap())
    };
    assert_eq!((pkg("Life 20M"), pkg("Life Pre 10M")), (Some(59_400), Some(50_000)));
    let d = life.get("/v1/reports/dues").await;
    let mut open = 0;
    for status in ["issued", "partially_paid", "overdue"] {
        let l = life.get(&format!("/v1/invoices?status={status}&limit=200")).await;
        open += l["items"].as_array().unwrap().iter().map(|i| i["amount_due"].as_i64().unwrap()).sum::<i64>();
    }
    assert_eq!(d["total"].as_i64(), Some(open), "dues = what open invoices owe: {d:#}");
    let buckets: i64 = ["current", "days_0_30", "days_31_60", "days_61_90", "days_over_90"]
        .iter()
        .map(|b| d[*b].as_i64().unwrap())
        .sum();
    assert_eq!(buckets, open);
    assert!(d["current"].as_i64().unwrap() >= credit + charge, "the upgrade's invoice is not due yet");

    let csv = env.get_raw("/v1/reports/collections?from=2026-12-01&to=2027-01-31&format=csv", &life.admin).await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("date,dimension,key,amount,count\n2026-12-10,day,,69400,2\n"), "{text}");

    // February: an installation invoice, due a week later, paid in full. Once its due date has
    // passed, dunning drops that date from the dues aggregate (it owes nothing); what is still
    // owed does not move, and a second run finds nothing more to drop.
    life.at("2027-02-01T06:00:00Z").await;
    let draft = life
        .env
        .send(
            "POST",
            "/v1/invoices",
            Some(&life.admin),
            Some(json!({"customer_id": customer, "lines": [{"description": "Fibre drop", "unit_amount": 20_000}]})),
        )
        .await
        .expect(201);
    let fibre = draft["id"].as_str().unwrap().to_string();
    let issued = env.send("POST", &format!("/v1/invoices/{fibre}/issue"), Some(&life.admin), None).await.expect(200);
    assert_eq!(issued["due_date"], "2027-02-08T06:00:00Z");
    let owed = issued["amount_due"].as_i64().unwrap();
    life.pay("life-4", json!({"invoice_id": fibre, "amount": owed, "method": "cash"})).await;
    let dues_days = || async {
        let q = store::Query::table(store::keys::dues_pk(env.tenant())).limit(500);
        let mut by_day: std::collections::BTreeMap<String, i64> = Default::default();
        for i in env.local.app.store.query_all_items(q, 10_000).await.unwrap() {
            let sk = store::string_attr(&i, "sk").unwrap();
            let amount: i64 = i.get("amount").and_then(|v| v.as_n().ok()).map_or(0, |n| n.parse().unwrap());
            *by_day.entry(sk.split('#').next().unwrap().to_string()).or_default() += amount;
        }
        by_day
    };
    assert_eq!(dues_days().await.get("2027-02-08"), Some(&0), "paid: the date owes nothing");
    life.at("2027-02-10T06:00:00Z").await;
    let before = life.get("/v1/reports/dues").await;
    // An add to that date after it was read (an invoice due then, written meanwhile) keeps it.
    let tenant = identity::tenants::load_tenant(&env.local.app, env.tenant()).await.unwrap().unwrap();
    let settled = kernel::projections::reports::settled_dues_days(&env.local.app, &tenant, t("2027-02-10T06:00:00Z"))
        .await
        .unwrap();
    let feb8 = settled.iter().find(|d| d.day == "2027-02-08").expect("the paid date is settled").clone();
    let meanwhile = |by: i64| {
        let mut tx = store::Tx::new();
        let k = store::keys::dues_day(env.tenant(), "2027-02-08", feb8.shards[0].0);
        tx.add_counters(&k, "REPORT", &[("amount".into(), by)]);
        env.local.app.store.commit(tx)
    };
    meanwhile(5_000).await.unwrap();
    assert!(!kernel::projections::reports::drop_settled_dues_day(&env.local.app, env.tenant(), &feb8).await.unwrap());
    assert_eq!(dues_days().await.get("2027-02-08"), Some(&5_000), "nothing was dropped");
    meanwhile(-5_000).await.unwrap();
    let run = cycles::dunning::run_dunning(&env.local.app, env.tenant(), t("2027-02-10T06:00:00Z")).await.unwrap();
    assert!(run.dues_days_compacted >= 1, "{run:?}");
    let days = dues_days().await;
    assert!(!days.contains_key("2027-02-08"), "{days:?}");
    let idle = days.iter().filter(|(day, sum)| day.as_str() < "2027-02-10" && **sum == 0).count();
    assert_eq!(idle, 0, "no past date that owes nothing is left: {days:?}");
    let after = life.get("/v1/reports/dues").await;
    assert_eq!(after["total"], before["total"], "{after:#}");
    let again = cycles::dunning::run_dunning(&env.local.app, env.tenant(), t("2027-02-10T06:00:00Z")).await.unwrap();
    assert_eq!(again.dues_days_compacted, 0, "{again:?}");
}
