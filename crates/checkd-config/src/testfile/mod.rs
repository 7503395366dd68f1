//! Test files (`*.test.yaml`) for `checkd test`: per case a recorded HTTP response and the
//! services a check must make of it. Read like a check file — the tree, stage 1 over [`raw`],
//! every problem a [`Diagnostic`] at `file:line:col` — then resolved here into a
//! [`TestFile`] whose cases own their response and remember where they are written.
//!
//! It deliberately does not look at the plan or run anything: which job a case names, and
//! whether the services match, is decided by the binary, which has the plan and runs the
//! datasource's `evaluate`. It only keeps the [`Spot`]s those checks report at.

mod raw;

use std::path::{Path, PathBuf};
use std::time::Duration;

use checkd_model::State;

use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::keypath::{join_index, join_key};
use crate::source::SourceFile;
use crate::suggest::closest;
use crate::values::{duration, finite, is_header_name, Cx};

/// What a case's check sees as the current time unless it says `now`.
pub const DEFAULT_NOW: &str = "2026-01-01T00:00:00Z";
/// How long a recorded response took unless it says `elapsed`.
pub const DEFAULT_ELAPSED: Duration = Duration::from_millis(100);

/// A test file, resolved: its cases in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct TestFile {
    /// The path as shown in the output and in diagnostics.
    pub path: PathBuf,
    pub cases: Vec<TestCase>,
}

/// One case: which check's job runs on which response, and what it must produce.
#[derive(Clone, Debug, PartialEq)]
pub struct TestCase {
    pub name: String,
    /// Where the case's entry starts, for `file:line` in the output.
    pub at: Spot,
    /// The check's id (its `id`, else its `name` as written).
    pub check: String,
    pub check_at: Spot,
    /// `None`: the check's first environment.
    pub environment: Option<String>,
    /// At `environment`, or at `check` when the case names none.
    pub environment_at: Spot,
    /// The current time the check sees, in Unix milliseconds.
    pub now_ms: i64,
    pub response: RecordedResponse,
    pub expect: Vec<ExpectedService>,
    /// How many services the run must produce.
    pub services: Option<usize>,
}

/// A recorded HTTP response, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedResponse {
    pub status: u16,
    /// Names lower-case, in name order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub elapsed: Duration,
}

/// A service a case expects, and what is compared of it.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpectedService {
    /// `None`: the job's base service.
    pub service: Option<String>,
    pub state: State,
    pub summary: Option<String>,
    pub details: Option<String>,
    /// In name order.
    pub metrics: Vec<(String, f64)>,
}

/// A place in a test file and the key path written there, for problems found later (an
/// unknown check id) to be reported like the loader's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spot {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    /// Key path, e.g. `tests[2].check`.
    pub path: String,
}

impl Spot {
    /// A diagnostic at this spot.
    pub fn diagnostic(&self, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: self.file.clone(),
            line: self.line,
            column: self.column,
            path: self.path.clone(),
            message: message.into(),
        }
    }
}

/// Reads the test file at `path` (shown as `shown`) and resolves it, or returns every problem.
pub(crate) fn load(shown: &Path, path: &Path) -> Result<TestFile, Diagnostics> {
    let no_env = |_: &str| None;
    let compiled = crate::evaluation::Compiled::default();
    let mut cx = Cx {
        diags: Vec::new(),
        compiled: &compiled,
        env: &no_env,
        now: chrono::DateTime::UNIX_EPOCH,
    };
    let file = crate::load::read(&mut cx, shown, path).and_then(|text| {
        let src = SourceFile::new(shown.to_path_buf(), &text);
        let raw = crate::stage1::parse::<raw::TestFile>(&src, &mut cx.diags)?;
        let dir = path.parent().unwrap_or(Path::new(""));
        Some(resolve(&mut cx, &src, &raw, dir))
    });
    match file {
        Some(file) if cx.diags.is_empty() => Ok(file),
        _ => Err(Diagnostics::finish(cx.diags)),
    }
}

fn resolve(cx: &mut Cx<'_>, src: &SourceFile, raw: &raw::TestFile, dir: &Path) -> TestFile {
    if raw.tests.is_empty() {
        cx.push(src.diag("tests", "list at least one case"));
    }
    let mut cases = Vec::new();
    for (i, unit) in raw.tests.iter().enumerate() {
        let Some(case) = unit.ok() else { continue };
        if let Some(case) = resolve_case(cx, src, &join_index("tests", i), case, dir) {
            cases.push(case);
        }
    }
    TestFile {
        path: src.display.clone(),
        cases,
    }
}

/// Where the value at `path` is written.
fn spot(src: &SourceFile, path: String) -> Spot {
    let pos = src.pos(&path);
    Spot {
        file: src.display.clone(),
        line: pos.line,
        column: pos.column,
        path,
    }
}

