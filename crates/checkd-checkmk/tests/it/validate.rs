//! The validator: what it accepts, what it parses, and every problem it reports.

use checkd_checkmk::validate::{
    parse_local_line, parse_metrics, validate_agent_output, ParsedLine, ParsedMetric, ParsedState,
};
use checkd_model::State;

const HEAD: &str = "<<<check_mk>>>\nVersion: checkd-0.1.0\nAgentOS: checkd\n";

/// Validates `text` and compares the problems, one `line: message` string each.
fn check(text: &str, expected: &[&str]) {
    let problems: Vec<String> = match validate_agent_output(text) {
        Ok(_) => Vec::new(),
        Err(problems) => problems.iter().map(ToString::to_string).collect(),
    };
    assert_eq!(problems, expected, "{text:?}");
}

/// Validates one local-check line inside a local section (it is on line 5).
fn check_line(line: &str, expected: Option<&str>) {
    let text = format!("{HEAD}<<<local:sep(0)>>>\n{line}\n");
    let expected: Vec<String> = expected.iter().map(|m| format!("line 5: {m}")).collect();
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    check(&text, &expected);
}

fn metric(name: &str, value: f64) -> ParsedMetric {
    ParsedMetric {
        name: name.to_string(),
        value,
        upper: (None, None),
        lower: (None, None),
        min: None,
        max: None,
    }
}

#[test]
fn checkmk_parse_examples() {
    let a = metric("a", 5.0);
    let cases = [
        ("a=5", a.clone()),
        (
            "a=5;7",
            ParsedMetric {
                upper: (Some(7.0), None),
                ..a.clone()
            },
        ),
        (
            "a=5;7;8",
            ParsedMetric {
                upper: (Some(7.0), Some(8.0)),
                ..a.clone()
            },
        ),
        (
            "a=5;7;8;1;9",
            ParsedMetric {
                upper: (Some(7.0), Some(8.0)),
                min: Some(1.0),
                max: Some(9.0),
                ..a.clone()
            },
        ),
        (
            "a=5;3:7;2:8;1;9",
            ParsedMetric {
                upper: (Some(7.0), Some(8.0)),
                lower: (Some(3.0), Some(2.0)),
                min: Some(1.0),
                max: Some(9.0),
                ..a.clone()
            },
        ),
        (
            "a=5;3:7;8;1;9",
            ParsedMetric {
                upper: (Some(7.0), Some(8.0)),
                lower: (Some(3.0), None),
                min: Some(1.0),
                max: Some(9.0),
                ..a.clone()
            },
        ),
        ("a=5;;;;", a.clone()),
        (
            "count=37;40:;30:",
            ParsedMetric {
                lower: (Some(40.0), Some(30.0)),
                ..metric("count", 37.0)
            },
        ),
        (
            "a=-0.5;;;-1",
            ParsedMetric {
                value: -0.5,
                min: Some(-1.0),
                ..a.clone()
            },
        ),
    ];
    for (token, expected) in cases {
        assert_eq!(parse_metrics(token), Ok(vec![expected]), "{token}");
    }
    assert_eq!(parse_metrics("-"), Ok(vec![]));
    assert_eq!(
        parse_metrics("a=1|b=2"),
        Ok(vec![metric("a", 1.0), metric("b", 2.0)])
    );
}

