//! The event path: outbox items arrive on the table's stream, [`publish_outbox`] puts them on the
//! EventBridge bus, rules route them to SQS, and workers consume them once with [`Inbox`].

use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use chrono::{DateTime, Utc};
use domain::work::WorkError;
use serde::{Deserialize, Serialize};
use store::Store;
use uuid::Uuid;

/// An outbox item as the stream carries it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OutboxRecord {
    pub event_id: Uuid,
    pub detail_type: String,
    pub source: String,
    /// JSON text.
    pub detail: String,
    pub tenant_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
}

/// The outbox events among a batch of stream records, each with the stream sequence number it came
/// in (needed to report a partial failure).
pub fn outbox_records(event: &StreamEvent) -> Vec<(String, OutboxRecord)> {
    event
        .records
        .iter()
        .filter(|r| r.event_name == "INSERT")
        .filter_map(|r| {
            let image = &r.change.new_image;
            let is_event = matches!(image.get("type"), Some(serde_dynamo::AttributeValue::S(t)) if t == "EVENT");
            if !is_event {
                return None;
            }
            let seq = r.change.sequence_number.clone().unwrap_or_default();
            match serde_dynamo::from_item::<_, OutboxRecord>(image.clone()) {
                Ok(rec) => Some((seq, rec)),
                Err(e) => {
                    tracing::error!(error = %e, sequence = %seq, "malformed outbox item skipped");
                    None
                }
            }
        })
        .collect()
}

/// `{"batchItemFailures":[{"itemIdentifier": ...}]}`: what stream and SQS handlers answer so that only
/// the failed part is retried.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    pub batch_item_failures: Vec<BatchItemFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemFailure {
    pub item_identifier: String,
}

impl BatchResponse {
    pub fn fail(&mut self, id: impl Into<String>) {
        self.batch_item_failures.push(BatchItemFailure { item_identifier: id.into() });
    }

    /// One message's outcome, by the failure's type: a `Retry` is reported (SQS redelivers it,
    /// then its dead-letter queue); a `Drop` is recorded in the log with its message id and
    /// acknowledged. Returns whether the message is to be retried.
    pub fn settle(&mut self, worker: &str, id: &str, outcome: Result<(), WorkError>) -> bool {
        match outcome {
            Ok(()) => false,
            Err(WorkError::Retry(e)) => {
                tracing::warn!(worker, message_id = %id, error = %e, "message failed; will be retried");
                self.fail(id);
                true
            }
            Err(WorkError::Drop(e)) => {
                tracing::error!(worker, message_id = %id, error = %e, dropped = true, "message dropped: it can never succeed");
                false
            }
        }
    }
}

/// A message a worker failed for the last time: its receive count reached the queue's limit, so
/// SQS moves it to the dead-letter queue now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastFailure {
    pub message_id: String,
    pub receives: u32,
    pub tenant_id: Option<Uuid>,
    pub detail_type: String,
    pub event_id: Option<Uuid>,
}

impl BatchResponse {
    /// The batch's messages reported failed that will not be delivered again (`max_receives`:
    /// the queue's `maxReceiveCount`).
    pub fn last_failures(
        &self,
        event: &aws_lambda_events::event::sqs::SqsEvent,
        max_receives: u32,
    ) -> Vec<LastFailure> {
        event
            .records
            .iter()
            .filter(|m| self.batch_item_failures.iter().any(|f| Some(&f.item_identifier) == m.message_id.as_ref()))
            .filter_map(|m| {
                let receives: u32 = m.attributes.get("ApproximateReceiveCount")?.parse().ok()?;
                (receives >= max_receives).then(|| {
                    let bus: Option<BusEvent> = m.body.as_deref().and_then(|b| serde_json::from_str(b).ok());
                    LastFailure {
                        message_id: m.message_id.clone().unwrap_or_default(),
                        receives,
                        tenant_id: bus.as_ref().and_then(BusEvent::tenant_id),
                        detail_type: bus.as_ref().map(|b| b.detail_type.clone()).unwrap_or_default(),
                        event_id: bus.as_ref().and_then(BusEvent::event_id),
                    }
                })
            })
            .collect()
    }
}

