//! checkd's own service on the daemon's host: how many checks fail, how late the scheduler
//! runs, and whether the cache layers work.

use checkd_model::{combine, Combined, Metric, Partial, State};
use checkd_store::LayerStats;

/// A scheduler this late is worth a look.
const LAG_WARN_MS: u64 = 60_000;

/// What checkd knows about itself when it renders.
#[derive(Debug, Clone, Default)]
pub struct SelfStatus {
    pub lag_ms: u64,
    /// Every layer of the cache chain.
    pub layers: Vec<LayerStats>,
    /// Configured layers that could not be opened, with the reason.
    pub left_out: Vec<String>,
    /// The outcome of the last SIGHUP, if there was one.
    pub last_reload: Option<Reloaded>,
    /// This instance's part in a fleet, if it is in one.
    pub fleet: Option<FleetStatus>,
}

/// How the fleet looks from this instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetStatus {
    pub instance: String,
    pub live: usize,
    pub runs: u64,
    pub followed: u64,
    /// Runs without a lease because Redis did not answer: possibly run elsewhere too.
    pub local: u64,
    pub shared_ok: bool,
}

/// What the last reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    pub accepted: bool,
    pub at_ms: i64,
    /// e.g. `12 jobs, 1 added, 0 removed, 2 changed` or `3 problems in the config`.
    pub what: String,
}

