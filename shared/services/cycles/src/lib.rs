//! The recurring money cycle: billing runs, dunning and the expiry sweep, per ISP at its time.

pub mod billing_run;
pub mod dunning;
pub mod sweep;
