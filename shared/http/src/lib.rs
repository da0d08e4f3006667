//! HTTP glue shared by every `api-*` function: a parsed [`Incoming`] request with the project's limits,
//! route matching, the caller ([`domain::actor::Actor`]) from the bearer token, and RFC 9457 problem
//! responses. No business rule lives here.

pub mod cors;
mod problem;
mod request;

pub use cors::{serve, with_cors};
pub use problem::{Problem, problem, problem_response};
pub use request::{Incoming, MAX_BODY_BYTES, MAX_UPLOAD_BYTES, PORTAL_PREFIX, Pagination, Params, match_path};

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

/// A CSV file to download.
pub fn csv_file(file_name: &str, text: String) -> Reply {
    text_file(file_name, "text/csv; charset=utf-8", text)
}

/// A text file to download (a RouterOS script, a CSV).
pub fn text_file(file_name: &str, content_type: &str, text: String) -> Reply {
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header("content-type", content_type)
        .header("content-disposition", format!("attachment; filename=\"{file_name}\""))
        .header("cache-control", "no-store")
        .body(Body::Text(text))
        .expect("static response parts are valid"))
}

/// A spreadsheet to download: `<stem>.csv` or `<stem>.xlsx` (binary, base64 through API Gateway).
pub fn spreadsheet_file(stem: &str, format: domain::export::Format, bytes: Vec<u8>) -> Reply {
    let body = match format {
        domain::export::Format::Csv => Body::Text(String::from_utf8_lossy(&bytes).into_owned()),
        domain::export::Format::Xlsx => Body::Binary(bytes),
    };
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header("content-type", format.content_type())
        .header("content-disposition", format!("attachment; filename=\"{stem}.{}\"", format.extension()))
        .header("cache-control", "no-store")
        .body(body)
        .expect("static response parts are valid"))
}

/// A PDF document to download (API Gateway sends binary bodies base64-encoded).
pub fn pdf_file(file_name: &str, bytes: Vec<u8>) -> Reply {
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/pdf")
        .header("content-disposition", format!("inline; filename=\"{file_name}\""))
        .header("cache-control", "no-store")
        .body(Body::Binary(bytes))
        .expect("static response parts are valid"))
}

/// `303 See Other` to `location` (a browser sent on after a form or a gateway's return).
pub fn see_other(location: &str) -> Reply {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header("location", location)
        .header("cache-control", "no-store")
        .body(Body::Empty)
        .map_err(|e| Error::Internal(format!("redirect: {e}")))
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

/// 201 with the new resource, or the stored first answer to a repeated idempotent request.
pub fn created_outcome<T: Serialize>(o: domain::idempotency::Outcome<T>) -> Reply {
    outcome(StatusCode::CREATED, o)
}

/// 202 with an accepted job, or the stored first answer to a repeated idempotent request.
pub fn accepted_outcome<T: Serialize>(o: domain::idempotency::Outcome<T>) -> Reply {
    outcome(StatusCode::ACCEPTED, o)
}

/// 200 with the changed resource, or the stored first answer to a repeated idempotent request.
pub fn ok_outcome<T: Serialize>(o: domain::idempotency::Outcome<T>) -> Reply {
    outcome(StatusCode::OK, o)
}

fn outcome<T: Serialize>(status: StatusCode, o: domain::idempotency::Outcome<T>) -> Reply {
    match o {
        domain::idempotency::Outcome::Fresh(v) => json(status, &v),
        domain::idempotency::Outcome::Replay { status, body } => {
            let mut r = raw_json(StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body);
            r.headers_mut().insert("idempotent-replayed", http::HeaderValue::from_static("true"));
            Ok(r)
        }
    }
}

/// JSON logs, as Lambda's log pipeline expects them; `RUST_LOG` sets the level.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(false)
        .without_time()
        .try_init();
}

/// Runs an API function: `state` is built once (clients, keys) and lives for the process; every
/// invocation goes to `handler`.
pub async fn run_api<S, F, Fut>(state: S, handler: F) -> Result<(), lambda_http::Error>
where
    S: Send + Sync + 'static,
    F: Fn(&'static S, lambda_http::Request) -> Fut + Send + Sync + Copy + 'static,
    Fut: std::future::Future<Output = Response<Body>> + Send,
{
    let state: &'static S = Box::leak(Box::new(state));
    lambda_http::run(lambda_http::service_fn(move |req| async move {
        Ok::<_, std::convert::Infallible>(handler(state, req).await)
    }))
    .await
}
