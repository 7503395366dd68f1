//! Hostile input, from the expression or from the response: nothing hangs, overflows the stack
//! or panics; each is refused at load or fails its evaluation with a reason.

use checkd_expr::{Expr, Run};

use crate::support::{check_all, compile, names, show, Fixture, BODY};

/// Runs `f` on a thread with the stack of a tokio worker (2 MiB), as the daemon would.
fn on_a_worker_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn_scoped(s, f)
            .expect("spawns")
            .join()
            .expect("no panic, no stack overflow")
    })
}

/// The longest sources of every shape that nests: chains the parser takes apart by recursion.
fn deepest_sources() -> Vec<String> {
    let fill = |unit: &str, start: &str| {
        let mut s = start.to_owned();
        while s.chars().count() + unit.chars().count() <= 4096 {
            s.push_str(unit);
        }
        s
    };
    vec![
        fill("+1", "1"),
        fill("*a", "a"),
        fill("<a", "a"),
        fill("&&a", "a"),
        fill("||a", "a"),
        fill(".b", "a"),
        fill("[0]", "a"),
        fill(".f()", "a"),
        fill("-", "") + "1",
        fill("!", "") + "true",
        format!("{}1{}", "(".repeat(2000), ")".repeat(2000)),
        format!("{}1{}", "[".repeat(2000), "]".repeat(2000)),
        format!("{}1{}", "f(".repeat(1300), ")".repeat(1300)),
        format!("{}{}", "a?b:".repeat(1023), "c"),
        format!("{}1{}", "{1:".repeat(1300), "}".repeat(1300)),
        fill("'é'+", "") + "'é'",
    ]
    .into_iter()
    .map(|s| s.chars().take(4096).collect())
    .collect()
}

#[test]
fn the_deepest_sources_are_refused_without_exhausting_the_stack() {
    let refused = on_a_worker_stack(|| {
        deepest_sources()
            .iter()
            .map(|source| {
                let problems = Expr::compile(source, &names())
                    .map(|_| ())
                    .expect_err(source);
                (
                    source.chars().take(12).collect::<String>(),
                    problems[0].message.clone(),
                )
            })
            .collect::<Vec<_>>()
    });
    for (start, message) in refused {
        // the unary chains parse flat, so they are refused for their unknown names or syntax
        assert!(
            message.contains("nested deeper than 64 levels")
                || message.contains("unknown name")
                || message.contains("syntax error"),
            "{start}…: {message}"
        );
    }
}

#[test]
fn the_deepest_accepted_expressions_evaluate_on_a_worker_stack() {
    let sources = [
        format!("1{}", " + 1".repeat(63)),
        format!("{}1{}", "[".repeat(63), "]".repeat(63)),
        format!("body{}", ".jobs".repeat(63)),
        format!("{}true{}", "(true && ".repeat(63), ")".repeat(63)),
        format!("{}1{}", "-(".repeat(31), ")".repeat(31)),
        "body.workers.all(a, body.workers.all(b, [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]] != []))".to_owned(),
    ];
    let results = on_a_worker_stack(|| {
        let fixture = Fixture::new(BODY);
        sources
            .iter()
            .map(|s| show(fixture.eval(s)))
            .collect::<Vec<_>>()
    });
    assert_eq!(results[0], "Int(64)");
    assert!(results[1].starts_with("List([List(["), "{}", results[1]);
    assert_eq!(results[2], "error: no such key: jobs");
    assert_eq!(results[3], "Bool(true)");
    assert_eq!(results[4], "Int(-1)");
    assert_eq!(results[5], "Bool(true)");
}

