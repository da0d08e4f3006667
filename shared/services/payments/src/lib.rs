//! Money in: a payment settles invoices, the ledger and the subscriptions it extends or restores,
//! in one transaction (one settle path, by hand or online); the accounts at payment gateways, and
//! the checkouts that take money through them.

pub mod checkouts;
pub mod gateway_accounts;
pub mod payments;
