//! What one job shows: its services, served from its record (`checkd_model::serve`), rendered
//! as local-check or watchpost lines, and checkd's own service over every job.
//!
//! It renders one job at a time and keeps nothing: when to render again is the render cache's
//! decision (`cache`), and the Checkmk syntax is `checkd_checkmk`'s.

use std::collections::HashMap;
use std::sync::Arc;

use checkd_checkmk::{
    AgentOutput, Cached, LocalCheck, LocalLine, LocalLines, WatchpostLine, WatchpostLines,
    WatchpostService,
};
use checkd_model::placement::Decision;
use checkd_model::plan::{Job, Plan};
use checkd_model::serve::{serve, stale_at_ms, Here, Served};
use checkd_model::{JobKey, RunRecord, State};

use crate::selfmon::{self_service, SelfStatus};

/// Every host with the services its jobs show now: `(index into plan.jobs, service)`.
pub(super) fn served<'a>(
    plan: &'a Plan,
    hosts: &'a [(String, Vec<usize>)],
    records: &'a HashMap<JobKey, Arc<RunRecord>>,
    now_ms: i64,
) -> impl Iterator<Item = (&'a str, Vec<(usize, Served<'a>)>)> + 'a {
    hosts.iter().map(move |(host, jobs)| {
        let served = jobs
            .iter()
            .filter_map(|&i| plan.jobs.get(i).map(|job| (i, job)))
            .flat_map(|(i, job)| {
                serve(
                    job,
                    records.get(&job.key).map(Arc::as_ref),
                    now_ms,
                    here(plan, job),
                )
                .into_iter()
                .map(move |s| (i, s))
            })
            .collect();
        (host.as_str(), served)
    })
}

/// How this instance treats `job`: runs it, or only shows it.
pub(super) fn here<'a>(plan: &'a Plan, job: &Job) -> Here<'a> {
    match job.placement.decide(&plan.execution_environment) {
        Decision::Skip => Here::Skips {
            execution_environment: &plan.execution_environment,
        },
        Decision::Run | Decision::NotMine => Here::Runs,
    }
}

/// A job's rendered lines, in the plan's output format.
#[derive(Debug)]
pub(super) enum Text {
    Local(LocalLines),
    Watchpost(WatchpostLines),
}

impl Text {
    pub(super) fn len(&self) -> usize {
        match self {
            Text::Local(lines) => lines.len(),
            Text::Watchpost(lines) => lines.len(),
        }
    }

    /// Appends the lines to `out`, each kind in its own section.
    pub(super) fn push_to(&self, out: &mut AgentOutput) {
        match self {
            Text::Local(lines) => out.push_local_lines(lines),
            Text::Watchpost(lines) => out.push_watchpost_lines(lines),
        }
    }
}

/// One job rendered at a moment, and what tells when that rendering is out of date.
#[derive(Debug)]
pub(super) struct Rendered {
    /// From this time on (ms) the record is stale; `i64::MAX` when it cannot be.
    pub(super) stale_at_ms: i64,
    /// Whether the record was stale when rendered.
    pub(super) stale: bool,
    pub(super) worst: State,
    pub(super) text: Text,
}

/// Renders `job`'s services from `record` as local-check lines, or as watchpost lines when
/// the plan asks for them.
pub(super) fn render(plan: &Plan, job: &Job, record: Option<&RunRecord>, now_ms: i64) -> Rendered {
    let stale_at_ms = record.and_then(|r| stale_at_ms(job, r)).unwrap_or(i64::MAX);
    let served = serve(job, record, now_ms, here(plan, job));
    let worst = served.iter().map(|s| s.state).max().unwrap_or(State::Ok);
    let text = if plan.output.watchpost {
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
    Rendered {
        stale_at_ms,
        stale: now_ms > stale_at_ms,
        worst,
        text,
    }
}

/// checkd's own service, counting checks (jobs), not services: a foreach job with ten items is
/// one check, failing when any of its services is not OK.
pub(super) fn write_self(
    plan: &Plan,
    out: &mut AgentOutput,
    worst_per_job: &[State],
    status: &SelfStatus,
) {
    let total = worst_per_job.len() as u64;
    let failing = worst_per_job.iter().filter(|s| **s != State::Ok).count() as u64;
    let own = self_service(status, total, failing);
    out.local_check(&LocalCheck {
        cached: None,
        state: own.state,
        service: &plan.output.self_service,
        metrics: &own.metrics,
        summary: &own.summary,
        details: &own.details,
        note: None,
    });
}

/// What a job that is not in the plan shows: nothing. The view only holds indices into its
/// own plan, so this is a stand-in that keeps rendering total.
pub(super) fn render_nothing(plan: &Plan) -> Rendered {
    Rendered {
        stale_at_ms: i64::MAX,
        stale: false,
        worst: State::Ok,
        text: if plan.output.watchpost {
            Text::Watchpost(WatchpostLines::new())
        } else {
            Text::Local(LocalLines::new())
        },
    }
}
