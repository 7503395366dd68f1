//! Expressions in the evaluation: `let` values, conditions, metrics, summary and details
//! templates, `foreach` over what an expression yields, and what a failing expression does.

use std::collections::BTreeMap;
use std::sync::Arc;

use checkd_datasource::evaluate;
use checkd_expr::{Expr, Names};
use checkd_model::plan::{
    ByState, Condition, Evaluation, Expect, Foreach, ForeachItems, MetricSource, MetricSpec,
    Rollup, Texts,
};
use checkd_model::{Levels, Metric, ServiceResult, State};

use crate::support::*;

/// Names as the config gives them: the response's, then these `let` names.
fn names(lets: &[&str]) -> Names {
    lets.iter()
        .fold(Names::response(), |names, n| names.with(n))
}

fn expr(source: &str, lets: &[&str]) -> Expr {
    Expr::compile(source, &names(lets).with("item").with("index")).unwrap()
}

fn condition(source: &str, state: State, message: Option<&str>) -> Condition {
    Condition {
        expr: Expr::condition(source, &names(&["unhealthy", "total"]).with("item")).unwrap(),
        state,
        message: message.map(template_with_lets),
    }
}

fn template_with_lets(source: &str) -> checkd_model::plan::Template {
    let names = names(&["unhealthy", "total"]).with("item").with("index");
    checkd_model::plan::Template::compile(source, &names).unwrap()
}

fn cel_metric(name: &str, source: &str, levels: Levels) -> MetricSpec {
    MetricSpec {
        name: name.to_string(),
        source: MetricSource::Cel(expr(source, &["unhealthy", "total"])),
        upper: levels,
        lower: Levels::NONE,
        min: None,
        max: None,
    }
}

fn lets() -> Vec<(String, Expr)> {
    vec![
        (
            "unhealthy".to_string(),
            expr(
                r#"body.workers.filter(w, w.status != "healthy").size()"#,
                &[],
            ),
        ),
        (
            "total".to_string(),
            expr("body.workers.size()", &["unhealthy"]),
        ),
    ]
}

const WORKERS: &str = r#"{"workers": [
    {"name": "a", "status": "healthy"}, {"name": "b", "status": "down"},
    {"name": "c", "status": "healthy"}, {"name": "d", "status": "down"}
]}"#;

fn run(evaluation: Evaluation, body: &str) -> Vec<ServiceResult> {
    let job = job(evaluation);
    evaluate(&job, &job.evaluation, &response(200, body), now())
}

#[test]
fn lets_feed_metrics_with_levels_and_the_summary_template() {
    let evaluation = Evaluation {
        lets: lets(),
        metrics: vec![cel_metric("unhealthy", "unhealthy", levels(1.0, 3.0))],
        texts: Texts {
            summary: ByState {
                ok: Some(template_with_lets("all {total} workers healthy")),
                problem: Some(template_with_lets(
                    "{unhealthy} of {total} workers unhealthy",
                )),
            },
            ..Texts::default()
        },
        ..Evaluation::default()
    };
    let got = run(evaluation.clone(), WORKERS);
    assert_eq!(got[0].state, State::Warn);
    assert_eq!(got[0].summary, "2 of 4 workers unhealthy");
    assert_eq!(
        got[0].metrics,
        [Metric {
            upper: levels(1.0, 3.0),
            ..Metric::new("unhealthy", 2.0)
        }]
    );
    let healthy = r#"{"workers": [{"name": "a", "status": "healthy"}]}"#;
    let got = run(evaluation, healthy);
    assert_eq!(
        (got[0].state, got[0].summary.as_str()),
        (State::Ok, "all 1 workers healthy")
    );
}

#[test]
fn conditions_give_their_state_and_message() {
    let evaluation = Evaluation {
        lets: lets(),
        expect: Expect {
            conditions: vec![
                condition("status == 200", State::Crit, None),
                condition(
                    "unhealthy == 0",
                    State::Warn,
                    Some("{unhealthy} of {total} down"),
                ),
                condition(
                    r#"body.workers.exists(w, w.name == "zz")"#,
                    State::Crit,
                    None,
                ),
            ],
            ..Expect::default()
        },
        ..Evaluation::default()
    };
    let got = run(evaluation, WORKERS);
    assert_eq!(got[0].state, State::Crit);
    assert_eq!(
        got[0].details,
        "[OK] HTTP 200\n[OK] \"status == 200\" is true\n[WARN] 2 of 4 down\n\
         [CRIT] \"body.workers.exists(w, w.name == \"zz\")\" is false"
    );
}

