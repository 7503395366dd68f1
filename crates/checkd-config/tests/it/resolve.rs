//! What a valid config resolves to.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use checkd_model::plan::{
    CacheLayer, Comparison, Datasource, Evaluation, ForeachItems, JsonTest, MetricSource, Probe,
    Schedule, TextTest,
};
use checkd_model::{Levels, State};
use chrono::{Datelike, TimeZone, Timelike, Weekday};

use crate::fixture::{plan, Tree, CONFIG};

fn http(job: &checkd_model::plan::Job) -> &checkd_model::plan::HttpRequest {
    let Probe::Http(request) = &job.probe else {
        panic!("an HTTP job");
    };
    request
}

#[test]
fn templates_resolve_per_environment_in_a_stable_order() {
    let a = r#"checks:
  - name: "Orders ${environment}"
    environments: [staging, prod]
    datasource: orders
    cache_for: 5m
    labels: {team: orders, region: "${region}"}
    request:
      method: post
      path: "/${region}/health"
      headers: {user-agent: "checkd/${environment}", X-Key: "${env:ORDERS_TOKEN}"}
      body: '{"env": "${environment}", "literal": "$${x}"}'
"#;
    let b = r#"checks:
  - name: Queue
    id: queue
    environments: [prod]
    datasource: orders
    cache_for: 1m
    request: {url: "https://queue.example/${region}"}
"#;
    let plan = plan(&[("checks/b.yaml", b), ("checks/a.yaml", a)]);
    let keys: Vec<String> = plan.jobs.iter().map(|j| j.key.to_string()).collect();
    assert_eq!(
        keys,
        [
            "Orders ${environment}@staging",
            "Orders ${environment}@prod",
            "queue@prod"
        ]
    );

    let staging = &plan.jobs[0];
    assert_eq!(staging.service, "Orders staging");
    assert_eq!(staging.host, "orders-staging");
    assert_eq!(staging.datasource, "orders");
    assert_eq!(staging.labels.get("region").map(String::as_str), Some("us"));
    assert_eq!(
        staging.labels.get("team").map(String::as_str),
        Some("orders")
    );
    let request = http(staging);
    assert_eq!(request.method, "POST");
    // base_url "https://orders.example/api/" loses its trailing slash before the path.
    assert_eq!(request.url, "https://orders.example/api/us/health");
    // Datasource headers first, overridden case-insensitively by the check's.
    let headers: Vec<(&str, &str)> = request
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        headers,
        [
            ("Authorization", "Bearer none"),
            ("X-Key", "s3cret"),
            ("user-agent", "checkd/staging")
        ]
    );
    assert_eq!(
        request.body.as_deref(),
        Some(r#"{"env": "staging", "literal": "${x}"}"#)
    );

    let prod = &plan.jobs[1];
    assert_eq!(prod.service, "Orders prod");
    assert_eq!(http(prod).url, "https://orders.example/api/eu/health");
    assert_eq!(
        http(prod).headers[0],
        ("Authorization".to_string(), "Bearer s3cret".to_string())
    );
    assert_eq!(http(&plan.jobs[2]).url, "https://queue.example/eu");
}

#[test]
fn urls_join_base_and_path_with_one_slash() {
    let cases = [
        (
            "https://x.example/api/",
            "/health",
            "https://x.example/api/health",
        ),
        (
            "https://x.example/api",
            "health",
            "https://x.example/api/health",
        ),
        (
            "https://x.example//",
            "/a/b?c=1",
            "https://x.example/a/b?c=1",
        ),
        ("https://x.example", "?q=1", "https://x.example?q=1"),
        ("http://127.0.0.1:6559", "", "http://127.0.0.1:6559"),
    ];
    for (base, path, want) in cases {
        let config = format!(
            "execution_environment: e\nenvironments: {{e: {{host: h}}}}\ndatasources: {{d: {{type: http, base_url: \"{base}\"}}}}\n"
        );
        let check = format!(
            "checks:\n  - {{name: n, environments: [e], datasource: d, cache_for: 1m, request: {{path: \"{path}\"}}}}\n"
        );
        let plan = plan(&[("checkd.yaml", &config), ("checks/c.yaml", &check)]);
        assert_eq!(http(&plan.jobs[0]).url, want, "{base} + {path}");
    }
}

