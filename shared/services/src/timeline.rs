//! A customer's timeline: every subscription change, note (and, as those features land, invoice,
//! payment, SMS and ticket) in the customer's own item collection, newest first in one Query.

use crate::App;
use crate::support::{StoreResultExt, audit};
use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::event::DomainEvent;
use domain::role::Permission;
use domain::{Result, Validation, ids};
use serde::{Deserialize, Serialize};
use store::{Owner, Page, Query, Store, Tx, keys};
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
}

/// Adds the entry to the transaction of the change it records.
pub fn stage(tx: &mut Tx, tenant: Uuid, entry: &TimelineEntry) -> Result<()> {
    let k = keys::timeline_entry(tenant, entry.customer_id, entry.id);
    tx.put(Store::encode(&k, "TIMELINE", entry, None).or_500()?);
    Ok(())
}

pub async fn list(
    app: &App,
    actor: &Actor,
    customer_id: Uuid,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<TimelineEntry>> {
    let tid = actor.tenant()?;
    crate::customers::get_customer(app, actor, customer_id).await?;
    let q =
        Query::table(keys::customer_pk(tid, customer_id)).prefix(keys::TIMELINE_SK_PREFIX).newest_first().limit(limit);
    app.store.query_page(Owner::Tenant(tid), &format!("timeline:{customer_id}"), q, cursor).await.or_500()
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    pub text: String,
}

/// A note by staff on the customer's timeline.
pub async fn add_note(app: &App, actor: &Actor, customer_id: Uuid, input: NewNote) -> Result<TimelineEntry> {
    actor.require(Permission::CustomersWrite)?;
    let tid = actor.tenant()?;
    let mut v = Validation::new();
    let text = v.text("text", &input.text, 2000);
    v.finish()?;
    crate::customers::get_customer(app, actor, customer_id).await?;
    let now = app.now();
    let mut entry = TimelineEntry::new(customer_id, TimelineKind::Note, "note.added", text.clone(), now);
    entry.actor_id = Some(actor.real_actor());
    let mut tx = Tx::new();
    stage(&mut tx, tid, &entry)?;
    tx.put_audit(&audit(
        actor,
        Some(tid),
        "customer.note_added",
        "customer",
        customer_id,
        None,
        Some(serde_json::json!({"note": text})),
        now,
    ));
    tx.put_event(&DomainEvent::new(
        "CustomerNoteAdded",
        "crm",
        Some(tid),
        serde_json::json!({"customer_id": customer_id, "entry_id": entry.id}),
        now,
    ));
    app.store.commit(tx).await.or_500()?;
    Ok(entry)
}
