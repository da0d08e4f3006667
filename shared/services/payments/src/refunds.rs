//! Refunds of online payments through the gateway that took them (Stripe, Midtrans, bKash,
//! PayPal), exactly once however often the request is repeated or the gateway fails to answer:
//!
//! 1. One transaction credits the invoices the payment paid (credit notes whose money becomes the
//!    customer's credit), holds the refund's amount of that credit (no invoice or manual refund can
//!    take it) and records the refund as requested on the checkout.
//! 2. The gateway is asked, with the refund's id as its idempotency key (bKash takes none: its
//!    refunds of the payment are listed first).
//! 3. One transaction pays the held credit out (the refund in the books with its ledger entry,
//!    report aggregate and event) or, when the gateway said no, releases it (the invoices stay
//!    credited; the money is the customer's credit).
//!
//! A repeat with the same `Idempotency-Key` resumes where it stopped; a gateway that did not
//! answer leaves the refund requested for the same request, or the janitor, to ask again.

use crate::checkouts::{CheckoutRecord, encoded, load};
use crate::gateway_accounts::{self, usable_account};
use billing::books::{Attempt, Books, MAX_AMOUNT, attempt_failed, load_open, require_key, stage_settled};
use billing::credit_notes::{PaidOut, stage_credit_note, stage_refund};
use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::checkout::{Checkout, CheckoutRefund, CheckoutState, RefundCredit, RefundState, refund_credits};
use domain::idempotency::Outcome;
use domain::invoice::Invoice;
use domain::payment::{Payment, PaymentMethod};
use domain::role::Permission;
use domain::{Error, Result, Validation, ids};
use gateways::GatewayHttp;
use gateways::adapter::{Adapter, RefundRequest};
use gateways::model::Amount;
use kernel::App;
use kernel::idempotency::IdempotentRequest;
use kernel::support::{Audited, StoreResultExt, audit, decoded, snapshot};
use serde::{Deserialize, Serialize};
use store::{Owner, Query, Tx, keys};
use uuid::Uuid;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundCheckout {
    /// Minor units: at most what was paid and not refunded yet.
    pub amount: i64,
    pub reason: String,
}

/// Attempts at a transaction whose reads moved under it.
const ATTEMPTS: usize = 6;

/// How long one request has to ask the gateway before another may (the gateways' own deadline
/// is shorter).
const ASKING_LEASE: chrono::Duration = chrono::Duration::seconds(60);

/// Refunds (part of) a paid checkout through its gateway (`POST /v1/checkouts/{id}/refunds`).
/// Answers the checkout with the refund in its `refunds`.
pub async fn refund_checkout(
    app: &App,
    actor: &Actor,
    checkout_id: Uuid,
    input: RefundCheckout,
    idem: Option<&IdempotentRequest>,
    http: &GatewayHttp,
) -> Result<Outcome<Checkout>> {
    actor.require(Permission::BillingWrite)?;
    let idem = require_key(idem, "refund")?;
    let mut v = Validation::new();
    v.range_i64("amount", input.amount, 1, MAX_AMOUNT);
    let reason = v.text("reason", &input.reason, 300);
    v.finish()?;
    let tid = actor.tenant()?;
    let seen = crate::checkouts::get_checkout(app, actor, checkout_id).await?;
    let (account, credentials) = usable_account(app, Some(tid), seen.account_id)
        .await?
        .ok_or_else(|| Error::Internal("a checkout without its gateway account".into()))?;
    let adapter = gateway_accounts::adapter(&account, &credentials);
    if !adapter.can_refund() {
        return Err(Error::Conflict {
            code: "gateway_cannot_refund",
            detail: format!(
                "{} has no refund API: refund from the customer's credit by hand (a credit note, then POST /v1/customers/{{id}}/refunds)",
                account.gateway.as_str()
            ),
            field: None,
        });
    }
    let asked = Asked { amount: input.amount, reason: &reason, key: idem.key_hash(actor.user_id) };
    let (checkout, refund) = reserve(app, actor, tid, seen, &asked).await?;
    if refund.state == RefundState::Requested {
        // This request holds the lease to ask (reserve took it).
        let done = ask_gateway(app, actor, &adapter, http, &checkout, &refund).await?;
        return answer_of(done, refund.id);
    }
    answer_of(checkout, refund.id)
}

