//! Scheduler behaviour with paused tokio time: when jobs run, timeouts, concurrency bounds.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] fns: a panic is a clear test failure"
)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use checkd_clock::Clock;
use checkd_model::plan::{FleetSettings, Job, Plan, Schedule, SchedulerSettings};
use checkd_model::testing;
use checkd_model::{JobKey, Outcome, ServiceResult, State};
use checkd_scheduler::{Board, Executor, Fleet, Runner, Scheduler};
use checkd_store::{MemoryStore, Store};
use tokio_util::sync::CancellationToken;

/// Monday 2026-11-23 08:00:00 UTC.
const MONDAY_8AM_MS: i64 = 1_795_420_800_000;

/// Records when each job ran (wall clock) and how many ran at once.
#[derive(Debug, Default)]
struct Recorder {
    clock: Mutex<Option<Clock>>,
    runs: Mutex<Vec<(String, i64)>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    /// Per check id: how long a run takes.
    delays: BTreeMap<String, Duration>,
    /// Per check id: the states of successive runs; the last one repeats. Default OK.
    states: Mutex<BTreeMap<String, Vec<State>>>,
}

#[derive(Clone, Debug)]
struct FakeRunner(Arc<Recorder>);

#[async_trait]
impl Runner for FakeRunner {
    async fn run(&self, job: &Job) -> Outcome {
        let recorder = &self.0;
        let now = recorder.clock.lock().unwrap().expect("clock set").now_ms();
        recorder
            .runs
            .lock()
            .unwrap()
            .push((job.key.check.clone(), now));
        let running = recorder.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        recorder.max_in_flight.fetch_max(running, Ordering::SeqCst);
        let delay = recorder
            .delays
            .get(&job.key.check)
            .copied()
            .unwrap_or(Duration::from_millis(10));
        tokio::time::sleep(delay).await;
        recorder.in_flight.fetch_sub(1, Ordering::SeqCst);
        let state = {
            let mut states = recorder.states.lock().unwrap();
            match states.get_mut(&job.key.check) {
                Some(list) if list.len() > 1 => list.remove(0),
                Some(list) => list.first().copied().unwrap_or(State::Ok),
                None => State::Ok,
            }
        };
        Outcome::Evaluated(vec![ServiceResult {
            service: job.service.clone(),
            state,
            summary: "fine".into(),
            details: String::new(),
            metrics: vec![],
            labels: BTreeMap::new(),
        }])
    }
}

fn job(check: &str, datasource: &str, schedule: Schedule, timeout: Duration) -> Job {
    Job {
        datasource: datasource.into(),
        schedule,
        timeout,
        stale_after: Duration::from_secs(3600),
        ..testing::job(check, "prod")
    }
}

fn plan(jobs: Vec<Job>, max_concurrency: usize, datasource_concurrency: &[(&str, usize)]) -> Plan {
    Plan {
        datasources: datasource_concurrency
            .iter()
            .map(|(name, limit)| (name.to_string(), testing::http_datasource(name, *limit)))
            .collect(),
        scheduler: SchedulerSettings {
            max_concurrency,
            splay: 0.1,
            fleet: None,
        },
        ..testing::plan(jobs)
    }
}

