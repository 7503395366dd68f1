//! Several instances, one Redis: every job runs on one instance per interval, and every
//! instance serves every result.
//!
//! - **Slots.** In a fleet an interval job is due on a wall-clock grid, `k × interval +
//!   phase`, with the phase a hash of the job key (so the same on every instance); a cron job
//!   at its fire times. A due time is a *slot*, and every instance sees the same slots.
//! - **Leases.** Before running a slot an instance takes `lease/<job>/<slot>` in Redis with
//!   `SET NX PX` (`Store::try_lock`). Whoever gets it runs the job and writes the result
//!   through the chain, Redis included; the others *follow*: they read that result from
//!   Redis and put it on their board. The lease is per slot and lives past the run (the
//!   timeout plus the fallback plus 10 s), so it is never released: a late instance cannot
//!   run the slot twice, and a crashed owner costs that one slot at most.
//! - **Spreading.** Each job prefers one live instance (rendezvous hashing over the
//!   heartbeats); the others wait `fallback_after` before they try the lease, so the
//!   preferred one wins unless it is gone or slow.
//! - **One hash.** Phases and preferences hash with XXH3-64, a specified algorithm pinned by
//!   test vectors, so instances of different builds (a rolling upgrade) still agree.
//! - **Redis down.** The chain grants a lease it cannot ask for, so each instance runs its
//!   jobs itself (availability over deduplication) and counts those runs as local until
//!   Redis answers again; self-monitoring shows it. A follower whose Redis stops answering
//!   runs the slot itself too, instead of waiting out the lease with a result going stale.
//! - **Heartbeats.** Each instance writes `fleet/instance/<name>` every `heartbeat` with its
//!   run counts; three missed beats and the others stop preferring it.

mod slots;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, PoisonError, RwLock};

use checkd_clock::Clock;
use checkd_model::plan::{FleetSettings, Job, Schedule};
use checkd_model::JobKey;
use checkd_store::{records, Entry, Store};
use serde::{Deserialize, Serialize};
use tokio::time::{sleep, Duration};
use tokio_util::sync::CancellationToken;
use xxhash_rust::xxh3::Xxh3;

use crate::timetable::millis;
use crate::Board;

pub(crate) use slots::Slots;

const MEMBERS: &str = "fleet/instance/";
/// How often a follower looks for the owner's result.
const FOLLOW_POLL: Duration = Duration::from_millis(100);
/// Beyond the run's own timeout and the fallback, how long a slot's lease lives.
const LEASE_SLACK: Duration = Duration::from_secs(10);

/// This instance's part in the fleet.
#[derive(Debug)]
pub struct Fleet {
    me: String,
    settings: FleetSettings,
    /// The shared layers only (Redis): leases, heartbeats and the owners' results.
    shared: Arc<dyn Store>,
    /// Live instances by name, this one included, sorted.
    members: RwLock<Vec<String>>,
    runs: AtomicU64,
    followed: AtomicU64,
    local: AtomicU64,
    /// The runs counted at the last heartbeat, for `runs_last_beat`.
    runs_at_beat: AtomicU64,
    shared_ok: AtomicBool,
}

/// What one instance says in its heartbeat.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Member {
    pub instance: String,
    /// Runs it did since it started, and since its previous heartbeat.
    pub runs_total: u64,
    pub runs_last_beat: u64,
    /// Results it took from other instances since it started.
    pub followed_total: u64,
    /// Runs it did without a lease because Redis did not answer.
    pub local_total: u64,
    pub seen_ms: i64,
}

/// The fleet as this instance sees it.
#[derive(Clone, Debug, Serialize)]
pub struct FleetView {
    pub instance: String,
    /// Whether Redis answers; when not, this instance runs every job itself.
    pub shared_ok: bool,
    pub members: Vec<Member>,
}

/// What to do with a due slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Claim {
    /// This instance holds the lease (or Redis did not answer): run it.
    Run,
    /// Another instance holds the lease: take its result.
    Follow,
}