/// Step 2 and 3 for a requested refund whose lease the caller holds.
async fn ask_gateway(
    app: &App,
    actor: &Actor,
    adapter: &Adapter,
    http: &GatewayHttp,
    checkout: &Checkout,
    refund: &CheckoutRefund,
) -> Result<Checkout> {
    let tid = checkout.tenant_id.ok_or_else(|| Error::Internal("a refund of a platform purchase".into()))?;
    let known: Vec<String> = checkout.refunds.iter().filter_map(|r| r.gateway_refund_id.clone()).collect();
    let key = refund.id.to_string();
    let request = RefundRequest {
        order_id: &checkout.order_id,
        reference: &checkout.reference,
        transaction_id: checkout.transaction_id.as_deref().unwrap_or_default(),
        amount: Amount::new(refund.amount, &checkout.currency),
        key: &key,
        reason: &refund.reason,
        known: &known,
    };
    let answer = match adapter.refund(http, &request).await {
        Ok(id) => Ok(id),
        Err(e) if e.is_transient() => {
            release_lease(app, tid, checkout.id, refund.id).await;
            return Err(Error::Unavailable {
                detail: format!(
                    "the gateway did not answer ({e}); the refund is held: repeat this request with the same Idempotency-Key"
                ),
            });
        }
        Err(e) => Err(e.to_string()),
    };
    complete(app, actor, tid, checkout.id, refund.id, answer).await
}

/// The answer for a refund that is done (the checkout) or refused (a 502 that says why).
fn answer_of(checkout: Checkout, refund_id: Uuid) -> Result<Outcome<Checkout>> {
    let refund = checkout.refunds.iter().find(|r| r.id == refund_id).cloned();
    match refund {
        Some(r) if r.state == RefundState::Refused => Err(Error::BadGateway {
            code: "gateway_refused_refund",
            detail: format!(
                "the gateway refused the refund ({}); the invoices stay credited and the amount is the customer's credit",
                r.detail.unwrap_or_default()
            ),
        }),
        _ => Ok(Outcome::Fresh(checkout)),
    }
}

struct Asked<'a> {
    amount: i64,
    reason: &'a str,
    key: String,
}

/// Step 1: the refund this request asked for, recorded as requested with the invoices credited
/// and the credit held; or the one an earlier request with the same key recorded. A requested
/// one comes back with this request holding the lease to ask the gateway.
async fn reserve(
    app: &App,
    actor: &Actor,
    tid: Uuid,
    seen: Checkout,
    asked: &Asked<'_>,
) -> Result<(Checkout, CheckoutRefund)> {
    let checkout_id = seen.id;
    // The checkout as the request read it first; read again only when it moved.
    let mut first = Some(seen);
    for _ in 0..ATTEMPTS {
        let before = match first.take() {
            Some(c) => c,
            None => load(app, Owner::Tenant(tid), checkout_id).await?.ok_or_else(|| Error::not_found("checkout"))?,
        };
        if let Some(r) = before.refund_by_key(&asked.key) {
            if r.amount != asked.amount || r.reason != asked.reason {
                return Err(Error::Unprocessable {
                    code: "idempotency_key_reused",
                    detail: "this Idempotency-Key asked for another refund".into(),
                });
            }
            if r.state != RefundState::Requested {
                let r = r.clone();
                return Ok((before, r));
            }
            match take_lease(app, &before, r.id).await? {
                Some(leased) => return Ok(leased),
                None if r.asking_until.is_some_and(|t| t > app.now()) => return Err(in_progress()),
                None => continue,
            }
        }
        match try_reserve(app, actor, tid, &before, asked).await {
            Err(Attempt::Stale) | Err(Attempt::Idempotent) => continue,
            Err(Attempt::Failed(e)) => return Err(e),
            Ok(done) => return Ok(done),
        }
    }
    Err(Error::version_conflict())
}

