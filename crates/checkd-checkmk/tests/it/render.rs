//! Exact output of the renderer, one line or one whole output at a time, as insta snapshots
//! beside the tests: `cargo insta test -p checkd-checkmk --review` shows what a change does.
//! Every line is also run through the validator inside a whole output, and the validator
//! insists on the final newline that a snapshot's trimming would not see.

use checkd_checkmk::validate::validate_agent_output;
use checkd_checkmk::{
    render_local_check, watchpost_line, AgentOutput, Cached, LocalCheck, LocalLine, LocalLines,
    WatchpostLine, WatchpostLines, WatchpostService,
};
use checkd_model::{Levels, Metric, State};
use insta::assert_snapshot;

/// Renders `input` as one line, without its `\n`; the line must also pass the validator
/// inside a whole output.
fn line(input: &LocalCheck<'_>) -> String {
    let line = render_local_check(input);
    let Some(text) = line.strip_suffix('\n').filter(|t| !t.contains('\n')) else {
        panic!("not one line ending in a newline: {line:?}");
    };
    let mut out = AgentOutput::new("checkd-test");
    out.local_check(input);
    let whole = out.finish();
    if let Err(problems) = validate_agent_output(&whole) {
        panic!("{whole:?} is invalid: {problems:?}");
    }
    text.to_string()
}

/// One row per case: the input as Rust writes it, then the line rendered from it.
fn table<'a, T: std::fmt::Debug>(cases: impl IntoIterator<Item = (T, LocalCheck<'a>)>) -> String {
    cases
        .into_iter()
        .map(|(input, check)| format!("{input:?} → {}\n", line(&check)))
        .collect()
}

/// The rendered lines of `checks`, one per row.
fn lines<'a>(checks: impl IntoIterator<Item = LocalCheck<'a>>) -> String {
    checks.into_iter().map(|c| line(&c) + "\n").collect()
}

fn ok(service: &str) -> LocalCheck<'_> {
    LocalCheck {
        cached: None,
        state: State::Ok,
        service,
        metrics: &[],
        summary: "all good",
        details: "",
        note: None,
    }
}

fn with_summary<'a>(summary: &'a str) -> LocalCheck<'a> {
    LocalCheck {
        summary,
        ..ok("svc")
    }
}

fn with_details<'a>(details: &'a str, note: Option<&'a str>) -> LocalCheck<'a> {
    LocalCheck {
        details,
        note,
        ..ok("svc")
    }
}

fn metric(name: &str, value: f64) -> Metric {
    Metric::new(name, value)
}

fn levels(warn: Option<f64>, crit: Option<f64>) -> Levels {
    Levels { warn, crit }
}

fn with_metrics(metrics: &[Metric]) -> LocalCheck<'_> {
    LocalCheck {
        metrics,
        ..ok("svc")
    }
}