#[test]
fn defaults() {
    let config = r#"execution_environment: e
environments: {e: {host: h}}
datasources: {d: {type: http, base_url: "https://x.example"}}
"#;
    let check = r#"checks:
  - {name: n, environments: [e], datasource: d, cache_for: 5m, request: {path: /}}
"#;
    let plan = plan(&[("checkd.yaml", config), ("checks/c.yaml", check)]);
    assert_eq!(plan.execution_environment, "e");
    assert_eq!(plan.scheduler.max_concurrency, 64);
    assert_eq!(plan.scheduler.splay, 0.1);
    assert_eq!(
        plan.server.listen.map(|a| a.to_string()).as_deref(),
        Some("127.0.0.1:6559")
    );
    assert_eq!(plan.output.self_service, "checkd");
    assert_eq!(
        plan.output.version,
        format!("checkd-{}", env!("CARGO_PKG_VERSION"))
    );
    // No cache section: memory, then sled in systemd's state directory.
    assert_eq!(
        plan.cache.layers,
        vec![
            CacheLayer::Memory {
                max_entries: 100_000,
                max_bytes: None
            },
            CacheLayer::Sled {
                path: std::path::PathBuf::from("/var/lib/checkd/store"),
                keep_after: std::time::Duration::from_secs(86_400)
            },
        ]
    );
    assert_eq!(
        plan.cache.layer_timeout,
        std::time::Duration::from_millis(250)
    );
    let Some(Datasource::Http(ds)) = plan.datasources.get("d") else {
        panic!("no datasource d")
    };
    assert_eq!(ds.name, "d");
    assert!(ds.tls_verify);
    assert_eq!(ds.ca_file, None);
    assert_eq!(ds.max_redirects, 5);
    assert_eq!(ds.max_body_bytes, 1024 * 1024);
    assert_eq!(ds.max_concurrency, 8);

    let job = &plan.jobs[0];
    assert_eq!(job.key.check, "n");
    assert_eq!(job.timeout, Duration::from_secs(10));
    assert!(matches!(job.schedule, Schedule::Every(d) if d == Duration::from_secs(300)));
    assert_eq!(job.stale_after, Duration::from_secs(900));
    assert!(job.labels.is_empty());
    let request = http(job);
    assert_eq!(
        (
            request.method.as_str(),
            request.headers.len(),
            request.body.as_ref()
        ),
        ("GET", 0, None)
    );
    let e = &job.evaluation;
    assert!(e.expect.status.is_empty() && e.expect.body.is_empty() && e.expect.json.is_empty());
    assert!(e.expect.headers.is_empty() && e.expect.response_time.is_none());
    assert!(e.metrics.is_empty() && e.texts.summary.ok.is_none() && e.foreach.is_none());
}

#[test]
fn settings_are_taken_over() {
    let config = r#"execution_environment: e
checks: [more, checks]
environments: {e: {host: h}}
datasources:
  d:
    type: http
    base_url: "https://x.example"
    timeout: 3s
    tls_verify: false
    ca_file: ca.pem
    max_redirects: 0
    max_body_bytes: 10
    max_concurrency: 2
scheduler: {max_concurrency: 5, splay: 0}
server: {listen: false}
output: {self_service: "checkd on e"}
cache:
  layers:
    - {type: redis, url: "redis://127.0.0.1:1/", infix: team, use_redis_ttl: false, command_timeout: 50ms}
    - {type: memory, max_entries: 10, max_bytes: 4096}
    - {type: sled, path: state, keep_after: 1h}
  layer_timeout: 100ms
  ttl_jitter_percent: 10
"#;
    let check = "checks:\n  - {name: n, environments: [e], datasource: d, cache_for: 5m, request: {path: /}}\n";
    let tree = Tree::new(&[
        ("checkd.yaml", config),
        ("ca.pem", "-----BEGIN CERTIFICATE-----\n"),
        ("more/b.yml", check),
        ("more/.hidden.yaml", "not: [yaml"),
        ("more/notes.txt", "not yaml"),
        ("checks/a.yaml", "checks: []\n"),
    ]);
    let plan = tree.load_with(Some("e"), &[]).unwrap();
    assert_eq!(plan.scheduler.max_concurrency, 5);
    assert_eq!(plan.scheduler.splay, 0.0);
    assert_eq!(plan.server.listen, None);
    assert_eq!(plan.output.self_service, "checkd on e");
    assert_eq!(
        plan.cache.layers,
        vec![
            CacheLayer::Redis {
                url: "redis://127.0.0.1:1/".into(),
                infix: "team".into(),
                use_redis_ttl: false,
                keep_after: std::time::Duration::from_secs(86_400),
                connect_timeout: std::time::Duration::from_secs(1),
                command_timeout: std::time::Duration::from_millis(50),
                cluster: false,
            },
            CacheLayer::Memory {
                max_entries: 10,
                max_bytes: Some(4096)
            },
            CacheLayer::Sled {
                path: tree.dir.path().join("state"),
                keep_after: std::time::Duration::from_secs(3600)
            },
        ]
    );
    assert_eq!(
        (
            plan.cache.layer_timeout.as_millis(),
            plan.cache.ttl_jitter_percent
        ),
        (100, 10)
    );
    let Some(Datasource::Http(ds)) = plan.datasources.get("d") else {
        panic!("no datasource d")
    };
    assert!(!ds.tls_verify);
    assert_eq!(
        ds.ca_file.as_deref(),
        Some(tree.dir.path().join("ca.pem").as_path())
    );
    assert_eq!(
        (ds.max_redirects, ds.max_body_bytes, ds.max_concurrency),
        (0, 10, 2)
    );
    assert_eq!(plan.jobs.len(), 1);
    assert_eq!(plan.jobs[0].timeout, Duration::from_secs(3));
}

