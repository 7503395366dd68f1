//! Why a datasource is unavailable, in a short line that is safe to store and show.
//!
//! `reqwest::Error`'s own `Display` prints the full URL, userinfo and query included, so it
//! is never used: the reason is built from the error's kind and the causes below it, and the
//! URL is shown without userinfo, query and fragment.

use std::error::Error as _;
use std::io;
use std::time::Duration;

use reqwest::Url;

use super::CONNECT_TIMEOUT;

/// The request a reason is about: `GET http://host/path`, and the secrets to keep out.
#[derive(Debug)]
pub(crate) struct Target {
    shown: String,
    https: bool,
    secrets: Vec<String>,
}

impl Target {
    pub(crate) fn new(method: &str, url: &str) -> Target {
        let Ok(mut parsed) = Url::parse(url) else {
            return Target {
                shown: format!("{method} <invalid URL>"),
                https: false,
                secrets: vec![url.to_string()],
            };
        };
        let mut secrets: Vec<String> = [parsed.password(), Some(parsed.username()), parsed.query()]
            .into_iter()
            .flatten()
            .map(str::to_string)
            .chain(parsed.query_pairs().map(|(_, value)| value.into_owned()))
            .filter(|secret| !secret.is_empty())
            .collect();
        // Longest first, so a secret inside a longer one cannot leave the rest behind.
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        // Setting userinfo fails only for URLs that cannot have any, which is fine.
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        parsed.set_query(None);
        parsed.set_fragment(None);
        Target {
            shown: format!("{method} {parsed}"),
            https: parsed.scheme() == "https",
            secrets,
        }
    }

    /// `problem (GET url)`, with any secret of the URL removed from the problem.
    pub(crate) fn reason(&self, problem: &str) -> String {
        let mut problem = problem.to_string();
        for secret in &self.secrets {
            problem = problem.replace(secret.as_str(), "***");
        }
        format!("{problem} ({})", self.shown)
    }

    pub(crate) fn timed_out(&self, timeout: Duration) -> String {
        self.reason(&format!("timed out after {}", duration(timeout)))
    }

    pub(crate) fn describe(&self, error: &reqwest::Error, timeout: Duration) -> String {
        self.reason(&self.problem(error, timeout))
    }

    /// What went wrong, without the request: `connection refused`.
    pub(crate) fn problem(&self, error: &reqwest::Error, timeout: Duration) -> String {
        let causes = causes(error);
        let refused = causes
            .iter()
            .any(|c| c.io == Some(io::ErrorKind::ConnectionRefused));
        if error.is_connect() && error.is_timeout() {
            format!("connect timed out after {}", duration(CONNECT_TIMEOUT))
        } else if error.is_timeout() {
            format!("timed out after {}", duration(timeout))
        } else if refused {
            "connection refused".to_string()
        } else if error.is_connect() {
            self.connect_problem(&causes)
        } else if error.is_body() || error.is_decode() {
            format!("reading the body failed: {}", last(&causes))
        } else {
            format!("request failed: {}", last(&causes))
        }
    }

    /// `GET http://host/path`: the request without userinfo, query or fragment.
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    fn connect_problem(&self, causes: &[Cause]) -> String {
        // hyper-util names the step that failed; a TLS failure comes after the TCP steps.
        let after = |step: &str| {
            let rest = causes.iter().skip_while(|c| c.text != step).skip(1);
            rest.map(|c| c.text.as_str())
                .last()
                .unwrap_or("unknown cause")
                .to_string()
        };
        if causes.iter().any(|c| c.text == "dns error") {
            format!("dns lookup failed: {}", lower_first(&after("dns error")))
        } else if causes.iter().any(|c| c.text == "tcp connect error") {
            format!(
                "connect failed: {}",
                lower_first(&after("tcp connect error"))
            )
        } else if self.https {
            format!("tls handshake failed: {}", lower_first(last(causes)))
        } else {
            format!("connect failed: {}", lower_first(last(causes)))
        }
    }
}

/// One error below the `reqwest::Error`.
#[derive(Debug)]
struct Cause {
    text: String,
    io: Option<io::ErrorKind>,
}

fn causes(error: &reqwest::Error) -> Vec<Cause> {
    let mut causes = Vec::new();
    let mut next = error.source();
    while let Some(cause) = next {
        let io = cause.downcast_ref::<io::Error>().map(io::Error::kind);
        causes.push(Cause {
            text: cause.to_string(),
            io,
        });
        next = cause.source();
    }
    causes
}

fn last(causes: &[Cause]) -> &str {
    causes.last().map_or("unknown cause", |c| c.text.as_str())
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `2s`, `1500ms`: how people write a timeout.
pub(crate) fn duration(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shown_url_has_no_userinfo_query_or_fragment() {
        let target = Target::new(
            "GET",
            "https://user:pa55@api.example:8443/v1/x?token=s3cret#f",
        );
        assert_eq!(
            target.reason("boom"),
            "boom (GET https://api.example:8443/v1/x)"
        );
        assert_eq!(
            target.reason("failed with token=s3cret for pa55, s3cret"),
            "failed with *** for ***, *** (GET https://api.example:8443/v1/x)"
        );
        let invalid = Target::new("POST", "not a url ?token=s3cret");
        assert_eq!(
            invalid.reason("invalid URL"),
            "invalid URL (POST <invalid URL>)"
        );
    }

    #[test]
    fn durations_print_the_way_they_are_configured() {
        assert_eq!(duration(Duration::from_secs(2)), "2s");
        assert_eq!(duration(Duration::from_millis(300)), "300ms");
        assert_eq!(duration(Duration::from_millis(1500)), "1500ms");
    }
}