/// The self-monitoring service: OK while all is well; WARN when the scheduler lags or a cache
/// layer fails; CRIT when persistent layers are configured and none of them works.
pub fn self_service(status: &SelfStatus, checks: u64, failing: u64) -> Combined {
    let mut partials = vec![
        Partial::new(State::Ok, format!("{checks} checks, {failing} failing")).with_metric(
            Metric {
                min: Some(0.0),
                ..Metric::new("checks", checks as f64)
            },
        ),
    ];
    let lag_state = if status.lag_ms >= LAG_WARN_MS {
        State::Warn
    } else {
        State::Ok
    };
    partials.push(
        Partial::new(lag_state, format!("scheduler lag {} ms", status.lag_ms)).with_metric(
            Metric {
                min: Some(0.0),
                ..Metric::new("scheduler_lag", status.lag_ms as f64 / 1000.0)
            },
        ),
    );
    for layer in &status.layers {
        let state = if layer.healthy {
            State::Ok
        } else {
            State::Warn
        };
        let health = if layer.healthy { "ok" } else { "failing" };
        partials.push(Partial::new(
            state,
            format!(
                "cache {} {health}: {} hits, {} misses, {} errors{}",
                layer.layer,
                layer.hits,
                layer.misses,
                layer.errors,
                layer
                    .entries
                    .map(|n| format!(", {n} entries"))
                    .unwrap_or_default()
            ),
        ));
    }
    if let Some(reload) = &status.last_reload {
        let at = checkd_model::serve::format_time(reload.at_ms);
        partials.push(if reload.accepted {
            Partial::new(State::Ok, format!("reloaded at {at}: {}", reload.what))
        } else {
            Partial::new(
                State::Warn,
                format!(
                    "reload rejected at {at}, the previous config runs: {}",
                    reload.what
                ),
            )
        });
    }
    if let Some(fleet) = &status.fleet {
        partials.push(if fleet.shared_ok {
            Partial::new(
                State::Ok,
                format!(
                    "fleet: {} instances, {} ran {}, took {} from others",
                    fleet.live, fleet.instance, fleet.runs, fleet.followed
                ),
            )
        } else {
            Partial::new(
                State::Warn,
                format!(
                    "fleet: Redis unreachable, {} runs every check itself ({} runs without a lease, possibly duplicated)",
                    fleet.instance, fleet.local
                ),
            )
        });
    }
    for problem in &status.left_out {
        partials.push(Partial::new(State::Warn, problem.clone()));
    }
    let persistent: Vec<&LayerStats> = status
        .layers
        .iter()
        .filter(|l| l.layer != "memory")
        .collect();
    let configured_persistent = !persistent.is_empty() || !status.left_out.is_empty();
    if configured_persistent && !persistent.iter().any(|l| l.healthy) {
        partials.push(Partial::new(
            State::Crit,
            "no persistent cache layer works: results will not survive a restart",
        ));
    }
    let ok_summary = format!(
        "{checks} checks, {failing} failing, scheduler lag {} ms",
        status.lag_ms
    );
    let mut combined = combine(&partials, Some(&ok_summary));
    combined.metrics.push(Metric {
        min: Some(0.0),
        ..Metric::new("failed", failing as f64)
    });
    combined
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(name: &str, healthy: bool) -> LayerStats {
        LayerStats {
            layer: name.into(),
            healthy,
            hits: 5,
            misses: 1,
            ..LayerStats::default()
        }
    }

    fn check(status: SelfStatus, want: (State, &str)) {
        let got = self_service(&status, 9, 2);
        assert_eq!(
            (got.state, got.summary.as_str()),
            want,
            "details: {}",
            got.details
        );
    }

    #[test]
    fn healthy_checkd_is_ok_with_counts_in_the_summary() {
        let status = SelfStatus {
            lag_ms: 12,
            layers: vec![layer("memory", true), layer("sled", true)],
            left_out: vec![],
            last_reload: None,
            fleet: None,
        };
        check(
            status,
            (State::Ok, "9 checks, 2 failing, scheduler lag 12 ms"),
        );
    }

    #[test]
    fn a_failing_layer_or_lag_warns() {
        let status = SelfStatus {
            lag_ms: 0,
            layers: vec![
                layer("memory", true),
                layer("redis", false),
                layer("sled", true),
            ],
            left_out: vec![],
            last_reload: None,
            fleet: None,
        };
        check(
            status,
            (
                State::Warn,
                "cache redis failing: 5 hits, 1 misses, 0 errors",
            ),
        );
        let status = SelfStatus {
            lag_ms: 61_000,
            layers: vec![layer("memory", true)],
            left_out: vec![],
            last_reload: None,
            fleet: None,
        };
        check(status, (State::Warn, "scheduler lag 61000 ms"));
    }

    #[test]
    fn a_rejected_reload_warns_until_one_is_accepted() {
        let reload = |accepted| Reloaded {
            accepted,
            at_ms: 1_795_420_800_000,
            what: "2 problems in the config".into(),
        };
        let status = SelfStatus {
            lag_ms: 0,
            layers: vec![layer("memory", true)],
            left_out: vec![],
            last_reload: Some(reload(false)),
            fleet: None,
        };
        check(status, (State::Warn, "reload rejected at 2026-11-23T08:00:00Z, the previous config runs: 2 problems in the config"));
        let status = SelfStatus {
            lag_ms: 0,
            layers: vec![layer("memory", true)],
            left_out: vec![],
            last_reload: Some(reload(true)),
            fleet: None,
        };
        check(
            status,
            (State::Ok, "9 checks, 2 failing, scheduler lag 0 ms"),
        );
    }

    #[test]
    fn no_working_persistent_layer_is_critical() {
        let status = SelfStatus {
            lag_ms: 0,
            layers: vec![layer("memory", true)],
            left_out: vec!["cache.layers[1] (sled) left out: locked".into()],
            last_reload: None,
            fleet: None,
        };
        check(
            status,
            (State::Crit, "no persistent cache layer works: results will not survive a restart, cache.layers[1] (sled) left out: locked"),
        );
        let status = SelfStatus {
            lag_ms: 0,
            layers: vec![layer("memory", true), layer("redis", false)],
            left_out: vec![],
            last_reload: None,
            fleet: None,
        };
        check(
            status,
            (State::Crit, "no persistent cache layer works: results will not survive a restart, cache redis failing: 5 hits, 1 misses, 0 errors"),
        );
    }

    #[test]
    fn a_fleet_without_redis_warns_that_runs_may_be_duplicated() {
        let fleet = |shared_ok| FleetStatus {
            instance: "a".into(),
            live: 3,
            runs: 40,
            followed: 80,
            local: 7,
            shared_ok,
        };
        let status = |shared_ok| SelfStatus {
            lag_ms: 0,
            layers: vec![layer("memory", true)],
            left_out: vec![],
            last_reload: None,
            fleet: Some(fleet(shared_ok)),
        };
        let got = self_service(&status(true), 9, 2);
        assert_eq!(got.state, State::Ok);
        assert!(
            got.details
                .contains("[OK] fleet: 3 instances, a ran 40, took 80 from others"),
            "{}",
            got.details
        );
        check(
            status(false),
            (
                State::Warn,
                "fleet: Redis unreachable, a runs every check itself (7 runs without a lease, possibly duplicated)",
            ),
        );
    }
}
