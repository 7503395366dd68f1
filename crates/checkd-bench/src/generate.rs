//! The generated workload: a daemon config and N HTTP checks across two environments, in a
//! temporary directory that also holds the sled store and the daemon's log.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// The environments every check targets: N checks are 2N jobs.
pub const ENVIRONMENTS: [&str; 2] = ["prod", "staging"];

/// Checks per generated file, so no single file is huge.
const CHECKS_PER_FILE: usize = 1_000;

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Workload {
    pub checks: usize,
    pub target_port: u16,
    pub listen_port: u16,
    /// Both the scheduler's and the datasource's `max_concurrency`.
    pub concurrency: usize,
}

impl Workload {
    pub fn jobs(&self) -> usize {
        self.checks * ENVIRONMENTS.len()
    }
}

/// Writes `checkd.yaml` and `checks/*.yaml` into `dir`; returns the config's path.
pub fn write(dir: &Path, workload: &Workload) -> anyhow::Result<PathBuf> {
    let checks_dir = dir.join("checks");
    std::fs::create_dir_all(&checks_dir)
        .with_context(|| format!("cannot create {}", checks_dir.display()))?;
    let config = dir.join("checkd.yaml");
    std::fs::write(&config, daemon_config(workload))
        .with_context(|| format!("cannot write {}", config.display()))?;
    let mut first = 0;
    while first < workload.checks {
        let last = (first + CHECKS_PER_FILE).min(workload.checks);
        let file = checks_dir.join(format!("bench-{:03}.yaml", first / CHECKS_PER_FILE));
        std::fs::write(&file, check_file(first..last))
            .with_context(|| format!("cannot write {}", file.display()))?;
        first = last;
    }
    Ok(config)
}

fn daemon_config(w: &Workload) -> String {
    let mut environments = String::new();
    for env in ENVIRONMENTS {
        // Infallible: writing to a String.
        let _ = writeln!(
            environments,
            "  {env}:\n    host: \"bench-${{environment}}\""
        );
    }
    format!(
        "execution_environment: bench
checks: [checks]
environments:
{environments}datasources:
  target:
    type: http
    # The environment is part of every URL, so no two jobs share a response.
    base_url: \"http://127.0.0.1:{target}/${{environment}}\"
    timeout: 10s
    max_concurrency: {conc}
scheduler:
  max_concurrency: {conc}
server:
  listen: \"127.0.0.1:{listen}\"
cache:
  layers:
    - type: memory
    - type: sled
      path: store
",
        target = w.target_port,
        listen = w.listen_port,
        conc = w.concurrency,
    )
}

fn check_file(range: std::ops::Range<usize>) -> String {
    let envs = ENVIRONMENTS.join(", ");
    let mut out = String::with_capacity(400 * range.len() + 16);
    out.push_str("checks:\n");
    for n in range {
        // Infallible: writing to a String.
        let _ = write!(
            out,
            "  - name: \"item {n:05}\"
    id: item_{n:05}
    environments: [{envs}]
    datasource: target
    cache_for: 60s
    request: {{path: /item/{n}}}
    expect:
      json:
        - {{path: status, equals: ok}}
    metrics:
      - {{name: depth, json: depth, levels: {{warn: 500, crit: 1000}}}}
"
        );
    }
    out
}
