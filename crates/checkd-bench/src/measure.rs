//! The measurements against a running daemon: time to the first full round, restart to full
//! output, and scrape latency of `GET /`. Every loop is bounded by a deadline.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

use crate::daemon::Daemon;

/// What `serve` says for a job without any result (`checkd_model::serve::FIRST_RUN_PENDING`).
const FIRST_RUN_PENDING: &str = "first run pending";

/// The services in an agent output, counted inside the piggyback blocks.
#[derive(Debug, Clone, Copy, Default)]
pub struct Census {
    pub services: usize,
    pub pending: usize,
    /// OK, WARN, CRIT, UNKNOWN (Checkmk's numbers 0–3).
    pub states: [usize; 4],
}

pub fn census(output: &str) -> Census {
    let mut census = Census::default();
    let mut in_block = false;
    for line in output.lines() {
        if line == "<<<<>>>>" {
            in_block = false;
        } else if line.starts_with("<<<<") {
            in_block = true;
        } else if in_block && !line.starts_with("<<<") {
            census.services += 1;
            let rest = match line.strip_prefix("cached(") {
                Some(r) => r.split_once(") ").map_or("", |(_, r)| r),
                None => line,
            };
            if let Some(state) = rest.bytes().next().filter(u8::is_ascii_digit) {
                if let Some(slot) = census.states.get_mut(usize::from(state - b'0')) {
                    *slot += 1;
                }
            }
            if line.contains(FIRST_RUN_PENDING) {
                census.pending += 1;
            }
        }
    }
    census
}

/// How long until every job showed a result.
#[derive(Debug, Clone, Copy)]
pub struct Until {
    /// From spawning `checkd run` to the first answer of its endpoint.
    pub listening: Option<Duration>,
    /// From spawning `checkd run` to an output with no pending job; `None` if the deadline hit.
    pub complete: Option<Duration>,
    /// The last census seen.
    pub last: Census,
}

pub fn client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .context("cannot build an HTTP client")
}

async fn get_text(client: &reqwest::Client, url: &str) -> reqwest::Result<String> {
    client
        .get(url)
        .send()
        .await?
        .error_for_status()?
        .text()
        .await
}

/// The scheduler's finished runs, from `GET /api/v1/status`.
pub async fn runs(client: &reqwest::Client, daemon: &Daemon) -> anyhow::Result<u64> {
    let url = format!("{}/api/v1/status", daemon.base);
    let text = get_text(client, &url).await?;
    let status: serde_json::Value = serde_json::from_str(&text)?;
    status
        .pointer("/scheduler/runs")
        .and_then(serde_json::Value::as_u64)
        .context("/api/v1/status has no scheduler.runs")
}

