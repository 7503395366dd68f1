//! What checkd shows: the jobs of a plan grouped by Checkmk host, and what each shows now, as
//! agent output, spool files, JSON rows or state counts.
//!
//! [`View`] decides which jobs appear (a job another instance reports is left out) and in
//! which order; `shows` turns one job and its record into rendered lines, `cache` keeps those
//! lines while the job's board slot and staleness stay the same, and `rows` builds the JSON
//! rows of `GET /api/v1/results` and `--format json`. It decides no result semantics (pending,
//! stale, unavailable: `checkd_model::serve`) and writes no Checkmk syntax (`checkd_checkmk`).

mod cache;
mod rows;
mod shows;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use checkd_model::placement::Decision;
use checkd_model::plan::Plan;
use checkd_model::serve::{serve, Served};
use checkd_model::{JobKey, RunRecord, State};

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

    /// Every host with the services its jobs show now: `(index into plan.jobs, service)`.
    fn served<'a>(
        &'a self,
        records: &'a Records,
        now_ms: i64,
    ) -> impl Iterator<Item = (&'a str, Vec<(usize, Served<'a>)>)> + 'a {
        self.hosts.iter().map(move |(host, jobs)| {
            let served = jobs
                .iter()
                .filter_map(|&i| self.plan.jobs.get(i).map(|job| (i, job)))
                .flat_map(|(i, job)| {
                    serve(
                        job,
                        records.get(&job.key).map(Arc::as_ref),
                        now_ms,
                        shows::here(&self.plan, job),
                    )
                    .into_iter()
                    .map(move |s| (i, s))
                })
                .collect();
            (host.as_str(), served)
        })
    }

    /// How many services are served in each state right now.
    pub fn state_counts(&self, records: &Records, now_ms: i64) -> [u64; 4] {
        let mut counts = [0u64; 4];
        for (_, services) in self.served(records, now_ms) {
            for (_, s) in services {
                counts[usize::from(s.state.code())] += 1;
            }
        }
        counts
    }

    /// The worst served state over every job, for `checkd once`'s exit code.
    pub fn worst_state(&self, records: &Records, now_ms: i64) -> State {
        self.served(records, now_ms)
            .flat_map(|(_, services)| services.into_iter().map(|(_, s)| s.state))
            .max()
            .unwrap_or(State::Ok)
    }
}
