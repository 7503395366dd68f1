//! `checkd test`: runs the cases of test files (`*.test.yaml`) through their checks offline
//! and prints what differs, like `promtool test rules`.
//!
//! Each case's recorded response goes through `checkd_datasource::evaluate`, the pure function
//! the daemon judges real responses with — no network, no scheduler, no store — and the
//! services it makes are compared with the ones the case expects ([`compare`]). Reading test
//! files is checkd-config's (it is the only crate that knows YAML); this module finds each
//! case's job in the plan, runs it, and owns the output and the exit codes.

mod compare;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use checkd_config::{Diagnostic, Diagnostics, FoundTestFile, TestCase, TestFile};
use checkd_datasource::HttpResponse;
use checkd_model::plan::{Job, Plan, Probe};
use checkd_model::JobKey;

use super::EXIT_INTERNAL;

/// Every case passed.
const EXIT_PASSED: u8 = 0;
/// At least one case failed.
const EXIT_FAILED: u8 = 1;

/// `checkd test`: 0 when every case passes, 1 when one fails, 4 when the config or a test file
/// is invalid (every problem on stderr) or there is nothing to test.
pub fn run(config: &Path, files: &[PathBuf]) -> ExitCode {
    let loaded = match super::load_with_tests(config) {
        Ok(loaded) => loaded,
        Err(diagnostics) => {
            super::report(&diagnostics);
            return ExitCode::from(EXIT_INTERNAL);
        }
    };
    let test_files: Vec<Result<TestFile, Diagnostics>> = if files.is_empty() {
        loaded.test_files.iter().map(FoundTestFile::load).collect()
    } else {
        files.iter().map(|f| checkd_config::load_tests(f)).collect()
    };
    if test_files.is_empty() {
        eprintln!(
            "checkd test: no test files (*.test.yaml) in the check directories of {}",
            config.display()
        );
        return ExitCode::from(EXIT_INTERNAL);
    }
    let cases = match cases(&loaded.plan, test_files) {
        Ok(cases) => cases,
        Err(diagnostics) => {
            super::report(&diagnostics);
            return ExitCode::from(EXIT_INTERNAL);
        }
    };
    let mut out = String::new();
    let mut failed = 0;
    for (case, job) in &cases {
        // Expressions see the case's time as `now`, so a test of an age stays true.
        let now = chrono::DateTime::from_timestamp_millis(case.now_ms).unwrap_or_default();
        let produced = checkd_datasource::evaluate(job, &job.evaluation, &response(case), now);
        let verdict = compare::compare(case, &job.service, &produced);
        failed += usize::from(!verdict.passed());
        out.push_str(&verdict.render(case));
    }
    out.push_str(&tally(cases.len(), failed));
    if std::io::stdout().lock().write_all(out.as_bytes()).is_err() {
        return ExitCode::from(EXIT_INTERNAL);
    }
    ExitCode::from(if failed == 0 {
        EXIT_PASSED
    } else {
        EXIT_FAILED
    })
}

/// `3 tests, 1 failed` / `3 tests, all passed`.
fn tally(tests: usize, failed: usize) -> String {
    let noun = if tests == 1 { "test" } else { "tests" };
    match failed {
        0 => format!("{tests} {noun}, all passed\n"),
        n => format!("{tests} {noun}, {n} failed\n"),
    }
}

/// Every case with its job, or every problem: of the test files, and of cases naming a check
/// or environment the plan lacks.
fn cases(
    plan: &Plan,
    files: Vec<Result<TestFile, Diagnostics>>,
) -> Result<Vec<(TestCase, &Job)>, Diagnostics> {
    let mut problems: Vec<Diagnostic> = Vec::new();
    let mut cases = Vec::new();
    for file in files {
        match file {
            Err(diagnostics) => problems.extend(diagnostics.0),
            Ok(file) => {
                for case in file.cases {
                    match job_of(plan, &case) {
                        Ok(job) => cases.push((case, job)),
                        Err(problem) => problems.push(problem),
                    }
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(cases)
    } else {
        Err(problems.into_iter().collect())
    }
}

/// The job a case runs: its check in its environment (by default the check's first), which
/// must be an `http` check.
fn job_of<'p>(plan: &'p Plan, case: &TestCase) -> Result<&'p Job, Diagnostic> {
    let jobs: Vec<&Job> = plan
        .jobs
        .iter()
        .filter(|job| job.key.check == case.check)
        .collect();
    let Some(first) = jobs.first() else {
        let mut ids: Vec<&str> = plan.jobs.iter().map(|j| j.key.check.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let message = checkd_config::unknown_name("check", &case.check, &ids);
        return Err(case.check_at.diagnostic(message));
    };
    let job = match &case.environment {
        None => first,
        Some(environment) => {
            let key = JobKey::new(&case.check, environment);
            match jobs.iter().find(|job| job.key == key) {
                Some(job) => job,
                None => {
                    let listed: Vec<&str> =
                        jobs.iter().map(|j| j.key.environment.as_str()).collect();
                    let message = format!(
                        "check {:?} does not run in environment {environment:?}, its environments: {}",
                        case.check,
                        listed.join(", ")
                    );
                    return Err(case.environment_at.diagnostic(message));
                }
            }
        }
    };
    let kind = match &job.probe {
        Probe::Http(_) => return Ok(job),
        Probe::Tcp(_) => "tcp",
        Probe::Tls(_) => "tls",
        Probe::Command(_) => "command",
    };
    let message = format!(
        "check {:?} is a {kind} check: only checks on http datasources can be tested",
        case.check
    );
    Err(case.check_at.diagnostic(message))
}

/// The case's recorded response, as the evaluation takes it.
fn response(case: &TestCase) -> HttpResponse {
    HttpResponse {
        status: case.response.status,
        headers: case.response.headers.clone(),
        body: case.response.body.clone(),
        elapsed: case.response.elapsed,
    }
}
