//! `worker-provisioning`: the provisioning queue's consumer. Each message names subscriptions or
//! routers to converge (EventBridge events routed by the provisioning rule); the desired state is
//! read from the table, never from the message, so order and duplicates do not matter. All the
//! batch's messages for one router share one connection and one pipelined run. Failures are
//! reported per message and retried with exponential backoff (the message's visibility is
//! stretched), ending in the dead-letter queue and its alarm.
//!
//! The same function answers live router operations (test connection, sessions...) that API
//! functions invoke synchronously: it alone sits in the routers' VPC.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use domain::live::LiveRequest;
use domain::work::WorkError;
use events::{BatchResponse, BusEvent};
use kernel::App;
use provisioning::pool::RouterPool;
use provisioning::worker::{Work, work_for};

/// The queue's `maxReceiveCount` (the template's): a failure at this receive is the last.
pub const DLQ_AFTER_RECEIVES: u32 = 8;

/// Backoff for failed messages: visibility of `base * 2^(receives-1)` seconds, at most 15 min.
#[derive(Clone)]
pub struct Retry {
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub base_seconds: i32,
}

impl Retry {
    pub fn from_env(sqs: aws_sdk_sqs::Client) -> Option<Retry> {
        let queue_url = std::env::var("PROVISIONING_QUEUE_URL").ok()?;
        let base_seconds = std::env::var("RETRY_BASE_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
        Some(Retry { sqs, queue_url, base_seconds })
    }

    pub fn delay_seconds(&self, receive_count: u32) -> i32 {
        let exp = receive_count.saturating_sub(1).min(10);
        (self.base_seconds.saturating_mul(1 << exp)).min(900)
    }
}

pub struct Worker {
    pub app: App,
    /// Router sessions kept across batches; counts connections and commands.
    pub routers: RouterPool,
    pub retry: Option<Retry>,
}

impl Worker {
    pub fn new(app: App, retry: Option<Retry>) -> Self {
        Worker { app, routers: RouterPool::default(), retry }
    }

    /// One invocation: an SQS batch (it has `Records`), or a live operation from an API function.
    pub async fn invoke(&self, payload: serde_json::Value) -> Result<serde_json::Value, String> {
        if payload.get("Records").is_some() {
            let event: SqsEvent = serde_json::from_value(payload).map_err(|e| format!("not an SQS batch: {e}"))?;
            serde_json::to_value(self.handle(event).await).map_err(|e| e.to_string())
        } else {
            let request: LiveRequest =
                serde_json::from_value(payload).map_err(|e| format!("not a live router operation: {e}"))?;
            let answer = provisioning::answer::answer(&self.app, &self.routers, request).await;
            serde_json::to_value(answer).map_err(|e| e.to_string())
        }
    }

    pub async fn handle(&self, event: SqsEvent) -> BatchResponse {
        let mut resp = BatchResponse::default();
        let mut work = Vec::new();
        for m in &event.records {
            let id = m.message_id.clone().unwrap_or_default();
            match parse(m) {
                Ok(w) => work.push((id, w)),
                // Malformed or naming no work: retrying cannot help; recorded and acknowledged.
                Err(e) => {
                    resp.settle("worker-provisioning", &id, Err(e));
                }
            }
        }
        let results = provisioning::worker::process(&self.app, &self.routers, &work).await;
        for m in &event.records {
            let id = m.message_id.clone().unwrap_or_default();
            if let Some(Err(e)) = results.get(&id)
                && resp.settle("worker-provisioning", &id, Err(e.clone()))
            {
                self.back_off(m).await;
            }
        }
        let last = resp.last_failures(&event, DLQ_AFTER_RECEIVES);
        kernel::alerts::raise_dead_letters(&self.app, "worker-provisioning", &last).await;
        tracing::info!(
            messages = event.records.len(),
            failed = resp.batch_item_failures.len(),
            router_connections = self.routers.stats().connections(),
            router_commands = self.routers.stats().commands(),
            "provisioning batch done"
        );
        resp
    }

    async fn back_off(&self, m: &SqsMessage) {
        let (Some(retry), Some(handle)) = (&self.retry, &m.receipt_handle) else { return };
        let receives = m.attributes.get("ApproximateReceiveCount").and_then(|v| v.parse().ok()).unwrap_or(1);
        let delay = retry.delay_seconds(receives);
        if let Err(e) = retry
            .sqs
            .change_message_visibility()
            .queue_url(&retry.queue_url)
            .receipt_handle(handle)
            .visibility_timeout(delay)
            .send()
            .await
        {
            tracing::warn!(error = %e, "could not delay the retry; the queue's visibility timeout applies");
        }
    }
}

fn parse(m: &SqsMessage) -> Result<Work, WorkError> {
    let ev: BusEvent = serde_json::from_str(m.body.as_deref().unwrap_or(""))
        .map_err(|e| WorkError::Drop(format!("not an EventBridge event: {e}")))?;
    work_for(&ev.detail_type, &ev.detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let r = Retry {
            sqs: aws_sdk_sqs::Client::from_conf(
                aws_sdk_sqs::Config::builder().behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest()).build(),
            ),
            queue_url: String::new(),
            base_seconds: 10,
        };
        assert_eq!(r.delay_seconds(1), 10);
        assert_eq!(r.delay_seconds(2), 20);
        assert_eq!(r.delay_seconds(4), 80);
        assert_eq!(r.delay_seconds(30), 900);
    }
}
