//! Exact output of the renderer, one line or one whole output at a time.

use checkd_checkmk::validate::validate_agent_output;
use checkd_checkmk::{
    render_local_check, watchpost_line, AgentOutput, Cached, LocalCheck, LocalLine, LocalLines,
    WatchpostLine, WatchpostLines, WatchpostService,
};
use checkd_model::{Levels, Metric, State};

/// Renders `input` and compares the line (without its `\n`); every line must also pass the
/// validator inside a whole output.
fn check(input: LocalCheck<'_>, expected: &str) {
    let line = render_local_check(&input);
    assert_eq!(line.strip_suffix('\n'), Some(expected), "rendered {line:?}");
    let mut out = AgentOutput::new("checkd-test");
    out.local_check(&input);
    let text = out.finish();
    if let Err(problems) = validate_agent_output(&text) {
        panic!("{text:?} is invalid: {problems:?}");
    }
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
    check(
        LocalCheck {
            state: State::Ok,
            ..ok("a")
        },
        r#"0 "a" - all good"#,
    );
    check(
        LocalCheck {
            state: State::Warn,
            ..ok("a")
        },
        r#"1 "a" - all good"#,
    );
    check(
        LocalCheck {
            state: State::Crit,
            ..ok("a")
        },
        r#"2 "a" - all good"#,
    );
    check(
        LocalCheck {
            state: State::Unknown,
            ..ok("a")
        },
        r#"3 "a" - all good"#,
    );
}

