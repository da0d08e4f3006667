//! The audit log: every write by a person, with who did it and as whom.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: Uuid,
    pub tenant_id: Option<Uuid>,
    /// The person who acted (the platform owner when impersonating).
    pub actor_id: Uuid,
    /// The identity whose rights were used; differs from `actor_id` under impersonation (and with
    /// an API key confined to an operator).
    pub acting_as_id: Uuid,
    /// The API key the change was made with (`actor_id` is then the key's creator).
    #[serde(default)]
    pub api_key_id: Option<Uuid>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    #[schema(value_type = Object)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Object)]
    pub after: Option<serde_json::Value>,
    pub at: DateTime<Utc>,
}

/// Removes secrets from a snapshot before it is written to the log.
pub fn redact(mut value: serde_json::Value) -> serde_json::Value {
    const SECRET_FIELDS: &[&str] = &["password", "password_hash", "secret", "token", "api_key"];
    if let serde_json::Value::Object(map) = &mut value {
        for f in SECRET_FIELDS {
            map.remove(*f);
        }
        for v in map.values_mut() {
            *v = redact(std::mem::take(v));
        }
    }
    value
}

#[cfg(test)]
mod tests {
    #[test]
    fn redact_strips_nested_secrets() {
        let v = serde_json::json!({"name":"a","password_hash":"x","admin":{"password":"p","email":"e"}});
        assert_eq!(super::redact(v), serde_json::json!({"name":"a","admin":{"email":"e"}}));
    }
}
