//! Operators' wallets (`/v1/operators/{id}/wallet`): prepaid money an operator or sub-operator
//! holds with its ISP, as a double-entry ledger (`domain::wallet`). A movement reads both wallets,
//! checks the payer's floor (its credit limit), and writes both balances (versioned) and both
//! entries in one transaction: two movements racing on one wallet cannot both pass its floor, the
//! loser reads again. Top-ups come from the ISP's funding account; transfers move money between an
//! operator and its own sub-operator, either way. Every movement needs an `Idempotency-Key`.

pub mod commissions;
pub mod sales;

use domain::actor::Actor;
use domain::role::Permission;
use domain::user::{OperatorProfile, User};
use domain::wallet::{Movement, MovementKind, TopUpMethod, Wallet, WalletEntry, WalletOwner};
use domain::{Error, Result, Validation, ids};
use kernel::App;
use kernel::idempotency::{
    Attempt, IdempotentRequest, Outcome, attempt_failed, idempotent_money_write_tries, record, require_key,
};
use kernel::support::{Audited, StoreResultExt, audit, decoded, load_tenant};
use serde::{Deserialize, Serialize};
use store::{Owner, Page, Query, Store, Tx, keys};
use uuid::Uuid;

/// A wallet as its operator and the ISP see it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WalletView {
    pub operator_id: Uuid,
    pub balance: i64,
    pub currency: String,
    /// How far below zero it may go (the operator's profile).
    pub credit_limit: i64,
    /// What it may still spend: balance + credit limit.
    pub available: i64,
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
    pub version: u64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopUp {
    /// Minor units of the ISP's currency.
    pub amount: i64,
    pub method: TopUpMethod,
    /// The bank or mobile-money transaction id, or the cash receipt's number.
    pub reference: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// The operator's own sub-operator, or (from a sub-operator's wallet) its operator.
    pub to_operator_id: Uuid,
    pub amount: i64,
    pub note: Option<String>,
}

/// What a movement answers: the entry in the wallet the request named.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MovementAnswer {
    pub movement_id: Uuid,
    pub entry: WalletEntry,
    pub wallet: WalletView,
}

fn operator_of(owner: WalletOwner) -> Option<Uuid> {
    owner.operator()
}

/// An operator or sub-operator of the ISP the caller may see (404 otherwise).
async fn visible_operator(app: &App, actor: &Actor, tid: Uuid, id: Uuid) -> Result<(User, OperatorProfile)> {
    let (uk, pk) = (keys::user(Some(tid), id), keys::operator_profile(tid, id));
    let mut got = app.store.batch_get(&[&uk, &pk]).await.or_500()?.into_iter();
    let user: Option<identity::users::UserRecord> = decoded(got.next().flatten())?;
    let user = match user {
        Some(u) if u.user.role.is_scoped() && !u.user.email.is_empty() && actor.sees_scope(u.user.scope.as_deref()) => {
            u.user
        }
        _ => return Err(Error::not_found("operator")),
    };
    let profile = decoded::<OperatorProfile>(got.next().flatten())?.unwrap_or_else(|| OperatorProfile::empty(id));
    Ok((user, profile))
}

async fn load_wallet(app: &App, tid: Uuid, owner: WalletOwner, currency: &str) -> Result<Wallet> {
    let item = app.store.get_item(&keys::wallet(tid, operator_of(owner))).await.or_500()?;
    Ok(decoded::<Wallet>(item)?.unwrap_or_else(|| Wallet::empty(tid, owner, currency)))
}

/// Both wallets of a movement in one BatchGetItem.
/// Both wallets of a movement, read in one BatchGetItem (a wallet never written reads as empty).
pub async fn load_pair(
    app: &App,
    tid: Uuid,
    a: WalletOwner,
    b: WalletOwner,
    currency: &str,
) -> Result<(Wallet, Wallet)> {
    let (ka, kb) = (keys::wallet(tid, a.operator()), keys::wallet(tid, b.operator()));
    let mut got = app.store.batch_get(&[&ka, &kb]).await.or_500()?.into_iter();
    let mut next = |owner: WalletOwner| -> Result<Wallet> {
        Ok(decoded::<Wallet>(got.next().flatten())?.unwrap_or_else(|| Wallet::empty(tid, owner, currency)))
    };
    Ok((next(a)?, next(b)?))
}

