//! Against real listeners on 127.0.0.1:0.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use checkd_model::{Levels, State};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::*;

/// How the test server treats each connection.
#[derive(Clone, Copy)]
enum Server {
    /// Writes this banner right away.
    Banner(&'static str),
    /// Reads one line and answers `+PONG` to `PING`, `-ERR unknown` to anything else.
    Ping,
    /// Accepts and never writes.
    Silent,
}

async fn serve(server: Server) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                match server {
                    Server::Banner(banner) => {
                        let _ = stream.write_all(banner.as_bytes()).await;
                    }
                    Server::Ping => {
                        let mut line = String::new();
                        let _ = stream.read_line(&mut line).await;
                        let answer = if line == "PING\r\n" {
                            "+PONG\r\n"
                        } else {
                            "-ERR unknown\r\n"
                        };
                        let _ = stream.write_all(answer.as_bytes()).await;
                    }
                    Server::Silent => {}
                }
                // Keep the connection open until the client is done with it.
                tokio::time::sleep(Duration::from_secs(10)).await;
            });
        }
    });
    address
}

fn spec(address: SocketAddr) -> TcpSpec {
    TcpSpec {
        host: address.ip().to_string(),
        port: address.port(),
        send: None,
        expect: None,
        connect_time: Levels::NONE,
        timeout: Duration::from_secs(5),
    }
}

fn labels() -> BTreeMap<String, String> {
    BTreeMap::from([("team".to_string(), "db".to_string())])
}

/// Runs the probe and returns (state, summary with the timing made stable, details).
async fn check(spec: &TcpSpec) -> (State, String, String) {
    let outcome = run(spec, "TCP db", &labels()).await;
    let Outcome::Evaluated(services) = outcome else {
        panic!("expected a result, got {outcome:?}");
    };
    assert_eq!(services.len(), 1);
    let service = &services[0];
    assert_eq!(service.service, "TCP db");
    assert_eq!(service.labels, labels());
    assert_eq!(service.metrics.len(), 1);
    let metric = &service.metrics[0];
    assert_eq!(metric.name, "connect_time");
    assert_eq!(metric.upper, spec.connect_time);
    assert!((0.0..1.0).contains(&metric.value), "{metric:?}");
    let ms = regex::Regex::new(r" in \d+ ms").unwrap();
    let stable = |text: &str| ms.replace_all(text, " in N ms").into_owned();
    (
        service.state,
        stable(&service.summary),
        stable(&service.details),
    )
}

#[tokio::test]
async fn a_port_that_answers_is_ok_with_its_connect_time() {
    let address = serve(Server::Banner("SSH-2.0-OpenSSH_9.6\r\n")).await;
    let (state, summary, details) = check(&spec(address)).await;
    let want = format!("connected to {address} in N ms");
    assert_eq!((state, summary), (State::Ok, want.clone()));
    assert_eq!(details, format!("[OK] {want}"));

    let banner = TcpSpec {
        expect: Some("SSH-2.0".to_string()),
        ..spec(address)
    };
    assert_eq!(
        check(&banner).await,
        (
            State::Ok,
            format!("{want}, first line contains \"SSH-2.0\""),
            format!("[OK] {want}\n[OK] first line contains \"SSH-2.0\""),
        )
    );
}

#[tokio::test]
async fn send_and_expect_judge_the_first_line_of_the_answer() {
    let address = serve(Server::Ping).await;
    let ping = |send: &str, expect: &str| TcpSpec {
        send: Some(send.to_string()),
        expect: Some(expect.to_string()),
        ..spec(address)
    };
    let connected = format!("connected to {address} in N ms");
    assert_eq!(
        check(&ping("PING\r\n", "+PONG")).await.1,
        format!("{connected}, first line contains \"+PONG\"")
    );
    assert_eq!(
        check(&ping("HELLO\r\n", "+PONG")).await,
        (
            State::Crit,
            "expected \"+PONG\" in the first line, got \"-ERR unknown\"".to_string(),
            format!(
                "[OK] {connected}\n[CRIT] expected \"+PONG\" in the first line, got \"-ERR unknown\""
            ),
        )
    );
}

#[tokio::test]
async fn connect_time_levels_are_upper_levels() {
    let address = serve(Server::Banner("hi\n")).await;
    let levels = |warn, crit| TcpSpec {
        connect_time: Levels { warn, crit },
        ..spec(address)
    };
    let connected = format!("connected to {address} in N ms");
    let cases = [
        (levels(None, Some(0.0)), State::Crit, " (crit at 0 ms)"),
        (levels(Some(0.0), Some(5.0)), State::Warn, " (warn at 0 ms)"),
        (levels(Some(5.0), Some(10.0)), State::Ok, ""),
    ];
    for (spec, state, crossed) in cases {
        let (got, summary, _) = check(&spec).await;
        assert_eq!((got, summary), (state, format!("{connected}{crossed}")));
    }
}

#[tokio::test]
async fn a_closed_port_is_unavailable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    assert_eq!(
        run(&spec(address), "TCP db", &labels()).await,
        Outcome::Unavailable(format!("connection refused ({address})"))
    );
}

#[allow(
    clippy::disallowed_methods,
    reason = "the timeout must hold in real time, not only in the runtime's clock"
)]
#[tokio::test]
async fn a_silent_port_is_crit_within_the_timeout() {
    let address = serve(Server::Silent).await;
    let silent = TcpSpec {
        expect: Some("220".to_string()),
        timeout: Duration::from_millis(300),
        ..spec(address)
    };
    let started = std::time::Instant::now();
    let (state, summary, _) = check(&silent).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        (state, summary.as_str()),
        (State::Crit, "no answer within 300ms (expected \"220\")")
    );
}

#[tokio::test]
async fn a_peer_that_closes_at_once_is_crit() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            drop(stream);
        }
    });
    let closing = TcpSpec {
        expect: Some("220".to_string()),
        ..spec(address)
    };
    let (state, summary, _) = check(&closing).await;
    assert_eq!(state, State::Crit);
    assert!(
        summary == "connection closed without an answer (expected \"220\")"
            || summary.starts_with("reading the answer failed: "),
        "{summary}"
    );
}
