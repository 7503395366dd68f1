//! Checks on `tcp`, `tls` and `command` datasources: what they resolve to, and the keys
//! that belong to another kind.

use std::path::PathBuf;
use std::time::Duration;

use checkd_model::plan::{Datasource, Probe};
use checkd_model::Levels;

use insta::assert_snapshot;

use crate::fixture::{diagnostics, plan};

const CONFIG: &str = r#"execution_environment: prod
environments:
  prod: {host: "h-${environment}", variables: {db: db.prod.example, site: www.example}}
  staging: {host: "h-${environment}", variables: {db: db.staging.example, site: staging.example}}
datasources:
  db: {type: tcp, host: "${db}", port: 5432, timeout: 3s, max_concurrency: 2}
  web-cert: {type: tls, host: "${site}", server_name: "cert.${site}", tls_verify: false}
  plugins: {type: command}
"#;

const CHECKS: &str = r#"checks:
  - name: "Postgres port"
    environments: [prod, staging]
    datasource: db
    cache_for: 1m
    tcp: {send: "PING ${environment}\r\n", expect: PONG, connect_time: {warn: 100ms, crit: 1s}}
  - name: Certificate
    environments: [prod]
    datasource: web-cert
    cache_for: 1h
    tls: {days_left: {warn: 30, crit: 10}}
  - name: Certificate defaults
    environments: [staging]
    datasource: web-cert
    cache_for: 1h
  - name: Disk
    environments: [prod]
    datasource: plugins
    cache_for: 5m
    timeout: 20s
    command:
      program: check_disk
      args: [-w, "10%", -p, "/srv/${environment}"]
      env: {TZ: UTC}
"#;

#[test]
fn probes_resolve_per_environment() {
    let plan = plan(&[("checkd.yaml", CONFIG), ("checks/p.yaml", CHECKS)]);
    let probe = |key: &str| {
        let job = plan.jobs.iter().find(|j| j.key.to_string() == key);
        &job.unwrap_or_else(|| panic!("no job {key}")).probe
    };
    let Probe::Tcp(staging) = probe("Postgres port@staging") else {
        panic!("a tcp probe");
    };
    assert_eq!(
        (staging.host.as_str(), staging.port),
        ("db.staging.example", 5432)
    );
    assert_eq!(staging.send.as_deref(), Some("PING staging\r\n"));
    assert_eq!(staging.expect.as_deref(), Some("PONG"));
    assert_eq!(
        staging.connect_time,
        Levels {
            warn: Some(0.1),
            crit: Some(1.0)
        }
    );
    assert_eq!(
        staging.timeout,
        Duration::from_secs(3),
        "the datasource's timeout"
    );

    let Probe::Tls(prod) = probe("Certificate@prod") else {
        panic!("a tls probe");
    };
    assert_eq!((prod.host.as_str(), prod.port), ("www.example", 443));
    assert_eq!(prod.server_name.as_deref(), Some("cert.www.example"));
    assert!(!prod.verify_chain);
    assert_eq!(
        prod.days_left,
        Levels {
            warn: Some(30.0),
            crit: Some(10.0)
        }
    );
    let Probe::Tls(defaults) = probe("Certificate defaults@staging") else {
        panic!("a tls probe");
    };
    assert_eq!(
        defaults.days_left,
        Levels {
            warn: Some(14.0),
            crit: Some(7.0)
        }
    );

    let Probe::Command(disk) = probe("Disk@prod") else {
        panic!("a command probe");
    };
    assert_eq!(disk.program, PathBuf::from("check_disk"));
    assert_eq!(disk.args, ["-w", "10%", "-p", "/srv/prod"]);
    assert_eq!(disk.env, [("TZ".to_string(), "UTC".to_string())]);
    assert_eq!((disk.shell, disk.timeout), (false, Duration::from_secs(20)));
    assert_eq!(disk.max_output_bytes, 64 * 1024);

    let limits: Vec<(&str, usize)> = plan
        .datasources
        .iter()
        .map(|(name, ds)| {
            assert!(matches!(ds, Datasource::Probe(_)), "{name}: {ds:?}");
            (name.as_str(), ds.max_concurrency())
        })
        .collect();
    assert_eq!(limits, [("db", 2), ("plugins", 8), ("web-cert", 8)]);
}

#[test]
fn keys_of_another_kind_and_missing_targets_are_errors() {
    let config = r#"execution_environment: prod
environments:
  prod: {host: h}
datasources:
  db: {type: tcp, host: db, base_url: "http://x", server_name: x}
  noport: {type: tcp, host: db}
  nohost: {type: tls, port: 0}
  plugins: {type: command, host: x, ca_file: ca.pem}
  web: {type: http, base_url: "http://x", port: 80}
"#;
    let checks = r#"checks:
  - name: A
    environments: [prod]
    datasource: db
    cache_for: 1m
    request: {path: /}
    expect: {status: 200}
  - name: B
    environments: [prod]
    datasource: web
    cache_for: 1m
    request: {path: /}
    tls: {}
  - name: C
    environments: [prod]
    datasource: plugins
    cache_for: 1m
  - name: D
    environments: [prod]
    datasource: plugins
    cache_for: 1m
    command: {program: bin/check_x, env: {"1X": y}, max_output_bytes: 0}
"#;
    assert_snapshot!(diagnostics(&[("checkd.yaml", config), ("checks/a.yaml", checks)]), @r#"
checkd.yaml:5:7: datasources.db: a tcp datasource needs `port`
checkd.yaml:5:29: datasources.db.base_url: `base_url` does not apply to a datasource of type tcp
checkd.yaml:5:51: datasources.db.server_name: `server_name` does not apply to a datasource of type tcp
checkd.yaml:6:11: datasources.noport: a tcp datasource needs `port`
checkd.yaml:7:11: datasources.nohost: a tls datasource needs `host`: where to connect
checkd.yaml:8:28: datasources.plugins.host: `host` does not apply to a datasource of type command
checkd.yaml:8:37: datasources.plugins.ca_file: `ca_file` does not apply to a datasource of type command
checkd.yaml:9:43: datasources.web.port: `port` does not apply to a datasource of type http
checks/a.yaml:6:5: checks[0].request: `request` does not apply to a check on datasource "db" (type tcp); it is for type http
checks/a.yaml:7:5: checks[0].expect: `expect` does not apply to a check on datasource "db" (type tcp); it is for type http
checks/a.yaml:13:5: checks[1].tls: `tls` does not apply to a check on datasource "web" (type http); it is for type tls
checks/a.yaml:14:5: checks[2]: a check on a command datasource needs `command`: what to run
checks/a.yaml:22:24: checks[3].command.program: program "bin/check_x" is a relative path: give an absolute path, or a name found in PATH
checks/a.yaml:22:43: checks[3].command.env.1X: invalid environment variable name "1X"
checks/a.yaml:22:71: checks[3].command.max_output_bytes: expected at least 1 byte, found 0
"#);
}
