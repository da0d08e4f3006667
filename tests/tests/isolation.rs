use e2e_tests::Env;
use local_runner::template::Template;
use serde_json::json;

/// Walks every route of the template as another ISP's admin, aimed at the demo ISP's ids: each
/// answers 404 (403 for platform routes that admins may not use) and nothing changes. A route added
/// to the template without a case here fails this test.
#[tokio::test]
async fn every_route_refuses_another_tenants_ids_and_changes_nothing() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let tid = env.tenant();
    let sms = messaging::testing::FakeSms::start(
        messaging::sms::SmsProvider::SslWireless,
        &[("api_token", "ssl-token-demo")],
    )
    .await;
    let channel = crate::notifications::sms_channel(&env, &admin, &sms).await;
    let customer = env.create_customer(&admin, "Victim", "01717-000001", "victim").await;
    let cid = customer["id"].as_str().unwrap().to_string();
    let (uid, _) = env.create_user(&admin, "staff", "victim-staff@demo.test", None).await;
    let rid = env.seed.reseller_id.unwrap().to_string();
    let pkg = env.create_package(&admin, "Victim Package", "10M", 1000).await["id"].as_str().unwrap().to_string();
    let pop = env
        .send("POST", "/v1/pops", Some(&admin), Some(json!({"name": "Victim POP", "code": "VIC"})))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let router =
        env.create_router(&admin, "Victim Router", "10.99.0.1", Some(&pop)).await["id"].as_str().unwrap().to_string();
    let sub =
        env.create_subscription(&admin, &cid, &pkg, &router, "victim-ppp").await["id"].as_str().unwrap().to_string();
    env.send("POST", &format!("/v1/subscriptions/{sub}/activate"), Some(&admin), None).await.expect(200);
    let invoice = env.send("GET", &format!("/v1/invoices?customer_id={cid}"), Some(&admin), None).await.expect(200)["items"][0]
        ["id"]
        .as_str()
        .unwrap()
        .to_string();
    let payment = env
        .send_with(
            "POST",
            "/v1/payments",
            Some(&admin),
            Some(json!({"invoice_id": invoice, "amount": 100, "method": "cash"})),
            &[("idempotency-key", "victim-pay")],
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let discount = env
        .send(
            "POST",
            "/v1/billing/discounts",
            Some(&admin),
            Some(json!({"name": "Victim 10%", "value": {"type": "percent", "bps": 1000},
                "target": {"applies_to": "customer", "id": cid}})),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (op, _) = env.create_user(&admin, "operator", "victim-op@demo.test", None).await;
    let ticket = env
        .send(
            "POST",
            "/v1/tickets",
            Some(&admin),
            Some(json!({"customer_id": cid, "category": "slow",
            "subject": "Victim's ticket", "body": "slow"})),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let lead = env
        .send("POST", "/v1/leads", Some(&admin), Some(json!({"name": "Victim Lead", "phone": "01811-999001"})))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let import = env
        .send_raw(
            "POST",
            "/v1/imports",
            Some(&admin),
            "text/csv",
            b"name,phone,username,package\nVictim Import,01911-999001,victimimp,Victim Package\n".to_vec(),
        )
        .await
        .expect(202)["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.wait_import(&admin, &import).await;
    let bulk = env
        .send(
            "POST",
            "/v1/subscriptions/bulk",
            Some(&admin),
            Some(json!({"filter": {"package_id": pkg}, "action": {"type": "extend", "days": 1}})),
        )
        .await
        .expect(202)["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.wait_job(&admin, &format!("/v1/subscriptions/bulk/{bulk}")).await;
    let stripe = gateways::testing::FakeStripe::start("sk_test_victim", "whsec_victim").await;
    let gateway = env
        .send(
            "POST",
            "/v1/payment-gateways",
            Some(&admin),
            Some(json!({"gateway": "stripe", "mode": "sandbox", "name": "Victim Stripe",
                "success_url": "https://victim.example/paid", "cancel_url": "https://victim.example/cancelled",
                "base_url": stripe.base_url(),
                "credentials": {"secret_key": "sk_test_victim", "webhook_secret": "whsec_victim"}})),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let checkout = env
        .send_with(
            "POST",
            "/v1/checkouts",
            Some(&admin),
            Some(json!({"invoice_id": invoice, "gateway_account_id": gateway})),
            &[("idempotency-key", "victim-checkout")],
        )
        .await
        .expect(201);
    let (checkout, order) =
        (checkout["id"].as_str().unwrap().to_string(), checkout["order_id"].as_str().unwrap().to_string());
    // The victim's voucher plan.
    let plan = env
        .send(
            "POST",
            "/v1/voucher-plans",
            Some(&admin),
            Some(json!({"name": "VICTIM-DAILY", "validity_hours": 24, "validity_from": "first_login",
                "data_limit_mb": 1024, "rate_limit": "5M/5M", "price": 2000})),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The victim's voucher batch and one of its codes.
    let vbatch = env
        .send_with(
            "POST",
            "/v1/voucher-batches",
            Some(&admin),
            Some(json!({"plan_id": plan, "quantity": 2, "placement": {"type": "all"}})),
            &[("idempotency-key", "victim-batch")],
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut vcode = String::new();
    for _ in 0..400 {
        let l = env.send("GET", &format!("/v1/vouchers?batch={vbatch}"), Some(&admin), None).await.expect(200);
        if l["items"].as_array().unwrap().len() == 2 {
            vcode = l["items"][0]["code"].as_str().unwrap().to_string();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!vcode.is_empty(), "the victim's vouchers were generated");
    // The victim's own system hears its payments.
    let hook = messaging::testing::FakeEndpoint::start("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").await;
    let endpoint = env
        .send(
            "POST",
            "/v1/webhook-endpoints",
            Some(&admin),
            Some(json!({"url": hook.url(), "description": "Victim ERP", "events": ["PaymentReceived"]})),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The victim's package commission rule and recharge cards.
    env.send(
        "PUT",
        &format!("/v1/packages/{pkg}/commission"),
        Some(&admin),
        Some(json!({"operator": {"kind": "percent", "basis_points": 500}})),
    )
    .await
    .expect(200);
    let cards = env
        .send_with(
            "POST",
            "/v1/recharge-card-batches",
            Some(&admin),
            Some(json!({"quantity": 2, "value": 10_000})),
            &[("idempotency-key", "victim-cards")],
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The victim's router answers nothing: offline at its first check, a staff alert.
    env.send("POST", &format!("/v1/routers/{router}/test"), Some(&admin), None).await;
    let alerts = env.send("GET", "/v1/alerts", Some(&admin), None).await.expect(200);
    assert_eq!(alerts["items"][0]["kind"], "router_offline", "{alerts:#}");
    let alert = alerts["items"][0]["id"].as_str().unwrap().to_string();
    // The victim's stock: an ONU received by serial at its warehouse, and installed at the customer.
    let item = env
        .send(
            "POST",
            "/v1/inventory/items",
            Some(&admin),
            Some(json!({"name": "Victim ONU", "sku": "VIC-ONU", "category": "onu", "serial_tracked": true, "unit_cost": 100})),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let store = env
        .send(
            "POST",
            "/v1/inventory/locations",
            Some(&admin),
            Some(json!({"name": "Victim store", "kind": "warehouse"})),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (key, body) in [
        (
            "victim-in",
            json!({"kind": "receive", "item_id": item, "to_location_id": store, "serials": ["VIC1", "VIC2"]}),
        ),
        (
            "victim-out",
            json!({"kind": "issue", "item_id": item, "from_location_id": store, "serials": ["VIC1"],
                "holder": {"type": "customer", "id": cid}}),
        ),
    ] {
        env.send_with("POST", "/v1/inventory/movements", Some(&admin), Some(body), &[("idempotency-key", key)])
            .await
            .expect(201);
    }
    let assets = env.send("GET", &format!("/v1/inventory/assets?item_id={item}"), Some(&admin), None).await.expect(200);
    let asset = assets["items"][0]["id"].as_str().unwrap().to_string();
    let supplier = env
        .send("POST", "/v1/inventory/suppliers", Some(&admin), Some(json!({"name": "Victim Supplies"})))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let po = env
        .send(
            "POST",
            "/v1/inventory/purchase-orders",
            Some(&admin),
            Some(json!({"supplier_id": supplier, "location_id": store, "lines": [{"item_id": item, "quantity": 1}]})),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    // A backup of the victim's router (pending: this runner reaches no router).
    let backup = env
        .send_with(
            "POST",
            &format!("/v1/routers/{router}/backups"),
            Some(&admin),
            None,
            &[("idempotency-key", "victim-backup")],
        )
        .await
        .expect(202)["id"]
        .as_str()
        .unwrap()
        .to_string();
    // A device the victim watches by SNMP.
    let device = env
        .send(
            "POST",
            "/v1/monitoring/devices",
            Some(&admin),
            Some(json!({"name": "Victim OLT", "kind": "olt", "host": "10.99.0.40",
                "snmp": {"version": "v2c", "community": "victim-community"}})),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let api_key = env
        .send(
            "POST",
            "/v1/api-keys",
            Some(&admin),
            Some(json!({"name": "Victim key", "abilities": ["customers:read"]})),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let branch = env
        .send("POST", "/v1/branches", Some(&admin), Some(json!({"name": "Victim branch", "code": "VICB"})))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let secret_ids = [
        &branch, &api_key, &device, &backup, &cid, &uid, &pkg, &pop, &router, &sub, &op, &lead, &import, &bulk,
        &invoice, &payment, &gateway, &checkout, &alert, &endpoint, &plan, &cards, &item, &store, &asset, &supplier,
        &po,
    ];
    let (_, intruder) = env.other_tenant("intruder").await;
    // The intruder's own gateway account, to name the victim's order under it.
    let own_stripe = gateways::testing::FakeStripe::start("sk_test_intruder", "whsec_intruder").await;
    let intruder_gateway = env
        .send(
            "POST",
            "/v1/payment-gateways",
            Some(&intruder),
            Some(json!({"gateway": "stripe", "mode": "sandbox", "name": "Intruder Stripe",
                "success_url": "https://intruder.example/paid", "cancel_url": "https://intruder.example/cancelled",
                "base_url": own_stripe.base_url(),
                "credentials": {"secret_key": "sk_test_intruder", "webhook_secret": "whsec_intruder"}})),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The invoice and the payment each made an SMS; all sent before the table is compared.
    let mut message = String::new();
    for _ in 0..200 {
        let m = env.send("GET", &format!("/v1/messages?customer_id={cid}"), Some(&admin), None).await.expect(200);
        let items = m["items"].as_array().unwrap().clone();
        if items.len() == 2 && items.iter().all(|i| i["status"] == "accepted") {
            message = items[0]["id"].as_str().unwrap().to_string();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        !message.is_empty(),
        "the victim's messages were sent: {:#}",
        env.send("GET", &format!("/v1/messages?customer_id={cid}"), Some(&admin), None).await.body
    );
    let before = env.table_snapshot().await;
    let before_demo: Vec<_> = before.keys().filter(|k| k.starts_with(&format!("T#{tid}#"))).cloned().collect();

    let template = Template::load(&Template::default_path()).unwrap();
    let mut walked = 0;
    for f in &template.functions {
        for (method, path) in &f.routes {
            let (target, body, expect): (String, Option<serde_json::Value>, &[u16]) = match (
                method.as_str(),
                path.as_str(),
            ) {
                ("GET" | "DELETE", "/v1/customers/{id}") => (path.replace("{id}", &cid), None, &[404]),
                ("PATCH", "/v1/customers/{id}") => {
                    (path.replace("{id}", &cid), Some(json!({"name": "pwned", "version": 1})), &[404])
                }
                ("GET" | "DELETE", "/v1/users/{id}") => (path.replace("{id}", &uid), None, &[404]),
                ("PATCH", "/v1/users/{id}") => {
                    (path.replace("{id}", &uid), Some(json!({"name": "pwned", "version": 1})), &[404])
                }
                ("GET", "/v1/tenants/{id}" | "/v1/tenants/{id}/rate-limits") => {
                    (path.replace("{id}", &tid.to_string()), None, &[404])
                }
                // The platform's defaults are the platform owner's alone.
                ("GET" | "PUT", "/v1/platform/rate-limits") => {
                    (path.clone(), Some(json!({"api_per_minute": 1_000_000})), &[403, 422])
                }
                // API keys: another ISP's key is not found; the intruder lists and makes its own.
                ("GET" | "DELETE", "/v1/api-keys/{id}") => (path.replace("{id}", &api_key), None, &[404]),
                ("PATCH", "/v1/api-keys/{id}") => {
                    (path.replace("{id}", &api_key), Some(json!({"name": "pwned", "version": 1})), &[404])
                }
                ("GET", "/v1/api-keys") => (path.clone(), None, &[200]),
                ("POST", "/v1/api-keys") => {
                    (path.clone(), Some(json!({"name": "Mine", "abilities": ["customers:read"]})), &[201])
                }
                ("PATCH", "/v1/tenants/{id}") => {
                    (path.replace("{id}", &tid.to_string()), Some(json!({"name": "pwned", "version": 1})), &[404])
                }
                ("POST", "/v1/tenants/{id}/suspend" | "/v1/tenants/{id}/resume") => {
                    (path.replace("{id}", &tid.to_string()), None, &[403, 404])
                }
                ("GET", "/v1/platform-resellers/{id}") => (path.replace("{id}", &rid), None, &[403, 404]),
                // The platform's analytics are the owner's and each reseller's own.
                ("GET", "/v1/platform/analytics") => (path.clone(), None, &[403]),
                ("GET", "/v1/platform-resellers/{id}/analytics") => (path.replace("{id}", &rid), None, &[403]),
                // An ISP admin buys nothing for the platform reseller and sees none of its purchases.
                ("POST", "/v1/platform-resellers/{id}/checkouts") => (
                    path.replace("{id}", &rid),
                    Some(json!({"purchase": {"kind": "isp_slots", "count": 1}, "gateway_account_id": gateway})),
                    &[404],
                ),
                ("GET", "/v1/platform-resellers/{id}/checkouts") => (path.replace("{id}", &rid), None, &[404]),
                ("GET", "/v1/platform-resellers/{id}/checkouts/{checkout_id}") => {
                    (path.replace("{id}", &rid).replace("{checkout_id}", &checkout), None, &[404])
                }
                ("PATCH", "/v1/platform-resellers/{id}") => {
                    (path.replace("{id}", &rid), Some(json!({"isp_limit": 0, "version": 1})), &[403, 404])
                }
                ("GET" | "DELETE", "/v1/packages/{id}/commission") => (path.replace("{id}", &pkg), None, &[404]),
                ("PUT", "/v1/packages/{id}/commission") => (
                    path.replace("{id}", &pkg),
                    Some(json!({"operator": {"kind": "percent", "basis_points": 10_000}})),
                    &[404],
                ),
                // Its own cards: made in its own ISP.
                ("POST", "/v1/recharge-card-batches") => {
                    (path.clone(), Some(json!({"quantity": 1, "value": 100})), &[201])
                }
                ("GET", "/v1/recharge-card-batches") => (path.clone(), None, &[200]),
                (
                    "GET",
                    "/v1/recharge-card-batches/{id}"
                    | "/v1/recharge-card-batches/{id}/cards"
                    | "/v1/recharge-card-batches/{id}/csv",
                ) => (path.replace("{id}", &cards), None, &[404]),
                ("POST", "/v1/recharge-card-batches/{id}/cards/{serial}/disable") => {
                    (path.replace("{id}", &cards).replace("{serial}", "1"), None, &[404])
                }
                // Redeeming for the victim's customer: no such customer in the caller's ISP.
                ("POST", "/v1/customers/{id}/recharge") => {
                    (path.replace("{id}", &cid), Some(json!({"code": "RCAAAABBBBCCCCDDDD"})), &[404])
                }
                ("GET" | "DELETE", "/v1/packages/{id}") | ("GET", "/v1/packages/{id}/offers") => {
                    (path.replace("{id}", &pkg), None, &[404])
                }
                ("PATCH", "/v1/packages/{id}") => {
                    (path.replace("{id}", &pkg), Some(json!({"price": 1, "version": 1})), &[404])
                }
                ("PUT" | "DELETE", "/v1/packages/{id}/offers/{operator_id}") => (
                    path.replace("{id}", &pkg).replace("{operator_id}", &op),
                    Some(json!({"wholesale_price": 1})),
                    &[404],
                ),
                // Branches: another ISP's is not found; the intruder lists and makes its own.
                ("GET", "/v1/branches/{id}") => (path.replace("{id}", &branch), None, &[404]),
                ("PATCH", "/v1/branches/{id}") => {
                    (path.replace("{id}", &branch), Some(json!({"name": "pwned", "version": 1})), &[404])
                }
                ("GET", "/v1/branches") => (path.clone(), None, &[200]),
                ("POST", "/v1/branches") => (path.clone(), Some(json!({"name": "Mine", "code": "VICB"})), &[201]),
                ("GET" | "DELETE", "/v1/pops/{id}") => (path.replace("{id}", &pop), None, &[404]),
                ("PATCH", "/v1/pops/{id}") => {
                    (path.replace("{id}", &pop), Some(json!({"name": "pwned", "version": 1})), &[404])
                }
                ("GET" | "DELETE", "/v1/routers/{id}") => (path.replace("{id}", &router), None, &[404]),
                ("PATCH", "/v1/routers/{id}") => {
                    (path.replace("{id}", &router), Some(json!({"host": "6.6.6.6", "version": 1})), &[404])
                }
                // The concentrator's list takes the edge's token, never a user's.
                ("GET", "/v1/edge/peers") => (path.clone(), None, &[401]),
                // Monitoring: another ISP's device is not found; the intruder lists and adds its own.
                ("GET", "/v1/monitoring/devices") => (path.clone(), None, &[200]),
                ("POST", "/v1/monitoring/devices") => (
                    path.clone(),
                    Some(
                        json!({"name": "Mine", "kind": "olt", "host": "10.98.0.1", "snmp": {"version": "v2c", "community": "c"}}),
                    ),
                    &[201],
                ),
                (_, p) if p.starts_with("/v1/monitoring/devices/{id}") => {
                    (path.replace("{id}", &device), Some(json!({"name": "pwned", "version": 1})), &[404])
                }
                // Monitoring: another ISP's router is not found.
                ("GET", p) if p.starts_with("/v1/monitoring/routers/{id}") => {
                    (path.replace("{id}", &router), None, &[404])
                }
                // FreeRADIUS's routes take its token, never a user's (a NAS of one ISP asking for
                // another's subscriber: `radius::logins_accounting_and_changes_go_through_freeradius`).
                (_, p) if p.starts_with("/v1/radius/") => {
                    (path.clone(), Some(json!({"User-Name": {"type": "string", "value": ["rahim"]}})), &[401])
                }
                // Backups: the router is not found, whatever the backup.
                ("GET" | "POST", p) if p.starts_with("/v1/routers/{id}/backups/{backup_id}") => (
                    path.replace("{id}", &router).replace("{backup_id}", &backup),
                    Some(json!({"menus": ["/ip/pool"]})),
                    &[404],
                ),
                ("GET", "/v1/routers/{id}/backup-diff") => {
                    (format!("{}?from={backup}&to={backup}", path.replace("{id}", &router)), None, &[404])
                }
                ("GET", "/v1/routers/{id}/restores/{restore_id}") => {
                    (path.replace("{id}", &router).replace("{restore_id}", &backup), None, &[404])
                }
                // Live operations, reconciles and their reports: the router is not found before
                // anything is asked of the provisioning function.
                ("GET" | "POST", p) if p.starts_with("/v1/routers/{id}/") => {
                    (path.replace("{id}", &router), None, &[404])
                }
                ("GET", "/v1/operators/{id}") => (path.replace("{id}", &op), None, &[404]),
                ("GET", "/v1/operators/{id}/wallet" | "/v1/operators/{id}/wallet/ledger") => {
                    (path.replace("{id}", &op), None, &[404])
                }
                ("POST", "/v1/operators/{id}/wallet/top-ups") => {
                    (path.replace("{id}", &op), Some(json!({"amount": 100, "method": "cash"})), &[404])
                }
                ("POST", "/v1/operators/{id}/wallet/transfers") => {
                    (path.replace("{id}", &op), Some(json!({"to_operator_id": op, "amount": 1})), &[404])
                }
                ("PUT", "/v1/operators/{id}/profile") => (
                    path.replace("{id}", &op),
                    Some(json!({"commission_rate_bps": 1, "credit_limit": 1, "version": 0})),
                    &[404],
                ),
                ("GET", "/v1/subscriptions/bulk/{id}" | "/v1/subscriptions/bulk/{id}/errors") => {
                    (path.replace("{id}", &bulk), None, &[404])
                }
                // Acts only on the caller's own ISP's subscriptions: another ISP's package id matches none.
                ("POST", "/v1/subscriptions/bulk") => {
                    (path.clone(), Some(json!({"filter": {"package_id": pkg}, "action": {"type": "suspend"}})), &[422])
                }
                (
                    "GET",
                    "/v1/subscriptions/{id}"
                    | "/v1/subscriptions/{id}/password"
                    | "/v1/subscriptions/{id}/session"
                    | "/v1/subscriptions/{id}/usage",
                ) => (path.replace("{id}", &sub), None, &[404]),
                ("POST", p) if p.starts_with("/v1/subscriptions/{id}/") => {
                    let body = match p.rsplit('/').next().unwrap() {
                        "change-package" => json!({"package_id": pkg}),
                        "extend" => json!({"days": 5}),
                        "move-router" => json!({"router_id": router}),
                        _ => json!({}),
                    };
                    (path.replace("{id}", &sub), Some(body), &[404])
                }
                ("GET", "/v1/customers/{id}/subscriptions" | "/v1/customers/{id}/timeline") => {
                    (path.replace("{id}", &cid), None, &[404])
                }
                ("POST", "/v1/customers/{id}/subscriptions") => (
                    path.replace("{id}", &cid),
                    Some(json!({"package_id": pkg, "router_id": router, "billing_model": "prepaid"})),
                    &[404],
                ),
                ("POST", "/v1/customers/{id}/notes") => {
                    (path.replace("{id}", &cid), Some(json!({"text": "pwned"})), &[404])
                }
                ("GET", "/v1/packages" | "/v1/pops" | "/v1/routers" | "/v1/operators" | "/v1/subscriptions") => {
                    (path.clone(), None, &[200])
                }
                ("POST", "/v1/packages") => (
                    path.clone(),
                    Some(
                        json!({"name": "Mine", "connection_type": "pppoe", "download": "1M", "upload": "1M", "price": 1, "validity_days": 1}),
                    ),
                    &[201],
                ),
                ("POST", "/v1/pops") => (path.clone(), Some(json!({"name": "Mine", "code": "VIC"})), &[201]),
                ("GET", "/v1/invoices" | "/v1/payments") => (path.clone(), None, &[200]),
                ("GET", "/v1/invoices/{id}" | "/v1/invoices/{id}/pdf" | "/v1/invoices/{id}/credit-notes") => {
                    (path.replace("{id}", &invoice), None, &[404])
                }
                ("POST", "/v1/invoices") => (
                    path.clone(),
                    Some(json!({"customer_id": cid, "lines": [{"description": "pwned", "unit_amount": 1}]})),
                    &[422],
                ),
                ("POST", "/v1/invoices/{id}/lines") => (
                    path.replace("{id}", &invoice),
                    Some(json!({"description": "pwned", "unit_amount": 1, "version": 1})),
                    &[404],
                ),
                ("POST", "/v1/invoices/{id}/issue") => (path.replace("{id}", &invoice), None, &[404]),
                ("POST", "/v1/invoices/{id}/credit-notes") => {
                    (path.replace("{id}", &invoice), Some(json!({"amount": 1, "reason": "pwned"})), &[404])
                }
                ("POST", "/v1/customers/{id}/refunds") => (
                    path.replace("{id}", &cid),
                    Some(json!({"amount": 1, "method": "cash", "reason": "pwned"})),
                    &[404],
                ),
                ("GET", "/v1/customers/{id}/refunds") => (path.replace("{id}", &cid), None, &[404]),
                ("POST", "/v1/invoices/{id}/void") => {
                    (path.replace("{id}", &invoice), Some(json!({"reason": "pwned"})), &[404])
                }
                ("GET", "/v1/payments/{id}") => (path.replace("{id}", &payment), None, &[404]),
                // The intruder's own (empty) ISP: nothing of the demo ISP is previewed.
                ("POST", "/v1/billing/preview") => {
                    let body = json!({"as_of": "2099-01-01T00:00:00Z"});
                    let a = env.send("POST", path, Some(&intruder), Some(body)).await.expect(200);
                    assert_eq!((a["count"].as_u64(), a["total"].as_i64()), (Some(0), Some(0)), "{a}");
                    walked += 1;
                    continue;
                }
                ("GET", "/v1/billing/discounts") => (path.clone(), None, &[200]),
                // Reports are of the caller's own ISP: nothing of the demo ISP's money shows.
                (
                    "GET",
                    "/v1/reports/collections" | "/v1/reports/dues" | "/v1/reports/revenue" | "/v1/reports/commissions",
                ) => {
                    let a = env.send("GET", path, Some(&intruder), None).await.expect(200);
                    let figures = [&a["amount"], &a["total"], &a["months"][0]["net"], &a["months"][0]["amount"]];
                    assert!(figures.iter().all(|v| v.is_null() || v.as_i64() == Some(0)), "{a}");
                    walked += 1;
                    continue;
                }
                // The helpdesk: the victim's ticket is not there; a ticket for its customer or
                // assigned to its staff is refused; lists and the report are the intruder's own.
                ("POST", "/v1/tickets") => (
                    path.clone(),
                    Some(json!({"customer_id": cid, "category": "slow", "subject": "pwned", "body": "x"})),
                    &[422],
                ),
                ("GET", "/v1/tickets") => {
                    let a = env.send("GET", path, Some(&intruder), None).await.expect(200);
                    assert_eq!(a["items"], json!([]), "{a}");
                    walked += 1;
                    continue;
                }
                ("GET", "/v1/reports/tickets") => {
                    let a = env.send("GET", path, Some(&intruder), None).await.expect(200);
                    assert_eq!(a["open"], 0, "{a}");
                    walked += 1;
                    continue;
                }
                ("GET", "/v1/tickets/{id}") => (path.replace("{id}", &ticket), None, &[404]),
                ("PATCH", "/v1/tickets/{id}") => {
                    (path.replace("{id}", &ticket), Some(json!({"priority": "low", "version": 1})), &[404])
                }
                ("POST", "/v1/tickets/{id}/messages") => {
                    (path.replace("{id}", &ticket), Some(json!({"body": "pwned"})), &[404])
                }
                ("POST", "/v1/tickets/{id}/resolve" | "/v1/tickets/{id}/close" | "/v1/tickets/{id}/reopen") => {
                    (path.replace("{id}", &ticket), None, &[404])
                }
                ("POST", "/v1/tickets/{id}/attachments") => (
                    path.replace("{id}", &ticket),
                    Some(json!({"file_name": "x.png", "content_type": "image/png", "size": 10})),
                    &[404],
                ),
                ("GET", "/v1/tickets/{id}/attachments/{attachment_id}") => {
                    (path.replace("{id}", &ticket).replace("{attachment_id}", &ticket), None, &[404])
                }
                // The BTRC report and its gaps are the caller's own ISP's; the victim's operator
                // cannot be named.
                ("GET", "/v1/reports/btrc" | "/v1/reports/btrc/missing") => {
                    let a = env.send("GET", path, Some(&intruder), None).await.expect(200);
                    let text = a.to_string();
                    assert!(!text.contains("Victim") && !text.contains(&cid), "{a}");
                    env.send("GET", &format!("{path}?operator_id={op}"), Some(&intruder), None).await.expect(422);
                    walked += 1;
                    continue;
                }
                ("GET", "/v1/reports/btrc/templates") => (path.clone(), None, &[200]),
                // Traffic reports are of the caller's own ISP: none of the demo ISP's routers or users.
                ("GET", "/v1/reports/usage" | "/v1/reports/top-users") => {
                    let a = env.send("GET", path, Some(&intruder), None).await.expect(200);
                    let empty = |v: &serde_json::Value| v.as_array().is_some_and(|a| a.is_empty());
                    assert!((a["total_bytes"] == 0 && empty(&a["routers"])) || empty(&a["users"]), "{a}");
                    walked += 1;
                    continue;
                }
                ("POST", "/v1/billing/discounts") => (
                    path.clone(),
                    Some(json!({"name": "Stolen", "value": {"type": "fixed", "amount": 100},
                        "target": {"applies_to": "customer", "id": cid}})),
                    &[422],
                ),
                ("GET" | "DELETE", "/v1/billing/discounts/{id}") => (path.replace("{id}", &discount), None, &[404]),
                ("PATCH", "/v1/billing/discounts/{id}") => {
                    (path.replace("{id}", &discount), Some(json!({"active": false, "version": 1})), &[404])
                }
                ("GET", "/v1/customers/{id}/account" | "/v1/customers/{id}/ledger") => {
                    (path.replace("{id}", &cid), None, &[404])
                }
                ("GET", "/v1/payment-gateways") => (path.clone(), None, &[200]),
                ("GET", "/v1/messaging/settings" | "/v1/messaging/channels" | "/v1/messaging/templates") => {
                    (path.clone(), None, &[200])
                }
                // The other ISP's SMS account cannot be chosen.
                ("PUT", "/v1/messaging/settings") => (
                    path.clone(),
                    Some(json!({"default_language": "id", "quiet_hours": null, "sends_per_minute": 60,
                        "sms_channel_id": channel, "pay_url": null, "rules": [], "version": 0})),
                    &[422],
                ),
                ("POST", "/v1/messaging/channels") => (
                    path.clone(),
                    Some(json!({"kind": "telegram", "mode": "sandbox", "name": "Mine",
                        "base_url": "http://127.0.0.1:9", "credentials": {"bot_token": "1:mine"}})),
                    &[201],
                ),
                ("GET", "/v1/messaging/channels/{id}") => (path.replace("{id}", &channel), None, &[404]),
                ("PATCH", "/v1/messaging/channels/{id}") => {
                    (path.replace("{id}", &channel), Some(json!({"status": "disabled", "version": 1})), &[404])
                }
                ("POST", "/v1/messaging/channels/{id}/test") => {
                    (path.replace("{id}", &channel), Some(json!({"to": "+6281234567801"})), &[404])
                }
                // Templates are the caller's own: its own text, nothing of the victim's.
                ("PUT", "/v1/messaging/templates/{notice}/{language}") => (
                    "/v1/messaging/templates/invoice_issued/id".into(),
                    Some(json!({"text": "{isp_name}: tagihan {invoice_number}", "version": 0})),
                    &[200],
                ),
                ("DELETE", "/v1/messaging/templates/{notice}/{language}") => {
                    ("/v1/messaging/templates/invoice_issued/id".into(), None, &[200])
                }
                ("POST", "/v1/messaging/templates/{notice}/{language}/preview") => (
                    "/v1/messaging/templates/invoice_issued/en/preview".into(),
                    Some(json!({"customer_id": cid})),
                    &[404],
                ),
                ("GET", "/v1/messages") => (format!("{path}?customer_id={cid}"), None, &[404]),
                ("POST", "/v1/messages") => {
                    (path.clone(), Some(json!({"customer_id": cid, "text": "Your line is ours"})), &[404])
                }
                ("GET", "/v1/messages/{id}") => (path.replace("{id}", &message), None, &[404]),
                ("GET", "/v1/alerts") => (path.clone(), None, &[200]),
                ("GET", "/v1/webhook-endpoints") => (path.clone(), None, &[200]),
                ("GET", "/v1/voucher-plans") => (path.clone(), None, &[200]),
                // The examples land in the caller's own ISP.
                ("POST", "/v1/voucher-plans/examples") => (path.clone(), None, &[200]),
                // Its own plan: made in its own ISP.
                ("POST", "/v1/voucher-plans") => (
                    path.clone(),
                    Some(json!({"name": "MINE-DAILY", "validity_hours": 1, "validity_from": "activation",
                        "data_limit_mb": null, "rate_limit": "1M/1M", "price": 1})),
                    &[201],
                ),
                ("GET", "/v1/voucher-plans/{id}") => (path.replace("{id}", &plan), None, &[404]),
                ("PATCH", "/v1/voucher-plans/{id}") => {
                    (path.replace("{id}", &plan), Some(json!({"price": 1, "version": 1})), &[404])
                }
                // A batch on the victim's plan: no such plan in the caller's ISP.
                ("POST", "/v1/voucher-batches") => {
                    (path.clone(), Some(json!({"plan_id": plan, "quantity": 1, "placement": {"type": "all"}})), &[422])
                }
                ("GET", "/v1/voucher-batches") => (path.clone(), None, &[200]),
                (
                    "GET",
                    "/v1/voucher-batches/{id}" | "/v1/voucher-batches/{id}/pdf" | "/v1/voucher-batches/{id}/csv",
                ) => (path.replace("{id}", &vbatch), None, &[404]),
                // The victim's code names nothing in the caller's ISP, listed or by batch.
                ("GET", "/v1/vouchers") => (format!("{path}?batch={vbatch}"), None, &[200]),
                ("GET", "/v1/vouchers/{code}") => (path.replace("{code}", &vcode), None, &[404]),
                ("POST", "/v1/vouchers/{code}/activate" | "/v1/vouchers/{code}/disable") => {
                    (path.replace("{code}", &vcode), None, &[404])
                }
                ("POST", "/v1/vouchers/{code}/transfer") => {
                    (path.replace("{code}", &vcode), Some(json!({"operator_id": null})), &[404])
                }
                // Selling or refunding the victim's voucher: no such code in the caller's ISP.
                ("POST", "/v1/vouchers/{code}/sell") => (path.replace("{code}", &vcode), Some(json!({})), &[404]),
                ("POST", "/v1/vouchers/{code}/refund") => (path.replace("{code}", &vcode), None, &[404]),
                // Sending the victim's voucher login to the intruder's phone: no such code here.
                ("POST", "/v1/vouchers/{code}/resend-sms") => {
                    (path.replace("{code}", &vcode), Some(json!({"phone": "01719800009"})), &[404])
                }
                // Its own endpoint: made in its own ISP.
                ("POST", "/v1/webhook-endpoints") => {
                    (path.clone(), Some(json!({"url": hook.url(), "events": ["InvoiceIssued"]})), &[201])
                }
                ("PATCH", "/v1/webhook-endpoints/{id}") => (
                    path.replace("{id}", &endpoint),
                    Some(json!({"url": "https://intruder.example/steal", "version": 1})),
                    &[404],
                ),
                ("GET" | "DELETE", "/v1/webhook-endpoints/{id}")
                | ("POST", "/v1/webhook-endpoints/{id}/rotate-secret" | "/v1/webhook-endpoints/{id}/test")
                | ("GET", "/v1/webhook-endpoints/{id}/deliveries") => (path.replace("{id}", &endpoint), None, &[404]),
                ("POST", "/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/replay") => {
                    (path.replace("{id}", &endpoint).replace("{delivery_id}", &message), None, &[404])
                }
                ("GET", "/v1/alerts/{id}") | ("POST", "/v1/alerts/{id}/read" | "/v1/alerts/{id}/unread") => {
                    (path.replace("{id}", &alert), None, &[404])
                }
                ("GET", "/v1/checkouts/{id}") => (path.replace("{id}", &checkout), None, &[404]),
                ("POST", "/v1/checkouts/{id}/refunds") => {
                    (path.replace("{id}", &checkout), Some(json!({"amount": 100, "reason": "stolen"})), &[404])
                }
                ("GET", "/v1/checkouts") => (format!("{path}?customer_id={cid}"), None, &[404]),
                ("POST", "/v1/checkouts") => (
                    path.clone(),
                    Some(json!({"customer_id": cid, "amount": 100, "gateway_account_id": gateway})),
                    &[422],
                ),
                // The victim's order named under the intruder's own account: not found.
                ("GET" | "POST", "/v1/checkouts/returns/{account_id}/{order_id}") => (
                    path.replace("{account_id}", &intruder_gateway).replace("{order_id}", &order),
                    Some(json!({})),
                    &[404],
                ),
                // A forged Stripe event about the victim's order at the victim's account: unsigned,
                // refused. The other gateways' webhooks at the victim's (Stripe) account: not theirs.
                ("POST", "/v1/webhooks/stripe/{account_id}") => (
                    path.replace("{account_id}", &gateway),
                    Some(json!({"id": "evt_forged", "type": "checkout.session.completed",
                        "data": {"object": {"client_reference_id": order, "payment_status": "paid",
                            "amount_total": 999999, "currency": "bdt"}}})),
                    &[401],
                ),
                // A delivery report naming the victim's ISP and SMS account: not a reporting account
                // (SSL Wireless), and no secret known: nothing found.
                ("POST", p) if p.starts_with("/v1/webhooks/sms/") => (
                    path.replace("{owner}", &tid.to_string())
                        .replace("{channel_id}", &channel)
                        .replace("{secret}", "guessed"),
                    Some(json!({"MessageSid": "SM1", "MessageStatus": "delivered"})),
                    &[404],
                ),
                ("POST", p) if p.starts_with("/v1/webhooks/") => {
                    (path.replace("{account_id}", &gateway), Some(json!({"order_id": order})), &[404])
                }
                ("GET", "/v1/payment-gateways/{id}") | ("POST", "/v1/payment-gateways/{id}/test") => {
                    (path.replace("{id}", &gateway), None, &[404])
                }
                ("PATCH", "/v1/payment-gateways/{id}") => (
                    path.replace("{id}", &gateway),
                    Some(json!({"credentials": {"secret_key": "sk_test_pwned"}, "version": 1})),
                    &[404],
                ),
                // Its own account: created in its own ISP, nothing of the victim's touched.
                ("POST", "/v1/payment-gateways") => (
                    path.clone(),
                    Some(json!({"gateway": "midtrans", "mode": "sandbox", "name": "Mine",
                        "success_url": "https://intruder.example/ok", "cancel_url": "https://intruder.example/no",
                        "credentials": {"server_key": "SB-Mid-server-mine"}})),
                    &[201],
                ),
                // Paying another ISP's invoice or customer: refused as unknown, nothing written.
                ("POST", "/v1/payments") => {
                    (path.clone(), Some(json!({"invoice_id": invoice, "amount": 100, "method": "cash"})), &[422])
                }
                ("POST", "/v1/routers") => (
                    path.clone(),
                    Some(
                        json!({"name": "Victim Router", "host": "10.98.0.1", "username": "u", "password": "p", "pop_id": pop}),
                    ),
                    &[422],
                ),
                // CSV routes: rows naming the demo ISP's POP or router are refused; nothing lands there.
                ("POST", "/v1/routers/import") => {
                    let csv = b"name,host,username,password,pop_code\nStolen,10.99.0.9,u,p,DHK-MIR\n".to_vec();
                    let a = env.send_raw("POST", path, Some(&intruder), "text/csv", csv).await;
                    let body = a.expect(200);
                    assert_eq!(body["imported"], json!([]), "{body}");
                    assert_eq!(body["errors"][0]["field"], "pop_code");
                    walked += 1;
                    continue;
                }
                ("GET", "/v1/leads/{id}") => (path.replace("{id}", &lead), None, &[404]),
                ("PATCH", "/v1/leads/{id}") => {
                    (path.replace("{id}", &lead), Some(json!({"stage": "lost", "version": 1})), &[404])
                }
                ("POST", "/v1/leads/{id}/convert") => {
                    (path.replace("{id}", &lead), Some(json!({"username": "stolen"})), &[404])
                }
                ("GET", "/v1/leads") => (path.clone(), None, &[200]),
                ("GET", "/v1/dashboard") | ("GET", "/v1/imports") => (path.clone(), None, &[200]),
                ("GET", "/v1/imports/{id}" | "/v1/imports/{id}/errors") => {
                    (path.replace("{id}", &import), None, &[404])
                }
                ("POST", "/v1/imports") => {
                    let csv = b"name,phone,username,package\nMine,+6281234567801,mine2,Victim Package\n".to_vec();
                    let a = env
                        .send_raw("POST", &format!("{path}?router_id={router}"), Some(&intruder), "text/csv", csv)
                        .await;
                    assert_eq!(
                        (a.status, a.body["errors"][0]["field"].as_str()),
                        (422, Some("router_id")),
                        "{:#}",
                        a.body
                    );
                    walked += 1;
                    continue;
                }
                ("POST", "/v1/leads") => {
                    (path.clone(), Some(json!({"name": "Mine", "phone": "+6281234567890"})), &[201])
                }
                ("POST", "/v1/impersonate") => (path.clone(), Some(json!({"user_id": uid, "tenant_id": tid})), &[403]),
                ("GET", "/v1/audit-log") => (format!("{path}?entity_type=customer&entity_id={cid}"), None, &[200]),
                ("GET", "/v1/customers") => (format!("{path}?username=victim"), None, &[200]),
                ("GET", "/v1/users")
                | ("GET", "/v1/me")
                | ("GET", "/v1/openapi.json" | "/docs" | "/docs/redoc.standalone.js") => (path.clone(), None, &[200]),
                ("GET", "/v1/tenants")
                | ("GET", "/v1/platform-resellers")
                | ("POST", "/v1/platform-resellers")
                | ("POST", "/v1/tenants") => (path.clone(), Some(json!({})), &[403, 422]),
                // Creates land in the caller's own tenant (the token names it); checked below.
                ("POST", "/v1/customers") => {
                    (path.clone(), Some(json!({"name": "Mine", "phone": "+8801717000009", "username": "mine"})), &[201])
                }
                ("POST", "/v1/users") => (
                    path.clone(),
                    Some(
                        json!({"name": "Mine", "email": "mine@intruder.test", "password": "intruder-pass-1", "role": "staff"}),
                    ),
                    &[201],
                ),
                // Identity routes name no ids: the token decides whose they are.
                (
                    "POST",
                    "/v1/auth/login"
                    | "/v1/auth/refresh"
                    | "/v1/auth/logout"
                    | "/v1/auth/password"
                    | "/v1/auth/password-reset"
                    | "/v1/auth/password-reset/confirm",
                ) => {
                    continue;
                }
                // The portal: the intruder's admin cannot log in as the victim's subscriber (its host
                // names no ISP), its refresh tokens are not portal ones, and a staff token opens no
                // subscriber page; nor may it set the victim's portal password.
                ("POST", "/v1/portal/auth/login") => {
                    (path.clone(), Some(json!({"login": "victim", "password": "victim-guess-1"})), &[404])
                }
                ("POST", "/v1/portal/auth/code") => (path.clone(), Some(json!({"login": "victim"})), &[404]),
                ("POST", "/v1/portal/auth/code/login") => {
                    (path.clone(), Some(json!({"login": "victim", "code": "123456"})), &[404])
                }
                ("POST", "/v1/portal/auth/refresh" | "/v1/portal/auth/logout") => {
                    (path.clone(), Some(json!({"refresh_token": "forged.0.c2ln"})), &[401])
                }
                ("POST", "/v1/portal/password") => {
                    (path.clone(), Some(json!({"current_password": "x", "new_password": "pwned-pass-1"})), &[403])
                }
                // The hotspot's shop: the intruder's request names no ISP (its host is the API's).
                ("GET", "/v1/portal/voucher-plans") => (path.clone(), None, &[404]),
                ("POST", "/v1/portal/voucher-checkouts") => (
                    path.clone(),
                    Some(json!({"voucher_plan_id": cid, "buyer_phone": "01711000000", "gateway_account_id": gateway})),
                    &[404],
                ),
                ("POST", "/v1/portal/recharge") => (path.clone(), Some(json!({"code": "ABCD-EFGH"})), &[403]),
                ("POST", "/v1/portal/tickets/{id}/attachments") => (
                    path.replace("{id}", &ticket),
                    Some(json!({"file_name": "x.png", "content_type": "image/png", "size": 10})),
                    &[403],
                ),
                ("POST", "/v1/portal/tickets" | "/v1/portal/tickets/{id}/messages") => (
                    path.replace("{id}", &ticket),
                    Some(json!({"category": "slow", "subject": "x", "body": "x"})),
                    &[403],
                ),
                ("POST", "/v1/portal/checkouts") => {
                    (path.clone(), Some(json!({"invoice_id": invoice, "gateway_account_id": gateway})), &[403])
                }
                (
                    "POST",
                    "/v1/portal/subscriptions/{id}/package-change"
                    | "/v1/portal/subscriptions/{id}/package-change/preview",
                ) => (path.replace("{id}", &sub), Some(json!({"package_id": pkg})), &[403]),
                ("DELETE", "/v1/portal/subscriptions/{id}/package-change") => {
                    (path.replace("{id}", &sub), None, &[403])
                }
                ("POST", "/v1/portal/subscriptions/{id}/turbo") => {
                    (path.replace("{id}", &sub), Some(json!({"code": "night"})), &[403])
                }
                ("PATCH", "/v1/portal/me") => (path.clone(), Some(json!({"email": "pwned@intruder.test"})), &[403]),
                ("GET", p) if p.starts_with("/v1/portal/") => (path.replace("{id}", &invoice), None, &[403]),
                ("PUT", "/v1/customers/{id}/portal-password") => {
                    (path.replace("{id}", &cid), Some(json!({"password": "pwned-pass-1"})), &[404])
                }
                // A preflight (no origin given): nothing to allow, nothing read.
                ("OPTIONS", "/{proxy+}") => ("/v1/customers".to_string(), None, &[204]),
                // Inventory: the victim's items, locations and assets are not there; a movement
                // naming them is refused; lists and the valuation are the intruder's own.
                ("POST", "/v1/inventory/items") => (
                    path.clone(),
                    Some(json!({"name": "Mine", "sku": "VIC-ONU", "category": "onu", "unit_cost": 1})),
                    &[201],
                ),
                ("POST", "/v1/inventory/locations") => {
                    (path.clone(), Some(json!({"name": "Mine", "kind": "pop", "pop_id": pop})), &[422])
                }
                ("GET", "/v1/inventory/items" | "/v1/inventory/locations" | "/v1/inventory/valuation") => {
                    (path.clone(), None, &[200])
                }
                ("GET", "/v1/inventory/items/{id}") => (path.replace("{id}", &item), None, &[404]),
                ("PATCH", "/v1/inventory/items/{id}") => {
                    (path.replace("{id}", &item), Some(json!({"name": "pwned", "version": 1})), &[404])
                }
                ("GET", "/v1/inventory/items/{id}/movements") => (path.replace("{id}", &item), None, &[200]),
                ("GET", "/v1/inventory/locations/{id}") => (path.replace("{id}", &store), None, &[404]),
                ("PATCH", "/v1/inventory/locations/{id}") => {
                    (path.replace("{id}", &store), Some(json!({"active": false, "version": 1})), &[404])
                }
                ("POST", "/v1/inventory/movements") => (
                    path.clone(),
                    Some(json!({"kind": "issue", "item_id": item, "from_location_id": store, "serials": ["VIC2"],
                        "holder": {"type": "customer", "id": cid}})),
                    &[422],
                ),
                ("GET", "/v1/inventory/assets") => (format!("{path}?customer_id={cid}"), None, &[200]),
                ("GET", "/v1/inventory/assets/{id}") => (path.replace("{id}", &asset), None, &[404]),
                ("POST", "/v1/inventory/suppliers") => (path.clone(), Some(json!({"name": "Mine"})), &[201]),
                ("GET", "/v1/inventory/suppliers" | "/v1/inventory/purchase-orders") => (path.clone(), None, &[200]),
                ("GET", "/v1/inventory/suppliers/{id}") => (path.replace("{id}", &supplier), None, &[404]),
                ("PATCH", "/v1/inventory/suppliers/{id}") => {
                    (path.replace("{id}", &supplier), Some(json!({"name": "pwned", "version": 1})), &[404])
                }
                ("POST", "/v1/inventory/purchase-orders") => (
                    path.clone(),
                    Some(
                        json!({"supplier_id": supplier, "location_id": store, "lines": [{"item_id": item, "quantity": 1}]}),
                    ),
                    &[422],
                ),
                ("GET", "/v1/inventory/purchase-orders/{id}") => (path.replace("{id}", &po), None, &[404]),
                ("PATCH", "/v1/inventory/purchase-orders/{id}") => {
                    (path.replace("{id}", &po), Some(json!({"note": "pwned", "version": 1})), &[404])
                }
                (
                    "POST",
                    "/v1/inventory/purchase-orders/{id}/order"
                    | "/v1/inventory/purchase-orders/{id}/cancel"
                    | "/v1/inventory/purchase-orders/{id}/receive",
                ) => (path.replace("{id}", &po), Some(json!({})), &[404]),
                other => panic!("route {other:?} has no tenant-isolation case: add one"),
            };
            let method = if method == "GET" && body.is_some() { "GET" } else { method.as_str() };
            let body = if method == "GET" { None } else { body };
            let key = format!("isolation-{walked}");
            let a = env.send_with(method, &target, Some(&intruder), body, &[("idempotency-key", key.as_str())]).await;
            assert!(expect.contains(&a.status), "{method} {target}: {} {:#}", a.status, a.body);
            let text = a.body.to_string();
            if a.status == 200 {
                assert!(
                    secret_ids.iter().all(|id| !text.contains(id.as_str())) && !text.contains("Victim"),
                    "{method} {target} leaked: {text}"
                );
            }
            walked += 1;
        }
    }
    let identity_routes = 6;
    let all: usize = template.functions.iter().map(|f| f.routes.len()).sum();
    assert_eq!(walked, all - identity_routes, "every route but the identity ones was walked");
    let after = env.table_snapshot().await;
    let after_demo: Vec<_> = after.keys().filter(|k| k.starts_with(&format!("T#{tid}#"))).cloned().collect();
    assert_eq!(before_demo, after_demo, "nothing was added to or removed from the demo ISP");
    // The demo ISP's gateway account lives under the platform prefix (a webhook names only it).
    let account: Vec<_> = before.iter().filter(|(k, _)| k.contains(&format!("GWACCOUNT#{gateway}"))).collect();
    assert_eq!(account.len(), 1, "the account item was found");
    for (k, v) in account {
        assert_eq!(after.get(k), Some(v), "the demo ISP's gateway account did not change");
    }
    for k in &before_demo {
        assert_eq!(before[k], after[k], "{k} changed");
    }
}