#[test]
fn every_state_is_its_checkmk_number() {
    let states = [State::Ok, State::Warn, State::Crit, State::Unknown];
    assert_snapshot!(table(states.map(|state| (state, LocalCheck { state, ..ok("a") }))), @r#"
    Ok → 0 "a" - all good
    Warn → 1 "a" - all good
    Crit → 2 "a" - all good
    Unknown → 3 "a" - all good
    "#);
}

#[test]
fn cached_prefix() {
    let cases = [(1763890000, 300), (0, 60), (5, 0), (-5, 60)];
    let cached = cases.map(|(produced_s, interval_s)| {
        let check = LocalCheck {
            cached: Some(Cached {
                produced_s,
                interval_s,
            }),
            ..ok("a")
        };
        ((produced_s, interval_s), check)
    });
    // Checkmk divides by the interval, so 0 is written as 1; its grammar has no sign, so the
    // informative prefix of a negative time is left out.
    assert_snapshot!(table(cached), @r#"
    (1763890000, 300) → cached(1763890000,300) 0 "a" - all good
    (0, 60) → cached(0,60) 0 "a" - all good
    (5, 0) → cached(5,1) 0 "a" - all good
    (-5, 60) → 0 "a" - all good
    "#);
}

#[test]
fn metrics_with_levels_and_boundaries() {
    let upper = |warn, crit| Metric {
        upper: levels(warn, crit),
        ..metric("a", 5.0)
    };
    let cases = [
        vec![metric("a", 5.0)],
        vec![upper(Some(7.0), None)],
        vec![upper(Some(7.0), Some(8.0))],
        vec![upper(None, Some(8.0))],
        vec![Metric {
            lower: levels(Some(40.0), Some(30.0)),
            ..metric("count", 37.0)
        }],
        vec![Metric {
            upper: levels(Some(7.0), Some(8.0)),
            lower: levels(Some(3.0), Some(2.0)),
            min: Some(1.0),
            max: Some(9.0),
            ..metric("a", 5.0)
        }],
        vec![Metric {
            upper: levels(None, Some(8.0)),
            lower: levels(Some(3.0), None),
            ..metric("a", 5.0)
        }],
        vec![Metric {
            min: Some(0.0),
            ..metric("checks", 120.0)
        }],
        vec![Metric {
            max: Some(9.0),
            ..metric("a", 5.0)
        }],
        vec![Metric {
            min: Some(-1.5),
            max: Some(9.0),
            ..metric("a", 5.0)
        }],
        vec![metric("a", 1.0), metric("b", 2.0), metric("c", 3.0)],
    ];
    assert_snapshot!(lines(cases.iter().map(|m| with_metrics(m))), @r#"
    0 "svc" a=5 all good
    0 "svc" a=5;7 all good
    0 "svc" a=5;7;8 all good
    0 "svc" a=5;;8 all good
    0 "svc" count=37;40:;30: all good
    0 "svc" a=5;3:7;2:8;1;9 all good
    0 "svc" a=5;3:;8 all good
    0 "svc" checks=120;;;0 all good
    0 "svc" a=5;;;;9 all good
    0 "svc" a=5;;;-1.5;9 all good
    0 "svc" a=1|b=2|c=3 all good
    "#);
}

#[test]
fn numbers_are_plain_decimals() {
    let values = [0.081, -2.5, 1830.0, 0.1 + 0.2, 1e21, 1e-7, -0.0];
    let metrics = values.map(|value| [metric("a", value)]);
    let cases = values
        .iter()
        .zip(&metrics)
        .map(|(v, m)| (v, with_metrics(m)));
    assert_snapshot!(table(cases), @r#"
    0.081 → 0 "svc" a=0.081 all good
    -2.5 → 0 "svc" a=-2.5 all good
    1830.0 → 0 "svc" a=1830 all good
    0.30000000000000004 → 0 "svc" a=0.30000000000000004 all good
    1e21 → 0 "svc" a=1000000000000000000000 all good
    1e-7 → 0 "svc" a=0.0000001 all good
    -0.0 → 0 "svc" a=-0 all good
    "#);
}

#[test]
fn non_finite_metrics_are_dropped_and_non_finite_levels_are_absent() {
    let cases = [
        vec![
            metric("a", f64::NAN),
            metric("b", 1.0),
            metric("c", f64::INFINITY),
        ],
        vec![metric("a", f64::NAN), metric("b", f64::NEG_INFINITY)],
        vec![Metric {
            upper: levels(Some(f64::NAN), Some(8.0)),
            lower: levels(Some(f64::NEG_INFINITY), Some(f64::NAN)),
            min: Some(f64::INFINITY),
            max: Some(f64::NAN),
            ..metric("a", 5.0)
        }],
    ];
    assert_snapshot!(lines(cases.iter().map(|m| with_metrics(m))), @r#"
    0 "svc" b=1 all good
    0 "svc" - all good
    0 "svc" a=5;;8 all good
    "#);
}

#[test]
fn odd_metric_names() {
    let cases = [
        vec![
            metric("a b:c/d\\e|f=g;h", 1.0),
            metric("temp°C", 2.0),
            metric("", 3.0),
        ],
        vec![metric("ok-name_1.5", 1.0)],
        // Two names that are written the same: the first one wins.
        vec![
            metric("a b", 1.0),
            metric("a_b", 2.0),
            metric("a:b", 3.0),
            metric("c", 4.0),
        ],
        // A dropped NaN metric does not shadow a later one of the same name.
        vec![metric("a", f64::NAN), metric("a", 2.0)],
    ];
    assert_snapshot!(lines(cases.iter().map(|m| with_metrics(m))), @r#"
    0 "svc" a_b_c_d_e_f_g_h=1|temp_C=2|_=3 all good
    0 "svc" ok-name_1.5=1 all good
    0 "svc" a_b=1|c=4 all good
    0 "svc" a=2 all good
    "#);
}

#[test]
fn odd_service_names() {
    let names = [
        "Orders API health",
        r#"say "hi""#,
        "it's",
        "a;b$c",
        "line\nbreak\r\ttab",
        "",
        "Überwachung ✓ 監視",
        r"C:\temp | 100%",
    ];
    assert_snapshot!(table(names.map(|name| (name, ok(name)))), @r#"
    "Orders API health" → 0 "Orders API health" - all good
    "say \"hi\"" → 0 "say _hi_" - all good
    "it's" → 0 "it_s" - all good
    "a;b$c" → 0 "a_b_c" - all good
    "line\nbreak\r\ttab" → 0 "line_break__tab" - all good
    "" → 0 "_" - all good
    "Überwachung ✓ 監視" → 0 "Überwachung ✓ 監視" - all good
    "C:\\temp | 100%" → 0 "C:\temp | 100%" - all good
    "#);
}

#[test]
fn odd_summaries() {
    let summaries = [
        "a\nb",
        "a\r\nb\rc",
        "  padded \t\n",
        "tab\there",
        r#"say "hi"; cost $5 | 'x' = y"#,
        "größer als 5 °C — ✓",
        "two  spaces kept",
        r"C:\temp",
        "bell\u{7}nul\0",
    ];
    assert_snapshot!(table(summaries.map(|s| (s, with_summary(s)))), @r#"
    "a\nb" → 0 "svc" - a b
    "a\r\nb\rc" → 0 "svc" - a  b c
    "  padded \t\n" → 0 "svc" - padded
    "tab\there" → 0 "svc" - tab here
    "say \"hi\"; cost $5 | 'x' = y" → 0 "svc" - say "hi"; cost $5 | 'x' = y
    "größer als 5 °C — ✓" → 0 "svc" - größer als 5 °C — ✓
    "two  spaces kept" → 0 "svc" - two  spaces kept
    "C:\\temp" → 0 "svc" - C:\temp
    "bell\u{7}nul\0" → 0 "svc" - bell nul
    "#);
}

#[test]
fn empty_summary_is_a_dash() {
    let cases = [
        ("", ""),
        (" \n\t ", ""),
        // A literal \n at the start would leave Checkmk an empty summary.
        (r"\nrest", ""),
        ("", "first"),
    ];
    let checks = cases.map(|(summary, details)| {
        let check = LocalCheck {
            summary,
            details,
            ..ok("svc")
        };
        ((summary, details), check)
    });
    assert_snapshot!(table(checks), @r#"
    ("", "") → 0 "svc" - -
    (" \n\t ", "") → 0 "svc" - -
    ("\\nrest", "") → 0 "svc" - -\nrest
    ("", "first") → 0 "svc" - -\nfirst
    "#);
}

#[test]
fn details() {
    let details = [
        "",
        "\n \n",
        "one line",
        "a\nb\nc",
        "a\r\nb\r\n",
        "\n\na\n\nb\n\n",
        "{\n  \"depth\": 5\n}",
        "trailing   \nspace\t",
        "a\tb\u{1b}[0m",
        r"C:\new",
    ];
    assert_snapshot!(table(details.map(|d| (d, with_details(d, None)))), @r#"
    "" → 0 "svc" - all good
    "\n \n" → 0 "svc" - all good
    "one line" → 0 "svc" - all good\none line
    "a\nb\nc" → 0 "svc" - all good\na\nb\nc
    "a\r\nb\r\n" → 0 "svc" - all good\na\nb
    "\n\na\n\nb\n\n" → 0 "svc" - all good\na\n\nb
    "{\n  \"depth\": 5\n}" → 0 "svc" - all good\n{\n  "depth": 5\n}
    "trailing   \nspace\t" → 0 "svc" - all good\ntrailing\nspace
    "a\tb\u{1b}[0m" → 0 "svc" - all good\na b [0m
    "C:\\new" → 0 "svc" - all good\nC:\new
    "#);
}

#[test]
fn note_follows_the_details() {
    let note = "datasource unavailable since 2025-11-23 10:00:00 UTC: connection refused";
    let cases = [
        ("", Some(note)),
        ("depth: 1830\n", Some(note)),
        ("a", Some("n1\nn2")),
        ("a", Some("")),
    ];
    assert_snapshot!(table(cases.map(|(d, n)| ((d, n), with_details(d, n)))), @r#"
    ("", Some("datasource unavailable since 2025-11-23 10:00:00 UTC: connection refused")) → 0 "svc" - all good\ndatasource unavailable since 2025-11-23 10:00:00 UTC: connection refused
    ("depth: 1830\n", Some("datasource unavailable since 2025-11-23 10:00:00 UTC: connection refused")) → 0 "svc" - all good\ndepth: 1830\ndatasource unavailable since 2025-11-23 10:00:00 UTC: connection refused
    ("a", Some("n1\nn2")) → 0 "svc" - all good\na\nn1\nn2
    ("a", Some("")) → 0 "svc" - all good\na
    "#);
}

#[test]
fn agent_output_header_sections_and_piggyback_blocks() {
    let mut out = AgentOutput::new("checkd-0.1.0");
    out.local_section();
    out.local_check(&ok("own"));
    out.begin_host("prod-orders");
    out.local_check(&ok("a"));
    out.end_host();
    out.begin_host("staging orders/é");
    out.local_check(&ok("b"));
    out.end_host();
    let so_far = out.as_str().to_string();
    let text = out.finish();
    assert_eq!(so_far, text);
    validate_agent_output(&text).unwrap();
    assert_snapshot!(text, @r#"
    <<<check_mk>>>
    Version: checkd-0.1.0
    AgentOS: checkd
    <<<local:sep(0)>>>
    0 "own" - all good
    <<<<prod-orders>>>>
    <<<local:sep(0)>>>
    0 "a" - all good
    <<<<>>>>
    <<<<staging_orders__>>>>
    <<<local:sep(0)>>>
    0 "b" - all good
    <<<<>>>>
    "#);
}

#[test]
fn agent_output_keeps_blocks_well_formed() {
    let mut out = AgentOutput::with_capacity("v\n1 ", 4096);
    out.end_host(); // nothing open: nothing written
    out.local_check(&ok("own")); // opens a local section
    out.begin_host("a");
    out.begin_host(".b"); // closes a first
    out.local_check(&ok("x"));
    out.end_host();
    out.local_check(&ok("own2")); // back on the own host: a new local section
    out.begin_host(""); // left open: finish closes it
    let text = out.finish();
    assert_snapshot!(text, @r#"
    <<<check_mk>>>
    Version: v 1
    AgentOS: checkd
    <<<local:sep(0)>>>
    0 "own" - all good
    <<<<a>>>>
    <<<local:sep(0)>>>
    <<<<>>>>
    <<<<_b>>>>
    <<<local:sep(0)>>>
    0 "x" - all good
    <<<<>>>>
    <<<local:sep(0)>>>
    0 "own2" - all good
    <<<<_>>>>
    <<<local:sep(0)>>>
    <<<<>>>>
    "#);
    assert!(
        validate_agent_output(&text).is_ok(),
        "{:?}",
        validate_agent_output(&text)
    );
    assert_eq!(
        AgentOutput::new(" \t").finish(),
        "<<<check_mk>>>\nVersion: unknown\nAgentOS: checkd\n"
    );
}

/// The whole-output example of checkmk-output.md, byte for byte.
#[test]
fn the_documented_example() {
    let checks = Metric {
        min: Some(0.0),
        ..metric("checks", 120.0)
    };
    let failed = Metric {
        upper: levels(Some(1.0), Some(5.0)),
        min: Some(0.0),
        ..metric("failed", 0.0)
    };
    let response_time = Metric {
        upper: levels(Some(0.5), Some(2.0)),
        min: Some(0.0),
        ..metric("response_time", 0.081)
    };
    let depth = Metric {
        upper: levels(Some(500.0), Some(1000.0)),
        min: Some(0.0),
        ..metric("depth", 1830.0)
    };
    let cached = Some(Cached {
        produced_s: 1763890000,
        interval_s: 300,
    });

    let mut out = AgentOutput::new("checkd-0.1.0");
    out.local_section();
    out.local_check(&LocalCheck {
        metrics: &[checks, failed],
        summary: "120 checks, 0 failing, scheduler lag 12 ms",
        ..ok("checkd")
    });
    out.begin_host("prod-orders");
    out.local_check(&LocalCheck {
        cached,
        metrics: &[response_time],
        summary: "HTTP 200 in 81 ms",
        ..ok("Orders API health")
    });
    out.local_check(&LocalCheck {
        cached,
        state: State::Crit,
        metrics: &[depth],
        summary: "queue depth 1830 (crit at 1000)",
        details: "depth: 1830\nworkers: 2",
        ..ok("Orders API queue")
    });
    out.end_host();

    let expected = r#"<<<check_mk>>>
Version: checkd-0.1.0
AgentOS: checkd
<<<local:sep(0)>>>
0 "checkd" checks=120;;;0|failed=0;1;5;0 120 checks, 0 failing, scheduler lag 12 ms
<<<<prod-orders>>>>
<<<local:sep(0)>>>
cached(1763890000,300) 0 "Orders API health" response_time=0.081;0.5;2;0 HTTP 200 in 81 ms
cached(1763890000,300) 2 "Orders API queue" depth=1830;500;1000;0 queue depth 1830 (crit at 1000)\ndepth: 1830\nworkers: 2
<<<<>>>>
"#;
    assert_eq!(out.finish(), expected);
}

/// Lines rendered earlier and pushed later read the same as lines written in place, and a
/// push opens the section its lines belong to.
#[test]
fn rendered_lines_push_into_their_own_section() {
    let checks = [ok("a"), with_summary("b\nc"), with_details("d", Some("e"))];
    let mut lines = LocalLines::new();
    assert!(lines.is_empty());
    for check in &checks {
        lines.push(&LocalLine::new(check));
    }
    let mut in_place = AgentOutput::new("v");
    in_place.begin_host("h");
    for check in &checks {
        in_place.local_check(check);
    }
    let mut pushed = AgentOutput::new("v");
    pushed.begin_host("h");
    pushed.push_local_lines(&LocalLines::new()); // nothing to push: nothing written
    pushed.push_local_lines(&lines);
    assert_eq!(pushed.finish(), in_place.finish());
    assert_eq!(
        lines.as_str(),
        "0 \"a\" - all good\n0 \"svc\" - b c\n0 \"svc\" - all good\\nd\\ne\n"
    );

    let labels = std::collections::BTreeMap::new();
    let service = WatchpostService {
        service: "w",
        labels: &labels,
        environment: "prod",
        state: State::Ok,
        summary: "fine",
        details: "",
        note: None,
        metrics: &[],
    };
    let mut watchpost = WatchpostLines::new();
    watchpost.push(&WatchpostLine::new(&service));
    assert_eq!(
        watchpost.as_str(),
        format!("{}\n", watchpost_line(&service))
    );
    let mut out = AgentOutput::new("v");
    out.begin_host("h");
    out.push_local_lines(&lines);
    out.push_watchpost_lines(&watchpost);
    out.push_local_lines(&lines);
    let text = out.finish();
    assert_eq!(
        text,
        format!(
            "<<<check_mk>>>\nVersion: v\nAgentOS: checkd\n<<<<h>>>>\n<<<local:sep(0)>>>\n{local}\
             <<<watchpost>>>\n{watchpost}<<<local:sep(0)>>>\n{local}<<<<>>>>\n",
            local = lines.as_str(),
            watchpost = watchpost.as_str()
        )
    );
    // The same services twice on one host: the validator says so, the renderer does not care.
    assert!(validate_agent_output(&text).is_err());
}
