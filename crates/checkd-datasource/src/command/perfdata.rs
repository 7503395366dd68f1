//! Nagios performance data: `'label'=value[UOM];[warn];[crit];[min];[max]`, entries separated
//! by whitespace, turned into Checkmk [`Metric`]s.
//!
//! - Labels may be quoted (`'free space'=5`, `''` for a quote inside); they become Checkmk
//!   metric names by replacing every character outside `A-Z a-z 0-9 _ . -` with `_`. An empty
//!   label, or one that repeats an earlier name once so replaced, is skipped.
//! - Units become base units: `s`, `ms`, `us`, `ns` → seconds; `B`, `KB`/`kB`, `MB`, `GB`,
//!   `TB`, `PB` → bytes in powers of 1000 and `KiB`, `MiB`, `GiB`, `TiB`, `PiB` in powers
//!   of 1024. The plugin guidelines do not define KB; decimal is what the SI prefixes say,
//!   what Icinga 2 normalises to, and the Monitoring Plugins write `MiB` when they mean 1024²
//!   (`check_disk` 2.3 does). `%` keeps the number (min 0 and max 100 unless given), `c`
//!   (a counter) keeps the raw count, any other unit keeps the number unscaled, as Checkmk
//!   does. The value, warn, crit, min and max are all converted with the same factor.
//! - warn and crit are Nagios ranges; they become Checkmk levels only where the meaning is
//!   identical (see [`super::range`]): inverted `@` ranges and malformed ones are dropped,
//!   the metric is kept.
//! - An entry without a finite number as value (`U`, `1,5`, `inf`, `x`) is skipped. Nothing
//!   here panics and every metric returned has a valid Checkmk name and finite numbers.

use checkd_model::{Levels, Metric};

use super::range::{number, Range};

/// Parses whitespace-separated perfdata entries, skipping the invalid ones.
pub fn parse(text: &str) -> Vec<Metric> {
    let mut metrics: Vec<Metric> = Vec::new();
    let mut rest = text;
    while let Some((entry, next)) = next_entry(rest) {
        rest = next;
        let Some(metric) = entry.and_then(|(label, data)| metric(&label, data)) else {
            continue;
        };
        if metrics.iter().all(|m| m.name != metric.name) {
            metrics.push(metric);
        }
    }
    metrics
}

/// A label as a Checkmk metric name, or `None` when it is empty.
pub fn metric_name(label: &str) -> Option<String> {
    let name: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The factor a unit converts to its base unit with, as a function (dividing by 1000 rather
/// than multiplying by 0.001 keeps `250ms` at exactly `0.25`).
pub fn unit_scale(unit: &str) -> fn(f64) -> f64 {
    match unit {
        "ms" => |v| v / 1e3,
        "us" | "µs" => |v| v / 1e6,
        "ns" => |v| v / 1e9,
        "KB" | "kB" => |v| v * 1e3,
        "MB" => |v| v * 1e6,
        "GB" => |v| v * 1e9,
        "TB" => |v| v * 1e12,
        "PB" => |v| v * 1e15,
        "KiB" => |v| v * 1024.0,
        "MiB" => |v| v * 1_048_576.0,
        "GiB" => |v| v * 1_073_741_824.0,
        "TiB" => |v| v * 1_099_511_627_776.0,
        "PiB" => |v| v * 1_125_899_906_842_624.0,
        _ => |v| v,
    }
}

/// One entry as found: the label (unquoted) and what follows its `=`; `None` if malformed.
type Entry<'a> = Option<(String, &'a str)>;

/// The next entry and the text after it; `None` at the end.
fn next_entry(text: &str) -> Option<(Entry<'_>, &str)> {
    let text = text.trim_start();
    if text.is_empty() {
        return None;
    }
    let (label, after_label) = if let Some(quoted) = text.strip_prefix('\'') {
        match quoted_label(quoted) {
            Some(found) => found,
            None => return Some((None, "")),
        }
    } else {
        let end = text
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(text.len());
        (text[..end].to_string(), &text[end..])
    };
    let data_end = after_label
        .find(char::is_whitespace)
        .unwrap_or(after_label.len());
    let (data, rest) = after_label.split_at(data_end);
    match data.strip_prefix('=') {
        Some(data) => Some((Some((label, data)), rest)),
        None => Some((None, rest)),
    }
}

/// A quoted label after its opening `'`: the label and what follows the closing `'`.
fn quoted_label(text: &str) -> Option<(String, &str)> {
    let mut label = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\'' {
            label.push(c);
            continue;
        }
        if text[i + 1..].starts_with('\'') {
            label.push('\'');
            chars.next();
        } else {
            return Some((label, &text[i + 1..]));
        }
    }
    None
}

fn metric(label: &str, data: &str) -> Option<Metric> {
    let name = metric_name(label)?;
    let mut fields = data.split(';');
    let value_field = fields.next().unwrap_or_default();
    let number_end = value_field
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')))
        .unwrap_or(value_field.len());
    let (value, unit) = value_field.split_at(number_end);
    // `1,5` (a decimal comma) or `5.0.1` must not become some other number.
    if unit.contains(|c: char| c.is_ascii_digit() || matches!(c, ',' | '.' | '+' | '-')) {
        return None;
    }
    let scale = unit_scale(unit);
    let value = finite(scale(number(value)?))?;
    let mut threshold = || {
        fields
            .next()
            .and_then(Range::parse)
            .and_then(|range| range.scaled(scale))
            .and_then(|range| range.to_levels())
            .unwrap_or_default()
    };
    let (warn, crit) = (threshold(), threshold());
    let mut bound = || {
        fields
            .next()
            .and_then(number)
            .and_then(|v| finite(scale(v)))
    };
    let (mut min, mut max) = (bound(), bound());
    if unit == "%" {
        min = min.or(Some(0.0));
        max = max.or(Some(100.0));
    }
    Some(Metric {
        name,
        value,
        upper: Levels {
            warn: warn.upper,
            crit: crit.upper,
        },
        lower: Levels {
            warn: warn.lower,
            crit: crit.lower,
        },
        min,
        max,
    })
}

fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(name, value, (upper warn, upper crit), (lower warn, lower crit), min, max)`.
    type Want = (
        &'static str,
        f64,
        (Option<f64>, Option<f64>),
        (Option<f64>, Option<f64>),
        Option<f64>,
        Option<f64>,
    );

    fn check(text: &str, want: &[Want]) {
        let got: Vec<Want> = parse(text)
            .into_iter()
            .map(|m| {
                (
                    &*m.name.leak(),
                    m.value,
                    (m.upper.warn, m.upper.crit),
                    (m.lower.warn, m.lower.crit),
                    m.min,
                    m.max,
                )
            })
            .collect();
        assert_eq!(got, want, "{text:?}");
    }

    fn up(v: f64) -> Option<f64> {
        Some(v.next_up())
    }

    const NO: (Option<f64>, Option<f64>) = (None, None);

    #[test]
    fn plain_entries() {
        check("load1=0.5", &[("load1", 0.5, NO, NO, None, None)]);
        check(
            "users=3;5;10;0",
            &[(
                "users",
                3.0,
                (up(5.0), up(10.0)),
                (Some(0.0), Some(0.0)),
                Some(0.0),
                None,
            )],
        );
        check(
            "a=1 b=2;;;0;10  c=-3.5e1",
            &[
                ("a", 1.0, NO, NO, None, None),
                ("b", 2.0, NO, NO, Some(0.0), Some(10.0)),
                ("c", -35.0, NO, NO, None, None),
            ],
        );
    }

    #[test]
    fn real_plugin_lines() {
        // check_http
        check(
            "time=0.001234s;;;0.000000;10.000000 size=612B;;;0",
            &[
                ("time", 0.001234, NO, NO, Some(0.0), Some(10.0)),
                ("size", 612.0, NO, NO, Some(0.0), None),
            ],
        );
        // check_ping
        check(
            "rta=0.045000ms;100.000000;500.000000;0.000000 pl=0%;20;60;0",
            &[
                (
                    "rta",
                    0.045 / 1e3,
                    (up(0.1), up(0.5)),
                    (Some(0.0), Some(0.0)),
                    Some(0.0),
                    None,
                ),
                (
                    "pl",
                    0.0,
                    (up(20.0), up(60.0)),
                    (Some(0.0), Some(0.0)),
                    Some(0.0),
                    Some(100.0),
                ),
            ],
        );
        // check_disk 2.3
        check(
            "/=39209402368B;243497277849;257024904396;0;270552530944",
            &[(
                "_",
                39209402368.0,
                (up(243497277849.0), up(257024904396.0)),
                (Some(0.0), Some(0.0)),
                Some(0.0),
                Some(270552530944.0),
            )],
        );
    }

    #[test]
    fn units_become_base_units() {
        check(
            "a=250ms b=5us c=3ns d=2KB e=2kB f=1MB g=1GB h=1TB i=1KiB j=1MiB k=1GiB l=7c m=4x",
            &[
                ("a", 0.25, NO, NO, None, None),
                ("b", 5e-6, NO, NO, None, None),
                ("c", 3e-9, NO, NO, None, None),
                ("d", 2000.0, NO, NO, None, None),
                ("e", 2000.0, NO, NO, None, None),
                ("f", 1e6, NO, NO, None, None),
                ("g", 1e9, NO, NO, None, None),
                ("h", 1e12, NO, NO, None, None),
                ("i", 1024.0, NO, NO, None, None),
                ("j", 1_048_576.0, NO, NO, None, None),
                ("k", 1_073_741_824.0, NO, NO, None, None),
                ("l", 7.0, NO, NO, None, None),
                ("m", 4.0, NO, NO, None, None),
            ],
        );
        // Thresholds, min and max use the value's unit.
        check(
            "t=120ms;~:100;200:;0;1000",
            &[(
                "t",
                0.12,
                (up(0.1), None),
                (None, Some(0.2)),
                Some(0.0),
                Some(1.0),
            )],
        );
    }

    #[test]
    fn quoted_labels_and_odd_names() {
        check(
            "'free space'=5 'it''s'=6 'a=b'=7 'C:\\ used'=8 température=9",
            &[
                ("free_space", 5.0, NO, NO, None, None),
                ("it_s", 6.0, NO, NO, None, None),
                ("a_b", 7.0, NO, NO, None, None),
                ("C___used", 8.0, NO, NO, None, None),
                ("temp_rature", 9.0, NO, NO, None, None),
            ],
        );
    }

    #[test]
    fn thresholds_only_where_the_meaning_is_the_same() {
        check(
            "a=5;@10:20;30 b=5;10:;5: c=5;x;1:0",
            &[
                ("a", 5.0, (None, up(30.0)), (None, Some(0.0)), None, None),
                ("b", 5.0, NO, (Some(10.0), Some(5.0)), None, None),
                ("c", 5.0, NO, NO, None, None),
            ],
        );
    }

    #[test]
    fn invalid_entries_are_skipped() {
        check(
            "a=U b=1,5 c=inf d=nan e= =5 ''=3 f g=1e999 h=5.0.1 'open=1 i=2",
            &[],
        );
        check(
            "x=1 x=2 a/b=3 a:b=4",
            &[
                ("x", 1.0, NO, NO, None, None),
                ("a_b", 3.0, NO, NO, None, None),
            ],
        );
        check("a=1;;;x;y", &[("a", 1.0, NO, NO, None, None)]);
    }
}
