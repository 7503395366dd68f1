//! Test files (`*.test.yaml`): what a valid one resolves to, every mistake with its
//! diagnostic, and that the loader finds them beside the checks without reading them as
//! checks.

use std::time::Duration;

use checkd_config::{
    load_tests, load_with_tests, ExpectedService, LoadOptions, RecordedResponse, Spot,
};
use checkd_model::State;
use insta::assert_snapshot;

use crate::fixture::Tree;

/// The diagnostics of test file `text` (written as `checks/t.test.yaml` beside `others`), as
/// printed with the temporary directory cut, or `ok`.
fn problems(text: &str, others: &[(&str, &str)]) -> String {
    let mut files = vec![("checks/t.test.yaml", text)];
    files.extend_from_slice(others);
    let tree = Tree::new(&files);
    match load_tests(&tree.dir.path().join("checks/t.test.yaml")) {
        Ok(_) => "ok".to_string(),
        Err(diagnostics) => {
            let prefix = format!("{}/", tree.dir.path().display());
            diagnostics.to_string().replace(&prefix, "")
        }
    }
}

#[test]
fn a_case_resolves_with_its_response_expectations_and_places() {
    let text = r#"tests:
  - name: two of forty workers unhealthy
    check: workers
    environment: prod
    now: "2026-12-06T03:00:00+01:00"
    response:
      status: 503
      headers: {Content-Type: application/json, X-Count: 40}
      elapsed: 1s 250ms
      body: {workers: [{name: a, status: healthy}], total: 40}
    expect:
      - service: Workers prod
        state: WARN
        summary: "2 of 40 workers unhealthy"
        details: "a\nb"
        metrics: {unhealthy: 2, share: 0.05}
      - state: OK
    services: 41
"#;
    let tree = Tree::new(&[("checks/t.test.yaml", text)]);
    let path = tree.dir.path().join("checks/t.test.yaml");
    let file = load_tests(&path).unwrap();
    assert_eq!(file.path, path);
    let [case] = file.cases.as_slice() else {
        panic!("one case, got {:?}", file.cases);
    };
    assert_eq!(case.name, "two of forty workers unhealthy");
    assert_eq!(case.check, "workers");
    assert_eq!(case.environment.as_deref(), Some("prod"));
    assert_eq!((case.at.line, case.at.column), (2, 5));
    let check_at = Spot {
        file: path.clone(),
        line: 3,
        column: 12,
        path: "tests[0].check".to_string(),
    };
    assert_eq!(case.check_at, check_at);
    assert_eq!(
        (case.environment_at.line, case.environment_at.path.as_str()),
        (4, "tests[0].environment")
    );
    // 2026-12-06T02:00:00Z.
    assert_eq!(case.now_ms, 1_796_522_400_000);
    assert_eq!(
        case.response,
        RecordedResponse {
            status: 503,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("x-count".into(), "40".into()),
            ],
            body: br#"{"total":40,"workers":[{"name":"a","status":"healthy"}]}"#.to_vec(),
            elapsed: Duration::from_millis(1250),
        }
    );
    assert_eq!(
        case.expect,
        [
            ExpectedService {
                service: Some("Workers prod".into()),
                state: State::Warn,
                summary: Some("2 of 40 workers unhealthy".into()),
                details: Some("a\nb".into()),
                metrics: vec![("share".into(), 0.05), ("unhealthy".into(), 2.0)],
            },
            ExpectedService {
                service: None,
                state: State::Ok,
                summary: None,
                details: None,
                metrics: Vec::new(),
            },
        ]
    );
    assert_eq!(case.services, Some(41));
}

#[test]
fn defaults_and_bodies_as_text_or_from_a_file() {
    let text = r#"tests:
  - name: defaults
    check: a
    response: {}
    expect: [{state: OK}]
  - name: text body
    check: a
    response: {body: "not {json"}
    services: 1
  - name: file body
    check: a
    response: {body_file: fixtures/body.json}
    services: 1
"#;
    let tree = Tree::new(&[
        ("checks/t.test.yaml", text),
        ("checks/fixtures/body.json", "{\"raw\": true}\n"),
    ]);
    let file = load_tests(&tree.dir.path().join("checks/t.test.yaml")).unwrap();
    let [defaults, text, from_file] = file.cases.as_slice() else {
        panic!("three cases, got {:?}", file.cases);
    };
    assert_eq!(
        defaults.response,
        RecordedResponse {
            status: 200,
            headers: Vec::new(),
            body: Vec::new(),
            elapsed: Duration::from_millis(100),
        }
    );
    assert_eq!(defaults.environment, None);
    assert_eq!(defaults.environment_at.path, "tests[0].check");
    // 2026-01-01T00:00:00Z.
    assert_eq!(defaults.now_ms, 1_767_225_600_000);
    assert_eq!(defaults.services, None);
    assert_eq!(text.response.body, b"not {json");
    assert_eq!(from_file.response.body, b"{\"raw\": true}\n");
}

