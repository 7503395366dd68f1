//! The cache benchmark: a program that prints figures, not a test.
//!
//! `cargo run --release -p checkd-store --example cache_bench`
//!
//! Starts its own `redis-server` on a free loopback port, then measures
//! 1. memory-layer get and put throughput on one core (a current-thread runtime),
//! 2. chained get latency (memory → Redis → sled) for a memory hit, a Redis hit, a sled hit,
//! 3. Redis-layer get throughput with 64 concurrent tasks,
//! 4. `redis-benchmark -t get -n 100000 -c 64 -q` (no pipelining) against the same server,
//!
//! and prints a table. Targets on the 2-core machine: memory ≥ 2 M gets/s; Redis layer ≥ 50 %
//! of redis-benchmark.

// A benchmark program: printing is its output and a panic is the right report of a broken setup.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]
#![allow(
    clippy::disallowed_methods,
    reason = "a benchmark measures real time, not the runtime's clock"
)]

#[path = "../tests/support/redis_server.rs"]
mod redis_server;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use checkd_store::{
    ChainOptions, ChainStore, Entry, MemoryStore, RedisConfig, RedisStore, SledStore, Store,
};
use redis_server::RedisServer;

const KEYS: usize = 10_000;
const MEMORY_GETS: usize = 4_000_000;
const MEMORY_PUTS: usize = 1_000_000;
const LATENCY_SAMPLES: usize = 20_000;
const REDIS_GETS: usize = 100_000;
const TASKS: usize = 64;

