//! Invoices and customer accounts: issuing (numbered, with tax and discounts, paid from credit),
//! reading, listing and voiding. Every money write is one transaction: the invoice, the customer's
//! account (version-checked, so all money moves of one customer are serialised), its ledger
//! entries, the gapless number sequence, the audit entry and the event.

use chrono::{DateTime, Datelike, Duration, Utc};
use domain::actor::Actor;
use domain::billing::Terms;
use domain::cycle::{self, Period};
use domain::event::{BillingEvent, DomainEvent};
use domain::invoice::{
    Discount, Invoice, InvoiceKind, InvoiceStatus, LineInput, TaxRule, discounts_for, document_number, price_lines,
};
use domain::ledger::{Account, LedgerEntry};
use domain::role::Permission;
use domain::subscription::Subscription;
use domain::tenant::Tenant;
use domain::{Error, Result, ids};
use kernel::App;
pub use kernel::idempotency::{Attempt, attempt_failed, idempotent_money_write, require_key};
use kernel::projections::timeline::{self, TimelineEntry, TimelineKind};
use kernel::support::{Audited, StoreResultExt, audit, decoded, snapshot, store_err};
use serde::{Deserialize, Serialize};
use store::{Conflict, Filter, Owner, Page, Query, Store, StoreError, Tx, keys};
use uuid::Uuid;

/// The ISP's billing terms for the charge rules.
pub fn terms_of(tenant: &Tenant) -> Terms {
    Terms {
        tz: cycle::parse_tz(&tenant.time_zone),
        billing_day: tenant.billing.billing_day,
        cycle: tenant.billing.postpaid_cycle,
    }
}

pub fn tax_of(tenant: &Tenant) -> TaxRule {
    TaxRule { rate_bps: tenant.billing.tax_rate_bps.into(), inclusive: tenant.billing.tax_inclusive }
}

/// A stored account with the version it was read at (0: none yet).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AccountRecord {
    #[serde(flatten)]
    account: Account,
}

/// A per-tenant document number sequence as read (`read`) and as far as numbers were given out
/// since (`taken`); staging advances it from `read` to `taken` in the write's transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequence {
    name: String,
    read: u64,
    taken: u64,
}

impl Sequence {
    /// After the write committed: what was given out is now what is stored.
    pub fn committed(&self) -> Sequence {
        Sequence { name: self.name.clone(), read: self.taken, taken: self.taken }
    }
}

/// The sequences of `kinds` a write at `now` may use: the ISP's local year is one of three UTC
/// years around `now`, so all three are read and numbering is right near New Year in any time
/// zone without a second round trip.
fn sequence_keys(tid: Uuid, kinds: &[&str], now: DateTime<Utc>) -> Vec<(String, store::ItemKeys)> {
    let years = [now.year() - 1, now.year(), now.year() + 1];
    kinds
        .iter()
        .flat_map(|k| years.iter().map(move |y| sequence_name(k, *y)))
        .map(|n| (n.clone(), keys::sequence(tid, &n)))
        .collect()
}

fn read_sequence(name: String, item: Option<store::Item>) -> Sequence {
    let n = item.and_then(|i| store::number_attr(&i, "n")).unwrap_or(0);
    Sequence { name, read: n, taken: n }
}

/// The sequences of `kinds` (one BatchGetItem), for a run that issues many documents.
pub async fn load_sequences(app: &App, tid: Uuid, kinds: &[&str], now: DateTime<Utc>) -> Result<Vec<Sequence>> {
    let ks = sequence_keys(tid, kinds, now);
    let got = app.store.batch_get(&ks.iter().map(|(_, k)| k).collect::<Vec<_>>()).await.or_500()?;
    Ok(ks.into_iter().zip(got).map(|((name, _), item)| read_sequence(name, item)).collect())
}

/// Stages every sequence that moved, from where it was read to the last number given out.
pub fn stage_sequences(tx: &mut Tx, tid: Uuid, sequences: &[Sequence]) {
    for s in sequences.iter().filter(|s| s.taken > s.read) {
        tx.advance_sequence(&keys::sequence(tid, &s.name), s.read, s.taken - s.read);
    }
}

