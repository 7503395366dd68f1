//! The sanitised parts of a service's line: [`ServiceName`], [`Summary`], [`Details`] and
//! [`Metrics`]. Each constructor takes any input and returns a value Checkmk accepts in that
//! field, so the writers (`render` for local checks, `watchpost` for watchpost's JSON) only
//! frame and format what they are given, and cannot write an invalid field.
//!
//! These types know what a field may hold, not how a line frames it: quoting, separators,
//! the `-` before a summary that starts with a literal `\n`, JSON escapes and base64 are the
//! writers' business. Each part borrows its input when it is already valid, so sanitising a
//! clean result (the usual case: the config loader checks names) costs no allocation.

use std::borrow::Cow;

use checkd_model::{Levels, Metric};

use crate::names::{
    is_metric_name_char, is_service_name_char, metric_name_chars, service_name_chars,
};

/// A service name as Checkmk accepts it inside the double quotes of a local-check line.
///
/// `"`, `'`, `;`, `$` and control characters become `_`; an empty name becomes `_`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceName<'a>(Cow<'a, str>);

impl<'a> ServiceName<'a> {
    pub fn new(name: &'a str) -> ServiceName<'a> {
        if !name.is_empty() && name.chars().all(is_service_name_char) {
            ServiceName(Cow::Borrowed(name))
        } else {
            ServiceName(Cow::Owned(service_name_chars(name).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A one-line summary: control characters (newlines, CR, tabs) become spaces, surrounding
/// whitespace is trimmed, and an empty summary is `-` (Checkmk rejects an empty one).
///
/// Backslashes stay as they are: a literal `\n` in a local-check line starts a detail line in
/// Checkmk, which is why the local-check writer puts a `-` before a summary starting with one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary<'a>(Cow<'a, str>);

impl<'a> Summary<'a> {
    pub fn new(text: &'a str) -> Summary<'a> {
        let text = text.trim_matches(is_blank);
        if text.is_empty() {
            Summary(Cow::Borrowed("-"))
        } else if text.chars().any(char::is_control) {
            let mut one = String::with_capacity(text.len());
            push_one_line(&mut one, text);
            Summary(Cow::Owned(one))
        } else {
            Summary(Cow::Borrowed(text))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Detail lines, separated by real newlines (LF or CRLF in the input): each line has its
/// control characters turned into spaces and its trailing whitespace trimmed; blank lines at
/// the start and the end are dropped, blank lines between two others kept. May be empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Details<'a>(Cow<'a, str>);

impl<'a> Details<'a> {
    pub fn new(text: &'a str) -> Details<'a> {
        let clean = text
            .split('\n')
            .all(|line| !line.ends_with(is_blank) && !line.contains(|c: char| c.is_control()));
        if clean {
            // Every blank line of a clean text is empty: the blank ends are newlines.
            return Details(Cow::Borrowed(text.trim_matches('\n')));
        }
        let mut lines = String::with_capacity(text.len());
        push_detail_lines(&mut lines, text);
        Details(Cow::Owned(lines))
    }

    /// These details, then `note`'s lines (e.g. why the datasource is unavailable).
    pub fn and(self, note: &'a str) -> Details<'a> {
        let note = Details::new(note);
        match (self.is_empty(), note.is_empty()) {
            (_, true) => self,
            (true, false) => note,
            (false, false) => Details(Cow::Owned(format!("{}\n{}", self.0, note.0))),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The lines, separated by `\n`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The lines one by one; none when empty.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.0.split('\n').filter(|_| !self.0.is_empty())
    }
}

/// Metrics Checkmk graphs as given: a metric whose value is NaN or infinite is dropped,
/// non-finite levels, min and max count as absent, characters outside `A-Z a-z 0-9 - _ .` in a
/// name become `_` (an empty name becomes `_`), and a metric whose name, so written, repeats
/// an earlier one is dropped.
#[derive(Clone, Debug, PartialEq)]
pub struct Metrics<'a>(Cow<'a, [Metric]>);

impl<'a> Metrics<'a> {
    pub fn new(metrics: &'a [Metric]) -> Metrics<'a> {
        let clean = metrics.iter().enumerate().all(|(index, metric)| {
            is_clean(metric) && !metrics[..index].iter().any(|m| m.name == metric.name)
        });
        if clean {
            return Metrics(Cow::Borrowed(metrics));
        }
        let mut kept: Vec<Metric> = Vec::with_capacity(metrics.len());
        for metric in metrics.iter().filter(|m| m.value.is_finite()) {
            let name: String = metric_name_chars(&metric.name).collect();
            if kept.iter().any(|m| m.name == name) {
                continue;
            }
            let finite = |v: Option<f64>| v.filter(|v| v.is_finite());
            let levels = |l: &Levels| Levels {
                warn: finite(l.warn),
                crit: finite(l.crit),
            };
            kept.push(Metric {
                name,
                value: metric.value,
                upper: levels(&metric.upper),
                lower: levels(&metric.lower),
                min: finite(metric.min),
                max: finite(metric.max),
            });
        }
        Metrics(Cow::Owned(kept))
    }

    pub fn as_slice(&self) -> &[Metric] {
        &self.0
    }
}

fn is_clean(metric: &Metric) -> bool {
    let finite = |v: Option<f64>| v.is_none_or(f64::is_finite);
    metric.value.is_finite()
        && [
            metric.upper.warn,
            metric.upper.crit,
            metric.lower.warn,
            metric.lower.crit,
            metric.min,
            metric.max,
        ]
        .into_iter()
        .all(finite)
        && !metric.name.is_empty()
        && metric.name.chars().all(is_metric_name_char)
}

/// Whitespace and control characters: what is trimmed, since Checkmk strips each line and
/// control characters are written as spaces.
pub(crate) fn is_blank(c: char) -> bool {
    c.is_whitespace() || c.is_control()
}

/// Appends `text` with its control characters (newlines included) turned into spaces.
pub(crate) fn push_one_line(buf: &mut String, text: &str) {
    buf.extend(text.chars().map(|c| if c.is_control() { ' ' } else { c }));
}

/// Appends the lines of `text` separated by `\n`, sanitised as [`Details`] says.
fn push_detail_lines(buf: &mut String, text: &str) {
    let mut started = false;
    let mut blank_lines = 0usize;
    for line in text.split('\n') {
        let line = line.trim_end_matches(is_blank);
        if line.is_empty() {
            // Blank lines only count between two written lines.
            blank_lines += usize::from(started);
            continue;
        }
        for _ in 0..blank_lines {
            buf.push('\n');
        }
        blank_lines = 0;
        if started {
            buf.push('\n');
        }
        push_one_line(buf, line);
        started = true;
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use checkd_model::{Levels, Metric};

    use super::{Details, Metrics, ServiceName, Summary};

    #[test]
    fn valid_parts_are_borrowed_and_odd_ones_rewritten() {
        assert!(matches!(ServiceName::new("Orders API").0, Cow::Borrowed(_)));
        assert_eq!(ServiceName::new("it's").as_str(), "it_s");
        assert_eq!(ServiceName::new("").as_str(), "_");
        assert!(matches!(
            Summary::new(" HTTP 200 ").0,
            Cow::Borrowed("HTTP 200")
        ));
        assert_eq!(Summary::new("a\nb").as_str(), "a b");
        assert_eq!(Summary::new("\t").as_str(), "-");
        assert!(matches!(
            Details::new("\na\n\nb\n").0,
            Cow::Borrowed("a\n\nb")
        ));
        assert_eq!(Details::new("a\r\n \nb\t\n\n").as_str(), "a\n\nb");
        assert_eq!(Details::new(" \n").lines().count(), 0);
        assert_eq!(
            Details::new("a")
                .and("n1\r\nn2")
                .lines()
                .collect::<Vec<_>>(),
            ["a", "n1", "n2"]
        );
        assert_eq!(Details::new("").and("note").as_str(), "note");
        assert_eq!(Details::new("a").and("\n").as_str(), "a");
    }

    #[test]
    fn metrics_keep_only_what_checkmk_graphs() {
        let clean = [Metric::new("a", 1.0), Metric::new("b", 2.0)];
        assert!(matches!(Metrics::new(&clean).0, Cow::Borrowed(_)));
        let odd = [
            Metric::new("a b", f64::NAN),
            Metric {
                upper: Levels {
                    warn: Some(f64::INFINITY),
                    crit: Some(3.0),
                },
                ..Metric::new("a b", 1.0)
            },
            Metric::new("a_b", 2.0),
            Metric::new("", 3.0),
        ];
        let kept = Metrics::new(&odd);
        let names: Vec<&str> = kept.as_slice().iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["a_b", "_"]);
        assert_eq!(
            kept.as_slice()[0].upper,
            Levels {
                warn: None,
                crit: Some(3.0)
            }
        );
        assert_eq!(kept.as_slice()[0].value, 1.0);
    }
}
