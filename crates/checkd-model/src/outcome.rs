//! What one run produced ([`Outcome`]) and how it folds into the job's record ([`apply`]):
//! result semantics 1–5 of the product spec as pure functions. An evaluated run replaces the
//! services, an unavailable datasource keeps them and says since when and why, and with
//! `retries` a non-OK run after an OK one is held back until it repeats.
//!
//! It deliberately does not run anything, read a clock or keep records: the datasources
//! produce the outcome, the scheduler's executor passes the start time and the previous
//! record and keeps the new one, and [`crate::serve`] decides what a record shows.

use std::time::Duration;

use crate::plan::Job;
use crate::{RunRecord, ServiceResult, SoftFailure, State, Unavailable};

/// What one run produced.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The datasource answered; these are the services (at least one).
    Evaluated(Vec<ServiceResult>),
    /// The datasource could not be reached (connection refused, DNS failure, TLS handshake
    /// failure, timeout, …): no result, a reason. Never contains secrets.
    Unavailable(String),
}

/// Folds one outcome into a job's record (result semantics 1–5): an evaluated run replaces
/// the services; an unavailable datasource keeps the earlier services and records since when
/// and why, so an error is never cached as a success.
pub fn apply(
    job: &Job,
    previous: Option<&RunRecord>,
    outcome: Outcome,
    started_ms: i64,
    duration: Duration,
) -> RunRecord {
    let valid_for_s = job.schedule.validity(started_ms).as_secs();
    let duration_ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    match outcome {
        Outcome::Evaluated(services) => {
            if let Some(held) = hold_back(job, previous, &services, started_ms, valid_for_s) {
                return held;
            }
            RunRecord {
                key: job.key.clone(),
                host: job.host.clone(),
                services,
                produced_ms: started_ms,
                duration_ms,
                valid_for_s,
                attempted_ms: started_ms,
                unavailable: None,
                soft: None,
            }
        }
        Outcome::Unavailable(reason) => {
            let since_ms = previous
                .and_then(|p| p.unavailable.as_ref())
                .map_or(started_ms, |u| u.since_ms);
            let unavailable = Some(Unavailable { since_ms, reason });
            match previous {
                Some(previous) => RunRecord {
                    host: job.host.clone(),
                    attempted_ms: started_ms,
                    valid_for_s,
                    unavailable,
                    ..previous.clone()
                },
                None => RunRecord {
                    key: job.key.clone(),
                    host: job.host.clone(),
                    services: Vec::new(),
                    produced_ms: started_ms,
                    duration_ms,
                    valid_for_s,
                    attempted_ms: started_ms,
                    unavailable,
                    soft: None,
                },
            }
        }
    }
}

