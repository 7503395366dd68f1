//! The HTTP endpoint: `GET /` agent output, `GET /healthcheck`, `GET /api/v1/results`.

use std::sync::{Arc, Mutex, PoisonError, RwLock};

use axum::body::Bytes;
use futures::future::{BoxFuture, FutureExt, Shared};

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use checkd_clock::Clock;
use checkd_datasource::Datasources;
use checkd_scheduler::{Board, Fleet, Stats};

use crate::commands::OpenedStore;
use crate::selfmon::{FleetStatus, Reloaded, SelfStatus};
use crate::view::{Filter, View};

/// Requests handled at once; more wait their turn.
const MAX_CONCURRENT_REQUESTS: usize = 32;
/// Bound of one request.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A scheduler that has not turned for this long is considered stuck.
const STUCK_AFTER_MS: i64 = 10_000;

/// A value that a reload replaces while readers keep the one they took.
#[derive(Debug)]
pub struct Swap<T>(Arc<RwLock<Arc<T>>>);

impl<T> Clone for Swap<T> {
    fn clone(&self) -> Self {
        Swap(Arc::clone(&self.0))
    }
}

impl<T> Swap<T> {
    pub fn new(value: T) -> Swap<T> {
        Swap(Arc::new(RwLock::new(Arc::new(value))))
    }

    pub fn load(&self) -> Arc<T> {
        Arc::clone(&self.0.read().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn store(&self, value: T) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(value);
    }
}

/// What the handlers read.
#[derive(Debug, Clone)]
pub struct AppState {
    pub view: Swap<View>,
    pub board: Arc<Board>,
    pub stats: Arc<Stats>,
    pub clock: Clock,
    pub store: OpenedStore,
    /// For their counters (shared responses, OAuth2 token requests), which outlive reloads.
    pub datasources: Datasources,
    /// This instance's part in a fleet, if it is in one.
    pub fleet: Option<Arc<Fleet>>,
    /// The outcome of the last reload, for checkd's own service.
    pub reload: Swap<Option<Reloaded>>,
    /// The scrape being rendered, shared by the requests that arrive meanwhile.
    pub scrape: Scrape,
}

impl AppState {
    /// checkd's own state now.
    pub fn self_status(&self) -> SelfStatus {
        let mut status = self.store.status(self.stats.snapshot().lag_ms);
        status.last_reload = Option::clone(&self.reload.load());
        status.fleet = self.fleet.as_ref().map(|fleet| {
            let (runs, followed, local) = fleet.counts();
            FleetStatus {
                instance: fleet.instance().to_string(),
                live: fleet.live(),
                runs,
                followed,
                local,
                shared_ok: fleet.shared_ok(),
            }
        });
        status
    }
}

pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", get(agent_output))
        .route("/healthcheck", get(healthcheck))
        .route("/api/v1/results", get(results))
        .route("/api/v1/status", get(status))
        .route("/api/v1/fleet", get(fleet))
        .route("/metrics", get(metrics))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_token,
        ))
        // A scrape renders everything in one buffer: a few at a time is plenty, and a client
        // that stalls cannot hold a connection's worth of work forever.
        .layer(tower::limit::ConcurrencyLimitLayer::new(
            MAX_CONCURRENT_REQUESTS,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        .with_state(state)
}

async fn agent_output(State(state): State<AppState>) -> Response {
    match state.scrape.output(&state).await {
        Ok(body) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response(),
        // Checkmk reads an empty 200 as an agent without services; a 500 is an error it shows.
        Err(RenderFailed) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "rendering the agent output failed; see checkd's log\n",
        )
            .into_response(),
    }
}

/// A rendering that panicked (logged with its reason where it happened).
#[derive(Debug, Clone, Copy)]
struct RenderFailed;

type Rendering = Shared<BoxFuture<'static, Result<Bytes, RenderFailed>>>;

/// Renders the agent output from the state (a function, so a test can make it panic).
type Render = fn(&AppState) -> String;

fn render_agent_output(state: &AppState) -> String {
    let status = state.self_status();
    state
        .view
        .load()
        .agent_output(&state.board, &status, state.clock.now_ms())
}

/// Scrapes that arrive while another one renders wait for it and get the same text: a burst
/// of clients costs one rendering, and the text is at most one rendering old.
#[derive(Debug, Clone)]
pub struct Scrape {
    rendering: Arc<Mutex<Option<Rendering>>>,
    /// Renderings done, for tests and curiosity.
    renders: Arc<std::sync::atomic::AtomicU64>,
    render: Render,
}

impl Default for Scrape {
    fn default() -> Scrape {
        Scrape {
            rendering: Arc::default(),
            renders: Arc::default(),
            render: render_agent_output,
        }
    }
}

