//! `worker-imports`: applies the chunks of import jobs and bulk actions (`ImportChunkReady`,
//! `BulkChunkReady` events on the imports queue). A chunk is safe to apply again (each row's marker is written with the row), so a
//! redelivered message changes nothing more; failures are reported per message, retried, and end
//! in the queue's dead-letter queue.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use domain::event::{ChunkReady, CrmEvent, EventName, EventPayload, NetworkEvent};
use domain::work::WorkError;
use events::{BatchResponse, BusEvent};
use kernel::App;

/// Whether this worker acts on the event (its queue's rule must route exactly these): the chunks
/// of imports and of bulk actions. Exhaustive over the two contexts that emit them.
pub fn consumes(name: EventName) -> bool {
    match name {
        EventName::Crm(CrmEvent::ImportChunkReady) | EventName::Network(NetworkEvent::BulkChunkReady) => true,
        EventName::Crm(
            CrmEvent::CustomerCreated
            | CrmEvent::CustomerUpdated
            | CrmEvent::CustomerDeleted
            | CrmEvent::CustomerNoteAdded
            | CrmEvent::LeadCreated
            | CrmEvent::LeadUpdated
            | CrmEvent::LeadStageChanged
            | CrmEvent::LeadConverted
            | CrmEvent::OperatorProfileUpdated,
        )
        | EventName::Network(_)
        | EventName::Platform(_)
        | EventName::Identity(_)
        | EventName::Billing(_) => false,
    }
}

pub async fn handle(app: &App, event: SqsEvent) -> BatchResponse {
    let mut resp = BatchResponse::default();
    for m in &event.records {
        let id = m.message_id.clone().unwrap_or_default();
        resp.settle("worker-imports", &id, handle_one(app, m).await);
    }
    resp
}

async fn handle_one(app: &App, m: &SqsMessage) -> Result<(), WorkError> {
    let ev: BusEvent = serde_json::from_str(m.body.as_deref().unwrap_or(""))
        .map_err(|e| WorkError::Drop(format!("not an EventBridge event: {e}")))?;
    if !EventName::parse(&ev.detail_type).is_some_and(consumes) {
        return Err(WorkError::Drop(format!("unexpected event {}", ev.detail_type)));
    }
    let tenant = ev.tenant_id().ok_or_else(|| WorkError::Drop(format!("{} without tenant_id", ev.detail_type)))?;
    let ChunkReady { job_id: job, chunk } = ChunkReady::read(&ev.detail).map_err(WorkError::Drop)?;
    // A job or chunk that is gone is dropped; a store error is retried.
    let report = jobs::worker::process_chunk(app, tenant, job, chunk).await?;
    tracing::info!(%job, chunk, imported = report.imported, failed = report.failed, skipped = report.skipped, "import chunk applied");
    Ok(())
}