fn view(w: &Wallet, profile: &OperatorProfile, id: Uuid) -> WalletView {
    WalletView {
        operator_id: id,
        balance: w.balance,
        currency: w.currency.clone(),
        credit_limit: profile.credit_limit,
        available: w.balance + profile.credit_limit,
        updated_at: w.updated_at,
        version: w.version,
    }
}

pub async fn get_wallet(app: &App, actor: &Actor, id: Uuid) -> Result<WalletView> {
    actor.require(Permission::BillingRead)?;
    let tid = actor.tenant()?;
    let (_, profile) = visible_operator(app, actor, tid, id).await?;
    let tenant = load_tenant(app, tid).await?;
    let w = load_wallet(app, tid, WalletOwner::Operator(id), &tenant.currency).await?;
    Ok(view(&w, &profile, id))
}

/// The wallet's entries, newest first.
pub async fn list_entries(
    app: &App,
    actor: &Actor,
    id: Uuid,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<WalletEntry>> {
    actor.require(Permission::BillingRead)?;
    let tid = actor.tenant()?;
    visible_operator(app, actor, tid, id).await?;
    let q = Query::table(keys::wallet_pk(tid, Some(id))).prefix(keys::WALLET_ENTRY_PREFIX).newest_first().limit(limit);
    app.store.query_page(Owner::Tenant(tid), &format!("wallet:{id}"), q, cursor).await.or_500()
}

fn check_text(v: &mut Validation, field: &str, s: Option<&str>, max: usize) -> Option<String> {
    v.optional_text(field, s, max)
}

/// The ISP credits an operator's wallet (cash, bank or mobile money paid to it).
pub async fn top_up(
    app: &App,
    actor: &Actor,
    id: Uuid,
    input: TopUp,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<MovementAnswer>> {
    actor.require(Permission::BillingWrite)?;
    if actor.role.is_scoped() {
        return Err(Error::forbidden("only the ISP tops up an operator's wallet"));
    }
    let idem = require_key(idem, "wallet movement")?;
    let tid = actor.tenant()?;
    let mut v = Validation::new();
    if input.method == TopUpMethod::Online {
        v.add("method", "online top-ups are paid through a checkout (POST /v1/checkouts with operator_id)");
    }
    let reference = check_text(&mut v, "reference", input.reference.as_deref(), 80);
    let note = check_text(&mut v, "note", input.note.as_deref(), 300);
    v.finish()?;
    let (_, profile) = visible_operator(app, actor, tid, id).await?;
    let spec = Spec {
        kind: MovementKind::TopUp,
        from: WalletOwner::Isp,
        to: WalletOwner::Operator(id),
        amount: input.amount,
        method: Some(input.method),
        reference,
        note,
        answer_for: id,
        floors: (None, profile),
    };
    move_money(app, actor, tid, idem, spec).await
}

/// Moves money between an operator and its own sub-operator (either way). The operator of the
/// pair (or the ISP) may move it either way; a sub-operator may give back to its operator.
pub async fn transfer(
    app: &App,
    actor: &Actor,
    id: Uuid,
    input: Transfer,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<MovementAnswer>> {
    actor.require(Permission::BillingRead)?;
    let idem = require_key(idem, "wallet movement")?;
    let tid = actor.tenant()?;
    let mut v = Validation::new();
    let note = check_text(&mut v, "note", input.note.as_deref(), 300);
    v.finish()?;
    let (from, from_profile) = visible_operator(app, actor, tid, id).await?;
    // The payee is the payer's sub-operator (within the caller's sight with it) or its operator
    // (a sub-operator giving back): checked as kin of the payer below, not by the caller's sight.
    let to = match visible_operator(app, &Actor::system(tid), tid, input.to_operator_id).await {
        Ok((u, _)) => u,
        Err(Error::NotFound { .. }) => return Err(Error::field("to_operator_id", "no such operator of yours")),
        Err(e) => return Err(e),
    };
    let parent_of = |child: &User, parent: &User| matches!((&child.scope, &parent.scope), (Some(c), Some(p)) if *c == format!("{p}/{}", child.id));
    let (operator, _sub) = if parent_of(&to, &from) {
        (from.id, to.id)
    } else if parent_of(&from, &to) {
        (to.id, from.id)
    } else {
        return Err(Error::field("to_operator_id", "money moves only between an operator and its own sub-operator"));
    };
    let allowed = !actor.role.is_scoped() && actor.require(Permission::BillingWrite).is_ok()
        || actor.user_id == operator
        || actor.user_id == from.id;
    if !allowed {
        return Err(Error::forbidden("only the operator of the pair, the payer or the ISP moves this money"));
    }
    let spec = Spec {
        kind: MovementKind::Transfer,
        from: WalletOwner::Operator(from.id),
        to: WalletOwner::Operator(to.id),
        amount: input.amount,
        method: None,
        reference: None,
        note,
        answer_for: id,
        floors: (Some(from_profile.credit_limit), from_profile),
    };
    move_money(app, actor, tid, idem, spec).await
}

/// Stages a movement's writes in a transaction: both wallets, each conditioned on the version it
/// was read at (a wallet never written must still not exist), and both entries. Whatever else
/// the transaction holds (a voucher sold with it) commits with the money or not at all.
pub fn stage_movement(
    tx: &mut Tx,
    tid: Uuid,
    wallets: [(&Wallet, u64); 2],
    entries: [&WalletEntry; 2],
) -> std::result::Result<(), Attempt> {
    Ok(stage_wallets(tx, tid, &wallets, &entries)?)
}

/// Stages wallets (each on the version read; 0: must not exist yet) and entries.
pub fn stage_wallets(tx: &mut Tx, tid: Uuid, wallets: &[(&Wallet, u64)], entries: &[&WalletEntry]) -> Result<()> {
    for (w, before) in wallets {
        let item = Store::encode_stored(*w).or_500()?;
        tx.put_read_at(item, *before);
    }
    for e in entries {
        let k = keys::wallet_entry(tid, operator_of(e.owner), e.id);
        tx.put(Store::encode(&k, "WALLET_ENTRY", *e, None).or_500()?);
    }
    Ok(())
}

/// An operator or sub-operator whose wallet the caller may pay into online: itself, one in its
/// subtree, or any of the ISP's for its staff (404 otherwise).
pub async fn payable_operator(app: &App, actor: &Actor, id: Uuid) -> Result<User> {
    actor.require(Permission::PaymentsCollect)?;
    let tid = actor.tenant()?;
    Ok(visible_operator(app, actor, tid, id).await?.0)
}

/// Money a gateway took for an operator's wallet.
#[derive(Debug, Clone, Copy)]
pub struct OnlineTopUp<'a> {
    pub operator: Uuid,
    pub amount: i64,
    pub currency: &'a str,
    /// The gateway and its transaction id.
    pub reference: &'a str,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Stages money paid online into an operator's wallet (from the ISP's funding account, whose
/// gateway took it): both wallets on the versions read, both entries. Answers the operator's entry.
pub async fn stage_online_top_up(app: &App, tx: &mut Tx, tid: Uuid, paid: &OnlineTopUp<'_>) -> Result<WalletEntry> {
    let OnlineTopUp { operator, amount, currency, reference, at } = *paid;
    let (mut isp, mut wallet) =
        load_pair(app, tid, WalletOwner::Isp, WalletOwner::Operator(operator), currency).await?;
    let (isp_before, wallet_before) = (isp.version, wallet.version);
    let movement = Movement {
        id: ids::new_id(),
        kind: MovementKind::TopUp,
        from: WalletOwner::Isp,
        to: WalletOwner::Operator(operator),
        amount,
        method: Some(TopUpMethod::Online),
        reference: Some(reference.to_string()),
        note: None,
        by: operator,
        at,
    };
    let (out, into) = movement.apply(&mut isp, &mut wallet, None, (ids::new_id(), ids::new_id()))?;
    stage_wallets(tx, tid, &[(&isp, isp_before), (&wallet, wallet_before)], &[&out, &into])?;
    Ok(into)
}

/// An operator's profile: how far below zero its wallet may go (its credit limit) and when it is
/// warned (an empty profile without one).
pub async fn profile(app: &App, tid: Uuid, operator: Uuid) -> Result<OperatorProfile> {
    let p: Option<OperatorProfile> =
        decoded(app.store.get_item(&keys::operator_profile(tid, operator)).await.or_500()?)?;
    Ok(p.unwrap_or_else(|| OperatorProfile::empty(operator)))
}

/// Stages the operator's low-balance warning (`WalletLowBalance`, for messaging) when this
/// payment from its wallet takes it below the threshold its profile sets.
pub fn stage_low_balance(tx: &mut Tx, paid_from: &Wallet, before: i64, profile: &OperatorProfile) -> Result<()> {
    let Some(operator) = paid_from.owner.operator() else { return Ok(()) };
    if !domain::wallet::fell_below(profile.low_balance_alert, before, paid_from.balance) {
        return Ok(());
    }
    let detail = serde_json::to_value(domain::event::WalletLowBalance {
        operator_id: operator,
        balance: paid_from.balance,
        threshold: profile.low_balance_alert,
        currency: paid_from.currency.clone(),
    })
    .map_err(|e| Error::Internal(e.to_string()))?;
    let at = paid_from.updated_at.unwrap_or(chrono::DateTime::UNIX_EPOCH);
    tx.put_event(&domain::event::DomainEvent::new(
        domain::event::BillingEvent::WalletLowBalance,
        Some(paid_from.tenant_id),
        detail,
        at,
    ));
    Ok(())
}

/// What to move, and the payer's floor.
struct Spec {
    kind: MovementKind,
    from: WalletOwner,
    to: WalletOwner,
    amount: i64,
    method: Option<TopUpMethod>,
    reference: Option<String>,
    note: Option<String>,
    /// The wallet the request named (its entry and view are the answer).
    answer_for: Uuid,
    /// The payer's floor (None: the ISP's funding account) and the named wallet's profile.
    floors: (Option<i64>, OperatorProfile),
}

/// How many times a movement reads again when its wallets moved meanwhile (many sellers share one
/// operator's wallet).
const TRIES: u32 = 60;

async fn move_money(
    app: &App,
    actor: &Actor,
    tid: Uuid,
    idem: &IdempotentRequest,
    spec: Spec,
) -> Result<Outcome<MovementAnswer>> {
    let tenant = load_tenant(app, tid).await?;
    let spec = &spec;
    let tenant = &tenant;
    idempotent_money_write_tries(app, actor, idem, TRIES, || async move {
        let (mut from, mut to) = load_pair(app, tid, spec.from, spec.to, &tenant.currency).await?;
        let (from_before, to_before) = (from.version, to.version);
        let paid_before = from.balance;
        let now = app.now();
        let movement = Movement {
            id: ids::new_id(),
            kind: spec.kind,
            from: spec.from,
            to: spec.to,
            amount: spec.amount,
            method: spec.method,
            reference: spec.reference.clone(),
            note: spec.note.clone(),
            by: actor.real_actor(),
            at: now,
        };
        let (out, into) = movement.apply(&mut from, &mut to, spec.floors.0, (ids::new_id(), ids::new_id()))?;
        let mut tx = Tx::new();
        stage_movement(&mut tx, tid, [(&from, from_before), (&to, to_before)], [&out, &into])?;
        // A transfer is paid from the named wallet (`floors.1` is its profile).
        if spec.from == WalletOwner::Operator(spec.answer_for) {
            stage_low_balance(&mut tx, &from, paid_before, &spec.floors.1)?;
        }
        let (entry, wallet) =
            if spec.to == WalletOwner::Operator(spec.answer_for) { (into.clone(), &to) } else { (out.clone(), &from) };
        let answer =
            MovementAnswer { movement_id: movement.id, entry, wallet: view(wallet, &spec.floors.1, spec.answer_for) };
        tx.put_audit(&audit(
            actor,
            Some(tid),
            Audited {
                action: match spec.kind {
                    MovementKind::TopUp => "wallet.topped_up",
                    MovementKind::Transfer => "wallet.transferred",
                    MovementKind::VoucherSale => "wallet.voucher_sold",
                    MovementKind::VoucherRefund => "wallet.voucher_refunded",
                    MovementKind::Commission => "wallet.commission",
                    MovementKind::PackageSale => "wallet.package_sold",
                    MovementKind::SaleReversal => "wallet.sale_reversed",
                    MovementKind::CommissionReversal => "wallet.commission_reversed",
                },
                entity: "wallet",
                id: spec.answer_for.to_string(),
                before: None,
                after: Some(serde_json::json!({"movement_id": movement.id, "from": spec.from, "to": spec.to,
                    "amount": spec.amount, "currency": tenant.currency})),
            },
            now,
        ));
        tx.put_idempotency(Owner::Tenant(tid), &idem.key_hash(actor.user_id), &record(idem, 201, &answer, app)?);
        match app.store.commit(tx).await {
            Ok(()) => Ok(answer),
            Err(e) => {
                // A lost race: a short random pause spreads the next reads of a busy wallet.
                let pause = rand::random::<u64>() % 20;
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                Err(attempt_failed(e))
            }
        }
    })
    .await
}

/// Wallets several movements of one transaction touch (a credit note taking back a commission and
/// giving back a sale): each read once, moved in memory, and staged once on the version read
/// (DynamoDB allows one write per item in a transaction).
pub struct WalletSet {
    tid: Uuid,
    currency: String,
    held: Vec<(Wallet, u64)>,
    entries: Vec<WalletEntry>,
}

impl WalletSet {
    pub fn new(tid: Uuid, currency: &str) -> Self {
        WalletSet { tid, currency: currency.to_string(), held: vec![], entries: vec![] }
    }

    pub fn tenant(&self) -> Uuid {
        self.tid
    }

    /// Reads the wallets not held yet (one BatchGetItem; a wallet never written reads empty).
    pub async fn load(&mut self, app: &App, owners: &[WalletOwner]) -> Result<()> {
        let mut missing: Vec<WalletOwner> =
            owners.iter().copied().filter(|o| !self.held.iter().any(|(w, _)| w.owner == *o)).collect();
        missing.sort();
        missing.dedup();
        if missing.is_empty() {
            return Ok(());
        }
        let ks: Vec<store::ItemKeys> = missing.iter().map(|o| keys::wallet(self.tid, o.operator())).collect();
        let got = app.store.batch_get(&ks.iter().collect::<Vec<_>>()).await.or_500()?;
        for (owner, item) in missing.into_iter().zip(got) {
            let w = decoded::<Wallet>(item)?.unwrap_or_else(|| Wallet::empty(self.tid, owner, &self.currency));
            let v = w.version;
            self.held.push((w, v));
        }
        Ok(())
    }

    /// Applies a movement between two held wallets (`floor` for the payer, None: none).
    pub fn apply(&mut self, m: &Movement, floor: Option<i64>) -> Result<()> {
        let at = |o: WalletOwner| self.held.iter().position(|(w, _)| w.owner == o);
        let (Some(i), Some(j)) = (at(m.from), at(m.to)) else {
            return Err(Error::Internal("a movement of a wallet not read".into()));
        };
        if i == j {
            return Err(Error::field("to", "money cannot move to the wallet it leaves"));
        }
        let (lo, hi) = self.held.split_at_mut(i.max(j));
        let (a, b) = (&mut lo[i.min(j)].0, &mut hi[0].0);
        let (from, to) = if i < j { (a, b) } else { (b, a) };
        let (out, into) = m.apply(from, to, floor, (ids::new_id(), ids::new_id()))?;
        self.entries.push(out);
        self.entries.push(into);
        Ok(())
    }

    /// Stages every wallet that moved and every entry.
    pub fn stage(&self, tx: &mut Tx) -> Result<()> {
        let moved: Vec<(&Wallet, u64)> =
            self.held.iter().filter(|(w, v)| w.version != *v).map(|(w, v)| (w, *v)).collect();
        stage_wallets(tx, self.tid, &moved, &self.entries.iter().collect::<Vec<_>>())
    }
}
