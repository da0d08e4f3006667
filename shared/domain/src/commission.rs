//! Commissions: what an operator and a sub-operator earn when their customers pay the ISP. A rule
//! per package names each level's share (a percent of the package's part of what was paid, or a
//! fixed amount once the invoice is paid in full); a level without a rule falls back to the
//! earner's own rate (its profile's `commission_rate_bps`). The ISP pays every level from its
//! funding account: a sub-operator's customer earns the sub-operator its level's share and the
//! operator above it the operator level's share. Pure: the payments context stages the wallet
//! movements in the transaction that applies the payment, so a payment applied once earns once.

use crate::billing::mul_div;
use crate::invoice::Invoice;
use crate::{Result, Validation};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// One level's share of a package's money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Share {
    /// Basis points of the package's part of each payment, net of tax (250 = 2.5%).
    Percent { basis_points: u32 },
    /// Minor units, once per package line when its invoice becomes paid in full.
    Fixed { amount: i64 },
}

/// The largest fixed commission (a typo guard: 100,000 in major units).
pub const MAX_FIXED: i64 = 10_000_000;

impl Share {
    fn check(&self, v: &mut Validation, field: &str) {
        match *self {
            Share::Percent { basis_points } => {
                v.range_i64(&format!("{field}.basis_points"), basis_points.into(), 0, 10_000);
            }
            Share::Fixed { amount } => {
                v.range_i64(&format!("{field}.amount"), amount, 0, MAX_FIXED);
            }
        }
    }
}

/// The levels that earn on a customer's payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// The top-level operator of the customer's subtree.
    Operator,
    /// The customer's own sub-operator, when it has one.
    SubOperator,
}

/// A package's commission rule: each level's share (None: the earner's own rate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CommissionRule {
    pub package_id: Uuid,
    pub operator: Option<Share>,
    pub sub_operator: Option<Share>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub version: u64,
}

impl CommissionRule {
    pub fn check(&self) -> Result<()> {
        let mut v = Validation::new();
        if let Some(s) = &self.operator {
            s.check(&mut v, "operator");
        }
        if let Some(s) = &self.sub_operator {
            s.check(&mut v, "sub_operator");
        }
        Ok(v.finish()?)
    }

    pub fn share(&self, level: Level) -> Option<Share> {
        match level {
            Level::Operator => self.operator,
            Level::SubOperator => self.sub_operator,
        }
    }
}

/// Who earns on a customer owned at `scope` (`op` or `op/sub`, below `br-<branch>/` in a
/// branch): the operator level and, below it, the sub-operator level, each with its path; a
/// path's ids that do not parse earn nothing, and a branch earns nothing.
pub fn earners(scope: Option<&str>) -> Vec<(Level, Uuid, String)> {
    let Some(scope) = scope else { return vec![] };
    let operators = crate::user::operators_on(scope);
    let mut out = vec![];
    if let Some((op, path)) = operators.first()
        && let Ok(id) = op.parse()
    {
        out.push((Level::Operator, id, path.to_string()));
    }
    if operators.len() >= 2
        && let Some((sub, path)) = operators.last()
        && let Ok(id) = sub.parse()
    {
        out.push((Level::SubOperator, id, path.to_string()));
    }
    out
}

/// Money a payment put on one invoice: how much, and whether it paid the invoice in full.
#[derive(Debug, Clone)]
pub struct Applied<'a> {
    pub invoice: &'a Invoice,
    pub amount: i64,
    pub paid_in_full: bool,
}

/// One package line's part of a commission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CommissionLine {
    pub invoice_id: Uuid,
    pub package_id: Uuid,
    pub share: Share,
    /// What the share was taken of (percent: the package's part of the money, net of tax).
    pub base: i64,
    pub amount: i64,
}

