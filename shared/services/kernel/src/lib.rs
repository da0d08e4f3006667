//! What every context stands on: the App (clients, keys, clock), errors and audit helpers, idempotency, access rules, the live-router port, and the projections many contexts write (dashboard, reports, timeline, usage).

pub mod access;
pub mod alerts;
pub mod app;
pub mod audit_log;
pub mod gate;
pub mod idempotency;
pub mod live;
pub mod objects;
pub mod projections;
pub mod schedule;
pub mod sockets;
pub mod support;
pub mod tenancy;

pub use app::{App, Clock, Config};
pub use idempotency::{IdempotentRequest, Outcome};
