//! OAuth2 through the binary, against a real token endpoint (npm `oauth2-mock-server`) and an
//! API that takes only its tokens: twenty checks share one token; when the endpoint goes
//! away and the token is refused, every check serves its last result with a note; and
//! neither the client secret nor a token shows in any output or log line.

use std::net::SocketAddr;
use std::time::Duration;

use crate::config::DaemonConfig;
use crate::oauth_servers::{Api, TokenServer};
use crate::util::{free_port, run, stderr, stdout, Daemon, Dir};

const CLIENT: &str = "checkd-monitor";
const SECRET: &str = "cl13nt-s3cret-of-checkd";
const CHECKS: usize = 20;

fn config(dir: &Dir, api: &Api, token_url: &str, listen: u16) {
    dir.write("client-secret", &format!("{SECRET}\n"));
    let auth = format!(
        "{{type: oauth2, token_url: \"{token_url}\", client_id: {CLIENT}, \
         client_secret: {{file: client-secret}}, scopes: [orders.read]}}"
    );
    DaemonConfig::new()
        .environment("prod", "orders-prod")
        .datasource(
            "orders",
            &[
                ("type", "http"),
                ("base_url", &format!("\"{}\"", api.url)),
                ("max_concurrency", &CHECKS.to_string()),
                ("timeout", "5s"),
                ("auth", &auth),
            ],
        )
        .listen(listen)
        .layers(&["{type: memory}"])
        .write(dir);
    let checks: String = (1..=CHECKS)
        .map(|n| {
            format!(
                "  - {{name: Orders {n}, environments: [prod], datasource: orders, cache_for: 1s, request: {{path: \"?n={n}\"}}}}\n"
            )
        })
        .collect();
    dir.write("checks/orders.yaml", &format!("checks:\n{checks}"));
}

/// The agent output lines of the twenty checks.
fn order_lines(body: &str) -> Vec<String> {
    body.lines()
        .filter(|line| line.contains("\"Orders "))
        .map(str::to_string)
        .collect()
}

#[test]
fn oauth2_checks_share_a_token_keep_their_last_result_when_it_fails_and_leak_nothing() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (mut tokens, api) = runtime.block_on(async {
        (
            TokenServer::start(CLIENT, SECRET, 3600).await,
            Api::start().await,
        )
    });
    let port = free_port();
    let dir = Dir::new();
    config(&dir, &api, &tokens.token_url, port);
    let mut printed = String::new();

    let mut once = dir.checkd(&["once", "--format", "json"]);
    once.env("CHECKD_LOG", "debug");
    let out = run(once, Duration::from_secs(60));
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(
        json.to_string().matches("\"state\":\"OK\"").count(),
        CHECKS,
        "{json}"
    );
    printed += &stdout(&out);
    printed += &stderr(&out);
    assert_eq!(tokens.issued(), 1, "once: one token for {CHECKS} checks");

    let mut cmd = dir.checkd(&["run"]);
    cmd.env("CHECKD_LOG", "debug");
    let daemon = Daemon::spawn(cmd, SocketAddr::from(([127, 0, 0, 1], port)));
    daemon.wait_until("serving every check OK", |d| {
        d.get("/").is_some_and(|(_, body)| {
            let lines = order_lines(&body);
            lines.len() == CHECKS && lines.iter().all(|l| l.contains(" 0 \"Orders "))
        })
    });
    assert_eq!(
        tokens.issued(),
        2,
        "the daemon: one more token for all its runs"
    );

    // The endpoint goes away and the API refuses the token: each check needs a new one and
    // cannot get it, so it keeps its last result and says why.
    runtime.block_on(tokens.stop());
    api.revoke_all();
    let endpoint = format!("POST {}", tokens.token_url);
    daemon.wait_until("serving last results with a note", |d| {
        d.get("/").is_some_and(|(_, body)| {
            let lines = order_lines(&body);
            lines.len() == CHECKS
                && lines.iter().all(|l| {
                    l.contains(" 0 \"Orders ")
                        && l.contains("datasource unavailable since")
                        && l.contains(&format!(
                            "token request failed: connection refused ({endpoint})"
                        ))
                })
        })
    });
    let (_, body) = daemon.get("/").unwrap();
    checkd_checkmk::validate::validate_agent_output(&body).expect("valid agent output");
    let (_, metrics) = daemon.get("/metrics").unwrap();
    let fetches: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("checkd_token_fetches_total "))
        .and_then(|v| v.parse().ok())
        .expect("checkd_token_fetches_total");
    assert!(fetches >= 2, "{metrics}");
    for path in ["/", "/api/v1/results", "/metrics", "/api/v1/status"] {
        printed += &daemon.get(path).map(|(_, body)| body).unwrap_or_default();
    }
    let (status, log) = daemon.terminate_with_log(Duration::from_secs(15));
    assert!(status.success());
    assert!(log.contains("OAuth2 token request failed"), "{log}");
    printed += &log;

    let seen = api.tokens();
    assert_eq!(seen.len(), 2);
    for secret in std::iter::once(SECRET).chain(seen.iter().map(String::as_str)) {
        assert!(
            !printed.contains(secret),
            "a secret or token was printed: {secret}"
        );
    }
}
