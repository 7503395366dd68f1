//! `checkd test`: the shipped examples' tests pass, a failing case prints what differs and
//! exits 1, and an invalid test file or a case the plan cannot run exits 4 with
//! `file:line:col`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use insta::assert_snapshot;

use crate::config::DaemonConfig;
use crate::util::{refused_addr, run, stderr, stdout, Dir};

const LIMIT: Duration = Duration::from_secs(30);

/// A daemon config whose `api` datasource points where nothing listens: every test here
/// passes or fails without a request, or it would not be offline.
fn config() -> DaemonConfig {
    DaemonConfig::new()
        .environment("prod", "workers-prod")
        .environment("staging", "workers-staging")
        .variable("prod", "base_url", &format!("http://{}", refused_addr()))
        .variable("staging", "base_url", &format!("http://{}", refused_addr()))
        .datasource("api", &[("type", "http"), ("base_url", "\"${base_url}\"")])
        .datasource(
            "db",
            &[("type", "tcp"), ("host", "127.0.0.1"), ("port", "5432")],
        )
}

const CHECKS: &str = r#"checks:
  - name: "Workers ${environment}"
    id: workers
    environments: [prod, staging]
    datasource: api
    cache_for: 1m
    request: {path: /workers}
    metrics:
      - {name: unhealthy, json: unhealthy, levels: {warn: 1, crit: 3}, min: 0}
    foreach:
      path: workers
      suffix: " {item.name}"
      expect: {json: [{path: status, equals: healthy, state: warn}]}
      summary: {ok: healthy}
  - name: Database port
    id: db_port
    environments: [prod]
    datasource: db
    cache_for: 1m
"#;

/// The recorded response of the cases below, in prod: two workers, one of them down.
const CASE: &str = r#"tests:
  - name: one of two workers down
    check: workers
    response:
      headers: {Content-Type: application/json}
      body: {unhealthy: 1, workers: [{name: a, status: healthy}, {name: b, status: down}]}
    expect:
"#;

/// A temp dir with [`config`], [`CHECKS`] and `checks/workers.test.yaml`.
fn fixture(tests: &str) -> Dir {
    let dir = Dir::new();
    config().write(&dir);
    dir.write("checks/workers.yaml", CHECKS);
    dir.write("checks/workers.test.yaml", tests);
    dir
}

/// `checkd test --config <config>` from the workspace root, as CI runs it.
fn test_shipped(config: &str) -> std::process::Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_checkd"));
    cmd.args(["test", "--config", config])
        .current_dir(root)
        .env_remove("CHECKD_CONFIG")
        .env_remove("CHECKD_ENVIRONMENT");
    run(cmd, LIMIT)
}

#[test]
fn the_shipped_examples_pass_their_tests() {
    for config in ["config/checkd.yaml", "deploy/etc-checkd/checkd.yaml"] {
        let out = test_shipped(config);
        let text = stdout(&out);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{config}:\n{text}{}",
            stderr(&out)
        );
        // Some cases ran, all from the example's own check directory.
        let last = text.lines().last().unwrap_or_default();
        assert!(last.ends_with(" tests, all passed"), "{config}: {text}");
        assert!(!last.starts_with("0 "), "{config}: {text}");
    }
}

