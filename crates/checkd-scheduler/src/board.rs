//! The [`Board`]: the latest record of every job, which the endpoints, the spool writer and
//! self-monitoring read, with one [`Slot`] per job so a renderer reads records without hashing
//! keys. It deliberately neither runs jobs nor persists records (the executor writes both the
//! board and the store); [`Board::load`] only reads the store once at start.

use std::collections::HashMap;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

use arc_swap::ArcSwapOption;
use checkd_model::plan::Plan;
use checkd_model::{JobKey, RunRecord};
use checkd_store::{records, Store};
use rustc_hash::FxBuildHasher;

/// The latest record of every job: what the endpoints serve. Each job has a [`Slot`] that
/// keeps its place for the board's life, so a renderer resolves the slots of its jobs once and
/// then reads records without hashing a key (a scrape of 20,000 jobs did little else). The
/// map's lock is never held across an await; writing a record into an existing slot needs only
/// its read side. Keys hash with FxHash.
#[derive(Debug, Default)]
pub struct Board {
    slots: RwLock<HashMap<JobKey, Arc<Slot>, FxBuildHasher>>,
}

/// One job's place on the board: its latest record, if any, swapped without a lock, and a
/// version that every write bumps. A renderer keeps the version, not the record: holding the
/// record would keep every replaced result alive until the next scrape.
#[derive(Debug, Default)]
pub struct Slot {
    record: ArcSwapOption<RunRecord>,
    version: AtomicU64,
}

impl Slot {
    pub fn get(&self) -> Option<Arc<RunRecord>> {
        self.record.load_full()
    }

    /// The slot's version now: unchanged means the record is the one read at this version.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// The record with its version. The version is read first, so a write in between pairs
    /// the new record with the old version: the reader renders once more, never too little.
    pub fn read(&self) -> (u64, Option<Arc<RunRecord>>) {
        let version = self.version();
        (version, self.get())
    }

    fn store(&self, record: Arc<RunRecord>) {
        self.record.store(Some(record));
        self.version.fetch_add(1, Ordering::Release);
    }
}

impl Board {
    pub fn new() -> Board {
        Board::default()
    }

    fn map(&self) -> RwLockReadGuard<'_, HashMap<JobKey, Arc<Slot>, FxBuildHasher>> {
        self.slots.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn get(&self, key: &JobKey) -> Option<Arc<RunRecord>> {
        self.map().get(key).and_then(|slot| slot.get())
    }

    /// The slot of `key`, made empty if the job has no record yet. It stays the job's slot
    /// until [`Board::retain`] drops the job.
    pub fn slot(&self, key: &JobKey) -> Arc<Slot> {
        if let Some(slot) = self.map().get(key) {
            return Arc::clone(slot);
        }
        let mut slots = self.slots.write().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(slots.entry(key.clone()).or_default())
    }

    pub fn insert(&self, record: Arc<RunRecord>) {
        self.slot(&record.key).store(record);
    }

    /// Every record, for one consistent rendering.
    pub fn snapshot(&self) -> HashMap<JobKey, Arc<RunRecord>> {
        self.map()
            .iter()
            .filter_map(|(key, slot)| Some((key.clone(), slot.get()?)))
            .collect()
    }

    /// Drops the records (and slots) of jobs that are no longer in the plan.
    pub fn retain(&self, keep: impl Fn(&JobKey) -> bool) {
        self.slots
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|k, _| keep(k));
    }

    /// Puts every stored record of the plan's jobs on the board, so a restarted daemon serves
    /// them at once and only re-runs what has expired. Unreadable entries are skipped with a
    /// warning; records of jobs no longer in the plan are left alone.
    pub async fn load(&self, store: &dyn Store, plan: &Plan) -> usize {
        let entries = match store.scan(records::PREFIX).await {
            Ok(entries) => entries,
            Err(error) => {
                tracing::warn!(error = %error, "could not read persisted results");
                return 0;
            }
        };
        let wanted: HashSet<&JobKey> = plan.jobs.iter().map(|j| &j.key).collect();
        let mut loaded = 0;
        for (key, entry) in entries {
            match records::decode(&key, &entry) {
                Ok(record) if wanted.contains(&record.key) => {
                    self.insert(Arc::new(record));
                    loaded += 1;
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(error = %error, "skipping persisted result"),
            }
        }
        loaded
    }

    /// How many jobs have a record.
    pub fn len(&self) -> usize {
        self.map()
            .values()
            .filter(|slot| slot.record.load().is_some())
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
