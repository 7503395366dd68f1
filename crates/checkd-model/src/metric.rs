//! Metrics and their levels with Checkmk's semantics: upper levels inclusive, lower levels
//! exclusive, and the state a value's levels give it.
//!
//! It is the value and its meaning only: extracting a metric from a response is the
//! datasources' work, and writing it as `name=value;warn;crit;min;max` the renderer's.

use serde::{Deserialize, Serialize};

use crate::State;

/// A pair of warn/crit thresholds. Either may be absent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Levels {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crit: Option<f64>,
}

impl Levels {
    pub const NONE: Levels = Levels {
        warn: None,
        crit: None,
    };

    pub fn is_none(&self) -> bool {
        self.warn.is_none() && self.crit.is_none()
    }
}

/// A performance value with Checkmk levels, ready to be graphed.
///
/// Level semantics are Checkmk's: upper levels are inclusive (WARN when value ≥ warn),
/// lower levels are exclusive (WARN when value < warn).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub name: String,
    pub value: f64,
    #[serde(default, skip_serializing_if = "Levels::is_none")]
    pub upper: Levels,
    #[serde(default, skip_serializing_if = "Levels::is_none")]
    pub lower: Levels,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

impl Metric {
    pub fn new(name: impl Into<String>, value: f64) -> Metric {
        Metric {
            name: name.into(),
            value,
            upper: Levels::NONE,
            lower: Levels::NONE,
            min: None,
            max: None,
        }
    }

    /// The state the levels give this value (Checkmk's `check_levels`).
    pub fn state(&self) -> State {
        let v = self.value;
        if self.upper.crit.is_some_and(|c| v >= c) || self.lower.crit.is_some_and(|c| v < c) {
            State::Crit
        } else if self.upper.warn.is_some_and(|w| v >= w) || self.lower.warn.is_some_and(|w| v < w)
        {
            State::Warn
        } else {
            State::Ok
        }
    }

    /// A short human text naming the level that was crossed, e.g. `(crit at 1000)`.
    pub fn level_text(&self) -> Option<String> {
        let v = self.value;
        let crossed = [
            (self.upper.crit.filter(|c| v >= *c), "crit at"),
            (self.lower.crit.filter(|c| v < *c), "crit below"),
            (self.upper.warn.filter(|w| v >= *w), "warn at"),
            (self.lower.warn.filter(|w| v < *w), "warn below"),
        ];
        crossed
            .into_iter()
            .find_map(|(level, word)| level.map(|l| format!("({word} {})", format_number(l))))
    }
}

/// Formats a number the short way people read it: `5`, `0.081`, `1830`.
pub fn format_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        let text = format!("{value:.6}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(
        value: f64,
        upper: (Option<f64>, Option<f64>),
        lower: (Option<f64>, Option<f64>),
    ) -> Metric {
        Metric {
            upper: Levels {
                warn: upper.0,
                crit: upper.1,
            },
            lower: Levels {
                warn: lower.0,
                crit: lower.1,
            },
            ..Metric::new("m", value)
        }
    }

    #[test]
    fn upper_levels_are_inclusive_lower_levels_exclusive() {
        let cases = [
            (499.0, State::Ok),
            (500.0, State::Warn),
            (999.0, State::Warn),
            (1000.0, State::Crit),
        ];
        for (value, want) in cases {
            assert_eq!(
                metric(value, (Some(500.0), Some(1000.0)), (None, None)).state(),
                want,
                "{value}"
            );
        }
        let cases = [
            (40.0, State::Ok),
            (39.0, State::Warn),
            (30.0, State::Warn),
            (29.0, State::Crit),
        ];
        for (value, want) in cases {
            assert_eq!(
                metric(value, (None, None), (Some(40.0), Some(30.0))).state(),
                want,
                "{value}"
            );
        }
    }

    #[test]
    fn level_text_names_the_crossed_level() {
        assert_eq!(
            metric(1830.0, (Some(500.0), Some(1000.0)), (None, None))
                .level_text()
                .as_deref(),
            Some("(crit at 1000)")
        );
        assert_eq!(
            metric(35.0, (None, None), (Some(40.0), Some(30.0)))
                .level_text()
                .as_deref(),
            Some("(warn below 40)")
        );
        assert_eq!(
            metric(1.0, (Some(5.0), None), (None, None)).level_text(),
            None
        );
    }

    #[test]
    fn numbers_print_short() {
        assert_eq!(format_number(5.0), "5");
        assert_eq!(format_number(0.081), "0.081");
        assert_eq!(format_number(-2.5), "-2.5");
        assert_eq!(format_number(1e-9), "0");
    }
}
