//! What `Expr::compile` and `Expr::condition` refuse at load, with the exact message and the
//! character offset of each problem.

use checkd_expr::{Expr, Names, Problem};

use crate::support::names;

/// The problems of each source as `(offset, message)`; `[]` when it compiles.
fn check(
    compile: fn(&str, &Names) -> Result<Expr, Vec<Problem>>,
    cases: &[(&str, &[(usize, &str)])],
) {
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|(source, expected)| {
            let got: Vec<(usize, String)> = match compile(source, &names()) {
                Ok(_) => Vec::new(),
                Err(problems) => problems
                    .into_iter()
                    .map(|p| (p.offset, p.message))
                    .collect(),
            };
            let expected: Vec<(usize, String)> = expected
                .iter()
                .map(|(o, m)| (*o, (*m).to_owned()))
                .collect();
            (got != expected)
                .then(|| format!("{source:?}\n   expected {expected:?}\n   got      {got:?}"))
        })
        .collect();
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn valid_expressions_compile() {
    check(
        Expr::compile,
        &[
            ("status == 200", &[]),
            ("body.workers.filter(w, w.status != 'healthy').size()", &[]),
            ("body.a.all(x, body.b.exists(y, x == y))", &[]),
            ("has(body.x) ? body.x : 0", &[]),
            ("type(body.x) == string", &[]),
            (
                "[item, index, env.name, env.vars.region, headers, text, elapsed, now]",
                &[],
            ),
            ("{'a': 1}.a", &[]),
            ("body.disks.map(d, d.used_pct > 90.0, d.mount)", &[]),
            ("body.workers.map(w, w.name).sum()", &[]),
            ("now.getHours('Europe/Berlin')", &[]),
        ],
    );
}

#[test]
fn syntax_errors_are_placed_by_character() {
    check(
        Expr::compile,
        &[
            (
                "1 +",
                &[(3, "syntax error: unexpected end of the expression")],
            ),
            ("1 +)", &[(3, "syntax error: unexpected `)`")]),
            ("status 200", &[(7, "syntax error: unexpected `200`")]),
            // the offset counts characters, not bytes: é is two bytes
            (
                "'é' + ",
                &[(6, "syntax error: unexpected end of the expression")],
            ),
            ("'é' + + 1", &[(6, "syntax error: unexpected `+`")]),
            ("1 +\n  ** 2", &[(6, "syntax error: unexpected `*`")]),
            (
                "status == @",
                &[(10, "syntax error: unexpected character `@`")],
            ),
            (
                "'open",
                &[(
                    0,
                    "syntax error: a string is not closed, or has an invalid escape",
                )],
            ),
            ("99999999999999999999", &[(0, "invalid int literal")]),
            (
                "body.?x",
                &[(
                    4,
                    "the optional syntax '.?' is not supported: test with has() instead",
                )],
            ),
            (
                "body.a.all(1, true)",
                &[(
                    11,
                    "the variable of a macro must be a simple name, like `x` in list.all(x, x > 0)",
                )],
            ),
            (
                "has(body)",
                &[(4, "has() takes a field selection, like has(body.field)")],
            ),
            ("", &[(0, "the expression is empty")]),
            ("  \n ", &[(0, "the expression is empty")]),
        ],
    );
}

#[test]
fn unknown_names_are_reported_with_the_closest_known_one() {
    check(
        Expr::compile,
        &[
            (
                "bodyy.x",
                &[(0, "unknown name `bodyy`, did you mean `body`?")],
            ),
            (
                "stauts == 200",
                &[(0, "unknown name `stauts`, did you mean `status`?")],
            ),
            (
                "Body.x",
                &[(0, "unknown name `Body`, did you mean `body`?")],
            ),
            (
                "'é' + nwo",
                &[(6, "unknown name `nwo`, did you mean `now`?")],
            ),
            ("'é' + nme", &[(6, "unknown name `nme`")]),
            ("response.status", &[(0, "unknown name `response`")]),
            // a comprehension variable is known inside its macro only
            ("body.a.all(x, x > 0) && x > 0", &[(24, "unknown name `x`")]),
            (
                "body.a.all(worker, workr > 0)",
                &[(19, "unknown name `workr`, did you mean `worker`?")],
            ),
            (
                "bodyy.a + stats",
                &[
                    (0, "unknown name `bodyy`, did you mean `body`?"),
                    (10, "unknown name `stats`, did you mean `status`?"),
                ],
            ),
        ],
    );
}

