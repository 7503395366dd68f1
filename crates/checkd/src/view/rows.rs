//! The JSON rows of `GET /api/v1/results` and `--format json`: one row per served service,
//! with its job's check, environment, host, labels and the record's timing.
//!
//! Rows are built from a board snapshot on every request; unlike the agent output they are
//! not cached (the API is for people and scripts, not for every scrape).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use checkd_model::serve::format_time;
use checkd_model::{Metric, State};
use serde::Serialize;

use checkd_model::plan::Plan;
use checkd_model::JobKey;

use super::shows;

/// Which results `GET /api/v1/results` returns.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Filter {
    pub environment: Option<String>,
    pub state: Option<State>,
}

/// One service in the JSON API and `--format json`.
#[derive(Debug, Clone, Serialize)]
pub struct ResultRow {
    pub check: String,
    pub environment: String,
    pub host: String,
    pub service: String,
    pub state: State,
    pub summary: String,
    pub details: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub metrics: Vec<Metric>,
    pub labels: BTreeMap<String, String>,
    /// When the result was produced (RFC 3339); absent while no result exists.
    pub produced_at: Option<String>,
    pub valid_for_s: Option<u64>,
    pub age_s: Option<i64>,
    pub duration_ms: Option<u64>,
}

/// Every service `hosts`' jobs serve, as JSON rows, optionally filtered.
pub(super) fn results(
    plan: &Plan,
    hosts: &[(String, Vec<usize>)],
    records: &HashMap<JobKey, Arc<checkd_model::RunRecord>>,
    now_ms: i64,
    filter: &Filter,
) -> Vec<ResultRow> {
    let mut rows = Vec::new();
    for (host, services) in shows::served(plan, hosts, records, now_ms) {
        for (index, s) in services {
            let Some(job) = plan.jobs.get(index) else {
                continue;
            };
            if filter
                .environment
                .as_ref()
                .is_some_and(|e| e != &job.key.environment)
                || filter.state.is_some_and(|state| state != s.state)
            {
                continue;
            }
            let record = records.get(&job.key).map(Arc::as_ref);
            rows.push(ResultRow {
                check: job.key.check.clone(),
                environment: job.key.environment.clone(),
                host: host.to_string(),
                service: s.service.to_string(),
                state: s.state,
                summary: s.summary.as_str().to_string(),
                details: s.details.to_string(),
                note: s.note.clone(),
                metrics: s.metrics.to_vec(),
                labels: job.labels.clone(),
                produced_at: s.cached.map(|(t, _)| format_time(t.saturating_mul(1000))),
                valid_for_s: s.cached.map(|(_, i)| i),
                age_s: record
                    .filter(|_| s.cached.is_some())
                    .map(|r| r.age_ms(now_ms) / 1000),
                duration_ms: record.filter(|_| s.cached.is_some()).map(|r| r.duration_ms),
            });
        }
    }
    rows
}