/// Everything money writes of one customer need, read together: the ISP, the account and the
/// number sequences used so far. A write stages the account once, at the end, against the version
/// it was read at.
pub struct Books {
    pub tenant: Tenant,
    pub account: Account,
    read_version: u64,
    sequences: Vec<Sequence>,
    pub discounts: Vec<Discount>,
}

fn sequence_name(kind: &str, year: i32) -> String {
    format!("{kind}:{year}")
}

impl Books {
    /// Reads the ISP, the customer's account and the sequences for `kinds` in one BatchGetItem.
    pub async fn load(app: &App, tid: Uuid, customer: Uuid, kinds: &[&str]) -> Result<Books> {
        let tk = keys::tenant(tid, None);
        let ak = keys::account(tid, customer);
        let seq_keys = sequence_keys(tid, kinds, app.now());
        let mut wanted = vec![&tk, &ak];
        wanted.extend(seq_keys.iter().map(|(_, k)| k));
        let mut got = app.store.batch_get(&wanted).await.or_500()?.into_iter();
        let tenant = kernel::support::tenant_of(got.next().flatten())?;
        let account = got.next().flatten();
        let sequences = seq_keys.into_iter().map(|(name, _)| read_sequence(name, got.next().flatten())).collect();
        Books::from_parts(tenant, customer, account, sequences, vec![])
    }

    /// Books from what a run read already: the ISP, its discounts and sequences, and the
    /// customer's stored account item (None: no account yet).
    pub fn from_parts(
        tenant: Tenant,
        customer: Uuid,
        account: Option<store::Item>,
        sequences: Vec<Sequence>,
        discounts: Vec<Discount>,
    ) -> Result<Books> {
        let account: Option<AccountRecord> = decoded(account)?;
        let account = account.map(|a| a.account).unwrap_or_else(|| Account::new(customer, &tenant.currency));
        Ok(Books { read_version: account.version, account, tenant, sequences, discounts })
    }

    /// The sequences, with the numbers this write took.
    pub fn sequences(&self) -> &[Sequence] {
        &self.sequences
    }

    /// The ISP's discounts (one Query), for invoices that charge packages.
    pub async fn load_discounts(&mut self, app: &App) -> Result<()> {
        self.discounts = load_discounts(app, self.tenant.id).await?;
        Ok(())
    }

    pub fn terms(&self) -> Terms {
        terms_of(&self.tenant)
    }

    /// The next number of a document kind (`invoice`, `receipt`, `credit_note`) in the ISP's
    /// current local year; the sequence is advanced when the books are staged.
    pub fn next_number(&mut self, kind: &str, now: DateTime<Utc>) -> Result<String> {
        let year = cycle::local_date(self.terms().tz, now).year();
        let name = sequence_name(kind, year);
        let slot = self
            .sequences
            .iter_mut()
            .find(|s| s.name == name)
            .ok_or_else(|| Error::Internal(format!("sequence {name} was not read")))?;
        slot.taken += 1;
        let prefix = match kind {
            "invoice" => &self.tenant.billing.invoice_prefix,
            "receipt" => &self.tenant.billing.receipt_prefix,
            _ => &self.tenant.billing.credit_note_prefix,
        };
        Ok(document_number(prefix, year, slot.taken))
    }

    /// Stages the account (version-checked) and every sequence that moved.
    pub fn stage(&self, tx: &mut Tx, tid: Uuid) -> Result<()> {
        self.stage_account(tx, tid)?;
        stage_sequences(tx, tid, &self.sequences);
        Ok(())
    }

    /// The account as staged, for a run that writes the same customer again after this commits.
    pub fn committed_account(&self) -> Result<store::Item> {
        let mut acc = self.account.clone();
        acc.version = self.read_version + 1;
        let item = keys::account(self.tenant.id, acc.customer_id);
        Store::encode(&item, "ACCOUNT", &AccountRecord { account: acc }, Some(self.read_version + 1)).or_500()
    }

    /// Stages the account alone (a run stages the sequences once for many customers).
    pub fn stage_account(&self, tx: &mut Tx, tid: Uuid) -> Result<()> {
        debug_assert_eq!(tid, self.tenant.id);
        let item = self.committed_account()?;
        tx.put_read_at(item, self.read_version);
        Ok(())
    }
}

