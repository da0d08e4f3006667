//! The one error type of every use case; the HTTP layer turns it into problem+json.

use crate::validate::FieldError;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// 400: the request cannot be understood (malformed JSON, a tampered cursor).
    #[error("{detail}")]
    BadRequest { code: &'static str, detail: String },
    /// 401: no identity, or a wrong one.
    #[error("{detail}")]
    Unauthorized { code: &'static str, detail: String },
    /// 403: known identity, not allowed.
    #[error("{detail}")]
    Forbidden { code: &'static str, detail: String },
    /// 404: no such thing visible to the caller (also another tenant's).
    #[error("{detail}")]
    NotFound { detail: String },
    /// 405
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: duplicate, stale version, limit reached.
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String, field: Option<String> },
    /// 413
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// 415
    #[error("the request body must be {expected}")]
    UnsupportedMediaType { expected: &'static str },
    /// 422: well-formed but invalid fields.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// 422 with a code of its own (rules that are not about one field's format).
    #[error("{detail}")]
    Unprocessable { code: &'static str, detail: String },
    /// 429
    #[error("{detail}")]
    TooManyRequests { code: &'static str, detail: String, retry_after_secs: u64 },
    /// 502: a router (or another upstream) could not be reached or refused us.
    #[error("{detail}")]
    BadGateway { code: &'static str, detail: String },
    /// 504: a router did not answer in time.
    #[error("{detail}")]
    GatewayTimeout { code: &'static str, detail: String },
    /// 503: a dependency is throttling; retry later.
    #[error("{detail}")]
    Unavailable { detail: String },
    /// 500: a bug or an outage; the detail is logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn not_found(what: &str) -> Self {
        Error::NotFound { detail: format!("{what} not found") }
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Error::Forbidden { code: "forbidden", detail: detail.into() }
    }
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Error::BadRequest { code, detail: detail.into() }
    }
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Error::Validation(vec![FieldError { field: field.into(), message: message.into() }])
    }
    pub fn duplicate(field: &str) -> Self {
        Error::Conflict {
            code: "duplicate",
            detail: format!("{field} is already in use"),
            field: Some(field.to_string()),
        }
    }
    pub fn version_conflict() -> Self {
        Error::Conflict {
            code: "version_conflict",
            detail: "the resource was changed by someone else; reload it and try again".into(),
            field: None,
        }
    }
    pub fn invalid_credentials() -> Self {
        Error::Unauthorized { code: "invalid_credentials", detail: "the e-mail or password is wrong".into() }
    }
}

impl From<Vec<FieldError>> for Error {
    fn from(errors: Vec<FieldError>) -> Self {
        Error::Validation(errors)
    }
}
