//! The notifications worker's use cases. An event becomes at most one message per recipient and
//! medium, whose id comes from (event, recipient, medium): the message's record is written
//! before anything is sent, only if it does not exist, so a redelivered event finds it and sends
//! nothing. Then, unless the ISP's quiet hours or send rate hold it (it waits, `scheduled`, in
//! the due index), it is sent and its outcome recorded: accepted, failed for good, retried after
//! a backoff, or unknown (no answer: tried at most once more). [`release_due`] sends what has
//! come due, and finds sends that died half-way (still `sending` after their lease).

use crate::channels::ChannelRecord;
use crate::config::{Loaded, cached_config};
use crate::messages::{Message, sort_time};
use crate::settings::Recipient;
use crate::values::{Facts, values};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use domain::alert::{Alert, AlertKind, AlertRaised};
use domain::customer::Customer;
use domain::event::{BillingEvent, CrmEvent, EventName, EventPayload, MessagingEvent, NetworkEvent};
use domain::ledger::Account;
use domain::network::Pop;
use domain::subscription::Subscription;
use domain::work::WorkError;
use kernel::App;
use kernel::support::StoreResultExt;
use messaging::SendError;
use messaging::encoding::shape;
use messaging::life::{self, Medium, MessageStatus, Next};
use messaging::notices::Notice;
use messaging::schedule;
use messaging::sms::{SmsHttp, SmsRequest};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use store::{Conflict, Query, Store, StoreError, Tx, keys};
use uuid::Uuid;

/// How long a send may take before a message still `sending` is taken for one whose worker died.
pub const SEND_LEASE: Duration = Duration::minutes(5);
/// A wait for the send rate shorter than this is slept; a longer one schedules the message.
const SLEEP_AT_MOST: std::time::Duration = std::time::Duration::from_secs(2);

/// The clients the worker sends through, built once per process.
pub struct Senders {
    pub http: SmsHttp,
    /// E-mail through SES (None: this process sends none; such messages fail as refused).
    #[cfg(feature = "email")]
    pub email: Option<messaging::email::SesMailer>,
    /// For ISPs' webhook endpoints (every address checked before it is posted to).
    pub webhooks: messaging::webhook::EndpointClient,
}

impl Senders {
    /// The clients, with the addresses this deployment lets endpoints have.
    pub fn new(app: &App) -> Result<Senders, String> {
        Ok(Senders {
            http: SmsHttp::new().map_err(|e| e.to_string())?,
            webhooks: crate::webhooks::endpoint_client(app)?,
            #[cfg(feature = "email")]
            email: None,
        })
    }

    /// With e-mail sent from `from` (an identity verified in SES) through the SDK's client.
    #[cfg(feature = "email")]
    pub async fn with_email(mut self, from: &str) -> Senders {
        let client = aws_sdk_sesv2::Client::new(&store::aws_config_from_env().await);
        self.email = Some(messaging::email::SesMailer::new(client, from));
        self
    }
}

/// An event as the worker reads it off the bus.
#[derive(Debug, Clone)]
pub struct BusNotice<'a> {
    pub name: EventName,
    pub event_id: Uuid,
    /// When the event happened (the same on every delivery).
    pub at: DateTime<Utc>,
    pub tenant_id: Uuid,
    pub detail: &'a Value,
}

/// What an event is about, as far as messages go.
#[derive(Debug, Clone, Default)]
struct Subject {
    customer_id: Option<Uuid>,
    subscription_id: Option<Uuid>,
    pop_id: Option<Uuid>,
    /// A staff alert the notice tells of (its record holds the facts).
    alert_id: Option<Uuid>,
    /// The invoice an e-mail attaches.
    invoice_id: Option<Uuid>,
    /// The customer's account (for the balance after a payment or the debt at a suspension).
    account: bool,
    /// A voucher whose login the notice sends (its batch and number).
    voucher: Option<(Uuid, u32)>,
    /// A phone the notice goes to directly (a voucher's buyer, who is no customer).
    to_phone: Option<String>,
    /// The operator a notice about its own business goes to.
    operator_id: Option<Uuid>,
    /// A portal login code asked for (the customer and the code are found when it is prepared).
    portal_code: Option<domain::event::PortalCodeRequested>,
    facts: Facts,
}

fn uuid(detail: &Value, field: &str) -> Option<Uuid> {
    detail.get(field).and_then(Value::as_str).and_then(|s| s.parse().ok())
}

fn string(detail: &Value, field: &str) -> Option<String> {
    detail.get(field).and_then(Value::as_str).map(str::to_string)
}

fn time(detail: &Value, field: &str) -> Option<DateTime<Utc>> {
    detail.get(field).and_then(Value::as_str).and_then(|s| s.parse().ok())
}

