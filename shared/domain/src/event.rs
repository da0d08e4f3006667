//! Domain events: past-tense facts written to the outbox in the same transaction as the change.

use crate::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainEvent {
    pub id: Uuid,
    /// EventBridge `detail-type`, e.g. `CustomerCreated`.
    pub name: String,
    /// EventBridge `source`, `isp.<context>`.
    pub source: String,
    pub tenant_id: Option<Uuid>,
    /// Ids and a version; never secrets.
    pub detail: serde_json::Value,
    pub occurred_at: Timestamp,
}

impl DomainEvent {
    pub fn new(name: &str, context: &str, tenant_id: Option<Uuid>, detail: serde_json::Value, now: Timestamp) -> Self {
        let id = crate::ids::new_id();
        let mut detail = detail;
        if let serde_json::Value::Object(m) = &mut detail {
            m.insert("event_id".into(), id.to_string().into());
            if let Some(t) = tenant_id {
                m.insert("tenant_id".into(), t.to_string().into());
            }
        }
        Self { id, name: name.to_string(), source: format!("isp.{context}"), tenant_id, detail, occurred_at: now }
    }
}
