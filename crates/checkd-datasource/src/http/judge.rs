//! One service's judgement, the same for the base service ([`super::evaluate`]) and each
//! `foreach` item ([`super::foreach`]): the JSON assertions and metrics of a document
//! ([`judge`]) and the partials folded into a [`ServiceResult`] ([`service`]).
//!
//! It deliberately knows neither what the base service adds (status, body and header
//! assertions, response time) nor how items are found and named.

use checkd_model::plan::{Job, JsonAssertion, MetricSource, MetricSpec};
use checkd_model::{combine, format_number, Metric, Partial, ServiceResult, State};

use super::json::{self, Document};
use super::HttpResponse;

/// The JSON assertions, then the metrics, of one service whose JSON paths start at
/// `document`. Returns the index of the first metric partial.
pub(super) fn judge(
    assertions: &[JsonAssertion],
    metrics: &[MetricSpec],
    document: &Document<'_>,
    root: &str,
    response: &HttpResponse,
    partials: &mut Vec<Partial>,
) -> usize {
    for assertion in assertions {
        if let Some(value) = document.get(partials) {
            partials.push(json::assertion(assertion, value, root));
        }
    }
    let first_metric = partials.len();
    for spec in metrics {
        let value = match &spec.source {
            MetricSource::ResponseTime => Ok(response.elapsed.as_secs_f64()),
            MetricSource::BodySize => Ok(response.body.len() as f64),
            MetricSource::Json { path, length } => match document.get(partials) {
                Some(value) => json::number(value, path, *length, root),
                None => continue,
            },
        };
        partials.push(match value {
            Ok(value) => metric(spec, value),
            Err(problem) => Partial::new(State::Crit, problem),
        });
    }
    first_metric
}

/// One service from its partials, its summary on one line.
pub(super) fn service(
    job: &Job,
    name: String,
    partials: &[Partial],
    ok_summary: Option<&str>,
) -> ServiceResult {
    let combined = combine(partials, ok_summary);
    ServiceResult {
        service: name,
        state: combined.state,
        summary: one_line(&combined.summary),
        details: combined.details,
        metrics: combined.metrics,
        labels: job.labels.clone(),
    }
}

fn metric(spec: &MetricSpec, value: f64) -> Partial {
    let metric = Metric {
        name: spec.name.clone(),
        value,
        upper: spec.upper,
        lower: spec.lower,
        min: spec.min,
        max: spec.max,
    };
    let mut text = format!("{} {}", spec.name, format_number(value));
    if let Some(level) = metric.level_text() {
        text.push(' ');
        text.push_str(&level);
    }
    Partial::new(metric.state(), text).with_metric(metric)
}

/// Summaries are one line even when a configured summary or a value holds a line break.
fn one_line(text: &str) -> String {
    if text.contains(['\n', '\r']) {
        text.split(['\n', '\r'])
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        text.to_string()
    }
}
