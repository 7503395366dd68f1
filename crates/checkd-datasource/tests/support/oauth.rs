//! The two real servers of the OAuth2 tests, on 127.0.0.1: the npm package
//! `oauth2-mock-server` as the token endpoint (`tests/oauth/token-server.mjs`, installed by
//! scripts/test) and an API that accepts only its unexpired bearer tokens. Shared by the
//! datasource tests and the binary's integration tests (through `#[path]`).

#![allow(dead_code)] // each user needs a different part of it

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use base64::prelude::{Engine, BASE64_URL_SAFE_NO_PAD};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const HOW_TO_INSTALL: &str = "the OAuth2 tests need node and tests/oauth/node_modules: run scripts/test, which installs them (npm ci --prefix tests/oauth)";

/// `oauth2-mock-server` accepting one client; killed when dropped.
pub struct TokenServer {
    child: Child,
    /// The token endpoint, `http://127.0.0.1:PORT/token`.
    pub token_url: String,
    lines: Arc<Mutex<Vec<String>>>,
}

impl TokenServer {
    /// Accepts `client_id` with `client_secret`; tokens live `expires_in` seconds.
    pub async fn start(client_id: &str, client_secret: &str, expires_in: u64) -> TokenServer {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/oauth/token-server.mjs");
        let modules = script
            .with_file_name("node_modules")
            .join("oauth2-mock-server");
        assert!(modules.is_dir(), "{HOW_TO_INSTALL}");
        let mut child = Command::new("node")
            .arg(&script)
            .env("CLIENT_ID", client_id)
            .env("CLIENT_SECRET", client_secret)
            .env("EXPIRES_IN", expires_in.to_string())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start node ({error}): {HOW_TO_INSTALL}"));
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let port = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = stdout.next_line().await.unwrap() {
                if let Some(port) = line.strip_prefix("listening ") {
                    return port.to_string();
                }
            }
            panic!("the token server exited before listening");
        })
        .await
        .expect("the token server listens within 30 s");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let collected = Arc::clone(&lines);
        tokio::spawn(async move {
            while let Ok(Some(line)) = stdout.next_line().await {
                collected.lock().unwrap().push(line);
            }
        });
        TokenServer {
            child,
            token_url: format!("http://127.0.0.1:{port}/token"),
            lines,
        }
    }

    /// Tokens issued so far.
    pub fn issued(&self) -> usize {
        self.count("token ")
    }

    /// Token requests refused for bad client credentials so far.
    pub fn refused(&self) -> usize {
        self.count("refused ")
    }

    /// The scope of every token issued so far, in order.
    pub fn scopes(&self) -> Vec<String> {
        let lines = self.lines.lock().unwrap();
        lines
            .iter()
            .filter_map(|line| line.strip_prefix("token "))
            .map(|rest| rest.splitn(3, ' ').nth(2).unwrap_or("").to_string())
            .collect()
    }

    fn count(&self, prefix: &str) -> usize {
        let lines = self.lines.lock().unwrap();
        lines.iter().filter(|line| line.starts_with(prefix)).count()
    }

    /// Waits until the server printed `n` lines starting with `prefix`, or panics.
    pub async fn wait_for(&self, prefix: &str, n: usize) {
        for _ in 0..200 {
            if self.count(prefix) >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "the token server printed {} `{prefix}` lines, expected {n}",
            self.count(prefix)
        );
    }

    /// Stops the server: the token endpoint refuses connections from now on.
    pub async fn stop(&mut self) {
        let _ = self.child.kill().await;
    }
}

/// An API on 127.0.0.1 whose `GET /orders` answers 200 only to `Authorization: Bearer`
/// with a JWT that has not expired and was not revoked, and 401 otherwise.
#[derive(Clone)]
pub struct Api {
    pub url: String,
    seen: Arc<Mutex<Seen>>,
}

#[derive(Default)]
struct Seen {
    requests: usize,
    unauthorized: usize,
    expired: usize,
    tokens: Vec<String>,
    revoked: HashSet<String>,
}

impl Api {
    pub async fn start() -> Api {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let app = Router::new()
            .route("/orders", get(orders))
            .with_state(Arc::clone(&seen));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Api {
            url: format!("http://{addr}/orders"),
            seen,
        }
    }

    /// Requests so far, and how many of them got 401.
    pub fn requests(&self) -> (usize, usize) {
        let seen = self.seen.lock().unwrap();
        (seen.requests, seen.unauthorized)
    }

    /// Requests that came with a token past its `exp`.
    pub fn expired(&self) -> usize {
        self.seen.lock().unwrap().expired
    }

    /// The distinct tokens accepted so far, in the order first seen.
    pub fn tokens(&self) -> Vec<String> {
        self.seen.lock().unwrap().tokens.clone()
    }

    /// From now on every token seen so far is answered with 401.
    pub fn revoke_all(&self) {
        let mut seen = self.seen.lock().unwrap();
        let tokens = seen.tokens.clone();
        seen.revoked.extend(tokens);
    }
}

async fn orders(
    State(seen): State<Arc<Mutex<Seen>>>,
    headers: HeaderMap,
) -> (StatusCode, Json<Value>) {
    let token = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::to_string);
    let mut seen = seen.lock().unwrap();
    seen.requests += 1;
    let verdict = match &token {
        None => Err("no bearer token"),
        Some(token) if seen.revoked.contains(token) => Err("revoked"),
        Some(token) => match expires_at(token) {
            None => Err("not a JWT"),
            Some(exp) if exp <= now_s() => {
                seen.expired += 1;
                Err("expired")
            }
            Some(_) => Ok(token.clone()),
        },
    };
    match verdict {
        Ok(token) => {
            if !seen.tokens.contains(&token) {
                seen.tokens.push(token);
            }
            (StatusCode::OK, Json(json!({"status": "ok", "open": 3})))
        }
        Err(why) => {
            seen.unauthorized += 1;
            (StatusCode::UNAUTHORIZED, Json(json!({"error": why})))
        }
    }
}

/// The `exp` claim of a JWT (the signature is the token server's business).
fn expires_at(token: &str) -> Option<u64> {
    let payload = token.split('.').nth(1)?;
    let claims: Value =
        serde_json::from_slice(&BASE64_URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    claims.get("exp")?.as_u64()
}

fn now_s() -> u64 {
    u64::try_from(checkd_clock::Clock::system().now_ms() / 1000).unwrap()
}
