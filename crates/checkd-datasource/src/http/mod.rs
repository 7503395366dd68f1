//! The HTTP datasource: [`fetch`] sends the job's request and reads a bounded body,
//! [`oauth`] adds the access token of an OAuth2 client, [`share`] makes runs with the same
//! request (by [`key`]) share one answer, [`evaluate`] judges the answer for each job
//! without any IO.

mod cached;
mod evaluate;
mod fetch;
mod foreach;
mod json;
mod judge;
mod key;
pub(crate) mod oauth;
mod reason;
pub(crate) mod share;
mod text;

use std::time::Duration;

use checkd_model::plan::{HttpDatasource, HttpRequest, Job};
use checkd_model::{Outcome, Secret};
use reqwest::Url;

use crate::BuildError;

pub use evaluate::evaluate;

/// How long establishing a connection (TCP and TLS) may take, within the job's own timeout.
/// Set on every client by `fetch`, named by `reason` when a connect timed out; here, as both
/// use it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A response as the evaluation sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names are lower-case; a repeated header appears once per value.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// From sending the request to the end of the body.
    pub elapsed: Duration,
}

/// One configured HTTP datasource: its client, the limits of its responses and how runs
/// share them.
#[derive(Debug)]
pub(crate) struct HttpClient {
    client: reqwest::Client,
    /// For token requests: the same TLS settings, no redirects, no `Authorization`.
    token_client: reqwest::Client,
    max_body_bytes: u64,
    max_redirects: usize,
    seed: key::Seed,
    response_cache_for: Duration,
}

impl HttpClient {
    pub(crate) fn build(spec: &HttpDatasource) -> Result<HttpClient, BuildError> {
        Ok(HttpClient {
            client: fetch::client(spec)?,
            token_client: fetch::token_client(spec)?,
            max_body_bytes: spec.max_body_bytes,
            max_redirects: spec.max_redirects,
            seed: key::Seed::new(spec),
            response_cache_for: spec.response_cache_for,
        })
    }

    /// Gets the answer to the job's request (shared with other runs that send the same
    /// request, see [`share`]) and evaluates it for this job.
    pub(crate) async fn run(
        &self,
        job: &Job,
        request: &HttpRequest,
        sharing: &share::Sharing,
        tokens: &oauth::Tokens,
    ) -> Outcome {
        let limits = fetch::Limits {
            timeout: job.timeout,
            max_body_bytes: self.max_body_bytes,
            max_redirects: self.max_redirects,
        };
        let policy = share::Policy {
            cache_for: self.response_cache_for,
            timeout: job.timeout,
        };
        // Parsed once, for the key and the request.
        let url = Url::parse(&request.url).ok();
        let key = key::request_key(&self.seed, request, url.as_ref());
        let fetched = sharing
            .get(&key, policy, || {
                self.fetch(request, url.as_ref(), limits, tokens)
            })
            .await;
        match &*fetched {
            Ok(fetch::Fetched::Complete(response)) => {
                let now =
                    chrono::DateTime::from_timestamp_millis(sharing.now_ms()).unwrap_or_default();
                Outcome::Evaluated(evaluate(job, &job.evaluation, response, now))
            }
            Ok(fetch::Fetched::Misbehaved { status, problem }) => {
                Outcome::Evaluated(evaluate::misbehaved(job, &job.evaluation, *status, problem))
            }
            Err(reason) => {
                tracing::debug!(job = %job.key, %reason, "datasource unavailable");
                Outcome::Unavailable(reason.clone())
            }
        }
    }
}

impl HttpClient {
    /// Sends the request, with an access token when it has an OAuth2 client. A 401 answer
    /// to a token drops it and the request is sent once more with a new token.
    async fn fetch(
        &self,
        request: &HttpRequest,
        url: Option<&Url>,
        limits: fetch::Limits,
        tokens: &oauth::Tokens,
    ) -> Result<fetch::Fetched, String> {
        let Some(oauth2) = &request.oauth2 else {
            return fetch::fetch(&self.client, request, url, None, limits).await;
        };
        let token = || tokens.get(oauth2, &self.token_client, limits.timeout);
        let used: Secret = token().await?;
        let first = fetch::fetch(&self.client, request, url, Some(&used), limits).await;
        if !matches!(&first, Ok(fetch::Fetched::Complete(response)) if response.status == 401) {
            return first;
        }
        tracing::debug!("the API answered 401 to a cached token: fetching a new one");
        tokens.reject(oauth2, &used).await;
        let fresh = token().await?;
        fetch::fetch(&self.client, request, url, Some(&fresh), limits).await
    }
}
