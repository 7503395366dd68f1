//! OAuth2 client credentials against a real token endpoint (`oauth2-mock-server`) and an API
//! that accepts only unexpired tokens of it: one token request for many runs, refresh before
//! expiry, 401 → one new token and one retry, a failing endpoint → unavailable, no secret in
//! sight.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use checkd_datasource::Datasources;
use checkd_model::plan::{Datasource, Evaluation, HttpDatasource, Job, OAuth2, Probe};
use checkd_model::Outcome;
use checkd_model::{JobKey, Secret, State};
use checkd_store::{RedisConfig, RedisStore};

use crate::oauth_servers::{Api, TokenServer};
use crate::redis_server::RedisServer;
use crate::support::request_job;

const CLIENT: &str = "checkd-monitor";
const SECRET: &str = "s3cr3t-client-pa55";

fn client(token_url: &str, secret: &str) -> Arc<OAuth2> {
    Arc::new(OAuth2 {
        token_url: token_url.to_string(),
        client_id: CLIENT.to_string(),
        client_secret: Secret::new(secret),
        scopes: vec!["orders.read".to_string(), "orders.list".to_string()],
        params: vec![("audience".to_string(), "orders".to_string())],
        refresh_margin: Duration::from_secs(60),
        share: false,
    })
}

fn datasources() -> Datasources {
    let spec = HttpDatasource {
        name: "api".to_string(),
        tls_verify: true,
        ca_file: None,
        max_redirects: 0,
        max_body_bytes: 1 << 20,
        max_concurrency: 64,
        response_cache_for: Duration::ZERO,
        auth: None,
    };
    Datasources::build(&BTreeMap::from([(
        "api".to_string(),
        Datasource::Http(spec),
    )]))
    .unwrap()
}

/// A job for check `id` that sends `GET url` with `client`'s token and expects 2xx.
fn job(id: &str, url: &str, client: &Arc<OAuth2>) -> Job {
    let mut job = request_job("GET", url, Duration::from_secs(10), Evaluation::default());
    job.key = JobKey::new(id, "prod");
    if let Probe::Http(request) = &mut job.probe {
        request.oauth2 = Some(Arc::clone(client));
    }
    job
}

async fn run(datasources: &Datasources, job: &Job) -> Outcome {
    tokio::time::timeout(Duration::from_secs(15), datasources.run(job))
        .await
        .unwrap()
}

