//! The request key: which runs may share one response.
//!
//! Two runs share when they send the same request through equally configured clients: the
//! datasource (its name and every client setting that can change the answer: TLS
//! verification, CA file, redirects, body limit), the method, the absolute URL, every request
//! header, the body and the OAuth2 client (by fingerprint). All of it goes through SHA-256, so header values (Authorization,
//! Cookie, API keys) and query tokens never appear in a key; only the datasource's name is
//! kept in clear so an operator can tell keys apart. Every field is length-prefixed, so no two
//! different requests hash the same input.

use checkd_model::plan::{HttpDatasource, HttpRequest};
use reqwest::Url;
use sha2::{Digest, Sha256};

/// Where shared responses live in the store.
pub(crate) const PREFIX: &str = "response/";
/// Bumped when what goes into the hash changes, so old entries are simply not found.
const VERSION: &[u8] = b"checkd-request-key-v2";

/// What a datasource contributes to every key of its requests: its name, and the hash of
/// everything it puts first into each key, computed once.
#[derive(Debug)]
pub(crate) struct Seed {
    name: String,
    hash: Sha256,
}

impl Seed {
    pub(crate) fn new(spec: &HttpDatasource) -> Seed {
        let settings = format!(
            "tls_verify={} ca_file={:?} max_redirects={} max_body_bytes={}",
            spec.tls_verify, spec.ca_file, spec.max_redirects, spec.max_body_bytes
        );
        let mut hash = Sha256::new();
        field(&mut hash, VERSION);
        field(&mut hash, spec.name.as_bytes());
        field(&mut hash, settings.as_bytes());
        Seed {
            name: spec.name.clone(),
            hash,
        }
    }
}

/// `response/<datasource>/<sha-256 in hex>`. `url` is the request's URL parsed (so spellings
/// of one URL, `HTTP://Host:80/` and `http://host/`, are one key), `None` when it does not
/// parse: such a request fails to fetch anyway and is hashed as written.
pub(crate) fn request_key(seed: &Seed, request: &HttpRequest, url: Option<&Url>) -> String {
    let mut hash = seed.hash.clone();
    field(&mut hash, request.method.as_bytes());
    match url {
        Some(url) => field(&mut hash, url.as_str().as_bytes()),
        None => field(&mut hash, request.url.as_bytes()),
    }
    // Header names are case-insensitive and their order between names does not matter; the
    // order of the values of one name does, so the sort is stable.
    let mut headers: Vec<(String, &str)> = request
        .headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.as_str()))
        .collect();
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    hash.update((headers.len() as u64).to_be_bytes());
    for (name, value) in &headers {
        field(&mut hash, name.as_bytes());
        field(&mut hash, value.as_bytes());
    }
    match &request.body {
        None => hash.update([0]),
        Some(body) => {
            hash.update([1]);
            field(&mut hash, body.as_bytes());
        }
    }
    // Another OAuth2 client may see other data; its token never goes into the key.
    match &request.oauth2 {
        None => hash.update([0]),
        Some(client) => {
            hash.update([1]);
            field(&mut hash, super::oauth::fingerprint(client).as_bytes());
        }
    }
    let digest = hash.finalize();
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut key = String::with_capacity(PREFIX.len() + seed.name.len() + 1 + 2 * digest.len());
    key.push_str(PREFIX);
    key.push_str(&seed.name);
    key.push('/');
    for byte in digest {
        key.push(char::from(HEX[usize::from(byte >> 4)]));
        key.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    key
}

/// The lock another instance takes while it refreshes `key`.
pub(crate) fn lock_key(key: &str) -> String {
    format!("lock/{key}")
}