struct Harness {
    recorder: Arc<Recorder>,
    board: Arc<Board>,
    store: Arc<dyn Store>,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

fn start(
    plan: Plan,
    delays: &[(&str, Duration)],
    start_ms: i64,
    store: Arc<dyn Store>,
    board: Arc<Board>,
) -> Harness {
    start_in(plan, delays, start_ms, store, board, None)
}

/// [`start`], in `fleet` when there is one.
fn start_in(
    plan: Plan,
    delays: &[(&str, Duration)],
    start_ms: i64,
    store: Arc<dyn Store>,
    board: Arc<Board>,
    fleet: Option<Arc<Fleet>>,
) -> Harness {
    let clock = Clock::starting_at(start_ms);
    let recorder = Arc::new(Recorder {
        delays: delays.iter().map(|(k, d)| (k.to_string(), *d)).collect(),
        ..Recorder::default()
    });
    *recorder.clock.lock().unwrap() = Some(clock);
    let plan = Arc::new(plan);
    let executor = Arc::new(Executor::new(
        &plan,
        Arc::new(FakeRunner(Arc::clone(&recorder))),
        Arc::clone(&board),
        Arc::clone(&store),
        clock,
    ));
    let mut scheduler = Scheduler::new(plan, executor);
    if let Some(fleet) = fleet {
        scheduler = scheduler.with_fleet(fleet);
    }
    let cancel = CancellationToken::new();
    let token = cancel.clone();
    let task = tokio::spawn(async move {
        scheduler.load_persisted().await;
        scheduler.run(token).await;
    });
    Harness {
        recorder,
        board,
        store,
        cancel,
        task,
    }
}

impl Harness {
    async fn stop(self) -> Vec<(String, i64)> {
        self.cancel.cancel();
        self.task.await.unwrap();
        self.recorder.runs.lock().unwrap().clone()
    }
}

/// Seconds after `start_ms` at which `check` ran.
fn run_times(runs: &[(String, i64)], check: &str, start_ms: i64) -> Vec<f64> {
    runs.iter()
        .filter(|(c, _)| c == check)
        .map(|(_, t)| (t - start_ms) as f64 / 1000.0)
        .collect()
}

#[tokio::test(start_paused = true)]
async fn interval_jobs_run_every_cache_for_within_splay_and_not_in_between() {
    let five_min = Duration::from_secs(300);
    let plan = plan(
        vec![job(
            "api",
            "ds",
            Schedule::Every(five_min),
            Duration::from_secs(10),
        )],
        8,
        &[("ds", 4)],
    );
    let h = start(
        plan,
        &[],
        MONDAY_8AM_MS,
        Arc::new(MemoryStore::new()),
        Arc::new(Board::new()),
    );
    tokio::time::sleep(Duration::from_secs(11 * 60)).await;
    let runs = h.stop().await;
    let times = run_times(&runs, "api", MONDAY_8AM_MS);
    assert_eq!(times.len(), 3, "runs at {times:?}");
    assert!(times[0] < 1.0, "first run at start, got {times:?}");
    // Splay 0.1 of 5 min: each later run within [k×300 s, k×300 s + 30 s), same phase each time.
    for (k, t) in times.iter().enumerate().skip(1) {
        let nominal = 300.0 * k as f64;
        assert!(*t >= nominal && *t < nominal + 30.0, "run {k} at {t} s");
    }
    assert!(
        (times[2] - times[1] - 300.0).abs() < 0.5,
        "no drift: {times:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn cron_jobs_fire_monday_to_friday_at_nine() {
    // Start Friday 2026-11-27 08:00 UTC; `0 9 * * 1-5` must fire Fri 09:00 and Mon 09:00, not at the weekend.
    let friday_8am = MONDAY_8AM_MS + 4 * 86_400_000;
    let cron = croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Disallowed)
        .build()
        .parse("0 9 * * 1-5")
        .unwrap();
    let schedule = Schedule::Cron {
        cron: Box::new(cron),
        pattern: "0 9 * * 1-5".into(),
        timezone: chrono_tz::UTC,
        grace: Duration::from_secs(300),
    };
    let plan = plan(
        vec![job("report", "ds", schedule, Duration::from_secs(10))],
        8,
        &[("ds", 4)],
    );
    let h = start(
        plan,
        &[],
        friday_8am,
        Arc::new(MemoryStore::new()),
        Arc::new(Board::new()),
    );
    tokio::time::sleep(Duration::from_secs(4 * 86_400)).await;
    let board = Arc::clone(&h.board);
    let runs = h.stop().await;
    let hours: Vec<f64> = run_times(&runs, "report", friday_8am)
        .iter()
        .map(|s| s / 3600.0)
        .collect();
    // At start (no result yet), Friday 09:00 (+1 h), Monday 09:00 (+73 h), Tuesday 09:00 (+97 h) is past the window.
    assert_eq!(hours.len(), 3, "runs at hours {hours:?}");
    assert!(hours[0] < 0.01);
    assert!((hours[1] - 1.0).abs() < 0.01, "{hours:?}");
    assert!((hours[2] - 73.0).abs() < 0.01, "{hours:?}");
    // Valid until the next run (Tuesday 09:00 = 24 h later) plus the 5 min grace.
    let record = board.get(&JobKey::new("report", "prod")).unwrap();
    assert_eq!(record.valid_for_s, 24 * 3600 + 300);
}

#[tokio::test(start_paused = true)]
async fn a_hanging_check_times_out_without_delaying_others() {
    let minute = Schedule::Every(Duration::from_secs(60));
    let plan = plan(
        vec![
            job("hangs", "ds", minute.clone(), Duration::from_secs(5)),
            job("quick", "ds", minute, Duration::from_secs(5)),
        ],
        8,
        &[("ds", 4)],
    );
    let h = start(
        plan,
        &[("hangs", Duration::from_secs(3600))],
        MONDAY_8AM_MS,
        Arc::new(MemoryStore::new()),
        Arc::new(Board::new()),
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let quick = h
        .board
        .get(&JobKey::new("quick", "prod"))
        .expect("quick has a result after 1 s");
    assert_eq!(quick.services[0].state, State::Ok);
    assert!(h.board.get(&JobKey::new("hangs", "prod")).is_none());
    tokio::time::sleep(Duration::from_secs(5)).await;
    let hangs = h
        .board
        .get(&JobKey::new("hangs", "prod"))
        .expect("timed out by now");
    assert!(hangs.services.is_empty());
    assert_eq!(
        hangs.unavailable.as_ref().unwrap().reason,
        "timed out after 5s"
    );
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn concurrency_is_bounded_globally_and_per_datasource() {
    let minute = Schedule::Every(Duration::from_secs(60));
    let slow = Duration::from_secs(2);
    let jobs: Vec<Job> = (0..20)
        .map(|i| {
            job(
                &format!("a{i}"),
                "a",
                minute.clone(),
                Duration::from_secs(10),
            )
        })
        .collect();
    let delays: Vec<(String, Duration)> = (0..20).map(|i| (format!("a{i}"), slow)).collect();
    let delays: Vec<(&str, Duration)> = delays.iter().map(|(k, d)| (k.as_str(), *d)).collect();

    // Per-datasource limit 2 below the global limit 5.
    let h = start(
        plan(jobs.clone(), 5, &[("a", 2)]),
        &delays,
        MONDAY_8AM_MS,
        Arc::new(MemoryStore::new()),
        Arc::new(Board::new()),
    );
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(h.recorder.max_in_flight.load(Ordering::SeqCst), 2);
    assert_eq!(h.board.len(), 20, "all jobs ran despite the bound");
    h.stop().await;

    // Global limit 3 below the per-datasource limit 10.
    let h = start(
        plan(jobs, 3, &[("a", 10)]),
        &delays,
        MONDAY_8AM_MS,
        Arc::new(MemoryStore::new()),
        Arc::new(Board::new()),
    );
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(h.recorder.max_in_flight.load(Ordering::SeqCst), 3);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn fresh_persisted_results_are_served_and_not_rerun_until_they_expire() {
    let five_min = Duration::from_secs(300);
    let plan_a = plan(
        vec![job(
            "api",
            "ds",
            Schedule::Every(five_min),
            Duration::from_secs(10),
        )],
        8,
        &[("ds", 4)],
    );
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let h = start(
        plan_a.clone(),
        &[],
        MONDAY_8AM_MS,
        Arc::clone(&store),
        Arc::new(Board::new()),
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(h.stop().await.len(), 1);

    // "Restart" two minutes later with an empty board and the same store.
    let later = MONDAY_8AM_MS + 120_000;
    let h = start(
        plan_a,
        &[],
        later,
        Arc::clone(&store),
        Arc::new(Board::new()),
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        h.board.get(&JobKey::new("api", "prod")).is_some(),
        "served from the store at once"
    );
    assert!(
        h.recorder.runs.lock().unwrap().is_empty(),
        "fresh result not re-run"
    );
    // It expires 5 min after the first run, i.e. 3 min after the restart (+ up to 30 s splay).
    tokio::time::sleep(Duration::from_secs(3 * 60 + 31)).await;
    let _ = &h.store;
    let runs = h.stop().await;
    let times = run_times(&runs, "api", later);
    assert_eq!(times.len(), 1, "{times:?}");
    assert!(times[0] >= 180.0 && times[0] < 211.0, "{times:?}");
}

#[tokio::test(start_paused = true)]
async fn retries_recheck_at_the_retry_interval_and_report_on_the_last_attempt() {
    let five_min = Duration::from_secs(300);
    let flaky = Job {
        retry: checkd_model::plan::Retry {
            retries: 2,
            interval: Duration::from_secs(10),
        },
        ..job(
            "flaky",
            "ds",
            Schedule::Every(five_min),
            Duration::from_secs(5),
        )
    };
    let h = start(
        plan(vec![flaky], 8, &[("ds", 4)]),
        &[],
        MONDAY_8AM_MS,
        Arc::new(MemoryStore::new()),
        Arc::new(Board::new()),
    );
    h.recorder
        .states
        .lock()
        .unwrap()
        .insert("flaky".into(), vec![State::Ok, State::Crit]);
    let key = JobKey::new("flaky", "prod");
    let served = |h: &Harness| {
        let r = h.board.get(&key).unwrap();
        (r.worst_state(), r.soft.as_ref().map(|s| s.attempt))
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(served(&h), (State::Ok, None));
    // The first CRIT comes with the 5-minute run (+ splay < 30 s), then two more every 10 s.
    tokio::time::sleep(Duration::from_secs(300 + 30 + 24)).await;
    let times = run_times(&h.recorder.runs.lock().unwrap(), "flaky", MONDAY_8AM_MS);
    assert_eq!(times.len(), 4, "{times:?}");
    assert!(
        (times[2] - times[1] - 10.0).abs() < 0.5 && (times[3] - times[2] - 10.0).abs() < 0.5,
        "{times:?}"
    );
    assert_eq!(
        served(&h),
        (State::Crit, None),
        "reported on the third non-OK run"
    );
    // Reported: back on the 5-minute rhythm, no more retries.
    tokio::time::sleep(Duration::from_secs(200)).await;
    assert_eq!(
        run_times(&h.recorder.runs.lock().unwrap(), "flaky", MONDAY_8AM_MS).len(),
        4
    );
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn results_are_persisted_past_the_memory_layer_which_the_board_replaces() {
    let dir = std::env::temp_dir().join(format!("checkd-persist-{}", std::process::id()));
    let memory = Arc::new(MemoryStore::new());
    let sled = Arc::new(checkd_store::SledStore::open(&dir).unwrap());
    let store: Arc<dyn Store> = Arc::new(checkd_store::ChainStore::new(
        vec![memory.clone() as Arc<dyn Store>, sled.clone()],
        checkd_store::ChainOptions::default(),
    ));
    let h = start(
        plan(
            vec![job(
                "api",
                "ds",
                Schedule::Every(Duration::from_secs(300)),
                Duration::from_secs(10),
            )],
            8,
            &[("ds", 4)],
        ),
        &[],
        MONDAY_8AM_MS,
        store,
        Arc::new(Board::new()),
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(h.board.get(&JobKey::new("api", "prod")).is_some());
    h.stop().await;
    let prefix = checkd_store::records::PREFIX;
    assert_eq!(sled.scan(prefix).await.unwrap().len(), 1, "on disk");
    assert!(
        memory.scan(prefix).await.unwrap().is_empty(),
        "not in memory"
    );
    drop(sled);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(start_paused = true)]
async fn due_jobs_wait_in_the_queue_not_as_spawned_runs() {
    // 40 jobs due at once, 3 at a time: the loop spawns no more than 3 runs (and keeps no
    // task per waiting job), and every job still runs once.
    let jobs: Vec<Job> = (0..40)
        .map(|n| {
            job(
                &format!("job{n}"),
                "ds",
                Schedule::Every(Duration::from_secs(3600)),
                Duration::from_secs(10),
            )
        })
        .collect();
    let plan = Arc::new(plan(jobs, 3, &[("ds", 40)]));
    let clock = Clock::starting_at(MONDAY_8AM_MS);
    let recorder = Arc::new(Recorder {
        delays: (0..40)
            .map(|n| (format!("job{n}"), Duration::from_secs(1)))
            .collect(),
        ..Recorder::default()
    });
    *recorder.clock.lock().unwrap() = Some(clock);
    let executor = Arc::new(Executor::new(
        &plan,
        Arc::new(FakeRunner(Arc::clone(&recorder))),
        Arc::new(Board::new()),
        Arc::new(MemoryStore::new()),
        clock,
    ));
    let scheduler = Arc::new(Scheduler::new(plan, executor));
    let cancel = CancellationToken::new();
    let task = tokio::spawn({
        let (scheduler, cancel) = (Arc::clone(&scheduler), cancel.clone());
        async move { scheduler.run(cancel).await }
    });
    let mut most = 0;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        most = most.max(scheduler.runs_in_flight());
    }
    cancel.cancel();
    task.await.unwrap();
    assert_eq!(most, 3, "runs in flight at most, sampled every 500 ms");
    assert_eq!(
        recorder.runs.lock().unwrap().len(),
        40,
        "every job ran once"
    );
}

#[tokio::test(start_paused = true)]
async fn a_fleet_times_jobs_in_wall_clock_slots_and_a_lone_instance_on_its_own_grid() {
    // Started 17 s past a whole minute, every minute, no splay. The grid is anchored at the
    // first run; the fleet's slots lie on whole minutes, where every instance finds them.
    let start_ms = MONDAY_8AM_MS + 17_000;
    let every_minute = || Plan {
        scheduler: SchedulerSettings {
            max_concurrency: 8,
            splay: 0.0,
            fleet: None,
        },
        ..plan(
            vec![job(
                "api",
                "ds",
                Schedule::Every(Duration::from_secs(60)),
                Duration::from_secs(10),
            )],
            8,
            &[("ds", 4)],
        )
    };
    let run_at = |fleet: Option<Arc<Fleet>>| async move {
        let h = start_in(
            every_minute(),
            &[],
            start_ms,
            Arc::new(MemoryStore::new()),
            Arc::new(Board::new()),
            fleet,
        );
        tokio::time::sleep(Duration::from_secs(150)).await;
        let runs = h.stop().await;
        run_times(&runs, "api", MONDAY_8AM_MS)
    };

    assert_eq!(run_at(None).await, [17.0, 77.0, 137.0], "on its own grid");

    // A fleet of one: it prefers itself, and the memory store grants every lease.
    let settings = FleetSettings {
        instance: Some("a".into()),
        fallback_after: Duration::from_millis(500),
        heartbeat: Duration::from_secs(1),
    };
    let fleet = Fleet::new("a".into(), settings, Arc::new(MemoryStore::new()));
    let fleet = Arc::new(fleet);
    assert_eq!(
        run_at(Some(Arc::clone(&fleet))).await,
        [17.0, 60.0, 120.0],
        "at once (the slot that began at 8:00), then in the fleet's slots"
    );
    assert_eq!(
        fleet.counts(),
        (3, 0, 0),
        "each slot's lease taken and run here"
    );
}