#[test]
fn metrics_that_are_rejected() {
    let cases = [
        ("", "empty metrics field (write - for none)"),
        ("a=1||b=2", "empty metric entry"),
        ("a", r#"metric entry "a" has no '='"#),
        ("=5", "metric name is empty"),
        (
            "a b=5",
            r#"metric name "a b" contains ' ' (allowed: A-Z a-z 0-9 - _ .)"#,
        ),
        (
            "a:b=5",
            r#"metric name "a:b" contains ':' (allowed: A-Z a-z 0-9 - _ .)"#,
        ),
        (
            "a/b=5",
            r#"metric name "a/b" contains '/' (allowed: A-Z a-z 0-9 - _ .)"#,
        ),
        (
            r"a\b=5",
            r#"metric name "a\\b" contains '\\' (allowed: A-Z a-z 0-9 - _ .)"#,
        ),
        ("a=", r#"metric "a" has no value"#),
        (
            "a=NaN",
            r#"value of metric "a" is "NaN": NaN and infinity are not allowed"#,
        ),
        (
            "a=inf",
            r#"value of metric "a" is "inf": NaN and infinity are not allowed"#,
        ),
        (
            "a=-Infinity",
            r#"value of metric "a" is "-Infinity": NaN and infinity are not allowed"#,
        ),
        (
            "a=5ms",
            r#"value of metric "a" has a unit suffix: "5ms" (write bare numbers)"#,
        ),
        (
            "a=80%",
            r#"value of metric "a" has a unit suffix: "80%" (write bare numbers)"#,
        ),
        (
            "a=5;7s",
            r#"warn of metric "a" has a unit suffix: "7s" (write bare numbers)"#,
        ),
        (
            "a=1e5",
            r#"value of metric "a" uses exponent notation: "1e5""#,
        ),
        (
            "a=.5",
            r#"value of metric "a" is not a plain decimal number: ".5""#,
        ),
        (
            "a=+5",
            r#"value of metric "a" is not a plain decimal number: "+5""#,
        ),
        (
            "a=5;;nan",
            r#"crit of metric "a" is "nan": NaN and infinity are not allowed"#,
        ),
        (
            "a=5;:7",
            r#"warn level of metric "a" has nothing before ':'"#,
        ),
        (
            "a=5;1:2:3",
            r#"warn of metric "a" is not a plain decimal number: "2:3""#,
        ),
        (
            "a=5;;;0:1",
            r#"min of metric "a" is not a plain decimal number: "0:1""#,
        ),
        (
            "a=5;1;2;3;4;5",
            r#"metric "a" has 6 fields; at most 5 (value;warn;crit;min;max)"#,
        ),
        ("a=1|a=2", r#"duplicate metric "a""#),
    ];
    for (token, expected) in cases {
        assert_eq!(parse_metrics(token), Err(expected.to_string()), "{token}");
    }
    let huge = format!("a={}0", f64::MAX);
    assert_eq!(
        parse_metrics(&huge),
        Err(format!(
            "value of metric \"a\" is out of range: {:?}",
            &huge[2..]
        ))
    );
}

#[test]
fn a_local_line_parses_into_its_fields() {
    let line = r#"cached(1763890000,300) 2 "Orders API queue" depth=1830;500;1000;0 queue depth 1830 (crit at 1000)\ndepth: 1830\n\nworkers: 2"#;
    let expected = ParsedLine {
        cached: Some((1763890000, 300)),
        state: ParsedState::Fixed(State::Crit),
        service: "Orders API queue".to_string(),
        metrics: vec![ParsedMetric {
            upper: (Some(500.0), Some(1000.0)),
            min: Some(0.0),
            ..metric("depth", 1830.0)
        }],
        summary: "queue depth 1830 (crit at 1000)".to_string(),
        details: vec![
            "depth: 1830".to_string(),
            String::new(),
            "workers: 2".to_string(),
        ],
    };
    assert_eq!(parse_local_line(line), Ok(expected));
    let p = parse_local_line(r#"P "x" - a summary with  two spaces"#).map(|l| (l.state, l.summary));
    assert_eq!(
        p,
        Ok((ParsedState::P, "a summary with  two spaces".to_string()))
    );
}

#[test]
fn local_lines_that_are_rejected() {
    let two_spaces = "more than one space between fields (Checkmk drops the line)";
    let cases = [
        (r#"0 "a" - ok"#, None),
        (r#"0  "a" - ok"#, Some(two_spaces)),
        (r#"0 "a"  - ok"#, Some(two_spaces)),
        (r#"0 "a" -  ok"#, Some(two_spaces)),
        (r#"cached(1,2)  0 "a" - ok"#, Some(two_spaces)),
        (
            r#"0 "a" -"#,
            Some("missing summary after the metrics field"),
        ),
        (
            r#"0 "a""#,
            Some("missing metrics field after the service name"),
        ),
        (r#"0 "a"- ok"#, Some("missing space after the service name")),
        ("0 a - ok", Some("service name is not in double quotes")),
        (
            "0 'a' - ok",
            Some("service name in single quotes (write it in double quotes)"),
        ),
        (r#"0 "a - ok"#, Some(r#"service name without closing '"'"#)),
        (
            r#"0 "" - ok"#,
            Some(r#"invalid service name "": service name is empty"#),
        ),
        (
            r#"0 "it's" - ok"#,
            Some(
                r#"invalid service name "it's": service name contains "'", which breaks service discovery"#,
            ),
        ),
        (
            r#"0 "a;b" - ok"#,
            Some(
                r#"invalid service name "a;b": service name contains ';', which the monitoring core rejects or mangles"#,
            ),
        ),
        (
            r#"4 "a" - ok"#,
            Some(r#"invalid state "4" (expected 0, 1, 2, 3 or P)"#),
        ),
        (
            r#"OK "a" - ok"#,
            Some(r#"invalid state "OK" (expected 0, 1, 2, 3 or P)"#),
        ),
        ("0", Some("missing service name after the state")),
        (
            r#"0 "a" a=5ms ok"#,
            Some(
                r#"invalid metrics "a=5ms": value of metric "a" has a unit suffix: "5ms" (write bare numbers)"#,
            ),
        ),
        (
            r#"0 "a" a=NaN ok"#,
            Some(
                r#"invalid metrics "a=NaN": value of metric "a" is "NaN": NaN and infinity are not allowed"#,
            ),
        ),
        (
            r#"0 "a" a=inf ok"#,
            Some(
                r#"invalid metrics "a=inf": value of metric "a" is "inf": NaN and infinity are not allowed"#,
            ),
        ),
        (
            r#"0 "a" a\b=1 ok"#,
            Some(
                r#"invalid metrics "a\\b=1": metric name "a\\b" contains '\\' (allowed: A-Z a-z 0-9 - _ .)"#,
            ),
        ),
        (
            r#"0 "a" - \nonly details"#,
            Some(r"empty summary before the first \n (Checkmk rejects an empty summary)"),
        ),
        (
            r#"0 "a" - ok "#,
            Some("trailing whitespace (Checkmk strips it)"),
        ),
        (r#" 0 "a" - ok"#, Some("line starts with whitespace")),
        ("0 \"a\" - \tok", Some("summary starts with whitespace")),
        (
            "0 \"a\" - o\u{0}k",
            Some(r"control character '\0' in the line"),
        ),
        (
            "0 \"a\" - o\u{1b}k",
            Some(r"control character '\u{1b}' in the line"),
        ),
        ("0 \"a\" - tab\tinside is fine", None),
        (
            r#"cached(1,0) 0 "a" - ok"#,
            Some("cached(1,0) has interval 0, which Checkmk divides by"),
        ),
        (
            r#"cached(-1,5) 0 "a" - ok"#,
            Some("malformed prefix cached(-1,5) (expected cached(T,I) with integers)"),
        ),
        (
            r#"cached(1,5 0 "a" - ok"#,
            Some("cached( prefix without closing ')'"),
        ),
        (
            r#"cached(1,5)0 "a" - ok"#,
            Some("missing space after cached(1,5)"),
        ),
        (
            r#"cached(99999999999999999999,5) 0 "a" - ok"#,
            Some("time in cached(99999999999999999999,5) is out of range"),
        ),
    ];
    for (line, expected) in cases {
        check_line(line, expected);
    }
}

#[test]
fn real_newline_and_cr_inside_a_line() {
    let message = "real newline inside the line (details are separated by a literal \\n)";
    assert_eq!(parse_local_line("0 \"a\" - x\ny"), Err(message.to_string()));
    let message = "carriage return inside the line";
    assert_eq!(parse_local_line("0 \"a\" - x\ry"), Err(message.to_string()));
}

#[test]
fn crlf_line_endings() {
    let text = "<<<local:sep(0)>>>\r\n0 \"a\" - ok\r\n";
    check(
        text,
        &[
            "line 1: CRLF line ending (use LF only)",
            "line 2: CRLF line ending (use LF only)",
        ],
    );
}

#[test]
fn structure_problems() {
    check("", &["line 1: output is empty"]);
    check(
        "<<<local:sep(0)>>>\n0 \"a\" - ok",
        &["line 2: no newline at the end of the output"],
    );
    check(
        "\u{feff}<<<local:sep(0)>>>\n",
        &["line 1: byte order mark at the start (write UTF-8 without BOM)"],
    );
    check(
        "0 \"a\" - ok\n",
        &["line 1: line outside any section (Checkmk ignores it)"],
    );
    check(
        "<<<local:sep(0)>>>\n\n0 \"a\" - ok\n",
        &["line 2: empty line"],
    );
    check(
        "<<<local>>>\n0 \"a\" - ok\n",
        &["line 1: local section without sep(0): Checkmk would split its lines on whitespace and collapse spaces in summaries"],
    );
    check(
        "<<<local:sep(9)>>>\n",
        &["line 1: local section without sep(0): Checkmk would split its lines on whitespace and collapse spaces in summaries"],
    );
    check(
        "<<<local-checks>>>\nx\n",
        &["line 1: invalid section name \"local-checks\" (allowed: A-Z a-z 0-9 _)"],
    );
    check(
        "<<<löcal>>>\n",
        &["line 1: invalid section name \"löcal\" (allowed: A-Z a-z 0-9 _)"],
    );
    check(
        "<<<:sep(0)>>>\n",
        &["line 1: invalid section name \"\" (allowed: A-Z a-z 0-9 _)"],
    );
    check(
        "<<<local:sep(0)>>>\n<<<>>>\n",
        &["line 2: section footer <<<>>> is not part of the protocol"],
    );
    check(
        "<<<x:sep(a)>>>\n",
        &["line 1: sep(a) is not a character code"],
    );
    check(
        "<<<x:color(red)>>>\n",
        &["line 1: unknown section option \"color\""],
    );
    check(
        "<<<x:sep>>>\n",
        &["line 1: malformed section option \"sep\" (expected name(value))"],
    );
    check(
        "<<<x:cached(1)>>>\n",
        &["line 1: invalid section option \"cached(1)\""],
    );
    check(
        "<<<x:cached(1,2):persist(5):encoding(ascii):nostrip():sep(124)>>>\nanything goes\n",
        &[],
    );
    check(
        "<<<check_mk>>>\nVersion checkd\n",
        &["line 2: check_mk line is not `Key: value`"],
    );
    check("<<<check_mk>>>\nOnlyFrom: \nVersion: 1\n", &[]);
    check(
        "<<<watchpost>>>\nab\u{7}c\n",
        &["line 2: control character '\\u{7}' in the line"],
    );
    // A broken header is reported once, not once more for every line below it.
    check(
        "<<<bad-name>>>\n0 \"a\" - ok\n1 \"b\" - ok\n",
        &["line 1: invalid section name \"bad-name\" (allowed: A-Z a-z 0-9 _)"],
    );
}

#[test]
fn piggyback_problems() {
    let open = "<<<<prod>>>>\n<<<local:sep(0)>>>\n0 \"a\" - ok\n";
    check(
        open,
        &["line 1: piggyback block for \"prod\" is not closed (end it with <<<<>>>>)"],
    );
    check(
        "<<<<>>>>\n",
        &["line 1: <<<<>>>> closes no piggyback block"],
    );
    check(
        "<<<<a>>>>\n<<<<b>>>>\n<<<<>>>>\n",
        &["line 2: piggyback block for \"b\" opens while the block for \"a\" from line 1 is still open (close it with <<<<>>>>)"],
    );
    check(
        "<<<<prod orders>>>>\n<<<<>>>>\n",
        &["line 1: invalid piggyback host name \"prod orders\": host name contains ' ', which Checkmk replaces with '_' (allowed: A-Z a-z 0-9 - _ .)"],
    );
    check(
        "<<<<.x>>>>\n<<<<>>>>\n",
        &["line 1: invalid piggyback host name \".x\": host name starts with '.'; it must start with a letter, a digit or '_'"],
    );
    // After a block is closed, lines need a new section header.
    check(
        "<<<<a>>>>\n<<<local:sep(0)>>>\n<<<<>>>>\n0 \"own\" - ok\n",
        &["line 4: line outside any section (Checkmk ignores it)"],
    );
    check(
        "<<<<a>>>>\n0 \"x\" - ok\n<<<<>>>>\n",
        &["line 2: line outside any section (Checkmk ignores it)"],
    );
}

#[test]
fn duplicate_services_per_host() {
    let text = "<<<local:sep(0)>>>\n0 \"a\" - ok\n\
                <<<<prod>>>>\n<<<local:sep(0)>>>\n0 \"a\" - ok\n0 \"b\" - ok\n<<<<>>>>\n\
                <<<<staging>>>>\n<<<local:sep(0)>>>\n0 \"b\" - ok\n<<<<>>>>\n";
    check(text, &[]);
    let text = "<<<local:sep(0)>>>\n0 \"a\" - ok\n1 \"a\" - not ok\n";
    check(
        text,
        &["line 3: duplicate service \"a\" (first on line 2): Checkmk keeps only the last one"],
    );
    // Two blocks for one host are one host to Checkmk; a second local section of the own host too.
    let text = "<<<<prod>>>>\n<<<local:sep(0)>>>\n0 \"a\" - ok\n<<<<>>>>\n\
                <<<local:sep(0)>>>\n0 \"a\" - ok\n<<<local:sep(0)>>>\n0 \"own\" - ok\n\
                <<<<prod>>>>\n<<<local:sep(0)>>>\n2 \"a\" - crit\n<<<<>>>>\n\
                <<<local:sep(0)>>>\n0 \"own\" - ok\n";
    check(
        text,
        &[
            "line 11: duplicate service \"a\" (first on line 3): Checkmk keeps only the last one",
            "line 14: duplicate service \"own\" (first on line 8): Checkmk keeps only the last one",
        ],
    );
}

#[test]
fn every_problem_is_reported_in_line_order() {
    let text = "<<<<x y>>>>\n<<<local>>>\n4 \"a\" - ok\n0 \"b\"  - ok\r\n";
    check(
        text,
        &[
            "line 1: invalid piggyback host name \"x y\": host name contains ' ', which Checkmk replaces with '_' (allowed: A-Z a-z 0-9 - _ .)",
            "line 1: piggyback block for \"x y\" is not closed (end it with <<<<>>>>)",
            "line 2: local section without sep(0): Checkmk would split its lines on whitespace and collapse spaces in summaries",
            "line 3: invalid state \"4\" (expected 0, 1, 2, 3 or P)",
            "line 4: CRLF line ending (use LF only)",
            "line 4: more than one space between fields (Checkmk drops the line)",
        ],
    );
}

#[test]
fn the_documented_example_parses() {
    let text = r#"<<<check_mk>>>
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
    let parsed = validate_agent_output(text).unwrap();
    assert_eq!(parsed.agent_field("Version"), Some("checkd-0.1.0"));
    assert_eq!(parsed.agent_field("AgentOS"), Some("checkd"));
    assert_eq!(parsed.agent_field("Nope"), None);
    let names: Vec<Option<&str>> = parsed.hosts.iter().map(|h| h.name.as_deref()).collect();
    assert_eq!(names, vec![None, Some("prod-orders")]);
    let own = parsed.host(None).unwrap();
    assert_eq!(own.services.len(), 1);
    assert_eq!(own.sections[0].header, "<<<check_mk>>>");
    let failed = own.service("checkd").unwrap().metric("failed").unwrap();
    assert_eq!(failed.to_metric().upper.crit, Some(5.0));
    let health = parsed
        .service(Some("prod-orders"), "Orders API health")
        .unwrap();
    assert_eq!(health.cached, Some((1763890000, 300)));
    assert_eq!(health.state, ParsedState::Fixed(State::Ok));
    assert_eq!(health.summary, "HTTP 200 in 81 ms");
    assert!(health.details.is_empty());
    let queue = parsed
        .service(Some("prod-orders"), "Orders API queue")
        .unwrap();
    assert_eq!(queue.details, vec!["depth: 1830", "workers: 2"]);
    assert_eq!(parsed.service(Some("prod-orders"), "checkd"), None);
}

#[test]
fn a_spool_file_without_header_is_valid() {
    let text = "<<<<prod>>>>\n<<<local:sep(0)>>>\n0 \"a\" - ok\n<<<<>>>>\n";
    let parsed = validate_agent_output(text).unwrap();
    assert_eq!(parsed.hosts.len(), 2);
    assert!(parsed.hosts[0].services.is_empty());
    assert_eq!(parsed.agent_field("Version"), None);
}
