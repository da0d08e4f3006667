//! How a send ended when it did not succeed, by what may be done next.

use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PermanentReason {
    InvalidNumber,
    NoBalance,
    SenderRejected,
    /// The provider refused the account's credentials (or its address is not whitelisted).
    Credentials,
    /// Refused for another reason the provider gave (content, blacklist, route).
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Not sent; sending later may work.
    #[error("not sent, may be retried: {detail}")]
    Retryable { detail: String, retry_after: Option<Duration> },
    /// Will not work as asked; sending again changes nothing.
    #[error("refused ({reason:?}): {detail}")]
    Permanent { reason: PermanentReason, detail: String },
    /// The request left and no readable answer came: it may have been sent.
    #[error("outcome unknown: {detail}")]
    Unknown { detail: String },
}

impl SendError {
    pub(crate) fn credentials(detail: String) -> SendError {
        SendError::Permanent { reason: PermanentReason::Credentials, detail }
    }

    pub(crate) fn permanent(reason: PermanentReason, detail: impl Into<String>) -> SendError {
        SendError::Permanent { reason, detail: detail.into() }
    }

    pub(crate) fn retry(detail: impl Into<String>) -> SendError {
        SendError::Retryable { detail: detail.into(), retry_after: None }
    }

    /// A transport fault: before the request left (connecting) it is retryable; after, unknown.
    pub fn from_transport(e: &reqwest::Error) -> SendError {
        if e.is_connect() || e.is_builder() {
            SendError::Retryable { detail: outbound::transport(e), retry_after: None }
        } else {
            SendError::Unknown { detail: outbound::transport(e) }
        }
    }

    /// A short code for records: `retryable`, `unknown`, or the permanent reason.
    pub fn code(&self) -> &'static str {
        match self {
            SendError::Retryable { .. } => "retryable",
            SendError::Unknown { .. } => "unknown",
            SendError::Permanent { reason, .. } => match reason {
                PermanentReason::InvalidNumber => "invalid_number",
                PermanentReason::NoBalance => "no_balance",
                PermanentReason::SenderRejected => "sender_rejected",
                PermanentReason::Credentials => "credentials_refused",
                PermanentReason::Rejected => "rejected",
            },
        }
    }
}
