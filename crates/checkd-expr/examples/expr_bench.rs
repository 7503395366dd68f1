//! The cost of expressions over a ~10 KB JSON body: converting the response once per run, then
//! each typical expression, as the minimum and median of repeated batches. Prints a markdown
//! table for BENCHMARKS.md.
//!
//! `cargo run --release -p checkd-expr --example expr_bench`

// A benchmark program: printing is its output and a panic is the right report of a broken setup.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]
#![allow(
    clippy::disallowed_methods,
    reason = "a benchmark measures real time, not the runtime's clock"
)]

use checkd_expr::{Expr, Names, Response, Run, Template};
use serde_json::json;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Batches per figure, and evaluations per batch.
const BATCHES: usize = 21;
const PER_BATCH: usize = 2_000;

fn body() -> serde_json::Value {
    let statuses = [
        "healthy", "healthy", "healthy", "degraded", "healthy", "healthy", "down",
    ];
    let teams = ["core", "data", "web"];
    let workers: Vec<_> = (0..40)
        .map(|i: usize| {
            let team = teams[i % 3];
            json!({
                "name": format!("worker-{i:02}"),
                "status": statuses[i % statuses.len()],
                "busy": i.is_multiple_of(3),
                "load": (i as f64) / 40.0,
                "host": format!("node-{:02}.eu-west-1.internal", i % 9),
                "uptime_s": 86_400 + i * 37,
                "labels": {"team": team, "zone": "eu-west-1a", "tier": "standard"},
                "version": format!("2.4.{}", i % 8),
            })
        })
        .collect();
    let mounts = ["/", "/var", "/var/lib/docker", "/home", "/srv/data", "/tmp"];
    let pcts = [71.5, 42.0, 93.25, 12.5, 88.0, 3.0];
    let disks: Vec<_> = mounts
        .iter()
        .enumerate()
        .map(|(i, m)| {
            json!({
                "mount": m,
                "device": format!("/dev/nvme0n1p{}", i + 1),
                "used_bytes": 10_000_000_000i64 * (i as i64 + 1) + 123_456,
                "size_bytes": 200_000_000_000i64,
                "used_pct": pcts[i],
            })
        })
        .collect();
    let clusters: Vec<_> = ["alpha", "beta", "gamma", "delta"]
        .iter()
        .enumerate()
        .map(|(ci, c)| {
            let nodes: Vec<_> = (0..5)
                .map(|n| json!({"name": format!("{c}-n{n}"), "ok": (ci + n) % 4 != 0}))
                .collect();
            json!({"name": c, "region": "eu-west-1", "nodes": nodes})
        })
        .collect();
    json!({
        "workers": workers,
        "jobs": {"total": 1200, "failed": 31, "running": 17, "queued": 4},
        "disks": disks,
        "last_success": "2026-12-06T03:00:00Z",
        "spec": {"replicas": 3},
        "status": {"readyReplicas": 2},
        "version": "2.4.7",
        "clusters": clusters,
        "components": {"db": {"status": "UP"}, "disk": {"status": "UP"}, "ping": {"status": "UP"}},
    })
}

/// Nanoseconds per call of `f`: (min, median) over the batches.
fn time(mut f: impl FnMut()) -> (f64, f64) {
    let mut per_call: Vec<f64> = (0..BATCHES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..PER_BATCH {
                f();
            }
            start.elapsed().as_nanos() as f64 / PER_BATCH as f64
        })
        .collect();
    per_call.sort_by(f64::total_cmp);
    (per_call[0], per_call[BATCHES / 2])
}

fn us((min, median): (f64, f64)) -> String {
    format!("{:.2} µs | {:.2} µs", min / 1000.0, median / 1000.0)
}

