//! Test support. Tests run against moto in server mode, started by `make test` (or by
//! `scripts/with-moto.sh cargo test ...`), which sets `AWS_ENDPOINT_URL`. Every test gets a table of
//! its own, so tests run in parallel and never share state.

pub mod radius;
pub mod snmp;

use store::{RequestCounter, Store};

/// The local AWS endpoint; a test run without one fails with instructions rather than touching AWS.
pub fn endpoint() -> String {
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(e) if e.starts_with("http://127.0.0.1") || e.starts_with("http://localhost") => e,
        _ => panic!(
            "AWS_ENDPOINT_URL must point at the local moto server: run `make test`, or \
             `scripts/with-moto.sh cargo test -p <crate>`"
        ),
    }
}

pub const CURSOR_SECRET: &[u8] = b"test-cursor-secret";

/// A fresh table with its own request counter.
pub struct TestTable {
    pub store: Store,
    pub counter: RequestCounter,
    pub name: String,
}

impl TestTable {
    pub async fn new() -> Self {
        endpoint();
        let counter = RequestCounter::new();
        let client = Store::client_from_env(Some(counter.clone())).await;
        let name = format!("test-{}", uuid::Uuid::now_v7());
        store::schema::create_table(&client, &name).await.expect("create test table");
        counter.reset();
        Self { store: Store::new(client, name.clone(), CURSOR_SECRET), counter, name }
    }
}
