//! The base service: status, response time, body, headers, JSON assertions and metrics.

use std::time::Duration;

use checkd_model::plan::{Comparison, Evaluation, Expect, HeaderAssertion, JsonAssertion};
use checkd_model::plan::{JsonTest, MetricSource, MetricSpec, TextTest};
use checkd_model::{Levels, Metric, State};
use regex::Regex;
use serde_json::json as value;

use crate::support::*;

fn expecting(expect: Expect) -> Evaluation {
    Evaluation {
        expect,
        ..Evaluation::default()
    }
}

#[test]
fn status_is_any_2xx_by_default_else_one_of_the_listed_codes() {
    let cases: [(&[u16], u16, State, &str); 7] = [
        (&[], 200, State::Ok, "HTTP 200"),
        (&[], 204, State::Ok, "HTTP 204"),
        (&[], 503, State::Crit, "HTTP 503 (expected 2xx)"),
        (&[], 302, State::Crit, "HTTP 302 (expected 2xx)"),
        (&[200], 204, State::Crit, "HTTP 204 (expected 200)"),
        (&[301], 301, State::Ok, "HTTP 301"),
        (
            &[200, 201, 204],
            500,
            State::Crit,
            "HTTP 500 (expected 200, 201 or 204)",
        ),
    ];
    for (codes, code, state, text) in cases {
        let evaluation = expecting(Expect {
            status: codes.to_vec(),
            ..Expect::default()
        });
        let summary = if state == State::Ok {
            format!("{text} in 81 ms")
        } else {
            text.to_string()
        };
        let details = format!("[{state}] {text}");
        check_base(evaluation, response(code, ""), (state, &summary, &details));
    }
}

#[test]
fn response_time_levels_judge_and_measure_in_seconds() {
    let cases = [
        (20, State::Ok, "response time 20 ms"),
        (81, State::Warn, "response time 81 ms (warn at 50 ms)"),
        (150, State::Crit, "response time 150 ms (crit at 100 ms)"),
    ];
    for (ms, state, text) in cases {
        let evaluation = expecting(Expect {
            response_time: Some(levels(0.05, 0.1)),
            ..Expect::default()
        });
        let mut answer = response(200, "");
        answer.elapsed = Duration::from_millis(ms);
        // The response time is measured but not repeated in the default summary.
        let summary = if state == State::Ok {
            format!("HTTP 200 in {ms} ms")
        } else {
            text.into()
        };
        let metric = Metric {
            upper: levels(0.05, 0.1),
            ..Metric::new("response_time", ms as f64 / 1000.0)
        };
        let want = svc(
            SERVICE,
            state,
            &summary,
            &format!("[OK] HTTP 200\n[{state}] {text}"),
        );
        check(evaluation, answer, &[with_metrics(want, vec![metric])]);
    }
}

