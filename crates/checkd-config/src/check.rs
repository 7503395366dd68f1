//! Stage 2 of one check: references, schedule and request are validated once, then every
//! target environment gets its own job with the templates filled in.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use checkd_model::placement::{Elsewhere, Placement, RunFrom};
use checkd_model::plan::{Evaluation, HttpRequest, Job, Probe, Retry, Schedule};
use checkd_model::JobKey;

use crate::config::{headers, Config, Ds, DsKind, HttpDs};
use crate::environment::Env;
use crate::keypath::{join_index, join_key};
use crate::probe::{ProbeTpl, Site};
use crate::raw;
use crate::source::SourceFile;
use crate::suggest::unknown;
use crate::template::Scope;
use crate::values::{positive_duration, Cx, Tpl};

/// A check with its jobs, for the cross-file checks (unique ids, unique services).
#[derive(Debug)]
pub(crate) struct Resolved {
    pub id: String,
    /// Key path of what identifies the check (`id`, or `name` without one).
    pub id_path: String,
    pub jobs: Vec<Job>,
}

/// The environment-independent parts of what a check's runs do.
pub(crate) enum RunTpl {
    Http(Request),
    Probe(ProbeTpl),
}

/// The environment-independent parts of a check's request.
pub(crate) struct Request {
    method: String,
    path: Option<Tpl>,
    url: Option<Tpl>,
    headers: Vec<(String, Tpl)>,
    body: Option<Tpl>,
}

pub(crate) fn resolve(
    cx: &mut Cx<'_>,
    config: &Config,
    config_src: &SourceFile,
    src: &SourceFile,
    path: &str,
    raw: &raw::Check,
) -> Resolved {
    let key = |k: &str| join_key(path, k);
    let (id, id_path) = match &raw.id {
        Some(id) => (id.clone(), key("id")),
        None => (raw.name.clone(), key("name")),
    };
    if id.trim().is_empty() {
        cx.push(src.diag(&id_path, "the check id is empty"));
    }
    let name = Tpl::new(cx, src, key("name"), &raw.name);
    let targets = targets(cx, config, src, path, raw);
    let datasource = match config.datasources.get(&raw.datasource) {
        Some(ds) => ds.as_ref(),
        None => {
            let names: Vec<&str> = config.datasources.keys().map(String::as_str).collect();
            cx.push(src.diag(
                &key("datasource"),
                unknown("datasource", &raw.datasource, &names),
            ));
            None
        }
    };
    let schedule = crate::schedule::schedule(cx, src, path, raw);
    let timeout = match &raw.timeout {
        Some(text) => positive_duration(cx, src, &key("timeout"), text),
        None => datasource.and_then(|ds| ds.timeout),
    };
    let stale_after = crate::schedule::stale_after(cx, src, path, raw, schedule.as_ref());
    let retry = retry(cx, src, path, raw, schedule.as_ref());
    let labels = labels(cx, src, &key("labels"), &raw.labels);
    check_variables(cx, src, path, raw);
    // A check that uses `${…}` where its runs are judged gets that part per environment;
    // every other check shares one.
    let per_environment = JUDGED
        .iter()
        .any(|k| src.any_scalar(&key(k), &|text| text.contains("${")));
    let shared = (!per_environment).then(|| judging(cx, src, path, raw, datasource, None));

    let mut jobs = Vec::new();
    let (Some(ds), Some(schedule), Some(timeout), Some(stale_after), Some(retry)) =
        (datasource, schedule, timeout, stale_after, retry)
    else {
        return Resolved { id, id_path, jobs };
    };
    let parts = Parts {
        path,
        src,
        config_src,
        id: &id,
        name: &name,
        ds_name: &raw.datasource,
        ds,
        labels: &labels,
        schedule: &schedule,
        timeout,
        stale_after,
        retry,
        run_from: crate::config::run_from(raw.run_from.as_deref()),
        elsewhere: match raw.elsewhere {
            Some(raw::Elsewhere::Skip) => Elsewhere::Skip,
            Some(raw::Elsewhere::Omit) | None => Elsewhere::Omit,
        },
        run_from_path: if raw.run_from.is_some() {
            key("run_from")
        } else {
            key("datasource")
        },
        execution_environments: &config.execution_environments,
    };
    for env in targets {
        let env = with_variables(cx, src, path, raw, env);
        let own;
        let judging = match &shared {
            Some(judging) => judging,
            None => {
                let scope = env.scope(cx.env);
                own = judging(cx, src, path, raw, datasource, Some(&scope));
                &own
            }
        };
        if let Some(job) = job(cx, &parts, judging, &env) {
            jobs.push(job);
        }
    }
    Resolved { id, id_path, jobs }
}

