//! The daemon's life: SIGHUP reloads (or keeps the old config), SIGTERM stops in order.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::target::Target;
use crate::util::{free_port, Daemon};

fn check(name: &str, path: &str, cache_for: &str, timeout: &str) -> String {
    format!(
        "  - {{name: \"{name}\", environments: [prod], datasource: shop, cache_for: {cache_for}, timeout: {timeout}, request: {{path: {path}}}, summary: {{ok: \"{name} fine\"}}}}\n"
    )
}

fn line<'a>(body: &'a str, service: &str) -> Option<&'a str> {
    body.lines().find(|l| l.contains(&format!("\"{service}\"")))
}

#[test]
fn sighup_with_a_broken_config_keeps_serving_and_logs_every_error() {
    let target = Target::start();
    let port = free_port();
    let checks = format!("checks:\n{}", check("Kept", "/orders/health", "1h", "5s"));
    let dir = crate::fixture(&target, port, &checks);
    let daemon = Daemon::start(&dir, SocketAddr::from(([127, 0, 0, 1], port)));
    daemon.wait_until("serving", |d| {
        d.get("/").is_some_and(|(_, b)| b.contains("Kept fine"))
    });
    let before = daemon.get("/").expect("GET /").1;

    dir.write(
        "checks/shop.yaml",
        "checks:\n  - name: Broken\n    environments: [prod]\n    bogus: 1\n",
    );
    dir.write(
        "checks/more.yaml",
        &format!(
            "checks:\n{}",
            check("Other", "/x", "1h", "5s").replace("shop", "shopp")
        ),
    );
    daemon.signal("HUP");
    daemon.wait_until("rejecting the reload", |d| {
        d.get("/")
            .is_some_and(|(_, b)| b.contains("reload rejected at "))
    });
    let after = daemon.get("/").expect("GET / after a rejected reload").1;
    assert_eq!(
        line(&after, "Kept"),
        line(&before, "Kept"),
        "the old result is still served"
    );
    assert!(line(&after, "Broken").is_none());
    let own = line(&after, "checkd").expect("self line");
    assert!(
        own.starts_with("1 \"checkd\" ") && own.contains("reload rejected at "),
        "{own}"
    );

    let (status, log) = daemon.terminate_with_log(Duration::from_secs(15));
    assert!(status.success());
    assert!(
        log.contains("reload rejected, the running config stays"),
        "{log}"
    );
    assert!(
        log.contains("checks/shop.yaml:4:5: checks[0].bogus: unknown key `bogus`"),
        "{log}"
    );
    assert!(
        log.contains("checks/more.yaml:2:"),
        "every error, in every file: {log}"
    );
}

#[test]
fn sighup_with_a_changed_config_adds_and_removes_services_and_keeps_the_others() {
    let target = Target::start();
    let port = free_port();
    let checks = format!(
        "checks:\n{}{}",
        check("Stays", "/orders/health", "1h", "5s"),
        check("Goes", "/orders/busy", "1h", "5s")
    );
    let dir = crate::fixture(&target, port, &checks);
    let daemon = Daemon::start(&dir, SocketAddr::from(([127, 0, 0, 1], port)));
    daemon.wait_until("serving", |d| {
        d.get("/")
            .is_some_and(|(_, b)| b.contains("Stays fine") && b.contains("Goes\""))
    });
    let stays_before = line(&daemon.get("/").expect("GET /").1, "Stays").map(str::to_string);
    let hits = target.hits();

    let checks = format!(
        "checks:\n{}{}",
        check("Stays", "/orders/health", "1h", "5s"),
        check("Arrives", "/orders/health", "1h", "5s")
    );
    dir.write("checks/shop.yaml", &checks);
    daemon.signal("HUP");
    daemon.wait_until("reloaded", |d| {
        d.get("/")
            .is_some_and(|(_, b)| b.contains("Arrives fine") && !b.contains("\"Goes\""))
    });
    let body = daemon.get("/").expect("GET /").1;
    assert_eq!(
        line(&body, "Stays").map(str::to_string),
        stays_before,
        "unchanged result kept as it was"
    );
    assert_eq!(target.hits(), hits + 1, "only the new check ran");
    let status = daemon.terminate(Duration::from_secs(15));
    assert!(status.success());
}