/// The notice an event makes, if any, and what it is about. Exhaustive over the events the
/// worker hears (a new one must be placed here).
fn notice_of(name: EventName, detail: &Value, at: DateTime<Utc>) -> Option<(Notice, Subject)> {
    use BillingEvent as B;
    use NetworkEvent as N;
    let currency = string(detail, "currency").unwrap_or_default();
    let invoice = |s: &mut Subject| {
        s.invoice_id = uuid(detail, "invoice_id");
        s.customer_id = uuid(detail, "customer_id");
        s.subscription_id = uuid(detail, "subscription_id");
        s.facts.invoice_number = string(detail, "number");
        s.facts.amount = detail.get("amount_due").and_then(Value::as_i64);
        s.facts.due_date = time(detail, "due_date");
        s.facts.currency = currency.clone();
    };
    let mut s = Subject::default();
    let notice = match name {
        EventName::Billing(B::InvoiceIssued) => {
            invoice(&mut s);
            // Paid at once from the customer's credit: nothing to ask for.
            if s.facts.amount.unwrap_or(0) <= 0 {
                return None;
            }
            Notice::InvoiceIssued
        }
        EventName::Billing(B::InvoiceReminderDue) => {
            invoice(&mut s);
            let offset = detail.get("offset_days").and_then(Value::as_i64).unwrap_or(0);
            s.facts.days = Some(offset);
            if offset > 0 { Notice::PaymentOverdue } else { Notice::PaymentReminder }
        }
        EventName::Billing(B::PaymentReceived) => {
            s.customer_id = uuid(detail, "customer_id");
            s.facts.amount = detail.get("amount").and_then(Value::as_i64);
            s.facts.receipt_number = string(detail, "receipt_number");
            s.facts.currency = currency;
            s.account = true;
            Notice::PaymentReceived
        }
        EventName::Network(N::SubscriptionSuspended) => {
            s.customer_id = uuid(detail, "customer_id");
            s.subscription_id = uuid(detail, "subscription_id");
            s.account = true;
            Notice::SubscriptionSuspended
        }
        EventName::Network(N::SubscriptionRestored) => {
            s.customer_id = uuid(detail, "customer_id");
            s.subscription_id = uuid(detail, "subscription_id");
            Notice::SubscriptionRestored
        }
        EventName::Billing(B::WalletLowBalance) => {
            let low = domain::event::WalletLowBalance::read(detail).ok()?;
            s.operator_id = Some(low.operator_id);
            s.facts.balance = Some(low.balance);
            s.facts.threshold = Some(low.threshold);
            s.facts.currency = low.currency;
            Notice::WalletLowBalance
        }
        EventName::Network(N::VoucherLoginRequested) => {
            let asked = domain::event::VoucherLoginRequested::read(detail).ok()?;
            s.voucher = Some((asked.batch_id, asked.seq));
            s.to_phone = Some(asked.phone);
            Notice::VoucherLogin
        }
        EventName::Crm(CrmEvent::PortalCodeRequested) => {
            s.portal_code = Some(domain::event::PortalCodeRequested::read(detail).ok()?);
            Notice::PasswordResetCode
        }
        EventName::Messaging(MessagingEvent::AlertRaised) => {
            let raised = AlertRaised::read(detail).ok()?;
            s.alert_id = Some(raised.alert_id);
            s.facts.since = Some(at);
            alert_notice(raised.kind)
        }
        _ => return None,
    };
    Some((notice, s))
}

/// Whether messages are made of this event: the notices [`notice_of`] reads and the events
/// webhook endpoints may hear.
pub fn consumes(name: EventName) -> bool {
    makes_notice(name) || crate::webhooks::webhook_event(name)
}

fn makes_notice(name: EventName) -> bool {
    use BillingEvent as B;
    use NetworkEvent as N;
    matches!(
        name,
        EventName::Billing(B::InvoiceIssued | B::InvoiceReminderDue | B::PaymentReceived | B::WalletLowBalance)
            | EventName::Network(N::SubscriptionSuspended | N::SubscriptionRestored | N::VoucherLoginRequested)
            | EventName::Messaging(MessagingEvent::AlertRaised)
            | EventName::Crm(CrmEvent::PortalCodeRequested)
    )
}

/// The staff notice an alert is told with.
pub fn alert_notice(kind: AlertKind) -> Notice {
    match kind {
        AlertKind::RouterOffline => Notice::RouterOffline,
        AlertKind::RouterBack => Notice::RouterOnline,
        AlertKind::ProvisioningFailed => Notice::ProvisioningFailed,
        AlertKind::GatewayFailing => Notice::GatewayAccountFailing,
        AlertKind::DeadLetter => Notice::WorkFailed,
        AlertKind::TicketEscalated => Notice::TicketEscalated,
        AlertKind::LowStock => Notice::LowStock,
        AlertKind::MonitoringProblem => Notice::MonitoringProblem,
        AlertKind::MonitoringRecovered => Notice::MonitoringRecovered,
    }
}

/// Reads the alert a notice tells of into its subject (the customer and POP it names are read
/// next, with the rest).
async fn read_alert(app: &App, tid: Uuid, s: &mut Subject) -> Result<bool, WorkError> {
    let Some(id) = s.alert_id else { return Ok(true) };
    let item = app.store.get_item(&keys::alert_key(tid, id)).await.map_err(retry)?;
    let Some(item) = item else { return Ok(false) };
    let alert: Alert = Store::decode(item).map_err(|e| WorkError::Drop(format!("alert: {e}")))?;
    let a = alert.subject;
    s.customer_id = a.customer_id;
    s.pop_id = a.pop_id;
    s.facts.since = Some(alert.raised_at);
    // A watched device is named where a router would be.
    s.facts.router_name = a.router_name.or(a.device_name);
    s.facts.username = a.username;
    s.facts.gateway = a.gateway;
    s.facts.account_name = a.account_name;
    s.facts.detail = alert.detail;
    Ok(true)
}

/// What the subject's records are (read with the rest of the batch's).
#[derive(Default)]
struct Records {
    customer: Option<Customer>,
    subscription: Option<Subscription>,
    account: Option<Account>,
    pop: Option<Pop>,
    voucher: Option<domain::voucher::Voucher>,
    voucher_batch: Option<domain::voucher::VoucherBatch>,
    operator: Option<domain::user::User>,
}

