//! What an operator's wallet pays the ISP when the operator activates, renews or upgrades a
//! customer's package: the operator's price for the package (its offer's wholesale price), moved
//! from its wallet to the ISP's funding account in the transaction that makes the change, so the
//! change happens only if the wallet can pay. The sale is kept (`OperatorSale`) so that voiding
//! the invoice the change made gives the money back, once.

use domain::user::OperatorProfile;
use domain::wallet::{Movement, MovementKind, Wallet, WalletEntry, WalletOwner};
use domain::{Result, ids};
use kernel::App;
use kernel::support::{StoreResultExt, decoded};
use serde::{Deserialize, Serialize};
use store::{Conflict, Store, Tx, keys};
use uuid::Uuid;

/// What the operator bought for its customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SaleKind {
    Activation,
    Renewal,
    PackageChange,
}

/// A sale paid from an operator's wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorSale {
    pub tenant_id: Uuid,
    /// The movement that paid it.
    pub movement_id: Uuid,
    pub operator_id: Uuid,
    pub kind: SaleKind,
    pub subscription_id: Uuid,
    pub customer_id: Uuid,
    /// The invoice the change made (voiding it reverses the sale).
    pub invoice_id: Option<Uuid>,
    pub amount: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    /// How much of it went back (credit notes on its invoice take their share; a void the rest).
    #[serde(default)]
    pub reversed_amount: i64,
    /// When it was reversed in full.
    pub reversed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub version: u64,
}

impl store::Stored for OperatorSale {
    const TYPE: &'static str = "OPERATOR_SALE";
    fn keys(&self) -> store::ItemKeys {
        keys::operator_sale(self.tenant_id, self.invoice_id.unwrap_or(self.movement_id))
    }
    fn version(&self) -> Option<u64> {
        Some(self.version)
    }
}

/// A sale about to be paid.
pub struct Sale<'a> {
    pub tenant_id: Uuid,
    pub currency: &'a str,
    pub operator_id: Uuid,
    pub kind: SaleKind,
    pub subscription_id: Uuid,
    pub customer_id: Uuid,
    pub invoice_id: Option<Uuid>,
    pub amount: i64,
    pub note: String,
    pub by: Uuid,
    pub at: chrono::DateTime<chrono::Utc>,
}

fn stage_pair(tx: &mut Tx, tid: Uuid, a: (&Wallet, u64), b: (&Wallet, u64), entries: [&WalletEntry; 2]) -> Result<()> {
    crate::stage_wallets(tx, tid, &[a, b], &entries)
}

/// Stages the sale's payment: the operator's wallet (down to minus its credit limit, else 409
/// `insufficient_balance`) to the ISP's funding account, the entries and the sale. Reads the
/// wallets and the operator's profile in one BatchGetItem; a wallet that moved meanwhile fails
/// the transaction as a version conflict (the caller reads again).
pub async fn stage_sale(app: &App, tx: &mut Tx, sale: &Sale<'_>) -> Result<OperatorSale> {
    let tid = sale.tenant_id;
    let (wk, ik, pk) = (
        keys::wallet(tid, Some(sale.operator_id)),
        keys::wallet(tid, None),
        keys::operator_profile(tid, sale.operator_id),
    );
    let mut got = app.store.batch_get(&[&wk, &ik, &pk]).await.or_500()?.into_iter();
    let mut from = decoded::<Wallet>(got.next().flatten())?
        .unwrap_or_else(|| Wallet::empty(tid, WalletOwner::Operator(sale.operator_id), sale.currency));
    let mut to =
        decoded::<Wallet>(got.next().flatten())?.unwrap_or_else(|| Wallet::empty(tid, WalletOwner::Isp, sale.currency));
    let profile =
        decoded::<OperatorProfile>(got.next().flatten())?.unwrap_or_else(|| OperatorProfile::empty(sale.operator_id));
    let (from_before, to_before, paid_before) = (from.version, to.version, from.balance);
    let movement = Movement {
        id: ids::new_id(),
        kind: MovementKind::PackageSale,
        from: from.owner,
        to: WalletOwner::Isp,
        amount: sale.amount,
        method: None,
        reference: sale.invoice_id.map(|i| i.to_string()),
        note: Some(sale.note.clone()),
        by: sale.by,
        at: sale.at,
    };
    let (out, into) = movement.apply(&mut from, &mut to, Some(profile.credit_limit), (ids::new_id(), ids::new_id()))?;
    stage_pair(tx, tid, (&from, from_before), (&to, to_before), [&out, &into])?;
    crate::stage_low_balance(tx, &from, paid_before, &profile)?;
    let record = OperatorSale {
        tenant_id: tid,
        movement_id: movement.id,
        operator_id: sale.operator_id,
        kind: sale.kind,
        subscription_id: sale.subscription_id,
        customer_id: sale.customer_id,
        invoice_id: sale.invoice_id,
        amount: sale.amount,
        at: sale.at,
        reversed_amount: 0,
        reversed_at: None,
        version: 1,
    };
    tx.put_new(Store::encode_stored(&record).or_500()?, Conflict::Exists);
    Ok(record)
}

/// How much of a sale goes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reversal {
    /// The invoice was voided: all that is left.
    Void,
    /// A credit note of `credited` on an invoice of `total`: the sale's share of it.
    Credited { credited: i64, total: i64 },
}

/// Stages the reversal of the sale an invoice paid for, if there is one with something left to
/// reverse: the money back from the ISP's funding account to the operator's wallet (in `wallets`,
/// which the caller stages), and the sale's reversed amount (on the version read, so nothing goes
/// back twice).
pub async fn stage_reversal(
    app: &App,
    tx: &mut Tx,
    wallets: &mut crate::WalletSet,
    invoice_id: Uuid,
    how: Reversal,
    (by, at): (Uuid, chrono::DateTime<chrono::Utc>),
) -> Result<Option<OperatorSale>> {
    let tid = wallets.tenant();
    let sale: Option<OperatorSale> = app.store.get(&keys::operator_sale(tid, invoice_id)).await.or_500()?;
    let Some(sale) = sale.filter(|s| s.reversed_at.is_none()) else { return Ok(None) };
    let left = sale.amount - sale.reversed_amount;
    let amount = match how {
        Reversal::Void => left,
        Reversal::Credited { credited, total } if total > 0 => {
            domain::billing::mul_div(sale.amount, credited.min(total), total).min(left)
        }
        Reversal::Credited { .. } => 0,
    };
    if amount <= 0 {
        return Ok(None);
    }
    let operator = WalletOwner::Operator(sale.operator_id);
    wallets.load(app, &[WalletOwner::Isp, operator]).await?;
    let movement = Movement {
        id: ids::new_id(),
        kind: MovementKind::SaleReversal,
        from: WalletOwner::Isp,
        to: operator,
        amount,
        method: None,
        reference: Some(invoice_id.to_string()),
        note: Some(match how {
            Reversal::Void => "Invoice voided: the sale is reversed".into(),
            Reversal::Credited { .. } => "Invoice credited: its share of the sale is reversed".into(),
        }),
        by,
        at,
    };
    wallets.apply(&movement, None)?;
    let mut reversed = sale.clone();
    reversed.reversed_amount += amount;
    if reversed.reversed_amount >= reversed.amount {
        reversed.reversed_at = Some(at);
    }
    reversed.version += 1;
    tx.put_versioned(Store::encode_stored(&reversed).or_500()?, sale.version);
    Ok(Some(reversed))
}
