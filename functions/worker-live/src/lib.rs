//! `worker-live`: pushes chosen events (`domain::push`: a router offline or back with the
//! dashboard's router counts, a payment received, a new ticket, an import's progress) to the
//! WebSocket connections of the ISP that owns them, through API Gateway's
//! Management API (`POST /@connections/{id}`), to each connection whose staff member may see it and
//! whose token has not expired. A connection that is gone is forgotten. A live update is a hint
//! (the screens read the truth from the API): a push that fails is logged, not retried, so a
//! redelivered event never reaches a connection twice for a failure elsewhere.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionError;
use domain::event::EventName;
use domain::work::WorkError;
use events::{BatchResponse, BusEvent};
use kernel::App;

/// At most this many pushes at once.
const PUSHES_IN_FLIGHT: usize = 32;

pub struct Worker {
    pub app: App,
    pub gateway: aws_sdk_apigatewaymanagement::Client,
}

impl Worker {
    /// `endpoint`: the WebSocket API's stage, `https://<api id>.execute-api.<region>.amazonaws.com/<stage>`
    /// (locally the runner's own address).
    pub fn new(app: App, config: &aws_config::SdkConfig, endpoint: &str) -> Worker {
        let conf = aws_sdk_apigatewaymanagement::config::Builder::from(config).endpoint_url(endpoint).build();
        Worker { app, gateway: aws_sdk_apigatewaymanagement::Client::from_conf(conf) }
    }
}

/// Whether this worker acts on the event (its queue's rule routes exactly these).
pub fn consumes(name: EventName) -> bool {
    domain::push::pushed(name)
}

/// The queue's `maxReceiveCount` (the template's): a failure at this receive is the last.
pub const DLQ_AFTER_RECEIVES: u32 = 5;

pub async fn handle(w: &Worker, event: SqsEvent) -> BatchResponse {
    let mut resp = BatchResponse::default();
    for m in &event.records {
        let id = m.message_id.clone().unwrap_or_default();
        resp.settle("worker-live", &id, handle_one(w, m).await);
    }
    kernel::alerts::raise_dead_letters(&w.app, "worker-live", &resp.last_failures(&event, DLQ_AFTER_RECEIVES)).await;
    resp
}

/// What one event's push did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pushed {
    pub sent: usize,
    pub gone: usize,
    pub failed: usize,
}

async fn handle_one(w: &Worker, m: &SqsMessage) -> Result<(), WorkError> {
    let ev: BusEvent = serde_json::from_str(m.body.as_deref().unwrap_or(""))
        .map_err(|e| WorkError::Drop(format!("not an EventBridge event: {e}")))?;
    let name = EventName::parse(&ev.detail_type).filter(|n| consumes(*n));
    let Some(name) = name else { return Err(WorkError::Drop(format!("unexpected event {}", ev.detail_type))) };
    let tenant = ev.tenant_id().ok_or_else(|| WorkError::Drop(format!("{} without tenant_id", ev.detail_type)))?;
    let Some(message) = domain::push::message_for(name, &ev.detail) else {
        return Err(WorkError::Drop(format!("{} without what its message needs", ev.detail_type)));
    };
    let p = push(w, tenant, &message).await?;
    tracing::info!(event = %ev.detail_type, sent = p.sent, gone = p.gone, failed = p.failed, "pushed");
    // The dashboard's router counts moved with it (committed in the same transaction).
    if domain::push::moves_router_counts(name) {
        let counts = kernel::projections::dashboard::isp_router_counts(&w.app, tenant).await?;
        push_counts(w, tenant, counts, domain::push::router_counts).await?;
    }
    if domain::push::moves_customer_counts(name) {
        let counts = kernel::projections::dashboard::isp_customer_counts(&w.app, tenant).await?;
        push_counts(w, tenant, counts, domain::push::customer_counts).await?;
    }
    Ok(())
}

/// Pushes the dashboard's `counts` as `message` makes them (the routers' or the customers').
async fn push_counts<T: serde::Serialize>(
    w: &Worker,
    tenant: uuid::Uuid,
    counts: T,
    message: fn(uuid::Uuid, chrono::DateTime<chrono::Utc>, serde_json::Value) -> domain::push::LiveMessage,
) -> Result<(), WorkError> {
    let counts = serde_json::to_value(&counts).map_err(|e| WorkError::Drop(e.to_string()))?;
    push(w, tenant, &message(tenant, w.app.now(), counts)).await.map(|_| ())
}

/// Pushes `message` to the ISP's connections that may receive it now.
pub async fn push(w: &Worker, tenant: uuid::Uuid, message: &domain::push::LiveMessage) -> Result<Pushed, WorkError> {
    use futures::StreamExt;
    let now = w.app.now();
    let targets: Vec<domain::push::Connection> = kernel::sockets::connections(&w.app, tenant)
        .await?
        .into_iter()
        .filter(|c| message.for_connection(c, tenant, now))
        .collect();
    let data = message.body.to_string();
    let gateway = &w.gateway;
    let outcomes: Vec<(domain::push::Connection, bool, Option<String>)> = futures::stream::iter(targets)
        .map(|c| {
            let data = data.clone();
            async move {
                let sent = gateway
                    .post_to_connection()
                    .connection_id(c.connection_id.clone())
                    .data(aws_smithy_types::Blob::new(data.into_bytes()))
                    .send()
                    .await;
                match sent {
                    Ok(_) => (c, true, None),
                    Err(e) if matches!(e.as_service_error(), Some(PostToConnectionError::GoneException(_))) => {
                        (c, false, None)
                    }
                    Err(e) => {
                        (c, false, Some(aws_sdk_apigatewaymanagement::error::DisplayErrorContext(&e).to_string()))
                    }
                }
            }
        })
        .buffer_unordered(PUSHES_IN_FLIGHT)
        .collect()
        .await;
    let mut p = Pushed::default();
    for (c, sent, error) in outcomes {
        match (sent, error) {
            (true, _) => p.sent += 1,
            (false, None) => {
                p.gone += 1;
                if let Err(e) = kernel::sockets::forget(&w.app, Some(tenant), &c.connection_id).await {
                    tracing::warn!(error = %e, "a gone connection was not forgotten");
                }
            }
            (false, Some(e)) => {
                p.failed += 1;
                tracing::warn!(error = %e, "a push failed");
            }
        }
    }
    Ok(p)
}
