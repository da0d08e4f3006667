//! A router's traffic cursor in the table (the rules are `domain::traffic`'s): its packed parts
//! and directory parts, in the router's partition under one prefix, so one Query reads it all.
//! The sweep writes it (`provisioning::traffic`); the usage readers look into it for the days it
//! still holds.

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
    let q = Query::table(keys::router_pk(tid, router)).prefix(keys::TRAFFIC_CURSOR_SK_PREFIX).limit(100);
    let mut parts = Vec::new();
    let mut directory = Vec::new();
    for item in app.store.query_all_items(q, 10_000).await.or_500()? {
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
    Ok(Cursor::join(parts, directory))
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
