//! The ISP's network as data: POPs, routers (with the CSV import), packages and their offers, live router operations, reconcile reports, configuration backups and RADIUS mode as the API sees them.

pub mod backups;
pub mod devices;
pub mod edge;
pub mod live;
pub mod monitor_points;
pub mod monitoring;
pub mod packages;
pub mod pops;
pub mod radius;
pub mod reconcile_reports;
#[cfg(feature = "csv")]
pub mod router_import;
pub mod routers;
pub mod traffic;
