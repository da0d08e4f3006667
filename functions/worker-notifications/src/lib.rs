//! `worker-notifications`: consumes the notifications queue. Subscriber and staff notices (invoice
//! issued, reminders, payment received, suspended and restored, router offline and back) become
//! messages through `notify`, one per event, recipient and medium (the message record is the
//! once-only claim); e-mails to staff and platform resellers (password reset, contact change,
//! platform subscription) are handled once per event id. Failures are reported per message so
//! only they are retried, and after the queue's limit they land in its dead-letter queue.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use domain::event::{
    ContactDetailsChanged, EventName, EventPayload, IdentityEvent, MessagingEvent, PasswordResetRequested,
    PlatformEvent, PlatformSubscriptionNotice, TenantJobRequested,
};
use domain::work::WorkError;
use events::{BatchResponse, BusEvent, Claim, Inbox};
use kernel::App;
use messaging::{Channel, Medium, Message};
use store::Owner;

pub const CONSUMER: &str = "notifications";

/// What this worker sends for an event. Exhaustive over the contexts it hears from (a new event
/// there must be placed here); the others' events are never this worker's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Notice {
    PasswordReset,
    ContactDetailsChanged,
    SubscriptionExpiring,
    SubscriptionExpired,
}

fn notice(name: EventName) -> Option<Notice> {
    use IdentityEvent as I;
    use PlatformEvent as P;
    match name {
        EventName::Identity(I::PasswordResetRequested) => Some(Notice::PasswordReset),
        EventName::Identity(I::ContactDetailsChanged) => Some(Notice::ContactDetailsChanged),
        EventName::Platform(P::PlatformSubscriptionExpiring) => Some(Notice::SubscriptionExpiring),
        EventName::Platform(P::PlatformSubscriptionExpired) => Some(Notice::SubscriptionExpired),
        EventName::Identity(
            I::UserCreated
            | I::UserUpdated
            | I::UserDeleted
            | I::PasswordChanged
            | I::PasswordResetCompleted
            | I::ImpersonationStarted,
        )
        | EventName::Platform(
            P::PlatformResellerCreated
            | P::PlatformResellerUpdated
            | P::PlatformPurchasePaid
            | P::TenantCreated
            | P::TenantUpdated
            | P::TenantSuspended
            | P::TenantResumed,
        )
        | EventName::Crm(_)
        | EventName::Network(_)
        | EventName::Billing(_)
        | EventName::Messaging(_) => None,
    }
}

/// Whether this worker acts on the event (its queue's rule must route exactly these).
pub fn consumes(name: EventName) -> bool {
    notice(name).is_some() || notify::send::consumes(name) || is_release(name)
}

fn is_release(name: EventName) -> bool {
    name == EventName::Messaging(MessagingEvent::MessagesDueRequested)
}

/// Where staff e-mails go: SES in AWS (`SES_FROM_ADDRESS`), the log without one.
pub enum StaffMail {
    Ses(messaging::email::SesMailer),
    Log(messaging::LogChannel),
}

impl Channel for StaffMail {
    async fn send(&self, m: &Message) -> Result<(), WorkError> {
        match self {
            StaffMail::Ses(s) => s.send(m).await,
            StaffMail::Log(l) => l.send(m).await,
        }
    }
}

pub struct Worker<C: Channel> {
    pub app: App,
    /// Where e-mails to staff go.
    pub channel: C,
    /// The SMS providers' and Telegram's clients.
    pub senders: notify::send::Senders,
}

