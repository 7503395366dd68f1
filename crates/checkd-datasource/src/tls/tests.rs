//! Against real TLS servers on 127.0.0.1:0 with certificates made by rcgen for each test.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use checkd_model::{Levels, State};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

use super::*;

const DAY: i64 = 86_400;

/// Ten minutes short of whole days, so the span shown (`4 days 23 hours`) does not depend on
/// whether a second passes between making the certificate and checking it.
const SHORT: i64 = 600;

fn now() -> i64 {
    checkd_clock::Clock::system().now_ms() / 1000
}

/// A test CA, its PEM in a file for `ca_file`, and leaves it signs.
struct Pki {
    issuer: Issuer<'static, KeyPair>,
    _dir: tempfile::TempDir,
    ca_file: PathBuf,
}

impl Pki {
    fn new() -> Pki {
        Pki::named("checkd test CA")
    }

    fn named(name: &str) -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let certificate = params.self_signed(&key).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, certificate.pem()).unwrap();
        Pki {
            issuer: Issuer::new(params, key),
            _dir: dir,
            ca_file,
        }
    }

    /// A leaf for localhost and 127.0.0.1, valid from `not_before` to `not_after` (Unix
    /// seconds), served on 127.0.0.1:0.
    async fn serve(&self, not_before: i64, not_after: i64) -> SocketAddr {
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.not_before = OffsetDateTime::from_unix_timestamp(not_before).unwrap();
        params.not_after = OffsetDateTime::from_unix_timestamp(not_after).unwrap();
        let key = KeyPair::generate().unwrap();
        let certificate = params.signed_by(&key, &self.issuer).unwrap();
        let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![certificate.der().clone()],
                PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
            )
            .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let work = async {
                        let mut tls = acceptor.accept(stream).await.ok()?;
                        let mut buf = [0u8; 64];
                        tls.read(&mut buf).await.ok()
                    };
                    let _ = tokio::time::timeout(Duration::from_secs(10), work).await;
                });
            }
        });
        address
    }
}

fn spec(address: SocketAddr, pki: &Pki) -> TlsSpec {
    TlsSpec {
        host: address.ip().to_string(),
        port: address.port(),
        server_name: Some("localhost".to_string()),
        days_left: Levels {
            warn: Some(14.0),
            crit: Some(7.0),
        },
        verify_chain: true,
        ca_file: Some(pki.ca_file.clone()),
        timeout: Duration::from_secs(5),
    }
}

/// What a test compares: state, summary and details with dates as `DATE`, and `days_left`.
#[derive(Debug)]
struct Got {
    state: State,
    summary: String,
    details: String,
    days_left: f64,
}