async fn try_reserve(
    app: &App,
    actor: &Actor,
    tid: Uuid,
    before: &Checkout,
    asked: &Asked<'_>,
) -> std::result::Result<(Checkout, CheckoutRefund), Attempt> {
    let now = app.now();
    if !matches!(before.state, CheckoutState::Paid | CheckoutState::Refunded) {
        return Err(Error::Conflict {
            code: "checkout_not_paid",
            detail: "only a paid checkout can be refunded".into(),
            field: None,
        }
        .into());
    }
    if before.refunds.iter().any(|r| r.state == RefundState::Requested) {
        return Err(in_progress().into());
    }
    let customer = customer_of(before)?;
    let payment = payment_of(app, tid, customer, before).await?;
    let refundable = before.refundable(payment.amount);
    if asked.amount > refundable {
        return Err(Error::field("amount", format!("must be at most {refundable} (paid and not refunded yet)")).into());
    }
    let mut books = Books::load(app, tid, customer, &["credit_note"]).await?;
    let applied: Vec<(Uuid, i64)> = payment.applied.iter().map(|a| (a.invoice_id, a.amount)).collect();
    let plan = refund_credits(&applied, &before.refunds, asked.amount);
    let invoices = invoices_of(app, tid, customer, &plan).await?;
    let id = ids::new_id();
    let mut tx = Tx::new();
    let mut credit_notes = vec![];
    let mut moved = wallets::WalletSet::new(tid, &books.tenant.currency);
    for ((invoice_id, part), inv) in plan.iter().zip(&invoices) {
        // An invoice credited meanwhile by hand takes what is left; the rest comes from credit.
        let part = (*part).min(inv.total - inv.amount_credited);
        if part <= 0 {
            continue;
        }
        let why = format!("refund through {}: {}", before.gateway.as_str(), asked.reason);
        let note = stage_credit_note(&mut tx, &mut books, actor, inv, part, &why, &[], now)?;
        let who = (actor.real_actor(), now);
        billing::credit_notes::stage_sale_share(app, &mut tx, &mut moved, &books, inv, part, who).await?;
        credit_notes.push(RefundCredit { invoice_id: *invoice_id, credit_note_id: note.id, amount: part });
    }
    moved.stage(&mut tx)?;
    books.account.hold(asked.amount)?;
    let refund = CheckoutRefund {
        id,
        amount: asked.amount,
        reason: asked.reason.to_string(),
        state: RefundState::Requested,
        key: asked.key.clone(),
        credit_notes,
        gateway_refund_id: None,
        detail: None,
        requested_by: actor.real_actor(),
        requested_at: now,
        completed_at: None,
        asking_until: Some(now + ASKING_LEASE),
    };
    let mut after = before.clone();
    after.refunds.push(refund.clone());
    after.log(now, "refund_requested", format!("refund {id} of {} {} requested", asked.amount, after.currency));
    after.version += 1;
    after.updated_at = now;
    tx.put_versioned(encoded(&after)?, before.version);
    books.stage(&mut tx, tid)?;
    stage_audit(&mut tx, actor, tid, "checkout.refund_requested", before, &after, now);
    app.store.commit(tx).await.map_err(attempt_failed)?;
    Ok((after, refund))
}

/// Step 3: the gateway's answer applied to the requested refund `refund_id`: paid out, or
/// refused and the credit released. Once: a refund no longer requested is left as it is.
async fn complete(
    app: &App,
    actor: &Actor,
    tid: Uuid,
    checkout_id: Uuid,
    refund_id: Uuid,
    answer: std::result::Result<String, String>,
) -> Result<Checkout> {
    for _ in 0..ATTEMPTS {
        let before = load(app, Owner::Tenant(tid), checkout_id).await?.ok_or_else(|| Error::not_found("checkout"))?;
        let Some(refund) = before.refunds.iter().find(|r| r.id == refund_id).cloned() else {
            return Err(Error::Internal("a requested refund vanished".into()));
        };
        if refund.state != RefundState::Requested {
            return Ok(before);
        }
        match try_complete(app, actor, tid, &before, &refund, &answer).await {
            Err(Attempt::Stale) | Err(Attempt::Idempotent) => continue,
            Err(Attempt::Failed(e)) => return Err(e),
            Ok(after) => return Ok(after),
        }
    }
    Err(Error::version_conflict())
}

