//! Property: whatever goes in, the rendered output passes the validator, and what the
//! validator reads back is what went in (after the documented sanitising).

use checkd_checkmk::validate::{validate_agent_output, ParsedMetric, ParsedState};
use checkd_checkmk::{coerce_host_name, validate_host_name, AgentOutput, Cached, LocalCheck};
use checkd_model::{Levels, Metric, State};
use proptest::prelude::*;

/// Text with the characters that matter here well represented.
pub(crate) fn text() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        '"', '\'', ';', '$', '\n', '\r', '\t', '\\', 'n', ' ', '|', '=', ':', '/', '\0', '\u{1b}',
        '\u{85}', '\u{a0}', '\u{2028}', 'é', '✓', '<', '>', '-', '.', '_',
    ]);
    let chars = prop_oneof![3 => any::<char>(), 3 => special, 3 => prop::char::range('a', 'z')];
    prop::collection::vec(chars, 0..24).prop_map(|chars| chars.into_iter().collect())
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => any::<f64>(),
        1 => prop::sample::select(vec![
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            5e-324,
            -0.0,
            1e300,
            1e-300,
        ]),
        2 => -1e6..1e6f64,
        2 => (-1000i32..1000).prop_map(f64::from),
    ]
}

pub(crate) fn metric() -> impl Strategy<Value = Metric> {
    let level = || prop::option::of(number());
    (
        text(),
        number(),
        [level(), level(), level(), level(), level(), level()],
    )
        .prop_map(|(name, value, [uw, uc, lw, lc, min, max])| Metric {
            name,
            value,
            upper: Levels { warn: uw, crit: uc },
            lower: Levels { warn: lw, crit: lc },
            min,
            max,
        })
}

#[derive(Clone, Debug)]
struct Service {
    cached: Option<Cached>,
    state: State,
    name: String,
    metrics: Vec<Metric>,
    summary: String,
    details: String,
    note: Option<String>,
}

fn service() -> impl Strategy<Value = Service> {
    let cached = prop::option::of((any::<i64>(), any::<u64>())).prop_map(|c| {
        c.map(|(produced_s, interval_s)| Cached {
            produced_s,
            interval_s,
        })
    });
    let state = prop::sample::select(State::ALL.to_vec());
    let metrics = prop::collection::vec(metric(), 0..4);
    (
        cached,
        state,
        text(),
        metrics,
        text(),
        text(),
        prop::option::of(text()),
    )
        .prop_map(
            |(cached, state, name, metrics, summary, details, note)| Service {
                cached,
                state,
                name,
                metrics,
                summary,
                details,
                note,
            },
        )
}

type Hosts = Vec<(String, Vec<Service>)>;

fn output() -> impl Strategy<Value = (Vec<Service>, Hosts)> {
    let services = || prop::collection::vec(service(), 0..4);
    (
        services(),
        prop::collection::vec((text(), services()), 0..3),
    )
}

/// Service names get an index prefix so that they stay unique per host after sanitising.
fn unique_name(index: usize, service: &Service) -> String {
    format!("{index}:{}", service.name)
}

fn render(own: &[Service], hosts: &Hosts) -> String {
    let mut out = AgentOutput::new("checkd-proptest");
    out.local_section();
    let check = |index: usize, s: &Service, out: &mut AgentOutput| {
        let name = unique_name(index, s);
        out.local_check(&LocalCheck {
            cached: s.cached,
            state: s.state,
            service: &name,
            metrics: &s.metrics,
            summary: &s.summary,
            details: &s.details,
            note: s.note.as_deref(),
        });
    };
    for (index, s) in own.iter().enumerate() {
        check(index, s, &mut out);
    }
    for (h, (host, services)) in hosts.iter().enumerate() {
        out.begin_host(&format!("h{h}-{host}"));
        for (index, s) in services.iter().enumerate() {
            check(index, s, &mut out);
        }
        out.end_host();
    }
    out.finish()
}

