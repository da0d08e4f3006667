//! What a queue worker (or a call through a port: the live-router transport, a message channel)
//! does with a failure, decided by the failure's type rather than its text: retry it or drop it.

use crate::Error;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkError {
    /// Might succeed later (a timeout, an unreachable or throttled service, a store error, a lost
    /// race): reported as a batch item failure, so SQS redelivers it, then the dead-letter queue.
    #[error("{0}")]
    Retry(String),
    /// Can never succeed (malformed, an event the worker does not handle, ids that name nothing):
    /// recorded (an error log with the message id) and acknowledged, so it does not cycle through
    /// retries into the dead-letter queue.
    #[error("{0}")]
    Drop(String),
}

impl WorkError {
    pub fn retry(e: impl std::fmt::Display) -> Self {
        WorkError::Retry(e.to_string())
    }

    pub fn drop(e: impl std::fmt::Display) -> Self {
        WorkError::Drop(e.to_string())
    }

    pub fn is_retry(&self) -> bool {
        matches!(self, WorkError::Retry(_))
    }
}

/// A use case's error inside a worker: what the request itself makes impossible is dropped
/// (validation, a missing entity, a refused state change); everything else may pass on a retry.
impl From<Error> for WorkError {
    fn from(e: Error) -> Self {
        match &e {
            Error::BadRequest { .. }
            | Error::Unauthorized { .. }
            | Error::Forbidden { .. }
            | Error::NotFound { .. }
            | Error::MethodNotAllowed
            | Error::PayloadTooLarge { .. }
            | Error::UnsupportedMediaType { .. }
            | Error::Validation(_)
            | Error::Unprocessable { .. } => WorkError::Drop(e.to_string()),
            Error::Conflict { .. }
            | Error::TooManyRequests { .. }
            | Error::BadGateway { .. }
            | Error::GatewayTimeout { .. }
            | Error::Unavailable { .. }
            | Error::Internal(_) => WorkError::Retry(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn use_case_errors_map_to_retry_or_drop() {
        assert!(!WorkError::from(Error::not_found("import")).is_retry());
        assert!(!WorkError::from(Error::field("x", "bad")).is_retry());
        assert!(WorkError::from(Error::Internal("store timeout".into())).is_retry());
        assert!(WorkError::from(Error::version_conflict()).is_retry(), "a lost race passes on a retry");
        assert!(WorkError::from(Error::Unavailable { detail: "x".into() }).is_retry());
    }
}