/// The records a subject needs, by what they are.
fn wanted(tid: Uuid, s: &Subject) -> Vec<(&'static str, store::ItemKeys)> {
    let mut wanted = vec![];
    if let Some(c) = s.customer_id {
        wanted.push(("customer", keys::customer(tid, c, None)));
        if let Some(sub) = s.subscription_id {
            wanted.push(("subscription", keys::subscription(tid, c, sub, None, None, None)));
        }
        if s.account {
            wanted.push(("account", keys::account(tid, c)));
        }
    }
    if let Some(p) = s.pop_id {
        wanted.push(("pop", keys::pop(tid, p, "")));
    }
    if let Some(op) = s.operator_id {
        wanted.push(("operator", keys::user(Some(tid), op)));
    }
    if let Some((batch, seq)) = s.voucher {
        wanted.push(("voucher", keys::voucher(tid, batch, seq, None)));
        wanted.push(("voucher_batch", keys::voucher_batch(tid, batch)));
    }
    wanted
}

type Fetched = HashMap<(String, String), store::Item>;

/// Reads every key of the batch at once (BatchGetItem, 100 keys a request).
async fn fetch(app: &App, keys: Vec<store::ItemKeys>) -> Result<Fetched, WorkError> {
    let mut unique: Vec<store::ItemKeys> = vec![];
    for k in keys {
        if !unique.iter().any(|u| u.pk == k.pk && u.sk == k.sk) {
            unique.push(k);
        }
    }
    if unique.is_empty() {
        return Ok(HashMap::new());
    }
    let got = app.store.batch_get_many(&unique.iter().collect::<Vec<_>>()).await.map_err(retry)?;
    Ok(unique.into_iter().zip(got).filter_map(|(k, item)| item.map(|i| ((k.pk, k.sk), i))).collect())
}

fn records(wanted: &[(&'static str, store::ItemKeys)], fetched: &Fetched) -> Result<Records, WorkError> {
    let mut out = Records::default();
    for (what, k) in wanted {
        let Some(item) = fetched.get(&(k.pk.clone(), k.sk.clone())).cloned() else { continue };
        let bad = |e: StoreError| WorkError::Drop(format!("{what}: {e}"));
        match *what {
            "customer" => {
                let rec: crm::customers::CustomerRecord = Store::decode(item).map_err(bad)?;
                out.customer = rec.deleted_at.is_none().then_some(rec.customer);
            }
            "subscription" => out.subscription = Some(Store::decode(item).map_err(bad)?),
            "account" => out.account = Some(Store::decode(item).map_err(bad)?),
            "voucher" => out.voucher = Some(Store::decode(item).map_err(bad)?),
            "voucher_batch" => out.voucher_batch = Some(Store::decode(item).map_err(bad)?),
            "operator" => {
                let rec: identity::users::UserRecord = Store::decode(item).map_err(bad)?;
                out.operator = Some(rec.user);
            }
            _ => out.pop = Some(Store::decode(item).map_err(bad)?),
        }
    }
    Ok(out)
}

fn retry(e: impl std::fmt::Display) -> WorkError {
    WorkError::Retry(e.to_string())
}

/// Who a notice names beyond a customer: a voucher buyer's phone, an operator.
struct Direct<'a> {
    phone: Option<&'a str>,
    operator: Option<&'a domain::user::User>,
}

/// One message to make: to whom, on what, through which account.
struct Outgoing<'a> {
    medium: Medium,
    to: String,
    channel: Option<&'a ChannelRecord>,
    language: domain::language::Language,
    /// Why it cannot be sent (no account, no phone): recorded as failed.
    refused: Option<(&'static str, String)>,
}

async fn recipients<'a>(
    app: &App,
    loaded: &'a Loaded,
    notice: Notice,
    customer: Option<&Customer>,
    direct: &Direct<'_>,
) -> Result<Vec<Outgoing<'a>>, WorkError> {
    let default_language = loaded.settings.default_language;
    let mut out = vec![];
    for r in loaded.settings.rules_for(notice) {
        let sms = loaded.sms_channel();
        let no_sms = || ("no_channel", "the ISP has no active SMS account and none is offered to it".to_string());
        // An SMS through the ISP's account (refused when it has none).
        let sms_to = |to: String, language| Outgoing {
            medium: Medium::Sms,
            to,
            channel: sms,
            language,
            refused: sms.is_none().then(no_sms),
        };
        match r {
            // A voucher's buyer is no customer: the notice goes to the phone it names.
            Recipient::Customer if customer.is_none() && direct.phone.is_some() => {
                out.push(sms_to(direct.phone.unwrap_or_default().to_string(), default_language))
            }
            Recipient::Customer => {
                let Some(c) = customer else { continue };
                out.push(sms_to(c.phone.clone(), c.language.unwrap_or(default_language)));
            }
            Recipient::CustomerEmail => {
                let Some(email) = customer.and_then(|c| c.email.clone()) else { continue };
                out.push(Outgoing {
                    medium: Medium::Email,
                    to: email,
                    channel: None,
                    language: customer.and_then(|c| c.language).unwrap_or(default_language),
                    refused: None,
                });
            }
            Recipient::Admins => {
                let admins = identity::users::active_admins(app, loaded.tenant.id).await.map_err(WorkError::from)?;
                for phone in admins.into_iter().filter_map(|u| u.phone) {
                    out.push(sms_to(phone, default_language));
                }
            }
            // A notice about the operator's own business: the operator it names.
            Recipient::Operator if customer.is_none() && direct.operator.is_some() => {
                let Some(phone) = direct.operator.and_then(|u| u.phone.clone()) else { continue };
                out.push(sms_to(phone, default_language));
            }
            Recipient::Operator => {
                let Some(op) = customer.and_then(|c| c.operator_id) else { continue };
                let user =
                    identity::users::load_user(app, Some(loaded.tenant.id), op).await.map_err(WorkError::from)?;
                let Some(phone) = user.and_then(|u| u.user.phone) else { continue };
                out.push(sms_to(phone, default_language));
            }
            Recipient::Telegram { channel_id, chat_id } => {
                let bot =
                    loaded.channel(*channel_id).filter(|c| c.channel.status == crate::channels::ChannelStatus::Active);
                out.push(Outgoing {
                    medium: Medium::Telegram,
                    to: chat_id.clone(),
                    channel: bot,
                    language: default_language,
                    refused: bot.is_none().then(|| ("no_channel", "the Telegram bot is disabled or gone".to_string())),
                });
            }
        }
    }
    Ok(out)
}