#[test]
fn a_failing_expression_is_crit_with_the_expression_and_the_reason_never_ok() {
    let evaluation = Evaluation {
        metrics: vec![cel_metric(
            "failed_pct",
            "double(body.jobs.failed) * 100.0 / double(body.jobs.total)",
            Levels::NONE,
        )],
        expect: Expect {
            conditions: vec![condition("body.ready", State::Warn, None)],
            ..Expect::default()
        },
        ..Evaluation::default()
    };
    let got = run(evaluation, r#"{"jobs": {"failed": 3}}"#);
    assert_eq!(got[0].state, State::Crit);
    assert_eq!(
        got[0].details,
        "[OK] HTTP 200\n\
         [CRIT] expression \"body.ready\" failed: no such key: ready\n\
         [CRIT] expression \"double(body.jobs.failed) * 100.0 / double(body.jobs.total)\" failed: no such key: total"
    );
}

#[test]
fn a_failed_let_is_reported_once_and_what_uses_it_is_skipped() {
    // `total` fails on its own too; the metric and the condition that use them are left out,
    // as the failed lets say what went wrong.
    let evaluation = Evaluation {
        lets: lets(),
        metrics: vec![cel_metric("unhealthy", "unhealthy", Levels::NONE)],
        expect: Expect {
            conditions: vec![
                condition("total > 0", State::Crit, None),
                condition("status == 200", State::Crit, None),
            ],
            ..Expect::default()
        },
        ..Evaluation::default()
    };
    let got = run(evaluation, r#"{"nodes": []}"#);
    assert_eq!(got[0].state, State::Crit);
    assert_eq!(
        got[0].details,
        "[OK] HTTP 200\n\
         [CRIT] expression \"body.workers.filter(w, w.status != \"healthy\").size()\" failed: no such key: workers\n\
         [CRIT] expression \"body.workers.size()\" failed: no such key: workers\n\
         [OK] \"status == 200\" is true"
    );
}

#[test]
fn a_runaway_expression_is_stopped_and_unknown() {
    let big: Vec<u32> = (0..2000).collect();
    let body = serde_json::json!({ "xs": big }).to_string();
    let evaluation = Evaluation {
        expect: Expect {
            conditions: vec![condition(
                "body.xs.all(a, body.xs.all(b, a + b >= 0))",
                State::Crit,
                None,
            )],
            ..Expect::default()
        },
        ..Evaluation::default()
    };
    let got = run(evaluation, &body);
    assert_eq!(got[0].state, State::Unknown, "{:?}", got[0]);
    assert!(
        got[0].summary.contains("steps (the run's budget)"),
        "{}",
        got[0].summary
    );
}

#[test]
fn foreach_over_the_entries_of_a_map_with_a_rollup() {
    let body = r#"{"status": "DOWN", "components": {
        "db": {"status": "UP"}, "disk": {"status": "DOWN"}, "ping": {"status": "UP"}}}"#;
    let names = Names::response().with("item").with("index");
    let spec = |rollup| Foreach {
        items: ForeachItems::Cel(Expr::compile("body.components", &Names::response()).unwrap()),
        suffix: template(" {item.key}"),
        expect: Expect {
            conditions: vec![Condition {
                expr: Expr::condition(r#"item.value.status == "UP""#, &names).unwrap(),
                state: State::Crit,
                message: Some(template("{item.key} is {item.value.status}")),
            }],
            ..Expect::default()
        },
        metrics: Vec::new(),
        texts: Texts::default(),
        rollup,
    };
    let evaluation = |rollup| Evaluation {
        foreach: Some(spec(rollup)),
        ..Evaluation::default()
    };
    let got = run(evaluation(Rollup::Count), body);
    let summary: Vec<(&str, State, &str)> = got
        .iter()
        .map(|s| (s.service.as_str(), s.state, s.summary.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (SERVICE, State::Ok, "HTTP 200 in 81 ms, 1 of 3 CRIT"),
            ("Orders API db", State::Ok, "db is UP"),
            ("Orders API disk", State::Crit, "disk is DOWN"),
            ("Orders API ping", State::Ok, "ping is UP"),
        ]
    );
    let got = run(evaluation(Rollup::Worst), body);
    assert_eq!(
        (got[0].state, got[0].summary.as_str()),
        (State::Crit, "1 of 3 CRIT")
    );
}

#[test]
fn nested_lists_flatten_into_one_service_each() {
    let body = r#"{"clusters": [
        {"name": "a", "nodes": [{"name": "a1", "ok": true}, {"name": "a2", "ok": false}]},
        {"name": "b", "nodes": [{"name": "b1", "ok": true}]}]}"#;
    let names = Names::response().with("item").with("index");
    let evaluation = Evaluation {
        foreach: Some(Foreach {
            items: ForeachItems::Cel(
                Expr::compile("flatten(body.clusters.map(c, c.nodes))", &Names::response())
                    .unwrap(),
            ),
            suffix: template(" node {item.name}"),
            expect: Expect {
                conditions: vec![Condition {
                    expr: Expr::condition("item.ok", &names).unwrap(),
                    state: State::Crit,
                    message: None,
                }],
                ..Expect::default()
            },
            metrics: Vec::new(),
            texts: Texts::default(),
            rollup: Rollup::Count,
        }),
        ..Evaluation::default()
    };
    let got = run(evaluation, body);
    let states: Vec<(&str, State)> = got.iter().map(|s| (s.service.as_str(), s.state)).collect();
    assert_eq!(
        states,
        [
            (SERVICE, State::Ok),
            ("Orders API node a1", State::Ok),
            ("Orders API node a2", State::Crit),
            ("Orders API node b1", State::Ok),
        ]
    );
}

