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

use crate::oauth::{self, OAuth2Tpl};
use crate::raw::{self, Unit};
use crate::source::{join_index, join_key, SourceFile};
use crate::template::{is_name, Scope, Value};
use crate::values::{finite, is_header_name, is_plain_name, positive_duration, Cx, Tpl};

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

/// A usable environment. `None` in [`Config::environments`] means it failed (already reported).
#[derive(Debug)]
pub(crate) struct Env {
    pub name: String,
    pub variables: BTreeMap<String, Value>,
    /// `None` when the host template failed (already reported).
    pub host: Option<String>,
}

impl Env {
    pub fn scope<'a>(
        &'a self,
        env: &'a dyn Fn(&str) -> Option<String>,
        runtime: bool,
    ) -> Scope<'a> {
        Scope {
            environment: &self.name,
            variables: Some(&self.variables),
            env,
            runtime,
        }
    }
}

/// A usable datasource: client settings plus the per-environment parts still as templates.
#[derive(Debug)]
pub(crate) struct Ds {
    pub kind: raw::DatasourceType,
    /// The client settings; only an `http` datasource uses them.
    pub http: HttpDatasource,
    /// Where `tcp` and `tls` datasources connect to.
    pub target: Option<Target>,
    pub timeout: Option<Duration>,
    pub base_url: Option<Tpl>,
    pub headers: Vec<(String, Tpl)>,
    /// `auth: {type: oauth2}`: resolved per environment by the checks that use it.
    pub oauth2: Option<OAuth2Tpl>,
    pub run_from: Vec<RunFrom>,
}

/// Where a `tcp` or `tls` datasource connects, with the per-environment parts as templates.
#[derive(Debug)]
pub(crate) struct Target {
    pub host: Tpl,
    pub port: u16,
    pub server_name: Option<Tpl>,
}

/// Keys of the datasource mapping that only some kinds take.
const KIND_KEYS: &[(&str, &[raw::DatasourceType])] = {
    use raw::DatasourceType::{Http, Tcp, Tls};
    &[
        ("base_url", &[Http]),
        ("auth", &[Http]),
        ("headers", &[Http]),
        ("max_redirects", &[Http]),
        ("max_body_bytes", &[Http]),
        ("response_cache_for", &[Http]),
        ("tls_verify", &[Http, Tls]),
        ("ca_file", &[Http, Tls]),
        ("host", &[Tcp, Tls]),
        ("port", &[Tcp, Tls]),
        ("server_name", &[Tls]),
    ]
};

/// Paths in the config are relative to its directory.
pub(crate) fn relative_to(dir: &Path, path: &str) -> PathBuf {
    dir.join(path)
}