async fn check(spec: &TlsSpec) -> Got {
    let labels = BTreeMap::from([("team".to_string(), "web".to_string())]);
    let outcome = run(spec, "TLS web", &labels).await;
    let Outcome::Evaluated(services) = outcome else {
        panic!("expected a result, got {outcome:?}");
    };
    let [service] = &services[..] else {
        panic!("expected one service, got {services:?}");
    };
    assert_eq!(
        (service.service.as_str(), &service.labels),
        ("TLS web", &labels)
    );
    let [metric] = &service.metrics[..] else {
        panic!("expected days_left, got {:?}", service.metrics);
    };
    assert_eq!(
        (metric.name.as_str(), metric.lower),
        ("days_left", spec.days_left)
    );
    let date = regex::Regex::new(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC").unwrap();
    Got {
        state: service.state,
        summary: date.replace_all(&service.summary, "DATE").into_owned(),
        details: date.replace_all(&service.details, "DATE").into_owned(),
        days_left: metric.value,
    }
}

fn details(lines: &[&str], not_after: i64) -> String {
    let mut details = lines.join("\n");
    details.push_str(&format!(
        "\nsubject: CN=localhost\nissuer: CN=checkd test CA\nexpires: {not_after} (DATE)"
    ));
    details
}

#[tokio::test]
async fn five_days_left_is_crit_at_a_seven_day_level() {
    let pki = Pki::new();
    let not_after = now() + 5 * DAY - SHORT;
    let address = pki.serve(now() - DAY, not_after).await;
    let got = check(&spec(address, &pki)).await;
    let expiry = "certificate expires in 4 days 23 hours (DATE) (crit below 7 days)";
    assert_eq!(
        (got.state, got.summary.as_str()),
        (State::Crit, expiry),
        "{got:?}"
    );
    assert_eq!(
        got.details,
        details(
            &[
                &format!("[CRIT] {expiry}"),
                "[OK] certificate matches localhost",
                "[OK] certificate chain trusted",
            ],
            not_after
        )
    );
    assert!((4.99..=5.0).contains(&got.days_left), "{got:?}");
}

#[tokio::test]
async fn thirty_days_left_is_ok_and_an_ip_address_matches_its_san() {
    let pki = Pki::new();
    let address = pki.serve(now() - DAY, now() + 30 * DAY - SHORT).await;
    let got = check(&spec(address, &pki)).await;
    assert_eq!(
        (got.state, got.summary.as_str()),
        (
            State::Ok,
            "certificate expires in 29 days 23 hours (DATE), certificate matches localhost, \
             certificate chain trusted"
        )
    );
    assert!((29.99..=30.0).contains(&got.days_left), "{got:?}");

    let by_ip = TlsSpec {
        server_name: None,
        ..spec(address, &pki)
    };
    assert_eq!(
        check(&by_ip).await.summary,
        "certificate expires in 29 days 23 hours (DATE), certificate matches 127.0.0.1, \
         certificate chain trusted"
    );
}

#[tokio::test]
async fn an_expired_certificate_is_crit_with_negative_days_left() {
    let pki = Pki::new();
    let not_after = now() - 2 * DAY;
    let address = pki.serve(now() - 30 * DAY, not_after).await;
    let got = check(&spec(address, &pki)).await;
    let expired = "certificate expired 2 days 0 hours ago (DATE)";
    assert_eq!((got.state, got.summary.as_str()), (State::Crit, expired));
    // Trust is judged at a moment the certificate was valid, so it is still told.
    assert_eq!(
        got.details,
        details(
            &[
                &format!("[CRIT] {expired}"),
                "[OK] certificate matches localhost",
                "[OK] certificate chain trusted",
            ],
            not_after
        )
    );
    assert!((-2.01..=-2.0).contains(&got.days_left), "{got:?}");
}

#[tokio::test]
async fn a_wrong_name_is_crit() {
    let pki = Pki::new();
    let address = pki.serve(now() - DAY, now() + 30 * DAY - SHORT).await;
    for verify_chain in [true, false] {
        let wrong = TlsSpec {
            server_name: Some("wrong.example".to_string()),
            verify_chain,
            ..spec(address, &pki)
        };
        let got = check(&wrong).await;
        assert_eq!(
            (got.state, got.summary.as_str()),
            (State::Crit, "certificate does not match wrong.example"),
            "verify_chain {verify_chain}"
        );
    }
}

#[tokio::test]
async fn an_unknown_issuer_is_crit_not_trusted() {
    let pki = Pki::new();
    let address = pki.serve(now() - DAY, now() + 30 * DAY - SHORT).await;
    let untrusted = TlsSpec {
        ca_file: None,
        ..spec(address, &pki)
    };
    let got = check(&untrusted).await;
    assert_eq!(
        (got.state, got.summary.as_str()),
        (State::Crit, "certificate not trusted: unknown issuer")
    );
    assert!((29.99..=30.0).contains(&got.days_left), "{got:?}");

    // Another CA's file does not help either.
    let other = Pki::named("other CA");
    let wrong_ca = TlsSpec {
        ca_file: Some(other.ca_file.clone()),
        ..spec(address, &pki)
    };
    assert_eq!(
        check(&wrong_ca).await.summary,
        "certificate not trusted: unknown issuer"
    );
}

#[tokio::test]
async fn without_verify_chain_only_expiry_and_name_are_judged() {
    let pki = Pki::new();
    let address = pki.serve(now() - DAY, now() + 30 * DAY - SHORT).await;
    let unverified = TlsSpec {
        verify_chain: false,
        ca_file: None,
        ..spec(address, &pki)
    };
    let got = check(&unverified).await;
    assert_eq!(
        (got.state, got.summary.as_str()),
        (
            State::Ok,
            "certificate expires in 29 days 23 hours (DATE), certificate matches localhost"
        )
    );

    let expiring = pki.serve(now() - DAY, now() + 10 * DAY - SHORT).await;
    let got = check(&TlsSpec {
        port: expiring.port(),
        ..unverified
    })
    .await;
    assert_eq!(
        (got.state, got.summary.as_str()),
        (
            State::Warn,
            "certificate expires in 9 days 23 hours (DATE) (warn below 14 days)"
        )
    );
}

#[tokio::test]
async fn a_closed_port_is_unavailable() {
    let pki = Pki::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let labels = BTreeMap::new();
    assert_eq!(
        run(&spec(address, &pki), "TLS web", &labels).await,
        Outcome::Unavailable(format!("connection refused ({address})"))
    );
}

#[allow(
    clippy::disallowed_methods,
    reason = "the timeout must hold in real time, not only in the runtime's clock"
)]
#[tokio::test]
async fn a_server_that_does_not_speak_tls_is_unavailable_within_the_timeout() {
    let pki = Pki::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        let mut plain = true;
        while let Ok((mut stream, _)) = listener.accept().await {
            // The first connection gets a plain-text banner, the next ones silence.
            if plain {
                let _ = stream.write_all(b"220 smtp.example ESMTP\r\n").await;
            }
            plain = false;
            held.push(stream);
        }
    });
    let labels = BTreeMap::new();
    let outcome = run(&spec(address, &pki), "TLS web", &labels).await;
    let Outcome::Unavailable(reason) = outcome else {
        panic!("expected unavailable, got {outcome:?}");
    };
    assert!(
        reason.starts_with("tls handshake failed: ") && reason.ends_with(&format!("({address})")),
        "{reason}"
    );

    let silent = TlsSpec {
        timeout: Duration::from_millis(300),
        ..spec(address, &pki)
    };
    let started = std::time::Instant::now();
    assert_eq!(
        run(&silent, "TLS web", &labels).await,
        Outcome::Unavailable(format!("tls handshake timed out after 300ms ({address})"))
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_broken_ca_file_or_server_name_is_unknown() {
    let pki = Pki::new();
    let address = pki.serve(now() - DAY, now() + 30 * DAY - SHORT).await;
    let labels = BTreeMap::new();
    let missing = pki.ca_file.with_file_name("missing.pem");
    let empty = pki.ca_file.with_file_name("empty.pem");
    std::fs::write(&empty, "no certificate here\n").unwrap();
    let cases = [
        (
            TlsSpec {
                ca_file: Some(missing.clone()),
                ..spec(address, &pki)
            },
            format!("cannot read ca_file {}: ", missing.display()),
        ),
        (
            TlsSpec {
                ca_file: Some(empty.clone()),
                ..spec(address, &pki)
            },
            format!("ca_file {} holds no PEM certificate", empty.display()),
        ),
        (
            TlsSpec {
                server_name: Some("bad name!".to_string()),
                ..spec(address, &pki)
            },
            "invalid server name \"bad name!\"".to_string(),
        ),
    ];
    for (spec, want) in cases {
        let outcome = run(&spec, "TLS web", &labels).await;
        let Outcome::Evaluated(services) = &outcome else {
            panic!("expected a result, got {outcome:?}");
        };
        assert_eq!(services[0].state, State::Unknown);
        assert!(services[0].summary.starts_with(&want), "{outcome:?}");
    }
}

#[test]
fn the_test_certificates_parse_as_served() {
    // Guards the fixture: rcgen's dates round-trip through x509-parser to the second.
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.not_after = OffsetDateTime::from_unix_timestamp(2_000_000_000).unwrap();
    let key = KeyPair::generate().unwrap();
    let der: CertificateDer<'static> = params.self_signed(&key).unwrap().der().clone();
    assert_eq!(cert::Leaf::parse(&der).unwrap().not_after, 2_000_000_000);
}
