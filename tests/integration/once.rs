//! `checkd once`: exact Checkmk output for every state, exit codes, formats.

use std::time::Duration;

use insta::assert_snapshot;

use crate::target::Target;
use crate::util::{free_port, normalize, run, stderr, stdout};
use crate::{fixture, SHOP_CHECKS};

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn once_renders_every_state_exactly_and_exits_with_the_worst() {
    let target = Target::start();
    let dir = fixture(&target, free_port(), SHOP_CHECKS);
    let out = run(dir.checkd(&["once", "--format", "checkmk"]), LIMIT);
    let text = stdout(&out);
    assert_eq!(
        normalize(&text),
        EXPECTED_SHOP_OUTPUT,
        "stderr: {}",
        stderr(&out)
    );
    checkd_checkmk::validate::validate_agent_output(&text).expect("valid agent output");
    // CRIT beats UNKNOWN: the worst state's Nagios code is 2.
    assert_eq!(out.status.code(), Some(2));
}

const EXPECTED_SHOP_OUTPUT: &str = r#"<<<check_mk>>>
Version: checkd-0.1.0
AgentOS: checkd
<<<local:sep(0)>>>
0 "checkd" checks=9;;;0|scheduler_lag=0;;;0|failed=8;;;0 9 checks, 8 failing, scheduler lag 0 ms\n[OK] 9 checks, 8 failing\n[OK] scheduler lag 0 ms\n[OK] cache memory ok: STATS\n[OK] cache sled ok: STATS
<<<<shop-prod>>>>
<<<local:sep(0)>>>
cached(T,300) 0 "Orders health" depth=3;500;1000;0 Orders healthy\n[OK] HTTP 200\n[OK] status is "ok"\n[OK] depth 3
cached(T,300) 1 "Orders busy" depth=700;500;1000;0 depth 700 (warn at 500)\n[OK] HTTP 200\n[WARN] depth 700 (warn at 500)
cached(T,300) 2 "Orders degraded" depth=1830;500;1000;0 status is "degraded", expected "ok", depth 1830 (crit at 1000)\n[OK] HTTP 200\n[CRIT] status is "degraded", expected "ok"\n[CRIT] depth 1830 (crit at 1000)
cached(T,300) 0 "Orders worker" - workers listed\n[OK] HTTP 200\n[OK] 1 of 2 WARN
cached(T,300) 0 "Orders worker w1" - idle\n[OK] busy is false
cached(T,300) 1 "Orders worker w2" - busy is true, expected false\n[WARN] busy is true, expected false
cached(T,300) 2 "Error page" - HTTP 503 (expected 2xx)\n[CRIT] HTTP 503 (expected 2xx)
cached(T,300) 2 "Not JSON" - response is not JSON: expected value at line 1 column 1\n[OK] HTTP 200\n[CRIT] response is not JSON: expected value at line 1 column 1
3 "Slow" - datasource unavailable: timed out after 1s (GET http://127.0.0.1:PORT/slow)\nunavailable since TIME
cached(T,300) 2 "Huge" - response body larger than 1024 bytes\n[OK] HTTP 200\n[CRIT] response body larger than 1024 bytes
3 "Refused" - datasource unavailable: connection refused (GET http://127.0.0.1:PORT/health)\nunavailable since TIME
<<<<>>>>
"#;

#[test]
fn exit_code_is_the_nagios_code_of_the_worst_state() {
    let target = Target::start();
    let dir = fixture(&target, free_port(), SHOP_CHECKS);
    let cases: &[(&[&str], i32)] = &[
        (&["Orders health"], 0),
        (&["Orders busy"], 1),
        (&["Orders degraded"], 2),
        (&["Refused"], 3),
        (&["Refused", "Orders busy"], 3),
        (&["Refused", "Orders degraded", "Orders busy"], 2),
    ];
    for (checks, want) in cases {
        let mut args = vec!["once", "--format", "table"];
        for check in *checks {
            args.extend(["--check", check]);
        }
        let out = run(dir.checkd(&args), LIMIT);
        assert_eq!(
            out.status.code(),
            Some(*want),
            "{checks:?}: {}",
            stdout(&out)
        );
    }
}

#[test]
fn the_table_lists_every_service_in_plan_order_with_its_summary() {
    let target = Target::start();
    let dir = fixture(&target, free_port(), SHOP_CHECKS);
    let out = run(dir.checkd(&["once"]), LIMIT);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_snapshot!(normalize(&stdout(&out)), @r#"
    STATE    ENVIRONMENT  SERVICE           SUMMARY
    OK       prod         Orders health     Orders healthy
    WARN     prod         Orders busy       depth 700 (warn at 500)
    CRIT     prod         Orders degraded   status is "degraded", expected "ok", depth 1830 (crit at 1000)
    OK       prod         Orders worker     workers listed
    OK       prod         Orders worker w1  idle
    WARN     prod         Orders worker w2  busy is true, expected false
    CRIT     prod         Error page        HTTP 503 (expected 2xx)
    CRIT     prod         Not JSON          response is not JSON: expected value at line 1 column 1
    UNKNOWN  prod         Slow              datasource unavailable: timed out after 1s (GET http://127.0.0.1:PORT/slow)
    CRIT     prod         Huge              response body larger than 1024 bytes
    UNKNOWN  prod         Refused           datasource unavailable: connection refused (GET http://127.0.0.1:PORT/health)
    "#);
}

#[test]
fn once_prints_a_table_and_json() {
    let target = Target::start();
    let dir = fixture(&target, free_port(), SHOP_CHECKS);
    let out = run(
        dir.checkd(&["once", "--check", "Orders busy", "--check", "Orders health"]),
        LIMIT,
    );
    assert_snapshot!(stdout(&out), @r"
    STATE    ENVIRONMENT  SERVICE        SUMMARY
    OK       prod         Orders health  Orders healthy
    WARN     prod         Orders busy    depth 700 (warn at 500)
    ");
    assert!(
        stdout(&out).ends_with(")\n"),
        "one newline after the last row"
    );

    let out = run(
        dir.checkd(&["once", "--check", "Orders busy", "--format", "json"]),
        LIMIT,
    );
    let rows: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let row = &rows[0];
    assert_eq!(row["service"], "Orders busy");
    assert_eq!(row["environment"], "prod");
    assert_eq!(row["host"], "shop-prod");
    assert_eq!(row["state"], "WARN");
    assert_eq!(row["metrics"][0]["name"], "depth");
    assert_eq!(row["metrics"][0]["value"], 700.0);
    assert_eq!(row["metrics"][0]["upper"]["warn"], 500.0);
    assert_eq!(row["valid_for_s"], 300);
    assert_eq!(rows.as_array().map(Vec::len), Some(1));
}

#[test]
fn once_rejects_unknown_selections_and_bad_config_with_code_4() {
    let target = Target::start();
    let dir = fixture(&target, free_port(), SHOP_CHECKS);
    let out = run(dir.checkd(&["once", "--check", "nope"]), LIMIT);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stderr(&out).contains("no check named \"nope\""),
        "{}",
        stderr(&out)
    );

    dir.write("checks/broken.yaml", "checks:\n  - name: x\n    bogus: 1\n");
    let out = run(dir.checkd(&["once"]), LIMIT);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stderr(&out).contains("checks/broken.yaml:"),
        "{}",
        stderr(&out)
    );
}
