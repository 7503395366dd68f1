//! Writing agent output: one `String` buffer, written to in place.

use std::fmt::Write as _;

use checkd_model::{Metric, State};

use crate::names::push_host_name;
use crate::parts::{is_blank, push_one_line, Details, Metrics, ServiceName, Summary};
use crate::watchpost::{WatchpostLine, WatchpostLines, WatchpostService, WATCHPOST_HEADER};

const LOCAL_HEADER: &str = "<<<local:sep(0)>>>\n";
const PIGGYBACK_FOOTER: &str = "<<<<>>>>\n";

/// Optional `cached(T,I)` prefix: produced at Unix seconds T, valid for I seconds.
///
/// Checkmk only shows it ("Cache generated … ago"); it never changes the state. A negative
/// time is not written at all (Checkmk's grammar has no sign), and an interval of 0 is written
/// as 1 because Checkmk divides by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cached {
    pub produced_s: i64,
    pub interval_s: u64,
}

/// One local-check line, as any text: rendering sanitises it through a [`LocalLine`].
///
/// Whatever the fields hold, the line written is valid:
/// - `service`: as [`ServiceName`] says (`"`, `'`, `;`, `$` and control characters become `_`;
///   empty becomes `_`).
/// - `metrics`: as [`Metrics`] says (non-finite values dropped, non-finite levels absent, odd
///   name characters `_`, repeated names dropped). No metrics left: `-`.
/// - `summary`: as [`Summary`] says (one line, trimmed, `-` when empty), and a `-` is put
///   before a summary that starts with a literal `\n`.
/// - `details`, then `note`: as [`Details`] says (lines without control characters or
///   trailing whitespace, blank ends dropped); each line is appended after the summary behind a
///   literal two-character `\n`.
///
/// Backslashes are written as they are, so a literal `\n` in a summary or detail also starts a
/// new detail line in Checkmk.
#[derive(Clone, Copy, Debug)]
pub struct LocalCheck<'a> {
    pub cached: Option<Cached>,
    pub state: State,
    pub service: &'a str,
    pub metrics: &'a [Metric],
    pub summary: &'a str,
    /// May contain real newlines, may be empty.
    pub details: &'a str,
    /// Extra detail line(s) appended after `details`, e.g. why the datasource is unavailable.
    pub note: Option<&'a str>,
}

/// One local-check line made of sanitised parts: the only thing the local-check writer takes.
#[derive(Clone, Debug)]
pub struct LocalLine<'a> {
    pub cached: Option<Cached>,
    pub state: State,
    pub service: ServiceName<'a>,
    pub metrics: Metrics<'a>,
    pub summary: Summary<'a>,
    /// The details, then the note.
    pub details: Details<'a>,
}

impl<'a> LocalLine<'a> {
    /// Sanitises every field of `check`.
    pub fn new(check: &LocalCheck<'a>) -> LocalLine<'a> {
        let details = Details::new(check.details);
        LocalLine {
            cached: check.cached,
            state: check.state,
            service: ServiceName::new(check.service),
            metrics: Metrics::new(check.metrics),
            summary: Summary::new(check.summary),
            details: match check.note {
                Some(note) => details.and(note),
                None => details,
            },
        }
    }
}

/// Local-check lines rendered earlier, each ending in `\n`: what a scrape copies for a job
/// whose result did not change. Only [`LocalLines::push`] writes into it, so it holds valid
/// lines only.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocalLines(String);

impl LocalLines {
    pub fn new() -> LocalLines {
        LocalLines::default()
    }

