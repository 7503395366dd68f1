//! What a run leaves behind: [`JobKey`] (a check in one environment), its services
//! ([`ServiceResult`]) and the [`RunRecord`] the store keeps, with its datasource incident and
//! a failure held back by `retries`.
//!
//! Records are plain data: how a run's outcome updates a record and what a record shows now
//! are decided elsewhere (the result logic and `serve`), and the byte format they are stored
//! in is the store's (`checkd_store::records`).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Metric, State};

/// Identifies one scheduled unit of work: a check in one target environment.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct JobKey {
    pub check: String,
    pub environment: String,
}

impl JobKey {
    pub fn new(check: impl Into<String>, environment: impl Into<String>) -> JobKey {
        JobKey {
            check: check.into(),
            environment: environment.into(),
        }
    }
}

impl fmt::Display for JobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.check, self.environment)
    }
}

/// One Checkmk service as a run produced it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceResult {
    /// The full service name, suffix included.
    pub service: String,
    pub state: State,
    /// One line.
    pub summary: String,
    /// Further lines, separated by `\n`; may be empty.
    #[serde(default)]
    pub details: String,
    #[serde(default)]
    pub metrics: Vec<Metric>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// Why the datasource of a job could not be reached, and since when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unavailable {
    /// Unix milliseconds of the first failed attempt in this incident.
    pub since_ms: i64,
    pub reason: String,
}

/// What the store keeps for one job: the services of the last *evaluated* run, when it was
/// produced and for how long it is valid, plus the current datasource incident, if any.
///
/// A failed attempt never replaces the services of a real result: it only sets `unavailable`
/// and `attempted_ms`, so errors are never cached as successes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub key: JobKey,
    /// The Checkmk host whose piggyback block shows these services.
    pub host: String,
    pub services: Vec<ServiceResult>,
    /// Unix milliseconds when the services were produced (the run started).
    pub produced_ms: i64,
    /// How long the run took, in milliseconds.
    pub duration_ms: u64,
    /// Seconds the result stays fresh after `produced_ms`.
    pub valid_for_s: u64,
    /// Unix milliseconds of the last attempt, successful or not.
    pub attempted_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<Unavailable>,
    /// Non-OK runs not reported yet (retries): `services` still hold the last OK result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soft: Option<SoftFailure>,
}

/// A non-OK result held back by `retries`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoftFailure {
    /// This is non-OK run `attempt` of the `of` that make it reported.
    pub attempt: u32,
    pub of: u32,
    /// The worst state of the held-back run and its summary.
    pub state: State,
    pub summary: String,
}

impl RunRecord {
    /// Whether the last attempt is recent enough that the job need not run yet.
    pub fn is_fresh(&self, now_ms: i64) -> bool {
        now_ms
            < self
                .attempted_ms
                .saturating_add(secs_to_ms(self.valid_for_s))
    }

    /// Age of the produced services in milliseconds.
    pub fn age_ms(&self, now_ms: i64) -> i64 {
        now_ms.saturating_sub(self.produced_ms).max(0)
    }

    /// The worst state across all services of this record.
    pub fn worst_state(&self) -> State {
        self.services
            .iter()
            .map(|s| s.state)
            .max()
            .unwrap_or(State::Ok)
    }
}

fn secs_to_ms(secs: u64) -> i64 {
    i64::try_from(secs)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_counts_from_the_last_attempt() {
        let record = RunRecord {
            key: JobKey::new("c", "prod"),
            host: "h".into(),
            services: vec![],
            produced_ms: 0,
            duration_ms: 5,
            valid_for_s: 60,
            attempted_ms: 30_000,
            unavailable: None,
            soft: None,
        };
        assert!(record.is_fresh(89_999));
        assert!(!record.is_fresh(90_000));
        assert_eq!(record.age_ms(90_000), 90_000);
    }
}
