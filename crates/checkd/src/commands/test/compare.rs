//! The services a case expects against the ones its run produced, and the report people read:
//! one line per case, and for a failing one what differs, service by service, in the order the
//! case lists them.
//!
//! It deliberately runs nothing and reads no file: `super` finds the job and evaluates the
//! response; this is plain data in, text out, so the output is pinned by snapshots here.

use checkd_config::{ExpectedService, TestCase};
use checkd_model::{ServiceResult, State};

/// What one case's run got wrong; empty when it passed.
#[derive(Debug)]
pub struct Verdict {
    /// `services: N` against the number produced.
    count: Option<(usize, usize)>,
    /// Expected services the run produced, with what differs (only those with differences).
    differing: Vec<(String, Vec<Difference>)>,
    /// Expected services the run did not produce.
    missing: Vec<String>,
    /// What the run produced, listed when a service is missing: (state, name).
    produced: Vec<(State, String)>,
}

/// One compared part of a service that differs.
#[derive(Debug)]
enum Difference {
    State {
        expected: State,
        got: State,
    },
    Summary {
        expected: String,
        got: String,
    },
    Details {
        expected: String,
        got: String,
    },
    /// `got` is `None` when the service has no metric of that name.
    Metric {
        name: String,
        expected: f64,
        got: Option<f64>,
    },
}

/// Compares the run's `produced` services with what `case` expects; `base` is the job's
/// service name, which an expectation without `service` means.
pub fn compare(case: &TestCase, base: &str, produced: &[ServiceResult]) -> Verdict {
    let count = case
        .services
        .filter(|&expected| expected != produced.len())
        .map(|expected| (expected, produced.len()));
    let mut differing = Vec::new();
    let mut missing = Vec::new();
    for expected in &case.expect {
        let name = expected.service.as_deref().unwrap_or(base);
        match produced.iter().find(|s| s.service == name) {
            Some(service) => {
                let differences = differences(expected, service);
                if !differences.is_empty() {
                    differing.push((name.to_string(), differences));
                }
            }
            None => missing.push(name.to_string()),
        }
    }
    Verdict {
        count,
        differing,
        produced: if missing.is_empty() {
            Vec::new()
        } else {
            produced
                .iter()
                .map(|s| (s.state, s.service.clone()))
                .collect()
        },
        missing,
    }
}

fn differences(expected: &ExpectedService, got: &ServiceResult) -> Vec<Difference> {
    let mut out = Vec::new();
    if expected.state != got.state {
        out.push(Difference::State {
            expected: expected.state,
            got: got.state,
        });
    }
    if let Some(summary) = expected.summary.as_ref().filter(|s| **s != got.summary) {
        out.push(Difference::Summary {
            expected: summary.clone(),
            got: got.summary.clone(),
        });
    }
    if let Some(details) = expected.details.as_ref().filter(|d| **d != got.details) {
        out.push(Difference::Details {
            expected: details.clone(),
            got: got.details.clone(),
        });
    }
    for (name, value) in &expected.metrics {
        let found = got
            .metrics
            .iter()
            .find(|m| m.name == *name)
            .map(|m| m.value);
        if !found.is_some_and(|found| same_number(*value, found)) {
            out.push(Difference::Metric {
                name: name.clone(),
                expected: *value,
                got: found,
            });
        }
    }
    out
}

/// Equal up to float rounding: a metric computed as `0.1 + 0.2` is the `0.3` a person writes.
fn same_number(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-3)
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.count.is_none() && self.differing.is_empty() && self.missing.is_empty()
    }

    /// `file:line: name ... ok`, or `... FAIL` and what differs, indented below.
    pub fn render(&self, case: &TestCase) -> String {
        let verdict = if self.passed() { "ok" } else { "FAIL" };
        let mut out = format!(
            "{}:{}: {} ... {verdict}\n",
            case.at.file.display(),
            case.at.line,
            case.name
        );
        if let Some((expected, got)) = self.count {
            out.push_str(&format!("  services  expected {expected}, got {got}\n"));
        }
        for (service, differences) in &self.differing {
            out.push_str(&format!("  service {service:?}\n"));
            let rows: Vec<(String, Vec<String>)> = differences.iter().map(row).collect();
            let width = rows.iter().map(|(label, _)| label.chars().count()).max();
            for (label, lines) in &rows {
                let width = width.unwrap_or(0);
                for (i, line) in lines.iter().enumerate() {
                    let label = if i == 0 { label.as_str() } else { "" };
                    out.push_str(&format!("    {label:<width$}  {line}\n"));
                }
            }
        }
        for service in &self.missing {
            out.push_str(&format!("  service {service:?} missing\n"));
        }
        if !self.missing.is_empty() {
            out.push_str("  the run produced:\n");
            for (state, service) in &self.produced {
                out.push_str(&format!("    {:<7}  {service:?}\n", state.as_str()));
            }
        }
        out
    }
}

