//! One service's judgement, the same for the base service ([`super::evaluate`]) and each
//! `foreach` item ([`super::foreach`]): its JSON assertions, conditions and metrics in a scope
//! ([`judge`]), and the partials folded into a [`ServiceResult`] with its summary and details
//! templates ([`service`]).
//!
//! It deliberately knows neither what the base service adds (status, body and header
//! assertions, response time) nor how items are found and named.

use checkd_expr::{EvalError, Expr, Scope, Template};
use checkd_model::plan::{Condition, Expect, Job, MetricSource, MetricSpec, Texts};
use checkd_model::{combine, format_number, Metric, Partial, ServiceResult, State};

use super::json::{self, Document};
use super::HttpResponse;

/// The names a run could not bind (a `let` that failed): expressions that use one are skipped,
/// as the failed `let` already says what went wrong.
#[derive(Debug, Default)]
pub(super) struct Unbound(Vec<String>);

impl Unbound {
    pub(super) fn add(&mut self, name: &str) {
        self.0.push(name.to_string());
    }

    pub(super) fn blocks(&self, expr: &Expr) -> bool {
        self.0.iter().any(|name| expr.uses(name))
    }

    fn blocks_template(&self, template: &Template) -> bool {
        self.0.iter().any(|name| template.uses(name))
    }
}

/// Where one service is judged: its JSON document, the scope its expressions run in, the names
/// a failed `let` left unbound, and how messages name the document (`response`, `item`).
pub(super) struct Place<'a, 's> {
    pub document: &'a Document<'a, 's>,
    pub scope: &'a Scope<'s>,
    pub unbound: &'a Unbound,
    pub root: &'a str,
}

/// The JSON assertions, conditions and metrics of one service. Returns the index of the first
/// metric partial.
pub(super) fn judge(
    expect: &Expect,
    metrics: &[MetricSpec],
    place: &Place<'_, '_>,
    response: &HttpResponse,
    partials: &mut Vec<Partial>,
) -> usize {
    let Place {
        document,
        scope,
        unbound,
        root,
    } = *place;
    for assertion in &expect.json {
        if let Some(found) = document.lookup(&assertion.path, partials) {
            partials.push(json::assertion(assertion, found.as_ref(), root));
        }
    }
    for condition in &expect.conditions {
        if !unbound.blocks(&condition.expr) {
            partials.push(self::condition(condition, scope, unbound));
        }
    }
    let first_metric = partials.len();
    for spec in metrics {
        let value = match &spec.source {
            MetricSource::ResponseTime => Ok(response.elapsed.as_secs_f64()),
            MetricSource::BodySize => Ok(response.body.len() as f64),
            MetricSource::Json { path, length } => match document.lookup(path, partials) {
                Some(found) => json::number(found.as_ref(), path, *length, root),
                None => continue,
            },
            MetricSource::Cel(expr) if unbound.blocks(expr) => continue,
            MetricSource::Cel(expr) => match scope.eval_number(expr) {
                Ok(value) => Ok(value),
                Err(error) => {
                    partials.push(failed(expr.source(), &error));
                    continue;
                }
            },
        };
        partials.push(match value {
            Ok(value) => metric(spec, value),
            Err(problem) => Partial::new(State::Crit, problem),
        });
    }
    first_metric
}

fn condition(condition: &Condition, scope: &Scope<'_>, unbound: &Unbound) -> Partial {
    let holds = match scope.eval_bool(&condition.expr) {
        Ok(holds) => holds,
        Err(error) => return failed(condition.expr.source(), &error),
    };
    let state = if holds { State::Ok } else { condition.state };
    let text = match &condition.message {
        Some(message) if !unbound.blocks_template(message) => match scope.render(message) {
            Ok(text) => text,
            Err(error) => return failed(message.source(), &error),
        },
        _ => format!("{} is {holds}", quoted(condition.expr.source())),
    };
    Partial::new(state, text)
}

/// The partial of an expression that failed on this response: CRIT, as a malformed response
/// is; UNKNOWN when it was stopped by the run's budget, which says nothing of the response.
pub(super) fn failed(source: &str, error: &EvalError) -> Partial {
    let state = if error.stopped {
        State::Unknown
    } else {
        State::Crit
    };
    Partial::new(
        state,
        format!("expression {} failed: {}", quoted(source), error.message),
    )
}

/// An expression's source as messages show it: quoted, on one line, cut when long.
fn quoted(source: &str) -> String {
    let one_line: String = source.split_whitespace().collect::<Vec<_>>().join(" ");
    format!("\"{}\"", json::cut(one_line, 80))
}

/// One service from its partials: the worst state, the summary and details templates for that
/// state (a template that fails is one more CRIT partial and the default texts), else
/// `default_summary` when OK, else the failing partials.
pub(super) fn service<'t>(
    job: &Job,
    name: String,
    mut partials: Vec<Partial>,
    texts: &'t Texts,
    scope: &Scope<'_>,
    unbound: &Unbound,
    default_summary: Option<&str>,
) -> ServiceResult {
    let state = partials.iter().map(|p| p.state).max().unwrap_or(State::Ok);
    let render = |template: Option<&'t Template>| match template {
        Some(template) if !unbound.blocks_template(template) => {
            Some(scope.render(template).map_err(|error| (template, error)))
        }
        _ => None,
    };
    let summary = render(texts.summary.for_state(state)).transpose();
    let details = render(texts.details.for_state(state)).transpose();
    let (summary, details) = match (summary, details) {
        (Ok(summary), Ok(details)) => (summary, details),
        (Err((template, error)), _) | (_, Err((template, error))) => {
            partials.push(failed(template.source(), &error));
            (None, None)
        }
    };
    let mut combined = combine(&partials, default_summary);
    if let Some(summary) = summary {
        combined.summary = summary;
    }
    if let Some(details) = details {
        combined.details = if combined.details.is_empty() {
            details
        } else {
            format!("{details}\n{}", combined.details)
        };
    }
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
