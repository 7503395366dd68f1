//! Stage 2 of the `environments` section: each target environment's variables and Checkmk
//! host, resolved once, for the datasources and checks that template them in.
//!
//! It deliberately does not resolve what uses the variables: datasources (`config`) and
//! checks (`check`) do, through [`Env::scope`].

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::keypath::join_key;
use crate::raw;
use crate::source::SourceFile;
use crate::template::{is_name, Scope, Value};
use crate::values::{is_plain_name, Cx, Tpl};

/// A usable environment. `None` in [`Config::environments`] means it failed (already reported).
#[derive(Debug, Clone)]
pub(crate) struct Env {
    pub name: String,
    pub variables: BTreeMap<String, Value>,
    /// The variables expressions see (`env.vars`): those that do not read the process
    /// environment, which may hold a secret. Shared by the jobs of the environment.
    pub exposed: Arc<BTreeMap<String, String>>,
    /// `None` when the host template failed (already reported).
    pub host: Option<String>,
}

impl Env {
    pub fn scope<'a>(&'a self, env: &'a dyn Fn(&str) -> Option<String>) -> Scope<'a> {
        Scope {
            environment: &self.name,
            variables: Some(&self.variables),
            env,
        }
    }
}

pub(crate) fn environments(
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
    let (variables, exposed) =
        variables(cx, src, &join_key(path, "variables"), name, &raw.variables);
    let mut env = Env {
        name: name.to_string(),
        variables,
        exposed: Arc::new(exposed),
        host: None,
    };
    let host_path = join_key(path, "host");
    let scope = env.scope(lookup);
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

/// Variables (the environment's, or a check's for one environment) resolved for environment
/// `name`: each may use `${environment}` and `${env:NAME}`, not another variable. Also those
/// that expressions may see: the ones that read no process environment variable.
pub(crate) fn variables(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    name: &str,
    raw: &BTreeMap<String, String>,
) -> (BTreeMap<String, Value>, BTreeMap<String, String>) {
    let lookup = cx.env;
    let mut variables = BTreeMap::new();
    let mut exposed = BTreeMap::new();
    for (var, text) in raw {
        let var_path = join_key(path, var);
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
        };
        let tpl = Tpl::new(cx, src, var_path, text);
        let value = tpl
            .resolve(cx, src, &scope)
            .map_or(Value::Broken, Value::Ok);
        if let (Value::Ok(value), Some(parsed)) = (&value, &tpl.parsed) {
            if !parsed.reads_env() {
                exposed.insert(var.clone(), value.clone());
            }
        }
        variables.insert(var.clone(), value);
    }
    (variables, exposed)
}
