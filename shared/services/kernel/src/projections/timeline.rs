//! A customer's timeline: every subscription change, note, invoice, payment, credit note and
//! refund (and, as those features land, SMS and ticket) in the customer's own item collection,
//! newest first in one Query. Each entry is written in the transaction of what it records.

use crate::support::StoreResultExt;
use chrono::{DateTime, Utc};
use domain::{Result, ids};
use serde::{Deserialize, Serialize};
use store::{Store, Tx, keys};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    Customer,
    Subscription,
    Note,
    Invoice,
    Payment,
    Sms,
    Ticket,
    /// Equipment installed at or taken back from the customer (inventory assets).
    Equipment,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub kind: TimelineKind,
    /// What happened, e.g. `subscription.suspended`.
    pub action: String,
    /// One line for people.
    pub summary: String,
    pub subscription_id: Option<Uuid>,
    /// Who did it (None: the system, e.g. a job).
    pub actor_id: Option<Uuid>,
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub data: serde_json::Value,
}

impl TimelineEntry {
    pub fn new(customer_id: Uuid, kind: TimelineKind, action: &str, summary: String, at: DateTime<Utc>) -> Self {
        Self {
            id: ids::new_id(),
            customer_id,
            kind,
            action: action.into(),
            summary,
            subscription_id: None,
            actor_id: None,
            at,
            data: serde_json::Value::Null,
        }
    }

    /// Who did it (None: the system).
    pub fn by(mut self, actor: Option<Uuid>) -> Self {
        self.actor_id = actor;
        self
    }

    /// The subscription it concerns, if one.
    pub fn about(mut self, subscription: Option<Uuid>) -> Self {
        self.subscription_id = subscription;
        self
    }

    /// Ids and figures a client may link or show (document ids, numbers, amounts).
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = data;
        self
    }
}

/// Adds the entry to the transaction of the change it records.
pub fn stage(tx: &mut Tx, tenant: Uuid, entry: &TimelineEntry) -> Result<()> {
    let k = keys::timeline_entry(tenant, entry.customer_id, entry.id);
    tx.put(Store::encode(&k, "TIMELINE", entry, None).or_500()?);
    Ok(())
}
