//! The real Monitoring Plugins against local servers on 127.0.0.1.

use checkd_model::State;

use super::*;

#[tokio::test]
async fn check_dummy_exit_code_is_the_state() {
    let cases = [
        ("0", State::Ok, "OK: all is well"),
        ("1", State::Warn, "WARNING: all is well"),
        ("2", State::Crit, "CRITICAL: all is well"),
        ("3", State::Unknown, "UNKNOWN: all is well"),
    ];
    for (code, state, summary) in cases {
        let got = service(&spec(plugin("check_dummy"), &[code, "all is well"])).await;
        assert_eq!(
            (
                got.state,
                got.summary.as_str(),
                got.details.as_str(),
                got.metrics.len()
            ),
            (state, summary, "", 0),
            "check_dummy {code}"
        );
    }
}

#[tokio::test]
async fn check_tcp_ok_against_a_listener_crit_when_refused() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let accept = tokio::spawn(async move {
        loop {
            if listener.accept().await.is_err() {
                break;
            }
        }
    });
    let got = service(&spec(
        plugin("check_tcp"),
        &["-H", "127.0.0.1", "-p", &port],
    ))
    .await;
    assert_eq!(got.state, State::Ok, "{got:?}");
    assert!(got.summary.starts_with("TCP OK - "), "{got:?}");
    assert_eq!(got.metrics.len(), 1, "{got:?}");
    let time = &got.metrics[0];
    assert_eq!(
        (time.name.as_str(), time.min, time.max),
        ("time", Some(0.0), Some(10.0))
    );
    assert!((0.0..1.0).contains(&time.value), "{time:?}");
    accept.abort();

    // A port nothing listens on: bind one, then free it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port().to_string();
    drop(closed);
    let got = service(&spec(
        plugin("check_tcp"),
        &["-H", "127.0.0.1", "-p", &port],
    ))
    .await;
    assert_eq!(got.state, State::Crit, "{got:?}");
    assert!(got.summary.contains("Connection refused"), "{got:?}");
}

#[tokio::test]
async fn check_http_against_a_local_server_gives_seconds_and_bytes() {
    let body = "x".repeat(1234);
    let app = axum::Router::new().route(
        "/health",
        axum::routing::get(move || {
            let body = body.clone();
            async move { body }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let args = [
        "-H",
        "127.0.0.1",
        "-p",
        &port,
        "-u",
        "/health",
        "-w",
        "5",
        "-c",
        "9",
    ];
    let got = service(&spec(plugin("check_http"), &args)).await;
    assert_eq!(got.state, State::Ok, "{got:?}");
    assert!(
        got.summary.starts_with("HTTP OK: HTTP/1.1 200 OK - "),
        "{got:?}"
    );
    let names: Vec<&str> = got.metrics.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["time", "size"], "{got:?}");
    let (time, size) = (&got.metrics[0], &got.metrics[1]);
    assert!((0.0..5.0).contains(&time.value), "{time:?}");
    // check_http writes `-w 5 -c 9` as the ranges `5` and `9` (= `0:5`, `0:9`: alert below 0
    // or above 5 / 9); they arrive as levels of the same meaning: lower 0, upper just above.
    assert_eq!(
        (
            time.upper.warn,
            time.upper.crit,
            time.lower.warn,
            time.lower.crit
        ),
        (
            Some(5.0_f64.next_up()),
            Some(9.0_f64.next_up()),
            Some(0.0),
            Some(0.0)
        ),
        "{time:?}"
    );
    // size counts the whole response, headers included: more than the body.
    assert!(size.value > 1234.0, "{size:?}");
    assert_eq!(size.min, Some(0.0));
    server.abort();
}
