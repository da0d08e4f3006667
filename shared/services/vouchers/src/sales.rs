//! Selling and refunding vouchers (`POST /v1/vouchers/{code}/sell`, `/refund`). An operator's
//! voucher sold for cash is paid to the ISP from the operator's wallet at the batch's price, in the
//! transaction that marks it sold: the wallet's floor (its credit limit) and the voucher's
//! version are both conditions of that one transaction, so 50 sales racing on a wallet that holds
//! enough for 10 end with exactly 10 sold and the balance at its exact value. A refund of an
//! unused, sold voucher pays the price back the same way and takes it off the routers. Both need
//! an `Idempotency-Key`: a repeat answers the first result.

use crate::batches::load_batch;
use crate::common::seller_visible;
use crate::vouchers::{VoucherView, find, show};
use domain::actor::Actor;
use domain::event::{DomainEvent, NetworkEvent, VouchersOnRouters};
use domain::role::Permission;
use domain::voucher::{self, Voucher, VoucherBatch};
use domain::wallet::{Movement, MovementKind, WalletOwner};
use domain::{Error, Result, ids};
use kernel::App;
use kernel::idempotency::{
    Attempt, IdempotentRequest, Outcome, attempt_failed, idempotent_money_write_tries, record, require_key,
};
use kernel::support::{Audited, audit, store_err};
use serde::Deserialize;
use store::{Owner, Store, Tx};
use uuid::Uuid;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SellVoucher {
    /// Who bought it (kept with the voucher, for a lost card or a complaint).
    pub buyer_name: Option<String>,
    pub buyer_phone: Option<String>,
    /// Send the login to the buyer's phone by SMS (with the sale).
    #[serde(default)]
    pub send_sms: bool,
}

/// How many times a sale reads again when the wallet moved meanwhile (an operator's sellers share it).
const TRIES: u32 = 60;

fn not_now(e: voucher::NotNow) -> Attempt {
    Attempt::Failed(Error::Conflict { code: "voucher_state", detail: e.0, field: None })
}

fn failed(e: Error) -> Attempt {
    Attempt::Failed(e)
}

/// The voucher as it is now (each try reads it again).
async fn current(app: &App, tid: Uuid, code: &str) -> std::result::Result<Voucher, Attempt> {
    find(app, tid, code).await.map_err(failed)?.ok_or_else(|| failed(Error::not_found("voucher")))
}

/// What a try does: a sale (its login sent by SMS to the buyer, or not), or a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sold {
    Quietly,
    WithSms,
    Refunded,
}

/// One try's writes: the voucher (versioned), the wallets and their entries when money moves, the
/// audit entry, the idempotency record, and the routers' event when it leaves them.
#[allow(clippy::too_many_arguments)]
async fn commit_try(
    app: &App,
    actor: &Actor,
    idem: &IdempotentRequest,
    before: &Voucher,
    mut after: Voucher,
    batch: &VoucherBatch,
    movement: Option<(WalletOwner, WalletOwner, Option<i64>, MovementKind)>,
    what: Sold,
    seller: Option<&domain::user::OperatorProfile>,
) -> std::result::Result<VoucherView, Attempt> {
    let action = match what {
        Sold::Quietly | Sold::WithSms => "voucher.sold",
        Sold::Refunded => "voucher.refunded",
    };
    let tid = before.tenant_id;
    let now = app.now();
    after.version = before.version + 1;
    kernel::schedule::mark_voucher_due(app, &after).await.map_err(failed)?;
    let mut tx = Tx::new();
    tx.put_versioned(Store::encode_stored(&after).map_err(|e| failed(store_err(e)))?, before.version);
    let mut movement_id = None;
    if let Some((from, to, floor, kind)) = movement {
        let currency = &batch.currency;
        let (mut a, mut b) = wallets::load_pair(app, tid, from, to, currency).await.map_err(failed)?;
        let (a_before, b_before, paid_before) = (a.version, b.version, a.balance);
        let m = Movement {
            id: ids::new_id(),
            kind,
            from,
            to,
            amount: batch.price,
            method: None,
            reference: Some(after.code.clone()),
            note: Some(format!("{} voucher {}", batch.plan_name, after.code)),
            by: actor.real_actor(),
            at: now,
        };
        let (out, into) = m.apply(&mut a, &mut b, floor, (ids::new_id(), ids::new_id())).map_err(failed)?;
        wallets::stage_movement(&mut tx, tid, [(&a, a_before), (&b, b_before)], [&out, &into])?;
        if let Some(profile) = seller {
            wallets::stage_low_balance(&mut tx, &a, paid_before, profile).map_err(failed)?;
        }
        movement_id = Some(m.id);
    }
    if before.status.on_routers() && !after.status.on_routers() {
        let detail =
            serde_json::to_value(VouchersOnRouters { batch_id: after.batch_id, chunk: None, seqs: vec![after.seq] })
                .map_err(|e| failed(Error::Internal(e.to_string())))?;
        tx.put_event(&DomainEvent::new(NetworkEvent::VouchersChanged, Some(tid), detail, now));
    }
    if let (Sold::WithSms, Some(phone)) = (what, &after.buyer_phone) {
        tx.put_event(&crate::vouchers::login_sms(&after, phone, now).map_err(failed)?);
    }
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action,
            entity: "voucher",
            id: after.code.clone(),
            before: Some(serde_json::json!({"status": before.status, "sold_at": before.sold_at})),
            after: Some(serde_json::json!({"status": after.status, "sold_at": after.sold_at,
                "price": after.sold_price, "movement_id": movement_id, "operator_id": after.operator_id})),
        },
        now,
    ));
    let view = show(app, actor, &after, batch.data_limit_bytes()).map_err(failed)?;
    tx.put_idempotency(Owner::Tenant(tid), &idem.key_hash(actor.user_id), &record(idem, 200, &view, app)?);
    match app.store.commit(tx).await {
        Ok(()) => Ok(view),
        Err(e) => {
            // A lost race on a busy wallet: a short random pause spreads the next reads.
            let pause = rand::random::<u64>() % 20;
            tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
            Err(attempt_failed(e))
        }
    }
}

