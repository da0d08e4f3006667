//! Pure business rules of the ISP platform. Nothing here talks to AWS or the network, so every rule
//! is unit- and property-tested without a server.

pub mod actor;
pub mod alert;
pub mod analytics;
pub mod api_key;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod branch;
pub mod checkout;
pub mod commission;
pub mod crypto;
pub mod customer;
pub mod cycle;
pub mod due;
pub mod dunning;
pub mod edge;
pub mod error;
pub mod event;
pub mod export;
pub mod idempotency;
pub mod ids;
pub mod import;
pub mod inventory;
pub mod invoice;
pub mod language;
pub mod lead;
pub mod ledger;
pub mod live;
pub mod money;
pub mod monitoring;
pub mod network;
pub mod package;
pub mod packed;
pub mod patch;
pub mod payment;
pub mod phone;
pub mod platform;
pub mod portal;
pub mod provisioning;
pub mod push;
pub mod radius;
pub mod rate;
pub mod recharge;
pub mod regulator;
pub mod role;
pub mod router_config;
pub mod subscription;
pub mod tenant;
pub mod ticket;
pub mod token;
pub mod traffic;
pub mod turbo;
pub mod user;
pub mod validate;
pub mod voucher;
pub mod wallet;
pub mod work;

pub use error::{Error, Result};
pub use validate::{FieldError, Validation};

/// The wall clock as the services see it; tests pass a fixed instant.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