#[test]
fn sigterm_during_a_long_check_exits_0_within_the_deadline_and_results_survive() {
    let target = Target::start();
    let port = free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let checks = format!(
        "checks:\n{}{}",
        check("Quick", "/orders/health", "1h", "5s"),
        check("Long", "/slow", "1h", "20s")
    );
    let dir = crate::fixture(&target, port, &checks);
    let daemon = Daemon::start(&dir, addr);
    daemon.wait_until("serving", |d| {
        d.get("/").is_some_and(|(_, b)| b.contains("Quick fine"))
    });
    let started = Instant::now();
    let status = daemon.terminate(Duration::from_secs(15));
    assert!(status.success(), "{status:?}");
    // The long check hangs for 30 s; shutdown waits at most its 10 s deadline.
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "took {:?}",
        started.elapsed()
    );

    let daemon = Daemon::start(&dir, addr);
    let body = daemon.get("/").expect("GET /").1;
    assert!(
        line(&body, "Quick").is_some_and(|l| l.contains("Quick fine")),
        "{body}"
    );
    drop(daemon);
}

#[test]
fn a_second_sigterm_exits_at_once() {
    let target = Target::start();
    let port = free_port();
    let checks = format!("checks:\n{}", check("Long", "/slow", "1h", "20s"));
    let dir = crate::fixture(&target, port, &checks);
    // At info, the daemon logs when it starts shutting down.
    let mut run = dir.checkd(&["run"]);
    run.env("CHECKD_LOG", "info");
    let daemon = Daemon::spawn(run, SocketAddr::from(([127, 0, 0, 1], port)));
    daemon.wait_until("running the long check", |_| target.hits() == 1);
    daemon.signal("TERM");
    daemon.wait_until("shutting down", |d| d.log().contains("shutting down"));
    let started = Instant::now();
    let status = daemon.terminate(Duration::from_secs(5));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(status.code(), Some(1), "forced, not clean");
}

#[test]
fn sighup_lets_the_old_generations_runs_land_before_the_new_one_runs() {
    let target = Target::start();
    let port = free_port();
    let paced = |summary: &str| {
        format!(
            "checks:\n  - {{name: Paced, environments: [prod], datasource: shop, cache_for: 1h, timeout: 10s, request: {{path: /delay/1500}}, summary: {{ok: \"{summary}\"}}}}\n"
        )
    };
    let dir = crate::fixture(&target, port, &paced("before"));
    let daemon = Daemon::start(&dir, SocketAddr::from(([127, 0, 0, 1], port)));
    daemon.wait_until("running the check", |_| target.in_flight() == 1);

    // Changed while its run is in flight: the new generation runs it at once — after the old
    // run has landed, never beside it.
    dir.write("checks/shop.yaml", &paced("after"));
    daemon.signal("HUP");
    daemon.wait_until("serving the changed check", |d| {
        d.get("/")
            .is_some_and(|(_, b)| b.contains("\"Paced\" - after"))
    });
    // Had the new run started beside the old one, it would have overlapped it or joined its
    // request (identical requests in flight are shared).
    assert_eq!(target.hits(), 2, "the old run, then the new one");
    assert_eq!(target.max_in_flight(), 1, "the two runs overlapped");
    let status = daemon.terminate(Duration::from_secs(15));
    assert!(status.success());
}

#[test]
fn sighup_stops_waiting_for_the_old_generation_at_the_deadline() {
    let target = Target::start();
    let port = free_port();
    let checks = format!("checks:\n{}", check("Long", "/slow", "1h", "20s"));
    let dir = crate::fixture(&target, port, &checks);
    let mut run = dir.checkd(&["run"]);
    run.env("CHECKD_LOG", "warn");
    let daemon = Daemon::spawn(run, SocketAddr::from(([127, 0, 0, 1], port)));
    daemon.wait_until("running the long check", |_| target.in_flight() == 1);

    let checks = format!(
        "checks:\n{}{}",
        check("Long", "/slow", "1h", "20s"),
        check("Arrives", "/orders/health", "1h", "5s")
    );
    dir.write("checks/shop.yaml", &checks);
    let reloaded = Instant::now();
    daemon.signal("HUP");
    daemon.wait_until("serving the added check", |d| {
        d.get("/").is_some_and(|(_, b)| b.contains("Arrives fine"))
    });
    // The long check hangs for 30 s; the reload waits for it at most its 10 s deadline.
    let took = reloaded.elapsed();
    assert!(
        (Duration::from_secs(9)..Duration::from_secs(15)).contains(&took),
        "took {took:?}"
    );
    let (status, log) = daemon.terminate_with_log(Duration::from_secs(15));
    assert!(status.success());
    assert!(
        log.contains("reload: checks still running at the deadline were cut off"),
        "{log}"
    );
}
