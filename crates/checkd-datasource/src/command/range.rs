//! Nagios threshold ranges (`10`, `10:`, `~:10`, `10:20`, `@10:20`) and the Checkmk levels
//! that mean exactly the same.
//!
//! A Nagios range `start:end` alerts when the value is *outside* it: below `start` or above
//! `end`, both ends inclusive in the range (so `10` = `0:10` alerts at 10.5, not at 10). `~`
//! is minus infinity, a missing end is plus infinity, and `@` inverts the range: alert when
//! the value is inside.
//!
//! Checkmk lower levels alert when value < level: the same as a Nagios `start`. Checkmk upper
//! levels alert when value ≥ level, Nagios when value > `end`; for floating-point numbers
//! `v > end` holds exactly when `v ≥ end.next_up()` (the next larger `f64`), so the upper
//! level is written as that number and the meaning stays identical, equality included.
//! An inverted (`@`) range has no Checkmk equivalent and is dropped.

/// One parsed Nagios range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    /// May be minus infinity (`~`).
    pub start: f64,
    /// May be plus infinity (nothing after `:`).
    pub end: f64,
    /// `@`: alert inside the range instead of outside.
    pub inside: bool,
}

/// Checkmk levels for one threshold (warn or crit) that alert exactly when the range does.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LevelPair {
    /// Alert when value < lower.
    pub lower: Option<f64>,
    /// Alert when value ≥ upper.
    pub upper: Option<f64>,
}

impl Range {
    /// Parses a threshold as the Monitoring Plugins' `parse_range_string` does, but strictly:
    /// `None` for an empty field, a malformed number, `start > end`, or a non-finite number
    /// written out (`inf`, `nan`, `1e999`).
    pub fn parse(text: &str) -> Option<Range> {
        let (inside, text) = match text.strip_prefix('@') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if text.is_empty() {
            return None;
        }
        let (start, end) = match text.split_once(':') {
            // `10` is `0:10`.
            None => (0.0, number(text)?),
            Some((start, end)) => {
                let start = match start {
                    "~" => f64::NEG_INFINITY,
                    // `:10` is `0:10`, as in the Monitoring Plugins.
                    "" => 0.0,
                    _ => number(start)?,
                };
                let end = if end.is_empty() {
                    f64::INFINITY
                } else {
                    number(end)?
                };
                (start, end)
            }
        };
        (start <= end).then_some(Range { start, end, inside })
    }

    /// Whether a Nagios plugin would alert for `value`.
    pub fn alerts(&self, value: f64) -> bool {
        let outside = value < self.start || value > self.end;
        outside != self.inside
    }

    /// Both ends converted with `scale` (a unit conversion); `None` if one overflows.
    pub fn scaled(&self, scale: impl Fn(f64) -> f64) -> Option<Range> {
        let start = if self.start.is_finite() {
            finite(scale(self.start))?
        } else {
            self.start
        };
        let end = if self.end.is_finite() {
            finite(scale(self.end))?
        } else {
            self.end
        };
        Some(Range {
            start,
            end,
            ..*self
        })
    }

    /// The Checkmk levels with exactly this meaning, or `None` for an inverted range.
    pub fn to_levels(&self) -> Option<LevelPair> {
        if self.inside {
            return None;
        }
        Some(LevelPair {
            lower: self.start.is_finite().then_some(self.start),
            upper: self
                .end
                .is_finite()
                .then(|| self.end.next_up())
                .filter(|u| u.is_finite()),
        })
    }
}

/// A plain decimal number as the plugin guidelines allow (`[-0-9.]`, plus `+` and an
/// exponent, which real plugins print): never `inf`, `nan` or hex, always finite.
pub fn number(text: &str) -> Option<f64> {
    let plain = !text.is_empty()
        && text.bytes().any(|b| b.is_ascii_digit())
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    if !plain {
        return None;
    }
    text.parse::<f64>().ok().and_then(finite)
}

fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: f64 = f64::INFINITY;

    /// `(start, end, inside)`.
    type Parsed = Option<(f64, f64, bool)>;
    /// `(lower, upper)` levels.
    type Pair = Option<(Option<f64>, Option<f64>)>;

    #[test]
    fn ranges_parse_like_the_plugin_guidelines() {
        let cases: &[(&str, Parsed)] = &[
            ("10", Some((0.0, 10.0, false))),
            ("10:", Some((10.0, INF, false))),
            ("~:10", Some((-INF, 10.0, false))),
            ("10:20", Some((10.0, 20.0, false))),
            ("@10:20", Some((10.0, 20.0, true))),
            (":10", Some((0.0, 10.0, false))),
            ("-5:-1", Some((-5.0, -1.0, false))),
            ("1.5e3", Some((0.0, 1500.0, false))),
            ("~:", Some((-INF, INF, false))),
            ("", None),
            ("@", None),
            ("20:10", None),
            ("-1", None),
            ("inf", None),
            ("nan", None),
            ("1e999", None),
            ("10:x", None),
            ("a", None),
            ("~", None),
        ];
        for (text, want) in cases {
            let got = Range::parse(text).map(|r| (r.start, r.end, r.inside));
            assert_eq!(got, *want, "{text:?}");
        }
    }

    #[test]
    fn levels_alert_exactly_where_the_range_does() {
        let cases: &[(&str, Pair)] = &[
            ("10", Some((Some(0.0), Some(10.0_f64.next_up())))),
            ("10:", Some((Some(10.0), None))),
            ("~:10", Some((None, Some(10.0_f64.next_up())))),
            ("5:10", Some((Some(5.0), Some(10.0_f64.next_up())))),
            ("~:", Some((None, None))),
            ("@10:20", None),
        ];
        for (text, want) in cases {
            let range = Range::parse(text).unwrap();
            let got = range.to_levels().map(|l| (l.lower, l.upper));
            assert_eq!(got, *want, "{text:?}");
            for value in [-1.0, 0.0, 4.0, 5.0, 10.0, 10.000001, 20.0, 25.0] {
                if let Some(levels) = range.to_levels() {
                    assert_eq!(
                        checkmk_alerts(levels, value),
                        range.alerts(value),
                        "{text} {value}"
                    );
                }
            }
        }
        // Equality is where Nagios and Checkmk differ; the conversion keeps Nagios' meaning.
        assert!(!Range::parse("10").unwrap().alerts(10.0));
        assert!(Range::parse("10").unwrap().alerts(10.0_f64.next_up()));
    }

    pub(crate) fn checkmk_alerts(levels: LevelPair, value: f64) -> bool {
        levels.lower.is_some_and(|l| value < l) || levels.upper.is_some_and(|u| value >= u)
    }

    #[test]
    fn scaling_converts_finite_ends_only() {
        let range = Range::parse("~:250")
            .unwrap()
            .scaled(|v| v / 1000.0)
            .unwrap();
        assert_eq!((range.start, range.end), (-INF, 0.25));
        assert_eq!(Range::parse("1e300").unwrap().scaled(|v| v * 1e12), None);
    }
}
