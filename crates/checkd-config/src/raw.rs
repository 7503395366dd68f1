//! Stage 1: the YAML as written, as plain data. Nothing here is checked beyond its shape;
//! `resolve` validates and resolves it into the plan.
//!
//! The `///` comment of every field is the reference documentation: `docs/configuration.md`
//! is rendered from this file (a last doc line `Default: …` or `Required.` fills the default
//! column), and a test fails when they differ. Keep one struct or enum per YAML mapping.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

pub use crate::de::Unit;

/// A string that may use `${NAME}`, `${environment}` and `${env:NAME}`; `$${` is a literal `${`.
pub type Template = String;
/// Text with expressions in braces, filled in per run: `"{unhealthy} of {total} workers
/// unhealthy"` (docs/check-language.md). `${NAME}` variables work as in every template; `{{`
/// and `}}` are literal braces.
pub type TextTemplate = String;
/// A [CEL](https://github.com/google/cel-spec) expression over the response (docs/check-language.md):
/// `body.workers.filter(w, w.status != "healthy").size()`. Compiled when the config loads.
pub type Expression = String;
/// A duration in humantime form: `500ms`, `30s`, `5m`, `1h 30m`.
pub type Duration = String;
/// Any YAML value: a scalar, a list or a mapping (compared as JSON).
pub type JsonValue = serde_json::Value;

/// The daemon config (`checkd.yaml`): where this instance runs, the environments and
/// datasources that checks use, and the daemon's own settings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Where this instance runs (letters, digits, `_`, `-`, `.`), e.g. `prod` or `monitoring`;
    /// it need not be one of `environments`. The environment variable `CHECKD_ENVIRONMENT`
    /// overrides it.
    /// Required.
    pub execution_environment: Option<String>,
    /// Every execution environment an instance of this config runs in. A check that no
    /// instance may run (see `run_from`) is a load error.
    /// Default: `execution_environment` and the names of `environments`
    pub execution_environments: Option<Vec<String>>,
    /// Directories holding check files (`*.yaml`, `*.yml`, read in name order; files starting
    /// with `.` are skipped), relative to this file. A missing directory is an error.
    /// Default: `[checks]`
    pub checks: Option<Vec<String>>,
    /// The target environments, by name (letters, digits, `_`, `-`, `.`). At least one.
    /// Required.
    pub environments: Option<BTreeMap<String, Unit<Environment>>>,
    /// Named ways to reach things, shared by the checks that name them in `datasource`.
    /// Default: none
    #[serde(default)]
    pub datasources: BTreeMap<String, Unit<Datasource>>,
    /// How many checks run at once and how their start times spread.
    pub scheduler: Option<Unit<Scheduler>>,
    /// The HTTP endpoint of `checkd run`.
    pub server: Option<Unit<Server>>,
    /// What checkd adds to the Checkmk output about itself.
    pub output: Option<Unit<Output>>,
    /// The layered store for results and shared responses.
    /// Default: memory, then sled in `/var/lib/checkd/store`
    pub cache: Option<Unit<Cache>>,
}

/// A target environment (`prod`, `staging`): its Checkmk host and the variables that checks
/// and datasources template in.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// The Checkmk host whose piggyback block carries this environment's services, e.g.
    /// `orders-${environment}`. Must be a valid Checkmk host name once resolved.
    /// Required.
    pub host: Template,
    /// Values for `${NAME}` in checks and datasources (names: letters, digits, `_`). A value may
    /// use `${environment}` and `${env:NAME}`, not other variables.
    /// Default: none
    #[serde(default)]
    pub variables: BTreeMap<String, Template>,
}

/// A named datasource: a mapping whose `type` says the kind (`http`, `tcp`, `tls` or
/// `command`) and whose other keys are that kind's settings. A key of another kind is an
/// error naming the kind.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(tag = "type")]
pub enum Datasource {
    /// HTTP(S) requests with reqwest; checks give `request`, `expect`, `metrics`, `foreach`.
    Http(Box<HttpDatasource>),
    /// Connect to `host:port`; checks give `tcp`.
    Tcp(TcpDatasource),
    /// TLS handshake and certificate checks against `host:port`; checks give `tls`.
    Tls(TlsDatasource),
    /// Run a local program the Nagios plugin way; checks give `command`.
    Command(CommandDatasource),
}

impl Datasource {
    /// The settings every kind has: `timeout`, `max_concurrency`, `run_from`.
    pub fn common(&self) -> (Option<&Duration>, Option<usize>, Option<&[String]>) {
        match self {
            Datasource::Http(d) => (d.timeout.as_ref(), d.max_concurrency, d.run_from.as_deref()),
            Datasource::Tcp(d) => (d.timeout.as_ref(), d.max_concurrency, d.run_from.as_deref()),
            Datasource::Tls(d) => (d.timeout.as_ref(), d.max_concurrency, d.run_from.as_deref()),
            Datasource::Command(d) => {
                (d.timeout.as_ref(), d.max_concurrency, d.run_from.as_deref())
            }
        }
    }
}

