//! OAuth2 client credentials: access tokens from a token endpoint (with the `oauth2` crate),
//! cached per client and shared by every run that needs one.
//!
//! A client is known by its fingerprint: SHA-256 of token URL, client id, scopes and extra
//! parameters — never of the secret, which stays in the [`OAuth2`] spec and goes out only in
//! the token request. Each fingerprint has one slot; a run takes the slot's lock, uses the
//! cached token while it is fresh and otherwise fetches a new one while holding the lock, so
//! any number of concurrent runs make one token request (single-flight) and the next run
//! after a failure tries again. A token is replaced `refresh_margin` before `expires_in`
//! (at most half its lifetime before); a token without `expires_in` is kept until the API
//! rejects it ([`Tokens::reject`]). A failed token request is the reason the datasource is
//! unavailable: it names the endpoint and what went wrong, never the secret or a token.
//!
//! With `share`, a token with a known lifetime is also kept in the Redis layers (never sled)
//! under `token/<fingerprint>` until it is due for refresh, and another instance that needs
//! one takes it from there instead of asking; a token the API refused is removed there too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use checkd_clock::Clock;
use checkd_model::plan::OAuth2;
use checkd_model::Secret;
use checkd_store::{Entry, Store};
use oauth2::basic::{BasicClient, BasicErrorResponse};
use oauth2::{
    ClientId, ClientSecret, HttpClientError, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::reason::{duration, Target};
use crate::stats::Counters;

/// The token slots of every OAuth2 client, by fingerprint.
#[derive(Debug)]
pub(crate) struct Tokens {
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    counters: Arc<Counters>,
    /// Where clients with `share` keep their token for other instances.
    shared: Option<Shared>,
}

/// The store tokens are shared through, and this instance's name in it.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) producer: String,
    pub(crate) clock: Clock,
}

#[derive(Debug, Default)]
struct Slot {
    current: tokio::sync::Mutex<Option<Token>>,
}

#[derive(Debug)]
struct Token {
    value: Secret,
    /// When to fetch a new one; `None`: when the API rejects it.
    refresh_at: Option<Instant>,
}

impl Tokens {
    pub(crate) fn new(counters: Arc<Counters>, shared: Option<Shared>) -> Tokens {
        Tokens {
            slots: Mutex::default(),
            counters,
            shared,
        }
    }

    /// The shared store, when `spec` shares its token and there is one.
    fn shared(&self, spec: &OAuth2) -> Option<&Shared> {
        self.shared.as_ref().filter(|_| spec.share)
    }

    /// A fresh access token of `spec`'s client: the cached one, or one fetched within
    /// `timeout` with `http` (a client that follows no redirects). `Err` is a safe reason.
    pub(crate) async fn get(
        &self,
        spec: &OAuth2,
        http: &reqwest::Client,
        timeout: Duration,
    ) -> Result<Secret, String> {
        let slot = self.slot(spec);
        let mut current = slot.current.lock().await;
        if let Some(token) = current.as_ref() {
            if token.refresh_at.is_none_or(|at| checkd_clock::now() < at) {
                return Ok(token.value.clone());
            }
        }
        if let Some(shared) = self.shared(spec) {
            if let Some(token) = shared_token(shared, spec).await {
                let value = token.value.clone();
                *current = Some(token);
                return Ok(value);
            }
        }
        Counters::add(&self.counters.token_fetches);
        let fetched = match tokio::time::timeout(timeout, fetch(spec, http, timeout)).await {
            Ok(fetched) => fetched,
            Err(_elapsed) => Err(token_target(spec).reason(&format!(
                "token request timed out after {}",
                duration(timeout)
            ))),
        };
        match fetched {
            Ok(token) => {
                if let Some(shared) = self.shared(spec) {
                    share(shared, spec, &token).await;
                }
                let value = token.value.clone();
                *current = Some(token);
                Ok(value)
            }
            Err(reason) => {
                Counters::add(&self.counters.token_failures);
                tracing::warn!(token_url = %token_target(spec).shown(), %reason, "OAuth2 token request failed");
                Err(reason)
            }
        }
    }

    /// The API answered 401 to `used`: forget it, unless another run already replaced it.
    pub(crate) async fn reject(&self, spec: &OAuth2, used: &Secret) {
        let slot = self.slot(spec);
        let mut current = slot.current.lock().await;
        if current.as_ref().is_some_and(|token| &token.value == used) {
            *current = None;
        }
        if let Some(shared) = self.shared(spec) {
            let key = shared_key(spec);
            if let Ok(Some(entry)) = shared.store.get(&key).await {
                if entry.payload == used.expose().as_bytes() {
                    let _ = shared.store.remove(&key).await;
                }
            }
        }
    }

