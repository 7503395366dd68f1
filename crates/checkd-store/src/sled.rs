//! [`SledStore`]: the persistent layer on local disk (sled), flushed every 100 ms and swept of
//! long-expired and unreadable entries, so results survive a restart or a `kill -9`.
//!
//! It serves one process at a time (sled locks its directory) and reports a damaged or locked
//! database as an error instead of panicking; it is not shared between instances.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use tokio::task::JoinHandle;

use crate::envelope::{self, WarnOnce, FORMAT_VERSION};
use crate::stats::Counters;
use crate::{Entry, LayerStats, Store, StoreError};

/// Where and how the sled layer keeps its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SledConfig {
    /// The database directory (created if missing).
    pub path: PathBuf,
    /// How long an entry is kept after it expired, for "last result" serving, before a sweep
    /// removes it.
    pub keep_after: Duration,
    /// How often the background sweep runs; `None` for no background sweep.
    pub sweep_every: Option<Duration>,
}

impl SledConfig {
    pub fn new(path: impl Into<PathBuf>) -> SledConfig {
        SledConfig {
            path: path.into(),
            keep_after: Duration::from_secs(24 * 3600),
            sweep_every: Some(Duration::from_secs(600)),
        }
    }
}

/// The persistent layer: an embedded sled database on local disk. Entries are envelopes in the
/// tree `checkd-entries-v<FORMAT_VERSION>`, so another entry format lives beside this one.
#[derive(Clone, Debug)]
pub struct SledStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: sled::Db,
    tree: sled::Tree,
    counters: Counters,
    warned: WarnOnce,
}

fn unavailable(error: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable {
        layer: "sled",
        reason: error.to_string(),
    }
}

fn tree_name(version: u32) -> String {
    format!("checkd-entries-v{version}")
}

/// How often sled writes its buffers to disk, in milliseconds.
pub const FLUSH_EVERY_MS: u64 = 100;

/// sled's page cache (its default is 1 GiB). sled is the persistent layer behind faster
/// ones: it is read at start-up and on misses, so a small cache costs little and keeps the
/// daemon's memory near its own data.
const CACHE_BYTES: u64 = 8 * 1024 * 1024;

impl SledStore {
    /// Opens (or creates) the database at `path`. An unusable path — not creatable or not
    /// writable, locked by another process, corrupt — is a [`StoreError::Open`] saying which
    /// and why; sled panicking on a damaged file is caught and reported the same way.
    ///
    /// Blocking (sled recovers its log on open): call it from `spawn_blocking` in async code,
    /// or use [`SledStore::open_async`].
    pub fn open(path: &Path) -> Result<SledStore, StoreError> {
        SledStore::open_version(path, FORMAT_VERSION)
    }

    /// [`SledStore::open`] on a blocking thread.
    pub async fn open_async(path: PathBuf) -> Result<SledStore, StoreError> {
        let shown = path.display().to_string();
        tokio::task::spawn_blocking(move || SledStore::open(&path))
            .await
            .map_err(|e| open_error(&shown, format!("opening was aborted: {e}")))?
    }

    pub(crate) fn open_version(path: &Path, version: u32) -> Result<SledStore, StoreError> {
        let shown = path.display().to_string();
        let opened = catch_unwind(AssertUnwindSafe(
            || -> sled::Result<(sled::Db, sled::Tree)> {
                // sled keeps writes in its own buffers until its flusher runs: after a
                // `kill -9` only results younger than this are lost (and simply re-run).
                let db = sled::Config::new()
                    .path(path)
                    .flush_every_ms(Some(FLUSH_EVERY_MS))
                    .cache_capacity(CACHE_BYTES)
                    .open()?;
                let tree = db.open_tree(tree_name(version))?;
                Ok((db, tree))
            },
        ));
        let (db, tree) = match opened {
            Ok(Ok(opened)) => opened,
            Ok(Err(error)) => return Err(open_error(&shown, describe(&error))),
            Err(_) => {
                return Err(open_error(
                    &shown,
                    "the database is corrupt (sled panicked while opening it)".into(),
                ))
            }
        };
        let inner = Inner {
            db,
            tree,
            counters: Counters::default(),
            warned: WarnOnce::default(),
        };
        Ok(SledStore {
            inner: Arc::new(inner),
        })
    }

    /// Removes every entry that expired more than `keep_after` before `now_ms`, and every
    /// unreadable entry (it can never be served). Returns how many it removed. Runs on a
    /// blocking thread: a sweep walks the whole tree.
    pub async fn sweep(&self, now_ms: i64, keep_after: Duration) -> Result<usize, StoreError> {
        let inner = Arc::clone(&self.inner);
        let keep_ms = i64::try_from(keep_after.as_millis()).unwrap_or(i64::MAX);
        tokio::task::spawn_blocking(move || inner.sweep(now_ms, keep_ms))
            .await
            .map_err(unavailable)?
    }

