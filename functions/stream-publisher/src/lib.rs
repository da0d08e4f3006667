//! `stream-publisher`: reads outbox items (`type = EVENT`) from the table's stream and puts them on
//! the EventBridge bus. Nothing else publishes events, so none is lost when a function dies after
//! its commit (DESIGN section 4).

use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use events::{BatchResponse, outbox_records, publish_outbox};

pub struct Publisher {
    pub eventbridge: aws_sdk_eventbridge::Client,
    pub bus: String,
}

impl Publisher {
    pub async fn from_env() -> Result<Self, String> {
        let bus = std::env::var("EVENT_BUS_NAME").map_err(|_| "EVENT_BUS_NAME is not set".to_string())?;
        Ok(Self { eventbridge: events::eventbridge_client_from_env().await, bus })
    }
}

/// Publishes the batch's outbox events in stream order; on failure reports the first unpublished
/// record so the stream retries from there (events may then repeat: consumers dedupe by event id).
pub async fn handle(p: &Publisher, event: StreamEvent) -> BatchResponse {
    let records = outbox_records(&event);
    publish_outbox(&p.eventbridge, &p.bus, &records).await
}