#[test]
fn names_bound_by_a_check_are_known_only_when_given() {
    let plain = Names::response();
    assert!(Expr::compile("item.name", &plain).is_err());
    assert!(Expr::compile("item.name", &plain.with("item")).is_ok());
    let problems = Expr::compile("limit * 2", &plain).map(|_| ()).unwrap_err();
    assert_eq!(problems[0].message, "unknown name `limit`");
    assert!(Expr::compile("limit * 2", &plain.with("limit")).is_ok());
}

#[test]
fn unknown_functions_are_reported_at_their_name() {
    check(
        Expr::compile,
        &[
            (
                "sumx([1])",
                &[(0, "unknown function `sumx`, did you mean `sum`?")],
            ),
            (
                "body.tags.szie()",
                &[(10, "unknown function `szie`, did you mean `size`?")],
            ),
            (
                "body.name.startswith('a')",
                &[(
                    10,
                    "unknown function `startswith`, did you mean `startsWith`?",
                )],
            ),
            (
                "body.tags.exist(t, t == 'a')",
                &[(10, "unknown function `exist`, did you mean `exists`?")],
            ),
            ("frobnicate(1)", &[(0, "unknown function `frobnicate`")]),
            ("math.abs(-1)", &[(0, "unknown function `math.abs`")]),
            (
                "1 + lists.range(10).size()",
                &[(4, "unknown function `lists.range`")],
            ),
            (
                "startsWith('a')",
                &[(0, "`startsWith` is a method: write s.startsWith(t)")],
            ),
            (
                "body.t.epoch()",
                &[(
                    7,
                    "`epoch` is a function, not a method: write epoch(seconds)",
                )],
            ),
            (
                "body.tags.map(t)",
                &[(
                    10,
                    "`map` is written list.map(x, value) or list.map(x, condition, value)",
                )],
            ),
            (
                "all(body.tags, t, true)",
                &[(0, "`all` is written list.all(x, condition)")],
            ),
            ("optional.of(1)", &[(0, "unknown function `optional.of`")]),
            (
                "base64.encode(b'a')",
                &[(0, "unknown function `base64.encode`")],
            ),
        ],
    );
}

#[test]
fn bounds_are_refused_at_load() {
    let long = format!("status == {}", "1".repeat(4087));
    assert_eq!(long.chars().count(), 4097);
    let just = format!("'{}' != ''", "é".repeat(4088));
    assert_eq!(just.chars().count(), 4096);
    let deep = format!("{}1{}", "[".repeat(65), "]".repeat(65));
    let deep_sum = format!("1{}", " + 1".repeat(64));
    let nesting = "body.a.all(x, body.a.all(y, body.a.all(z, x == z)))";
    check(
        Expr::compile,
        &[
            (&long, &[(0, "the expression is 4097 characters long; at most 4096 are allowed")]),
            (&just, &[]),
            // 65 lists and the 1 in the innermost: the 65th list is too deep
            (&deep, &[(64, "the expression is nested deeper than 64 levels")]),
            (&format!("{}1{}", "[".repeat(63), "]".repeat(63)), &[]),
            // `+` nests to the left: the first 1 is the deepest
            (&deep_sum, &[(0, "the expression is nested deeper than 64 levels")]),
            (&format!("1{}", " + 1".repeat(63)), &[]),
            // the parser's own limit (96 levels) is reported the same way
            (
                &format!("{}1{}", "f(".repeat(120), ")".repeat(120)),
                &[(192, "the expression is nested deeper than 64 levels")],
            ),
            (
                nesting,
                &[(35, "comprehensions are nested more than 2 deep: each one multiplies the work by the length of its list")],
            ),
            // chained, not nested: each runs once
            ("body.a.map(x, x).map(y, y).filter(z, z > 0).all(w, body.b.exists(v, v == w))", &[]),
        ],
    );
}

