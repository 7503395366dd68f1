//! The watchpost-compatible section: exact lines, whole outputs, what the validator reports,
//! and the round trip.
//!
//! The expected JSON and base64 texts were produced by Python 3 from the dict watchpost's
//! `ExecutionResult.generate_checkmk_output` builds, with the same `json.dumps` and
//! `base64.b64encode` calls, so they are byte for byte what watchpost writes.

use std::collections::BTreeMap;

use base64::Engine as _;
use checkd_checkmk::validate::{
    parse_watchpost_line, validate_agent_output, ParsedMetric, ParsedWatchpost,
};
use checkd_checkmk::{watchpost_json, watchpost_line, AgentOutput, LocalCheck, WatchpostService};
use checkd_model::{Levels, Metric, State};
use proptest::prelude::*;

use crate::roundtrip::{metric as any_metric, text};

/// Renders `input` and compares its JSON and its line; the line must also pass the validator
/// inside a whole output and read back as `parsed`.
fn check(input: WatchpostService<'_>, json: &str, line: &str, parsed: &ParsedWatchpost) {
    assert_eq!(watchpost_json(&input), json);
    assert_eq!(watchpost_line(&input), line);
    let mut out = AgentOutput::new("checkd-test");
    out.begin_host("prod-orders");
    out.watchpost_line(&input);
    let text = out.finish();
    assert_eq!(
        text,
        format!(
            "<<<check_mk>>>\nVersion: checkd-test\nAgentOS: checkd\n\
             <<<<prod-orders>>>>\n<<<local:sep(0)>>>\n<<<watchpost>>>\n{line}\n<<<<>>>>\n"
        )
    );
    let read = match validate_agent_output(&text) {
        Ok(read) => read,
        Err(problems) => panic!("{text:?} is invalid: {problems:?}"),
    };
    let Some(host) = read.host(Some("prod-orders")) else {
        panic!("no prod-orders host in {read:?}");
    };
    assert_eq!(host.watchpost, vec![parsed.clone()]);
    assert_eq!(host.sections[0].header, "<<<watchpost>>>");
    assert_eq!(host.sections[0].lines, vec![line.to_string()]);
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn levels(warn: Option<f64>, crit: Option<f64>) -> Levels {
    Levels { warn, crit }
}

fn parsed_metric(
    name: &str,
    value: f64,
    upper: (Option<f64>, Option<f64>),
    bounds: (Option<f64>, Option<f64>),
) -> ParsedMetric {
    ParsedMetric {
        name: name.to_string(),
        value,
        upper,
        lower: (None, None),
        min: bounds.0,
        max: bounds.1,
    }
}

const NO_LABELS: &BTreeMap<String, String> = &BTreeMap::new();

#[test]
fn an_ok_service_with_levels_and_boundaries() {
    let labels = labels(&[("team", "orders")]);
    let metrics = [Metric {
        upper: levels(Some(0.5), Some(2.0)),
        min: Some(0.0),
        max: Some(10.0),
        ..Metric::new("response_time", 0.081)
    }];
    check(
        WatchpostService {
            service: "Orders API health",
            labels: &labels,
            environment: "prod",
            state: State::Ok,
            summary: "HTTP 200 in 81 ms",
            details: "",
            note: None,
            metrics: &metrics,
        },
        r#"{"service_name": "Orders API health", "service_labels": {"team": "orders"}, "environment": "prod", "check_state": "OK", "summary": "HTTP 200 in 81 ms", "metrics": [{"name": "response_time", "value": 0.081, "levels": {"warning": 0.5, "critical": 2.0}, "boundaries": {"lower": 0.0, "upper": 10.0}}], "details": null}"#,
        "eyJzZXJ2aWNlX25hbWUiOiAiT3JkZXJzIEFQSSBoZWFsdGgiLCAic2VydmljZV9sYWJlbHMiOiB7InRlYW0iOiAib3JkZXJzIn0sICJlbnZpcm9ubWVudCI6ICJwcm9kIiwgImNoZWNrX3N0YXRlIjogIk9LIiwgInN1bW1hcnkiOiAiSFRUUCAyMDAgaW4gODEgbXMiLCAibWV0cmljcyI6IFt7Im5hbWUiOiAicmVzcG9uc2VfdGltZSIsICJ2YWx1ZSI6IDAuMDgxLCAibGV2ZWxzIjogeyJ3YXJuaW5nIjogMC41LCAiY3JpdGljYWwiOiAyLjB9LCAiYm91bmRhcmllcyI6IHsibG93ZXIiOiAwLjAsICJ1cHBlciI6IDEwLjB9fV0sICJkZXRhaWxzIjogbnVsbH0=",
        &ParsedWatchpost {
            service: "Orders API health".into(),
            labels: labels.clone(),
            environment: "prod".into(),
            state: State::Ok,
            summary: "HTTP 200 in 81 ms".into(),
            details: None,
            metrics: vec![parsed_metric(
                "response_time",
                0.081,
                (Some(0.5), Some(2.0)),
                (Some(0.0), Some(10.0)),
            )],
        },
    );
}

#[test]
fn a_crit_service_with_details_and_a_note() {
    let labels = labels(&[("team", "orders"), ("region", "eu-central-1")]);
    let metrics = [Metric {
        upper: levels(Some(500.0), Some(1000.0)),
        ..Metric::new("depth", 1830.0)
    }];
    let note = "datasource unavailable since 2025-11-23T10:00:00Z: connection refused";
    check(
        WatchpostService {
            service: "Orders API queue",
            labels: &labels,
            environment: "prod",
            state: State::Crit,
            summary: "queue depth 1830 (crit at 1000)",
            details: "depth: 1830\nworkers: 2\n",
            note: Some(note),
            metrics: &metrics,
        },
        r#"{"service_name": "Orders API queue", "service_labels": {"region": "eu-central-1", "team": "orders"}, "environment": "prod", "check_state": "CRIT", "summary": "queue depth 1830 (crit at 1000)", "metrics": [{"name": "depth", "value": 1830.0, "levels": {"warning": 500.0, "critical": 1000.0}}], "details": "depth: 1830\nworkers: 2\ndatasource unavailable since 2025-11-23T10:00:00Z: connection refused"}"#,
        "eyJzZXJ2aWNlX25hbWUiOiAiT3JkZXJzIEFQSSBxdWV1ZSIsICJzZXJ2aWNlX2xhYmVscyI6IHsicmVnaW9uIjogImV1LWNlbnRyYWwtMSIsICJ0ZWFtIjogIm9yZGVycyJ9LCAiZW52aXJvbm1lbnQiOiAicHJvZCIsICJjaGVja19zdGF0ZSI6ICJDUklUIiwgInN1bW1hcnkiOiAicXVldWUgZGVwdGggMTgzMCAoY3JpdCBhdCAxMDAwKSIsICJtZXRyaWNzIjogW3sibmFtZSI6ICJkZXB0aCIsICJ2YWx1ZSI6IDE4MzAuMCwgImxldmVscyI6IHsid2FybmluZyI6IDUwMC4wLCAiY3JpdGljYWwiOiAxMDAwLjB9fV0sICJkZXRhaWxzIjogImRlcHRoOiAxODMwXG53b3JrZXJzOiAyXG5kYXRhc291cmNlIHVuYXZhaWxhYmxlIHNpbmNlIDIwMjUtMTEtMjNUMTA6MDA6MDBaOiBjb25uZWN0aW9uIHJlZnVzZWQifQ==",
        &ParsedWatchpost {
            service: "Orders API queue".into(),
            labels: labels.clone(),
            environment: "prod".into(),
            state: State::Crit,
            summary: "queue depth 1830 (crit at 1000)".into(),
            details: Some(format!("depth: 1830\nworkers: 2\n{note}")),
            metrics: vec![parsed_metric(
                "depth",
                1830.0,
                (Some(500.0), Some(1000.0)),
                (None, None),
            )],
        },
    );
}

#[test]
fn non_ascii_quotes_and_backslashes_are_escaped_like_python() {
    let summary = "first run pending: \"quoted\" and \\ backslash";
    check(
        WatchpostService {
            service: "Zertifikat prüfen ✓",
            labels: NO_LABELS,
            environment: "staging",
            state: State::Unknown,
            summary,
            details: " \n\t\n",
            note: None,
            metrics: &[],
        },
        r#"{"service_name": "Zertifikat pr\u00fcfen \u2713", "service_labels": {}, "environment": "staging", "check_state": "UNKNOWN", "summary": "first run pending: \"quoted\" and \\ backslash", "metrics": [], "details": null}"#,
        "eyJzZXJ2aWNlX25hbWUiOiAiWmVydGlmaWthdCBwclx1MDBmY2ZlbiBcdTI3MTMiLCAic2VydmljZV9sYWJlbHMiOiB7fSwgImVudmlyb25tZW50IjogInN0YWdpbmciLCAiY2hlY2tfc3RhdGUiOiAiVU5LTk9XTiIsICJzdW1tYXJ5IjogImZpcnN0IHJ1biBwZW5kaW5nOiBcInF1b3RlZFwiIGFuZCBcXCBiYWNrc2xhc2giLCAibWV0cmljcyI6IFtdLCAiZGV0YWlscyI6IG51bGx9",
        &ParsedWatchpost {
            service: "Zertifikat prüfen ✓".into(),
            labels: BTreeMap::new(),
            environment: "staging".into(),
            state: State::Unknown,
            summary: summary.into(),
            details: None,
            metrics: Vec::new(),
        },
    );
}

#[test]
fn what_checkmk_would_reject_is_made_valid() {
    let labels = labels(&[("kéy", "v\"al")]);
    let metrics = [
        Metric::new("resp time", f64::NAN),
        Metric {
            upper: levels(Some(0.5), Some(f64::INFINITY)),
            lower: levels(Some(0.1), Some(0.05)),
            min: Some(0.0),
            ..Metric::new("resp time", 1.0)
        },
        Metric::new("resp:time", 2.0),
    ];
    check(
        WatchpostService {
            service: "it's \"x\"; $y",
            labels: &labels,
            environment: "prod",
            state: State::Warn,
            summary: "  line1\nline2  ",
            details: "\n\n  a  \n\n b\r\n\n",
            note: Some(""),
            metrics: &metrics,
        },
        r#"{"service_name": "it_s _x__ _y", "service_labels": {"k\u00e9y": "v\"al"}, "environment": "prod", "check_state": "WARN", "summary": "line1 line2", "metrics": [{"name": "resp_time", "value": 1.0, "levels": {"warning": 0.5, "critical": null}, "boundaries": {"lower": 0.0, "upper": null}}], "details": "  a\n\n b"}"#,
        "eyJzZXJ2aWNlX25hbWUiOiAiaXRfcyBfeF9fIF95IiwgInNlcnZpY2VfbGFiZWxzIjogeyJrXHUwMGU5eSI6ICJ2XCJhbCJ9LCAiZW52aXJvbm1lbnQiOiAicHJvZCIsICJjaGVja19zdGF0ZSI6ICJXQVJOIiwgInN1bW1hcnkiOiAibGluZTEgbGluZTIiLCAibWV0cmljcyI6IFt7Im5hbWUiOiAicmVzcF90aW1lIiwgInZhbHVlIjogMS4wLCAibGV2ZWxzIjogeyJ3YXJuaW5nIjogMC41LCAiY3JpdGljYWwiOiBudWxsfSwgImJvdW5kYXJpZXMiOiB7Imxvd2VyIjogMC4wLCAidXBwZXIiOiBudWxsfX1dLCAiZGV0YWlscyI6ICIgIGFcblxuIGIifQ==",
        &ParsedWatchpost {
            service: "it_s _x__ _y".into(),
            labels: labels.clone(),
            environment: "prod".into(),
            state: State::Warn,
            summary: "line1 line2".into(),
            details: Some("  a\n\n b".into()),
            metrics: vec![parsed_metric(
                "resp_time",
                1.0,
                (Some(0.5), None),
                (Some(0.0), None),
            )],
        },
    );
}

#[test]
fn empty_texts_and_exponent_numbers() {
    let metrics = [Metric::new("big", 1e16), Metric::new("small", 1.5e-5)];
    check(
        WatchpostService {
            service: "",
            labels: NO_LABELS,
            environment: "",
            state: State::Ok,
            summary: "\n",
            details: "",
            note: None,
            metrics: &metrics,
        },
        r#"{"service_name": "_", "service_labels": {}, "environment": "", "check_state": "OK", "summary": "-", "metrics": [{"name": "big", "value": 1e+16}, {"name": "small", "value": 1.5e-05}], "details": null}"#,
        "eyJzZXJ2aWNlX25hbWUiOiAiXyIsICJzZXJ2aWNlX2xhYmVscyI6IHt9LCAiZW52aXJvbm1lbnQiOiAiIiwgImNoZWNrX3N0YXRlIjogIk9LIiwgInN1bW1hcnkiOiAiLSIsICJtZXRyaWNzIjogW3sibmFtZSI6ICJiaWciLCAidmFsdWUiOiAxZSsxNn0sIHsibmFtZSI6ICJzbWFsbCIsICJ2YWx1ZSI6IDEuNWUtMDV9XSwgImRldGFpbHMiOiBudWxsfQ==",
        &ParsedWatchpost {
            service: "_".into(),
            labels: BTreeMap::new(),
            environment: String::new(),
            state: State::Ok,
            summary: "-".into(),
            details: None,
            metrics: vec![
                parsed_metric("big", 1e16, (None, None), (None, None)),
                parsed_metric("small", 1.5e-5, (None, None), (None, None)),
            ],
        },
    );
}

fn service<'a>(name: &'a str, state: State) -> WatchpostService<'a> {
    WatchpostService {
        service: name,
        labels: NO_LABELS,
        environment: "prod",
        state,
        summary: "all good",
        details: "",
        note: None,
        metrics: &[],
    }
}

