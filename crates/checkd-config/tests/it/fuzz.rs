//! Random damage to valid files: the loader never panics, and every rejection points at a
//! real position with a one-line message.

use proptest::prelude::*;
use proptest::sample::Index;

use crate::fixture::{Tree, CONFIG};

/// A check file that uses most of the schema.
const RICH: &str = r#"checks:
  - &base
    name: "Orders ${environment}"
    id: orders
    environments: [prod, staging]
    datasource: orders
    cache_for: 5m
    timeout: 3s
    stale_after: 30m
    labels: {team: orders, region: "${region}"}
    request:
      method: GET
      path: /health
      headers: {Accept: application/json}
      body: '{"q": 1}'
    expect:
      status: [200, 204]
      body: [{contains: ok}, {not_contains: error, state: warn}, {matches: "^v\\d"}]
      headers: {content-type: {contains: json}}
      response_time: {warn: 500ms, crit: 2s}
      json:
        - {path: status, equals: ok}
        - {path: items, length: true, ge: 1}
        - {path: maintenance, exists: false, state: warn}
    metrics:
      - {name: depth, json: queue.depth, levels: {warn: 500, crit: 1000}, min: 0, max: 5000}
      - {name: workers, json: workers, length: true, lower_levels: {warn: 2, crit: 1}}
      - {name: rt, from: response_time}
    summary: {ok: "Orders API healthy"}
    foreach:
      path: workers
      suffix: " worker {item.name}"
      expect: {json: [{path: busy, equals: false}]}
      metrics: [{name: load, json: load, levels: {warn: 0.8, crit: 0.95}}]
      summary: {ok: idle}
  - <<: *base
    name: Report
    id: report
    cache_for: ~
    schedule: "0 9 * * 1-5"
    timezone: Europe/Berlin
    grace: 10m
    stale_after: ~
    foreach: ~
"#;

#[derive(Clone, Debug)]
enum Mutation {
    DeleteChar(Index),
    InsertChar(Index, char),
    DuplicateChar(Index),
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    SwapValues(Index, Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let chars: Vec<char> = ":-[]{}\"'#&*!|>%@`,? \n\t$\\.0aZü{}".chars().collect();
    prop_oneof![
        any::<Index>().prop_map(Mutation::DeleteChar),
        (any::<Index>(), proptest::sample::select(chars))
            .prop_map(|(i, c)| Mutation::InsertChar(i, c)),
        any::<Index>().prop_map(Mutation::DuplicateChar),
        any::<Index>().prop_map(Mutation::DeleteLine),
        any::<Index>().prop_map(Mutation::DuplicateLine),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapValues(a, b)),
    ]
}

fn apply(text: &str, mutation: &Mutation) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let joined = |lines: Vec<String>| lines.join("\n") + "\n";
    match mutation {
        Mutation::DeleteChar(i) if !chars.is_empty() => {
            chars.remove(i.index(chars.len()));
        }
        Mutation::InsertChar(i, c) => chars.insert(i.index(chars.len() + 1), *c),
        Mutation::DuplicateChar(i) if !chars.is_empty() => {
            let at = i.index(chars.len());
            chars.insert(at, chars[at]);
        }
        Mutation::DeleteLine(i) if !lines.is_empty() => {
            lines.remove(i.index(lines.len()));
            return joined(lines);
        }
        Mutation::DuplicateLine(i) if !lines.is_empty() => {
            let at = i.index(lines.len());
            lines.insert(at, lines[at].clone());
            return joined(lines);
        }
        Mutation::SwapLines(a, b) if !lines.is_empty() => {
            let (a, b) = (a.index(lines.len()), b.index(lines.len()));
            lines.swap(a, b);
            return joined(lines);
        }
        Mutation::SwapValues(a, b) => {
            let with_value: Vec<usize> = (0..lines.len())
                .filter(|&i| lines[i].contains(": "))
                .collect();
            if !with_value.is_empty() {
                let (a, b) = (
                    with_value[a.index(with_value.len())],
                    with_value[b.index(with_value.len())],
                );
                let split = |line: &str| {
                    line.split_once(": ")
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                };
                if let (Some((ka, va)), Some((kb, vb))) = (split(&lines[a]), split(&lines[b])) {
                    lines[a] = format!("{ka}: {vb}");
                    lines[b] = format!("{kb}: {va}");
                }
            }
            return joined(lines);
        }
        _ => {}
    }
    chars.into_iter().collect()
}

fn shipped(path: &str) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// The file sets the mutations start from: (config, check files).
fn seeds() -> Vec<(String, Vec<(&'static str, String)>)> {
    let shipped_config =
        shipped("../../config/checkd.yaml").replace("checks: [../checks]", "checks: [checks]");
    vec![
        (
            shipped_config,
            vec![("checks/self.yaml", shipped("../../checks/self.yaml"))],
        ),
        (
            CONFIG.to_string(),
            vec![("checks/rich.yaml", RICH.to_string())],
        ),
    ]
}

#[test]
fn seeds_are_valid() {
    for (config, checks) in seeds() {
        let mut files: Vec<(&str, &str)> = vec![("checkd.yaml", &config)];
        files.extend(checks.iter().map(|(p, t)| (*p, t.as_str())));
        let tree = Tree::new(&files);
        if let Err(diagnostics) = tree.load_with(None, &[("ORDERS_TOKEN", "t")]) {
            panic!("seed does not load:\n{diagnostics}");
        }
    }
}

/// 1500 cases with a fixed seed, so CI is repeatable; `PROPTEST_CASES=50000
/// PROPTEST_RNG_SEED=$RANDOM cargo test -p checkd-config fuzz` explores further.
fn fuzz_config() -> ProptestConfig {
    let mut config = ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 1500;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = proptest::test_runner::RngSeed::Fixed(0x00c0_ffee);
    }
    config
}

proptest! {
    #![proptest_config(fuzz_config())]

    #[test]
    fn damaged_files_never_panic_and_point_at_real_positions(
        seed in any::<Index>(),
        target in any::<Index>(),
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        let seeds = seeds();
        let (config, checks) = &seeds[seed.index(seeds.len())];
        let mut texts: Vec<(&str, String)> = vec![("checkd.yaml", config.clone())];
        texts.extend(checks.iter().cloned());
        let at = target.index(texts.len());
        for m in &mutations {
            texts[at].1 = apply(&texts[at].1, m);
        }
        let files: Vec<(&str, &str)> = texts.iter().map(|(p, t)| (*p, t.as_str())).collect();
        let tree = Tree::new(&files);
        if let Err(diagnostics) = tree.load_with(None, &[("ORDERS_TOKEN", "t")]) {
            prop_assert!(!diagnostics.0.is_empty());
            for d in &diagnostics.0 {
                let line_count = texts.iter().find(|(p, _)| tree.dir.path().join(p) == d.file).map(|(_, t)| t.lines().count());
                prop_assert!(line_count.is_some(), "{d} names a file that was not written");
                prop_assert!(d.line >= 1 && d.column >= 1, "{d}");
                prop_assert!(d.line <= line_count.unwrap_or(0).max(1) + 1, "{d} is past the end");
                prop_assert!(!d.message.is_empty() && !d.to_string().contains('\n'), "{d:?}");
            }
        }
    }
}