#[test]
fn now_elapsed_environment_and_a_text_body() {
    let evaluation = Evaluation {
        metrics: vec![
            cel_metric("age", "now - timestamp(body.last)", Levels::NONE),
            cel_metric("ms", "seconds(elapsed) * 1000.0", Levels::NONE),
        ],
        texts: Texts {
            summary: ByState {
                ok: Some(template("{env.name} in {env.vars.region}")),
                problem: None,
            },
            ..Texts::default()
        },
        ..Evaluation::default()
    };
    let mut job = job(evaluation);
    job.variables = Arc::new(BTreeMap::from([("region".to_string(), "eu".to_string())]));
    let got = evaluate(
        &job,
        &job.evaluation,
        &response(200, r#"{"last": "2026-12-06T02:30:00Z"}"#),
        now(),
    );
    assert_eq!(got[0].summary, "prod in eu");
    let values: Vec<f64> = got[0].metrics.iter().map(|m| m.value).collect();
    assert_eq!(values, [1800.0, 81.0]);

    // A body that is not JSON is text to expressions, and nothing complains it is not JSON.
    let evaluation = Evaluation {
        expect: Expect {
            conditions: vec![Condition {
                expr: Expr::condition(
                    r#"body.startsWith("OK") && text.contains("ready")"#,
                    &Names::response(),
                )
                .unwrap(),
                state: State::Crit,
                message: None,
            }],
            ..Expect::default()
        },
        ..Evaluation::default()
    };
    let got = run(evaluation, "OK, ready");
    assert_eq!(got[0].state, State::Ok, "{:?}", got[0]);
}

#[test]
fn a_template_that_fails_is_crit_and_the_default_texts_stay() {
    let evaluation = Evaluation {
        texts: Texts {
            summary: ByState {
                ok: Some(template("{body.missing} things")),
                problem: None,
            },
            ..Texts::default()
        },
        ..Evaluation::default()
    };
    let got = run(evaluation, "{}");
    assert_eq!(got[0].state, State::Crit);
    assert_eq!(
        got[0].summary,
        "expression \"{body.missing} things\" failed: no such key: missing"
    );
}

#[test]
fn a_check_that_never_looks_into_the_body_does_not_parse_it() {
    let evaluation = Evaluation {
        expect: Expect {
            conditions: vec![Condition {
                expr: Expr::condition("status == 200", &Names::response()).unwrap(),
                state: State::Crit,
                message: None,
            }],
            ..Expect::default()
        },
        ..Evaluation::default()
    };
    assert!(!evaluation.needs_json());
    let got = run(evaluation, "{not json");
    assert_eq!(got[0].state, State::Ok, "{:?}", got[0]);
}
