//! What a checkout, a notification and a status are, whatever the gateway.

use crate::GatewayError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Our money: integer minor units of an ISO-4217 currency (`domain::money`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amount {
    pub minor: i64,
    pub currency: String,
}

impl Amount {
    pub fn new(minor: i64, currency: &str) -> Self {
        Amount { minor, currency: currency.to_ascii_uppercase() }
    }

    /// Our exponent for the currency (2 when the platform does not bill in it).
    pub fn exponent(&self) -> u32 {
        u32::from(domain::money::minor_units(&self.currency).unwrap_or(2))
    }

    /// This amount in a unit with `exponent` decimals (e.g. whole rupiah: 0), only when exact.
    pub fn in_exponent(&self, exponent: u32) -> Result<i64, GatewayError> {
        let ours = self.exponent();
        if exponent >= ours {
            self.minor
                .checked_mul(10i64.pow(exponent - ours))
                .ok_or_else(|| GatewayError::Amount(format!("{} {} is too large", self.minor, self.currency)))
        } else {
            let unit = 10i64.pow(ours - exponent);
            if self.minor % unit != 0 {
                return Err(GatewayError::Amount(format!(
                    "{} {} has fractions the gateway cannot take",
                    domain::money::format_minor(self.minor, &self.currency),
                    self.currency
                )));
            }
            Ok(self.minor / unit)
        }
    }

    /// An amount the gateway gave in its unit with `exponent` decimals, in our minor units.
    pub fn from_exponent(value: i64, exponent: u32, currency: &str) -> Result<Amount, GatewayError> {
        let a = Amount::new(0, currency);
        let ours = a.exponent();
        let minor = if ours >= exponent {
            value.checked_mul(10i64.pow(ours - exponent)).ok_or_else(|| GatewayError::Amount("too large".into()))?
        } else {
            let unit = 10i64.pow(exponent - ours);
            if value % unit != 0 {
                return Err(GatewayError::Amount(format!("{value} has more decimals than {currency} has")));
            }
            value / unit
        };
        Ok(Amount::new(minor, currency))
    }

    /// This amount as a decimal string in the currency's unit (`1500.50`; `7000` for UGX).
    pub fn decimal(&self) -> String {
        let exp = self.exponent();
        if exp == 0 {
            return self.minor.to_string();
        }
        let unit = 10i64.pow(exp);
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        format!("{sign}{}.{:0width$}", abs / unit as u64, abs % unit as u64, width = exp as usize)
    }

    /// A decimal string as gateways write amounts (`"10000.00"`, `"150"`), in our minor units;
    /// exact or refused, never rounded.
    pub fn parse_decimal(text: &str, currency: &str) -> Result<Amount, GatewayError> {
        let bad = || GatewayError::Malformed(format!("amount {text:?}"));
        let (whole, frac) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let frac = frac.trim_end_matches('0');
        let exponent = frac.len() as u32;
        let digits = format!("{whole}{frac}");
        let value: i64 = digits.parse().map_err(|_| bad())?;
        Amount::from_exponent(value, exponent, currency)
    }
}

/// What we ask a gateway for. The amount comes from our invoice or request, never from a gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutRequest {
    /// Ours, unique, at most 30 characters of `[A-Za-z0-9-_.~]` (SSLCommerz's `tran_id` limit is
    /// the lowest; Midtrans takes 50).
    pub order_id: String,
    pub amount: Amount,
    /// One line for the payer (e.g. `Invoice INV-2026-000123`).
    pub description: String,
    pub customer_name: Option<String>,
    pub customer_email: Option<String>,
    pub customer_phone: Option<String>,
    /// Where the payer's browser comes back to (success, failure or cancel: they never settle).
    pub return_url: String,
    pub cancel_url: String,
    /// Where the gateway sends its notifications, where it takes one per checkout.
    pub notify_url: Option<String>,
    /// Methods to offer, in the gateway's names (e.g. Midtrans `qris`, `gopay`); empty: all.
    pub methods: Vec<String>,
}

/// What the gateway made of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutCreated {
    /// The gateway's own handle of the checkout (Stripe session id, Midtrans Snap token).
    pub reference: String,
    /// Where to send the payer.
    pub redirect_url: String,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Where a payment stands, in our terms. Monotonic in use: once `Paid`, only `Refunded` follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentState {
    Pending,
    Paid,
    Failed,
    Expired,
    Refunded,
}

impl PaymentState {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentState::Pending => "pending",
            PaymentState::Paid => "paid",
            PaymentState::Failed => "failed",
            PaymentState::Expired => "expired",
            PaymentState::Refunded => "refunded",
        }
    }
}

/// Compares a signature given by a notification with the one computed, in constant time.
pub fn same_signature(given: &str, expected: &str) -> bool {
    use subtle::ConstantTimeEq;
    given.len() == expected.len() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// A transaction as the gateway reports it (from a verified notification or its status API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionStatus {
    /// Our order id, as we sent it.
    pub order_id: String,
    /// The gateway's id of the payment (once there is one): unique per gateway.
    pub transaction_id: Option<String>,
    pub state: PaymentState,
    /// What the gateway says was paid (compared with the checkout's amount by the caller).
    pub amount: Option<Amount>,
    /// How it was paid, in the gateway's words (`card`, `qris`, `gopay`).
    pub method: Option<String>,
}

/// A notification whose signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedNotification {
    /// What identifies this delivery for de-duplication (Stripe event id; Midtrans order + status).
    pub delivery_id: String,
    /// `None` for events that say nothing about a checkout's payment.
    pub status: Option<TransactionStatus>,
}

/// Checks an order id we make against the strictest gateway's rule.
pub fn valid_order_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 30 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_convert_exactly_or_not_at_all() {
        let bdt = Amount::new(150_050, "BDT");
        assert_eq!(bdt.in_exponent(2), Ok(150_050));
        assert!(bdt.in_exponent(0).is_err(), "50 poisha cannot become whole taka");
        assert_eq!(Amount::new(1_500_000, "IDR").in_exponent(0), Ok(15_000));
        assert_eq!(Amount::new(5_000, "UGX").in_exponent(0), Ok(5_000));
        assert_eq!(Amount::new(5_000, "UGX").in_exponent(2), Ok(500_000));
        assert_eq!(Amount::from_exponent(15_000, 0, "IDR"), Ok(Amount::new(1_500_000, "IDR")));
        assert_eq!(Amount::parse_decimal("10000.00", "IDR"), Ok(Amount::new(1_000_000, "IDR")));
        assert_eq!(Amount::parse_decimal("150.5", "BDT"), Ok(Amount::new(15_050, "BDT")));
        assert_eq!(Amount::parse_decimal("7", "UGX"), Ok(Amount::new(7, "UGX")));
        assert_eq!(
            (
                Amount::new(150_050, "BDT").decimal(),
                Amount::new(150_005, "BDT").decimal(),
                Amount::new(7_000, "UGX").decimal()
            ),
            ("1500.50".to_string(), "1500.05".to_string(), "7000".to_string())
        );
        assert!(Amount::parse_decimal("7.5", "UGX").is_err());
        for bad in ["", ".5", "1e3", "-5", "1.2.3", "12a", " "] {
            assert!(Amount::parse_decimal(bad, "BDT").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn order_ids_fit_every_gateway() {
        assert!(valid_order_id("c-01J9ZK3QW8-4f2a"));
        assert!(valid_order_id(&"x".repeat(30)));
        assert!(!valid_order_id(&"x".repeat(31)));
        assert!(!valid_order_id("a b"));
        assert!(!valid_order_id(""));
    }
}