/// Puts outbox events on the bus, ten per PutEvents call. For a stream batch, a failure must stop at
/// the first failed record (the stream is retried from there, in order), so the answer is the
/// sequence number of the first record not published.
pub async fn publish_outbox(
    client: &aws_sdk_eventbridge::Client,
    bus: &str,
    records: &[(String, OutboxRecord)],
) -> BatchResponse {
    let mut resp = BatchResponse::default();
    for chunk in records.chunks(10) {
        let entries: Vec<PutEventsRequestEntry> = chunk
            .iter()
            .map(|(_, r)| {
                PutEventsRequestEntry::builder()
                    .event_bus_name(bus)
                    .source(&r.source)
                    .detail_type(&r.detail_type)
                    .detail(&r.detail)
                    .time(aws_sdk_eventbridge::primitives::DateTime::from_secs(r.occurred_at.timestamp()))
                    .build()
            })
            .collect();
        let first_failed = match client.put_events().set_entries(Some(entries)).send().await {
            Ok(out) => out.entries().iter().position(|e| e.error_code().is_some()),
            Err(e) => {
                tracing::error!(error = %aws_sdk_eventbridge::error::DisplayErrorContext(&e), "PutEvents failed");
                Some(0)
            }
        };
        if let Some(i) = first_failed {
            resp.fail(chunk[i].0.clone());
            return resp;
        }
        for (_, r) in chunk {
            tracing::info!(event_id = %r.event_id, detail_type = %r.detail_type, "event published");
        }
    }
    resp
}

/// An EventBridge event as delivered in an SQS message body.
#[derive(Debug, Clone, Deserialize)]
pub struct BusEvent {
    pub id: String,
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub source: String,
    /// When the event happened (from its `occurred_at`, whole seconds; the same on every delivery).
    #[serde(default)]
    pub time: Option<chrono::DateTime<chrono::Utc>>,
    pub detail: serde_json::Value,
}

impl BusEvent {
    /// Our own event id (stable across redeliveries; the envelope `id` is per PutEvents).
    pub fn event_id(&self) -> Option<Uuid> {
        self.detail.get("event_id").and_then(|v| v.as_str()).and_then(|s| s.parse().ok())
    }
    /// When the event happened: its own `occurred_at`, else the envelope's time.
    pub fn occurred_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let own = self.detail.get("occurred_at").and_then(|v| v.as_str()).and_then(|s| s.parse().ok());
        own.or(self.time)
    }
    pub fn tenant_id(&self) -> Option<Uuid> {
        self.detail.get("tenant_id").and_then(|v| v.as_str()).and_then(|s| s.parse().ok())
    }
}

/// Once-only processing for a consumer: an event is claimed before it is handled and marked done
/// after. A duplicate that arrives while the first copy is being handled is retried later; one that
/// arrives after is skipped.
pub struct Inbox<'a> {
    pub store: &'a Store,
    pub consumer: &'a str,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// Handle it now, then call [`Inbox::done`].
    Claimed,
    /// Handled before: acknowledge and skip.
    AlreadyDone,
    /// Another copy is being handled right now: retry later.
    Busy,
}

impl Inbox<'_> {
    pub async fn claim(&self, owner: store::Owner, event_id: Uuid, now: DateTime<Utc>) -> Result<Claim, String> {
        use aws_sdk_dynamodb::types::AttributeValue as A;
        let k = store::keys::inbox(owner, self.consumer, event_id);
        // A claim expires after 5 minutes, so a crashed worker does not block the event forever.
        let lease = now + chrono::Duration::minutes(5);
        let res = self
            .store
            .send_update(
                self.store
                    .update(&k)
                    .update_expression("SET #st = :claimed, lease_until = :lease, #ttl = :ttl, #type = :type")
                    .condition_expression("attribute_not_exists(pk) OR (#st = :claimed AND lease_until < :now)")
                    .expression_attribute_names("#st", "status")
                    .expression_attribute_names("#ttl", "ttl")
                    .expression_attribute_names("#type", "type")
                    .expression_attribute_values(":claimed", A::S("claimed".into()))
                    .expression_attribute_values(":lease", A::S(lease.to_rfc3339()))
                    .expression_attribute_values(":now", A::S(now.to_rfc3339()))
                    .expression_attribute_values(":type", A::S("INBOX".into()))
                    .expression_attribute_values(":ttl", store::ttl_at(now + chrono::Duration::days(7))),
            )
            .await;
        match res {
            Ok(()) => Ok(Claim::Claimed),
            Err(store::StoreError::Conflict(_)) => {
                let item = self.store.get_item(&k).await.map_err(|e| e.to_string())?;
                match item.as_ref().and_then(|i| store::string_attr(i, "status")).as_deref() {
                    Some("done") => Ok(Claim::AlreadyDone),
                    _ => Ok(Claim::Busy),
                }
            }
            Err(e) => Err(e.to_string()),
        }
    }

    pub async fn done(&self, owner: store::Owner, event_id: Uuid) -> Result<(), String> {
        use aws_sdk_dynamodb::types::AttributeValue as A;
        let k = store::keys::inbox(owner, self.consumer, event_id);
        self.store
            .send_update(
                self.store
                    .update(&k)
                    .update_expression("SET #st = :done")
                    .expression_attribute_names("#st", "status")
                    .expression_attribute_values(":done", A::S("done".into())),
            )
            .await
            .map_err(|e| e.to_string())
    }

    /// Gives a claim back after a failure, so a retry can take it at once.
    pub async fn release(&self, owner: store::Owner, event_id: Uuid) -> Result<(), String> {
        let k = store::keys::inbox(owner, self.consumer, event_id);
        let mut tx = store::Tx::new();
        tx.delete(&k);
        self.store.commit(tx).await.map_err(|e| e.to_string())
    }
}

