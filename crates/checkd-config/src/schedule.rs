//! When a check runs: `cache_for` or a cron `schedule` (with `timezone` and `grace`), and how
//! long its results may be served (`stale_after`).

use std::time::Duration;

use checkd_model::plan::Schedule;
use chrono::Utc;
use croner::parser::{CronParser, Seconds, Year};

use crate::keypath::join_key;
use crate::raw;
use crate::source::SourceFile;
use crate::values::{duration, positive_duration, Cx};

const DEFAULT_GRACE: Duration = Duration::from_secs(5 * 60);
/// How many gaps between upcoming cron fire times the default `stale_after` looks at: enough to
/// include a weekend for a Monday–Friday schedule, so results do not go stale over it.
const CRON_GAPS: usize = 10;

pub(crate) fn schedule(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    raw: &raw::Check,
) -> Option<Schedule> {
    let key = |k: &str| join_key(path, k);
    match (&raw.cache_for, &raw.schedule) {
        (Some(_), Some(_)) => {
            let message = "use either `cache_for` (an interval) or `schedule` (cron), not both";
            cx.push(src.diag_key(&key("schedule"), message));
            None
        }
        (None, None) => {
            let message = "missing `cache_for` or `schedule`: say how often the check runs";
            cx.push(src.diag(path, message));
            None
        }
        (Some(every), None) => {
            for only in ["timezone", "grace"] {
                let given = if only == "timezone" {
                    raw.timezone.is_some()
                } else {
                    raw.grace.is_some()
                };
                if given {
                    let message =
                        format!("`{only}` only applies with `schedule`, not with `cache_for`");
                    cx.push(src.diag_key(&key(only), message));
                }
            }
            positive_duration(cx, src, &key("cache_for"), every).map(Schedule::Every)
        }
        (None, Some(pattern)) => {
            let parser = CronParser::builder()
                .seconds(Seconds::Disallowed)
                .year(Year::Disallowed)
                .build();
            let cron = match parser.parse(pattern) {
                Ok(cron) => Some(cron),
                Err(err) => {
                    let why = crate::messages::lower_parts(err.to_string().trim_end_matches('.'));
                    cx.push(src.diag(
                        &key("schedule"),
                        format!("invalid cron schedule {pattern:?}: {why}"),
                    ));
                    None
                }
            };
            let timezone = match &raw.timezone {
                None => Some(chrono_tz::UTC),
                Some(name) => {
                    match name.parse::<chrono_tz::Tz>() {
                        Ok(tz) => Some(tz),
                        Err(_) => {
                            let zones = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
                            let message = match crate::suggest::closest(name, zones) {
                            Some(best) => format!("unknown time zone {name:?}, did you mean {best:?}?"),
                            None => format!("unknown time zone {name:?}, use an IANA name like Europe/Berlin"),
                        };
                            cx.push(src.diag(&key("timezone"), message));
                            None
                        }
                    }
                }
            };
            let grace = match &raw.grace {
                Some(text) => duration(cx, src, &key("grace"), text),
                None => Some(DEFAULT_GRACE),
            };
            let (cron, timezone, grace) = (cron?, timezone?, grace?);
            Some(Schedule::Cron {
                cron: Box::new(cron),
                pattern: pattern.clone(),
                timezone,
                grace,
            })
        }
    }
}

/// The largest gap between the next fire times of a cron schedule, from `now`; `None` when it
/// never fires.
pub(crate) fn longest_cron_gap(
    cron: &croner::Cron,
    timezone: chrono_tz::Tz,
    now: chrono::DateTime<Utc>,
) -> Option<Duration> {
    let mut at = now.with_timezone(&timezone);
    let mut previous: Option<chrono::DateTime<chrono_tz::Tz>> = None;
    let mut longest = Duration::ZERO;
    for _ in 0..=CRON_GAPS {
        let next = cron.find_next_occurrence(&at, false).ok()?;
        if let Some(previous) = previous {
            let gap = next.signed_duration_since(previous).to_std().ok()?;
            longest = longest.max(gap);
        }
        previous = Some(next);
        at = next;
    }
    Some(longest)
}

pub(crate) fn stale_after(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    raw: &raw::Check,
    schedule: Option<&Schedule>,
) -> Option<Duration> {
    let stale_path = join_key(path, "stale_after");
    if let Some(text) = &raw.stale_after {
        let stale = positive_duration(cx, src, &stale_path, text)?;
        if let Some(Schedule::Every(every)) = schedule {
            if stale <= *every {
                let every_text = raw.cache_for.as_deref().unwrap_or_default();
                let message =
                    format!("stale_after ({text}) must be longer than cache_for ({every_text})");
                cx.push(src.diag(&stale_path, message));
                return None;
            }
        }
        return Some(stale);
    }
    match schedule? {
        Schedule::Every(every) => Some(every.saturating_mul(3)),
        Schedule::Cron {
            cron,
            pattern,
            timezone,
            ..
        } => match longest_cron_gap(cron, *timezone, cx.now) {
            Some(gap) => Some(gap.saturating_mul(3)),
            None => {
                let message = format!("the cron schedule {pattern:?} never fires");
                cx.push(src.diag(&join_key(path, "schedule"), message));
                None
            }
        },
    }
}
