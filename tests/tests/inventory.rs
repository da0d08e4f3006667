//! Inventory: stock received, moved, issued and adjusted through the ledger stays exact under
//! concurrent movements and never goes below zero; serial-numbered assets are installed at a
//! customer (on its timeline) and come back; the valuation adds it up; bad input changes nothing.

use e2e_tests::Env;
use serde_json::{Value, json};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

async fn stock_at(env: &Env, token: &str, item: &str, location: &str) -> i64 {
    let i = env.send("GET", &format!("/v1/inventory/items/{item}"), Some(token), None).await.expect(200);
    i["stock"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["location_id"] == location)
        .map_or(0, |s| s["quantity"].as_i64().unwrap())
}

async fn movement(env: &Env, token: &str, key: &str, body: Value) -> e2e_tests::Answer {
    env.send_with("POST", "/v1/inventory/movements", Some(token), Some(body), &[("idempotency-key", key)]).await
}

#[tokio::test]
async fn stock_stays_exact_under_concurrent_movements_and_assets_follow_their_serials() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let (_, staff) = env.create_user(&admin, "staff", "installer@demo.test", None).await;
    let pops = env.send("GET", "/v1/pops", Some(&admin), None).await.expect(200);
    let pop = id(&pops["items"][0]);
    let rahim = id(&env.send("GET", "/v1/customers?username=rahim", Some(&admin), None).await.expect(200)["items"][0]);

    let cable = env
        .send(
            "POST",
            "/v1/inventory/items",
            Some(&admin),
            Some(json!({"name": "Drop cable", "sku": "cable-drop", "category": "Cable", "unit": "m",
                "unit_cost": 1_500, "low_stock_threshold": 100})),
        )
        .await
        .expect(201);
    assert_eq!((cable["sku"].as_str(), cable["category"].as_str()), (Some("CABLE-DROP"), Some("cable")));
    let cable = id(&cable);
    let onu = id(&env
        .send(
            "POST",
            "/v1/inventory/items",
            Some(&admin),
            Some(json!({"name": "XPON ONU", "sku": "ONU-X1", "category": "onu", "serial_tracked": true,
                "unit_cost": 250_000, "low_stock_threshold": 3})),
        )
        .await
        .expect(201));
    let location = |name: &str, kind: &str| {
        let mut body = json!({"name": name, "kind": kind});
        if kind == "pop" {
            body["pop_id"] = json!(pop);
        }
        body
    };
    let store = id(&env
        .send("POST", "/v1/inventory/locations", Some(&admin), Some(location("Main store", "warehouse")))
        .await
        .expect(201));
    let van = id(&env
        .send("POST", "/v1/inventory/locations", Some(&admin), Some(location("Van 1", "van")))
        .await
        .expect(201));
    let at_pop = id(&env
        .send("POST", "/v1/inventory/locations", Some(&admin), Some(location("Mirpur rack", "pop")))
        .await
        .expect(201));

    // 1,000 m received; the same request again is the same movement, not 2,000 m.
    let receive = json!({"kind": "receive", "item_id": cable, "to_location_id": store, "quantity": 1000,
        "reason": "PO 17"});
    let first = movement(&env, &staff, "cable-in", receive.clone()).await.expect(201);
    let again = movement(&env, &staff, "cable-in", receive).await.expect(201);
    assert_eq!(first["id"], again["id"]);
    assert_eq!(stock_at(&env, &admin, &cable, &store).await, 1000);

    // 20 at once from the store: 10 transfers of 60 m to the van and 10 issues of 50 m, 1,100 m
    // asked of 1,000: some are refused, and what moved adds up exactly.
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let body = if i % 2 == 0 {
                json!({"kind": "transfer", "item_id": cable, "from_location_id": store, "to_location_id": van, "quantity": 60})
            } else {
                json!({"kind": "issue", "item_id": cable, "from_location_id": store, "quantity": 50,
                    "holder": {"type": "customer", "id": rahim}})
            };
            let (env, staff) = (&env, &staff);
            async move { (i, movement(env, staff, &format!("cable-{i}"), body).await) }
        })
        .collect();
    let results = futures::future::join_all(tasks).await;
    let (mut moved_to_van, mut issued, mut refused) = (0, 0, 0);
    for (i, a) in &results {
        match a.status {
            201 if i % 2 == 0 => moved_to_van += 60,
            201 => issued += 50,
            409 => {
                assert_eq!(a.body["code"], "insufficient_stock", "{}", a.body);
                refused += 1;
            }
            other => panic!("movement {i}: {other} {}", a.body),
        }
    }
    assert!(refused >= 2, "1,100 m cannot come out of 1,000 m");
    let (in_store, in_van) = (stock_at(&env, &admin, &cable, &store).await, stock_at(&env, &admin, &cable, &van).await);
    assert!(in_store >= 0);
    assert_eq!(in_van, moved_to_van);
    assert_eq!(in_store, 1000 - moved_to_van - issued, "received = in store + in the van + issued");
    let ledger = env
        .send("GET", &format!("/v1/inventory/items/{cable}/movements?limit=100"), Some(&admin), None)
        .await
        .expect(200);
    assert_eq!(ledger["items"].as_array().unwrap().len(), 1 + 20 - refused, "one ledger line per movement made");

    // Adjustments take a reason and never go below zero.
    let a = movement(
        &env,
        &staff,
        "adj-1",
        json!({"kind": "adjust", "item_id": cable, "from_location_id": van,
        "quantity": in_van + 1, "reason": "cut loss"}),
    )
    .await;
    assert_eq!((a.status, a.body["code"].as_str()), (409, Some("insufficient_stock")));
    if in_van > 0 {
        movement(
            &env,
            &staff,
            "adj-2",
            json!({"kind": "adjust", "item_id": cable, "from_location_id": van,
            "quantity": 1, "reason": "cut loss"}),
        )
        .await
        .expect(201);
    }

    // ONUs by serial: five received; one installed at Rahim's (on his timeline), then returned to
    // the van; two moved to the POP's rack.
    movement(
        &env,
        &staff,
        "onu-in",
        json!({"kind": "receive", "item_id": onu, "to_location_id": store,
        "serials": ["zte001", "ZTE002", "ZTE003", "ZTE004", "ZTE005"]}),
    )
    .await
    .expect(201);
    let dup = movement(
        &env,
        &staff,
        "onu-in-2",
        json!({"kind": "receive", "item_id": onu, "to_location_id": store,
        "serials": ["ZTE001"]}),
    )
    .await;
    assert_eq!((dup.status, dup.body["code"].as_str()), (409, Some("serial_taken")));
    // Five installers grab the same ONU at once: it goes to one customer.
    let grabs: Vec<_> = (0..5)
        .map(|i| {
            let (env, staff, rahim, onu, store) = (&env, &staff, &rahim, &onu, &store);
            async move {
                movement(
                    env,
                    staff,
                    &format!("grab-{i}"),
                    json!({"kind": "issue", "item_id": onu,
                    "from_location_id": store, "serials": ["ZTE001"], "holder": {"type": "customer", "id": rahim}}),
                )
                .await
                .status
            }
        })
        .collect();
    let statuses = futures::future::join_all(grabs).await;
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| matches!(s, 201 | 409 | 422)), "{statuses:?}");
    let held =
        env.send("GET", &format!("/v1/inventory/assets?customer_id={rahim}"), Some(&admin), None).await.expect(200);
    assert_eq!(held["items"].as_array().unwrap().len(), 1);
    let asset = held["items"][0].clone();
    assert_eq!((asset["serial"].as_str(), asset["status"].as_str()), (Some("ZTE001"), Some("assigned")));
    assert_eq!(asset["holder"], json!({"type": "customer", "id": rahim}));
    let timeline = env.send("GET", &format!("/v1/customers/{rahim}/timeline"), Some(&admin), None).await.expect(200);
    let installed: Vec<&Value> =
        timeline["items"].as_array().unwrap().iter().filter(|e| e["action"] == "asset.assigned").collect();
    assert!(installed.iter().any(|e| e["summary"] == "Installed: XPON ONU ZTE001"), "{timeline:#}");
    let give_back = json!({"kind": "return", "item_id": onu, "to_location_id": van,
        "serials": ["ZTE001"], "holder": {"type": "customer", "id": rahim}});
    let returned = movement(&env, &staff, "onu-back", give_back.clone()).await.expect(201);
    // The same return again (a retried request): its first answer, not a refusal for an asset
    // no longer at the customer's, and nothing moves twice.
    let again = movement(&env, &staff, "onu-back", give_back).await.expect(201);
    assert_eq!(again["id"], returned["id"]);
    let back = env.send("GET", &format!("/v1/inventory/assets/{}", id(&asset)), Some(&admin), None).await.expect(200);
    assert_eq!(
        (back["status"].as_str(), back["location_id"].as_str(), back["holder"].clone()),
        (Some("in_stock"), Some(van.as_str()), Value::Null)
    );
    movement(
        &env,
        &staff,
        "onu-rack",
        json!({"kind": "transfer", "item_id": onu, "from_location_id": store,
        "to_location_id": at_pop, "serials": ["ZTE002", "ZTE003"]}),
    )
    .await
    .expect(201);
    // A serial that is not where the movement says.
    let a = movement(
        &env,
        &staff,
        "onu-wrong",
        json!({"kind": "transfer", "item_id": onu, "from_location_id": store,
        "to_location_id": van, "serials": ["ZTE002"]}),
    )
    .await;
    assert_eq!((a.status, a.body["errors"][0]["field"].as_str()), (422, Some("serials")));
    let onus = env.send("GET", &format!("/v1/inventory/items/{onu}"), Some(&admin), None).await.expect(200);
    assert_eq!(onus["on_hand"], 5);
    let place = |loc: &str| {
        onus["stock"].as_array().unwrap().iter().find(|s| s["location_id"] == loc).unwrap()["quantity"]
            .as_i64()
            .unwrap()
    };
    assert_eq!((place(&store), place(&van), place(&at_pop)), (2, 1, 2));
    let rack = env.send("GET", &format!("/v1/inventory/locations/{at_pop}"), Some(&admin), None).await.expect(200);
    assert_eq!(rack["stock"], json!([{"item_id": onu, "location_id": at_pop, "quantity": 2}]));

    // The valuation: on hand × unit cost, per item and in all; low stock flagged.
    let cable_on_hand = stock_at(&env, &admin, &cable, &store).await + stock_at(&env, &admin, &cable, &van).await;
    let v = env.send("GET", "/v1/inventory/valuation", Some(&admin), None).await.expect(200);
    let line = |item: &str| v["items"].as_array().unwrap().iter().find(|i| i["item_id"] == item).unwrap().clone();
    assert_eq!(line(&onu)["value"], 5 * 250_000);
    assert_eq!(line(&cable)["on_hand"], cable_on_hand);
    assert_eq!(line(&cable)["value"], cable_on_hand * 1_500);
    assert_eq!(line(&cable)["low_stock"], cable_on_hand < 100);
    assert_eq!(v["total_value"], 5 * 250_000 + cable_on_hand * 1_500);
    let rows = env.xlsx_rows("/v1/inventory/valuation?format=xlsx", &admin).await;
    assert_eq!(rows[0][1], "sku");
    assert!(rows.iter().any(|r| r[1] == "ONU-X1" && r[6] == "12500"), "{rows:?}");

    // An accountant reads, but moves nothing; an operator sees no stock.
    let (_, accountant) = env.create_user(&admin, "accountant", "books@demo.test", None).await;
    env.send("GET", "/v1/inventory/valuation", Some(&accountant), None).await.expect(200);
    let a = movement(
        &env,
        &accountant,
        "acc-1",
        json!({"kind": "receive", "item_id": cable, "to_location_id": store, "quantity": 1}),
    )
    .await;
    assert_eq!(a.status, 403);
    let (_, operator) = env.create_user(&admin, "operator", "op-inv@demo.test", None).await;
    assert_eq!(env.send("GET", "/v1/inventory/items", Some(&operator), None).await.status, 403);
}

