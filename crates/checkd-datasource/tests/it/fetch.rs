//! Fetching against a real server on 127.0.0.1: what is evaluated, what is unavailable.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use checkd_datasource::Datasources;
use checkd_model::plan::{
    Datasource, Evaluation, Expect, HttpAuth, HttpDatasource, Job, JsonTest, Probe,
};
use checkd_model::Outcome;
use checkd_model::{Metric, Secret, State};
use regex::Regex;
use serde_json::json as value;

use crate::server::{self, MIB, STREAM_CHUNKS};
use crate::support::*;

fn spec(max_redirects: usize, max_body_bytes: u64) -> HttpDatasource {
    HttpDatasource {
        name: "api".to_string(),
        tls_verify: true,
        ca_file: None,
        max_redirects,
        max_body_bytes,
        max_concurrency: 4,
        response_cache_for: Duration::ZERO,
        auth: None,
    }
}

fn build(spec: HttpDatasource) -> Result<Datasources, checkd_datasource::BuildError> {
    Datasources::build(&BTreeMap::from([(
        "api".to_string(),
        Datasource::Http(spec),
    )]))
}

fn datasources(max_redirects: usize, max_body_bytes: u64) -> Datasources {
    build(spec(max_redirects, max_body_bytes)).unwrap()
}

fn get(url: &str, evaluation: Evaluation) -> Job {
    request_job("GET", url, Duration::from_secs(5), evaluation)
}

/// Runs the job, bounded so that a hanging client fails the test instead of blocking it.
async fn run(datasources: &Datasources, job: &Job) -> Outcome {
    tokio::time::timeout(Duration::from_secs(10), datasources.run(job))
        .await
        .unwrap()
}

fn crit(text: &str, details: &str) -> Outcome {
    Outcome::Evaluated(vec![svc(SERVICE, State::Crit, text, details)])
}

#[tokio::test]
async fn a_json_answer_is_evaluated() {
    let server = server::start().await;
    let evaluation = Evaluation {
        metrics: vec![json_metric("depth", "queue.depth")],
        ..Evaluation::default()
    };
    let Outcome::Evaluated(services) = run(
        &datasources(5, MIB as u64),
        &get(&server.url("/health"), evaluation),
    )
    .await
    else {
        panic!("not evaluated");
    };
    assert_eq!(services.len(), 1);
    let service = &services[0];
    assert_eq!(
        (service.service.as_str(), service.state),
        (SERVICE, State::Ok)
    );
    assert!(
        Regex::new(r"^HTTP 200 in \d+ ms, depth 3$")
            .unwrap()
            .is_match(&service.summary),
        "{}",
        service.summary
    );
    assert_eq!(service.details, "[OK] HTTP 200\n[OK] depth 3");
    assert_eq!(service.metrics, vec![Metric::new("depth", 3.0)]);
    assert_eq!(service.labels, labels());
}

#[tokio::test]
async fn an_error_status_is_a_crit_result_not_unavailable() {
    let server = server::start().await;
    let outcome = run(
        &datasources(5, MIB as u64),
        &get(&server.url("/down"), Evaluation::default()),
    )
    .await;
    assert_eq!(
        outcome,
        crit("HTTP 503 (expected 2xx)", "[CRIT] HTTP 503 (expected 2xx)")
    );
}

#[tokio::test]
async fn the_request_carries_method_headers_body_userinfo_and_our_user_agent() {
    let server = server::start().await;
    let url = format!("http://user:pass@{}/echo?token=secret", server.addr);
    let want = [
        ("method", value!("POST")),
        ("body", value!("hello")),
        (
            "user_agent",
            value!(format!("checkd/{}", env!("CARGO_PKG_VERSION"))),
        ),
        ("token", value!("t0ken")),
        ("authorization", value!("Basic dXNlcjpwYXNz")),
    ];
    let evaluation = Evaluation {
        expect: Expect {
            json: want
                .into_iter()
                .map(|(at, v)| json(at, JsonTest::Equals(v), State::Crit))
                .collect(),
            ..Expect::default()
        },
        texts: ok_summary("echoed"),
        ..Evaluation::default()
    };
    let mut job = request_job("POST", &url, Duration::from_secs(5), evaluation);
    let Probe::Http(request) = &mut job.probe else {
        panic!("an HTTP job");
    };
    request
        .headers
        .push(("x-token".to_string(), "t0ken".to_string()));
    request.body = Some("hello".to_string());
    let Outcome::Evaluated(services) = run(&datasources(5, MIB as u64), &job).await else {
        panic!("not evaluated");
    };
    assert_eq!(
        (services[0].state, services[0].summary.as_str()),
        (State::Ok, "echoed"),
        "{}",
        services[0].details
    );
}

