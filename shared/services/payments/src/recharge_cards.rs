//! Recharge cards (`/v1/recharge-card-batches`, `/v1/recharge-cards`,
//! `POST /v1/customers/{id}/recharge`): scratch cards with a value that a PPPoE subscriber, or
//! staff for them, redeems once (`domain::recharge`). A redemption is a payment of method
//! `recharge_card` through the one settle path, with the card's move to `redeemed` (on the version
//! read) and the card's payment-reference sentinel in the same transaction: however many redeem
//! one card at once, one payment is made. Wrong codes (unknown, disabled or expired: alike to the
//! one typing) count against the customer and the ISP in a 15-minute window; past the limit
//! redemption answers 429 until the window ends. A used card's code is no guess and counts not.

use crate::payments::{ClosedInvoice, MoneyIn, RecordPayment, settle};
use billing::books::{Attempt, idempotent_money_write, require_key};
use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::payment::{Payment, PaymentMethod};
use domain::recharge::{
    CARD_CHUNK, CARD_CODE_LENGTH, CardBatch, CardStatus, Failures, RechargeCard, Refusal, Throttle, check_cards,
    code_hash, refused,
};
use domain::role::Permission;
use domain::voucher::{new_code, normalize_code};
use domain::{Error, Result, Validation, ids};
use futures::StreamExt;
use kernel::App;
use kernel::idempotency::{IdempotentRequest, Outcome, record, stored_answer};
use kernel::support::{Audited, StoreResultExt, audit, decoded, load_tenant, snapshot};
use serde::{Deserialize, Serialize};
use store::{Conflict, Owner, Page, Query, Store, StoreError, Tx, keys};
use uuid::Uuid;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MakeCards {
    /// 1 to 1,000 cards.
    pub quantity: u32,
    /// Each card's value, minor units of the ISP's currency.
    pub value: i64,
    /// Up to 4 symbols printed before the random ones (e.g. `RC`).
    #[serde(default)]
    pub prefix: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct BatchRecord {
    #[serde(flatten)]
    batch: CardBatch,
}

impl store::Stored for BatchRecord {
    const TYPE: &'static str = "RCARD_BATCH";
    fn keys(&self) -> store::ItemKeys {
        keys::recharge_batch(self.batch.tenant_id, self.batch.id, Some(self.batch.created_at))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CardRecord {
    #[serde(flatten)]
    card: RechargeCard,
}

impl store::Stored for CardRecord {
    const TYPE: &'static str = "RCARD";
    fn keys(&self) -> store::ItemKeys {
        let c = &self.card;
        keys::recharge_card(c.tenant_id, &c.code_hash, Some((c.batch_id, c.seq)))
    }
    fn version(&self) -> Option<u64> {
        Some(self.card.version)
    }
}

/// Making cards and reading their codes is the ISP's (they are money).
fn issuer(actor: &Actor) -> Result<Uuid> {
    actor.require(Permission::BillingWrite)?;
    if actor.is_confined() {
        return Err(Error::forbidden("recharge cards are made by the ISP"));
    }
    actor.tenant()
}

fn code_aad(tid: Uuid, batch: Uuid, seq: u32) -> Vec<u8> {
    format!("recharge-card:{tid}:{batch}:{seq}").into_bytes()
}

/// Makes a batch of cards at once (`Idempotency-Key` required): the batch, then the cards in
/// transactions of 25 (each card with its serial's sentinel, so a repeat after a failure fills
/// in what is missing and never makes a serial twice). Answers the batch.
pub async fn make_cards(
    app: &App,
    actor: &Actor,
    input: MakeCards,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<CardBatch>> {
    let tid = issuer(actor)?;
    let idem = require_key(idem, "recharge card batch")?;
    let now = app.now();
    let mut v = Validation::new();
    let prefix = check_cards(&mut v, input.quantity, input.value, &input.prefix, input.expires_at, now);
    let note = v.optional_text("note", input.note.as_deref(), 200);
    v.finish()?;
    let owner = Owner::Tenant(tid);
    if let Some(first) = stored_answer(app, owner, actor.user_id, idem).await? {
        return Ok(first);
    }
    let tenant = load_tenant(app, tid).await?;
    // The batch's id comes from the key alone (not the time): a repeat after a failure, however
    // much later, continues the same batch.
    let key_hash = idem.key_hash(actor.user_id);
    let id = ids::derived_id(chrono::DateTime::UNIX_EPOCH, &format!("recharge-batch:{tid}:{key_hash}"));
    let existing: Option<BatchRecord> = app.store.get(&keys::recharge_batch(tid, id, None)).await.or_500()?;
    let batch = match existing {
        Some(b) => b.batch,
        None => {
            let b = CardBatch {
                id,
                tenant_id: tid,
                quantity: input.quantity,
                value: input.value,
                currency: tenant.currency.clone(),
                prefix,
                expires_at: input.expires_at,
                note,
                created_by: actor.real_actor(),
                created_at: now,
            };
            let mut tx = Tx::new();
            tx.put_new(Store::encode_stored(&BatchRecord { batch: b.clone() }).or_500()?, Conflict::Exists);
            match app.store.commit(tx).await {
                Ok(()) | Err(StoreError::Conflict(Conflict::Exists)) => b,
                Err(e) => return Err(kernel::support::store_err(e)),
            }
        }
    };
    let serials: Vec<u32> = (1..=batch.quantity).collect();
    let chunks: Vec<_> = serials.chunks(CARD_CHUNK).map(|c| write_chunk(app, &batch, c.to_vec())).collect();
    let results: Vec<Result<()>> = futures::stream::iter(chunks).buffer_unordered(4).collect().await;
    results.into_iter().collect::<Result<()>>()?;
    let mut tx = Tx::new();
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "recharge_cards.made",
            entity: "recharge_card_batch",
            id: batch.id.to_string(),
            before: None,
            after: Some(snapshot(&batch)),
        },
        now,
    ));
    tx.put_idempotency(owner, &key_hash, &record(idem, 201, &batch, app)?);
    kernel::idempotency::commit_create(app, tx, owner, actor.user_id, Some(idem), batch).await
}

/// Writes the cards of `serials` not written yet. A code that collides with another card's is
/// drawn again.
async fn write_chunk(app: &App, batch: &CardBatch, serials: Vec<u32>) -> Result<()> {
    let tid = batch.tenant_id;
    for _ in 0..5 {
        let mut tx = Tx::new();
        for &seq in &serials {
            let code = {
                let mut rng = rand::thread_rng();
                new_code(&mut rng, &batch.prefix, CARD_CODE_LENGTH)
            };
            let card = RechargeCard {
                tenant_id: tid,
                batch_id: batch.id,
                seq,
                code_hash: code_hash(tid, &code),
                code_sealed: app.secrets.seal(code.as_bytes(), &code_aad(tid, batch.id, seq)),
                code_hint: code[code.len() - 4..].to_string(),
                value: batch.value,
                currency: batch.currency.clone(),
                status: CardStatus::Unused,
                expires_at: batch.expires_at,
                redeemed_by_customer: None,
                redeemed_at: None,
                payment_id: None,
                created_at: batch.created_at,
                version: 1,
            };
            tx.put_new(Store::encode_stored(&CardRecord { card: card.clone() }).or_500()?, Conflict::Exists);
            let serial = keys::recharge_card_serial(tid, batch.id, seq);
            tx.put_new(
                Store::encode(&serial, "RCARD_SERIAL", &serde_json::json!({"code_hash": card.code_hash}), None)
                    .or_500()?,
                Conflict::Unique("serial".into()),
            );
        }
        match app.store.commit(tx).await {
            Ok(()) => return Ok(()),
            // Written by an earlier try of the same batch: only whole chunks are written, so
            // this chunk is complete.
            Err(StoreError::Conflict(Conflict::Unique(f))) if f == "serial" => return Ok(()),
            // A code drawn twice (1 in 2^79): draw the chunk again.
            Err(StoreError::Conflict(Conflict::Exists)) => continue,
            Err(e) => return Err(kernel::support::store_err(e)),
        }
    }
    Err(Error::Internal("recharge card codes kept colliding".into()))
}

/// The ISP's batches, newest first.
pub async fn list_batches(app: &App, actor: &Actor, limit: u32, cursor: Option<&str>) -> Result<Page<CardBatch>> {
    let tid = issuer(actor)?;
    let q = Query::index("gsi1", keys::recharge_batches_gsi1(tid)).newest_first().limit(limit);
    let page: Page<BatchRecord> =
        app.store.query_page(Owner::Tenant(tid), "recharge-batches", q, cursor).await.or_500()?;
    Ok(Page { items: page.items.into_iter().map(|b| b.batch).collect(), next_cursor: page.next_cursor })
}

pub async fn get_batch(app: &App, actor: &Actor, id: Uuid) -> Result<CardBatch> {
    let tid = issuer(actor)?;
    let b: Option<BatchRecord> = app.store.get(&keys::recharge_batch(tid, id, None)).await.or_500()?;
    b.map(|b| b.batch).ok_or_else(|| Error::not_found("recharge card batch"))
}

/// A batch's cards in serial order, optionally of one status (no codes: see the CSV).
pub async fn list_cards(
    app: &App,
    actor: &Actor,
    batch: Uuid,
    status: Option<CardStatus>,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<RechargeCard>> {
    let tid = issuer(actor)?;
    get_batch(app, actor, batch).await?;
    let mut q = Query::index("gsi1", keys::recharge_cards_gsi1(tid, batch)).limit(limit);
    if let Some(s) = status {
        q = q.filter(store::Filter::default().eq("status", s.as_str()));
    }
    let listing = format!("recharge-cards:{batch}:{:?}", status.map(|s| s.as_str()));
    let page: Page<CardRecord> = app.store.query_page(Owner::Tenant(tid), &listing, q, cursor).await.or_500()?;
    Ok(Page { items: page.items.into_iter().map(|c| public(c.card)).collect(), next_cursor: page.next_cursor })
}

/// A card as shown: never its code or hash.
fn public(mut c: RechargeCard) -> RechargeCard {
    c.code_hash.clear();
    c.code_sealed.clear();
    c
}

#[cfg(feature = "csv")]
async fn batch_cards(app: &App, tid: Uuid, batch: Uuid) -> Result<Vec<RechargeCard>> {
    let q = Query::index("gsi1", keys::recharge_cards_gsi1(tid, batch)).limit(500);
    let all: Vec<CardRecord> = app.store.query_all(q, domain::recharge::MAX_CARDS as usize).await.or_500()?;
    Ok(all.into_iter().map(|c| c.card).collect())
}

/// The batch's cards with their codes, for printing: `serial,code,value,currency,expires_at,status`
/// (CSV or XLSX).
#[cfg(feature = "csv")]
pub async fn export_sheet(app: &App, actor: &Actor, batch: Uuid, format: domain::export::Format) -> Result<Vec<u8>> {
    use domain::recharge::grouped;
    use kernel::support::open_text;
    let tid = issuer(actor)?;
    let b = get_batch(app, actor, batch).await?;
    let mut out = domain::export::Sheet::new(format, &["serial", "code", "value", "currency", "expires_at", "status"])?;
    for c in batch_cards(app, tid, batch).await? {
        let code = open_text(&app.secrets, &c.code_sealed, &code_aad(tid, b.id, c.seq), "recharge card code")?;
        out.row(&[
            c.seq.to_string(),
            grouped(&code),
            domain::money::format_minor(c.value, &c.currency),
            c.currency.clone(),
            c.expires_at.map(|e| e.to_rfc3339()).unwrap_or_default(),
            c.status.as_str().to_string(),
        ])?;
    }
    out.finish()
}

/// Disables an unused card (lost, stolen): it never redeems.
pub async fn disable_card(app: &App, actor: &Actor, batch: Uuid, seq: u32) -> Result<RechargeCard> {
    let tid = issuer(actor)?;
    let serial: Option<serde_json::Value> =
        app.store.get(&keys::recharge_card_serial(tid, batch, seq)).await.or_500()?;
    let hash = serial
        .and_then(|s| s.get("code_hash").and_then(|h| h.as_str()).map(str::to_string))
        .ok_or_else(|| Error::not_found("recharge card"))?;
    let before = load_card(app, tid, &hash).await?.ok_or_else(|| Error::not_found("recharge card"))?;
    if before.status != CardStatus::Unused {
        return Err(Error::Conflict {
            code: "card_not_unused",
            detail: format!("the card is {}", before.status.as_str()),
            field: None,
        });
    }
    let now = app.now();
    let mut after = before.clone();
    after.status = CardStatus::Disabled;
    after.version += 1;
    let mut tx = Tx::new();
    tx.put_versioned(Store::encode_stored(&CardRecord { card: after.clone() }).or_500()?, before.version);
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "recharge_card.disabled",
            entity: "recharge_card",
            id: format!("{batch}:{seq}"),
            before: Some(snapshot(&public(before))),
            after: Some(snapshot(&public(after.clone()))),
        },
        now,
    ));
    app.store.commit(tx).await.map_err(|e| match e {
        StoreError::Conflict(_) => Error::version_conflict(),
        e => kernel::support::store_err(e),
    })?;
    Ok(public(after))
}

