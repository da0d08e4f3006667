//! Hotspot vouchers: the plans they are sold on, batches of printed vouchers and each voucher's
//! life; their place on the routers is provisioning's.

pub mod batches;
#[cfg(feature = "pdf")]
pub mod cards;
mod common;
pub mod online;
pub mod plans;
pub mod sales;
pub mod vouchers;

pub use common::password_aad;
