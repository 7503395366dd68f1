//! Datasources: fetch the data of one job from its datasource and evaluate the answer into
//! the job's services. HTTP has a `reqwest` client per configured datasource
//! ([`Datasources::build`]), the request of a run ([`Datasources::run`]), and the pure
//! [`evaluate`] that turns a response into [`ServiceResult`](checkd_model::ServiceResult)s
//! with the assertions, metrics and `foreach` items of the check. The [`tcp`], [`tls`] and
//! [`command`] probes keep no client: the job's [`Probe`] carries all they need. Each kind
//! lives in its own module.
//!
//! Fetch once, evaluate many: runs that send the same request share one answer. Concurrent
//! ones always share the request in flight (single-flight); with a datasource's
//! `response_cache_for` the answer is also kept in a [`checkd_store::Store`] under
//! `response/<datasource>/<sha-256 of the request>` and reused until it expires — by other
//! instances too when the store is shared ([`Datasources::with_store`]), which then also take
//! a short lock so they do not all refresh it at once. Counters: [`Datasources::stats`].
//!
//! A failing check is data: an unreachable datasource is [`Outcome::Unavailable`], a
//! misbehaving one is a CRIT service; `Err` is only for checkd's own faults at build time.
//!
//! It deliberately does not schedule, retry or time-box runs (checkd-scheduler does), keep
//! check results or implement the cache layers (checkd-store does), or render anything for
//! Checkmk (checkd-checkmk does).

pub mod command;
mod flight;
mod http;
mod stats;
pub mod tcp;
mod timing;
pub mod tls;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use checkd_model::plan::{Datasource, Job, Probe};
use checkd_model::probe::{CommandSpec, TcpSpec, TlsSpec};
use checkd_model::Outcome;
use checkd_store::{MemoryStore, Store};

pub use http::{evaluate, HttpResponse};
pub use stats::ResponseStats;

/// Why the datasources could not be built from their configuration.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("datasource {datasource}: cannot read ca_file {}", path.display())]
    ReadCaFile {
        datasource: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("datasource {datasource}: ca_file {} holds no PEM certificate", path.display())]
    NoCertificate { datasource: String, path: PathBuf },
    #[error("datasource {datasource}: invalid ca_file {}", path.display())]
    InvalidCaFile {
        datasource: String,
        path: PathBuf,
        #[source]
        source: reqwest::Error,
    },
    #[error("datasource {datasource}: the credentials contain characters a header cannot carry")]
    Credentials { datasource: String },
    #[error("datasource {datasource}: cannot build the HTTP client")]
    Client {
        datasource: String,
        #[source]
        source: reqwest::Error,
    },
}

/// Every configured datasource, built once (one `reqwest::Client` per HTTP datasource so
/// connections are reused), and the responses their runs share. Cheap to clone; clones share
/// the clients, the requests in flight, the store and the counters.
#[derive(Debug, Clone)]
pub struct Datasources {
    clients: Arc<BTreeMap<String, Client>>,
    sharing: Arc<http::share::Sharing>,
    tokens: Arc<http::oauth::Tokens>,
    counters: Arc<stats::Counters>,
}

#[derive(Debug)]
enum Client {
    Http(http::HttpClient),
    /// `tcp`, `tls`, `command`: nothing to keep between runs.
    Probe,
}

impl Datasources {
    pub fn build(specs: &BTreeMap<String, Datasource>) -> Result<Datasources, BuildError> {
        let mut clients = BTreeMap::new();
        for (name, spec) in specs {
            let client = match spec {
                Datasource::Http(http) => Client::Http(http::HttpClient::build(http)?),
                Datasource::Probe(_) => Client::Probe,
            };
            clients.insert(name.clone(), client);
        }
        let counters = Arc::new(stats::Counters::default());
        let store: Arc<dyn Store> = Arc::new(MemoryStore::with_limits(
            Self::DEFAULT_MAX_RESPONSES,
            Some(Self::DEFAULT_MAX_RESPONSE_BYTES),
        ));
        Ok(Datasources {
            clients: Arc::new(clients),
            sharing: Arc::new(http::share::Sharing::new(
                Arc::clone(&store),
                String::new(),
                Arc::clone(&counters),
            )),
            tokens: Arc::new(http::oauth::Tokens::new(Arc::clone(&counters), None)),
            counters,
        })
    }

