//! Where a job may run (watchpost's scheduling strategies, as data): rules from the check and
//! its datasource narrow the execution environments it can run from; every instance decides
//! for itself whether a job is its to run, to show without running, or not its business.

use std::collections::BTreeSet;
use std::fmt;

/// The combined rules of a job, resolved for its target environment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Placement {
    /// Execution environments the job may run from; `None` is anywhere.
    pub allowed: Option<BTreeSet<String>>,
    /// What an instance that may not run the job does with it.
    pub elsewhere: Elsewhere,
}

/// What an instance does with a job it may not run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Elsewhere {
    /// Leave it out of this instance's output: another instance reports it.
    #[default]
    Omit,
    /// Show it anyway: the last result (e.g. from a shared Redis), else UNKNOWN "not runnable
    /// from here".
    Skip,
}

/// What this instance does with a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Run,
    Skip,
    NotMine,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Decision::Run => "run",
            Decision::Skip => "skip",
            Decision::NotMine => "not mine",
        })
    }
}

/// One rule, before it is resolved against a target environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunFrom {
    /// Only from inside the target environment itself.
    Target,
    /// Only from this execution environment.
    Named(String),
}

impl Placement {
    /// Combines rule sets (each a list of alternatives) for `target`: a job may run where every
    /// rule set allows it — the most restrictive wins. An empty list of rule sets allows anywhere.
    pub fn resolve(rule_sets: &[&[RunFrom]], target: &str, elsewhere: Elsewhere) -> Placement {
        let mut allowed: Option<BTreeSet<String>> = None;
        for rules in rule_sets.iter().filter(|r| !r.is_empty()) {
            let set: BTreeSet<String> = rules
                .iter()
                .map(|rule| match rule {
                    RunFrom::Target => target.to_string(),
                    RunFrom::Named(name) => name.clone(),
                })
                .collect();
            allowed = Some(match allowed {
                None => set,
                Some(before) => before.intersection(&set).cloned().collect(),
            });
        }
        Placement { allowed, elsewhere }
    }

    /// What an instance in `execution_environment` does with the job.
    pub fn decide(&self, execution_environment: &str) -> Decision {
        match &self.allowed {
            None => Decision::Run,
            Some(allowed) if allowed.contains(execution_environment) => Decision::Run,
            Some(_) => match self.elsewhere {
                Elsewhere::Skip => Decision::Skip,
                Elsewhere::Omit => Decision::NotMine,
            },
        }
    }

    /// Whether any of `execution_environments` may run the job.
    pub fn runs_anywhere_in<'a>(
        &self,
        mut execution_environments: impl Iterator<Item = &'a str>,
    ) -> bool {
        match &self.allowed {
            None => true,
            Some(allowed) => execution_environments.any(|e| allowed.contains(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Decision::*;

    fn named(names: &[&str]) -> Vec<RunFrom> {
        names
            .iter()
            .map(|n| RunFrom::Named(n.to_string()))
            .collect()
    }

    /// (rule sets, elsewhere, target, execution environment) → decision.
    fn check(
        rule_sets: &[Vec<RunFrom>],
        elsewhere: Elsewhere,
        target: &str,
        here: &str,
        want: Decision,
    ) {
        let sets: Vec<&[RunFrom]> = rule_sets.iter().map(Vec::as_slice).collect();
        let got = Placement::resolve(&sets, target, elsewhere).decide(here);
        assert_eq!(
            got, want,
            "{rule_sets:?} {elsewhere:?} target {target} from {here}"
        );
    }

    #[test]
    fn the_decision_table() {
        let (omit, skip) = (Elsewhere::Omit, Elsewhere::Skip);
        // No rules: every instance runs it.
        check(&[], omit, "prod", "monitoring", Run);
        check(&[vec![]], omit, "prod", "prod", Run);
        // A fixed list.
        check(&[named(&["monitoring"])], omit, "prod", "monitoring", Run);
        check(&[named(&["monitoring"])], omit, "prod", "prod", NotMine);
        check(&[named(&["monitoring"])], skip, "prod", "prod", Skip);
        // Only from inside the target environment.
        check(&[vec![RunFrom::Target]], omit, "prod", "prod", Run);
        check(&[vec![RunFrom::Target]], omit, "staging", "prod", NotMine);
        check(&[vec![RunFrom::Target]], skip, "staging", "prod", Skip);
        // Target or a named place.
        check(
            &[vec![RunFrom::Target, RunFrom::Named("monitoring".into())]],
            omit,
            "prod",
            "monitoring",
            Run,
        );
        check(
            &[vec![RunFrom::Target, RunFrom::Named("monitoring".into())]],
            omit,
            "prod",
            "prod",
            Run,
        );
        check(
            &[vec![RunFrom::Target, RunFrom::Named("monitoring".into())]],
            omit,
            "prod",
            "staging",
            NotMine,
        );
        // Datasource and check combined: the most restrictive wins.
        check(
            &[named(&["monitoring", "prod"]), vec![RunFrom::Target]],
            omit,
            "prod",
            "prod",
            Run,
        );
        check(
            &[named(&["monitoring", "prod"]), vec![RunFrom::Target]],
            omit,
            "prod",
            "monitoring",
            NotMine,
        );
        check(
            &[named(&["monitoring"]), vec![RunFrom::Target]],
            skip,
            "prod",
            "prod",
            Skip,
        );
        check(
            &[named(&["monitoring"]), vec![RunFrom::Target]],
            skip,
            "prod",
            "monitoring",
            Skip,
        );
    }

    #[test]
    fn impossible_combinations_run_nowhere() {
        let sets: [&[RunFrom]; 2] = [&named(&["monitoring"]), &[RunFrom::Target]];
        let placement = Placement::resolve(&sets, "prod", Elsewhere::Omit);
        assert_eq!(placement.allowed, Some(BTreeSet::new()));
        assert!(!placement.runs_anywhere_in(["monitoring", "prod"].into_iter()));
        let placement = Placement::resolve(&[&named(&["monitoring"])], "prod", Elsewhere::Omit);
        assert!(placement.runs_anywhere_in(["prod", "monitoring"].into_iter()));
        assert!(!placement.runs_anywhere_in(["prod"].into_iter()));
    }
}
