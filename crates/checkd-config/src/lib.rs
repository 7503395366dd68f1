//! Loads checkd's configuration: the daemon config (`checkd.yaml`) and the check files it points
//! to, validated and resolved into a [`checkd_model::plan::Plan`].
//!
//! This is the only crate that knows YAML. Stage 1 deserializes the text into plain serde
//! structs (`raw`, whose doc comments are the reference in `docs/configuration.md`); stage 2
//! validates them and resolves templates per environment into the plan, collecting every
//! problem as a [`Diagnostic`] that points at `file:line:col` and names the key path. It
//! deliberately runs nothing: scheduling lives in `checkd-scheduler`, probing in
//! `checkd-datasource`, and the CLI that prints the diagnostics in the daemon binary.

mod cache;
mod check;
mod config;
mod de;
mod diagnostics;
mod environment;
mod evaluation;
mod keypath;
mod load;
mod messages;
mod oauth;
mod probe;
mod raw;
mod schedule;
mod schema;
mod secret;
mod source;
mod stage1;
mod suggest;
mod template;
mod tree;
mod values;

use std::fmt;
use std::path::Path;

pub use diagnostics::{Diagnostic, Diagnostics};
pub use schema::{json_schema, SchemaFile};

/// How to load: what the process environment says.
pub struct LoadOptions<'a> {
    /// Overrides `execution_environment` (the daemon passes CHECKD_ENVIRONMENT).
    pub execution_environment: Option<String>,
    /// Looks up process environment variables for `${env:NAME}`; tests inject a map.
    pub env: &'a (dyn Fn(&str) -> Option<String> + Sync),
}

impl fmt::Debug for LoadOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadOptions")
            .field("execution_environment", &self.execution_environment)
            .finish_non_exhaustive()
    }
}

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

impl Default for LoadOptions<'_> {
    /// No override; `${env:NAME}` reads the process environment.
    fn default() -> Self {
        LoadOptions {
            execution_environment: None,
            env: &process_env,
        }
    }
}

/// Loads the daemon config at `config_path` and every check file it names, and resolves them
/// into the plan; or returns every problem found, sorted by file, line and column.
pub fn load(
    config_path: &Path,
    options: &LoadOptions<'_>,
) -> Result<checkd_model::plan::Plan, Diagnostics> {
    load::load(config_path, options)
}
