//! Everything in the project that talks to MikroTik routers goes through this crate.
//!
//! - [`client`]: a RouterOS API connection over the protocol core of mikrotik-rs 0.7.0 (MIT OR
//!   Apache-2.0; later releases are AGPL-3.0-only), with deadlines on every stage, pipelined
//!   commands and replies that are never dropped.
//! - [`session`]: one connection per router, reopened with backoff.
//! - [`menu`]: typed menus (PPP secrets, profiles and sessions, hotspot users, profiles and
//!   sessions, simple queues, address lists, identity, resource, interfaces, DHCP leases).
//! - [`plan`] and [`provision`]: level-triggered provisioning: desired state from the database,
//!   actual state from the router, the smallest change between them.
//! - [`backup`]: configuration snapshots, restores of chosen menus, the on-router daily backup.
//! - `testing` (feature): a RouterOS API test server speaking the real wire protocol over TCP.

pub mod backup;
pub mod client;
pub mod error;
pub mod menu;
pub mod plan;
pub mod provision;
pub mod session;
mod tls;

#[cfg(feature = "testing")]
pub mod testing;

pub use client::{
    AddressCheck, Command, Endpoint, RouterConnection, RouterHosts, Row, Stats, Timeouts, TlsMode, WINDOW,
};
pub use error::{RouterError, Stage};
pub use session::{Backoff, RouterSession};
