//! What checkd shows: the jobs of a plan grouped by Checkmk host, and what each shows now, as
//! agent output, spool files, JSON rows or state counts.
//!
//! [`View`] decides which jobs appear (a job another instance reports is left out) and in
//! which order; `shows` turns one job and its record into rendered lines, `cache` keeps those
//! lines while the job's board slot and staleness stay the same, and `rows` builds the JSON
//! rows of `GET /api/v1/results` and `--format json`. The submodules do not know `View`: it
//! hands them the plan and its hosts, so the imports run one way (`mod` → `cache`, `rows` →
//! `shows`). It decides no result semantics (pending,
//! stale, unavailable: `checkd_model::serve`) and writes no Checkmk syntax (`checkd_checkmk`).

mod cache;
mod rows;
mod shows;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use checkd_model::placement::Decision;
use checkd_model::plan::Plan;
use checkd_model::{JobKey, RunRecord, State};
use checkd_scheduler::Board;

use crate::selfmon::SelfStatus;

pub use rows::{Filter, ResultRow};

/// The jobs to show, grouped by Checkmk host once, so rendering only walks them.
#[derive(Debug, Clone)]
pub struct View {
    plan: Arc<Plan>,
    /// Host → indices into `plan.jobs`, hosts in name order, jobs in plan order.
    hosts: Vec<(String, Vec<usize>)>,
    /// Every shown job's board slot and rendered lines, reused while unchanged. Clones of a
    /// view share it.
    cache: Arc<Mutex<cache::RenderCache>>,
}

/// Every job's latest record, as a board snapshot gives them.
pub type Records = HashMap<JobKey, Arc<RunRecord>>;

impl View {
    /// A view of every job of the plan that this instance shows (its own and skipped ones).
    pub fn new(plan: Arc<Plan>) -> View {
        let all: Vec<usize> = (0..plan.jobs.len()).collect();
        View::of(plan, &all)
    }

    /// A view of the given jobs only.
    pub fn of(plan: Arc<Plan>, jobs: &[usize]) -> View {
        let mut hosts: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for &index in jobs {
            if let Some(job) = plan.jobs.get(index) {
                // A job another instance reports is left out here entirely.
                if job.placement.decide(&plan.execution_environment) != Decision::NotMine {
                    hosts.entry(job.host.clone()).or_default().push(index);
                }
            }
        }
        View {
            plan,
            hosts: hosts.into_iter().collect(),
            cache: Arc::default(),
        }
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// How many services are served in each state right now.
    pub fn state_counts(&self, records: &Records, now_ms: i64) -> [u64; 4] {
        let mut counts = [0u64; 4];
        for (_, services) in shows::served(&self.plan, &self.hosts, records, now_ms) {
            for (_, s) in services {
                counts[usize::from(s.state.code())] += 1;
            }
        }
        counts
    }

    /// The worst served state over every job, for `checkd once`'s exit code.
    pub fn worst_state(&self, records: &Records, now_ms: i64) -> State {
        shows::served(&self.plan, &self.hosts, records, now_ms)
            .flat_map(|(_, services)| services.into_iter().map(|(_, s)| s.state))
            .max()
            .unwrap_or(State::Ok)
    }

    /// The whole Checkmk agent output: header, checkd's own service, one block per host.
    pub fn agent_output(&self, board: &Arc<Board>, status: &SelfStatus, now_ms: i64) -> String {
        cache::lock(&self.cache).agent_output(&self.plan, &self.hosts, board, status, now_ms)
    }

    /// The same as files for the agent's spool directory, without the agent header: checkd's
    /// own service under the name `""`, then one file per host.
    pub fn spool_files(
        &self,
        board: &Arc<Board>,
        status: &SelfStatus,
        now_ms: i64,
    ) -> Vec<(String, String)> {
        cache::lock(&self.cache).spool_files(&self.plan, &self.hosts, board, status, now_ms)
    }

    /// Every served service as JSON rows, optionally filtered.
    pub fn results(&self, records: &Records, now_ms: i64, filter: &Filter) -> Vec<ResultRow> {
        rows::results(&self.plan, &self.hosts, records, now_ms, filter)
    }
}
