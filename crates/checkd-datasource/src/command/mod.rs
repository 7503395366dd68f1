//! The `command` datasource: runs a local executable the way a Nagios/Monitoring Plugins
//! core does and turns what it reports into one service. [`run`] starts the program without
//! a shell (unless [`CommandSpec::shell`] asks for `sh -c`), in a process group of its own,
//! with stdin closed and an environment of only `PATH`, `LANG=C` and [`CommandSpec::env`];
//! it reads at most [`CommandSpec::max_output_bytes`] of stdout and kills the whole group
//! at the timeout. [`parse_plugin_output`] (pure) applies the plugin protocol: the exit code
//! is the state, the first line the summary, the long output the details, and the
//! [`perfdata`] after `|` the metrics — with Nagios thresholds carried into Checkmk levels
//! only where they mean exactly the same.
//!
//! A failing command is data, never an `Err` and never "datasource unavailable": a command
//! that cannot be started, exits outside 0–3, is killed by a signal or runs past its timeout
//! is an UNKNOWN service saying so. A local program that hangs is the check's own failure
//! (the product spec: a run that exceeds its timeout is UNKNOWN "timed out after …"), not a
//! remote datasource being unreachable, so there is no last result to fall back to.
//!
//! This module does not know the config or the plan: the caller builds a [`CommandSpec`].

mod output;
pub mod perfdata;
pub mod range;
mod spawn;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Duration;

use checkd_model::{Outcome, ServiceResult, State};

pub use checkd_model::probe::CommandSpec;

pub use output::parse_plugin_output;

/// Runs the command and reports it as one service named `service` with `labels`. Always
/// [`Outcome::Evaluated`] with exactly one service; never panics.
pub async fn run(spec: &CommandSpec, service: &str, labels: &BTreeMap<String, String>) -> Outcome {
    let mut result = match spawn::run(spec).await {
        Ok(ran) => judge(spec, &ran, service),
        Err(error) => unknown(
            service,
            format!("cannot run {}: {}", spec.program.display(), io_text(&error)),
            String::new(),
        ),
    };
    result.labels = labels.clone();
    Outcome::Evaluated(vec![result])
}

fn judge(spec: &CommandSpec, ran: &spawn::Ran, service: &str) -> ServiceResult {
    let truncated = ran.stdout_total > ran.stdout.len() as u64;
    // Output cut short, by the limit or by the command being stopped, may end mid-number.
    let complete = !truncated && matches!(ran.exit, spawn::Exit::Code(_));
    let stdout = if !complete {
        complete_part(&ran.stdout)
    } else {
        &ran.stdout[..]
    };
    let mut result = match ran.exit {
        spawn::Exit::Code(code) => parse_plugin_output(Some(code), stdout, service),
        spawn::Exit::Signal(signal) => {
            let mut result = parse_plugin_output(None, stdout, service);
            result.summary = format!("killed by signal {signal}{}", signal_name(signal));
            result
        }
        spawn::Exit::TimedOut => {
            let partial = parse_plugin_output(Some(0), stdout, service);
            let mut result = unknown(
                service,
                format!("timed out after {}", duration_text(spec.timeout)),
                output_before(&partial, "output before the timeout"),
            );
            result.metrics = partial.metrics;
            result
        }
        spawn::Exit::Flooded => {
            let partial = parse_plugin_output(Some(0), stdout, service);
            unknown(
                service,
                format!(
                    "killed: kept writing output past {} bytes",
                    ran.stdout.len() as u64 + spawn::MAX_DISCARDED_BYTES
                ),
                output_before(&partial, "first output"),
            )
        }
    };
    let mut notes = Vec::new();
    if truncated {
        notes.push(format!(
            "[stdout truncated: kept {} of {} bytes]",
            ran.stdout.len(),
            ran.stdout_total
        ));
    }
    let stderr = String::from_utf8_lossy(&ran.stderr);
    if stdout.iter().all(u8::is_ascii_whitespace) && !stderr.trim().is_empty() {
        notes.push(format!("stderr: {}", stderr.trim_end()));
    }
    for note in notes {
        if !result.details.is_empty() {
            result.details.push('\n');
        }
        result.details.push_str(&note);
    }
    result
}

/// Output cut short, up to its last whitespace, so a cut-off number is never read as a
/// whole one (`time=0.12` from `time=0.1234`).
fn complete_part(stdout: &[u8]) -> &[u8] {
    let end = stdout
        .iter()
        .rposition(u8::is_ascii_whitespace)
        .unwrap_or(0);
    &stdout[..end]
}

fn output_before(partial: &ServiceResult, label: &str) -> String {
    if partial.summary == "no output on stdout" {
        return String::new();
    }
    let mut text = format!("{label}: {}", partial.summary);
    if !partial.details.is_empty() {
        text.push('\n');
        text.push_str(&partial.details);
    }
    text
}

fn unknown(service: &str, summary: String, details: String) -> ServiceResult {
    ServiceResult {
        service: service.to_string(),
        state: State::Unknown,
        summary,
        details,
        metrics: Vec::new(),
        labels: BTreeMap::new(),
    }
}

/// `No such file or directory`, without Rust's ` (os error 2)`.
fn io_text(error: &std::io::Error) -> String {
    match error.raw_os_error() {
        Some(code) => nix::errno::Errno::from_raw(code).desc().to_string(),
        None => error.to_string(),
    }
}

fn signal_name(signal: i32) -> String {
    nix::sys::signal::Signal::try_from(signal)
        .map(|s| format!(" ({})", s.as_str()))
        .unwrap_or_default()
}

/// `5s`, `1500ms`: the timeout as people configure it.
fn duration_text(duration: Duration) -> String {
    if duration.subsec_nanos() == 0 {
        format!("{}s", duration.as_secs())
    } else if duration.subsec_nanos().is_multiple_of(1_000_000) {
        format!("{}ms", duration.as_millis())
    } else {
        format!("{duration:?}")
    }
}