#[test]
fn body_assertions_pass_or_give_their_state() {
    let long = "a".repeat(100);
    let cases = [
        (
            TextTest::Equals("status: ok".into()),
            "status: ok",
            State::Ok,
            r#"body is "status: ok""#.to_string(),
        ),
        (
            TextTest::Equals("fine".into()),
            "status: ok",
            State::Warn,
            r#"body is "status: ok", expected "fine""#.into(),
        ),
        (
            TextTest::Equals("b".into()),
            &long,
            State::Warn,
            format!(r#"body is "{}…", expected "b""#, "a".repeat(60)),
        ),
        (
            TextTest::Contains("ok".into()),
            "status: ok",
            State::Ok,
            r#"body contains "ok""#.into(),
        ),
        (
            TextTest::Contains("down".into()),
            "status: ok",
            State::Warn,
            r#"body does not contain "down""#.into(),
        ),
        (
            TextTest::NotContains("error".into()),
            "status: ok",
            State::Ok,
            r#"body does not contain "error""#.into(),
        ),
        (
            TextTest::NotContains("ok".into()),
            "status: ok",
            State::Warn,
            r#"body contains "ok""#.into(),
        ),
        (
            TextTest::Matches(Regex::new("^status: (ok|fine)$").unwrap()),
            "status: ok",
            State::Ok,
            "body matches /^status: (ok|fine)$/".into(),
        ),
        (
            TextTest::Matches(Regex::new("down").unwrap()),
            "status: ok",
            State::Warn,
            "body does not match /down/".into(),
        ),
    ];
    for (test, body, state, text) in cases {
        let evaluation = expecting(Expect {
            body: vec![assert_text(test, State::Warn)],
            ..Expect::default()
        });
        let summary = if state == State::Ok {
            "HTTP 200 in 81 ms".to_string()
        } else {
            text.clone()
        };
        let details = format!("[OK] HTTP 200\n[{state}] {text}");
        check_base(evaluation, response(200, body), (state, &summary, &details));
    }
}

#[test]
fn header_assertions_name_the_header_but_never_quote_its_value() {
    let header = |name: &str, test: TextTest| HeaderAssertion {
        name: name.to_string(),
        assertion: assert_text(test, State::Warn),
    };
    let evaluation = expecting(Expect {
        headers: vec![
            header("content-type", TextTest::Contains("json".into())),
            header("x-version", TextTest::Equals("2".into())),
            header("x-request-id", TextTest::NotContains("x".into())),
            header(
                "set-cookie",
                TextTest::Matches(Regex::new("^a=1, b=2$").unwrap()),
            ),
        ],
        ..Expect::default()
    });
    let mut answer = response(200, "{}");
    for (name, value) in [
        ("x-version", "1"),
        ("set-cookie", "a=1"),
        ("set-cookie", "b=2"),
    ] {
        answer.headers.push((name.to_string(), value.to_string()));
    }
    check_base(
        evaluation,
        answer,
        (
            State::Warn,
            r#"header x-version is not "2", header x-request-id missing"#,
            "[OK] HTTP 200\n\
             [OK] header content-type contains \"json\"\n\
             [WARN] header x-version is not \"2\"\n\
             [WARN] header x-request-id missing\n\
             [OK] header set-cookie matches /^a=1, b=2$/",
        ),
    );
}

const DOC: &str = r#"{"status": "degraded", "version": 5, "items": [], "tags": {"a": 1},
    "name": "api", "gone": null, "ratio": 0.5}"#;

/// One JSON assertion on [`DOC`]: its partial must be `(state, text)`.
fn json_case(assertion: JsonAssertion, state: State, text: &str) {
    let evaluation = expecting(Expect {
        json: vec![assertion],
        ..Expect::default()
    });
    let summary = if state == State::Ok {
        "HTTP 200 in 81 ms"
    } else {
        text
    };
    let details = format!("[OK] HTTP 200\n[{state}] {text}");
    check_base(evaluation, response(200, DOC), (state, summary, &details));
}

#[test]
fn json_equals_compares_values_numbers_by_value() {
    use JsonTest::{Equals, NotEquals};
    json_case(
        json("status", Equals(value!("ok")), State::Crit),
        State::Crit,
        r#"status is "degraded", expected "ok""#,
    );
    json_case(
        json("status", Equals(value!("degraded")), State::Crit),
        State::Ok,
        r#"status is "degraded""#,
    );
    json_case(
        json("version", Equals(value!(5.0)), State::Warn),
        State::Ok,
        "version is 5",
    );
    json_case(
        json("version", Equals(value!(6)), State::Warn),
        State::Warn,
        "version is 5, expected 6",
    );
    json_case(
        json("ratio", Equals(value!(0.5)), State::Warn),
        State::Ok,
        "ratio is 0.5",
    );
    json_case(
        json("tags", Equals(value!({"a": 1.0})), State::Warn),
        State::Ok,
        r#"tags is {"a":1}"#,
    );
    json_case(
        json("gone", Equals(value!(null)), State::Warn),
        State::Ok,
        "gone is null",
    );
    json_case(
        json("status", NotEquals(value!("down")), State::Warn),
        State::Ok,
        r#"status is "degraded""#,
    );
    json_case(
        json("status", NotEquals(value!("degraded")), State::Warn),
        State::Warn,
        r#"status is "degraded", expected not "degraded""#,
    );
}

#[test]
fn json_exists_checks_presence_either_way() {
    use JsonTest::Exists;
    json_case(
        json("name", Exists(true), State::Warn),
        State::Ok,
        "name exists",
    );
    json_case(
        json("gone", Exists(true), State::Warn),
        State::Ok,
        "gone exists",
    );
    json_case(
        json("owner", Exists(true), State::Warn),
        State::Warn,
        "no value at owner",
    );
    json_case(
        json("owner", Exists(false), State::Warn),
        State::Ok,
        "no value at owner",
    );
    json_case(
        json("name", Exists(false), State::Warn),
        State::Warn,
        "name exists, expected no value",
    );
}