fn entry(i: usize) -> Entry {
    // About the size of a small check result record.
    let payload = format!(r#"{{"state":"ok","summary":"all good {i}","metrics":[]}}"#).into_bytes();
    Entry {
        stored_ms: 1_700_000_000_000,
        valid_for_ms: 60_000,
        producer: "bench".into(),
        payload,
    }
}

fn keys() -> Vec<String> {
    (0..KEYS)
        .map(|i| format!("result/prod/check-{i:05}"))
        .collect()
}

struct Row {
    what: String,
    figure: String,
    target: String,
}

fn main() {
    let server = RedisServer::start();
    let mut rows = Vec::new();
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    current.block_on(memory_throughput(&mut rows));
    let dir = tempfile::tempdir().unwrap();
    current.block_on(chain_latency(&server, dir.path(), &mut rows));
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let ours = multi.block_on(redis_throughput(&server, &mut rows));
    let theirs = redis_benchmark(server.port);
    rows.push(Row {
        what: "redis-benchmark -t get -n 100000 -c 64 (no pipelining)".into(),
        figure: theirs.map_or("not run".into(), |t| format!("{t:.0} gets/s")),
        target: String::new(),
    });
    if let Some(theirs) = theirs {
        rows.push(Row {
            what: "Redis layer / redis-benchmark".into(),
            figure: format!("{:.0} %", 100.0 * ours / theirs),
            target: "≥ 50 %".into(),
        });
    }
    print_table(&rows);
}

async fn memory_throughput(rows: &mut Vec<Row>) {
    let store = MemoryStore::new();
    let keys = keys();
    for (i, key) in keys.iter().enumerate() {
        store.put(key, entry(i)).await.unwrap();
    }
    let dyn_store: &dyn Store = &store;
    let start = Instant::now();
    let mut found = 0usize;
    for i in 0..MEMORY_GETS {
        found += usize::from(dyn_store.get(&keys[i % KEYS]).await.unwrap().is_some());
    }
    let gets = MEMORY_GETS as f64 / start.elapsed().as_secs_f64();
    assert_eq!(found, MEMORY_GETS);
    rows.push(Row {
        what: "memory layer get (Store trait, 1 core)".into(),
        figure: format!("{:.2} M gets/s", gets / 1e6),
        target: "≥ 2 M gets/s".into(),
    });
    let entries: Vec<Entry> = (0..KEYS).map(entry).collect();
    let start = Instant::now();
    for i in 0..MEMORY_PUTS {
        dyn_store
            .put(&keys[i % KEYS], entries[i % KEYS].clone())
            .await
            .unwrap();
    }
    let puts = MEMORY_PUTS as f64 / start.elapsed().as_secs_f64();
    rows.push(Row {
        what: "memory layer put (Store trait, 1 core)".into(),
        figure: format!("{:.2} M puts/s", puts / 1e6),
        target: String::new(),
    });
}

async fn chain_latency(server: &RedisServer, dir: &std::path::Path, rows: &mut Vec<Row>) {
    let memory = Arc::new(MemoryStore::new());
    let redis = Arc::new(
        RedisStore::new(&RedisConfig {
            infix: "bench".into(),
            ..RedisConfig::new(server.url())
        })
        .unwrap(),
    );
    let sled = Arc::new(SledStore::open(&dir.join("db")).unwrap());
    let layers: Vec<Arc<dyn Store>> = vec![memory.clone(), redis.clone(), sled.clone()];
    let chain = ChainStore::new(layers, ChainOptions::default());
    let keys = keys();
    for (i, key) in keys.iter().enumerate() {
        chain.put(key, entry(i)).await.unwrap();
    }
    let mut samples = Vec::with_capacity(LATENCY_SAMPLES);

    for i in 0..LATENCY_SAMPLES {
        let key = &keys[i % KEYS];
        let start = Instant::now();
        chain.get(key).await.unwrap().unwrap();
        samples.push(start.elapsed());
    }
    rows.push(latency_row("chained get, memory hit", &mut samples));

    // A Redis hit: take the key out of memory first (untimed); the timed get reads Redis and
    // copies the entry into memory.
    for i in 0..LATENCY_SAMPLES / 4 {
        let key = &keys[i % KEYS];
        memory.remove(key).await.unwrap();
        let start = Instant::now();
        chain.get(key).await.unwrap().unwrap();
        samples.push(start.elapsed());
    }
    rows.push(latency_row(
        "chained get, Redis hit (+ copy into memory)",
        &mut samples,
    ));

    // A sled hit: out of memory and Redis; the timed get misses both, reads sled and copies
    // the entry into memory and Redis.
    for i in 0..LATENCY_SAMPLES / 4 {
        let key = &keys[i % KEYS];
        memory.remove(key).await.unwrap();
        redis.remove(key).await.unwrap();
        let start = Instant::now();
        chain.get(key).await.unwrap().unwrap();
        samples.push(start.elapsed());
    }
    rows.push(latency_row(
        "chained get, sled hit (+ copy into memory, Redis)",
        &mut samples,
    ));
}

fn latency_row(what: &str, samples: &mut Vec<Duration>) -> Row {
    samples.sort();
    let at = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    let row = Row {
        what: what.into(),
        figure: format!(
            "p50 {:>8.1} µs   p99 {:>8.1} µs",
            micros(at(0.50)),
            micros(at(0.99))
        ),
        target: String::new(),
    };
    samples.clear();
    row
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

async fn redis_throughput(server: &RedisServer, rows: &mut Vec<Row>) -> f64 {
    let store = Arc::new(
        RedisStore::new(&RedisConfig {
            infix: "bench".into(),
            ..RedisConfig::new(server.url())
        })
        .unwrap(),
    );
    let keys = Arc::new(keys());
    for (i, key) in keys.iter().enumerate().take(1000) {
        store.put(key, entry(i)).await.unwrap();
    }
    let start = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let store = Arc::clone(&store);
            let keys = Arc::clone(&keys);
            tokio::spawn(async move {
                for i in 0..REDIS_GETS / TASKS {
                    store.get(&keys[(t * 7 + i) % 1000]).await.unwrap().unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let rate = (REDIS_GETS / TASKS * TASKS) as f64 / start.elapsed().as_secs_f64();
    rows.push(Row {
        what: format!("Redis layer get, {TASKS} concurrent tasks (1 multiplexed connection)"),
        figure: format!("{rate:.0} gets/s"),
        target: "≥ 50 % of redis-benchmark".into(),
    });
    rate
}

/// Runs redis-benchmark and returns its GET rate.
fn redis_benchmark(port: u16) -> Option<f64> {
    let port = port.to_string();
    let output = Command::new("redis-benchmark")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-t",
            "get",
            "-n",
            "100000",
            "-c",
            "64",
            "-q",
        ])
        .output();
    let output = match output {
        Ok(output) => output,
        Err(error) => {
            println!(
                "redis-benchmark could not run ({error}): run scripts/test, which installs it"
            );
            return None;
        }
    };
    let text = String::from_utf8_lossy(&output.stdout);
    // "GET: 98231.83 requests per second, p50=0.335 msec" (the last \r-separated line).
    let line = text.split(['\r', '\n']).rfind(|l| l.starts_with("GET:"))?;
    line["GET:".len()..].split_whitespace().next()?.parse().ok()
}

fn print_table(rows: &[Row]) {
    let width = rows
        .iter()
        .map(|r| r.what.chars().count())
        .max()
        .unwrap_or(0);
    let fig = rows
        .iter()
        .map(|r| r.figure.chars().count())
        .max()
        .unwrap_or(0);
    println!("{:<width$}  {:<fig$}  target", "measure", "figure");
    println!("{}", "-".repeat(width + fig + 30));
    for row in rows {
        println!("{:<width$}  {:<fig$}  {}", row.what, row.figure, row.target);
    }
}
