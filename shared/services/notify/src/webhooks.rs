//! Outgoing webhooks (`/v1/webhook-endpoints`): an ISP's own systems hear of its events (invoices,
//! payments, subscriptions, customers, alerts), signed per the Standard Webhooks convention with
//! the endpoint's secret (shown once; sealed at rest). A delivery is a message of the log
//! (medium `webhook`), one per event and endpoint, its id the `webhook-id` on every try, so a
//! receiver dedupes; a failed try is retried on the convention's schedule (5 s, 5 min, 30 min,
//! 2 h, 5 h, 10 h, 10 h), and an endpoint that has failed every delivery for a day is disabled.
//! Each delivery is listed per endpoint and may be replayed; a re-enabled endpoint can be sent
//! what it missed.

use crate::config::{Loaded, cached_config};
use crate::messages::Message;
use crate::send::{BusNotice, SEND_LEASE, Senders};
use chrono::{DateTime, SecondsFormat, Utc};
use domain::actor::Actor;
use domain::event::{BillingEvent, CrmEvent, EventName, MessagingEvent, NetworkEvent};
use domain::patch::Patch;
use domain::role::Permission;
use domain::work::WorkError;
use domain::{Error, Result, Validation, ids};
use kernel::App;
use kernel::idempotency::{IdempotentRequest, Outcome, commit_create, record};
use kernel::support::{Audited, StoreResultExt, attr, audit, decoded, expected_version, snapshot};
use messaging::life::{Medium, MessageStatus, endpoint_should_be_disabled, webhook_retry_after};
use messaging::webhook::{self, Attempt, EndpointClient};
use serde::{Deserialize, Serialize};
use store::{Conflict, Owner, Page, Query, Store, StoreError, Tx, keys};
use uuid::Uuid;

/// The events an endpoint may subscribe to: what an ISP's own systems act on.
pub const WEBHOOK_EVENTS: [EventName; 14] = [
    EventName::Crm(CrmEvent::CustomerCreated),
    EventName::Crm(CrmEvent::CustomerUpdated),
    EventName::Network(NetworkEvent::SubscriptionActivated),
    EventName::Network(NetworkEvent::SubscriptionSuspended),
    EventName::Network(NetworkEvent::SubscriptionRestored),
    EventName::Network(NetworkEvent::SubscriptionCancelled),
    EventName::Network(NetworkEvent::SubscriptionExpired),
    EventName::Network(NetworkEvent::SubscriptionPackageChanged),
    EventName::Network(NetworkEvent::SubscriptionExtended),
    EventName::Billing(BillingEvent::InvoiceIssued),
    EventName::Billing(BillingEvent::InvoicePaid),
    EventName::Billing(BillingEvent::InvoiceVoided),
    EventName::Billing(BillingEvent::PaymentReceived),
    EventName::Messaging(MessagingEvent::AlertRaised),
];

