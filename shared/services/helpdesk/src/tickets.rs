//! Support tickets (the rules are `domain::ticket`'s). A ticket and its messages share one
//! partition (one Query reads the thread); its number comes from the ISP's gapless sequence,
//! advanced in the ticket's own transaction; while a promise of its service level can still
//! break, an item in the platform's SLA index says when, so `job-ticket-sla` reads only what is
//! due. Staff see the tickets of their view (an operator its subtree's); a subscriber only its
//! own, without internal notes. Every change is one transaction: the ticket (versioned), its
//! message, its SLA index item, the customer's timeline entry, the audit entry, the alert.

use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::alert::{Alert, AlertKind, AlertSubject};
use domain::audit::AuditEntry;
use domain::event::{CrmEvent, DomainEvent};
use domain::idempotency::IdempotentRequest;
use domain::patch::Patch;
use domain::portal::Subscriber;
use domain::role::Permission;
use domain::ticket::{
    Assignee, Author, BODY_MAX, Category, Priority, SUBJECT_MAX, Side, Ticket, TicketMessage, TicketState,
    TicketStatus, token,
};
use domain::user::User;
use domain::{Error, Result, Validation, ids};
use kernel::idempotency::record;
use kernel::projections::timeline::{self, TimelineEntry, TimelineKind};
use kernel::support::{Audited, StoreResultExt, audit, decoded, snapshot, store_err, tenant_of};
use kernel::{App, Outcome};
use serde::{Deserialize, Serialize};
use store::{Conflict, Filter, Owner, Page, Query, Store, StoreError, Tx, keys};
use uuid::Uuid;

/// A ticket with its messages (a subscriber's view has no internal notes).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TicketThread {
    #[serde(flatten)]
    pub ticket: Ticket,
    pub thread: Vec<TicketMessage>,
}

/// `POST /v1/tickets`: staff or an operator opens one (a phone call, a visit).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenTicket {
    /// Whose complaint (None: not a customer yet, e.g. a new connection asked for by phone).
    pub customer_id: Option<Uuid>,
    /// One of the customer's subscriptions, when it is about one.
    pub subscription_id: Option<Uuid>,
    pub category: Category,
    /// Default `normal`.
    pub priority: Option<Priority>,
    pub subject: String,
    /// The complaint in words: the thread's first message.
    pub body: String,
    /// Staff or an operator of the ISP to work on it.
    pub assignee_id: Option<Uuid>,
}

/// `POST /v1/portal/tickets`: the subscriber opens one.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalOpenTicket {
    /// One of the subscriber's subscriptions, when it is about one.
    pub subscription_id: Option<Uuid>,
    pub category: Category,
    pub subject: String,
    pub body: String,
}

/// `PATCH /v1/tickets/{id}`: what staff change on a ticket.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTicket {
    pub priority: Option<Priority>,
    pub category: Option<Category>,
    /// A user id to assign it to; `null` unassigns it; absent leaves it.
    #[serde(default)]
    #[schema(value_type = Option<Uuid>)]
    pub assignee_id: Patch<Uuid>,
    pub version: u64,
}

/// `POST /v1/tickets/{id}/messages`: a public reply or an internal note.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffMessage {
    pub body: String,
    /// An internal note: staff and operators only, never the subscriber; changes no state.
    #[serde(default)]
    pub internal: bool,
    /// Put the ticket on the subscriber (`pending_customer`) with this reply.
    #[serde(default)]
    pub wait_for_customer: bool,
    /// Uploads of yours on this ticket (`POST /v1/tickets/{id}/attachments`, then PUT) it cites.
    #[serde(default)]
    pub attachment_ids: Vec<Uuid>,
}

/// `POST /v1/portal/tickets/{id}/messages`: the subscriber's reply.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketReply {
    pub body: String,
    /// Uploads of yours on this ticket (`POST /v1/portal/tickets/{id}/attachments`, then PUT).
    #[serde(default)]
    pub attachment_ids: Vec<Uuid>,
}

/// What staff do to a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Resolve,
    Close,
    Reopen,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Resolve => "resolved",
            Action::Close => "closed",
            Action::Reopen => "reopened",
        }
    }
}

fn not_now(e: domain::ticket::NotNow) -> Error {
    Error::Conflict { code: "ticket_state", detail: e.0.into(), field: None }
}

fn ticket_key(tid: Uuid, id: Uuid) -> store::ItemKeys {
    keys::ticket(tid, id, None, None, None)
}

