//! The message log (`/v1/messages`): every message the product sent or tried to send for an
//! ISP, kept with whom it went to, what it said, through which provider, its parts and cost,
//! its status and delivery report; by time, by customer, by status.

use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::language::Language;
use domain::role::Permission;
use domain::{Error, Result};
use kernel::App;
use kernel::support::{StoreResultExt, decoded};
use messaging::encoding::SmsEncoding;
use messaging::life::{Medium, MessageStatus, Tries};
use messaging::notices::Notice;
use serde::{Deserialize, Serialize};
use store::{Filter, Owner, Page, Query, keys};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Message {
    /// The same for every delivery of the event that caused it (event, recipient, medium).
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// What it is about (None: a test or a message staff wrote).
    pub notice: Option<Notice>,
    pub event_id: Option<Uuid>,
    pub medium: Medium,
    pub channel_id: Option<Uuid>,
    pub provider: Option<String>,
    pub customer_id: Option<Uuid>,
    /// The customer's operator subtree (operators see their own customers' messages).
    pub scope: Option<String>,
    /// A phone (E.164), a chat id or an e-mail address.
    pub recipient: String,
    pub language: Option<Language>,
    pub text: String,
    pub encoding: Option<SmsEncoding>,
    pub parts: u32,
    /// Parts × the account's price, in minor units of `currency` (the provider's own figure
    /// where it tells one is in `provider_cost`).
    pub cost: Option<i64>,
    pub currency: String,
    pub provider_cost: Option<String>,
    pub status: MessageStatus,
    /// When it goes (quiet hours, the send rate, a retry), or when a send in progress is given up
    /// as unknown.
    pub send_at: DateTime<Utc>,
    pub attempts: u32,
    pub unknown_attempts: u32,
    pub provider_message_id: Option<String>,
    /// Why it failed or was retried (`invalid_number`, `no_balance`, `retryable`, `no_channel`...).
    pub error_code: Option<String>,
    pub error_detail: Option<String>,
    /// The invoice an e-mail carries as a PDF.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_id: Option<Uuid>,
    /// The provider's last delivery report, in its own words (`delivered`, `undelivered 30003`).
    #[serde(default)]
    pub delivery_report: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

impl Message {
    /// The message as anyone reads it back: a one-time code is for its recipient's phone alone,
    /// so its text is never shown again (not to staff, who could log in with it unaudited).
    pub fn redacted(mut self) -> Message {
        if self.notice == Some(Notice::PasswordResetCode) {
            self.text = "(a one-time login code: not shown)".into();
        }
        self
    }

    /// A message to `recipient` that waits to be tried now; its maker sets the rest (what it is
    /// about, the account, the encoding, its status).
    pub fn new(
        id: Uuid,
        tenant_id: Uuid,
        medium: Medium,
        recipient: String,
        text: String,
        currency: String,
        now: DateTime<Utc>,
    ) -> Message {
        Message {
            id,
            tenant_id,
            notice: None,
            event_id: None,
            medium,
            channel_id: None,
            provider: None,
            customer_id: None,
            scope: None,
            recipient,
            language: None,
            text,
            encoding: None,
            parts: 1,
            cost: None,
            currency,
            provider_cost: None,
            status: MessageStatus::Scheduled,
            send_at: now,
            attempts: 0,
            unknown_attempts: 0,
            provider_message_id: None,
            invoice_id: None,
            delivery_report: None,
            error_code: None,
            error_detail: None,
            sent_at: None,
            delivered_at: None,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    pub fn tries(&self) -> Tries {
        Tries { attempts: self.attempts, unknowns: self.unknown_attempts }
    }

    /// Whether it waits in the due index (for its time, or for its lease to run out).
    fn due(&self) -> Option<String> {
        self.waits().then(|| sort_time(self.send_at))
    }

    fn waits(&self) -> bool {
        matches!(self.status, MessageStatus::Scheduled | MessageStatus::Sending)
    }
}

/// Marks the ISPs of messages about to be written waiting (for their time or their lease) as
/// having messages due then, so the release job visits them (`kernel::schedule::mark_due`):
/// call before the commit that writes them.
pub async fn mark_due(app: &App, msgs: &[&Message]) -> Result<()> {
    for m in msgs.iter().filter(|m| m.waits()) {
        kernel::schedule::mark_due(app, domain::due::DueWork::Messages, m.tenant_id, m.send_at).await?;
    }
    Ok(())
}

pub use store::stored::sort_time;

impl store::Stored for Message {
    const TYPE: &'static str = "MESSAGE";
    fn keys(&self) -> store::ItemKeys {
        let at = sort_time(self.created_at);
        let due = self.due();
        keys::message(
            self.tenant_id,
            self.id,
            &keys::MessagePlace {
                at: &at,
                customer: self.customer_id,
                endpoint: (self.medium == Medium::Webhook).then_some(self.channel_id).flatten(),
                status: self.status.as_str(),
                due: due.as_deref(),
            },
        )
    }
    fn version(&self) -> Option<u64> {
        Some(self.version)
    }
}

/// How a listing is narrowed.
#[derive(Debug, Default, Clone)]
pub struct MessageFilter {
    pub customer_id: Option<Uuid>,
    pub status: Option<MessageStatus>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Newest first.
pub async fn list_messages(
    app: &App,
    actor: &Actor,
    filter: &MessageFilter,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<Message>> {
    actor.require(Permission::CustomersRead)?;
    let tid = actor.tenant()?;
    if let Some(c) = filter.customer_id {
        // 404 for a customer the caller may not see.
        crm::customers::get_customer(app, actor, c).await?;
    }
    let mut q = match (filter.customer_id, filter.status) {
        (Some(c), _) => Query::index("gsi2", keys::customer_messages_gsi2(tid, c)),
        (None, Some(s)) => Query::index("gsi3", keys::messages_by_status_gsi3(tid, s.as_str())),
        (None, None) => Query::index("gsi1", keys::messages_gsi1(tid)),
    };
    if filter.from.is_some() || filter.to.is_some() {
        let hi = filter.to.map_or_else(|| "~".to_string(), |t| format!("{}~", sort_time(t)));
        q = q.range(filter.from.map(sort_time), hi);
    }
    let mut f = Filter::default();
    if let (Some(_), Some(s)) = (filter.customer_id, filter.status) {
        f = f.eq("status", s.as_str());
    }
    if let Some(s) = actor.confinement()? {
        f = f.in_subtree("scope", s);
    }
    let mut q = q.newest_first().limit(limit);
    if !f.expression.is_empty() {
        q = q.filter(f);
    }
    let query_id = format!(
        "messages:{}:{}:{}:{}",
        filter.customer_id.map(|c| c.to_string()).unwrap_or_default(),
        filter.status.map(MessageStatus::as_str).unwrap_or_default(),
        filter.from.map(sort_time).unwrap_or_default(),
        filter.to.map(sort_time).unwrap_or_default()
    );
    let page: Page<Message> = app.store.query_page(Owner::Tenant(tid), &query_id, q, cursor).await.or_500()?;
    Ok(Page { items: page.items.into_iter().map(Message::redacted).collect(), next_cursor: page.next_cursor })
}

/// A message as its customer sees it in the portal.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CustomerMessage {
    pub id: Uuid,
    pub notice: Option<Notice>,
    pub medium: Medium,
    pub text: String,
    pub status: MessageStatus,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// `GET /v1/portal/notifications`: the messages sent to a subscriber, newest first (one Query).
pub async fn for_customer(
    app: &App,
    s: domain::portal::Subscriber,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<CustomerMessage>> {
    let q = Query::index("gsi2", keys::customer_messages_gsi2(s.tenant_id, s.customer_id)).newest_first().limit(limit);
    let page: Page<Message> = app
        .store
        .query_page(Owner::Tenant(s.tenant_id), &format!("portal-messages:{}", s.customer_id), q, cursor)
        .await
        .or_500()?;
    Ok(Page {
        items: page
            .items
            .into_iter()
            .filter(|m| m.customer_id == Some(s.customer_id))
            .map(Message::redacted)
            .map(|m| CustomerMessage {
                id: m.id,
                notice: m.notice,
                medium: m.medium,
                text: m.text,
                status: m.status,
                sent_at: m.sent_at,
                created_at: m.created_at,
            })
            .collect(),
        next_cursor: page.next_cursor,
    })
}

pub async fn get_message(app: &App, actor: &Actor, id: Uuid) -> Result<Message> {
    actor.require(Permission::CustomersRead)?;
    let tid = actor.tenant()?;
    let item = app.store.get_item(&keys::message_key(tid, id)).await.or_500()?;
    decoded::<Message>(item)?
        .filter(|m| m.tenant_id == tid && actor.sees_scope(m.scope.as_deref()))
        .map(Message::redacted)
        .ok_or_else(|| Error::not_found("message"))
}
