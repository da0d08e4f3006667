//! Raising a staff alert: the alert and its `AlertRaised` event in the transaction that found
//! what it is about, so an alert is raised exactly when (and as often as) that change commits.
//! The log and its delivery are the notifications context's (`notify::alerts`).

use crate::support::StoreResultExt;
use domain::Result;
use domain::alert::{Alert, AlertRaised};
use domain::event::{DomainEvent, MessagingEvent};
use store::{Conflict, Store, Tx};

/// Adds the alert (new: a raise repeated with the same id conflicts) and its event to `tx`.
pub fn raise(tx: &mut Tx, alert: &Alert) -> Result<()> {
    tx.put_new(Store::encode_stored(alert).or_500()?, Conflict::Exists);
    let detail = serde_json::to_value(AlertRaised { alert_id: alert.id, kind: alert.kind })
        .map_err(|e| domain::Error::Internal(e.to_string()))?;
    tx.put_event(&DomainEvent::new(MessagingEvent::AlertRaised, Some(alert.tenant_id), detail, alert.raised_at));
    Ok(())
}
