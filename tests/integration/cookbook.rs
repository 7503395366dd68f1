//! The cookbook (`docs/cookbook.md`, its files in `docs/cookbook/`): its config is valid, its
//! checks pass their own tests, and each example judges real responses of a server on
//! 127.0.0.1 through `checkd once` as the cookbook says.
//!
//! The examples run with the cookbook's own config and check files, copied into a temp dir
//! with `api_url` pointed at the [`Target`], so both environments ask the same server: one
//! response, judged per environment.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use insta::assert_snapshot;

use crate::target::Target;
use crate::util::{run, stderr, stdout, Dir};

const LIMIT: Duration = Duration::from_secs(30);

/// `docs/cookbook` in the workspace.
fn cookbook_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/cookbook")
}

/// `checkd <args> --config docs/cookbook/checkd.yaml` from the workspace root, as CI runs it.
fn checkd_on_cookbook(args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_checkd"));
    cmd.args(args)
        .args(["--config", "docs/cookbook/checkd.yaml"])
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .env_remove("CHECKD_CONFIG")
        .env_remove("CHECKD_ENVIRONMENT");
    run(cmd, LIMIT)
}

#[test]
fn the_cookbook_config_is_valid() {
    let out = checkd_on_cookbook(&["validate"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "docs/cookbook/checkd.yaml: valid, 20 checks in 2 environments\n"
    );
}

#[test]
fn every_example_passes_its_tests() {
    let out = checkd_on_cookbook(&["test"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(text.ends_with(" tests, all passed\n"), "{text}");
    // Every check file has a test file, and each of those a passing case.
    let checks: Vec<String> = yaml_files()
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| is_check_file(name))
        .collect();
    assert_eq!(checks.len(), 10, "{checks:?}");
    for check in checks {
        let tests = format!(
            "docs/cookbook/checks/{}.test.yaml:",
            check.trim_end_matches(".yaml")
        );
        assert!(
            text.lines()
                .any(|line| line.starts_with(&tests) && line.ends_with(" ... ok")),
            "no passing case for {check}:\n{text}"
        );
    }
}

#[test]
fn the_cookbook_page_shows_the_files_as_they_are() {
    let page = std::fs::read_to_string(cookbook_dir().join("../cookbook.md")).expect("page");
    let blocks: Vec<&str> = page
        .split("```yaml\n")
        .skip(1)
        .map(|rest| rest.split_once("\n```").expect("a closed block").0)
        .collect();
    let config = std::fs::read_to_string(cookbook_dir().join("checkd.yaml")).expect("config");
    let mut files = vec![("checkd.yaml".to_string(), config)];
    for (name, path) in yaml_files() {
        files.push((name, std::fs::read_to_string(&path).expect("file")));
    }
    for block in &blocks {
        assert!(
            files.iter().any(|(_, text)| text.contains(block)),
            "docs/cookbook.md shows what no file of docs/cookbook has:\n{block}"
        );
    }
    // Every check file (after the config) is shown whole, from `checks:` on.
    for (name, text) in files.iter().skip(1).filter(|(name, _)| is_check_file(name)) {
        let check = text[text.find("checks:").expect("checks:")..].trim_end();
        assert!(
            blocks.contains(&check),
            "docs/cookbook.md does not show {name} as it is"
        );
    }
}

/// The files of `docs/cookbook/checks` (`*.yaml`: checks and tests) by name, in name order.
fn yaml_files() -> Vec<(String, PathBuf)> {
    let mut files: Vec<(String, PathBuf)> = std::fs::read_dir(cookbook_dir().join("checks"))
        .expect("docs/cookbook/checks")
        .map(|entry| {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, path)
        })
        .filter(|(name, _)| name.ends_with(".yaml"))
        .collect();
    files.sort();
    files
}

/// A check file, not a test file.
fn is_check_file(name: &str) -> bool {
    name.ends_with(".yaml") && !name.ends_with(".test.yaml")
}

/// The cookbook's checks and config in a temp dir, asking `target` in both environments.
struct Cookbook {
    target: Target,
    dir: Dir,
}

impl Cookbook {
    fn start() -> Cookbook {
        let target = Target::start();
        let dir = Dir::new();
        let config = std::fs::read_to_string(cookbook_dir().join("checkd.yaml")).expect("config");
        let api_url = regex::Regex::new(r#"(?m)^(\s+api_url: ).*$"#).expect("regex");
        assert_eq!(
            api_url.find_iter(&config).count(),
            2,
            "one api_url per environment:\n{config}"
        );
        let url = format!("${{1}}\"{}\"", target.url());
        dir.write("checkd.yaml", &api_url.replace_all(&config, url.as_str()));
        for (name, path) in yaml_files() {
            if is_check_file(&name) {
                let check = std::fs::read_to_string(&path).expect("check file");
                dir.write(&format!("checks/{name}"), &check);
            }
        }
        Cookbook { target, dir }
    }

    /// Answers `GET path` with `body` (JSON) and status 200 from now on.
    fn serve(&self, path: &str, body: &str) {
        self.target.serve(path, 200, body);
    }

    /// Runs one check in both environments with `checkd once --format json`: its services,
    /// one line each, then the exit code.
    fn once(&self, check: &str) -> String {
        let rows = self.rows(check);
        let mut text = String::new();
        for row in rows.0.as_array().expect("rows") {
            text.push_str(&line(row));
            text.push('\n');
        }
        text.push_str(&format!("exit {}", rows.1));
        text
    }

    /// The JSON rows of `checkd once` for `check` and its exit code.
    fn rows(&self, check: &str) -> (serde_json::Value, i32) {
        let out = run(
            self.dir
                .checkd(&["once", "--no-cache", "--format", "json", "--check", check]),
            LIMIT,
        );
        let rows = serde_json::from_str(&stdout(&out))
            .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
        (rows, out.status.code().expect("an exit code"))
    }
}

/// `WARN prod "Workers": 2 of 40 workers unhealthy | unhealthy=2;1;3`: a metric as its
/// value and upper levels; the response time in default summaries as `T`.
fn line(row: &serde_json::Value) -> String {
    let text = |key: &str| row[key].as_str().expect(key).to_string();
    let mut line = format!(
        "{} {} {:?}: {}",
        text("state"),
        text("environment"),
        text("service"),
        regex::Regex::new(r"HTTP (\d+) in \d+ ms")
            .expect("regex")
            .replace(&text("summary"), "HTTP $1 in T ms")
    );
    let metrics = row["metrics"].as_array().expect("metrics");
    for (i, metric) in metrics.iter().enumerate() {
        let number = |value: &serde_json::Value| value.as_f64().map(|n| n.to_string());
        let levels =
            ["warn", "crit"].map(|level| number(&metric["upper"][level]).unwrap_or_default());
        line.push_str(if i == 0 { " | " } else { " " });
        line.push_str(&format!(
            "{}={};{};{}",
            metric["name"].as_str().expect("name"),
            number(&metric["value"]).expect("value"),
            levels[0],
            levels[1]
        ));
    }
    line
}

/// The body of `n` workers, the `bad` ones among them not healthy.
fn workers(n: usize, bad: &[usize]) -> String {
    let workers: Vec<String> = (1..=n)
        .map(|i| {
            let status = if bad.contains(&i) { "down" } else { "healthy" };
            format!(r#"{{"name":"w{i:02}","status":"{status}"}}"#)
        })
        .collect();
    format!(r#"{{"workers":[{}]}}"#, workers.join(","))
}

#[test]
fn workers_unhealthy_warn_at_1_and_crit_at_3() {
    let cookbook = Cookbook::start();
    cookbook.serve("/workers", &workers(40, &[]));
    assert_snapshot!(cookbook.once("workers"), @r#"
    OK prod "Workers": 0 of 40 workers unhealthy | unhealthy=0;1;3
    OK staging "Workers": 0 of 40 workers unhealthy | unhealthy=0;1;3
    exit 0
    "#);
    cookbook.serve("/workers", &workers(40, &[6, 13]));
    assert_snapshot!(cookbook.once("workers"), @r#"
    WARN prod "Workers": 2 of 40 workers unhealthy | unhealthy=2;1;3
    WARN staging "Workers": 2 of 40 workers unhealthy | unhealthy=2;1;3
    exit 1
    "#);
    cookbook.serve("/workers", &workers(40, &[6, 13, 20]));
    assert_snapshot!(cookbook.once("workers"), @r#"
    CRIT prod "Workers": 3 of 40 workers unhealthy | unhealthy=3;1;3
    CRIT staging "Workers": 3 of 40 workers unhealthy | unhealthy=3;1;3
    exit 2
    "#);
    cookbook.serve("/workers", r#"{"status":"starting"}"#);
    assert_snapshot!(cookbook.once("workers"), @r#"
    CRIT prod "Workers": expression "body.workers.filter(w, w.status != "healthy").size()" failed: no such key: workers, expression "body.workers.size()" failed: no such key: workers
    CRIT staging "Workers": expression "body.workers.filter(w, w.status != "healthy").size()" failed: no such key: workers, expression "body.workers.size()" failed: no such key: workers
    exit 2
    "#);
}

#[test]
fn failed_jobs_share_warns_at_5_and_crits_at_10_percent() {
    let cookbook = Cookbook::start();
    cookbook.serve("/jobs/stats", r#"{"total":200,"failed":4}"#);
    assert_snapshot!(cookbook.once("failed_jobs"), @r#"
    OK prod "Failed jobs": 4 of 200 jobs failed | failed_pct=2;5;10
    OK staging "Failed jobs": 4 of 200 jobs failed | failed_pct=2;5;10
    exit 0
    "#);
    cookbook.serve("/jobs/stats", r#"{"total":200,"failed":12}"#);
    assert_snapshot!(cookbook.once("failed_jobs"), @r#"
    WARN prod "Failed jobs": 12 of 200 jobs failed | failed_pct=6;5;10
    WARN staging "Failed jobs": 12 of 200 jobs failed | failed_pct=6;5;10
    exit 1
    "#);
    cookbook.serve("/jobs/stats", r#"{"total":40,"failed":5}"#);
    assert_snapshot!(cookbook.once("failed_jobs"), @r#"
    CRIT prod "Failed jobs": 5 of 40 jobs failed | failed_pct=12.5;5;10
    CRIT staging "Failed jobs": 5 of 40 jobs failed | failed_pct=12.5;5;10
    exit 2
    "#);
    cookbook.serve("/jobs/stats", r#"{"total":0,"failed":0}"#);
    assert_snapshot!(cookbook.once("failed_jobs"), @r#"
    OK prod "Failed jobs": 0 of 0 jobs failed | failed_pct=0;5;10
    OK staging "Failed jobs": 0 of 0 jobs failed | failed_pct=0;5;10
    exit 0
    "#);
}

#[test]
fn disks_sum_of_used_bytes_and_the_fullest_disk() {
    let cookbook = Cookbook::start();
    let disks = |srv: (u64, f64)| {
        format!(
            r#"{{"disks":[{{"mount":"/","used_bytes":40000000000,"used_pct":41.5}},{{"mount":"/srv","used_bytes":{},"used_pct":{}}},{{"mount":"/var","used_bytes":60000000000,"used_pct":12}}]}}"#,
            srv.0, srv.1
        )
    };
    cookbook.serve("/disks", &disks((200_000_000_000, 55.0)));
    assert_snapshot!(cookbook.once("disks"), @r#"
    OK prod "Disks": HTTP 200 in T ms, used_bytes 300000000000, max_used_pct 55 | used_bytes=300000000000;800000000000;900000000000 max_used_pct=55;80;90
    OK staging "Disks": HTTP 200 in T ms, used_bytes 300000000000, max_used_pct 55 | used_bytes=300000000000;800000000000;900000000000 max_used_pct=55;80;90
    exit 0
    "#);
    cookbook.serve("/disks", &disks((300_000_000_000, 85.0)));
    assert_snapshot!(cookbook.once("disks"), @r#"
    WARN prod "Disks": max_used_pct 85 (warn at 80) | used_bytes=400000000000;800000000000;900000000000 max_used_pct=85;80;90
    WARN staging "Disks": max_used_pct 85 (warn at 80) | used_bytes=400000000000;800000000000;900000000000 max_used_pct=85;80;90
    exit 1
    "#);
    cookbook.serve("/disks", &disks((850_000_000_000, 75.5)));
    assert_snapshot!(cookbook.once("disks"), @r#"
    CRIT prod "Disks": used_bytes 950000000000 (crit at 900000000000) | used_bytes=950000000000;800000000000;900000000000 max_used_pct=75.5;80;90
    CRIT staging "Disks": used_bytes 950000000000 (crit at 900000000000) | used_bytes=950000000000;800000000000;900000000000 max_used_pct=75.5;80;90
    exit 2
    "#);
}

#[test]
fn backup_older_than_30_minutes_is_crit_with_its_age_in_seconds() {
    let cookbook = Cookbook::start();
    for (minutes, state) in [(10, "OK"), (45, "CRIT")] {
        // Whole seconds, as APIs write them: the age is at least the minutes given.
        let last_success = (chrono::Utc::now() - chrono::Duration::minutes(minutes))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        cookbook.serve(
            "/backup/status",
            &format!(r#"{{"last_success":"{last_success}"}}"#),
        );
        let (rows, code) = cookbook.rows("backup");
        assert_eq!(code, if state == "OK" { 0 } else { 2 }, "{rows}");
        let rows = rows.as_array().expect("rows");
        assert_eq!(rows.len(), 2, "{rows:?}");
        for row in rows {
            assert_eq!(row["state"], state, "{row}");
            assert_eq!(
                row["summary"],
                format!("last success {minutes} min ago"),
                "{row}"
            );
            let metric = &row["metrics"][0];
            assert_eq!(metric["name"], "age", "{row}");
            assert_eq!(metric["upper"]["crit"], 1800.0, "{row}");
            // The run's own clock: as old as served, plus the moments since.
            let age = metric["value"].as_f64().expect("age");
            let served = (minutes * 60) as f64;
            assert!((served..served + 30.0).contains(&age), "{row}");
        }
    }
}

#[test]
fn deployment_with_fewer_ready_replicas_than_wanted_is_crit() {
    let cookbook = Cookbook::start();
    let path = "/apis/apps/v1/namespaces/shop/deployments/orders";
    cookbook.serve(
        path,
        r#"{"spec":{"replicas":3},"status":{"replicas":3,"readyReplicas":3}}"#,
    );
    assert_snapshot!(cookbook.once("deployment"), @r#"
    OK prod "Deployment orders": 3 of 3 replicas ready
    OK staging "Deployment orders": 3 of 3 replicas ready
    exit 0
    "#);
    cookbook.serve(
        path,
        r#"{"spec":{"replicas":3},"status":{"replicas":3,"readyReplicas":2}}"#,
    );
    assert_snapshot!(cookbook.once("deployment"), @r#"
    CRIT prod "Deployment orders": 2 of 3 replicas ready
    CRIT staging "Deployment orders": 2 of 3 replicas ready
    exit 2
    "#);
    cookbook.serve(
        path,
        r#"{"spec":{"replicas":3},"status":{"replicas":3,"unavailableReplicas":3}}"#,
    );
    assert_snapshot!(cookbook.once("deployment"), @r#"
    CRIT prod "Deployment orders": 0 of 3 replicas ready
    CRIT staging "Deployment orders": 0 of 3 replicas ready
    exit 2
    "#);
}

#[test]
fn client_version_must_match_2_4() {
    let cookbook = Cookbook::start();
    let info = |version: &str| {
        format!(r#"{{"library":{{"name":"orders-client","version":"{version}"}}}}"#)
    };
    cookbook.serve("/client/info", &info("2.4.7"));
    assert_snapshot!(cookbook.once("client_version"), @r#"
    OK prod "Client library": library 2.4.7
    OK staging "Client library": library 2.4.7
    exit 0
    "#);
    cookbook.serve("/client/info", &info("2.40.1"));
    assert_snapshot!(cookbook.once("client_version"), @r#"
    CRIT prod "Client library": library 2.40.1, expected 2.4.x
    CRIT staging "Client library": library 2.40.1, expected 2.4.x
    exit 2
    "#);
}

#[test]
fn version_is_compared_with_each_environments_variable() {
    let cookbook = Cookbook::start();
    cookbook.serve("/version", r#"{"version":"2.4.1"}"#);
    assert_snapshot!(cookbook.once("version"), @r#"
    OK prod "Version": version 2.4.1
    CRIT staging "Version": version is "2.4.1", expected "2.5.0"
    exit 2
    "#);
    cookbook.serve("/version", r#"{"version":"2.5.0"}"#);
    assert_snapshot!(cookbook.once("version"), @r#"
    CRIT prod "Version": version is "2.5.0", expected "2.4.1"
    OK staging "Version": version 2.5.0
    exit 2
    "#);
}

#[test]
fn queue_levels_are_500_1000_in_prod_and_2000_5000_in_staging() {
    let cookbook = Cookbook::start();
    cookbook.serve("/orders/queue", r#"{"queue":{"depth":700}}"#);
    assert_snapshot!(cookbook.once("queue"), @r#"
    WARN prod "Order queue": depth 700 (warn at 500) | depth=700;500;1000
    OK staging "Order queue": HTTP 200 in T ms, depth 700 | depth=700;2000;5000
    exit 1
    "#);
    cookbook.serve("/orders/queue", r#"{"queue":{"depth":2500}}"#);
    assert_snapshot!(cookbook.once("queue"), @r#"
    CRIT prod "Order queue": depth 2500 (crit at 1000) | depth=2500;500;1000
    WARN staging "Order queue": depth 2500 (warn at 2000) | depth=2500;2000;5000
    exit 2
    "#);
    cookbook.serve("/orders/queue", r#"{"queue":{"depth":6000}}"#);
    assert_snapshot!(cookbook.once("queue"), @r#"
    CRIT prod "Order queue": depth 6000 (crit at 1000) | depth=6000;500;1000
    CRIT staging "Order queue": depth 6000 (crit at 5000) | depth=6000;2000;5000
    exit 2
    "#);
}

#[test]
fn spring_health_has_one_service_per_component() {
    let cookbook = Cookbook::start();
    cookbook.serve(
        "/actuator/health",
        r#"{"status":"UP","components":{"db":{"status":"UP","details":{"database":"PostgreSQL"}},"diskSpace":{"status":"UP"},"ping":{"status":"UP"}}}"#,
    );
    assert_snapshot!(cookbook.once("spring_health"), @r#"
    OK prod "Orders health": HTTP 200 in T ms, 3 items OK
    OK prod "Orders health db": UP
    OK prod "Orders health diskSpace": UP
    OK prod "Orders health ping": UP
    OK staging "Orders health": HTTP 200 in T ms, 3 items OK
    OK staging "Orders health db": UP
    OK staging "Orders health diskSpace": UP
    OK staging "Orders health ping": UP
    exit 0
    "#);
    // Spring answers 503 while DOWN.
    cookbook.target.serve(
        "/actuator/health",
        503,
        r#"{"status":"DOWN","components":{"db":{"status":"DOWN","details":{"error":"java.net.ConnectException: Connection refused"}},"diskSpace":{"status":"UP"},"ping":{"status":"UP"}}}"#,
    );
    assert_snapshot!(cookbook.once("spring_health"), @r#"
    OK prod "Orders health": HTTP 503 in T ms, 1 of 3 CRIT
    CRIT prod "Orders health db": DOWN
    OK prod "Orders health diskSpace": UP
    OK prod "Orders health ping": UP
    OK staging "Orders health": HTTP 503 in T ms, 1 of 3 CRIT
    CRIT staging "Orders health db": DOWN
    OK staging "Orders health diskSpace": UP
    OK staging "Orders health ping": UP
    exit 2
    "#);
}

#[test]
fn nodes_have_one_service_per_node_of_every_cluster() {
    let cookbook = Cookbook::start();
    cookbook.serve(
        "/clusters",
        r#"{"clusters":[{"name":"eu","nodes":[{"name":"node-1","ready":true},{"name":"node-2","ready":false}]},{"name":"us","nodes":[{"name":"node-1","ready":true}]}]}"#,
    );
    assert_snapshot!(cookbook.once("nodes"), @r#"
    OK prod "Nodes": HTTP 200 in T ms, 1 of 3 CRIT
    OK prod "Nodes eu/node-1": ready
    CRIT prod "Nodes eu/node-2": not ready
    OK prod "Nodes us/node-1": ready
    OK staging "Nodes": HTTP 200 in T ms, 1 of 3 CRIT
    OK staging "Nodes eu/node-1": ready
    CRIT staging "Nodes eu/node-2": not ready
    OK staging "Nodes us/node-1": ready
    exit 2
    "#);
}