#[test]
fn json_compare_and_length() {
    use Comparison::{Ge, Gt, Le, Lt};
    json_case(
        json("version", JsonTest::Compare(Ge, 3.0), State::Warn),
        State::Ok,
        "version is 5",
    );
    json_case(
        json("version", JsonTest::Compare(Lt, 3.0), State::Warn),
        State::Warn,
        "version is 5, expected < 3",
    );
    json_case(
        json("ratio", JsonTest::Compare(Gt, 0.25), State::Warn),
        State::Ok,
        "ratio is 0.5",
    );
    json_case(
        json_length("items", Ge, 1.0),
        State::Crit,
        "items length 0, expected >= 1",
    );
    json_case(json_length("name", Le, 3.0), State::Ok, "name length 3");
    json_case(json_length("", Ge, 1.0), State::Ok, "response length 7");
    let tags_one = JsonAssertion {
        length: true,
        ..json("tags", JsonTest::Equals(value!(1)), State::Warn)
    };
    json_case(tags_one, State::Ok, "tags length 1");
}

#[test]
fn malformed_values_are_crit_whatever_the_assertion_state() {
    use JsonTest::{Compare, Equals};
    json_case(
        json("queue.depth", Equals(value!(1)), State::Warn),
        State::Crit,
        "no value at queue.depth",
    );
    json_case(
        json("status", Compare(Comparison::Gt, 1.0), State::Warn),
        State::Crit,
        "status is a string, expected a number",
    );
    json_case(
        json("gone", Compare(Comparison::Gt, 1.0), State::Warn),
        State::Crit,
        "gone is null, expected a number",
    );
    json_case(
        json_length("version", Comparison::Ge, 1.0),
        State::Crit,
        "version is a number, expected an array, object or string",
    );
}

#[test]
fn a_body_that_is_not_json_is_one_crit_partial_in_place_of_the_json_checks() {
    let not_json = "expected value at line 1 column 1";
    let body_size = Metric::new("body_size", 17.0);
    let evaluation = Evaluation {
        expect: Expect {
            json: vec![
                json("status", JsonTest::Equals(value!("ok")), State::Warn),
                json("name", JsonTest::Exists(true), State::Warn),
            ],
            ..Expect::default()
        },
        metrics: vec![
            json_metric("depth", "queue.depth"),
            metric("body_size", MetricSource::BodySize),
        ],
        ..Evaluation::default()
    };
    let summary = format!("response is not JSON: {not_json}");
    let details = format!("[OK] HTTP 200\n[CRIT] {summary}\n[OK] body_size 17");
    let want = with_metrics(
        svc(SERVICE, State::Crit, &summary, &details),
        vec![body_size.clone()],
    );
    check(evaluation, response(200, "<html>oops</html>"), &[want]);

    // Without JSON assertions the partial stands where the first JSON metric is.
    let evaluation = Evaluation {
        metrics: vec![
            metric("body_size", MetricSource::BodySize),
            json_metric("depth", "queue.depth"),
        ],
        ..Evaluation::default()
    };
    let details = format!("[OK] HTTP 200\n[OK] body_size 17\n[CRIT] {summary}");
    let want = with_metrics(
        svc(SERVICE, State::Crit, &summary, &details),
        vec![body_size],
    );
    check(evaluation, response(200, "<html>oops</html>"), &[want]);
}

#[test]
fn a_body_that_is_not_json_is_fine_when_nothing_reads_json() {
    let evaluation = expecting(Expect {
        body: vec![assert_text(TextTest::Contains("oops".into()), State::Crit)],
        ..Expect::default()
    });
    check_base(
        evaluation,
        response(200, "<html>oops</html>"),
        (
            State::Ok,
            "HTTP 200 in 81 ms",
            "[OK] HTTP 200\n[OK] body contains \"oops\"",
        ),
    );
}

const QUEUE: &str = r#"{"queue": {"depth": 1830, "free": 35, "items": [1, 2, 3]}, "name": "x"}"#;

