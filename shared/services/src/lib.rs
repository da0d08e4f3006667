//! The use cases behind the API, jobs and workers. Each loads what it needs through `store`, decides
//! with `domain`, and writes one transaction carrying its audit entry and its events.

pub mod app;
pub mod audit_log;
pub mod auth;
pub mod billing;
pub mod billing_run;
pub mod bulk;
pub mod credit_notes;
pub mod customers;
pub mod dashboard;
pub mod discounts;
pub mod dunning;
pub mod idempotency;
pub mod imports;
pub mod invoice_pdf;
pub mod leads;
pub mod live;
pub mod manual_invoices;
pub mod network;
pub mod operators;
pub mod packages;
pub mod payments;
pub mod platform;
pub mod provisioning;
pub mod reports;
pub mod router_health;
pub mod router_reconcile;
pub mod schedule;
pub mod seed;
pub mod subscriptions;
mod support;
mod sweep;
pub mod tenants;
pub mod timeline;
pub mod users;

pub use app::{App, Clock, Config};
pub use idempotency::{IdempotentRequest, Outcome};
