//! Property tests of the parser: whatever a plugin prints, nothing panics and every metric
//! is one Checkmk accepts, written and read back unchanged; the levels alert exactly where
//! the Nagios range does.

use checkd_checkmk::validate::{parse_local_line, ParsedState};
use checkd_checkmk::{render_local_check, validate_metric_name, LocalCheck};
use checkd_model::Metric;
use proptest::prelude::*;

use super::super::range::{LevelPair, Range};
use super::super::{parse_plugin_output, perfdata};

/// Outputs of real plugins, to mutate.
const REAL: &[&str] = &[
    "HTTP OK: HTTP/1.1 200 OK - 4016 bytes in 0.004 second response time |time=0.003649s;;;0.000000;10.000000 size=4016B;;;0;",
    "TCP OK - 0.000 second response time on 127.0.0.1 port 18777|time=0.000098s;;;0.000000;10.000000",
    "DISK OK - free space: / 55659MiB (59% inode=97%);| /=39209402368B;243497277849;257024904396;0;270552530944",
    "PING OK - Packet loss = 0%, RTA = 0.05 ms|rta=0.045000ms;100.000000;500.000000;0.000000 pl=0%;20;60;0",
    "DISK WARNING - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968\n/ 15272 MB (77%);\n/var/log 819 MB (84%); | /boot=68MB;88;93;0;98\n'C:\\ used'=5GiB;@1:2;~:3;0;10\n'it''s'=1c;10:;;;",
    "LOAD OK - load average: 0.08, 0.12, 0.10|load1=0.080;15.000;30.000;0; load5=0.120;10.000;25.000;0; load15=0.100;5.000;20.000;0;",
];

/// Renders the service as a local-check line, reads it back with the strict validator and
/// checks that the metrics survive unchanged.
fn assert_valid(metrics: &[Metric], summary: &str, details: &str) {
    for metric in metrics {
        assert!(validate_metric_name(&metric.name).is_ok(), "{metric:?}");
        let numbers = [
            Some(metric.value),
            metric.upper.warn,
            metric.upper.crit,
            metric.lower.warn,
            metric.lower.crit,
            metric.min,
            metric.max,
        ];
        assert!(
            numbers.iter().flatten().all(|n| n.is_finite()),
            "{metric:?}"
        );
    }
    let line = render_local_check(&LocalCheck {
        cached: None,
        state: checkd_model::State::Ok,
        service: "svc",
        metrics,
        summary,
        details,
        note: None,
    });
    let parsed = parse_local_line(line.trim_end_matches('\n')).unwrap();
    assert_eq!(parsed.state, ParsedState::Fixed(checkd_model::State::Ok));
    let back: Vec<Metric> = parsed.metrics.iter().map(|m| m.to_metric()).collect();
    assert_eq!(back, metrics, "{line}");
}

fn mutated() -> impl Strategy<Value = String> {
    (
        prop::sample::select(REAL),
        prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<char>()), 0..8),
    )
        .prop_map(|(base, edits)| {
            let mut chars: Vec<char> = base.chars().collect();
            for (at, kind, c) in edits {
                let i = at.index(chars.len() + 1);
                match kind {
                    0 => chars.insert(i, c),
                    1 if i < chars.len() => {
                        chars.remove(i);
                    }
                    2 if i < chars.len() => chars[i] = c,
                    _ => chars.insert(i, ['|', ';', '\'', '=', ' ', '\n', ':', '@', '~'][i % 9]),
                }
            }
            chars.into_iter().collect()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn perfdata_of_any_text_is_valid(text in ".{0,200}") {
        let metrics = perfdata::parse(&text);
        assert_valid(&metrics, "x", "");
    }

    #[test]
    fn perfdata_like_text_is_valid(text in "([' a-z=;:@~.0-9eE+%|-]|KB|ms|B|c|''){0,80}") {
        let metrics = perfdata::parse(&text);
        assert_valid(&metrics, "x", "");
    }

    #[test]
    fn mutated_plugin_output_is_valid(text in mutated(), code in prop::option::of(-1i32..300)) {
        let result = parse_plugin_output(code, text.as_bytes(), "svc");
        assert!(!result.summary.is_empty());
        assert_valid(&result.metrics, &result.summary, &result.details);
    }

    #[test]
    fn any_bytes_are_a_service(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let result = parse_plugin_output(Some(0), &bytes, "svc");
        assert_valid(&result.metrics, &result.summary, &result.details);
    }

    #[test]
    fn levels_alert_exactly_where_the_range_does(
        inside in any::<bool>(),
        start in prop::option::of(-1000i32..1000),
        len in prop::option::of(0i32..1000),
        scale in prop::sample::select(vec![1.0, 0.001, 0.1, 1e-6]),
        value in -2500i32..2500,
        nudge in prop::sample::select(vec![-1i8, 0, 1]),
    ) {
        let start_text = start.map_or("~".to_string(), |s| (f64::from(s) * scale).to_string());
        let end_text = len.map_or(String::new(), |l| (f64::from(start.unwrap_or(0) + l) * scale).to_string());
        let text = format!("{}{start_text}:{end_text}", if inside { "@" } else { "" });
        let range = Range::parse(&text).unwrap();
        // Values on, just below and just above every boundary, where Nagios and Checkmk
        // would disagree without the conversion.
        let mut value = f64::from(value) * scale;
        value = match nudge { -1 => value.next_down(), 1 => value.next_up(), _ => value };
        match range.to_levels() {
            None => prop_assert!(inside),
            Some(levels) => prop_assert_eq!(checkmk_alerts(levels, value), range.alerts(value), "{} {}", text, value),
        }
    }
}

fn checkmk_alerts(levels: LevelPair, value: f64) -> bool {
    let metric = Metric {
        upper: checkd_model::Levels {
            warn: levels.upper,
            crit: None,
        },
        lower: checkd_model::Levels {
            warn: levels.lower,
            crit: None,
        },
        ..Metric::new("m", value)
    };
    metric.state() != checkd_model::State::Ok
}

#[test]
fn boundaries_of_the_range_kinds() {
    // value, range, Nagios alerts?
    let cases = [
        (10.0, "10", false),
        (10.0_f64.next_up(), "10", true),
        (0.0, "10", false),
        (-0.5, "10", true),
        (10.0, "10:", false),
        (9.99, "10:", true),
        (10.0, "~:10", false),
        (-1e9, "~:10", false),
        (10.0, "10:20", false),
        (20.0, "10:20", false),
        (20.5, "10:20", true),
    ];
    for (value, text, alerts) in cases {
        let range = Range::parse(text).unwrap();
        assert_eq!(range.alerts(value), alerts, "{text} {value}");
        assert_eq!(
            checkmk_alerts(range.to_levels().unwrap(), value),
            alerts,
            "{text} {value}"
        );
    }
}