impl Scrape {
    async fn output(&self, state: &AppState) -> Result<Bytes, RenderFailed> {
        let rendering = {
            let mut slot = self
                .rendering
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match slot.as_ref() {
                Some(rendering) => rendering.clone(),
                None => {
                    let (state, render) = (state.clone(), self.render);
                    self.renders
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    // Rendering is CPU work: keep it off the async workers.
                    let rendering = async move {
                        match tokio::task::spawn_blocking(move || render(&state)).await {
                            Ok(text) => Ok(Bytes::from(text)),
                            Err(error) => {
                                tracing::error!(
                                    "rendering the agent output failed: {}",
                                    failure_reason(error)
                                );
                                Err(RenderFailed)
                            }
                        }
                    }
                    .boxed()
                    .shared();
                    *slot = Some(rendering.clone());
                    rendering
                }
            }
        };
        let body = rendering.clone().await;
        let mut slot = self
            .rendering
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if slot
            .as_ref()
            .is_some_and(|current| current.ptr_eq(&rendering))
        {
            *slot = None;
        }
        body
    }
}

/// Why a blocking task failed: the panic's message where it has one.
fn failure_reason(error: tokio::task::JoinError) -> String {
    if !error.is_panic() {
        return error.to_string();
    }
    let payload = error.into_panic();
    if let Some(message) = payload.downcast_ref::<&str>() {
        format!("panicked: {message}")
    } else if let Some(message) = payload.downcast_ref::<String>() {
        format!("panicked: {message}")
    } else {
        "panicked".to_string()
    }
}

/// With `server.bearer_token`, every route but `/healthcheck` wants that token.
async fn require_token(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let view = state.view.load();
    let Some(token) = view.plan().server.bearer_token.as_ref() else {
        return next.run(request).await;
    };
    if request.uri().path() == "/healthcheck" {
        return next.run(request).await;
    }
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if given == Some(token.expose()) {
        next.run(request).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
        )
            .into_response()
    }
}

async fn healthcheck(State(state): State<AppState>) -> StatusCode {
    let heartbeat = state.stats.snapshot().heartbeat_ms;
    if heartbeat > 0 && state.clock.now_ms().saturating_sub(heartbeat) < STUCK_AFTER_MS {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

async fn results(State(state): State<AppState>, Query(filter): Query<Filter>) -> Response {
    let records = state.board.snapshot();
    Json(
        state
            .view
            .load()
            .results(&records, state.clock.now_ms(), &filter),
    )
    .into_response()
}

/// Prometheus text: checks by state, runs, durations, timeouts, lag, cache layers.
async fn metrics(State(state): State<AppState>) -> Response {
    use crate::metrics::{render, Histogram, MetricsInput, StateCounts, CONTENT_TYPE};
    let records = state.board.snapshot();
    let [ok, warn, crit, unknown] = state
        .view
        .load()
        .state_counts(&records, state.clock.now_ms());
    let scheduler = state.stats.snapshot();
    let input = MetricsInput {
        checks: StateCounts {
            ok,
            warn,
            crit,
            unknown,
        },
        runs_total: scheduler.runs,
        run_timeouts_total: scheduler.timeouts,
        datasource_unavailable_total: scheduler.unavailable,
        scheduler_lag_seconds: scheduler.lag_ms as f64 / 1000.0,
        run_duration_seconds: Histogram {
            buckets: checkd_scheduler::RUN_DURATION_BUCKETS_S
                .iter()
                .copied()
                .zip(scheduler.duration_buckets)
                .collect(),
            sum: scheduler.duration_sum_s,
            count: scheduler.runs,
        },
        layers: state.store.store.stats(),
        token_fetches_total: state.datasources.stats().token_fetches,
    };
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], render(&input)).into_response()
}

/// The live instances of the fleet and their run counts; 404 outside a fleet.
async fn fleet(State(state): State<AppState>) -> Response {
    match &state.fleet {
        Some(fleet) => Json(fleet.view(&state.clock).await).into_response(),
        None => (StatusCode::NOT_FOUND, "not in a fleet (scheduler.fleet)\n").into_response(),
    }
}

