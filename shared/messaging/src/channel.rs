//! The port the notification worker sends through today: a pluggable [`Channel`]. The local channel logs each message (the local
//! runner prints password-reset tokens this way); a recording channel keeps them for tests. Real
//! providers (SMTP/SES, SMS gateways) plug in behind the same trait.

use domain::work::WorkError;
use serde::Serialize;
use std::future::Future;
use std::sync::{Arc, Mutex};

pub use crate::life::Medium;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub medium: Medium,
    pub to: String,
    pub subject: String,
    pub body: String,
    /// Stable id of what caused the message, so a provider can drop duplicates too.
    pub dedupe_key: String,
}

/// A way to deliver messages (a port: SMS providers, e-mail, Telegram come behind it). A failure
/// says by its type whether a retry can help.
pub trait Channel: Send + Sync {
    fn send(&self, message: &Message) -> impl Future<Output = Result<(), WorkError>> + Send;
}

/// Writes each message to the log (JSON logs in Lambda, the terminal under `make run`).
#[derive(Debug, Clone, Default)]
pub struct LogChannel;

impl Channel for LogChannel {
    async fn send(&self, m: &Message) -> Result<(), WorkError> {
        tracing::info!(medium = ?m.medium, to = %m.to, subject = %m.subject, body = %m.body, "message delivered (log channel)");
        Ok(())
    }
}

/// Keeps every message, for tests; `fail_next` makes the next sends fail, to test retries.
#[derive(Debug, Clone, Default)]
pub struct RecordingChannel {
    pub sent: Arc<Mutex<Vec<Message>>>,
    pub fail_next: Arc<Mutex<u32>>,
}

impl RecordingChannel {
    pub fn messages(&self) -> Vec<Message> {
        self.sent.lock().expect("lock").clone()
    }
}

impl Channel for RecordingChannel {
    async fn send(&self, m: &Message) -> Result<(), WorkError> {
        {
            let mut f = self.fail_next.lock().expect("lock");
            if *f > 0 {
                *f -= 1;
                return Err(WorkError::Retry("provider unavailable (simulated)".into()));
            }
        }
        self.sent.lock().expect("lock").push(m.clone());
        Ok(())
    }
}
