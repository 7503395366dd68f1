//! The `tcp`, `tls` and `command` blocks of a check: validated once ([`template`]), then
//! filled in per target environment ([`resolve`]) into the job's [`Probe`]. The `http`
//! request lives in `check.rs` with the rest of the HTTP evaluation.

use std::path::PathBuf;

use checkd_model::plan::Probe;
use checkd_model::probe::{CommandSpec, TcpSpec, TlsSpec};
use checkd_model::Levels;

use crate::config::{Ds, DsKind, Target};
use crate::environment::Env;
use crate::keypath::{join_index, join_key};
use crate::raw;
use crate::source::SourceFile;
use crate::template::Scope;
use crate::values::{levels, Cx, Tpl};

/// Days-left levels of a `tls` check that gives none.
const DEFAULT_DAYS_LEFT: Levels = Levels {
    warn: Some(14.0),
    crit: Some(7.0),
};
/// Output of a command kept when the check gives no `max_output_bytes`.
const DEFAULT_MAX_OUTPUT_BYTES: usize = 64 * 1024;

/// The environment-independent probe of a check on a `tcp`, `tls` or `command` datasource.
pub(crate) enum ProbeTpl {
    Tcp(TcpTpl),
    Tls(TlsTpl),
    Command(CommandTpl),
}

/// What filling in a probe needs besides the environment: where its templates were written,
/// its datasource and its timeout.
pub(crate) struct Site<'a> {
    pub src: &'a SourceFile<'a>,
    pub config_src: &'a SourceFile<'a>,
    pub ds: &'a Ds,
    pub timeout: std::time::Duration,
}

pub(crate) struct TcpTpl {
    send: Option<Tpl>,
    expect: Option<Tpl>,
    connect_time: Levels,
}

pub(crate) struct TlsTpl {
    days_left: Levels,
}

pub(crate) struct CommandTpl {
    program: Tpl,
    args: Vec<Tpl>,
    env: Vec<(String, Tpl)>,
    shell: bool,
    max_output_bytes: usize,
}

/// Reports the check's keys that belong to datasources of another kind than `kind`.
pub(crate) fn refuse_blocks(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    raw: &raw::Check,
    kind: &str,
) {
    let http = [
        ("request", raw.request.is_some()),
        // Asked only when it matters: the look-up records the file's positions.
        (
            "expect",
            kind != "http" && src.has_value(&join_key(path, "expect")),
        ),
        ("metrics", !raw.metrics.is_empty()),
        ("let", !raw.lets.0.is_empty()),
        ("summary", raw.summary.is_some()),
        ("details", raw.details.is_some()),
        ("foreach", raw.foreach.is_some()),
    ];
    let keys = http
        .iter()
        .map(|&(key, given)| (key, given, "http"))
        .chain([
            ("tcp", raw.tcp.is_some(), "tcp"),
            ("tls", raw.tls.is_some(), "tls"),
            ("command", raw.command.is_some(), "command"),
        ]);
    for (key, given, owner) in keys {
        if given && owner != kind {
            let message = format!(
                "`{key}` does not apply to a check on datasource {:?} (type {kind}); it is for type {owner}",
                raw.datasource
            );
            cx.push(src.diag_key(&join_key(path, key), message));
        }
    }
}

