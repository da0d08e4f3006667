//! Subscriptions: create, activate, renew, suspend, restore, change package or router, with the invoices a change issues in the same transaction; a subscriber's live session; reprovisioning.

pub mod package_change;
pub mod regulator;
pub mod reprovision;
pub mod session;
pub mod subscriptions;
pub mod traffic;
pub mod turbo;
