//! Stage 2 of the daemon config: environments (variables, hosts), datasources and settings.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use checkd_model::plan::{
    CacheLayer, CacheSettings, FleetSettings, HttpAuth, HttpDatasource, OutputSettings,
    SchedulerSettings, ServerSettings, SpoolSettings,
};

use checkd_model::placement::RunFrom;

use crate::environment::Env;
use crate::keypath::{join_index, join_key};
use crate::oauth::OAuth2Tpl;
use crate::raw::{self, Unit};
use crate::source::SourceFile;
use crate::values::{
    finite, is_header_name, is_plain_name, positive_duration, relative_to, Cx, Tpl,
};

const DEFAULT_LISTEN: &str = "127.0.0.1:6559";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The daemon config, validated; what checks are resolved against.
#[derive(Debug)]
pub(crate) struct Config {
    pub execution_environment: String,
    /// Every place an instance runs: given, or this one plus every target environment.
    pub execution_environments: Vec<String>,
    /// `false` when `environments` is missing or empty (already reported): checks then do not
    /// also report every environment they name as unknown.
    pub environments_defined: bool,
    pub environments: BTreeMap<String, Option<Env>>,
    pub datasources: BTreeMap<String, Option<Ds>>,
    pub scheduler: SchedulerSettings,
    pub server: ServerSettings,
    pub output: OutputSettings,
    pub cache: CacheSettings,
    /// Check directories: (shown as, read from, key path of the entry).
    pub check_dirs: Vec<(PathBuf, PathBuf, String)>,
}

/// A usable datasource, with the per-environment parts still as templates.
#[derive(Debug)]
pub(crate) struct Ds {
    pub kind: DsKind,
    pub timeout: Option<Duration>,
    pub max_concurrency: usize,
    pub run_from: Vec<RunFrom>,
}

/// What each kind of datasource needs besides the common settings.
#[derive(Debug)]
pub(crate) enum DsKind {
    Http(Box<HttpDs>),
    /// `None` when its target failed (already reported); its checks are still checked.
    Tcp(Option<Target>),
    Tls(TlsDs),
    Command,
}

impl DsKind {
    /// The kind as `type` spells it.
    pub fn name(&self) -> &'static str {
        match self {
            DsKind::Http(_) => "http",
            DsKind::Tcp(_) => "tcp",
            DsKind::Tls(_) => "tls",
            DsKind::Command => "command",
        }
    }
}

/// An `http` datasource: its client, and what its checks' requests start from.
#[derive(Debug)]
pub(crate) struct HttpDs {
    pub client: HttpDatasource,
    pub base_url: Option<Tpl>,
    pub headers: Vec<(String, Tpl)>,
    /// `auth: {type: oauth2}`: resolved per environment by the checks that use it.
    pub oauth2: Option<OAuth2Tpl>,
}

/// A `tls` datasource.
#[derive(Debug)]
pub(crate) struct TlsDs {
    /// `None` when it failed (already reported).
    pub target: Option<Target>,
    pub verify_chain: bool,
    pub ca_file: Option<PathBuf>,
}

/// Where a `tcp` or `tls` datasource connects, with the per-environment parts as templates.
#[derive(Debug)]
pub(crate) struct Target {
    pub host: Tpl,
    pub port: u16,
    pub server_name: Option<Tpl>,
}

pub(crate) fn resolve(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    raw: &raw::ConfigFile,
    override_env: Option<&str>,
    dir: &Path,
) -> Config {
    let environments = crate::environment::environments(cx, src, raw);
    // The execution environment names where this instance runs. It need not be a target
    // environment: a monitoring network that probes prod and staging is a place of its own.
    let execution_environment = match (override_env, &raw.execution_environment) {
        (Some(name), _) => {
            if let Err(why) = execution_name(name) {
                cx.push(src.diag(
                    "execution_environment",
                    format!("{why} (from CHECKD_ENVIRONMENT)"),
                ));
            }
            name.to_string()
        }
        (None, Some(name)) => {
            if let Err(why) = execution_name(name) {
                cx.push(src.diag("execution_environment", why));
            }
            name.clone()
        }
        (None, None) => {
            let message = "missing required key `execution_environment`: where this instance runs";
            cx.push(src.diag("", message));
            String::new()
        }
    };
    let datasources = raw
        .datasources
        .iter()
        .map(|(name, unit)| {
            let ds = unit
                .ok()
                .and_then(|ds| datasource(cx, src, &join_key("datasources", name), name, ds, dir));
            (name.clone(), ds)
        })
        .collect();
    let scheduler = scheduler(cx, src, raw.scheduler.as_ref().and_then(Unit::ok));
    let cache = crate::cache::cache(cx, src, raw.cache.as_ref().and_then(Unit::ok), dir);
    let has_redis = cache
        .layers
        .iter()
        .any(|layer| matches!(layer, CacheLayer::Redis { .. }));
    let fleet_given = raw
        .scheduler
        .as_ref()
        .and_then(Unit::ok)
        .is_some_and(|s| s.fleet.is_some());
    if fleet_given && !has_redis {
        let message = "a fleet shares its leases and results through Redis: add a `redis` layer to cache.layers";
        cx.push(src.diag("scheduler.fleet", message));
    }
    Config {
        execution_environments: match &raw.execution_environments {
            Some(given) => given.clone(),
            None => std::iter::once(execution_environment.clone())
                .chain(
                    environments
                        .keys()
                        .filter(|e| **e != execution_environment)
                        .cloned(),
                )
                .collect(),
        },
        execution_environment,
        environments_defined: !environments.is_empty(),
        environments,
        datasources,
        scheduler,
        server: server(cx, src, raw.server.as_ref().and_then(Unit::ok), dir),
        output: output(cx, src, raw.output.as_ref().and_then(Unit::ok), dir),
        cache,
        check_dirs: check_dirs(raw, dir),
    }
}

