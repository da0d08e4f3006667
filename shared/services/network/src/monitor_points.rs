//! A router's or device's monitoring points as stored: a sweep writes one item per router or
//! device, its 5-minute point, packed (postcard) with the whole state the next sweep starts from
//! (the counters rates are taken from, the open episodes, where the log was read to, the hour
//! being summarised). The current state is the newest point (a Query, newest first, one item):
//! one write a sweep instead of a point and a state item, each in JSON.

use domain::monitoring::{MonitorState, POINT_DAYS};
use domain::{Error, Result};
use kernel::App;
use kernel::support::StoreResultExt;
use serde::{Deserialize, Serialize};
use store::{Item, Query, Store, keys, ttl_at};
use uuid::Uuid;

/// A stored point: one binary attribute.
#[derive(Serialize, Deserialize)]
struct Packed {
    #[serde(with = "serde_bytes")]
    b: Vec<u8>,
}

/// The item a sweep writes for a router or device (`id`): the state after the sweep, whose
/// `last` is the sweep's point, at the point's time; it expires with the points.
pub fn point_item(tid: Uuid, id: Uuid, state: &MonitorState) -> Result<Item> {
    let at = state.last.as_ref().map(|p| p.at).ok_or_else(|| Error::Internal("a state without its point".into()))?;
    let mut item = Store::encode(
        &keys::monitor_point(tid, id, at),
        "MONITOR_POINT",
        &Packed { b: domain::packed::pack(state) },
        None,
    )
    .or_500()?;
    item.insert("ttl".into(), ttl_at(at + chrono::Duration::days(POINT_DAYS)));
    Ok(item)
}

/// A stored point's state (None: not a point of this layout).
pub fn state_of(item: Item) -> Option<MonitorState> {
    let Packed { b } = Store::decode::<Packed>(item).ok()?;
    domain::packed::unpack::<MonitorState>(&b)
}

/// The state the last sweep left for a router or device: its newest point (one Query, one item,
/// strongly consistent). None before the first sweep.
pub async fn latest_state(app: &App, tid: Uuid, id: Uuid) -> Result<Option<MonitorState>> {
    let q =
        Query::table(keys::monitor_history_pk(tid, id)).prefix(keys::MONITOR_POINT_SK_PREFIX).newest_first().limit(1);
    let items = app.store.query_all_items(q, 1).await.or_500()?;
    Ok(items.into_iter().next().and_then(state_of))
}
