//! Templates: splitting text from `{expr}` parts, the braces and strings inside a part, the
//! problems with offsets into the whole text, and rendering.

use checkd_expr::{Run, Template};

use crate::support::{names, Fixture, BODY};

fn render(template: &str) -> String {
    let fixture = Fixture::new(BODY);
    let response = fixture.response();
    let run = Run::new(&response, Run::DEFAULT_BUDGET);
    let template =
        Template::compile(template, &names()).unwrap_or_else(|p| panic!("{template}: {p:?}"));
    let rendered = run.scope().render(&template);
    rendered.unwrap_or_else(|e| format!("error: {e}"))
}

fn problems(template: &str) -> Vec<(usize, String)> {
    match Template::compile(template, &names()) {
        Ok(_) => Vec::new(),
        Err(problems) => problems
            .into_iter()
            .map(|p| (p.offset, p.message))
            .collect(),
    }
}

#[test]
fn parts_are_rendered_into_the_text() {
    let cases = [
        ("plain text", "plain text"),
        ("", ""),
        ("{body.jobs.failed} of {body.jobs.total} jobs failed", "3 of 40 jobs failed"),
        ("{body.workers.filter(w, w.status != 'healthy').size()} of {size(body.workers)} workers unhealthy", "1 of 3 workers unhealthy"),
        ("version {body.version} in {env.name}", "version 2.4.7 in prod"),
        ("{body.whole} {body.disks[1].used_pct}% {elapsed} {now}", "1 93.25% 1.5s 2026-12-06T03:42:17Z"),
        ("tags {body.tags}, jobs {body.jobs}", "tags [\"a\", \"b\"], jobs {\"failed\": 3, \"total\": 40}"),
        ("{{literal}} and }} and {{", "{literal} and } and {"),
        ("{{{body.jobs.failed}}}", "{3}"),
        ("{ {'a': 1}.a } and { {'b': {'c': 2}}.b.c }", "1 and 2"),
        ("{'}' + \"{\" + '\\'}'}", "}{'}"),
        ("{r'\\}' + R\"}\"}", "\\}}"),
        ("{'''}''' + \"\"\"{\"\"\"}", "}{"),
        ("{b'}' == b'}'}", "true"),
        ("é {body.version}", "é 2.4.7"),
        ("{body.nope}", "error: no such key: nope"),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .filter(|(template, expected)| render(template) != *expected)
        .map(|(template, expected)| {
            format!(
                "{template}: expected {expected:?}, got {:?}",
                render(template)
            )
        })
        .collect();
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn a_template_knows_its_source_and_whether_it_is_plain() {
    let plain = Template::compile("just {{text}}", &names()).expect("compiles");
    assert!(plain.is_plain());
    assert_eq!(plain.source(), "just {{text}}");
    let with_parts = Template::compile("{status}", &names()).expect("compiles");
    assert!(!with_parts.is_plain());
    assert_eq!(
        format!("{with_parts:?}"),
        r#"Template { source: "{status}" }"#
    );
}

#[test]
fn problems_are_placed_in_the_whole_text() {
    let cases: &[(&str, &[(usize, &str)])] = &[
        (
            "{bodyy.x} workers",
            &[(1, "unknown name `bodyy`, did you mean `body`?")],
        ),
        (
            "é: {status} {stauts}",
            &[(13, "unknown name `stauts`, did you mean `status`?")],
        ),
        (
            "{status +}",
            &[(9, "syntax error: unexpected end of the expression")],
        ),
        (
            "{nope} and {body.x.matches('(')}",
            &[
                (1, "unknown name `nope`, did you mean `now`?"),
                (27, "invalid regex /(/: unclosed group"),
            ],
        ),
        (
            "a } b",
            &[(2, "a `}` without its `{`: write `}}` for a brace")],
        ),
        (
            "a {body.x",
            &[(2, "a `{` that is never closed: write `{{` for a brace")],
        ),
        (
            "a {'}",
            &[(2, "a `{` that is never closed: write `{{` for a brace")],
        ),
        ("a {} b", &[(2, "an empty `{}`: write `{{}}` for braces")]),
        ("a { } b", &[(2, "an empty `{}`: write `{{}}` for braces")]),
        (
            "}{status}{",
            &[
                (0, "a `}` without its `{`: write `}}` for a brace"),
                (9, "a `{` that is never closed: write `{{` for a brace"),
            ],
        ),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|(template, expected)| {
            let expected: Vec<(usize, String)> = expected
                .iter()
                .map(|(o, m)| (*o, (*m).to_owned()))
                .collect();
            let got = problems(template);
            (got != expected)
                .then(|| format!("{template}\n   expected {expected:?}\n   got      {got:?}"))
        })
        .collect();
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}
