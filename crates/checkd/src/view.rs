//! What checkd shows: the agent output and the JSON results, from the plan and the records.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use checkd_checkmk::{
    AgentOutput, Cached, LocalCheck, LocalLine, LocalLines, WatchpostLine, WatchpostLines,
    WatchpostService,
};
use checkd_model::placement::Decision;
use checkd_model::plan::{Job, Plan};
use checkd_model::serve::{format_time, serve, stale_at_ms, Here, Served};
use checkd_model::{JobKey, Metric, RunRecord, State};
use checkd_scheduler::{Board, Slot};

use crate::selfmon::{self_service, SelfStatus};
use serde::Serialize;

/// The jobs to show, grouped by Checkmk host once, so rendering only walks them.
#[derive(Debug, Clone)]
pub struct View {
    plan: Arc<Plan>,
    /// Host → indices into `plan.jobs`, hosts in name order, jobs in plan order.
    hosts: Vec<(String, Vec<usize>)>,
    /// Every shown job's board slot and rendered lines, reused while unchanged.
    rendered: Arc<Mutex<Rendered>>,
}

/// The shown jobs in host order, resolved on one board.
#[derive(Debug, Default)]
struct Rendered {
    /// The board the slots belong to: another board resolves them anew. Weak, so the view
    /// does not keep a board alive, yet no other board can take its address meanwhile.
    board: Weak<Board>,
    jobs: Vec<Shown>,
}

#[derive(Debug)]
struct Shown {
    /// Index into `plan.jobs`.
    index: usize,
    slot: Arc<Slot>,
    /// `None` until first rendered.
    lines: Option<Lines>,
}

/// One job's rendered lines and what they were rendered from.
#[derive(Debug)]
struct Lines {
    /// The slot's version the lines were rendered at.
    version: u64,
    stale: bool,
    /// From this time on (ms) the record is stale; `i64::MAX` when it cannot be.
    stale_at_ms: i64,
    worst: State,
    text: Text,
}

/// A job's rendered lines, in the plan's output format.
#[derive(Debug)]
enum Text {
    Local(LocalLines),
    Watchpost(WatchpostLines),
}

impl Text {
    fn len(&self) -> usize {
        match self {
            Text::Local(lines) => lines.len(),
            Text::Watchpost(lines) => lines.len(),
        }
    }

    fn push_to(&self, out: &mut AgentOutput) {
        match self {
            Text::Local(lines) => out.push_local_lines(lines),
            Text::Watchpost(lines) => out.push_watchpost_lines(lines),
        }
    }
}

pub type Records = HashMap<JobKey, Arc<RunRecord>>;