/// The keys of a check whose values judge its runs: where `${…}` makes them per environment.
const JUDGED: &[&str] = &["expect", "metrics", "foreach", "tls", "summary", "details"];

/// What a check's runs do and how they are judged, for all environments or for one.
struct Judging {
    /// `None` when it failed (already reported).
    probe: Option<RunTpl>,
    evaluation: Arc<Evaluation>,
}

fn judging(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    raw: &raw::Check,
    datasource: Option<&Ds>,
    scope: Option<&Scope<'_>>,
) -> Judging {
    let probe = match datasource.map(|ds| &ds.kind) {
        Some(DsKind::Http(http)) => {
            crate::probe::refuse_blocks(cx, src, path, raw, "http");
            request(cx, src, path, raw, http).map(RunTpl::Http)
        }
        Some(kind) => crate::probe::template(cx, src, path, raw, kind, scope).map(RunTpl::Probe),
        None => None,
    };
    let evaluation = crate::evaluation::evaluation(cx, src, path, raw, scope);
    Judging {
        probe,
        evaluation: Arc::new(evaluation),
    }
}

/// `variables` of a check: keyed by environments it targets.
fn check_variables(cx: &mut Cx<'_>, src: &SourceFile, path: &str, raw: &raw::Check) {
    let at = join_key(path, "variables");
    for name in raw.variables.keys() {
        if !raw.environments.contains(name) {
            let message = unknown(
                "environment",
                name,
                &raw.environments
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
            );
            cx.push(src.diag_key(
                &join_key(&at, name),
                format!("{message} (the check's environments)"),
            ));
        }
    }
}

/// `env` with the check's own variables for it on top, when it has some.
fn with_variables<'e>(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    raw: &raw::Check,
    env: &'e Env,
) -> Cow<'e, Env> {
    let Some(own) = raw.variables.get(&env.name) else {
        return Cow::Borrowed(env);
    };
    let at = join_key(&join_key(path, "variables"), &env.name);
    let (own, exposed) = crate::environment::variables(cx, src, &at, &env.name, own);
    let mut env = env.clone();
    env.variables.extend(own);
    let mut all = BTreeMap::clone(&env.exposed);
    all.extend(exposed);
    env.exposed = Arc::new(all);
    Cow::Owned(env)
}

/// The target environments that can be resolved (unknown ones are reported, failed ones skipped).
fn targets<'c>(
    cx: &mut Cx<'_>,
    config: &'c Config,
    src: &SourceFile,
    path: &str,
    raw: &raw::Check,
) -> Vec<&'c Env> {
    let list_path = join_key(path, "environments");
    if raw.environments.is_empty() {
        cx.push(src.diag(&list_path, "list at least one environment"));
    }
    let names: Vec<&str> = config.environments.keys().map(String::as_str).collect();
    let mut out: Vec<&Env> = Vec::new();
    for (i, name) in raw.environments.iter().enumerate() {
        let entry = join_index(&list_path, i);
        if raw.environments[..i].contains(name) {
            cx.push(src.diag(&entry, format!("environment {name:?} is listed twice")));
            continue;
        }
        match config.environments.get(name) {
            Some(Some(env)) => out.push(env),
            Some(None) => {}
            None if config.environments_defined => {
                cx.push(src.diag(&entry, unknown("environment", name, &names)));
            }
            None => {}
        }
    }
    out
}

fn request(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    raw: &raw::Check,
    ds: &HttpDs,
) -> Option<Request> {
    let request = match &raw.request {
        Some(unit) => unit.ok()?,
        None => {
            cx.push(src.diag(path, "missing required key `request`: what to send"));
            return None;
        }
    };
    let path = join_key(path, "request");
    let key = |k: &str| join_key(&path, k);
    let method = request
        .method
        .as_deref()
        .unwrap_or("GET")
        .to_ascii_uppercase();
    let method_ok = !method.is_empty() && method.chars().all(|c| c.is_ascii_alphabetic());
    if !method_ok {
        cx.push(src.diag(&key("method"), format!("invalid HTTP method {method:?}")));
    }
    let target = [
        ("path", request.path.is_some()),
        ("url", request.url.is_some()),
    ];
    let target_ok = crate::values::exactly_one(cx, src, &path, &target, "a request");
    let path_tpl = request
        .path
        .as_ref()
        .map(|text| Tpl::new(cx, src, key("path"), text));
    let url_tpl = request
        .url
        .as_ref()
        .map(|text| Tpl::new(cx, src, key("url"), text));
    if path_tpl.is_some() && ds.base_url.is_none() {
        let message = format!(
            "datasource {:?} has no `base_url` to append the path to; give `url` instead",
            raw.datasource
        );
        cx.push(src.diag(&key("path"), message));
        return None;
    }
    let headers = headers(cx, src, &key("headers"), &request.headers);
    let body = request
        .body
        .as_ref()
        .map(|text| Tpl::new(cx, src, key("body"), text));
    (method_ok && target_ok).then_some(Request {
        method,
        path: path_tpl,
        url: url_tpl,
        headers,
        body,
    })
}