fn local(name: &str) -> LocalCheck<'_> {
    LocalCheck {
        cached: None,
        state: State::Ok,
        service: name,
        metrics: &[],
        summary: "all good",
        details: "",
        note: None,
    }
}

#[test]
fn agent_output_switches_between_local_and_watchpost_sections() {
    let mut out = AgentOutput::new("checkd-0.1.0");
    out.local_check(&local("checkd"));
    out.begin_host("prod-orders");
    out.watchpost_line(&service("a", State::Ok));
    out.watchpost_line(&service("b", State::Crit));
    out.local_check(&local("c")); // back to a local section
    out.watchpost_section(); // an explicit header, even when one is open
    out.watchpost_line(&service("d", State::Warn));
    out.begin_host("staging-orders"); // closes prod-orders: the next line reopens a section
    out.watchpost_line(&service("a", State::Unknown));
    let text = out.finish();
    let line = |name: &str, state: State| watchpost_line(&service(name, state));
    let expected = format!(
        "<<<check_mk>>>\nVersion: checkd-0.1.0\nAgentOS: checkd\n\
         <<<local:sep(0)>>>\n0 \"checkd\" - all good\n\
         <<<<prod-orders>>>>\n<<<local:sep(0)>>>\n<<<watchpost>>>\n{}\n{}\n\
         <<<local:sep(0)>>>\n0 \"c\" - all good\n<<<watchpost>>>\n{}\n<<<<>>>>\n\
         <<<<staging-orders>>>>\n<<<local:sep(0)>>>\n<<<watchpost>>>\n{}\n<<<<>>>>\n",
        line("a", State::Ok),
        line("b", State::Crit),
        line("d", State::Warn),
        line("a", State::Unknown),
    );
    assert_eq!(text, expected);

    let read = validate_agent_output(&text).unwrap();
    let prod = read.host(Some("prod-orders")).unwrap();
    let states: Vec<(&str, State)> = prod
        .watchpost
        .iter()
        .map(|s| (s.service.as_str(), s.state))
        .collect();
    assert_eq!(
        states,
        vec![("a", State::Ok), ("b", State::Crit), ("d", State::Warn)]
    );
    assert_eq!(prod.services.len(), 1);
    assert_eq!(prod.watchpost_service("b").unwrap().summary, "all good");
    let staging = read.host(Some("staging-orders")).unwrap();
    assert_eq!(
        staging.watchpost_service("a").unwrap().state,
        State::Unknown
    );
    assert!(read.host(None).unwrap().watchpost.is_empty());
}

