//! A real HTTP target on 127.0.0.1 that the checks probe: JSON, errors, slow and huge
//! responses, bodies a test sets at paths of its choosing, and a request counter.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

#[allow(missing_debug_implementations, reason = "a test fixture")]
pub struct Target {
    pub addr: SocketAddr,
    pub hits: Arc<AtomicU64>,
    /// Requests being answered now, and the most there ever were at once.
    in_flight: Arc<(AtomicU64, AtomicU64)>,
    /// What [`Target::serve`] set, by path: answered where no fixed route matches.
    served: Served,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    runtime: tokio::runtime::Runtime,
}

impl Target {
    /// Starts the target on its own runtime thread, so blocking test code can drive checkd.
    pub fn start() -> Target {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let hits = Arc::new(AtomicU64::new(0));
        let in_flight = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
        let served = Served::default();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind target");
        let addr = listener.local_addr().expect("addr");
        let app = Router::new()
            .route("/orders/health", get(|| async { json(r#"{"status":"ok","queue":{"depth":3},"workers":[{"name":"w1","busy":false},{"name":"w2","busy":true}]}"#) }))
            .route("/orders/busy", get(|| async { json(r#"{"status":"ok","queue":{"depth":700}}"#) }))
            .route("/orders/degraded", get(|| async { json(r#"{"status":"degraded","queue":{"depth":1830}}"#) }))
            .route("/notjson", get(|| async { "hello" }))
            .route("/status/{code}", get(|Path(code): Path<u16>| async move { StatusCode::from_u16(code).unwrap_or(StatusCode::IM_A_TEAPOT) }))
            .route("/slow", get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                json("{}")
            }))
            .route("/huge", get(|| async { "x".repeat(8 * 1024 * 1024) }))
            .route("/delay/{ms}", get(|Path(ms): Path<u64>| async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                json(r#"{"status":"ok"}"#)
            }))
            .fallback({
                let served = Arc::clone(&served);
                move |uri: Uri| async move { answer(&served, uri.path()) }
            })
            .layer(axum::middleware::from_fn_with_state(
                (Arc::clone(&hits), Arc::clone(&in_flight)),
                count,
            ))
            .with_state(());
        runtime.spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Target {
            addr,
            hits,
            in_flight,
            served,
            shutdown: Some(tx),
            runtime,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// From now on answers `GET path` with `status` and `body` as JSON, until it is set again.
    pub fn serve(&self, path: &str, status: u16, body: &str) {
        let status = StatusCode::from_u16(status).expect("a status code");
        self.served
            .lock()
            .unwrap()
            .insert(path.to_string(), (status, body.to_string()));
    }

    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::SeqCst)
    }

    /// Requests being answered right now.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.0.load(Ordering::SeqCst)
    }

    /// The most requests that were ever answered at once.
    pub fn max_in_flight(&self) -> u64 {
        self.in_flight.1.load(Ordering::SeqCst)
    }

    /// Stops listening: later requests are refused.
    pub fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.runtime.shutdown_timeout(Duration::from_secs(1));
    }
}

fn json(body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], body)
}

/// Bodies by path, each with its status.
type Served = Arc<Mutex<HashMap<String, (StatusCode, String)>>>;

/// What was served at `path`, else 404.
fn answer(served: &Served, path: &str) -> axum::response::Response {
    match served.lock().unwrap().get(path) {
        Some((status, body)) => (
            *status,
            [(header::CONTENT_TYPE, "application/json")],
            body.clone(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

type Counters = (Arc<AtomicU64>, Arc<(AtomicU64, AtomicU64)>);

async fn count(
    State((hits, in_flight)): State<Counters>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    hits.fetch_add(1, Ordering::SeqCst);
    let now = in_flight.0.fetch_add(1, Ordering::SeqCst) + 1;
    in_flight.1.fetch_max(now, Ordering::SeqCst);
    let response = next.run(request).await;
    in_flight.0.fetch_sub(1, Ordering::SeqCst);
    response
}
