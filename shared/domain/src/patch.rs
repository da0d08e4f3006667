//! PATCH fields: absent (leave as is), `null` (clear) or a value (set), as one type.

use serde::{Deserialize, Deserializer};

/// A field of a PATCH body that may be cleared. The field needs `#[serde(default)]` (an absent
/// field is [`Patch::Absent`]) and, for the OpenAPI document, the value's schema as
/// `#[schema(value_type = Option<T>)]` (utoipa cannot compose a generic's schema for `Uuid` or
/// the chrono types).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Patch<T> {
    #[default]
    Absent,
    Null,
    Set(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(d)? {
            None => Patch::Null,
            Some(v) => Patch::Set(v),
        })
    }
}

impl<T> Patch<T> {
    /// `None` when absent, else what the field becomes (`Some(None)`: cleared).
    pub fn as_update(&self) -> Option<Option<&T>> {
        match self {
            Patch::Absent => None,
            Patch::Null => Some(None),
            Patch::Set(v) => Some(Some(v)),
        }
    }

    pub fn is_absent(&self) -> bool {
        matches!(self, Patch::Absent)
    }

    /// Writes the change into `field`: cleared, set, or left as it was.
    pub fn apply_to(self, field: &mut Option<T>) {
        match self {
            Patch::Absent => {}
            Patch::Null => *field = None,
            Patch::Set(v) => *field = Some(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[serde(default)]
        address: Patch<String>,
    }

    #[test]
    fn absent_null_and_value_are_three_states() {
        let absent: Body = serde_json::from_str("{}").unwrap();
        let null: Body = serde_json::from_str(r#"{"address": null}"#).unwrap();
        let set: Body = serde_json::from_str(r#"{"address": "Mirpur"}"#).unwrap();
        assert_eq!((absent.address.as_update(), absent.address.is_absent()), (None, true));
        assert_eq!(null.address.as_update(), Some(None));
        assert_eq!(set.address.as_update(), Some(Some(&"Mirpur".to_string())));
        let mut field = Some("old".to_string());
        absent.address.apply_to(&mut field);
        assert_eq!(field.as_deref(), Some("old"));
        set.address.apply_to(&mut field);
        assert_eq!(field.as_deref(), Some("Mirpur"));
        null.address.apply_to(&mut field);
        assert_eq!(field, None);
        assert!(serde_json::from_str::<Body>(r#"{"address": 5}"#).is_err(), "a wrong type is still refused");
    }
}