fn user_of(item: Option<store::Item>) -> Result<Option<User>> {
    Ok(decoded::<User>(item)?.filter(|u| !u.email.is_empty()))
}

/// Staff may see it: their ISP's, within their subtree.
fn visible(actor: &Actor, t: Option<Ticket>) -> Result<Ticket> {
    match t {
        Some(t) if actor.sees_scope(t.scope.as_deref()) => Ok(t),
        _ => Err(Error::not_found("ticket")),
    }
}

/// An assignee: staff or an operator of the ISP, within a scoped caller's own subtree.
fn check_assignee(
    v: &mut Validation,
    actor: Option<&Actor>,
    wanted: Option<Uuid>,
    found: Option<User>,
) -> Option<Assignee> {
    let id = wanted?;
    match found {
        Some(u)
            if u.role.is_tenant_staff()
                && u.role.has(Permission::TicketsWrite)
                && actor.is_none_or(|a| a.sees_scope(u.scope.as_deref())) =>
        {
            Some(Assignee { user_id: id, name: u.name, role: u.role.as_str().into() })
        }
        _ => {
            v.add("assignee_id", "must be staff or an operator of this ISP who works on tickets (in your view)");
            None
        }
    }
}

fn texts(v: &mut Validation, subject: &str, body: &str) -> (String, String) {
    (v.text("subject", subject, SUBJECT_MAX), v.text("body", body, BODY_MAX))
}

/// Everything a new ticket writes. `number` is the sequence's next; `read` what it was read at.
struct NewTicket {
    ticket: Ticket,
    message: TicketMessage,
    read: u64,
}

fn stage_new(tx: &mut Tx, n: &NewTicket, now: DateTime<Utc>) -> Result<()> {
    let t = &n.ticket;
    tx.advance_sequence(&keys::sequence(t.tenant_id, "ticket"), n.read, 1);
    tx.put_new(Store::encode_stored(t).or_500()?, Conflict::Exists);
    tx.put_new(Store::encode_stored(&n.message).or_500()?, Conflict::Exists);
    let number = serde_json::json!({"ticket_id": t.id});
    tx.put_new(
        Store::encode(&keys::ticket_number(t.tenant_id, t.number), "TICKETNO", &number, None).or_500()?,
        Conflict::Exists,
    );
    stage_sla(tx, None, t)?;
    tx.put_event(&DomainEvent::new(
        CrmEvent::TicketOpened,
        Some(t.tenant_id),
        serde_json::json!({
            "ticket_id": t.id,
            "token": t.token,
            "subject": t.subject,
            "category": t.category,
            "priority": t.state.priority,
            "customer_id": t.customer_id,
            "customer_name": t.customer_name,
            "by_customer": t.opened_by.customer_id.is_some(),
            "scope": t.scope,
        }),
        now,
    ));
    if let Some(c) = t.customer_id {
        let entry = TimelineEntry::new(
            c,
            TimelineKind::Ticket,
            "ticket.opened",
            format!("Ticket {} opened: {}", t.token, t.subject),
            now,
        )
        .by(t.opened_by.user_id.or(t.opened_by.customer_id));
        let mut entry = entry;
        entry.subscription_id = t.subscription_id;
        entry.data = serde_json::json!({"ticket_id": t.id, "token": t.token, "category": t.category});
        timeline::stage(tx, t.tenant_id, &entry)?;
    }
    Ok(())
}

