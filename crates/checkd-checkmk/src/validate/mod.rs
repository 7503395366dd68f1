//! A strict reader for Checkmk agent output, following `checkmk-output.md`.
//!
//! It is stricter than Checkmk where Checkmk silently drops or mangles data (a line with two
//! spaces between fields, an unclosed piggyback block, a duplicate service) and where checkd's
//! own contract is narrower than what Checkmk tolerates (numbers are plain decimals, metric
//! names keep to `A-Z a-z 0-9 - _ .`, every line has a summary, no blank lines, no trailing
//! whitespace). Tests all over the project run `GET /` output and spool files through it.
//!
//! `<<<watchpost>>>` sections are decoded and checked too, line by line (see
//! [`parse_watchpost_line`]), and their services count for the duplicate check.

mod line;
mod output;
mod watchpost;

use std::collections::BTreeMap;
use std::fmt;

use checkd_model::{Levels, Metric, State};

pub use line::{parse_local_line, parse_metrics};
pub use output::validate_agent_output;
pub use watchpost::parse_watchpost_line;

/// Something wrong in the text, with its 1-based line number.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// A valid agent output (or spool file).
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    /// The own host first (`name: None`, always present, possibly empty), then each piggybacked
    /// host in the order it first appears. Blocks for the same host are merged, as Checkmk does.
    pub hosts: Vec<ParsedHost>,
}

impl Parsed {
    /// The own host (`None`) or a piggybacked host by name.
    pub fn host(&self, name: Option<&str>) -> Option<&ParsedHost> {
        self.hosts.iter().find(|h| h.name.as_deref() == name)
    }

    /// One local-check line of a host, by service name.
    pub fn service(&self, host: Option<&str>, service: &str) -> Option<&ParsedLine> {
        self.host(host)?.service(service)
    }

    /// A `Key: value` field of the own host's `<<<check_mk>>>` section, e.g. `Version`.
    pub fn agent_field(&self, key: &str) -> Option<&str> {
        let own = self.host(None)?;
        own.sections
            .iter()
            .filter(|s| s.name == "check_mk")
            .flat_map(|s| &s.lines)
            .find_map(|line| {
                let (k, v) = line.split_once(':')?;
                (k == key).then(|| v.trim_start())
            })
    }
}

/// Everything one host receives.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedHost {
    /// `None` for the own host, else the piggyback host name.
    pub name: Option<String>,
    /// The lines of its `local` sections, in order.
    pub services: Vec<ParsedLine>,
    /// The decoded lines of its `watchpost` sections, in order.
    pub watchpost: Vec<ParsedWatchpost>,
    /// Its other sections (`check_mk`, `watchpost`, …) with their raw lines.
    pub sections: Vec<ParsedSection>,
}

impl ParsedHost {
    pub fn service(&self, name: &str) -> Option<&ParsedLine> {
        self.services.iter().find(|s| s.service == name)
    }

    pub fn watchpost_service(&self, name: &str) -> Option<&ParsedWatchpost> {
        self.watchpost.iter().find(|s| s.service == name)
    }
}

/// A section other than `local`, kept as raw lines.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedSection {
    /// The section name, e.g. `check_mk`.
    pub name: String,
    /// The whole header line, e.g. `<<<check_mk>>>`.
    pub header: String,
    pub lines: Vec<String>,
}

/// The STATE field: a fixed state, or `P` (Checkmk computes it from the metric levels).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParsedState {
    Fixed(State),
    P,
}

/// One local-check line.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedLine {
    /// `cached(T,I)`: produced at Unix seconds T, valid for I seconds.
    pub cached: Option<(i64, u64)>,
    pub state: ParsedState,
    pub service: String,
    pub metrics: Vec<ParsedMetric>,
    /// The text before the first literal `\n`.
    pub summary: String,
    /// The texts between the following literal `\n`s.
    pub details: Vec<String>,
}

impl ParsedLine {
    pub fn metric(&self, name: &str) -> Option<&ParsedMetric> {
        self.metrics.iter().find(|m| m.name == name)
    }
}

/// One line of a `<<<watchpost>>>` section, decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedWatchpost {
    /// `service_name`.
    pub service: String,
    /// `service_labels`.
    pub labels: BTreeMap<String, String>,
    pub environment: String,
    /// `check_state`.
    pub state: State,
    pub summary: String,
    /// `null` is `None`; real newlines separate the lines.
    pub details: Option<String>,
    /// `levels` are the upper levels, `boundaries` min and max; lower levels are always absent.
    pub metrics: Vec<ParsedMetric>,
}

/// One entry of the METRICS field, as written (Checkmk's defaults for a missing warn or crit
/// level are not filled in).
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedMetric {
    pub name: String,
    pub value: f64,
    /// `(warn, crit)` upper levels.
    pub upper: (Option<f64>, Option<f64>),
    /// `(warn, crit)` lower levels (the part before `:`).
    pub lower: (Option<f64>, Option<f64>),
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl ParsedMetric {
    /// The same metric in the check model's terms.
    pub fn to_metric(&self) -> Metric {
        Metric {
            name: self.name.clone(),
            value: self.value,
            upper: Levels {
                warn: self.upper.0,
                crit: self.upper.1,
            },
            lower: Levels {
                warn: self.lower.0,
                crit: self.lower.1,
            },
            min: self.min,
            max: self.max,
        }
    }
}
