//! Asynchronous jobs on one chunk machinery: customer imports and bulk subscription actions.

pub mod bulk;
pub mod chunks;
pub mod imports;
pub mod worker;