#[test]
fn watchposts_own_output_is_accepted() {
    // watchpost writes integers as integers and adds `check_definition`; each result gets its
    // own piggyback block.
    let line = "eyJzZXJ2aWNlX25hbWUiOiAiQVBJIEhlYWx0aCIsICJzZXJ2aWNlX2xhYmVscyI6IHsiY29tcG9uZW50IjogImFwaSJ9LCAiZW52aXJvbm1lbnQiOiAicHJvZCIsICJjaGVja19zdGF0ZSI6ICJPSyIsICJzdW1tYXJ5IjogIkFQSSBpcyBoZWFsdGh5IiwgIm1ldHJpY3MiOiBbeyJuYW1lIjogImxhdGVuY3kiLCAidmFsdWUiOiA1LCAibGV2ZWxzIjogeyJ3YXJuaW5nIjogMTAwLCAiY3JpdGljYWwiOiAyMDB9fV0sICJjaGVja19kZWZpbml0aW9uIjogeyJyZWxhdGl2ZV9wYXRoIjogImNoZWNrcy9hcGkucHkiLCAibGluZV9udW1iZXIiOiAxMn0sICJkZXRhaWxzIjogbnVsbH0=";
    let text = format!("<<<<prod>>>>\n<<<watchpost>>>\n{line}\n<<<<>>>>\n");
    let read = validate_agent_output(&text).unwrap();
    let api = read
        .host(Some("prod"))
        .unwrap()
        .watchpost_service("API Health")
        .unwrap();
    assert_eq!(
        api,
        &ParsedWatchpost {
            service: "API Health".into(),
            labels: labels(&[("component", "api")]),
            environment: "prod".into(),
            state: State::Ok,
            summary: "API is healthy".into(),
            details: None,
            metrics: vec![parsed_metric(
                "latency",
                5.0,
                (Some(100.0), Some(200.0)),
                (None, None)
            )],
        }
    );
}

