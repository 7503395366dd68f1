//! Sending one request and reading its body, bounded in time and size.

use std::path::Path;
use std::time::Duration;

use base64::prelude::{Engine as _, BASE64_STANDARD};
use checkd_model::plan::{HttpAuth, HttpDatasource, HttpRequest};
use checkd_model::Secret;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use reqwest::redirect::Policy;
use reqwest::{Certificate, Method, RequestBuilder, Url};

use super::reason::Target;
use super::{HttpResponse, CONNECT_TIMEOUT};
use crate::BuildError;

const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
const USER_AGENT: &str = concat!("checkd/", env!("CARGO_PKG_VERSION"));

/// What the server answered with.
#[derive(Clone, Debug)]
pub(crate) enum Fetched {
    Complete(HttpResponse),
    /// The server answered but broke a limit; the status is known unless redirects ran out.
    Misbehaved {
        status: Option<u16>,
        problem: String,
    },
}

/// The limits of one datasource's responses.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) timeout: Duration,
    pub(crate) max_body_bytes: u64,
    pub(crate) max_redirects: usize,
}

pub(crate) fn client(spec: &HttpDatasource) -> Result<reqwest::Client, BuildError> {
    let redirect = match spec.max_redirects {
        0 => Policy::none(),
        n => Policy::limited(n),
    };
    let mut builder = builder(spec)?.redirect(redirect);
    if let Some(auth) = &spec.auth {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, authorization(&spec.name, auth)?);
        builder = builder.default_headers(headers);
    }
    builder.build().map_err(|source| BuildError::Client {
        datasource: spec.name.clone(),
        source,
    })
}

/// The client for OAuth2 token requests: like [`client`], but it follows no redirects (the
/// client secret must not travel on) and sends no `Authorization` of the datasource.
pub(crate) fn token_client(spec: &HttpDatasource) -> Result<reqwest::Client, BuildError> {
    builder(spec)?
        .redirect(Policy::none())
        .build()
        .map_err(|source| BuildError::Client {
            datasource: spec.name.clone(),
            source,
        })
}

fn builder(spec: &HttpDatasource) -> Result<reqwest::ClientBuilder, BuildError> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .user_agent(USER_AGENT)
        .connect_timeout(CONNECT_TIMEOUT)
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .danger_accept_invalid_certs(!spec.tls_verify);
    if let Some(path) = &spec.ca_file {
        for certificate in ca_certificates(&spec.name, path)? {
            builder = builder.add_root_certificate(certificate);
        }
    }
    Ok(builder)
}

/// The `Authorization` value of `auth`, marked sensitive so no Debug output shows it.
fn authorization(datasource: &str, auth: &HttpAuth) -> Result<HeaderValue, BuildError> {
    let text = match auth {
        HttpAuth::Basic { username, password } => {
            let pair = format!("{username}:{}", password.expose());
            format!("Basic {}", BASE64_STANDARD.encode(pair))
        }
        HttpAuth::Bearer { token } => format!("Bearer {}", token.expose()),
    };
    let mut value = HeaderValue::from_str(&text).map_err(|_| BuildError::Credentials {
        datasource: datasource.to_string(),
    })?;
    value.set_sensitive(true);
    Ok(value)
}

fn ca_certificates(datasource: &str, path: &Path) -> Result<Vec<Certificate>, BuildError> {
    let pem = std::fs::read(path).map_err(|source| BuildError::ReadCaFile {
        datasource: datasource.to_string(),
        path: path.to_path_buf(),
        source,
    })?;
    let certificates =
        Certificate::from_pem_bundle(&pem).map_err(|source| BuildError::InvalidCaFile {
            datasource: datasource.to_string(),
            path: path.to_path_buf(),
            source,
        })?;
    if certificates.is_empty() {
        return Err(BuildError::NoCertificate {
            datasource: datasource.to_string(),
            path: path.to_path_buf(),
        });
    }
    Ok(certificates)
}

/// Sends the request (to `url`, its URL parsed, `None` if it does not parse) and reads the
/// body. `Err` is the reason the datasource is unavailable, safe to show: no userinfo, query
/// or header value in it.
pub(crate) async fn fetch(
    client: &reqwest::Client,
    request: &HttpRequest,
    url: Option<&Url>,
    bearer: Option<&Secret>,
    limits: Limits,
) -> Result<Fetched, String> {
    // Only a failure needs the request as it may be shown (parsing the URL again).
    let target = || Target::new(&request.method, &request.url);
    let builder =
        prepare(client, request, url, bearer, limits.timeout).map_err(|p| target().reason(&p))?;
    // reqwest's own timeout covers the body too; this one also bounds anything it might not.
    match tokio::time::timeout(limits.timeout, send(builder, limits.max_body_bytes)).await {
        Ok(Ok(fetched)) => Ok(fetched),
        Ok(Err(error)) if error.is_redirect() => Ok(Fetched::Misbehaved {
            status: None,
            problem: format!("more than {} redirects", limits.max_redirects),
        }),
        Ok(Err(error)) => Err(target().describe(&error, limits.timeout)),
        Err(_elapsed) => Err(target().timed_out(limits.timeout)),
    }
}

fn prepare(
    client: &reqwest::Client,
    request: &HttpRequest,
    url: Option<&Url>,
    bearer: Option<&Secret>,
    timeout: Duration,
) -> Result<RequestBuilder, String> {
    let method = Method::from_bytes(request.method.as_bytes())
        .map_err(|_| format!("invalid method {:?}", request.method))?;
    let url = match url {
        Some(url) => url.clone(),
        // Parsed again only to say why it does not parse.
        None => Url::parse(&request.url).map_err(|error| format!("invalid URL: {error}"))?,
    };
    let mut headers = HeaderMap::new();
    for (name, value) in &request.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("invalid header name {name:?}"))?;
        let mut value =
            HeaderValue::from_str(value).map_err(|_| format!("invalid value of header {name}"))?;
        // Keeps tokens out of any Debug output of the request.
        value.set_sensitive(true);
        headers.append(name, value);
    }
    if let Some(token) = bearer {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .map_err(|_| "the access token cannot be sent in a header".to_string())?;
        value.set_sensitive(true);
        headers.insert(AUTHORIZATION, value);
    }
    let mut builder = client
        .request(method, url)
        .headers(headers)
        .timeout(timeout);
    if let Some(body) = &request.body {
        builder = builder.body(body.clone());
    }
    Ok(builder)
}

async fn send(builder: RequestBuilder, max_body_bytes: u64) -> Result<Fetched, reqwest::Error> {
    let started = checkd_clock::now();
    let mut response = builder.send().await?;
    let status = response.status().as_u16();
    let too_large = || Fetched::Misbehaved {
        status: Some(status),
        problem: format!("response body larger than {max_body_bytes} bytes"),
    };
    if response
        .content_length()
        .is_some_and(|length| length > max_body_bytes)
    {
        return Ok(too_large());
    }
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let length = u64::try_from(body.len() + chunk.len()).unwrap_or(u64::MAX);
        if length > max_body_bytes {
            // Dropping the response closes the connection instead of draining the rest.
            return Ok(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched::Complete(HttpResponse {
        status,
        headers,
        body,
        elapsed: started.elapsed(),
    }))
}
