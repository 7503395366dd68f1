//! A plugin's stdout and exit code as one service, following the Nagios plugin API:
//!
//! ```text
//! SUMMARY | PERFDATA
//! LONG TEXT LINE 1
//! LONG TEXT LINE 2 | PERFDATA
//! PERFDATA
//! ```
//!
//! The first line is the summary, with perfdata after its first `|`. The following lines are
//! details until one holds a `|`: the text after it and every line below it are perfdata.

use std::collections::BTreeMap;

use checkd_model::{ServiceResult, State};

use super::perfdata;

/// Turns a plugin's exit code and stdout into a service. Pure.
///
/// The state comes from the exit code alone (0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN), never from
/// the perfdata levels. Any other code, or none (killed by a signal), is UNKNOWN with a
/// summary saying so; the plugin's own summary then leads the details. Perfdata is parsed
/// in every case.
pub fn parse_plugin_output(exit_code: Option<i32>, stdout: &[u8], service: &str) -> ServiceResult {
    let text = String::from_utf8_lossy(stdout);
    let parsed = split(&text);
    let (state, summary, details) = match exit_code {
        Some(code @ 0..=3) => {
            let summary = if parsed.summary.is_empty() {
                "no output on stdout".to_string()
            } else {
                parsed.summary
            };
            (State::from_code(i64::from(code)), summary, parsed.details)
        }
        other => {
            let summary = match other {
                Some(code) => exit_text(code),
                None => "killed by a signal".to_string(),
            };
            let details = [parsed.summary, parsed.details]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("\n");
            (State::Unknown, summary, details)
        }
    };
    ServiceResult {
        service: service.to_string(),
        state,
        summary,
        details,
        metrics: perfdata::parse(&parsed.perfdata),
        labels: BTreeMap::new(),
    }
}

/// `exited with 127: command not found?` and the like, for exit codes outside 0–3.
pub(crate) fn exit_text(code: i32) -> String {
    let hint = match code {
        126 => ": not executable?",
        127 => ": command not found?",
        _ => "",
    };
    format!("exited with {code}{hint}")
}

#[derive(Debug, Default, PartialEq)]
struct Split {
    summary: String,
    details: String,
    perfdata: String,
}

fn split(text: &str) -> Split {
    let mut lines = text.lines().map(|l| l.trim_end());
    let first = lines.next().unwrap_or_default();
    let (summary, first_perf) = first.split_once('|').unwrap_or((first, ""));
    let mut perfdata = vec![first_perf];
    let mut details = Vec::new();
    let mut in_perfdata = false;
    for line in lines {
        if in_perfdata {
            perfdata.push(line);
        } else if let Some((text, perf)) = line.split_once('|') {
            details.push(text.trim_end());
            perfdata.push(perf);
            in_perfdata = true;
        } else {
            details.push(line);
        }
    }
    // Blank lines at the end of the long output say nothing.
    while details.last().is_some_and(|l| l.is_empty()) {
        details.pop();
    }
    Split {
        summary: summary.trim().to_string(),
        details: details.join("\n"),
        perfdata: perfdata.join(" "),
    }
}

#[cfg(test)]
mod tests {
    use checkd_model::Metric;

    use super::*;

    fn check(code: Option<i32>, stdout: &str, want: (State, &str, &str, &[(&str, f64)])) {
        let got = parse_plugin_output(code, stdout.as_bytes(), "svc");
        let metrics: Vec<(&str, f64)> = got
            .metrics
            .iter()
            .map(|m: &Metric| (m.name.as_str(), m.value))
            .collect();
        assert_eq!(
            (
                got.state,
                got.summary.as_str(),
                got.details.as_str(),
                &metrics[..]
            ),
            want,
            "{stdout:?}"
        );
        assert_eq!(got.service, "svc");
    }

    #[test]
    fn exit_code_is_the_state() {
        check(Some(0), "OK - fine\n", (State::Ok, "OK - fine", "", &[]));
        check(
            Some(1),
            "WARNING - meh",
            (State::Warn, "WARNING - meh", "", &[]),
        );
        check(
            Some(2),
            "CRITICAL - bad|a=1",
            (State::Crit, "CRITICAL - bad", "", &[("a", 1.0)]),
        );
        check(
            Some(3),
            "UNKNOWN - ?",
            (State::Unknown, "UNKNOWN - ?", "", &[]),
        );
        // Levels never change the state.
        check(
            Some(0),
            "OK | a=100;1;2",
            (State::Ok, "OK", "", &[("a", 100.0)]),
        );
        check(Some(0), "", (State::Ok, "no output on stdout", "", &[]));
    }

    #[test]
    fn other_exit_codes_are_unknown() {
        check(
            Some(127),
            "sh: 1: nope: not found\n",
            (
                State::Unknown,
                "exited with 127: command not found?",
                "sh: 1: nope: not found",
                &[],
            ),
        );
        check(
            Some(4),
            "OK all good | a=1\nmore",
            (
                State::Unknown,
                "exited with 4",
                "OK all good\nmore",
                &[("a", 1.0)],
            ),
        );
        check(None, "", (State::Unknown, "killed by a signal", "", &[]));
    }

    #[test]
    fn long_output_and_perfdata_lines() {
        check(
            Some(1),
            "DISK WARNING - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968\n\
             / 15272 MB (77%);\n\
             /boot 68 MB (69%);\n\
             /home 69357 MB (27%);\n\
             /var/log 819 MB (84%); | /boot=68MB;88;93;0;98\n\
             /home=69357MB;253404;253409;0;253414\n\
             /var/log=818MB;970;975;0;980\n",
            (
                State::Warn,
                "DISK WARNING - free space: / 3326 MB (56%);",
                "/ 15272 MB (77%);\n/boot 68 MB (69%);\n/home 69357 MB (27%);\n/var/log 819 MB (84%);",
                &[
                    ("_", 2643e6),
                    ("_boot", 68e6),
                    ("_home", 69357e6),
                    ("_var_log", 818e6),
                ],
            ),
        );
        check(
            Some(0),
            "OK\r\nline 1\r\n\r\nline 3\r\n\r\n",
            (State::Ok, "OK", "line 1\n\nline 3", &[]),
        );
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let got = parse_plugin_output(Some(0), b"OK \xff\xfe done", "svc");
        assert_eq!(got.summary, "OK \u{fffd}\u{fffd} done");
    }
}
