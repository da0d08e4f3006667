//! Commissions (`/v1/packages/{id}/commission`, `GET /v1/reports/commissions`): each package's
//! rule per level (`domain::commission`), and the credit of what operators earn, staged into the
//! transaction that applies their customer's payment: a movement from the ISP's funding account to
//! each earner's wallet (two entries that sum to zero), the month's commission aggregate, and a
//! `CommissionEarned` event per earner. The payment's own sentinels (its idempotency record, the
//! gateway transaction's) make a repeated payment earn nothing twice.

use domain::actor::Actor;
use domain::commission::{Applied, CommissionRule, Earning, Share, earnings};
use domain::event::{BillingEvent, DomainEvent};
use domain::role::Permission;
use domain::tenant::Tenant;
use domain::user::OperatorProfile;
use domain::wallet::{Movement, MovementKind, Wallet, WalletEntry, WalletOwner};
use domain::{Error, Result, ids};
use kernel::App;
use kernel::support::{Audited, StoreResultExt, audit, decoded, snapshot};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use store::{Conflict, Store, Tx, keys};
use uuid::Uuid;

/// What a package's commission rule is set to.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetCommissionRule {
    /// The top-level operator's share (absent: its own rate).
    pub operator: Option<Share>,
    /// The customer's sub-operator's share (absent: its own rate).
    pub sub_operator: Option<Share>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RuleRecord {
    tenant_id: Uuid,
    #[serde(flatten)]
    rule: CommissionRule,
}

impl store::Stored for RuleRecord {
    const TYPE: &'static str = "COMMISSION_RULE";
    fn keys(&self) -> store::ItemKeys {
        keys::commission_rule(self.tenant_id, self.rule.package_id)
    }
    fn version(&self) -> Option<u64> {
        Some(self.rule.version)
    }
}

/// Setting commissions is the ISP's (never an operator's own).
fn rule_writer(actor: &Actor) -> Result<Uuid> {
    actor.require(Permission::PackagesWrite)?;
    if actor.role.is_scoped() {
        return Err(Error::forbidden("commissions are set by the ISP"));
    }
    actor.tenant()
}

/// A package's rule (404 for a package that is not the ISP's; a package without one answers
/// both levels empty: the earners' own rates).
pub async fn get_rule(app: &App, actor: &Actor, package: Uuid) -> Result<CommissionRule> {
    actor.require(Permission::PackagesRead)?;
    let tid = actor.tenant()?;
    // The rule and its package in one BatchGetItem.
    let (rk, pk) =
        (keys::commission_rule(tid, package), store::ItemKeys::new(keys::package_pk(tid, package), "PACKAGE"));
    let mut got = app.store.batch_get(&[&rk, &pk]).await.or_500()?.into_iter();
    let rule = decoded::<RuleRecord>(got.next().flatten())?.map(|r| r.rule);
    if got.next().flatten().is_none() {
        return Err(Error::not_found("package"));
    }
    Ok(rule.unwrap_or(CommissionRule {
        package_id: package,
        operator: None,
        sub_operator: None,
        updated_at: chrono::DateTime::UNIX_EPOCH,
        version: 0,
    }))
}

/// Sets a package's rule (a whole replacement; versioned so two editors never both win).
pub async fn set_rule(app: &App, actor: &Actor, package: Uuid, input: SetCommissionRule) -> Result<CommissionRule> {
    let tid = rule_writer(actor)?;
    let now = app.now();
    let before = get_rule(app, actor, package).await?;
    let rule = CommissionRule {
        package_id: package,
        operator: input.operator,
        sub_operator: input.sub_operator,
        updated_at: now,
        version: before.version + 1,
    };
    rule.check()?;
    let mut tx = Tx::new();
    let item = Store::encode_stored(&RuleRecord { tenant_id: tid, rule: rule.clone() }).or_500()?;
    tx.put_read_at(item, before.version);
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "commission_rule.set",
            entity: "package",
            id: package.to_string(),
            before: (before.version > 0).then(|| snapshot(&before)),
            after: Some(snapshot(&rule)),
        },
        now,
    ));
    app.store.commit(tx).await.map_err(|e| match e {
        store::StoreError::Conflict(_) => Error::Conflict {
            code: "changed_meanwhile",
            detail: "the rule changed meanwhile; read it again".into(),
            field: None,
        },
        e => kernel::support::store_err(e),
    })?;
    Ok(rule)
}

