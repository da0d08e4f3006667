//! `worker-imports`: applies the chunks of import jobs and bulk actions (`ImportChunkReady`,
//! `BulkChunkReady` events on the imports queue). A chunk is safe to apply again (each row's marker is written with the row), so a
//! redelivered message changes nothing more; failures are reported per message, retried, and end
//! in the queue's dead-letter queue.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use events::{BatchResponse, BusEvent};
use kernel::App;
use uuid::Uuid;

pub async fn handle(app: &App, event: SqsEvent) -> BatchResponse {
    let mut resp = BatchResponse::default();
    for m in &event.records {
        let id = m.message_id.clone().unwrap_or_default();
        if let Err(e) = handle_one(app, m).await {
            tracing::warn!(message_id = %id, error = %e, "import chunk failed; will be retried");
            resp.fail(id);
        }
    }
    resp
}

async fn handle_one(app: &App, m: &SqsMessage) -> Result<(), String> {
    let ev: BusEvent =
        serde_json::from_str(m.body.as_deref().unwrap_or("")).map_err(|e| format!("not an EventBridge event: {e}"))?;
    if ev.detail_type != "ImportChunkReady" && ev.detail_type != "BulkChunkReady" {
        return Err(format!("unexpected event {}", ev.detail_type));
    }
    let tenant = ev.tenant_id().ok_or("event without tenant_id")?;
    let job: Uuid =
        ev.detail.get("job_id").and_then(|v| v.as_str()).and_then(|s| s.parse().ok()).ok_or("event without job_id")?;
    let chunk = ev.detail.get("chunk").and_then(|v| v.as_u64()).ok_or("event without chunk")? as u32;
    let report = jobs::worker::process_chunk(app, tenant, job, chunk).await.map_err(|e| e.to_string())?;
    tracing::info!(%job, chunk, imported = report.imported, failed = report.failed, skipped = report.skipped, "import chunk applied");
    Ok(())
}