#[test]
fn a_condition_that_is_certainly_not_a_boolean_is_refused() {
    let refused = |what: &str| format!("a condition must be a boolean, but this is {what}");
    let cases: Vec<(&str, String)> = vec![
        ("1", refused("an int")),
        ("  'yes'", refused("a string")),
        ("null", refused("null")),
        ("2.5", refused("a double")),
        (
            "body.a + 1",
            refused("arithmetic, which gives a number (compare it: `… > 0`)"),
        ),
        (
            "-body.a",
            refused("arithmetic, which gives a number (compare it: `… > 0`)"),
        ),
        ("[true]", refused("a list")),
        ("{'ok': true}", refused("a map")),
        ("size(body.a)", refused("`size(…)`, which gives an int")),
        ("body.a.size()", refused("`size(…)`, which gives an int")),
        (
            "string(status)",
            refused("`string(…)`, which gives a string"),
        ),
        ("int(body.a)", refused("`int(…)`, which gives an int")),
        (
            "double(body.a)",
            refused("`double(…)`, which gives a double"),
        ),
        ("sum(body.a)", refused("`sum(…)`, which gives a number")),
        (
            "body.a.filter(x, x)",
            refused("a list (`map` and `filter` give lists)"),
        ),
        ("status == 200 ? 1 : 2", refused("an int")),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|(source, message)| {
            let got = Expr::condition(source, &names()).map(|_| ()).err();
            let start = source.len() - source.trim_start().len();
            let expected = Some(vec![Problem {
                offset: start,
                message: message.clone(),
            }]);
            (got != expected).then(|| format!("{source}: {got:?}"))
        })
        .collect();
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));

    // a field, a call of unknown result type, or a boolean operator may well be a boolean
    for source in [
        "body.ok",
        "body.a[0]",
        "true",
        "!body.ok",
        "status == 200 && body.ok",
        "body.a.all(x, x)",
        "body.a.exists_one(x, x)",
        "min(body.a)",
        "status == 200 ? true : body.ok",
        "'x' in body.a",
        "body.v.matches('^2')",
        "dyn(body.ok)",
    ] {
        assert!(Expr::condition(source, &names()).is_ok(), "{source}");
    }
}

#[test]
fn an_invalid_regex_literal_is_refused_at_load() {
    check(
        Expr::compile,
        &[
            ("body.v.matches('(')", &[(15, "invalid regex /(/: unclosed group")]),
            ("matches(body.v, 'a{2')", &[(16, "invalid regex /a{2/: unclosed counted repetition")]),
            ("capture(body.v, '[z-a]')", &[(16, "invalid regex /[z-a]/: invalid character class range, the start must be <= the end")]),
            ("body.v.captures('(?<x')", &[(16, "invalid regex /(?<x/: unclosed capture group name")]),
            // a pattern known only at run time is checked then
            ("body.v.matches(body.pattern)", &[]),
        ],
    );
}

#[test]
fn every_problem_of_an_expression_is_reported_in_order() {
    check(
        Expr::compile,
        &[(
            "sumx(bodyy) + body.x.matches('(') + nope",
            &[
                (0, "unknown function `sumx`, did you mean `sum`?"),
                (5, "unknown name `bodyy`, did you mean `body`?"),
                (29, "invalid regex /(/: unclosed group"),
                (36, "unknown name `nope`, did you mean `now`?"),
            ],
        )],
    );
}

#[test]
fn an_expr_keeps_its_source_and_is_cheap_to_share() {
    fn shared<T: Send + Sync + Clone>(_: &T) {}
    let expr = Expr::compile(" status == 200 ", &names()).expect("compiles");
    shared(&expr);
    assert_eq!(expr.source(), " status == 200 ");
    assert_eq!(format!("{expr:?}"), r#"Expr { source: " status == 200 " }"#);
}