/// An `http` datasource: a base URL, headers and credentials shared by the checks using it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpDatasource {
    /// URL that a check's `request.path` is appended to, e.g. `https://${orders_host}/api`.
    /// Without it, checks must give `request.url`.
    pub base_url: Option<Template>,
    /// Headers sent with every request. A check's `request.headers` override them (header
    /// names compare case-insensitively).
    /// Default: none
    #[serde(default)]
    pub headers: BTreeMap<String, Template>,
    /// Default `timeout` of the checks using this datasource.
    /// Default: `10s`
    pub timeout: Option<Duration>,
    /// Verify TLS certificates.
    /// Default: `true`
    pub tls_verify: Option<bool>,
    /// Extra PEM bundle of CA certificates to trust, relative to the config file.
    pub ca_file: Option<String>,
    /// Credentials sent with every request, e.g. `{type: basic, username: monitor,
    /// password: {env: ORDERS_PASSWORD}}`, `{type: bearer, token: {file: /etc/checkd/token}}`
    /// or `{type: oauth2, token_url: ..., client_id: ..., client_secret: {env: NAME}}`.
    /// Secrets are references only, never inline.
    pub auth: Option<Auth>,
    /// How many redirects to follow; `0` does not follow redirects.
    /// Default: `5`
    pub max_redirects: Option<usize>,
    /// A larger response body fails the check instead of filling memory.
    /// Default: `1048576` (1 MiB)
    pub max_body_bytes: Option<u64>,
    /// Runs against this datasource in flight at once, at least 1.
    /// Default: `8`
    pub max_concurrency: Option<usize>,
    /// Checks that send the same request (method, URL, headers, body) within this long share
    /// one response: fetch once, evaluate many. `0s` shares only requests in flight together.
    /// Default: `0s`
    pub response_cache_for: Option<Duration>,
    /// Execution environments this datasource is reachable from; `target` means from inside
    /// the environment a check targets. Combines with the check's `run_from`: both must allow.
    /// Default: anywhere
    pub run_from: Option<Vec<String>>,
}

/// A `tcp` datasource: where checks connect to.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TcpDatasource {
    /// The host to connect to, e.g. `${db_host}`; templated per environment.
    /// Required.
    pub host: Option<Template>,
    /// The port to connect to.
    /// Required.
    pub port: Option<u16>,
    /// Default `timeout` of the checks using this datasource.
    /// Default: `10s`
    pub timeout: Option<Duration>,
    /// Runs against this datasource in flight at once, at least 1.
    /// Default: `8`
    pub max_concurrency: Option<usize>,
    /// Execution environments this datasource is reachable from (see `http`).
    /// Default: anywhere
    pub run_from: Option<Vec<String>>,
}

/// A `tls` datasource: whose certificate checks judge.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsDatasource {
    /// The host to connect to, e.g. `${site}`; templated per environment.
    /// Required.
    pub host: Option<Template>,
    /// The port to connect to.
    /// Default: `443`
    pub port: Option<u16>,
    /// The name sent as SNI and matched against the certificate; templated.
    /// Default: `host`
    pub server_name: Option<Template>,
    /// Default `timeout` of the checks using this datasource.
    /// Default: `10s`
    pub timeout: Option<Duration>,
    /// Verify that the chain leads to a trusted root; an untrusted certificate is CRIT.
    /// Default: `true`
    pub tls_verify: Option<bool>,
    /// Extra PEM bundle of CA certificates to trust, relative to the config file.
    pub ca_file: Option<String>,
    /// Runs against this datasource in flight at once, at least 1.
    /// Default: `8`
    pub max_concurrency: Option<usize>,
    /// Execution environments this datasource is reachable from (see `http`).
    /// Default: anywhere
    pub run_from: Option<Vec<String>>,
}

/// A `command` datasource: checks name the program to run.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandDatasource {
    /// Default `timeout` of the checks using this datasource.
    /// Default: `10s`
    pub timeout: Option<Duration>,
    /// Programs of this datasource running at once, at least 1.
    /// Default: `8`
    pub max_concurrency: Option<usize>,
    /// Execution environments this datasource is reachable from (see `http`).
    /// Default: anywhere
    pub run_from: Option<Vec<String>>,
}

/// Credentials of an `http` datasource: a mapping whose `type` says the kind (`basic`,
/// `bearer` or `oauth2`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(tag = "type")]
pub enum Auth {
    /// HTTP Basic: `Authorization: Basic base64(username:password)`.
    Basic(BasicAuth),
    /// `Authorization: Bearer <token>`.
    Bearer(BearerAuth),
    /// OAuth2 client credentials: `Authorization: Bearer <access token>`, the token fetched
    /// from `token_url` and shared by every check of the same client; a 401 answer fetches a
    /// new one and sends the request once more.
    Oauth2(OAuth2Auth),
}

impl Auth {
    /// The kind, as `type` spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            Auth::Basic(_) => "basic",
            Auth::Bearer(_) => "bearer",
            Auth::Oauth2(_) => "oauth2",
        }
    }
}

/// `basic` auth.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// The user name.
    /// Required.
    pub username: Option<String>,
    /// The password, `{env: NAME}` or `{file: PATH}`.
    /// Required.
    #[serde(default, deserialize_with = "secret_ref")]
    pub password: Option<SecretRef>,
}

