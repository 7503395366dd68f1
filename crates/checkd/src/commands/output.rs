//! `checkd output`: print the current results, asked from the running daemon or, when none
//! answers, read from the persistent cache layers.
//!
//! It runs no check; its exit code follows the datasource-program contract (0 whenever it
//! printed usable output).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use checkd_clock::Clock;
use checkd_model::plan::Plan;
use checkd_scheduler::Board;

use crate::cli::OutputFormat;
use crate::view::{Filter, View};

/// `checkd output`: prints the current results without running checks.
///
/// sled lets only one process open a database, so while the daemon runs this asks its HTTP
/// endpoint; only when no daemon answers does it read the persistent layers itself. It exits 0
/// whenever it printed usable output (a Checkmk datasource program discards everything on
/// non-zero) and 1 when neither the daemon nor the store could be read.
pub async fn run(config: &Path, format: OutputFormat) -> ExitCode {
    let plan = match super::load(config) {
        Ok(plan) => plan,
        Err(diagnostics) => {
            super::report(&diagnostics);
            return ExitCode::from(1);
        }
    };
    let from_daemon = match plan.server.listen {
        Some(listen) => {
            let path = match format {
                OutputFormat::Checkmk => "/",
                OutputFormat::Json => "/api/v1/results",
            };
            let token = plan
                .server
                .bearer_token
                .as_ref()
                .map(checkd_model::Secret::expose);
            fetch(&format!("http://{listen}{path}"), token)
                .await
                .map_err(|e| format!("no daemon answered at {listen}: {e}"))
        }
        None => Err("the HTTP endpoint is disabled".to_string()),
    };
    let text = match from_daemon {
        Ok(text) => text,
        Err(why) => match from_store(&plan, format).await {
            Ok(text) => text,
            Err(error) => {
                eprintln!("checkd output: {why}, and the store cannot be read: {error:#}");
                return ExitCode::from(1);
            }
        },
    };
    if std::io::stdout().lock().write_all(text.as_bytes()).is_err() {
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

async fn fetch(url: &str, token: Option<&str>) -> Result<String, reqwest::Error> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let mut request = client.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await?.error_for_status()?.text().await
}

/// Renders what the persistent layers hold, as the daemon would serve it now.
async fn from_store(plan: &Arc<Plan>, format: OutputFormat) -> anyhow::Result<String> {
    let opened = super::open_store(plan, true).await?;
    let board = Arc::new(Board::new());
    board.load(opened.store.as_ref(), plan).await;
    let clock = Clock::system();
    let view = View::new(Arc::clone(plan));
    let records = board.snapshot();
    Ok(match format {
        OutputFormat::Checkmk => view.agent_output(&board, &opened.status(0), clock.now_ms()),
        OutputFormat::Json => {
            serde_json::to_string_pretty(&view.results(
                &records,
                clock.now_ms(),
                &Filter::default(),
            ))? + "\n"
        }
    })
}
