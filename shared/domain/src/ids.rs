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

/// An id derived from what identifies a thing (an invoice from its subscription and period), so
/// making it twice yields the same id: UUIDv8 whose first 48 bits are `at` in milliseconds (it sorts
/// like a UUIDv7) and whose rest is a SHA-256 of `seed`.
pub fn derived_id(at: chrono::DateTime<chrono::Utc>, seed: &str) -> Uuid {
    use sha2::{Digest, Sha256};
    let ms = at.timestamp_millis().max(0) as u64;
    let hash = Sha256::digest(seed.as_bytes());
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    b[6..].copy_from_slice(&hash[..10]);
    Uuid::new_v8(b)
}

#[cfg(test)]
mod tests {
    #[test]
    fn derived_ids_are_stable_and_sort_by_time() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z").unwrap().with_timezone(&chrono::Utc);
        let a = super::derived_id(t, "sub-1:2026-12-01");
        assert_eq!(a, super::derived_id(t, "sub-1:2026-12-01"));
        assert_ne!(a, super::derived_id(t, "sub-2:2026-12-01"));
        assert!(super::derived_id(t + chrono::Duration::days(1), "sub-0") > a);
        assert_eq!(a.get_version_num(), 8);
    }
}
