//! An ISP's own system receiving our webhooks: it checks each delivery's Standard Webhooks
//! signature with the endpoint's secret (as the convention's libraries do), keeps what came, and
//! can answer with an error for a while.

use super::Running;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedDelivery {
    pub id: String,
    pub timestamp: i64,
    pub body: String,
    /// Whether the signature verified (with no tolerance on the timestamp: tests run on their
    /// own clock).
    pub verified: bool,
    /// What the endpoint answered.
    pub status: u16,
}

#[derive(Default)]
struct EndpointBook {
    secret: String,
    received: Vec<ReceivedDelivery>,
    /// Answer with this status instead of 204 (a failing endpoint).
    failing: Option<u16>,
}

pub struct FakeEndpoint(Running<EndpointBook>);

impl FakeEndpoint {
    pub async fn start(secret: &str) -> FakeEndpoint {
        let book = EndpointBook { secret: secret.to_string(), ..EndpointBook::default() };
        let routes = Router::new().route("/hooks", post(receive));
        FakeEndpoint(Running::start(book, routes).await)
    }

    /// The URL to register.
    pub fn url(&self) -> String {
        format!("{}/hooks", self.0.base_url())
    }

    pub fn set_secret(&self, secret: &str) {
        self.0.book().secret = secret.to_string();
    }

    pub fn received(&self) -> Vec<ReceivedDelivery> {
        self.0.book().received.clone()
    }

    /// Answer every delivery with `status` (`None`: succeed again).
    pub fn fail_with(&self, status: Option<u16>) {
        self.0.book().failing = status;
    }
}

async fn receive(State(st): State<Arc<Mutex<EndpointBook>>>, headers: HeaderMap, body: String) -> Response {
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let id = h("webhook-id");
    let timestamp = h("webhook-timestamp").parse::<i64>().unwrap_or(0);
    let mut book = st.lock().expect("fake lock");
    let verified =
        crate::webhook::verify(&book.secret, &id, timestamp, &h("webhook-signature"), body.as_bytes(), timestamp, 0)
            .is_ok();
    let status = match (verified, book.failing) {
        (false, _) => 401,
        (true, Some(s)) => s,
        (true, None) => 204,
    };
    book.received.push(ReceivedDelivery { id, timestamp, body, verified, status });
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR).into_response()
}
