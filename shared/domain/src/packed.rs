//! Records the sweeps rewrite every few minutes (a router's traffic cursor, a monitoring point
//! with its state) are stored packed (postcard: varints, no field names) in one binary attribute:
//! what a write costs is the item's size, and these are most of the table's writes.
//! Not self-describing: the types packed must not skip fields when serializing.

use serde::{Deserialize, Serialize};

/// A record, packed.
pub fn pack<T: Serialize>(record: &T) -> Vec<u8> {
    postcard::to_allocvec(record).expect("a record in memory always packs")
}

/// A record, unpacked; None: not one of this layout (the callers start afresh).
pub fn unpack<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Option<T> {
    postcard::from_bytes(bytes).ok()
}
