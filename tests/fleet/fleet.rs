//! Three `checkd run` processes, one real `redis-server`, 300 checks against a local target
//! that records every request: each check runs once per interval across the fleet, the runs
//! spread, every instance serves every result; after a `kill -9` the others take over
//! without a gap; without Redis everyone runs everything, and deduplication resumes when it
//! is back. Prints the ratios the README's scaling section quotes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::routing::get;
use axum::Router;

use crate::config::DaemonConfig;
use crate::redis::RedisServer;
use crate::util::{free_port, Daemon, Dir};

const CHECKS: usize = 300;
const INTERVAL_MS: i64 = 2_000;
const INSTANCES: [&str; 3] = ["a", "b", "c"];

/// A target that notes which check asked (`?n=`) and when (Unix ms).
#[derive(Clone, Default)]
struct Recorder {
    arrivals: Arc<Mutex<Vec<(usize, i64)>>>,
}

impl Recorder {
    fn start(runtime: &tokio::runtime::Runtime) -> (Recorder, String) {
        let recorder = Recorder::default();
        let app = Router::new()
            .route("/c", get(record))
            .with_state(recorder.clone());
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(async move { axum::serve(listener, app).await.unwrap() });
        (recorder, format!("http://{addr}"))
    }

    /// Requests per check that arrived in `[from_ms, to_ms)`.
    fn per_check(&self, from_ms: i64, to_ms: i64) -> Vec<usize> {
        let mut counts = vec![0; CHECKS];
        for &(n, at) in self.arrivals.lock().unwrap().iter() {
            if (from_ms..to_ms).contains(&at) && n < CHECKS {
                counts[n] += 1;
            }
        }
        counts
    }
}

async fn record(
    State(recorder): State<Recorder>,
    Query(q): Query<HashMap<String, usize>>,
) -> &'static str {
    let n = q.get("n").copied().unwrap_or(usize::MAX);
    recorder.arrivals.lock().unwrap().push((n, now_ms()));
    "{\"ok\": true}"
}

fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// Sleeps until the next slot boundary (a multiple of the interval) and returns it.
fn next_boundary() -> i64 {
    let now = now_ms();
    let boundary = (now / INTERVAL_MS + 1) * INTERVAL_MS;
    std::thread::sleep(Duration::from_millis(
        u64::try_from(boundary - now).unwrap(),
    ));
    boundary
}

/// Counts every check's requests over `intervals` whole intervals from the next boundary.
fn measure(recorder: &Recorder, intervals: i64) -> Vec<usize> {
    let from = next_boundary();
    let to = from + intervals * INTERVAL_MS;
    // Late requests of the last slot land within a second.
    std::thread::sleep(Duration::from_millis(
        u64::try_from(to - now_ms()).unwrap() + 1_000,
    ));
    recorder.per_check(from, to)
}

fn ratio(counts: &[usize], intervals: i64) -> f64 {
    counts.iter().sum::<usize>() as f64 / (CHECKS as f64 * intervals as f64)
}

fn instance(redis: &RedisServer, target: &str, name: &str) -> (Dir, Daemon) {
    let dir = Dir::new();
    let port = free_port();
    DaemonConfig::new()
        .environment("prod", "shop")
        .datasource(
            "shop",
            &[
                ("type", "http"),
                ("base_url", &format!("\"{target}\"")),
                ("max_concurrency", "64"),
                ("timeout", "1s"),
            ],
        )
        .scheduler("splay", "0.25")
        .scheduler(
            "fleet",
            &format!("{{instance: {name}, fallback_after: 500ms, heartbeat: 1s}}"),
        )
        .listen(port)
        .layers(&[
            "{type: memory}",
            &format!(
                "{{type: redis, url: \"{}\", infix: fleet, command_timeout: 200ms}}",
                redis.url()
            ),
            "{type: sled, path: state}",
        ])
        .write(&dir);
    let checks: String = (0..CHECKS)
        .map(|n| {
            format!("  - {{name: Check {n}, environments: [prod], datasource: shop, cache_for: 2s, request: {{path: \"/c?n={n}\"}}}}\n")
        })
        .collect();
    dir.write("checks/c.yaml", &format!("checks:\n{checks}"));
    let daemon = Daemon::spawn(
        dir.checkd(&["run"]),
        SocketAddr::from(([127, 0, 0, 1], port)),
    );
    (dir, daemon)
}