async fn load_card(app: &App, tid: Uuid, hash: &str) -> Result<Option<RechargeCard>> {
    let item = app.store.get_item(&keys::recharge_card(tid, hash, None)).await.or_500()?;
    Ok(decoded::<CardRecord>(item)?.map(|c| c.card))
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Redeem {
    /// As printed (case, spaces and dashes do not matter).
    pub code: String,
}

/// What a redemption answers: the card and the payment its value became.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Redemption {
    pub card: RechargeCard,
    pub payment: Payment,
}

fn failures(item: Option<store::Item>) -> i64 {
    item.and_then(|i| i.get("failures").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok())).unwrap_or(0)
}

/// Who a wrong code counts against: the customer, the request's source address (hashed), the ISP.
fn counted(customer: Uuid, source: Option<&str>) -> Vec<String> {
    let mut who = vec![customer.to_string(), "ISP".to_string()];
    if let Some(ip) = source.map(str::trim).filter(|s| !s.is_empty()) {
        who.push(format!("SRC#{}", domain::crypto::sha256_hex(ip.as_bytes())));
    }
    who
}

/// Counts a wrong code against the customer, the source address and the ISP in this window (the
/// counters expire with it).
async fn count_failure(app: &App, tid: Uuid, throttle: &Throttle, who: &[String], now: DateTime<Utc>) {
    let (window, left) = throttle.window_of(now);
    let ttl = store::ttl_at(now + chrono::Duration::seconds(left as i64 + 60));
    let mut tx = Tx::new();
    for who in who {
        tx.update(
            &keys::recharge_attempts(tid, who, window),
            "ADD failures :one SET #ttl = :ttl",
            None,
            &[("#ttl", "ttl")],
            std::collections::HashMap::from([
                (":one".to_string(), aws_sdk_dynamodb::types::AttributeValue::N("1".into())),
                (":ttl".to_string(), ttl.clone()),
            ]),
            Conflict::Condition,
        );
    }
    if let Err(e) = app.store.commit(tx).await {
        tracing::warn!(error = %e, "a wrong recharge card code not counted");
    }
}

