//! The shipped example config and checks load.

use std::path::Path;

use checkd_model::plan::{Probe, Schedule};

use crate::fixture::load_at;

#[test]
fn shipped_examples_load() {
    // Relative, as a user would type it; integration tests run in the package directory.
    let config = Path::new("../../config/checkd.yaml");
    let plan = match load_at(config, None, &[]) {
        Ok(plan) => plan,
        Err(diagnostics) => panic!("the shipped examples do not load:\n{diagnostics}"),
    };
    assert_eq!(plan.execution_environment, "local");
    let keys: Vec<String> = plan.jobs.iter().map(|j| j.key.to_string()).collect();
    assert_eq!(
        keys,
        [
            "checkd_healthcheck@local",
            "checkd_agent_output@local",
            "checkd_endpoint_weekday@local",
            "checkd_port@local"
        ]
    );
    let job = &plan.jobs[0];
    assert_eq!(job.host, "checkd-local");
    assert_eq!(job.service, "checkd healthcheck");
    assert!(matches!(job.schedule, Schedule::Every(d) if d.as_secs() == 60));
    let Probe::Http(request) = &job.probe else {
        panic!("an HTTP job");
    };
    assert_eq!(request.url, "http://127.0.0.1:6559/healthcheck");
    let Probe::Tcp(port) = &plan.jobs[3].probe else {
        panic!("a tcp job");
    };
    assert_eq!((port.host.as_str(), port.port), ("127.0.0.1", 6559));
    assert_eq!(
        plan.server.listen.map(|a| a.to_string()).as_deref(),
        Some("127.0.0.1:6559")
    );
    let sled = plan.cache.layers.iter().find_map(|l| match l {
        checkd_model::plan::CacheLayer::Sled { path, .. } => Some(path.as_path()),
        _ => None,
    });
    assert_eq!(sled, Some(Path::new("../../config/../target/checkd-state")));
}