/// Whether endpoints may hear of this event.
pub fn webhook_event(name: EventName) -> bool {
    WEBHOOK_EVENTS.contains(&name)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndpointStatus {
    Active,
    /// By the ISP, or by the product after a day of failures (`disabled_reason` says which).
    Disabled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookEndpoint {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub url: String,
    pub description: Option<String>,
    /// Event names (`InvoiceIssued`, `PaymentReceived`...); the `type` of each delivery.
    pub events: Vec<String>,
    pub status: EndpointStatus,
    pub disabled_reason: Option<String>,
    /// Since when every delivery failed (None: the last one succeeded).
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

impl WebhookEndpoint {
    fn hears(&self, name: EventName) -> bool {
        self.status == EndpointStatus::Active && self.events.iter().any(|e| e == name.as_str())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndpointRecord {
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    secret_sealed: String,
}

impl store::Stored for EndpointRecord {
    const TYPE: &'static str = "WEBHOOKENDPOINT";
    fn keys(&self) -> store::ItemKeys {
        keys::webhook_endpoint(self.endpoint.tenant_id, self.endpoint.id)
    }
    fn version(&self) -> Option<u64> {
        Some(self.endpoint.version)
    }
}

fn aad(id: Uuid) -> String {
    format!("webhook-endpoint:{id}")
}

impl EndpointRecord {
    fn secret(&self, app: &App) -> Result<String> {
        let plain = app
            .secrets
            .open(&self.secret_sealed, aad(self.endpoint.id).as_bytes())
            .map_err(|_| Error::Internal("the endpoint's secret does not open".into()))?;
        String::from_utf8(plain).map_err(|_| Error::Internal("the endpoint's secret is not text".into()))
    }
}

/// An endpoint with its secret: answered once, when it is made or its secret is rotated.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    /// `whsec_...`: verify our `webhook-signature` with it (any Standard Webhooks library).
    pub secret: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEndpoint {
    pub url: String,
    pub description: Option<String>,
    pub events: Vec<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateEndpoint {
    pub url: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    pub events: Option<Vec<String>>,
    /// `active` enables a disabled endpoint again (its failures forgotten).
    pub status: Option<EndpointStatus>,
    pub version: Option<u64>,
}

fn check_url(v: &mut Validation, app: &App, url: &str) -> String {
    match outbound::checked_url(url, crate::settings::hosts(app)) {
        Ok(u) if u.len() <= 500 => u,
        Ok(_) => {
            v.add("url", "at most 500 characters");
            url.to_string()
        }
        Err(e) => {
            v.add("url", e.to_string());
            url.to_string()
        }
    }
}

fn check_events(v: &mut Validation, events: &[String]) -> Vec<String> {
    if events.is_empty() {
        v.add("events", "name at least one event");
    }
    let mut out: Vec<String> = vec![];
    for (i, e) in events.iter().enumerate() {
        match EventName::parse(e).filter(|n| webhook_event(*n)) {
            Some(n) if !out.iter().any(|o| o == n.as_str()) => out.push(n.as_str().to_string()),
            Some(_) => v.add(&format!("events[{i}]"), "is given twice"),
            None => v.add(
                &format!("events[{i}]"),
                format!("must be one of {}", WEBHOOK_EVENTS.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", ")),
            ),
        }
    }
    out
}

const MAX_ENDPOINTS: usize = 20;

pub async fn create_endpoint(
    app: &App,
    actor: &Actor,
    input: CreateEndpoint,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<EndpointWithSecret>> {
    actor.require(Permission::TenantSettingsWrite)?;
    let tid = actor.tenant()?;
    let loaded = fresh(app, tid).await?;
    let mut v = Validation::new();
    let url = check_url(&mut v, app, &input.url);
    let description = v.optional_text("description", input.description.as_deref(), 200);
    let events = check_events(&mut v, &input.events);
    if loaded.endpoints.len() >= MAX_ENDPOINTS {
        v.add("url", format!("an ISP has at most {MAX_ENDPOINTS} endpoints"));
    }
    v.finish()?;
    let now = app.now();
    let id = ids::new_id();
    let secret = webhook::new_secret();
    let endpoint = WebhookEndpoint {
        id,
        tenant_id: tid,
        url,
        description,
        events,
        status: EndpointStatus::Active,
        disabled_reason: None,
        failing_since: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let rec = EndpointRecord {
        endpoint: endpoint.clone(),
        secret_sealed: app.secrets.seal(secret.as_bytes(), aad(id).as_bytes()),
    };
    let mut tx = Tx::new();
    tx.put_new(Store::encode_stored(&rec).or_500()?, Conflict::Exists);
    tx.put_audit(&audited(actor, "webhook_endpoint.created", None, Some(&endpoint), now));
    let out = EndpointWithSecret { endpoint, secret };
    let owner = Owner::Tenant(tid);
    if let Some(req) = idem {
        tx.put_idempotency(owner, &req.key_hash(actor.user_id), &record(req, 201, &out, app)?);
    }
    let done = commit_create(app, tx, owner, actor.user_id, idem, out).await;
    crate::config::forget(tid);
    done
}

fn audited(
    actor: &Actor,
    action: &'static str,
    before: Option<&WebhookEndpoint>,
    after: Option<&WebhookEndpoint>,
    now: DateTime<Utc>,
) -> domain::audit::AuditEntry {
    let id = after.or(before).map(|e| e.id.to_string()).unwrap_or_default();
    audit(
        actor,
        actor.tenant_id,
        Audited { action, entity: "webhook_endpoint", id, before: before.map(snapshot), after: after.map(snapshot) },
        now,
    )
}

/// The configuration read now (not the worker's cached copy): what the API shows and checks.
async fn fresh(app: &App, tid: Uuid) -> Result<Loaded> {
    let tenant = kernel::support::load_tenant(app, tid).await?;
    crate::config::load_config(app, &tenant).await
}

pub async fn list_endpoints(app: &App, actor: &Actor) -> Result<Vec<WebhookEndpoint>> {
    actor.require(Permission::TenantSettingsRead)?;
    let loaded = fresh(app, actor.tenant()?).await?;
    Ok(loaded.endpoints.into_iter().map(|e| e.endpoint).collect())
}

async fn load_endpoint(app: &App, tid: Uuid, id: Uuid) -> Result<EndpointRecord> {
    decoded::<EndpointRecord>(app.store.get_item(&keys::webhook_endpoint(tid, id)).await.or_500()?)?
        .filter(|e| e.endpoint.tenant_id == tid)
        .ok_or_else(|| Error::not_found("webhook endpoint"))
}

pub async fn get_endpoint(app: &App, actor: &Actor, id: Uuid) -> Result<WebhookEndpoint> {
    actor.require(Permission::TenantSettingsRead)?;
    Ok(load_endpoint(app, actor.tenant()?, id).await?.endpoint)
}

pub async fn update_endpoint(
    app: &App,
    actor: &Actor,
    id: Uuid,
    input: UpdateEndpoint,
    if_match: Option<u64>,
) -> Result<WebhookEndpoint> {
    actor.require(Permission::TenantSettingsWrite)?;
    let tid = actor.tenant()?;
    let expected = expected_version(if_match, input.version)?;
    let rec = load_endpoint(app, tid, id).await?;
    let before = rec.endpoint.clone();
    let mut after = before.clone();
    let mut v = Validation::new();
    if let Some(u) = &input.url {
        after.url = check_url(&mut v, app, u);
    }
    match input.description.as_update() {
        None => {}
        Some(None) => after.description = None,
        Some(Some(d)) => after.description = v.optional_text("description", Some(d), 200),
    }
    if let Some(e) = &input.events {
        after.events = check_events(&mut v, e);
    }
    match input.status {
        Some(EndpointStatus::Active) if before.status == EndpointStatus::Disabled => {
            after.status = EndpointStatus::Active;
            after.disabled_reason = None;
            after.failing_since = None;
        }
        Some(EndpointStatus::Disabled) if before.status == EndpointStatus::Active => {
            after.status = EndpointStatus::Disabled;
            after.disabled_reason = Some("disabled by the ISP".into());
        }
        _ => {}
    }
    v.finish()?;
    if before.version != expected {
        return Err(Error::version_conflict());
    }
    let now = app.now();
    after.version += 1;
    after.updated_at = now;
    let mut tx = Tx::new();
    tx.put_versioned(
        Store::encode_stored(&EndpointRecord { endpoint: after.clone(), secret_sealed: rec.secret_sealed }).or_500()?,
        expected,
    );
    tx.put_audit(&audited(actor, "webhook_endpoint.updated", Some(&before), Some(&after), now));
    app.store.commit(tx).await.or_500()?;
    crate::config::forget(tid);
    Ok(after)
}

pub async fn delete_endpoint(app: &App, actor: &Actor, id: Uuid) -> Result<()> {
    actor.require(Permission::TenantSettingsWrite)?;
    let tid = actor.tenant()?;
    let rec = load_endpoint(app, tid, id).await?;
    let mut tx = Tx::new();
    tx.delete_existing(&keys::webhook_endpoint(tid, id), Conflict::Version);
    tx.put_audit(&audited(actor, "webhook_endpoint.deleted", Some(&rec.endpoint), None, app.now()));
    app.store.commit(tx).await.or_500()?;
    crate::config::forget(tid);
    Ok(())
}

/// A new secret, answered once; deliveries from now on are signed with it.
pub async fn rotate_secret(app: &App, actor: &Actor, id: Uuid) -> Result<EndpointWithSecret> {
    actor.require(Permission::TenantSettingsWrite)?;
    let tid = actor.tenant()?;
    let rec = load_endpoint(app, tid, id).await?;
    let before = rec.endpoint.clone();
    let mut after = before.clone();
    let now = app.now();
    after.version += 1;
    after.updated_at = now;
    let secret = webhook::new_secret();
    let mut tx = Tx::new();
    tx.put_versioned(
        Store::encode_stored(&EndpointRecord {
            endpoint: after.clone(),
            secret_sealed: app.secrets.seal(secret.as_bytes(), aad(id).as_bytes()),
        })
        .or_500()?,
        before.version,
    );
    tx.put_audit(&audited(actor, "webhook_endpoint.secret_rotated", Some(&before), Some(&after), now));
    app.store.commit(tx).await.or_500()?;
    crate::config::forget(tid);
    Ok(EndpointWithSecret { endpoint: after, secret })
}

/// The client for ISPs' endpoints, with the addresses this deployment lets them have.
pub fn endpoint_client(app: &App) -> std::result::Result<EndpointClient, String> {
    webhook::endpoint_client(crate::settings::hosts(app))
}

/// Posts a signed `ping` to the endpoint now and says what it answered (not logged, no retry).
pub async fn test_endpoint(app: &App, actor: &Actor, client: &EndpointClient, id: Uuid) -> Result<Attempt> {
    actor.require(Permission::TenantSettingsWrite)?;
    let rec = load_endpoint(app, actor.tenant()?, id).await?;
    let now = app.now();
    let body = serde_json::json!({"type": "ping", "timestamp": stamp(now), "data": {"endpoint_id": id}});
    let msg_id = format!("ping_{}", ids::new_id().simple());
    Ok(webhook::deliver(
        client,
        &rec.endpoint.url,
        &rec.secret(app)?,
        &msg_id,
        now.timestamp(),
        body.to_string().as_bytes(),
    )
    .await)
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// An endpoint's deliveries, newest first.
pub async fn list_deliveries(
    app: &App,
    actor: &Actor,
    id: Uuid,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<Message>> {
    actor.require(Permission::TenantSettingsRead)?;
    let tid = actor.tenant()?;
    load_endpoint(app, tid, id).await?;
    let q = Query::index("gsi2", keys::endpoint_deliveries_gsi2(tid, id)).newest_first().limit(limit);
    app.store.query_page(Owner::Tenant(tid), &format!("deliveries:{id}"), q, cursor).await.or_500()
}

/// Sends a delivery again (same `webhook-id`, so the receiver can tell), at once: a failed or
/// delivered one; one still being tried is already on its way.
pub async fn replay_delivery(app: &App, actor: &Actor, id: Uuid, delivery: Uuid) -> Result<Message> {
    actor.require(Permission::TenantSettingsWrite)?;
    let tid = actor.tenant()?;
    let rec = load_endpoint(app, tid, id).await?;
    if rec.endpoint.status != EndpointStatus::Active {
        return Err(Error::Conflict {
            code: "endpoint_disabled",
            detail: "enable the endpoint before replaying to it".into(),
            field: None,
        });
    }
    let before = decoded::<Message>(app.store.get_item(&keys::message_key(tid, delivery)).await.or_500()?)?
        .filter(|m| m.medium == Medium::Webhook && m.channel_id == Some(id))
        .ok_or_else(|| Error::not_found("delivery"))?;
    if !matches!(before.status, MessageStatus::Failed | MessageStatus::Delivered) {
        return Err(Error::Conflict {
            code: "delivery_in_progress",
            detail: format!("the delivery is {}; it is tried already", before.status.as_str()),
            field: None,
        });
    }
    let now = app.now();
    let mut after = before.clone();
    after.status = MessageStatus::Scheduled;
    after.send_at = now;
    // One more try, then the schedule's end: a replay is not a new day of retries.
    after.attempts = after.attempts.max(MANUAL_TRY_FROM);
    after.updated_at = now;
    after.version += 1;
    crate::messages::mark_due(app, &[&after]).await?;
    let mut tx = Tx::new();
    tx.put_versioned(Store::encode_stored(&after).or_500()?, before.version);
    app.store.commit(tx).await.or_500()?;
    Ok(after)
}

/// A replayed delivery counts as having used the schedule: one try, no retries after it.
const MANUAL_TRY_FROM: u32 = 8;

// ---- the worker's side ---------------------------------------------------------------------------

/// The deliveries of one event: one per active endpoint that hears it, made once (the message's
/// record is the claim), then tried at once.
pub(crate) async fn on_event(app: &App, senders: &Senders, ev: &BusNotice<'_>) -> std::result::Result<(), WorkError> {
    let loaded = cached_config(app, ev.tenant_id).await.map_err(WorkError::from)?;
    for rec in loaded.endpoints.iter().filter(|e| e.endpoint.hears(ev.name)) {
        let ep = &rec.endpoint;
        let body = serde_json::json!({"type": ev.name.as_str(), "timestamp": stamp(ev.at), "data": ev.detail});
        let now = app.now();
        let id = messaging::life::message_id(ev.event_id, ev.at, &ep.id.to_string(), Medium::Webhook);
        let msg = Message {
            event_id: Some(ev.event_id),
            channel_id: Some(ep.id),
            customer_id: ev.detail.get("customer_id").and_then(|v| v.as_str()).and_then(|s| s.parse().ok()),
            status: MessageStatus::Sending,
            send_at: now + SEND_LEASE,
            // The event's time, so the delivery sorts where its cause does.
            created_at: ev.at,
            ..Message::new(
                id,
                ev.tenant_id,
                Medium::Webhook,
                ep.url.clone(),
                body.to_string(),
                loaded.tenant.currency.clone(),
                now,
            )
        };
        crate::messages::mark_due(app, &[&msg]).await.map_err(retry)?;
        let mut tx = Tx::new();
        tx.put_new(Store::encode_stored(&msg).map_err(retry)?, Conflict::Exists);
        match app.store.commit(tx).await {
            Ok(()) => deliver_and_record(app, &senders.webhooks, msg, Some(rec)).await?,
            Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(retry(e)),
        }
    }
    Ok(())
}

fn retry(e: impl std::fmt::Display) -> WorkError {
    WorkError::Retry(e.to_string())
}

/// Tries a delivery this worker holds (`sending`) and records what came of it, on the message
/// and on the endpoint's health.
pub(crate) async fn deliver_and_record(
    app: &App,
    client: &EndpointClient,
    msg: Message,
    endpoint: Option<&EndpointRecord>,
) -> std::result::Result<(), WorkError> {
    let now = app.now();
    let usable = endpoint.filter(|e| e.endpoint.status == EndpointStatus::Active);
    let attempt = match usable {
        None => None,
        Some(e) => {
            let secret = e.secret(app).map_err(WorkError::from)?;
            Some(
                webhook::deliver(
                    client,
                    &e.endpoint.url,
                    &secret,
                    &msg.id.to_string(),
                    now.timestamp(),
                    msg.text.as_bytes(),
                )
                .await,
            )
        }
    };
    let after = delivery_outcome(now, msg, attempt.as_ref());
    crate::messages::mark_due(app, &[&after]).await.map_err(retry)?;
    let mut tx = Tx::new();
    tx.put_versioned(Store::encode_stored(&after).map_err(retry)?, after.version - 1);
    match app.store.commit(tx).await {
        Ok(()) | Err(StoreError::Conflict(_)) => {}
        Err(e) => return Err(retry(e)),
    }
    if let (Some(e), Some(a)) = (usable, &attempt) {
        record_health(app, &e.endpoint, a.delivered(), now).await?;
    }
    Ok(())
}

/// The delivery after a try (pure): delivered on a 2xx; else retried on the schedule, then failed.
pub(crate) fn delivery_outcome(now: DateTime<Utc>, mut msg: Message, attempt: Option<&Attempt>) -> Message {
    msg.version += 1;
    msg.updated_at = now;
    let Some(a) = attempt else {
        msg.status = MessageStatus::Failed;
        msg.error_code = Some("endpoint_disabled".into());
        msg.error_detail = Some("the endpoint is disabled or gone".into());
        return msg;
    };
    msg.attempts += 1;
    msg.delivery_report = Some(match a.status {
        Some(s) => format!("HTTP {s} in {} ms", a.took_ms),
        None => format!("no answer: {}", a.detail),
    });
    if a.delivered() {
        msg.status = MessageStatus::Delivered;
        msg.sent_at = Some(now);
        msg.delivered_at = Some(now);
        msg.error_code = None;
        msg.error_detail = None;
        return msg;
    }
    msg.error_code = Some(a.status.map_or_else(|| "no_answer".to_string(), |s| format!("http_{s}")));
    msg.error_detail = Some(a.detail.clone());
    match webhook_retry_after(msg.attempts) {
        Some(after) => {
            msg.status = MessageStatus::Scheduled;
            msg.send_at = now + chrono::Duration::from_std(after).unwrap_or(chrono::Duration::minutes(5));
        }
        None => msg.status = MessageStatus::Failed,
    }
    msg
}

/// Keeps the endpoint's `failing_since` (set on the first failure, cleared by a success) and
/// disables it once every delivery failed for a day. Conditional updates, not a versioned put:
/// many deliveries to one endpoint run at once, and none of them may undo an ISP's edit.
async fn record_health(
    app: &App,
    endpoint: &WebhookEndpoint,
    delivered: bool,
    now: DateTime<Utc>,
) -> std::result::Result<(), WorkError> {
    let k = keys::webhook_endpoint(endpoint.tenant_id, endpoint.id);
    let at = stamp(now);
    let req = app.store.update(&k).condition_expression("attribute_exists(pk)");
    let req = if delivered {
        if endpoint.failing_since.is_none() {
            return Ok(());
        }
        req.update_expression("REMOVE failing_since")
    } else if endpoint_should_be_disabled(endpoint.failing_since, now) {
        tracing::warn!(endpoint = %endpoint.id, url = %endpoint.url, "webhook endpoint disabled after a day of failures");
        req.update_expression("SET #status = :disabled, disabled_reason = :reason, updated_at = :now")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":disabled", attr(&"disabled"))
            .expression_attribute_values(":reason", attr(&"every delivery failed for a day"))
            .expression_attribute_values(":now", attr(&at))
    } else if endpoint.failing_since.is_none() {
        // The first failure of a run (a record written whole holds a NULL here, not nothing).
        req.update_expression("SET failing_since = :now")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(failing_since) OR attribute_type(failing_since, :null))",
            )
            .expression_attribute_values(":now", attr(&at))
            .expression_attribute_values(":null", attr(&"NULL"))
    } else {
        return Ok(());
    };
    match app.store.send_update(req).await {
        Ok(()) | Err(StoreError::Conflict(_)) => {}
        Err(e) => return Err(retry(e)),
    }
    crate::config::forget(endpoint.tenant_id);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(now: DateTime<Utc>) -> Message {
        serde_json::from_value(serde_json::json!({
            "id": Uuid::nil(), "tenant_id": Uuid::nil(), "notice": null, "event_id": null, "medium": "webhook",
            "channel_id": Uuid::nil(), "provider": null, "customer_id": null, "scope": null,
            "recipient": "https://isp.example/hooks", "language": null, "text": "{}", "encoding": null,
            "parts": 1, "cost": null, "currency": "BDT", "provider_cost": null, "status": "sending",
            "send_at": now, "attempts": 0, "unknown_attempts": 0, "provider_message_id": null,
            "error_code": null, "error_detail": null, "sent_at": null, "delivered_at": null,
            "created_at": now, "updated_at": now, "version": 1
        }))
        .unwrap()
    }

    #[test]
    fn a_failing_endpoint_is_retried_on_the_schedule_then_given_up() {
        let now: DateTime<Utc> = "2026-06-15T06:00:00Z".parse().unwrap();
        let failed = Attempt { status: Some(500), took_ms: 12, detail: "oops".into() };
        let mut m = delivery(now);
        let mut waits = vec![];
        for _ in 0..8 {
            m.status = MessageStatus::Sending;
            m = delivery_outcome(now, m, Some(&failed));
            if m.status == MessageStatus::Scheduled {
                waits.push((m.send_at - now).num_seconds());
            }
        }
        assert_eq!(waits, [5, 300, 1800, 7200, 18_000, 36_000, 36_000]);
        assert_eq!((m.status, m.attempts, m.error_code.as_deref()), (MessageStatus::Failed, 8, Some("http_500")));
        let ok = Attempt { status: Some(204), took_ms: 3, detail: String::new() };
        let d = delivery_outcome(now, delivery(now), Some(&ok));
        assert_eq!(
            (d.status, d.delivered_at, d.delivery_report.as_deref()),
            (MessageStatus::Delivered, Some(now), Some("HTTP 204 in 3 ms"))
        );
        let gone = delivery_outcome(now, delivery(now), None);
        assert_eq!((gone.status, gone.error_code.as_deref()), (MessageStatus::Failed, Some("endpoint_disabled")));
    }

    #[test]
    fn only_the_catalogue_may_be_subscribed() {
        let mut v = Validation::new();
        let events = check_events(&mut v, &["InvoiceIssued".into(), "PaymentReceived".into()]);
        assert_eq!(events, ["InvoiceIssued", "PaymentReceived"]);
        assert!(v.finish().is_ok());
        let mut v = Validation::new();
        check_events(&mut v, &["PasswordResetRequested".into(), "InvoiceIssued".into(), "InvoiceIssued".into()]);
        assert!(v.finish().is_err());
        for n in WEBHOOK_EVENTS {
            assert!(webhook_event(n));
        }
        assert!(!webhook_event(EventName::Identity(domain::event::IdentityEvent::PasswordResetRequested)));
    }
}
