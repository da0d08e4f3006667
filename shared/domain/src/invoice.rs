//! Invoices: their lines (with tax and discount per line), totals, and the state machine every
//! change of an invoice's status goes through.
//!
//! A line carries `amount` (the price as the ISP states it), `discount`, `tax` and `total`.
//! With tax-exclusive prices `total = amount - discount + tax`; with tax-inclusive prices the tax is
//! the part of `amount - discount` that is tax, and `total = amount - discount`. The invoice's
//! figures are the sums of its lines, so `total = subtotal - discount + tax` (exclusive) or
//! `total = subtotal - discount` (inclusive) always holds exactly.

use crate::billing::{Bps, mul_div, split_inclusive, split_proportionally, tax_on_net};
use crate::cycle::Period;
use crate::error::Error;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    Draft,
    Issued,
    PartiallyPaid,
    Paid,
    Overdue,
    Void,
}

impl InvoiceStatus {
    pub const ALL: [InvoiceStatus; 6] = [
        InvoiceStatus::Draft,
        InvoiceStatus::Issued,
        InvoiceStatus::PartiallyPaid,
        InvoiceStatus::Paid,
        InvoiceStatus::Overdue,
        InvoiceStatus::Void,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Issued => "issued",
            Self::PartiallyPaid => "partially_paid",
            Self::Paid => "paid",
            Self::Overdue => "overdue",
            Self::Void => "void",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Money is still owed on it.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Issued | Self::PartiallyPaid | Self::Overdue)
    }
}

/// What happens to an invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceAction {
    Issue,
    /// Money applied; `settled` when nothing is left to pay.
    Pay {
        settled: bool,
    },
    /// The due date passed with money still owed.
    MarkOverdue,
    Void,
    /// A credit note reduced what is owed; `settled` when nothing is left.
    Credit {
        settled: bool,
    },
}

/// The state machine: the status after `action`, or None when it is not allowed. A paid invoice can
/// only be credited (a credit note), never voided or paid again.
pub fn next_status(from: InvoiceStatus, action: InvoiceAction) -> Option<InvoiceStatus> {
    use InvoiceAction as A;
    use InvoiceStatus::*;
    match (from, action) {
        (Draft, A::Issue) => Some(Issued),
        (Draft, A::Void) => Some(Void),
        (Issued | PartiallyPaid | Overdue, A::Pay { settled: true } | A::Credit { settled: true }) => Some(Paid),
        (Issued | PartiallyPaid, A::Pay { settled: false }) => Some(PartiallyPaid),
        (Issued, A::Credit { settled: false }) => Some(Issued),
        (PartiallyPaid, A::Credit { settled: false }) => Some(PartiallyPaid),
        (Overdue, A::Pay { settled: false } | A::Credit { settled: false }) => Some(Overdue),
        (Issued | PartiallyPaid, A::MarkOverdue) => Some(Overdue),
        // Void only while nothing was paid on it; afterwards a credit note is the way.
        (Issued | Overdue, A::Void) => Some(Void),
        (Paid, A::Credit { .. }) => Some(Paid),
        _ => None,
    }
}