#[tokio::test]
async fn datasource_credentials_go_into_every_request_and_nowhere_else() {
    let server = server::start().await;
    let url = server.url("/echo");
    let cases = [
        (
            HttpAuth::Basic {
                username: "monitor".to_string(),
                password: Secret::new("pa55word"),
            },
            "Basic bW9uaXRvcjpwYTU1d29yZA==",
        ),
        (
            HttpAuth::Bearer {
                token: Secret::new("s3cr3t-token"),
            },
            "Bearer s3cr3t-token",
        ),
    ];
    for (auth, header) in cases {
        let evaluation = Evaluation {
            expect: Expect {
                json: vec![json(
                    "authorization",
                    JsonTest::Equals(value!(header)),
                    State::Crit,
                )],
                ..Expect::default()
            },
            ..Evaluation::default()
        };
        let spec = HttpDatasource {
            auth: Some(auth),
            ..spec(5, MIB as u64)
        };
        assert!(!format!("{spec:?}").contains("s3cr3t") && !format!("{spec:?}").contains("pa55"));
        let datasources = build(spec).unwrap();
        let job = get(&url, evaluation);
        let Outcome::Evaluated(services) = run(&datasources, &job).await else {
            panic!("not evaluated");
        };
        assert_eq!(services[0].state, State::Ok, "{}", services[0].details);
        // The client keeps the header marked sensitive: its Debug shows no credential.
        let shown = format!("{datasources:?}");
        assert!(shown.contains("Sensitive"), "{shown}");
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("bW9uaXRvcj"),
            "{shown}"
        );
    }
}

#[tokio::test]
async fn a_response_slower_than_the_job_timeout_is_unavailable() {
    let server = server::start().await;
    let url = format!("http://user:pass@{}/slow?token=secret", server.addr);
    let job = request_job(
        "GET",
        &url,
        Duration::from_millis(300),
        Evaluation::default(),
    );
    let started = checkd_clock::now();
    let outcome = run(&datasources(5, MIB as u64), &job).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    let want = format!("timed out after 300ms (GET http://{}/slow)", server.addr);
    assert_eq!(outcome, Outcome::Unavailable(want));
}

#[tokio::test]
async fn a_body_beyond_the_limit_is_crit_and_no_longer_read() {
    let server = server::start().await;
    let outcome = run(
        &datasources(5, MIB as u64),
        &get(&server.url("/stream"), Evaluation::default()),
    )
    .await;
    let text = "response body larger than 1048576 bytes";
    assert_eq!(
        outcome,
        crit(text, &format!("[OK] HTTP 200\n[CRIT] {text}"))
    );

    // The server would go on for 64 MiB; once we hang up, its stream must stop growing.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after_hang_up = server.streamed.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.streamed.load(Ordering::SeqCst), after_hang_up);
    assert!(
        after_hang_up < (STREAM_CHUNKS * 64 * 1024 / 4) as u64,
        "streamed {after_hang_up} bytes"
    );
}

#[tokio::test]
async fn a_declared_length_beyond_the_limit_is_crit_without_reading() {
    let server = server::start().await;
    let job = get(&server.url("/big"), Evaluation::default());
    let text = "response body larger than 1048576 bytes";
    let outcome = run(&datasources(5, MIB as u64), &job).await;
    assert_eq!(
        outcome,
        crit(text, &format!("[OK] HTTP 200\n[CRIT] {text}"))
    );

    let evaluation = Evaluation {
        metrics: vec![metric(
            "body_size",
            checkd_model::plan::MetricSource::BodySize,
        )],
        texts: ok_summary("big"),
        ..Evaluation::default()
    };
    let job = get(&server.url("/big"), evaluation);
    let Outcome::Evaluated(services) = run(&datasources(5, 4 * MIB as u64), &job).await else {
        panic!("not evaluated");
    };
    assert_eq!(
        services[0].metrics,
        vec![Metric::new("body_size", (2 * MIB) as f64)]
    );
}