/// `bearer` auth.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BearerAuth {
    /// The token, `{env: NAME}` or `{file: PATH}`.
    /// Required.
    #[serde(default, deserialize_with = "secret_ref")]
    pub token: Option<SecretRef>,
}

/// `oauth2` auth: client credentials.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuth2Auth {
    /// The token endpoint, e.g. `https://${idp_host}/oauth2/token`; templated per
    /// environment.
    /// Required.
    pub token_url: Option<Template>,
    /// The client id; templated per environment.
    /// Required.
    pub client_id: Option<Template>,
    /// The client secret, `{env: NAME}` or `{file: PATH}`; the name and the path may use
    /// `${environment}` and variables, e.g. `{env: ORDERS_SECRET_${environment}}`.
    /// Required.
    #[serde(default, deserialize_with = "secret_ref")]
    pub client_secret: Option<SecretRef>,
    /// The scopes to ask for.
    /// Default: none
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Extra form parameters of the token request, e.g. `{audience: orders-api}`; values are
    /// templated per environment.
    /// Default: none
    #[serde(default)]
    pub params: BTreeMap<String, Template>,
    /// A token is replaced this long before it expires (at most half its lifetime before). A
    /// token without `expires_in` is kept until the API answers 401.
    /// Default: `60s`
    pub refresh_margin: Option<Duration>,
    /// Keep the token where instances share responses (the memory and Redis layers, never
    /// sled) so instances sharing a Redis make one token request between them.
    /// Default: `false`
    pub share_token: Option<bool>,
}

/// "`key` does not apply to …" for a key that another kind of a `type`-tagged enum takes,
/// from the kinds' own settings types; `None` for a key no kind takes.
pub(crate) fn misplaced(name: &str, kind: &str, key: &str) -> Option<String> {
    let (kinds, what): (&[(&str, &[&str])], String) = match name {
        "Datasource" => (
            &[
                ("http", fields::<HttpDatasource>()),
                ("tcp", fields::<TcpDatasource>()),
                ("tls", fields::<TlsDatasource>()),
                ("command", fields::<CommandDatasource>()),
            ],
            format!("a datasource of type {kind}"),
        ),
        "Auth" => (
            &[
                ("basic", fields::<BasicAuth>()),
                ("bearer", fields::<BearerAuth>()),
                ("oauth2", fields::<OAuth2Auth>()),
            ],
            format!("{kind} auth"),
        ),
        "CacheLayer" => (
            &[
                ("memory", fields::<MemoryLayer>()),
                ("redis", fields::<RedisLayer>()),
                ("sled", fields::<SledLayer>()),
            ],
            format!("a {kind} layer"),
        ),
        _ => return None,
    };
    kinds
        .iter()
        .any(|(other, keys)| *other != kind && keys.contains(&key))
        .then(|| format!("`{key}` does not apply to {what}"))
}

/// The keys of a struct, as serde's derive lists them for `deserialize_struct`.
fn fields<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    struct Fields(Option<&'static [&'static str]>);
    impl<'de> Deserializer<'de> for &mut Fields {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = Some(fields);
            Err(de::Error::custom("listed"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut fields = Fields(None);
    let _ = T::deserialize(&mut fields);
    fields.0.unwrap_or_default()
}

/// Scheduler settings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scheduler {
    /// Runs in flight at once over all datasources, at least 1.
    /// Default: `64`
    pub max_concurrency: Option<usize>,
    /// Random delay before each interval run, as a fraction of the interval (0.0–1.0), so checks
    /// that start together do not keep firing together.
    /// Default: `0.1`
    pub splay: Option<f64>,
    /// Several instances sharing one Redis (a `redis` layer in `cache.layers`): each job runs
    /// on one of them per interval, under a lease in Redis, and every instance serves every
    /// result. `fleet: {}` turns it on with the defaults.
    /// Default: off
    pub fleet: Option<Fleet>,
}

/// A fleet of instances sharing one Redis.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fleet {
    /// This instance's name in the fleet, unique among the instances.
    /// Default: `<host name>:<pid>`
    pub instance: Option<String>,
    /// An instance that is not a job's preferred one (the preference spreads jobs over the
    /// live instances) waits this long before it takes the job itself.
    /// Default: `1s`
    pub fallback_after: Option<Duration>,
    /// How often each instance writes its heartbeat; after three missed beats the others
    /// take over its jobs without waiting.
    /// Default: `5s`
    pub heartbeat: Option<Duration>,
}

/// HTTP endpoint settings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Server {
    /// `ADDRESS:PORT` of the endpoint (`GET /`, `/healthcheck`, `/metrics`, `/api/v1/results`),
    /// or `false` for no endpoint. Port 6556 belongs to the Checkmk agent.
    /// Default: `127.0.0.1:6559`
    pub listen: Option<Listen>,
    /// Require `Authorization: Bearer <token>` on every route but `/healthcheck`.
    /// Default: no token
    #[serde(default, deserialize_with = "secret_ref")]
    pub bearer_token: Option<SecretRef>,
}