/// How following another instance's run of a slot ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Followed {
    /// Its result is on the board (unless this instance already had a newer one).
    Taken,
    /// No result until the lease would have expired: the owner died.
    Missed,
    /// Redis stopped answering: the slot is this instance's to run.
    Unreachable,
}

impl Fleet {
    pub fn new(instance: String, settings: FleetSettings, shared: Arc<dyn Store>) -> Fleet {
        Fleet {
            members: RwLock::new(vec![instance.clone()]),
            me: instance,
            settings,
            shared,
            runs: AtomicU64::new(0),
            followed: AtomicU64::new(0),
            local: AtomicU64::new(0),
            runs_at_beat: AtomicU64::new(0),
            shared_ok: AtomicBool::new(true),
        }
    }

    pub fn instance(&self) -> &str {
        &self.me
    }

    /// The first due time of an interval job at or after `now_ms` in the fleet's grid, or
    /// the one just before when `catch_up` (its record is missing or expired).
    pub(crate) fn slot_ms(
        &self,
        job: &Job,
        interval: Duration,
        splay: f64,
        now_ms: i64,
        catch_up: bool,
    ) -> i64 {
        let interval_ms = i64::try_from(interval.as_millis())
            .unwrap_or(i64::MAX)
            .max(1);
        let spread = (interval_ms as f64 * splay.clamp(0.0, 1.0)) as i64;
        let phase = if spread > 0 {
            i64::try_from(hash(&[&job.key.to_string(), "phase"]) % spread.unsigned_abs())
                .unwrap_or(0)
        } else {
            0
        };
        let current = (now_ms - phase).div_euclid(interval_ms) * interval_ms + phase;
        if catch_up || current >= now_ms {
            current
        } else {
            current + interval_ms
        }
    }

    /// Decides who runs `job`'s slot: waits `fallback_after` unless this instance is the
    /// job's preferred one, then tries the slot's lease.
    pub(crate) async fn claim(&self, job: &Job, slot_ms: i64) -> Claim {
        if !self.prefers_me(&job.key) {
            sleep(self.settings.fallback_after).await;
        }
        let lease = format!("lease/{}/{slot_ms}", job.key);
        let ttl = job.timeout + self.settings.fallback_after + LEASE_SLACK;
        let granted = self.shared.try_lock(&lease, ttl).await.unwrap_or(true);
        if !granted {
            return Claim::Follow;
        }
        self.runs.fetch_add(1, Relaxed);
        if !self.shared_healthy() {
            self.local.fetch_add(1, Relaxed);
        }
        Claim::Run
    }

