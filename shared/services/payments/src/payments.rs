//! Manual payments (`/v1/payments`): cash, bank transfer, mobile money, against an invoice or as
//! an advance. Applying one is a single transaction: the payment with its receipt number, the
//! invoices it settles, the customer's account and ledger, the subscriptions it extends or
//! restores, the uniqueness of its external reference, the idempotency record, the audit entry and
//! the events (`PaymentReceived`, `InvoicePaid`, `SubscriptionRestored`...). A repeat with the same
//! `Idempotency-Key` returns the first answer; the same reference for the same method is 409.

use billing::books::{
    Attempt, Books, DocumentListing, MAX_AMOUNT, attempt_failed, document_page, idempotent_money_write, load_invoice,
    load_open, locate, require_key, stage_document_ref, stage_ledger, stage_settled,
};
use chrono::{DateTime, Utc};
use crm::customers::CustomerRecord;
use domain::actor::Actor;
use domain::commission::Applied;
use domain::event::{BillingEvent, DomainEvent, NetworkEvent};
use domain::invoice::{Invoice, InvoiceKind, InvoiceStatus};
use domain::ledger::Account;
use domain::payment::{AppliedTo, GatewayPayment, Payment, PaymentMethod, checked_reference};
use domain::role::Permission;
use domain::subscription::{Action, BillingModel, SubscriptionStatus, UNPAID, status_after_extension};
use domain::{Error, Result, Validation, ids};
use kernel::App;
use kernel::idempotency::{IdempotentRequest, Outcome, record};
use kernel::projections::dashboard::Deltas;
use kernel::projections::timeline::{self, TimelineEntry, TimelineKind};
use kernel::support::{Audited, StoreResultExt, audit, decoded, snapshot, store_err};
use serde::Deserialize;
use store::{Conflict, Owner, Page, Store, StoreError, Tx, keys};
use subscriptions::subscriptions::{BillingUpdate, SubscriptionRecord, stage_billing_update, stage_customer_moves};
use uuid::Uuid;
use wallets::commissions::Earned;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordPayment {
    /// Pay this invoice (anything beyond what it owes settles the customer's other open invoices,
    /// then becomes credit).
    pub invoice_id: Option<Uuid>,
    /// Or pay the customer in advance: open invoices first (oldest due first), the rest credit.
    pub customer_id: Option<Uuid>,
    /// Minor units of the ISP's currency.
    pub amount: i64,
    pub method: PaymentMethod,
    /// The bank or mobile-money transaction id (required for those; unique per method).
    pub reference: Option<String>,
    pub note: Option<String>,
    /// When the money was received, if not now.
    pub received_at: Option<DateTime<Utc>>,
}

fn validate(input: &RecordPayment, now: DateTime<Utc>) -> Result<(Option<String>, Option<String>)> {
    let mut v = Validation::new();
    match (input.invoice_id, input.customer_id) {
        (None, None) => v.add("invoice_id", "either invoice_id or customer_id is required"),
        (Some(_), Some(_)) => v.add("customer_id", "give invoice_id or customer_id, not both"),
        _ => {}
    }
    v.range_i64("amount", input.amount, 1, MAX_AMOUNT);
    match input.method {
        PaymentMethod::Online => {
            v.add("method", "online payments are recorded by their gateway's checkout, not by hand")
        }
        PaymentMethod::RechargeCard => v.add("method", "recharge cards are redeemed, not recorded by hand"),
        _ => {}
    }
    let reference = checked_reference(&mut v, input.method, input.reference.as_deref());
    let note = v.optional_text("note", input.note.as_deref(), 300);
    if input.received_at.is_some_and(|r| r > now + chrono::Duration::minutes(5)) {
        v.add("received_at", "must not be in the future");
    }
    v.finish()?;
    Ok((reference, note))
}

