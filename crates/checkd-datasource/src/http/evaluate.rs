//! Judging a response: one [`Partial`] per assertion, condition and metric, folded into the
//! job's services. The body is parsed (when anything looks into it) and bound once, in a
//! [`Run`] every expression of the check shares.

use std::time::Duration;

use checkd_expr::{Response, Run};
use checkd_model::plan::{Evaluation, Job};
use checkd_model::{Levels, Partial, ServiceResult, State};
use chrono::{DateTime, Utc};

use super::json::Document;
use super::judge::{failed, judge, service, Place, Unbound};
use super::{foreach, text, HttpResponse};

/// Turns a response into the job's services: the base service (always, first), then one per
/// `foreach` item in order. Pure: no IO; `now` is what expressions see as the current time.
pub fn evaluate(
    job: &Job,
    evaluation: &Evaluation,
    response: &HttpResponse,
    now: DateTime<Utc>,
) -> Vec<ServiceResult> {
    let input = Response {
        status: response.status,
        headers: &response.headers,
        body: &response.body,
        elapsed: response.elapsed,
        now,
        environment: &job.key.environment,
        variables: &job.variables,
        json: evaluation.needs_json(),
    };
    let run = Run::new(&input, Run::DEFAULT_BUDGET);
    let mut scope = run.scope();
    let expect = &evaluation.expect;

    let mut partials = vec![status(response.status, &expect.status)];
    if let Some(levels) = expect.response_time {
        partials.push(response_time(response.elapsed, levels));
    }
    let body = String::from_utf8_lossy(&response.body);
    partials.extend(
        expect
            .body
            .iter()
            .map(|assertion| text::body(assertion, &body)),
    );
    partials.extend(
        expect
            .headers
            .iter()
            .map(|h| text::header(h, &response.headers)),
    );
    let mut unbound = Unbound::default();
    for (name, expr) in &evaluation.lets {
        if unbound.blocks(expr) {
            unbound.add(name);
        } else if let Err(error) = scope.bind(name, expr) {
            partials.push(failed(expr.source(), &error));
            unbound.add(name);
        }
    }
    let document = Document::new(&scope, "body", run.body_error());
    let place = Place {
        document: &document,
        scope: &scope,
        unbound: &unbound,
        root: "response",
    };
    let first_metric = judge(expect, &evaluation.metrics, &place, response, &mut partials);
    let mut default_summary = default_summary(response, &partials[first_metric..]);
    let mut items = Vec::new();
    if let Some(spec) = &evaluation.foreach {
        let mut judged = foreach::Judged {
            job,
            spec,
            scope: &scope,
            document: &document,
            unbound: &unbound,
            response,
        };
        items = judged.items(&mut partials);
        if let Some(rollup) = foreach::rollup(spec, &items) {
            default_summary.push_str(", ");
            default_summary.push_str(&rollup.text);
            partials.push(rollup);
        }
    }
    // Exactly as long as needed: every record on the board keeps this vector.
    let mut services = Vec::with_capacity(1 + items.len());
    services.push(service(
        job,
        job.service.clone(),
        partials,
        &evaluation.texts,
        &scope,
        &unbound,
        Some(&default_summary),
    ));
    services.append(&mut items);
    services
}

/// The services of a response that broke a limit before it could be judged: its status (when
/// known) and the problem, CRIT.
pub(crate) fn misbehaved(
    job: &Job,
    evaluation: &Evaluation,
    status_code: Option<u16>,
    problem: &str,
) -> Vec<ServiceResult> {
    let mut partials: Vec<Partial> = status_code
        .map(|code| status(code, &evaluation.expect.status))
        .into_iter()
        .collect();
    partials.push(Partial::new(State::Crit, problem));
    let combined = checkd_model::combine(&partials, None);
    vec![ServiceResult {
        service: job.service.clone(),
        state: combined.state,
        summary: combined.summary,
        details: combined.details,
        metrics: combined.metrics,
        labels: job.labels.clone(),
    }]
}

fn status(code: u16, expected: &[u16]) -> Partial {
    let ok = if expected.is_empty() {
        (200..300).contains(&code)
    } else {
        expected.contains(&code)
    };
    if ok {
        return Partial::new(State::Ok, format!("HTTP {code}"));
    }
    let expected = match expected {
        [] => "2xx".to_string(),
        [only] => only.to_string(),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(u16::to_string).collect();
            format!("{} or {last}", init.join(", "))
        }
    };
    Partial::new(State::Crit, format!("HTTP {code} (expected {expected})"))
}

/// The `response_time` metric in seconds; its text speaks milliseconds, levels included.
fn response_time(elapsed: Duration, levels: Levels) -> Partial {
    let text = format!("response time {} ms", elapsed.as_millis());
    crate::timing::partial("response_time", text, elapsed, levels)
}

/// `HTTP 200 in 81 ms`, then what the metrics measured.
fn default_summary(response: &HttpResponse, metric_partials: &[Partial]) -> String {
    let mut summary = format!(
        "HTTP {} in {} ms",
        response.status,
        response.elapsed.as_millis()
    );
    for partial in metric_partials.iter().filter(|p| p.metric.is_some()) {
        summary.push_str(", ");
        summary.push_str(&partial.text);
    }
    summary
}