fn assert_ok(outcome: &Outcome) {
    let Outcome::Evaluated(services) = outcome else {
        panic!("not evaluated: {outcome:?}");
    };
    let service = &services[0];
    assert!(
        service.state == State::Ok && service.summary.starts_with("HTTP 200 in "),
        "{service:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_runs_make_one_token_request() {
    let tokens = TokenServer::start(CLIENT, SECRET, 3600).await;
    let api = Api::start().await;
    let datasources = datasources();
    let client = client(&tokens.token_url, SECRET);
    // Fifty different requests, so no run shares another's response: each needs the token.
    let jobs: Vec<Job> = (0..50)
        .map(|n| job(&format!("c{n}"), &format!("{}?n={n}", api.url), &client))
        .collect();
    let outcomes = futures::future::join_all(jobs.iter().map(|j| run(&datasources, j))).await;
    outcomes.iter().for_each(assert_ok);
    assert_eq!(tokens.issued(), 1, "one token request for fifty runs");
    assert_eq!(tokens.scopes(), ["orders.read orders.list"]);
    assert_eq!(api.requests(), (50, 0));
    assert_eq!(api.tokens().len(), 1);
    let stats = datasources.stats();
    assert_eq!((stats.token_fetches, stats.token_failures), (1, 0));
    // Later runs keep using the cached token.
    assert_ok(&run(&datasources, &jobs[0]).await);
    assert_eq!(tokens.issued(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_replaced_before_it_expires() {
    // Tokens live 4 s; the margin (60 s) is capped at half of that, so each is replaced after
    // 2 s, never used within its last second and a bit (`exp` is whole seconds).
    let tokens = TokenServer::start(CLIENT, SECRET, 4).await;
    let api = Api::start().await;
    let datasources = datasources();
    let job = job("c", &api.url, &client(&tokens.token_url, SECRET));
    let started = checkd_clock::now();
    while started.elapsed() < Duration::from_millis(6500) {
        assert_ok(&run(&datasources, &job).await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        api.expired(),
        0,
        "no request went out with an expired token"
    );
    assert_eq!(api.requests().1, 0, "no request was refused");
    let issued = tokens.issued();
    assert!((3..=5).contains(&issued), "{issued} tokens in 6.5 s");
    assert_eq!(api.tokens().len(), issued);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_drops_the_token_and_retries_once_with_a_new_one() {
    let tokens = TokenServer::start(CLIENT, SECRET, 3600).await;
    let api = Api::start().await;
    let datasources = datasources();
    let client = client(&tokens.token_url, SECRET);
    let jobs: Vec<Job> = (0..10)
        .map(|n| job(&format!("c{n}"), &format!("{}?n={n}", api.url), &client))
        .collect();
    assert_ok(&run(&datasources, &jobs[0]).await);
    assert_eq!((tokens.issued(), api.requests()), (1, (1, 0)));
    api.revoke_all();
    // Ten runs start together on the revoked token. Each that sends it gets one 401 and
    // retries once; runs that start after the first 401 already use the new token. Between
    // them they fetch one new token.
    let outcomes = futures::future::join_all(jobs.iter().map(|j| run(&datasources, j))).await;
    outcomes.iter().for_each(assert_ok);
    assert_eq!(tokens.issued(), 2);
    let (requests, refused) = api.requests();
    assert!((1..=10).contains(&refused), "{refused} refused");
    assert_eq!(requests, 1 + 10 + refused, "one retry per 401");
    assert_eq!(api.tokens().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_token_endpoint_makes_the_datasource_unavailable_and_names_no_secret() {
    let mut tokens = TokenServer::start(CLIENT, SECRET, 3600).await;
    let api = Api::start().await;
    let datasources = datasources();
    let endpoint = format!("POST {}", tokens.token_url);

    let wrong = job(
        "wrong",
        &api.url,
        &client(&tokens.token_url, "not-the-secret"),
    );
    let outcome = run(&datasources, &wrong).await;
    assert_eq!(
        outcome,
        Outcome::Unavailable(format!(
            "token endpoint refused the client: invalid_client ({endpoint})"
        ))
    );
    assert_eq!(tokens.refused(), 1);
    // A failure is not cached: the next run asks again.
    run(&datasources, &wrong).await;
    assert_eq!(tokens.refused(), 2);

    let right = job("right", &api.url, &client(&tokens.token_url, SECRET));
    assert_ok(&run(&datasources, &right).await);
    let token = api.tokens().pop().unwrap();
    api.revoke_all();
    tokens.stop().await;
    let outcome = run(&datasources, &right).await;
    assert_eq!(
        outcome,
        Outcome::Unavailable(format!(
            "token request failed: connection refused ({endpoint})"
        ))
    );
    assert_eq!(
        api.requests(),
        (2, 1),
        "the API is not asked without a token"
    );
    let stats = datasources.stats();
    assert_eq!((stats.token_fetches, stats.token_failures), (4, 3));

    // Neither the secret nor a token shows in anything printable.
    let printed = format!("{outcome:?} {right:?} {datasources:?}");
    for secret in [SECRET, token.as_str()] {
        assert!(!printed.contains(secret), "{printed}");
    }
}

/// An instance that shares OAuth2 tokens through the Redis layer.
fn instance(redis: &RedisServer, name: &str) -> Datasources {
    let store = RedisStore::new(&RedisConfig {
        infix: "token-test".into(),
        command_timeout: Duration::from_millis(500),
        ..RedisConfig::new(redis.url())
    })
    .unwrap();
    datasources()
        .with_producer(name)
        .with_token_store(Arc::new(store))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_share_a_token_through_redis_only_when_asked_to() {
    let redis = RedisServer::start();
    let tokens = TokenServer::start(CLIENT, SECRET, 3600).await;
    let api = Api::start().await;
    let shared = Arc::new(OAuth2 {
        share: true,
        ..(*client(&tokens.token_url, SECRET)).clone()
    });
    let (a, b) = (instance(&redis, "a"), instance(&redis, "b"));
    assert_ok(&run(&a, &job("c1", &api.url, &shared)).await);
    assert_ok(&run(&b, &job("c2", &format!("{}?b", api.url), &shared)).await);
    assert_eq!(tokens.issued(), 1, "b took a's token from Redis");
    let keys = redis.command(&["KEYS", "checkd:token-test:*token/*"]);
    assert!(
        keys.starts_with("*1\r\n"),
        "one shared token in Redis: {keys:?}"
    );

    // A revoked shared token is dropped for everyone; the next one is shared again.
    api.revoke_all();
    assert_ok(&run(&b, &job("c2", &format!("{}?b", api.url), &shared)).await);
    assert_eq!(tokens.issued(), 2);
    assert_ok(&run(&a, &job("c3", &format!("{}?a", api.url), &shared)).await);
    assert_eq!(
        tokens.issued(),
        2,
        "a's cached token was refused once, then b's new one used"
    );

    // Without `share`, each instance asks for its own.
    let private = client(&tokens.token_url, SECRET);
    let (c, d) = (instance(&redis, "c"), instance(&redis, "d"));
    assert_ok(&run(&c, &job("p1", &api.url, &private)).await);
    assert_ok(&run(&d, &job("p2", &format!("{}?d", api.url), &private)).await);
    assert_eq!(tokens.issued(), 4);
}