/// Records a manual payment. `Idempotency-Key` is required.
pub async fn record_payment(
    app: &App,
    actor: &Actor,
    input: RecordPayment,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<Payment>> {
    actor.require(Permission::PaymentsCollect)?;
    let idem = require_key(idem, "payment")?;
    let tid = actor.tenant()?;
    let (reference, note) = validate(&input, app.now())?;
    let owner = Owner::Tenant(tid);
    let key = idem.key_hash(actor.user_id);
    let with_answer = |tx: &mut Tx, payment: &Payment| -> Result<()> {
        tx.put_idempotency(owner, &key, &record(idem, 201, payment, app)?);
        Ok(())
    };
    let money = MoneyIn {
        input: &input,
        reference: reference.clone(),
        note: note.clone(),
        gateway: None,
        closed_invoice: ClosedInvoice::Refuse,
        payer: None,
        also: &with_answer,
    };
    idempotent_money_write(app, actor, idem, || settle(app, actor, tid, &money)).await
}

/// What to do when the invoice paid for is no longer open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosedInvoice {
    /// Tell the person recording it (they can record an advance instead).
    Refuse,
    /// The money was taken already (online): it goes to the customer's account instead, where it
    /// settles other open invoices first and then stays as credit.
    Advance,
}

/// Money coming in, by any path: the one settle path's input.
pub struct MoneyIn<'a> {
    pub input: &'a RecordPayment,
    /// Checked already (`checked_reference`): the bank or wallet transaction id.
    pub reference: Option<String>,
    pub note: Option<String>,
    /// Online: the gateway, checkout and transaction (its sentinel is written with the payment).
    pub gateway: Option<GatewayPayment>,
    pub closed_invoice: ClosedInvoice,
    /// The paying customer when the caller knows it already (a checkout names it): the invoice's
    /// reference item is then not read.
    pub payer: Option<Uuid>,
    /// What else the same transaction writes (the idempotency record by hand; the checkout's new
    /// state online).
    pub also: &'a (dyn Fn(&mut Tx, &Payment) -> Result<()> + Sync),
}

/// Whose money a payment is, and the operator subtree it is collected in.
struct Payer {
    customer_id: Uuid,
    scope: Option<String>,
    operator_id: Option<Uuid>,
}

/// The paying customer: the invoice's (found through its reference item) or the one named, which
/// the caller must see (operators: their subtree).
async fn payer_of(app: &App, actor: &Actor, tid: Uuid, input: &RecordPayment) -> Result<Payer> {
    match (input.invoice_id, input.customer_id) {
        (Some(id), _) => {
            let customer_id = locate(app, tid, "INV", id, "invoice").await.map_err(|_| unknown_invoice())?;
            Ok(Payer { customer_id, scope: None, operator_id: None })
        }
        (None, Some(c)) => {
            let customer = crm::customers::get_customer(app, actor, c).await.map_err(|e| match e {
                Error::NotFound { .. } => Error::field("customer_id", "is not a customer of this ISP"),
                e => e,
            })?;
            Ok(Payer { customer_id: c, scope: customer.scope, operator_id: customer.operator_id })
        }
        (None, None) => unreachable!("validated"),
    }
}

fn unknown_invoice() -> Error {
    Error::field("invoice_id", "is not an invoice of this ISP")
}