#[test]
fn passing_cases_print_one_line_each_and_exit_0() {
    let tests = format!(
        r#"{CASE}      - service: Workers prod
        state: WARN
        summary: unhealthy 1 (warn at 1)
        metrics: {{unhealthy: 1}}
      - {{service: Workers prod a, state: OK, summary: healthy}}
      - {{service: Workers prod b, state: WARN}}
    services: 3
  - name: staging names its services after staging
    check: workers
    environment: staging
    response: {{body: {{unhealthy: 0, workers: []}}}}
    expect: [{{service: Workers staging, state: OK}}]
    services: 1
"#
    );
    let dir = fixture(&tests);
    let out = run(dir.checkd(&["test"]), LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_snapshot!(stdout(&out), @r"
    checks/workers.test.yaml:2: one of two workers down ... ok
    checks/workers.test.yaml:15: staging names its services after staging ... ok
    2 tests, all passed
    ");
}

#[test]
fn a_failing_case_prints_what_differs_and_exits_1() {
    let tests = format!(
        r#"{CASE}      - service: Workers prod
        state: OK
        summary: all workers healthy
        metrics: {{unhealthy: 0, busy: 3}}
      - {{service: Workers prod b, state: WARN}}
      - {{service: Workers prod c, state: OK}}
    services: 4
  - name: a passing case after it still runs
    check: workers
    response: {{body: {{unhealthy: 0, workers: []}}}}
    expect: [{{state: OK}}]
"#
    );
    let dir = fixture(&tests);
    let out = run(dir.checkd(&["test"]), LIMIT);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_snapshot!(stdout(&out), @r#"
    checks/workers.test.yaml:2: one of two workers down ... FAIL
      services  expected 4, got 3
      service "Workers prod"
        state             expected OK, got WARN
        summary           expected "all workers healthy"
                          got      "unhealthy 1 (warn at 1)"
        metric busy       expected 3, got no such metric
        metric unhealthy  expected 0, got 1
      service "Workers prod c" missing
      the run produced:
        WARN     "Workers prod"
        OK       "Workers prod a"
        WARN     "Workers prod b"
    checks/workers.test.yaml:15: a passing case after it still runs ... ok
    2 tests, 1 failed
    "#);
}

#[test]
fn an_invalid_test_file_exits_4_with_every_problem_at_file_line_col() {
    let tests = r#"tests:
  - name: misspelled
    check: workers
    respons: {}
    services: 1
  - name: bad values
    check: workers
    response: {status: 700, elapsed: soon}
    expect: [{state: warn}]
"#;
    let dir = fixture(tests);
    let out = run(dir.checkd(&["test"]), LIMIT);
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(stdout(&out), "");
    assert_snapshot!(stderr(&out), @r#"
    checks/workers.test.yaml:4:5: tests[0].respons: unknown key `respons`, did you mean `response`?
    checks/workers.test.yaml:8:24: tests[1].response.status: expected an integer 100–599, found 700
    checks/workers.test.yaml:8:38: tests[1].response.elapsed: invalid duration "soon": expected a number
    checks/workers.test.yaml:9:22: tests[1].expect[0].state: unknown state "warn", did you mean "WARN"?
    "#);
}

#[test]
fn a_case_the_plan_cannot_run_exits_4_at_its_check_or_environment() {
    let tests = r#"tests:
  - name: a misspelled check id
    check: wrkers
    response: {}
    services: 1
  - name: an environment the check does not run in
    check: workers
    environment: qa
    response: {}
    services: 1
  - name: a tcp check
    check: db_port
    response: {}
    services: 1
"#;
    let dir = fixture(tests);
    let out = run(dir.checkd(&["test"]), LIMIT);
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(stdout(&out), "");
    assert_snapshot!(stderr(&out), @r#"
    checks/workers.test.yaml:3:12: tests[0].check: unknown check "wrkers", did you mean "workers"?
    checks/workers.test.yaml:8:18: tests[1].environment: check "workers" does not run in environment "qa", its environments: prod, staging
    checks/workers.test.yaml:12:12: tests[2].check: check "db_port" is a tcp check: only checks on http datasources can be tested
    "#);
}

#[test]
fn files_named_on_the_command_line_run_instead_of_the_check_directories() {
    // The file in checks/ would fail; only the one named runs.
    let dir = fixture(&format!("{CASE}      - {{state: CRIT}}\n"));
    dir.write(
        "elsewhere/one.test.yaml",
        &format!("{CASE}      - {{service: Workers prod b, state: WARN}}\n"),
    );
    let out = run(dir.checkd(&["test", "elsewhere/one.test.yaml"]), LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_snapshot!(stdout(&out), @r"
    elsewhere/one.test.yaml:2: one of two workers down ... ok
    1 test, all passed
    ");
}

#[test]
fn no_test_files_or_a_broken_config_exit_4() {
    let dir = Dir::new();
    config().write(&dir);
    dir.write("checks/workers.yaml", CHECKS);
    let out = run(dir.checkd(&["test"]), LIMIT);
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(
        stderr(&out),
        "checkd test: no test files (*.test.yaml) in the check directories of checkd.yaml\n"
    );

    dir.write("checks/workers.yaml", "checks: [{name: x}]\n");
    let out = run(dir.checkd(&["test"]), LIMIT);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stderr(&out).starts_with("checks/workers.yaml:1:10: checks[0]: missing required key"),
        "{}",
        stderr(&out)
    );
}
