use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

use std::collections::HashSet;

use checkd_model::plan::Plan;
use checkd_model::{JobKey, RunRecord};
use checkd_store::{records, Store};
use rustc_hash::FxBuildHasher;

/// The latest record of every job: what the endpoints serve. Reads clone `Arc`s under a
/// short lock that is never held across an await. Keys hash with FxHash: a scrape of 20,000
/// jobs looks every one up, and SipHash was a fifth of its time.
#[derive(Debug, Default)]
pub struct Board {
    records: RwLock<HashMap<JobKey, Arc<RunRecord>, FxBuildHasher>>,
}

/// The board held for reading: many look-ups under one lock (a whole rendering). Never hold
/// it across an await.
#[derive(Debug)]
pub struct BoardRead<'a>(RwLockReadGuard<'a, HashMap<JobKey, Arc<RunRecord>, FxBuildHasher>>);

impl BoardRead<'_> {
    pub fn get(&self, key: &JobKey) -> Option<&Arc<RunRecord>> {
        self.0.get(key)
    }
}

impl Board {
    pub fn new() -> Board {
        Board::default()
    }

    pub fn get(&self, key: &JobKey) -> Option<Arc<RunRecord>> {
        self.records
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    /// Holds the board for a batch of look-ups.
    pub fn read(&self) -> BoardRead<'_> {
        BoardRead(self.records.read().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn insert(&self, record: Arc<RunRecord>) {
        self.records
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(record.key.clone(), record);
    }

    /// Every record, for one consistent rendering.
    pub fn snapshot(&self) -> HashMap<JobKey, Arc<RunRecord>> {
        self.records
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(key, record)| (key.clone(), Arc::clone(record)))
            .collect()
    }

    /// Drops the records of jobs that are no longer in the plan.
    pub fn retain(&self, keep: impl Fn(&JobKey) -> bool) {
        self.records
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

    pub fn len(&self) -> usize {
        self.records
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