/// Redeems a card for a customer (`Idempotency-Key` required): staff for any customer they see,
/// an operator for its subtree's. The value is paid into the customer's account (open invoices
/// first; a prepaid renewal paid extends the subscription; the rest is credit).
pub async fn redeem(
    app: &App,
    actor: &Actor,
    customer_id: Uuid,
    input: Redeem,
    idem: Option<&IdempotentRequest>,
    source: Option<&str>,
) -> Result<Outcome<Redemption>> {
    actor.require(Permission::PaymentsCollect)?;
    let idem = require_key(idem, "recharge")?;
    let code = checked_code(&input)?;
    // The customer must be one the caller sees (404 otherwise) before any guess counts.
    crm::customers::get_customer(app, actor, customer_id).await?;
    redeem_for(app, actor, actor, customer_id, &code, idem, source).await
}

fn checked_code(input: &Redeem) -> Result<String> {
    let code = normalize_code(&input.code);
    if code.is_empty() || code.len() > 24 || !code.bytes().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Error::field("code", "must be the code printed on the card"));
    }
    Ok(code)
}

/// `POST /v1/portal/recharge`: the subscriber redeems a card into its own account
/// (`Idempotency-Key` required), throttled like staff's (per customer, per source address and per
/// ISP). The payment
/// is recorded as the system's on the subscriber's behalf (the card keeps who redeemed it).
pub async fn redeem_by_subscriber(
    app: &App,
    s: domain::portal::Subscriber,
    input: Redeem,
    idem: Option<&IdempotentRequest>,
    source: Option<&str>,
) -> Result<Outcome<Redemption>> {
    let idem = require_key(idem, "recharge")?;
    let code = checked_code(&input)?;
    let (subscriber, system) = (Actor::subscriber(s), Actor::system(s.tenant_id));
    redeem_for(app, &subscriber, &system, s.customer_id, &code, idem, source).await
}

