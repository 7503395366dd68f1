//! Judging a response: one [`Partial`] per assertion and metric, folded with [`combine`].

use std::time::Duration;

use checkd_model::plan::{Evaluation, Job, MetricSource, MetricSpec};
use checkd_model::{Levels, Partial, ServiceResult, State};

use super::json::Document;
use super::judge::{judge, service};
use super::{foreach, text, HttpResponse};

/// Turns a response into the job's services: the base service (always, first), then one per
/// `foreach` item in array order. Pure: no IO, no clock.
pub fn evaluate(job: &Job, evaluation: &Evaluation, response: &HttpResponse) -> Vec<ServiceResult> {
    let expect = &evaluation.expect;
    // Parsed only when something looks into it, so plain-text checks never pay for it.
    let parsed = needs_json(evaluation).then(|| {
        serde_json::from_slice::<serde_json::Value>(&response.body).map_err(|e| e.to_string())
    });
    let document = Document::new(parsed.as_ref().map(|p| p.as_ref().map_err(String::as_str)));

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
    let first_metric = judge(
        &expect.json,
        &evaluation.metrics,
        &document,
        "response",
        response,
        &mut partials,
    );

    let mut items = Vec::new();
    if let Some(spec) = &evaluation.foreach {
        if let Some(root) = document.get(&mut partials) {
            items = foreach::items(job, spec, root, response, &mut partials);
        }
    }

    let default_summary = default_summary(response, &partials[first_metric..]);
    let ok_summary = evaluation.ok_summary.as_deref().unwrap_or(&default_summary);
    // Exactly as long as needed: every record on the board keeps this vector.
    let mut services = Vec::with_capacity(1 + items.len());
    services.push(service(
        job,
        job.service.clone(),
        &partials,
        Some(ok_summary),
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
    vec![service(
        job,
        job.service.clone(),
        &partials,
        evaluation.ok_summary.as_deref(),
    )]
}

fn needs_json(evaluation: &Evaluation) -> bool {
    let json_metric = |spec: &MetricSpec| matches!(spec.source, MetricSource::Json { .. });
    !evaluation.expect.json.is_empty()
        || evaluation.metrics.iter().any(json_metric)
        || evaluation.foreach.is_some()
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
