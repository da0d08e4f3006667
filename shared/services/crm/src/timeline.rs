//! A customer's timeline (`/v1/customers/{id}/timeline`): listing and staff notes. The entries are
//! written by every context through [`kernel::projections::timeline`].

use domain::actor::Actor;
use domain::event::{CrmEvent, DomainEvent};
use domain::role::Permission;
use domain::{Result, Validation};
use kernel::App;
pub use kernel::projections::timeline::{TimelineEntry, TimelineKind, stage};
use kernel::support::{Audited, StoreResultExt, audit};
use serde::Deserialize;
use store::{Owner, Page, Query, Tx, keys};
use uuid::Uuid;

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
        Audited {
            action: "customer.note_added",
            entity: "customer",
            id: customer_id.to_string(),
            before: None,
            after: Some(serde_json::json!({"note": text})),
        },
        now,
    ));
    tx.put_event(&DomainEvent::new(
        CrmEvent::CustomerNoteAdded,
        Some(tid),
        serde_json::json!({"customer_id": customer_id, "entry_id": entry.id}),
        now,
    ));
    app.store.commit(tx).await.or_500()?;
    Ok(entry)
}
