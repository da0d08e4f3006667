//! Everything that talks to messaging services, shaped like `gateways` (it knows the providers,
//! not the table): SMS providers ([`sms`]), Telegram ([`telegram`]), an ISP's own endpoints
//! signed per Standard Webhooks ([`webhook`]), the SMS encoding and part count ([`encoding`]) and
//! message templates ([`template`]). `testing` (feature `testing`): fakes of each provider's HTTP
//! API on 127.0.0.1.

pub mod channel;
#[cfg(feature = "ses")]
pub mod email;
pub mod encoding;
pub mod error;
pub mod life;
pub mod notices;
pub mod schedule;
pub mod sms;
pub mod telegram;
pub mod template;
pub mod webhook;

#[cfg(feature = "testing")]
pub mod testing;

pub use channel::{Channel, LogChannel, Medium, Message, RecordingChannel};
pub use error::{PermanentReason, SendError};