fn field(hash: &mut Sha256, bytes: &[u8]) {
    hash.update((bytes.len() as u64).to_be_bytes());
    hash.update(bytes);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn spec() -> HttpDatasource {
        HttpDatasource {
            name: "api".into(),
            tls_verify: true,
            ca_file: None,
            max_redirects: 5,
            max_body_bytes: 1024,
            max_concurrency: 4,
            response_cache_for: Duration::ZERO,
            auth: None,
        }
    }

    fn request(
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> HttpRequest {
        HttpRequest {
            method: method.into(),
            url: url.into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: body.map(str::to_string),
            oauth2: None,
        }
    }

    fn key(request: &HttpRequest) -> String {
        key_with(&spec(), request)
    }

    fn key_with(spec: &HttpDatasource, request: &HttpRequest) -> String {
        request_key(
            &Seed::new(spec),
            request,
            Url::parse(&request.url).ok().as_ref(),
        )
    }

    #[test]
    fn a_key_is_the_same_from_release_to_release() {
        // Instances of a fleet share answers by key, also while a rolling upgrade runs two
        // releases: a key changes only with VERSION.
        let get = request("GET", "http://h/x?a=1", &[("X-A", "1")], None);
        assert_eq!(
            key(&get),
            "response/api/374b9a418d8e0485fce83e8622830151ec0617cb88d902cf195c6718b0e4a433"
        );
    }

    #[test]
    fn same_request_same_key_and_any_difference_another() {
        let base = request("GET", "http://h/x?a=1", &[("X-A", "1"), ("X-B", "2")], None);
        let k = key(&base);
        assert!(k.starts_with("response/api/"), "{k}");
        assert_eq!(k.len(), "response/api/".len() + 64);
        let same = [
            request("GET", "http://h/x?a=1", &[("X-A", "1"), ("X-B", "2")], None),
            request(
                "GET",
                "HTTP://H:80/x?a=1",
                &[("X-A", "1"), ("X-B", "2")],
                None,
            ),
            request("GET", "http://h/x?a=1", &[("x-b", "2"), ("x-a", "1")], None),
        ];
        for request in &same {
            assert_eq!(key(request), k, "{request:?}");
        }
        let different = [
            request(
                "POST",
                "http://h/x?a=1",
                &[("X-A", "1"), ("X-B", "2")],
                None,
            ),
            request("GET", "http://h/x?a=2", &[("X-A", "1"), ("X-B", "2")], None),
            request(
                "GET",
                "https://h/x?a=1",
                &[("X-A", "1"), ("X-B", "2")],
                None,
            ),
            request("GET", "http://h/x?a=1", &[("X-A", "1"), ("X-B", "3")], None),
            request("GET", "http://h/x?a=1", &[("X-A", "1")], None),
            request(
                "GET",
                "http://h/x?a=1",
                &[("X-A", "1"), ("X-B", "2")],
                Some(""),
            ),
            request(
                "GET",
                "http://h/x?a=1",
                &[("X-A", "1"), ("X-B", "2")],
                Some("b"),
            ),
            // Field boundaries are part of the hash.
            request("GET", "http://h/x?a=1", &[("X-A", "1X-B"), ("", "2")], None),
        ];
        let mut seen = std::collections::HashSet::from([k.clone()]);
        for request in &different {
            assert!(seen.insert(key(request)), "{request:?}");
        }
        let two = request("GET", "http://h/", &[("X", "1"), ("X", "2")], None);
        let swapped = request("GET", "http://h/", &[("X", "2"), ("X", "1")], None);
        assert_ne!(key(&two), key(&swapped), "order of one header's values");
    }

    #[test]
    fn client_settings_and_datasource_are_part_of_the_key() {
        let r = request("GET", "http://h/", &[], None);
        let base = key_with(&spec(), &r);
        let insecure = HttpDatasource {
            tls_verify: false,
            ..spec()
        };
        let other = HttpDatasource {
            name: "other".into(),
            ..spec()
        };
        assert_ne!(key_with(&insecure, &r), base);
        assert!(key_with(&other, &r).starts_with("response/other/"));
        let cached = HttpDatasource {
            response_cache_for: Duration::from_secs(5),
            ..spec()
        };
        assert_eq!(key_with(&cached, &r), base, "TTL is not");
    }

    #[test]
    fn secrets_are_not_in_the_key() {
        let r = request(
            "GET",
            "http://user:pw-secret@h/x?token=q-secret",
            &[("Authorization", "Bearer h-secret"), ("Cookie", "c-secret")],
            Some("b-secret"),
        );
        let k = key(&r);
        assert!(!k.contains("secret"), "{k}");
        assert_eq!(lock_key(&k), format!("lock/{k}"));
    }
}