#[tokio::test]
async fn bad_inventory_input_changes_nothing() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let item = id(&env
        .send(
            "POST",
            "/v1/inventory/items",
            Some(&admin),
            Some(json!({"name": "Patch cord", "sku": "CORD", "category": "cable", "unit_cost": 100})),
        )
        .await
        .expect(201));
    let tracked = id(&env
        .send(
            "POST",
            "/v1/inventory/items",
            Some(&admin),
            Some(
                json!({"name": "Router", "sku": "RB", "category": "router", "serial_tracked": true, "unit_cost": 100}),
            ),
        )
        .await
        .expect(201));
    let store = id(&env
        .send("POST", "/v1/inventory/locations", Some(&admin), Some(json!({"name": "Store", "kind": "warehouse"})))
        .await
        .expect(201));
    let closed = env
        .send("POST", "/v1/inventory/locations", Some(&admin), Some(json!({"name": "Old van", "kind": "van"})))
        .await
        .expect(201);
    env.send(
        "PATCH",
        &format!("/v1/inventory/locations/{}", id(&closed)),
        Some(&admin),
        Some(json!({"active": false, "version": 1})),
    )
    .await
    .expect(200);
    let closed = id(&closed);
    let before = env.settled_snapshot().await;
    for body in [
        json!({"name": "Dup", "sku": "cord", "category": "cable", "unit_cost": 1}),
        json!({"name": "Bad sku", "sku": "has space", "category": "cable", "unit_cost": 1}),
        json!({"name": "Negative", "sku": "NEG", "category": "cable", "unit_cost": -1}),
        json!({"name": "Threshold", "sku": "THR", "category": "cable", "unit_cost": 1, "low_stock_threshold": -5}),
        json!({"name": "Extra", "sku": "EXT", "category": "cable", "unit_cost": 1, "colour": "red"}),
    ] {
        let a = env.send("POST", "/v1/inventory/items", Some(&admin), Some(body.clone())).await;
        assert!(matches!(a.status, 400 | 409 | 422), "{body}: {}", a.status);
    }
    for body in [
        json!({"name": "No POP", "kind": "pop"}),
        json!({"name": "Not a POP", "kind": "pop", "pop_id": "00000000-0000-0000-0000-000000000000"}),
        json!({"name": "Warehouse at a POP", "kind": "warehouse", "pop_id": "00000000-0000-0000-0000-000000000000"}),
        json!({"name": "Boat", "kind": "boat"}),
    ] {
        let a = env.send("POST", "/v1/inventory/locations", Some(&admin), Some(body.clone())).await;
        assert!(matches!(a.status, 400 | 422), "{body}: {}", a.status);
    }
    let nobody = "00000000-0000-0000-0000-000000000000";
    for (i, body) in [
        json!({"kind": "receive", "item_id": nobody, "to_location_id": store, "quantity": 1}),
        json!({"kind": "receive", "item_id": item, "to_location_id": nobody, "quantity": 1}),
        json!({"kind": "receive", "item_id": item, "to_location_id": closed, "quantity": 1}),
        json!({"kind": "receive", "item_id": item, "to_location_id": store, "quantity": 0}),
        json!({"kind": "receive", "item_id": item, "to_location_id": store, "quantity": -3}),
        json!({"kind": "receive", "item_id": item, "from_location_id": store, "to_location_id": store, "quantity": 1}),
        json!({"kind": "receive", "item_id": item, "to_location_id": store, "quantity": 1, "serials": ["X1"]}),
        json!({"kind": "receive", "item_id": tracked, "to_location_id": store, "quantity": 2, "serials": ["X1"]}),
        json!({"kind": "receive", "item_id": tracked, "to_location_id": store, "serials": ["X1", "x1"]}),
        json!({"kind": "receive", "item_id": tracked, "to_location_id": store, "serials": ["bad serial"]}),
        json!({"kind": "transfer", "item_id": item, "from_location_id": store, "to_location_id": store, "quantity": 1}),
        json!({"kind": "issue", "item_id": tracked, "from_location_id": store, "serials": ["X1"]}),
        json!({"kind": "issue", "item_id": item, "from_location_id": store, "quantity": 1,
            "holder": {"type": "customer", "id": nobody}}),
        json!({"kind": "adjust", "item_id": item, "to_location_id": store, "quantity": 1}),
        json!({"kind": "adjust", "item_id": tracked, "to_location_id": store, "quantity": 1, "reason": "found"}),
        json!({"kind": "return", "item_id": item, "to_location_id": store, "quantity": 1}),
        json!({"kind": "steal", "item_id": item, "to_location_id": store, "quantity": 1}),
        json!({"kind": "issue", "item_id": item, "from_location_id": store, "quantity": 1}),
    ]
    .into_iter()
    .enumerate()
    {
        let a = movement(&env, &admin, &format!("bad-{i}"), body.clone()).await;
        assert!(matches!(a.status, 400 | 409 | 422), "{body}: {} {}", a.status, a.body);
    }
    // No Idempotency-Key.
    let a = env
        .send(
            "POST",
            "/v1/inventory/movements",
            Some(&admin),
            Some(json!({"kind": "receive", "item_id": item,
            "to_location_id": store, "quantity": 1})),
        )
        .await;
    assert_eq!((a.status, a.body["code"].as_str()), (400, Some("idempotency_key_required")));
    for bad in [
        "/v1/inventory/assets",
        "/v1/inventory/assets?item_id=x",
        "/v1/inventory/assets?item_id=00000000-0000-0000-0000-000000000000&customer_id=00000000-0000-0000-0000-000000000000",
        "/v1/inventory/valuation?format=pdf",
        "/v1/inventory/items?colour=red",
        "/v1/inventory/items/not-an-id",
    ] {
        let a = env.send("GET", bad, Some(&admin), None).await;
        assert!(matches!(a.status, 400 | 404 | 422), "{bad}: {}", a.status);
    }
    let a = env
        .send("PATCH", &format!("/v1/inventory/items/{item}"), Some(&admin), Some(json!({"sku": "NEW", "version": 1})))
        .await;
    assert!(matches!(a.status, 400 | 422), "the SKU stays: {}", a.status);
    let a = env
        .send("PATCH", &format!("/v1/inventory/items/{item}"), Some(&admin), Some(json!({"name": "x", "version": 7})))
        .await;
    assert_eq!(a.status, 409);
    e2e_tests::assert_unchanged(&before, &env.settled_snapshot().await);
}

