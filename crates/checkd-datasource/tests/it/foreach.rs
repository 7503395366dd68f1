//! `foreach`: item services, their names, and what goes wrong with the array.

use checkd_model::plan::{
    Evaluation, Expect, Foreach, ForeachItems, JsonTest, MetricSpec, Rollup, Texts,
};
use checkd_model::{Metric, ServiceResult, State};
use serde_json::json as value;

use crate::support::*;

fn foreach(path_text: &str, suffix: &str) -> Foreach {
    Foreach {
        items: ForeachItems::Path(path(path_text)),
        suffix: template(suffix),
        expect: Expect::default(),
        metrics: Vec::new(),
        texts: ok_summary("present"),
        rollup: Rollup::Count,
    }
}

fn over(spec: Foreach) -> Evaluation {
    Evaluation {
        foreach: Some(spec),
        ..Evaluation::default()
    }
}

/// The base service, OK, rolling up its items.
fn base_ok(rollup: &str) -> ServiceResult {
    svc(
        SERVICE,
        State::Ok,
        &format!("HTTP 200 in 81 ms, {rollup}"),
        &format!("[OK] HTTP 200\n[OK] {rollup}"),
    )
}

fn present(name: &str) -> ServiceResult {
    svc(name, State::Ok, "present", "")
}

/// The names of the services `suffix` gives the items of `array`.
fn names(array: serde_json::Value, suffix: &str) -> Vec<String> {
    let job = job(over(foreach("items", suffix)));
    let body = value!({ "items": array }).to_string();
    let services = checkd_datasource::evaluate(&job, &job.evaluation, &response(200, &body), now());
    services.into_iter().map(|s| s.service).collect()
}

const QUEUES: &str = r#"{"queues": [
    {"name": "orders", "depth": 3, "state": "ok", "meta": {"region": "eu"}},
    {"name": "billing", "depth": 1830, "state": "degraded", "meta": {"region": "us"}}
]}"#;

#[test]
fn items_are_judged_relative_to_themselves_after_the_base_service() {
    let spec = Foreach {
        expect: Expect {
            json: vec![json("state", JsonTest::Equals(value!("ok")), State::Warn)],
            ..Expect::default()
        },
        metrics: vec![MetricSpec {
            upper: levels(500.0, 1000.0),
            ..json_metric("depth", "depth")
        }],
        texts: Texts::default(),
        ..foreach("queues", " {item.name}")
    };
    let depth = |value: f64| Metric {
        upper: levels(500.0, 1000.0),
        ..Metric::new("depth", value)
    };
    check(
        over(spec),
        response(200, QUEUES),
        &[
            base_ok("1 of 2 CRIT"),
            with_metrics(
                svc(
                    "Orders API orders",
                    State::Ok,
                    r#"state is "ok", depth 3"#,
                    "[OK] state is \"ok\"\n[OK] depth 3",
                ),
                vec![depth(3.0)],
            ),
            with_metrics(
                svc(
                    "Orders API billing",
                    State::Crit,
                    r#"depth 1830 (crit at 1000), state is "degraded", expected "ok""#,
                    "[WARN] state is \"degraded\", expected \"ok\"\n[CRIT] depth 1830 (crit at 1000)",
                ),
                vec![depth(1830.0)],
            ),
        ],
    );
}

#[test]
fn the_item_ok_summary_is_used_when_the_item_is_ok() {
    let spec = Foreach {
        expect: Expect {
            json: vec![json("depth", JsonTest::Exists(true), State::Warn)],
            ..Expect::default()
        },
        texts: ok_summary("queue is there"),
        ..foreach("queues", " {index}")
    };
    check(
        over(spec),
        response(200, QUEUES),
        &[
            base_ok("2 items OK"),
            svc(
                "Orders API 0",
                State::Ok,
                "queue is there",
                "[OK] depth exists",
            ),
            svc(
                "Orders API 1",
                State::Ok,
                "queue is there",
                "[OK] depth exists",
            ),
        ],
    );
}

#[test]
fn suffixes_take_fields_scalars_and_indexes() {
    let queues = value!([{"name": "orders", "meta": {"region": "eu"}}, {"name": "billing", "meta": {"region": "us"}}]);
    assert_eq!(
        names(queues.clone(), " {item.name}"),
        ["Orders API", "Orders API orders", "Orders API billing"]
    );
    assert_eq!(
        names(queues, " {item.meta.region}/{index}"),
        ["Orders API", "Orders API eu/0", "Orders API us/1"]
    );
    assert_eq!(
        names(value!(["web1", 2.5, true]), " {item}"),
        [
            "Orders API",
            "Orders API web1",
            "Orders API 2.5",
            "Orders API true"
        ]
    );
    assert_eq!(
        names(value!(["a\nb"]), " {item}"),
        ["Orders API", "Orders API a b"]
    );
    assert_eq!(
        names(value!([{"a": 1}]), " {item.a + 1}-{{x}}"),
        ["Orders API", "Orders API 2-{x}"]
    );
}

#[test]
fn duplicate_names_get_the_index_of_the_later_item() {
    let items = value!([{"name": "a"}, {"name": "a"}, {"name": "b"}, {"name": "a"}]);
    assert_eq!(
        names(items, " {item.name}"),
        [
            "Orders API",
            "Orders API a",
            "Orders API a #1",
            "Orders API b",
            "Orders API a #3"
        ]
    );
    // An empty suffix must not shadow the base service.
    assert_eq!(
        names(value!([1, 2]), ""),
        ["Orders API", "Orders API #0", "Orders API #1"]
    );
}

#[test]
fn a_suffix_that_fails_falls_back_to_the_index_and_is_crit() {
    let body = r#"{"items": [{"name": "a"}, {"id": 7}, {"name": {"x": 1}}]}"#;
    let text =
        r#"expression "{item.name}" failed: no such key: name (needed for the service name)"#;
    check(
        over(foreach("items", " {item.name}")),
        response(200, body),
        &[
            base_ok("1 of 3 CRIT"),
            present("Orders API a"),
            svc("Orders API 1", State::Crit, text, &format!("[CRIT] {text}")),
            // A value that is no scalar reads as JSON.
            present(r#"Orders API {"x": 1}"#),
        ],
    );
}

#[test]
fn a_missing_or_wrong_array_is_crit_on_the_base_service_without_items() {
    let cases = [
        ("queues", r#"{"x": 1}"#, "no value at queues"),
        (
            "queues",
            r#"{"queues": {"a": 1}}"#,
            "queues is an object, expected an array",
        ),
        (
            "",
            r#"{"queues": []}"#,
            "response is an object, expected an array",
        ),
        (
            "queues",
            "not json",
            "response is not JSON: expected ident at line 1 column 2",
        ),
    ];
    for (at, body, text) in cases {
        check(
            over(foreach(at, " {index}")),
            response(200, body),
            &[svc(
                SERVICE,
                State::Crit,
                text,
                &format!("[OK] HTTP 200\n[CRIT] {text}"),
            )],
        );
    }
}

#[test]
fn a_top_level_array_and_an_empty_one_work() {
    check(
        over(foreach("", " {item}")),
        response(200, r#"["x", "y"]"#),
        &[
            base_ok("2 items OK"),
            present("Orders API x"),
            present("Orders API y"),
        ],
    );
    check(
        over(foreach("queues", " {item}")),
        response(200, r#"{"queues": []}"#),
        &[svc(
            SERVICE,
            State::Ok,
            "HTTP 200 in 81 ms",
            "[OK] HTTP 200",
        )],
    );
}
