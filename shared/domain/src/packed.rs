//! Records the sweeps rewrite every few minutes (a router's traffic cursor, a monitoring point
//! with its state) are stored packed (postcard: varints, no field names) in one binary attribute:
//! what a write costs is the item's size, and these are most of the table's writes.
//! Not self-describing: the types packed must not skip fields when serializing.

use serde::{Deserialize, Serialize};

/// A record, packed.
pub fn pack<T: Serialize>(record: &T) -> Vec<u8> {
    postcard::to_allocvec(record).expect("a record in memory always packs")
}

/// A record, unpacked; None: not one of this layout (the callers start afresh). Every byte must
/// be read: a record of another layout that happens to parse as a prefix is not this one.
pub fn unpack<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Option<T> {
    match postcard::take_from_bytes(bytes) {
        Ok((record, [])) => Some(record),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_of_another_layout_does_not_unpack() {
        let bytes = pack(&(7u32, "rahim".to_string()));
        assert_eq!(unpack::<(u32, String)>(&bytes), Some((7, "rahim".to_string())));
        assert_eq!(unpack::<u32>(&bytes), None, "a prefix is not the record");
        assert_eq!(unpack::<(u32, String)>(&bytes[..3]), None);
    }
}