/// A payment against an invoice takes the invoice's subtree, if the invoice is among the
/// account's open ones and the caller sees it; an invoice that is not open is read only to say
/// why, or (online money) the payment becomes an advance in the customer's subtree. Returns the
/// payer and the invoice the payment goes to first.
async fn payable(
    app: &App,
    actor: &Actor,
    money: &MoneyIn<'_>,
    open: &[Invoice],
    payer: Payer,
) -> Result<(Payer, Option<Uuid>)> {
    let Some(id) = money.input.invoice_id else { return Ok((payer, None)) };
    match open.iter().find(|i| i.id == id) {
        Some(inv) if actor.sees_scope(inv.scope.as_deref()) => {
            Ok((Payer { scope: inv.scope.clone(), operator_id: inv.operator_id, ..payer }, Some(id)))
        }
        Some(_) => Err(unknown_invoice()),
        None if money.closed_invoice == ClosedInvoice::Advance => {
            let c = crm::customers::get_customer(app, actor, payer.customer_id).await?;
            Ok((Payer { scope: c.scope, operator_id: c.operator_id, ..payer }, None))
        }
        None => {
            let inv = load_invoice(app, actor, id).await.map_err(|e| match e {
                Error::NotFound { .. } => unknown_invoice(),
                e => e,
            })?;
            Err(Error::Conflict {
                code: "invoice_not_payable",
                detail: format!(
                    "the invoice is {}; record an advance payment instead",
                    inv.status.as_str().replace('_', " ")
                ),
                field: Some("invoice_id".into()),
            })
        }
    }
}

/// The payment item, its document reference (`PAY`) and the uniqueness of its external reference
/// per method.
fn stage_payment(tx: &mut Tx, payment: &Payment) -> Result<()> {
    let (tid, customer_id, id) = (payment.tenant_id, payment.customer_id, payment.id);
    let k = keys::payment(tid, customer_id, id, payment.scope.as_deref(), payment.received_at);
    tx.put_new(Store::encode(&k, "PAYMENT", payment, None).map_err(store_err)?, Conflict::Exists);
    stage_document_ref(tx, tid, "PAY", id, customer_id)?;
    match (&payment.gateway, &payment.reference) {
        // Online: one payment per (gateway, the gateway's transaction id), whatever the checkout.
        (Some(g), _) => {
            let value = format!("{}:{}", g.gateway.as_str(), g.transaction_id);
            tx.put_unique(
                keys::unique(Owner::Tenant(tid), "gateway_transaction", &value),
                "transaction_id",
                &id.to_string(),
            );
        }
        (None, Some(r)) => {
            let value = format!("{}:{}", payment.method.as_str(), r.to_lowercase());
            tx.put_unique(keys::unique(Owner::Tenant(tid), "payment_reference", &value), "reference", &id.to_string());
        }
        (None, None) => {}
    }
    Ok(())
}

/// The customer's timeline entry of a payment (pure).
fn payment_timeline(p: &Payment) -> TimelineEntry {
    let summary = format!(
        "Payment {} of {} {} received ({})",
        p.receipt_number,
        domain::money::format_minor(p.amount, &p.currency),
        p.currency,
        match &p.gateway {
            Some(g) => format!("online, {}", g.gateway.as_str()),
            None => p.method.as_str().replace('_', " "),
        }
    );
    TimelineEntry::new(p.customer_id, TimelineKind::Payment, "payment.received", summary, p.created_at)
        .by(Some(p.collected_by))
        .with_data(serde_json::json!({
            "payment_id": p.id,
            "receipt_number": p.receipt_number,
            "amount": p.amount,
            "currency": p.currency,
            "method": p.method,
            "invoice_ids": p.applied.iter().map(|a| a.invoice_id).collect::<Vec<_>>(),
            "to_credit": p.to_credit,
        }))
}

/// `PaymentReceived`, with the subscriptions the payment restored (pure).
fn payment_received(payment: &Payment, restored: &[Uuid], now: DateTime<Utc>) -> DomainEvent {
    DomainEvent::new(
        BillingEvent::PaymentReceived,
        Some(payment.tenant_id),
        serde_json::json!({
            "payment_id": payment.id,
            "customer_id": payment.customer_id,
            "invoice_id": payment.invoice_id,
            "receipt_number": payment.receipt_number,
            "amount": payment.amount,
            "currency": payment.currency,
            "method": payment.method,
            "scope": payment.scope,
            "restored_subscriptions": restored,
        }),
        now,
    )
}

