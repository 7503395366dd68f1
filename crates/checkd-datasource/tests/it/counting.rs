//! Servers on 127.0.0.1 that count what reaches them, for the sharing tests.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, Method};
use axum::routing::any;
use axum::{Json, Router};
use serde_json::{json, Value};

pub struct Counting {
    pub addr: SocketAddr,
    hits: Arc<AtomicU64>,
}

impl Counting {
    /// `/count?delay_ms=N` on this server.
    pub fn url(&self, delay_ms: u64) -> String {
        format!("http://{}/count?delay_ms={delay_ms}", self.addr)
    }

    /// Requests that reached the server so far (counted on arrival, so cancelled ones too).
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::SeqCst)
    }
}

/// `/count` answers any method after `delay_ms`, with the request's number, method and body,
/// and sets a cookie that must not end up in a store.
pub async fn start() -> Counting {
    let hits = Arc::new(AtomicU64::new(0));
    let app = Router::new()
        .route("/count", any(count))
        .with_state(Arc::clone(&hits));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Counting { addr, hits }
}

async fn count(
    State(hits): State<Arc<AtomicU64>>,
    Query(query): Query<HashMap<String, String>>,
    method: Method,
    body: String,
) -> ([(header::HeaderName, &'static str); 1], Json<Value>) {
    let n = hits.fetch_add(1, Ordering::SeqCst) + 1;
    let delay = query
        .get("delay_ms")
        .and_then(|d| d.parse().ok())
        .unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(delay)).await;
    (
        [(header::SET_COOKIE, "session=cookie-secret")],
        Json(json!({"n": n, "method": method.as_str(), "body": body})),
    )
}

/// A TCP server that accepts connections, counts them, and closes each after `hold` without
/// answering: every request to it is unavailable.
pub async fn hang_up(hold: Duration) -> (SocketAddr, Arc<AtomicU64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                tokio::time::sleep(hold).await;
                drop(socket);
            });
        }
    });
    (addr, accepted)
}

/// A loopback port nothing listens on.
pub fn refused_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