#[tokio::test]
async fn a_purchase_order_is_received_into_stock_once() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let supplier = env
        .send(
            "POST",
            "/v1/inventory/suppliers",
            Some(&admin),
            Some(json!({"name": "Fiber House Ltd", "phone": "+8801700000000", "email": "sales@fiberhouse.example"})),
        )
        .await
        .expect(201);
    let supplier = id(&supplier);
    let onu = id(&env
        .send(
            "POST",
            "/v1/inventory/items",
            Some(&admin),
            Some(json!({"name": "XPON ONU", "sku": "ONU-X1", "category": "onu", "serial_tracked": true, "unit_cost": 250_000})),
        )
        .await
        .expect(201));
    let cable = id(&env
        .send(
            "POST",
            "/v1/inventory/items",
            Some(&admin),
            Some(json!({"name": "Drop cable", "sku": "CABLE", "category": "cable", "unit": "m", "unit_cost": 1_500})),
        )
        .await
        .expect(201));
    let store = id(&env
        .send("POST", "/v1/inventory/locations", Some(&admin), Some(json!({"name": "Main store", "kind": "warehouse"})))
        .await
        .expect(201));

    let po = env
        .send(
            "POST",
            "/v1/inventory/purchase-orders",
            Some(&admin),
            Some(json!({"supplier_id": supplier, "location_id": store, "note": "monthly",
                "lines": [{"item_id": onu, "quantity": 3, "unit_cost": 240_000}, {"item_id": cable, "quantity": 500}]})),
        )
        .await
        .expect(201);
    assert_eq!((po["number"].as_str(), po["status"].as_str()), (Some("PO-000001"), Some("draft")));
    assert_eq!(po["total"], 3 * 240_000 + 500 * 1_500, "the item's cost where the line names none");
    let second = env
        .send(
            "POST",
            "/v1/inventory/purchase-orders",
            Some(&admin),
            Some(json!({"supplier_id": supplier, "location_id": store, "lines": [{"item_id": cable, "quantity": 1}]})),
        )
        .await
        .expect(201);
    assert_eq!(second["number"], "PO-000002", "numbers are gapless");
    let path = format!("/v1/inventory/purchase-orders/{}", id(&po));
    // A draft changes; receiving it before it is ordered is refused.
    let po = env
        .send(
            "PATCH",
            &path,
            Some(&admin),
            Some(json!({"lines": [{"item_id": onu, "quantity": 2, "unit_cost": 240_000},
            {"item_id": cable, "quantity": 500}], "version": 1})),
        )
        .await
        .expect(200);
    assert_eq!(po["total"], 2 * 240_000 + 500 * 1_500);
    let receipt = json!({"serials": {onu.clone(): ["SN-A", "SN-B"]}});
    let early = env
        .send_with(
            "POST",
            &format!("{path}/receive"),
            Some(&admin),
            Some(receipt.clone()),
            &[("idempotency-key", "rx-0")],
        )
        .await;
    assert_eq!((early.status, early.body["code"].as_str()), (409, Some("invalid_transition")));
    env.send("POST", &format!("{path}/order"), Some(&admin), None).await.expect(200);
    let a = env.send("PATCH", &path, Some(&admin), Some(json!({"note": "late", "version": 3}))).await;
    assert_eq!((a.status, a.body["code"].as_str()), (409, Some("not_a_draft")));
    // Wrong serials: too few, for the cable, unknown item.
    for bad in [
        json!({"serials": {onu.clone(): ["SN-A"]}}),
        json!({"serials": {onu.clone(): ["SN-A", "SN-B"], cable.clone(): ["C1"]}}),
        json!({"serials": {onu.clone(): ["SN-A", "SN-A"]}}),
        json!({}),
    ] {
        let a = env
            .send_with(
                "POST",
                &format!("{path}/receive"),
                Some(&admin),
                Some(bad.clone()),
                &[("idempotency-key", "rx-bad")],
            )
            .await;
        assert_eq!(a.status, 422, "{bad}: {}", a.body);
    }
    // Three receipts at once (a double click and a second clerk): the stock comes in once.
    let tries: Vec<_> = ["rx-1", "rx-1", "rx-2"]
        .into_iter()
        .map(|key| {
            let (env, admin, path, receipt) = (&env, &admin, &path, receipt.clone());
            async move {
                env.send_with(
                    "POST",
                    &format!("{path}/receive"),
                    Some(admin),
                    Some(receipt),
                    &[("idempotency-key", key)],
                )
                .await
            }
        })
        .collect();
    let answers = futures::future::join_all(tries).await;
    let received: Vec<&e2e_tests::Answer> = answers.iter().filter(|a| a.status == 200).collect();
    assert!(!received.is_empty(), "{answers:?}");
    for a in &answers {
        assert!(
            a.status == 200 || (a.status == 409 && a.body["code"] == "invalid_transition"),
            "{} {}",
            a.status,
            a.body
        );
    }
    let po = env.send("GET", &path, Some(&admin), None).await.expect(200);
    assert_eq!(po["status"], "received");
    assert_eq!(po["movement_ids"].as_array().unwrap().len(), 2);
    let onus = env.send("GET", &format!("/v1/inventory/items/{onu}"), Some(&admin), None).await.expect(200);
    assert_eq!(onus["on_hand"], 2);
    let cables = env.send("GET", &format!("/v1/inventory/items/{cable}"), Some(&admin), None).await.expect(200);
    assert_eq!(cables["on_hand"], 500);
    let assets = env.send("GET", &format!("/v1/inventory/assets?item_id={onu}"), Some(&admin), None).await.expect(200);
    let mut serials: Vec<&str> =
        assets["items"].as_array().unwrap().iter().map(|a| a["serial"].as_str().unwrap()).collect();
    serials.sort();
    assert_eq!(serials, ["SN-A", "SN-B"]);
    let ledger =
        env.send("GET", &format!("/v1/inventory/items/{cable}/movements"), Some(&admin), None).await.expect(200);
    assert_eq!(ledger["items"].as_array().unwrap().len(), 1);
    assert_eq!(ledger["items"][0]["reason"], "PO-000001 from Fiber House Ltd");
    // Received is final; the other draft is cancelled; the listing filters by status.
    let a = env.send("POST", &format!("{path}/cancel"), Some(&admin), None).await;
    assert_eq!((a.status, a.body["code"].as_str()), (409, Some("invalid_transition")));
    env.send("POST", &format!("/v1/inventory/purchase-orders/{}/cancel", id(&second)), Some(&admin), None)
        .await
        .expect(200);
    let listed = env.send("GET", "/v1/inventory/purchase-orders?status=received", Some(&admin), None).await.expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["number"], "PO-000001");
    // Bad input on orders and suppliers changes nothing.
    let before = env.settled_snapshot().await;
    for body in [
        json!({"supplier_id": supplier, "location_id": store, "lines": []}),
        json!({"supplier_id": store, "location_id": store, "lines": [{"item_id": cable, "quantity": 1}]}),
        json!({"supplier_id": supplier, "location_id": supplier, "lines": [{"item_id": cable, "quantity": 1}]}),
        json!({"supplier_id": supplier, "location_id": store, "lines": [{"item_id": cable, "quantity": 0}]}),
        json!({"supplier_id": supplier, "location_id": store, "lines": [{"item_id": cable, "quantity": 1}, {"item_id": cable, "quantity": 2}]}),
        json!({"supplier_id": supplier, "location_id": store, "lines": [{"item_id": cable, "quantity": 1, "unit_cost": -1}]}),
    ] {
        let a = env.send("POST", "/v1/inventory/purchase-orders", Some(&admin), Some(body.clone())).await;
        assert!(matches!(a.status, 400 | 422), "{body}: {}", a.status);
    }
    for body in [json!({"name": ""}), json!({"name": "X", "email": "not-an-email"}), json!({"name": "X", "fax": "1"})] {
        let a = env.send("POST", "/v1/inventory/suppliers", Some(&admin), Some(body.clone())).await;
        assert!(matches!(a.status, 400 | 422), "{body}: {}", a.status);
    }
    for bad in ["/v1/inventory/purchase-orders?status=lost", "/v1/inventory/suppliers?x=1"] {
        assert!(matches!(env.send("GET", bad, Some(&admin), None).await.status, 400 | 422), "{bad}");
    }
    let a = env.send("POST", &format!("{path}/receive"), Some(&admin), Some(json!({}))).await;
    assert_eq!(a.status, 400, "no Idempotency-Key");
    e2e_tests::assert_unchanged(&before, &env.settled_snapshot().await);
}

