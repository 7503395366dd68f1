//! The layered cache seen from outside: kill -9 and restart, results shared through a real
//! Redis between processes, Redis dying and coming back under a running daemon.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::redis::RedisServer;
use crate::target::Target;
use crate::util::{free_port, normalize, run, stderr, stdout, Daemon, Dir};

/// Hourly checks, each with its own URL: nothing is due again during a test, so any request
/// after the first round is a re-run that should not have happened.
fn hourly_checks(n: usize) -> String {
    let mut text = String::from("checks:\n");
    for i in 0..n {
        text.push_str(&format!(
            "  - {{name: \"Orders {i}\", environments: [prod], datasource: shop, cache_for: 1h, request: {{path: \"/orders/health?n={i}\"}}, summary: {{ok: \"fine {i}\"}}}}\n"
        ));
    }
    text
}

fn pending_or_missing(body: &str, n: usize) -> bool {
    body.contains("first run pending")
        || (0..n).any(|i| !body.contains(&format!("\"Orders {i}\" - fine {i}")))
}

#[test]
fn after_kill_9_a_restart_serves_every_fresh_result_at_once_without_rerunning() {
    let target = Target::start();
    let port = free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let dir = crate::fixture(&target, port, &hourly_checks(20));
    let daemon = Daemon::start(&dir, addr);
    daemon.wait_until("serving all results", |d| {
        d.get("/")
            .is_some_and(|(_, body)| !pending_or_missing(&body, 20))
    });
    let hits = target.hits();
    assert_eq!(hits, 20, "one request per check");
    // Every result is written to sled, which keeps it in its buffers until its flusher runs.
    daemon.wait_until("writing every result to sled", |d| {
        d.get("/api/v1/status").is_some_and(|(_, body)| {
            let status: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            status["cache"]["layers"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|layer| layer["layer"] == "sled" && layer["writes"].as_u64() >= Some(20))
        })
    });
    // sled's flusher then writes them to its files (every 100 ms); once all are there, kill.
    daemon.wait_until("flushing every result to sled's files", |_| {
        (0..20).all(|i| {
            let summary = format!("\"fine {i}\"");
            crate::util::files_contain(&dir.path().join("state"), summary.as_bytes())
        })
    });
    drop(daemon); // SIGKILL

    let daemon = Daemon::start(&dir, addr);
    // The first answer after start-up already lists every result.
    let (_, body) = daemon.get("/").expect("GET /");
    assert!(!pending_or_missing(&body, 20), "{body}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(target.hits(), hits, "no fresh result was re-run");
    let status = daemon.terminate(Duration::from_secs(15));
    assert!(status.success());
}

/// A config whose cache is memory → Redis (with `infix`) → nothing else.
fn redis_fixture(
    target: &Target,
    redis: &RedisServer,
    infix: &str,
    checks: &str,
) -> (Dir, SocketAddr) {
    let port = free_port();
    let redis = format!(
        "{{type: redis, url: \"{}\", infix: {infix}, command_timeout: 100ms}}",
        redis.url()
    );
    let config = crate::shop_config(target, port).layers(&["{type: memory}", &redis]);
    let dir = crate::fixture_with(&config, checks);
    (dir, SocketAddr::from(([127, 0, 0, 1], port)))
}

#[test]
fn results_written_by_one_process_are_served_by_another_through_redis() {
    let target = Target::start();
    let redis = RedisServer::start();
    let (first, _) = redis_fixture(&target, &redis, "team", &hourly_checks(3));
    let out = run(
        first.checkd(&["once", "--format", "checkmk"]),
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(target.hits(), 3);
    assert_eq!(redis.count_keys("checkd:team:v*:result/*"), 3);

    // Another process, another directory, the same Redis: it serves the fresh results.
    let (second, _) = redis_fixture(&target, &redis, "team", &hourly_checks(3));
    let again = run(
        second.checkd(&["once", "--format", "checkmk"]),
        Duration::from_secs(30),
    );
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(target.hits(), 3, "no check ran again");
    assert_eq!(normalize(&stdout(&again)), normalize(&stdout(&out)));

    // Another team's infix sees nothing of it.
    let (other, _) = redis_fixture(&target, &redis, "other", &hourly_checks(3));
    let out = run(other.checkd(&["once"]), Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(target.hits(), 6, "the other infix ran its own checks");
}

#[test]
fn redis_dying_under_a_running_daemon_delays_nothing_and_writes_resume_when_it_is_back() {
    let target = Target::start();
    let redis = RedisServer::start();
    let checks = "checks:\n  - {name: Fast, environments: [prod], datasource: shop, cache_for: 1s, request: {path: /orders/health}, summary: {ok: fine}}\n";
    let (dir, addr) = redis_fixture(&target, &redis, "live", checks);
    let daemon = Daemon::start(&dir, addr);
    daemon.wait_until("serving", |d| {
        d.get("/")
            .is_some_and(|(_, b)| b.contains("\"Fast\" - fine"))
    });
    assert_eq!(redis.count_keys("checkd:live:*"), 1);

    let port = redis.kill();
    // With Redis gone the check keeps running every second; every run still lands at once.
    let hits_at_kill = target.hits();
    let start = Instant::now();
    let mut slowest = Duration::ZERO;
    while start.elapsed() < Duration::from_secs(4) {
        let asked = Instant::now();
        let (status, body) = daemon.get("/").expect("GET / while Redis is down");
        slowest = slowest.max(asked.elapsed());
        assert_eq!(status, 200);
        assert!(body.contains("\"Fast\" - fine"), "{body}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        target.hits() >= hits_at_kill + 3,
        "checks kept running: {} → {}",
        hits_at_kill,
        target.hits()
    );
    assert!(
        slowest < Duration::from_millis(500),
        "GET / took {slowest:?} with Redis down"
    );

    // Redis back on the same port (empty): the layer recovers and writes resume.
    let redis = RedisServer::start_on(port);
    let deadline = Instant::now() + Duration::from_secs(15);
    while redis.count_keys("checkd:live:*") == 0 {
        assert!(Instant::now() < deadline, "writes to Redis did not resume");
        std::thread::sleep(Duration::from_millis(100));
    }
    daemon.wait_until("healthy again", |d| {
        d.get("/")
            .is_some_and(|(_, body)| body.lines().any(|l| l.starts_with("0 \"checkd\" ")))
    });
    let status = daemon.terminate(Duration::from_secs(15));
    assert!(status.success());
}

/// `n` checks of one request, `cache_for` each, on datasource `shop` with `response_cache_for`.
fn stampede_fixture(
    target: &Target,
    n: usize,
    cache_for: &str,
    share_for: &str,
) -> (Dir, SocketAddr) {
    let mut checks = String::from("checks:\n");
    for i in 0..n {
        checks.push_str(&format!(
            "  - {{name: \"Same {i}\", environments: [prod], datasource: shop, cache_for: {cache_for}, request: {{path: /orders/health}}, summary: {{ok: same}}}}\n"
        ));
    }
    let port = free_port();
    let config =
        crate::shop_config(target, port).datasource("shop", &[("response_cache_for", share_for)]);
    let dir = crate::fixture_with(&config, &checks);
    (dir, SocketAddr::from(([127, 0, 0, 1], port)))
}

#[test]
fn two_hundred_checks_of_one_endpoint_make_one_request_per_ttl_window() {
    let target = Target::start();
    // All at once: one request, 200 results.
    let (dir, _) = stampede_fixture(&target, 200, "1h", "10s");
    let out = run(
        dir.checkd(&["once", "--format", "json"]),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(rows.as_array().map(Vec::len), Some(200));
    assert_eq!(target.hits(), 1, "200 checks, one request");

    // A running daemon: all 200 expire every second, responses are shared for 2 s.
    let target = Target::start();
    let (dir, addr) = stampede_fixture(&target, 200, "1s", "2s");
    let daemon = Daemon::start(&dir, addr);
    let started = Instant::now();
    daemon.wait_until("serving", |d| {
        d.get("/")
            .is_some_and(|(_, b)| !b.contains("first run pending"))
    });
    std::thread::sleep(Duration::from_secs(5).saturating_sub(started.elapsed()));
    let windows = started.elapsed().as_secs_f64() / 2.0;
    let hits = target.hits() as f64;
    // One request per 2 s window (the first window opens at start-up), never one per check.
    assert!(
        hits >= windows.floor() && hits <= windows.ceil() + 1.0,
        "{hits} requests in {windows:.1} windows"
    );
    drop(daemon);
}
