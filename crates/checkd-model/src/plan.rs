//! The resolved plan: every (check, environment) with all templates filled in, every
//! reference checked and every duration parsed. The config crate builds it; the scheduler,
//! datasources and renderers read it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::placement::Placement;
use crate::probe::{CommandSpec, TcpSpec, TlsSpec};
use crate::{JobKey, Levels, Secret, State};

pub use checkd_expr::{Expr, Template};

/// Everything a checkd instance needs to run, resolved from the daemon config and checks.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Where this instance runs (`execution_environment`, or `CHECKD_ENVIRONMENT`).
    pub execution_environment: String,
    /// Every place an instance of this config runs (for `checkd validate --explain`).
    pub execution_environments: Vec<String>,
    pub datasources: BTreeMap<String, Datasource>,
    /// One entry per (check, target environment), in a stable order.
    pub jobs: Vec<Job>,
    pub scheduler: SchedulerSettings,
    pub server: ServerSettings,
    pub output: OutputSettings,
    pub cache: CacheSettings,
}

impl Plan {
    pub fn job(&self, key: &JobKey) -> Option<&Job> {
        self.jobs.iter().find(|j| &j.key == key)
    }
}

/// A named way to reach something, shared by the checks that use it.
#[derive(Clone, Debug)]
pub enum Datasource {
    Http(HttpDatasource),
    /// `tcp`, `tls` and `command`: no client to keep; each job's [`Probe`] says it all.
    Probe(ProbeDatasource),
}

impl Datasource {
    /// How many runs against this datasource may be in flight at once.
    pub fn max_concurrency(&self) -> usize {
        match self {
            Datasource::Http(http) => http.max_concurrency,
            Datasource::Probe(probe) => probe.max_concurrency,
        }
    }
}

/// A datasource whose jobs carry everything they need in their [`Probe`].
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeDatasource {
    pub name: String,
    pub max_concurrency: usize,
}

/// Client-level settings of an HTTP datasource. Per-environment parts (URL, headers) are
/// already resolved into each job's [`HttpRequest`].
#[derive(Clone, Debug)]
pub struct HttpDatasource {
    pub name: String,
    /// Verify TLS certificates (on by default).
    pub tls_verify: bool,
    /// Extra PEM CA bundle to trust.
    pub ca_file: Option<PathBuf>,
    /// How many redirects to follow; 0 disables following.
    pub max_redirects: usize,
    /// Responses larger than this are a failed check, not a memory spike.
    pub max_body_bytes: u64,
    pub max_concurrency: usize,
    /// Checks that send the same request within this long share one response (fetch once,
    /// evaluate many). Zero shares only requests that are in flight at the same moment.
    pub response_cache_for: Duration,
    /// Credentials sent as `Authorization` with every request (a check's own
    /// `Authorization` header wins).
    pub auth: Option<HttpAuth>,
}

/// How an HTTP datasource authenticates. The secrets never print.
#[derive(Clone, Debug, PartialEq)]
pub enum HttpAuth {
    Basic { username: String, password: Secret },
    Bearer { token: Secret },
}

/// One (check, target environment): what to run, when, and how to judge it.
#[derive(Clone, Debug)]
pub struct Job {
    pub key: JobKey,
    /// The service name (foreach items append their suffix to it).
    pub service: String,
    /// The Checkmk host whose piggyback block carries this job's services.
    pub host: String,
    pub labels: BTreeMap<String, String>,
    /// Name of the datasource in [`Plan::datasources`].
    pub datasource: String,
    pub schedule: Schedule,
    /// Upper bound of one run; a run that exceeds it is "timed out after …".
    pub timeout: Duration,
    /// A served result older than this turns UNKNOWN ("stale since …").
    pub stale_after: Duration,
    /// Soft failures before a non-OK state is reported.
    pub retry: Retry,
    /// From which execution environments the job may run.
    pub placement: Placement,
    pub probe: Probe,
    /// Shared by the jobs of one check (one per environment) unless the check takes values
    /// per environment where its runs are judged.
    pub evaluation: Arc<Evaluation>,
    /// The target environment's variables as expressions see them (`env.vars`): shared by
    /// the jobs of one environment; those that read the process environment are left out.
    pub variables: Arc<BTreeMap<String, String>>,
}

/// Nagios-style soft states: after an OK result, a non-OK one is reported only when
/// `retries + 1` runs in a row were non-OK; meanwhile the job re-runs every `interval` and the
/// last OK result is served with a note. Recovery to OK is immediate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Retry {
    pub retries: u32,
    pub interval: Duration,
}

