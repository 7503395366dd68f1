//! `checkd validate`: every mistake at once, with file:line:col.

use std::time::Duration;

use crate::config::DaemonConfig;
use crate::util::{run, stderr, Dir};

#[test]
fn the_shipped_examples_validate() {
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/checkd.yaml");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_checkd"));
    cmd.args(["validate", "--config"]).arg(&config);
    let out = run(cmd, Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn validate_prints_every_mistake_in_two_files_and_exits_1() {
    let dir = Dir::new();
    // The positions below are lines and columns of the builder's fixed layout.
    DaemonConfig::new()
        .environment("prod", "shop prod")
        .datasource(
            "shop",
            &[
                ("type", "http"),
                ("base_url", "http://127.0.0.1:9"),
                ("timeout", "soon"),
            ],
        )
        .write(&dir);
    dir.write(
        "checks/a.yaml",
        "checks:\n\
         \x20 - name: A\n    environments: [prod, stage]\n    datasource: shop\n    cache_for: 5m\n    request: {path: /}\n\
         \x20 - name: B\n    environments: [prod]\n    datasource: shopp\n    schedule: \"0 25 * * *\"\n    request: {path: /}\n",
    );
    let out = run(dir.checkd(&["validate"]), Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        r#"checkd.yaml:5:11: environments.prod.host: host name contains ' ', which Checkmk replaces with '_' (allowed: A-Z a-z 0-9 - _ .)
checkd.yaml:10:14: datasources.shop.timeout: invalid duration "soon": expected a number
checks/a.yaml:3:26: checks[0].environments[1]: unknown environment "stage", defined: prod
checks/a.yaml:9:17: checks[1].datasource: unknown datasource "shopp", did you mean "shop"?
checks/a.yaml:10:15: checks[1].schedule: invalid cron schedule "0 25 * * *": component error: number out of bounds
"#
    );
}

#[test]
fn schema_prints_the_schemas_the_docs_ship() {
    for (which, file) in [
        ("config", "checkd.schema.json"),
        ("checks", "checks.schema.json"),
    ] {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_checkd"));
        cmd.args(["schema", which]);
        let out = run(cmd, Duration::from_secs(30));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs/schema")
            .join(file);
        let shipped = std::fs::read_to_string(shipped).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            shipped,
            "checkd schema {which}"
        );
        let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
    }
}