fn labels(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    raw: &BTreeMap<String, String>,
) -> Vec<(String, Tpl)> {
    let mut out = Vec::new();
    for (name, text) in raw {
        let label_path = join_key(path, name);
        if name.is_empty() || name.contains(':') || name.chars().any(char::is_control) {
            cx.push(src.diag_key(&label_path, format!("invalid label name {name:?}")));
        }
        out.push((name.clone(), Tpl::new(cx, src, label_path, text)));
    }
    out
}

/// Everything about a check that a job needs, resolved or still templated.
pub(crate) struct Parts<'a> {
    /// Key path of the check in its file.
    pub path: &'a str,
    pub src: &'a SourceFile<'a>,
    pub config_src: &'a SourceFile<'a>,
    pub id: &'a str,
    pub name: &'a Tpl,
    pub ds_name: &'a str,
    pub ds: &'a Ds,
    pub labels: &'a [(String, Tpl)],
    pub schedule: &'a Schedule,
    pub timeout: Duration,
    pub stale_after: Duration,
    pub retry: Retry,
    pub run_from: Vec<RunFrom>,
    pub elsewhere: Elsewhere,
    /// Where `run_from` points in the file, for the "runs nowhere" error.
    pub run_from_path: String,
    pub execution_environments: &'a [String],
}

fn job(cx: &mut Cx<'_>, p: &Parts<'_>, judging: &Judging, env: &Env) -> Option<Job> {
    let lookup = cx.env;
    let scope = env.scope(lookup);
    let src = p.src;
    let service = p.name.resolve(cx, src, &scope);
    if let Some(service) = &service {
        // What every item's name holds: the suffix without its expressions.
        let foreach = judging.evaluation.foreach.as_ref();
        let suffix = foreach.map(|f| f.suffix.literal()).unwrap_or_default();
        let full = format!("{service}{suffix}");
        if let Err(err) = checkd_checkmk::validate_service_name(&full) {
            let message = if full == p.name.text {
                err
            } else {
                format!("{err} (resolved to {full:?})")
            };
            let in_suffix =
                foreach.is_some() && checkd_checkmk::validate_service_name(service).is_ok();
            let at = if in_suffix {
                join_key(&join_key(p.path, "foreach"), "suffix")
            } else {
                p.name.path.clone()
            };
            cx.push(src.diag(&at, message));
        }
    }
    let mut labels = BTreeMap::new();
    let mut labels_ok = true;
    for (name, tpl) in p.labels {
        match tpl.resolve(cx, src, &scope) {
            Some(value) => {
                labels.insert(name.clone(), value);
            }
            None => labels_ok = false,
        }
    }
    let probe = match judging.probe.as_ref()? {
        RunTpl::Http(request) => http_probe(cx, p, request, env),
        RunTpl::Probe(probe) => {
            let site = Site {
                src: p.src,
                config_src: p.config_src,
                ds: p.ds,
                timeout: p.timeout,
            };
            crate::probe::resolve(cx, &site, probe, env)
        }
    };
    let evaluation = Arc::clone(&judging.evaluation);
    let placement = Placement::resolve(&[&p.ds.run_from, &p.run_from], &env.name, p.elsewhere);
    if !placement.runs_anywhere_in(p.execution_environments.iter().map(String::as_str)) {
        let allowed = placement
            .allowed
            .iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>();
        let message = format!(
            "check {:?} can never run against environment {:?}: datasource {:?} runs from {}, the check from {}, which leaves {}, and no instance runs there (execution environments: {})",
            p.id,
            env.name,
            p.ds_name,
            describe(&p.ds.run_from),
            describe(&p.run_from),
            if allowed.is_empty() { "nothing".to_string() } else { allowed.join(", ") },
            p.execution_environments.join(", "),
        );
        cx.push(src.diag(&p.run_from_path, message));
        return None;
    }
    let (service, host, probe) = (service?, env.host.clone()?, probe?);
    if !labels_ok {
        return None;
    }
    Some(Job {
        key: JobKey::new(p.id, &env.name),
        service,
        host,
        labels,
        datasource: p.ds_name.to_string(),
        schedule: p.schedule.clone(),
        timeout: p.timeout,
        stale_after: p.stale_after,
        retry: p.retry,
        placement,
        probe,
        evaluation,
        variables: Arc::clone(&env.exposed),
    })
}

