//! Every kind of mistake, with the exact diagnostics it prints.

use insta::assert_snapshot;

use crate::fixture::diagnostics;

/// A valid check; `extra` lines go before `request:`.
fn one_check(extra: &str) -> String {
    format!(
        "checks:\n  - name: \"Orders API ${{environment}}\"\n    environments: [prod, staging]\n    datasource: orders\n{extra}    request: {{path: /health}}\n"
    )
}

#[test]
fn a_valid_tree_has_no_diagnostics() {
    assert_snapshot!(diagnostics(&[("checks/orders.yaml", &one_check("    cache_for: 5m\n"))]), @"ok");
}

#[test]
fn unknown_environment_and_datasource_suggest_the_closest_name() {
    let file = r#"checks:
  - name: Orders
    environments: [prd, qa]
    datasource: order
    cache_for: 1m
    request: {path: /}
"#;
    assert_snapshot!(diagnostics(&[("checks/orders.yaml", file)]), @r#"
checks/orders.yaml:3:20: checks[0].environments[0]: unknown environment "prd", did you mean "prod"?
checks/orders.yaml:3:25: checks[0].environments[1]: unknown environment "qa", defined: prod, staging
checks/orders.yaml:4:17: checks[0].datasource: unknown datasource "order", did you mean "orders"?
"#);
}

#[test]
fn duplicate_check_ids_across_files() {
    let a = r#"checks:
  - name: Orders
    id: orders
    environments: [prod]
    datasource: orders
    cache_for: 1m
    request: {path: /}
"#;
    let b = r#"checks:
  - name: Orders again
    id: orders
    environments: [staging]
    datasource: orders
    cache_for: 1m
    request: {path: /}
  - name: Orders again
    environments: [staging]
    datasource: orders
    cache_for: 1m
    request: {path: /}
"#;
    assert_snapshot!(diagnostics(&[("checks/a.yaml", a), ("checks/b.yaml", b)]), @r#"
checks/b.yaml:3:9: checks[0].id: duplicate check id "orders", first defined at checks/a.yaml:3
checks/b.yaml:8:11: checks[1].name: service "Orders again" on host orders-staging is already defined at checks/b.yaml:2
"#);
}

#[test]
fn duplicate_services_on_one_host_after_templating() {
    let a = r#"checks:
  - name: Orders prod
    environments: [prod]
    datasource: orders
    cache_for: 1m
    request: {path: /}
"#;
    let b = r#"checks:
  - name: Orders ${environment}
    environments: [staging, prod]
    datasource: orders
    cache_for: 1m
    request: {path: /}
"#;
    assert_snapshot!(diagnostics(&[("checks/a.yaml", a), ("checks/b.yaml", b)]), @r#"
checks/b.yaml:2:11: checks[0].name: service "Orders prod" on host orders-prod is already defined at checks/a.yaml:2
"#);
}

#[test]
fn invalid_host_and_service_names() {
    let config = r#"execution_environment: prod
environments:
  prod: {host: "orders ${environment}"}
  staging: {host: -orders}
datasources:
  orders: {type: http, base_url: "https://orders.example"}
"#;
    let checks = r#"checks:
  - name: "Orders' API"
    environments: [prod]
    datasource: orders
    cache_for: 1m
    request: {path: /}
  - name: "Orders ${environment};"
    environments: [prod]
    datasource: orders
    cache_for: 1m
    request: {path: /}
"#;
    assert_snapshot!(diagnostics(&[("checkd.yaml", config), ("checks/a.yaml", checks)]), @r#"
checkd.yaml:3:16: environments.prod.host: host name contains ' ', which Checkmk replaces with '_' (allowed: A-Z a-z 0-9 - _ .) (resolved to "orders prod")
checkd.yaml:4:19: environments.staging.host: host name starts with '-'; it must start with a letter, a digit or '_'
checks/a.yaml:2:11: checks[0].name: service name contains "'", which breaks service discovery
checks/a.yaml:7:11: checks[1].name: service name contains ';', which the monitoring core rejects or mangles (resolved to "Orders prod;")
"#);
}

#[test]
fn bad_durations() {
    let file = r#"checks:
  - name: A
    environments: [prod]
    datasource: orders
    cache_for: 5
    timeout: 0s
    request: {path: /}
  - name: B
    environments: [prod]
    datasource: orders
    cache_for: 5m
    stale_after: 1m
    request: {path: /}
  - name: C
    environments: [prod]
    datasource: orders
    cache_for: 5 mins!
    request: {path: /}
    expect:
      response_time: {warn: 2s, crit: 500ms}
"#;
    assert_snapshot!(diagnostics(&[("checks/a.yaml", file)]), @r#"
checks/a.yaml:5:16: checks[0].cache_for: invalid duration "5": a unit is needed, e.g. 5s or 5m
checks/a.yaml:6:14: checks[0].timeout: expected a duration longer than 0, found "0s"
checks/a.yaml:12:18: checks[1].stale_after: stale_after (1m) must be longer than cache_for (5m)
checks/a.yaml:17:22: checks[2].cache_for: invalid duration "5 mins!": unexpected character '!'
checks/a.yaml:20:29: checks[2].expect.response_time.warn: warn (2s) is above crit (500ms)
"#);
}

#[test]
fn bad_cron_schedules_and_time_zones() {
    let file = r#"checks:
  - name: A
    environments: [prod]
    datasource: orders
    schedule: "0 9 * *"
    request: {path: /}
  - name: B
    environments: [prod]
    datasource: orders
    schedule: "61 * * * *"
    timezone: Europe/Berln
    grace: soon
    request: {path: /}
  - name: C
    environments: [prod]
    datasource: orders
    cache_for: 1m
    timezone: UTC
    request: {path: /}
"#;
    assert_snapshot!(diagnostics(&[("checks/a.yaml", file)]), @r#"
checks/a.yaml:5:15: checks[0].schedule: invalid cron schedule "0 9 * *": invalid pattern: pattern must have 5 fields when seconds are disallowed
checks/a.yaml:10:15: checks[1].schedule: invalid cron schedule "61 * * * *": component error: number out of bounds
checks/a.yaml:11:15: checks[1].timezone: unknown time zone "Europe/Berln", did you mean "Europe/Berlin"?
checks/a.yaml:12:12: checks[1].grace: invalid duration "soon": expected a number
checks/a.yaml:18:5: checks[2].timezone: `timezone` only applies with `schedule`, not with `cache_for`
"#);
}

#[test]
fn cache_for_or_schedule_and_path_or_url_exactly_one() {
    let file = r#"checks:
  - name: A
    environments: [prod]
    datasource: orders
    cache_for: 1m
    schedule: "* * * * *"
    request: {path: /, url: "https://x.example"}
  - name: B
    environments: [prod]
    datasource: orders
    request: {method: GET}
  - name: C
    environments: [prod]
    datasource: orders
    cache_for: 1m
"#;
    assert_snapshot!(diagnostics(&[("checks/a.yaml", file)]), @r#"
checks/a.yaml:6:5: checks[0].schedule: use either `cache_for` (an interval) or `schedule` (cron), not both
checks/a.yaml:7:24: checks[0].request.url: a request takes only one of `path` or `url`, found path and url
checks/a.yaml:8:5: checks[1]: missing `cache_for` or `schedule`: say how often the check runs
checks/a.yaml:11:14: checks[1].request: a request needs one of `path` or `url`
checks/a.yaml:12:5: checks[2]: missing required key `request`: what to send
"#);
}

#[test]
fn path_needs_a_base_url() {
    let config = r#"execution_environment: prod
environments:
  prod: {host: orders-prod}
datasources:
  plain: {type: http}
"#;
    let file = r#"checks:
  - name: A
    environments: [prod]
    datasource: plain
    cache_for: 1m
    request: {path: /health}
  - name: B
    environments: [prod]
    datasource: plain
    cache_for: 1m
    request: {url: "ftp://files.example/x"}
"#;
    assert_snapshot!(diagnostics(&[("checkd.yaml", config), ("checks/a.yaml", file)]), @r#"
checks/a.yaml:6:21: checks[0].request.path: datasource "plain" has no `base_url` to append the path to; give `url` instead
checks/a.yaml:11:20: checks[1].request.url: expected an absolute http:// or https:// URL, found "ftp://files.example/x" in environment prod
"#);
}

#[test]
fn unknown_keys_name_the_closest_key() {
    let config = format!(
        "{}scheduler: {{max_concurency: 4}}\n",
        crate::fixture::CONFIG
    );
    let file = r#"checks:
  - name: A
    environments: [prod]
    datasource: orders
    cach_for: 1m
    request: {path: /}
  - name: B
    environments: [prod]
    datasource: orders
    cache_for: 1m
    request: {path: /, verb: GET}
"#;
    assert_snapshot!(diagnostics(&[("checkd.yaml", &config), ("checks/a.yaml", file)]), @r#"
checkd.yaml:14:13: scheduler.max_concurency: unknown key `max_concurency`, did you mean `max_concurrency`?
checks/a.yaml:5:5: checks[0].cach_for: unknown key `cach_for`, did you mean `cache_for`?
checks/a.yaml:11:24: checks[1].request.verb: unknown key `verb`, expected one of: method, path, url, headers, body
"#);
}

#[test]
fn wrong_types() {
    let file = r#"checks:
  - name: A
    environments: [prod]
    datasource: orders
    cache_for: 1m
    request: {path: /}
  - name: B
    environments: prod
    datasource: orders
    cache_for: 1m
    request: {path: /}
  - name: C
    environments: [prod]
    datasource: orders
    cache_for: 1m
    request: {path: /}
    expect:
      status: ok
  - name: D
    environments: [prod]
    datasource: orders
    cache_for: 1m
    request: {path: /}
    metrics:
      - {name: depth, json: depth, levels: {warn: lots}}
"#;
    assert_snapshot!(diagnostics(&[("checks/orders.yaml", file)]), @r#"
checks/orders.yaml:8:19: checks[1].environments: expected a list, found "prod"
checks/orders.yaml:18:15: checks[2].expect.status: expected an integer 100–599, found "ok"
checks/orders.yaml:25:51: checks[3].metrics[0].levels.warn: expected a number or a "${…}" template, found "lots"
"#);
}

#[test]
fn missing_variables_and_environment_variables() {
    let file = r#"checks:
  - name: "Orders ${zone}"
    environments: [prod, staging]
    datasource: orders
    cache_for: 1m
    request:
      path: "/${region}/health"
      headers: {X-Key: "${env:ORDERS_KEY}"}
"#;
    assert_snapshot!(diagnostics(&[("checks/a.yaml", file)]), @r#"
checks/a.yaml:2:19: checks[0].name: undefined variable ${zone} in environment prod
checks/a.yaml:2:19: checks[0].name: undefined variable ${zone} in environment staging
checks/a.yaml:8:25: checks[0].request.headers.X-Key: undefined environment variable ${env:ORDERS_KEY}
"#);
}

#[test]
fn template_syntax() {
    let file = r#"checks:
  - name: "Orders ${environment"
    environments: [prod]
    datasource: orders
    cache_for: 1m
    labels: {a: "${}", b: "${item.name}", c: "$${literal}"}
    request: {path: /}
"#;
    assert_snapshot!(diagnostics(&[("checks/a.yaml", file)]), @r#"
checks/a.yaml:2:19: checks[0].name: unterminated ${ (missing })
checks/a.yaml:6:18: checks[0].labels.a: empty ${}
checks/a.yaml:6:28: checks[0].labels.b: ${item.name} is not a variable: what an item holds is an expression in braces, {item.name}
"#);
}

#[test]
fn five_mistakes_in_two_files() {
    let a = r#"checks:
  - name: Orders
    environments: [prod]
    datasource: orders
    cache_for: 5 minutes ago
    request: {path: /}
  - name: Queue
    environments: [prd]
    datasource: orders
    cache_for: 1m
    request: {path: /queue}
"#;
    let b = r#"checks:
  - name: Tokens
    environments: [staging]
    datasource: orders
    cache_for: 1m
    request: {path: /tokens}
    expect:
      status: [200, 700]
      body: [{matches: "^ok("}]
  - name: Users
    environments: [prod]
    datasource: orders
    cache_for: 1m
    request: {path: /users}
    expct: {status: 200}
"#;
    assert_snapshot!(diagnostics(&[("checks/a.yaml", a), ("checks/b.yaml", b)]), @r#"
checks/a.yaml:5:26: checks[0].cache_for: invalid duration "5 minutes ago": expected a number
checks/a.yaml:8:20: checks[1].environments[0]: unknown environment "prd", did you mean "prod"?
checks/b.yaml:8:21: checks[0].expect.status[1]: expected an integer 100–599, found 700
checks/b.yaml:9:28: checks[0].expect.body[0].matches: invalid regular expression: unclosed group
checks/b.yaml:15:5: checks[1].expct: unknown key `expct`, did you mean `expect`?
"#);
}

#[test]
fn unreadable_and_missing_files() {
    let tree = crate::fixture::Tree::new(&[]);
    let missing = tree.dir.path().join("nope.yaml");
    let err = crate::fixture::load_at(&missing, None, &[]).unwrap_err();
    let prefix = format!("{}/", tree.dir.path().display());
    assert_eq!(
        err.to_string().replace(&prefix, ""),
        "nope.yaml:1:1: cannot read the file: no such file"
    );
    let config = format!("{}checks: [checks, more]\n", crate::fixture::CONFIG);
    assert_snapshot!(diagnostics(&[("checkd.yaml", &config)]), @"checkd.yaml:14:18: checks[1]: check directory more does not exist");
}

#[test]
fn yaml_syntax_errors_and_empty_files() {
    let a = r#"checks:
  - name: A
    environments: [prod]
   datasource: orders
"#;
    let b = r#"# nothing here yet

"#;
    assert_snapshot!(diagnostics(&[("checks/a.yaml", a), ("checks/b.yaml", b)]), @r#"
checks/a.yaml:2:5: checks[0]: missing required key `datasource`
checks/a.yaml:4:4: checks: while parsing a block collection, did not find expected '-' indicator
checks/b.yaml:1:1: the file is empty
"#);
}

#[test]
fn assertions_and_metrics() {
    let file = r#"checks:
  - name: A
    environments: [prod]
    datasource: orders
    cache_for: 1m
    request: {path: /}
    expect:
      body: [{contains: ok, matches: x}, {}]
      headers: {Content-Type: {contains: json}, content-type: {equals: x}}
      json:
        - {path: "a..b", equals: 1}
        - {path: items, length: true, exists: true}
        - {path: items, length: true, equals: many}
        - {path: n, gt: .nan}
    metrics:
      - {name: "queue depth", json: depth}
      - {name: rt, from: response_time, json: x}
      - {name: ok, json: n, levels: {warn: 10, crit: 5}, lower_levels: {warn: 1, crit: 2}, min: 9, max: 1}
      - {name: ok, from: body_size, length: true}
    foreach:
      path: workers
      suffix: " worker"
      expect: {status: 200}
"#;
    assert_snapshot!(diagnostics(&[("checks/a.yaml", file)]), @r#"
checks/a.yaml:8:29: checks[0].expect.body[0].matches: a text test takes only one of `equals`, `contains`, `not_contains` or `matches`, found contains and matches
checks/a.yaml:8:42: checks[0].expect.body[1]: a text test needs one of `equals`, `contains`, `not_contains` or `matches`
checks/a.yaml:9:49: checks[0].expect.headers.content-type: header "content-type" is tested twice (header names ignore case)
checks/a.yaml:11:18: checks[0].expect.json[0].path: empty segment in JSON path "a..b"
checks/a.yaml:12:25: checks[0].expect.json[1].length: `length` cannot be combined with `exists`
checks/a.yaml:13:47: checks[0].expect.json[2].equals: with `length`, `equals` needs a number, found "many"
checks/a.yaml:14:25: checks[0].expect.json[3].gt: expected a finite number, found NaN
checks/a.yaml:16:16: checks[0].metrics[0].name: metric name "queue depth" contains ' ' (allowed: A-Z a-z 0-9 - _ .)
checks/a.yaml:17:20: checks[0].metrics[1].from: a metric takes only one of `json`, `from` or `cel`, found json and from
checks/a.yaml:18:44: checks[0].metrics[2].levels.warn: warn (10) is above crit (5); upper levels need warn ≤ crit
checks/a.yaml:18:79: checks[0].metrics[2].lower_levels.warn: warn (1) is below crit (2); lower levels need warn ≥ crit
checks/a.yaml:18:97: checks[0].metrics[2].min: min (9) is above max (1)
checks/a.yaml:19:16: checks[0].metrics[3].name: duplicate metric name "ok"
checks/a.yaml:19:37: checks[0].metrics[3].length: `length` only applies to `json` metrics
checks/a.yaml:23:16: checks[0].foreach.expect.status: unknown key `status`, expected one of: json, that
"#);
}

#[test]
fn daemon_settings() {
    let config = r#"execution_environment: prod
environments:
  prod: {host: orders-prod, variables: {environment: x, 9lives: y, a: "${b}"}}
  "bad name": {host: x}
datasources:
  orders:
    type: http
    base_url: "https://orders.example"
    timeout: 0s
    ca_file: missing.pem
    max_concurrency: 0
    headers: {"Bad Header": x}
  smtp: {type: smtp}
scheduler: {splay: 2}
server: {listen: "localhost:6559"}
output: {self_service: "checkd \"self\""}
"#;
    assert_snapshot!(diagnostics(&[("checkd.yaml", config)]), @r#"
checkd.yaml:3:41: environments.prod.variables.environment: `environment` is built in (the environment's name) and cannot be redefined
checkd.yaml:3:57: environments.prod.variables.9lives: invalid variable name "9lives": use letters, digits and _, not starting with a digit
checkd.yaml:3:72: environments.prod.variables.a: a variable cannot use another variable (${b}); only ${environment} and ${env:NAME}
checkd.yaml:4:3: environments.bad name: invalid environment name "bad name": use letters, digits, `_`, `-` and `.`
checkd.yaml:9:14: datasources.orders.timeout: expected a duration longer than 0, found "0s"
checkd.yaml:10:14: datasources.orders.ca_file: the CA file missing.pem does not exist or is not a file
checkd.yaml:11:22: datasources.orders.max_concurrency: expected at least 1, found 0
checkd.yaml:12:15: datasources.orders.headers.Bad Header: invalid header name "Bad Header"
checkd.yaml:13:16: datasources.smtp.type: unknown value `smtp`, expected one of: http, tcp, tls, command
checkd.yaml:14:20: scheduler.splay: expected a fraction 0.0–1.0, found 2
checkd.yaml:15:18: server.listen: expected IP:PORT like 127.0.0.1:6559 or [::1]:6559, or false, found "localhost:6559"
checkd.yaml:16:24: output.self_service: service name contains '"', which ends the quoted name
"#);
}

#[test]
fn execution_environment_must_be_a_name() {
    let tree = crate::fixture::Tree::new(&[]);
    // Any place may run checks: it need not be one of the target environments.
    let plan = tree
        .load_with(Some("monitoring"), &[("ORDERS_TOKEN", "x")])
        .unwrap();
    assert_eq!(plan.execution_environment, "monitoring");
    let err = tree
        .load_with(Some("prod net"), &[("ORDERS_TOKEN", "x")])
        .unwrap_err();
    let prefix = format!("{}/", tree.dir.path().display());
    assert_eq!(
        err.to_string().replace(&prefix, ""),
        r#"checkd.yaml:1:24: execution_environment: invalid execution environment "prod net": use letters, digits, `_`, `-` and `.` (from CHECKD_ENVIRONMENT)"#
    );
    let config = r#"environments:
  prod: {host: orders-prod}
"#;
    assert_snapshot!(diagnostics(&[("checkd.yaml", config)]), @"checkd.yaml:1:1: missing required key `execution_environment`: where this instance runs");
}

#[test]
fn a_config_without_environments_reports_it_once() {
    let config = r#"execution_environment: prod
datasources:
  orders: {type: http, base_url: "https://orders.example"}
"#;
    let checks = r#"checks:
  - {name: Orders, environments: [prod], datasource: orders, cache_for: 1m, request: {path: /}}
"#;
    assert_snapshot!(diagnostics(&[("checkd.yaml", config), ("checks/a.yaml", checks)]), @"checkd.yaml:1:1: missing required key `environments`: define at least one target environment");
}

#[test]
fn cache_layers_reject_keys_of_other_kinds_and_bad_values() {
    let config = r#"execution_environment: e
environments:
  e: {host: h}
cache:
  layers:
    - {type: memory, path: x, max_entries: 0}
    - {type: redis, infix: "a:b"}
    - {type: redis, url: "http://x", max_bytes: 5}
    - {type: sled, url: "redis://x", keep_after: soon}
  ttl_jitter_percent: 80
"#;
    assert_snapshot!(diagnostics(&[("checkd.yaml", config)]), @r#"
checkd.yaml:6:22: cache.layers[0].path: `path` does not apply to a memory layer
checkd.yaml:6:44: cache.layers[0].max_entries: expected at least 1, found 0
checkd.yaml:7:7: cache.layers[1]: a redis layer needs `url`, e.g. redis://127.0.0.1:6379
checkd.yaml:8:26: cache.layers[2].url: expected a redis:// or rediss:// URL
checkd.yaml:8:38: cache.layers[2].max_bytes: `max_bytes` does not apply to a redis layer
checkd.yaml:9:20: cache.layers[3].url: `url` does not apply to a sled layer
checkd.yaml:9:50: cache.layers[3].keep_after: invalid duration "soon": expected a number
checkd.yaml:10:23: cache.ttl_jitter_percent: expected a percentage 0–50, found 80
"#);
}

#[test]
fn retry_interval_needs_retries_and_a_positive_duration() {
    assert_snapshot!(diagnostics(&[(
            "checks/orders.yaml",
            &one_check("    cache_for: 5m\n    retry_interval: 10s\n"),
        )]), @"checks/orders.yaml:6:21: checks[0].retry_interval: retry_interval needs retries");
    assert_snapshot!(diagnostics(&[("checks/orders.yaml", &one_check("    cache_for: 5m\n    retries: 2\n    retry_interval: 0s\n"))]), @"checks/orders.yaml:7:21: checks[0].retry_interval: expected a duration longer than 0, found \"0s\"");
}

#[test]
fn secret_references_need_one_source_that_exists() {
    let config = |token: &str| {
        format!("execution_environment: e\nenvironments: {{e: {{host: h}}}}\nserver: {{bearer_token: {token}}}\n")
    };
    assert_snapshot!(diagnostics(&[("checkd.yaml", &config("{env: NOT_SET_ANYWHERE}"))]), @"checkd.yaml:3:30: server.bearer_token.env: environment variable NOT_SET_ANYWHERE is not set");
    assert_snapshot!(diagnostics(&[("checkd.yaml", &config("{env: A, file: b}"))]), @"checkd.yaml:3:24: server.bearer_token: a secret needs exactly one of `env` or `file`");
    // The inline value is not echoed back.
    assert_snapshot!(diagnostics(&[("checkd.yaml", &config("s3cret"))]), @"checkd.yaml:3:24: server.bearer_token: a secret is never written inline: use {env: NAME} or {file: PATH}");
}

#[test]
fn a_check_that_no_instance_may_run_is_an_error_naming_the_rules() {
    let config = r#"execution_environment: monitoring
environments:
  prod: {host: prod}
  staging: {host: staging}
datasources:
  internal: {type: http, base_url: "https://x.example", run_from: [target]}
"#;
    let checks = r#"checks:
  - {name: a, environments: [prod], datasource: internal, cache_for: 1m, run_from: [monitoring], request: {path: /}}
  - {name: b, environments: [prod, staging], datasource: internal, cache_for: 1m, request: {path: /}}
"#;
    assert_snapshot!(diagnostics(&[("checkd.yaml", config), ("checks/c.yaml", checks)]), @r#"
checks/c.yaml:2:84: checks[0].run_from: check "a" can never run against environment "prod": datasource "internal" runs from [target], the check from [monitoring], which leaves nothing, and no instance runs there (execution environments: monitoring, prod, staging)
"#);
    // With the execution environments spelled out, "target" only works where one runs.
    let config = config.replace(
        "environments:\n  prod",
        "execution_environments: [monitoring, prod]\nenvironments:\n  prod",
    );
    assert_snapshot!(diagnostics(&[
            ("checkd.yaml", &config),
            (
                "checks/c.yaml",
                &checks.replace("run_from: [monitoring], ", ""),
            ),
        ]), @r#"
checks/c.yaml:3:58: checks[1].datasource: check "b" can never run against environment "staging": datasource "internal" runs from [target], the check from anywhere, which leaves staging, and no instance runs there (execution environments: monitoring, prod)
"#);
}

#[test]
fn every_broken_entry_of_a_file_is_reported_and_the_rest_still_resolves() {
    // Three broken checks, then one whose service clashes with the first file: the file is
    // read once, each entry on its own, so the clash after the broken ones is still found.
    let a = r#"checks:
  - {name: Orders, environments: [prod], datasource: orders, cache_for: 1m, request: {path: /}}
"#;
    let b = r#"checks:
  - {name: A, environments: [prod], datasource: orders, cache_for: 1m, request: {path: /}, retries: many}
  - {name: B, environments: [prod], datasource: orders, cache_for: 1m, request: {path: /}, colour: red, size: 3}
  - {name: C, environments: [prod], cache_for: 1m, request: {path: /}}
  - {name: Orders, environments: [prod], datasource: orders, cache_for: 1m, request: {path: /}}
"#;
    assert_snapshot!(diagnostics(&[("checks/a.yaml", a), ("checks/b.yaml", b)]), @r#"
checks/b.yaml:2:101: checks[0].retries: expected a non-negative integer, found "many"
checks/b.yaml:3:92: checks[1].colour: unknown key `colour`, expected one of: name, id, environments, datasource, cache_for, schedule, timezone, grace, timeout, stale_after, retries, retry_interval, run_from, elsewhere, labels, variables, let, request, expect, metrics, summary, details, foreach, tcp, tls, command
checks/b.yaml:3:105: checks[1].size: unknown key `size`, expected one of: name, id, environments, datasource, cache_for, schedule, timezone, grace, timeout, stale_after, retries, retry_interval, run_from, elsewhere, labels, variables, let, request, expect, metrics, summary, details, foreach, tcp, tls, command
checks/b.yaml:4:5: checks[2]: missing required key `datasource`
checks/b.yaml:5:12: checks[3].name: duplicate check id "Orders", first defined at checks/a.yaml:2
checks/b.yaml:5:12: checks[3].name: service "Orders" on host orders-prod is already defined at checks/a.yaml:2
"#);
}

#[test]
fn kinds_are_mappings_tagged_by_type() {
    let config = r#"execution_environment: prod
environments: {prod: {host: orders-prod}}
datasources:
  a: {base_url: "https://a.example"}
  b: {type: htp, base_url: "https://b.example"}
  c: {type: tcp, host: db, port: 5432, bogus: 1}
  d: {type: http, auth: {type: bearer, token: {env: T}, username: u, colour: red}}
cache:
  layers: [{type: memory, max_entries: 5, keep_after: 1h}]
"#;
    assert_snapshot!(diagnostics(&[("checkd.yaml", config)]), @r#"
checkd.yaml:4:6: datasources.a: missing required key `type`: one of http, tcp, tls, command
checkd.yaml:5:13: datasources.b.type: unknown value `htp`, did you mean `http`?
checkd.yaml:6:40: datasources.c.bogus: unknown key `bogus`, expected one of: host, port, timeout, max_concurrency, run_from
checkd.yaml:7:57: datasources.d.auth.username: `username` does not apply to bearer auth
checkd.yaml:7:70: datasources.d.auth.colour: unknown key `colour`, expected `token`
checkd.yaml:9:43: cache.layers[0].keep_after: `keep_after` does not apply to a memory layer
"#);
}

#[test]
fn yaml_that_is_refused() {
    let config = |rest: &str| {
        format!(
            "execution_environment: prod\nenvironments: {{prod: {{host: orders-prod}}}}\n{rest}"
        )
    };
    assert_snapshot!(diagnostics(&[(
            "checkd.yaml",
            &config("server: {listen: false}\nserver: {listen: false}\n"),
        )]), @"checkd.yaml:4:1: server: duplicate key `server`");
    assert_snapshot!(diagnostics(&[(
            "checkd.yaml",
            &config("output: {self_service: !secret x}\n"),
        )]), @"checkd.yaml:3:32: output.self_service: unsupported tag `!secret`");
    assert_snapshot!(diagnostics(&[("checkd.yaml", &config("---\nchecks: [c]\n"))]), @"checkd.yaml:3:1: a file holds one YAML document; found a second");
    // A billion laughs: each alias repeats the one before ten times.
    let mut bomb = String::from("x0: &x0 [a, a, a, a, a, a, a, a, a, a]\n");
    for i in 1..10 {
        let p = i - 1;
        bomb.push_str(&format!(
            "x{i}: &x{i} [*x{p}, *x{p}, *x{p}, *x{p}, *x{p}, *x{p}, *x{p}, *x{p}, *x{p}, *x{p}]\n"
        ));
    }
    let got = crate::fixture::Tree::new(&[("checkd.yaml", &config(&bomb))]).diagnostics();
    assert!(
        got.contains("the document expands to too many values (check its aliases)"),
        "{got}"
    );
}

#[test]
fn per_environment_values_are_strict() {
    let file = r#"checks:
  - name: Orders ${environment}
    environments: [prod, staging]
    datasource: orders
    cache_for: 1m
    request: {path: /}
    variables:
      prod: {warn: 500, 9bad: x}
      qa: {warn: 1}
      staging: {warn: lots}
    metrics:
      - {name: rt, json: rt, levels: {warn: "${warn}", crit: "${crit}"}}
"#;
    assert_snapshot!(diagnostics(&[("checks/a.yaml", file)]), @r#"
checks/a.yaml:8:25: checks[0].variables.prod.9bad: invalid variable name "9bad": use letters, digits and _, not starting with a digit
checks/a.yaml:9:7: checks[0].variables.qa: unknown environment "qa", defined: prod, staging (the check's environments)
checks/a.yaml:12:45: checks[0].metrics[0].levels.warn: expected a number, found "lots" (from "${warn}" in environment staging)
checks/a.yaml:12:63: checks[0].metrics[0].levels.crit: undefined variable ${crit} in environment prod
checks/a.yaml:12:63: checks[0].metrics[0].levels.crit: undefined variable ${crit} in environment staging
"#);
}

#[test]
fn expression_problems_point_inside_the_expression() {
    let file = r#"checks:
  - name: Workers
    environments: [prod]
    datasource: orders
    cache_for: 1m
    request: {path: /workers}
    let:
      unhealthy: 'body.workers.filter(w, w.status != "healthy").sise()'
      total: bodyy.workers.size()
      status: 1
    expect:
      that:
        - unhealthy < totl
        - cel: |
            unhealthy == 0 &&
              body.workers.all(w, w.name ==)
          state: warn
        - {cel: "unhealthy + 1", message: "{unhealthy} of {total"}
        - "env.vars.x == '${region}'"
    metrics:
      - {name: u, cel: "uhealthy", levels: {warn: 1, crit: 3}}
    summary: {ok: "all {total} fine", problem: "{unhealthy} of {totl} down"}
    foreach:
      cel: body.workers
      suffix: " worker"
"#;
    assert_snapshot!(diagnostics(&[("checks/a.yaml", file)]), @r#"
checks/a.yaml:8:65: checks[0].let.unhealthy: unknown function `sise`, did you mean `size`?
checks/a.yaml:9:14: checks[0].let.total: unknown name `bodyy`, did you mean `body`?
checks/a.yaml:10:7: checks[0].let.status: `status` is already a name expressions use: pick another
checks/a.yaml:13:23: checks[0].expect.that[0]: unknown name `totl`, did you mean `total`?
checks/a.yaml:16:44: checks[0].expect.that[1].cel: syntax error: unexpected `)`
checks/a.yaml:18:18: checks[0].expect.that[2].cel: a condition must be a boolean, but this is arithmetic, which gives a number (compare it: `… > 0`)
checks/a.yaml:18:59: checks[0].expect.that[2].message: a `{` that is never closed: write `{{` for a brace
checks/a.yaml:19:27: checks[0].expect.that[3]: `${…}` fills in text, not expressions: use env.vars.NAME (or a `let`)
checks/a.yaml:21:25: checks[0].metrics[0].cel: unknown name `uhealthy`, did you mean `unhealthy`?
checks/a.yaml:22:65: checks[0].summary.problem: unknown name `totl`, did you mean `total`?
checks/a.yaml:25:15: checks[0].foreach.suffix: the suffix must use `item` or `index` (e.g. " {item.name}") so that every item gets its own service
"#);
}
