//! Traffic sampling on the health sweep's session (the rules are `domain::traffic`'s): the
//! router's session counters go through its cursor; the day totals due are written out, then the
//! cursor. DynamoDB per router and sweep: one Query for the cursor, a BatchGetItem pair only for
//! sessions of names the cursor does not know, one BatchWriteItem per 25 day records and cursor
//! parts (a part per 1,000 sessions and day totals).

use chrono::NaiveDate;
use chrono_tz::Tz;
use domain::Result;
use domain::traffic::{Cursor, CursorPart, KEEP_DAYS, Owner, SessionCounters, Stored};
use kernel::App;
use kernel::support::StoreResultExt;
use serde::Serialize;
use std::collections::HashMap;
use store::{Item, Query, Store, keys, ttl_at};
use uuid::Uuid;

/// What one router's sample counted.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct TrafficSample {
    pub sessions: usize,
    pub new_sessions: usize,
    pub resets: usize,
    pub up_bytes: u64,
    pub down_bytes: u64,
    pub day_records: usize,
}

fn expiring(mut item: Item, day: NaiveDate, days: i64) -> Item {
    item.insert("ttl".into(), ttl_at(domain::traffic::expires_at(day, days)));
    item
}

/// The router's cursor, from all its parts (one Query).
async fn load_cursor(app: &App, tid: Uuid, router: Uuid) -> Result<Cursor> {
    let q = Query::table(keys::router_pk(tid, router)).prefix(keys::TRAFFIC_CURSOR_SK_PREFIX).limit(100);
    let mut parts = Vec::new();
    for item in app.store.query_all_items(q, 10_000).await.or_500()? {
        let index = store::string_attr(&item, "sk")
            .and_then(|sk| sk.strip_prefix(keys::TRAFFIC_CURSOR_SK_PREFIX).and_then(|n| n.parse::<usize>().ok()));
        if let Some(i) = index {
            parts.push((i, Store::decode::<CursorPart>(item).or_500()?));
        }
    }
    Ok(Cursor::join(parts))
}

/// Whose these session names are: the ISP's live subscription holding the name (its username
/// sentinel), and that subscription's customer (where it lives). Two BatchGetItems per 100 names.
async fn owners_of(app: &App, tid: Uuid, names: &[String]) -> Result<HashMap<String, Option<Owner>>> {
    let mut out: HashMap<String, Option<Owner>> = names.iter().map(|n| (n.clone(), None)).collect();
    if names.is_empty() {
        return Ok(out);
    }
    let sentinels: Vec<store::ItemKeys> = names.iter().map(|n| keys::subscription_unique(tid, "username", n)).collect();
    let refs: Vec<&store::ItemKeys> = sentinels.iter().collect();
    let held: Vec<(String, Uuid)> = names
        .iter()
        .zip(app.store.batch_get_many(&refs).await.or_500()?)
        .filter_map(|(n, i)| Some((n.clone(), store::string_attr(&i?, "owner_id")?.parse().ok()?)))
        .collect();
    let where_keys: Vec<store::ItemKeys> = held.iter().map(|(_, s)| keys::subscription_ref(tid, *s)).collect();
    let refs: Vec<&store::ItemKeys> = where_keys.iter().collect();
    for ((name, sid), item) in held.into_iter().zip(app.store.batch_get_many(&refs).await.or_500()?) {
        let customer = item.and_then(|i| store::string_attr(&i, "customer_id")).and_then(|c| c.parse().ok());
        if let Some(customer_id) = customer {
            out.insert(name, Some(Owner { subscription_id: sid, customer_id }));
        }
    }
    Ok(out)
}

/// Counts a router's sessions (`samples`, read on the sweep's connection) at the app's clock,
/// the day being the ISP's local one.
pub async fn sample_router(
    app: &App,
    tid: Uuid,
    tz: Tz,
    router: Uuid,
    samples: &[SessionCounters],
) -> Result<TrafficSample> {
    let now = app.now();
    let mut cursor = load_cursor(app, tid, router).await?;
    let owners = owners_of(app, tid, &cursor.unknown_names(samples)).await?;
    let advance = cursor.advance(samples, &owners, now, domain::cycle::local_date(tz, now));
    // Day records first: were the cursor not written after them, the next sample counts the same
    // growth again from the old cursor and writes the same totals.
    let mut records = Vec::new();
    for r in &advance.records {
        let day = r.day.to_string();
        records.push(match r.stored(router) {
            Stored::Subscription(d) => expiring(
                Store::encode(&keys::traffic_day(tid, d.subscription_id, &day, d.total_bytes), "TRAFFIC_DAY", &d, None)
                    .or_500()?,
                r.day,
                KEEP_DAYS,
            ),
            Stored::Router(d) => expiring(
                Store::encode(&keys::router_traffic_day(tid, &day, router), "ROUTER_TRAFFIC_DAY", &d, None).or_500()?,
                r.day,
                domain::traffic::ROUTER_KEEP_DAYS,
            ),
        });
    }
    app.store.put_many(records).await.or_500()?;
    // A router that stops being swept (removed, or down for a day) loses its cursor; its next
    // sample is a baseline.
    let cursor_ttl = ttl_at(now + chrono::Duration::days(1));
    let mut parts = Vec::new();
    for (i, part) in cursor.split().iter().enumerate() {
        let mut item =
            Store::encode(&keys::traffic_cursor_part(tid, router, i), "TRAFFIC_CURSOR", part, None).or_500()?;
        item.insert("ttl".into(), cursor_ttl.clone());
        parts.push(item);
    }
    app.store.put_many(parts).await.or_500()?;
    Ok(TrafficSample {
        sessions: samples.len(),
        new_sessions: advance.new_sessions,
        resets: advance.resets,
        up_bytes: advance.up,
        down_bytes: advance.down,
        day_records: advance.records.len(),
    })
}