/// Waits for the first full round: polls the cheap status endpoint until the scheduler has
/// finished as many runs as there are jobs, then `GET /` until no job is pending.
pub async fn first_round(
    client: &reqwest::Client,
    daemon: &mut Daemon,
    jobs: usize,
    deadline: Duration,
) -> anyhow::Result<Until> {
    let mut until = Until {
        listening: None,
        complete: None,
        last: Census::default(),
    };
    let jobs = u64::try_from(jobs)?;
    while daemon.started.elapsed() < deadline {
        daemon.ensure_alive()?;
        let Ok(done) = runs(client, daemon).await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        until.listening.get_or_insert(daemon.started.elapsed());
        if done < jobs {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        let output = get_text(client, &format!("{}/", daemon.base)).await?;
        let at = daemon.started.elapsed();
        until.last = census(&output);
        if until.last.pending == 0 {
            until.complete = Some(at);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(until)
}

/// After a restart: polls `GET /` until it lists `jobs` services and none is pending.
pub async fn full_output(
    client: &reqwest::Client,
    daemon: &mut Daemon,
    jobs: usize,
    deadline: Duration,
) -> anyhow::Result<Until> {
    let mut until = Until {
        listening: None,
        complete: None,
        last: Census::default(),
    };
    while daemon.started.elapsed() < deadline {
        daemon.ensure_alive()?;
        let Ok(output) = get_text(client, &format!("{}/", daemon.base)).await else {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        let at = daemon.started.elapsed();
        until.listening.get_or_insert(at);
        until.last = census(&output);
        if until.last.pending == 0 && until.last.services >= jobs {
            until.complete = Some(at);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(until)
}

/// Latency of `GET /` as clients see it, body read to the end.
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    pub samples: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub bytes: usize,
}

/// `clients` concurrent clients send `per_client` requests each, one after the other, for at
/// most `budget`.
///
/// Each request is made the way Checkmk's agent plugin makes it (`deploy/checkmk/checkd` runs
/// curl): a new connection, the body read to its end, on a blocking socket in a thread of its
/// own. The figure is then the daemon's and the wire's. reqwest, used here before, hands a
/// 2.6 MB body from its connection task to the caller in small chunks, and measured itself:
/// 17.9 ms p50 where curl and a keep-alive Python client saw 5.6 ms and 4.6 ms.
pub async fn scrape(
    addr: SocketAddr,
    clients: usize,
    per_client: usize,
    budget: Duration,
) -> anyhow::Result<Latency> {
    let started = Instant::now();
    let client = move || {
        let mut samples = Vec::with_capacity(per_client);
        let mut bytes = 0;
        // One request first, as a warm-up.
        get_agent_output(addr)?;
        for _ in 0..per_client {
            if started.elapsed() > budget {
                break;
            }
            let sent = Instant::now();
            bytes = get_agent_output(addr)?;
            samples.push(sent.elapsed());
        }
        anyhow::Ok((samples, bytes))
    };
    let threads: Vec<_> = (0..clients)
        .map(|_| tokio::task::spawn_blocking(client))
        .collect();
    let mut all = Vec::with_capacity(clients * per_client);
    let mut bytes = 0;
    for thread in threads {
        let (samples, size) = thread.await??;
        all.extend(samples);
        bytes = bytes.max(size);
    }
    if all.is_empty() {
        bail!("no scrape finished within {budget:?}");
    }
    all.sort_unstable();
    Ok(Latency {
        samples: all.len(),
        p50: percentile(&all, 50),
        p99: percentile(&all, 99),
        bytes,
    })
}

/// `GET /` on a new connection, read to the end; the body's length.
fn get_agent_output(addr: SocketAddr) -> anyhow::Result<usize> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(
        format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )?;
    let mut response = Vec::with_capacity(4 << 20);
    stream.read_to_end(&mut response)?;
    let head = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no end of the response head")?;
    if !response.starts_with(b"HTTP/1.1 200 ") {
        let line = response.split(|b| *b == b'\r').next().unwrap_or_default();
        bail!("GET / answered {}", String::from_utf8_lossy(line));
    }
    Ok(response.len() - head - 4)
}

/// Nearest-rank percentile of sorted, non-empty samples.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted
        .get(rank - 1)
        .or(sorted.last())
        .copied()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn census_counts_services_in_blocks_only() {
        let output = "<<<check_mk>>>\nVersion: checkd-0.1.0\n<<<local:sep(0)>>>\n\
            0 \"checkd\" - fine\n<<<<bench-prod>>>>\n<<<local:sep(0)>>>\n\
            cached(1763890000,60) 0 \"item 1\" depth=3;500;1000 ok\n\
            3 \"item 2\" - first run pending\n<<<<>>>>\n";
        let c = census(output);
        assert_eq!((c.services, c.pending, c.states), (2, 1, [1, 0, 0, 1]));
    }

    #[test]
    fn percentile_is_nearest_rank() {
        let samples: Vec<Duration> = (1..=200).map(Duration::from_millis).collect();
        assert_eq!(percentile(&samples, 50), Duration::from_millis(100));
        assert_eq!(percentile(&samples, 99), Duration::from_millis(198));
        assert_eq!(percentile(&samples[..1], 99), Duration::from_millis(1));
    }
}
