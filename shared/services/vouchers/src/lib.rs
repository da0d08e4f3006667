//! Hotspot vouchers: the plans ([`plans`]) they are sold on.

pub mod plans;
