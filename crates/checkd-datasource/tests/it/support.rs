//! Builders for jobs, responses and expected services.

use std::collections::BTreeMap;
use std::time::Duration;

use checkd_datasource::{evaluate, HttpResponse};
use checkd_expr::Names;
use checkd_model::plan::{
    ByState, Comparison, Evaluation, HttpRequest, Job, JsonAssertion, JsonPath, JsonTest,
    MetricSource, MetricSpec, Probe, Schedule, Template, TextAssertion, TextTest, Texts,
};
use checkd_model::{JobKey, Levels, Metric, ServiceResult, State};

pub const SERVICE: &str = "Orders API";

pub fn labels() -> BTreeMap<String, String> {
    BTreeMap::from([("team".to_string(), "orders".to_string())])
}

pub fn job(evaluation: Evaluation) -> Job {
    request_job(
        "GET",
        "http://127.0.0.1:1/health",
        Duration::from_secs(5),
        evaluation,
    )
}

pub fn request_job(method: &str, url: &str, timeout: Duration, evaluation: Evaluation) -> Job {
    Job {
        key: JobKey::new("orders", "prod"),
        service: SERVICE.to_string(),
        host: "prod".to_string(),
        labels: labels(),
        datasource: "api".to_string(),
        schedule: Schedule::Every(Duration::from_secs(60)),
        timeout,
        stale_after: Duration::from_secs(3600),
        retry: Default::default(),
        placement: Default::default(),
        probe: Probe::Http(HttpRequest {
            method: method.to_string(),
            url: url.to_string(),
            headers: Vec::new(),
            body: None,
            oauth2: None,
        }),
        evaluation: evaluation.into(),
        variables: Default::default(),
    }
}

/// The time evaluations run at.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    "2026-12-06T03:00:00Z".parse().unwrap()
}

/// A template with the names a check's and an item's expressions may use.
pub fn template(source: &str) -> Template {
    let names = Names::response().with("item").with("index");
    Template::compile(source, &names).unwrap()
}

/// `summary: {ok: text}`.
pub fn ok_summary(text: &str) -> Texts {
    Texts {
        summary: ByState {
            ok: Some(template(text)),
            problem: None,
        },
        ..Texts::default()
    }
}

/// A response that took 81 ms.
pub fn response(status: u16, body: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("content-type".to_string(), "application/json".to_string())],
        body: body.as_bytes().to_vec(),
        elapsed: Duration::from_millis(81),
    }
}

/// An expected service with the job's labels and no metrics.
pub fn svc(name: &str, state: State, summary: &str, details: &str) -> ServiceResult {
    ServiceResult {
        service: name.to_string(),
        state,
        summary: summary.to_string(),
        details: details.to_string(),
        metrics: Vec::new(),
        labels: labels(),
    }
}

pub fn with_metrics(mut service: ServiceResult, metrics: Vec<Metric>) -> ServiceResult {
    service.metrics = metrics;
    service
}

/// Evaluates `evaluation` on `response` and compares every field of every service.
pub fn check(evaluation: Evaluation, response: HttpResponse, want: &[ServiceResult]) {
    let job = job(evaluation);
    let got = evaluate(&job, &job.evaluation, &response, now());
    assert_eq!(got, want);
}

/// Like [`check`] for a single base service: compares `(state, summary, details)`.
pub fn check_base(evaluation: Evaluation, response: HttpResponse, want: (State, &str, &str)) {
    let job = job(evaluation);
    let got = evaluate(&job, &job.evaluation, &response, now());
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(
        (
            got[0].state,
            got[0].summary.as_str(),
            got[0].details.as_str()
        ),
        want
    );
}

pub fn path(text: &str) -> JsonPath {
    JsonPath::parse(text).unwrap()
}

pub fn json(path_text: &str, test: JsonTest, state: State) -> JsonAssertion {
    JsonAssertion {
        path: path(path_text),
        length: false,
        test,
        state,
    }
}

pub fn json_length(path_text: &str, op: Comparison, operand: f64) -> JsonAssertion {
    JsonAssertion {
        path: path(path_text),
        length: true,
        test: JsonTest::Compare(op, operand),
        state: State::Crit,
    }
}

pub fn assert_text(test: TextTest, state: State) -> TextAssertion {
    TextAssertion { test, state }
}

pub fn json_metric(name: &str, path_text: &str) -> MetricSpec {
    metric(
        name,
        MetricSource::Json {
            path: path(path_text),
            length: false,
        },
    )
}

pub fn metric(name: &str, source: MetricSource) -> MetricSpec {
    MetricSpec {
        name: name.to_string(),
        source,
        upper: Levels::NONE,
        lower: Levels::NONE,
        min: None,
        max: None,
    }
}

pub fn levels(warn: f64, crit: f64) -> Levels {
    Levels {
        warn: Some(warn),
        crit: Some(crit),
    }
}