/// When a job runs.
#[derive(Clone, Debug)]
pub enum Schedule {
    /// Every `cache_for`; the result is fresh for that long.
    Every(Duration),
    /// At the times of a 5-field crontab pattern in a time zone; a result stays valid until
    /// the next run plus `grace`.
    Cron {
        cron: Box<croner::Cron>,
        pattern: String,
        timezone: chrono_tz::Tz,
        grace: Duration,
    },
}

/// What a run does to get its data.
#[derive(Clone, Debug)]
pub enum Probe {
    Http(HttpRequest),
    Tcp(TcpSpec),
    Tls(TlsSpec),
    Command(CommandSpec),
}

#[derive(Clone, Debug, PartialEq)]
pub struct HttpRequest {
    pub method: String,
    /// Absolute URL, templates resolved.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    /// The OAuth2 client whose access token goes with the request as `Authorization: Bearer`,
    /// resolved for the job's environment. Shared by every job of one (datasource,
    /// environment).
    pub oauth2: Option<std::sync::Arc<OAuth2>>,
}

/// OAuth2 client credentials (RFC 6749 §4.4) of an HTTP datasource in one environment.
#[derive(Clone, Debug, PartialEq)]
pub struct OAuth2 {
    pub token_url: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub scopes: Vec<String>,
    /// Extra form parameters of the token request, e.g. `audience`.
    pub params: Vec<(String, String)>,
    /// A token is replaced this long before it expires (at most half its lifetime).
    pub refresh_margin: Duration,
    /// Keep the token in the shared response store (memory + Redis, never sled) so other
    /// instances use it too.
    pub share: bool,
}

/// How a response becomes services.
#[derive(Clone, Debug, Default)]
pub struct Evaluation {
    /// Named values (`let`), evaluated in order before anything else; the check's other
    /// expressions use them by name.
    pub lets: Vec<(String, Expr)>,
    pub expect: Expect,
    pub metrics: Vec<MetricSpec>,
    /// The summary and details of the check's own service.
    pub texts: Texts,
    /// One service per item of a list (or entry of a map) in the response.
    pub foreach: Option<Foreach>,
}

impl Evaluation {
    /// Whether anything looks into the body as JSON (a JSON path, or an expression or
    /// template using `body`): a run parses it only then.
    pub fn needs_json(&self) -> bool {
        let expect = |e: &Expect| {
            !e.json.is_empty()
                || e.conditions
                    .iter()
                    .any(|c| c.expr.uses("body") || uses(&c.message))
        };
        let metrics = |m: &[MetricSpec]| {
            m.iter().any(|m| match &m.source {
                MetricSource::Json { .. } => true,
                MetricSource::Cel(expr) => expr.uses("body"),
                MetricSource::ResponseTime | MetricSource::BodySize => false,
            })
        };
        let texts = |t: &Texts| {
            [
                &t.summary.ok,
                &t.summary.problem,
                &t.details.ok,
                &t.details.problem,
            ]
            .into_iter()
            .any(uses)
        };
        let foreach = |f: &Foreach| {
            matches!(&f.items, ForeachItems::Path(_))
                || matches!(&f.items, ForeachItems::Cel(e) if e.uses("body"))
                || f.suffix.uses("body")
                || expect(&f.expect)
                || metrics(&f.metrics)
                || texts(&f.texts)
        };
        self.lets.iter().any(|(_, e)| e.uses("body"))
            || expect(&self.expect)
            || metrics(&self.metrics)
            || texts(&self.texts)
            || self.foreach.as_ref().is_some_and(foreach)
    }
}

fn uses(template: &Option<Template>) -> bool {
    template.as_ref().is_some_and(|t| t.uses("body"))
}

/// Summary and details templates of a service, by the state it ends in.
#[derive(Clone, Debug, Default)]
pub struct Texts {
    pub summary: ByState,
    pub details: ByState,
}

/// A template for when the service is OK, and one for when it is not.
#[derive(Clone, Debug, Default)]
pub struct ByState {
    pub ok: Option<Template>,
    pub problem: Option<Template>,
}

impl ByState {
    /// The template for a service in `state`.
    pub fn for_state(&self, state: State) -> Option<&Template> {
        if state == State::Ok {
            self.ok.as_ref()
        } else {
            self.problem.as_ref()
        }
    }
}

