//! `checkd run`: serves results over HTTP, keeps the last result when a datasource goes
//! away, shuts down cleanly.

use std::net::SocketAddr;
use std::time::Duration;

use crate::fixture;
use crate::target::Target;
use crate::util::{free_port, Daemon};

const CHECKS: &str = r#"checks:
  - name: Orders health
    environments: [prod]
    datasource: shop
    cache_for: 1s
    request: {path: /orders/health}
    metrics: [{name: depth, json: queue.depth, levels: {warn: 500, crit: 1000}, min: 0}]
    summary: {ok: Orders healthy}
  - name: Later
    environments: [prod]
    datasource: shop
    schedule: "0 0 1 1 *"
    request: {path: /orders/health}
    summary: {ok: fine}
"#;

#[test]
fn daemon_serves_results_then_last_result_with_a_note_when_the_datasource_goes_away() {
    let target = Target::start();
    let port = free_port();
    let dir = fixture(&target, port, CHECKS);
    let daemon = Daemon::start(&dir, SocketAddr::from(([127, 0, 0, 1], port)));
    daemon.wait_until("serving results", |d| {
        d.get("/").is_some_and(|(_, body)| {
            !body.contains("first run pending") && body.contains("Orders healthy")
        })
    });
    let (status, body) = daemon.get("/").expect("GET /");
    assert_eq!(status, 200);
    checkd_checkmk::validate::validate_agent_output(&body).expect("valid agent output");
    assert!(
        body.starts_with("<<<check_mk>>>\nVersion: checkd-"),
        "{body}"
    );
    assert!(
        body.contains("<<<<shop-prod>>>>\n<<<local:sep(0)>>>\n"),
        "{body}"
    );
    // A cron check with no result yet runs at start-up instead of waiting for its time.
    assert!(body.contains(" 0 \"Later\" - fine"), "{body}");
    let line = body
        .lines()
        .find(|l| l.contains("\"Orders health\""))
        .expect("line");
    assert!(
        line.starts_with("cached(")
            && line.contains(",1) 0 \"Orders health\" depth=3;500;1000;0 Orders healthy"),
        "{line}"
    );

    let (status, json) = daemon.get("/api/v1/results?state=OK").expect("results");
    assert_eq!(status, 200);
    let rows: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(rows.as_array().map(Vec::len), Some(2), "{json}");

    let (status, metrics) = daemon.get("/metrics").expect("metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("checkd_checks{state=\"ok\"} 2\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("checkd_cache_healthy{layer=\"sled\"} 1\n"),
        "{metrics}"
    );
    let runs: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("checkd_runs_total "))
        .and_then(|v| v.parse().ok())
        .expect("checkd_runs_total");
    assert!(runs >= 2.0, "{metrics}");

    target.stop();
    daemon.wait_until("reporting the outage", |d| {
        d.get("/")
            .is_some_and(|(_, body)| body.contains("datasource unavailable since"))
    });
    let (_, body) = daemon.get("/").expect("GET /");
    let line = body
        .lines()
        .find(|l| l.contains("\"Orders health\""))
        .expect("line");
    assert!(
        line.contains(" 0 \"Orders health\" depth=3;500;1000;0 Orders healthy\\n"),
        "last result kept: {line}"
    );
    assert!(line.contains("connection refused"), "{line}");
    checkd_checkmk::validate::validate_agent_output(&body).expect("valid agent output");

    let status = daemon.terminate(Duration::from_secs(15));
    assert!(status.success(), "exit status {status:?}");
}

#[test]
fn output_prints_the_running_daemons_results() {
    let target = Target::start();
    let port = free_port();
    let dir = fixture(&target, port, CHECKS);
    let daemon = Daemon::start(&dir, SocketAddr::from(([127, 0, 0, 1], port)));
    daemon.wait_until("serving results", |d| {
        d.get("/")
            .is_some_and(|(_, body)| body.contains("Orders healthy"))
    });
    let out = crate::util::run(dir.checkd(&["output"]), Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(0));
    let text = crate::util::stdout(&out);
    assert!(
        text.starts_with("<<<check_mk>>>\n") && text.contains("Orders healthy"),
        "{text}"
    );
    // sled's flusher writes the result to its files within 100 ms; once it is there, kill -9.
    daemon.wait_until("flushing the result to sled's files", |_| {
        crate::util::files_contain(&dir.path().join("state"), b"Orders healthy")
    });
    drop(daemon);

    // No daemon: the results are read from the persistent layer it left behind.
    let out = crate::util::run(dir.checkd(&["output"]), Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(0), "{}", crate::util::stderr(&out));
    let text = crate::util::stdout(&out);
    assert!(
        text.contains(" 0 \"Orders health\" depth=3;500;1000;0 Orders healthy"),
        "{text}"
    );
    checkd_checkmk::validate::validate_agent_output(&text).expect("valid agent output");

    // No daemon and no readable store: nothing usable to print, so a non-zero exit.
    std::fs::remove_dir_all(dir.path().join("state")).unwrap();
    std::fs::write(dir.path().join("state"), "not a directory").unwrap();
    let out = crate::util::run(dir.checkd(&["output"]), Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(1), "{}", crate::util::stdout(&out));
    assert!(
        crate::util::stderr(&out).contains("the store cannot be read"),
        "{}",
        crate::util::stderr(&out)
    );
}

#[test]
fn a_bearer_token_guards_the_endpoint_and_never_shows_up_in_logs() {
    let target = Target::start();
    let port = free_port();
    let config = crate::shop_config(&target, port).bearer_token_env("CHECKD_TEST_TOKEN");
    let dir = crate::fixture_with(&config, CHECKS);
    let secret = "s3cret-t0ken-4711";
    let mut cmd = dir.checkd(&["run"]);
    cmd.env("CHECKD_TEST_TOKEN", secret)
        .env("CHECKD_LOG", "debug");
    let daemon = Daemon::spawn(cmd, SocketAddr::from(([127, 0, 0, 1], port)));
    assert_eq!(daemon.get("/").map(|(status, _)| status), Some(401));

    let mut output = dir.checkd(&["output"]);
    output.env("CHECKD_TEST_TOKEN", secret);
    let out = crate::util::run(output, Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(0), "{}", crate::util::stderr(&out));
    assert!(crate::util::stdout(&out).starts_with("<<<check_mk>>>"));

    let (status, log) = daemon.terminate_with_log(Duration::from_secs(15));
    assert!(status.success());
    assert!(log.contains("DEBUG"), "debug logging was on: {log}");
    assert!(!log.contains(secret), "the token leaked into the log");
}