/// The ticket's item in the SLA index follows its next check.
fn stage_sla(tx: &mut Tx, before: Option<&Ticket>, after: &Ticket) -> Result<()> {
    let (old, new) = (before.and_then(Ticket::next_sla_check), after.next_sla_check());
    if old == new {
        return Ok(());
    }
    if let Some(at) = old {
        tx.delete(&keys::ticket_sla_check(after.tenant_id, after.id, at));
    }
    if let Some(at) = new {
        let check = serde_json::json!({"tenant_id": after.tenant_id, "ticket_id": after.id, "due": at});
        tx.put(
            Store::encode(&keys::ticket_sla_check(after.tenant_id, after.id, at), "TICKET_SLA", &check, None)
                .or_500()?,
        );
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn new_ticket(
    tenant: &domain::tenant::Tenant,
    number_read: u64,
    opened_by: Author,
    customer: Option<&domain::customer::Customer>,
    subscription_id: Option<Uuid>,
    category: Category,
    priority: Priority,
    subject: String,
    body: String,
    assignee: Option<Assignee>,
    scope: Option<String>,
    now: DateTime<Utc>,
) -> NewTicket {
    let number = number_read + 1;
    let id = ids::new_id();
    let sla = tenant.tickets.sla(priority);
    let mut ticket = Ticket {
        id,
        tenant_id: tenant.id,
        number,
        token: token(number),
        customer_id: customer.map(|c| c.id),
        customer_name: customer.map(|c| c.name.clone()),
        subscription_id,
        category,
        subject,
        opened_by: opened_by.clone(),
        assignee,
        state: TicketState::new(priority, now),
        sla,
        first_response_due: now,
        resolution_due: now,
        messages: 1,
        last_message_at: now,
        scope,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    ticket.hold_to(sla);
    let message = TicketMessage {
        id: ids::new_id(),
        tenant_id: tenant.id,
        ticket_id: id,
        author: opened_by,
        internal: false,
        body,
        attachment_ids: vec![],
        at: now,
    };
    NewTicket { ticket, message, read: number_read }
}

/// A subscription of the customer, read with the rest.
fn subscription_of(v: &mut Validation, wanted: Option<Uuid>, found: Option<store::Item>, customer: Option<Uuid>) {
    if wanted.is_some()
        && found
            .and_then(|i| store::string_attr(&i, "customer_id"))
            .is_none_or(|c| Some(c) != customer.map(|c| c.to_string()))
    {
        v.add("subscription_id", "must be one of the customer's subscriptions");
    }
}

/// Commits a new ticket: `None` when another ticket took the number meanwhile (read again).
async fn commit_new(
    app: &App,
    tx: Tx,
    n: NewTicket,
    owner: Owner,
    caller: Uuid,
    idem: Option<&IdempotentRequest>,
) -> Result<Option<Outcome<Ticket>>> {
    match app.store.commit(tx).await {
        Ok(()) => Ok(Some(Outcome::Fresh(n.ticket))),
        Err(StoreError::Conflict(Conflict::Version)) => Ok(None),
        Err(StoreError::Conflict(Conflict::Idempotency)) if idem.is_some() => {
            kernel::idempotency::replay(app, owner, caller, idem.expect("checked")).await.map(Some)
        }
        Err(e) => Err(store_err(e)),
    }
}

/// Tries at most this many times when other tickets take the next number meanwhile.
const NUMBER_ATTEMPTS: usize = 5;

fn numbers_busy() -> Error {
    Error::Conflict { code: "busy", detail: "the ISP's ticket numbers are busy: try again".into(), field: None }
}

/// `POST /v1/tickets`.
pub async fn open(
    app: &App,
    actor: &Actor,
    input: OpenTicket,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<Ticket>> {
    actor.require(Permission::TicketsWrite)?;
    let tid = actor.tenant()?;
    for _ in 0..NUMBER_ATTEMPTS {
        let (tx, n) = stage_open(app, actor, tid, &input, idem).await?;
        if let Some(out) = commit_new(app, tx, n, Owner::Tenant(tid), actor.user_id, idem).await? {
            return Ok(out);
        }
    }
    Err(numbers_busy())
}

async fn stage_open(
    app: &App,
    actor: &Actor,
    tid: Uuid,
    input: &OpenTicket,
    idem: Option<&IdempotentRequest>,
) -> Result<(Tx, NewTicket)> {
    let cid = input.customer_id.unwrap_or_default();
    let ks = [
        keys::tenant(tid, None),
        keys::sequence(tid, "ticket"),
        keys::user(Some(tid), actor.user_id),
        keys::customer(tid, cid, None),
        keys::subscription(tid, cid, input.subscription_id.unwrap_or_default(), None, None, None),
        keys::user(Some(tid), input.assignee_id.unwrap_or_default()),
    ];
    let mut got = app.store.batch_get(&ks.iter().collect::<Vec<_>>()).await.or_500()?.into_iter();
    let tenant = tenant_of(got.next().flatten())?;
    let read = got.next().flatten().and_then(|i| store::number_attr(&i, "n")).unwrap_or(0);
    let me = user_of(got.next().flatten())?;
    let customer: Option<crm::customers::CustomerRecord> = decoded(got.next().flatten())?;
    let subscription = got.next().flatten();
    let assignee = user_of(got.next().flatten())?;
    let mut v = Validation::new();
    let customer = match (input.customer_id, customer) {
        (None, _) => None,
        (Some(_), Some(c)) if c.deleted_at.is_none() && actor.sees_scope(c.customer.scope.as_deref()) => {
            Some(c.customer)
        }
        (Some(_), _) => {
            v.add("customer_id", "is not a customer of this ISP (in your view)");
            None
        }
    };
    subscription_of(&mut v, input.subscription_id, subscription, input.customer_id);
    let (subject, body) = texts(&mut v, &input.subject, &input.body);
    let assignee = check_assignee(&mut v, Some(actor), input.assignee_id, assignee);
    v.finish()?;
    let author = Author {
        side: Side::Support,
        user_id: Some(actor.user_id),
        customer_id: None,
        name: me.map(|u| u.name).unwrap_or_else(|| "staff".into()),
    };
    // An operator's ticket stays in its subtree; a customer's follows the customer's.
    let scope = match &customer {
        Some(c) => c.scope.clone(),
        None => actor.scope.clone(),
    };
    let now = app.now();
    let n = new_ticket(
        &tenant,
        read,
        author,
        customer.as_ref(),
        input.subscription_id,
        input.category,
        input.priority.unwrap_or(Priority::Normal),
        subject,
        body,
        assignee,
        scope,
        now,
    );
    let mut tx = Tx::new();
    stage_new(&mut tx, &n, now)?;
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "ticket.opened",
            entity: "ticket",
            id: n.ticket.id.to_string(),
            before: None,
            after: Some(snapshot(&n.ticket)),
        },
        now,
    ));
    if let Some(req) = idem {
        tx.put_idempotency(Owner::Tenant(tid), &req.key_hash(actor.user_id), &record(req, 201, &n.ticket, app)?);
    }
    Ok((tx, n))
}

/// `POST /v1/portal/tickets`: the subscriber's own complaint (normal priority; staff raise it).
pub async fn open_by_subscriber(
    app: &App,
    s: Subscriber,
    input: PortalOpenTicket,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<Ticket>> {
    for _ in 0..NUMBER_ATTEMPTS {
        let (tx, n) = stage_subscriber_open(app, s, &input, idem).await?;
        if let Some(out) = commit_new(app, tx, n, Owner::Tenant(s.tenant_id), s.customer_id, idem).await? {
            return Ok(out);
        }
    }
    Err(numbers_busy())
}

async fn stage_subscriber_open(
    app: &App,
    s: Subscriber,
    input: &PortalOpenTicket,
    idem: Option<&IdempotentRequest>,
) -> Result<(Tx, NewTicket)> {
    let tid = s.tenant_id;
    let ks = [
        keys::tenant(tid, None),
        keys::sequence(tid, "ticket"),
        keys::customer(tid, s.customer_id, None),
        keys::subscription(tid, s.customer_id, input.subscription_id.unwrap_or_default(), None, None, None),
    ];
    let mut got = app.store.batch_get(&ks.iter().collect::<Vec<_>>()).await.or_500()?.into_iter();
    let tenant = tenant_of(got.next().flatten())?;
    let read = got.next().flatten().and_then(|i| store::number_attr(&i, "n")).unwrap_or(0);
    let customer: crm::customers::CustomerRecord = decoded(got.next().flatten())?
        .filter(|c: &crm::customers::CustomerRecord| c.deleted_at.is_none())
        .ok_or_else(|| Error::not_found("customer"))?;
    let mut v = Validation::new();
    subscription_of(&mut v, input.subscription_id, got.next().flatten(), Some(s.customer_id));
    let (subject, body) = texts(&mut v, &input.subject, &input.body);
    v.finish()?;
    let c = customer.customer;
    let author = Author { side: Side::Customer, user_id: None, customer_id: Some(c.id), name: c.name.clone() };
    let now = app.now();
    let scope = c.scope.clone();
    let n = new_ticket(
        &tenant,
        read,
        author,
        Some(&c),
        input.subscription_id,
        input.category,
        Priority::Normal,
        subject,
        body,
        None,
        scope,
        now,
    );
    let mut tx = Tx::new();
    stage_new(&mut tx, &n, now)?;
    if let Some(req) = idem {
        tx.put_idempotency(Owner::Tenant(tid), &req.key_hash(s.customer_id), &record(req, 201, &n.ticket, app)?);
    }
    Ok((tx, n))
}

/// The ticket and its thread, oldest message first (one Query of its partition).
async fn thread(app: &App, tid: Uuid, id: Uuid) -> Result<Option<(Ticket, Vec<TicketMessage>)>> {
    let items = app.store.query_all_items(Query::table(keys::ticket_pk(tid, id)).limit(500), 10_000).await.or_500()?;
    let mut ticket = None;
    let mut messages = Vec::new();
    for item in items {
        match store::string_attr(&item, "sk").as_deref() {
            Some(keys::TICKET_SK) => ticket = Some(Store::decode::<Ticket>(item).or_500()?),
            Some(sk) if sk.starts_with(keys::TICKET_MESSAGE_SK_PREFIX) => messages.push(Store::decode(item).or_500()?),
            _ => {}
        }
    }
    Ok(ticket.map(|t| (t, messages)))
}

/// `GET /v1/tickets/{id}`: with internal notes.
pub async fn get(app: &App, actor: &Actor, id: Uuid) -> Result<TicketThread> {
    actor.require(Permission::TicketsRead)?;
    let tid = actor.tenant()?;
    let (t, thread) = thread(app, tid, id).await?.ok_or_else(|| Error::not_found("ticket"))?;
    Ok(TicketThread { ticket: visible(actor, Some(t))?, thread })
}

/// The subscriber's own ticket (another's is not there).
pub(crate) async fn own_ticket(app: &App, s: Subscriber, id: Uuid) -> Result<Ticket> {
    app.store
        .get::<Ticket>(&ticket_key(s.tenant_id, id))
        .await
        .or_500()?
        .filter(|t| t.customer_id == Some(s.customer_id))
        .ok_or_else(|| Error::not_found("ticket"))
}

/// `GET /v1/portal/tickets/{id}`: the subscriber's own, public messages only.
pub async fn get_for_subscriber(app: &App, s: Subscriber, id: Uuid) -> Result<TicketThread> {
    let (t, thread) = thread(app, s.tenant_id, id).await?.ok_or_else(|| Error::not_found("ticket"))?;
    if t.customer_id != Some(s.customer_id) {
        return Err(Error::not_found("ticket"));
    }
    Ok(TicketThread { ticket: t, thread: thread.into_iter().filter(|m| !m.internal).collect() })
}

/// Filters of `GET /v1/tickets`.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub status: Option<TicketStatus>,
    pub customer_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    pub category: Option<Category>,
}

fn status_name(s: TicketStatus) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

fn category_name(c: Category) -> String {
    serde_json::to_value(c).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// `GET /v1/tickets`: newest first; an operator's subtree only; one customer's from its index.
pub async fn list(app: &App, actor: &Actor, f: TicketFilter, limit: u32, cursor: Option<&str>) -> Result<Page<Ticket>> {
    actor.require(Permission::TicketsRead)?;
    let tid = actor.tenant()?;
    let confined = actor.confinement()?;
    let mut q = match (&f.customer_id, confined) {
        (Some(c), _) => Query::index("gsi4", keys::customer_tickets_gsi4(tid, *c)),
        (None, Some(scope)) => {
            Query::index("gsi3", keys::tickets_by_operator_gsi3(tid, scope)).prefix(scope.to_string())
        }
        (None, None) => Query::index("gsi1", keys::tickets_gsi1(tid)),
    }
    .newest_first()
    .limit(limit);
    let mut filter = Filter::default();
    if let Some(s) = f.status {
        filter = filter.eq("status", &status_name(s));
    }
    if let Some(c) = f.category {
        filter = filter.eq("category", &category_name(c));
    }
    if let Some(a) = f.assignee_id {
        filter = filter.eq("assignee.user_id", &a.to_string());
    }
    if let (Some(scope), Some(_)) = (confined, f.customer_id) {
        filter = filter.in_subtree("scope", scope);
    }
    if !filter.expression.is_empty() {
        q = q.filter(filter);
    }
    app.store.query_page(Owner::Tenant(tid), "tickets", q, cursor).await.or_500()
}

/// `GET /v1/tickets?token=T-000042`: the ticket a subscriber quotes (in the caller's view).
pub async fn by_token(app: &App, actor: &Actor, token_text: &str) -> Result<Ticket> {
    actor.require(Permission::TicketsRead)?;
    let tid = actor.tenant()?;
    let number: u64 = token_text
        .trim()
        .trim_start_matches(['T', 't'])
        .trim_start_matches('-')
        .parse()
        .map_err(|_| Error::field("token", "must be a ticket token like T-000042"))?;
    let item = app.store.get_item(&keys::ticket_number(tid, number)).await.or_500()?;
    let id: Uuid = item
        .and_then(|i| store::string_attr(&i, "ticket_id"))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Error::not_found("ticket"))?;
    visible(actor, app.store.get(&ticket_key(tid, id)).await.or_500()?)
}

/// `GET /v1/portal/tickets`: the subscriber's own, newest first.
pub async fn list_for_subscriber(app: &App, s: Subscriber, limit: u32, cursor: Option<&str>) -> Result<Page<Ticket>> {
    let q = Query::index("gsi4", keys::customer_tickets_gsi4(s.tenant_id, s.customer_id)).newest_first().limit(limit);
    app.store
        .query_page(Owner::Tenant(s.tenant_id), &format!("portal-tickets:{}", s.customer_id), q, cursor)
        .await
        .or_500()
}

/// Writes a change of a ticket (against the version it was read at) with what goes with it.
struct Change {
    before: Ticket,
    after: Ticket,
    message: Option<TicketMessage>,
    timeline: Option<(&'static str, String)>,
    audit: Option<AuditEntry>,
    alert: Option<Alert>,
    /// Uploads the message cites.
    cited: Vec<crate::attachments::Attachment>,
}

async fn save(app: &App, c: Change) -> Result<Ticket> {
    let mut after = c.after;
    after.version = c.before.version + 1;
    after.updated_at = app.now();
    let mut tx = Tx::new();
    tx.put_versioned(Store::encode_stored(&after).or_500()?, c.before.version);
    stage_sla(&mut tx, Some(&c.before), &after)?;
    if let Some(m) = &c.message {
        tx.put_new(Store::encode_stored(m).or_500()?, Conflict::Exists);
        crate::attachments::stage_cited(&mut tx, &c.cited, m);
    }
    if let (Some((action, summary)), Some(customer)) = (c.timeline, after.customer_id) {
        let mut entry = TimelineEntry::new(customer, TimelineKind::Ticket, action, summary, after.updated_at);
        entry.subscription_id = after.subscription_id;
        entry.actor_id = c.audit.as_ref().map(|a| a.actor_id);
        entry.data = serde_json::json!({"ticket_id": after.id, "token": after.token, "status": after.state.status});
        timeline::stage(&mut tx, after.tenant_id, &entry)?;
    }
    if let Some(a) = &c.audit {
        tx.put_audit(a);
    }
    if let Some(a) = &c.alert {
        kernel::alerts::raise(&mut tx, a)?;
    }
    app.store.commit(tx).await.map_err(store_err)?;
    Ok(after)
}

pub(crate) async fn load_visible(app: &App, actor: &Actor, id: Uuid, permission: Permission) -> Result<Ticket> {
    actor.require(permission)?;
    let tid = actor.tenant()?;
    visible(actor, app.store.get(&ticket_key(tid, id)).await.or_500()?)
}

fn staff_audit(actor: &Actor, action: &'static str, before: &Ticket, after: &Ticket, now: DateTime<Utc>) -> AuditEntry {
    audit(
        actor,
        Some(before.tenant_id),
        Audited {
            action,
            entity: "ticket",
            id: before.id.to_string(),
            before: Some(snapshot(before)),
            after: Some(snapshot(after)),
        },
        now,
    )
}

/// `PATCH /v1/tickets/{id}`: priority (the service level follows it), category, assignee.
pub async fn update(app: &App, actor: &Actor, id: Uuid, input: UpdateTicket) -> Result<Ticket> {
    let before = load_visible(app, actor, id, Permission::TicketsWrite).await?;
    let tid = before.tenant_id;
    if input.version != before.version {
        return Err(Error::version_conflict());
    }
    let wanted = input.assignee_id.as_update().map(|a| a.copied());
    let ks = [keys::tenant(tid, None), keys::user(Some(tid), wanted.flatten().unwrap_or_default())];
    let mut got = app.store.batch_get(&ks.iter().collect::<Vec<_>>()).await.or_500()?.into_iter();
    let tenant = tenant_of(got.next().flatten())?;
    let found = user_of(got.next().flatten())?;
    let mut v = Validation::new();
    let mut after = before.clone();
    if let Some(a) = wanted {
        after.assignee = check_assignee(&mut v, Some(actor), a, found);
    }
    v.finish()?;
    if let Some(c) = input.category {
        after.category = c;
    }
    if let Some(p) = input.priority {
        after.state.priority = p;
        after.hold_to(tenant.tickets.sla(p));
    }
    let now = app.now();
    let audit = staff_audit(actor, "ticket.updated", &before, &after, now);
    save(app, Change { before, after, message: None, timeline: None, audit: Some(audit), alert: None, cited: vec![] })
        .await
}

/// `POST /v1/tickets/{id}/messages`: staff's public reply (the first is the first response) or
/// an internal note.
pub async fn post_staff_message(app: &App, actor: &Actor, id: Uuid, input: StaffMessage) -> Result<Ticket> {
    let before = load_visible(app, actor, id, Permission::TicketsWrite).await?;
    let tid = before.tenant_id;
    let ks = [keys::tenant(tid, None), keys::user(Some(tid), actor.user_id)];
    let mut got = app.store.batch_get(&ks.iter().collect::<Vec<_>>()).await.or_500()?.into_iter();
    let tenant = tenant_of(got.next().flatten())?;
    let me = user_of(got.next().flatten())?;
    let mut v = Validation::new();
    let body = v.text("body", &input.body, BODY_MAX);
    if input.internal && input.wait_for_customer {
        v.add("wait_for_customer", "an internal note does not put the ticket on the subscriber");
    }
    v.finish()?;
    let now = app.now();
    let mut after = before.clone();
    if !input.internal {
        after
            .state
            .reply(Side::Support, input.wait_for_customer, tenant.tickets.reopen_days.into(), now)
            .map_err(not_now)?;
    } else if after.state.status == TicketStatus::Closed {
        return Err(not_now(domain::ticket::NotNow("the ticket is closed: open a new one")));
    }
    let author = Author {
        side: Side::Support,
        user_id: Some(actor.user_id),
        customer_id: None,
        name: me.map(|u| u.name).unwrap_or_else(|| "staff".into()),
    };
    after.messages += 1;
    after.last_message_at = now;
    let cited = crate::attachments::check_cited(app, &before, actor.user_id, &input.attachment_ids).await?;
    let message = TicketMessage {
        id: ids::new_id(),
        tenant_id: tid,
        ticket_id: id,
        author,
        internal: input.internal,
        body,
        attachment_ids: input.attachment_ids,
        at: now,
    };
    let action = if input.internal { "ticket.noted" } else { "ticket.replied" };
    let audit = staff_audit(actor, action, &before, &after, now);
    save(app, Change { before, after, message: Some(message), timeline: None, audit: Some(audit), alert: None, cited })
        .await
}

/// `POST /v1/portal/tickets/{id}/messages`: the subscriber's reply (reopens a ticket resolved
/// within the ISP's window; a closed one, or one resolved before it, is 409: open a new one).
pub async fn post_customer_message(app: &App, s: Subscriber, id: Uuid, input: TicketReply) -> Result<Ticket> {
    let tid = s.tenant_id;
    let ks = [ticket_key(tid, id), keys::tenant(tid, None)];
    let mut got = app.store.batch_get(&ks.iter().collect::<Vec<_>>()).await.or_500()?.into_iter();
    let before: Ticket = decoded::<Ticket>(got.next().flatten())?
        .filter(|t| t.customer_id == Some(s.customer_id))
        .ok_or_else(|| Error::not_found("ticket"))?;
    let tenant = tenant_of(got.next().flatten())?;
    let mut v = Validation::new();
    let body = v.text("body", &input.body, BODY_MAX);
    v.finish()?;
    let now = app.now();
    let mut after = before.clone();
    let was = after.state.status;
    after.state.reply(Side::Customer, false, tenant.tickets.reopen_days.into(), now).map_err(not_now)?;
    after.messages += 1;
    after.last_message_at = now;
    let name = before.customer_name.clone().unwrap_or_default();
    let cited = crate::attachments::check_cited(app, &before, s.customer_id, &input.attachment_ids).await?;
    let message = TicketMessage {
        id: ids::new_id(),
        tenant_id: tid,
        ticket_id: id,
        author: Author { side: Side::Customer, user_id: None, customer_id: Some(s.customer_id), name },
        internal: false,
        body,
        attachment_ids: input.attachment_ids,
        at: now,
    };
    let timeline = (was == TicketStatus::Resolved)
        .then(|| ("ticket.reopened", format!("Ticket {} reopened by the subscriber's reply", before.token)));
    save(app, Change { before, after, message: Some(message), timeline, audit: None, alert: None, cited }).await
}

/// `POST /v1/tickets/{id}/resolve`, `/close`, `/reopen`.
pub async fn act(app: &App, actor: &Actor, id: Uuid, action: Action) -> Result<Ticket> {
    let before = load_visible(app, actor, id, Permission::TicketsWrite).await?;
    let now = app.now();
    let mut after = before.clone();
    match action {
        Action::Resolve => after.state.resolve(now),
        Action::Close => after.state.close(now),
        Action::Reopen => after.state.reopen_by_support(),
    }
    .map_err(not_now)?;
    let summary = format!("Ticket {} {}", before.token, action.name());
    let audit = staff_audit(actor, "ticket.status_changed", &before, &after, now);
    let timeline = Some((
        match action {
            Action::Resolve => "ticket.resolved",
            Action::Close => "ticket.closed",
            Action::Reopen => "ticket.reopened",
        },
        summary,
    ));
    save(app, Change { before, after, message: None, timeline, audit: Some(audit), alert: None, cited: vec![] }).await
}

/// What one run of the SLA job did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct SlaSweep {
    pub due: usize,
    pub escalated: usize,
    /// Changed meanwhile or gone: left for the next run.
    pub skipped: usize,
}

#[derive(Deserialize)]
struct SlaCheck {
    tenant_id: Uuid,
    ticket_id: Uuid,
}

/// `job-ticket-sla`: every ticket whose service level fell due by `now` (a Query per shard of the
/// platform's SLA index) escalates to its next level, once per breach: the ticket (versioned),
/// its next check, and the staff alert (`ticket_escalated`, told by the ISP's messaging rules) in
/// one transaction. A ticket changed meanwhile is left for the next run.
pub async fn escalate_due(app: &App, now: DateTime<Utc>, max: usize) -> Result<SlaSweep> {
    let hi = format!("{}~", keys::key_time(now));
    let mut due: Vec<SlaCheck> = Vec::new();
    for shard in 0..keys::TICKET_SLA_SHARDS {
        let q = Query::table(keys::ticket_sla_pk(shard)).range(None, hi.clone()).limit(500);
        due.extend(app.store.query_all::<SlaCheck>(q, max).await.or_500()?);
    }
    due.truncate(max);
    let mut sweep = SlaSweep { due: due.len(), ..SlaSweep::default() };
    // The due tickets in BatchGetItems of 100, not one GetItem each.
    let ks: Vec<store::ItemKeys> = due.iter().map(|d| ticket_key(d.tenant_id, d.ticket_id)).collect();
    let found = app.store.batch_get_many(&ks.iter().collect::<Vec<_>>()).await.or_500()?;
    for item in found {
        let Some(before) = decoded::<Ticket>(item)? else {
            sweep.skipped += 1;
            continue;
        };
        let mut after = before.clone();
        let Some((level, breach)) = after.state.escalate(before.sla, now) else {
            // Due this very instant (a breach is strictly after it): the next run.
            sweep.skipped += 1;
            continue;
        };
        let what = match breach {
            domain::ticket::Breach::FirstResponse => "not answered in time",
            domain::ticket::Breach::Resolution => "not resolved in time",
        };
        let to = match level {
            domain::ticket::Escalation::Manager => "the manager",
            domain::ticket::Escalation::Admin => "the admin",
        };
        let priority = serde_json::to_value(before.state.priority).ok().and_then(|v| v.as_str().map(str::to_string));
        let detail = format!(
            "{} \"{}\" ({} priority) {what}; escalated to {to}",
            before.token,
            before.subject,
            priority.unwrap_or_default()
        );
        let alert_id = ids::derived_id(before.state.opened_at, &format!("ticket-sla:{}:{level:?}", before.id));
        let subject = AlertSubject {
            customer_id: before.customer_id,
            customer_name: before.customer_name.clone(),
            ..AlertSubject::default()
        };
        let alert =
            Alert::new(alert_id, before.tenant_id, AlertKind::TicketEscalated, subject, Some(detail.clone()), now);
        let timeline = Some(("ticket.escalated", format!("Ticket {} {what}: escalated to {to}", before.token)));
        match save(
            app,
            Change { before, after, message: None, timeline, audit: None, alert: Some(alert), cited: vec![] },
        )
        .await
        {
            Ok(_) => sweep.escalated += 1,
            Err(Error::Conflict { .. }) => sweep.skipped += 1,
            Err(e) => return Err(e),
        }
    }
    Ok(sweep)
}