/// Where a secret comes from: never inline in a config file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    /// The name of a process environment variable holding the secret.
    pub env: Option<String>,
    /// A file holding the secret (surrounding whitespace is trimmed), relative to the config
    /// file; read again on every reload.
    pub file: Option<String>,
}

/// Checkmk output settings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Output {
    /// Name of checkd's own service on the daemon's host.
    /// Default: `checkd`
    pub self_service: Option<String>,
    /// Write the results into the Checkmk agent's spool directory too: one file per host,
    /// replaced atomically.
    /// Default: no spool files
    pub spool: Option<Spool>,
    /// Deliver the services in watchpost's `<<<watchpost>>>` section instead of local checks,
    /// so a team moving from watchpost keeps its Checkmk plugin and services
    /// (docs/migrating-from-watchpost.md). checkd's own service stays a local check.
    /// Default: `false`
    pub watchpost: Option<bool>,
}

/// Spool files for the Checkmk agent (`/var/lib/check_mk_agent/spool`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spool {
    /// The agent's spool directory, relative to the config file.
    /// Required.
    pub dir: String,
    /// How often the files are rewritten. Their name starts with three times this in seconds
    /// (`180_checkd_<host>.txt`): the agent skips an older file, so the services go stale in
    /// Checkmk when checkd stops.
    /// Default: the shortest check interval, between `10s` and `5m`
    pub every: Option<Duration>,
}

/// The layered store: reads try the layers in order and copy a hit into the faster ones;
/// writes go to every layer; a failing layer is skipped and probed again in the background.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cache {
    /// The layers, fastest first; any subset of memory, redis and sled, in any order.
    /// Default: `[{type: memory}, {type: sled}]`
    pub layers: Option<Vec<CacheLayer>>,
    /// The most one call to a layer other than memory may take; a slower layer is skipped.
    /// Default: `250ms`
    pub layer_timeout: Option<Duration>,
    /// Spread the store-level expiry of entries by up to ± this many percent (0–50), so
    /// entries written together do not expire together.
    /// Default: `0`
    pub ttl_jitter_percent: Option<u8>,
}

/// One cache layer: a mapping whose `type` says the kind (`memory`, `redis` or `sled`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(tag = "type")]
pub enum CacheLayer {
    /// In-process, bounded, lost on restart.
    Memory(MemoryLayer),
    /// Shared between instances.
    Redis(RedisLayer),
    /// On local disk; survives restarts.
    Sled(SledLayer),
}

/// The `memory` layer.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryLayer {
    /// The most entries it holds before evicting the least used.
    /// Default: `100000`
    pub max_entries: Option<u64>,
    /// The most bytes of entries it holds.
    /// Default: no byte bound
    pub max_bytes: Option<u64>,
}

/// The `redis` layer.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedisLayer {
    /// `redis://host:port/db`, or any node of a cluster with `cluster: true`.
    /// Required.
    pub url: Option<String>,
    /// The team's part of the key namespace `checkd:<infix>:v<format>:<key>` (no `:`).
    /// Default: `default`
    pub infix: Option<String>,
    /// Let Redis expire entries (validity plus `keep_after`); off keeps them until
    /// overwritten, so an expired result can still be served as the last one.
    /// Default: `true`
    pub use_redis_ttl: Option<bool>,
    /// Bound of one connection attempt.
    /// Default: `1s`
    pub connect_timeout: Option<Duration>,
    /// Bound of one command.
    /// Default: `200ms`
    pub command_timeout: Option<Duration>,
    /// The URL names a node of a Redis Cluster.
    /// Default: `false`
    pub cluster: Option<bool>,
    /// How long an entry is kept after it expired, to be served as last result.
    /// Default: `24h`
    pub keep_after: Option<Duration>,
}

/// The `sled` layer.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SledLayer {
    /// The database directory, relative to the config file.
    /// Default: `/var/lib/checkd/store`
    pub path: Option<String>,
    /// How long an entry is kept after it expired, to be served as last result.
    /// Default: `24h`
    pub keep_after: Option<Duration>,
}

/// A check file (`checks/*.yaml`): a list of checks. `checks: []` is a valid file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckFile {
    /// The checks of this file.
    /// Required.
    pub checks: Vec<Unit<Check>>,
}