pub async fn handle<C: Channel>(w: &Worker<C>, event: SqsEvent) -> BatchResponse {
    let mut resp = BatchResponse::default();
    // The batch's notices are made together: their records read, their messages claimed and
    // their outcomes written in shared requests.
    let mut notices: Vec<(String, BusEvent)> = vec![];
    for m in &event.records {
        let id = m.message_id.clone().unwrap_or_default();
        match read(m) {
            Ok(ev) if EventName::parse(&ev.detail_type).is_some_and(notify::send::consumes) => notices.push((id, ev)),
            Ok(ev) => {
                resp.settle("worker-notifications", &id, handle_one(w, &ev).await);
            }
            Err(e) => {
                resp.settle("worker-notifications", &id, Err(e));
            }
        }
    }
    let mut ready = vec![];
    for (id, ev) in &notices {
        match bus_notice(ev) {
            Ok(n) => ready.push((id, n)),
            Err(e) => {
                resp.settle("worker-notifications", id, Err(e));
            }
        }
    }
    if !ready.is_empty() {
        let batch: Vec<notify::send::BusNotice<'_>> = ready.iter().map(|(_, n)| n.clone()).collect();
        // Boxed: the future is deep, and its layout would otherwise be computed into `main`.
        let results = Box::pin(notify::send::on_events(&w.app, &w.senders, &batch)).await;
        for ((id, _), result) in ready.iter().zip(results) {
            resp.settle("worker-notifications", id, result);
        }
    }
    let last = resp.last_failures(&event, DLQ_AFTER_RECEIVES);
    kernel::alerts::raise_dead_letters(&w.app, "worker-notifications", &last).await;
    resp
}

/// The queue's `maxReceiveCount` (the template's): a failure at this receive is the last.
pub const DLQ_AFTER_RECEIVES: u32 = 5;

fn read(m: &SqsMessage) -> Result<BusEvent, WorkError> {
    serde_json::from_str(m.body.as_deref().unwrap_or(""))
        .map_err(|e| WorkError::Drop(format!("not an EventBridge event: {e}")))
}

/// An event the notify context makes messages of, as it reads it.
fn bus_notice(ev: &BusEvent) -> Result<notify::send::BusNotice<'_>, WorkError> {
    let name = EventName::parse(&ev.detail_type).ok_or_else(|| WorkError::Drop("unknown event".into()))?;
    let event_id = ev.event_id().ok_or_else(|| WorkError::Drop("event without event_id".into()))?;
    let tenant_id = ev.tenant_id().ok_or_else(|| WorkError::Drop("a notice without tenant".into()))?;
    let at = ev.occurred_at().ok_or_else(|| WorkError::Drop("event without time".into()))?;
    Ok(notify::send::BusNotice { name, event_id, at, tenant_id, detail: &ev.detail })
}

async fn handle_one<C: Channel>(w: &Worker<C>, ev: &BusEvent) -> Result<(), WorkError> {
    let event_id = ev.event_id().ok_or_else(|| WorkError::Drop("event without event_id".into()))?;
    if EventName::parse(&ev.detail_type).is_some_and(is_release) {
        // Idempotent by itself: a message is claimed before it is sent.
        // A page of ISPs (the 5-minute job) or one (a staff message to send now).
        let job = TenantJobRequested::read(&ev.detail).map_err(WorkError::Drop)?;
        if job.tenants().is_empty() {
            return Err(WorkError::Drop("MessagesDueRequested names no ISP".into()));
        }
        let app = &w.app;
        let senders = &w.senders;
        let at = job.requested_at;
        let done = kernel::schedule::each_tenant(app, MessagingEvent::MessagesDueRequested, &job, 16, |t| async move {
            let report = Box::pin(notify::send::release_due(app, senders, t, at))
                .await
                .map_err(|e| domain::Error::Internal(e.to_string()))?;
            tracing::info!(tenant = %t, ?report, "due messages released");
            Ok(())
        })
        .await;
        return done.map_err(WorkError::from);
    }
    let owner = Owner::from_tenant(ev.tenant_id());
    let inbox = Inbox { store: &w.app.store, consumer: CONSUMER };
    match inbox.claim(owner, event_id, w.app.now()).await.map_err(WorkError::Retry)? {
        Claim::AlreadyDone => return Ok(()),
        Claim::Busy => return Err(WorkError::Retry("another copy is being handled".into())),
        Claim::Claimed => {}
    }
    match deliver(w, ev).await {
        Ok(()) => inbox.done(owner, event_id).await.map_err(WorkError::Retry),
        Err(e) => {
            inbox.release(owner, event_id).await.ok();
            Err(e)
        }
    }
}