/// The scheduler's counters and every cache layer's statistics.
async fn status(State(state): State<AppState>) -> Response {
    let scheduler = state.stats.snapshot();
    Json(serde_json::json!({
        "scheduler": {
            "runs": scheduler.runs,
            "timeouts": scheduler.timeouts,
            "unavailable": scheduler.unavailable,
            "lag_ms": scheduler.lag_ms,
            "heartbeat_ms": scheduler.heartbeat_ms,
        },
        "cache": {
            "layers": state.store.store.stats(),
            "left_out": state.store.left_out,
        },
        "datasources": state.datasources.stats(),
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::body::Body;
    use axum::http::Request;
    use checkd_store::MemoryStore;
    use tower::ServiceExt;

    use super::*;

    fn state(stats: Arc<Stats>, clock: Clock) -> AppState {
        let plan = checkd_model::testing::plan(vec![]);
        AppState {
            view: Swap::new(View::new(Arc::new(plan))),
            board: Arc::new(Board::new()),
            stats,
            clock,
            reload: Swap::new(None),
            scrape: Scrape::default(),
            datasources: Datasources::build(&Default::default()).unwrap(),
            fleet: None,
            store: OpenedStore {
                store: Arc::new(MemoryStore::new()),
                left_out: vec![],
            },
        }
    }

    async fn status_of(state: AppState, uri: &str) -> StatusCode {
        let request = Request::builder().uri(uri).body(Body::empty()).unwrap();
        app(state).oneshot(request).await.unwrap().status()
    }

    #[tokio::test(start_paused = true)]
    async fn healthcheck_is_204_while_the_scheduler_turns_and_503_when_it_stops() {
        let clock = Clock::starting_at(1_000_000);
        let stats = Arc::new(Stats::default());
        assert_eq!(
            status_of(state(Arc::clone(&stats), clock), "/healthcheck").await,
            StatusCode::SERVICE_UNAVAILABLE,
            "never turned"
        );
        stats.beat(clock.now_ms());
        assert_eq!(
            status_of(state(Arc::clone(&stats), clock), "/healthcheck").await,
            StatusCode::NO_CONTENT
        );
        tokio::time::advance(Duration::from_secs(11)).await;
        assert_eq!(
            status_of(state(Arc::clone(&stats), clock), "/healthcheck").await,
            StatusCode::SERVICE_UNAVAILABLE,
            "stuck"
        );
    }

    #[tokio::test]
    async fn a_configured_bearer_token_guards_everything_but_the_healthcheck() {
        let state = state(Arc::new(Stats::default()), Clock::system());
        let mut plan = checkd_model::testing::plan(vec![]);
        plan.server.bearer_token = Some(checkd_model::Secret::new("t0ken"));
        state.view.store(View::new(Arc::new(plan)));
        let get = |uri: &str, auth: Option<&str>| {
            let mut request = Request::builder().uri(uri);
            if let Some(auth) = auth {
                request = request.header(header::AUTHORIZATION, auth);
            }
            app(state.clone()).oneshot(request.body(Body::empty()).unwrap())
        };
        assert_eq!(
            get("/", None).await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            get("/", Some("Bearer nope")).await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            get("/api/v1/results", Some("t0ken"))
                .await
                .unwrap()
                .status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            get("/", Some("Bearer t0ken")).await.unwrap().status(),
            StatusCode::OK
        );
        assert_eq!(
            get("/api/v1/results", Some("Bearer t0ken"))
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );
        // Never turned, so 503 — but not 401: systemd and load balancers need no token.
        assert_eq!(
            get("/healthcheck", None).await.unwrap().status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_scrapes_share_one_rendering() {
        let jobs = (0..5000)
            .map(|i| checkd_model::testing::job(&format!("c{i}"), "prod"))
            .collect();
        let state = state(Arc::new(Stats::default()), Clock::system());
        state
            .view
            .store(View::new(Arc::new(checkd_model::testing::plan(jobs))));
        let requests = (0..16).map(|_| {
            let request = Request::builder().uri("/").body(Body::empty()).unwrap();
            app(state.clone()).oneshot(request)
        });
        let responses = futures::future::join_all(requests).await;
        let mut bodies = Vec::new();
        for response in responses {
            let response = response.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            bodies.push(
                axum::body::to_bytes(response.into_body(), usize::MAX)
                    .await
                    .unwrap(),
            );
        }
        assert!(bodies
            .iter()
            .all(|b| b == &bodies[0] && b.starts_with(b"<<<check_mk>>>")));
        let renders = state
            .scrape
            .renders
            .load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            renders < 16,
            "16 concurrent scrapes rendered {renders} times"
        );
    }

    /// Log lines written while the returned guard lives on this thread.
    fn capture_log() -> (Arc<Mutex<Vec<u8>>>, tracing::subscriber::DefaultGuard) {
        #[derive(Clone)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = Sink(Arc::clone(&log));
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .finish();
        (log, tracing::subscriber::set_default(subscriber))
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_rendering_that_panics_answers_500_and_logs_why() {
        let (log, _guard) = capture_log();
        let mut state = state(Arc::new(Stats::default()), Clock::system());
        state.scrape.render = |_| panic!("the view broke");
        let request = || Request::builder().uri("/").body(Body::empty()).unwrap();
        let response = app(state.clone()).oneshot(request()).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(
            body,
            "rendering the agent output failed; see checkd's log\n"
        );
        let log = String::from_utf8(log.lock().unwrap().clone()).unwrap();
        assert!(
            log.contains("rendering the agent output failed: panicked: the view broke"),
            "{log}"
        );
        // The failure is not kept: the next scrape renders again, and can succeed.
        state.scrape.render = render_agent_output;
        let response = app(state).oneshot(request()).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn unknown_paths_are_404_and_the_agent_output_is_plain_text() {
        let state = state(Arc::new(Stats::default()), Clock::system());
        assert_eq!(
            status_of(state.clone(), "/nope").await,
            StatusCode::NOT_FOUND
        );
        let request = Request::builder().uri("/").body(Body::empty()).unwrap();
        let response = app(state).oneshot(request).await.unwrap();
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
    }
}