/// One check: what to request, in which environments, how often, and how to judge the answer.
/// It becomes one job per target environment.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// The service name, e.g. `Orders API health`; templated per environment. Must be a valid
    /// Checkmk service name (no `"`, `'`, `;`, `$`) and unique on its host.
    /// Required.
    pub name: Template,
    /// Stable identifier of the check (results are stored under it); unique over all files.
    /// Default: the `name` as written (before templating)
    pub id: Option<String>,
    /// The environments to run in; each must be defined in the daemon config.
    /// Required.
    pub environments: Vec<String>,
    /// The datasource to use, by name.
    /// Required.
    pub datasource: String,
    /// Run every this long; a result is fresh for this long. Exactly one of `cache_for` and
    /// `schedule`.
    pub cache_for: Option<Duration>,
    /// Run at the times of this 5-field crontab pattern (`minute hour day-of-month month
    /// day-of-week`, `1-5` = Monday–Friday); a result is valid until the next run plus `grace`.
    pub schedule: Option<String>,
    /// Time zone of `schedule`, e.g. `Europe/Berlin`. Only with `schedule`.
    /// Default: `UTC`
    pub timezone: Option<String>,
    /// How long after the next scheduled run a result stays valid. Only with `schedule`.
    /// Default: `5m`
    pub grace: Option<Duration>,
    /// Upper bound of one run; a run that takes longer is UNKNOWN "timed out after …".
    /// Default: the datasource's `timeout`
    pub timeout: Option<Duration>,
    /// A served result older than this turns UNKNOWN ("stale since …").
    /// Default: 3 × `cache_for`; with `schedule`, 3 × the longest gap between its next runs
    pub stale_after: Option<Duration>,
    /// After an OK result, report a non-OK one only when this many more runs in a row were
    /// non-OK too; meanwhile the OK result is served with a note "non-OK 1 of 3: …".
    /// Recovery to OK is reported at once.
    /// Default: `0`
    pub retries: Option<u32>,
    /// How soon a held-back non-OK result is checked again. Only with `retries`.
    /// Default: `1m`, or `cache_for` if shorter
    pub retry_interval: Option<Duration>,
    /// Execution environments this check may run from; `target` means from inside the
    /// environment it targets (e.g. `[target, monitoring]`). Combines with the datasource's.
    /// Default: anywhere
    pub run_from: Option<Vec<String>>,
    /// What an instance that may not run this check does: `omit` leaves it out of its output
    /// (another instance reports it); `skip` shows the last result it has, else UNKNOWN
    /// "not runnable from …".
    /// Default: `omit`
    pub elsewhere: Option<Elsewhere>,
    /// Service labels; values are templated.
    /// Default: none
    #[serde(default)]
    pub labels: BTreeMap<String, Template>,
    /// Values for `${NAME}` that differ by target environment, overriding the environment's
    /// own `variables` of the same name: environment → NAME → value, e.g. `{prod: {warn: 500},
    /// staging: {warn: 2000}}` for `levels: {warn: "${warn}"}`. A value may use
    /// `${environment}` and `${env:NAME}`.
    /// Default: none
    #[serde(default)]
    pub variables: BTreeMap<String, BTreeMap<String, Template>>,
    /// Named values: NAME → a CEL expression over the response, evaluated once per run in the
    /// order written; each may use the ones before, and every other expression of the check
    /// uses them by name.
    /// Default: none
    #[serde(rename = "let", default)]
    pub lets: Ordered<Expression>,
    /// What to send (`http` datasources).
    /// Required for `http`.
    pub request: Option<Unit<Request>>,
    /// Assertions on the response; each failing one makes the service WARN or CRIT.
    /// Default: status 2xx
    #[serde(default)]
    pub expect: Unit<Expect>,
    /// Metrics taken from each response; their levels judge the value too.
    /// Default: none
    #[serde(default)]
    pub metrics: Vec<Unit<Metric>>,
    /// The service's summary: a text template for every state, or
    /// `{ok: …, problem: …}`. Without one: the response's status, time and metrics when OK,
    /// else what failed.
    pub summary: Option<Texts>,
    /// Text put before the list of results in the details, like `summary`.
    pub details: Option<Texts>,
    /// One more service per item: of the JSON array at `path`, or of the list (or map
    /// entries) an expression yields.
    pub foreach: Option<Unit<Foreach>>,
    /// What to send and expect on a `tcp` datasource's connection.
    /// Default: connect only
    pub tcp: Option<Unit<TcpCheck>>,
    /// How to judge a `tls` datasource's certificate.
    /// Default: `days_left: {warn: 14, crit: 7}`
    pub tls: Option<Unit<TlsCheck>>,
    /// The program a `command` datasource runs.
    /// Required for `command`.
    pub command: Option<Unit<CommandCheck>>,
}

/// A check on a `tcp` datasource. The connect time is the `connect_time` metric.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TcpCheck {
    /// Written once connected, e.g. `"PING\r\n"`; templated.
    pub send: Option<Template>,
    /// Text the first line of the answer must contain (CRIT otherwise); templated.
    pub expect: Option<Template>,
    /// Upper levels on the connect time.
    pub connect_time: Option<DurationLevels>,
}

/// A check on a `tls` datasource. Days until expiry are the `days_left` metric.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsCheck {
    /// Lower levels on the days until the certificate expires (WARN below `warn`, CRIT below
    /// `crit`); an expired certificate is always CRIT.
    /// Default: `{warn: 14, crit: 7}`
    pub days_left: Option<Levels>,
}

/// A check on a `command` datasource: a Nagios-compatible plugin. Exit code 0–3 is the state,
/// the first line the summary, further lines the details, perfdata after `|` the metrics.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandCheck {
    /// The program: a path or a name looked up in `PATH`; templated. With `shell`, a shell
    /// command.
    /// Required.
    pub program: Template,
    /// Arguments, each passed as it is (no shell splitting); templated.
    /// Default: none
    #[serde(default)]
    pub args: Vec<Template>,
    /// Environment variables for the program, on top of `PATH` and `LANG=C`; templated.
    /// Default: none
    #[serde(default)]
    pub env: BTreeMap<String, Template>,
    /// Run `program` with `/bin/sh -c` (args become `$1`, `$2`, …).
    /// Default: `false`
    #[serde(default)]
    pub shell: bool,
    /// At most this much of the program's output is kept; the rest is discarded.
    /// Default: `65536`
    pub max_output_bytes: Option<usize>,
}