/// The one settle path: applies money in one transaction with its receipt, the invoices it
/// settles, the account and ledger, the books, the report aggregates, the subscriptions it
/// restores or extends, the audit entry, the events, and what the caller adds (`also`). A
/// repeat of the same online transaction fails on its sentinel, not by a read.
pub async fn settle(app: &App, actor: &Actor, tid: Uuid, money: &MoneyIn<'_>) -> std::result::Result<Payment, Attempt> {
    let input = money.input;
    let now = app.now();
    let payer = match money.payer {
        Some(customer_id) => Payer { customer_id, scope: None, operator_id: None },
        None => payer_of(app, actor, tid, input).await?,
    };
    let mut books = Books::load(app, tid, payer.customer_id, &["receipt"]).await?;
    let before = load_open(app, tid, &books.account).await?;
    let (Payer { customer_id, scope, operator_id }, invoice_id) = payable(app, actor, money, &before, payer).await?;
    let mut open = before.clone();
    let id = ids::new_id();
    let receipt_number = books.next_number("receipt", now)?;
    let how = match &money.gateway {
        Some(g) => g.gateway.as_str(),
        None => input.method.as_str(),
    };
    let memo = format!("Payment {receipt_number} ({how})");
    let (entry, alloc) = books.account.receive_payment(id, input.amount, invoice_id, &mut open, memo, now)?;
    let mut tx = Tx::new();
    let changed = stage_settled(&mut tx, &books.tenant, &before, &mut open, now)?;
    let paid: Vec<&Invoice> = changed.iter().filter(|i| i.status == InvoiceStatus::Paid).collect();
    let restored = stage_paid_effects(app, &mut tx, tid, customer_id, &paid, &books.account, now).await?;
    let payment = Payment {
        id,
        tenant_id: tid,
        customer_id,
        invoice_id: input.invoice_id,
        receipt_number,
        amount: input.amount,
        currency: books.account.currency.clone(),
        method: input.method,
        reference: money.reference.clone(),
        note: money.note.clone(),
        applied: alloc.invoices.iter().map(|(i, a)| AppliedTo { invoice_id: *i, amount: *a }).collect(),
        to_credit: alloc.to_credit,
        balance_after: books.account.balance,
        collected_by: actor.real_actor(),
        operator_id,
        scope: scope.clone(),
        received_at: input.received_at.unwrap_or(now),
        created_at: now,
        gateway: money.gateway.clone(),
    };
    stage_payment(&mut tx, &payment)?;
    let applied: Vec<Applied> = alloc
        .invoices
        .iter()
        .filter_map(|(id, amount)| {
            let invoice = changed.iter().find(|i| i.id == *id).or_else(|| before.iter().find(|i| i.id == *id))?;
            Some(Applied { invoice, amount: *amount, paid_in_full: invoice.status == InvoiceStatus::Paid })
        })
        .collect();
    let earned = Earned {
        tenant: &books.tenant,
        payment_id: id,
        customer_id,
        receipt_number: &payment.receipt_number,
        by: actor.real_actor(),
        at: now,
    };
    wallets::commissions::stage_commissions(app, &mut tx, &earned, &applied).await?;
    timeline::stage(&mut tx, tid, &payment_timeline(&payment))?;
    stage_ledger(&mut tx, tid, &[entry])?;
    books.stage(&mut tx, tid)?;
    kernel::projections::reports::stage_collection(&mut tx, &books.tenant, &payment);
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "payment.recorded",
            entity: "payment",
            id: id.to_string(),
            before: None,
            after: Some(snapshot(&payment)),
        },
        now,
    ));
    tx.put_event(&payment_received(&payment, &restored, now));
    (money.also)(&mut tx, &payment)?;
    match app.store.commit(tx).await {
        Ok(()) => Ok(payment),
        Err(StoreError::Conflict(Conflict::Unique(f))) if f == "transaction_id" => {
            Err(Attempt::Failed(Error::Conflict {
                code: "transaction_applied",
                detail: "this gateway transaction was applied already".into(),
                field: None,
            }))
        }
        Err(StoreError::Conflict(Conflict::Unique(f))) if f == "reference" => Err(Attempt::Failed(Error::Conflict {
            code: "duplicate_reference",
            detail: format!(
                "a {} payment with this reference was recorded already",
                input.method.as_str().replace('_', " ")
            ),
            field: Some("reference".into()),
        })),
        Err(e) => Err(attempt_failed(e)),
    }
}