/// The ISP's discounts (one Query).
pub async fn load_discounts(app: &App, tid: Uuid) -> Result<Vec<Discount>> {
    let q = Query::index("gsi1", keys::discounts_gsi1(tid)).limit(200);
    app.store.query_all(q, 1000).await.or_500()
}

/// What a new invoice is for: its id, customer (with the operator subtree that owns it), the
/// subscription and period it bills, and its lines before pricing.
pub struct InvoiceDraft<'a> {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub scope: (Option<Uuid>, Option<String>),
    pub subscription_id: Option<Uuid>,
    pub kind: InvoiceKind,
    pub period: Option<Period>,
    pub lines: &'a [LineInput],
}

/// A new draft invoice for a customer (lines priced with the ISP's tax and the discounts that apply).
pub fn new_invoice(
    tenant: &Tenant,
    all_discounts: &[Discount],
    draft: InvoiceDraft<'_>,
    now: DateTime<Utc>,
) -> Invoice {
    let InvoiceDraft { id, customer_id, scope, subscription_id, kind, period, lines } = draft;
    let discounts = discounts_for(customer_id, lines, all_discounts, now);
    let tax = tax_of(tenant);
    let mut inv = Invoice::draft(id, tenant.id, customer_id, &tenant.currency, kind, now);
    inv.subscription_id = subscription_id;
    inv.period = period;
    inv.tax_inclusive = tax.inclusive;
    (inv.operator_id, inv.scope) = scope;
    inv.set_lines(price_lines(lines, &discounts, tax));
    inv
}

/// The id of the invoice of a subscription's period: the same period always gives the same id,
/// so a repeated billing run or a redelivered message cannot issue it twice.
pub fn period_invoice_id(subscription: Uuid, period: &Period) -> Uuid {
    ids::derived_id(period.start, &format!("invoice:{subscription}:{}", keys::key_time(period.start)))
}

pub fn invoice_keys(inv: &Invoice) -> store::ItemKeys {
    store::Stored::keys(inv)
}

/// Stages an invoice: new (`before` None) or against the version `before` was read at; what it
/// still owes moves in the dues report.
pub fn stage_invoice_write(tx: &mut Tx, tenant: &Tenant, inv: &Invoice, before: Option<&Invoice>) -> Result<()> {
    let item = Store::encode_stored(inv).or_500()?;
    match before {
        None => tx.put_new(item, Conflict::Exists),
        Some(b) => tx.put_versioned(item, b.version),
    }
    kernel::projections::reports::stage_dues(tx, tenant, before, inv);
    Ok(())
}

pub fn stage_ledger(tx: &mut Tx, tid: Uuid, entries: &[LedgerEntry]) -> Result<()> {
    for e in entries {
        tx.put_new(
            Store::encode(&keys::ledger_entry(tid, e.customer_id, e.id), "LEDGER", e, None).or_500()?,
            Conflict::Exists,
        );
    }
    Ok(())
}

pub fn invoice_event(name: BillingEvent, inv: &Invoice, now: DateTime<Utc>) -> DomainEvent {
    DomainEvent::new(
        name,
        Some(inv.tenant_id),
        serde_json::json!({
            "invoice_id": inv.id,
            "number": inv.number,
            "customer_id": inv.customer_id,
            "subscription_id": inv.subscription_id,
            "status": inv.status,
            "currency": inv.currency,
            "total": inv.total,
            "amount_due": inv.amount_due,
            "due_date": inv.due_date,
            "version": inv.version,
        }),
        now,
    )
}

/// When an invoice issued at `now` is due: at `due` if that is later, else after the ISP's due days.
pub fn due_at(tenant: &Tenant, due: Option<DateTime<Utc>>, now: DateTime<Utc>) -> DateTime<Utc> {
    due.filter(|d| *d > now).unwrap_or_else(|| now + Duration::days(tenant.billing.due_days.into()))
}

