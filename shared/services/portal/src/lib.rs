//! The subscriber portal: which ISP a request is for, the subscriber's login (password or a
//! one-time code by SMS) and sessions, and the subscriber's own pages. A subscriber's token names
//! the customer; every read here is keyed by it, so no other subscriber's data is reachable.

pub mod auth;
pub mod pages;
