//! Operators' wallets: prepaid money an operator or sub-operator holds with its ISP, in the ISP's
//! currency, kept as a double-entry ledger. Every movement is two (or more) entries that sum to
//! zero: money an operator receives comes from somewhere (the ISP's funding account for a top-up,
//! another operator's wallet for a transfer) and money it spends goes somewhere. An operator's
//! balance never goes below minus its credit limit (0 unless the ISP grants credit); the ISP's
//! funding account has no floor (it is where the ISP's side of every movement is written).

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Whose wallet: an operator's (or sub-operator's), or the ISP's own funding account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum WalletOwner {
    Operator(Uuid),
    Isp,
}

impl WalletOwner {
    /// The operator's id (None: the ISP's funding account).
    pub fn operator(self) -> Option<Uuid> {
        match self {
            WalletOwner::Operator(id) => Some(id),
            WalletOwner::Isp => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Wallet {
    pub tenant_id: Uuid,
    pub owner: WalletOwner,
    /// Minor units of `currency`.
    pub balance: i64,
    pub currency: String,
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
    /// 0: never written (an empty wallet).
    pub version: u64,
}

impl Wallet {
    pub fn empty(tenant_id: Uuid, owner: WalletOwner, currency: &str) -> Wallet {
        Wallet { tenant_id, owner, balance: 0, currency: currency.to_string(), updated_at: None, version: 0 }
    }
}

/// Why money moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    /// The ISP credits an operator (cash or bank paid to the ISP).
    TopUp,
    /// Between an operator and its own sub-operator.
    Transfer,
    /// An operator sold a voucher: its wallet pays the ISP the voucher's price.
    VoucherSale,
    /// A sold voucher taken back unused: the price returns to the operator.
    VoucherRefund,
    /// The ISP pays an operator its commission on a customer's payment.
    Commission,
    /// An operator activated, renewed or upgraded its customer's package: its wallet pays the
    /// ISP its price for it.
    PackageSale,
    /// The invoice of such a sale was voided: the price returns to the operator.
    SaleReversal,
    /// A credit note on an invoice takes back its share of the commission earned on it.
    CommissionReversal,
}

/// How a top-up was paid to the ISP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TopUpMethod {
    Cash,
    Bank,
    MobileMoney,
    /// Paid through one of the ISP's payment gateways (a checkout; never recorded by hand).
    Online,
}

/// One side of a movement in one wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WalletEntry {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub owner: WalletOwner,
    /// The movement this entry is one side of (its entries sum to zero).
    pub movement_id: Uuid,
    pub kind: MovementKind,
    /// Positive: the wallet received; negative: it paid.
    pub amount: i64,
    pub balance_after: i64,
    pub currency: String,
    /// The other side.
    pub counterparty: WalletOwner,
    pub method: Option<TopUpMethod>,
    pub reference: Option<String>,
    pub note: Option<String>,
    /// Who moved it (the real person, also when impersonating).
    pub by: Uuid,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// A movement between two wallets: `amount` leaves `from` and reaches `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    pub id: Uuid,
    pub kind: MovementKind,
    pub from: WalletOwner,
    pub to: WalletOwner,
    pub amount: i64,
    pub method: Option<TopUpMethod>,
    pub reference: Option<String>,
    pub note: Option<String>,
    pub by: Uuid,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Whether a payment from a wallet took it below its operator's warning threshold (told once per
/// fall: only the payment that crosses it; 0 means never).
pub fn fell_below(threshold: i64, before: i64, after: i64) -> bool {
    threshold > 0 && before >= threshold && after < threshold
}

/// The largest single movement (a typo guard: 10 million in major units).
pub const MAX_MOVEMENT: i64 = 1_000_000_000;

impl Movement {
    /// Applies the movement to the two wallets (their floors checked: `from_floor` is how far
    /// below zero `from` may go, None for no floor) and returns the two entries, which sum to
    /// zero.
    pub fn apply(
        &self,
        from: &mut Wallet,
        to: &mut Wallet,
        from_floor: Option<i64>,
        entry_ids: (Uuid, Uuid),
    ) -> Result<(WalletEntry, WalletEntry)> {
        if self.amount <= 0 || self.amount > MAX_MOVEMENT {
            return Err(Error::field("amount", format!("must be 1 to {MAX_MOVEMENT} minor units")));
        }
        if self.from == self.to {
            return Err(Error::field("to", "money cannot move to the wallet it leaves"));
        }
        if from.currency != to.currency {
            return Err(Error::Internal("wallets of one ISP in two currencies".into()));
        }
        if let Some(floor) = from_floor
            && from.balance - self.amount < -floor
        {
            return Err(Error::Conflict {
                code: "insufficient_balance",
                detail: format!(
                    "the wallet holds {} (credit {floor}); {} is more than it may pay",
                    from.balance, self.amount
                ),
                field: Some("amount".into()),
            });
        }
        from.balance -= self.amount;
        to.balance += self.amount;
        for w in [&mut *from, &mut *to] {
            w.version += 1;
            w.updated_at = Some(self.at);
        }
        let entry = |id: Uuid, w: &Wallet, amount: i64, counterparty: WalletOwner| WalletEntry {
            id,
            tenant_id: w.tenant_id,
            owner: w.owner,
            movement_id: self.id,
            kind: self.kind,
            amount,
            balance_after: w.balance,
            currency: w.currency.clone(),
            counterparty,
            method: self.method,
            reference: self.reference.clone(),
            note: self.note.clone(),
            by: self.by,
            at: self.at,
        };
        Ok((entry(entry_ids.0, from, -self.amount, self.to), entry(entry_ids.1, to, self.amount, self.from)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn wallets(balance: i64) -> (Wallet, Wallet) {
        let t = Uuid::nil();
        let mut a = Wallet::empty(t, WalletOwner::Operator(Uuid::from_u128(1)), "BDT");
        a.balance = balance;
        (a, Wallet::empty(t, WalletOwner::Operator(Uuid::from_u128(2)), "BDT"))
    }

    fn movement(amount: i64, from: &Wallet, to: &Wallet) -> Movement {
        Movement {
            id: Uuid::from_u128(9),
            kind: MovementKind::Transfer,
            from: from.owner,
            to: to.owner,
            amount,
            method: None,
            reference: None,
            note: None,
            by: Uuid::nil(),
            at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_wallet_pays_down_to_its_floor_and_no_further() {
        let (mut a, mut b) = wallets(1_000);
        let m = movement(1_000, &a, &b);
        let (out, into) = m.apply(&mut a, &mut b, Some(0), (Uuid::from_u128(3), Uuid::from_u128(4))).unwrap();
        assert_eq!((a.balance, b.balance, out.balance_after, into.balance_after), (0, 1_000, 0, 1_000));
        assert_eq!(out.amount + into.amount, 0);
        let again = m.apply(&mut a, &mut b, Some(0), (Uuid::from_u128(5), Uuid::from_u128(6)));
        assert!(matches!(again, Err(Error::Conflict { code: "insufficient_balance", .. })));
        assert_eq!((a.balance, b.balance), (0, 1_000), "a refused movement changes nothing");
        // With credit granted, down to minus the limit.
        assert!(m.apply(&mut a, &mut b, Some(1_000), (Uuid::from_u128(7), Uuid::from_u128(8))).is_ok());
        assert_eq!(a.balance, -1_000);
    }

    #[test]
    fn the_warning_is_given_once_when_the_balance_falls_below_the_threshold() {
        assert!(fell_below(1_000, 1_500, 900));
        assert!(fell_below(1_000, 1_000, 999));
        assert!(!fell_below(1_000, 900, 500), "already below: told before");
        assert!(!fell_below(1_000, 2_000, 1_000), "at the threshold is not below it");
        assert!(!fell_below(0, 2_000, -5), "no threshold, no warning");
    }

    #[test]
    fn nonsense_amounts_are_refused() {
        let (mut a, mut b) = wallets(10);
        for amount in [0, -5, MAX_MOVEMENT + 1] {
            let m = movement(amount, &a, &b);
            assert!(m.apply(&mut a, &mut b, None, (Uuid::nil(), Uuid::nil())).is_err(), "{amount}");
        }
        let same = Movement { to: a.owner, ..movement(1, &a, &b) };
        let mut a2 = a.clone();
        assert!(same.apply(&mut a, &mut a2, None, (Uuid::nil(), Uuid::nil())).is_err());
    }

    proptest! {
        #[test]
        fn any_run_of_movements_keeps_the_books_balanced(amounts in proptest::collection::vec(1i64..5_000, 1..60)) {
            let (mut a, mut b) = wallets(20_000);
            let mut entries = vec![];
            for (i, amt) in amounts.iter().enumerate() {
                let (from, to) = if i % 3 == 0 { (&mut b, &mut a) } else { (&mut a, &mut b) };
                let m = movement(*amt, from, to);
                if let Ok((x, y)) = m.apply(from, to, Some(0), (Uuid::from_u128(2 * i as u128), Uuid::from_u128(2 * i as u128 + 1))) {
                    entries.push(x);
                    entries.push(y);
                }
                prop_assert!(a.balance >= 0 && b.balance >= 0);
            }
            prop_assert_eq!(entries.iter().map(|e| e.amount).sum::<i64>(), 0);
            prop_assert_eq!(a.balance + b.balance, 20_000);
        }
    }
}
