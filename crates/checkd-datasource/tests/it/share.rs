//! Fetch once, evaluate many: single-flight and the response cache against real servers on
//! 127.0.0.1 that count the requests they get.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use checkd_datasource::{Datasources, ResponseStats};
use checkd_model::plan::{Datasource, Evaluation, HttpDatasource, Job, Probe};
use checkd_model::Outcome;
use checkd_model::{JobKey, State};
use checkd_store::{MemoryStore, Store};
use futures::future::join_all;

use crate::counting;
use crate::support::request_job;

/// Every run in these tests is bounded by this, so a wedged run fails instead of hanging.
const BOUND: Duration = Duration::from_secs(10);

pub fn datasources(response_cache_for: Duration) -> Datasources {
    Datasources::build(&BTreeMap::from([(
        "api".to_string(),
        Datasource::Http(HttpDatasource {
            name: "api".to_string(),
            tls_verify: true,
            ca_file: None,
            max_redirects: 5,
            max_body_bytes: 1024 * 1024,
            max_concurrency: 4,
            response_cache_for,
            auth: None,
        }),
    )]))
    .unwrap()
}

/// Job number `n`: its own check id and service name, the given request.
pub fn job(n: usize, method: &str, url: &str) -> Job {
    let mut job = request_job(method, url, Duration::from_secs(5), Evaluation::default());
    job.key = JobKey::new(format!("check-{n}"), "prod");
    job.service = format!("Service {n}");
    job
}

fn with_request(mut job: Job, headers: &[(&str, &str)], body: Option<&str>) -> Job {
    let Probe::Http(request) = &mut job.probe else {
        panic!("an HTTP job");
    };
    request.headers = headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    request.body = body.map(str::to_string);
    job
}

pub async fn run(datasources: &Datasources, job: &Job) -> Outcome {
    tokio::time::timeout(BOUND, datasources.run(job))
        .await
        .expect("the run ends in time")
}

async fn run_all(datasources: &Datasources, jobs: &[Job]) -> Vec<Outcome> {
    join_all(jobs.iter().map(|job| run(datasources, job))).await
}

/// The run evaluated this job's own service as OK.
pub fn assert_ok(job: &Job, outcome: &Outcome) {
    let Outcome::Evaluated(services) = outcome else {
        panic!("{}: {outcome:?}", job.service);
    };
    assert_eq!(
        (
            services.len(),
            services[0].service.as_str(),
            services[0].state
        ),
        (1, job.service.as_str(), State::Ok),
        "{services:?}"
    );
    assert!(
        services[0].summary.starts_with("HTTP 200 in "),
        "{services:?}"
    );
}