async fn try_complete(
    app: &App,
    actor: &Actor,
    tid: Uuid,
    before: &Checkout,
    refund: &CheckoutRefund,
    answer: &std::result::Result<String, String>,
) -> std::result::Result<Checkout, Attempt> {
    let now = app.now();
    let customer = customer_of(before)?;
    let mut books = Books::load(app, tid, customer, &[]).await?;
    let mut after = before.clone();
    let mut tx = Tx::new();
    let slot = after.refunds.iter_mut().find(|r| r.id == refund.id).expect("found above");
    slot.completed_at = Some(now);
    slot.asking_until = None;
    match answer {
        Ok(gateway_refund_id) => {
            let memo = format!("Refund through {} ({gateway_refund_id})", before.gateway.as_str());
            let entry = books.account.refund_held(refund.id, refund.amount, memo, now)?;
            let out = PaidOut {
                id: refund.id,
                amount: refund.amount,
                method: PaymentMethod::Online,
                reference: Some(gateway_refund_id.clone()),
                reason: &refund.reason,
            };
            stage_refund(&mut tx, &books, actor, before.scope.as_deref(), out, entry, now)?;
            slot.state = RefundState::Done;
            slot.gateway_refund_id = Some(gateway_refund_id.clone());
            let payment = payment_of(app, tid, customer, before).await?;
            if after.refundable(payment.amount) == 0 {
                after.state = CheckoutState::Refunded;
            }
            after.log(
                now,
                "refunded",
                format!("refund {} of {} paid out: {gateway_refund_id}", refund.id, refund.amount),
            );
        }
        Err(detail) => {
            // Invoices issued while it was held are paid from it now.
            let open_before = load_open(app, tid, &books.account).await?;
            let mut open = open_before.clone();
            books.account.release(refund.amount, &mut open, now)?;
            stage_settled(&mut tx, &books.tenant, &open_before, &mut open, now)?;
            slot.state = RefundState::Refused;
            slot.detail = Some(detail.chars().take(300).collect());
            after.log(now, "refund_refused", format!("refund {} refused: {detail}", refund.id));
        }
    }
    after.version += 1;
    after.updated_at = now;
    tx.put_versioned(encoded(&after)?, before.version);
    books.stage(&mut tx, tid)?;
    let action = if answer.is_ok() { "checkout.refunded" } else { "checkout.refund_refused" };
    stage_audit(&mut tx, actor, tid, action, before, &after, now);
    app.store.commit(tx).await.map_err(attempt_failed)?;
    Ok(after)
}

/// Takes the lease to ask the gateway about a requested refund: None when another request holds
/// it or the checkout moved meanwhile.
async fn take_lease(app: &App, before: &Checkout, refund_id: Uuid) -> Result<Option<(Checkout, CheckoutRefund)>> {
    let now = app.now();
    let mut after = before.clone();
    let Some(slot) = after.refunds.iter_mut().find(|x| x.id == refund_id && x.state == RefundState::Requested) else {
        return Ok(None);
    };
    if slot.asking_until.is_some_and(|t| t > now) {
        return Ok(None);
    }
    slot.asking_until = Some(now + ASKING_LEASE);
    let refund = slot.clone();
    after.version += 1;
    let mut tx = Tx::new();
    tx.put_versioned(encoded(&after)?, before.version);
    match app.store.commit(tx).await.map_err(attempt_failed) {
        Ok(()) => Ok(Some((after, refund))),
        Err(Attempt::Failed(e)) => Err(e),
        Err(_) => Ok(None),
    }
}

/// What one janitor run did about refunds left requested.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HeldRefundsReport {
    pub refunds_asked: u32,
    pub refunds_done: u32,
    pub refunds_refused: u32,
    pub refunds_errors: u32,
}