/// The HTTP request of a check. Exactly one of `path` and `url`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// HTTP method.
    /// Default: `GET`
    pub method: Option<String>,
    /// Appended to the datasource's `base_url`, e.g. `/health`.
    pub path: Option<Template>,
    /// Absolute `http://` or `https://` URL, instead of `path`.
    pub url: Option<Template>,
    /// Request headers; they override the datasource's headers of the same name.
    /// Default: none
    #[serde(default)]
    pub headers: BTreeMap<String, Template>,
    /// Request body.
    pub body: Option<Template>,
}

/// Assertions on an HTTP response.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Acceptable status code (100–599) or list of codes.
    /// Default: any 2xx
    pub status: Option<StatusCodes>,
    /// Tests on the response body, each with exactly one of `equals`, `contains`,
    /// `not_contains`, `matches`.
    /// Default: none
    #[serde(default)]
    pub body: Vec<TextTest>,
    /// Tests on response headers: header name (any case) → one text test.
    /// Default: none
    #[serde(default)]
    pub headers: BTreeMap<String, TextTest>,
    /// Levels on the response time; also emitted as the `response_time` metric (seconds).
    pub response_time: Option<DurationLevels>,
    /// Tests on values in a JSON response body.
    /// Default: none
    #[serde(default)]
    pub json: Vec<JsonTest>,
    /// Conditions: each a CEL expression that must be true, or `{cel: …, state: …, message:
    /// …}`. A false one gives its state (CRIT by default).
    /// Default: none
    #[serde(default)]
    pub that: Vec<Condition>,
}

/// A test on a text; exactly one of `equals`, `contains`, `not_contains`, `matches`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TextTest {
    /// The whole text equals this.
    pub equals: Option<String>,
    /// The text contains this.
    pub contains: Option<String>,
    /// The text does not contain this.
    pub not_contains: Option<String>,
    /// The text matches this regular expression (Rust `regex` syntax, unanchored).
    pub matches: Option<String>,
    /// The state when the test fails.
    /// Default: `crit`
    pub state: Option<FailState>,
}

/// A test on the JSON value at `path`; exactly one of `equals`, `not_equals`, `exists`, `lt`,
/// `le`, `gt`, `ge`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonTest {
    /// Dot-separated path into the document: keys, and numbers for array elements
    /// (`items.0.name`); `.` is the document itself.
    /// Required.
    pub path: String,
    /// Test the length of the array, object or string at `path` instead of the value.
    /// Default: `false`
    #[serde(default)]
    pub length: bool,
    /// The value equals this (any YAML value: number, string, boolean, null, list, mapping).
    #[serde(default, deserialize_with = "present")]
    pub equals: Option<JsonValue>,
    /// The value does not equal this.
    #[serde(default, deserialize_with = "present")]
    pub not_equals: Option<JsonValue>,
    /// `true`: the path must exist; `false`: it must not.
    pub exists: Option<bool>,
    /// The number is less than this.
    pub lt: Option<Number>,
    /// The number is less than or equal to this.
    pub le: Option<Number>,
    /// The number is greater than this.
    pub gt: Option<Number>,
    /// The number is greater than or equal to this.
    pub ge: Option<Number>,
    /// The state when the test fails.
    /// Default: `crit`
    pub state: Option<FailState>,
}

/// The state a failed test gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailState {
    /// WARN.
    Warn,
    /// CRIT.
    Crit,
    /// UNKNOWN.
    Unknown,
}

/// Warn/crit levels given as durations.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DurationLevels {
    /// WARN at or above this.
    pub warn: Option<Duration>,
    /// CRIT at or above this; not below `warn`.
    pub crit: Option<Duration>,
}

/// Warn/crit levels. Upper levels: WARN at or above `warn`, CRIT at or above `crit`
/// (`warn` ≤ `crit`). Lower levels: WARN below `warn`, CRIT below `crit` (`warn` ≥ `crit`).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Levels {
    /// The WARN level: a number, or a template that gives one per environment
    /// (`"${latency_warn}"`).
    pub warn: Option<Number>,
    /// The CRIT level, like `warn`.
    pub crit: Option<Number>,
}

/// A metric taken from each response; exactly one of `json`, `from` and `cel`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    /// Metric name: letters, digits, `_`, `-`, `.`; unique within the check.
    /// Required.
    pub name: String,
    /// Path of the number in the JSON body (see `expect.json[].path`).
    pub json: Option<String>,
    /// Take the length of the array, object or string at `json` instead.
    /// Default: `false`
    #[serde(default)]
    pub length: bool,
    /// A value of the response itself instead of `json`.
    pub from: Option<MetricFrom>,
    /// A CEL expression giving the value (a number, or a duration as seconds), instead of
    /// `json` or `from`.
    pub cel: Option<Expression>,
    /// Upper levels.
    pub levels: Option<Levels>,
    /// Lower levels.
    pub lower_levels: Option<Levels>,
    /// Lowest value, for graphs.
    pub min: Option<f64>,
    /// Highest value, for graphs.
    pub max: Option<f64>,
}