fn stats(fetches: u64, shared_inflight: u64, cache_hits: u64) -> ResponseStats {
    ResponseStats {
        fetches,
        shared_inflight,
        cache_hits,
        ..ResponseStats::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stampede_of_200_runs_makes_one_request() {
    let server = counting::start().await;
    // No response cache: single-flight alone has to hold the stampede.
    let datasources = datasources(Duration::ZERO);
    let jobs: Vec<Job> = (0..200).map(|n| job(n, "GET", &server.url(200))).collect();
    let outcomes = run_all(&datasources, &jobs).await;
    assert_eq!(server.hits(), 1);
    for (job, outcome) in jobs.iter().zip(&outcomes) {
        assert_ok(job, outcome);
    }
    assert_eq!(datasources.stats(), stats(1, 199, 0));
    // Nothing is kept without a response cache: the next run asks again.
    assert_ok(&jobs[0], &run(&datasources, &jobs[0]).await);
    assert_eq!(server.hits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_response_is_reused_until_it_expires() {
    let server = counting::start().await;
    let datasources = datasources(Duration::from_secs(2));
    let started = checkd_clock::now();
    for n in 0..6 {
        tokio::time::sleep_until(started + Duration::from_millis(200) * n).await;
        let job = job(n as usize, "GET", &server.url(0));
        assert_ok(&job, &run(&datasources, &job).await);
    }
    assert!(
        started.elapsed() < Duration::from_millis(1900),
        "the runs took too long to test the TTL: {:?}",
        started.elapsed()
    );
    assert_eq!(server.hits(), 1, "six runs within the TTL");
    assert_eq!(datasources.stats(), stats(1, 0, 5));

    // The response was stored after `started`, so this is past its 2 s.
    tokio::time::sleep_until(started + Duration::from_millis(2300)).await;
    let late = job(7, "GET", &server.url(0));
    assert_ok(&late, &run(&datasources, &late).await);
    assert_ok(&late, &run(&datasources, &late).await);
    assert_eq!(
        server.hits(),
        2,
        "one more request after the TTL, then cached again"
    );
    assert_eq!(datasources.stats(), stats(2, 0, 6));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_response_cache_every_sequential_run_asks() {
    let server = counting::start().await;
    let datasources = datasources(Duration::ZERO);
    for n in 0..3 {
        let job = job(n, "GET", &server.url(0));
        assert_ok(&job, &run(&datasources, &job).await);
    }
    assert_eq!(server.hits(), 3);
    assert_eq!(datasources.stats(), stats(3, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn different_requests_do_not_share() {
    let server = counting::start().await;
    let datasources = datasources(Duration::from_secs(60));
    let url = server.url(200);
    let variants = |n: usize| {
        vec![
            job(n, "GET", &url),
            job(n, "POST", &url),
            with_request(job(n, "GET", &url), &[("X-Team", "a")], None),
            with_request(job(n, "GET", &url), &[("X-Team", "b")], None),
            with_request(
                job(n, "GET", &url),
                &[("Authorization", "Bearer one")],
                None,
            ),
            with_request(
                job(n, "GET", &url),
                &[("Authorization", "Bearer two")],
                None,
            ),
            with_request(job(n, "POST", &url), &[], Some("a")),
            with_request(job(n, "POST", &url), &[], Some("b")),
            job(n, "GET", &server.url(201)),
        ]
    };
    // Each variant twice, all at once: one request per variant.
    let jobs: Vec<Job> = variants(0).into_iter().chain(variants(1)).collect();
    let outcomes = run_all(&datasources, &jobs).await;
    for (job, outcome) in jobs.iter().zip(&outcomes) {
        assert_ok(job, outcome);
    }
    assert_eq!(server.hits(), 9);
    assert_eq!(datasources.stats(), stats(9, 9, 0));
    // The same variants again: all from the cache, each evaluated for its own job.
    let again = variants(2);
    for (job, outcome) in again.iter().zip(run_all(&datasources, &again).await) {
        assert_ok(job, &outcome);
    }
    assert_eq!(server.hits(), 9);
    assert_eq!(datasources.stats(), stats(9, 9, 9));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_stay_out_of_the_store() {
    let server = counting::start().await;
    let store = Arc::new(MemoryStore::new());
    let datasources = datasources(Duration::from_secs(60))
        .with_store(store.clone())
        .with_producer("instance-a");
    let url = format!("{}&token=query-secret", server.url(0));
    let job = with_request(
        job(0, "GET", &url),
        &[("Authorization", "Bearer secret"), ("Cookie", "c=secret")],
        None,
    );
    assert_ok(&job, &run(&datasources, &job).await);
    let entries = store.scan("").await.unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let (key, entry) = &entries[0];
    assert!(key.starts_with("response/api/"), "{key}");
    assert_eq!(entry.producer, "instance-a");
    assert_eq!(entry.valid_for_ms, 60_000);
    let payload = String::from_utf8_lossy(&entry.payload);
    assert!(
        payload.contains("\"n\":1"),
        "the response is stored: {payload}"
    );
    for text in [key.as_str(), &payload] {
        assert!(!text.contains("secret"), "{text}");
    }
    // A second run is served from that entry.
    assert_ok(&job, &run(&datasources, &job).await);
    assert_eq!(server.hits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_stored_response_is_a_miss() {
    let server = counting::start().await;
    let store = Arc::new(MemoryStore::new());
    let datasources = datasources(Duration::from_secs(60)).with_store(store.clone());
    let job = job(0, "GET", &server.url(0));
    assert_ok(&job, &run(&datasources, &job).await);
    let (key, mut entry) = store.scan("response/").await.unwrap().remove(0);
    entry.payload = b"\x00\x00\x00\x02{}".to_vec();
    store.put(&key, entry).await.unwrap();
    assert_ok(&job, &run(&datasources, &job).await);
    assert_eq!(server.hits(), 2);
    let stats = datasources.stats();
    assert_eq!((stats.fetches, stats.store_errors), (2, 1), "{stats:?}");
    // The fetched answer replaced the corrupt one.
    assert_ok(&job, &run(&datasources, &job).await);
    assert_eq!(server.hits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unavailable_answer_is_shared_but_never_cached() {
    // Refused: the reason names it, and the next run asks again.
    // (A refusal on loopback can come back within the first poll, so sharing is
    // shown below with a peer that holds the connection.)
    let once = datasources(Duration::from_secs(60));
    let url = format!("http://127.0.0.1:{}/x", counting::refused_port());
    let refused = job(0, "GET", &url);
    let Outcome::Unavailable(reason) = run(&once, &refused).await else {
        panic!("a refused connection must be unavailable");
    };
    assert!(reason.contains("refused"), "{reason}");
    assert!(matches!(
        run(&once, &refused).await,
        Outcome::Unavailable(_)
    ));
    assert_eq!(once.stats(), stats(2, 0, 0), "tried again, not cached");

    // A peer that accepts, holds the connection and hangs up without an answer:
    // the 20 runs share the one attempt and its reason.
    let datasources = datasources(Duration::from_secs(60));
    let (addr, accepted) = counting::hang_up(Duration::from_millis(200)).await;
    let url = format!("http://{addr}/x");
    let jobs: Vec<Job> = (0..20).map(|n| job(n, "GET", &url)).collect();
    let outcomes = run_all(&datasources, &jobs).await;
    assert!(
        matches!(&outcomes[0], Outcome::Unavailable(_)),
        "{outcomes:?}"
    );
    assert!(outcomes.iter().all(|o| o == &outcomes[0]), "{outcomes:?}");
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
    assert_eq!(datasources.stats(), stats(1, 19, 0));
    assert!(matches!(
        run(&datasources, &jobs[0]).await,
        Outcome::Unavailable(_)
    ));
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
    assert_eq!(
        datasources.stats(),
        stats(2, 19, 0),
        "tried again, not cached"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_leader_does_not_strand_its_followers() {
    let server = counting::start().await;
    let datasources = datasources(Duration::ZERO);
    let url = server.url(300);
    let spawn_run = |n: usize| {
        let datasources = datasources.clone();
        let job = job(n, "GET", &url);
        tokio::spawn(async move {
            let outcome = run(&datasources, &job).await;
            (job, outcome)
        })
    };
    let leader = spawn_run(0);
    let deadline = checkd_clock::now() + BOUND;
    while server.hits() == 0 {
        assert!(
            checkd_clock::now() < deadline,
            "the leader's request arrives"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let followers: Vec<_> = (1..6).map(spawn_run).collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    leader.abort();
    assert!(leader.await.unwrap_err().is_cancelled());
    let started = checkd_clock::now();
    for follower in followers {
        let (job, outcome) = follower.await.unwrap();
        assert_ok(&job, &outcome);
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // The cancelled request, then one follower's on behalf of all five.
    assert_eq!(server.hits(), 2);
    assert_eq!(datasources.stats(), stats(2, 4, 0));
}
