//! One builder for every daemon config (`checkd.yaml`) the integration and fleet tests write,
//! so a test states only what matters to it and a change of the config format is made once.
//!
//! It writes the YAML a person would, in a fixed layout (the validate test's positions rely
//! on it: sections in the order below, one key per line, nothing written that was not set).
//! It does not validate: a test may build a broken config on purpose, and `checkd` judges it.

use crate::util::Dir;

/// A `checkd.yaml` being built. Values of settings are YAML as written (`2s`, `"${base_url}"`,
/// `{type: memory}`); host names and variables are quoted by the builder.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    execution_environment: String,
    environments: Vec<Environment>,
    datasources: Vec<(String, Settings)>,
    scheduler: Settings,
    server: Settings,
    output: Settings,
    layers: Vec<String>,
}

#[derive(Debug, Clone)]
struct Environment {
    name: String,
    host: String,
    variables: Vec<(String, String)>,
}

/// Keys and their YAML values, in the order they were first set.
#[derive(Debug, Clone, Default)]
struct Settings(Vec<(String, String)>);

impl Settings {
    fn set(&mut self, key: &str, value: &str) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value.to_string(),
            None => self.0.push((key.to_string(), value.to_string())),
        }
    }

    fn write(&self, yaml: &mut String, indent: &str) {
        for (key, value) in &self.0 {
            yaml.push_str(&format!("{indent}{key}: {value}\n"));
        }
    }
}

impl DaemonConfig {
    /// Execution environment `test`, checks in `checks/`, nothing else.
    pub fn new() -> DaemonConfig {
        DaemonConfig {
            execution_environment: "test".to_string(),
            environments: Vec::new(),
            datasources: Vec::new(),
            scheduler: Settings::default(),
            server: Settings::default(),
            output: Settings::default(),
            layers: Vec::new(),
        }
    }

    pub fn execution_environment(mut self, name: &str) -> DaemonConfig {
        self.execution_environment = name.to_string();
        self
    }

    /// Adds environment `name` whose services appear on `host`, or sets the host of an
    /// environment added before (its variables stay).
    pub fn environment(mut self, name: &str, host: &str) -> DaemonConfig {
        match self.environments.iter_mut().find(|e| e.name == name) {
            Some(environment) => environment.host = host.to_string(),
            None => self.environments.push(Environment {
                name: name.to_string(),
                host: host.to_string(),
                variables: Vec::new(),
            }),
        }
        self
    }

    /// Sets a variable of an environment added before.
    pub fn variable(mut self, environment: &str, name: &str, value: &str) -> DaemonConfig {
        let Some(environment) = self.environments.iter_mut().find(|e| e.name == environment) else {
            panic!("variable {name} for environment {environment}, which was not added");
        };
        environment
            .variables
            .push((name.to_string(), value.to_string()));
        self
    }

    /// Adds datasource `name` with `settings` (`type` first, as people write it), or sets
    /// more settings on one added before.
    pub fn datasource(mut self, name: &str, settings: &[(&str, &str)]) -> DaemonConfig {
        let index = match self.datasources.iter().position(|(n, _)| n == name) {
            Some(index) => index,
            None => {
                self.datasources
                    .push((name.to_string(), Settings::default()));
                self.datasources.len() - 1
            }
        };
        for (key, value) in settings {
            self.datasources[index].1.set(key, value);
        }
        self
    }

    /// Sets `scheduler.<key>`.
    pub fn scheduler(mut self, key: &str, value: &str) -> DaemonConfig {
        self.scheduler.set(key, value);
        self
    }

    /// The endpoint on `127.0.0.1:<port>`.
    pub fn listen(mut self, port: u16) -> DaemonConfig {
        self.server.set("listen", &format!("\"127.0.0.1:{port}\""));
        self
    }

    /// No HTTP endpoint at all.
    pub fn no_listen(mut self) -> DaemonConfig {
        self.server.set("listen", "false");
        self
    }

    /// A bearer token read from the process environment variable `name`.
    pub fn bearer_token_env(mut self, name: &str) -> DaemonConfig {
        self.server.set("bearer_token", &format!("{{env: {name}}}"));
        self
    }

    /// Sets `output.<key>` (`spool`, `watchpost`, …).
    pub fn output(mut self, key: &str, value: &str) -> DaemonConfig {
        self.output.set(key, value);
        self
    }

    /// The cache layers, in order, each as YAML (`{type: memory}`).
    pub fn layers(mut self, layers: &[&str]) -> DaemonConfig {
        self.layers = layers.iter().map(ToString::to_string).collect();
        self
    }

    pub fn to_yaml(&self) -> String {
        let mut yaml = format!(
            "execution_environment: {}\nchecks: [checks]\n",
            self.execution_environment
        );
        if !self.environments.is_empty() {
            yaml.push_str("environments:\n");
        }
        for environment in &self.environments {
            yaml.push_str(&format!(
                "  {}:\n    host: {}\n",
                environment.name,
                quoted(&environment.host)
            ));
            if !environment.variables.is_empty() {
                yaml.push_str("    variables:\n");
            }
            for (name, value) in &environment.variables {
                yaml.push_str(&format!("      {name}: {}\n", quoted(value)));
            }
        }
        if !self.datasources.is_empty() {
            yaml.push_str("datasources:\n");
        }
        for (name, settings) in &self.datasources {
            yaml.push_str(&format!("  {name}:\n"));
            settings.write(&mut yaml, "    ");
        }
        for (section, settings) in [
            ("scheduler", &self.scheduler),
            ("server", &self.server),
            ("output", &self.output),
        ] {
            if !settings.0.is_empty() {
                yaml.push_str(&format!("{section}:\n"));
                settings.write(&mut yaml, "  ");
            }
        }
        if !self.layers.is_empty() {
            yaml.push_str("cache:\n  layers:\n");
        }
        for layer in &self.layers {
            yaml.push_str(&format!("    - {layer}\n"));
        }
        yaml
    }

    /// Writes `checkd.yaml` into `dir`.
    pub fn write(&self, dir: &Dir) {
        dir.write("checkd.yaml", &self.to_yaml());
    }
}

/// A YAML double-quoted string: JSON's string syntax is valid YAML.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string always serialises")
}

#[test]
fn the_builder_writes_what_a_person_would() {
    let config = DaemonConfig::new()
        .environment("prod", "shop-${environment}")
        .variable("prod", "base_url", "http://127.0.0.1:8080")
        .datasource("shop", &[("type", "http"), ("base_url", "\"${base_url}\"")])
        .datasource("shop", &[("timeout", "2s")])
        .environment("prod", "store-${environment}")
        .scheduler("splay", "0.25")
        .listen(6559)
        .bearer_token_env("TOKEN")
        .output("watchpost", "true")
        .layers(&["{type: memory}", "{type: sled, path: state}"]);
    assert_eq!(
        config.to_yaml(),
        r#"execution_environment: test
checks: [checks]
environments:
  prod:
    host: "store-${environment}"
    variables:
      base_url: "http://127.0.0.1:8080"
datasources:
  shop:
    type: http
    base_url: "${base_url}"
    timeout: 2s
scheduler:
  splay: 0.25
server:
  listen: "127.0.0.1:6559"
  bearer_token: {env: TOKEN}
output:
  watchpost: true
cache:
  layers:
    - {type: memory}
    - {type: sled, path: state}
"#
    );
}