fn expected_service_name(name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| {
            if "\"';$".contains(c) || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    if name.is_empty() {
        "_".to_string()
    } else {
        name
    }
}

fn expected_metrics(metrics: &[Metric]) -> Vec<ParsedMetric> {
    let finite = |v: Option<f64>| v.filter(|v| v.is_finite());
    let mut expected: Vec<ParsedMetric> = Vec::new();
    for m in metrics.iter().filter(|m| m.value.is_finite()) {
        let name: String = m
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let name = if name.is_empty() {
            "_".to_string()
        } else {
            name
        };
        if expected.iter().any(|e| e.name == name) {
            continue;
        }
        expected.push(ParsedMetric {
            name,
            value: m.value,
            upper: (finite(m.upper.warn), finite(m.upper.crit)),
            lower: (finite(m.lower.warn), finite(m.lower.crit)),
            min: finite(m.min),
            max: finite(m.max),
        });
    }
    expected
}

fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn expected_texts(s: &Service) -> (String, Vec<String>) {
    let summary = one_line(&s.summary).trim().to_string();
    let summary = if summary.is_empty() {
        "-".to_string()
    } else {
        summary
    };
    let mut details = Vec::new();
    for block in [s.details.as_str(), s.note.as_deref().unwrap_or("")] {
        let lines: Vec<String> = block
            .split('\n')
            .map(|l| one_line(l).trim_end().to_string())
            .collect();
        let first = lines.iter().position(|l| !l.is_empty());
        let last = lines.iter().rposition(|l| !l.is_empty());
        if let (Some(first), Some(last)) = (first, last) {
            details.extend_from_slice(&lines[first..=last]);
        }
    }
    (summary, details)
}

fn check_host(parsed: &[checkd_checkmk::validate::ParsedLine], services: &[Service]) {
    assert_eq!(parsed.len(), services.len());
    for (index, (line, s)) in parsed.iter().zip(services).enumerate() {
        assert_eq!(line.service, expected_service_name(&unique_name(index, s)));
        assert_eq!(line.state, ParsedState::Fixed(s.state));
        let cached = s.cached.filter(|c| c.produced_s >= 0);
        assert_eq!(
            line.cached,
            cached.map(|c| (c.produced_s, c.interval_s.max(1)))
        );
        assert_eq!(line.metrics, expected_metrics(&s.metrics));
        let texts = [
            s.summary.as_str(),
            &s.details,
            s.note.as_deref().unwrap_or(""),
        ];
        // A backslash may form a literal \n, which Checkmk reads as a line break too.
        if !texts.iter().any(|t| t.contains('\\')) {
            assert_eq!(
                (line.summary.clone(), line.details.clone()),
                expected_texts(s)
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn rendered_output_is_valid_and_reads_back((own, hosts) in output()) {
        let text = render(&own, &hosts);
        let parsed = match validate_agent_output(&text) {
            Ok(parsed) => parsed,
            Err(problems) => panic!("{text:?} is invalid: {problems:?}"),
        };
        prop_assert_eq!(parsed.hosts.len(), 1 + hosts.len());
        check_host(&parsed.hosts[0].services, &own);
        for (h, (host, services)) in hosts.iter().enumerate() {
            let parsed_host = &parsed.hosts[h + 1];
            prop_assert_eq!(parsed_host.name.clone(), Some(coerce_host_name(&format!("h{h}-{host}"))));
            check_host(&parsed_host.services, services);
        }
    }

    #[test]
    fn coerced_host_names_are_valid_and_valid_names_stay(name in text()) {
        let coerced = coerce_host_name(&name);
        prop_assert_eq!(validate_host_name(&coerced), Ok(()));
        prop_assert_eq!(coerce_host_name(&coerced), coerced.clone());
        if validate_host_name(&name).is_ok() {
            prop_assert_eq!(coerced, name);
        }
    }
}
