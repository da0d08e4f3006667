//! The store against moto: codec, uniqueness, versions, idempotency, counters, cursors, outbox.

use aws_sdk_dynamodb::types::AttributeValue;
use domain::event::{CrmEvent, DomainEvent};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use store::keys::{self, Owner};
use store::tx::IdempotencyRecord;
use store::{Conflict, Query, Store, StoreError, Tx};
use testkit::TestTable;
use uuid::Uuid;

/// The tests' own clock: a fixed instant, never the real date.
fn test_now() -> chrono::DateTime<chrono::Utc> {
    "2026-06-15T06:00:00Z".parse().expect("a UTC time")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Thing {
    id: Uuid,
    name: String,
    at: chrono::DateTime<chrono::Utc>,
    version: u64,
}

fn thing(tid: Uuid, name: &str) -> (store::ItemKeys, Thing) {
    let id = Uuid::now_v7();
    (keys::customer(tid, id, None), Thing { id, name: name.into(), at: test_now(), version: 1 })
}

#[tokio::test]
async fn entities_round_trip_with_keys_type_and_version() {
    let t = TestTable::new().await;
    let tid = Uuid::now_v7();
    let (k, th) = thing(tid, "Rahim");
    let mut tx = Tx::new();
    tx.put_new(Store::encode(&k, "CUSTOMER", &th, Some(1)).unwrap(), Conflict::Exists);
    t.store.commit(tx).await.unwrap();
    let raw = t.store.get_item(&k).await.unwrap().unwrap();
    assert_eq!(raw["type"].as_s().unwrap(), "CUSTOMER");
    assert_eq!(raw["v"].as_n().unwrap(), "1");
    assert_eq!(raw["id"].as_s().unwrap(), &th.id.to_string(), "uuids are stored as strings");
    assert_eq!(t.store.get::<Thing>(&k).await.unwrap(), Some(th));
}

#[tokio::test]
async fn unique_sentinels_name_the_taken_field_and_nothing_is_written() {
    let t = TestTable::new().await;
    let tid = Uuid::now_v7();
    let owner = Owner::Tenant(tid);
    let (k1, a) = thing(tid, "A");
    let mut tx = Tx::new();
    tx.put_new(Store::encode(&k1, "CUSTOMER", &a, Some(1)).unwrap(), Conflict::Exists);
    tx.put_unique(keys::unique(owner, "phone", "+8801712345678"), "phone", &a.id.to_string());
    tx.put_unique(keys::unique(owner, "username", "a"), "username", &a.id.to_string());
    t.store.commit(tx).await.unwrap();

    let (k2, b) = thing(tid, "B");
    let mut tx = Tx::new();
    tx.put_new(Store::encode(&k2, "CUSTOMER", &b, Some(1)).unwrap(), Conflict::Exists);
    tx.put_unique(keys::unique(owner, "phone", "+8801712345679"), "phone", &b.id.to_string());
    tx.put_unique(keys::unique(owner, "username", "a"), "username", &b.id.to_string());
    match t.store.commit(tx).await {
        Err(StoreError::Conflict(Conflict::Unique(f))) => assert_eq!(f, "username"),
        other => panic!("expected a username conflict, got {other:?}"),
    }
    assert!(t.store.get_item(&k2).await.unwrap().is_none(), "the entity was not written");
    assert!(t.store.get_item(&keys::unique(owner, "phone", "+8801712345679")).await.unwrap().is_none());
}

#[tokio::test]
async fn stale_versions_are_conflicts() {
    let t = TestTable::new().await;
    let tid = Uuid::now_v7();
    let (k, mut th) = thing(tid, "A");
    let mut tx = Tx::new();
    tx.put_new(Store::encode(&k, "CUSTOMER", &th, Some(1)).unwrap(), Conflict::Exists);
    t.store.commit(tx).await.unwrap();
    th.name = "B".into();
    th.version = 2;
    let mut tx = Tx::new();
    tx.put_versioned(Store::encode(&k, "CUSTOMER", &th, Some(2)).unwrap(), 1);
    t.store.commit(tx).await.unwrap();
    let mut tx = Tx::new();
    tx.put_versioned(Store::encode(&k, "CUSTOMER", &th, Some(2)).unwrap(), 1);
    assert!(matches!(t.store.commit(tx).await, Err(StoreError::Conflict(Conflict::Version))));
    assert_eq!(t.store.get::<Thing>(&k).await.unwrap().unwrap().name, "B");
}

#[tokio::test]
async fn concurrent_idempotent_writes_execute_once() {
    let t = TestTable::new().await;
    let owner = Owner::Tenant(Uuid::now_v7());
    let rec = IdempotencyRecord { fingerprint: "f".into(), status: 201, body: "{}".into(), created_at: test_now() };
    let mut handles = vec![];
    for _ in 0..8 {
        let s = t.store.clone();
        let rec = rec.clone();
        handles.push(tokio::spawn(async move {
            let mut tx = Tx::new();
            tx.put_idempotency(owner, "key-1", &rec);
            s.commit(tx).await
        }));
    }
    let mut ok = 0;
    for h in handles {
        match h.await.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::Conflict(Conflict::Idempotency)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn counters_are_atomic() {
    let t = TestTable::new().await;
    let owner = Owner::Tenant(Uuid::now_v7());
    let mut handles = vec![];
    for _ in 0..10 {
        let s = t.store.clone();
        handles.push(tokio::spawn(async move { s.next_counter(owner, "invoice", 1).await.unwrap() }));
    }
    let mut got: Vec<u64> = vec![];
    for h in handles {
        got.push(h.await.unwrap());
    }
    got.sort();
    assert_eq!(got, (1..=10).collect::<Vec<_>>());
}

#[tokio::test]
async fn cursor_pages_through_and_is_bound_to_its_tenant() {
    let t = TestTable::new().await;
    let tid = Uuid::now_v7();
    let mut tx = Tx::new();
    for i in 0..5 {
        let (k, th) = thing(tid, &format!("n{i}"));
        tx.put(Store::encode(&k, "CUSTOMER", &th, Some(1)).unwrap());
    }
    t.store.commit(tx).await.unwrap();
    let owner = Owner::Tenant(tid);
    let q = || Query::index("gsi1", keys::customers_gsi1(tid)).limit(2);
    let mut names = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let page = t.store.query_page::<Thing>(owner, "customers", q(), cursor.as_deref()).await.unwrap();
        names.extend(page.items.into_iter().map(|t| t.name));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(names, ["n0", "n1", "n2", "n3", "n4"]);

    let page = t.store.query_page::<Thing>(owner, "customers", q(), None).await.unwrap();
    let c = page.next_cursor.unwrap();
    let other = Owner::Tenant(Uuid::now_v7());
    let err = t
        .store
        .query_page::<Thing>(other, "customers", Query::index("gsi1", keys::customers_gsi1(Uuid::now_v7())), Some(&c))
        .await;
    assert!(matches!(err, Err(StoreError::Cursor(_))));
}

#[tokio::test]
async fn outbox_event_is_written_with_the_change_and_expires() {
    let t = TestTable::new().await;
    let tid = Uuid::now_v7();
    let ev =
        DomainEvent::new(CrmEvent::CustomerCreated, Some(tid), serde_json::json!({"customer_id": "x"}), test_now());
    let mut tx = Tx::new();
    tx.put_event(&ev);
    t.store.commit(tx).await.unwrap();
    let item = t.store.get_item(&keys::outbox_event(Owner::Tenant(tid), ev.id)).await.unwrap().unwrap();
    assert_eq!(item["type"].as_s().unwrap(), "EVENT");
    assert_eq!(item["detail_type"].as_s().unwrap(), "CustomerCreated");
    assert!(item.contains_key("ttl"));
    let _: HashMap<String, AttributeValue> = item;
}

#[tokio::test]
async fn batch_get_answers_in_key_order() {
    let t = TestTable::new().await;
    let tid = Uuid::now_v7();
    let (k1, a) = thing(tid, "A");
    let (k2, _) = thing(tid, "missing");
    let mut tx = Tx::new();
    tx.put(Store::encode(&k1, "CUSTOMER", &a, Some(1)).unwrap());
    t.store.commit(tx).await.unwrap();
    t.counter.reset();
    let got = t.store.batch_get(&[&k2, &k1]).await.unwrap();
    assert!(got[0].is_none());
    assert!(got[1].is_some());
    assert_eq!(t.counter.snapshot().get("BatchGetItem"), Some(&1));
}

/// Items spread over the shards of the expiry index come back in one expiry order across pages,
/// each exactly once, also with a filter that drops some of them, and only before the bound.
#[tokio::test]
async fn sharded_index_pages_merge_in_order_without_gaps() {
    let t = TestTable::new().await;
    let tid = Uuid::now_v7();
    let owner = Owner::Tenant(tid);
    let base = chrono::DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z").unwrap().with_timezone(&chrono::Utc);
    let mut expected = Vec::new();
    for i in 0..40i64 {
        let id = Uuid::now_v7();
        let expiry = base + chrono::Duration::hours(37 * ((i * 7919) % 40));
        let status = if i % 3 == 0 { "cancelled" } else { "active" };
        let k = keys::subscription(tid, Uuid::now_v7(), id, None, Some(expiry), None);
        let item =
            Store::encode(&k, "SUBSCRIPTION", &serde_json::json!({"id": id, "status": status}), Some(1)).unwrap();
        let mut tx = Tx::new();
        tx.put(item);
        t.store.commit(tx).await.unwrap();
        if status == "active" && expiry < base + chrono::Duration::days(40) {
            expected.push((keys::key_time(expiry), id.to_string()));
        }
    }
    expected.sort();
    let before = keys::key_time(base + chrono::Duration::days(40));
    let queries = || {
        (0..keys::EXPIRY_SHARDS)
            .map(|s| {
                Query::index("gsi2", keys::subscriptions_by_expiry_gsi2(tid, s))
                    .range(None, before.clone())
                    .filter(store::Filter::default().eq("status", "active"))
            })
            .collect::<Vec<_>>()
    };
    let mut got = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let (items, next) = t.store.query_merged_page(owner, "exp", queries(), 4, cursor.as_deref()).await.unwrap();
        assert!(items.len() <= 4);
        for i in items {
            let sk = store::string_attr(&i, "gsi2sk").unwrap();
            got.push((sk.split('#').next().unwrap().to_string(), store::string_attr(&i, "id").unwrap()));
        }
        pages += 1;
        assert!(pages < 60, "pagination ends");
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let mut sorted = got.clone();
    sorted.sort();
    assert_eq!(got, sorted, "one order across pages");
    assert_eq!(got, expected, "every matching item exactly once");
    let other = Owner::Tenant(Uuid::now_v7());
    let (_, first) = t.store.query_merged_page(owner, "exp", queries(), 4, None).await.unwrap();
    let foreign = t.store.query_merged_page(other, "exp", vec![], 4, first.as_deref()).await;
    assert!(matches!(foreign, Err(StoreError::Cursor(_))), "a cursor is bound to its tenant");
}