/// Removes a package's rule: its earners fall back to their own rates.
pub async fn delete_rule(app: &App, actor: &Actor, package: Uuid) -> Result<()> {
    let tid = rule_writer(actor)?;
    let before = get_rule(app, actor, package).await?;
    if before.version == 0 {
        return Ok(());
    }
    let now = app.now();
    let mut tx = Tx::new();
    tx.delete(&keys::commission_rule(tid, package));
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "commission_rule.deleted",
            entity: "package",
            id: package.to_string(),
            before: Some(snapshot(&before)),
            after: None,
        },
        now,
    ));
    app.store.commit(tx).await.or_500()
}

/// The payment whose money earns the commission.
pub struct Earned<'a> {
    pub tenant: &'a Tenant,
    pub payment_id: Uuid,
    pub customer_id: Uuid,
    pub receipt_number: &'a str,
    pub by: Uuid,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Stages what the payment's money earns its customer's operators (nothing to read or write for
/// the ISP's own customers): the rules of the paid packages, the earners' rates and wallets and
/// the ISP's funding account in one BatchGetItem; then one movement per earner, the month's
/// aggregate and the events. The wallets are written on the versions read: a movement racing on
/// one of them makes the payment's transaction read again.
pub async fn stage_commissions(
    app: &App,
    tx: &mut Tx,
    paid: &Earned<'_>,
    applied: &[Applied<'_>],
) -> Result<Vec<Earning>> {
    let tid = paid.tenant.id;
    let mut packages: Vec<Uuid> = vec![];
    let mut operators: Vec<Uuid> = vec![];
    for a in applied {
        let earners = domain::commission::earners(a.invoice.scope.as_deref());
        if earners.is_empty() {
            continue;
        }
        packages.extend(a.invoice.lines.iter().filter_map(|l| l.package_id));
        operators.extend(earners.into_iter().map(|(_, id, _)| id));
    }
    if operators.is_empty() {
        return Ok(vec![]);
    }
    packages.sort();
    packages.dedup();
    operators.sort();
    operators.dedup();
    let mut wanted: Vec<store::ItemKeys> = packages.iter().map(|p| keys::commission_rule(tid, *p)).collect();
    wanted.extend(operators.iter().map(|o| keys::operator_profile(tid, *o)));
    wanted.extend(operators.iter().map(|o| keys::wallet(tid, Some(*o))));
    wanted.push(keys::wallet(tid, None));
    let refs: Vec<&store::ItemKeys> = wanted.iter().collect();
    let mut got = app.store.batch_get_many(&refs).await.or_500()?.into_iter();
    let mut rules = BTreeMap::new();
    for p in &packages {
        if let Some(r) = decoded::<RuleRecord>(got.next().flatten())? {
            rules.insert(*p, r.rule);
        }
    }
    let mut rates = BTreeMap::new();
    for o in &operators {
        if let Some(p) = decoded::<OperatorProfile>(got.next().flatten())? {
            rates.insert(*o, p.commission_rate_bps);
        }
    }
    let currency = paid.tenant.currency.as_str();
    let mut wallets: BTreeMap<Uuid, (Wallet, u64)> = BTreeMap::new();
    for o in &operators {
        let w = decoded::<Wallet>(got.next().flatten())?
            .unwrap_or_else(|| Wallet::empty(tid, WalletOwner::Operator(*o), currency));
        let v = w.version;
        wallets.insert(*o, (w, v));
    }
    let mut isp =
        decoded::<Wallet>(got.next().flatten())?.unwrap_or_else(|| Wallet::empty(tid, WalletOwner::Isp, currency));
    let isp_before = isp.version;
    let earned = earnings(applied, &rules, &rates);
    if earned.is_empty() {
        return Ok(vec![]);
    }
    let mut entries: Vec<WalletEntry> = vec![];
    for e in &earned {
        let (wallet, _) = wallets.get_mut(&e.operator_id).expect("an earner's wallet was read");
        let movement = Movement {
            id: ids::new_id(),
            kind: MovementKind::Commission,
            from: WalletOwner::Isp,
            to: WalletOwner::Operator(e.operator_id),
            amount: e.amount,
            method: None,
            reference: Some(paid.receipt_number.to_string()),
            note: Some(format!("Commission on payment {}", paid.receipt_number)),
            by: paid.by,
            at: paid.at,
        };
        let (out, into) = movement.apply(&mut isp, wallet, None, (ids::new_id(), ids::new_id()))?;
        tx.put_event(&DomainEvent::new(
            BillingEvent::CommissionEarned,
            Some(tid),
            serde_json::json!({
                "payment_id": paid.payment_id,
                "customer_id": paid.customer_id,
                "receipt_number": paid.receipt_number,
                "operator_id": e.operator_id,
                "level": e.level,
                "amount": e.amount,
                "currency": currency,
                "movement_id": movement.id,
                "balance_after": into.balance_after,
                "lines": e.lines,
            }),
            paid.at,
        ));
        entries.push(out);
        entries.push(into);
    }
    let mut staged: Vec<(&Wallet, u64)> = vec![(&isp, isp_before)];
    staged.extend(wallets.values().filter(|(w, v)| w.version != *v).map(|(w, v)| (w, *v)));
    let entry_refs: Vec<&WalletEntry> = entries.iter().collect();
    crate::stage_wallets(tx, tid, &staged, &entry_refs)?;
    kernel::projections::reports::stage_commissions(tx, paid.tenant, &earned, paid.at);
    stage_per_invoice(tx, tid, &earned);
    Ok(earned)
}

/// Adds what each earner earned on each invoice to the invoice's commission record (a credit
/// note reads it to take its share back).
fn stage_per_invoice(tx: &mut Tx, tid: Uuid, earned: &[Earning]) {
    let mut per: BTreeMap<Uuid, BTreeMap<Uuid, (i64, &str)>> = BTreeMap::new();
    for e in earned {
        for l in &e.lines {
            per.entry(l.invoice_id).or_default().entry(e.operator_id).or_insert((0, e.path.as_str())).0 += l.amount;
        }
    }
    for (invoice, earners) in per {
        let mut adds = vec![];
        let mut sets = vec![];
        let mut values = std::collections::HashMap::new();
        let mut names: Vec<(String, String)> = vec![];
        for (i, (op, (amount, path))) in earners.into_iter().enumerate() {
            names.push((format!("#e{i}"), format!("earned#{op}")));
            names.push((format!("#p{i}"), format!("path#{op}")));
            adds.push(format!("#e{i} :e{i}"));
            sets.push(format!("#p{i} = :p{i}"));
            values.insert(format!(":e{i}"), aws_sdk_dynamodb::types::AttributeValue::N(amount.to_string()));
            values.insert(format!(":p{i}"), aws_sdk_dynamodb::types::AttributeValue::S(path.to_string()));
        }
        let expr = format!("ADD {} SET {}, #t = :t", adds.join(", "), sets.join(", "));
        names.push(("#t".into(), "type".into()));
        values.insert(":t".into(), aws_sdk_dynamodb::types::AttributeValue::S("COMMISSIONS".into()));
        let refs: Vec<(&str, &str)> = names.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        tx.update(&keys::invoice_commissions(tid, invoice), &expr, None, &refs, values, Conflict::Condition);
    }
}

/// A credit note of `credited` on an invoice of `total`: each earner gives back that share of
/// what it earned on the invoice (never more than it earned), from its wallet to the ISP's
/// funding account (it may go below zero: the money was not the operator's), with the month's
/// aggregate lowered and the invoice's record conditioned on what was read (a concurrent note
/// makes the transaction read again).
pub async fn stage_clawback(
    app: &App,
    tx: &mut Tx,
    wallets: &mut crate::WalletSet,
    tenant: &Tenant,
    invoice: Uuid,
    (credited, total): (i64, i64),
    (by, at): (Uuid, chrono::DateTime<chrono::Utc>),
) -> Result<()> {
    let tid = tenant.id;
    let Some(item) = app.store.get_item(&keys::invoice_commissions(tid, invoice)).await.or_500()? else {
        return Ok(());
    };
    if total <= 0 {
        return Ok(());
    }
    let num = |k: &str| item.get(k).and_then(|v| v.as_n().ok()).and_then(|n| n.parse::<i64>().ok()).unwrap_or(0);
    let mut back: Vec<(Uuid, String, i64, i64)> = vec![];
    for (k, v) in &item {
        let Some(op) = k.strip_prefix("earned#").and_then(|o| o.parse::<Uuid>().ok()) else { continue };
        let earned = v.as_n().ok().and_then(|n| n.parse::<i64>().ok()).unwrap_or(0);
        let clawed = num(&format!("clawed#{op}"));
        let amount = domain::billing::mul_div(earned, credited.min(total), total).min(earned - clawed);
        let path =
            item.get(&format!("path#{op}")).and_then(|v| v.as_s().ok()).cloned().unwrap_or_else(|| op.to_string());
        if amount > 0 {
            back.push((op, path, amount, clawed));
        }
    }
    if back.is_empty() {
        return Ok(());
    }
    let owners: Vec<WalletOwner> =
        back.iter().map(|(op, ..)| WalletOwner::Operator(*op)).chain(std::iter::once(WalletOwner::Isp)).collect();
    wallets.load(app, &owners).await?;
    let mut lowered = vec![];
    let (mut adds, mut conds) = (vec![], vec![]);
    let mut values = std::collections::HashMap::new();
    let mut names: Vec<(String, String)> = vec![];
    for (op, path, amount, clawed) in &back {
        let movement = Movement {
            id: ids::new_id(),
            kind: MovementKind::CommissionReversal,
            from: WalletOwner::Operator(*op),
            to: WalletOwner::Isp,
            amount: *amount,
            method: None,
            reference: Some(invoice.to_string()),
            note: Some("Invoice credited: its share of the commission is taken back".into()),
            by,
            at,
        };
        // Taken back whatever the balance: the money was never the operator's.
        wallets.apply(&movement, None)?;
        // One update of the invoice's record for all its earners, on what was read.
        let i = names.len();
        names.push((format!("#c{i}"), format!("clawed#{op}")));
        adds.push(format!("#c{i} :c{i}"));
        conds.push(if *clawed == 0 {
            format!("(attribute_not_exists(#c{i}) OR #c{i} = :w{i})")
        } else {
            format!("#c{i} = :w{i}")
        });
        values.insert(format!(":c{i}"), aws_sdk_dynamodb::types::AttributeValue::N(amount.to_string()));
        values.insert(format!(":w{i}"), aws_sdk_dynamodb::types::AttributeValue::N(clawed.to_string()));
        lowered.push(Earning {
            operator_id: *op,
            level: if path.contains('/') {
                domain::commission::Level::SubOperator
            } else {
                domain::commission::Level::Operator
            },
            path: path.clone(),
            amount: -amount,
            lines: vec![],
        });
    }
    let refs: Vec<(&str, &str)> = names.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    tx.update(
        &keys::invoice_commissions(tid, invoice),
        &format!("ADD {}", adds.join(", ")),
        Some(&conds.join(" AND ")),
        &refs,
        values,
        Conflict::Version,
    );
    kernel::projections::reports::stage_commissions(tx, tenant, &lowered, at);
    Ok(())
}