pub(crate) fn resolve(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    raw: &raw::ConfigFile,
    override_env: Option<&str>,
    dir: &Path,
) -> Config {
    let environments = environments(cx, src, raw);
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

fn environments(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    raw: &raw::ConfigFile,
) -> BTreeMap<String, Option<Env>> {
    let Some(map) = &raw.environments else {
        let message = "missing required key `environments`: define at least one target environment";
        cx.push(src.diag("", message));
        return BTreeMap::new();
    };
    if map.is_empty() {
        cx.push(src.diag("environments", "define at least one environment"));
    }
    let mut out = BTreeMap::new();
    for (name, unit) in map {
        let path = join_key("environments", name);
        if !is_plain_name(name) {
            let message =
                format!("invalid environment name {name:?}: use letters, digits, `_`, `-` and `.`");
            cx.push(src.diag_key(&path, message));
        }
        let env = unit.ok().map(|env| environment(cx, src, &path, name, env));
        out.insert(name.clone(), env);
    }
    out
}

fn environment(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    name: &str,
    raw: &raw::Environment,
) -> Env {
    let lookup = cx.env;
    let mut variables = BTreeMap::new();
    for (var, text) in &raw.variables {
        let var_path = join_key(&join_key(path, "variables"), var);
        let valid = is_name(var) && var != "item" && var != "index";
        if var == "environment" {
            let message =
                "`environment` is built in (the environment's name) and cannot be redefined";
            cx.push(src.diag_key(&var_path, message));
        } else if !valid {
            let message = format!("invalid variable name {var:?}: use letters, digits and _, not starting with a digit");
            cx.push(src.diag_key(&var_path, message));
        }
        let scope = Scope {
            environment: name,
            variables: None,
            env: lookup,
            runtime: false,
        };
        let value = Tpl::new(cx, src, var_path, text)
            .resolve(cx, src, &scope)
            .map_or(Value::Broken, Value::Ok);
        variables.insert(var.clone(), value);
    }
    let mut env = Env {
        name: name.to_string(),
        variables,
        host: None,
    };
    let host_path = join_key(path, "host");
    let scope = env.scope(lookup, false);
    let host = Tpl::new(cx, src, host_path.clone(), &raw.host).resolve(cx, src, &scope);
    env.host = host.filter(|host| match checkd_checkmk::validate_host_name(host) {
        Ok(()) => true,
        Err(err) => {
            let message = if *host == raw.host {
                err
            } else {
                format!("{err} (resolved to {host:?})")
            };
            cx.push(src.diag(&host_path, message));
            false
        }
    });
    env
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
    for (key, kinds) in KIND_KEYS {
        let at = join_key(path, key);
        if !kinds.contains(&raw.kind) && src.has_value(&at) {
            let message = format!(
                "`{key}` does not apply to a datasource of type {}",
                raw.kind
            );
            cx.push(src.diag_key(&at, message));
        }
    }
    let target = target(cx, src, path, raw);
    let timeout = match &raw.timeout {
        Some(text) => positive_duration(cx, src, &join_key(path, "timeout"), text),
        None => Some(DEFAULT_TIMEOUT),
    };
    let ca_file = raw.ca_file.as_deref().map(|file| relative_to(dir, file));
    if let Some(file) = &ca_file {
        if !file.is_file() {
            let message = format!(
                "the CA file {} does not exist or is not a file",
                file.display()
            );
            cx.push(src.diag(&join_key(path, "ca_file"), message));
        }
    }
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
    let credentials = raw
        .auth
        .as_ref()
        .filter(|_| raw.kind == raw::DatasourceType::Http)
        .and_then(|auth| credentials(cx, src, &join_key(path, "auth"), auth, dir));
    let (auth, oauth2) = match credentials {
        Some(Credentials::Header(auth)) => (Some(auth), None),
        Some(Credentials::OAuth2(client)) => (None, Some(*client)),
        None => (None, None),
    };
    let http = HttpDatasource {
        name: name.to_string(),
        tls_verify: raw.tls_verify.unwrap_or(true),
        ca_file,
        max_redirects: raw.max_redirects.unwrap_or(5),
        max_body_bytes,
        max_concurrency: at_least_one(
            cx,
            src,
            &join_key(path, "max_concurrency"),
            raw.max_concurrency,
            8,
        ),
        response_cache_for: raw
            .response_cache_for
            .as_deref()
            .and_then(|text| {
                crate::values::duration(cx, src, &join_key(path, "response_cache_for"), text)
            })
            .unwrap_or(Duration::ZERO),
        auth,
    };
    Some(Ds {
        kind: raw.kind,
        http,
        target,
        timeout,
        base_url,
        headers,
        oauth2,
        run_from: run_from(raw.run_from.as_deref()),
    })
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
    let given = |key: &str| src.has_value(&join_key(path, key));
    let (kind, needs): (&str, &[&str]) = match raw.kind {
        raw::AuthType::Basic => ("basic", &["username", "password"]),
        raw::AuthType::Bearer => ("bearer", &["token"]),
        raw::AuthType::Oauth2 => ("oauth2", &["token_url", "client_id", "client_secret"]),
    };
    let takes = |key: &&str| match raw.kind {
        raw::AuthType::Oauth2 => oauth::KEYS.contains(key),
        _ => needs.contains(key),
    };
    let refused = ["username", "password", "token"]
        .iter()
        .chain(oauth::KEYS)
        .filter(|key| !takes(key));
    let mut ok = true;
    for key in refused.filter(|key| given(key)) {
        let message = format!("`{key}` does not apply to {kind} auth");
        cx.push(src.diag_key(&join_key(path, key), message));
        ok = false;
    }
    for key in needs.iter().filter(|key| !given(key)) {
        cx.push(src.diag(path, format!("{kind} auth needs `{key}`")));
        ok = false;
    }
    let secret = |cx: &mut Cx<'_>, key: &str, secret: &Option<raw::SecretRef>| {
        let secret = secret.as_ref()?;
        crate::secret::resolve(cx, src, &join_key(path, key), secret, dir)
    };
    let auth = match raw.kind {
        raw::AuthType::Oauth2 => {
            let client = OAuth2Tpl::new(cx, src, path, raw, dir)?;
            return ok.then_some(Credentials::OAuth2(Box::new(client)));
        }
        raw::AuthType::Basic => {
            let password = secret(cx, "password", &raw.password);
            let username = raw.username.clone()?;
            if username.contains(':') || username.chars().any(char::is_control) {
                let at = join_key(path, "username");
                cx.push(src.diag(
                    &at,
                    "a basic auth user name cannot contain `:` or control characters",
                ));
                return None;
            }
            HttpAuth::Basic {
                username,
                password: password?,
            }
        }
        raw::AuthType::Bearer => HttpAuth::Bearer {
            token: secret(cx, "token", &raw.token)?,
        },
    };
    ok.then_some(Credentials::Header(auth))
}

/// `host`, `port` and `server_name` of a `tcp` or `tls` datasource.
fn target(cx: &mut Cx<'_>, src: &SourceFile, path: &str, raw: &raw::Datasource) -> Option<Target> {
    let default_port = match raw.kind {
        raw::DatasourceType::Tcp => None,
        raw::DatasourceType::Tls => Some(443),
        raw::DatasourceType::Http | raw::DatasourceType::Command => return None,
    };
    let Some(host) = &raw.host else {
        let message = format!("a {} datasource needs `host`: where to connect", raw.kind);
        cx.push(src.diag(path, message));
        return None;
    };
    let host = Tpl::new(cx, src, join_key(path, "host"), host);
    let port = match raw.port.or(default_port) {
        Some(0) => {
            cx.push(src.diag(
                &join_key(path, "port"),
                "expected a port from 1 to 65535, found 0",
            ));
            return None;
        }
        Some(port) => port,
        None => {
            cx.push(src.diag(path, "a tcp datasource needs `port`"));
            return None;
        }
    };
    let server_name = raw
        .server_name
        .as_ref()
        .map(|text| Tpl::new(cx, src, join_key(path, "server_name"), text));
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
