//! Credit notes and refunds: the only ways money leaves an issued invoice or the customer's
//! credit. A credit note takes an amount off an invoice (with a reason): off what is still owed
//! first; what exceeds it (the invoice was paid) settles the customer's other open invoices or
//! becomes credit. A refund pays credit back out (cash, bank transfer, mobile money). Each is one
//! transaction with its number, the invoices, the account (version-checked), the ledger, the audit
//! entry, the event and the idempotency record; `Idempotency-Key` is required.

use crate::books::{
    Attempt, Books, MAX_AMOUNT, attempt_failed, idempotent_money_write, invoice_event, invoice_timeline, load_invoice,
    load_open, require_key, stage_document_ref, stage_invoice_write, stage_ledger, stage_settled,
};
use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::customer::Customer;
use domain::event::{BillingEvent, DomainEvent};
use domain::invoice::{Invoice, InvoiceKind};
use domain::payment::PaymentMethod;
use domain::role::Permission;
use domain::{Result, Validation, ids};
use kernel::App;
use kernel::idempotency::{IdempotentRequest, Outcome, record};
use kernel::projections::timeline::{self, TimelineEntry, TimelineKind};
use kernel::support::{Audited, StoreResultExt, audit, snapshot, store_err};
use serde::{Deserialize, Serialize};
use store::{Conflict, Owner, Query, Store, Tx, keys};
use uuid::Uuid;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueCreditNote {
    /// Minor units, at most what was not credited yet.
    pub amount: i64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreditNote {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Per-tenant sequential number (`CN-2026-000002`).
    pub number: String,
    pub invoice_id: Uuid,
    pub invoice_number: Option<String>,
    pub customer_id: Uuid,
    pub amount: i64,
    pub currency: String,
    pub reason: String,
    /// Taken off what the invoice still owed.
    pub off_due: i64,
    /// Returned from what was paid: settled other invoices or became credit.
    pub returned: i64,
    pub to_credit: i64,
    pub balance_after: i64,
    pub issued_by: Uuid,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueRefund {
    /// Minor units, at most the customer's credit.
    pub amount: i64,
    pub method: PaymentMethod,
    /// The bank or mobile-money transaction of the refund (required for those).
    pub reference: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Refund {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub customer_id: Uuid,
    pub amount: i64,
    pub currency: String,
    pub method: PaymentMethod,
    pub reference: Option<String>,
    pub reason: String,
    pub balance_after: i64,
    pub refunded_by: Uuid,
    pub created_at: DateTime<Utc>,
}

impl store::Stored for CreditNote {
    const TYPE: &'static str = "CREDIT_NOTE";
    fn keys(&self) -> store::ItemKeys {
        keys::credit_note(self.tenant_id, self.customer_id, self.id)
    }
}

impl store::Stored for Refund {
    const TYPE: &'static str = "REFUND";
    fn keys(&self) -> store::ItemKeys {
        keys::refund(self.tenant_id, self.customer_id, self.id)
    }
}

/// Issues a credit note on an invoice (`POST /v1/invoices/{id}/credit-notes`).
pub async fn issue_credit_note(
    app: &App,
    actor: &Actor,
    invoice_id: Uuid,
    input: IssueCreditNote,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<CreditNote>> {
    actor.require(Permission::BillingWrite)?;
    let idem = require_key(idem, "credit note")?;
    let mut v = Validation::new();
    v.range_i64("amount", input.amount, 1, MAX_AMOUNT);
    let reason = v.text("reason", &input.reason, 300);
    v.finish()?;
    idempotent_money_write(app, actor, idem, || try_credit(app, actor, invoice_id, input.amount, &reason, idem)).await
}

async fn try_credit(
    app: &App,
    actor: &Actor,
    invoice_id: Uuid,
    amount: i64,
    reason: &str,
    idem: &IdempotentRequest,
) -> std::result::Result<CreditNote, Attempt> {
    let tid = actor.tenant()?;
    let now = app.now();
    let target = load_invoice(app, actor, invoice_id).await?;
    let mut books = Books::load(app, tid, target.customer_id, &["credit_note"]).await?;
    // The other open invoices take what the note returns; the target is staged on its own.
    let others: Vec<Invoice> =
        load_open(app, tid, &books.account).await?.into_iter().filter(|i| i.id != invoice_id).collect();
    let mut tx = Tx::new();
    let note = stage_credit_note(&mut tx, &mut books, actor, &target, amount, reason, &others, now)?;
    let mut moved = wallets::WalletSet::new(tid, &books.tenant.currency);
    stage_sale_share(app, &mut tx, &mut moved, &books, &target, amount, (actor.real_actor(), now)).await?;
    moved.stage(&mut tx)?;
    books.stage(&mut tx, tid)?;
    tx.put_idempotency(Owner::Tenant(tid), &idem.key_hash(actor.user_id), &record(idem, 201, &note, app)?);
    app.store.commit(tx).await.map_err(attempt_failed)?;
    Ok(note)
}

/// What a credit note on an invoice of an operator's customer does to the operators' money, in
/// the note's transaction: the commission earned on the invoice goes back in that share, and a
/// sale the operator's wallet paid for (its activation or package change) comes back in that share.
/// The wallets it moves are in `moved`, which the caller stages once (a refund crediting several
/// invoices moves them all in one transaction).
pub async fn stage_sale_share(
    app: &App,
    tx: &mut Tx,
    moved: &mut wallets::WalletSet,
    books: &Books,
    target: &Invoice,
    credited: i64,
    who: (Uuid, DateTime<Utc>),
) -> Result<()> {
    if target.scope.is_none() {
        return Ok(());
    }
    let share = (credited, target.total);
    wallets::commissions::stage_clawback(app, tx, moved, &books.tenant, target.id, share, who).await?;
    if target.operator_id.is_some() && matches!(target.kind, InvoiceKind::Activation | InvoiceKind::PackageChange) {
        let how = wallets::sales::Reversal::Credited { credited, total: target.total };
        wallets::sales::stage_reversal(app, tx, moved, target.id, how, who).await?;
    }
    Ok(())
}

/// Stages a credit note of `amount` on `target` (numbered from `books`, which the caller stages
/// once at the end): the invoice, the note, its ledger entry, the report aggregate, the timeline,
/// audit and events. What it returns settles `others` (the customer's other open invoices as
/// read; none: it all becomes credit).
#[allow(clippy::too_many_arguments)]
pub fn stage_credit_note(
    tx: &mut Tx,
    books: &mut Books,
    actor: &Actor,
    target: &Invoice,
    amount: i64,
    reason: &str,
    others: &[Invoice],
    now: DateTime<Utc>,
) -> Result<CreditNote> {
    let tid = books.tenant.id;
    let invoice_id = target.id;
    let mut settled = others.to_vec();
    let mut inv = target.clone();
    let id = ids::new_id();
    let number = books.next_number("credit_note", now)?;
    let memo = format!("Credit note {number}: {reason}");
    let (entry, alloc) = books.account.credit_note(id, &mut inv, amount, &mut settled, memo, now)?;
    inv.version += 1;
    inv.updated_at = now;
    stage_invoice_write(tx, &books.tenant, &inv, Some(target))?;
    kernel::projections::reports::stage_credit_note(tx, &books.tenant, target, amount, now);
    stage_settled(tx, &books.tenant, others, &mut settled, now)?;
    let note = CreditNote {
        id,
        tenant_id: tid,
        number,
        invoice_id,
        invoice_number: inv.number.clone(),
        customer_id: inv.customer_id,
        amount,
        currency: inv.currency.clone(),
        reason: reason.to_string(),
        off_due: target.amount_due - inv.amount_due,
        returned: amount - (target.amount_due - inv.amount_due),
        to_credit: alloc.to_credit,
        balance_after: books.account.balance,
        issued_by: actor.real_actor(),
        created_at: now,
    };
    let cid = inv.customer_id;
    tx.put_new(Store::encode_stored(&note).map_err(store_err)?, Conflict::Exists);
    stage_document_ref(tx, tid, "CN", id, cid)?;
    let summary = format!(
        "Credit note {} of {} {} on invoice {}: {reason}",
        note.number,
        domain::money::format_minor(amount, &note.currency),
        note.currency,
        note.invoice_number.as_deref().unwrap_or("(draft)")
    );
    let entry_of_note = invoice_timeline(&inv, "credit_note.issued", summary, Some(actor.real_actor()), now);
    timeline::stage(
        tx,
        tid,
        &entry_of_note.with_data(serde_json::json!({
        "credit_note_id": id, "number": note.number, "invoice_id": invoice_id, "amount": amount,
        "currency": note.currency, "to_credit": note.to_credit})),
    )?;
    stage_ledger(tx, tid, &[entry])?;
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "credit_note.issued",
            entity: "invoice",
            id: invoice_id.to_string(),
            before: Some(snapshot(target)),
            after: Some(snapshot(&inv)),
        },
        now,
    ));
    tx.put_event(&DomainEvent::new(
        BillingEvent::CreditNoteIssued,
        Some(tid),
        serde_json::json!({"credit_note_id": id, "number": note.number, "invoice_id": invoice_id, "customer_id": cid,
            "amount": amount, "currency": note.currency, "to_credit": note.to_credit}),
        now,
    ));
    if inv.status != target.status {
        tx.put_event(&invoice_event(BillingEvent::InvoiceCredited, &inv, now));
    }
    Ok(note)
}

/// The credit notes of an invoice, oldest first.
pub async fn list_credit_notes(app: &App, actor: &Actor, invoice_id: Uuid) -> Result<Vec<CreditNote>> {
    actor.require(Permission::BillingRead)?;
    let tid = actor.tenant()?;
    let inv = load_invoice(app, actor, invoice_id).await?;
    let q = Query::table(keys::customer_pk(tid, inv.customer_id)).prefix(keys::CREDIT_NOTE_SK_PREFIX).limit(200);
    let all: Vec<CreditNote> = app.store.query_all(q, 10_000).await.or_500()?;
    Ok(all.into_iter().filter(|n| n.invoice_id == invoice_id).collect())
}

/// Pays a customer's credit back out (`POST /v1/customers/{id}/refunds`).
pub async fn issue_refund(
    app: &App,
    actor: &Actor,
    customer_id: Uuid,
    input: IssueRefund,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<Refund>> {
    actor.require(Permission::BillingWrite)?;
    let idem = require_key(idem, "refund")?;
    let mut v = Validation::new();
    v.range_i64("amount", input.amount, 1, MAX_AMOUNT);
    let reason = v.text("reason", &input.reason, 300);
    let reference = domain::payment::checked_reference(&mut v, input.method, input.reference.as_deref());
    v.finish()?;
    let customer = crm::customers::get_customer(app, actor, customer_id).await?;
    idempotent_money_write(app, actor, idem, || {
        try_refund(app, actor, &customer, &input, &reason, reference.clone(), idem)
    })
    .await
}

async fn try_refund(
    app: &App,
    actor: &Actor,
    customer: &Customer,
    input: &IssueRefund,
    reason: &str,
    reference: Option<String>,
    idem: &IdempotentRequest,
) -> std::result::Result<Refund, Attempt> {
    let tid = actor.tenant()?;
    let now = app.now();
    let mut books = Books::load(app, tid, customer.id, &[]).await?;
    let id = ids::new_id();
    let memo = format!("Refund ({}): {reason}", input.method.as_str());
    let entry = books.account.refund(id, input.amount, memo, now)?;
    let mut tx = Tx::new();
    let paid_out = PaidOut { id, amount: input.amount, method: input.method, reference, reason };
    let refund = stage_refund(&mut tx, &books, actor, customer.scope.as_deref(), paid_out, entry, now)?;
    books.stage(&mut tx, tid)?;
    tx.put_idempotency(Owner::Tenant(tid), &idem.key_hash(actor.user_id), &record(idem, 201, &refund, app)?);
    app.store.commit(tx).await.map_err(attempt_failed)?;
    Ok(refund)
}

/// Money paid back out to a customer.
pub struct PaidOut<'a> {
    pub id: Uuid,
    pub amount: i64,
    pub method: PaymentMethod,
    pub reference: Option<String>,
    pub reason: &'a str,
}

/// Stages a refund whose ledger `entry` the caller took from `books.account` (which it stages
/// once at the end): the refund, the ledger, the report aggregate, the timeline, audit and event.
pub fn stage_refund(
    tx: &mut Tx,
    books: &Books,
    actor: &Actor,
    scope: Option<&str>,
    out: PaidOut<'_>,
    entry: domain::ledger::LedgerEntry,
    now: DateTime<Utc>,
) -> Result<Refund> {
    let tid = books.tenant.id;
    let customer_id = books.account.customer_id;
    let PaidOut { id, amount, method, reference, reason } = out;
    let refund = Refund {
        id,
        tenant_id: tid,
        customer_id,
        amount,
        currency: books.account.currency.clone(),
        method,
        reference,
        reason: reason.to_string(),
        balance_after: books.account.balance,
        refunded_by: actor.real_actor(),
        created_at: now,
    };
    tx.put_new(Store::encode_stored(&refund).map_err(store_err)?, Conflict::Exists);
    let summary = format!(
        "Refund of {} {} ({}): {reason}",
        domain::money::format_minor(refund.amount, &refund.currency),
        refund.currency,
        refund.method.as_str().replace('_', " ")
    );
    let entry_of_refund = TimelineEntry::new(customer_id, TimelineKind::Payment, "refund.issued", summary, now)
        .by(Some(refund.refunded_by))
        .with_data(serde_json::json!({"refund_id": id, "amount": refund.amount, "currency": refund.currency,
            "method": refund.method}));
    timeline::stage(tx, tid, &entry_of_refund)?;
    stage_ledger(tx, tid, &[entry])?;
    kernel::projections::reports::stage_refund(tx, &books.tenant, scope, refund.amount, now);
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "refund.issued",
            entity: "customer",
            id: customer_id.to_string(),
            before: None,
            after: Some(snapshot(&refund)),
        },
        now,
    ));
    tx.put_event(&DomainEvent::new(
        BillingEvent::RefundIssued,
        Some(tid),
        serde_json::json!({"refund_id": id, "customer_id": customer_id, "amount": refund.amount,
            "currency": refund.currency, "method": refund.method}),
        now,
    ));
    Ok(refund)
}

/// A customer's refunds, oldest first.
pub async fn list_refunds(app: &App, actor: &Actor, customer_id: Uuid) -> Result<Vec<Refund>> {
    actor.require(Permission::BillingRead)?;
    let tid = actor.tenant()?;
    crm::customers::get_customer(app, actor, customer_id).await?;
    let q = Query::table(keys::customer_pk(tid, customer_id)).prefix(keys::REFUND_SK_PREFIX).limit(200);
    app.store.query_all(q, 10_000).await.or_500()
}