async fn alerts(env: &Env, admin: &str) -> Vec<Value> {
    env.send("GET", "/v1/alerts?kind=low_stock", Some(admin), None).await.expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn low_stock_raises_one_alert_per_episode() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let item = id(&env
        .send(
            "POST",
            "/v1/inventory/items",
            Some(&admin),
            Some(json!({"name": "SFP module", "sku": "SFP-1G", "category": "optics", "unit_cost": 80_000,
                "low_stock_threshold": 10})),
        )
        .await
        .expect(201));
    let store = id(&env
        .send("POST", "/v1/inventory/locations", Some(&admin), Some(json!({"name": "Store", "kind": "warehouse"})))
        .await
        .expect(201));
    let take = |n: i64| json!({"kind": "issue", "item_id": item, "from_location_id": store, "quantity": n});
    let put = |n: i64| json!({"kind": "receive", "item_id": item, "to_location_id": store, "quantity": n});
    movement(&env, &admin, "in-12", put(12)).await.expect(201);
    movement(&env, &admin, "out-2", take(2)).await.expect(201);
    assert!(alerts(&env, &admin).await.is_empty(), "10 on hand is not below 10");
    // Below: one alert, however many movements (four at once) keep it there.
    let tasks: Vec<_> = (0..4).map(|i| movement(&env, &admin, ["o1", "o2", "o3", "o4"][i], take(1))).collect();
    for a in futures::future::join_all(tasks).await {
        assert_eq!(a.status, 201, "{}", a.body);
    }
    let raised = alerts(&env, &admin).await;
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0]["severity"], "warning");
    assert!(raised[0]["detail"].as_str().unwrap().starts_with("SFP module (SFP-1G): "), "{}", raised[0]);
    let i = env.send("GET", &format!("/v1/inventory/items/{item}"), Some(&admin), None).await.expect(200);
    assert_eq!((i["on_hand"].as_i64(), i["low_stock"].as_bool()), (Some(6), Some(true)));
    // Back at the threshold the episode ends; falling below again is a new one.
    movement(&env, &admin, "in-4", put(4)).await.expect(201);
    movement(&env, &admin, "out-1b", take(1)).await.expect(201);
    assert_eq!(alerts(&env, &admin).await.len(), 2);
}