#[test]
fn execution_environment_can_be_overridden() {
    let plan = Tree::new(&[])
        .load_with(Some("staging"), &[("ORDERS_TOKEN", "t")])
        .unwrap();
    assert_eq!(plan.execution_environment, "staging");
}

#[test]
fn cron_weekdays_fire_monday_to_friday_only() {
    let check = r#"checks:
  - name: Report
    environments: [prod]
    datasource: orders
    schedule: "0 9 * * 1-5"
    timezone: Europe/Berlin
    request: {path: /report}
  - name: Nightly
    environments: [prod]
    datasource: orders
    schedule: "30 2 * * *"
    grace: 1h
    request: {path: /nightly}
"#;
    let plan = plan(&[("checks/c.yaml", check)]);
    let Schedule::Cron {
        cron,
        pattern,
        timezone,
        grace,
    } = &plan.jobs[0].schedule
    else {
        panic!("not a cron schedule")
    };
    assert_eq!(
        (pattern.as_str(), *timezone, *grace),
        (
            "0 9 * * 1-5",
            chrono_tz::Europe::Berlin,
            Duration::from_secs(300)
        )
    );
    // Friday 2025-01-03 10:00 UTC (11:00 in Berlin): the next runs skip the weekend.
    let mut at = chrono::Utc
        .with_ymd_and_hms(2025, 1, 3, 10, 0, 0)
        .unwrap()
        .with_timezone(timezone);
    let mut seen = Vec::new();
    for _ in 0..10 {
        at = cron.find_next_occurrence(&at, false).unwrap();
        assert_eq!((at.hour(), at.minute()), (9, 0));
        assert!(!matches!(at.weekday(), Weekday::Sat | Weekday::Sun), "{at}");
        seen.push(at.format("%a %d").to_string());
    }
    assert_eq!(
        seen,
        [
            "Mon 06", "Tue 07", "Wed 08", "Thu 09", "Fri 10", "Mon 13", "Tue 14", "Wed 15",
            "Thu 16", "Fri 17"
        ]
    );
    assert_eq!(
        at.with_timezone(&chrono::Utc).hour(),
        8,
        "09:00 in Berlin in winter is 08:00 UTC"
    );
    // Stale after three times the longest gap between runs: Friday to Monday.
    assert_eq!(
        plan.jobs[0].stale_after,
        Duration::from_secs(3 * 3 * 24 * 3600)
    );

    let Schedule::Cron {
        timezone, grace, ..
    } = &plan.jobs[1].schedule
    else {
        panic!("not a cron schedule")
    };
    assert_eq!(
        (*timezone, *grace),
        (chrono_tz::UTC, Duration::from_secs(3600))
    );
    assert_eq!(plan.jobs[1].stale_after, Duration::from_secs(3 * 24 * 3600));
}

