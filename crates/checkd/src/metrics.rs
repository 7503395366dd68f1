//! `GET /metrics`: checkd's own figures in the Prometheus text exposition format 0.0.4.
//!
//! [`render`] is a pure function of [`MetricsInput`]: the route fills it from the scheduler's
//! counters and the cache layers' `LayerStats`, and the output can be asserted byte for byte. Every family is written with
//! its `# HELP` and `# TYPE` lines, in a fixed order, its samples together (the format
//! requires that), without timestamps.

use std::fmt::Write as _;

use checkd_store::{LayerStats, LATENCY_BUCKETS_US};

/// The `Content-Type` of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Everything `GET /metrics` shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricsInput {
    /// Services served right now, by state.
    pub checks: StateCounts,
    /// Runs finished since start.
    pub runs_total: u64,
    /// Runs that hit their timeout.
    pub run_timeouts_total: u64,
    /// Runs whose datasource was unavailable.
    pub datasource_unavailable_total: u64,
    /// How late the most recently started run started, in seconds.
    pub scheduler_lag_seconds: f64,
    /// Run durations, in seconds.
    pub run_duration_seconds: Histogram,
    /// Cache layers in chain order.
    pub layers: Vec<LayerStats>,
    /// OAuth token fetches since start.
    pub token_fetches_total: u64,
}

/// Served services per state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StateCounts {
    pub ok: u64,
    pub warn: u64,
    pub crit: u64,
    pub unknown: u64,
}

/// A Prometheus histogram.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histogram {
    /// `(upper bound, cumulative count)`, ascending by bound. The `+Inf` bucket is written
    /// from `count`; a bucket given here with an infinite or NaN bound is left out.
    pub buckets: Vec<(f64, u64)>,
    pub sum: f64,
    pub count: u64,
}

/// The whole exposition text, ending with a newline.
pub fn render(input: &MetricsInput) -> String {
    let mut out = String::with_capacity(2048 + 1024 * input.layers.len());
    let counts = &input.checks;
    family(
        &mut out,
        "checkd_checks",
        "gauge",
        "Services served right now, by state.",
    );
    for (state, count) in [
        ("ok", counts.ok),
        ("warn", counts.warn),
        ("crit", counts.crit),
        ("unknown", counts.unknown),
    ] {
        sample(&mut out, "checkd_checks", &[("state", state)], count as f64);
    }
    let scalars = [
        (
            "checkd_runs_total",
            "counter",
            "Check runs finished since start.",
            input.runs_total as f64,
        ),
        (
            "checkd_run_timeouts_total",
            "counter",
            "Check runs that hit their timeout.",
            input.run_timeouts_total as f64,
        ),
        (
            "checkd_datasource_unavailable_total",
            "counter",
            "Check runs whose datasource was unavailable.",
            input.datasource_unavailable_total as f64,
        ),
        (
            "checkd_scheduler_lag_seconds",
            "gauge",
            "How late the most recently started run started.",
            input.scheduler_lag_seconds,
        ),
    ];
    for (name, kind, help, value) in scalars {
        family(&mut out, name, kind, help);
        sample(&mut out, name, &[], value);
    }
    family(
        &mut out,
        "checkd_run_duration_seconds",
        "histogram",
        "Duration of check runs.",
    );
    histogram(
        &mut out,
        "checkd_run_duration_seconds",
        &[],
        &input.run_duration_seconds,
    );
    layers(&mut out, &input.layers);
    family(
        &mut out,
        "checkd_token_fetches_total",
        "counter",
        "OAuth token fetches since start.",
    );
    sample(
        &mut out,
        "checkd_token_fetches_total",
        &[],
        input.token_fetches_total as f64,
    );
    out
}