fn encode(json: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(json)
}

/// A valid object with `change` applied to its JSON text.
fn object(change: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut value = serde_json::json!({
        "service_name": "a",
        "service_labels": {"team": "orders"},
        "environment": "prod",
        "check_state": "OK",
        "summary": "fine",
        "metrics": [{"name": "m", "value": 1, "levels": {"warning": 2, "critical": null}}],
        "details": null,
    });
    change(&mut value);
    encode(&value.to_string())
}

#[test]
fn the_validator_reports_what_the_plugin_or_checkmk_would_fail_on() {
    use serde_json::json;
    let set = |key: &'static str, v: serde_json::Value| move |o: &mut serde_json::Value| o[key] = v;
    let remove = |key: &'static str| {
        move |o: &mut serde_json::Value| {
            o.as_object_mut().unwrap().remove(key);
        }
    };
    let metric = |m: serde_json::Value| set("metrics", json!([m]));
    let cases: Vec<(String, &str)> = vec![
        (object(|_| {}), ""),
        (object(set("details", json!("x\ny"))), ""),
        (
            object(metric(
                json!({"name": "m", "value": -1.5, "boundaries": {"lower": null, "upper": 3}}),
            )),
            "",
        ),
        (
            "not-base64!".into(),
            "watchpost line is not standard base64: Invalid symbol 45, offset 3.",
        ),
        (
            format!("{} x", object(|_| {})),
            "whitespace in a watchpost line (Checkmk splits the line there)",
        ),
        (
            encode("{\"a\": 1"),
            "watchpost line does not hold JSON: EOF while parsing an object at line 1 column 7",
        ),
        (
            encode("[1, 2]"),
            "watchpost line does not hold a JSON object",
        ),
        (
            base64::engine::general_purpose::STANDARD.encode([0xff, 0xfe]),
            "watchpost line is not UTF-8 JSON",
        ),
        (
            object(remove("service_name")),
            "missing key \"service_name\"",
        ),
        (object(remove("details")), "missing key \"details\""),
        (object(remove("metrics")), "missing key \"metrics\""),
        (
            object(set("service_name", json!(""))),
            "invalid service_name: service name is empty",
        ),
        (
            object(set("service_name", json!(7))),
            "service_name is not a string",
        ),
        (
            object(set("service_labels", json!({"team": 1}))),
            "service label \"team\" is not a string",
        ),
        (
            object(set("service_labels", json!([]))),
            "service_labels is not an object",
        ),
        (
            object(set("check_state", json!("FINE"))),
            "invalid check_state \"FINE\" (expected OK, WARN, CRIT or UNKNOWN)",
        ),
        (
            object(set("check_state", json!(0))),
            "check_state is not a string",
        ),
        (
            object(set("summary", json!(""))),
            "summary is empty (Checkmk rejects an empty summary)",
        ),
        (
            object(set("summary", json!("a\nb"))),
            "summary contains a newline (Checkmk rejects it)",
        ),
        (
            object(set("details", json!(""))),
            "details is an empty string (write null; Checkmk rejects \"\")",
        ),
        (
            object(set("details", json!(["x"]))),
            "details is neither a string nor null",
        ),
        (object(set("metrics", json!({}))), "metrics is not a list"),
        (object(metric(json!(5))), "a metric is not an object"),
        (
            object(metric(json!({"value": 1}))),
            "metric: missing key \"name\"",
        ),
        (
            object(metric(json!({"name": "a b", "value": 1}))),
            "metric name \"a b\" contains ' ' (allowed: A-Z a-z 0-9 - _ .)",
        ),
        (
            object(metric(json!({"name": "m"}))),
            "metric \"m\" has no value",
        ),
        (
            object(metric(json!({"name": "m", "value": "5"}))),
            "value of metric \"m\" is not a finite number: \"5\"",
        ),
        (
            object(metric(
                json!({"name": "m", "value": 1, "levels": {"warning": 1}}),
            )),
            "levels.critical of metric \"m\" is missing",
        ),
        (
            object(metric(json!({"name": "m", "value": 1, "levels": [1, 2]}))),
            "levels of metric \"m\" is not an object",
        ),
        (
            object(metric(
                json!({"name": "m", "value": 1, "boundaries": {"lower": "0", "upper": 1}}),
            )),
            "boundaries.lower of metric \"m\" is not a finite number: \"0\"",
        ),
        (
            object(set(
                "metrics",
                json!([{"name": "m", "value": 1}, {"name": "m", "value": 2}]),
            )),
            "duplicate metric \"m\"",
        ),
    ];
    for (line, expected) in cases {
        let text = format!("<<<<prod>>>>\n<<<watchpost>>>\n{line}\n<<<<>>>>\n");
        let problems: Vec<String> = match validate_agent_output(&text) {
            Ok(_) => Vec::new(),
            Err(problems) => problems.iter().map(ToString::to_string).collect(),
        };
        let expected: Vec<String> = if expected.is_empty() {
            Vec::new()
        } else {
            vec![format!("line 3: {expected}")]
        };
        assert_eq!(problems, expected, "{line}");
        assert_eq!(
            parse_watchpost_line(&line).err().unwrap_or_default(),
            expected.first().map_or("", |e| &e[8..])
        );
    }
    // A number JSON allows but Checkmk cannot take.
    let huge = r#"{"service_name": "a", "service_labels": {}, "environment": "prod", "check_state": "OK", "summary": "x", "metrics": [{"name": "m", "value": 1e400}], "details": null}"#;
    assert_eq!(
        parse_watchpost_line(&encode(huge)),
        Err("watchpost line does not hold JSON: number out of range at line 1 column 144".into())
    );
}