    /// Sweeps every `every` until the store is dropped. Uses wall time, as entries are stamped
    /// with wall time (unix milliseconds).
    pub fn spawn_sweeper(&self, every: Duration, keep_after: Duration) -> JoinHandle<()> {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                let store = SledStore { inner };
                match store.sweep(unix_now_ms(), keep_after).await {
                    Ok(removed) => tracing::debug!(removed, "swept long-expired entries from sled"),
                    Err(error) => tracing::warn!(error = %error, "sweeping sled failed"),
                }
            }
        })
    }

    fn decode(&self, key: &str, bytes: &[u8]) -> Option<Entry> {
        self.inner.decode(key, bytes)
    }

    /// Writes raw bytes under `key`, bypassing the envelope (tests corrupt entries with it).
    #[doc(hidden)]
    pub fn put_raw(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.inner
            .tree
            .insert(key, bytes)
            .map(|_| ())
            .map_err(unavailable)
    }
}

impl Inner {
    fn decode(&self, key: &str, bytes: &[u8]) -> Option<Entry> {
        match envelope::decode(bytes) {
            Ok(entry) => Some(entry),
            Err(error) => {
                self.counters.corrupt();
                self.warned.warn("sled", key, &error);
                None
            }
        }
    }

    fn sweep(&self, now_ms: i64, keep_ms: i64) -> Result<usize, StoreError> {
        let mut removed = 0;
        for item in self.tree.iter() {
            let (key, bytes) = item.map_err(unavailable)?;
            let drop_it = match envelope::decode(&bytes) {
                Ok(entry) => entry.expires_ms().saturating_add(keep_ms) < now_ms,
                Err(_) => true,
            };
            // Compare-and-swap, so an entry rewritten since we read it survives the sweep.
            if drop_it
                && matches!(
                    self.tree
                        .compare_and_swap(&key, Some(&bytes), None::<&[u8]>),
                    Ok(Ok(()))
                )
            {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

fn open_error(path: &str, reason: String) -> StoreError {
    StoreError::Open {
        layer: "sled",
        location: path.to_string(),
        reason,
    }
}

fn describe(error: &sled::Error) -> String {
    match error {
        sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock => {
            "the database is locked by another process (is another checkd running?)".into()
        }
        sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
            "the database is locked by another process (is another checkd running?)".into()
        }
        sled::Error::Io(io) => format!("{io}"),
        sled::Error::Corruption { .. } => "the database is corrupt".into(),
        sled::Error::Unsupported(why) => {
            format!("the database is corrupt or not a sled 0.34 database: {why}")
        }
        other => other.to_string(),
    }
}

pub(crate) fn unix_now_ms() -> i64 {
    checkd_clock::Clock::system().now_ms()
}

// `get`, `put` and `remove` call sled inline, on the async worker: they work on sled's page
// cache and in-memory log buffer (a background thread writes it out; nothing here fsyncs), so
// they take microseconds, less than the hop to a blocking thread would cost. `scan`, `sweep`
// and `flush` can take long and run on blocking threads (or sled's own pool).
#[async_trait]
impl Store for SledStore {
    fn name(&self) -> &'static str {
        "sled"
    }

    async fn get(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        let start = checkd_clock::now();
        let counters = &self.inner.counters;
        let found = match self.inner.tree.get(key) {
            Err(error) => {
                counters.error();
                Err(unavailable(error))
            }
            Ok(None) => {
                counters.miss();
                Ok(None)
            }
            // An unreadable entry is counted (corrupt, miss) and warned about by `decode`.
            Ok(Some(bytes)) => {
                let entry = self.decode(key, &bytes);
                if entry.is_some() {
                    counters.hit();
                }
                Ok(entry)
            }
        };
        counters.since(start);
        found
    }

    async fn put(&self, key: &str, entry: Entry) -> Result<(), StoreError> {
        let start = checkd_clock::now();
        let result = self
            .inner
            .tree
            .insert(key, envelope::encode(&entry))
            .map(|_| ())
            .map_err(unavailable);
        self.inner.counters.written(&result);
        self.inner.counters.since(start);
        result
    }

    async fn scan(&self, prefix: &str) -> Result<Vec<(String, Entry)>, StoreError> {
        let start = checkd_clock::now();
        let inner = Arc::clone(&self.inner);
        let prefix = prefix.to_string();
        let scanned = tokio::task::spawn_blocking(move || {
            let mut found = Vec::new();
            for item in inner.tree.scan_prefix(prefix.as_bytes()) {
                let (key, bytes) = item.map_err(unavailable)?;
                let key = String::from_utf8_lossy(&key).into_owned();
                if let Some(entry) = inner.decode(&key, &bytes) {
                    found.push((key, entry));
                }
            }
            Ok(found)
        })
        .await
        .map_err(unavailable)?;
        if scanned.is_err() {
            self.inner.counters.error();
        }
        self.inner.counters.since(start);
        scanned
    }

    async fn remove(&self, key: &str) -> Result<(), StoreError> {
        let result = self.inner.tree.remove(key).map(|_| ()).map_err(unavailable);
        self.inner.counters.written(&result);
        result
    }

    async fn flush(&self) -> Result<(), StoreError> {
        // flush_async hands the write-out to sled's own thread pool and awaits it.
        let result = self
            .inner
            .db
            .flush_async()
            .await
            .map(|_| ())
            .map_err(unavailable);
        if result.is_err() {
            self.inner.counters.error();
        }
        result
    }

    fn stats(&self) -> Vec<LayerStats> {
        let mut stats = self.inner.counters.snapshot(self.name(), true);
        // `len` would walk the tree; the size on disk is a file-size sum.
        stats.bytes = self.inner.db.size_on_disk().ok();
        vec![stats]
    }
}

#[cfg(test)]
#[path = "sled_tests.rs"]
mod tests;