/// The cache families, each with one sample per layer (a family's samples must be together).
fn layers(out: &mut String, layers: &[LayerStats]) {
    type Field = fn(&LayerStats) -> Option<f64>;
    let families: [(&str, &str, &str, Field); 10] = [
        (
            "checkd_cache_hits_total",
            "counter",
            "Cache reads that found an entry.",
            |n| Some(n.hits as f64),
        ),
        (
            "checkd_cache_misses_total",
            "counter",
            "Cache reads that found nothing.",
            |n| Some(n.misses as f64),
        ),
        (
            "checkd_cache_writes_total",
            "counter",
            "Cache writes and removals that succeeded.",
            |n| Some(n.writes as f64),
        ),
        (
            "checkd_cache_errors_total",
            "counter",
            "Cache calls that failed inside the layer.",
            |n| Some(n.errors as f64),
        ),
        (
            "checkd_cache_corrupt_total",
            "counter",
            "Cache entries that were corrupt or of a foreign format.",
            |n| Some(n.corrupt as f64),
        ),
        (
            "checkd_cache_timeouts_total",
            "counter",
            "Cache calls cut off at the per-layer bound.",
            |n| Some(n.timeouts as f64),
        ),
        (
            "checkd_cache_skipped_total",
            "counter",
            "Cache calls not made because the layer's circuit breaker was open.",
            |n| Some(n.skipped as f64),
        ),
        (
            "checkd_cache_healthy",
            "gauge",
            "1 while the cache layer works, 0 while it fails.",
            |n| Some(if n.healthy { 1.0 } else { 0.0 }),
        ),
        (
            "checkd_cache_entries",
            "gauge",
            "Entries the cache layer holds.",
            |n| n.entries.map(|v| v as f64),
        ),
        (
            "checkd_cache_bytes",
            "gauge",
            "Bytes the cache layer holds.",
            |n| n.bytes.map(|v| v as f64),
        ),
    ];
    for (name, kind, help, field) in families {
        let values: Vec<(&str, f64)> = layers
            .iter()
            .filter_map(|stats| field(stats).map(|v| (stats.layer.as_str(), v)))
            .collect();
        if values.is_empty() {
            continue;
        }
        family(out, name, kind, help);
        for (layer, value) in values {
            sample(out, name, &[("layer", layer)], value);
        }
    }
    let name = "checkd_cache_operation_duration_seconds";
    let timed: Vec<(&str, Histogram)> = layers
        .iter()
        .filter(|stats| stats.latency_count > 0)
        .map(|stats| (stats.layer.as_str(), latency(stats)))
        .collect();
    if !timed.is_empty() {
        family(out, name, "histogram", "Duration of cache layer calls.");
        for (layer, latency) in &timed {
            histogram(out, name, &[("layer", layer)], latency);
        }
    }
}

/// A layer's call latencies (microsecond buckets) in seconds.
fn latency(stats: &LayerStats) -> Histogram {
    Histogram {
        buckets: LATENCY_BUCKETS_US
            .iter()
            .zip(&stats.latency_buckets)
            .map(|(bound, count)| (*bound as f64 / 1e6, *count))
            .collect(),
        sum: stats.latency_sum_us as f64 / 1e6,
        count: stats.latency_count,
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    out.push_str("# HELP ");
    out.push_str(name);
    out.push(' ');
    for c in help.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push_str("\n# TYPE ");
    out.push_str(name);
    out.push(' ');
    out.push_str(kind);
    out.push('\n');
}

fn histogram(out: &mut String, name: &str, labels: &[(&str, &str)], histogram: &Histogram) {
    let bucket = format!("{name}_bucket");
    for (le, count) in histogram.buckets.iter().filter(|(le, _)| le.is_finite()) {
        let le = number(*le);
        let mut with_le = labels.to_vec();
        with_le.push(("le", &le));
        sample(out, &bucket, &with_le, *count as f64);
    }
    let mut with_le = labels.to_vec();
    with_le.push(("le", "+Inf"));
    sample(out, &bucket, &with_le, histogram.count as f64);
    sample(out, &format!("{name}_sum"), labels, histogram.sum);
    sample(
        out,
        &format!("{name}_count"),
        labels,
        histogram.count as f64,
    );
}

/// `name{label="value",…} value\n`; label values escaped as the format requires.
fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (index, (label, value)) in labels.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            out.push_str(label);
            out.push_str("=\"");
            for c in value.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '"' => out.push_str("\\\""),
                    '\n' => out.push_str("\\n"),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    out.push_str(&number(value));
    out.push('\n');
}

