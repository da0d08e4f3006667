//! Read models that many contexts write in their own transactions (dashboard counters, report
//! aggregates, the customer timeline, usage counters), with their readers. They depend only on
//! `domain` and `store`, so every context can stage into them without a circle.

pub mod dashboard;
pub mod platform_stats;
pub mod reports;
pub mod timeline;
pub mod usage;