#[test]
fn assertions_metrics_and_foreach() {
    let check = r#"checks:
  - name: Workers
    environments: [prod]
    datasource: orders
    cache_for: 1m
    request: {path: /workers}
    expect:
      status: [200, 204]
      body: [{contains: ok}, {not_contains: error, state: warn}, {matches: "^v\\d"}, {equals: pong, state: unknown}]
      headers: {Content-Type: {contains: json}}
      response_time: {warn: 500ms, crit: 2s}
      json:
        - {path: status, equals: {state: ok, codes: [1, 2]}}
        - {path: items, length: true, ge: 1}
        - {path: maintenance, exists: false, state: warn}
        - {path: note, equals: null}
    metrics:
      - {name: depth, json: queue.depth, levels: {warn: 500, crit: 1000}, min: 0, max: 5000}
      - {name: workers, json: workers, length: true, lower_levels: {warn: 2, crit: 1}}
      - {name: size, from: body_size}
    summary: {ok: all good}
    foreach:
      path: workers
      suffix: " worker {item.name} in ${region}"
      expect: {json: [{path: busy, equals: false}]}
      metrics: [{name: load, json: load, levels: {warn: 0.8, crit: 0.95}}]
      summary: {ok: idle}
"#;
    let plan = plan(&[("checks/c.yaml", check)]);
    let e = &plan.jobs[0].evaluation;
    assert_eq!(e.expect.status, [200, 204]);
    let body: Vec<(String, State)> = e
        .expect
        .body
        .iter()
        .map(|a| {
            let test = match &a.test {
                TextTest::Equals(t) => format!("equals {t}"),
                TextTest::Contains(t) => format!("contains {t}"),
                TextTest::NotContains(t) => format!("not_contains {t}"),
                TextTest::Matches(re) => format!("matches {}", re.as_str()),
            };
            (test, a.state)
        })
        .collect();
    let want = [
        ("contains ok", State::Crit),
        ("not_contains error", State::Warn),
        ("matches ^v\\d", State::Crit),
        ("equals pong", State::Unknown),
    ];
    assert_eq!(body, want.map(|(t, s)| (t.to_string(), s)));
    assert_eq!(e.expect.headers[0].name, "content-type");
    assert_eq!(
        e.expect.response_time,
        Some(Levels {
            warn: Some(0.5),
            crit: Some(2.0)
        })
    );
    let json = &e.expect.json;
    assert!(
        matches!(&json[0].test, JsonTest::Equals(v) if *v == serde_json::json!({"state": "ok", "codes": [1, 2]}))
    );
    assert_eq!(
        (json[1].path.pointer.as_str(), json[1].length),
        ("/items", true)
    );
    assert!(matches!(json[1].test, JsonTest::Compare(Comparison::Ge, v) if v == 1.0));
    assert!(matches!(json[2].test, JsonTest::Exists(false)) && json[2].state == State::Warn);
    assert!(matches!(
        &json[3].test,
        JsonTest::Equals(serde_json::Value::Null)
    ));

    let m = &e.metrics;
    assert!(
        matches!(&m[0].source, MetricSource::Json { path, length: false } if path.pointer == "/queue/depth")
    );
    assert_eq!(
        (m[0].upper, m[0].lower, m[0].min, m[0].max),
        (
            Levels {
                warn: Some(500.0),
                crit: Some(1000.0)
            },
            Levels::NONE,
            Some(0.0),
            Some(5000.0)
        )
    );
    assert!(matches!(
        &m[1].source,
        MetricSource::Json { length: true, .. }
    ));
    assert_eq!(
        m[1].lower,
        Levels {
            warn: Some(2.0),
            crit: Some(1.0)
        }
    );
    assert!(matches!(m[2].source, MetricSource::BodySize));
    assert_eq!(
        e.texts.summary.ok.as_ref().map(|t| t.source()),
        Some("all good")
    );
    assert!(e.texts.summary.problem.is_none());

    let foreach = e.foreach.as_ref().unwrap();
    assert!(matches!(&foreach.items, ForeachItems::Path(p) if p.pointer == "/workers"));
    // Variables are filled in at load; the item is an expression for each run.
    assert_eq!(foreach.suffix.source(), " worker {item.name} in eu");
    assert!(matches!(
        &foreach.expect.json[0].test,
        JsonTest::Equals(serde_json::Value::Bool(false))
    ));
    assert_eq!(
        foreach.metrics[0].upper,
        Levels {
            warn: Some(0.8),
            crit: Some(0.95)
        }
    );
    assert_eq!(
        foreach.texts.summary.ok.as_ref().map(|t| t.source()),
        Some("idle")
    );
}

#[test]
fn anchors_and_merge_keys_share_settings() {
    let check = r#"checks:
  - &orders
    name: Orders A
    environments: [prod]
    datasource: orders
    cache_for: 2m
    request: {path: /a}
  - <<: *orders
    name: Orders B
    request: {path: /b}
"#;
    let plan = plan(&[("checks/c.yaml", check)]);
    let urls: Vec<&str> = plan.jobs.iter().map(|j| http(j).url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "https://orders.example/api/a",
            "https://orders.example/api/b"
        ]
    );
    assert!(matches!(plan.jobs[1].schedule, Schedule::Every(d) if d == Duration::from_secs(120)));
}