fn datasource(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    name: &str,
    raw: &raw::Datasource,
    dir: &Path,
) -> Option<Ds> {
    if !is_plain_name(name) {
        let message =
            format!("invalid datasource name {name:?}: use letters, digits, `_`, `-` and `.`");
        cx.push(src.diag_key(path, message));
    }
    let (timeout, max_concurrency, reachable_from) = raw.common();
    let timeout = match timeout {
        Some(text) => positive_duration(cx, src, &join_key(path, "timeout"), text),
        None => Some(DEFAULT_TIMEOUT),
    };
    let max_concurrency = at_least_one(
        cx,
        src,
        &join_key(path, "max_concurrency"),
        max_concurrency,
        8,
    );
    let kind = match raw {
        raw::Datasource::Http(http) => DsKind::Http(Box::new(http_datasource(
            cx,
            src,
            path,
            name,
            http,
            max_concurrency,
            dir,
        )?)),
        raw::Datasource::Tcp(tcp) => {
            DsKind::Tcp(target(cx, src, path, "tcp", &tcp.host, tcp.port, None))
        }
        raw::Datasource::Tls(tls) => {
            let ca_file = ca_file(cx, src, path, tls.ca_file.as_deref(), dir);
            let target = target(
                cx,
                src,
                path,
                "tls",
                &tls.host,
                tls.port.or(Some(443)),
                tls.server_name.as_ref(),
            );
            DsKind::Tls(TlsDs {
                target,
                verify_chain: tls.tls_verify.unwrap_or(true),
                ca_file,
            })
        }
        raw::Datasource::Command(_) => DsKind::Command,
    };
    Some(Ds {
        kind,
        timeout,
        max_concurrency,
        run_from: run_from(reachable_from),
    })
}

fn http_datasource(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    name: &str,
    raw: &raw::HttpDatasource,
    max_concurrency: usize,
    dir: &Path,
) -> Option<HttpDs> {
    let ca_file = ca_file(cx, src, path, raw.ca_file.as_deref(), dir);
    let base_url = raw
        .base_url
        .as_ref()
        .map(|text| Tpl::new(cx, src, join_key(path, "base_url"), text));
    let headers = headers(cx, src, &join_key(path, "headers"), &raw.headers);
    let max_body_bytes = raw.max_body_bytes.unwrap_or(1024 * 1024);
    if max_body_bytes == 0 {
        cx.push(src.diag(
            &join_key(path, "max_body_bytes"),
            "expected at least 1 byte, found 0",
        ));
    }
    let (auth, oauth2) = match &raw.auth {
        None => (None, None),
        Some(auth) => match credentials(cx, src, &join_key(path, "auth"), auth, dir)? {
            Credentials::Header(auth) => (Some(auth), None),
            Credentials::OAuth2(client) => (None, Some(*client)),
        },
    };
    let client = HttpDatasource {
        name: name.to_string(),
        tls_verify: raw.tls_verify.unwrap_or(true),
        ca_file,
        max_redirects: raw.max_redirects.unwrap_or(5),
        max_body_bytes,
        max_concurrency,
        response_cache_for: raw
            .response_cache_for
            .as_deref()
            .and_then(|text| {
                crate::values::duration(cx, src, &join_key(path, "response_cache_for"), text)
            })
            .unwrap_or(Duration::ZERO),
        auth,
    };
    Some(HttpDs {
        client,
        base_url,
        headers,
        oauth2,
    })
}

