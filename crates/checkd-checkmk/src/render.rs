//! Writing agent output: one `String` buffer, written to in place.

use std::fmt::Write as _;

use checkd_model::{Metric, State};

use crate::names::{metric_name_chars, push_host_name, service_name_chars};
use crate::watchpost::{write_watchpost_line, WatchpostService, WATCHPOST_HEADER};

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

/// One local-check line to render.
///
/// Whatever the fields hold, the line written is valid:
/// - `service`: `"`, `'`, `;`, `$` and control characters become `_`; empty becomes `_`.
/// - `metrics`: a metric whose value is NaN or infinite is dropped, non-finite levels, min and
///   max count as absent, odd characters in names become `_` (an empty name becomes `_`), and a
///   metric whose name (so written) repeats an earlier one on the line is dropped. No metrics
///   left: `-`.
/// - `summary`: control characters (newlines, CR, tabs) become spaces, surrounding whitespace
///   is trimmed; an empty summary is written as `-` (Checkmk rejects an empty one), and so is a
///   `-` put before a summary that starts with a literal `\n`.
/// - `details`, then `note`: each line (LF or CRLF) has control characters turned into spaces
///   and trailing whitespace trimmed; blank lines at the start and end of each are dropped;
///   lines are appended after the summary, each behind a literal two-character `\n`.
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
        write_local_check(&mut self.buf, check);
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
        if self.section != Section::Watchpost {
            self.watchpost_section();
        }
        write_watchpost_line(&mut self.buf, service);
        self.buf.push('\n');
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

    /// Appends local-check lines rendered earlier by [`render_local_check`] (each ending in
    /// `\n`), opening a local section if none is open: a scrape can reuse lines that did not
    /// change instead of rendering them again.
    pub fn push_local_lines(&mut self, lines: &str) {
        if lines.is_empty() {
            return;
        }
        if self.section != Section::Local {
            self.local_section();
        }
        self.buf.push_str(lines);
    }

    /// Appends watchpost lines rendered earlier by [`crate::watchpost_line`] (each followed by
    /// `\n`), opening a watchpost section if none is open.
    pub fn push_watchpost_lines(&mut self, lines: &str) {
        if lines.is_empty() {
            return;
        }
        if self.section != Section::Watchpost {
            self.watchpost_section();
        }
        self.buf.push_str(lines);
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
    let mut buf = String::with_capacity(64 + check.summary.len() + check.details.len());
    write_local_check(&mut buf, check);
    buf
}

fn write_local_check(buf: &mut String, check: &LocalCheck<'_>) {
    if let Some(cached) = check.cached.filter(|c| c.produced_s >= 0) {
        // Writing into a String cannot fail.
        let _ = write!(
            buf,
            "cached({},{}) ",
            cached.produced_s,
            cached.interval_s.max(1)
        );
    }
    buf.push(char::from(b'0' + check.state.code()));
    buf.push_str(" \"");
    buf.extend(service_name_chars(check.service));
    buf.push_str("\" ");
    write_metrics(buf, check.metrics);
    buf.push(' ');
    write_summary(buf, check.summary);
    push_detail_lines(buf, check.details, "\\n");
    if let Some(note) = check.note {
        push_detail_lines(buf, note, "\\n");
    }
    buf.push('\n');
}

/// Whitespace and control characters: what is trimmed, since Checkmk strips each line and
/// control characters are written as spaces.
pub(crate) fn is_blank(c: char) -> bool {
    c.is_whitespace() || c.is_control()
}

pub(crate) fn push_one_line(buf: &mut String, text: &str) {
    buf.extend(text.chars().map(|c| if c.is_control() { ' ' } else { c }));
}

fn write_summary(buf: &mut String, summary: &str) {
    let summary = summary.trim_matches(is_blank);
    // Checkmk takes everything before the first literal `\n` as the summary and rejects an
    // empty one, which would turn the service into a crash report.
    if summary.is_empty() || summary.starts_with("\\n") {
        buf.push('-');
    }
    push_one_line(buf, summary);
}

/// Appends each line of `text` behind `separator` (a literal `\n` in a local-check line, a
/// real newline in watchpost's details): control characters become spaces, trailing
/// whitespace is trimmed, blank lines at the start and end are dropped.
pub(crate) fn push_detail_lines(buf: &mut String, text: &str, separator: &str) {
    let mut started = false;
    let mut blank_lines = 0usize;
    for line in text.split('\n') {
        let line = line.trim_end_matches(is_blank);
        if line.is_empty() {
            // Blank lines only count between two written lines.
            blank_lines += usize::from(started);
            continue;
        }
        for _ in 0..blank_lines {
            buf.push_str(separator);
        }
        blank_lines = 0;
        buf.push_str(separator);
        push_one_line(buf, line);
        started = true;
    }
}

fn write_metrics(buf: &mut String, metrics: &[Metric]) {
    let mut wrote = false;
    for (index, metric) in metrics.iter().enumerate() {
        if !metric.value.is_finite() || repeats_earlier_name(&metrics[..index], &metric.name) {
            continue;
        }
        if wrote {
            buf.push('|');
        }
        write_metric(buf, metric);
        wrote = true;
    }
    if !wrote {
        buf.push('-');
    }
}

/// Whether an earlier metric that is written has the same name as written.
pub(crate) fn repeats_earlier_name(earlier: &[Metric], name: &str) -> bool {
    earlier
        .iter()
        .any(|m| m.value.is_finite() && metric_name_chars(&m.name).eq(metric_name_chars(name)))
}

fn write_metric(buf: &mut String, metric: &Metric) {
    let finite = |v: Option<f64>| v.filter(|v| v.is_finite());
    let (upper_warn, upper_crit) = (finite(metric.upper.warn), finite(metric.upper.crit));
    let (lower_warn, lower_crit) = (finite(metric.lower.warn), finite(metric.lower.crit));
    let (min, max) = (finite(metric.min), finite(metric.max));

    buf.extend(metric_name_chars(&metric.name));
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
