//! Support tickets: opened by staff, operators or the subscriber, numbered per ISP, answered and noted, held to the ISP's service levels and escalated once per level.

pub mod attachments;
pub mod reports;
pub mod tickets;
