//! `worker-imports`: applies the chunks of import jobs and bulk actions (`ImportChunkReady`,
//! `BulkChunkReady` events on the imports queue) and generates voucher batches' chunks
//! (`VoucherChunkReady`). A chunk is safe to apply again (each row's marker is written with the row), so a
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
        EventName::Crm(CrmEvent::ImportChunkReady)
        | EventName::Network(NetworkEvent::BulkChunkReady | NetworkEvent::VoucherChunkReady) => true,
        EventName::Crm(
            CrmEvent::CustomerCreated
            | CrmEvent::CustomerUpdated
            | CrmEvent::CustomerDeleted
            | CrmEvent::CustomerNoteAdded
            | CrmEvent::LeadCreated
            | CrmEvent::LeadUpdated
            | CrmEvent::LeadStageChanged
            | CrmEvent::LeadConverted
            | CrmEvent::OperatorProfileUpdated
            | CrmEvent::PortalCodeRequested
            | CrmEvent::TicketOpened
            | CrmEvent::ImportProgressed,
        )
        | EventName::Network(_)
        | EventName::Platform(_)
        | EventName::Identity(_)
        | EventName::Billing(_)
        | EventName::Messaging(_) => false,
    }
}

/// The queue's `maxReceiveCount` (the template's): a failure at this receive is the last.
pub const DLQ_AFTER_RECEIVES: u32 = 5;

pub async fn handle(app: &App, event: SqsEvent) -> BatchResponse {
    let mut resp = BatchResponse::default();
    for m in &event.records {
        let id = m.message_id.clone().unwrap_or_default();
        resp.settle("worker-imports", &id, handle_one(app, m).await);
    }
    kernel::alerts::raise_dead_letters(app, "worker-imports", &resp.last_failures(&event, DLQ_AFTER_RECEIVES)).await;
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
    if ev.detail_type == NetworkEvent::VoucherChunkReady.as_str() {
        let made = vouchers::batches::generate_chunk(app, tenant, job, chunk).await?;
        tracing::info!(batch = %job, chunk, made, "voucher chunk generated");
        return Ok(());
    }
    // A job or chunk that is gone is dropped; a store error is retried.
    let report = jobs::worker::process_chunk(app, tenant, job, chunk).await?;
    tracing::info!(%job, chunk, imported = report.imported, failed = report.failed, skipped = report.skipped, "import chunk applied");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, body: &str) -> serde_json::Value {
        serde_json::json!({"messageId": id, "body": body})
    }

    fn bus(detail_type: &str, detail: serde_json::Value) -> String {
        serde_json::json!({"id": "e", "detail-type": detail_type, "source": "isp.crm", "detail": detail}).to_string()
    }

    /// What the worker does with each kind of failure, through its real handler: what can never
    /// succeed is acknowledged, what a retry may cure (here: a store that does not answer) comes back.
    #[tokio::test]
    async fn hopeless_messages_are_acknowledged_and_store_failures_retried() {
        // SAFETY: the only test of this binary that reads the environment; set before any client.
        unsafe {
            std::env::set_var("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
            std::env::set_var("AWS_REGION", "us-east-1");
            std::env::set_var("AWS_ACCESS_KEY_ID", "x");
            std::env::set_var("AWS_SECRET_ACCESS_KEY", "x");
            std::env::set_var("AWS_MAX_ATTEMPTS", "1");
        }
        let config = kernel::Config {
            table: "unreachable".into(),
            signing_secret: b"worker-imports-test-signing-secret".to_vec(),
            encryption_key: "bG9jYWwtZGV2ZWxvcG1lbnQta2V5LTMyLWJ5dGVzISE=".into(),
            router_hosts: Default::default(),
            public_url: String::new(),
            portal_domain: String::new(),
            admin_origins: vec![],
            attachments_bucket: String::new(),
            backups_bucket: String::new(),
            edge: None,
            edge_sync_token: String::new(),
            radius_api_token: String::new(),
        };
        let store = store::Store::new(store::Store::client_from_env(None).await, "unreachable", b"cursor");
        let app = App::new(store, &config, kernel::Clock::system()).unwrap();
        let tenant = "01a1fc33-3868-7788-8722-ed305b1d0536";
        let job = "01a1fc33-3868-7788-8722-ed319ea9eb31";
        let event: SqsEvent = serde_json::from_value(serde_json::json!({
            "Records": [
                message("garbled", "not json"),
                message("not-mine", &bus("InvoiceIssued", serde_json::json!({"tenant_id": tenant}))),
                message("no-chunk", &bus("ImportChunkReady", serde_json::json!({"tenant_id": tenant, "job_id": job}))),
                message(
                    "store-down",
                    &bus("ImportChunkReady", serde_json::json!({"tenant_id": tenant, "job_id": job, "chunk": 0})),
                ),
            ]
        }))
        .unwrap();
        let resp = handle(&app, event).await;
        let retried: Vec<&str> = resp.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        assert_eq!(retried, ["store-down"]);
    }
}
