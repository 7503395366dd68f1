//! Builders for tests in every crate: one job or plan with sensible defaults, so a new field
//! in the plan is filled in here once instead of in every test.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::plan::{
    CacheSettings, Datasource, HttpDatasource, HttpRequest, Job, OutputSettings, Plan, Probe,
    Retry, Schedule, SchedulerSettings, ServerSettings,
};
use crate::JobKey;

/// A job `check@environment` on host `environment`, datasource `ds`, every minute, timeout
/// 5 s, stale after 3 min, probing `http://127.0.0.1:1/`.
pub fn job(check: &str, environment: &str) -> Job {
    Job {
        key: JobKey::new(check, environment),
        service: check.to_string(),
        host: environment.to_string(),
        labels: BTreeMap::new(),
        datasource: "ds".into(),
        schedule: Schedule::Every(Duration::from_secs(60)),
        timeout: Duration::from_secs(5),
        stale_after: Duration::from_secs(180),
        retry: Retry::default(),
        placement: Default::default(),
        probe: Probe::Http(HttpRequest {
            method: "GET".into(),
            url: "http://127.0.0.1:1/".into(),
            headers: vec![],
            body: None,
            oauth2: None,
        }),
        evaluation: Default::default(),
        variables: Default::default(),
    }
}

/// An HTTP datasource with the given concurrency and no response sharing.
pub fn http_datasource(name: &str, max_concurrency: usize) -> Datasource {
    Datasource::Http(HttpDatasource {
        name: name.to_string(),
        tls_verify: true,
        ca_file: None,
        max_redirects: 0,
        max_body_bytes: 1024 * 1024,
        max_concurrency,
        response_cache_for: Duration::ZERO,
        auth: None,
    })
}

/// A plan of these jobs with one datasource `ds` (concurrency 8), no endpoint, no cache layers.
pub fn plan(jobs: Vec<Job>) -> Plan {
    Plan {
        execution_environment: "test".into(),
        execution_environments: vec!["test".into()],
        datasources: [("ds".to_string(), http_datasource("ds", 8))].into(),
        jobs,
        scheduler: SchedulerSettings {
            max_concurrency: 64,
            splay: 0.1,
            fleet: None,
        },
        server: ServerSettings {
            listen: None,
            bearer_token: None,
        },
        output: OutputSettings {
            self_service: "checkd".into(),
            version: "checkd-test".into(),
            spool: None,
            watchpost: false,
        },
        cache: CacheSettings {
            layers: vec![],
            layer_timeout: Duration::from_millis(250),
            ttl_jitter_percent: 0,
        },
    }
}
