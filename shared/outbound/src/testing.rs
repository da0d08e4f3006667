//! The server under every fake of an outside service (payment gateways, SMS providers, Telegram,
//! an ISP's endpoint): axum on 127.0.0.1 with the book the fake keeps, stopped when dropped.

use axum::Router;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::task::JoinHandle;

pub struct FakeServer<B> {
    addr: SocketAddr,
    book: Arc<Mutex<B>>,
    task: JoinHandle<()>,
}

impl<B: Send + 'static> FakeServer<B> {
    /// Serves `routes` over `book` on a free port of 127.0.0.1; `bound` sees the book and the base
    /// URL before the first request (a fake that hands out links to itself keeps it).
    pub async fn start(book: B, routes: Router<Arc<Mutex<B>>>, bound: impl FnOnce(&mut B, String)) -> FakeServer<B> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a fake");
        let addr = listener.local_addr().expect("local address");
        let mut book = book;
        bound(&mut book, format!("http://{addr}"));
        let book = Arc::new(Mutex::new(book));
        let app = routes.with_state(book.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeServer { addr, book, task }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn book(&self) -> MutexGuard<'_, B> {
        self.book.lock().expect("fake lock")
    }
}

impl<B> Drop for FakeServer<B> {
    fn drop(&mut self) {
        self.task.abort();
    }
}