/// Values of the response itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MetricFrom {
    /// Seconds from sending the request to the end of the body.
    ResponseTime,
    /// Bytes of the response body.
    BodySize,
}

/// One more service per item: each element of the JSON array at `path`, or each item of the
/// list (or entry of the map) that `cel` yields; exactly one of `path` and `cel`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Foreach {
    /// Path of the array in the JSON body.
    pub path: Option<String>,
    /// A CEL expression giving the items: a list, or a map whose entries become items
    /// `{"key": …, "value": …}`; `flatten(…)` makes nested lists one.
    pub cel: Option<Expression>,
    /// Appended to the service name, a text template with `item`
    /// (the item) and `index` (its position) bound, e.g. `" worker {item.name}"`; it must use
    /// one of them so that every item gets its own service.
    /// Required.
    pub suffix: TextTemplate,
    /// Tests on each item: `json` paths relative to the item, conditions with `item` bound.
    /// Default: none
    #[serde(default)]
    pub expect: ForeachExpect,
    /// Metrics of each item: `json` paths relative to the item, `cel` with `item` bound.
    /// Default: none
    #[serde(default)]
    pub metrics: Vec<Unit<Metric>>,
    /// An item's summary, like the check's `summary`.
    pub summary: Option<Texts>,
    /// An item's details, like the check's `details`.
    pub details: Option<Texts>,
    /// What the check's own service says about its items: `count` adds "2 of 40 CRIT" at its
    /// own state, `worst` also takes the worst item state.
    /// Default: `count`
    pub rollup: Option<RollupMode>,
}

/// How the check's own service rolls up its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RollupMode {
    /// "2 of 40 CRIT" in the summary; the state is the service's own.
    Count,
    /// The same, and the worst item state.
    Worst,
}

/// Assertions on each item of a `foreach`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForeachExpect {
    /// Tests on values of the item.
    /// Default: none
    #[serde(default)]
    pub json: Vec<JsonTest>,
    /// Conditions on the item, like the check's `expect.that`.
    /// Default: none
    #[serde(default)]
    pub that: Vec<Condition>,
}

/// A condition: a CEL expression (CRIT when false), or the mapping form.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[schemars(untagged)]
pub enum Condition {
    /// The expression alone.
    Plain(Expression),
    /// With its state and message.
    Full(FullCondition),
}

/// A condition with its state and message.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FullCondition {
    /// The CEL expression that must be true.
    /// Required.
    pub cel: Expression,
    /// The state when it is false.
    /// Default: `crit`
    pub state: Option<FailState>,
    /// What the result says (when it holds and when not), a
    /// text template. Default: the expression and `is true` or `is
    /// false`.
    pub message: Option<TextTemplate>,
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Condition;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a CEL expression, or {cel: …, state: …, message: …}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Condition, E> {
                Ok(Condition::Plain(v.to_string()))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Condition, A::Error> {
                FullCondition::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(Condition::Full)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A summary or details: one text template for every state, or one
/// for OK and one for the other states.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[schemars(untagged)]
pub enum Texts {
    /// For every state.
    Always(TextTemplate),
    /// By state.
    ByState(TextsByState),
}

/// Texts by state.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TextsByState {
    /// When the service is OK.
    pub ok: Option<TextTemplate>,
    /// When it is WARN, CRIT or UNKNOWN.
    pub problem: Option<TextTemplate>,
}

impl<'de> Deserialize<'de> for Texts {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Texts;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a template, or {ok: …, problem: …}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Texts, E> {
                Ok(Texts::Always(v.to_string()))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Texts, A::Error> {
                TextsByState::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(Texts::ByState)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// NAME → value, in the order written.
#[derive(Debug, Clone, PartialEq)]
pub struct Ordered<T>(pub Vec<(String, T)>);

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Ordered<T>, A::Error> {
                let mut entries = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, T>()? {
                    entries.push((key, value));
                }
                Ok(Ordered(entries))
            }
        }
        deserializer.deserialize_map(V(std::marker::PhantomData))
    }
}

/// `status: 200` or `status: [200, 204]`.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusCodes(pub Vec<i64>);

impl<'de> Deserialize<'de> for StatusCodes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StatusVisitor { list: true })
    }
}

struct StatusVisitor {
    /// Whether a list is acceptable (not inside a list).
    list: bool,
}