/// `ca_file`, relative to the config's directory; it must exist.
fn ca_file(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    given: Option<&str>,
    dir: &Path,
) -> Option<PathBuf> {
    let file = relative_to(dir, given?);
    if !file.is_file() {
        let message = format!(
            "the CA file {} does not exist or is not a file",
            file.display()
        );
        cx.push(src.diag(&join_key(path, "ca_file"), message));
    }
    Some(file)
}

/// How an `http` datasource authenticates.
enum Credentials {
    /// The same `Authorization` on every request, secrets resolved.
    Header(HttpAuth),
    OAuth2(Box<OAuth2Tpl>),
}

/// The credentials of an `http` datasource.
fn credentials(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    raw: &raw::Auth,
    dir: &Path,
) -> Option<Credentials> {
    let kind = raw.kind();
    let missing = |cx: &mut Cx<'_>, key: &str, given: bool| {
        if !given {
            cx.push(src.diag(path, format!("{kind} auth needs `{key}`")));
        }
        given
    };
    let secret = |cx: &mut Cx<'_>, key: &str, secret: &Option<raw::SecretRef>| {
        crate::secret::resolve(cx, src, &join_key(path, key), secret.as_ref()?, dir)
    };
    match raw {
        raw::Auth::Oauth2(oauth2) => {
            let given = [
                missing(cx, "token_url", oauth2.token_url.is_some()),
                missing(cx, "client_id", oauth2.client_id.is_some()),
                missing(cx, "client_secret", oauth2.client_secret.is_some()),
            ];
            let client = OAuth2Tpl::new(cx, src, path, oauth2, dir)?;
            given
                .iter()
                .all(|g| *g)
                .then(|| Credentials::OAuth2(Box::new(client)))
        }
        raw::Auth::Basic(basic) => {
            let has_username = missing(cx, "username", basic.username.is_some());
            let has_password = missing(cx, "password", basic.password.is_some());
            let password = secret(cx, "password", &basic.password);
            if !(has_username && has_password) {
                return None;
            }
            let username = basic.username.clone()?;
            if username.contains(':') || username.chars().any(char::is_control) {
                let at = join_key(path, "username");
                cx.push(src.diag(
                    &at,
                    "a basic auth user name cannot contain `:` or control characters",
                ));
                return None;
            }
            Some(Credentials::Header(HttpAuth::Basic {
                username,
                password: password?,
            }))
        }
        raw::Auth::Bearer(bearer) => {
            if !missing(cx, "token", bearer.token.is_some()) {
                return None;
            }
            Some(Credentials::Header(HttpAuth::Bearer {
                token: secret(cx, "token", &bearer.token)?,
            }))
        }
    }
}

/// `host`, `port` and `server_name` of a `tcp` or `tls` datasource.
fn target(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    kind: &str,
    host: &Option<String>,
    port: Option<u16>,
    server_name: Option<&String>,
) -> Option<Target> {
    let Some(host) = host else {
        let message = format!("a {kind} datasource needs `host`: where to connect");
        cx.push(src.diag(path, message));
        return None;
    };
    let host = Tpl::new(cx, src, join_key(path, "host"), host);
    let port = match port {
        Some(0) => {
            cx.push(src.diag(
                &join_key(path, "port"),
                "expected a port from 1 to 65535, found 0",
            ));
            return None;
        }
        Some(port) => port,
        None => {
            cx.push(src.diag(path, format!("a {kind} datasource needs `port`")));
            return None;
        }
    };
    let server_name =
        server_name.map(|text| Tpl::new(cx, src, join_key(path, "server_name"), text));
    Some(Target {
        host,
        port,
        server_name,
    })
}

/// Header templates with valid, case-insensitively unique names.
pub(crate) fn headers(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    raw: &BTreeMap<String, String>,
) -> Vec<(String, Tpl)> {
    let mut out: Vec<(String, Tpl)> = Vec::new();
    for (name, text) in raw {
        let header_path = join_key(path, name);
        if !is_header_name(name) {
            cx.push(src.diag_key(&header_path, format!("invalid header name {name:?}")));
        } else if out
            .iter()
            .any(|(other, _)| other.eq_ignore_ascii_case(name))
        {
            let message = format!("header {name:?} is given twice (header names ignore case)");
            cx.push(src.diag_key(&header_path, message));
        }
        out.push((name.clone(), Tpl::new(cx, src, header_path, text)));
    }
    out
}

fn at_least_one(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    value: Option<usize>,
    default: usize,
) -> usize {
    match value {
        Some(0) => {
            cx.push(src.diag(path, "expected at least 1, found 0"));
            default
        }
        Some(n) => n,
        None => default,
    }
}

