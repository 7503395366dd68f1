//! `checkd validate`: load the config and every check, print each problem as
//! `file:line:col: key.path: message`, and with `--explain` where each job runs.
//!
//! It only reports: loading and checking are the config crate's, and nothing is run.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// `checkd validate`: 0 when valid, 1 with every problem on stderr otherwise.
pub fn run(config: &Path, explain: bool) -> ExitCode {
    match super::load(config) {
        Ok(plan) => {
            if explain
                && std::io::stdout()
                    .lock()
                    .write_all(explanation(&plan).as_bytes())
                    .is_err()
            {
                return ExitCode::from(1);
            }
            eprintln!(
                "{}: valid, {} checks in {} environments",
                config.display(),
                plan.jobs.len(),
                count_environments(&plan)
            );
            ExitCode::SUCCESS
        }
        Err(diagnostics) => {
            super::report(&diagnostics);
            ExitCode::from(1)
        }
    }
}

/// For every execution environment, what an instance there does with each job.
fn explanation(plan: &checkd_model::plan::Plan) -> String {
    let mut out = String::new();
    for here in &plan.execution_environments {
        out.push_str(&format!("from {here}:\n"));
        for job in &plan.jobs {
            out.push_str(&format!(
                "  {:<9} {}\n",
                job.placement.decide(here).to_string(),
                job.key
            ));
        }
    }
    out
}

fn count_environments(plan: &checkd_model::plan::Plan) -> usize {
    let mut environments: Vec<&str> = plan
        .jobs
        .iter()
        .map(|j| j.key.environment.as_str())
        .collect();
    environments.sort_unstable();
    environments.dedup();
    environments.len()
}
