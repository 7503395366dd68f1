//! Folding a run's partial results (one per assertion or metric) into one service: the worst
//! state, a summary people read, every partial in the details, every metric.
//!
//! It is the only place that decides how partials become a service, for checks and for
//! checkd's own service alike; it does not evaluate anything (the datasources make the
//! partials) and knows no Checkmk syntax.

use crate::{Metric, State};

/// One partial result of a run: a single assertion or metric, with its own state.
#[derive(Clone, Debug, PartialEq)]
pub struct Partial {
    pub state: State,
    /// One line describing this partial, e.g. `queue depth 1830 (crit at 1000)`.
    pub text: String,
    pub metric: Option<Metric>,
}

impl Partial {
    pub fn new(state: State, text: impl Into<String>) -> Partial {
        Partial {
            state,
            text: text.into(),
            metric: None,
        }
    }

    pub fn with_metric(mut self, metric: Metric) -> Partial {
        self.metric = Some(metric);
        self
    }
}

/// Several partials folded into one service.
#[derive(Clone, Debug, PartialEq)]
pub struct Combined {
    pub state: State,
    pub summary: String,
    pub details: String,
    pub metrics: Vec<Metric>,
}

/// Folds partial results into one service, like watchpost's result builder:
///
/// - the state is the worst partial state (OK < WARN < UNKNOWN < CRIT);
/// - the summary is `ok_summary` (or every partial joined) when all are OK, else the texts of
///   the partials in the worst state first, then the other non-OK ones;
/// - the details list every partial with its state, in the order given;
/// - the metrics are those of every partial.
pub fn combine(partials: &[Partial], ok_summary: Option<&str>) -> Combined {
    let state = partials.iter().map(|p| p.state).max().unwrap_or(State::Ok);
    let summary = if state == State::Ok {
        match ok_summary {
            Some(text) => text.to_string(),
            None if partials.is_empty() => "no assertions".to_string(),
            None => join(partials.iter()),
        }
    } else {
        let mut failing: Vec<&Partial> = partials.iter().filter(|p| p.state != State::Ok).collect();
        // Stable sort: worst first, the configured order within one state.
        failing.sort_by_key(|p| std::cmp::Reverse(p.state));
        join(failing.into_iter())
    };
    let details = partials
        .iter()
        .map(|p| format!("[{}] {}", p.state, p.text))
        .collect::<Vec<_>>()
        .join("\n");
    // Counted first so the vector, which the result keeps, is exactly as long as needed.
    let mut metrics = Vec::with_capacity(partials.iter().filter(|p| p.metric.is_some()).count());
    metrics.extend(partials.iter().filter_map(|p| p.metric.clone()));
    Combined {
        state,
        summary,
        details,
        metrics,
    }
}

fn join<'a>(partials: impl Iterator<Item = &'a Partial>) -> String {
    partials
        .map(|p| p.text.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(partials: &[(State, &str)], ok_summary: Option<&str>, want: (State, &str, &str)) {
        let partials: Vec<Partial> = partials.iter().map(|(s, t)| Partial::new(*s, *t)).collect();
        let got = combine(&partials, ok_summary);
        assert_eq!(
            (got.state, got.summary.as_str(), got.details.as_str()),
            want
        );
    }

    #[test]
    fn all_ok_uses_the_ok_summary_and_lists_every_partial() {
        check(
            &[(State::Ok, "HTTP 200"), (State::Ok, "depth 3")],
            Some("Orders API healthy"),
            (
                State::Ok,
                "Orders API healthy",
                "[OK] HTTP 200\n[OK] depth 3",
            ),
        );
        check(
            &[(State::Ok, "HTTP 200"), (State::Ok, "depth 3")],
            None,
            (
                State::Ok,
                "HTTP 200, depth 3",
                "[OK] HTTP 200\n[OK] depth 3",
            ),
        );
    }

    #[test]
    fn failures_lead_the_summary_worst_first() {
        check(
            &[
                (State::Ok, "HTTP 200"),
                (State::Unknown, "no field x"),
                (State::Warn, "slow"),
                (State::Crit, "depth 1830"),
            ],
            Some("fine"),
            (
                State::Crit,
                "depth 1830, no field x, slow",
                "[OK] HTTP 200\n[UNKNOWN] no field x\n[WARN] slow\n[CRIT] depth 1830",
            ),
        );
    }

    #[test]
    fn nothing_to_combine_is_ok() {
        check(&[], None, (State::Ok, "no assertions", ""));
    }

    #[test]
    fn metrics_of_every_partial_are_kept() {
        let partials = vec![
            Partial::new(State::Ok, "a").with_metric(Metric::new("a", 1.0)),
            Partial::new(State::Crit, "b"),
            Partial::new(State::Warn, "c").with_metric(Metric::new("c", 2.0)),
        ];
        let names: Vec<String> = combine(&partials, None)
            .metrics
            .into_iter()
            .map(|m| m.name)
            .collect();
        assert_eq!(names, vec!["a", "c"]);
    }
}
