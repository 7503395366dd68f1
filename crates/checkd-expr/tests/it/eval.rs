//! Evaluation through the public API: what a run binds, the JSON conversion, errors, the typed
//! evaluations, `foreach` items, `let` bindings, and the text a value renders as.

use checkd_expr::{Expr, Run, Template, Value};

use crate::support::{check_all, compile, names, show, Fixture, BODY};

#[test]
fn a_run_binds_the_response() {
    let mut fixture = Fixture::new(BODY);
    fixture.status = 503;
    fixture.headers = vec![
        ("Content-Type".to_owned(), "application/json".to_owned()),
        ("Set-Cookie".to_owned(), "a=1".to_owned()),
        ("set-cookie".to_owned(), "b=2".to_owned()),
    ];
    let cases = [
        ("status", "Int(503)"),
        ("headers['content-type']", "String(\"application/json\")"),
        ("headers['set-cookie']", "String(\"a=1, b=2\")"),
        ("'Content-Type' in headers", "Bool(false)"),
        ("headers.size()", "Int(2)"),
        ("body.jobs.failed", "Int(3)"),
        ("text.startsWith('{')", "Bool(true)"),
        (
            "elapsed",
            "Duration(TimeDelta { secs: 1, nanos: 500000000 })",
        ),
        ("now", "Timestamp(2026-12-06T03:42:17+00:00)"),
        ("env.name", "String(\"prod\")"),
        ("env.vars.region", "String(\"eu-west-1\")"),
        (
            "env.vars",
            "Map([(\"expected_version\", String(\"2.4.7\")), (\"region\", String(\"eu-west-1\"))])",
        ),
        ("env.vars.missing", "error: no such key: missing"),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|(source, expected)| {
            let got = show(fixture.eval(source));
            (got != *expected).then(|| format!("{source}: expected {expected}, got {got}"))
        })
        .collect();
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn json_numbers_are_ints_unless_they_have_a_fraction_or_exponent() {
    check_all(
        r#"{"i": 42, "n": -7, "big": 18446744073709551615, "d": 1.5, "whole": 2.0, "e": 1e3}"#,
        &[
            ("body.i", "Int(42)"),
            ("body.n", "Int(-7)"),
            ("body.big", "UInt(18446744073709551615)"),
            ("body.d", "Double(1.5)"),
            ("body.whole", "Double(2.0)"),
            ("body.e", "Double(1000.0)"),
            ("body.i + 1", "Int(43)"),
            ("body.i * 1.5", "error: cannot apply `*` to int and double (CEL does not mix number types in arithmetic: convert with double(x) or int(x))"),
            ("double(body.i) * 1.5", "Double(63.0)"),
            ("body.i < body.d * 100.0", "Bool(true)"),
            ("body.i == 42.0", "Bool(true)"),
        ],
    );
}

#[test]
fn a_body_that_is_not_json_is_its_text() {
    let fixture = Fixture::new("OK: 3 workers busy\n");
    let response = fixture.response();
    assert!(!Run::new(&response, Run::DEFAULT_BUDGET).body_is_json());
    check_all(
        "OK: 3 workers busy\n",
        &[
            ("body", "String(\"OK: 3 workers busy\\n\")"),
            ("body == text", "Bool(true)"),
            (r#"int(capture(body, "(\\d+) workers"))"#, "Int(3)"),
            ("body.workers", "error: cannot index string with string (the body is not JSON, so `body` is its text)"),
        ],
    );
    // serde_json refuses a number beyond a double's range: the whole body is then text
    check_all(
        r#"{"huge": 1e400}"#,
        &[(
            "body.huge",
            "error: cannot index string with string (the body is not JSON, so `body` is its text)",
        )],
    );
    // any JSON value is JSON, a scalar too
    check_all("42", &[("body", "Int(42)"), ("text", "String(\"42\")")]);
    check_all(" \"up\" ", &[("body", "String(\"up\")")]);
    check_all("", &[("body", "String(\"\")"), ("size(text)", "Int(0)")]);
    check_all(
        "{\"a\": 1} trailing",
        &[("body", "String(\"{\\\"a\\\": 1} trailing\")")],
    );

    let mut invalid = Fixture::new("");
    invalid.body = vec![b'o', b'k', 0xff, b'!'];
    assert_eq!(show(invalid.eval("text")), "String(\"ok\u{fffd}!\")");
    assert_eq!(show(invalid.eval("body")), "String(\"ok\u{fffd}!\")");
}

#[test]
fn json_objects_keep_their_order_and_the_last_of_repeated_keys() {
    let many: Vec<String> = (0..20).map(|i| format!("\"k{i:02}\": {i}")).collect();
    let body = format!(
        "{{{}, \"dup\": 1, \"dup\": 2, \"k05\": \"last\"}}",
        many.join(", ")
    );
    check_all(
        &body,
        &[
            ("body.k00 + body.k19", "Int(19)"),
            ("body.dup", "Int(2)"),
            ("body.k05", "String(\"last\")"),
            ("body.size()", "Int(21)"),
            ("body.map(k, k)[5]", "String(\"k05\")"),
            ("body.map(k, k)[20]", "String(\"dup\")"),
            ("'k07' in body", "Bool(true)"),
            ("'k20' in body", "Bool(false)"),
            ("body.k20", "error: no such key: k20"),
            ("has(body.k20) ? body.k20 : -1", "Int(-1)"),
        ],
    );
    check_all(
        r#"{"b": 1, "a": 2, "b": 3}"#,
        &[("body", "Map([(\"b\", Int(3)), (\"a\", Int(2))])")],
    );
}

#[test]
fn failing_expressions_say_why_in_one_line() {
    check_all(
        BODY,
        &[
            ("body.nope", "error: no such key: nope"),
            ("body.jobs.nope.deeper", "error: no such key: nope"),
            ("body.jobs.failed / 0", "error: division by zero"),
            ("body.jobs.failed % 0", "error: modulo by zero"),
            (
                "9223372036854775807 + body.jobs.failed",
                "error: overflow: 9223372036854775807 + 3",
            ),
            (
                "-9223372036854775807 - 1 - body.jobs.failed",
                "error: overflow: -9223372036854775808 - 3",
            ),
            (
                "body.version > 2",
                "error: cannot apply `>` to string and int",
            ),
            ("body.workers[3]", "error: index out of bounds: 3"),
            ("body.workers[-1]", "error: index out of bounds: -1"),
            ("body.workers['a']", "error: cannot index list with string"),
            ("body.jobs.failed.x", "error: cannot index int with string"),
            ("body.tags.name", "error: cannot index list with string"),
            ("body.tags + 1", "error: cannot apply `+` to list and int"),
            (
                "body.jobs + body.jobs",
                "error: cannot apply `+` to map and map",
            ),
            ("body.tags - 1", "error: cannot apply `-` to list and int"),
            ("body.jobs * 2", "error: cannot apply `*` to map and int"),
            ("body.tags / 2", "error: cannot apply `/` to list and int"),
            ("body.jobs % 2", "error: cannot apply `%` to map and int"),
            (
                "body.version.startsWith(1)",
                "error: `startsWith` cannot be called on string with (int)",
            ),
            ("size(1)", "error: `size` cannot be called with (int)"),
            (
                "body.jobs.failed && true",
                "error: cannot apply `&&` to int and bool",
            ),
            ("!body.version", "error: cannot apply `!` to string"),
            (
                "body.jobs.all(k, k)",
                "error: cannot apply `&&` to bool and string",
            ),
            (
                "body.jobs.failed.all(x, x)",
                "error: expected a list or a map, found int",
            ),
            (
                "{'a': 1, 'a': 2}",
                "error: repeated key \"a\" in a map literal",
            ),
            ("{[1]: 2}", "error: list cannot be a map key"),
            ("body.nothing.x", "error: cannot index null with string"),
            (
                "body.nothing + 1",
                "error: cannot apply `+` to null and int",
            ),
        ],
    );
}

#[test]
fn equality_compares_the_response_s_lists_and_maps_with_the_expression_s() {
    check_all(
        BODY,
        &[
            ("body.tags == ['a', 'b']", "Bool(true)"),
            ("['a', 'b'] == body.tags", "Bool(true)"),
            ("['a', 'b'] != body.tags", "Bool(false)"),
            ("['b', 'a'] == body.tags", "Bool(false)"),
            ("body.tags.map(t, t) == body.tags", "Bool(true)"),
            ("body.jobs == {'total': 40, 'failed': 3}", "Bool(true)"),
            ("{'failed': 3.0, 'total': 40u} == body.jobs", "Bool(true)"),
            ("body.jobs == {'failed': 3}", "Bool(false)"),
            ("body.nested == [[1, 2], [3], 4]", "Bool(true)"),
            ("[[1, 2], [3], 4] == body.nested", "Bool(true)"),
            ("body.tags == 'a'", "Bool(false)"),
            ("'a' in body.tags", "Bool(true)"),
            ("[3] in body.nested", "Bool(true)"),
            ("'failed' in body.jobs", "Bool(true)"),
            ("1 in body.jobs", "Bool(false)"),
            (
                "body.tags + ['c']",
                "List([String(\"a\"), String(\"b\"), String(\"c\")])",
            ),
            (
                "['z'] + body.tags",
                "List([String(\"z\"), String(\"a\"), String(\"b\")])",
            ),
            ("body.nothing == null", "Bool(true)"),
        ],
    );
}

#[test]
fn eval_bool_needs_a_boolean() {
    let fixture = Fixture::new(BODY);
    let response = fixture.response();
    let run = Run::new(&response, Run::DEFAULT_BUDGET);
    let scope = run.scope();
    let eval = |source: &str| scope.eval_bool(&compile(source)).map_err(|e| e.message);
    assert_eq!(eval("body.flag"), Ok(true));
    assert_eq!(eval("body.jobs.failed > 5"), Ok(false));
    assert_eq!(
        eval("body.jobs.failed"),
        Err("expected a boolean, found int".to_owned())
    );
    assert_eq!(
        eval("body.nothing"),
        Err("expected a boolean, found null".to_owned())
    );
    assert_eq!(
        eval("now"),
        Err("expected a boolean, found timestamp".to_owned())
    );
    assert_eq!(eval("body.nope"), Err("no such key: nope".to_owned()));
}

#[test]
fn eval_number_takes_any_number_or_a_duration() {
    let fixture = Fixture::new(BODY);
    let response = fixture.response();
    let run = Run::new(&response, Run::DEFAULT_BUDGET);
    let scope = run.scope();
    let eval = |source: &str| scope.eval_number(&compile(source)).map_err(|e| e.message);
    assert_eq!(eval("body.jobs.failed"), Ok(3.0));
    assert_eq!(eval("body.big"), Ok(18446744073709551615.0));
    assert_eq!(eval("body.disks[1].used_pct"), Ok(93.25));
    assert_eq!(eval("elapsed"), Ok(1.5));
    assert_eq!(eval("now - timestamp(body.last_success)"), Ok(2537.0));
    assert_eq!(
        eval("body.version"),
        Err("expected a number, found string".to_owned())
    );
    assert_eq!(eval("[1]"), Err("expected a number, found list".to_owned()));
    assert_eq!(
        eval("double('NaN')"),
        Err("expected a finite number, found NaN".to_owned())
    );
    assert_eq!(
        eval("1.0 / 0.0"),
        Err("expected a finite number, found inf".to_owned())
    );
    assert_eq!(
        eval("-1.0 / 0.0"),
        Err("expected a finite number, found -inf".to_owned())
    );
}

#[test]
fn items_are_a_list_s_elements_or_a_map_s_entries() {
    let fixture = Fixture::new(
        r#"{"list": [10, 20, 30], "components": {"db": {"status": "UP"}, "disk": {"status": "DOWN"}}, "n": 1}"#,
    );
    let response = fixture.response();
    let run = Run::new(&response, Run::DEFAULT_BUDGET);
    let scope = run.scope();

    let items = scope.items(&compile("body.list")).expect("a list");
    assert_eq!((items.len(), items.is_empty()), (3, false));
    let seen: Vec<String> = (0..items.len())
        .map(|i| show(scope.with_item(&items, i).eval(&compile("[index, item]"))))
        .collect();
    assert_eq!(
        seen,
        [
            "List([Int(0), Int(10)])",
            "List([Int(1), Int(20)])",
            "List([Int(2), Int(30)])"
        ]
    );

    let entries = scope.items(&compile("body.components")).expect("a map");
    let seen: Vec<String> = (0..entries.len())
        .map(|i| {
            let child = scope.with_item(&entries, i);
            show(child.eval(&compile("item.key + ': ' + item.value.status")))
        })
        .collect();
    assert_eq!(seen, ["String(\"db: UP\")", "String(\"disk: DOWN\")"]);

    let empty = scope
        .items(&compile("body.list.filter(x, x > 100)"))
        .expect("a list");
    assert!(empty.is_empty());
    let flattened = scope
        .items(&compile("[[1, 2], [3]].flatten()"))
        .expect("a list");
    assert_eq!(flattened.len(), 3);

    let error = scope.items(&compile("body.n")).expect_err("not a list");
    assert_eq!(
        error.message,
        "expected a list or a map to iterate, found int"
    );
    let error = scope.items(&compile("body.nope")).expect_err("missing");
    assert_eq!(error.message, "no such key: nope");

    // past the items, `item` is not bound and naming it fails
    let past = scope.with_item(&items, 3);
    assert_eq!(
        show(past.eval(&compile("item"))),
        "error: unknown name `item`"
    );
}

#[test]
fn items_nest_and_shadow() {
    let fixture = Fixture::new(
        r#"{"clusters": [{"name": "a", "nodes": [1, 2]}, {"name": "b", "nodes": [3]}]}"#,
    );
    let response = fixture.response();
    let run = Run::new(&response, Run::DEFAULT_BUDGET);
    let scope = run.scope();
    let clusters = scope.items(&compile("body.clusters")).expect("clusters");
    let mut seen = Vec::new();
    for c in 0..clusters.len() {
        let cluster = scope.with_item(&clusters, c);
        let name = cluster
            .eval(&compile("item.name"))
            .expect("name")
            .to_string();
        let nodes = cluster.items(&compile("item.nodes")).expect("nodes");
        for n in 0..nodes.len() {
            seen.push(format!(
                "{name}/{}",
                cluster
                    .with_item(&nodes, n)
                    .eval(&compile("item"))
                    .expect("node")
            ));
        }
    }
    assert_eq!(seen, ["a/1", "a/2", "b/3"]);
}

#[test]
fn bind_adds_let_values_in_order() {
    let fixture = Fixture::new(BODY);
    let response = fixture.response();
    let run = Run::new(&response, Run::DEFAULT_BUDGET);
    let mut scope = run.scope();
    let names = names().with("unhealthy").with("share");
    let unhealthy =
        Expr::compile("body.workers.filter(w, w.status != 'healthy')", &names).expect("let");
    let share = Expr::compile(
        "double(unhealthy.size()) / double(body.workers.size())",
        &names,
    )
    .expect("let");
    scope.bind("unhealthy", &unhealthy).expect("binds");
    scope.bind("share", &share).expect("binds");
    let summary = Template::compile(
        "{unhealthy.size()} of {body.workers.size()} unhealthy ({share})",
        &names,
    )
    .expect("template");
    assert_eq!(
        scope.render(&summary).expect("renders"),
        "1 of 3 unhealthy (0.3333333333333333)"
    );

    // a failing one binds nothing
    let broken = Expr::compile("body.nope", &names.with("broken")).expect("compiles");
    assert_eq!(
        scope.bind("broken", &broken).expect_err("fails").message,
        "no such key: nope"
    );
    let use_broken = Expr::compile("broken", &names.with("broken")).expect("compiles");
    assert_eq!(
        show(scope.eval(&use_broken)),
        "error: unknown name `broken`"
    );

    // an item's scope sees them
    let items = scope.items(&compile("body.tags")).expect("tags");
    let child = scope.with_item(&items, 1);
    let item = Expr::compile("item + string(unhealthy.size())", &names).expect("compiles");
    assert_eq!(child.eval(&item).expect("evaluates").to_string(), "b1");
}

#[test]
fn values_render_as_people_read_them() {
    let fixture = Fixture::new(BODY);
    let response = fixture.response();
    let run = Run::new(&response, Run::DEFAULT_BUDGET);
    let scope = run.scope();
    let render = |source: &str| {
        scope
            .eval(&compile(source))
            .map(|v| v.to_string())
            .unwrap_or_else(|e| e.message)
    };
    let cases = [
        ("body.version", "2.4.7"),
        ("body.escaped", "a\"bé"),
        ("body.jobs.failed", "3"),
        ("body.big", "18446744073709551615"),
        ("3u", "3"),
        ("body.whole", "1"),
        ("2.50", "2.5"),
        ("-0.0", "-0"),
        ("1.0 / 3.0", "0.3333333333333333"),
        ("1e21", "1e21"),
        ("1e20", "100000000000000000000"),
        ("1.5e-8", "1.5e-8"),
        ("double('NaN')", "NaN"),
        ("body.flag", "true"),
        ("body.nothing", "null"),
        ("now", "2026-12-06T03:42:17Z"),
        (
            "timestamp('2026-12-06T05:00:00.25+02:00')",
            "2026-12-06T05:00:00.250+02:00",
        ),
        ("elapsed", "1.5s"),
        ("duration('1h')", "1h0m0s"),
        ("duration('3723s')", "1h2m3s"),
        ("duration('90s')", "1m30s"),
        ("duration('-2.5s')", "-2.5s"),
        ("duration('1.5ms')", "1.5ms"),
        ("duration('250us')", "250µs"),
        ("duration('7ns')", "7ns"),
        ("duration('0s')", "0s"),
        ("body.tags", "[\"a\", \"b\"]"),
        ("body.nested", "[[1, 2], [3], 4]"),
        ("body.jobs", "{\"failed\": 3, \"total\": 40}"),
        (
            "{'b': 1, 'a': [true, null, 1.0]}",
            "{\"a\": [true, null, 1], \"b\": 1}",
        ),
        ("{1: 'x'}", "{\"1\": \"x\"}"),
        (
            "[now, elapsed, 'x\\ny']",
            "[\"2026-12-06T03:42:17Z\", \"1.5s\", \"x\\ny\"]",
        ),
        ("type(1)", "int"),
        ("b'bytes'", "bytes"),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .filter(|(source, expected)| render(source) != *expected)
        .map(|(source, expected)| format!("{source}: expected {expected}, got {}", render(source)))
        .collect();
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
    assert_eq!(Value::Other("x".into()).to_string(), "x");
}

#[test]
fn runs_and_scopes_can_be_used_from_other_threads() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    let fixture = Fixture::new(BODY);
    let response = fixture.response();
    let run = Run::new(&response, Run::DEFAULT_BUDGET);
    send_sync(&run);
    let scope = run.scope();
    send_sync(&scope);
    let expr = compile("body.workers.filter(w, w.status == 'healthy').size()");
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| scope.eval(&expr).map(|v| v.to_string())))
            .collect();
        for handle in handles {
            assert_eq!(handle.join().expect("no panic"), Ok("2".to_owned()));
        }
    });
}