/// What one earner earns on one payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Earning {
    pub operator_id: Uuid,
    pub level: Level,
    /// The earner's path (`op` or `op/sub`): whose subtree's report counts it.
    pub path: String,
    pub amount: i64,
    pub lines: Vec<CommissionLine>,
}

/// What each earner of the invoices' subtree earns on the money applied: per package line, the
/// package's rule for the level, else the earner's own rate (`rates`, basis points). Earners with
/// nothing are left out.
pub fn earnings(
    applied: &[Applied<'_>],
    rules: &BTreeMap<Uuid, CommissionRule>,
    rates: &BTreeMap<Uuid, u32>,
) -> Vec<Earning> {
    let mut out: Vec<Earning> = vec![];
    for a in applied.iter().filter(|a| a.amount > 0 && a.invoice.total > 0) {
        for (level, operator_id, path) in earners(a.invoice.scope.as_deref()) {
            let mut lines = vec![];
            for l in a.invoice.lines.iter().filter(|l| l.total > 0) {
                let Some(package_id) = l.package_id else { continue };
                let share = rules.get(&package_id).and_then(|r| r.share(level)).or_else(|| {
                    rates.get(&operator_id).filter(|r| **r > 0).map(|r| Share::Percent { basis_points: *r })
                });
                let Some(share) = share else { continue };
                let (base, amount) = match share {
                    Share::Percent { basis_points } => {
                        let base = mul_div(a.amount, l.total - l.tax, a.invoice.total);
                        (base, mul_div(base, basis_points.into(), 10_000))
                    }
                    Share::Fixed { amount } if a.paid_in_full => (l.total - l.tax, amount),
                    Share::Fixed { .. } => continue,
                };
                if amount > 0 {
                    lines.push(CommissionLine { invoice_id: a.invoice.id, package_id, share, base, amount });
                }
            }
            if lines.is_empty() {
                continue;
            }
            let amount: i64 = lines.iter().map(|l| l.amount).sum();
            match out.iter_mut().find(|e| e.operator_id == operator_id && e.level == level) {
                Some(e) => {
                    e.amount += amount;
                    e.lines.extend(lines);
                }
                None => out.push(Earning { operator_id, level, path, amount, lines }),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invoice::{InvoiceKind, InvoiceLine, LineKind};

    fn at() -> chrono::DateTime<chrono::Utc> {
        "2026-12-01T00:00:00Z".parse().unwrap()
    }

    fn invoice(scope: Option<String>, lines: &[(Option<Uuid>, i64, i64)]) -> Invoice {
        let mut inv =
            Invoice::draft(Uuid::from_u128(7), Uuid::nil(), Uuid::from_u128(8), "BDT", InvoiceKind::Renewal, at());
        inv.scope = scope;
        inv.lines = lines
            .iter()
            .map(|(p, total, tax)| InvoiceLine {
                kind: LineKind::Package,
                description: "x".into(),
                amount: *total,
                discount: 0,
                tax_rate_bps: 0,
                tax: *tax,
                total: *total,
                package_id: *p,
                period: None,
                discount_id: None,
            })
            .collect();
        inv.total = lines.iter().map(|l| l.1).sum();
        inv
    }

    fn rule(package: Uuid, operator: Option<Share>, sub: Option<Share>) -> (Uuid, CommissionRule) {
        (package, CommissionRule { package_id: package, operator, sub_operator: sub, updated_at: at(), version: 1 })
    }

    const OP: Uuid = Uuid::from_u128(100);
    const SUB: Uuid = Uuid::from_u128(200);
    const PKG: Uuid = Uuid::from_u128(300);

    #[test]
    fn the_earners_are_the_operator_and_the_customers_own_sub_operator() {
        assert!(earners(None).is_empty());
        let one = earners(Some(&OP.to_string()));
        assert_eq!(one, vec![(Level::Operator, OP, OP.to_string())]);
        let two = earners(Some(&format!("{OP}/{SUB}")));
        assert_eq!(two[0].1, OP);
        assert_eq!((two[1].0, two[1].1, two[1].2.clone()), (Level::SubOperator, SUB, format!("{OP}/{SUB}")));
        assert!(earners(Some("not-an-id")).is_empty());
        // In a branch: the same earners, their paths below the branch; the branch earns nothing.
        let b = Uuid::from_u128(400);
        let branch = crate::branch::scope_of(b);
        assert!(earners(Some(&branch)).is_empty());
        let in_branch = earners(Some(&format!("{branch}/{OP}/{SUB}")));
        assert_eq!(
            in_branch,
            vec![
                (Level::Operator, OP, format!("{branch}/{OP}")),
                (Level::SubOperator, SUB, format!("{branch}/{OP}/{SUB}"))
            ]
        );
    }

    #[test]
    fn a_percent_is_of_the_packages_part_net_of_tax_and_fixed_waits_for_the_whole_invoice() {
        // 1,150.00 with 150.00 tax on the package and a 100.00 manual line: 1,250.00 in all.
        let inv = invoice(Some(format!("{OP}/{SUB}")), &[(Some(PKG), 115_000, 15_000), (None, 10_000, 0)]);
        let rules = BTreeMap::from([rule(
            PKG,
            Some(Share::Percent { basis_points: 1_000 }),
            Some(Share::Fixed { amount: 5_000 }),
        )]);
        let partial = [Applied { invoice: &inv, amount: 62_500, paid_in_full: false }];
        let e = earnings(&partial, &rules, &BTreeMap::new());
        assert_eq!(e.len(), 1, "the fixed share waits for the invoice to be paid: {e:?}");
        // Half the invoice paid: the package's net part of it is 50,000; 10% of it.
        assert_eq!(
            (e[0].operator_id, e[0].level, e[0].amount, e[0].lines[0].base),
            (OP, Level::Operator, 5_000, 50_000)
        );
        let rest = [Applied { invoice: &inv, amount: 62_500, paid_in_full: true }];
        let e = earnings(&rest, &rules, &BTreeMap::new());
        assert_eq!(e.iter().map(|e| (e.operator_id, e.amount)).collect::<Vec<_>>(), [(OP, 5_000), (SUB, 5_000)]);
    }

    #[test]
    fn without_a_rule_the_earners_own_rate_applies_and_nothing_earns_nothing() {
        let inv = invoice(Some(OP.to_string()), &[(Some(PKG), 100_000, 0)]);
        let applied = [Applied { invoice: &inv, amount: 100_000, paid_in_full: true }];
        assert!(earnings(&applied, &BTreeMap::new(), &BTreeMap::new()).is_empty());
        let e = earnings(&applied, &BTreeMap::new(), &BTreeMap::from([(OP, 250)]));
        assert_eq!(e[0].amount, 2_500);
        // A rule for the level wins over the rate; a rule without the level falls back.
        let rules = BTreeMap::from([rule(PKG, Some(Share::Percent { basis_points: 0 }), None)]);
        assert!(earnings(&applied, &rules, &BTreeMap::from([(OP, 250)])).is_empty());
        let direct = invoice(None, &[(Some(PKG), 100_000, 0)]);
        let applied = [Applied { invoice: &direct, amount: 100_000, paid_in_full: true }];
        assert!(earnings(&applied, &rules, &BTreeMap::from([(OP, 250)])).is_empty(), "the ISP's own customer");
    }

    #[test]
    fn a_rule_is_checked() {
        let (_, mut r) = rule(PKG, Some(Share::Percent { basis_points: 10_001 }), Some(Share::Fixed { amount: -1 }));
        let Err(crate::Error::Validation(f)) = r.check() else { panic!("accepted") };
        let fields: Vec<_> = f.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["operator.basis_points", "sub_operator.amount"]);
        r.operator = Some(Share::Percent { basis_points: 10_000 });
        r.sub_operator = None;
        assert!(r.check().is_ok());
    }
}
