//! The HTTP target the checks probe: a small axum server in its own process (this binary
//! started again with `--serve-target`), so its threads and CPU are apart from the bench's.
//! It answers `GET /{env}/item/{n}` with a fixed small JSON body and counts the requests.

use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use axum::extract::State;
use axum::http::header;
use axum::routing::get;
use axum::Router;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// What every item answers: the check asserts `status` and takes `depth` as its metric.
const BODY: &str = r#"{"status":"ok","depth":3}"#;

/// Serves the target on a free loopback port until the process is killed. The first line on
/// stdout is `listening PORT`, which [`Target::start`] reads.
pub async fn serve() -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let count = Arc::new(AtomicU64::new(0));
    let app = Router::new()
        .route("/{env}/item/{n}", get(item))
        .route("/count", get(requests))
        .with_state(count);
    // The parent reads this line to learn the port; nothing else is printed.
    #[allow(clippy::print_stdout)] // the handshake with the parent process
    {
        println!("listening {port}");
    }
    axum::serve(listener, app).await?;
    Ok(())
}

async fn item(
    State(count): State<Arc<AtomicU64>>,
) -> ([(header::HeaderName, &'static str); 1], &'static str) {
    count.fetch_add(1, Ordering::Relaxed);
    ([(header::CONTENT_TYPE, "application/json")], BODY)
}

async fn requests(State(count): State<Arc<AtomicU64>>) -> String {
    count.load(Ordering::Relaxed).to_string()
}

/// The running target process; killed when dropped.
#[derive(Debug)]
pub struct Target {
    pub port: u16,
    _child: Child,
}

impl Target {
    /// Starts this executable again as the target and waits (bounded) for its port.
    pub async fn start() -> anyhow::Result<Target> {
        let exe = std::env::current_exe().context("cannot find the bench executable")?;
        let mut child = Command::new(exe)
            .arg("--serve-target")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start the target process")?;
        let stdout = child.stdout.take().context("target has no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .context("the target did not report its port within 10 s")??
            .unwrap_or_default();
        let Some(port) = line.strip_prefix("listening ").and_then(|p| p.parse().ok()) else {
            bail!("the target said {line:?} instead of its port");
        };
        Ok(Target {
            port,
            _child: child,
        })
    }

    /// The URL of one item, as wrk fetches it.
    pub fn item_url(&self) -> String {
        format!("http://127.0.0.1:{}/prod/item/0", self.port)
    }

    /// How many item requests the target has answered so far.
    pub async fn count(&self, client: &reqwest::Client) -> anyhow::Result<u64> {
        let url = format!("http://127.0.0.1:{}/count", self.port);
        let text = client
            .get(url)
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        text.trim()
            .parse()
            .with_context(|| format!("target count {text:?}"))
    }
}