    /// Renders `line` at the end.
    pub fn push(&mut self, line: &LocalLine<'_>) {
        write_local_line(&mut self.0, line);
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The length of the text in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// Builds a whole agent output in one `String` buffer.
///
/// It keeps the blocks well formed on its own: [`local_check`](Self::local_check) opens a
/// local section when none is open (and [`watchpost_line`](Self::watchpost_line) a watchpost
/// section), [`begin_host`](Self::begin_host) closes an open piggyback block first,
/// [`end_host`](Self::end_host) without an open block writes nothing, and
/// [`finish`](Self::finish) closes a block left open. Service names must be unique per host,
/// across local and watchpost lines; that is the caller's job (the validator reports
/// duplicates).
#[derive(Debug)]
pub struct AgentOutput {
    buf: String,
    section: Section,
    in_piggyback_block: bool,
}

/// The section the next line would belong to, as far as this builder is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Section {
    /// `<<<check_mk>>>` or nothing: a local or watchpost line needs its header first.
    Other,
    Local,
    Watchpost,
}

impl AgentOutput {
    /// Starts with `<<<check_mk>>>\nVersion: {version}\nAgentOS: checkd\n`.
    ///
    /// Control characters in `version` become spaces; an empty version is written as `unknown`.
    pub fn new(version: &str) -> AgentOutput {
        AgentOutput::with_capacity(version, 0)
    }

    /// Like [`new`](Self::new), reserving capacity for roughly `bytes` bytes.
    pub fn with_capacity(version: &str, bytes: usize) -> AgentOutput {
        let mut buf = String::with_capacity(bytes.max(64));
        buf.push_str("<<<check_mk>>>\nVersion: ");
        let version = version.trim_matches(is_blank);
        if version.is_empty() {
            buf.push_str("unknown");
        } else {
            push_one_line(&mut buf, version);
        }
        buf.push_str("\nAgentOS: checkd\n");
        AgentOutput {
            buf,
            section: Section::Other,
            in_piggyback_block: false,
        }
    }

    /// An output without the `<<<check_mk>>>` header, for a file in the agent's spool
    /// directory: the agent prints its own header.
    pub fn spool_file(bytes: usize) -> AgentOutput {
        AgentOutput {
            buf: String::with_capacity(bytes.max(64)),
            section: Section::Other,
            in_piggyback_block: false,
        }
    }

    /// Writes `<<<local:sep(0)>>>\n`.
    pub fn local_section(&mut self) {
        self.buf.push_str(LOCAL_HEADER);
        self.section = Section::Local;
    }

    /// Writes one local-check line (ends with `\n`), opening a local section if none is open.
    pub fn local_check(&mut self, check: &LocalCheck<'_>) {
        if self.section != Section::Local {
            self.local_section();
        }
        write_local_line(&mut self.buf, &LocalLine::new(check));
    }

    /// Writes `<<<watchpost>>>\n`, the section watchpost's Checkmk plugin reads.
    pub fn watchpost_section(&mut self) {
        self.buf.push_str(WATCHPOST_HEADER);
        self.buf.push('\n');
        self.section = Section::Watchpost;
    }

    /// Writes one watchpost line (base64 of the service's JSON, then `\n`), opening a
    /// watchpost section if none is open. See [`crate::watchpost`] for the format.
    pub fn watchpost_line(&mut self, service: &WatchpostService<'_>) {
        let mut line = WatchpostLines::new();
        line.push(&WatchpostLine::new(service));
        self.push_watchpost_lines(&line);
    }

    /// Writes `<<<<HOST>>>>\n<<<local:sep(0)>>>\n`, with `host` made valid by
    /// [`coerce_host_name`](crate::coerce_host_name).
    pub fn begin_host(&mut self, host: &str) {
        self.end_host();
        self.buf.push_str("<<<<");
        push_host_name(&mut self.buf, host);
        self.buf.push_str(">>>>\n");
        self.in_piggyback_block = true;
        self.local_section();
    }

    /// Writes `<<<<>>>>\n` if a piggyback block is open.
    pub fn end_host(&mut self) {
        if self.in_piggyback_block {
            self.buf.push_str(PIGGYBACK_FOOTER);
            self.in_piggyback_block = false;
            self.section = Section::Other;
        }
    }

    /// Appends local-check lines rendered earlier, opening a local section if none is open: a
    /// scrape can reuse lines that did not change instead of rendering them again.
    pub fn push_local_lines(&mut self, lines: &LocalLines) {
        if lines.is_empty() {
            return;
        }
        if self.section != Section::Local {
            self.local_section();
        }
        self.buf.push_str(lines.as_str());
    }