    /// Waits for the result of `job`'s slot that another instance runs and puts it on the
    /// board. Gives up when the lease would have expired (the owner died): the next slot
    /// runs elsewhere. When Redis stops answering meanwhile, the owner's result may never be
    /// readable: waiting out the lease would leave the job without a run for longer than its
    /// results stay fresh, so the caller runs the slot itself instead.
    pub(crate) async fn follow(
        &self,
        job: &Job,
        slot_ms: i64,
        board: &Board,
        clock: &Clock,
    ) -> Followed {
        let key = records::key(&job.key);
        let deadline_ms = slot_ms.saturating_add(millis(
            job.timeout + self.settings.fallback_after + LEASE_SLACK,
        ));
        while clock.now_ms() < deadline_ms {
            match self.shared.get(&key).await {
                Ok(Some(entry)) => match records::decode(&key, &entry) {
                    Ok(record) if record.attempted_ms >= slot_ms - skew_ms(job) => {
                        // Not older than what this instance already has.
                        let newer = board
                            .get(&job.key)
                            .is_none_or(|mine| mine.attempted_ms <= record.attempted_ms);
                        if newer {
                            board.insert(Arc::new(record));
                        }
                        self.followed.fetch_add(1, Relaxed);
                        return Followed::Taken;
                    }
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(%key, %error, "cannot read another instance's result")
                    }
                },
                Ok(None) => {}
                Err(_) => return Followed::Unreachable,
            }
            sleep(FOLLOW_POLL).await;
        }
        tracing::debug!(job = %job.key, "no result from the lease holder in time");
        Followed::Missed
    }

    /// Counts a run this instance does without a lease, as Redis did not answer.
    pub(crate) fn ran_without_lease(&self) {
        self.runs.fetch_add(1, Relaxed);
        self.local.fetch_add(1, Relaxed);
    }

    /// Whether this instance is the job's preferred one among the live instances.
    fn prefers_me(&self, key: &JobKey) -> bool {
        let members = self.members.read().unwrap_or_else(PoisonError::into_inner);
        let job = key.to_string();
        members
            .iter()
            .max_by_key(|member| hash(&[&job, member]))
            .is_none_or(|preferred| *preferred == self.me)
    }

    fn shared_healthy(&self) -> bool {
        self.shared.stats().iter().all(|layer| layer.healthy)
    }

    /// Writes this instance's heartbeat and reads the others' every `heartbeat` until
    /// `cancel` fires.
    pub async fn beat(&self, clock: Clock, cancel: CancellationToken) {
        loop {
            self.beat_once(&clock).await;
            tokio::select! {
                () = cancel.cancelled() => break,
                () = sleep(self.settings.heartbeat) => {}
            }
        }
        // Leaving: the others stop preferring this instance at once.
        let _ = self.shared.remove(&format!("{MEMBERS}{}", self.me)).await;
    }

    async fn beat_once(&self, clock: &Clock) {
        let now_ms = clock.now_ms();
        let runs = self.runs.load(Relaxed);
        let me = Member {
            instance: self.me.clone(),
            runs_total: runs,
            runs_last_beat: runs - self.runs_at_beat.swap(runs, Relaxed),
            followed_total: self.followed.load(Relaxed),
            local_total: self.local.load(Relaxed),
            seen_ms: now_ms,
        };
        let entry = Entry {
            stored_ms: now_ms,
            valid_for_ms: u64::try_from(millis(self.settings.heartbeat * 3)).unwrap_or(u64::MAX),
            producer: self.me.clone(),
            payload: serde_json::to_vec(&me).unwrap_or_default(),
        };
        let written = self
            .shared
            .put(&format!("{MEMBERS}{}", self.me), entry)
            .await;
        let members = match (written, self.shared.scan(MEMBERS).await) {
            (Ok(()), Ok(entries)) => {
                // Instances gone for ten beats are forgotten.
                let gone_ms = millis(self.settings.heartbeat * 10);
                for (key, entry) in &entries {
                    if entry.expires_ms().saturating_add(gone_ms) < now_ms {
                        let _ = self.shared.remove(key).await;
                    }
                }
                let mut live: Vec<String> = live_members(&entries, now_ms)
                    .map(|member| member.instance)
                    .chain(std::iter::once(self.me.clone()))
                    .collect();
                live.sort();
                live.dedup();
                self.shared_ok.store(true, Relaxed);
                live
            }
            _ => {
                // Alone until Redis answers: every job is this instance's.
                self.shared_ok.store(false, Relaxed);
                vec![self.me.clone()]
            }
        };
        *self.members.write().unwrap_or_else(PoisonError::into_inner) = members;
    }

    /// The live instances and their counts, as the heartbeats in Redis say.
    pub async fn view(&self, clock: &Clock) -> FleetView {
        let now_ms = clock.now_ms();
        let mut members: Vec<Member> = match self.shared.scan(MEMBERS).await {
            Ok(entries) => live_members(&entries, now_ms).collect(),
            Err(_) => Vec::new(),
        };
        members.sort_by(|a, b| a.instance.cmp(&b.instance));
        FleetView {
            instance: self.me.clone(),
            shared_ok: self.shared_ok.load(Relaxed) && self.shared_healthy(),
            members,
        }
    }

    /// How many instances are alive, this one included.
    pub fn live(&self) -> usize {
        self.members
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Runs this instance did, results it followed, runs without a lease.
    pub fn counts(&self) -> (u64, u64, u64) {
        (
            self.runs.load(Relaxed),
            self.followed.load(Relaxed),
            self.local.load(Relaxed),
        )
    }

    /// Whether Redis answered at the last heartbeat and the shared layers are healthy.
    pub fn shared_ok(&self) -> bool {
        self.shared_ok.load(Relaxed) && self.shared_healthy()
    }
}

