//! RFC 9457 problem details with a stable `code`.

use domain::{Error, FieldError};
use http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code, e.g. `duplicate`, `version_conflict`, `validation_failed`.
    pub code: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

fn parts(e: &Error) -> (StatusCode, &'static str, String, Vec<FieldError>) {
    match e {
        Error::BadRequest { code, detail } => (StatusCode::BAD_REQUEST, code, detail.clone(), vec![]),
        Error::Unauthorized { code, detail } => (StatusCode::UNAUTHORIZED, code, detail.clone(), vec![]),
        Error::Forbidden { code, detail } => (StatusCode::FORBIDDEN, code, detail.clone(), vec![]),
        Error::NotFound { detail } => (StatusCode::NOT_FOUND, "not_found", detail.clone(), vec![]),
        Error::MethodNotAllowed => {
            (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this method is not allowed here".into(), vec![])
        }
        Error::Conflict { code, detail, field } => {
            // The field the conflict is about, with what is wrong with it (a duplicate says so).
            let errors = field.iter().map(|f| FieldError { field: f.clone(), message: detail.clone() }).collect();
            (StatusCode::CONFLICT, code, detail.clone(), errors)
        }
        Error::PayloadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", e.to_string(), vec![]),
        Error::UnsupportedMediaType { .. } => {
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", e.to_string(), vec![])
        }
        Error::Validation(errors) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "one or more fields are invalid".into(),
            errors.clone(),
        ),
        Error::Unprocessable { code, detail } => (StatusCode::UNPROCESSABLE_ENTITY, code, detail.clone(), vec![]),
        Error::TooManyRequests { code, detail, .. } => (StatusCode::TOO_MANY_REQUESTS, code, detail.clone(), vec![]),
        Error::BadGateway { code, detail } => (StatusCode::BAD_GATEWAY, *code, detail.clone(), vec![]),
        Error::GatewayTimeout { code, detail } => (StatusCode::GATEWAY_TIMEOUT, *code, detail.clone(), vec![]),
        Error::Unavailable { detail } => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail.clone(), vec![]),
        Error::Internal(_) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "internal", "an internal error occurred".into(), vec![])
        }
    }
}

/// The problem an error is (logged when it is the server's).
pub fn problem(e: &Error) -> Problem {
    let (status, code, detail, errors) = parts(e);
    if status.is_server_error() {
        tracing::error!(error = %e, "request failed");
    }
    Problem {
        kind: format!("https://docs.isp-billing.dev/problems/{code}"),
        title: status.canonical_reason().unwrap_or("Error").to_string(),
        status: status.as_u16(),
        detail,
        code: code.to_string(),
        errors,
    }
}

pub fn problem_response(e: &Error) -> Response<Body> {
    let p = problem(e);
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut b = Response::builder()
        .status(status)
        .header("content-type", "application/problem+json")
        .header("cache-control", "no-store");
    if let Error::TooManyRequests { retry_after_secs, .. } = e {
        b = b.header("retry-after", retry_after_secs.to_string());
    }
    if matches!(e, Error::Unauthorized { .. }) {
        b = b.header("www-authenticate", "Bearer");
    }
    b.body(Body::Text(serde_json::to_string(&p).expect("problem serialises"))).expect("static response parts")
}