    /// Datasources of a new config that keep what these learned: the shared responses, the
    /// OAuth2 tokens and the counters. For a reload.
    pub fn rebuild(&self, specs: &BTreeMap<String, Datasource>) -> Result<Datasources, BuildError> {
        Ok(Datasources {
            clients: Datasources::build(specs)?.clients,
            ..self.clone()
        })
    }

    /// Bounds of the in-memory store [`Datasources::build`] keeps responses in until
    /// [`Datasources::with_store`] replaces it.
    pub const DEFAULT_MAX_RESPONSES: u64 = 10_000;
    pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

    /// Keeps shared responses in `store` instead of the built-in memory store: the daemon
    /// passes its chain, so instances sharing Redis share responses. Call it while setting up,
    /// before any run (runs in flight keep sharing among themselves, not with later ones).
    pub fn with_store(self, store: Arc<dyn Store>) -> Datasources {
        let producer = self.sharing.producer().to_string();
        self.sharing(store, producer)
    }

    /// Keeps the tokens of OAuth2 clients with `share_token` in `store` (the Redis layers
    /// alone: a memory layer in front would hide a newer token), so instances sharing it
    /// share tokens. Call it while setting up, before any run.
    pub fn with_token_store(self, store: Arc<dyn Store>) -> Datasources {
        let shared = http::oauth::Shared {
            store,
            producer: self.sharing.producer().to_string(),
            clock: checkd_clock::Clock::system(),
        };
        Datasources {
            tokens: Arc::new(http::oauth::Tokens::new(
                Arc::clone(&self.counters),
                Some(shared),
            )),
            ..self
        }
    }

    /// Names this instance in the shared responses it stores (`Entry::producer`).
    pub fn with_producer(self, producer: &str) -> Datasources {
        let store = self.sharing.store();
        self.sharing(store, producer.to_string())
    }

    fn sharing(self, store: Arc<dyn Store>, producer: String) -> Datasources {
        let counters = Arc::clone(&self.counters);
        Datasources {
            sharing: Arc::new(http::share::Sharing::new(store, producer, counters)),
            ..self
        }
    }

    /// How runs got their responses since these datasources were built.
    pub fn stats(&self) -> ResponseStats {
        self.counters.snapshot()
    }

    /// Runs the job's probe against its datasource and evaluates the answer. Never panics;
    /// any failure is an [`Outcome`]. The per-request timeout is `job.timeout`.
    pub async fn run(&self, job: &Job) -> Outcome {
        let Some(client) = self.clients.get(&job.datasource) else {
            return Outcome::Unavailable(format!("unknown datasource {:?}", job.datasource));
        };
        let timeout = job.timeout;
        let (service, labels) = (job.service.as_str(), &job.labels);
        match (client, &job.probe) {
            (Client::Http(client), Probe::Http(request)) => {
                client.run(job, request, &self.sharing, &self.tokens).await
            }
            (Client::Probe, Probe::Tcp(spec)) => {
                tcp::run(
                    &TcpSpec {
                        timeout,
                        ..spec.clone()
                    },
                    service,
                    labels,
                )
                .await
            }
            (Client::Probe, Probe::Tls(spec)) => {
                tls::run(
                    &TlsSpec {
                        timeout,
                        ..spec.clone()
                    },
                    service,
                    labels,
                )
                .await
            }
            (Client::Probe, Probe::Command(spec)) => {
                command::run(
                    &CommandSpec {
                        timeout,
                        ..spec.clone()
                    },
                    service,
                    labels,
                )
                .await
            }
            (Client::Http(_), _) | (Client::Probe, Probe::Http(_)) => {
                Outcome::Unavailable(format!(
                    "datasource {:?} cannot run this check's probe",
                    job.datasource
                ))
            }
        }
    }
}
