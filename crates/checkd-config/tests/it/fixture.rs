//! Writing config trees into temporary directories and loading them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use checkd_config::{load, Diagnostics, LoadOptions};
use checkd_model::plan::Plan;

/// A daemon config most tests share: two environments and one HTTP datasource.
pub const CONFIG: &str = r#"execution_environment: prod
environments:
  prod:
    host: "orders-${environment}"
    variables: {region: eu, token: "${env:ORDERS_TOKEN}"}
  staging:
    host: "orders-${environment}"
    variables: {region: us, token: "none"}
datasources:
  orders:
    type: http
    base_url: "https://orders.example/api/"
    headers: {User-Agent: checkd, Authorization: "Bearer ${token}"}
"#;

/// A directory holding `files` (path → content); `checkd.yaml` defaults to [`CONFIG`].
pub struct Tree {
    pub dir: tempfile::TempDir,
}

impl Tree {
    pub fn new(files: &[(&str, &str)]) -> Tree {
        let dir = tempfile::tempdir().unwrap();
        let mut files: Vec<(&str, &str)> = files.to_vec();
        if !files.iter().any(|(path, _)| *path == "checkd.yaml") {
            files.push(("checkd.yaml", CONFIG));
        }
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        if !dir.path().join("checks").exists() {
            std::fs::create_dir(dir.path().join("checks")).unwrap();
        }
        Tree { dir }
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("checkd.yaml")
    }

    pub fn load_with(
        &self,
        execution_environment: Option<&str>,
        env: &[(&str, &str)],
    ) -> Result<Plan, Diagnostics> {
        load_at(&self.config(), execution_environment, env)
    }

    /// The diagnostics as printed, with the temporary directory cut from the paths.
    pub fn diagnostics(&self) -> String {
        self.diagnostics_with(&[("ORDERS_TOKEN", "s3cret")])
    }

    /// [`Tree::diagnostics`] with these process environment variables.
    pub fn diagnostics_with(&self, env: &[(&str, &str)]) -> String {
        match self.load_with(None, env) {
            Ok(_) => "ok".to_string(),
            Err(diagnostics) => {
                let prefix = format!("{}/", self.dir.path().display());
                diagnostics.to_string().replace(&prefix, "")
            }
        }
    }
}

pub fn load_at(
    config: &Path,
    execution_environment: Option<&str>,
    env: &[(&str, &str)],
) -> Result<Plan, Diagnostics> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let lookup = move |name: &str| env.get(name).cloned();
    let options = LoadOptions {
        execution_environment: execution_environment.map(str::to_string),
        env: &lookup,
    };
    load(config, &options)
}

/// Loads `files` and returns the diagnostics as printed (`ok` when it loads), for a snapshot.
pub fn diagnostics(files: &[(&str, &str)]) -> String {
    Tree::new(files).diagnostics()
}

/// Loads `files` and returns the plan, failing with the diagnostics otherwise.
#[track_caller]
pub fn plan(files: &[(&str, &str)]) -> Plan {
    let tree = Tree::new(files);
    match tree.load_with(None, &[("ORDERS_TOKEN", "s3cret")]) {
        Ok(plan) => plan,
        Err(diagnostics) => panic!("expected a plan, got:\n{diagnostics}"),
    }
}