impl View {
    /// A view of every job of the plan that this instance shows (its own and skipped ones).
    pub fn new(plan: Arc<Plan>) -> View {
        let all: Vec<usize> = (0..plan.jobs.len()).collect();
        View::of(plan, &all)
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
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
            rendered: Arc::default(),
        }
    }

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
                        self.here(job),
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

    /// The whole Checkmk agent output: header, checkd's own service, one block per host.
    ///
    /// Each job's lines are rendered once and reused by later scrapes while the job's record
    /// (the same `Arc` in its board slot) and its staleness stay the same, so a scrape mostly
    /// copies text.
    pub fn agent_output(&self, board: &Arc<Board>, status: &SelfStatus, now_ms: i64) -> String {
        let mut rendered = self.rendered(board);
        let mut bytes = 0;
        let mut worst = Vec::with_capacity(rendered.jobs.len());
        for shown in &mut rendered.jobs {
            let lines = self.job_lines(shown, now_ms);
            bytes += lines.text.len();
            worst.push(lines.worst);
        }
        let mut out = AgentOutput::with_capacity(
            &self.plan.output.version,
            bytes + 64 * self.hosts.len() + 1024,
        );
        self.write_self(&mut out, &worst, status);
        let mut shown = rendered.jobs.iter();
        for (host, jobs) in &self.hosts {
            out.begin_host(host);
            for job in shown.by_ref().take(jobs.len()) {
                if let Some(lines) = &job.lines {
                    lines.text.push_to(&mut out);
                }
            }
            out.end_host();
        }
        out.finish()
    }

    /// The same as files for the agent's spool directory, without the agent header: checkd's
    /// own service under the name `""`, then one file per host.
    pub fn spool_files(
        &self,
        board: &Arc<Board>,
        status: &SelfStatus,
        now_ms: i64,
    ) -> Vec<(String, String)> {
        let mut rendered = self.rendered(board);
        let mut worst = Vec::with_capacity(rendered.jobs.len());
        let mut files = vec![(String::new(), String::new())];
        let mut shown = rendered.jobs.iter_mut();
        for (host, jobs) in &self.hosts {
            let mut out = AgentOutput::spool_file(160 * jobs.len() + 64);
            out.begin_host(host);
            for job in shown.by_ref().take(jobs.len()) {
                let lines = self.job_lines(job, now_ms);
                worst.push(lines.worst);
                lines.text.push_to(&mut out);
            }
            files.push((host.clone(), out.finish()));
        }
        let mut own = AgentOutput::spool_file(512);
        self.write_self(&mut own, &worst, status);
        files[0].1 = own.finish();
        files
    }

    /// The rendered jobs, their slots resolved on `board` (once per board).
    fn rendered(&self, board: &Arc<Board>) -> std::sync::MutexGuard<'_, Rendered> {
        let mut rendered = self.rendered.lock().unwrap_or_else(PoisonError::into_inner);
        if !std::ptr::eq(rendered.board.as_ptr(), Arc::as_ptr(board)) {
            rendered.board = Arc::downgrade(board);
            rendered.jobs = self
                .hosts
                .iter()
                .flat_map(|(_, jobs)| jobs)
                .filter_map(|&index| {
                    let job = self.plan.jobs.get(index)?;
                    Some(Shown {
                        index,
                        slot: board.slot(&job.key),
                        lines: None,
                    })
                })
                .collect();
        }
        rendered
    }

    /// How this instance treats `job`: runs it, or only shows it.
    fn here(&self, job: &Job) -> Here<'_> {
        match job.placement.decide(&self.plan.execution_environment) {
            Decision::Skip => Here::Skips {
                execution_environment: &self.plan.execution_environment,
            },
            Decision::Run | Decision::NotMine => Here::Runs,
        }
    }

    /// A job's rendered lines: kept while its slot's version and its staleness have not
    /// changed, else rendered again.
    fn job_lines<'s>(&self, shown: &'s mut Shown, now_ms: i64) -> &'s Lines {
        let lines = match shown.lines.take() {
            Some(lines)
                if lines.version == shown.slot.version()
                    && lines.stale == (now_ms > lines.stale_at_ms) =>
            {
                lines
            }
            _ => {
                let (version, record) = shown.slot.read();
                self.render(shown.index, version, record.as_deref(), now_ms)
            }
        };
        shown.lines.insert(lines)
    }

    /// Renders a job's services as local-check or watchpost lines.
    fn render(&self, index: usize, version: u64, record: Option<&RunRecord>, now_ms: i64) -> Lines {
        let Some(job) = self.plan.jobs.get(index) else {
            return Lines {
                version,
                stale: false,
                stale_at_ms: i64::MAX,
                worst: State::Ok,
                text: Text::Local(LocalLines::new()),
            };
        };
        let stale_at_ms = record.and_then(|r| stale_at_ms(job, r)).unwrap_or(i64::MAX);
        let stale = now_ms > stale_at_ms;
        let served = serve(job, record, now_ms, self.here(job));
        let worst = served.iter().map(|s| s.state).max().unwrap_or(State::Ok);
        let text = if self.plan.output.watchpost {
            let mut lines = WatchpostLines::new();
            for s in &served {
                lines.push(&WatchpostLine::new(&WatchpostService {
                    service: s.service,
                    labels: &job.labels,
                    environment: &job.key.environment,
                    state: s.state,
                    summary: s.summary.as_str(),
                    details: s.details,
                    note: s.note.as_deref(),
                    metrics: s.metrics,
                }));
            }
            Text::Watchpost(lines)
        } else {
            let mut lines = LocalLines::new();
            for s in &served {
                lines.push(&LocalLine::new(&LocalCheck {
                    cached: s.cached.map(|(produced_s, interval_s)| Cached {
                        produced_s,
                        interval_s,
                    }),
                    state: s.state,
                    service: s.service,
                    metrics: s.metrics,
                    summary: s.summary.as_str(),
                    details: s.details,
                    note: s.note.as_deref(),
                }));
            }
            Text::Local(lines)
        };
        drop(served);
        Lines {
            version,
            stale,
            stale_at_ms,
            worst,
            text,
        }
    }

    /// checkd's own service, counting checks (jobs), not services: a foreach job with ten
    /// items is one check, failing when any of its services is not OK.
    fn write_self(&self, out: &mut AgentOutput, worst_per_job: &[State], status: &SelfStatus) {
        let total = worst_per_job.len() as u64;
        let failing = worst_per_job.iter().filter(|s| **s != State::Ok).count() as u64;
        let own = self_service(status, total, failing);
        out.local_check(&LocalCheck {
            cached: None,
            state: own.state,
            service: &self.plan.output.self_service,
            metrics: &own.metrics,
            summary: &own.summary,
            details: &own.details,
            note: None,
        });
    }

    /// Every served service as JSON rows, optionally filtered.
    pub fn results(&self, records: &Records, now_ms: i64, filter: &Filter) -> Vec<ResultRow> {
        let mut rows = Vec::new();
        for (host, services) in self.served(records, now_ms) {
            for (index, s) in services {
                let Some(job) = self.plan.jobs.get(index) else {
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
                let record = records.get(&job.key);
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
}

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

#[cfg(test)]
mod tests {
    use checkd_model::{ServiceResult, State};

    use super::*;

    fn record(job: &Job, summary: &str, produced_ms: i64) -> Arc<RunRecord> {
        Arc::new(RunRecord {
            key: job.key.clone(),
            host: job.host.clone(),
            services: vec![ServiceResult {
                service: job.service.clone(),
                state: State::Ok,
                summary: summary.into(),
                details: String::new(),
                metrics: vec![],
                labels: BTreeMap::new(),
            }],
            produced_ms,
            duration_ms: 1,
            valid_for_s: 60,
            attempted_ms: produced_ms,
            unavailable: None,
            soft: None,
        })
    }

    fn lines(output: &str) -> Vec<&str> {
        output.lines().filter(|l| l.contains("\"api\"")).collect()
    }

    #[test]
    fn rendered_lines_do_not_keep_replaced_records_alive() {
        let job = checkd_model::testing::job("api", "prod");
        let view = View::new(Arc::new(checkd_model::testing::plan(vec![job.clone()])));
        let board = Arc::new(Board::new());
        let first = record(&job, "first", 1_000_000);
        let weak = Arc::downgrade(&first);
        board.insert(first);
        assert_eq!(
            lines(&view.agent_output(&board, &SelfStatus::default(), 1_000_000)),
            vec!["cached(1000,60) 0 \"api\" - first"]
        );
        board.insert(record(&job, "second", 1_060_000));
        // No scrape since: the view's cached lines must not hold the first record.
        assert!(weak.upgrade().is_none(), "the view kept a replaced record");
    }

    #[test]
    fn cached_lines_follow_new_records_and_staleness() {
        let job = checkd_model::testing::job("api", "prod");
        let view = View::new(Arc::new(checkd_model::testing::plan(vec![job.clone()])));
        let board = Arc::new(Board::new());
        let status = SelfStatus::default();
        assert_eq!(
            lines(&view.agent_output(&board, &status, 0)),
            vec!["3 \"api\" - first run pending"]
        );

        board.insert(record(&job, "first", 1_000_000));
        assert_eq!(
            lines(&view.agent_output(&board, &status, 1_000_000)),
            vec!["cached(1000,60) 0 \"api\" - first"]
        );
        board.insert(record(&job, "second", 1_060_000));
        assert_eq!(
            lines(&view.agent_output(&board, &status, 1_060_000)),
            vec!["cached(1060,60) 0 \"api\" - second"]
        );
        // stale_after is 3 min: the same record turns UNKNOWN once it is older.
        let later = 1_060_000 + 180_001;
        assert_eq!(
            lines(&view.agent_output(&board, &status, later)),
            vec!["cached(1060,60) 3 \"api\" - stale since 1970-01-01T00:20:40Z (last result: OK second)"]
        );
    }
}