/// Issues a draft: numbers it, books it on the account (paying it from credit as far as that
/// goes) and stages the invoice, its reference, ledger and events. Due after the ISP's due days,
/// or at `due` (a prepaid renewal is due when the paid validity ends). The caller stages the books.
pub fn stage_issue(
    tx: &mut Tx,
    books: &mut Books,
    inv: &mut Invoice,
    due: Option<DateTime<Utc>>,
    actor: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<()> {
    stage_issue_of(tx, books, inv, None, due, actor, now)
}

/// Issues an invoice: a new one (`draft` None: written with its reference) or a stored draft
/// (written against the version it was read at). Revenue is counted in the month it is issued.
pub fn stage_issue_of(
    tx: &mut Tx,
    books: &mut Books,
    inv: &mut Invoice,
    draft: Option<&Invoice>,
    due: Option<DateTime<Utc>>,
    actor: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<()> {
    let number = books.next_number("invoice", now)?;
    let due = due_at(&books.tenant, due, now);
    inv.issue(number, now, due)?;
    let entries = books.account.post_invoice(inv, now)?;
    inv.updated_at = now;
    let tid = inv.tenant_id;
    kernel::projections::reports::stage_revenue(tx, &books.tenant, inv, 1, now);
    match draft {
        Some(d) => {
            inv.version = d.version + 1;
            stage_invoice_write(tx, &books.tenant, inv, Some(d))?;
        }
        None => {
            stage_invoice_write(tx, &books.tenant, inv, None)?;
            stage_invoice_ref(tx, inv)?;
        }
    }
    stage_ledger(tx, tid, &entries)?;
    timeline::stage(tx, tid, &invoice_timeline(inv, "invoice.issued", issued_summary(inv), actor, now))?;
    tx.put_event(&invoice_event(BillingEvent::InvoiceIssued, inv, now));
    if inv.status == InvoiceStatus::Paid {
        tx.put_event(&invoice_event(BillingEvent::InvoicePaid, inv, now));
    }
    Ok(())
}

/// The customer's timeline entry for something that happened to an invoice.
pub fn invoice_timeline(
    inv: &Invoice,
    action: &str,
    summary: String,
    actor: Option<Uuid>,
    now: DateTime<Utc>,
) -> TimelineEntry {
    TimelineEntry::new(inv.customer_id, TimelineKind::Invoice, action, summary, now)
        .by(actor)
        .about(inv.subscription_id)
        .with_data(serde_json::json!({
            "invoice_id": inv.id,
            "number": inv.number,
            "total": inv.total,
            "amount_due": inv.amount_due,
            "currency": inv.currency,
            "status": inv.status,
        }))
}

/// `Invoice INV-000042 issued: 1,000.00 BDT (400.00 paid from credit)` (pure).
pub fn issued_summary(inv: &Invoice) -> String {
    let number = inv.number.as_deref().unwrap_or("(draft)");
    let total = domain::money::format_minor(inv.total, &inv.currency);
    // At issue, whatever is paid came from the account's credit.
    match inv.amount_paid {
        0 => format!("Invoice {number} issued: {total} {}", inv.currency),
        _ if inv.amount_due == 0 => format!("Invoice {number} issued: {total} {}, paid from credit", inv.currency),
        c => format!(
            "Invoice {number} issued: {total} {} ({} paid from credit)",
            inv.currency,
            domain::money::format_minor(c, &inv.currency)
        ),
    }
}

/// Where an invoice lives (its customer), so `/v1/invoices/{id}` reads it strongly.
pub fn stage_invoice_ref(tx: &mut Tx, inv: &Invoice) -> Result<()> {
    stage_document_ref(tx, inv.tenant_id, "INV", inv.id, inv.customer_id)
}

/// Where a billing document (`INV`, `PAY`, `CN`) lives: its customer's collection.
pub fn stage_document_ref(tx: &mut Tx, tid: Uuid, kind: &str, id: Uuid, customer_id: Uuid) -> Result<()> {
    let item_type = match kind {
        "INV" => "INVOICE_REF",
        "PAY" => "PAYMENT_REF",
        _ => "CREDIT_NOTE_REF",
    };
    let r = DocumentRef { customer_id };
    tx.put_new(Store::encode(&keys::document_ref(tid, kind, id), item_type, &r, None).or_500()?, Conflict::Exists);
    Ok(())
}

/// Most a single money document may move (10 billion major units): catches typos in minor units.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;

/// Where a billing document lives.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DocumentRef {
    pub customer_id: Uuid,
}

pub async fn locate(app: &App, tid: Uuid, kind: &str, id: Uuid, what: &str) -> Result<Uuid> {
    let r: Option<DocumentRef> = app.store.get(&keys::document_ref(tid, kind, id)).await.or_500()?;
    r.map(|r| r.customer_id).ok_or_else(|| Error::not_found(what))
}

fn visible(actor: &Actor, inv: Option<Invoice>) -> Result<Invoice> {
    match inv {
        Some(i) if actor.sees_scope(i.scope.as_deref()) => Ok(i),
        _ => Err(Error::not_found("invoice")),
    }
}

pub async fn load_invoice(app: &App, actor: &Actor, id: Uuid) -> Result<Invoice> {
    let tid = actor.tenant()?;
    let customer = locate(app, tid, "INV", id, "invoice").await?;
    let inv: Option<Invoice> = app.store.get(&keys::invoice(tid, customer, id, None, None, None)).await.or_500()?;
    visible(actor, inv)
}

pub async fn get_invoice(app: &App, actor: &Actor, id: Uuid) -> Result<Invoice> {
    actor.require(Permission::BillingRead)?;
    load_invoice(app, actor, id).await
}

#[derive(Debug, Default, Clone)]
pub struct InvoiceFilter {
    pub status: Option<InvoiceStatus>,
    pub customer_id: Option<Uuid>,
    pub operator_id: Option<Uuid>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Invoices newest first: a customer's from its collection; otherwise across the ISP (or the
/// caller's operator subtree) by issue time, with status and date range.
pub async fn list_invoices(
    app: &App,
    actor: &Actor,
    filter: InvoiceFilter,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<Invoice>> {
    actor.require(Permission::BillingRead)?;
    let tid = actor.tenant()?;
    let owner = Owner::Tenant(tid);
    let qid = format!(
        "invoices:{:?}:{:?}:{:?}:{:?}:{:?}",
        filter.status.map(|s| s.as_str()),
        filter.customer_id,
        filter.operator_id,
        filter.from,
        filter.to
    );
    let mut f = Filter::default();
    if let Some(s) = filter.status {
        f = f.eq("status", s.as_str());
    }
    // Operators only ever see their own subtree; anyone may narrow to one operator's customers.
    if let Some(s) = &actor.scope {
        f = f.in_subtree("scope", s);
    }
    if let Some(op) = filter.operator_id {
        f = f.eq("operator_id", &op.to_string());
    }
    let listing = DocumentListing {
        customer: filter.customer_id.map(|c| (keys::customer_pk(tid, c), keys::INVOICE_SK_PREFIX, "issued_at")),
        operator: actor.scope.as_deref().map(|s| keys::invoices_by_operator_gsi3(tid, s)),
        shards: (0..keys::INVOICE_SHARDS).map(|n| keys::invoices_gsi1(tid, n)).collect(),
        from: filter.from,
        to: filter.to,
    };
    document_page(app, owner, &qid, listing, f, limit, cursor).await
}

/// Where a listing of billing documents reads, newest first within `from..to`: one customer's
/// collection (its partition, sort-key prefix and time attribute), the caller's operator subtree
/// index, or the ISP's write-sharded index.
pub struct DocumentListing {
    pub customer: Option<(String, &'static str, &'static str)>,
    pub operator: Option<String>,
    pub shards: Vec<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

pub async fn document_page<T: serde::de::DeserializeOwned>(
    app: &App,
    owner: Owner,
    qid: &str,
    listing: DocumentListing,
    mut f: Filter,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<T>> {
    let with = |q: Query, f: &Filter| if f.expression.is_empty() { q } else { q.filter(f.clone()) };
    if let Some((pk, prefix, time_attr)) = listing.customer {
        // Stored times are RFC 3339 UTC with `Z` and maybe a fraction; a bound without suffix
        // compares right against both ("..:05" <= "..:05.3Z" < "..:06").
        let bound = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S").to_string();
        f = f.between(time_attr, listing.from.map(bound), listing.to.map(bound));
        let q = Query::table(pk).prefix(prefix).newest_first().limit(limit);
        return app.store.query_page(owner, qid, with(q, &f), cursor).await.or_500();
    }
    let lo = listing.from.map(keys::key_time);
    let hi = listing.to.map(keys::key_time).unwrap_or_else(|| "~".into());
    if let Some(gsi3) = listing.operator {
        let q = Query::index("gsi3", gsi3).range(lo, hi).newest_first().limit(limit);
        return app.store.query_page(owner, qid, with(q, &f), cursor).await.or_500();
    }
    let queries = listing
        .shards
        .into_iter()
        .map(|pk| with(Query::index("gsi1", pk).range(lo.clone(), hi.clone()).newest_first(), &f))
        .collect();
    let (items, next) = app.store.query_merged_page(owner, qid, queries, limit, cursor).await.or_500()?;
    Ok(Page { items: items.into_iter().map(Store::decode).collect::<store::Result<_>>().or_500()?, next_cursor: next })
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidInput {
    pub reason: String,
}

/// Voids an invoice nothing was paid on: what was owed leaves the customer's balance.
pub async fn void_invoice(app: &App, actor: &Actor, id: Uuid, input: VoidInput) -> Result<Invoice> {
    actor.require(Permission::BillingWrite)?;
    let mut v = domain::Validation::new();
    let reason = v.text("reason", &input.reason, 300);
    v.finish()?;
    let tid = actor.tenant()?;
    for _ in 0..4 {
        let before = load_invoice(app, actor, id).await?;
        let mut books = Books::load(app, tid, before.customer_id, &[]).await?;
        let mut inv = before.clone();
        let entry = books.account.void(&mut inv, reason.clone(), app.now())?;
        let now = app.now();
        inv.version += 1;
        inv.updated_at = now;
        let mut tx = Tx::new();
        stage_invoice_write(&mut tx, &books.tenant, &inv, Some(&before))?;
        if before.status != InvoiceStatus::Draft {
            kernel::projections::reports::stage_revenue(&mut tx, &books.tenant, &before, -1, now);
        }
        books.stage(&mut tx, tid)?;
        stage_ledger(&mut tx, tid, &entry.into_iter().collect::<Vec<_>>())?;
        tx.put_audit(&audit(
            actor,
            Some(tid),
            Audited {
                action: "invoice.voided",
                entity: "invoice",
                id: id.to_string(),
                before: Some(snapshot(&before)),
                after: Some(snapshot(&inv)),
            },
            now,
        ));
        if before.status != InvoiceStatus::Draft {
            let summary = format!("Invoice {} voided: {reason}", inv.number.as_deref().unwrap_or("(draft)"));
            timeline::stage(
                &mut tx,
                tid,
                &invoice_timeline(&inv, "invoice.voided", summary, Some(actor.real_actor()), now),
            )?;
        }
        tx.put_event(&invoice_event(BillingEvent::InvoiceVoided, &inv, now));
        // An operator's wallet paid for what the invoice billed (an activation or package change
        // an operator made for its customer): the money goes back with it.
        if before.operator_id.is_some() && matches!(before.kind, InvoiceKind::Activation | InvoiceKind::PackageChange) {
            let mut moved = wallets::WalletSet::new(tid, &books.tenant.currency);
            let how = wallets::sales::Reversal::Void;
            wallets::sales::stage_reversal(app, &mut tx, &mut moved, id, how, (actor.real_actor(), now)).await?;
            moved.stage(&mut tx)?;
        }
        match app.store.commit(tx).await {
            Ok(()) => return Ok(inv),
            Err(StoreError::Conflict(Conflict::Version)) => continue,
            Err(e) => return Err(store_err(e)),
        }
    }
    Err(Error::version_conflict())
}

/// A customer's account: balance, credit and open invoices.
pub async fn get_account(app: &App, actor: &Actor, customer_id: Uuid) -> Result<Account> {
    actor.require(Permission::BillingRead)?;
    let tid = actor.tenant()?;
    crm::customers::get_customer(app, actor, customer_id).await?;
    Ok(Books::load(app, tid, customer_id, &[]).await?.account)
}

/// A customer's ledger, oldest first.
pub async fn list_ledger(
    app: &App,
    actor: &Actor,
    customer_id: Uuid,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<LedgerEntry>> {
    actor.require(Permission::BillingRead)?;
    let tid = actor.tenant()?;
    crm::customers::get_customer(app, actor, customer_id).await?;
    let q = Query::table(keys::customer_pk(tid, customer_id)).prefix(keys::LEDGER_SK_PREFIX).limit(limit);
    app.store.query_page(Owner::Tenant(tid), &format!("ledger:{customer_id}"), q, cursor).await.or_500()
}

/// The subscription an invoice line bills, for the detail a renewal carries.
pub fn subscription_scope(s: &Subscription) -> (Option<Uuid>, Option<String>) {
    (s.operator_id, s.scope.clone())
}

/// The invoices the account lists as open, in one BatchGetItem.
pub async fn load_open(app: &App, tid: Uuid, account: &Account) -> Result<Vec<Invoice>> {
    let ks: Vec<store::ItemKeys> = account
        .open_ids()
        .into_iter()
        .map(|id| keys::invoice(tid, account.customer_id, id, None, None, None))
        .collect();
    if ks.is_empty() {
        return Ok(vec![]);
    }
    let got = app.store.batch_get_many(&ks.iter().collect::<Vec<_>>()).await.or_500()?;
    got.into_iter()
        .map(|i| {
            decoded::<Invoice>(i)?.ok_or_else(|| Error::Internal("an open invoice of the account is missing".into()))
        })
        .collect()
}

/// Stages the invoices money settled (those that changed), each against the version it was read at.
pub fn stage_settled(
    tx: &mut Tx,
    tenant: &Tenant,
    before: &[Invoice],
    after: &mut [Invoice],
    now: DateTime<Utc>,
) -> Result<Vec<Invoice>> {
    let mut changed = vec![];
    for inv in after.iter_mut() {
        let old = before.iter().find(|b| b.id == inv.id);
        if old == Some(inv) {
            continue;
        }
        inv.version += 1;
        inv.updated_at = now;
        stage_invoice_write(tx, tenant, inv, old)?;
        if inv.status == InvoiceStatus::Paid && old.is_some_and(|o| o.status != InvoiceStatus::Paid) {
            tx.put_event(&invoice_event(BillingEvent::InvoicePaid, inv, now));
        }
        changed.push(inv.clone());
    }
    Ok(changed)
}

/// What a subscription change bills: the activation's first period, or the proration of a package
/// change (an invoice when it charges, credit on the account when it gives back). Staged into the
/// change's own transaction; returns the invoice, if one was issued.
pub struct ChangeBilling<'a> {
    pub kind: InvoiceKind,
    pub period: Option<Period>,
    pub lines: Vec<LineInput>,
    pub memo: &'a str,
    /// Who made the change (None: the system), for the customer's timeline.
    pub actor: Option<Uuid>,
}

pub async fn stage_change_billing(
    app: &App,
    tx: &mut Tx,
    books: &mut Books,
    sub: &Subscription,
    what: ChangeBilling<'_>,
    now: DateTime<Utc>,
) -> Result<Option<Invoice>> {
    if what.lines.is_empty() {
        return Ok(None);
    }
    let tid = sub.tenant_id;
    books.load_discounts(app).await?;
    let id = match (what.kind, what.period) {
        (InvoiceKind::Activation | InvoiceKind::Renewal, Some(p)) => period_invoice_id(sub.id, &p),
        _ => ids::new_id(),
    };
    let draft = InvoiceDraft {
        id,
        customer_id: sub.customer_id,
        scope: subscription_scope(sub),
        subscription_id: Some(sub.id),
        kind: what.kind,
        period: what.period,
        lines: &what.lines,
    };
    let mut inv = new_invoice(&books.tenant, &books.discounts, draft, now);
    if inv.total >= 0 {
        stage_issue(tx, books, &mut inv, None, what.actor, now)?;
        books.stage(tx, tid)?;
        return Ok(Some(inv));
    }
    // A downgrade gives back more than it charges: the difference is the customer's credit.
    let before = load_open(app, tid, &books.account).await?;
    let mut open = before.clone();
    let (entry, _) = books.account.grant_credit(id, -inv.total, &mut open, what.memo.to_string(), now)?;
    stage_settled(tx, &books.tenant, &before, &mut open, now)?;
    stage_ledger(tx, tid, &[entry])?;
    books.stage(tx, tid)?;
    Ok(None)
}