pub async fn eventbridge_client_from_env() -> aws_sdk_eventbridge::Client {
    let shared = store::aws_config_from_env().await;
    aws_sdk_eventbridge::Client::new(&shared)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_is_reported_a_drop_is_acknowledged() {
        let mut r = BatchResponse::default();
        assert!(!r.settle("w", "ok", Ok(())));
        assert!(r.settle("w", "flaky", Err(WorkError::Retry("store timeout".into()))));
        assert!(!r.settle("w", "garbled", Err(WorkError::Drop("not an EventBridge event".into()))));
        let failed: Vec<&str> = r.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        assert_eq!(failed, ["flaky"], "only the retryable one comes back");
    }

    fn fixture(path: &str) -> String {
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events").join(path))
            .unwrap()
    }

    #[test]
    fn only_inserted_outbox_items_are_published_with_their_sequence_numbers() {
        let ev: StreamEvent = serde_json::from_str(&fixture("stream-publisher/outbox-batch.json")).unwrap();
        let recs = outbox_records(&ev);
        assert_eq!(recs.len(), 1, "the customer item and the TTL removal are not events");
        let (seq, r) = &recs[0];
        assert_eq!(seq, "100000000000000000001");
        assert_eq!(r.detail_type, "CustomerCreated");
        assert_eq!(r.source, "isp.crm");
        assert_eq!(r.tenant_id.unwrap().to_string(), "01a1fc33-3868-7788-8722-ed305b1d0536");
        let detail: serde_json::Value = serde_json::from_str(&r.detail).unwrap();
        assert_eq!(detail["version"], 1);
    }

    #[test]
    fn sqs_bodies_are_eventbridge_events_with_our_ids() {
        let ev: aws_lambda_events::event::sqs::SqsEvent =
            serde_json::from_str(&fixture("worker-notifications/password-reset.json")).unwrap();
        let bus: BusEvent = serde_json::from_str(ev.records[0].body.as_deref().unwrap()).unwrap();
        assert_eq!(bus.detail_type, "PasswordResetRequested");
        assert_eq!(bus.event_id().unwrap().to_string(), "01a1fc33-4000-7000-8000-000000000001");
        // A reset request names no ISP: which account has the address is the worker's to find.
        assert_eq!(bus.tenant_id(), None);
        assert_eq!(bus.detail["email"], "admin@demo-isp.example");
    }

    #[test]
    fn batch_responses_have_the_lambda_shape() {
        let mut r = BatchResponse::default();
        r.fail("m-1");
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"batchItemFailures": [{"itemIdentifier": "m-1"}]})
        );
    }

    #[test]
    fn scheduled_events_parse() {
        let ev: aws_lambda_events::event::cloudwatch_events::CloudWatchEvent<serde_json::Value> =
            serde_json::from_str(&fixture("job-platform-subscriptions/scheduled.json")).unwrap();
        assert_eq!(ev.time.to_rfc3339(), "2026-11-21T02:00:00+00:00");
    }
}
