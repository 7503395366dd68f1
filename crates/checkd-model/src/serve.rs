//! What to show for a job right now: result semantics 1–4 of the product spec, as a pure
//! function of the job, its record (if any) and the current time.

use std::time::{Duration, UNIX_EPOCH};

use crate::plan::Job;
use crate::{Metric, RunRecord, State};

/// One service as it is served now: the produced result, or what stands in for it.
#[derive(Clone, Debug, PartialEq)]
pub struct Served<'a> {
    pub service: &'a str,
    pub state: State,
    pub summary: ServedText<'a>,
    pub details: &'a str,
    pub metrics: &'a [Metric],
    /// `(produced Unix seconds, valid for seconds)` of a real result.
    pub cached: Option<(i64, u64)>,
    /// An extra detail line, e.g. why the datasource is unavailable.
    pub note: Option<String>,
}

/// A summary borrowed from the record, or made up for a result that is pending or stale.
#[derive(Clone, Debug, PartialEq)]
pub enum ServedText<'a> {
    Borrowed(&'a str),
    Owned(String),
}

impl ServedText<'_> {
    pub fn as_str(&self) -> &str {
        match self {
            ServedText::Borrowed(text) => text,
            ServedText::Owned(text) => text,
        }
    }
}

pub const FIRST_RUN_PENDING: &str = "first run pending";

/// Whether this instance runs the job or only shows it (its placement says skip).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Here<'a> {
    Runs,
    Skips { execution_environment: &'a str },
}

/// The services to show for `job`, given its record and the time now (Unix milliseconds).
///
/// - no record: one UNKNOWN service, "first run pending" (or "not runnable from …" where this
///   instance skips the job);
/// - a record without services (the datasource never answered): UNKNOWN with the reason;
/// - a record older than `job.stale_after`: every service UNKNOWN, "stale since …";
/// - otherwise the produced services with their `cached` prefix, plus a note while the
///   datasource is unavailable.
pub fn serve<'a>(
    job: &'a Job,
    record: Option<&'a RunRecord>,
    now_ms: i64,
    here: Here<'_>,
) -> Vec<Served<'a>> {
    let Some(record) = record else {
        let summary = match here {
            Here::Runs => ServedText::Borrowed(FIRST_RUN_PENDING),
            Here::Skips {
                execution_environment,
            } => ServedText::Owned(format!("not runnable from {execution_environment}")),
        };
        return vec![stand_in(job, summary, None)];
    };
    let soft = record.soft.as_ref().map(|s| {
        format!(
            "non-OK {} of {}: {} {}",
            s.attempt, s.of, s.state, s.summary
        )
    });
    let unavailable = record.unavailable.as_ref().map(|u| {
        format!(
            "datasource unavailable since {}: {}",
            format_time(u.since_ms),
            u.reason
        )
    });
    let note = match (soft, unavailable) {
        (Some(soft), Some(unavailable)) => Some(format!("{soft}\n{unavailable}")),
        (soft, unavailable) => soft.or(unavailable),
    };
    if record.services.is_empty() {
        // Nothing to keep serving: the reason is the summary, the note only says since when.
        let (reason, since) = match &record.unavailable {
            Some(u) => (
                u.reason.as_str(),
                Some(format!("unavailable since {}", format_time(u.since_ms))),
            ),
            None => ("no services", None),
        };
        return vec![stand_in(
            job,
            ServedText::Owned(format!("datasource unavailable: {reason}")),
            since,
        )];
    }
    let stale_at = stale_at_ms(job, record).unwrap_or(i64::MAX);
    let stale = now_ms > stale_at;
    let cached = Some((record.produced_ms.div_euclid(1000), record.valid_for_s));
    record
        .services
        .iter()
        .map(|s| {
            if stale {
                let since = stale_at;
                Served {
                    service: &s.service,
                    state: State::Unknown,
                    summary: ServedText::Owned(format!(
                        "stale since {} (last result: {} {})",
                        format_time(since),
                        s.state,
                        s.summary
                    )),
                    details: &s.details,
                    metrics: &[],
                    cached,
                    note: note.clone(),
                }
            } else {
                Served {
                    service: &s.service,
                    state: s.state,
                    summary: ServedText::Borrowed(&s.summary),
                    details: &s.details,
                    metrics: &s.metrics,
                    cached,
                    note: note.clone(),
                }
            }
        })
        .collect()
}

fn stand_in<'a>(job: &'a Job, summary: ServedText<'a>, note: Option<String>) -> Served<'a> {
    Served {
        service: &job.service,
        state: State::Unknown,
        summary,
        details: "",
        metrics: &[],
        cached: None,
        note,
    }
}