/// The HTTP request of one job: URL, the datasource's and the check's headers, body.
fn http_probe(cx: &mut Cx<'_>, p: &Parts<'_>, request: &Request, env: &Env) -> Option<Probe> {
    let DsKind::Http(http) = &p.ds.kind else {
        return None;
    };
    let scope = env.scope(cx.env);
    let (src, config_src) = (p.src, p.config_src);
    let url = url(cx, p, http, request, env)?;
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut headers_ok = true;
    for (source, list) in [(config_src, &http.headers), (src, &request.headers)] {
        for (name, tpl) in list {
            match tpl.resolve(cx, source, &scope) {
                Some(value) if value.chars().any(|c| c.is_control() && c != '\t') => {
                    cx.push(source.diag(
                        &tpl.path,
                        "a header value cannot contain line breaks or control characters",
                    ));
                    headers_ok = false;
                }
                Some(value) => {
                    headers.retain(|(existing, _)| !existing.eq_ignore_ascii_case(name));
                    headers.push((name.clone(), value));
                }
                None => headers_ok = false,
            }
        }
    }
    let body = match &request.body {
        Some(tpl) => Some(tpl.resolve(cx, src, &scope)?),
        None => None,
    };
    let oauth2 = match &http.oauth2 {
        Some(client) => Some(client.for_env(cx, config_src, env)?),
        None => None,
    };
    if !headers_ok {
        return None;
    }
    Some(Probe::Http(HttpRequest {
        method: request.method.clone(),
        url,
        headers,
        body,
        oauth2,
    }))
}

/// `base_url` (without its trailing `/`) + `path`, or the check's own `url`; http(s) only.
fn url(
    cx: &mut Cx<'_>,
    p: &Parts<'_>,
    http: &HttpDs,
    request: &Request,
    env: &Env,
) -> Option<String> {
    let scope = env.scope(cx.env);
    let (url, at, shown_src) = match (&request.url, &request.path, &http.base_url) {
        (Some(tpl), _, _) => (tpl.resolve(cx, p.src, &scope)?, &tpl.path, p.src),
        (None, Some(path), Some(base)) => {
            let base_value = base.resolve(cx, p.config_src, &scope);
            let path_value = path.resolve(cx, p.src, &scope)?;
            let base_value = base_value?;
            let base_value = base_value.trim_end_matches('/');
            let joined = if path_value.is_empty() || path_value.starts_with(['/', '?']) {
                format!("{base_value}{path_value}")
            } else {
                format!("{base_value}/{path_value}")
            };
            (joined, &base.path, p.config_src)
        }
        _ => return None,
    };
    if !crate::values::is_absolute_http_url(&url) {
        let message = format!(
            "expected an absolute http:// or https:// URL, found {url:?} in environment {}",
            env.name
        );
        cx.push(shown_src.diag(at, message));
        return None;
    }
    Some(url)
}

/// `retries` and `retry_interval`; the interval defaults to 1m, or `cache_for` if shorter.
fn retry(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    raw: &raw::Check,
    schedule: Option<&Schedule>,
) -> Option<Retry> {
    let retries = raw.retries.unwrap_or(0);
    let interval_path = join_key(path, "retry_interval");
    let interval = match &raw.retry_interval {
        Some(_) if retries == 0 => {
            cx.push(src.diag(&interval_path, "retry_interval needs retries"));
            return None;
        }
        Some(text) => positive_duration(cx, src, &interval_path, text)?,
        None => match schedule {
            Some(Schedule::Every(every)) => (*every).min(Duration::from_secs(60)),
            _ => Duration::from_secs(60),
        },
    };
    Some(Retry { retries, interval })
}

/// `[target, monitoring]`, or `anywhere` for no rule.
fn describe(rules: &[RunFrom]) -> String {
    if rules.is_empty() {
        return "anywhere".to_string();
    }
    let names: Vec<&str> = rules
        .iter()
        .map(|r| match r {
            RunFrom::Target => "target",
            RunFrom::Named(name) => name,
        })
        .collect();
    format!("[{}]", names.join(", "))
}
