//! A fetched answer as the payload of a store [`checkd_store::Entry`].
//!
//! The payload is a JSON header (length-prefixed, u32 big endian) followed by the raw body, so
//! a body costs no escaping or base64 and decoding runs no code. Anything else, including a
//! header of another [`VERSION`], is a [`Corrupt`] error that the caller treats as a miss.
//! Cookies the server set are not kept: they belong to the one request that got them.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::fetch::Fetched;
use super::HttpResponse;

const VERSION: u32 = 1;
/// Response headers never written to the store.
const DROPPED_HEADERS: [&str; 2] = ["set-cookie", "set-cookie2"];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unreadable cached response: {0}")]
pub(crate) struct Corrupt(String);

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    version: u32,
    answer: Answer,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum Answer {
    Complete {
        status: u16,
        headers: Vec<(String, String)>,
        elapsed_us: u64,
        body_len: u64,
    },
    Misbehaved {
        status: Option<u16>,
        problem: String,
    },
}

pub(crate) fn encode(fetched: &Fetched) -> Vec<u8> {
    let (answer, body): (Answer, &[u8]) = match fetched {
        Fetched::Complete(response) => (
            Answer::Complete {
                status: response.status,
                headers: response
                    .headers
                    .iter()
                    .filter(|(name, _)| !DROPPED_HEADERS.contains(&name.as_str()))
                    .cloned()
                    .collect(),
                elapsed_us: u64::try_from(response.elapsed.as_micros()).unwrap_or(u64::MAX),
                body_len: response.body.len() as u64,
            },
            &response.body,
        ),
        Fetched::Misbehaved { status, problem } => (
            Answer::Misbehaved {
                status: *status,
                problem: problem.clone(),
            },
            &[],
        ),
    };
    let header = Header {
        version: VERSION,
        answer,
    };
    // Serializing plain strings and numbers into a Vec cannot fail; an empty header would be
    // read back as corrupt, which is a miss, not a wrong answer.
    let header = serde_json::to_vec(&header).unwrap_or_default();
    let length = u32::try_from(header.len()).unwrap_or(u32::MAX);
    let mut payload = Vec::with_capacity(4 + header.len() + body.len());
    payload.extend_from_slice(&length.to_be_bytes());
    payload.extend_from_slice(&header);
    payload.extend_from_slice(body);
    payload
}

pub(crate) fn decode(payload: &[u8]) -> Result<Fetched, Corrupt> {
    let corrupt = |what: &str| Corrupt(what.to_string());
    let (length, rest) = payload
        .split_first_chunk::<4>()
        .ok_or_else(|| corrupt("truncated"))?;
    let length = usize::try_from(u32::from_be_bytes(*length)).map_err(|_| corrupt("too long"))?;
    if rest.len() < length {
        return Err(corrupt("truncated header"));
    }
    let (header, body) = rest.split_at(length);
    let header: Header =
        serde_json::from_slice(header).map_err(|e| Corrupt(format!("header: {e}")))?;
    if header.version != VERSION {
        return Err(Corrupt(format!("version {}", header.version)));
    }
    match header.answer {
        Answer::Complete {
            status,
            headers,
            elapsed_us,
            body_len,
        } => {
            if body.len() as u64 != body_len {
                return Err(corrupt("body length differs"));
            }
            Ok(Fetched::Complete(HttpResponse {
                status,
                headers,
                body: body.to_vec(),
                elapsed: Duration::from_micros(elapsed_us),
            }))
        }
        Answer::Misbehaved { status, problem } => {
            if !body.is_empty() {
                return Err(corrupt("body after a misbehaved answer"));
            }
            Ok(Fetched::Misbehaved { status, problem })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response() -> HttpResponse {
        HttpResponse {
            status: 503,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("set-cookie".into(), "session=s3cr3t".into()),
                ("x-a".into(), "1".into()),
                ("x-a".into(), "2".into()),
            ],
            body: b"{\"x\":[1,2]}\n\x00\xff".to_vec(),
            elapsed: Duration::from_micros(81_234),
        }
    }

    #[test]
    fn round_trip_without_cookies() {
        let payload = encode(&Fetched::Complete(response()));
        assert!(!String::from_utf8_lossy(&payload).contains("s3cr3t"));
        let Ok(Fetched::Complete(back)) = decode(&payload) else {
            panic!("not decoded");
        };
        let mut want = response();
        want.headers.remove(1);
        assert_eq!(back, want);

        let misbehaved = Fetched::Misbehaved {
            status: None,
            problem: "more than 5 redirects".into(),
        };
        let Ok(Fetched::Misbehaved { status, problem }) = decode(&encode(&misbehaved)) else {
            panic!("not decoded");
        };
        assert_eq!((status, problem.as_str()), (None, "more than 5 redirects"));
    }

    #[test]
    fn anything_else_is_corrupt() {
        let good = encode(&Fetched::Complete(response()));
        let mut other_version = good.clone();
        let at = other_version
            .windows(11)
            .position(|w| w == b"\"version\":1")
            .unwrap();
        other_version[at + 10] = b'7';
        let cases: [(&[u8], &str); 6] = [
            (b"", "unreadable cached response: truncated"),
            (&[0, 0, 0, 9, b'{'], "unreadable cached response: truncated header"),
            (&good[..good.len() - 1], "unreadable cached response: body length differs"),
            (&[0, 0, 0, 2, b'{', b'}'], "unreadable cached response: header: missing field `version` at line 1 column 2"),
            (&other_version, "unreadable cached response: version 7"),
            (b"\x00\x00\x00\x04null", "unreadable cached response: header: invalid type: null, expected struct Header at line 1 column 4"),
        ];
        for (payload, want) in cases {
            let got = decode(payload).err().map(|e| e.to_string());
            assert_eq!(got.as_deref(), Some(want), "{payload:?}");
        }
    }
}