#[test]
fn metrics_carry_levels_and_judge_with_them() {
    let depth = MetricSpec {
        upper: levels(500.0, 1000.0),
        min: Some(0.0),
        max: Some(5000.0),
        ..json_metric("depth", "queue.depth")
    };
    let free = MetricSpec {
        lower: Levels {
            warn: Some(40.0),
            crit: Some(30.0),
        },
        ..json_metric("free", "queue.free")
    };
    let items = metric(
        "items",
        MetricSource::Json {
            path: path("queue.items"),
            length: true,
        },
    );
    let evaluation = Evaluation {
        metrics: vec![
            depth,
            free,
            items,
            metric("body_size", MetricSource::BodySize),
            metric("latency", MetricSource::ResponseTime),
        ],
        ..Evaluation::default()
    };
    let size = QUEUE.len() as f64;
    let want = svc(
        SERVICE,
        State::Crit,
        "depth 1830 (crit at 1000), free 35 (warn below 40)",
        &format!(
            "[OK] HTTP 200\n[CRIT] depth 1830 (crit at 1000)\n[WARN] free 35 (warn below 40)\n\
             [OK] items 3\n[OK] body_size {size}\n[OK] latency 0.081"
        ),
    );
    let metrics = vec![
        Metric {
            upper: levels(500.0, 1000.0),
            min: Some(0.0),
            max: Some(5000.0),
            ..Metric::new("depth", 1830.0)
        },
        Metric {
            lower: Levels {
                warn: Some(40.0),
                crit: Some(30.0),
            },
            ..Metric::new("free", 35.0)
        },
        Metric::new("items", 3.0),
        Metric::new("body_size", size),
        Metric::new("latency", 0.081),
    ];
    check(
        evaluation,
        response(200, QUEUE),
        &[with_metrics(want, metrics)],
    );
}

#[test]
fn metrics_that_cannot_be_read_are_crit_without_a_metric() {
    let evaluation = Evaluation {
        metrics: vec![
            json_metric("size", "queue.size"),
            json_metric("name", "name"),
        ],
        ..Evaluation::default()
    };
    check(
        evaluation,
        response(200, QUEUE),
        &[svc(
            SERVICE,
            State::Crit,
            "no value at queue.size, name is a string, expected a number",
            "[OK] HTTP 200\n[CRIT] no value at queue.size\n[CRIT] name is a string, expected a number",
        )],
    );
}

#[test]
fn the_default_ok_summary_is_status_time_and_metrics() {
    let evaluation = Evaluation {
        metrics: vec![
            json_metric("free", "queue.free"),
            metric("latency", MetricSource::ResponseTime),
        ],
        ..Evaluation::default()
    };
    let want = svc(
        SERVICE,
        State::Ok,
        "HTTP 200 in 81 ms, free 35, latency 0.081",
        "[OK] HTTP 200\n[OK] free 35\n[OK] latency 0.081",
    );
    let metrics = vec![Metric::new("free", 35.0), Metric::new("latency", 0.081)];
    check(
        evaluation,
        response(200, QUEUE),
        &[with_metrics(want, metrics)],
    );
}

#[test]
fn a_configured_ok_summary_replaces_the_default_only_when_all_is_ok() {
    let evaluation = |summary: &str| Evaluation {
        expect: Expect {
            json: vec![json("name", JsonTest::Equals(value!("x")), State::Warn)],
            ..Expect::default()
        },
        texts: ok_summary(summary),
        ..Evaluation::default()
    };
    let details = "[OK] HTTP 200\n[OK] name is \"x\"";
    check_base(
        evaluation("Orders API healthy"),
        response(200, QUEUE),
        (State::Ok, "Orders API healthy", details),
    );
    check_base(
        evaluation("two\nlines"),
        response(200, QUEUE),
        (State::Ok, "two lines", details),
    );
    check_base(
        evaluation("Orders API healthy"),
        response(503, QUEUE),
        (
            State::Crit,
            "HTTP 503 (expected 2xx)",
            "[CRIT] HTTP 503 (expected 2xx)\n[OK] name is \"x\"",
        ),
    );
}

#[test]
fn the_order_of_partials_is_status_time_body_headers_json_metrics() {
    let evaluation = Evaluation {
        expect: Expect {
            status: vec![200],
            body: vec![assert_text(TextTest::Contains("depth".into()), State::Warn)],
            headers: vec![HeaderAssertion {
                name: "content-type".into(),
                assertion: assert_text(TextTest::Contains("json".into()), State::Warn),
            }],
            json: vec![json("name", JsonTest::Exists(true), State::Warn)],
            response_time: Some(Levels {
                warn: Some(1.0),
                crit: None,
            }),
            conditions: Vec::new(),
        },
        metrics: vec![json_metric("free", "queue.free")],
        ..Evaluation::default()
    };
    check_base(
        evaluation,
        response(200, QUEUE),
        (
            State::Ok,
            "HTTP 200 in 81 ms, free 35",
            "[OK] HTTP 200\n[OK] response time 81 ms\n[OK] body contains \"depth\"\n\
             [OK] header content-type contains \"json\"\n[OK] name exists\n[OK] free 35",
        ),
    );
}