/// With `retries`, a non-OK run after an OK result is held back: the OK services stay and
/// the record counts the attempt, until `retries + 1` non-OK runs in a row make it reported.
fn hold_back(
    job: &Job,
    previous: Option<&RunRecord>,
    services: &[ServiceResult],
    started_ms: i64,
    valid_for_s: u64,
) -> Option<RunRecord> {
    let previous = previous.filter(|p| !p.services.is_empty() && p.worst_state() == State::Ok)?;
    let worst = services.iter().max_by_key(|s| s.state)?;
    if worst.state == State::Ok || job.retry.retries == 0 {
        return None;
    }
    let attempt = previous.soft.as_ref().map_or(1, |s| s.attempt + 1);
    if attempt > job.retry.retries {
        return None;
    }
    Some(RunRecord {
        host: job.host.clone(),
        attempted_ms: started_ms,
        valid_for_s,
        unavailable: None,
        soft: Some(SoftFailure {
            attempt,
            of: job.retry.retries + 1,
            state: worst.state,
            summary: worst.summary.clone(),
        }),
        ..previous.clone()
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::{ServiceResult, State};

    fn job() -> Job {
        Job {
            service: "API".into(),
            ..crate::testing::job("api", "prod")
        }
    }

    fn evaluated(state: State) -> Outcome {
        Outcome::Evaluated(vec![ServiceResult {
            service: "API".into(),
            state,
            summary: state.to_string(),
            details: String::new(),
            metrics: vec![],
            labels: BTreeMap::new(),
        }])
    }

    #[test]
    fn an_outage_keeps_the_last_services_and_remembers_when_it_began() {
        let job = job();
        let ok = apply(
            &job,
            None,
            evaluated(State::Crit),
            1_000,
            Duration::from_millis(3),
        );
        assert_eq!(
            (
                ok.produced_ms,
                ok.attempted_ms,
                ok.valid_for_s,
                ok.duration_ms
            ),
            (1_000, 1_000, 60, 3)
        );

        let down = apply(
            &job,
            Some(&ok),
            Outcome::Unavailable("refused".into()),
            61_000,
            Duration::ZERO,
        );
        assert_eq!(
            down.services, ok.services,
            "a failure never replaces a result"
        );
        assert_eq!((down.produced_ms, down.attempted_ms), (1_000, 61_000));
        assert_eq!(
            down.unavailable,
            Some(Unavailable {
                since_ms: 61_000,
                reason: "refused".into()
            })
        );

        let still_down = apply(
            &job,
            Some(&down),
            Outcome::Unavailable("timed out".into()),
            121_000,
            Duration::ZERO,
        );
        assert_eq!(
            still_down.unavailable,
            Some(Unavailable {
                since_ms: 61_000,
                reason: "timed out".into()
            })
        );

        let back = apply(
            &job,
            Some(&still_down),
            evaluated(State::Ok),
            181_000,
            Duration::ZERO,
        );
        assert_eq!(
            (back.produced_ms, back.unavailable.clone()),
            (181_000, None)
        );
        assert_eq!(back.services[0].state, State::Ok);
    }

    #[test]
    fn retries_hold_a_non_ok_result_back_until_it_repeats_and_ok_recovers_at_once() {
        let job = Job {
            retry: crate::plan::Retry {
                retries: 2,
                interval: Duration::from_secs(10),
            },
            ..job()
        };
        let ok = apply(&job, None, evaluated(State::Ok), 0, Duration::ZERO);
        let first = apply(
            &job,
            Some(&ok),
            evaluated(State::Crit),
            60_000,
            Duration::ZERO,
        );
        assert_eq!(first.services, ok.services, "still the OK result");
        assert_eq!(
            first.soft.as_ref().map(|s| (s.attempt, s.of, s.state)),
            Some((1, 3, State::Crit))
        );
        let second = apply(
            &job,
            Some(&first),
            evaluated(State::Warn),
            70_000,
            Duration::ZERO,
        );
        assert_eq!(
            second.soft.as_ref().map(|s| (s.attempt, s.state)),
            Some((2, State::Warn))
        );
        let third = apply(
            &job,
            Some(&second),
            evaluated(State::Crit),
            80_000,
            Duration::ZERO,
        );
        assert_eq!(
            (third.worst_state(), third.soft.clone()),
            (State::Crit, None),
            "reported on the third"
        );
        let fourth = apply(
            &job,
            Some(&third),
            evaluated(State::Crit),
            90_000,
            Duration::ZERO,
        );
        assert_eq!(
            (fourth.worst_state(), fourth.soft.clone()),
            (State::Crit, None),
            "stays reported"
        );

        let recovered = apply(
            &job,
            Some(&second),
            evaluated(State::Ok),
            80_000,
            Duration::ZERO,
        );
        assert_eq!(
            (recovered.worst_state(), recovered.soft.clone()),
            (State::Ok, None)
        );
        // Without an OK result to fall back on, a non-OK result is reported at once.
        let fresh = apply(&job, None, evaluated(State::Crit), 0, Duration::ZERO);
        assert_eq!((fresh.worst_state(), fresh.soft), (State::Crit, None));
    }

    #[test]
    fn an_outage_without_an_earlier_result_has_no_services() {
        let down = apply(
            &job(),
            None,
            Outcome::Unavailable("refused".into()),
            5_000,
            Duration::ZERO,
        );
        assert!(down.services.is_empty());
        assert_eq!(down.unavailable.map(|u| u.since_ms), Some(5_000));
    }
}
