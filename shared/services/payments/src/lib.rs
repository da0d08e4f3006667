//! Money in: a payment settles invoices, the ledger and the subscriptions it extends or restores,
//! in one transaction; the accounts at payment gateways it will come through online.

pub mod gateway_accounts;
pub mod payments;