/// Redeems `code` for the customer: `actor` is who asked (its idempotency keys), `settler` who
/// records the payment (staff themselves; the system for a subscriber).
async fn redeem_for(
    app: &App,
    actor: &Actor,
    settler: &Actor,
    customer_id: Uuid,
    code: &str,
    idem: &IdempotentRequest,
    source: Option<&str>,
) -> Result<Outcome<Redemption>> {
    let tid = actor.tenant()?;
    let hash = code_hash(tid, code);
    let throttle = Throttle::of(&kernel::gate::limits(app, Some(tid)).await?);
    let who = counted(customer_id, source);
    let attempt = || {
        let (hash, who) = (hash.clone(), who.clone());
        async move {
            let now = app.now();
            let (window, _) = throttle.window_of(now);
            let counters: Vec<_> = who.iter().map(|w| keys::recharge_attempts(tid, w, window)).collect();
            let card_key = keys::recharge_card(tid, &hash, None);
            let mut wanted = vec![&card_key];
            wanted.extend(counters.iter());
            let mut got = app.store.batch_get(&wanted).await.or_500()?.into_iter();
            let card = decoded::<CardRecord>(got.next().flatten())?.map(|c| c.card);
            let (customer, isp) = (failures(got.next().flatten()), failures(got.next().flatten()));
            let failures = Failures { customer, isp, source: failures(got.next().flatten()) };
            throttle.check(failures, now)?;
            let Some(card) = card else {
                count_failure(app, tid, &throttle, &who, now).await;
                return Err(Attempt::Failed(refused(Refusal::Unknown)));
            };
            if let Err(r) = card.redeemable(now) {
                // A used card is a real code (a repeat, or a race lost to another redemption),
                // not a guess; disabled and expired ones read as unknown, and count as guesses.
                if r != Refusal::Used {
                    count_failure(app, tid, &throttle, &who, now).await;
                }
                return Err(Attempt::Failed(refused(r)));
            }
            redeem_once(app, actor, settler, idem, customer_id, card, now).await
        }
    };
    idempotent_money_write(app, actor, idem, attempt).await.map_err(|e| match e {
        // Another redemption of the card won the race.
        Error::Conflict { code: "duplicate_reference", .. } => refused(Refusal::Used),
        e => e,
    })
}