/// The heartbeats among `entries` that are still fresh.
fn live_members(entries: &[(String, Entry)], now_ms: i64) -> impl Iterator<Item = Member> + '_ {
    entries
        .iter()
        .filter(move |(_, entry)| entry.is_fresh(now_ms))
        .filter_map(|(_, entry)| serde_json::from_slice(&entry.payload).ok())
}

/// How far apart two instances' clocks may be for a result to count as the slot's.
fn skew_ms(job: &Job) -> i64 {
    match job.schedule {
        Schedule::Every(interval) => millis(interval / 4).min(1_000),
        Schedule::Cron { .. } => 1_000,
    }
}

/// XXH3-64 with seed 0 of `parts` joined by NUL bytes: a specified hash, so instances agree on
/// slots and preferences whatever their build or Rust release (std's `DefaultHasher` and its
/// `Hash` impls may change between releases, and a fleet mid rolling upgrade would disagree).
fn hash(parts: &[&str]) -> u64 {
    let mut hasher = Xxh3::new();
    for (n, part) in parts.iter().enumerate() {
        if n > 0 {
            hasher.update(&[0]);
        }
        hasher.update(part.as_bytes());
    }
    hasher.digest()
}

#[cfg(test)]
mod tests {
    use checkd_store::MemoryStore;

    use super::*;

    fn fleet(me: &str, members: &[&str]) -> Fleet {
        let settings = FleetSettings {
            instance: Some(me.to_string()),
            fallback_after: Duration::from_millis(500),
            heartbeat: Duration::from_secs(1),
        };
        let fleet = Fleet::new(me.to_string(), settings, Arc::new(MemoryStore::new()));
        *fleet.members.write().unwrap() = members.iter().map(|m| m.to_string()).collect();
        fleet
    }

    /// Instances of different builds must agree: these values may never change. A new hash
    /// would need a new lease key and a fleet-wide restart.
    #[test]
    fn slots_and_preferences_hash_with_xxh3_pinned_by_test_vectors() {
        // XXH3-64 of no input, as the algorithm's specification gives it.
        assert_eq!(hash(&[]), 0x2d06_8005_38d3_94c2);
        // What the fleet hashes: the job key, a NUL, then an instance name or "phase".
        assert_eq!(hash(&["orders@prod", "a"]), 0xcfb2_26da_9c9f_dc4f);
        assert_eq!(hash(&["orders@prod", "b"]), 0xaa62_86fe_d0b5_aa67);
        assert_eq!(hash(&["orders@prod", "c"]), 0xa7c9_9e28_9b38_e625);
        assert_eq!(hash(&["orders@prod", "phase"]), 0x42e6_e255_94be_c5ec);

        let job = checkd_model::testing::job("orders", "prod");
        let members = ["a", "b", "c"];
        let preferred: Vec<&str> = members
            .into_iter()
            .filter(|me| fleet(me, &members).prefers_me(&job.key))
            .collect();
        assert_eq!(preferred, ["a"], "the highest hash wins");
        // Phase 0x42e6_e255_94be_c5ec % 30 s (half a minute of splay) = 2.668 s.
        let slot =
            fleet("a", &members).slot_ms(&job, Duration::from_secs(60), 0.5, 1_000_000_000, false);
        assert_eq!(slot, 1_000_020_000 + 2_668);
    }

