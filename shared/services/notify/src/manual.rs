//! SMS that staff write: to one customer (`POST /v1/messages`), or to every customer of a filtered
//! set of subscriptions (a bulk action of the jobs context, which makes each row's message here).
//! The text may use the customer's placeholders, checked before anything is made. A message is
//! written `scheduled` for now, with a `MessagesDueRequested` for its ISP in the same transaction:
//! the notifications worker sends it within a second or two, at the ISP's send rate, with the
//! same tries and log as any other message.

use crate::config::{Loaded, load_config};
use crate::messages::Message;
use crate::send::stage_new;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use domain::actor::Actor;
use domain::customer::Customer;
use domain::event::{DomainEvent, MessagingEvent, TenantJobRequested};
use domain::role::Permission;
use domain::subscription::Subscription;
use domain::{Error, Result, Validation, ids};
use kernel::App;
use kernel::idempotency::{IdempotentRequest, Outcome, commit_create, record};
use kernel::support::{Audited, audit, load_tenant};
use messaging::encoding::shape;
use messaging::life::Medium;
use messaging::template::Template;
use serde::Deserialize;
use std::collections::BTreeMap;
use store::{Owner, Tx};
use uuid::Uuid;

/// What a text staff write may name.
pub const PLACEHOLDERS: &[&str] = &["isp_name", "customer_name", "username", "package", "expiry"];

/// At most this long (about 7 UCS-2 parts): a notice, not a newsletter.
const MAX_CHARS: usize = 480;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendSms {
    pub customer_id: Uuid,
    /// May use `{isp_name}`, `{customer_name}`, `{username}`, `{package}`, `{expiry}`.
    pub text: String,
}

/// Checks a text staff wrote (a 422 naming `field`).
pub fn check_text(field: &str, text: &str) -> Result<Template> {
    let mut v = Validation::new();
    if text.trim().is_empty() || text.chars().count() > MAX_CHARS {
        v.add(field, format!("must be 1-{MAX_CHARS} characters"));
    }
    let template = Template::parse(text, PLACEHOLDERS);
    if let Err(e) = &template {
        v.add(field, e.to_string());
    }
    v.finish()?;
    template.map_err(|e| Error::field(field, e.to_string()))
}

/// The ISP's configuration, with an SMS account to send through (else a 422 naming `field`).
pub async fn sms_ready(app: &App, tid: Uuid, field: &str) -> Result<Loaded> {
    let tenant = load_tenant(app, tid).await?;
    let loaded = load_config(app, &tenant).await?;
    if loaded.sms_channel().is_none() {
        return Err(Error::field(field, "the ISP has no active SMS account (add one at /v1/messaging/channels)"));
    }
    Ok(loaded)
}

/// A staff message to `customer`, ready to be staged (None: the customer has no phone).
pub fn customer_sms(
    loaded: &Loaded,
    template: &Template,
    id: Uuid,
    customer: &Customer,
    subscription: Option<&Subscription>,
    now: DateTime<Utc>,
) -> Option<Message> {
    if customer.phone.is_empty() {
        return None;
    }
    let channel = loaded.sms_channel()?;
    let tz: Tz = loaded.tenant.time_zone.parse().unwrap_or(Tz::UTC);
    let values: BTreeMap<&'static str, String> = PLACEHOLDERS
        .iter()
        .map(|p| {
            let v = match *p {
                "isp_name" => loaded.tenant.name.clone(),
                "customer_name" => customer.name.clone(),
                "username" => subscription.map_or_else(|| customer.username.clone(), |s| s.username.clone()),
                "package" => subscription.map(|s| s.package_name.clone()).unwrap_or_default(),
                _ => subscription
                    .and_then(|s| s.expires_at)
                    .map(|t| t.with_timezone(&tz).format("%d/%m/%Y %H:%M").to_string())
                    .unwrap_or_default(),
            };
            (*p, v)
        })
        .collect();
    let text = template.render(&values);
    let s = shape(&text);
    Some(Message {
        channel_id: Some(channel.channel.id),
        provider: channel.channel.provider.map(|p| p.as_str().to_string()),
        customer_id: Some(customer.id),
        scope: customer.scope.clone(),
        language: customer.language,
        encoding: Some(s.encoding),
        parts: s.parts,
        cost: channel.channel.price_per_part.map(|p| p * i64::from(s.parts)),
        ..Message::new(
            id,
            loaded.tenant.id,
            Medium::Sms,
            customer.phone.clone(),
            text,
            loaded.tenant.currency.clone(),
            now,
        )
    })
}

/// Asks the notifications worker to send the ISP's due messages now.
pub fn stage_release(tx: &mut Tx, tenant_id: Uuid, now: DateTime<Utc>) -> Result<()> {
    let detail =
        serde_json::to_value(TenantJobRequested::one(tenant_id, now)).map_err(|e| Error::Internal(e.to_string()))?;
    tx.put_event(&DomainEvent::new(MessagingEvent::MessagesDueRequested, Some(tenant_id), detail, now));
    Ok(())
}

/// Adds a staff message (its record and timeline entry) to a transaction.
pub fn stage_message(tx: &mut Tx, msg: &Message) -> Result<()> {
    stage_new(tx, msg).map_err(|e| Error::Internal(e.to_string()))
}

/// One SMS to one customer, sent within seconds.
pub async fn send_to_customer(
    app: &App,
    actor: &Actor,
    input: SendSms,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<Message>> {
    actor.require(Permission::CustomersWrite)?;
    let tid = actor.tenant()?;
    let template = check_text("text", &input.text)?;
    let customer = crm::customers::get_customer(app, actor, input.customer_id).await?;
    let loaded = sms_ready(app, tid, "customer_id").await?;
    let now = app.now();
    let msg = customer_sms(&loaded, &template, ids::new_id(), &customer, None, now)
        .ok_or_else(|| Error::field("customer_id", "the customer has no phone number"))?;
    crate::messages::mark_due(app, &[&msg]).await?;
    let mut tx = Tx::new();
    stage_message(&mut tx, &msg)?;
    stage_release(&mut tx, tid, now)?;
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "message.sent",
            entity: "message",
            id: msg.id.to_string(),
            before: None,
            after: Some(serde_json::json!({"customer_id": customer.id, "recipient": msg.recipient, "text": msg.text})),
        },
        now,
    ));
    let owner = Owner::Tenant(tid);
    if let Some(req) = idem {
        tx.put_idempotency(owner, &req.key_hash(actor.user_id), &record(req, 201, &msg, app)?);
    }
    commit_create(app, tx, owner, actor.user_id, idem, msg).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_texts_are_checked() {
        assert!(check_text("text", "Dear {customer_name}, your line {username} is back.").is_ok());
        for bad in ["", "   ", "Pay {amount} now", &"x".repeat(481)] {
            assert!(check_text("text", bad).is_err(), "{bad}");
        }
    }
}
