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

/// Raises the ISP's staff alert for each message a worker gave up on (once per message: the
/// alert's id is the message's). A message of no ISP (the platform's) is in the log and the
/// queue's alarm only.
pub async fn raise_dead_letters(app: &crate::App, worker: &str, letters: &[events::LastFailure]) {
    use domain::alert::{AlertKind, AlertSubject};
    let now = app.now();
    for l in letters {
        tracing::error!(worker, message_id = %l.message_id, receives = l.receives, detail_type = %l.detail_type,
            "message given up after its retries: it goes to the dead-letter queue");
        let Some(tid) = l.tenant_id else { continue };
        let id = domain::ids::derived_id(chrono::DateTime::UNIX_EPOCH, &format!("dead-letter:{}", l.message_id));
        let detail = format!(
            "{} (event {}) failed {} times in {worker}; it waits in the dead-letter queue for a redrive",
            l.detail_type,
            l.event_id.map(|e| e.to_string()).unwrap_or_else(|| "-".into()),
            l.receives,
        );
        let mut tx = Tx::new();
        if raise(&mut tx, &Alert::new(id, tid, AlertKind::DeadLetter, AlertSubject::default(), Some(detail), now))
            .is_err()
        {
            continue;
        }
        match app.store.commit(tx).await {
            Ok(()) | Err(store::StoreError::Conflict(_)) => {}
            Err(e) => tracing::warn!(error = %e, "dead-letter alert not raised"),
        }
    }
}