async fn redeem_once(
    app: &App,
    actor: &Actor,
    settler: &Actor,
    idem: &IdempotentRequest,
    customer_id: Uuid,
    card: RechargeCard,
    now: DateTime<Utc>,
) -> std::result::Result<Redemption, Attempt> {
    let input = RecordPayment {
        invoice_id: None,
        customer_id: Some(customer_id),
        amount: card.value,
        method: PaymentMethod::RechargeCard,
        reference: None,
        note: None,
        received_at: None,
    };
    let tid = card.tenant_id;
    let redeemed = std::sync::Mutex::new(None);
    let with_card = |tx: &mut Tx, payment: &Payment| -> Result<()> {
        let mut after = card.clone();
        after.redeem(customer_id, payment.id, now).map_err(refused)?;
        tx.put_versioned(Store::encode_stored(&CardRecord { card: after.clone() }).or_500()?, card.version);
        let answer = Redemption { card: public(after), payment: payment.clone() };
        tx.put_idempotency(Owner::Tenant(tid), &idem.key_hash(actor.user_id), &record(idem, 201, &answer, app)?);
        *redeemed.lock().expect("redeemed card") = Some(answer);
        Ok(())
    };
    let money = MoneyIn {
        input: &input,
        // One payment per card, whoever redeems it (the card's serial, not its secret code).
        reference: Some(format!("{}:{}", card.batch_id, card.seq)),
        note: Some(format!("Recharge card ...{} ({} serial {})", card.code_hint, card.batch_id, card.seq)),
        gateway: None,
        closed_invoice: ClosedInvoice::Refuse,
        payer: None,
        also: &with_card,
    };
    settle(app, settler, tid, &money).await?;
    redeemed
        .into_inner()
        .expect("redeemed card")
        .ok_or_else(|| Attempt::Failed(Error::Internal("a redemption without its card".into())))
}