#[test]
fn duplicate_services_across_sections_are_reported() {
    let line = |name: &str| watchpost_line(&service(name, State::Ok));
    let text = format!(
        "<<<<prod>>>>\n<<<local:sep(0)>>>\n0 \"a\" - ok\n<<<watchpost>>>\n{}\n{}\n{}\n<<<<>>>>\n\
         <<<<staging>>>>\n<<<watchpost>>>\n{}\n<<<<>>>>\n",
        line("a"),
        line("b"),
        line("b"),
        line("b"),
    );
    let problems: Vec<String> = validate_agent_output(&text)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        problems,
        vec![
            "line 5: service \"a\" is both a local check and a watchpost service (first on line 3): \
             Checkmk allows one service of a name per host",
            "line 7: duplicate watchpost service \"b\" (first on line 6): \
             the watchpost plugin shows only the first one",
        ]
    );
}

proptest! {
    /// Whatever goes in, the line is valid and reads back as what went in, sanitised.
    #[test]
    fn any_service_round_trips(
        name in text(),
        environment in text(),
        label_pairs in prop::collection::vec((text(), text()), 0..3),
        state in prop::sample::select(State::ALL.to_vec()),
        summary in text(),
        details in text(),
        note in prop::option::of(text()),
        metrics in prop::collection::vec(any_metric(), 0..4),
    ) {
        let labels: BTreeMap<String, String> = label_pairs.into_iter().collect();
        let input = WatchpostService {
            service: &name,
            labels: &labels,
            environment: &environment,
            state,
            summary: &summary,
            details: &details,
            note: note.as_deref(),
            metrics: &metrics,
        };
        let line = watchpost_line(&input);
        let read = match parse_watchpost_line(&line) {
            Ok(read) => read,
            Err(problem) => return Err(TestCaseError::fail(format!("{problem}: {}", watchpost_json(&input)))),
        };
        prop_assert_eq!(&read.labels, &labels);
        prop_assert_eq!(&read.environment, &environment);
        prop_assert_eq!(read.state, state);
        // The local-check renderer sanitises the same way: compare with what it writes.
        let local_line = checkd_checkmk::render_local_check(&LocalCheck {
            cached: None,
            state,
            service: &name,
            metrics: &metrics,
            summary: &summary,
            details: &details,
            note: note.as_deref(),
        });
        let local = checkd_checkmk::validate::parse_local_line(local_line.trim_end_matches('\n')).unwrap();
        prop_assert_eq!(&read.service, &local.service);
        let names: Vec<&str> = read.metrics.iter().map(|m| m.name.as_str()).collect();
        let local_names: Vec<&str> = local.metrics.iter().map(|m| m.name.as_str()).collect();
        prop_assert_eq!(names, local_names);
        for (wp, lc) in read.metrics.iter().zip(&local.metrics) {
            prop_assert_eq!(wp.value, lc.value);
            prop_assert_eq!(wp.upper, lc.upper);
            prop_assert_eq!((wp.min, wp.max), (lc.min, lc.max));
        }
        // Local details are the watchpost details' lines behind literal `\n`s (a summary
        // starting with a literal `\n` gets a `-` in front there, so compare the details only
        // when the local line has none of its own).
        if !read.summary.contains("\\n") {
            prop_assert_eq!(&read.summary, &local.summary);
            let details: Vec<&str> = read.details.as_deref().map_or(Vec::new(), |d| d.split('\n').collect());
            let local_details: Vec<&str> = local.details.iter().map(String::as_str).collect();
            if !details.iter().any(|d| d.contains("\\n")) {
                prop_assert_eq!(details, local_details);
            }
        }
    }
}

/// serde_json reads some floats one unit in the last place off unless `float_roundtrip` is on;
/// proptest found this one.
#[test]
fn floats_read_back_exactly() {
    for value in [3.647995377013955e-264, 0.1 + 0.2, f64::MAX, 5e-324, 1e22] {
        let metrics = [Metric::new("m", value)];
        let input = WatchpostService {
            metrics: &metrics,
            ..service("a", State::Ok)
        };
        let read = parse_watchpost_line(&watchpost_line(&input)).unwrap();
        assert_eq!(
            read.metrics[0].value.to_bits(),
            value.to_bits(),
            "{value:e}"
        );
    }
}