/// What invoices that became paid do to their subscriptions: a prepaid renewal buys the next
/// validity (from the expiry, or from now when it already passed), and a subscription suspended
/// for non-payment is restored once none of its invoices is overdue. Returns the restored ids.
pub async fn stage_paid_effects(
    app: &App,
    tx: &mut Tx,
    tid: Uuid,
    customer_id: Uuid,
    paid: &[&Invoice],
    account: &Account,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>> {
    let mut subs: Vec<Uuid> = paid.iter().filter_map(|i| i.subscription_id).collect();
    subs.sort();
    subs.dedup();
    if subs.is_empty() {
        return Ok(vec![]);
    }
    let ck = keys::customer(tid, customer_id, None);
    let sks: Vec<store::ItemKeys> =
        subs.iter().map(|s| keys::subscription(tid, customer_id, *s, None, None, None)).collect();
    let mut wanted = vec![&ck];
    wanted.extend(sks.iter());
    let mut got = app.store.batch_get_many(&wanted).await.or_500()?.into_iter();
    let customer_rec: CustomerRecord =
        decoded(got.next().flatten())?.ok_or_else(|| Error::Internal("an account without its customer".into()))?;
    let customer_before = customer_rec.customer;
    let mut customer = customer_before.clone();
    let mut counts = Deltas::default();
    let mut restored = vec![];
    for item in got {
        let Some(rec) = decoded::<SubscriptionRecord>(item)? else { continue };
        let before = &rec.subscription;
        if before.status == SubscriptionStatus::Cancelled {
            continue;
        }
        let mut after = before.clone();
        let mut events: Vec<(NetworkEvent, serde_json::Value)> = vec![];
        for inv in paid.iter().filter(|i| i.subscription_id == Some(before.id)) {
            if inv.kind == InvoiceKind::Renewal
                && before.billing_model == BillingModel::Prepaid
                && let Some(p) = inv.period
            {
                let base = after.expires_at.filter(|e| *e > now).unwrap_or(now);
                let e = base + (p.end - p.start);
                after.expires_at = Some(e);
                after.status = status_after_extension(after.status, e, now);
                events.push((
                    Action::Extend.event(),
                    serde_json::json!({"invoice_id": inv.id, "previous_expires_at": before.expires_at}),
                ));
            }
        }
        if after.status == SubscriptionStatus::Suspended
            && after.status_reason.as_deref() == Some(UNPAID)
            && account.overdue_of(after.id, now) == 0
        {
            after.status = SubscriptionStatus::Active;
        }
        if after.status != before.status && after.status == SubscriptionStatus::Active {
            after.status_reason = None;
            events.push((Action::Restore.event(), serde_json::json!({"reason": "paid"})));
            restored.push(after.id);
        }
        if after == *before {
            continue;
        }
        after.version += 1;
        after.updated_at = now;
        let note = match (after.status != before.status, after.expires_at != before.expires_at) {
            (true, _) => format!("Subscription {}: restored after payment", after.username),
            _ => format!(
                "Subscription {}: renewed until {}",
                after.username,
                after.expires_at.map(|e| e.to_rfc3339()).unwrap_or_default()
            ),
        };
        let update = BillingUpdate { rec: &rec, after: &after, events: &events, note };
        stage_billing_update(tx, &mut customer, &mut counts, update, now)?;
    }
    stage_customer_moves(tx, &customer_before, &mut customer, &mut counts, now)?;
    counts.stage(tx, tid);
    Ok(restored)
}

fn visible(actor: &Actor, p: Option<Payment>) -> Result<Payment> {
    match p {
        Some(p) if actor.sees_scope(p.scope.as_deref()) => Ok(p),
        _ => Err(Error::not_found("payment")),
    }
}

pub async fn get_payment(app: &App, actor: &Actor, id: Uuid) -> Result<Payment> {
    actor.require(Permission::BillingRead)?;
    let tid = actor.tenant()?;
    let customer = locate(app, tid, "PAY", id, "payment").await?;
    let p: Option<Payment> = app.store.get(&keys::payment(tid, customer, id, None, app.now())).await.or_500()?;
    visible(actor, p)
}

#[derive(Debug, Default, Clone)]
pub struct PaymentFilter {
    pub customer_id: Option<Uuid>,
    pub method: Option<PaymentMethod>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Payments newest first: a customer's, the caller's operator subtree's, or the ISP's.
pub async fn list_payments(
    app: &App,
    actor: &Actor,
    filter: PaymentFilter,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<Payment>> {
    actor.require(Permission::BillingRead)?;
    let tid = actor.tenant()?;
    let owner = Owner::Tenant(tid);
    let qid = format!(
        "payments:{:?}:{:?}:{:?}:{:?}",
        filter.customer_id,
        filter.method.map(|m| m.as_str()),
        filter.from,
        filter.to
    );
    let mut f = store::Filter::default();
    if let Some(m) = filter.method {
        f = f.eq("method", m.as_str());
    }
    if let Some(s) = &actor.scope {
        f = f.in_subtree("scope", s);
    }
    let listing = DocumentListing {
        customer: filter.customer_id.map(|c| (keys::customer_pk(tid, c), keys::PAYMENT_SK_PREFIX, "received_at")),
        operator: actor.scope.as_deref().map(|s| keys::payments_by_operator_gsi3(tid, s)),
        shards: (0..keys::INVOICE_SHARDS).map(|n| keys::payments_gsi1(tid, n)).collect(),
        from: filter.from,
        to: filter.to,
    };
    document_page(app, owner, &qid, listing, f, limit, cursor).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn input(method: PaymentMethod, reference: Option<&str>) -> RecordPayment {
        RecordPayment {
            invoice_id: Some(Uuid::nil()),
            customer_id: None,
            amount: 50_000,
            method,
            reference: reference.map(str::to_string),
            note: None,
            received_at: None,
        }
    }

    fn fields(r: Result<(Option<String>, Option<String>)>) -> Vec<String> {
        match r {
            Err(Error::Validation(f)) => f.into_iter().map(|f| f.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_payment_names_one_target_a_positive_amount_and_its_reference() {
        let now = at("2026-06-15T06:00:00Z");
        assert_eq!(validate(&input(PaymentMethod::Cash, None), now).unwrap(), (None, None));
        let ok = validate(&input(PaymentMethod::MobileMoney, Some(" 8N7A6B5C4D ")), now).unwrap();
        assert_eq!(ok.0.as_deref(), Some("8N7A6B5C4D"), "the reference is kept, trimmed");
        assert_eq!(fields(validate(&input(PaymentMethod::BankTransfer, None), now)), ["reference"]);
        let mut both = input(PaymentMethod::Cash, None);
        both.customer_id = Some(Uuid::nil());
        assert_eq!(fields(validate(&both, now)), ["customer_id"]);
        let mut neither = input(PaymentMethod::Cash, None);
        neither.invoice_id = None;
        assert_eq!(fields(validate(&neither, now)), ["invoice_id"]);
        let mut zero = input(PaymentMethod::Cash, None);
        zero.amount = 0;
        assert_eq!(fields(validate(&zero, now)), ["amount"]);
        let mut later = input(PaymentMethod::Cash, None);
        later.received_at = Some(now + chrono::Duration::minutes(6));
        assert_eq!(fields(validate(&later, now)), ["received_at"]);
        later.received_at = Some(now + chrono::Duration::minutes(4));
        assert!(validate(&later, now).is_ok(), "a little clock skew is fine");
    }
}
