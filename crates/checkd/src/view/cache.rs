//! The render cache: every shown job's board slot, resolved once per board, and its lines as
//! last rendered, reused by later scrapes while the slot's version and the record's staleness
//! stay the same — so a scrape mostly copies text.
//!
//! It does not decide what a job shows (`shows`) and keeps no record alive: it holds slots and
//! text, and reads a record only to render it again.

use std::sync::{Arc, Mutex, MutexGuard, Weak};

use checkd_checkmk::AgentOutput;
use checkd_model::plan::Plan;
use checkd_scheduler::{Board, Slot};

use super::shows::{self, Rendered};
use crate::selfmon::SelfStatus;

/// The shown jobs in host order, resolved on one board.
#[derive(Debug, Default)]
pub(super) struct RenderCache {
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

/// One job's rendered lines and the slot version they were rendered at.
#[derive(Debug)]
struct Lines {
    version: u64,
    rendered: Rendered,
}

impl RenderCache {
    /// The whole Checkmk agent output of `hosts`' jobs: header, checkd's own service, one
    /// block per host.
    pub(super) fn agent_output(
        &mut self,
        plan: &Plan,
        hosts: &[(String, Vec<usize>)],
        board: &Arc<Board>,
        status: &SelfStatus,
        now_ms: i64,
    ) -> String {
        self.resolve(plan, hosts, board);
        let mut bytes = 0;
        let mut worst = Vec::with_capacity(self.jobs.len());
        for shown in &mut self.jobs {
            let rendered = shown.lines(plan, now_ms);
            bytes += rendered.text.len();
            worst.push(rendered.worst);
        }
        let mut out =
            AgentOutput::with_capacity(&plan.output.version, bytes + 64 * hosts.len() + 1024);
        shows::write_self(plan, &mut out, &worst, status);
        let mut shown = self.jobs.iter();
        for (host, jobs) in hosts {
            out.begin_host(host);
            for job in shown.by_ref().take(jobs.len()) {
                if let Some(lines) = &job.lines {
                    lines.rendered.text.push_to(&mut out);
                }
            }
            out.end_host();
        }
        out.finish()
    }

    /// The same as files for the agent's spool directory, without the agent header: checkd's
    /// own service under the name `""`, then one file per host.
    pub(super) fn spool_files(
        &mut self,
        plan: &Plan,
        hosts: &[(String, Vec<usize>)],
        board: &Arc<Board>,
        status: &SelfStatus,
        now_ms: i64,
    ) -> Vec<(String, String)> {
        self.resolve(plan, hosts, board);
        let mut worst = Vec::with_capacity(self.jobs.len());
        let mut files = vec![(String::new(), String::new())];
        let mut shown = self.jobs.iter_mut();
        for (host, jobs) in hosts {
            let mut out = AgentOutput::spool_file(160 * jobs.len() + 64);
            out.begin_host(host);
            for job in shown.by_ref().take(jobs.len()) {
                let rendered = job.lines(plan, now_ms);
                worst.push(rendered.worst);
                rendered.text.push_to(&mut out);
            }
            files.push((host.clone(), out.finish()));
        }
        let mut own = AgentOutput::spool_file(512);
        shows::write_self(plan, &mut own, &worst, status);
        files[0].1 = own.finish();
        files
    }

    /// Resolves the jobs' slots on `board`, once per board.
    fn resolve(&mut self, plan: &Plan, hosts: &[(String, Vec<usize>)], board: &Arc<Board>) {
        if std::ptr::eq(self.board.as_ptr(), Arc::as_ptr(board)) {
            return;
        }
        self.jobs = hosts
            .iter()
            .flat_map(|(_, jobs)| jobs)
            .filter_map(|&index| {
                let job = plan.jobs.get(index)?;
                Some(Shown {
                    index,
                    slot: board.slot(&job.key),
                    lines: None,
                })
            })
            .collect();
        self.board = Arc::downgrade(board);
    }
}

impl Shown {
    /// The job's rendered lines: kept while its slot's version and its staleness have not
    /// changed, else rendered again.
    fn lines(&mut self, plan: &Plan, now_ms: i64) -> &Rendered {
        let lines = match self.lines.take() {
            Some(lines)
                if lines.version == self.slot.version()
                    && lines.rendered.stale == (now_ms > lines.rendered.stale_at_ms) =>
            {
                lines
            }
            _ => {
                let (version, record) = self.slot.read();
                let rendered = match plan.jobs.get(self.index) {
                    Some(job) => shows::render(plan, job, record.as_deref(), now_ms),
                    None => shows::render_nothing(plan),
                };
                Lines { version, rendered }
            }
        };
        &self.lines.insert(lines).rendered
    }
}

/// Locks the cache. A rendering that panicked may have left it half updated, so a poisoned
/// cache starts over instead of being trusted.
pub(super) fn lock(cache: &Mutex<RenderCache>) -> MutexGuard<'_, RenderCache> {
    match cache.lock() {
        Ok(guard) => guard,
        Err(poisoned) => {
            let mut guard = poisoned.into_inner();
            *guard = RenderCache::default();
            cache.clear_poison();
            guard
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use checkd_model::plan::Job;
    use checkd_model::{RunRecord, ServiceResult, State};

    use super::*;
    use crate::view::View;

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

    #[test]
    fn a_poisoned_cache_starts_over() {
        let job = checkd_model::testing::job("api", "prod");
        let view = View::new(Arc::new(checkd_model::testing::plan(vec![job.clone()])));
        let board = Arc::new(Board::new());
        board.insert(record(&job, "first", 1_000_000));
        let status = SelfStatus::default();
        assert_eq!(
            lines(&view.agent_output(&board, &status, 1_000_000)),
            vec!["cached(1000,60) 0 \"api\" - first"]
        );
        let poisoner = view.clone();
        let panicked = std::thread::spawn(move || {
            let _cache = poisoner.cache.lock();
            panic!("a rendering that panicked while holding the cache");
        })
        .join();
        assert!(panicked.is_err() && view.cache.is_poisoned());
        assert_eq!(
            lines(&view.agent_output(&board, &status, 1_000_000)),
            vec!["cached(1000,60) 0 \"api\" - first"]
        );
        assert!(!view.cache.is_poisoned());
    }
}
