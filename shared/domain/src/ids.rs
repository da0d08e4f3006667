//! Identifiers are UUIDv7: unique without coordination and sortable by creation time, so a listing
//! keyed by id is also a listing by age.

use uuid::Uuid;

pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

/// Parses an id from a path segment; anything that is not a UUID is treated as "not found" by callers.
pub fn parse_id(raw: &str) -> Option<Uuid> {
    Uuid::parse_str(raw).ok()
}