/// One more service per item.
#[derive(Clone, Debug)]
pub struct Foreach {
    pub items: ForeachItems,
    /// Appended to the job's service name, with the item bound (`" worker {item.name}"`).
    pub suffix: Template,
    /// Assertions and metrics of each item: JSON paths relative to the item, expressions
    /// with `item` and `index` bound.
    pub expect: Expect,
    pub metrics: Vec<MetricSpec>,
    pub texts: Texts,
    pub rollup: Rollup,
}

/// Where the items of a `foreach` come from.
#[derive(Clone, Debug)]
pub enum ForeachItems {
    /// The array at a JSON path.
    Path(JsonPath),
    /// A list, or a map whose entries become `{"key": …, "value": …}` items.
    Cel(Expr),
}

/// What the check's own service says about its `foreach` items.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Rollup {
    /// "2 of 40 CRIT", at the service's own state.
    #[default]
    Count,
    /// The same, in the worst state of the items.
    Worst,
}

/// A condition (`expect.that`): its state when false, and what it says.
#[derive(Clone, Debug)]
pub struct Condition {
    pub expr: Expr,
    pub state: State,
    /// Said whether it holds or not; without, the expression and `is true`/`is false`.
    pub message: Option<Template>,
}

/// Assertions on a response; each yields one partial result.
#[derive(Clone, Debug, Default)]
pub struct Expect {
    /// Acceptable status codes; empty means any 2xx.
    pub status: Vec<u16>,
    pub body: Vec<TextAssertion>,
    pub headers: Vec<HeaderAssertion>,
    pub json: Vec<JsonAssertion>,
    /// Levels on the response time, in seconds; also emitted as the `response_time` metric.
    pub response_time: Option<Levels>,
    /// Conditions written as expressions (`that`).
    pub conditions: Vec<Condition>,
}

/// A test on a piece of text; a failed test gives `state`.
#[derive(Clone, Debug)]
pub struct TextAssertion {
    pub test: TextTest,
    pub state: State,
}

#[derive(Clone, Debug)]
pub enum TextTest {
    Equals(String),
    Contains(String),
    NotContains(String),
    Matches(regex::Regex),
}

#[derive(Clone, Debug)]
pub struct HeaderAssertion {
    /// Lower-case header name.
    pub name: String,
    pub assertion: TextAssertion,
}

/// A test on the JSON value at `path` (or its length).
#[derive(Clone, Debug)]
pub struct JsonAssertion {
    pub path: JsonPath,
    /// Test the length of the array, object or string instead of the value.
    pub length: bool,
    pub test: JsonTest,
    /// State when the test fails.
    pub state: State,
}

#[derive(Clone, Debug)]
pub enum JsonTest {
    Equals(serde_json::Value),
    NotEquals(serde_json::Value),
    Exists(bool),
    /// Numeric comparison `value OP operand` that must hold.
    Compare(Comparison, f64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Comparison {
    pub fn holds(self, left: f64, right: f64) -> bool {
        match self {
            Comparison::Lt => left < right,
            Comparison::Le => left <= right,
            Comparison::Gt => left > right,
            Comparison::Ge => left >= right,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Lt => "<",
            Comparison::Le => "<=",
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
        }
    }
}

/// A path into a JSON document: dot-separated keys, numbers index arrays (`items.0.name`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonPath {
    /// As the user wrote it, for messages.
    pub text: String,
    /// The same path as an RFC 6901 JSON pointer (`/items/0/name`).
    pub pointer: String,
}

impl JsonPath {
    /// Parses a dotted path; `""` or `"."` is the document itself.
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let trimmed = text.strip_prefix('.').unwrap_or(text);
        if trimmed.is_empty() {
            return Ok(JsonPath {
                text: text.to_string(),
                pointer: String::new(),
            });
        }
        let mut pointer = String::new();
        for segment in trimmed.split('.') {
            if segment.is_empty() {
                return Err(format!("empty segment in JSON path {text:?}"));
            }
            pointer.push('/');
            pointer.push_str(&segment.replace('~', "~0").replace('/', "~1"));
        }
        Ok(JsonPath {
            text: text.to_string(),
            pointer,
        })
    }

    pub fn lookup<'a>(&self, value: &'a serde_json::Value) -> Option<&'a serde_json::Value> {
        value.pointer(&self.pointer)
    }
}