/// One case; `None` after a problem (reported).
fn resolve_case(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    raw: &raw::Case,
    dir: &Path,
) -> Option<TestCase> {
    let key = |k: &str| join_key(path, k);
    let problems = cx.diags.len();
    if raw.check.trim().is_empty() {
        cx.push(src.diag(&key("check"), "the check id is empty"));
    }
    let now = raw.now.as_deref().unwrap_or(DEFAULT_NOW);
    let now_ms = match chrono::DateTime::parse_from_rfc3339(now) {
        Ok(time) => Some(time.timestamp_millis()),
        Err(err) => {
            let message = format!("invalid RFC 3339 time {now:?}: {err}");
            cx.push(src.diag(&key("now"), message));
            None
        }
    };
    let response = raw
        .response
        .ok()
        .and_then(|r| response(cx, src, &key("response"), r, dir));
    let mut expect = Vec::with_capacity(raw.expect.len());
    let mut seen: Vec<(Option<&str>, usize)> = Vec::new();
    for (i, unit) in raw.expect.iter().enumerate() {
        let Some(entry) = unit.ok() else { continue };
        let entry_path = join_index(&key("expect"), i);
        let name = entry.service.as_deref();
        match seen.iter().find(|(seen, _)| *seen == name) {
            Some((_, line)) => {
                let shown = name.map_or("the job's service".to_string(), |n| {
                    format!("service {n:?}")
                });
                let message = format!("{shown} is already expected at line {line}");
                cx.push(src.diag(&entry_path, message));
            }
            None => seen.push((name, src.pos(&entry_path).line)),
        }
        expect.extend(expected(cx, src, &entry_path, entry));
    }
    if raw.expect.is_empty() && raw.services.is_none() {
        cx.push(src.diag(
            path,
            "a case needs `expect` or `services`: it would pass on anything",
        ));
    }
    let environment_at = match raw.environment {
        Some(_) => key("environment"),
        None => key("check"),
    };
    if cx.diags.len() > problems {
        return None;
    }
    Some(TestCase {
        name: raw.name.clone(),
        at: spot(src, path.to_string()),
        check: raw.check.clone(),
        check_at: spot(src, key("check")),
        environment: raw.environment.clone(),
        environment_at: spot(src, environment_at),
        now_ms: now_ms?,
        response: response?,
        expect,
        services: raw.services,
    })
}

fn response(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    raw: &raw::Response,
    dir: &Path,
) -> Option<RecordedResponse> {
    let key = |k: &str| join_key(path, k);
    let problems = cx.diags.len();
    let status = match raw.status.unwrap_or(200) {
        code @ 100..=599 => u16::try_from(code).ok(),
        code => {
            let message = format!("expected an integer 100–599, found {code}");
            cx.push(src.diag(&key("status"), message));
            None
        }
    };
    let mut headers = Vec::with_capacity(raw.headers.len());
    for (name, value) in &raw.headers {
        if !is_header_name(name) {
            let message = format!("invalid header name {name:?}");
            cx.push(src.diag_key(&join_key(&key("headers"), name), message));
        }
        headers.push((name.to_ascii_lowercase(), value.clone()));
    }
    headers.sort();
    let elapsed = match &raw.elapsed {
        Some(text) => duration(cx, src, &key("elapsed"), text),
        None => Some(DEFAULT_ELAPSED),
    };
    let body = match (&raw.body, &raw.body_file) {
        (Some(_), Some(_)) => {
            let message = "give `body` or `body_file`, not both";
            cx.push(src.diag_key(&key("body_file"), message));
            None
        }
        (Some(serde_json::Value::String(text)), None) => Some(text.clone().into_bytes()),
        (Some(value), None) => Some(value.to_string().into_bytes()),
        (None, Some(file)) => match std::fs::read(dir.join(file)) {
            Ok(bytes) => Some(bytes),
            Err(err) => {
                let why = match err.kind() {
                    std::io::ErrorKind::NotFound => "no such file".to_string(),
                    _ => crate::load::io_message(&err),
                };
                let message = format!("cannot read the body file {file:?}: {why}");
                cx.push(src.diag(&key("body_file"), message));
                None
            }
        },
        (None, None) => Some(Vec::new()),
    };
    if cx.diags.len() > problems {
        return None;
    }
    Some(RecordedResponse {
        status: status?,
        headers,
        body: body?,
        elapsed: elapsed?,
    })
}

fn expected(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    raw: &raw::ExpectedService,
) -> Option<ExpectedService> {
    let key = |k: &str| join_key(path, k);
    let state = State::ALL
        .into_iter()
        .find(|state| state.as_str() == raw.state);
    if state.is_none() {
        let names = State::ALL.map(State::as_str);
        let message = match closest(&raw.state, names) {
            Some(best) => format!("unknown state {:?}, did you mean {best:?}?", raw.state),
            None => format!(
                "unknown state {:?}, expected OK, WARN, CRIT or UNKNOWN",
                raw.state
            ),
        };
        cx.push(src.diag(&key("state"), message));
    }
    let mut metrics = Vec::with_capacity(raw.metrics.len());
    let metrics_path = key("metrics");
    for (name, value) in &raw.metrics {
        let at = join_key(&metrics_path, name);
        if let Some(value) = finite(cx, src, &at, Some(*value)) {
            metrics.push((name.clone(), value));
        }
    }
    Some(ExpectedService {
        service: raw.service.clone(),
        state: state?,
        summary: raw.summary.clone(),
        details: raw.details.clone(),
        metrics,
    })
}