impl<'de> Visitor<'de> for StatusVisitor {
    type Value = StatusCodes;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A list is welcome at the top too (see the field's doc); the message names the element.
        f.write_str("an integer 100–599")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<StatusCodes, E> {
        Ok(StatusCodes(vec![v]))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<StatusCodes, E> {
        i64::try_from(v)
            .map(|v| StatusCodes(vec![v]))
            .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<StatusCodes, A::Error> {
        if !self.list {
            return Err(de::Error::invalid_type(de::Unexpected::Seq, &self));
        }
        let mut codes = Vec::new();
        while let Some(one) = seq.next_element_seed(StatusSeed)? {
            codes.extend(one.0);
        }
        Ok(StatusCodes(codes))
    }
}

struct StatusSeed;

impl<'de> de::DeserializeSeed<'de> for StatusSeed {
    type Value = StatusCodes;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<StatusCodes, D::Error> {
        deserializer.deserialize_any(StatusVisitor { list: false })
    }
}

/// A number, or a template that gives one per environment: `500` or `"${warn_ms}"`.
#[derive(Debug, Clone, PartialEq)]
pub enum Number {
    /// Written as a number.
    Value(f64),
    /// Written as text with `${…}`, resolved and read as a number per environment.
    Text(Template),
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or a \"${…}\" template")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
                Ok(Number::Value(v))
            }
            #[allow(clippy::cast_precision_loss)] // levels are f64 in Checkmk too
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number::Value(v as f64))
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number::Value(v as f64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Number, E> {
                if v.contains("${") {
                    Ok(Number::Text(v.to_string()))
                } else {
                    Err(E::invalid_type(de::Unexpected::Str(v), &self))
                }
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// `listen: "127.0.0.1:6559"` or `listen: false`.
#[derive(Debug, Clone, PartialEq)]
pub enum Listen {
    /// Serve on this `IP:PORT`.
    Address(String),
    /// No HTTP endpoint.
    Off,
}

impl<'de> Deserialize<'de> for Listen {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Listen;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an address like 127.0.0.1:6559, or false for no endpoint")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Listen, E> {
                if v {
                    Err(E::invalid_value(de::Unexpected::Bool(v), &self))
                } else {
                    Ok(Listen::Off)
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Listen, E> {
                Ok(Listen::Address(v.to_string()))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// `equals: null` means "equals null", not "no test": a present key is always `Some`.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<JsonValue>, D::Error> {
    deserializer.deserialize_any(Json).map(Some)
}

/// Any YAML value as JSON, refusing `.nan` and `.inf`, which JSON cannot hold (serde_json's
/// own visitor would turn them into `null` without a word).
#[derive(Clone, Copy)]
struct Json;

impl<'de> Visitor<'de> for Json {
    type Value = JsonValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<JsonValue, E> {
        Ok(JsonValue::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<JsonValue, E> {
        Ok(JsonValue::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<JsonValue, E> {
        Ok(JsonValue::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<JsonValue, E> {
        serde_json::Number::from_f64(v)
            .map(JsonValue::Number)
            .ok_or_else(|| E::custom(format!("expected a finite number, found {v}")))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<JsonValue, E> {
        Ok(JsonValue::String(v.to_string()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<JsonValue, E> {
        Ok(JsonValue::Null)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<JsonValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(JsonValue::Array(items))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<JsonValue, A::Error> {
        let mut entries = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            entries.insert(key, map.next_value_seed(self)?);
        }
        Ok(JsonValue::Object(entries))
    }
}

impl<'de> de::DeserializeSeed<'de> for Json {
    type Value = JsonValue;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<JsonValue, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// A [`SecretRef`], refusing an inline secret without echoing it into the error message.
fn secret_ref<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<SecretRef>, D::Error> {
    struct Visitor;
    const INLINE: &str = "a secret is never written inline: use {env: NAME} or {file: PATH}";
    impl<'de> serde::de::Visitor<'de> for Visitor {
        type Value = Option<SecretRef>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("{env: NAME} or {file: PATH}")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            SecretRef::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Some)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Err(E::custom(INLINE))
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Err(E::custom(INLINE))
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Err(E::custom(INLINE))
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Err(E::custom(INLINE))
        }
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Err(E::custom(INLINE))
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(serde::de::Error::custom(INLINE))
        }
    }
    deserializer.deserialize_any(Visitor)
}

/// What an instance does with a check it may not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Elsewhere {
    /// Leave it out of this instance's output.
    Omit,
    /// Show the last result, else UNKNOWN "not runnable from …".
    Skip,
}

/// The JSON Schemas of the types whose YAML form has more than one shape.
mod schemas {
    use std::borrow::Cow;

    use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};

    use super::{Listen, Number, Ordered, StatusCodes};

    impl<T: JsonSchema> JsonSchema for Ordered<T> {
        fn schema_name() -> Cow<'static, str> {
            format!("Ordered_{}", T::schema_name()).into()
        }
        fn json_schema(generator: &mut SchemaGenerator) -> Schema {
            let values = generator.subschema_for::<T>();
            json_schema!({"type": "object", "additionalProperties": values})
        }
    }

    impl JsonSchema for StatusCodes {
        fn schema_name() -> Cow<'static, str> {
            "StatusCodes".into()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            let code = json_schema!({"type": "integer", "minimum": 100, "maximum": 599});
            json_schema!({"oneOf": [code, {"type": "array", "items": code}]})
        }
    }

    impl JsonSchema for Listen {
        fn schema_name() -> Cow<'static, str> {
            "Listen".into()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({"oneOf": [{"type": "string"}, {"const": false}]})
        }
    }

    impl JsonSchema for Number {
        fn schema_name() -> Cow<'static, str> {
            "Number".into()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({"oneOf": [{"type": "number"}, {"type": "string", "pattern": "\\$\\{"}]})
        }
    }
}
