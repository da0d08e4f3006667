//! Money in: a payment settles invoices, the ledger and the subscriptions it extends or restores, in one transaction.

pub mod payments;