    /// Appends watchpost lines rendered earlier, opening a watchpost section if none is open.
    pub fn push_watchpost_lines(&mut self, lines: &WatchpostLines) {
        if lines.is_empty() {
            return;
        }
        if self.section != Section::Watchpost {
            self.watchpost_section();
        }
        self.buf.push_str(lines.as_str());
    }

    /// Appends another output built with [`AgentOutput::spool_file`], closing its open block.
    pub fn append(&mut self, other: AgentOutput) {
        self.end_host();
        self.buf.push_str(&other.finish());
        self.section = Section::Other;
    }

    /// The output so far.
    pub fn as_str(&self) -> &str {
        &self.buf
    }

    /// Closes an open piggyback block and returns the output.
    pub fn finish(mut self) -> String {
        self.end_host();
        self.buf
    }
}

/// One local-check line, ending with `\n`, on its own (e.g. for `checkd once --format checkmk`).
pub fn render_local_check(check: &LocalCheck<'_>) -> String {
    let mut lines = LocalLines(String::with_capacity(
        64 + check.summary.len() + check.details.len(),
    ));
    lines.push(&LocalLine::new(check));
    lines.0
}

fn write_local_line(buf: &mut String, line: &LocalLine<'_>) {
    if let Some(cached) = line.cached.filter(|c| c.produced_s >= 0) {
        // Writing into a String cannot fail.
        let _ = write!(
            buf,
            "cached({},{}) ",
            cached.produced_s,
            cached.interval_s.max(1)
        );
    }
    buf.push(char::from(b'0' + line.state.code()));
    buf.push_str(" \"");
    buf.push_str(line.service.as_str());
    buf.push_str("\" ");
    write_metrics(buf, line.metrics.as_slice());
    buf.push(' ');
    // Checkmk takes everything before the first literal `\n` as the summary and rejects an
    // empty one, which would turn the service into a crash report.
    if line.summary.as_str().starts_with("\\n") {
        buf.push('-');
    }
    buf.push_str(line.summary.as_str());
    for detail in line.details.lines() {
        buf.push_str("\\n");
        buf.push_str(detail);
    }
    buf.push('\n');
}

fn write_metrics(buf: &mut String, metrics: &[Metric]) {
    for (index, metric) in metrics.iter().enumerate() {
        if index > 0 {
            buf.push('|');
        }
        write_metric(buf, metric);
    }
    if metrics.is_empty() {
        buf.push('-');
    }
}

/// Writes a metric [`Metrics`] has sanitised: a valid name, finite numbers only.
fn write_metric(buf: &mut String, metric: &Metric) {
    let (upper_warn, upper_crit) = (metric.upper.warn, metric.upper.crit);
    let (lower_warn, lower_crit) = (metric.lower.warn, metric.lower.crit);
    let (min, max) = (metric.min, metric.max);

    buf.push_str(&metric.name);
    buf.push('=');
    write_number(buf, metric.value);
    let fields = [
        (lower_warn, upper_warn),
        (lower_crit, upper_crit),
        (None, min),
        (None, max),
    ];
    // Trailing empty fields are left out: `a=5`, not `a=5;;;;`.
    let used = fields
        .iter()
        .rposition(|(lower, upper)| lower.is_some() || upper.is_some());
    let Some(last) = used else { return };
    for (lower, upper) in &fields[..=last] {
        buf.push(';');
        if let Some(lower) = lower {
            write_number(buf, *lower);
            buf.push(':');
        }
        if let Some(upper) = upper {
            write_number(buf, *upper);
        }
    }
}

/// A finite number as a plain decimal: Rust's `Display` for `f64` never uses exponent notation
/// and writes the shortest text that reads back as the same value.
fn write_number(buf: &mut String, value: f64) {
    // Writing into a String cannot fail.
    let _ = write!(buf, "{value}");
}