/// A sample value or `le` bound: `NaN`, `+Inf`, `-Inf`, or the shortest decimal that reads
/// back as the value (in exponent notation when it is very large or very small, to stay short).
fn number(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let magnitude = value.abs();
    let mut text = String::new();
    // Writing into a String cannot fail.
    if magnitude == 0.0 || (1e-6..1e15).contains(&magnitude) {
        let _ = write!(text, "{value}");
    } else {
        let _ = write!(text, "{value:e}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(name: &str, healthy: bool) -> LayerStats {
        LayerStats {
            layer: name.into(),
            hits: 10,
            misses: 2,
            writes: 7,
            healthy,
            ..LayerStats::default()
        }
    }

    fn example() -> MetricsInput {
        MetricsInput {
            checks: StateCounts {
                ok: 117,
                warn: 1,
                crit: 2,
                unknown: 0,
            },
            runs_total: 4321,
            run_timeouts_total: 3,
            datasource_unavailable_total: 12,
            scheduler_lag_seconds: 0.012,
            run_duration_seconds: Histogram {
                buckets: vec![(0.05, 1000), (0.25, 4000), (1.0, 4300), (f64::INFINITY, 9)],
                sum: 612.5,
                count: 4321,
            },
            layers: vec![
                LayerStats {
                    entries: Some(240),
                    bytes: Some(81920),
                    latency_count: 100,
                    latency_sum_us: 421,
                    latency_buckets: vec![90, 100, 100, 100, 100, 100, 100],
                    ..layer("memory", true)
                },
                LayerStats {
                    errors: 5,
                    timeouts: 1,
                    skipped: 40,
                    ..layer("redis", false)
                },
            ],
            token_fetches_total: 0,
        }
    }

    const EXPECTED: &str = r#"# HELP checkd_checks Services served right now, by state.
# TYPE checkd_checks gauge
checkd_checks{state="ok"} 117
checkd_checks{state="warn"} 1
checkd_checks{state="crit"} 2
checkd_checks{state="unknown"} 0
# HELP checkd_runs_total Check runs finished since start.
# TYPE checkd_runs_total counter
checkd_runs_total 4321
# HELP checkd_run_timeouts_total Check runs that hit their timeout.
# TYPE checkd_run_timeouts_total counter
checkd_run_timeouts_total 3
# HELP checkd_datasource_unavailable_total Check runs whose datasource was unavailable.
# TYPE checkd_datasource_unavailable_total counter
checkd_datasource_unavailable_total 12
# HELP checkd_scheduler_lag_seconds How late the most recently started run started.
# TYPE checkd_scheduler_lag_seconds gauge
checkd_scheduler_lag_seconds 0.012
# HELP checkd_run_duration_seconds Duration of check runs.
# TYPE checkd_run_duration_seconds histogram
checkd_run_duration_seconds_bucket{le="0.05"} 1000
checkd_run_duration_seconds_bucket{le="0.25"} 4000
checkd_run_duration_seconds_bucket{le="1"} 4300
checkd_run_duration_seconds_bucket{le="+Inf"} 4321
checkd_run_duration_seconds_sum 612.5
checkd_run_duration_seconds_count 4321
# HELP checkd_cache_hits_total Cache reads that found an entry.
# TYPE checkd_cache_hits_total counter
checkd_cache_hits_total{layer="memory"} 10
checkd_cache_hits_total{layer="redis"} 10
# HELP checkd_cache_misses_total Cache reads that found nothing.
# TYPE checkd_cache_misses_total counter
checkd_cache_misses_total{layer="memory"} 2
checkd_cache_misses_total{layer="redis"} 2
# HELP checkd_cache_writes_total Cache writes and removals that succeeded.
# TYPE checkd_cache_writes_total counter
checkd_cache_writes_total{layer="memory"} 7
checkd_cache_writes_total{layer="redis"} 7
# HELP checkd_cache_errors_total Cache calls that failed inside the layer.
# TYPE checkd_cache_errors_total counter
checkd_cache_errors_total{layer="memory"} 0
checkd_cache_errors_total{layer="redis"} 5
# HELP checkd_cache_corrupt_total Cache entries that were corrupt or of a foreign format.
# TYPE checkd_cache_corrupt_total counter
checkd_cache_corrupt_total{layer="memory"} 0
checkd_cache_corrupt_total{layer="redis"} 0
# HELP checkd_cache_timeouts_total Cache calls cut off at the per-layer bound.
# TYPE checkd_cache_timeouts_total counter
checkd_cache_timeouts_total{layer="memory"} 0
checkd_cache_timeouts_total{layer="redis"} 1
# HELP checkd_cache_skipped_total Cache calls not made because the layer's circuit breaker was open.
# TYPE checkd_cache_skipped_total counter
checkd_cache_skipped_total{layer="memory"} 0
checkd_cache_skipped_total{layer="redis"} 40
# HELP checkd_cache_healthy 1 while the cache layer works, 0 while it fails.
# TYPE checkd_cache_healthy gauge
checkd_cache_healthy{layer="memory"} 1
checkd_cache_healthy{layer="redis"} 0
# HELP checkd_cache_entries Entries the cache layer holds.
# TYPE checkd_cache_entries gauge
checkd_cache_entries{layer="memory"} 240
# HELP checkd_cache_bytes Bytes the cache layer holds.
# TYPE checkd_cache_bytes gauge
checkd_cache_bytes{layer="memory"} 81920
# HELP checkd_cache_operation_duration_seconds Duration of cache layer calls.
# TYPE checkd_cache_operation_duration_seconds histogram
checkd_cache_operation_duration_seconds_bucket{layer="memory",le="0.00001"} 90
checkd_cache_operation_duration_seconds_bucket{layer="memory",le="0.0001"} 100
checkd_cache_operation_duration_seconds_bucket{layer="memory",le="0.0005"} 100
checkd_cache_operation_duration_seconds_bucket{layer="memory",le="0.001"} 100
checkd_cache_operation_duration_seconds_bucket{layer="memory",le="0.005"} 100
checkd_cache_operation_duration_seconds_bucket{layer="memory",le="0.025"} 100
checkd_cache_operation_duration_seconds_bucket{layer="memory",le="0.1"} 100
checkd_cache_operation_duration_seconds_bucket{layer="memory",le="+Inf"} 100
checkd_cache_operation_duration_seconds_sum{layer="memory"} 0.000421
checkd_cache_operation_duration_seconds_count{layer="memory"} 100
# HELP checkd_token_fetches_total OAuth token fetches since start.
# TYPE checkd_token_fetches_total counter
checkd_token_fetches_total 0
"#;

    #[test]
    fn the_example_renders_exactly() {
        assert_eq!(render(&example()), EXPECTED);
        assert_valid(EXPECTED);
    }

    #[test]
    fn no_layers_and_no_buckets() {
        let text = render(&MetricsInput::default());
        assert!(!text.contains("checkd_cache_"), "{text}");
        assert!(text.contains(
            "# TYPE checkd_run_duration_seconds histogram\n\
             checkd_run_duration_seconds_bucket{le=\"+Inf\"} 0\n\
             checkd_run_duration_seconds_sum 0\n\
             checkd_run_duration_seconds_count 0\n"
        ));
        assert!(text.ends_with("checkd_token_fetches_total 0\n"));
        assert_valid(&text);
    }

    #[test]
    fn label_values_are_escaped() {
        let input = MetricsInput {
            layers: vec![layer("re\"d\\is\nx", true)],
            ..MetricsInput::default()
        };
        let text = render(&input);
        assert!(
            text.contains("checkd_cache_hits_total{layer=\"re\\\"d\\\\is\\nx\"} 10\n"),
            "{text}"
        );
        assert_valid(&text);
    }

    #[test]
    fn numbers() {
        let cases = [
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (0.012, "0.012"),
            (612.5, "612.5"),
            (1e-6, "0.000001"),
            (1e-7, "1e-7"),
            (123456789012345.0, "123456789012345"),
            (1e15, "1e15"),
            (f64::MAX, "1.7976931348623157e308"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ];
        for (value, expected) in cases {
            assert_eq!(number(value), expected, "{value:?}");
            assert!(is_float(expected), "{expected}");
        }
        let odd = MetricsInput {
            scheduler_lag_seconds: f64::NAN,
            run_duration_seconds: Histogram {
                buckets: vec![(f64::NAN, 1), (1e-9, 1)],
                sum: f64::INFINITY,
                count: 1,
            },
            ..MetricsInput::default()
        };
        let text = render(&odd);
        assert!(
            text.contains("checkd_scheduler_lag_seconds NaN\n"),
            "{text}"
        );
        assert!(text.contains("_bucket{le=\"1e-9\"} 1\n"), "{text}");
        assert!(
            text.contains("checkd_run_duration_seconds_sum +Inf\n"),
            "{text}"
        );
        assert_valid(&text);
    }

    #[test]
    fn the_grammar_check_catches_mistakes() {
        let bad = [
            ("checkd_x 1\n", "line 1: no TYPE for checkd_x"),
            (
                "# TYPE checkd_x gauge\ncheckd_x one\n",
                "line 2: value \"one\" is not a float",
            ),
            (
                "# TYPE checkd_x gauge\n1checkd_x 1\n",
                "line 2: metric name \"1checkd_x\"",
            ),
            (
                "# TYPE checkd_x gauge\ncheckd_x{a=\"1\" 1\n",
                "line 2: expected , or } after a label value",
            ),
            (
                "# TYPE checkd_x gauge\ncheckd_x{a=\"\\t\"} 1\n",
                "line 2: bad escape Some((1, 't'))",
            ),
            (
                "# TYPE checkd_x gauge\ncheckd_x{a-b=\"1\"} 1\n",
                "line 2: label name \"a-b\"",
            ),
            (
                "# TYPE checkd_x gauge\ncheckd_x{a=\"1\",a=\"2\"} 1\n",
                "line 2: label a twice",
            ),
            (
                "# TYPE checkd_x gauge\ncheckd_x 1\ncheckd_x 2\n",
                "line 3: series checkd_x[] twice",
            ),
            (
                "# TYPE checkd_x gauge\n# TYPE checkd_x gauge\n",
                "line 2: second TYPE for checkd_x",
            ),
            ("# TYPE checkd_x widget\n", "line 1: type \"widget\""),
            (
                "# TYPE checkd_x gauge\n# TYPE checkd_y gauge\ncheckd_x 1\n",
                "line 3: checkd_x is apart from its family",
            ),
            ("# TYPE checkd_x gauge\ncheckd_x 1", "no newline at the end"),
            (
                "# TYPE checkd_h histogram\ncheckd_h_bucket{le=\"1\"} 1\n\
                 checkd_h_sum 1\ncheckd_h_count 1\n",
                "checkd_h[]: +Inf bucket None is not _count Some(1)",
            ),
            (
                "# TYPE checkd_h histogram\ncheckd_h_bucket{le=\"1\"} 2\n\
                 checkd_h_bucket{le=\"+Inf\"} 1\ncheckd_h_sum 1\ncheckd_h_count 1\n",
                "line 3: buckets not cumulative",
            ),
        ];
        for (text, expected) in bad {
            assert_eq!(check_grammar(text), Err(expected.to_string()), "{text:?}");
        }
        assert_eq!(
            check_grammar("# TYPE checkd_x gauge\ncheckd_x{a=\"\\\"\"} -1.5e3\n"),
            Ok(())
        );
    }

    /// Checks `text` against the exposition format 0.0.4 grammar, panicking with the reason.
    fn assert_valid(text: &str) {
        if let Err(problem) = check_grammar(text) {
            panic!("{problem}\n{text}");
        }
    }

    /// A small reader of the text format: `# HELP name text`, `# TYPE name kind` (once per
    /// family, before its samples), samples `name{label="value",…} value` with a valid metric
    /// name, label names, escapes and a float value; a family's samples together; no series
    /// twice; histograms with ascending cumulative buckets ending in `+Inf` equal to `_count`.
    fn check_grammar(text: &str) -> Result<(), String> {
        let body = text.strip_suffix('\n').ok_or("no newline at the end")?;
        let mut types: Vec<(String, String)> = Vec::new();
        let mut current: Option<String> = None;
        let mut series: Vec<String> = Vec::new();
        // Per histogram series (name + labels without le): last bucket count, +Inf count.
        let mut buckets: Vec<(String, u64, Option<u64>)> = Vec::new();
        let mut counts: Vec<(String, u64)> = Vec::new();
        for (index, line) in body.split('\n').enumerate() {
            let no = index + 1;
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, _) = rest.split_once(' ').ok_or(format!("line {no}: HELP"))?;
                metric_name(name).map_err(|e| format!("line {no}: {e}"))?;
                continue;
            }
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').ok_or(format!("line {no}: TYPE"))?;
                metric_name(name).map_err(|e| format!("line {no}: {e}"))?;
                if !matches!(
                    kind,
                    "counter" | "gauge" | "histogram" | "summary" | "untyped"
                ) {
                    return Err(format!("line {no}: type {kind:?}"));
                }
                if types.iter().any(|(n, _)| n == name) {
                    return Err(format!("line {no}: second TYPE for {name}"));
                }
                types.push((name.to_string(), kind.to_string()));
                current = Some(name.to_string());
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let (name, labels, value) =
                parse_sample(line).map_err(|e| format!("line {no}: {e}"))?;
            let family =
                family_of(&name, &types).ok_or(format!("line {no}: no TYPE for {name}"))?;
            if current.as_deref() != Some(family.0.as_str()) {
                return Err(format!("line {no}: {name} is apart from its family"));
            }
            let key = format!("{name}{labels:?}");
            if series.contains(&key) {
                return Err(format!("line {no}: series {key} twice"));
            }
            series.push(key);
            if family.1 == "histogram" {
                let base = &family.0;
                let other: Vec<&(String, String)> =
                    labels.iter().filter(|(l, _)| l != "le").collect();
                let id = format!("{base}{other:?}");
                if name.ends_with("_bucket") {
                    let le = labels
                        .iter()
                        .find(|(l, _)| l == "le")
                        .ok_or(format!("line {no}: bucket without le"))?;
                    let count = value as u64;
                    match buckets.iter_mut().find(|(i, _, _)| *i == id) {
                        Some((_, last, inf)) => {
                            if count < *last || inf.is_some() {
                                return Err(format!("line {no}: buckets not cumulative"));
                            }
                            *last = count;
                            if le.1 == "+Inf" {
                                *inf = Some(count);
                            }
                        }
                        None => buckets.push((id, count, (le.1 == "+Inf").then_some(count))),
                    }
                } else if name.ends_with("_count") {
                    counts.push((id, value as u64));
                }
            }
        }
        for (id, _, inf) in &buckets {
            let count = counts.iter().find(|(i, _)| i == id).map(|(_, c)| *c);
            if inf.is_none() || *inf != count {
                return Err(format!("{id}: +Inf bucket {inf:?} is not _count {count:?}"));
            }
        }
        Ok(())
    }

    /// The family a sample belongs to: its own name, or a histogram's without the suffix.
    fn family_of<'a>(name: &str, types: &'a [(String, String)]) -> Option<&'a (String, String)> {
        types.iter().find(|(family, kind)| {
            family == name
                || (kind == "histogram"
                    && ["_bucket", "_sum", "_count"]
                        .iter()
                        .any(|suffix| name.strip_suffix(suffix) == Some(family.as_str())))
        })
    }

    type Labels = Vec<(String, String)>;

    fn parse_sample(line: &str) -> Result<(String, Labels, f64), String> {
        let name_end = line.find(['{', ' ']).ok_or("sample without a value")?;
        let name = &line[..name_end];
        metric_name(name)?;
        let mut rest = &line[name_end..];
        let mut labels: Labels = Vec::new();
        if let Some(mut inner) = rest.strip_prefix('{') {
            loop {
                if let Some(after) = inner.strip_prefix('}') {
                    rest = after;
                    break;
                }
                let (label, after_eq) = inner.split_once('=').ok_or("label without =")?;
                label_name(label)?;
                if labels.iter().any(|(l, _)| l == label) {
                    return Err(format!("label {label} twice"));
                }
                let quoted = after_eq.strip_prefix('"').ok_or("label value not quoted")?;
                let (value, after_value) = unquote(quoted)?;
                labels.push((label.to_string(), value));
                inner = match after_value.strip_prefix(',') {
                    Some(next) => next,
                    None if after_value.starts_with('}') => after_value,
                    None => return Err("expected , or } after a label value".into()),
                };
            }
        }
        let value = rest.strip_prefix(' ').ok_or("no space before the value")?;
        if !is_float(value) {
            return Err(format!("value {value:?} is not a float"));
        }
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => v.parse().map_err(|_| format!("value {v:?}"))?,
        };
        Ok((name.to_string(), labels, value))
    }

    /// A label value after its opening quote: the unescaped value and the text after the
    /// closing quote. Only `\\`, `\"` and `\n` are escapes.
    fn unquote(quoted: &str) -> Result<(String, &str), String> {
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => return Err(format!("bad escape {other:?}")),
                },
                '"' => return Ok((value, &quoted[i + 1..])),
                '\n' => return Err("newline in a label value".into()),
                c => value.push(c),
            }
        }
        Err("unclosed label value".into())
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`
    fn metric_name(name: &str) -> Result<(), String> {
        let mut chars = name.chars();
        let ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
        ok.then_some(()).ok_or(format!("metric name {name:?}"))
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`
    fn label_name(name: &str) -> Result<(), String> {
        let mut chars = name.chars();
        let ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        ok.then_some(()).ok_or(format!("label name {name:?}"))
    }

    /// A Go `ParseFloat` number as Prometheus writes them: `NaN`, `+Inf`, `-Inf`, or
    /// `-?digits[.digits][e[+-]digits]`.
    fn is_float(text: &str) -> bool {
        if matches!(text, "NaN" | "+Inf" | "-Inf") {
            return true;
        }
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let unsigned = text.strip_prefix('-').unwrap_or(text);
        let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
            Some((m, e)) => (m, Some(e.strip_prefix(['+', '-']).unwrap_or(e))),
            None => (unsigned, None),
        };
        let mantissa_ok = match mantissa.split_once('.') {
            Some((int, frac)) => digits(int) && digits(frac),
            None => digits(mantissa),
        };
        mantissa_ok && exponent.is_none_or(digits)
    }
}