/// From when on (unix ms) `record` is served as stale: `stale_after` past its services'
/// production. `None` for a record without services, which has nothing to turn stale.
pub fn stale_at_ms(job: &Job, record: &RunRecord) -> Option<i64> {
    (!record.services.is_empty()).then(|| {
        record
            .produced_ms
            .saturating_add(duration_ms(job.stale_after))
    })
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// `1m 30s`: the one way checkd writes durations for people.
pub fn format_duration(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// `2026-11-23T10:00:00Z`: the one way checkd writes times for people.
pub fn format_time(unix_ms: i64) -> String {
    let ms = u64::try_from(unix_ms).unwrap_or(0);
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{JobKey, ServiceResult, Unavailable};

    fn job() -> Job {
        Job {
            service: "API".into(),
            ..crate::testing::job("api", "prod")
        }
    }

    fn record(unavailable: Option<Unavailable>, services: Vec<ServiceResult>) -> RunRecord {
        RunRecord {
            key: JobKey::new("api", "prod"),
            host: "prod".into(),
            services,
            produced_ms: 1_700_000_000_000,
            duration_ms: 12,
            valid_for_s: 60,
            attempted_ms: 1_700_000_000_000,
            unavailable,
            soft: None,
        }
    }

    fn ok_service() -> ServiceResult {
        ServiceResult {
            service: "API".into(),
            state: State::Ok,
            summary: "HTTP 200".into(),
            details: "d".into(),
            metrics: vec![Metric::new("rt", 0.1)],
            labels: Default::default(),
        }
    }

    /// (state, summary, cached, note) of one served service.
    type Row<'a> = (State, &'a str, Option<(i64, u64)>, Option<&'a str>);

    fn check(record: Option<&RunRecord>, now_ms: i64, want: &[Row<'_>]) {
        let job = job();
        let served = serve(&job, record, now_ms, Here::Runs);
        let got: Vec<Row<'_>> = served
            .iter()
            .map(|s| (s.state, s.summary.as_str(), s.cached, s.note.as_deref()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn no_record_is_unknown_first_run_pending() {
        check(
            None,
            0,
            &[(State::Unknown, "first run pending", None, None)],
        );
    }

    #[test]
    fn a_skipped_job_without_a_result_is_not_runnable_from_here() {
        let job = job();
        let served = serve(
            &job,
            None,
            0,
            Here::Skips {
                execution_environment: "monitoring",
            },
        );
        assert_eq!(
            (served[0].state, served[0].summary.as_str()),
            (State::Unknown, "not runnable from monitoring")
        );
    }

    #[test]
    fn fresh_record_is_served_with_its_cached_prefix() {
        let r = record(None, vec![ok_service()]);
        check(
            Some(&r),
            1_700_000_030_000,
            &[(State::Ok, "HTTP 200", Some((1_700_000_000, 60)), None)],
        );
    }

    #[test]
    fn unavailable_datasource_keeps_the_last_result_and_adds_a_note() {
        let u = Unavailable {
            since_ms: 1_700_000_060_000,
            reason: "connection refused".into(),
        };
        let r = record(Some(u), vec![ok_service()]);
        check(
            Some(&r),
            1_700_000_070_000,
            &[(
                State::Ok,
                "HTTP 200",
                Some((1_700_000_000, 60)),
                Some("datasource unavailable since 2023-11-14T22:14:20Z: connection refused"),
            )],
        );
    }

    #[test]
    fn unavailable_without_an_earlier_result_is_unknown_with_the_reason() {
        let u = Unavailable {
            since_ms: 1_700_000_000_000,
            reason: "timed out after 5s".into(),
        };
        let r = record(Some(u), vec![]);
        check(
            Some(&r),
            1_700_000_001_000,
            &[(
                State::Unknown,
                "datasource unavailable: timed out after 5s",
                None,
                Some("unavailable since 2023-11-14T22:13:20Z"),
            )],
        );
    }

    #[test]
    fn a_held_back_non_ok_result_is_a_note_on_the_last_ok_one() {
        let mut r = record(None, vec![ok_service()]);
        r.soft = Some(crate::SoftFailure {
            attempt: 1,
            of: 3,
            state: State::Crit,
            summary: "HTTP 503".into(),
        });
        check(
            Some(&r),
            1_700_000_010_000,
            &[(
                State::Ok,
                "HTTP 200",
                Some((1_700_000_000, 60)),
                Some("non-OK 1 of 3: CRIT HTTP 503"),
            )],
        );
    }

    #[test]
    fn a_result_older_than_stale_after_turns_unknown() {
        let r = record(None, vec![ok_service()]);
        check(
            Some(&r),
            1_700_000_180_000,
            &[(State::Ok, "HTTP 200", Some((1_700_000_000, 60)), None)],
        );
        check(
            Some(&r),
            1_700_000_180_001,
            &[(
                State::Unknown,
                "stale since 2023-11-14T22:16:20Z (last result: OK HTTP 200)",
                Some((1_700_000_000, 60)),
                None,
            )],
        );
    }
}
