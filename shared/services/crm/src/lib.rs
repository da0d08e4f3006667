//! Customers, leads, operators and sub-operators, and the customer's timeline.

pub mod branches;
pub mod customers;
pub mod leads;
pub mod login_codes;
pub mod operators;
pub mod timeline;