/// Makes and sends the messages of one event (nothing for an event already handled).
pub async fn on_event(app: &App, senders: &Senders, ev: &BusNotice<'_>) -> Result<(), WorkError> {
    on_events(app, senders, std::slice::from_ref(ev)).await.remove(0)
}

/// An event's notice, ready to be made into messages once its records are read.
struct Prepared {
    event: usize,
    notice: Notice,
    subject: Subject,
    loaded: Arc<Loaded>,
    wanted: Vec<(&'static str, store::ItemKeys)>,
}

/// A message made of an event, with the event it answers for.
struct Made {
    event: usize,
    msg: Message,
    loaded: Arc<Loaded>,
}

/// Makes and sends the messages of a batch of events (an SQS batch), one answer per event. The
/// batch's records are read together (one BatchGetItem), its new messages claimed together (one
/// transaction; one per message only when some already exist, a redelivery) and their outcomes
/// written together, so a message costs a fraction of a request beyond its two writes' share.
pub async fn on_events(app: &App, senders: &Senders, events: &[BusNotice<'_>]) -> Vec<Result<(), WorkError>> {
    let mut results: Vec<Result<(), WorkError>> = events.iter().map(|_| Ok(())).collect();
    let fail = |results: &mut Vec<Result<(), WorkError>>, i: usize, e: WorkError| {
        if results[i].is_ok() {
            results[i] = Err(e);
        }
    };
    // Webhook endpoints first: each delivery is claimed and tried on its own.
    for (i, ev) in events.iter().enumerate() {
        if crate::webhooks::webhook_event(ev.name)
            && let Err(e) = Box::pin(crate::webhooks::on_event(app, senders, ev)).await
        {
            fail(&mut results, i, e);
        }
    }
    let mut prepared = vec![];
    for (i, ev) in events.iter().enumerate() {
        match prepare(app, i, ev).await {
            Ok(Some(p)) => prepared.push(p),
            Ok(None) => {}
            Err(e) => fail(&mut results, i, e),
        }
    }
    let all_keys = prepared.iter().flat_map(|p| p.wanted.iter().map(|(_, k)| k.clone())).collect();
    let fetched = match fetch(app, all_keys).await {
        Ok(f) => f,
        Err(e) => {
            for p in &prepared {
                fail(&mut results, p.event, e.clone());
            }
            return results;
        }
    };
    let mut made = vec![];
    for p in prepared {
        let (event, loaded) = (p.event, p.loaded.clone());
        match make(app, &events[event], p, &fetched).await {
            Ok(msgs) => made.extend(msgs.into_iter().map(|msg| Made { event, msg, loaded: loaded.clone() })),
            Err(e) => fail(&mut results, event, e),
        }
    }
    for m in &mut made {
        // The send rate: a short wait is slept, a longer one schedules the message.
        if m.msg.status == MessageStatus::Sending {
            let wait = pace(m.loaded.tenant.id, m.loaded.settings.sends_per_minute);
            if wait > SLEEP_AT_MOST {
                m.msg.status = MessageStatus::Scheduled;
                m.msg.send_at = app.now() + Duration::from_std(wait).unwrap_or(Duration::minutes(1));
            } else if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
    }
    let claimed = claim_all(app, made, &mut results).await;
    let mut done = vec![];
    for m in claimed {
        if m.msg.status != MessageStatus::Sending {
            continue;
        }
        let channel = channel_of(&m.loaded, m.msg.channel_id);
        let result = send_one(app, senders, &m.msg, channel).await;
        let after = outcome(app.now(), m.msg, result);
        done.push(Made { event: m.event, msg: after, loaded: m.loaded });
    }
    record_all(app, done, &mut results).await;
    results
}

/// The account a message goes through: the ISP's own or one the platform offers.
fn channel_of(loaded: &Loaded, id: Option<Uuid>) -> Option<&ChannelRecord> {
    let id = id?;
    loaded.channel(id).or_else(|| loaded.platform_channels.iter().find(|c| c.channel.id == id))
}

/// The event's notice, its configuration and the keys of what it needs, if it makes messages.
async fn prepare(app: &App, event: usize, ev: &BusNotice<'_>) -> Result<Option<Prepared>, WorkError> {
    let Some((notice, mut subject)) = notice_of(ev.name, ev.detail, ev.at) else { return Ok(None) };
    let loaded = cached_config(app, ev.tenant_id).await.map_err(WorkError::from)?;
    if loaded.settings.rules_for(notice).next().is_none() {
        return Ok(None);
    }
    if !read_alert(app, ev.tenant_id, &mut subject).await? {
        return Err(WorkError::Drop("the alert is not in the table".into()));
    }
    if let Some(asked) = subject.portal_code.take() {
        // No live customer with that login, or asked too long ago: nothing to send.
        let Some((customer, code)) =
            crm::login_codes::issue(app, ev.tenant_id, ev.event_id, &asked).await.map_err(WorkError::from)?
        else {
            return Ok(None);
        };
        subject.customer_id = Some(customer);
        subject.facts.code = Some(code);
        subject.facts.minutes = Some(domain::portal::OTP_TTL.num_minutes());
    }
    let wanted = wanted(ev.tenant_id, &subject);
    Ok(Some(Prepared { event, notice, subject, loaded, wanted }))
}

/// The messages of one prepared event (none when its customer is gone).
async fn make(app: &App, ev: &BusNotice<'_>, p: Prepared, fetched: &Fetched) -> Result<Vec<Message>, WorkError> {
    let Prepared { notice, mut subject, loaded, wanted, .. } = p;
    let records = records(&wanted, fetched)?;
    if subject.customer_id.is_some() && records.customer.is_none() {
        // Deleted meanwhile (or never this ISP's): no one to tell.
        return Ok(vec![]);
    }
    if let Some(sub) = &records.subscription {
        subject.facts.package = Some(sub.package_name.clone());
        subject.facts.expiry = sub.expires_at;
        if subject.facts.currency.is_empty() {
            subject.facts.currency = sub.currency.clone();
        }
    }
    if let Some(a) = &records.account {
        subject.facts.balance = Some(a.balance);
        if notice == Notice::SubscriptionSuspended {
            subject.facts.amount = Some(a.balance.max(0));
        }
        if subject.facts.currency.is_empty() {
            subject.facts.currency = a.currency.clone();
        }
    }
    if subject.facts.currency.is_empty() {
        subject.facts.currency = loaded.tenant.currency.clone();
    }
    subject.facts.pop_name = records.pop.as_ref().map(|p| p.name.clone());
    if subject.voucher.is_some() {
        let (Some(v), Some(batch)) = (&records.voucher, &records.voucher_batch) else {
            return Ok(vec![]);
        };
        let password = match &v.password_sealed {
            None => v.code.clone(),
            Some(sealed) => kernel::support::open_text(
                &app.secrets,
                sealed,
                &domain::voucher::password_aad(v.tenant_id, &v.code),
                "voucher password",
            )
            .map_err(|e| WorkError::Drop(e.to_string()))?,
        };
        subject.facts.login_url = Some(domain::voucher::login_link(&batch.login_url, &v.code, &password));
        subject.facts.code = Some(v.code.clone());
        subject.facts.password = Some(password);
        subject.facts.plan = Some(batch.plan_name.clone());
        subject.facts.validity = Some(domain::voucher::validity_text(batch.validity_hours));
    }
    if subject.operator_id.is_some() {
        // Deleted meanwhile: no one to tell.
        let Some(op) = &records.operator else { return Ok(vec![]) };
        subject.facts.operator_name = Some(op.name.clone());
    }
    let customer = records.customer.as_ref();
    let values = values(&loaded, notice, customer, &subject.facts);
    let mut out_msgs = vec![];
    let direct = Direct { phone: subject.to_phone.as_deref(), operator: records.operator.as_ref() };
    for out in recipients(app, &loaded, notice, customer, &direct).await? {
        if let Some((code, detail)) = &out.refused {
            // Nothing to send it through: said in the log, not kept as a message per event.
            tracing::warn!(tenant = %ev.tenant_id, notice = notice.as_str(), code, detail, "message not made");
            continue;
        }
        let text = notice
            .template(loaded.template_text(notice, out.language))
            .map_err(|e| WorkError::Drop(format!("template of {}: {e}", notice.as_str())))?
            .render(&values);
        let id = life::message_id(ev.event_id, ev.at, &out.to, out.medium);
        let mut msg = new_message(app, &loaded, id, Some(ev), notice, customer, &out, text);
        if out.medium == Medium::Email {
            msg.invoice_id = subject.invoice_id;
        }
        out_msgs.push(msg);
    }
    Ok(out_msgs)
}

/// A new message's items: its record, and for a message about a customer its timeline entry.
pub(crate) fn stage_new(tx: &mut Tx, msg: &Message) -> Result<(), WorkError> {
    tx.put_new(Store::encode_stored(msg).map_err(retry)?, Conflict::Exists);
    if let Some(c) = msg.customer_id {
        let mut entry = kernel::projections::timeline::TimelineEntry::new(
            c,
            kernel::projections::timeline::TimelineKind::Sms,
            &format!("message.{}", msg.medium.as_str()),
            format!(
                "{} {} to {}",
                msg.medium.as_str().to_uppercase(),
                msg.notice.map_or("message", Notice::as_str).replace('_', " "),
                msg.recipient
            ),
            msg.created_at,
        )
        .with_data(serde_json::json!({"message_id": msg.id, "notice": msg.notice, "medium": msg.medium}));
        // The message's id: a redelivery cannot add a second entry.
        entry.id = msg.id;
        kernel::projections::timeline::stage(tx, msg.tenant_id, &entry).map_err(WorkError::from)?;
    }
    Ok(())
}

/// At most this many messages' items in one transaction (DynamoDB's limit is 100 items).
const CLAIMS_PER_TX: usize = 40;

/// Writes the new messages' records (only if new); returns the ones this worker made. A batch
/// in which some already exist (a redelivered event) is claimed one message at a time.
async fn claim_all(app: &App, made: Vec<Made>, results: &mut [Result<(), WorkError>]) -> Vec<Made> {
    let mut claimed = vec![];
    let mut rest = made;
    while !rest.is_empty() {
        let chunk: Vec<Made> = rest.drain(..rest.len().min(CLAIMS_PER_TX)).collect();
        if let Err(e) = crate::messages::mark_due(app, &chunk.iter().map(|m| &m.msg).collect::<Vec<_>>()).await {
            for m in &chunk {
                fail_one(results, m.event, retry(&e));
            }
            continue;
        }
        let mut tx = Tx::new();
        let staged = chunk.iter().try_for_each(|m| stage_new(&mut tx, &m.msg));
        let together = match staged {
            Ok(()) => app.store.commit(tx).await,
            Err(e) => {
                for m in &chunk {
                    fail_one(results, m.event, e.clone());
                }
                continue;
            }
        };
        match together {
            Ok(()) => claimed.extend(chunk),
            Err(StoreError::Conflict(_)) => {
                for m in chunk {
                    let mut tx = Tx::new();
                    if let Err(e) = stage_new(&mut tx, &m.msg) {
                        fail_one(results, m.event, e);
                        continue;
                    }
                    match app.store.commit(tx).await {
                        Ok(()) => claimed.push(m),
                        // Made by an earlier delivery of the event: nothing more to do here.
                        Err(StoreError::Conflict(_)) => {}
                        Err(e) => fail_one(results, m.event, retry(e)),
                    }
                }
            }
            Err(e) => {
                for m in &chunk {
                    fail_one(results, m.event, retry(&e));
                }
            }
        }
    }
    claimed
}

fn fail_one(results: &mut [Result<(), WorkError>], event: usize, e: WorkError) {
    if results[event].is_ok() {
        results[event] = Err(e);
    }
}

/// The outcomes' items: the message, and the pointer a delivery report follows.
fn stage_outcome(tx: &mut Tx, m: &Made) -> Result<(), WorkError> {
    tx.put_versioned(Store::encode_stored(&m.msg).map_err(retry)?, m.msg.version - 1);
    if let (Some(c), MessageStatus::Accepted) = (channel_of(&m.loaded, m.msg.channel_id), m.msg.status) {
        crate::reports::stage_ref(tx, c, &m.msg)?;
    }
    Ok(())
}

/// Writes what came of the sends, together; one at a time when one of them changed meanwhile.
async fn record_all(app: &App, done: Vec<Made>, results: &mut [Result<(), WorkError>]) {
    let mut rest = done;
    while !rest.is_empty() {
        let chunk: Vec<Made> = rest.drain(..rest.len().min(CLAIMS_PER_TX)).collect();
        if let Err(e) = crate::messages::mark_due(app, &chunk.iter().map(|m| &m.msg).collect::<Vec<_>>()).await {
            for m in &chunk {
                fail_one(results, m.event, retry(&e));
            }
            continue;
        }
        let mut tx = Tx::new();
        if let Err(e) = chunk.iter().try_for_each(|m| stage_outcome(&mut tx, m)) {
            for m in &chunk {
                fail_one(results, m.event, e.clone());
            }
            continue;
        }
        match app.store.commit(tx).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                for m in &chunk {
                    let mut tx = Tx::new();
                    let one = match stage_outcome(&mut tx, m) {
                        Ok(()) => app.store.commit(tx).await.map_err(retry),
                        Err(e) => Err(e),
                    };
                    if let Err(e) = one {
                        fail_one(results, m.event, e);
                    }
                }
            }
            Err(e) => {
                for m in &chunk {
                    fail_one(results, m.event, retry(&e));
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn new_message(
    app: &App,
    loaded: &Loaded,
    id: Uuid,
    ev: Option<&BusNotice<'_>>,
    notice: Notice,
    customer: Option<&Customer>,
    out: &Outgoing<'_>,
    text: String,
) -> Message {
    let now = app.now();
    let s = shape(&text);
    let sms = out.medium == Medium::Sms;
    let price = out.channel.and_then(|c| c.channel.price_per_part);
    let tz: Tz = loaded.tenant.time_zone.parse().unwrap_or(Tz::UTC);
    let send_at = schedule::send_at(now, tz, loaded.settings.quiet_hours, notice.urgent());
    let (status, error) = match &out.refused {
        Some((code, detail)) => (MessageStatus::Failed, Some((code.to_string(), detail.clone()))),
        None if send_at > now => (MessageStatus::Scheduled, None),
        None => (MessageStatus::Sending, None),
    };
    Message {
        notice: Some(notice),
        event_id: ev.map(|e| e.event_id),
        channel_id: out.channel.map(|c| c.channel.id),
        provider: out.channel.and_then(|c| c.channel.provider).map(|p| p.as_str().to_string()),
        customer_id: customer.map(|c| c.id),
        scope: customer.and_then(|c| c.scope.clone()),
        language: Some(out.language),
        encoding: sms.then_some(s.encoding),
        parts: if sms { s.parts } else { 1 },
        cost: if sms { price.map(|p| p * i64::from(s.parts)) } else { None },
        status,
        send_at: if status == MessageStatus::Sending { now + SEND_LEASE } else { send_at },
        error_code: error.as_ref().map(|e| e.0.clone()),
        error_detail: error.map(|e| e.1),
        // The event's time, so the record sorts where its cause does.
        created_at: ev.map_or(now, |e| e.at),
        ..Message::new(id, loaded.tenant.id, out.medium, out.to.clone(), text, loaded.tenant.currency.clone(), now)
    }
}

/// Sends a message this worker holds (`sending`) and records what came of it.
async fn send_and_record(
    app: &App,
    senders: &Senders,
    msg: Message,
    channel: Option<&ChannelRecord>,
) -> Result<(), WorkError> {
    let result = send_one(app, senders, &msg, channel).await;
    let after = outcome(app.now(), msg, result);
    crate::messages::mark_due(app, &[&after]).await.map_err(retry)?;
    let expected = after.version - 1;
    let mut tx = Tx::new();
    tx.put_versioned(Store::encode_stored(&after).map_err(retry)?, expected);
    if let (Some(c), MessageStatus::Accepted) = (channel, after.status) {
        crate::reports::stage_ref(&mut tx, c, &after)?;
    }
    app.store.commit(tx).await.map_err(retry)
}

/// What the provider said: the provider's id, its part count and cost where it tells them.
pub(crate) struct Sent {
    pub(crate) provider_message_id: Option<String>,
    pub(crate) parts: Option<u32>,
    pub(crate) cost: Option<String>,
}

async fn send_one(
    app: &App,
    senders: &Senders,
    msg: &Message,
    channel: Option<&ChannelRecord>,
) -> Result<Sent, SendError> {
    let gone = || SendError::Permanent {
        reason: messaging::PermanentReason::Credentials,
        detail: "the account is gone".into(),
    };
    match msg.medium {
        Medium::Email => crate::email::send(app, senders, msg).await,
        Medium::Sms => {
            let channel = channel.ok_or_else(gone)?;
            let account = channel.sms_account(app).map_err(unopened)?;
            let req = SmsRequest {
                to: msg.recipient.clone(),
                text: msg.text.clone(),
                reference: msg.id.simple().to_string(),
                status_callback: crate::reports::status_callback(app, channel),
            };
            let a = messaging::sms::send(&senders.http, &account, &req).await?;
            Ok(Sent { provider_message_id: a.provider_message_id, parts: a.parts, cost: a.cost })
        }
        Medium::Telegram => {
            let bot = channel.ok_or_else(gone)?.telegram_bot(app).map_err(unopened)?;
            let id = messaging::telegram::send_message(&senders.http, &bot, &msg.recipient, &msg.text).await?;
            Ok(Sent { provider_message_id: Some(id), parts: None, cost: None })
        }
        Medium::Webhook => Err(SendError::Permanent {
            reason: messaging::PermanentReason::Rejected,
            detail: format!("{} messages are not sent by this worker", msg.medium.as_str()),
        }),
    }
}

/// Credentials that do not open (a changed key): the account needs them entered again.
fn unopened(e: domain::Error) -> SendError {
    SendError::Permanent { reason: messaging::PermanentReason::Credentials, detail: e.to_string() }
}

/// The record after a try (pure).
fn outcome(now: DateTime<Utc>, mut msg: Message, result: Result<Sent, SendError>) -> Message {
    let next = life::after_try(&result, msg.tries());
    msg.attempts += 1;
    msg.version += 1;
    msg.updated_at = now;
    match (next, result) {
        (Next::Accepted, Ok(sent)) => {
            msg.status = MessageStatus::Accepted;
            msg.provider_message_id = sent.provider_message_id;
            if let Some(p) = sent.parts {
                msg.parts = p;
            }
            msg.provider_cost = sent.cost;
            msg.sent_at = Some(now);
            msg.error_code = None;
            msg.error_detail = None;
        }
        (Next::Failed { code, detail }, _) => {
            msg.status = MessageStatus::Failed;
            msg.error_code = Some(code.to_string());
            msg.error_detail = Some(detail);
        }
        (Next::Retry { after, unknown }, Err(e)) => {
            if unknown {
                msg.unknown_attempts += 1;
            }
            msg.status = MessageStatus::Scheduled;
            msg.send_at = now + Duration::from_std(after).unwrap_or(Duration::minutes(1));
            msg.error_code = Some(e.code().to_string());
            msg.error_detail = Some(e.to_string());
        }
        (Next::Unknown { detail }, _) => {
            msg.unknown_attempts += 1;
            msg.status = MessageStatus::Unknown;
            msg.error_code = Some("unknown".into());
            msg.error_detail = Some(detail);
        }
        (next, _) => {
            msg.status = MessageStatus::Unknown;
            msg.error_detail = Some(format!("unexpected outcome {next:?}"));
        }
    }
    msg
}

/// What a release found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Released {
    pub sent: u32,
    /// Sends that died half-way, now counted as unknown tries.
    pub stale: u32,
    /// Left for the next release (the send rate).
    pub held: u32,
}

/// Sends an ISP's messages that have come due by `as_of`.
pub async fn release_due(
    app: &App,
    senders: &Senders,
    tenant_id: Uuid,
    as_of: DateTime<Utc>,
) -> Result<Released, WorkError> {
    let loaded = cached_config(app, tenant_id).await.map_err(WorkError::from)?;
    let q = Query::index("gsi4", keys::messages_due_gsi4(tenant_id)).range(None, format!("{}~", sort_time(as_of)));
    let due: Vec<Message> = app.store.query_all(q, 1000).await.or_500().map_err(WorkError::from)?;
    let mut report = Released::default();
    for msg in due {
        if msg.send_at > as_of || msg.status.settled() {
            continue;
        }
        let webhook = msg.medium == Medium::Webhook;
        // A webhook delivery cut short is simply tried again: receivers dedupe on `webhook-id`.
        let stale = msg.status == MessageStatus::Sending && !webhook;
        let channel = msg
            .channel_id
            .and_then(|id| loaded.channel(id).or_else(|| loaded.platform_channels.iter().find(|c| c.channel.id == id)));
        if stale {
            // Its worker died during the send: the provider may have it.
            let after = outcome(app.now(), msg, Err(SendError::Unknown { detail: "the send was interrupted".into() }));
            let expected = after.version - 1;
            let mut tx = Tx::new();
            tx.put_versioned(Store::encode_stored(&after).map_err(retry)?, expected);
            commit_claim(app, tx).await?;
            report.stale += 1;
            continue;
        }
        // The send rate is the SMS provider's; an ISP's own endpoints take what they are sent.
        if !webhook {
            let wait = pace(tenant_id, loaded.settings.sends_per_minute);
            if wait > SLEEP_AT_MOST {
                report.held += 1;
                continue;
            }
            tokio::time::sleep(wait).await;
        }
        // Claimed (scheduled -> sending) before the send, so two releases never both send it.
        let mut claimed = msg;
        claimed.status = MessageStatus::Sending;
        claimed.send_at = app.now() + SEND_LEASE;
        claimed.version += 1;
        crate::messages::mark_due(app, &[&claimed]).await.map_err(retry)?;
        let mut tx = Tx::new();
        tx.put_versioned(Store::encode_stored(&claimed).map_err(retry)?, claimed.version - 1);
        if commit_claim(app, tx).await? {
            if webhook {
                let endpoint = claimed.channel_id.and_then(|id| loaded.endpoints.iter().find(|e| e.endpoint.id == id));
                crate::webhooks::deliver_and_record(app, &senders.webhooks, claimed, endpoint).await?;
            } else {
                send_and_record(app, senders, claimed, channel).await?;
            }
            report.sent += 1;
        }
    }
    if report.held > 0 {
        // Left for the send rate: the next runs must visit this ISP again.
        kernel::schedule::mark_due(app, domain::due::DueWork::Messages, tenant_id, as_of).await.map_err(retry)?;
    }
    Ok(report)
}

/// Commits a claim; false when another worker changed the message first.
async fn commit_claim(app: &App, tx: Tx) -> Result<bool, WorkError> {
    match app.store.commit(tx).await {
        Ok(()) => Ok(true),
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(e) => Err(retry(e)),
    }
}

/// Per-ISP send rate in this process: a token bucket of `per_minute` tokens refilled evenly.
/// Returns how long to wait before this send (zero: now); the token is taken either way.
fn pace(tenant: Uuid, per_minute: u32) -> std::time::Duration {
    static BUCKETS: OnceLock<Mutex<HashMap<Uuid, (f64, std::time::Instant)>>> = OnceLock::new();
    let per_second = f64::from(per_minute.max(1)) / 60.0;
    let capacity = f64::from(per_minute.max(1)).clamp(1.0, 60.0);
    let Ok(mut buckets) = BUCKETS.get_or_init(Default::default).lock() else { return std::time::Duration::ZERO };
    let now = std::time::Instant::now();
    let (tokens, at) = buckets.entry(tenant).or_insert((capacity, now));
    *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * per_second).min(capacity);
    *at = now;
    *tokens -= 1.0;
    if *tokens >= 0.0 { std::time::Duration::ZERO } else { std::time::Duration::from_secs_f64(-*tokens / per_second) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(now: DateTime<Utc>) -> Message {
        Message {
            notice: Some(Notice::InvoiceIssued),
            status: MessageStatus::Sending,
            ..Message::new(
                Uuid::nil(),
                Uuid::nil(),
                Medium::Sms,
                "+8801719300001".into(),
                "x".into(),
                "BDT".into(),
                now,
            )
        }
    }

    #[test]
    fn outcomes_are_recorded_by_kind_and_an_unknown_is_tried_once_more_at_most() {
        let now = DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000);
        let ok =
            outcome(now, message(now), Ok(Sent { provider_message_id: Some("p1".into()), parts: Some(2), cost: None }));
        assert_eq!(
            (ok.status, ok.parts, ok.version, ok.provider_message_id.as_deref()),
            (MessageStatus::Accepted, 2, 2, Some("p1"))
        );
        let bad = outcome(
            now,
            message(now),
            Err(SendError::Permanent { reason: messaging::PermanentReason::InvalidNumber, detail: "no".into() }),
        );
        assert_eq!((bad.status, bad.error_code.as_deref()), (MessageStatus::Failed, Some("invalid_number")));
        let lost = outcome(now, message(now), Err(SendError::Unknown { detail: "timeout".into() }));
        assert_eq!((lost.status, lost.unknown_attempts), (MessageStatus::Scheduled, 1));
        assert!(lost.send_at > now);
        let again = outcome(now, lost, Err(SendError::Unknown { detail: "timeout".into() }));
        assert_eq!((again.status, again.attempts, again.unknown_attempts), (MessageStatus::Unknown, 2, 2));
        let mut busy = message(now);
        for _ in 0..5 {
            busy = outcome(now, busy, Err(SendError::Retryable { detail: "503".into(), retry_after: None }));
            assert_eq!(busy.status, MessageStatus::Scheduled);
        }
        let gave_up = outcome(now, busy, Err(SendError::Retryable { detail: "503".into(), retry_after: None }));
        assert_eq!((gave_up.status, gave_up.error_code.as_deref()), (MessageStatus::Failed, Some("gave_up")));
    }

    #[test]
    fn the_send_rate_lets_a_minutes_worth_through_then_asks_to_wait() {
        let tenant = Uuid::now_v7();
        for _ in 0..60 {
            assert!(pace(tenant, 60).is_zero());
        }
        let wait = pace(tenant, 60);
        assert!(
            wait > std::time::Duration::from_millis(900) && wait <= std::time::Duration::from_millis(1000),
            "{wait:?}"
        );
    }
}