/// A metric taken from each response. Its levels also judge the value (Checkmk's
/// `check_levels`), so a metric with levels is an assertion too.
#[derive(Clone, Debug)]
pub struct MetricSpec {
    pub name: String,
    pub source: MetricSource,
    pub upper: Levels,
    pub lower: Levels,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Clone, Debug)]
pub enum MetricSource {
    /// The number (or, with `length`, the length) at a JSON path.
    Json { path: JsonPath, length: bool },
    /// The value of an expression: a number, or a duration as seconds.
    Cel(Expr),
    /// Seconds from sending the request to the end of the body.
    ResponseTime,
    /// Bytes of the response body.
    BodySize,
}

#[derive(Clone, Debug)]
pub struct SchedulerSettings {
    /// Runs in flight at once, over all datasources.
    pub max_concurrency: usize,
    /// Random delay up to this fraction of the interval before each interval run.
    pub splay: f64,
    /// Several instances sharing a Redis: leases, so each job runs once per interval.
    pub fleet: Option<FleetSettings>,
}

/// How an instance takes part in a fleet (see `checkd_scheduler::fleet`).
#[derive(Clone, Debug, PartialEq)]
pub struct FleetSettings {
    /// This instance's name among the others; `None`: `<host name>:<pid>`.
    pub instance: Option<String>,
    /// How long an instance that is not a job's preferred one waits before it takes the job.
    pub fallback_after: Duration,
    /// How often each instance says it is alive; three missed beats and it is gone.
    pub heartbeat: Duration,
}

#[derive(Clone, Debug)]
pub struct ServerSettings {
    /// Where `checkd run` serves HTTP; `None` disables the endpoint.
    pub listen: Option<SocketAddr>,
    /// When set, every route but `/healthcheck` wants `Authorization: Bearer <token>`.
    pub bearer_token: Option<Secret>,
}

#[derive(Clone, Debug)]
pub struct OutputSettings {
    /// Name of checkd's own service on the daemon's host.
    pub self_service: String,
    /// `Version:` in the `<<<check_mk>>>` header.
    pub version: String,
    /// Files for the Checkmk agent's spool directory, if configured.
    pub spool: Option<SpoolSettings>,
    /// Piggyback blocks carry watchpost's `<<<watchpost>>>` section instead of local checks.
    pub watchpost: bool,
}

/// One file per Checkmk host in the agent's spool directory, rewritten every `every`.
#[derive(Clone, Debug, PartialEq)]
pub struct SpoolSettings {
    pub dir: PathBuf,
    /// How often the files are rewritten; their max-age prefix is three times this, so the
    /// agent drops them (and Checkmk shows the services stale) when checkd stops writing.
    pub every: Duration,
}

/// The layered store: results, shared responses and tokens go through these layers in order.
#[derive(Clone, Debug)]
pub struct CacheSettings {
    pub layers: Vec<CacheLayer>,
    /// Bound of one call to a layer other than memory.
    pub layer_timeout: Duration,
    /// ±percent applied to store-level expiry so entries written together expire apart.
    pub ttl_jitter_percent: u8,
}

#[derive(Clone, Debug, PartialEq)]
pub enum CacheLayer {
    Memory {
        max_entries: u64,
        max_bytes: Option<u64>,
    },
    Redis {
        url: String,
        infix: String,
        use_redis_ttl: bool,
        keep_after: Duration,
        connect_timeout: Duration,
        command_timeout: Duration,
        cluster: bool,
    },
    Sled {
        path: PathBuf,
        keep_after: Duration,
    },
}

impl CacheLayer {
    /// Whether results in this layer survive a restart of this host's daemon.
    pub fn is_persistent(&self) -> bool {
        !matches!(self, CacheLayer::Memory { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_paths_become_json_pointers() {
        let doc = serde_json::json!({"a": {"b": [10, {"c/d": 7}]}, "": 1});
        let cases = [
            ("a.b.0", Some(10)),
            ("a.b.1.c/d", Some(7)),
            ("a.x", None),
            (".a.b.0", Some(10)),
        ];
        for (path, want) in cases {
            let got = JsonPath::parse(path)
                .unwrap()
                .lookup(&doc)
                .and_then(serde_json::Value::as_i64);
            assert_eq!(got, want, "{path}");
        }
        assert_eq!(JsonPath::parse("").unwrap().lookup(&doc), Some(&doc));
        assert!(JsonPath::parse("a..b").is_err());
    }
}