#[test]
fn relative_paths_stay_relative_in_diagnostics() {
    // Integration tests run in the package directory, so a directory created in it has a
    // relative name.
    let dir = tempfile::Builder::new()
        .prefix("relative-test")
        .tempdir_in(".")
        .unwrap();
    let name = dir
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    std::fs::write(dir.path().join("checkd.yaml"), CONFIG).unwrap();
    std::fs::create_dir(dir.path().join("checks")).unwrap();
    std::fs::write(dir.path().join("checks/a.yaml"), "checks:\n  - name: [x]\n").unwrap();
    let config = Path::new(&name).join("checkd.yaml");
    let err = crate::fixture::load_at(&config, None, &[("ORDERS_TOKEN", "t")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{name}/checks/a.yaml:2:11: checks[0].name: expected a string, found a list")
    );
    assert_eq!(err.0[0].file, Path::new(&name).join("checks/a.yaml"));
    assert_eq!((err.0[0].line, err.0[0].column), (2, 11));
}

#[test]
fn retries_default_to_none_and_their_interval_to_a_minute_or_cache_for() {
    let config = r#"execution_environment: e
environments: {e: {host: h}}
datasources: {d: {type: http, base_url: "https://x.example"}}
"#;
    let check = r#"checks:
  - {id: a, name: a, environments: [e], datasource: d, cache_for: 5m, request: {path: /}}
  - {id: b, name: b, environments: [e], datasource: d, cache_for: 5m, retries: 2, request: {path: /}}
  - {id: c, name: c, environments: [e], datasource: d, cache_for: 20s, retries: 1, request: {path: /}}
  - {id: d, name: d, environments: [e], datasource: d, cache_for: 5m, retries: 3, retry_interval: 15s, request: {path: /}}
"#;
    let plan = plan(&[("checkd.yaml", config), ("checks/c.yaml", check)]);
    let retries: Vec<(u32, u64)> = plan
        .jobs
        .iter()
        .map(|j| (j.retry.retries, j.retry.interval.as_secs()))
        .collect();
    assert_eq!(retries, vec![(0, 60), (2, 60), (1, 20), (3, 15)]);
}

#[test]
fn the_bearer_token_comes_from_the_environment_or_a_file_and_never_prints() {
    let config = |token: &str| {
        format!("execution_environment: e\nenvironments: {{e: {{host: h}}}}\nserver: {{bearer_token: {token}}}\n")
    };
    let plan = plan(&[("checkd.yaml", &config("{env: ORDERS_TOKEN}"))]);
    let token = plan.server.bearer_token.as_ref().expect("token");
    assert_eq!(token.expose(), "s3cret");
    assert!(
        !format!("{plan:?}").contains("s3cret"),
        "the plan's Debug shows no secret"
    );

    let plan = crate::fixture::plan(&[
        ("checkd.yaml", &config("{file: token.txt}")),
        ("token.txt", "  from-file\n"),
    ]);
    assert_eq!(
        plan.server
            .bearer_token
            .map(|t| t.expose().to_string())
            .as_deref(),
        Some("from-file")
    );
}

#[test]
fn run_from_rules_combine_into_each_jobs_placement() {
    use checkd_model::placement::Decision;
    let config = r#"execution_environment: monitoring
environments:
  prod: {host: prod}
  staging: {host: staging}
datasources:
  d: {type: http, base_url: "https://x.example", run_from: [target, monitoring]}
"#;
    let checks = r#"checks:
  - {id: a, name: "a ${environment}", environments: [prod, staging], datasource: d, cache_for: 1m, request: {path: /}}
  - {id: b, name: "b ${environment}", environments: [prod], datasource: d, cache_for: 1m, run_from: [target], elsewhere: skip, request: {path: /}}
"#;
    let plan = plan(&[("checkd.yaml", config), ("checks/c.yaml", checks)]);
    assert_eq!(
        plan.execution_environments,
        vec!["monitoring", "prod", "staging"]
    );
    let decisions: Vec<(String, Decision, Decision)> = plan
        .jobs
        .iter()
        .map(|j| {
            (
                j.key.to_string(),
                j.placement.decide("monitoring"),
                j.placement.decide("prod"),
            )
        })
        .collect();
    assert_eq!(
        decisions,
        vec![
            ("a@prod".to_string(), Decision::Run, Decision::Run),
            ("a@staging".to_string(), Decision::Run, Decision::NotMine),
            ("b@prod".to_string(), Decision::Skip, Decision::Run),
        ]
    );
}

#[test]
fn http_auth_resolves_secret_references_and_never_prints_them() {
    let config = r#"execution_environment: prod
environments:
  prod: {host: h}
datasources:
  basic: {type: http, base_url: "http://x", auth: {type: basic, username: mon, password: {env: ORDERS_TOKEN}}}
  bearer: {type: http, base_url: "http://x", auth: {type: bearer, token: {file: token.txt}}}
"#;
    let tree = Tree::new(&[("checkd.yaml", config), ("token.txt", "t0k3n-from-file\n")]);
    let plan = tree
        .load_with(None, &[("ORDERS_TOKEN", "s3cret")])
        .unwrap_or_else(|d| panic!("{d}"));
    let auth = |name: &str| match plan.datasources.get(name) {
        Some(Datasource::Http(http)) => http.auth.clone().expect("auth"),
        other => panic!("{other:?}"),
    };
    let checkd_model::plan::HttpAuth::Basic { username, password } = auth("basic") else {
        panic!("basic");
    };
    assert_eq!((username.as_str(), password.expose()), ("mon", "s3cret"));
    let checkd_model::plan::HttpAuth::Bearer { token } = auth("bearer") else {
        panic!("bearer");
    };
    assert_eq!(token.expose(), "t0k3n-from-file");
    let shown = format!("{plan:?}");
    assert!(
        !shown.contains("s3cret") && !shown.contains("t0k3n"),
        "{shown}"
    );
}

#[test]
fn http_auth_mistakes_are_reported_without_the_secret() {
    let config = r#"execution_environment: prod
environments:
  prod: {host: h}
datasources:
  a: {type: http, auth: {type: basic, username: mon, token: {env: ORDERS_TOKEN}}}
  b: {type: http, auth: {type: bearer, token: hunter2}}
  c: {type: tcp, host: x, port: 1, auth: {type: bearer, token: {env: ORDERS_TOKEN}}}
"#;
    let got = Tree::new(&[("checkd.yaml", config)]).diagnostics();
    assert!(!got.contains("hunter2"), "{got}");
    for want in [
        "checkd.yaml:5:54: datasources.a.auth.token: `token` does not apply to basic auth",
        "checkd.yaml:5:25: datasources.a.auth: basic auth needs `password`",
        "checkd.yaml:7:36: datasources.c.auth: `auth` does not apply to a datasource of type tcp",
    ] {
        assert!(got.contains(want), "missing {want:?} in\n{got}");
    }
    assert!(
        got.contains("datasources.b.auth.token: a secret is never written inline"),
        "{got}"
    );
}

#[test]
fn oauth2_resolves_per_environment_once_and_only_where_checks_need_it() {
    let config = r#"execution_environment: prod
environments:
  prod: {host: prod, variables: {idp: "idp.prod.example"}}
  staging: {host: staging, variables: {idp: "idp.staging.example"}}
  qa: {host: qa, variables: {idp: "idp.qa.example"}}
datasources:
  orders:
    type: http
    base_url: "https://orders.example"
    auth:
      type: oauth2
      token_url: "https://${idp}/oauth2/token"
      client_id: "checkd-${environment}"
      client_secret: {env: "ORDERS_SECRET_${environment}"}
      scopes: [orders.read]
      params: {audience: "orders-${environment}"}
      refresh_margin: 30s
      share_token: true
"#;
    // qa has no secret, and no check sends there: that is fine.
    let checks = r#"checks:
  - {id: a, name: "a", environments: [prod, staging], datasource: orders, cache_for: 1m, request: {path: /a}}
  - {id: b, name: "b", environments: [prod], datasource: orders, cache_for: 1m, request: {path: /b}}
"#;
    let tree = Tree::new(&[("checkd.yaml", config), ("checks/c.yaml", checks)]);
    let plan = tree
        .load_with(
            None,
            &[
                ("ORDERS_SECRET_prod", "pr0d-s3cret"),
                ("ORDERS_SECRET_staging", "st4ging-s3cret"),
            ],
        )
        .unwrap_or_else(|d| panic!("{d}"));
    let client = |key: &str| {
        let job = plan.jobs.iter().find(|j| j.key.to_string() == key).unwrap();
        http(job).oauth2.clone().expect("an OAuth2 client")
    };
    let prod = client("a@prod");
    assert_eq!(
        (
            prod.token_url.as_str(),
            prod.client_id.as_str(),
            prod.client_secret.expose()
        ),
        (
            "https://idp.prod.example/oauth2/token",
            "checkd-prod",
            "pr0d-s3cret"
        )
    );
    assert_eq!(prod.scopes, ["orders.read"]);
    assert_eq!(
        prod.params,
        [("audience".to_string(), "orders-prod".to_string())]
    );
    assert_eq!(prod.refresh_margin, Duration::from_secs(30));
    assert!(prod.share);
    assert_eq!(client("a@staging").client_secret.expose(), "st4ging-s3cret");
    // One client per (datasource, environment), shared by its jobs.
    assert!(Arc::ptr_eq(&prod, &client("b@prod")));
    let shown = format!("{plan:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
}

#[test]
fn oauth2_mistakes_name_the_key_and_the_environment() {
    let config = r#"execution_environment: prod
environments:
  prod: {host: prod}
datasources:
  a: {type: http, base_url: "https://x", auth: {type: oauth2, token_url: "https://idp/token", client_id: c, client_secret: {env: "MISSING_${environment}"}}}
  b: {type: http, base_url: "https://x", auth: {type: oauth2, client_id: c, token: {env: T}, scopes: ["two words"]}}
  c: {type: http, base_url: "https://x", auth: {type: basic, username: u, password: {env: T}, token_url: "https://idp"}}
  d: {type: http, base_url: "https://x", auth: {type: oauth2, token_url: "idp/token", client_id: c, client_secret: {env: T}, refresh_margin: 0s}}
  e: {type: http, base_url: "https://x", auth: {type: oauth2, token_url: "idp/token", client_id: c, client_secret: {env: T}}}
"#;
    let checks = r#"checks:
  - {name: a, environments: [prod], datasource: a, cache_for: 1m, request: {path: /}}
  - {name: a2, environments: [prod], datasource: a, cache_for: 1m, request: {path: /2}}
  - {name: e, environments: [prod], datasource: e, cache_for: 1m, request: {path: /}}
"#;
    let got = Tree::new(&[("checkd.yaml", config), ("checks/c.yaml", checks)])
        .diagnostics_with(&[("T", "t0ken")]);
    for want in [
        "datasources.a.auth.client_secret.env: environment variable MISSING_prod is not set",
        "datasources.b.auth: oauth2 auth needs `token_url`",
        "datasources.b.auth: oauth2 auth needs `client_secret`",
        "datasources.b.auth.token: `token` does not apply to oauth2 auth",
        "datasources.b.auth.scopes[0]: invalid scope \"two words\": one word per scope",
        "datasources.c.auth.token_url: `token_url` does not apply to basic auth",
        "datasources.d.auth.refresh_margin: expected a duration longer than 0, found \"0s\"",
        "datasources.e.auth.token_url: expected an absolute http:// or https:// URL, found \"idp/token\" in environment prod",
    ] {
        assert!(got.contains(want), "missing {want:?} in\n{got}");
    }
    assert!(!got.contains("t0ken"), "{got}");
    assert_eq!(
        got.matches("MISSING_prod").count(),
        1,
        "reported once: {got}"
    );
}

#[test]
fn a_fleet_needs_a_redis_layer_and_takes_its_defaults() {
    let config = |fleet: &str, layers: &str| {
        format!(
            "execution_environment: e\nenvironments: {{e: {{host: h}}}}\nscheduler: {{fleet: {fleet}}}\ncache: {{layers: [{layers}]}}\n"
        )
    };
    let with_redis = config(
        "{}",
        "{type: memory}, {type: redis, url: \"redis://127.0.0.1:1/\"}",
    );
    assert_eq!(
        plan(&[("checkd.yaml", &with_redis)]).scheduler.fleet,
        Some(checkd_model::plan::FleetSettings {
            instance: None,
            fallback_after: Duration::from_secs(1),
            heartbeat: Duration::from_secs(5),
        })
    );
    let named = config(
        "{instance: vm-1, fallback_after: 250ms, heartbeat: 2s}",
        "{type: redis, url: \"redis://127.0.0.1:1/\"}",
    );
    let fleet = plan(&[("checkd.yaml", &named)]).scheduler.fleet.unwrap();
    assert_eq!(
        (
            fleet.instance.as_deref(),
            fleet.fallback_after,
            fleet.heartbeat
        ),
        (
            Some("vm-1"),
            Duration::from_millis(250),
            Duration::from_secs(2)
        )
    );
    let got = Tree::new(&[(
        "checkd.yaml",
        &config("{instance: \"a b\", heartbeat: 0s}", "{type: memory}"),
    )])
    .diagnostics();
    for want in [
        "scheduler.fleet: a fleet shares its leases and results through Redis: add a `redis` layer to cache.layers",
        "scheduler.fleet.instance: invalid instance name \"a b\"",
        "scheduler.fleet.heartbeat: expected a duration longer than 0, found \"0s\"",
    ] {
        assert!(got.contains(want), "missing {want:?} in\n{got}");
    }
}

#[test]
fn levels_and_compared_values_take_per_environment_values() {
    // The fixture's environments carry `region` (eu, us); the check adds its own per environment.
    let check = r#"checks:
  - name: Orders ${environment}
    environments: [prod, staging]
    datasource: orders
    cache_for: 1m
    request: {path: /health}
    variables:
      prod: {warn: 500, crit: 1000, version: "2.4"}
      staging: {warn: 2000, crit: 5000, version: "2.5-${environment}"}
    expect:
      body: [{contains: "v${version}"}, {not_contains: "$${literal}"}]
      json:
        - {path: version, equals: {major: "${version}", region: "${region}"}}
        - {path: latency, lt: "${crit}"}
    metrics:
      - {name: latency, json: latency, levels: {warn: "${warn}", crit: "${crit}"}}
"#;
    let plan = plan(&[("checks/c.yaml", check)]);
    let by_env = |env: &str| {
        let job = plan.jobs.iter().find(|j| j.key.environment == env).unwrap();
        Arc::clone(&job.evaluation)
    };
    let (prod, staging) = (by_env("prod"), by_env("staging"));
    assert_eq!(
        prod.metrics[0].upper,
        Levels {
            warn: Some(500.0),
            crit: Some(1000.0)
        }
    );
    assert_eq!(
        staging.metrics[0].upper,
        Levels {
            warn: Some(2000.0),
            crit: Some(5000.0)
        }
    );
    let texts = |e: &Evaluation| -> Vec<String> {
        e.expect
            .body
            .iter()
            .map(|a| match &a.test {
                TextTest::Contains(t) | TextTest::NotContains(t) | TextTest::Equals(t) => t.clone(),
                TextTest::Matches(re) => re.as_str().to_string(),
            })
            .collect()
    };
    assert_eq!(texts(&prod), ["v2.4", "${literal}"]);
    assert_eq!(texts(&staging), ["v2.5-staging", "${literal}"]);
    assert!(matches!(&staging.expect.json[0].test,
        JsonTest::Equals(v) if *v == serde_json::json!({"major": "2.5-staging", "region": "us"})));
    assert!(
        matches!(&prod.expect.json[1].test, JsonTest::Compare(Comparison::Lt, v) if *v == 1000.0)
    );
}

#[test]
fn a_check_without_per_environment_values_shares_one_evaluation() {
    let check = r#"checks:
  - name: Orders ${environment}
    environments: [prod, staging]
    datasource: orders
    cache_for: 1m
    request: {path: /health}
    metrics: [{name: depth, json: depth, levels: {warn: 5, crit: 10}}]
"#;
    let plan = plan(&[("checks/c.yaml", check)]);
    assert!(Arc::ptr_eq(
        &plan.jobs[0].evaluation,
        &plan.jobs[1].evaluation
    ));
}

#[test]
fn the_check_language_compiles_into_the_evaluation() {
    let check = r#"checks:
  - name: Workers
    environments: [prod, staging]
    datasource: orders
    cache_for: 1m
    request: {path: /workers}
    let:
      unhealthy: 'body.workers.filter(w, w.status != "healthy").size()'
      total: body.workers.size()
    expect:
      that:
        - status == 200
        - {cel: unhealthy < total, state: warn, message: "{unhealthy} of {total} down"}
    metrics:
      - {name: unhealthy, cel: unhealthy, levels: {warn: 1, crit: 3}}
    summary: "{unhealthy} of {total} workers unhealthy"
    details: {problem: "see the dashboard"}
    foreach:
      cel: body.workers
      suffix: " worker {item.name}"
      expect: {that: ['item.status == "healthy"']}
      rollup: worst
"#;
    let plan = plan(&[("checks/c.yaml", check)]);
    let job = &plan.jobs[0];
    let e = &job.evaluation;
    let lets: Vec<(&str, &str)> = e
        .lets
        .iter()
        .map(|(n, x)| (n.as_str(), x.source()))
        .collect();
    assert_eq!(
        lets,
        [
            (
                "unhealthy",
                r#"body.workers.filter(w, w.status != "healthy").size()"#
            ),
            ("total", "body.workers.size()")
        ]
    );
    assert_eq!(e.expect.conditions.len(), 2);
    assert_eq!(e.expect.conditions[1].state, State::Warn);
    assert!(matches!(&e.metrics[0].source, MetricSource::Cel(x) if x.source() == "unhealthy"));
    assert_eq!(
        e.texts.summary.ok.as_ref().map(|t| t.source()),
        e.texts.summary.problem.as_ref().map(|t| t.source()),
    );
    assert!(e.texts.details.ok.is_none() && e.texts.details.problem.is_some());
    let foreach = e.foreach.as_ref().unwrap();
    assert!(matches!(&foreach.items, ForeachItems::Cel(x) if x.source() == "body.workers"));
    assert_eq!(foreach.rollup, checkd_model::plan::Rollup::Worst);
    assert!(e.needs_json());
    // Both environments share one evaluation: nothing in it differs between them.
    assert!(Arc::ptr_eq(
        &plan.jobs[0].evaluation,
        &plan.jobs[1].evaluation
    ));
    // Expressions see the environment's variables, but not one read from the process
    // environment (it may be a secret).
    let vars: Vec<(&str, &str)> = job
        .variables
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(vars, [("region", "eu")]);
}