    fn slot(&self, spec: &OAuth2) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(slots.entry(fingerprint(spec)).or_default())
    }
}

/// Another instance's token, while it is not due for refresh.
async fn shared_token(shared: &Shared, spec: &OAuth2) -> Option<Token> {
    let entry = shared.store.get(&shared_key(spec)).await.ok()??;
    let left = entry.expires_ms().saturating_sub(shared.clock.now_ms());
    let left = Duration::from_millis(u64::try_from(left).ok().filter(|ms| *ms > 0)?);
    let value = String::from_utf8(entry.payload).ok()?;
    Some(Token {
        value: Secret::new(value),
        refresh_at: Some(checkd_clock::now() + left),
    })
}

/// Offers a fresh token to the other instances until it is due for refresh.
async fn share(shared: &Shared, spec: &OAuth2, token: &Token) {
    let Some(refresh_at) = token.refresh_at else {
        return;
    };
    let left = refresh_at.saturating_duration_since(checkd_clock::now());
    let entry = Entry {
        stored_ms: shared.clock.now_ms(),
        valid_for_ms: u64::try_from(left.as_millis()).unwrap_or(u64::MAX),
        producer: shared.producer.clone(),
        payload: token.value.expose().as_bytes().to_vec(),
    };
    if let Err(error) = shared.store.put(&shared_key(spec), entry).await {
        tracing::debug!(%error, "could not share the OAuth2 token");
    }
}

/// `token/<fingerprint>`: where a shared token lives.
fn shared_key(spec: &OAuth2) -> String {
    format!("token/{}", fingerprint(spec))
}

/// SHA-256 over token URL, client id, scopes and extra parameters, in hex; not the secret.
pub(crate) fn fingerprint(spec: &OAuth2) -> String {
    let mut hash = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_be_bytes());
        hash.update(bytes);
    };
    field(b"checkd-oauth2-client-v1");
    field(spec.token_url.as_bytes());
    field(spec.client_id.as_bytes());
    for scope in &spec.scopes {
        field(scope.as_bytes());
    }
    field(b"");
    for (name, value) in &spec.params {
        field(name.as_bytes());
        field(value.as_bytes());
    }
    hash.finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

async fn fetch(spec: &OAuth2, http: &reqwest::Client, timeout: Duration) -> Result<Token, String> {
    let target = token_target(spec);
    let token_url =
        TokenUrl::new(spec.token_url.clone()).map_err(|_| target.reason("invalid token_url"))?;
    let client = BasicClient::new(ClientId::new(spec.client_id.clone()))
        .set_client_secret(ClientSecret::new(spec.client_secret.expose().to_string()))
        .set_token_uri(token_url);
    let mut request = client
        .exchange_client_credentials()
        .add_scopes(spec.scopes.iter().cloned().map(Scope::new));
    for (name, value) in &spec.params {
        request = request.add_extra_param(name.as_str(), value.as_str());
    }
    let started = checkd_clock::now();
    let response = request
        .request_async(http)
        .await
        .map_err(|error| target.reason(&problem(&target, &error, timeout)))?;
    let refresh_at = response.expires_in().map(|lifetime| {
        let margin = spec.refresh_margin.min(lifetime / 2);
        started + lifetime.saturating_sub(margin)
    });
    Ok(Token {
        value: Secret::new(response.access_token().secret().clone()),
        refresh_at,
    })
}

/// What went wrong, from the error's kind only: the token endpoint's body may echo what it
/// was sent, and the oauth2 crate's messages may carry the URL.
fn problem(
    target: &Target,
    error: &RequestTokenError<HttpClientError<reqwest::Error>, BasicErrorResponse>,
    timeout: Duration,
) -> String {
    match error {
        RequestTokenError::ServerResponse(response) => {
            format!("token endpoint refused the client: {}", response.error())
        }
        RequestTokenError::Request(HttpClientError::Reqwest(error)) => {
            format!("token request failed: {}", target.problem(error, timeout))
        }
        RequestTokenError::Request(_) => "token request failed".to_string(),
        RequestTokenError::Parse(..) => {
            "token endpoint answered with something that is not a token response".to_string()
        }
        RequestTokenError::Other(_) => "token endpoint answered unexpectedly".to_string(),
    }
}

fn token_target(spec: &OAuth2) -> Target {
    Target::new("POST", &spec.token_url)
}
