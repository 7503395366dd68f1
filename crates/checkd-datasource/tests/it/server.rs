//! A real HTTP server on 127.0.0.1 for the fetch tests.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::routing::{any, get};
use axum::{Json, Router};
use futures::StreamExt;
use serde_json::{json, Value};

pub const MIB: usize = 1024 * 1024;
const CHUNK: usize = 64 * 1024;
/// `/stream` sends at most this many chunks (64 MiB), so even a broken client ends.
pub const STREAM_CHUNKS: usize = 1024;

pub struct Server {
    pub addr: SocketAddr,
    /// Bytes `/stream` has produced so far.
    pub streamed: Arc<AtomicU64>,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

pub async fn start() -> Server {
    let streamed = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&streamed);
    let app = Router::new()
        .route(
            "/health",
            get(|| async { Json(json!({"status": "ok", "queue": {"depth": 3}})) }),
        )
        .route(
            "/down",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "down") }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                "late"
            }),
        )
        .route("/big", get(|| async { vec![b'x'; 2 * MIB] }))
        .route("/stream", get(move || endless(Arc::clone(&counter))))
        .route(
            "/redirect",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/health")]) }),
        )
        .route(
            "/loop",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/loop")]) }),
        )
        .route("/echo", any(echo));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server { addr, streamed }
}

/// A chunked body that goes on as long as the client reads it, counting what it produced.
async fn endless(counter: Arc<AtomicU64>) -> Body {
    let chunks = futures::stream::repeat_with(move || {
        counter.fetch_add(CHUNK as u64, Ordering::SeqCst);
        Ok::<_, Infallible>(Bytes::from(vec![b'x'; CHUNK]))
    });
    Body::from_stream(chunks.take(STREAM_CHUNKS))
}

/// What the server received, as JSON.
async fn echo(method: Method, headers: HeaderMap, body: String) -> Json<Value> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    Json(json!({
        "method": method.as_str(),
        "body": body,
        "user_agent": header("user-agent"),
        "token": header("x-token"),
        "authorization": header("authorization"),
    }))
}
