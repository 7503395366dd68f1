//! When a [`Schedule`] fires next and how long a result it produced stays valid: pure
//! arithmetic on Unix milliseconds. The caller says what time it is; nothing here reads a
//! clock, and nothing here decides when a job actually runs (the scheduler's grid and the
//! fleet's slots do, with these answers).

use std::time::Duration;

use chrono::{TimeZone, Utc};

use crate::plan::Schedule;

impl Schedule {
    /// The next fire time of a cron schedule strictly after `after_ms`, in Unix
    /// milliseconds; `None` for an interval schedule or a pattern with no future time.
    pub fn next_cron_ms(&self, after_ms: i64) -> Option<i64> {
        let Schedule::Cron { cron, timezone, .. } = self else {
            return None;
        };
        let after = Utc
            .timestamp_millis_opt(after_ms)
            .single()?
            .with_timezone(timezone);
        let next = cron.find_next_occurrence(&after, false).ok()?;
        Some(next.timestamp_millis())
    }

    /// How long a result produced at `produced_ms` stays valid: `cache_for`, or until the
    /// next cron run plus the grace.
    pub fn validity(&self, produced_ms: i64) -> Duration {
        match self {
            Schedule::Every(interval) => *interval,
            Schedule::Cron { grace, .. } => {
                let next = self.next_cron_ms(produced_ms).unwrap_or(produced_ms);
                let until_next = u64::try_from(next.saturating_sub(produced_ms)).unwrap_or(0);
                Duration::from_millis(until_next) + *grace
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Monday 2026-11-23 08:00:00 UTC.
    const MONDAY_8AM_MS: i64 = 1_795_420_800_000;
    const HOUR_MS: i64 = 3_600_000;

    fn weekdays_at_nine() -> Schedule {
        let cron = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Disallowed)
            .build()
            .parse("0 9 * * 1-5")
            .unwrap();
        Schedule::Cron {
            cron: Box::new(cron),
            pattern: "0 9 * * 1-5".into(),
            timezone: chrono_tz::Europe::Berlin,
            grace: Duration::from_secs(300),
        }
    }

    #[test]
    fn cron_fires_at_its_local_times_strictly_after_the_given_moment() {
        let schedule = weekdays_at_nine();
        // 09:00 in Berlin is 08:00 UTC in November: "after" is strict.
        assert_eq!(
            schedule.next_cron_ms(MONDAY_8AM_MS - 1),
            Some(MONDAY_8AM_MS)
        );
        assert_eq!(
            schedule.next_cron_ms(MONDAY_8AM_MS),
            Some(MONDAY_8AM_MS + 24 * HOUR_MS)
        );
        // Friday's run is followed by Monday's.
        let friday = MONDAY_8AM_MS + 4 * 24 * HOUR_MS;
        assert_eq!(
            schedule.next_cron_ms(friday),
            Some(MONDAY_8AM_MS + 7 * 24 * HOUR_MS)
        );
        assert_eq!(
            Schedule::Every(Duration::from_secs(60)).next_cron_ms(0),
            None
        );
    }

    #[test]
    fn a_result_is_valid_for_cache_for_or_until_the_next_cron_run_plus_grace() {
        let every = Schedule::Every(Duration::from_secs(90));
        assert_eq!(every.validity(MONDAY_8AM_MS), Duration::from_secs(90));
        let cron = weekdays_at_nine();
        assert_eq!(
            cron.validity(MONDAY_8AM_MS),
            Duration::from_secs(24 * 3600 + 300)
        );
        let friday = MONDAY_8AM_MS + 4 * 24 * HOUR_MS;
        assert_eq!(
            cron.validity(friday),
            Duration::from_secs(3 * 24 * 3600 + 300)
        );
    }
}
