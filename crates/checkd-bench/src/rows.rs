//! The table rows of one check count: each measurement next to its target of issue 7. The
//! targets are stated for 10,000 checks; smaller counts get their figures without a verdict.

use std::time::Duration;

use crate::measure::{Latency, Until};
use crate::report::{duration, thousands, Row};
use crate::system::Steady;

/// Targets are stated for this many checks.
const TARGET_CHECKS: usize = 10_000;

/// One check count's rows.
#[derive(Debug, Clone)]
pub struct Scope {
    /// `10,000 checks`.
    pub label: String,
    pub jobs: usize,
    judged: bool,
}

impl Scope {
    pub fn new(checks: usize, jobs: usize) -> Scope {
        Scope {
            label: format!("{} checks", thousands(checks as u64)),
            jobs,
            judged: checks >= TARGET_CHECKS,
        }
    }

    fn judge(&self, figure: String, value: String, target: &str, met: bool) -> Row {
        if self.judged {
            Row::target(figure, value, target, met)
        } else {
            Row::info(figure, value)
        }
    }

    pub fn validate(&self, best: Duration) -> Row {
        self.judge(
            format!("`checkd validate`, {} (best of 3)", self.label),
            duration(best),
            "≤ 1 s",
            best <= Duration::from_secs(1),
        )
    }

    pub fn first_round(&self, round: &Until, requests: u64, limit: f64) -> Row {
        let jobs = self.jobs as f64;
        let figure = format!(
            "first full round, {} ({} jobs)",
            self.label,
            thousands(self.jobs as u64)
        );
        let target = "≥ 50 % of the limit";
        let Some(total) = round.complete else {
            let value = format!(
                "not complete in time: {} of {} pending",
                round.last.pending, self.jobs
            );
            return self.judge(figure, value, target, false);
        };
        let rate = jobs / total.as_secs_f64();
        let up = round.listening.unwrap_or_default();
        let running = total.saturating_sub(up).as_secs_f64().max(1e-3);
        let [ok, warn, crit, unknown] = round.last.states;
        let value = format!(
            "{} → {} jobs/s = {:.0} % of the limit (start-up to endpoint {}, then {} jobs/s = \
             {:.0} %; target saw {} requests; OK {ok}, WARN {warn}, CRIT {crit}, UNKNOWN {unknown})",
            duration(total),
            thousands(rate as u64),
            100.0 * rate / limit,
            duration(up),
            thousands((jobs / running) as u64),
            100.0 * jobs / running / limit,
            thousands(requests),
        );
        self.judge(figure, value, target, rate >= 0.5 * limit)
    }

    pub fn scrape(&self, clients: usize, latency: &Latency, target_ms: u64) -> Row {
        let who = if clients == 1 {
            "1 client".to_owned()
        } else {
            format!("{clients} concurrent clients")
        };
        self.judge(
            format!(
                "`GET /` with {} cached, {who}, {} requests",
                self.label,
                thousands(latency.samples as u64)
            ),
            format!(
                "p50 {}, p99 {}",
                duration(latency.p50),
                duration(latency.p99)
            ),
            &format!("p99 ≤ {target_ms} ms"),
            latency.p99 <= Duration::from_millis(target_ms),
        )
    }

    pub fn output_size(&self, bytes: usize, services: usize) -> Row {
        Row::info(
            format!("`GET /` output size, {}", self.label),
            format!(
                "{} bytes, {} services",
                thousands(bytes as u64),
                thousands(services as u64)
            ),
        )
    }

    pub fn steady(&self, s: &Steady, rss_after_round_kib: u64) -> Vec<Row> {
        let secs = s.window.as_secs_f64();
        let mib = |kib: u64| kib as f64 / 1024.0;
        vec![
            self.judge(
                format!(
                    "steady state CPU, {} every 60 s ({secs:.0} s window)",
                    self.label
                ),
                format!(
                    "{:.1} % of one core (busiest second {:.0} %)",
                    100.0 * s.cpu_share,
                    100.0 * s.busiest_second
                ),
                "≤ 15 % of one core",
                s.cpu_share <= 0.15,
            ),
            self.judge(
                format!("RSS, {} and results (max over the window)", self.label),
                format!(
                    "{:.1} MiB (after the first round, before scrapes {:.1} MiB; peak since \
                     start {:.1} MiB)",
                    mib(s.rss_max_kib),
                    mib(rss_after_round_kib),
                    mib(s.peak_kib)
                ),
                "≤ 100 MiB",
                s.rss_max_kib <= 100 * 1024,
            ),
            Row::info(
                format!("steady state runs, {}", self.label),
                format!(
                    "{:.0} runs/s ({} runs in {secs:.0} s; one round is {})",
                    s.runs as f64 / secs,
                    thousands(s.runs),
                    thousands(self.jobs as u64)
                ),
            ),
        ]
    }

    pub fn restart(&self, until: &Until) -> Row {
        let value = match until.complete {
            Some(t) => format!(
                "{} (endpoint up after {})",
                duration(t),
                until.listening.map_or("—".into(), duration)
            ),
            None => format!("not complete after 60 s ({} pending)", until.last.pending),
        };
        self.judge(
            format!(
                "restart to full output after `kill -9`, {} persisted results",
                thousands(self.jobs as u64)
            ),
            value,
            "≤ 2 s",
            until.complete.is_some_and(|t| t <= Duration::from_secs(2)),
        )
    }
}
