//! Who can log in and to what: staff users, login and tokens, ISPs (tenants), the platform and its resellers.

pub mod api_keys;
pub mod auth;
pub mod platform;
pub mod tenants;
pub mod users;
