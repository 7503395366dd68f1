//! JSON Schemas (draft 2020-12) of the daemon config and of check files, generated from the
//! raw structs the loader reads, for editors (`checkd schema`, and the copies in
//! `docs/schema/`, which a test keeps in step).
//!
//! It deliberately validates nothing itself: `checkd validate` is the authority, and the
//! schema is a guide while typing (it cannot know, say, which datasources exist).

use crate::raw;

/// Which file a schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaFile {
    /// `checkd.yaml`.
    DaemonConfig,
    /// A check file (`checks/*.yaml`).
    CheckFile,
}

/// The JSON Schema of `file`.
pub fn json_schema(file: SchemaFile) -> serde_json::Value {
    let (mut schema, title) = match file {
        SchemaFile::DaemonConfig => (
            schemars::schema_for!(raw::ConfigFile),
            "checkd daemon config",
        ),
        SchemaFile::CheckFile => (schemars::schema_for!(raw::CheckFile), "checkd check file"),
    };
    schema.insert("title".to_string(), title.into());
    schema.to_value()
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    /// A YAML file as JSON, through the loader's own tree.
    fn yaml(path: &Path) -> serde_json::Value {
        let text = std::fs::read_to_string(path).unwrap();
        let parsed = crate::tree::parse(&text);
        assert!(
            parsed.problems.is_empty(),
            "{}: {:?}",
            path.display(),
            parsed.problems
        );
        let cx = crate::de::Context::new(&|_: &str, _: &str, _: &str| None);
        crate::de::from_node(parsed.root.as_ref().unwrap(), &cx).unwrap()
    }

    fn problems(schema: &serde_json::Value, value: &serde_json::Value) -> Vec<String> {
        let validator = jsonschema::validator_for(schema).unwrap();
        validator
            .iter_errors(value)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect()
    }

    fn yaml_files(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.extension().is_some_and(|e| e == "yaml")
                    && !p.to_string_lossy().ends_with(".test.yaml")
            })
            .collect();
        files.sort();
        files
    }

    #[test]
    fn the_shipped_examples_match_the_schemas() {
        let config = json_schema(SchemaFile::DaemonConfig);
        let checks = json_schema(SchemaFile::CheckFile);
        for file in [
            repo().join("config/checkd.yaml"),
            repo().join("deploy/etc-checkd/checkd.yaml"),
        ] {
            assert_eq!(
                problems(&config, &yaml(&file)),
                Vec::<String>::new(),
                "{}",
                file.display()
            );
        }
        for dir in [
            repo().join("checks"),
            repo().join("deploy/etc-checkd/checks.d"),
        ] {
            for file in yaml_files(&dir) {
                assert_eq!(
                    problems(&checks, &yaml(&file)),
                    Vec::<String>::new(),
                    "{}",
                    file.display()
                );
            }
        }
    }

    #[test]
    fn kinds_are_tagged_by_type_and_keys_of_another_kind_are_refused() {
        let config = json_schema(SchemaFile::DaemonConfig);
        let doc = |datasource: serde_json::Value| {
            serde_json::json!({"execution_environment": "e", "environments": {"e": {"host": "h"}},
                "datasources": {"d": datasource}})
        };
        let ok = doc(serde_json::json!({"type": "tcp", "host": "db", "port": 5432}));
        assert_eq!(problems(&config, &ok), Vec::<String>::new());
        for wrong in [
            serde_json::json!({"type": "tcp", "host": "db", "port": 5432, "base_url": "http://x"}),
            serde_json::json!({"type": "smtp"}),
            serde_json::json!({"host": "db", "port": 5432}),
            serde_json::json!({"type": "http", "auth": {"type": "basic", "token": {"env": "T"}}}),
        ] {
            assert!(
                !problems(&config, &doc(wrong.clone())).is_empty(),
                "{wrong} passed"
            );
        }
    }

    #[test]
    fn the_schema_files_in_docs_match_the_structs() {
        for (file, name) in [
            (SchemaFile::DaemonConfig, "checkd.schema.json"),
            (SchemaFile::CheckFile, "checks.schema.json"),
        ] {
            let path = repo().join("docs/schema").join(name);
            let wanted = format!(
                "{}\n",
                serde_json::to_string_pretty(&json_schema(file)).unwrap()
            );
            let current = std::fs::read_to_string(&path).unwrap_or_default();
            if current == wanted {
                continue;
            }
            if std::env::var_os("UPDATE_REFERENCE").is_some() {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, wanted).unwrap();
                continue;
            }
            panic!("{} is out of date: run `UPDATE_REFERENCE=1 cargo test -p checkd-config schema` and commit it", path.display());
        }
    }
}
