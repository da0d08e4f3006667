//! Money in: a payment settles invoices, the ledger and the subscriptions it extends or restores,
//! in one transaction (one settle path, by hand or online); the accounts at payment gateways, and
//! the checkouts that take money through them.

pub mod checkouts;
pub mod gateway_accounts;
pub mod payments;
pub mod platform;
pub mod recharge_cards;
pub mod refunds;
pub mod webhooks;

/// The process's gateway client (one connection pool per Lambda execution environment).
pub fn gateway_http() -> domain::Result<&'static gateways::GatewayHttp> {
    gateways::GatewayHttp::shared().map_err(|e| domain::Error::Internal(e.to_string()))
}