fn long_list(n: usize) -> String {
    let items: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    format!(r#"{{"list": [{}], "words": ["a", "b"]}}"#, items.join(","))
}

#[allow(
    clippy::disallowed_methods,
    reason = "the budget must stop a runaway in real time, which is what this bounds"
)]
#[test]
fn nested_comprehensions_over_a_long_list_stop_at_the_budget() {
    let fixture = Fixture::new(&long_list(10_000));
    let stopped = "error: expression stopped after 100000 steps (the run's budget)";
    for source in [
        "body.list.all(a, body.list.all(b, b >= 0))",
        "body.list.exists(a, body.list.exists(b, b < 0))",
        "body.list.map(a, body.list.map(b, b)).size()",
        "body.list.filter(a, body.list.exists_one(b, a == b)).size()",
        "body.list.all(a, a in body.list)",
        "body.list.all(a, body.list == body.list)",
        "body.list.map(a, body.list).flatten().size()",
        "body.list.all(a, sum(body.list) > 0)",
        "body.list.map(a, body.list.map(b, b).distinct()).size()",
    ] {
        let start = std::time::Instant::now();
        assert_eq!(
            show(fixture.eval_with_budget(source, 100_000)),
            stopped,
            "{source}"
        );
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "{source} took {:?}",
            start.elapsed()
        );
    }
    // and with the default budget, in well under a second of an optimised build
    let start = std::time::Instant::now();
    assert_eq!(
        show(fixture.eval("body.list.all(a, body.list.all(b, b >= 0))")),
        "error: expression stopped after 1000000 steps (the run's budget)"
    );
    assert!(
        start.elapsed() < std::time::Duration::from_secs(30),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn one_pass_over_a_long_list_fits_the_budget() {
    let fixture = Fixture::new(&long_list(100_000));
    check_all(
        &long_list(100_000),
        &[
            ("body.list.size()", "Int(100000)"),
            ("body.list.all(x, x >= 0)", "Bool(true)"),
            ("body.list.filter(x, x % 2 == 0).size()", "Int(50000)"),
            ("sum(body.list)", "Int(4999950000)"),
            ("99999 in body.list", "Bool(true)"),
        ],
    );
    assert_eq!(
        show(fixture.eval_with_budget("body.list.all(x, x >= 0)", 99_999)),
        "error: expression stopped after 99999 steps (the run's budget)"
    );
    assert_eq!(
        show(fixture.eval_with_budget("body.list.all(x, x >= 0)", 100_000)),
        "Bool(true)"
    );
}

#[test]
fn the_budget_is_the_run_s() {
    let fixture = Fixture::new(&long_list(1_000));
    let response = fixture.response();
    let run = Run::new(&response, 2_500);
    let scope = run.scope();
    let pass = compile("body.list.all(x, x >= 0)");
    assert_eq!(show(scope.eval(&pass)), "Bool(true)");
    assert_eq!(show(scope.eval(&pass)), "Bool(true)");
    assert_eq!(
        show(scope.eval(&pass)),
        "error: expression stopped after 2500 steps (the run's budget)"
    );
    // what iterates nothing still evaluates; what iterates fails from the first element on
    assert_eq!(show(scope.eval(&compile("body.list.size()"))), "Int(1000)");
    assert_eq!(
        show(scope.eval(&compile("body.words.all(w, w != '')"))),
        "error: expression stopped after 2500 steps (the run's budget)"
    );
    assert!(scope.items(&compile("body.words")).is_err());
    // the values converted for a result count too
    let run = Run::new(&response, 500);
    assert_eq!(
        show(run.scope().eval(&compile("body.list"))),
        "error: expression stopped after 500 steps (the run's budget)"
    );
    assert!(run.scope().items(&compile("body.list")).is_err());
}

#[test]
fn arithmetic_edges_are_errors() {
    check_all(
        BODY,
        &[
            (
                "9223372036854775807 + 1",
                "error: overflow: 9223372036854775807 + 1",
            ),
            (
                "-9223372036854775807 - 2",
                "error: overflow: -9223372036854775807 - 2",
            ),
            (
                "9223372036854775807 * 2",
                "error: overflow: 9223372036854775807 * 2",
            ),
            (
                "(-9223372036854775807 - 1) / -1",
                "error: overflow: -9223372036854775808 / -1",
            ),
            (
                "(-9223372036854775807 - 1) % -1",
                "error: overflow: -9223372036854775808 % -1",
            ),
            (
                "-(-9223372036854775807 - 1)",
                "error: overflow: -(-9223372036854775808)",
            ),
            (
                "18446744073709551615u + 1u",
                "error: overflow: 18446744073709551615u + 1u",
            ),
            ("0u - 1u", "error: overflow: 0u - 1u"),
            ("1 / 0", "error: division by zero"),
            ("1 % 0", "error: modulo by zero"),
            ("1.0 / 0.0", "Double(inf)"),
            ("int(double('inf'))", "error: int: integer overflow"),
            (
                "duration('9223372036s') + duration('1s')",
                "error: overflow: 2562047h47m16s + 1s",
            ),
            (
                "timestamp('0001-01-01T00:00:00Z') - duration('1s')",
                "error: overflow: 0001-01-01T00:00:00Z - 1s",
            ),
            (
                "timestamp('9999-12-31T23:59:59Z') - timestamp('0001-01-01T00:00:00Z')",
                "error: overflow: 9999-12-31T23:59:59Z - 0001-01-01T00:00:00Z",
            ),
        ],
    );
}

#[test]
fn hostile_values_in_the_response_are_errors_or_text() {
    // deeper than serde_json's limit of 128: not JSON
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let fixture = Fixture::new(&deep);
    assert_eq!(show(fixture.eval("size(text)")), "Int(400)");
    assert_eq!(show(fixture.eval("type(body) == string")), "Bool(true)");
    // at the limit: JSON, converted and printed without trouble
    let deep = format!("{}{}", "[".repeat(127), "]".repeat(127));
    let rendered = Fixture::new(&deep)
        .eval("body")
        .expect("converts")
        .to_string();
    assert_eq!(rendered.len(), 254);
    // a pattern from the response: compiled under a size limit, or refused
    check_all(
        r#"{"pattern": "(a{1000}){1000}", "bad": "(", "text": "aaa"}"#,
        &[
            ("body.text.matches(body.pattern)", "error: invalid regex /(a{1000}){1000}/: compiled regex exceeds size limit of 1048576 bytes"),
            ("body.text.matches(body.bad)", "error: invalid regex /(/: unclosed group"),
            ("capture(body.text, body.bad)", "error: invalid regex /(/: unclosed group"),
        ],
    );
    // nothing from the process: `env` is only what the run was given
    assert_eq!(
        show(Fixture::new(BODY).eval("env.vars.PATH")),
        "error: no such key: PATH"
    );
}

#[test]
fn odd_expressions_do_not_panic() {
    let fixture = Fixture::new(BODY);
    for source in [
        "now.getHours('+25:00')",
        "now.getHours('nope')",
        "now.getDayOfWeek('-23:59')",
        "timestamp(253402300800)",
        "timestamp('0000-01-01T00:00:00Z')",
        "duration('-9223372037s')",
        "int('-9223372036854775809')",
        "uint(18446744073709551616.0)",
        "string(b'\\xff')",
        "bytes('é').size()",
        "type(type(1))",
        "dyn([1])[0]",
        "[1, 2][2u]",
        "[1][1.5]",
        "{1: 2}[1u]",
        "{true: 1}[true]",
        "body.workers[9223372036854775807]",
        "body.workers[18446744073709551615u]",
        "body.workers[1e300]",
        "'abc'.matches('')",
        "captures('', '')",
        "capture('', '()')",
        "distinct([double('NaN'), double('NaN')])",
        "max([double('NaN')])",
        "epoch(-0.0)",
        "epoch(253402300799.9999999)",
        "sum([1e308, 1e308])",
        "avg([1e308, 1e308])",
        "has(body.workers[0].name)",
        "body.tags.exists_one(t, t.matches('a'))",
        "[[]].flatten().flatten()",
    ] {
        let _ = fixture.eval(source);
    }
}