/// Sells an unused voucher: its seller's wallet (an operator's) pays the ISP the batch's price in
/// the same transaction; the ISP's own counter takes the cash directly. A plan counted from
/// activation starts its clock now.
pub async fn sell(
    app: &App,
    actor: &Actor,
    code: &str,
    input: SellVoucher,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<VoucherView>> {
    actor.require(Permission::PaymentsCollect)?;
    let tid = actor.tenant()?;
    let idem = require_key(idem, "voucher sale")?;
    let mut v = domain::Validation::new();
    let buyer_name = v.optional_text("buyer_name", input.buyer_name.as_deref(), 120);
    let buyer_phone = v.optional_text("buyer_phone", input.buyer_phone.as_deref(), 20);
    if input.send_sms && buyer_phone.is_none() {
        v.add("buyer_phone", "is required to send the login by SMS");
    }
    v.finish()?;
    let buyer_phone = match buyer_phone {
        Some(p) => Some(
            crate::vouchers::buyer_phone(app, tid, &p)
                .await
                .map_err(|_| Error::field("buyer_phone", "is not a phone number"))?,
        ),
        None => None,
    };
    let sms = input.send_sms;
    let first = find(app, tid, code).await?.ok_or_else(|| Error::not_found("voucher"))?;
    if !seller_visible(app, actor, first.operator_id).await? {
        return Err(Error::not_found("voucher"));
    }
    // An operator sells only its own vouchers (not its sub-operators': their wallets pay for theirs).
    if actor.role.is_scoped() && first.operator_id != Some(actor.user_id) {
        return Err(Error::forbidden("only the voucher's own seller sells it"));
    }
    let batch = load_batch(app, &Actor::system(tid), first.batch_id).await?;
    let seller = match first.operator_id {
        Some(op) => Some(wallets::profile(app, tid, op).await?),
        None => None,
    };
    let floor = seller.as_ref().map(|p| p.credit_limit);
    let seller = &seller;
    let (batch, buyer_name, buyer_phone, code) = (&batch, &buyer_name, &buyer_phone, code);
    idempotent_money_write_tries(app, actor, idem, TRIES, || async move {
        let before = current(app, tid, code).await?;
        let mut after = before.clone();
        let now = app.now();
        after.sell(batch, now, actor.real_actor(), buyer_name.clone(), buyer_phone.clone()).map_err(not_now)?;
        let movement = match (before.operator_id, batch.price) {
            (Some(op), p) if p > 0 => {
                Some((WalletOwner::Operator(op), WalletOwner::Isp, floor, MovementKind::VoucherSale))
            }
            _ => None,
        };
        let action = if sms { Sold::WithSms } else { Sold::Quietly };
        commit_try(app, actor, idem, &before, after, batch, movement, action, seller.as_ref()).await
    })
    .await
}

/// Takes back an unused, sold voucher: the price goes back to the wallet that paid it (the ISP's
/// counter refunds its buyer in cash), and the voucher leaves the routers. ISP staff only.
pub async fn refund(
    app: &App,
    actor: &Actor,
    code: &str,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<VoucherView>> {
    let tid = crate::common::write_access(actor)?;
    actor.require(Permission::BillingWrite)?;
    let idem = require_key(idem, "voucher refund")?;
    let first = find(app, tid, code).await?.ok_or_else(|| Error::not_found("voucher"))?;
    let batch = load_batch(app, actor, first.batch_id).await?;
    let (batch, code) = (&batch, code);
    idempotent_money_write_tries(app, actor, idem, TRIES, || async move {
        let before = current(app, tid, code).await?;
        let mut after = before.clone();
        after.refund(app.now()).map_err(not_now)?;
        let movement = match (before.operator_id, before.sold_price) {
            (Some(op), Some(p)) if p > 0 => {
                Some((WalletOwner::Isp, WalletOwner::Operator(op), None, MovementKind::VoucherRefund))
            }
            _ => None,
        };
        // The price it was sold at goes back, even if the batch's price is another now.
        let mut priced = batch.clone();
        priced.price = before.sold_price.unwrap_or(0);
        commit_try(app, actor, idem, &before, after, &priced, movement, Sold::Refunded, None).await
    })
    .await
}
