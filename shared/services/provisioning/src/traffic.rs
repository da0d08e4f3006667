//! Traffic sampling on the health sweep's session (the rules are `domain::traffic`'s): the
//! router's session counters go through its cursor; the day totals due are written out, then the
//! cursor. DynamoDB per router and sample (every 15 minutes): one Query for the cursor, a
//! BatchGetItem pair only for names new to the router, one BatchWriteItem for the cursor's parts
//! (a part per 8,000 sessions and day totals, ~35 bytes each), and at a day's turn the day
//! records and the renumbered directory.

use chrono::NaiveDate;
use chrono_tz::Tz;
use domain::Result;
use domain::traffic::{KEEP_DAYS, Owner, SessionCounters, Stored};
use kernel::App;
use kernel::support::StoreResultExt;
use serde::Serialize;
use std::collections::HashMap;
use store::{Item, Store, keys, ttl_at};
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
    /// Sessions of the last sample gone from this one, with their names.
    #[serde(skip)]
    pub ended: Vec<(String, String)>,
}

fn expiring(mut item: Item, day: NaiveDate, days: i64) -> Item {
    item.insert("ttl".into(), ttl_at(domain::traffic::expires_at(day, days)));
    item
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

/// Where a sample's counters come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counters {
    /// The router's sessions as its API shows them: a router's first sample is a baseline (its
    /// sessions' bytes before it was watched are not this system's to count).
    RouterApi,
    /// The edge's RADIUS sessions, known from their Start: the first report counts them in full.
    FromStart,
}

/// Counts a router's sessions (`samples`, read on the sweep's connection or reported by the
/// edge) at the app's clock, the day being the ISP's local one.
pub async fn sample_router(
    app: &App,
    tid: Uuid,
    tz: Tz,
    router: Uuid,
    samples: &[SessionCounters],
    counters: Counters,
) -> Result<TrafficSample> {
    let now = app.now();
    let mut cursor = network::traffic::load_cursor(app, tid, router).await?;
    if counters == Counters::FromStart && cursor.sampled_at.is_none() {
        // No baseline: every byte of a RADIUS session is counted (an unreadable cursor, a
        // report torn by a crash, counts its sessions from their start again).
        cursor.sampled_at = Some(now);
    }
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
    // The directory before the parts that refer to it.
    let (directory, parts) = network::traffic::cursor_items(tid, router, &cursor, now)?;
    app.store.put_many(directory).await.or_500()?;
    app.store.put_many(parts).await.or_500()?;
    Ok(TrafficSample {
        sessions: samples.len(),
        new_sessions: advance.new_sessions,
        resets: advance.resets,
        up_bytes: advance.up,
        down_bytes: advance.down,
        day_records: advance.records.len(),
        ended: advance.ended,
    })
}