#[test]
fn cached_prefix() {
    let cached = |produced_s, interval_s| LocalCheck {
        cached: Some(Cached {
            produced_s,
            interval_s,
        }),
        ..ok("a")
    };
    check(
        cached(1763890000, 300),
        r#"cached(1763890000,300) 0 "a" - all good"#,
    );
    check(cached(0, 60), r#"cached(0,60) 0 "a" - all good"#);
    // Checkmk divides by the interval.
    check(cached(5, 0), r#"cached(5,1) 0 "a" - all good"#);
    // Checkmk's grammar has no sign: the informative prefix is left out.
    check(cached(-5, 60), r#"0 "a" - all good"#);
}

#[test]
fn metrics_with_levels_and_boundaries() {
    check(with_metrics(&[metric("a", 5.0)]), r#"0 "svc" a=5 all good"#);
    let upper = |warn, crit| Metric {
        upper: levels(warn, crit),
        ..metric("a", 5.0)
    };
    check(
        with_metrics(&[upper(Some(7.0), None)]),
        r#"0 "svc" a=5;7 all good"#,
    );
    check(
        with_metrics(&[upper(Some(7.0), Some(8.0))]),
        r#"0 "svc" a=5;7;8 all good"#,
    );
    check(
        with_metrics(&[upper(None, Some(8.0))]),
        r#"0 "svc" a=5;;8 all good"#,
    );
    let count = Metric {
        lower: levels(Some(40.0), Some(30.0)),
        ..metric("count", 37.0)
    };
    check(
        with_metrics(&[count]),
        r#"0 "svc" count=37;40:;30: all good"#,
    );
    let both = Metric {
        upper: levels(Some(7.0), Some(8.0)),
        lower: levels(Some(3.0), Some(2.0)),
        min: Some(1.0),
        max: Some(9.0),
        ..metric("a", 5.0)
    };
    check(with_metrics(&[both]), r#"0 "svc" a=5;3:7;2:8;1;9 all good"#);
    let mixed = Metric {
        upper: levels(None, Some(8.0)),
        lower: levels(Some(3.0), None),
        ..metric("a", 5.0)
    };
    check(with_metrics(&[mixed]), r#"0 "svc" a=5;3:;8 all good"#);
    let min = Metric {
        min: Some(0.0),
        ..metric("checks", 120.0)
    };
    check(with_metrics(&[min]), r#"0 "svc" checks=120;;;0 all good"#);
    let max = Metric {
        max: Some(9.0),
        ..metric("a", 5.0)
    };
    check(with_metrics(&[max]), r#"0 "svc" a=5;;;;9 all good"#);
    let min_max = Metric {
        min: Some(-1.5),
        max: Some(9.0),
        ..metric("a", 5.0)
    };
    check(with_metrics(&[min_max]), r#"0 "svc" a=5;;;-1.5;9 all good"#);
    let several = [metric("a", 1.0), metric("b", 2.0), metric("c", 3.0)];
    check(with_metrics(&several), r#"0 "svc" a=1|b=2|c=3 all good"#);
}

#[test]
fn numbers_are_plain_decimals() {
    let cases = [
        (0.081, "0.081"),
        (-2.5, "-2.5"),
        (1830.0, "1830"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e21, "1000000000000000000000"),
        (1e-7, "0.0000001"),
        (-0.0, "-0"),
    ];
    for (value, text) in cases {
        let metrics = [metric("a", value)];
        check(
            with_metrics(&metrics),
            &format!(r#"0 "svc" a={text} all good"#),
        );
    }
}

#[test]
fn non_finite_metrics_are_dropped_and_non_finite_levels_are_absent() {
    let metrics = [
        metric("a", f64::NAN),
        metric("b", 1.0),
        metric("c", f64::INFINITY),
    ];
    check(with_metrics(&metrics), r#"0 "svc" b=1 all good"#);
    let metrics = [metric("a", f64::NAN), metric("b", f64::NEG_INFINITY)];
    check(with_metrics(&metrics), r#"0 "svc" - all good"#);
    let odd_levels = Metric {
        upper: levels(Some(f64::NAN), Some(8.0)),
        lower: levels(Some(f64::NEG_INFINITY), Some(f64::NAN)),
        min: Some(f64::INFINITY),
        max: Some(f64::NAN),
        ..metric("a", 5.0)
    };
    check(with_metrics(&[odd_levels]), r#"0 "svc" a=5;;8 all good"#);
}

#[test]
fn odd_metric_names() {
    let metrics = [
        metric("a b:c/d\\e|f=g;h", 1.0),
        metric("temp°C", 2.0),
        metric("", 3.0),
    ];
    check(
        with_metrics(&metrics),
        r#"0 "svc" a_b_c_d_e_f_g_h=1|temp_C=2|_=3 all good"#,
    );
    let metrics = [metric("ok-name_1.5", 1.0)];
    check(with_metrics(&metrics), r#"0 "svc" ok-name_1.5=1 all good"#);
    // Two names that are written the same: the first one wins.
    let metrics = [
        metric("a b", 1.0),
        metric("a_b", 2.0),
        metric("a:b", 3.0),
        metric("c", 4.0),
    ];
    check(with_metrics(&metrics), r#"0 "svc" a_b=1|c=4 all good"#);
    // A dropped NaN metric does not shadow a later one of the same name.
    let metrics = [metric("a", f64::NAN), metric("a", 2.0)];
    check(with_metrics(&metrics), r#"0 "svc" a=2 all good"#);
}

#[test]
fn odd_service_names() {
    check(
        ok("Orders API health"),
        r#"0 "Orders API health" - all good"#,
    );
    check(ok(r#"say "hi""#), r#"0 "say _hi_" - all good"#);
    check(ok("it's"), r#"0 "it_s" - all good"#);
    check(ok("a;b$c"), r#"0 "a_b_c" - all good"#);
    check(
        ok("line\nbreak\r\ttab"),
        r#"0 "line_break__tab" - all good"#,
    );
    check(ok(""), r#"0 "_" - all good"#);
    check(
        ok("Überwachung ✓ 監視"),
        r#"0 "Überwachung ✓ 監視" - all good"#,
    );
    check(ok(r"C:\temp | 100%"), r#"0 "C:\temp | 100%" - all good"#);
}

#[test]
fn odd_summaries() {
    check(with_summary("a\nb"), r#"0 "svc" - a b"#);
    check(with_summary("a\r\nb\rc"), r#"0 "svc" - a  b c"#);
    check(with_summary("  padded \t\n"), r#"0 "svc" - padded"#);
    check(with_summary("tab\there"), r#"0 "svc" - tab here"#);
    check(
        with_summary(r#"say "hi"; cost $5 | 'x' = y"#),
        r#"0 "svc" - say "hi"; cost $5 | 'x' = y"#,
    );
    check(
        with_summary("größer als 5 °C — ✓"),
        r#"0 "svc" - größer als 5 °C — ✓"#,
    );
    check(
        with_summary("two  spaces kept"),
        r#"0 "svc" - two  spaces kept"#,
    );
    check(with_summary(r"C:\temp"), r#"0 "svc" - C:\temp"#);
    check(with_summary("bell\u{7}nul\0"), r#"0 "svc" - bell nul"#);
}

#[test]
fn empty_summary_is_a_dash() {
    check(with_summary(""), r#"0 "svc" - -"#);
    check(with_summary(" \n\t "), r#"0 "svc" - -"#);
    // A literal \n at the start would leave Checkmk an empty summary.
    check(with_summary(r"\nrest"), r#"0 "svc" - -\nrest"#);
    let empty_with_details = LocalCheck {
        summary: "",
        details: "first",
        ..ok("svc")
    };
    check(empty_with_details, r#"0 "svc" - -\nfirst"#);
}

#[test]
fn details() {
    check(with_details("", None), r#"0 "svc" - all good"#);
    check(with_details("\n \n", None), r#"0 "svc" - all good"#);
    check(
        with_details("one line", None),
        r#"0 "svc" - all good\none line"#,
    );
    check(
        with_details("a\nb\nc", None),
        r#"0 "svc" - all good\na\nb\nc"#,
    );
    check(
        with_details("a\r\nb\r\n", None),
        r#"0 "svc" - all good\na\nb"#,
    );
    check(
        with_details("\n\na\n\nb\n\n", None),
        r#"0 "svc" - all good\na\n\nb"#,
    );
    check(
        with_details("{\n  \"depth\": 5\n}", None),
        r#"0 "svc" - all good\n{\n  "depth": 5\n}"#,
    );
    check(
        with_details("trailing   \nspace\t", None),
        r#"0 "svc" - all good\ntrailing\nspace"#,
    );
    check(
        with_details("a\tb\u{1b}[0m", None),
        r#"0 "svc" - all good\na b [0m"#,
    );
    check(
        with_details(r"C:\new", None),
        r#"0 "svc" - all good\nC:\new"#,
    );
}

#[test]
fn note_follows_the_details() {
    let note = "datasource unavailable since 2025-11-23 10:00:00 UTC: connection refused";
    check(
        with_details("", Some(note)),
        &format!(r#"0 "svc" - all good\n{note}"#),
    );
    check(
        with_details("depth: 1830\n", Some(note)),
        &format!(r#"0 "svc" - all good\ndepth: 1830\n{note}"#),
    );
    check(
        with_details("a", Some("n1\nn2")),
        r#"0 "svc" - all good\na\nn1\nn2"#,
    );
    check(with_details("a", Some("")), r#"0 "svc" - all good\na"#);
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
    let expected = "<<<check_mk>>>\nVersion: checkd-0.1.0\nAgentOS: checkd\n\
                    <<<local:sep(0)>>>\n0 \"own\" - all good\n\
                    <<<<prod-orders>>>>\n<<<local:sep(0)>>>\n0 \"a\" - all good\n<<<<>>>>\n\
                    <<<<staging_orders__>>>>\n<<<local:sep(0)>>>\n0 \"b\" - all good\n<<<<>>>>\n";
    assert_eq!(out.as_str(), expected);
    assert_eq!(out.finish(), expected);
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
    let expected = "<<<check_mk>>>\nVersion: v 1\nAgentOS: checkd\n\
                    <<<local:sep(0)>>>\n0 \"own\" - all good\n\
                    <<<<a>>>>\n<<<local:sep(0)>>>\n<<<<>>>>\n\
                    <<<<_b>>>>\n<<<local:sep(0)>>>\n0 \"x\" - all good\n<<<<>>>>\n\
                    <<<local:sep(0)>>>\n0 \"own2\" - all good\n\
                    <<<<_>>>>\n<<<local:sep(0)>>>\n<<<<>>>>\n";
    assert_eq!(text, expected);
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