/// Services of the 300 checks in `GET /` that are OK.
fn ok_checks(daemon: &Daemon) -> usize {
    daemon.get("/").map_or(0, |(_, body)| {
        body.lines()
            .filter(|l| l.contains(" 0 \"Check ") && !l.contains("unavailable"))
            .count()
    })
}

/// `GET /api/v1/fleet` of `daemon`.
fn fleet_view(daemon: &Daemon) -> serde_json::Value {
    let (status, body) = daemon.get("/api/v1/fleet").expect("fleet view");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("json")
}

/// Runs since start per instance, as the heartbeats `daemon` reads say.
fn runs_by_instance(daemon: &Daemon) -> HashMap<String, u64> {
    let view = fleet_view(daemon);
    view["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["instance"].as_str().unwrap().to_string(),
                m["runs_total"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn three_instances_run_each_check_once_per_interval_and_survive_a_crash_and_redis_going_away() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (recorder, target) = Recorder::start(&runtime);
    let redis = RedisServer::start();
    let mut fleet: Vec<(Dir, Daemon)> = INSTANCES
        .iter()
        .map(|name| instance(&redis, &target, name))
        .collect();
    for (_, daemon) in &fleet {
        daemon.wait_until("serving all 300 results", |d| ok_checks(d) == CHECKS);
    }
    fleet[0].1.wait_until("seeing three instances", |d| {
        fleet_view(d)["members"]
            .as_array()
            .is_some_and(|m| m.len() == 3)
    });

    // Steady state: once per interval across the fleet, spread over the instances. The
    // run counts come from heartbeats (every second): wait until they include start-up.
    std::thread::sleep(Duration::from_millis(2_500));
    let before = runs_by_instance(&fleet[0].1);
    let counts = measure(&recorder, 4);
    let after = runs_by_instance(&fleet[0].1);
    let steady = ratio(&counts, 4);
    let runs: Vec<u64> = INSTANCES.iter().map(|i| after[*i] - before[*i]).collect();
    let total: u64 = runs.iter().sum();
    let top_share = *runs.iter().max().unwrap() as f64 / total as f64;
    eprintln!(
        "fleet steady state: target requests / expected = {steady:.3}, runs per instance {runs:?}"
    );
    assert!(
        counts.iter().all(|&c| c == 4),
        "every check once per interval: {counts:?}"
    );
    assert!(
        top_share <= 0.6,
        "no instance does more than 60 %: {runs:?}"
    );
    for (_, daemon) in &fleet {
        assert_eq!(
            ok_checks(daemon),
            CHECKS,
            "every instance serves every result"
        );
    }

    // kill -9 one instance: the others take its checks over within the same slot.
    let (_dir_c, mut c) = fleet.pop().unwrap();
    c.child.kill().unwrap();
    c.child.wait().unwrap();
    let counts = measure(&recorder, 4);
    let after_crash = ratio(&counts, 4);
    eprintln!("fleet after kill -9 of one instance: target requests / expected = {after_crash:.3}");
    assert!(
        counts.iter().all(|&c| c == 4),
        "still once per interval: {counts:?}"
    );

    // Redis goes away: both keep producing results, each on its own (duplicates allowed),
    // and say so.
    let port = redis.kill();
    let counts = measure(&recorder, 3);
    let without_redis = ratio(&counts, 3);
    eprintln!("fleet without Redis: target requests / expected = {without_redis:.3}");
    assert!(
        counts.iter().all(|&c| c >= 3),
        "every check keeps running: {counts:?}"
    );
    for (_, daemon) in &fleet {
        assert_eq!(ok_checks(daemon), CHECKS);
        let (_, body) = daemon.get("/").unwrap();
        assert!(body.contains("fleet: Redis unreachable"), "{body}");
    }

    // Redis is back: leases again, once per interval.
    let _redis = RedisServer::start_on(port);
    for (_, daemon) in &fleet {
        daemon.wait_until("leasing again", |d| {
            let view = fleet_view(d);
            view["shared_ok"] == true && view["members"].as_array().is_some_and(|m| m.len() == 2)
        });
    }
    let counts = measure(&recorder, 3);
    let back = ratio(&counts, 3);
    eprintln!("fleet with Redis back: target requests / expected = {back:.3}");
    assert!((0.98..=1.02).contains(&back), "{back}: {counts:?}");
    for (_, daemon) in &fleet {
        let (_, body) = daemon.get("/").unwrap();
        assert!(!body.contains("fleet: Redis unreachable"), "{body}");
    }
}