fn refuse(from: InvoiceStatus, what: &str) -> Error {
    Error::Conflict {
        code: "invalid_transition",
        detail: format!("a {} invoice cannot {what}", from.as_str().replace('_', " ")),
        field: None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceKind {
    /// The first period of a subscription, issued when it is switched on.
    Activation,
    /// A prepaid renewal or a postpaid month, issued by the billing run.
    Renewal,
    /// Credit for the old package and charge for the new one, mid-period.
    PackageChange,
    /// Made by staff, line by line.
    Manual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// A package for a (part of a) period.
    Package,
    /// Credit for the unused part of a package (negative).
    PackageCredit,
    /// Entered by staff (installation, equipment, late fee).
    Manual,
}

/// How a tenant taxes its prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaxRule {
    /// Basis points: 1500 = 15 %.
    pub rate_bps: Bps,
    /// Prices include the tax (it is shown as the part of the price it is).
    pub inclusive: bool,
}

impl TaxRule {
    pub const NONE: TaxRule = TaxRule { rate_bps: 0, inclusive: false };
}

/// A line before tax and discount: what is charged and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LineInput {
    pub kind: LineKind,
    pub description: String,
    pub amount: i64,
    pub package_id: Option<Uuid>,
    pub period: Option<Period>,
    /// Whether discounts may reduce it (never a credit line).
    pub discountable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InvoiceLine {
    pub kind: LineKind,
    pub description: String,
    /// The price as the ISP states it (with tax when prices are tax-inclusive); negative for credit.
    pub amount: i64,
    pub discount: i64,
    pub tax_rate_bps: Bps,
    pub tax: i64,
    pub total: i64,
    pub package_id: Option<Uuid>,
    pub period: Option<Period>,
    /// The discount that reduced it.
    pub discount_id: Option<Uuid>,
}

/// A discount that applies to a line, with the share of it this line gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineDiscount {
    pub discount_id: Uuid,
    pub amount: i64,
}

/// Prices lines: tax per line on what is left after its discount.
pub fn price_lines(inputs: &[LineInput], discounts: &[Option<LineDiscount>], tax: TaxRule) -> Vec<InvoiceLine> {
    inputs
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let d = discounts.get(i).copied().flatten();
            let discount = d.map_or(0, |d| d.amount.clamp(0, l.amount.max(0)));
            let after = l.amount - discount;
            let (tax_amount, total) = if tax.inclusive {
                (split_inclusive(after, tax.rate_bps).1, after)
            } else {
                let t = tax_on_net(after, tax.rate_bps);
                (t, after + t)
            };
            InvoiceLine {
                kind: l.kind,
                description: l.description.clone(),
                amount: l.amount,
                discount,
                tax_rate_bps: tax.rate_bps,
                tax: tax_amount,
                total,
                package_id: l.package_id,
                period: l.period,
                discount_id: d.filter(|_| discount > 0).map(|d| d.discount_id),
            }
        })
        .collect()
}

/// An invoice's figures, the sums of its lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Totals {
    pub subtotal: i64,
    pub discount: i64,
    pub tax: i64,
    pub total: i64,
}

pub fn totals(lines: &[InvoiceLine]) -> Totals {
    lines.iter().fold(Totals::default(), |t, l| Totals {
        subtotal: t.subtotal + l.amount,
        discount: t.discount + l.discount,
        tax: t.tax + l.tax,
        total: t.total + l.total,
    })
}

// ---- discounts --------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DiscountValue {
    /// A fixed amount off each invoice, spread over its discountable lines.
    Fixed { amount: i64 },
    /// A share off each discountable line, in basis points.
    Percent { bps: Bps },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "applies_to", content = "id", rename_all = "snake_case")]
