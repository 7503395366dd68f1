//! The other ways to Checkmk: spool files (atomic, per host, stale ones removed) and
//! watchpost's section for teams migrating from watchpost.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use checkd_checkmk::validate::validate_agent_output;
use checkd_model::State;

use crate::target::Target;
use crate::util::{free_port, run, stderr, stdout, Daemon};

const CHECKS: &str = "checks:\n  - {name: Spooled, environments: [prod], datasource: shop, cache_for: 1h, request: {path: /orders/health}, summary: {ok: fine}, labels: {team: shop}}\n";

fn spool_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn spool_files_are_valid_replaced_atomically_and_follow_the_hosts() {
    let target = Target::start();
    let port = free_port();
    let with_spool = crate::shop_config(&target, port).output("spool", "{dir: spool, every: 50ms}");
    let dir = crate::fixture_with(&with_spool, CHECKS);
    let spool = dir.path().join("spool");
    std::fs::create_dir(&spool).unwrap();
    let daemon = Daemon::start(&dir, SocketAddr::from(([127, 0, 0, 1], port)));
    daemon.wait_until("spooling the result", |_| {
        std::fs::read_to_string(spool.join("1_checkd_shop-prod.txt"))
            .is_ok_and(|t| t.contains("\"Spooled\" - fine"))
    });
    assert_eq!(
        spool_names(&spool),
        vec!["1_checkd.txt", "1_checkd_shop-prod.txt"]
    );

    // Race a reader against the writer (every 50 ms) for 2 s: every read is a whole, valid file.
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut reads = 0;
    while Instant::now() < deadline {
        for name in ["1_checkd.txt", "1_checkd_shop-prod.txt"] {
            let text = std::fs::read_to_string(spool.join(name)).expect("the file is always there");
            validate_agent_output(&text)
                .unwrap_or_else(|p| panic!("{name} invalid: {p:?}\n{text}"));
            reads += 1;
        }
    }
    assert!(reads > 100, "only {reads} reads");
    let host = std::fs::read_to_string(spool.join("1_checkd_shop-prod.txt")).unwrap();
    assert!(
        host.starts_with("<<<<shop-prod>>>>\n<<<local:sep(0)>>>\n") && host.ends_with("<<<<>>>>\n"),
        "{host}"
    );

    // The environment's host changes: its file follows, the old one goes.
    with_spool
        .environment("prod", "store-${environment}")
        .write(&dir);
    daemon.signal("HUP");
    daemon.wait_until("spooling the new host", |_| {
        spool_names(&spool) == vec!["1_checkd.txt", "1_checkd_store-prod.txt"]
    });
    let status = daemon.terminate(Duration::from_secs(15));
    assert!(status.success());
}

#[test]
fn the_watchpost_option_delivers_watchpost_lines_instead_of_local_checks() {
    let target = Target::start();
    let config = crate::shop_config(&target, free_port()).output("watchpost", "true");
    let dir = crate::fixture_with(&config, CHECKS);
    let out = run(
        dir.checkd(&["once", "--format", "checkmk"]),
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let parsed = validate_agent_output(&text).unwrap_or_else(|p| panic!("{p:?}\n{text}"));
    let host = parsed.host(Some("shop-prod")).expect("piggyback host");
    assert!(host.services.is_empty(), "no local checks: {text}");
    let [service] = &host.watchpost[..] else {
        panic!("one watchpost line: {text}")
    };
    assert_eq!(
        (
            service.service.as_str(),
            service.state,
            service.summary.as_str()
        ),
        ("Spooled", State::Ok, "fine")
    );
    assert_eq!(
        (
            service.environment.as_str(),
            service.labels.get("team").map(String::as_str)
        ),
        ("prod", Some("shop"))
    );
    // checkd's own service stays a local check on the daemon's host.
    assert!(parsed.service(None, "checkd").is_some(), "{text}");
}
