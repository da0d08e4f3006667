//! Money is an integer count of minor units with an ISO-4217 currency. Never floating point.

use serde::{Deserialize, Serialize};

/// ISO-4217 currencies the platform bills in, with their minor-unit exponent.
pub const CURRENCIES: &[(&str, u8)] = &[
    ("BDT", 2),
    ("IDR", 2),
    ("KES", 2),
    ("UGX", 0),
    ("TZS", 2),
    ("RWF", 0),
    ("ETB", 2),
    ("NGN", 2),
    ("GHS", 2),
    ("ZAR", 2),
    ("INR", 2),
    ("NPR", 2),
    ("PKR", 2),
    ("LKR", 2),
    ("MYR", 2),
    ("PHP", 2),
    ("THB", 2),
    ("VND", 0),
    ("MMK", 2),
    ("KHR", 2),
    ("AED", 2),
    ("SAR", 2),
    ("USD", 2),
    ("EUR", 2),
    ("GBP", 2),
];

pub fn minor_units(currency: &str) -> Option<u8> {
    CURRENCIES.iter().find(|(c, _)| *c == currency).map(|(_, e)| *e)
}

/// An amount in minor units as people read it: `1,234.50` (BDT), `1,234` (UGX).
pub fn format_minor(amount: i64, currency: &str) -> String {
    let exp = u32::from(minor_units(currency).unwrap_or(2));
    let unit = 10u64.pow(exp);
    let abs = amount.unsigned_abs();
    let (major, minor) = (abs / unit, abs % unit);
    let digits = major.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if amount < 0 { "-" } else { "" };
    if exp == 0 { format!("{sign}{grouped}") } else { format!("{sign}{grouped}.{minor:0w$}", w = exp as usize) }
}

/// Minor units as a plain decimal in major units, no grouping (`100000`, BDT -> `1000.00`): what
/// spreadsheets and regulators' files take.
pub fn plain_decimal(amount: i64, currency: &str) -> String {
    let exp = u32::from(minor_units(currency).unwrap_or(2));
    let unit = 10u64.pow(exp);
    let abs = amount.unsigned_abs();
    let sign = if amount < 0 { "-" } else { "" };
    if exp == 0 { format!("{sign}{abs}") } else { format!("{sign}{}.{:0w$}", abs / unit, abs % unit, w = exp as usize) }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Money {
    /// Amount in minor units (e.g. poisha for BDT).
    pub amount: i64,
    pub currency: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error("currencies differ: {0} and {1}")]
    CurrencyMismatch(String, String),
    #[error("amount overflow")]
    Overflow,
}

impl Money {
    pub fn new(amount: i64, currency: &str) -> Self {
        Self { amount, currency: currency.to_string() }
    }

    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency.clone(), other.currency.clone()));
        }
        let amount = self.amount.checked_add(other.amount).ok_or(MoneyError::Overflow)?;
        Ok(Money { amount, currency: self.currency.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn amounts_read_as_people_write_them() {
        assert_eq!(format_minor(123_450, "BDT"), "1,234.50");
        assert_eq!(format_minor(-5, "BDT"), "-0.05");
        assert_eq!(format_minor(1_234_567, "UGX"), "1,234,567");
        assert_eq!(format_minor(0, "USD"), "0.00");
    }

    #[test]
    fn known_currencies() {
        assert_eq!(minor_units("BDT"), Some(2));
        assert_eq!(minor_units("UGX"), Some(0));
        assert_eq!(minor_units("XXX"), None);
    }

    #[test]
    fn mismatch_and_overflow_are_errors() {
        assert!(Money::new(1, "BDT").checked_add(&Money::new(1, "USD")).is_err());
        assert_eq!(Money::new(i64::MAX, "BDT").checked_add(&Money::new(1, "BDT")), Err(MoneyError::Overflow));
    }

    proptest! {
        #[test]
        fn addition_is_exact(a in -1_000_000_000_000i64..1_000_000_000_000, b in -1_000_000_000_000i64..1_000_000_000_000) {
            let s = Money::new(a, "BDT").checked_add(&Money::new(b, "BDT")).unwrap();
            prop_assert_eq!(s.amount, a + b);
            prop_assert_eq!(s.checked_add(&Money::new(-b, "BDT")).unwrap().amount, a);
        }
    }
}