/// The janitor's part for refunds: one whose request went away before the gateway answered
/// (and whose lease ran out) is asked again with the same idempotency key, and paid out or
/// released, so credit is never held for good.
pub async fn resume_held_refunds(app: &App, http: &GatewayHttp, max: usize) -> Result<HeldRefundsReport> {
    let mut report = HeldRefundsReport::default();
    for shard in 0..keys::CHECKOUT_SHARDS {
        let q = Query::index("gsi2", keys::refunding_checkouts_gsi2(shard))
            .range(None, keys::refunding_checkouts_before(app.now() - ASKING_LEASE));
        let waiting: Vec<CheckoutRecord> = app.store.query_all(q, max).await.or_500()?;
        for CheckoutRecord { checkout } in waiting {
            let requested: Vec<Uuid> =
                checkout.refunds.iter().filter(|r| r.state == RefundState::Requested).map(|r| r.id).collect();
            for refund_id in requested {
                let Some((leased, refund)) = take_lease(app, &checkout, refund_id).await? else { continue };
                let Some(tid) = leased.tenant_id else { continue };
                let Some((account, credentials)) = usable_account(app, Some(tid), leased.account_id).await? else {
                    continue;
                };
                let adapter = gateway_accounts::adapter(&account, &credentials);
                report.refunds_asked += 1;
                let system = Actor::system(tid);
                match ask_gateway(app, &system, &adapter, http, &leased, &refund).await {
                    Ok(done) => match done.refunds.iter().find(|r| r.id == refund_id).map(|r| r.state) {
                        Some(RefundState::Done) => report.refunds_done += 1,
                        Some(RefundState::Refused) => report.refunds_refused += 1,
                        _ => {}
                    },
                    Err(e) => {
                        tracing::warn!(checkout = %leased.id, refund = %refund_id, "a held refund not resumed: {e}");
                        report.refunds_errors += 1;
                    }
                }
            }
        }
    }
    Ok(report)
}

fn in_progress() -> Error {
    Error::Conflict {
        code: "refund_in_progress",
        detail: "a refund of this checkout is waiting for the gateway: repeat its request (same Idempotency-Key) in a minute".into(),
        field: None,
    }
}

/// The gateway did not answer: the next repeat of the request may ask at once. Best effort (the
/// lease runs out by itself).
async fn release_lease(app: &App, tid: Uuid, checkout_id: Uuid, refund_id: Uuid) {
    let Ok(Some(before)) = load(app, Owner::Tenant(tid), checkout_id).await else { return };
    let mut after = before.clone();
    let Some(slot) = after.refunds.iter_mut().find(|r| r.id == refund_id && r.state == RefundState::Requested) else {
        return;
    };
    slot.asking_until = None;
    after.version += 1;
    let Ok(item) = encoded(&after) else { return };
    let mut tx = Tx::new();
    tx.put_versioned(item, before.version);
    if let Err(e) = app.store.commit(tx).await {
        tracing::info!(error = %e, "the refund's lease was left to run out");
    }
}

/// The ISP's customer whose payment it was (platform purchases are not refunded here).
fn customer_of(checkout: &Checkout) -> Result<Uuid> {
    checkout.paying_for.customer_id().ok_or_else(|| Error::Conflict {
        code: "checkout_not_refundable",
        detail: "a platform purchase is refunded by the platform owner by hand".into(),
        field: None,
    })
}

/// The payment a paid checkout recorded.
async fn payment_of(app: &App, tid: Uuid, customer: Uuid, checkout: &Checkout) -> Result<Payment> {
    let id = checkout.payment_id.ok_or_else(|| Error::Internal("a paid checkout without its payment".into()))?;
    app.store
        .get(&keys::payment(tid, customer, id, None, app.now()))
        .await
        .or_500()?
        .ok_or_else(|| Error::Internal("a paid checkout's payment is missing".into()))
}

/// The invoices a refund credits, in the plan's order.
async fn invoices_of(app: &App, tid: Uuid, customer: Uuid, plan: &[(Uuid, i64)]) -> Result<Vec<Invoice>> {
    if plan.is_empty() {
        return Ok(vec![]);
    }
    let ks: Vec<store::ItemKeys> =
        plan.iter().map(|(id, _)| keys::invoice(tid, customer, *id, None, None, None)).collect();
    let got = app.store.batch_get_many(&ks.iter().collect::<Vec<_>>()).await.or_500()?;
    got.into_iter()
        .map(|item| decoded::<Invoice>(item)?.ok_or_else(|| Error::Internal("a paid invoice is missing".into())))
        .collect()
}

fn stage_audit(
    tx: &mut Tx,
    actor: &Actor,
    tid: Uuid,
    action: &'static str,
    before: &Checkout,
    after: &Checkout,
    now: DateTime<Utc>,
) {
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action,
            entity: "checkout",
            id: after.id.to_string(),
            before: Some(snapshot(before)),
            after: Some(snapshot(after)),
        },
        now,
    ));
}
