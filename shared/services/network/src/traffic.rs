//! A router's traffic cursor in the table (the rules are `domain::traffic`'s): its packed parts
//! and directory parts, in the router's partition under one prefix, so one Query reads it all.
//! The health sweep's sample (API mode) and the edge's usage report (RADIUS mode) write it
//! ([`sample_router`]); the usage readers look into it for the days it still holds.
//!
//! DynamoDB per router and sample (every 15 minutes): one Query for the cursor, a BatchGetItem
//! pair only for names new to the router, one BatchWriteItem for the cursor's parts (a part per
//! 8,000 sessions and day totals, ~35 bytes each), and at a day's turn the day records and the
//! renumbered directory.

use chrono::{DateTime, Utc};
use domain::Result;
use domain::packed::{pack, unpack};
use domain::traffic::{CURSOR_KEEP_DAYS, Cursor, CursorPart, DirectoryPart};
use kernel::App;
use kernel::support::StoreResultExt;
use serde::{Deserialize, Serialize};
use store::{Item, Query, Store, keys, ttl_at};
use uuid::Uuid;

/// A stored part: one binary attribute (what a write costs is its size).
#[derive(Serialize, Deserialize)]
struct Packed {
    #[serde(with = "serde_bytes")]
    b: Vec<u8>,
}

/// The router's cursor, from all its parts (one Query, strongly consistent: the sweep counts
/// from it).
pub async fn load_cursor(app: &App, tid: Uuid, router: Uuid) -> Result<Cursor> {
    Ok(load_cursor_stored(app, tid, router).await?.0)
}

/// [`load_cursor`], and whether the router had any cursor item stored (false: never sampled).
async fn load_cursor_stored(app: &App, tid: Uuid, router: Uuid) -> Result<(Cursor, bool)> {
    let q = Query::table(keys::router_pk(tid, router)).prefix(keys::TRAFFIC_CURSOR_SK_PREFIX).limit(100);
    let mut parts = Vec::new();
    let mut directory = Vec::new();
    let items = app.store.query_all_items(q, 10_000).await.or_500()?;
    let stored = !items.is_empty();
    for item in items {
        let Some(sk) = store::string_attr(&item, "sk") else { continue };
        let Some(rest) = sk.strip_prefix(keys::TRAFFIC_CURSOR_SK_PREFIX) else { continue };
        // Items of an older layout (not packed) do not decode: the next sample is a baseline.
        let Ok(Packed { b }) = Store::decode::<Packed>(item) else { continue };
        if let Some(dir) = rest.strip_prefix(keys::TRAFFIC_DIRECTORY) {
            if let Some((_, i)) = dir.split_once('#')
                && let (Ok(i), Some(p)) = (i.parse::<usize>(), unpack::<DirectoryPart>(&b))
            {
                directory.push((i, p));
            }
        } else if let (Ok(i), Some(p)) = (rest.parse::<usize>(), unpack::<CursorPart>(&b)) {
            parts.push((i, p));
        }
    }
    Ok((Cursor::join(parts, directory), stored))
}

/// What to write after a sample: the directory's changed parts (first: the parts refer to
/// them), then the cursor's parts. Both live a few days past the sample, so a router silent
/// over a day's turn still writes that day out when it answers.
pub fn cursor_items(tid: Uuid, router: Uuid, cursor: &Cursor, now: DateTime<Utc>) -> Result<(Vec<Item>, Vec<Item>)> {
    // One write id per sample: parts of another write are never joined to these.
    let write: u64 = rand::random();
    let ttl = ttl_at(now + chrono::Duration::days(CURSOR_KEEP_DAYS));
    // The directory is rewritten only when it changes: it lives a day longer than the cursor
    // that refers to it, whenever that was last written.
    let directory_ttl = ttl_at(now + chrono::Duration::days(CURSOR_KEEP_DAYS + 1));
    let item = |keys: store::ItemKeys, bytes: Vec<u8>, directory: bool| -> Result<Item> {
        let mut item = Store::encode(&keys, "TRAFFIC_CURSOR", &Packed { b: bytes }, None).or_500()?;
        item.insert("ttl".into(), if directory { directory_ttl.clone() } else { ttl.clone() });
        Ok(item)
    };
    let directory = cursor
        .directory_parts(write)
        .iter()
        .enumerate()
        .map(|(i, p)| item(keys::traffic_directory_part(tid, router, cursor.generation % 2, i), pack(p), true))
        .collect::<Result<Vec<_>>>()?;
    let parts = cursor
        .split(write)
        .iter()
        .enumerate()
        .map(|(i, p)| item(keys::traffic_cursor_part(tid, router, i), pack(p), false))
        .collect::<Result<Vec<_>>>()?;
    Ok((directory, parts))
}

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

fn expiring(mut item: Item, day: chrono::NaiveDate, days: i64) -> Item {
    item.insert("ttl".into(), ttl_at(domain::traffic::expires_at(day, days)));
    item
}

/// Whose these session names are: the ISP's live subscription holding the name (its username
/// sentinel), and that subscription's customer (where it lives). Two BatchGetItems per 100 names.
async fn owners_of(
    app: &App,
    tid: Uuid,
    names: &[String],
) -> Result<std::collections::HashMap<String, Option<domain::traffic::Owner>>> {
    let mut out: std::collections::HashMap<String, Option<domain::traffic::Owner>> =
        names.iter().map(|n| (n.clone(), None)).collect();
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
            out.insert(name, Some(domain::traffic::Owner { subscription_id: sid, customer_id }));
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
    /// The edge's RADIUS sessions, known from their Start: a router's first report (no cursor
    /// stored yet) counts them in full.
    FromStart,
}

/// Counts a router's sessions (`samples`, read on the sweep's connection or reported by the
/// edge) at the app's clock, the day being the ISP's local one.
pub async fn sample_router(
    app: &App,
    tid: Uuid,
    tz: chrono_tz::Tz,
    router: Uuid,
    samples: &[domain::traffic::SessionCounters],
    counters: Counters,
) -> Result<TrafficSample> {
    let now = app.now();
    let (mut cursor, stored) = load_cursor_stored(app, tid, router).await?;
    if counters == Counters::FromStart && !stored {
        // No baseline for a router's first report: every byte of a RADIUS session is counted.
        // A cursor stored but unreadable (a write torn by a crash) stays a baseline, as in API
        // mode: a few minutes' bytes lost rather than sessions counted twice.
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
            domain::traffic::Stored::Subscription(d) => expiring(
                Store::encode(&keys::traffic_day(tid, d.subscription_id, &day, d.total_bytes), "TRAFFIC_DAY", &d, None)
                    .or_500()?,
                r.day,
                domain::traffic::KEEP_DAYS,
            ),
            domain::traffic::Stored::Router(d) => expiring(
                Store::encode(&keys::router_traffic_day(tid, &day, router), "ROUTER_TRAFFIC_DAY", &d, None).or_500()?,
                r.day,
                domain::traffic::ROUTER_KEEP_DAYS,
            ),
        });
    }
    app.store.put_many(records).await.or_500()?;
    // The directory before the parts that refer to it.
    let (directory, parts) = cursor_items(tid, router, &cursor, now)?;
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