/// The environment-independent probe of a check on a `tcp`, `tls` or `command` datasource.
pub(crate) fn template(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    raw: &raw::Check,
    kind: &DsKind,
    scope: Option<&Scope<'_>>,
) -> Option<ProbeTpl> {
    refuse_blocks(cx, src, path, raw, kind.name());
    match kind {
        DsKind::Tcp(_) => {
            let block_path = join_key(path, "tcp");
            let tcp = match &raw.tcp {
                Some(unit) => unit.ok()?,
                None => &raw::TcpCheck::default(),
            };
            let tpl = |cx: &mut Cx<'_>, key: &str, text: &Option<String>| {
                text.as_ref()
                    .map(|text| Tpl::new(cx, src, join_key(&block_path, key), text))
            };
            let connect_time = tcp.connect_time.as_ref().map_or(Levels::NONE, |raw| {
                let at = join_key(&block_path, "connect_time");
                crate::evaluation::duration_levels(cx, src, &at, raw)
            });
            Some(ProbeTpl::Tcp(TcpTpl {
                send: tpl(cx, "send", &tcp.send),
                expect: tpl(cx, "expect", &tcp.expect),
                connect_time,
            }))
        }
        DsKind::Tls(_) => {
            let block_path = join_key(path, "tls");
            let tls = match &raw.tls {
                Some(unit) => unit.ok()?,
                None => &raw::TlsCheck::default(),
            };
            let days_left = tls.days_left.as_ref().map_or(DEFAULT_DAYS_LEFT, |raw| {
                let at = join_key(&block_path, "days_left");
                levels(cx, src, &at, raw, true, scope)
            });
            Some(ProbeTpl::Tls(TlsTpl { days_left }))
        }
        DsKind::Command => {
            let Some(unit) = &raw.command else {
                let message = "a check on a command datasource needs `command`: what to run";
                cx.push(src.diag(path, message));
                return None;
            };
            let command = unit.ok()?;
            let block_path = join_key(path, "command");
            if !command.shell && command.program.contains('/') && !command.program.starts_with('/')
            {
                let message = format!(
                    "program {:?} is a relative path: give an absolute path, or a name found in PATH",
                    command.program
                );
                cx.push(src.diag(&join_key(&block_path, "program"), message));
            }
            let args_path = join_key(&block_path, "args");
            let env_path = join_key(&block_path, "env");
            let args = command
                .args
                .iter()
                .enumerate()
                .map(|(i, text)| Tpl::new(cx, src, join_index(&args_path, i), text))
                .collect();
            let mut env = Vec::new();
            for (name, text) in &command.env {
                let at = join_key(&env_path, name);
                let name_ok = !name.is_empty()
                    && !name.starts_with(|c: char| c.is_ascii_digit())
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !name_ok {
                    cx.push(
                        src.diag_key(&at, format!("invalid environment variable name {name:?}")),
                    );
                }
                env.push((name.clone(), Tpl::new(cx, src, at, text)));
            }
            let max_output_bytes = command.max_output_bytes.unwrap_or(DEFAULT_MAX_OUTPUT_BYTES);
            if max_output_bytes == 0 {
                let at = join_key(&block_path, "max_output_bytes");
                cx.push(src.diag(&at, "expected at least 1 byte, found 0"));
            }
            Some(ProbeTpl::Command(CommandTpl {
                program: Tpl::new(cx, src, join_key(&block_path, "program"), &command.program),
                args,
                env,
                shell: command.shell,
                max_output_bytes,
            }))
        }
        DsKind::Http(_) => None,
    }
}

/// The probe of one job: the templates filled in for `env`.
pub(crate) fn resolve(cx: &mut Cx<'_>, p: &Site<'_>, probe: &ProbeTpl, env: &Env) -> Option<Probe> {
    let lookup = cx.env;
    let scope = env.scope(lookup);
    let fill = |cx: &mut Cx<'_>, tpl: &Tpl| tpl.resolve(cx, p.src, &scope);
    match probe {
        ProbeTpl::Tcp(tcp) => {
            let target = target(cx, p, env);
            let send = tcp.send.as_ref().map(|tpl| fill(cx, tpl));
            let expect = tcp.expect.as_ref().map(|tpl| fill(cx, tpl));
            let (host, port) = target?;
            Some(Probe::Tcp(TcpSpec {
                host,
                port,
                send: send.map_or(Some(None), |v| v.map(Some))?,
                expect: expect.map_or(Some(None), |v| v.map(Some))?,
                connect_time: tcp.connect_time,
                timeout: p.timeout,
            }))
        }
        ProbeTpl::Tls(tls) => {
            let DsKind::Tls(ds) = &p.ds.kind else {
                return None;
            };
            let target = target(cx, p, env);
            let server_name = match ds.target.as_ref().and_then(|t| t.server_name.as_ref()) {
                Some(tpl) => Some(tpl.resolve(cx, p.config_src, &scope)?),
                None => None,
            };
            let (host, port) = target?;
            Some(Probe::Tls(TlsSpec {
                host,
                port,
                server_name,
                days_left: tls.days_left,
                verify_chain: ds.verify_chain,
                ca_file: ds.ca_file.clone(),
                timeout: p.timeout,
            }))
        }
        ProbeTpl::Command(command) => {
            let program = fill(cx, &command.program);
            let args: Vec<Option<String>> = command.args.iter().map(|tpl| fill(cx, tpl)).collect();
            let env: Vec<Option<(String, String)>> = command
                .env
                .iter()
                .map(|(name, tpl)| fill(cx, tpl).map(|value| (name.clone(), value)))
                .collect();
            Some(Probe::Command(CommandSpec {
                program: PathBuf::from(program?),
                args: args.into_iter().collect::<Option<_>>()?,
                env: env.into_iter().collect::<Option<_>>()?,
                shell: command.shell,
                timeout: p.timeout,
                max_output_bytes: command.max_output_bytes,
            }))
        }
    }
}

/// `host` and `port` of the job's datasource in `env`.
fn target(cx: &mut Cx<'_>, p: &Site<'_>, env: &Env) -> Option<(String, u16)> {
    let Target {
        host: host_tpl,
        port,
        ..
    } = match &p.ds.kind {
        DsKind::Tcp(target) => target.as_ref()?,
        DsKind::Tls(tls) => tls.target.as_ref()?,
        DsKind::Http(_) | DsKind::Command => return None,
    };
    let lookup = cx.env;
    let host = host_tpl.resolve(cx, p.config_src, &env.scope(lookup))?;
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        let message = format!("invalid host {host:?} in environment {}", env.name);
        cx.push(p.config_src.diag(&host_tpl.path, message));
        return None;
    }
    Some((host, *port))
}
