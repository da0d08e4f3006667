//! HTTP glue shared by every `api-*` function: a parsed [`Incoming`] request with the project's limits,
//! route matching, the caller ([`domain::actor::Actor`]) from the bearer token, and RFC 9457 problem
//! responses. No business rule lives here.

mod problem;
mod request;

pub use problem::{Problem, problem_response};
pub use request::{Incoming, MAX_BODY_BYTES, Params, Pagination};

use domain::Error;
use http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;

pub type Reply = Result<Response<Body>, Error>;

/// A JSON response.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Reply {
    let text = serde_json::to_string(body).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(raw_json(status, text))
}

pub fn raw_json(status: StatusCode, text: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .body(Body::Text(text))
        .expect("static response parts are valid")
}

pub fn ok<T: Serialize>(body: &T) -> Reply {
    json(StatusCode::OK, body)
}

pub fn created<T: Serialize>(body: &T) -> Reply {
    json(StatusCode::CREATED, body)
}

pub fn no_content() -> Reply {
    Ok(Response::builder().status(StatusCode::NO_CONTENT).body(Body::Empty).expect("static response"))
}

/// Turns a handler's result into the response, logging server errors (never their secrets to the client).
pub fn finish(result: Reply) -> Response<Body> {
    match result {
        Ok(r) => r,
        Err(e) => problem_response(&e),
    }
}

/// A page of a listing as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ListResponse<T: Serialize> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}
