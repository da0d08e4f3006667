//! A customer's account: what it owes, its credit, and the ledger of every money movement.
//!
//! `balance` is what the customer owes minus its credit; every ledger entry moves it by its
//! `amount` (positive: the customer owes more). Rules that keep it exact:
//! - the balance always equals the sum of the ledger and the amounts due on open invoices minus
//!   the credit;
//! - credit and open invoices never coexist: money that is not owed on one invoice settles the
//!   others, oldest due date first, and only what is left becomes credit; a new invoice takes the
//!   credit first;
//! - money in (payments, and credit granted) minus refunds equals what is applied to invoices plus
//!   the credit: nothing is created or lost (a credit note on a paid invoice moves what was paid on
//!   it back to the credit).

use crate::error::Error;
use crate::ids;
use crate::invoice::{Invoice, InvoiceStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An invoice money is owed on, as the account lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OpenInvoice {
    pub invoice_id: Uuid,
    pub subscription_id: Option<Uuid>,
    pub due_date: Option<DateTime<Utc>>,
    pub amount_due: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Account {
    pub customer_id: Uuid,
    pub currency: String,
    /// Owed minus credit (negative: the customer is in credit).
    pub balance: i64,
    pub credit: i64,
    /// Part of the credit held for refunds a gateway is paying out: new invoices and manual
    /// refunds cannot take it; it leaves with the refund or returns to use if the gateway refuses.
    #[serde(default)]
    pub held: i64,
    pub open: Vec<OpenInvoice>,
    pub version: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LedgerKind {
    InvoiceIssued,
    PaymentReceived,
    CreditNote,
    Refund,
    InvoiceVoided,
    /// Credit granted outside an invoice (a package downgrade mid-period).
    Adjustment,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LedgerEntry {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub kind: LedgerKind,
    /// Positive: the customer owes more.
    pub amount: i64,
    pub balance_after: i64,
    pub currency: String,
    pub invoice_id: Option<Uuid>,
    /// The payment, credit note or refund behind it.
    pub document_id: Option<Uuid>,
    pub memo: String,
    pub at: DateTime<Utc>,
}

/// Where money went: to which invoices, how much, and what became credit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Allocation {
    pub invoices: Vec<(Uuid, i64)>,
    pub to_credit: i64,
}

impl Account {
    pub fn new(customer_id: Uuid, currency: &str) -> Self {
        Account {
            customer_id,
            currency: currency.to_string(),
            balance: 0,
            credit: 0,
            held: 0,
            open: vec![],
            version: 0,
        }
    }

    /// Invoices whose state the account needs loaded to settle money (oldest due first).
    pub fn open_ids(&self) -> Vec<Uuid> {
        let mut o = self.open.clone();
        o.sort_by_key(|x| (x.due_date, x.invoice_id));
        o.into_iter().map(|x| x.invoice_id).collect()
    }

    fn entry(
        &mut self,
        kind: LedgerKind,
        amount: i64,
        invoice_id: Option<Uuid>,
        document_id: Option<Uuid>,
        memo: String,
        at: DateTime<Utc>,
    ) -> LedgerEntry {
        self.balance += amount;
        LedgerEntry {
            id: ids::new_id(),
            customer_id: self.customer_id,
            kind,
            amount,
            balance_after: self.balance,
            currency: self.currency.clone(),
            invoice_id,
            document_id,
            memo,
            at,
        }
    }

    fn sync(&mut self, inv: &Invoice) {
        self.open.retain(|o| o.invoice_id != inv.id);
        if inv.status.is_open() && inv.amount_due > 0 {
            self.open.push(OpenInvoice {
                invoice_id: inv.id,
                subscription_id: inv.subscription_id,
                due_date: inv.due_date,
                amount_due: inv.amount_due,
            });
        }
    }

    fn check_currency(&self, inv: &Invoice) -> Result<(), Error> {
        if inv.currency != self.currency {
            return Err(Error::Unprocessable {
                code: "currency_mismatch",
                detail: format!("the invoice is in {}, the customer's account in {}", inv.currency, self.currency),
            });
        }
        Ok(())
    }

    /// Books a just-issued invoice and pays it from the credit as far as that goes.
    pub fn post_invoice(&mut self, inv: &mut Invoice, now: DateTime<Utc>) -> Result<Vec<LedgerEntry>, Error> {
        self.check_currency(inv)?;
        let number = inv.number.clone().unwrap_or_default();
        let e = self.entry(LedgerKind::InvoiceIssued, inv.total, Some(inv.id), None, format!("Invoice {number}"), now);
        if self.available_credit() > 0 && inv.amount_due > 0 {
            let applied = inv.pay(self.available_credit().min(inv.amount_due), now)?;
            self.credit -= applied;
        }
        self.sync(inv);
        Ok(vec![e])
    }

    /// Applies money to open invoices (`first`, then the rest by due date), the remainder to credit.
    fn settle(
        &mut self,
        mut money: i64,
        first: Option<Uuid>,
        open: &mut [Invoice],
        now: DateTime<Utc>,
    ) -> Result<Allocation, Error> {
        let mut order: Vec<usize> =
            (0..open.len()).filter(|i| open[*i].status.is_open() && open[*i].amount_due > 0).collect();
        order.sort_by_key(|i| (Some(open[*i].id) != first, open[*i].due_date, open[*i].id));
        let mut alloc = Allocation::default();
        for i in order {
            if money == 0 {
                break;
            }
            let applied = open[i].pay(money.min(open[i].amount_due), now)?;
            money -= applied;
            alloc.invoices.push((open[i].id, applied));
            self.sync(&open[i]);
        }
        self.credit += money;
        alloc.to_credit = money;
        Ok(alloc)
    }

    /// A payment of `amount`: to `invoice` first (if given), then to the other open invoices, the
    /// rest to credit. `open` holds the invoices the account lists as open (and `invoice`).
    pub fn receive_payment(
        &mut self,
        payment_id: Uuid,
        amount: i64,
        invoice: Option<Uuid>,
        open: &mut [Invoice],
        memo: String,
        now: DateTime<Utc>,
    ) -> Result<(LedgerEntry, Allocation), Error> {
        if amount <= 0 {
            return Err(Error::field("amount", "must be positive"));
        }
        for i in open.iter() {
            self.check_currency(i)?;
        }
        let e = self.entry(LedgerKind::PaymentReceived, -amount, invoice, Some(payment_id), memo, now);
        let alloc = self.settle(amount, invoice, open, now)?;
        Ok((e, alloc))
    }

    /// A credit note on `inv` (found among `open` or given alone when it is paid): what it takes
    /// off the invoice, and what it gives back settles other invoices or becomes credit.
    pub fn credit_note(
        &mut self,
        note_id: Uuid,
        inv: &mut Invoice,
        amount: i64,
        others: &mut [Invoice],
        memo: String,
        now: DateTime<Utc>,
    ) -> Result<(LedgerEntry, Allocation), Error> {
        self.check_currency(inv)?;
        let out = inv.credit(amount, now)?;
        self.sync(inv);
        let e = self.entry(LedgerKind::CreditNote, -amount, Some(inv.id), Some(note_id), memo, now);
        let alloc = self.settle(out.returned, None, others, now)?;
        Ok((e, alloc))
    }

    /// Credit given outside an invoice: settles open invoices first.
    pub fn grant_credit(
        &mut self,
        document_id: Uuid,
        amount: i64,
        open: &mut [Invoice],
        memo: String,
        now: DateTime<Utc>,
    ) -> Result<(LedgerEntry, Allocation), Error> {
        if amount <= 0 {
            return Err(Error::field("amount", "must be positive"));
        }
        let e = self.entry(LedgerKind::Adjustment, -amount, None, Some(document_id), memo, now);
        let alloc = self.settle(amount, None, open, now)?;
        Ok((e, alloc))
    }

    /// Money paid back out of the customer's credit.
    pub fn refund(
        &mut self,
        refund_id: Uuid,
        amount: i64,
        memo: String,
        now: DateTime<Utc>,
    ) -> Result<LedgerEntry, Error> {
        if amount <= 0 || amount > self.available_credit() {
            return Err(Error::field(
                "amount",
                format!("must be between 1 and the customer's credit ({})", self.available_credit()),
            ));
        }
        self.credit -= amount;
        Ok(self.entry(LedgerKind::Refund, amount, None, Some(refund_id), memo, now))
    }

    /// Credit no invoice or manual refund may take (none is held for a gateway's refund).
    pub fn available_credit(&self) -> i64 {
        self.credit - self.held
    }

    /// Holds `amount` of the credit for a refund a gateway is about to pay out.
    pub fn hold(&mut self, amount: i64) -> Result<(), Error> {
        if amount <= 0 || amount > self.available_credit() {
            return Err(Error::Conflict {
                code: "insufficient_credit",
                detail: format!("the refund needs {amount} of credit; {} is available", self.available_credit()),
                field: None,
            });
        }
        self.held += amount;
        Ok(())
    }

    /// A held refund the gateway refused: the credit is the customer's to use again, first on
    /// the invoices issued while it was held (`open`).
    pub fn release(&mut self, amount: i64, open: &mut [Invoice], now: DateTime<Utc>) -> Result<Allocation, Error> {
        self.unhold(amount)?;
        // Paying from credit moves no money in: the balance stays, only the credit is used.
        self.credit -= amount;
        self.settle(amount, None, open, now)
    }

    fn unhold(&mut self, amount: i64) -> Result<(), Error> {
        if amount <= 0 || amount > self.held {
            return Err(Error::Internal(format!("releasing {amount} of {} held", self.held)));
        }
        self.held -= amount;
        Ok(())
    }

    /// A held refund the gateway paid out: it leaves the credit.
    pub fn refund_held(
        &mut self,
        refund_id: Uuid,
        amount: i64,
        memo: String,
        now: DateTime<Utc>,
    ) -> Result<LedgerEntry, Error> {
        self.unhold(amount)?;
        self.credit -= amount;
        Ok(self.entry(LedgerKind::Refund, amount, None, Some(refund_id), memo, now))
    }

    /// Voids an open (or draft) invoice: what was owed on it leaves the balance.
    pub fn void(
        &mut self,
        inv: &mut Invoice,
        reason: String,
        now: DateTime<Utc>,
    ) -> Result<Option<LedgerEntry>, Error> {
        let was_issued = inv.status != InvoiceStatus::Draft;
        let owed = inv.void(reason.clone(), now)?;
        self.sync(inv);
        Ok(was_issued.then(|| {
            let number = inv.number.clone().unwrap_or_default();
            self.entry(
                LedgerKind::InvoiceVoided,
                -owed,
                Some(inv.id),
                None,
                format!("Invoice {number} void: {reason}"),
                now,
            )
        }))
    }

    /// What is owed on open invoices.
    pub fn owed(&self) -> i64 {
        self.open.iter().map(|o| o.amount_due).sum()
    }

    /// The account's own invariants.
    pub fn consistent(&self) -> bool {
        self.balance == self.owed() - self.credit
            && self.credit >= self.held
            && self.held >= 0
            && (self.available_credit() == 0 || self.open.is_empty())
            && self.open.iter().all(|o| o.amount_due > 0)
    }

    /// Open invoices of one subscription that are past due at `now`.
    pub fn overdue_of(&self, subscription: Uuid, now: DateTime<Utc>) -> usize {
        self.open
            .iter()
            .filter(|o| o.subscription_id == Some(subscription) && o.due_date.is_some_and(|d| d <= now))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invoice::{InvoiceKind, LineInput, LineKind, TaxRule, price_lines};
    use chrono::Duration;
    use proptest::prelude::*;

    /// The tests' own clock: a fixed instant, never the real date.
    fn test_now() -> chrono::DateTime<chrono::Utc> {
        "2026-06-15T06:00:00Z".parse().expect("a UTC time")
    }

    fn issued(acc: &mut Account, total: i64, n: u64, now: DateTime<Utc>) -> (Invoice, Vec<LedgerEntry>) {
        let lines = price_lines(
            &[LineInput {
                kind: LineKind::Package,
                description: "Home 10M".into(),
                amount: total,
                package_id: None,
                period: None,
                discountable: false,
            }],
            &[],
            TaxRule::NONE,
        );
        let mut inv = Invoice::draft(ids::new_id(), Uuid::nil(), acc.customer_id, "BDT", InvoiceKind::Renewal, now);
        inv.set_lines(lines);
        inv.issue(format!("INV-2026-{n:06}"), now, now + Duration::days(7)).unwrap();
        let e = acc.post_invoice(&mut inv, now).unwrap();
        (inv, e)
    }

    #[test]
    fn overpayment_becomes_credit_that_the_next_invoice_uses() {
        let now = test_now();
        let mut acc = Account::new(Uuid::now_v7(), "BDT");
        let (inv, _) = issued(&mut acc, 50_000, 1, now);
        let mut open = vec![inv];
        let (e, alloc) =
            acc.receive_payment(Uuid::now_v7(), 70_000, Some(open[0].id), &mut open, "cash".into(), now).unwrap();
        assert_eq!(e.balance_after, -20_000);
        assert_eq!(alloc.invoices, vec![(open[0].id, 50_000)]);
        assert_eq!((alloc.to_credit, acc.credit), (20_000, 20_000));
        assert_eq!(open[0].status, InvoiceStatus::Paid);
        let (next, _) = issued(&mut acc, 50_000, 2, now);
        assert_eq!((next.amount_paid, next.amount_due, next.status), (20_000, 30_000, InvoiceStatus::PartiallyPaid));
        assert_eq!((acc.credit, acc.balance), (0, 30_000));
        assert!(acc.consistent());
        assert!(acc.refund(Uuid::now_v7(), 1, "x".into(), now).is_err(), "no credit to refund");
    }

    #[derive(Debug, Clone)]
    enum Op {
        Issue(i64),
        Pay {
            invoice: usize,
            amount: i64,
        },
        Advance(i64),
        Credit {
            invoice: usize,
            amount: i64,
        },
        Void(usize),
        Refund(i64),
        Downgrade(i64),
        /// A gateway refund: held, then paid out or released.
        HoldThen {
            amount: i64,
            paid_out: bool,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0i64..200_000).prop_map(Op::Issue),
            (0usize..10, 1i64..150_000).prop_map(|(invoice, amount)| Op::Pay { invoice, amount }),
            (1i64..150_000).prop_map(Op::Advance),
            (0usize..10, 1i64..100_000).prop_map(|(invoice, amount)| Op::Credit { invoice, amount }),
            (0usize..10).prop_map(Op::Void),
            (1i64..100_000).prop_map(Op::Refund),
            (1i64..50_000).prop_map(Op::Downgrade),
            (1i64..100_000, any::<bool>()).prop_map(|(amount, paid_out)| Op::HoldThen { amount, paid_out }),
        ]
    }

    proptest! {
        /// Whatever happens in whatever order (invoices, partial, full, over- and advance payments,
        /// credit notes, voids, refunds, downgrade credits; refused operations included), the
        /// ledger adds up to the balance, the balance is what is owed minus credit, every invoice's
        /// paid + credited + due is its total, and money in minus refunds is exactly what was
        /// applied to invoices plus the credit.
        #[test]
        fn the_ledger_balances(ops in proptest::collection::vec(op(), 1..40)) {
            let now = test_now();
            let mut acc = Account::new(Uuid::now_v7(), "BDT");
            let mut invoices: Vec<Invoice> = vec![];
            let mut ledger: Vec<LedgerEntry> = vec![];
            let (mut money_in, mut refunded) = (0i64, 0i64);
            for (step, op) in ops.into_iter().enumerate() {
                let snapshot = (acc.clone(), invoices.clone());
                let res: Result<(), Error> = (|| {
                    match op {
                        Op::Issue(total) => {
                            let (inv, e) = issued(&mut acc, total, step as u64, now);
                            invoices.push(inv);
                            ledger.extend(e);
                        }
                        Op::Pay { invoice, amount } => {
                            let id = invoices.get(invoice).map(|i| i.id);
                            let (e, _) = acc.receive_payment(Uuid::now_v7(), amount, id, &mut invoices, "p".into(), now)?;
                            ledger.push(e);
                            money_in += amount;
                        }
                        Op::Advance(amount) => {
                            let (e, _) = acc.receive_payment(Uuid::now_v7(), amount, None, &mut invoices, "a".into(), now)?;
                            ledger.push(e);
                            money_in += amount;
                        }
                        Op::Credit { invoice, amount } => {
                            if invoice >= invoices.len() { return Ok(()); }
                            let mut inv = invoices.remove(invoice);
                            // What a credit note gives back was paid in already: no new money.
                            let r = acc.credit_note(Uuid::now_v7(), &mut inv, amount, &mut invoices, "c".into(), now);
                            invoices.insert(invoice, inv);
                            let (e, _) = r?;
                            ledger.push(e);
                        }
                        Op::Void(invoice) => {
                            if let Some(inv) = invoices.get_mut(invoice) {
                                ledger.extend(acc.void(inv, "v".into(), now)?);
                            }
                        }
                        Op::Refund(amount) => {
                            ledger.push(acc.refund(Uuid::now_v7(), amount, "r".into(), now)?);
                            refunded += amount;
                        }
                        Op::Downgrade(amount) => {
                            let (e, _) = acc.grant_credit(Uuid::now_v7(), amount, &mut invoices, "d".into(), now)?;
                            ledger.push(e);
                            money_in += amount;
                        }
                        Op::HoldThen { amount, paid_out } => {
                            acc.hold(amount)?;
                            // While held, a new invoice and a manual refund cannot take it.
                            let free = acc.available_credit();
                            let (inv, e) = issued(&mut acc, amount, step as u64, now);
                            assert!(inv.amount_paid <= free, "held credit paid an invoice");
                            assert!(acc.refund(Uuid::now_v7(), free + 1, "r".into(), now).is_err());
                            invoices.push(inv);
                            ledger.extend(e);
                            if paid_out {
                                ledger.push(acc.refund_held(Uuid::now_v7(), amount, "g".into(), now)?);
                                refunded += amount;
                            } else {
                                acc.release(amount, &mut invoices, now)?;
                            }
                        }
                    }
                    Ok(())
                })();
                if res.is_err() {
                    // A refused operation changes nothing.
                    prop_assert_eq!(&acc, &snapshot.0);
                    prop_assert_eq!(&invoices, &snapshot.1);
                }
                prop_assert_eq!(ledger.iter().map(|e| e.amount).sum::<i64>(), acc.balance);
                prop_assert!(acc.consistent(), "{:?}", acc);
                prop_assert!(invoices.iter().all(Invoice::balances));
                let applied: i64 = invoices.iter().map(|i| i.amount_paid).sum();
                prop_assert_eq!(money_in - refunded, applied + acc.credit);
                if let Some(last) = ledger.last() { prop_assert_eq!(last.balance_after, acc.balance); }
            }
        }
    }
}