fn main() {
    let body = serde_json::to_vec(&body()).unwrap();
    let headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
    let variables = BTreeMap::from([("expected_version".to_owned(), "2.4.7".to_owned())]);
    let response = Response {
        status: 200,
        headers: &headers,
        body: &body,
        elapsed: Duration::from_millis(87),
        now: "2026-12-06T03:42:17Z".parse().unwrap(),
        environment: "prod",
        variables: &variables,
        json: true,
    };
    let names = Names::response().with("item").with("index");

    println!("body: {} bytes of JSON", body.len());
    println!();
    println!("| measure | min | median |");
    println!("|---|---|---|");
    let parse = time(|| {
        black_box(serde_json::from_slice::<serde_json::Value>(black_box(&body)).unwrap());
    });
    println!(
        "| for comparison: `serde_json::from_slice` into a `Value` | {} |",
        us(parse)
    );
    let convert = time(|| {
        let run = Run::new(black_box(&response), Run::DEFAULT_BUDGET);
        black_box(run.body_is_json());
    });
    println!(
        "| `Run::new`: parse and convert the body, bind the names (once per run) | {} |",
        us(convert)
    );

    let run = Run::new(&response, u64::MAX);
    let scope = run.scope();
    let expressions = [
        ("field comparison", "status == 200"),
        (
            "field comparison in the body",
            "body.status.readyReplicas < body.spec.replicas",
        ),
        (
            "string field against a variable",
            "body.version == env.vars.expected_version",
        ),
        (
            "arithmetic",
            "double(body.jobs.failed) * 100.0 / double(body.jobs.total)",
        ),
        ("sum over 6 items", "sum(body.disks.map(d, d.used_bytes))"),
        ("max over 6 items", "body.disks.map(d, d.used_pct).max()"),
        (
            "age of an RFC 3339 time",
            "(now - timestamp(body.last_success)).getSeconds()",
        ),
        (
            "regex match (cached)",
            "body.version.matches(\"^2\\\\.4\\\\.\")",
        ),
        (
            "capture (cached)",
            "capture(body.version, \"^(\\\\d+)\\\\.\")",
        ),
        (
            "exists over 40 objects (stops at the last)",
            "body.workers.exists(w, w.name == \"worker-39\")",
        ),
        (
            "filter over 40 objects",
            "body.workers.filter(w, w.status != \"healthy\").size()",
        ),
        (
            "flatten nested lists (4 × 5)",
            "body.clusters.map(c, c.nodes).flatten().size()",
        ),
        (
            "a list compared with a literal list",
            "body.clusters.map(c, c.name) == [\"alpha\", \"beta\", \"gamma\", \"delta\"]",
        ),
    ];
    for (what, source) in expressions {
        let Ok(expr) = Expr::compile(source, &names) else {
            continue;
        };
        let value = scope.eval(&expr).unwrap();
        let figure = time(|| {
            black_box(scope.eval(black_box(&expr)).is_ok());
        });
        println!("| {what}: `{source}` = {value} | {} |", us(figure));
    }

    let number = Expr::compile("body.jobs.failed", &names).unwrap();
    let figure = time(|| {
        black_box(scope.eval_number(black_box(&number)).unwrap());
    });
    println!(
        "| `eval_number` of a field: `body.jobs.failed` | {} |",
        us(figure)
    );

    let summary = Template::compile(
        "{body.jobs.failed} of {body.jobs.total} jobs failed",
        &names,
    )
    .unwrap();
    let figure = time(|| {
        black_box(scope.render(black_box(&summary)).unwrap());
    });
    println!("| template: `{}` | {} |", summary.source(), us(figure));

    let components = Expr::compile("body.components", &names).unwrap();
    let up = Expr::condition("item.value.status == \"UP\"", &names).unwrap();
    let figure = time(|| {
        let items = scope.items(&components).unwrap();
        for i in 0..items.len() {
            black_box(scope.with_item(&items, i).eval_bool(&up).unwrap());
        }
    });
    println!(
        "| foreach over 3 map entries, one condition each | {} |",
        us(figure)
    );

    for source in [
        "status == 200",
        "body.workers.filter(w, w.status != \"healthy\").size() > 3",
    ] {
        let compile = time(|| {
            black_box(Expr::condition(black_box(source), &names).unwrap());
        });
        println!("| compile (at load): `{source}` | {} |", us(compile));
    }
    let uncached = time(|| {
        let re = regex::Regex::new(black_box("^2\\.4\\.")).unwrap();
        black_box(re.is_match("2.4.7"));
    });
    println!("| for comparison: compiling `^2\\.4\\.` and matching once (what cel's own `matches` does per call) | {} |", us(uncached));

    // a runaway: 1,000 × 1,000 steps over a list of the response, stopped by the default budget
    let long = serde_json::to_vec(&json!({"list": (0..1000).collect::<Vec<_>>()})).unwrap();
    let runaway = Expr::compile("body.list.all(a, body.list.all(b, b >= 0))", &names).unwrap();
    let mut stopped = Vec::new();
    for _ in 0..5 {
        let response = Response {
            body: &long,
            ..response
        };
        let run = Run::new(&response, Run::DEFAULT_BUDGET);
        let start = Instant::now();
        let error = run.scope().eval(&runaway).unwrap_err();
        stopped.push(start.elapsed());
        assert!(error.message.contains("budget"), "{error}");
    }
    stopped.sort();
    println!(
        "| runaway `{}` over 1,000 ints, stopped by the default budget ({} steps) | {:.1} ms | {:.1} ms |",
        runaway.source(),
        Run::DEFAULT_BUDGET,
        stopped[0].as_secs_f64() * 1000.0,
        stopped[2].as_secs_f64() * 1000.0
    );
}
