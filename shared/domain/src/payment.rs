//! Money received from a customer: how it came, where it went, and the rule for its external
//! reference. The billing, payments and reporting contexts all read these.

use crate::validate::Validation;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Cash,
    BankTransfer,
    MobileMoney,
    /// Through a payment gateway: recorded only by the settle path, never by hand.
    Online,
    /// A recharge card's value, redeemed (never recorded by hand).
    RechargeCard,
}

impl PaymentMethod {
    pub const ALL: [PaymentMethod; 5] = [
        PaymentMethod::Cash,
        PaymentMethod::BankTransfer,
        PaymentMethod::MobileMoney,
        PaymentMethod::Online,
        PaymentMethod::RechargeCard,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cash => "cash",
            Self::BankTransfer => "bank_transfer",
            Self::MobileMoney => "mobile_money",
            Self::Online => "online",
            Self::RechargeCard => "recharge_card",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AppliedTo {
    pub invoice_id: Uuid,
    pub amount: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Payment {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub customer_id: Uuid,
    pub invoice_id: Option<Uuid>,
    /// Per-tenant sequential receipt number (`RCT-2026-000045`).
    pub receipt_number: String,
    pub amount: i64,
    pub currency: String,
    pub method: PaymentMethod,
    pub reference: Option<String>,
    pub note: Option<String>,
    /// Where the money went.
    pub applied: Vec<AppliedTo>,
    /// What became the customer's credit.
    pub to_credit: i64,
    /// The customer's balance after it (negative: in credit).
    pub balance_after: i64,
    /// The staff member or operator who collected it.
    pub collected_by: Uuid,
    /// Owner operator subtree of the customer, for operator scoping and collection reports.
    pub operator_id: Option<Uuid>,
    pub scope: Option<String>,
    pub received_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// Paid online: through which gateway, checkout and transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewayPayment>,
}

/// Where an online payment came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GatewayPayment {
    pub gateway: crate::checkout::Gateway,
    pub account_id: Uuid,
    pub checkout_id: Uuid,
    /// The gateway's id of the payment (unique per gateway: the settlement's sentinel).
    pub transaction_id: String,
    /// How it was paid, in the gateway's words (`qris`, `gopay`, `card`, `bkash`).
    pub method: Option<String>,
}

/// The external transaction id of money moved by bank or mobile money (required for those).
pub fn checked_reference(v: &mut Validation, method: PaymentMethod, reference: Option<&str>) -> Option<String> {
    let reference = v.optional_text("reference", reference, 100);
    if reference.is_none() && method != PaymentMethod::Cash {
        v.add("reference", "is required for bank transfers and mobile money");
    }
    reference
}