async fn deliver<C: Channel>(w: &Worker<C>, ev: &BusEvent) -> Result<(), WorkError> {
    let Some(notice) = EventName::parse(&ev.detail_type).and_then(notice) else {
        // Nothing to send for it: acknowledged (a retry could never send anything either).
        tracing::warn!(detail_type = %ev.detail_type, "no notification for this event");
        return Ok(());
    };
    match notice {
        Notice::PasswordReset => {
            let request = PasswordResetRequested::read(&ev.detail).map_err(WorkError::Drop)?;
            let event_id = ev.event_id().ok_or_else(|| WorkError::Drop("event without event_id".into()))?;
            // No active account at the address, or a request older than a code's life: nothing to send.
            let Some((reset, token)) = identity::auth::issue_password_reset(&w.app, event_id, &request).await? else {
                return Ok(());
            };
            w.channel
                .send(&Message {
                    medium: Medium::Email,
                    to: reset.email.clone(),
                    subject: "Reset your password".into(),
                    body: format!(
                        "Hello {},\n\nUse this code to set a new password within 30 minutes:\n\n{token}\n\n\
                         If you did not ask for it, ignore this message.",
                        reset.name
                    ),
                    dedupe_key: format!("password-reset:{}", reset.id),
                })
                .await
        }
        Notice::ContactDetailsChanged => {
            let c = ContactDetailsChanged::read(&ev.detail).map_err(WorkError::Drop)?;
            let what = match (c.email_changed, c.phone_changed) {
                (true, true) => "e-mail address and phone number",
                (true, false) => "e-mail address",
                _ => "phone number",
            };
            let by = if c.changed_by == c.user_id { "from your own login" } else { "by another user of your ISP" };
            w.channel
                .send(&Message {
                    medium: Medium::Email,
                    to: c.old_email.clone(),
                    subject: format!("The {what} of your account was changed"),
                    body: format!(
                        "Hello {},\n\nThe {what} of your account was changed {by}. Password reset codes now go \
                         to the new details.\n\nIf you did not expect this, tell your ISP's administrator at once.",
                        c.name
                    ),
                    dedupe_key: format!("contact-changed:{}", ev.event_id().unwrap_or_default()),
                })
                .await
        }
        Notice::SubscriptionExpiring | Notice::SubscriptionExpired => {
            let rid = PlatformSubscriptionNotice::read(&ev.detail).map_err(WorkError::Drop)?.reseller_id;
            let Some(r) = identity::platform::load_reseller(&w.app, rid).await? else {
                return Ok(());
            };
            let date = r.subscription_expires_at.format("%Y-%m-%d %H:%M UTC");
            let (subject, body) = if notice == Notice::SubscriptionExpired {
                (
                    "Your platform subscription has expired".to_string(),
                    format!(
                        "Hello {},\n\nYour subscription ended on {date}. Your ISPs' staff can no longer use the \
                         system (their subscribers keep their internet). Renew to restore access.",
                        r.name
                    ),
                )
            } else {
                (
                    "Your platform subscription ends soon".to_string(),
                    format!(
                        "Hello {},\n\nYour subscription ends on {date}. Renew before then so your ISPs' \
                         staff keep their access.",
                        r.name
                    ),
                )
            };
            w.channel
                .send(&Message {
                    medium: Medium::Email,
                    to: r.email.clone(),
                    subject,
                    body,
                    dedupe_key: format!("{}:{rid}:{}", ev.detail_type, r.subscription_expires_at.to_rfc3339()),
                })
                .await
        }
    }
}