pub enum DiscountTarget {
    Customer(Uuid),
    Package(Uuid),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Discount {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub value: DiscountValue,
    pub target: DiscountTarget,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

impl Discount {
    pub fn valid_at(&self, at: DateTime<Utc>) -> bool {
        self.active && self.valid_from.is_none_or(|f| f <= at) && self.valid_until.is_none_or(|u| at < u)
    }

    fn matches(&self, customer: Uuid, line: &LineInput) -> bool {
        line.discountable
            && line.amount > 0
            && match self.target {
                DiscountTarget::Customer(c) => c == customer,
                DiscountTarget::Package(p) => line.package_id == Some(p),
            }
    }
}

/// The discount of each line: of the discounts valid at `at` that match a line, the one that takes
/// the most off it (discounts do not stack). A fixed discount is spread over the lines it wins in
/// proportion to their amounts and never exceeds them.
pub fn discounts_for(
    customer: Uuid,
    lines: &[LineInput],
    discounts: &[Discount],
    at: DateTime<Utc>,
) -> Vec<Option<LineDiscount>> {
    let valid: Vec<&Discount> = discounts.iter().filter(|d| d.valid_at(at)).collect();
    // What each discount would take off each line on its own.
    let offers: Vec<Vec<i64>> = valid
        .iter()
        .map(|d| {
            let matching: Vec<i64> = lines.iter().map(|l| if d.matches(customer, l) { l.amount } else { 0 }).collect();
            match d.value {
                DiscountValue::Percent { bps } => {
                    matching.iter().map(|a| mul_div(*a, bps.clamp(0, 10_000), 10_000)).collect()
                }
                DiscountValue::Fixed { amount } => {
                    let cap: i64 = matching.iter().sum();
                    split_proportionally(amount.clamp(0, cap), &matching)
                }
            }
        })
        .collect();
    (0..lines.len())
        .map(|i| {
            offers
                .iter()
                .zip(&valid)
                .filter(|(o, _)| o[i] > 0)
                // Most off first; ties to the older discount so the choice is stable.
                .max_by(|(a, da), (b, db)| a[i].cmp(&b[i]).then(db.id.cmp(&da.id)))
                .map(|(o, d)| LineDiscount { discount_id: d.id, amount: o[i] })
        })
        .collect()
}

// ---- the invoice ------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Invoice {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Per-tenant sequential number (`INV-2026-000123`); drafts have none yet.
    pub number: Option<String>,
    pub customer_id: Uuid,
    pub subscription_id: Option<Uuid>,
    pub kind: InvoiceKind,
    pub status: InvoiceStatus,
    pub currency: String,
    /// The period a renewal or activation invoice pays for.
    pub period: Option<Period>,
    pub lines: Vec<InvoiceLine>,
    pub tax_inclusive: bool,
    pub subtotal: i64,
    pub discount: i64,
    pub tax: i64,
    pub total: i64,
    /// Paid in money or from the customer's credit.
    pub amount_paid: i64,
    /// Taken off by credit notes.
    pub amount_credited: i64,
    pub amount_due: i64,
    pub issued_at: Option<DateTime<Utc>>,
    pub due_date: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    pub voided_at: Option<DateTime<Utc>>,
    pub void_reason: Option<String>,
    /// Reminder offsets (days relative to the due date) already announced.
    #[serde(default)]
    pub reminders_sent: Vec<i32>,
    /// When dunning suspended (or found already cut) the subscription for this debt.
    #[serde(default)]
    pub suspension_requested_at: Option<DateTime<Utc>>,
    /// Owner operator subtree (copied from the customer), for operator scoping.
    pub operator_id: Option<Uuid>,
    pub scope: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

impl Invoice {
    /// An empty draft; the caller sets what applies (subscription, period, owner, lines).
    pub fn draft(
        id: Uuid,
        tenant_id: Uuid,
        customer_id: Uuid,
        currency: &str,
        kind: InvoiceKind,
        now: DateTime<Utc>,
    ) -> Invoice {
        Invoice {
            id,
            tenant_id,
            number: None,
            customer_id,
            subscription_id: None,
            kind,
            status: InvoiceStatus::Draft,
            currency: currency.to_string(),
            period: None,
            lines: vec![],
            tax_inclusive: false,
            subtotal: 0,
            discount: 0,
            tax: 0,
            total: 0,
            amount_paid: 0,
            amount_credited: 0,
            amount_due: 0,
            issued_at: None,
            due_date: None,
            paid_at: None,
            voided_at: None,
            void_reason: None,
            reminders_sent: vec![],
            suspension_requested_at: None,
            operator_id: None,
            scope: None,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// Sets the lines and the figures that follow from them (drafts only).
    pub fn set_lines(&mut self, lines: Vec<InvoiceLine>) {
        let t = totals(&lines);
        self.lines = lines;
        self.subtotal = t.subtotal;
        self.discount = t.discount;
        self.tax = t.tax;
        self.total = t.total;
        self.amount_due = t.total - self.amount_paid - self.amount_credited;
    }

    /// Draft -> issued, with its number and due date.
    pub fn issue(&mut self, number: String, now: DateTime<Utc>, due_date: DateTime<Utc>) -> Result<(), Error> {
        self.status = next_status(self.status, InvoiceAction::Issue).ok_or_else(|| refuse(self.status, "be issued"))?;
        if self.total < 0 {
            return Err(Error::Unprocessable {
                code: "negative_invoice",
                detail: "an invoice cannot total less than zero; issue a credit note instead".into(),
            });
        }
        self.number = Some(number);
        self.issued_at = Some(now);
        self.due_date = Some(due_date);
        self.amount_due = self.total - self.amount_paid - self.amount_credited;
        if self.amount_due == 0 {
            self.status = InvoiceStatus::Paid;
            self.paid_at = Some(now);
        }
        Ok(())
    }

    /// Applies money (a payment or the customer's credit): at most what is due. Returns how much
    /// was applied.
    pub fn pay(&mut self, amount: i64, now: DateTime<Utc>) -> Result<i64, Error> {
        let applied = amount.clamp(0, self.amount_due.max(0));
        if applied == 0 {
            return Err(refuse(self.status, "take a payment"));
        }
        let settled = applied == self.amount_due;
        self.status = next_status(self.status, InvoiceAction::Pay { settled })
            .ok_or_else(|| refuse(self.status, "take a payment"))?;
        self.amount_paid += applied;
        self.amount_due -= applied;
        if settled {
            self.paid_at = Some(now);
        }
        Ok(applied)
    }

    /// A credit note: reduces what is owed first; what exceeds it (the invoice was paid) is taken
    /// off what was paid and returned, to become the customer's credit or a refund. At most what was not credited yet.
    pub fn credit(&mut self, amount: i64, now: DateTime<Utc>) -> Result<CreditOutcome, Error> {
        let room = self.total - self.amount_credited;
        if amount <= 0 || amount > room {
            return Err(Error::field("amount", format!("must be between 1 and {room} (what was not credited yet)")));
        }
        let off_due = amount.min(self.amount_due.max(0));
        let settled = self.amount_due - off_due == 0;
        self.status = next_status(self.status, InvoiceAction::Credit { settled })
            .ok_or_else(|| refuse(self.status, "be credited"))?;
        self.amount_credited += amount;
        self.amount_due -= off_due;
        // Money paid beyond what is now owed leaves the invoice again.
        self.amount_paid -= amount - off_due;
        if settled && self.paid_at.is_none() {
            self.paid_at = Some(now);
        }
        Ok(CreditOutcome { off_due, returned: amount - off_due })
    }

    pub fn mark_overdue(&mut self) -> Result<(), Error> {
        self.status = next_status(self.status, InvoiceAction::MarkOverdue)
            .ok_or_else(|| refuse(self.status, "become overdue"))?;
        Ok(())
    }

    /// Voids it: allowed while nothing was paid or credited. Returns what was still owed.
    pub fn void(&mut self, reason: String, now: DateTime<Utc>) -> Result<i64, Error> {
        if self.amount_paid != 0 || self.amount_credited != 0 {
            return Err(Error::Conflict {
                code: "invoice_has_payments",
                detail: "money was applied to this invoice; issue a credit note instead".into(),
                field: None,
            });
        }
        self.status = next_status(self.status, InvoiceAction::Void).ok_or_else(|| refuse(self.status, "be voided"))?;
        let owed = self.amount_due;
        self.amount_due = 0;
        self.voided_at = Some(now);
        self.void_reason = Some(reason);
        Ok(owed)
    }

    /// Paid + credited + due always make the total (void invoices owe nothing).
    pub fn balances(&self) -> bool {
        match self.status {
            InvoiceStatus::Void => self.amount_due == 0 && self.amount_paid == 0,
            _ => self.amount_paid + self.amount_credited + self.amount_due == self.total,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditOutcome {
    /// Taken off what was owed.
    pub off_due: i64,
    /// Beyond what was owed: back to the customer (credit or refund).
    pub returned: i64,
}

/// `INV-2026-000123`: the tenant's prefix, the year, the sequence number.
pub fn document_number(prefix: &str, year: i32, seq: u64) -> String {
    format!("{prefix}-{year}-{seq:06}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The tests' own clock: a fixed instant, never the real date.
    fn test_now() -> chrono::DateTime<chrono::Utc> {
        "2026-06-15T06:00:00Z".parse().expect("a UTC time")
    }

    fn line(amount: i64, package: Option<Uuid>) -> LineInput {
        LineInput {
            kind: LineKind::Package,
            description: "x".into(),
            amount,
            package_id: package,
            period: None,
            discountable: amount > 0,
        }
    }

    fn draft(lines: Vec<InvoiceLine>) -> Invoice {
        let mut i =
            Invoice::draft(Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), "BDT", InvoiceKind::Manual, test_now());
        i.set_lines(lines);
        i
    }

    fn discount(value: DiscountValue, target: DiscountTarget) -> Discount {
        let now = test_now();
        Discount {
            id: Uuid::now_v7(),
            tenant_id: Uuid::nil(),
            name: "d".into(),
            value,
            target,
            valid_from: None,
            valid_until: None,
            active: true,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    #[test]
    fn the_whole_transition_table() {
        use InvoiceAction as A;
        use InvoiceStatus::*;
        let table = [
            (Draft, A::Issue, Some(Issued)),
            (Draft, A::Void, Some(Void)),
            (Draft, A::Pay { settled: true }, None),
            (Issued, A::Pay { settled: false }, Some(PartiallyPaid)),
            (Issued, A::Pay { settled: true }, Some(Paid)),
            (Issued, A::MarkOverdue, Some(Overdue)),
            (Issued, A::Void, Some(Void)),
            (PartiallyPaid, A::Pay { settled: true }, Some(Paid)),
            (PartiallyPaid, A::MarkOverdue, Some(Overdue)),
            (PartiallyPaid, A::Void, None),
            (Overdue, A::Pay { settled: false }, Some(Overdue)),
            (Overdue, A::Pay { settled: true }, Some(Paid)),
            (Overdue, A::Void, Some(Void)),
            (Paid, A::Pay { settled: true }, None),
            (Paid, A::Void, None),
            (Paid, A::MarkOverdue, None),
            (Paid, A::Credit { settled: true }, Some(Paid)),
            (Void, A::Pay { settled: true }, None),
            (Void, A::Credit { settled: true }, None),
            (Void, A::Issue, None),
        ];
        for (from, action, to) in table {
            assert_eq!(next_status(from, action), to, "{from:?} {action:?}");
        }
    }

    #[test]
    fn vat_per_line_exclusive_and_inclusive() {
        let lines = [line(100_000, None), line(-20_000, None)];
        let ex = price_lines(&lines, &[], TaxRule { rate_bps: 1500, inclusive: false });
        assert_eq!((ex[0].tax, ex[0].total), (15_000, 115_000));
        assert_eq!((ex[1].tax, ex[1].total), (-3_000, -23_000));
        assert_eq!(totals(&ex), Totals { subtotal: 80_000, discount: 0, tax: 12_000, total: 92_000 });
        let inc = price_lines(&lines, &[], TaxRule { rate_bps: 1500, inclusive: true });
        assert_eq!((inc[0].tax, inc[0].total), (13_043, 100_000));
        assert_eq!(totals(&inc).total, 80_000);
    }

    #[test]
    fn discounts_pick_the_best_and_respect_validity() {
        let (c, p) = (Uuid::now_v7(), Uuid::now_v7());
        let lines = [line(50_000, Some(p)), line(30_000, None), line(-10_000, Some(p))];
        let mut ten = discount(DiscountValue::Percent { bps: 1000 }, DiscountTarget::Customer(c));
        let fixed = discount(DiscountValue::Fixed { amount: 8_000 }, DiscountTarget::Package(p));
        let now = test_now();
        let d = discounts_for(c, &lines, &[ten.clone(), fixed.clone()], now);
        // Line 0: 10 % = 5,000 vs the whole fixed 8,000 (only line of the package) -> fixed.
        assert_eq!(d[0], Some(LineDiscount { discount_id: fixed.id, amount: 8_000 }));
        assert_eq!(d[1], Some(LineDiscount { discount_id: ten.id, amount: 3_000 }));
        assert_eq!(d[2], None, "credit lines are never discounted");
        ten.valid_until = Some(now);
        let d = discounts_for(c, &lines, &[ten], now);
        assert!(d.iter().all(Option::is_none), "expired at `now`");
        let other = discounts_for(Uuid::now_v7(), &lines, &[fixed], now);
        assert_eq!(other[0].map(|d| d.amount), Some(8_000), "package discounts apply to any customer");
    }

    #[test]
    fn paying_crediting_and_voiding() {
        let now = test_now();
        let mut inv = draft(price_lines(&[line(100_000, None)], &[], TaxRule::NONE));
        inv.issue("INV-2026-000001".into(), now, now).unwrap();
        assert_eq!(inv.pay(40_000, now).unwrap(), 40_000);
        assert_eq!(inv.status, InvoiceStatus::PartiallyPaid);
        assert!(matches!(inv.clone().void("x".into(), now), Err(Error::Conflict { code: "invoice_has_payments", .. })));
        assert_eq!(inv.pay(90_000, now).unwrap(), 60_000, "never more than is due");
        assert_eq!(inv.status, InvoiceStatus::Paid);
        assert!(inv.pay(1, now).is_err());
        let c = inv.credit(30_000, now).unwrap();
        assert_eq!(c, CreditOutcome { off_due: 0, returned: 30_000 });
        assert!(inv.credit(70_001, now).is_err(), "beyond the total");
        assert!(inv.balances());
        let mut open = draft(price_lines(&[line(10_000, None)], &[], TaxRule::NONE));
        open.issue("INV-2026-000002".into(), now, now).unwrap();
        open.mark_overdue().unwrap();
        assert_eq!(open.void("wrong customer".into(), now).unwrap(), 10_000);
        assert!(open.balances());
        assert_eq!(document_number("INV", 2026, 123), "INV-2026-000123");
    }

    proptest! {
        /// Whatever the lines, discounts and tax: the invoice's figures are the sums of its lines
        /// and total = subtotal - discount (+ tax when exclusive).
        #[test]
        fn totals_are_lines_plus_tax_minus_discount(
            amounts in proptest::collection::vec(-500_000i64..5_000_000, 1..8),
            pct in 0i64..10_000, fixed in 0i64..2_000_000, rate in 0i64..3_000, inclusive: bool,
        ) {
            let c = Uuid::now_v7();
            let lines: Vec<LineInput> = amounts.iter().map(|a| line(*a, None)).collect();
            let ds = [
                discount(DiscountValue::Percent { bps: pct }, DiscountTarget::Customer(c)),
                discount(DiscountValue::Fixed { amount: fixed }, DiscountTarget::Customer(c)),
            ];
            let d = discounts_for(c, &lines, &ds, test_now());
            let priced = price_lines(&lines, &d, TaxRule { rate_bps: rate, inclusive });
            let t = totals(&priced);
            let expected = if inclusive { t.subtotal - t.discount } else { t.subtotal - t.discount + t.tax };
            prop_assert_eq!(t.total, expected);
            for l in &priced {
                prop_assert!(l.discount >= 0 && l.discount <= l.amount.max(0));
                let base = l.amount - l.discount;
                prop_assert_eq!(l.total, if inclusive { base } else { base + l.tax });
            }
            let pct_sum: i64 = amounts.iter().filter(|a| **a > 0).map(|a| mul_div(*a, pct, 10_000)).sum();
            prop_assert!(t.discount <= fixed + pct_sum);
        }
    }
}