#[tokio::test]
async fn redirects_are_followed_up_to_the_limit() {
    let server = server::start().await;
    let evaluation = || Evaluation {
        expect: Expect {
            json: vec![json("status", JsonTest::Equals(value!("ok")), State::Crit)],
            ..Expect::default()
        },
        texts: ok_summary("healthy"),
        ..Evaluation::default()
    };
    let job = get(&server.url("/redirect"), evaluation());
    let outcome = run(&datasources(5, MIB as u64), &job).await;
    let healthy = svc(
        SERVICE,
        State::Ok,
        "healthy",
        "[OK] HTTP 200\n[OK] status is \"ok\"",
    );
    assert_eq!(outcome, Outcome::Evaluated(vec![healthy]));

    // Not followed: the 302 itself is judged, and it is no JSON.
    let outcome = run(&datasources(0, MIB as u64), &job).await;
    let not_json = "response is not JSON: EOF while parsing a value at line 1 column 0";
    assert_eq!(
        outcome,
        crit(
            &format!("HTTP 302 (expected 2xx), {not_json}"),
            &format!("[CRIT] HTTP 302 (expected 2xx)\n[CRIT] {not_json}")
        )
    );

    let job = get(&server.url("/loop"), evaluation());
    let outcome = run(&datasources(3, MIB as u64), &job).await;
    assert_eq!(
        outcome,
        crit("more than 3 redirects", "[CRIT] more than 3 redirects")
    );
}

#[tokio::test]
async fn a_refused_connection_is_unavailable_without_secrets() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://user:pass@127.0.0.1:{port}/health?token=secret");
    let mut job = request_job("GET", &url, Duration::from_secs(5), Evaluation::default());
    let Probe::Http(request) = &mut job.probe else {
        panic!("an HTTP job");
    };
    request.headers.push((
        "authorization".to_string(),
        "Bearer s3cret-token".to_string(),
    ));
    let Outcome::Unavailable(reason) = run(&datasources(5, MIB as u64), &job).await else {
        panic!("not unavailable");
    };
    assert_eq!(
        reason,
        format!("connection refused (GET http://127.0.0.1:{port}/health)")
    );
    for secret in ["user", "pass", "secret", "token"] {
        assert!(!reason.contains(secret), "{reason}");
    }
}

#[tokio::test]
async fn tls_against_a_plain_http_server_is_a_handshake_failure() {
    let server = server::start().await;
    let url = format!("https://{}/health", server.addr);
    let Outcome::Unavailable(reason) = run(
        &datasources(5, MIB as u64),
        &get(&url, Evaluation::default()),
    )
    .await
    else {
        panic!("not unavailable");
    };
    assert!(reason.starts_with("tls handshake failed: "), "{reason}");
    assert!(reason.ends_with(&format!(" (GET {url})")), "{reason}");
}

#[tokio::test]
async fn requests_that_cannot_be_sent_are_unavailable() {
    let cases = [
        (
            "GET",
            "not a url?token=secret",
            "invalid URL: relative URL without a base (GET <invalid URL>)",
        ),
        (
            "GE T",
            "http://127.0.0.1:1/x",
            "invalid method \"GE T\" (GE T http://127.0.0.1:1/x)",
        ),
    ];
    for (method, url, want) in cases {
        let job = request_job(method, url, Duration::from_secs(5), Evaluation::default());
        assert_eq!(
            run(&datasources(5, MIB as u64), &job).await,
            Outcome::Unavailable(want.to_string())
        );
    }
    let job = Job {
        datasource: "nope".to_string(),
        ..get("http://127.0.0.1:1/", Evaluation::default())
    };
    let outcome = run(&datasources(5, MIB as u64), &job).await;
    assert_eq!(
        outcome,
        Outcome::Unavailable("unknown datasource \"nope\"".to_string())
    );
}

#[test]
fn a_ca_file_must_be_readable_and_hold_certificates() {
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/ca.pem");
    assert!(build(HttpDatasource {
        ca_file: Some(fixture),
        ..spec(5, 1)
    })
    .is_ok());

    let missing = PathBuf::from("/nonexistent/checkd-ca.pem");
    let error = build(HttpDatasource {
        ca_file: Some(missing),
        ..spec(5, 1)
    })
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "datasource api: cannot read ca_file /nonexistent/checkd-ca.pem"
    );

    let empty = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let error = build(HttpDatasource {
        ca_file: Some(empty.clone()),
        ..spec(5, 1)
    })
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "datasource api: ca_file {} holds no PEM certificate",
            empty.display()
        )
    );
}
