//! Tests of the command datasource that run real processes: the Monitoring Plugins from
//! Debian, and scripts written to a temporary directory. The parser's own tables live next
//! to it; `props` fuzzes it.

// Test helpers may panic: a panic is a clear test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod plugins;
mod props;
mod scripts;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use checkd_model::{Outcome, ServiceResult};

use super::{run, CommandSpec};

const SERVICE: &str = "Local plugin";

fn labels() -> BTreeMap<String, String> {
    BTreeMap::from([("team".to_string(), "ops".to_string())])
}

fn spec(program: impl Into<PathBuf>, args: &[&str]) -> CommandSpec {
    CommandSpec {
        program: program.into(),
        args: args.iter().map(|a| a.to_string()).collect(),
        env: Vec::new(),
        shell: false,
        timeout: Duration::from_secs(20),
        max_output_bytes: 64 * 1024,
    }
}

/// Runs the command and returns its one service, checking the name and labels on the way.
async fn service(spec: &CommandSpec) -> ServiceResult {
    match run(spec, SERVICE, &labels()).await {
        Outcome::Evaluated(mut services) if services.len() == 1 => {
            let service = services.remove(0);
            assert_eq!(service.service, SERVICE);
            assert_eq!(service.labels, labels());
            service
        }
        other => panic!("expected one evaluated service, got {other:?}"),
    }
}

/// A Monitoring Plugin from Debian's `monitoring-plugins-basic`; missing is a failure.
fn plugin(name: &str) -> PathBuf {
    let path = Path::new("/usr/lib/nagios/plugins").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run scripts/test, which installs the Debian package \
         monitoring-plugins-basic (or apt-get install monitoring-plugins-basic)",
        path.display()
    );
    path
}

/// Writes an executable `/bin/sh` script into `dir`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Whether a process runs (a zombie no longer runs; it waits to be reaped).
fn running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name in parentheses, which may hold spaces.
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

/// Waits up to 2 s for a killed process to end: SIGKILL is delivered at once, but the
/// process closes its pipes a moment before it is marked as ended.
async fn gone(pid: i32) -> bool {
    for _ in 0..100 {
        if !running(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Waits up to 5 s for a file the script writes, and reads the pids in it.
async fn pids_in(path: &Path) -> Vec<i32> {
    for _ in 0..100 {
        if let Ok(text) = std::fs::read_to_string(path) {
            let pids: Vec<i32> = text
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect();
            if pids.len() >= 2 {
                return pids;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} was not written", path.display());
}

#[test]
fn a_run_can_be_spawned_on_the_runtime() {
    // The scheduler spawns runs: the future must be `Send` (this fails to compile if not).
    fn send<T: Send>(_: T) {}
    let spec = spec("true", &[]);
    let labels = labels();
    send(run(&spec, SERVICE, &labels));
}