    #[test]
    fn each_job_prefers_exactly_one_instance_and_the_jobs_spread_evenly() {
        let members = ["a", "b", "c"];
        let fleets: Vec<Fleet> = members.iter().map(|m| fleet(m, &members)).collect();
        let mut preferred = [0usize; 3];
        for n in 0..300 {
            let key = JobKey::new(format!("check-{n}"), "prod");
            let who: Vec<usize> = (0..3).filter(|&i| fleets[i].prefers_me(&key)).collect();
            assert_eq!(who.len(), 1, "{key}: {who:?}");
            preferred[who[0]] += 1;
        }
        assert!(
            preferred.iter().all(|&n| (75..=125).contains(&n)),
            "{preferred:?}"
        );
    }

    #[test]
    fn slots_lie_on_one_grid_whatever_the_instance_and_the_moment() {
        let job = checkd_model::testing::job("orders", "prod");
        let minute = Duration::from_secs(60);
        let a = fleet("a", &["a", "b"]);
        let b = fleet("b", &["a", "b"]);
        let slot = a.slot_ms(&job, minute, 0.5, 1_000_000_000, false);
        let phase = slot.rem_euclid(60_000);
        assert!(phase < 30_000, "within the splay: {phase}");
        assert!((1_000_000_000..1_000_060_000).contains(&slot), "{slot}");
        // Any moment of one interval gives the same slot, on any instance.
        for now in [slot - 59_999, slot - 1, slot] {
            assert_eq!(b.slot_ms(&job, minute, 0.5, now, false), slot);
        }
        // Catching up means the slot that already began.
        assert_eq!(a.slot_ms(&job, minute, 0.5, slot + 10, true), slot);
        assert_eq!(
            a.slot_ms(&job, minute, 0.5, slot + 10, false),
            slot + 60_000
        );
        assert_eq!(
            a.slot_ms(&job, minute, 0.0, 1_000_000_001, false),
            1_000_020_000
        );
    }

    /// A follower ("b") of `orders@prod`'s slot at 1,000,000 ms, half a second later, whose
    /// shared layers are `shared`.
    async fn follow_with(shared: Arc<dyn Store>) -> (Followed, Board) {
        let settings = FleetSettings {
            instance: Some("b".into()),
            fallback_after: Duration::from_millis(500),
            heartbeat: Duration::from_secs(1),
        };
        let fleet = Fleet::new("b".into(), settings, shared);
        let board = Board::new();
        let clock = Clock::starting_at(1_000_500);
        let job = checkd_model::testing::job("orders", "prod");
        let followed = fleet.follow(&job, 1_000_000, &board, &clock).await;
        (followed, board)
    }

    #[tokio::test(start_paused = true)]
    async fn a_follower_takes_the_owners_result_or_gives_up_when_the_lease_expires() {
        let shared = Arc::new(MemoryStore::new());
        let (followed, board) = follow_with(shared.clone()).await;
        assert_eq!((followed, board.len()), (Followed::Missed, 0));

        let job = checkd_model::testing::job("orders", "prod");
        let outcome = checkd_model::Outcome::Unavailable("refused".into());
        let owners = checkd_model::apply(&job, None, outcome, 1_000_001, Duration::ZERO);
        let entry = records::encode(&owners, "a").unwrap();
        shared.put(&records::key(&job.key), entry).await.unwrap();
        let (followed, board) = follow_with(shared).await;
        assert_eq!(followed, Followed::Taken);
        assert_eq!(board.get(&job.key).map(|r| r.attempted_ms), Some(1_000_001));
    }

    #[tokio::test]
    async fn a_follower_stops_waiting_when_redis_stops_answering() {
        // A real Redis layer at an address where nothing listens.
        let redis =
            checkd_store::RedisStore::new(&checkd_store::RedisConfig::new("redis://127.0.0.1:1"))
                .unwrap();
        let shared = checkd_store::ChainStore::new(
            vec![Arc::new(redis) as Arc<dyn Store>],
            checkd_store::ChainOptions::default(),
        );
        let (followed, board) = follow_with(Arc::new(shared)).await;
        assert_eq!(
            (followed, board.len()),
            (Followed::Unreachable, 0),
            "not waiting out the lease: the slot is this instance's to run"
        );
    }
}
