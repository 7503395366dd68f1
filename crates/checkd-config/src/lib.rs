//! Loads checkd's configuration: the daemon config (`checkd.yaml`) and the check files it points
//! to, validated and resolved into a [`checkd_model::plan::Plan`].
//!
//! This is the only crate that knows YAML. Stage 1 deserializes the text into plain serde
//! structs (`raw`, whose doc comments are the reference in `docs/configuration.md`); stage 2
//! validates them and resolves templates per environment into the plan, collecting every
//! problem as a [`Diagnostic`] that points at `file:line:col` and names the key path. It
//! deliberately runs nothing: scheduling lives in `checkd-scheduler`, probing in
//! `checkd-datasource`, and the CLI that prints the diagnostics in the daemon binary.
//!
//! Test files (`*.test.yaml` beside the check files, for `checkd test`) are YAML too, so they
//! are read here as well ([`load_tests`]): the same tree and stage 1, resolved into a
//! [`TestFile`]. Running their cases is the binary's.

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
mod spelling;
mod stage1;
mod suggest;
mod template;
mod testfile;
mod tree;
mod values;

use std::fmt;
use std::path::{Path, PathBuf};

pub use diagnostics::{Diagnostic, Diagnostics};
pub use schema::{json_schema, SchemaFile};
pub use testfile::{
    ExpectedService, RecordedResponse, Spot, TestCase, TestFile, DEFAULT_ELAPSED, DEFAULT_NOW,
};

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
    load::load(config_path, options).map(|loaded| loaded.plan)
}

/// [`load`], and the test files found in the check directories.
pub fn load_with_tests(
    config_path: &Path,
    options: &LoadOptions<'_>,
) -> Result<Loaded, Diagnostics> {
    load::load(config_path, options)
}

/// A loaded plan and the test files beside its checks.
#[derive(Debug)]
pub struct Loaded {
    pub plan: checkd_model::plan::Plan,
    /// Every `*.test.yaml` (and `*.test.yml`) of the check directories, in the order the check
    /// files are read: directory by directory, by name.
    pub test_files: Vec<FoundTestFile>,
}

/// A test file found in a check directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundTestFile {
    /// As diagnostics and the output show it (tidied like the check files).
    pub shown: PathBuf,
    /// Where it is read from.
    pub path: PathBuf,
}

impl FoundTestFile {
    /// Reads and resolves the file; see [`load_tests`].
    pub fn load(&self) -> Result<TestFile, Diagnostics> {
        testfile::load(&self.shown, &self.path)
    }
}

/// Reads the test file at `path` (shown as given) and resolves it into its cases, or returns
/// every problem in it, sorted by line and column. A `body_file` is relative to the file.
pub fn load_tests(path: &Path) -> Result<TestFile, Diagnostics> {
    testfile::load(path, path)
}

/// The message an unknown name gets in a diagnostic: `unknown check "wrkers", did you mean
/// "workers"?`, else the names defined. For the checks of test cases against the plan, so
/// they read like the loader's own.
pub fn unknown_name(kind: &str, name: &str, defined: &[&str]) -> String {
    suggest::unknown(kind, name, defined)
}