#[test]
fn unknown_keys_wrong_types_and_missing_keys() {
    let text = r#"tests:
  - name: typo
    chek: workers
    response: {}
    services: 1
  - name: wrong type
    check: workers
    response: {status: ok}
    services: 1
  - name: misspelled
    check: workers
    response: {header: {}}
    services: 1
  - name: [not, a, string]
    check: workers
    response: {}
    expect: [{state: OK, summry: fine}]
  - name: metric
    check: workers
    response: {}
    expect: [{state: OK, metrics: {n: many}}]
  - name: no response
    check: workers
    services: 1
"#;
    assert_snapshot!(problems(text, &[]), @r#"
    checks/t.test.yaml:3:5: tests[0].chek: unknown key `chek`, did you mean `check`?
    checks/t.test.yaml:8:24: tests[1].response.status: expected an integer, found "ok"
    checks/t.test.yaml:12:16: tests[2].response.header: unknown key `header`, did you mean `headers`?
    checks/t.test.yaml:14:11: tests[3].name: expected a string, found a list
    checks/t.test.yaml:21:39: tests[4].expect[0].metrics.n: expected a number, found "many"
    checks/t.test.yaml:22:5: tests[5]: missing required key `response`
    "#);
}

#[test]
fn bad_values_are_reported_where_they_are_written() {
    let text = r#"tests:
  - name: values
    check: workers
    now: yesterday
    response:
      status: 700
      headers: {"bad header": x}
      elapsed: 5 parsecs
      body: {a: 1}
      body_file: body.json
    expect:
      - {state: warn}
      - {state: BAD}
      - {service: A, state: OK, metrics: {n: .nan}}
      - {service: A, state: OK}
  - name: missing file
    check: " "
    response: {body_file: nowhere.json}
    services: 1
  - name: nothing expected
    check: workers
    response: {}
"#;
    assert_snapshot!(problems(text, &[]), @r#"
    checks/t.test.yaml:4:10: tests[0].now: invalid RFC 3339 time "yesterday": premature end of input
    checks/t.test.yaml:6:15: tests[0].response.status: expected an integer 100–599, found 700
    checks/t.test.yaml:7:17: tests[0].response.headers.bad header: invalid header name "bad header"
    checks/t.test.yaml:8:18: tests[0].response.elapsed: invalid duration "5 parsecs": unknown unit "parsecs" (use ms, s, m, h, d)
    checks/t.test.yaml:10:7: tests[0].response.body_file: give `body` or `body_file`, not both
    checks/t.test.yaml:12:17: tests[0].expect[0].state: unknown state "warn", did you mean "WARN"?
    checks/t.test.yaml:13:9: tests[0].expect[1]: the job's service is already expected at line 12
    checks/t.test.yaml:13:17: tests[0].expect[1].state: unknown state "BAD", expected OK, WARN, CRIT or UNKNOWN
    checks/t.test.yaml:14:46: tests[0].expect[2].metrics.n: expected a finite number, found NaN
    checks/t.test.yaml:15:9: tests[0].expect[3]: service "A" is already expected at line 14
    checks/t.test.yaml:17:12: tests[1].check: the check id is empty
    checks/t.test.yaml:18:27: tests[1].response.body_file: cannot read the body file "nowhere.json": no such file
    checks/t.test.yaml:20:5: tests[2]: a case needs `expect` or `services`: it would pass on anything
    "#);
}

#[test]
fn an_empty_file_and_an_empty_list() {
    assert_snapshot!(problems("# nothing yet\n", &[]), @"checks/t.test.yaml:1:1: the file is empty");
    assert_snapshot!(problems("tests: []\n", &[]), @"checks/t.test.yaml:1:8: tests: list at least one case");
}

#[test]
fn an_unreadable_file_is_a_diagnostic() {
    let tree = Tree::new(&[]);
    let err = load_tests(&tree.dir.path().join("checks/none.test.yaml")).unwrap_err();
    let prefix = format!("{}/", tree.dir.path().display());
    assert_snapshot!(err.to_string().replace(&prefix, ""), @"checks/none.test.yaml:1:1: cannot read the file: no such file");
}

#[test]
fn the_loader_skips_test_files_and_lists_them() {
    let check = "checks:\n  - {name: a, environments: [prod], datasource: orders, cache_for: 1m, request: {path: /}}\n";
    // Not a check file: read as one, it would fail (`tests` is no key of a check file).
    let test = "tests:\n  - {name: t, check: a, response: {}, services: 1}\n";
    let tree = Tree::new(&[
        ("checks/a.yaml", check),
        ("checks/b.test.yaml", test),
        ("checks/a.test.yml", test),
        ("checks/.hidden.test.yaml", test),
        ("checks/test.yaml", "checks: []\n"),
    ]);
    let lookup = |name: &str| (name == "ORDERS_TOKEN").then(|| "s3cret".to_string());
    let options = LoadOptions {
        execution_environment: None,
        env: &lookup,
    };
    let loaded = match load_with_tests(&tree.config(), &options) {
        Ok(loaded) => loaded,
        Err(diagnostics) => panic!("expected a plan, got:\n{diagnostics}"),
    };
    assert_eq!(loaded.plan.jobs.len(), 1);
    let found: Vec<String> = loaded
        .test_files
        .iter()
        .map(|f| {
            let shown = f.shown.strip_prefix(tree.dir.path()).unwrap();
            format!("{}", shown.display())
        })
        .collect();
    assert_eq!(found, ["checks/a.test.yml", "checks/b.test.yaml"]);
    let file = loaded.test_files[1].load().unwrap();
    assert_eq!(file.cases[0].check, "a");
}
