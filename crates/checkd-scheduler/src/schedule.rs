use checkd_model::plan::Schedule;
use chrono::{TimeZone, Utc};
use tokio::time::Duration;

/// The next fire time of a cron schedule strictly after `after_ms`, in Unix milliseconds.
pub fn next_cron_ms(schedule: &Schedule, after_ms: i64) -> Option<i64> {
    let Schedule::Cron { cron, timezone, .. } = schedule else {
        return None;
    };
    let after = Utc
        .timestamp_millis_opt(after_ms)
        .single()?
        .with_timezone(timezone);
    let next = cron.find_next_occurrence(&after, false).ok()?;
    Some(next.timestamp_millis())
}

/// How long a result produced at `produced_ms` stays valid: `cache_for`, or until the next
/// cron run plus the grace.
pub fn validity(schedule: &Schedule, produced_ms: i64) -> Duration {
    match schedule {
        Schedule::Every(interval) => *interval,
        Schedule::Cron { grace, .. } => {
            let next = next_cron_ms(schedule, produced_ms).unwrap_or(produced_ms);
            let until_next = u64::try_from(next.saturating_sub(produced_ms)).unwrap_or(0);
            Duration::from_millis(until_next) + *grace
        }
    }
}