fn scheduler(cx: &mut Cx<'_>, src: &SourceFile, raw: Option<&raw::Scheduler>) -> SchedulerSettings {
    let max_concurrency = at_least_one(
        cx,
        src,
        "scheduler.max_concurrency",
        raw.and_then(|s| s.max_concurrency),
        64,
    );
    let mut splay = finite(cx, src, "scheduler.splay", raw.and_then(|s| s.splay)).unwrap_or(0.1);
    if !(0.0..=1.0).contains(&splay) {
        cx.push(src.diag(
            "scheduler.splay",
            format!("expected a fraction 0.0–1.0, found {splay}"),
        ));
        splay = 0.1;
    }
    let fleet = raw.and_then(|s| s.fleet.as_ref()).and_then(|fleet| {
        let duration =
            |cx: &mut Cx<'_>, key: &str, given: &Option<String>, default: u64| match given {
                Some(text) => positive_duration(cx, src, &format!("scheduler.fleet.{key}"), text),
                None => Some(Duration::from_secs(default)),
            };
        let fallback_after = duration(cx, "fallback_after", &fleet.fallback_after, 1);
        let heartbeat = duration(cx, "heartbeat", &fleet.heartbeat, 5);
        if let Some(name) = fleet.instance.as_deref().filter(|n| !is_plain_name(n)) {
            let message =
                format!("invalid instance name {name:?}: use letters, digits, `_`, `-` and `.`");
            cx.push(src.diag("scheduler.fleet.instance", message));
        }
        Some(FleetSettings {
            instance: fleet.instance.clone(),
            fallback_after: fallback_after?,
            heartbeat: heartbeat?,
        })
    });
    SchedulerSettings {
        max_concurrency,
        splay,
        fleet,
    }
}

fn server(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    raw: Option<&raw::Server>,
    dir: &Path,
) -> ServerSettings {
    let listen = match raw.and_then(|s| s.listen.as_ref()) {
        Some(raw::Listen::Off) => None,
        Some(raw::Listen::Address(text)) => {
            match text.parse::<SocketAddr>() {
                Ok(addr) => Some(addr),
                Err(_) => {
                    let message = format!("expected IP:PORT like 127.0.0.1:6559 or [::1]:6559, or false, found {text:?}");
                    cx.push(src.diag("server.listen", message));
                    None
                }
            }
        }
        None => DEFAULT_LISTEN.parse().ok(),
    };
    let bearer_token = raw
        .and_then(|s| s.bearer_token.as_ref())
        .and_then(|secret| crate::secret::resolve(cx, src, "server.bearer_token", secret, dir));
    ServerSettings {
        listen,
        bearer_token,
    }
}

fn output(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    raw: Option<&raw::Output>,
    dir: &Path,
) -> OutputSettings {
    let self_service = raw
        .and_then(|o| o.self_service.clone())
        .unwrap_or_else(|| "checkd".to_string());
    if let Err(err) = checkd_checkmk::validate_service_name(&self_service) {
        cx.push(src.diag("output.self_service", err));
    }
    let spool = raw.and_then(|o| o.spool.as_ref()).map(|spool| {
        let every = spool
            .every
            .as_deref()
            .and_then(|text| positive_duration(cx, src, "output.spool.every", text));
        (relative_to(dir, &spool.dir), every)
    });
    OutputSettings {
        self_service,
        version: format!("checkd-{}", env!("CARGO_PKG_VERSION")),
        spool: spool.map(|(dir, every)| SpoolSettings {
            dir,
            every: every.unwrap_or(Duration::ZERO),
        }),
        watchpost: raw.and_then(|o| o.watchpost).unwrap_or(false),
    }
}

/// Check directories: shown tidied (`config/../checks` → `checks`), read as joined.
fn check_dirs(raw: &raw::ConfigFile, dir: &Path) -> Vec<(PathBuf, PathBuf, String)> {
    match &raw.checks {
        Some(dirs) => dirs
            .iter()
            .enumerate()
            .map(|(i, d)| {
                (
                    normalize(&dir.join(d)),
                    dir.join(d),
                    join_index("checks", i),
                )
            })
            .collect(),
        None => vec![(
            normalize(&dir.join("checks")),
            dir.join("checks"),
            String::new(),
        )],
    }
}

/// `config/../checks` → `checks`, for display only (reading uses the path as joined).
pub(crate) fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component<'_>> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.is_empty() {
        PathBuf::from(".")
    } else {
        out.iter().collect()
    }
}

/// An execution environment name: letters, digits, `_`, `-`, `.`, not empty.
fn execution_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid execution environment {name:?}: use letters, digits, `_`, `-` and `.`"
        ))
    }
}

/// `run_from` entries: `target`, or an execution environment's name.
pub(crate) fn run_from(raw: Option<&[String]>) -> Vec<RunFrom> {
    raw.unwrap_or_default()
        .iter()
        .map(|name| {
            if name == "target" {
                RunFrom::Target
            } else {
                RunFrom::Named(name.clone())
            }
        })
        .collect()
}
