//! Who hears of what, and how: an ISP's messaging settings and rules ([`settings`]), its channels
//! ([`channels`]: SMS provider accounts and Telegram bots, or the platform's offered ones), its
//! templates ([`templates`]), the notifications worker's use cases ([`send`]) and the message log
//! ([`messages`]). The providers themselves are in `messaging`; this crate knows the table.

pub mod alerts;
pub mod channels;
pub mod config;
mod email;
pub mod manual;
pub mod messages;
pub mod reports;
pub mod send;
pub mod settings;
pub mod templates;
pub mod values;
pub mod webhooks;
