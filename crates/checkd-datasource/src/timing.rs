//! A measured duration as a partial result: a metric in seconds, a text in milliseconds.

use std::time::Duration;

use checkd_model::{format_number, Levels, Metric, Partial, State};

/// `name` in seconds with upper `levels`; the text is `text` (which names the milliseconds)
/// plus the level crossed, e.g. `response time 81 ms (warn at 50 ms)`.
pub(crate) fn partial(name: &str, mut text: String, elapsed: Duration, levels: Levels) -> Partial {
    let metric = Metric {
        upper: levels,
        ..Metric::new(name, elapsed.as_secs_f64())
    };
    let state = metric.state();
    let crossed = match state {
        State::Crit => levels.crit.map(|level| ("crit", level)),
        State::Warn => levels.warn.map(|level| ("warn", level)),
        State::Ok | State::Unknown => None,
    };
    if let Some((word, level)) = crossed {
        text.push_str(&format!(
            " ({word} at {} ms)",
            format_number(level * 1000.0)
        ));
    }
    Partial::new(state, text).with_metric(metric)
}