/// A difference as a label and its lines: one for short values; for text, the expected then
/// the got, one quoted line per line of text, so a multi-line details diff reads line by line.
fn row(difference: &Difference) -> (String, Vec<String>) {
    let text = |expected: &str, got: &str| {
        let mut lines = Vec::new();
        for (word, value) in [("expected", expected), ("got", got)] {
            for (i, line) in value.split('\n').enumerate() {
                let word = if i == 0 { word } else { "" };
                lines.push(format!("{word:<8} {line:?}"));
            }
        }
        lines
    };
    match difference {
        Difference::State { expected, got } => (
            "state".to_string(),
            vec![format!("expected {expected}, got {got}")],
        ),
        Difference::Summary { expected, got } => ("summary".to_string(), text(expected, got)),
        Difference::Details { expected, got } => ("details".to_string(), text(expected, got)),
        Difference::Metric {
            name,
            expected,
            got,
        } => {
            let got = got.map_or("no such metric".to_string(), |v| v.to_string());
            (
                format!("metric {name}"),
                vec![format!("expected {expected}, got {got}")],
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use checkd_config::{RecordedResponse, Spot};
    use checkd_model::Metric;
    use insta::assert_snapshot;

    use super::*;

    fn spot(line: usize) -> Spot {
        Spot {
            file: PathBuf::from("checks/workers.test.yaml"),
            line,
            column: 5,
            path: "tests[0]".to_string(),
        }
    }

    fn case(expect: Vec<ExpectedService>, services: Option<usize>) -> TestCase {
        TestCase {
            name: "two of forty workers unhealthy".to_string(),
            at: spot(2),
            check: "workers".to_string(),
            check_at: spot(3),
            environment: None,
            environment_at: spot(3),
            now_ms: 0,
            response: RecordedResponse {
                status: 200,
                headers: Vec::new(),
                body: Vec::new(),
                elapsed: std::time::Duration::from_millis(100),
            },
            expect,
            services,
        }
    }

    fn expect(service: Option<&str>, state: State) -> ExpectedService {
        ExpectedService {
            service: service.map(str::to_string),
            state,
            summary: None,
            details: None,
            metrics: Vec::new(),
        }
    }

    fn service(name: &str, state: State, summary: &str, metrics: &[(&str, f64)]) -> ServiceResult {
        ServiceResult {
            service: name.to_string(),
            state,
            summary: summary.to_string(),
            details: String::new(),
            metrics: metrics.iter().map(|(n, v)| Metric::new(*n, *v)).collect(),
            labels: Default::default(),
        }
    }

    /// The report of `case` against `produced`, with the job's service `Workers prod`.
    fn report(case: &TestCase, produced: &[ServiceResult]) -> String {
        compare(case, "Workers prod", produced).render(case)
    }

    #[test]
    fn a_matching_run_passes_on_one_line() {
        let mut expected = expect(None, State::Warn);
        expected.summary = Some("2 of 40 workers unhealthy".to_string());
        expected.metrics = vec![("unhealthy".to_string(), 2.0), ("share".to_string(), 0.3)];
        let case = case(vec![expected], Some(1));
        // 0.1 + 0.2 is not 0.3 in floats; a metric computed so still matches.
        let produced = [service(
            "Workers prod",
            State::Warn,
            "2 of 40 workers unhealthy",
            &[("unhealthy", 2.0), ("share", 0.1 + 0.2), ("other", 7.0)],
        )];
        let verdict = compare(&case, "Workers prod", &produced);
        assert!(verdict.passed());
        assert_snapshot!(verdict.render(&case), @"checks/workers.test.yaml:2: two of forty workers unhealthy ... ok");
    }

    #[test]
    fn every_difference_of_a_service_is_listed_aligned() {
        let mut expected = expect(Some("Workers prod"), State::Warn);
        expected.summary = Some("2 of 40 workers unhealthy".to_string());
        expected.details = Some("a down\nb down".to_string());
        expected.metrics = vec![("unhealthy".to_string(), 2.0), ("share".to_string(), 0.05)];
        let case = case(vec![expected], None);
        let mut produced = service(
            "Workers prod",
            State::Crit,
            "3 of 40 workers unhealthy",
            &[("unhealthy", 3.0)],
        );
        produced.details = "a down\nb down\nc down".to_string();
        assert_snapshot!(report(&case, &[produced]), @r#"
        checks/workers.test.yaml:2: two of forty workers unhealthy ... FAIL
          service "Workers prod"
            state             expected WARN, got CRIT
            summary           expected "2 of 40 workers unhealthy"
                              got      "3 of 40 workers unhealthy"
            details           expected "a down"
                                       "b down"
                              got      "a down"
                                       "b down"
                                       "c down"
            metric unhealthy  expected 2, got 3
            metric share      expected 0.05, got no such metric
        "#);
    }

    #[test]
    fn a_missing_service_lists_what_the_run_produced() {
        let case = case(
            vec![
                expect(None, State::Ok),
                expect(Some("Workers prod c"), State::Ok),
            ],
            Some(4),
        );
        let produced = [
            service("Workers prod", State::Warn, "1 unhealthy", &[]),
            service("Workers prod a", State::Ok, "healthy", &[]),
            service("Workers prod b", State::Crit, "down", &[]),
        ];
        assert_snapshot!(report(&case, &produced), @r#"
        checks/workers.test.yaml:2: two of forty workers unhealthy ... FAIL
          services  expected 4, got 3
          service "Workers prod"
            state  expected OK, got WARN
          service "Workers prod c" missing
          the run produced:
            WARN     "Workers prod"
            OK       "Workers prod a"
            CRIT     "Workers prod b"
        "#);
    }

    #[test]
    fn only_what_a_case_names_is_compared() {
        // No summary, details or metrics expected: a run that differs there still passes.
        let case = case(vec![expect(None, State::Ok)], None);
        let produced = [
            service("Workers prod", State::Ok, "anything", &[("n", 1.0)]),
            service("Workers prod a", State::Crit, "not expected", &[]),
        ];
        assert!(compare(&case, "Workers prod", &produced).passed());
        // The count alone fails a case.
        let counted = TestCase {
            services: Some(1),
            ..case
        };
        assert!(!compare(&counted, "Workers prod", &produced).passed());
    }
}
