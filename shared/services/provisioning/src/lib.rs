//! The provisioning worker: converge routers to what the table says (RouterOS), health checks, full reconciles, configuration backups and restores, live router operations, RADIUS answers and CoA.

pub mod answer;
pub mod backups;
pub mod converge;
pub mod devices;
pub mod health;
pub mod monitoring;
pub mod pool;
pub mod radius;
pub mod reconcile;
pub mod snmp;
pub mod vouchers;
pub mod worker;
