//! `docs/configuration.md` is rendered from the doc comments of `src/raw.rs`, the serde structs
//! the loader deserializes. This test renders it again and fails when the file differs, so the
//! reference cannot drift from the code. `UPDATE_REFERENCE=1 cargo test -p checkd-config
//! reference` rewrites the generated part of the file.
//!
//! It also holds `raw.rs` to its own rules: every struct denies unknown keys, every field has
//! a doc comment, and a field serde requires says `Required.`.
//!
//! The test files of `checkd test` get the same: the key tables of `docs/testing-checks.md`
//! are rendered from `src/testfile/raw.rs`, whose structs keep the same rules.

use std::collections::BTreeMap;

const RAW: &str = include_str!("../../src/raw.rs");
const DOC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/configuration.md");
const TEST_RAW: &str = include_str!("../../src/testfile/raw.rs");
const TEST_DOC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/testing-checks.md");
const BEGIN: &str =
    "<!-- BEGIN GENERATED REFERENCE: edit crates/checkd-config/src/raw.rs, not this -->";
const END: &str = "<!-- END GENERATED REFERENCE -->";

#[derive(Debug, Default)]
struct Field {
    key: String,
    ty: String,
    doc: Vec<String>,
    serde_default: bool,
}

#[derive(Debug, Default)]
struct Item {
    doc: Vec<String>,
    attrs: Vec<String>,
    /// Fields of a struct, or variants of an enum (in `key`, already in YAML spelling).
    fields: Vec<Field>,
    is_enum: bool,
}

/// A line-based reader for the plain shape `raw.rs` keeps: doc comments, attributes, one field
/// or variant per line.
fn parse(source: &str) -> (BTreeMap<String, Item>, BTreeMap<String, Vec<String>>) {
    let mut items = BTreeMap::new();
    let mut aliases = BTreeMap::new();
    let mut doc: Vec<String> = Vec::new();
    let mut attrs: Vec<String> = Vec::new();
    let mut current: Option<(String, Item)> = None;
    for line in source.lines().map(str::trim) {
        if let Some(text) = line.strip_prefix("///") {
            doc.push(text.trim().to_string());
        } else if line.starts_with("#[") {
            attrs.push(line.to_string());
        } else if let Some(rest) = line.strip_prefix("pub type ") {
            let name = rest.split(' ').next().unwrap_or_default().to_string();
            aliases.insert(name, std::mem::take(&mut doc));
            attrs.clear();
        } else if let Some(rest) = line
            .strip_prefix("pub struct ")
            .or(line.strip_prefix("pub enum "))
        {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric()).collect();
            let item = Item {
                doc: std::mem::take(&mut doc),
                attrs: std::mem::take(&mut attrs),
                is_enum: line.starts_with("pub enum"),
                ..Item::default()
            };
            if rest.trim_end().ends_with('{') {
                current = Some((name, item));
            } else {
                items.insert(name, item);
            }
        } else if line == "}" {
            if let Some((name, item)) = current.take() {
                items.insert(name, item);
            }
            doc.clear();
            attrs.clear();
        } else if let Some((_, item)) = current.as_mut() {
            let rename = attrs
                .iter()
                .find_map(|a| a.split("rename = \"").nth(1)?.split('"').next())
                .map(str::to_string);
            let serde_default = attrs.iter().any(|a| a.contains("default"));
            if let Some(rest) = line.strip_prefix("pub ") {
                let (name, ty) = rest.split_once(": ").expect("a field is `pub name: Type,`");
                item.fields.push(Field {
                    key: rename.unwrap_or_else(|| name.to_string()),
                    ty: ty.trim_end_matches(',').to_string(),
                    doc: std::mem::take(&mut doc),
                    serde_default,
                });
                attrs.clear();
            } else if item.is_enum
                && line.ends_with(',')
                && line.chars().next().is_some_and(char::is_uppercase)
            {
                // `Http,` or, in a `type`-tagged enum, `Http(HttpDatasource),`.
                let variant: String = line.chars().take_while(|c| c.is_alphanumeric()).collect();
                let ty = line
                    .split_once('(')
                    .map(|(_, rest)| {
                        rest.trim_end_matches("),")
                            .trim_start_matches("Box<")
                            .trim_end_matches('>')
                            .to_string()
                    })
                    .unwrap_or_default();
                item.fields.push(Field {
                    key: snake(&variant),
                    ty,
                    doc: std::mem::take(&mut doc),
                    ..Field::default()
                });
                attrs.clear();
            } else if !line.is_empty() && !line.starts_with("//") {
                doc.clear();
                attrs.clear();
            }
        } else if !line.is_empty() && !line.starts_with("//") {
            doc.clear();
            attrs.clear();
        }
    }
    (items, aliases)
}

fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// The doc text without its `Default:`/`Required.` line, and that line's meaning.
fn split_doc(doc: &[String]) -> (String, Option<String>) {
    let mut text = Vec::new();
    let mut default = None;
    for line in doc {
        if let Some(value) = line.strip_prefix("Default: ") {
            default = Some(value.to_string());
        } else if line == "Required." {
            default = Some("required".to_string());
        } else {
            text.push(line.as_str());
        }
    }
    (text.join(" "), default)
}

fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// An enum whose variants carry settings, written as a mapping tagged by `type`.
fn is_tagged(item: &Item) -> bool {
    item.is_enum
        && item.fields.iter().any(|v| !v.ty.is_empty())
        && !item.attrs.iter().any(|a| a.contains("untagged"))
}

fn inner<'a>(ty: &'a str, wrapper: &str) -> Option<&'a str> {
    ty.strip_prefix(wrapper)?
        .strip_prefix('<')?
        .strip_suffix('>')
}

/// Describes a Rust type of `raw.rs` in YAML terms; queues struct types for their own section.
struct Renderer<'a> {
    items: &'a BTreeMap<String, Item>,
    /// Struct name → the path of its section, once queued.
    placed: BTreeMap<String, String>,
    queue: Vec<(String, String)>,
}

impl Renderer<'_> {
    fn ty(&mut self, ty: &str, path: &str) -> String {
        if let Some(t) = inner(ty, "Option").or(inner(ty, "Unit")) {
            return self.ty(t, path);
        }
        if let Some(t) = inner(ty, "Vec") {
            return format!("list of {}", self.ty(t, &format!("{path}[]")));
        }
        if let Some(t) = inner(ty, "Ordered") {
            return format!(
                "mapping of NAME → {} (in order)",
                self.ty(t, &format!("{path}.NAME"))
            );
        }
        if let Some(t) = inner(ty, "BTreeMap").and_then(|t| t.strip_prefix("String, ")) {
            return format!("mapping of NAME → {}", self.ty(t, &format!("{path}.NAME")));
        }
        let simple = match ty {
            "String" => Some("string"),
            "Template" => Some("[template](#templates)"),
            "Expression" => Some("[CEL expression](#expressions)"),
            "TextTemplate" => Some("[text template](#text-templates)"),
            "Duration" => Some("[duration](#durations)"),
            "JsonValue" => Some("any value"),
            "bool" => Some("boolean"),
            "f64" => Some("number"),
            "Number" => Some("number, or a [template](#templates) that gives one"),
            "usize" | "u64" | "u32" | "u16" | "u8" | "i64" => Some("integer"),
            "StatusCodes" => Some("integer or list of integers"),
            "Listen" => Some("`IP:PORT` or `false`"),
            _ => None,
        };
        if let Some(simple) = simple {
            return simple.to_string();
        }
        let item = self
            .items
            .get(ty)
            .unwrap_or_else(|| panic!("raw.rs type {ty} has no rendering"));
        if item.is_enum && item.attrs.iter().any(|a| a.contains("untagged")) {
            // One of several shapes: each variant's type.
            let shapes: Vec<String> = item
                .fields
                .iter()
                .map(|variant| self.ty(&variant.ty, path))
                .collect();
            return shapes.join(", or ");
        }
        if item.is_enum && !is_tagged(item) {
            let names: Vec<String> = item.fields.iter().map(|v| format!("`{}`", v.key)).collect();
            return match names.split_last() {
                Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
                _ => names.join(""),
            };
        }
        let section = self.placed.entry(ty.to_string()).or_insert_with(|| {
            self.queue.push((ty.to_string(), path.to_string()));
            path.to_string()
        });
        let heading = format!("`{section}`");
        let what = if item.is_enum {
            "mapping with `type`"
        } else {
            "mapping"
        };
        format!("{what}, see [{heading}](#{})", anchor(&heading))
    }

    /// Renders the section of struct `name` at `path`, then the sections of the structs it
    /// introduces, depth first.
    fn section(&mut self, out: &mut String, name: &str, path: &str) {
        let item = &self.items[name];
        let (text, _) = split_doc(&item.doc);
        let heading = if path.is_empty() {
            "Top level".to_string()
        } else {
            format!("`{path}`")
        };
        let first_child = self.queue.len();
        if item.is_enum {
            out.push_str(&format!(
                "\n### {heading}\n\n{text}\n\n| `type` | meaning |\n|---|---|\n"
            ));
            for variant in &item.fields {
                let text = split_doc(&variant.doc).0;
                out.push_str(&format!(
                    "| `{}` | {} |\n",
                    variant.key,
                    text.replace('|', "\\|")
                ));
            }
            for variant in &item.fields {
                let heading = format!("#### `{path}` with `type: {}`", variant.key);
                self.table(out, &variant.ty, path, &heading);
            }
        } else {
            self.table(out, name, path, &format!("### {heading}"));
        }
        let children: Vec<(String, String)> = self.queue.drain(first_child..).collect();
        for (child, child_path) in children {
            self.section(out, &child, &child_path);
        }
    }

    /// The table of struct `name`'s keys under `heading`; the structs it introduces are queued.
    fn table(&mut self, out: &mut String, name: &str, path: &str, heading: &str) {
        let item = &self.items[name];
        let (text, _) = split_doc(&item.doc);
        out.push_str(&format!(
            "\n{heading}\n\n{text}\n\n| key | type | default | meaning |\n|---|---|---|---|\n"
        ));
        for field in &item.fields {
            let key_path = if path.is_empty() {
                field.key.clone()
            } else {
                format!("{path}.{}", field.key)
            };
            let ty = self.ty(&field.ty, &key_path);
            let (mut text, default) = split_doc(&field.doc);
            if let Some(item) = self
                .items
                .get(field.ty.trim_start_matches("Option<").trim_end_matches('>'))
            {
                if item.is_enum
                    && !is_tagged(item)
                    && item.attrs.iter().any(|a| a.contains("Deserialize"))
                {
                    let values: Vec<String> = item
                        .fields
                        .iter()
                        .map(|v| format!("`{}`: {}", v.key, split_doc(&v.doc).0))
                        .collect();
                    text = format!("{text} Values: {}", values.join(" "));
                }
            }
            let default = default.unwrap_or_else(|| "—".to_string());
            let cell = |text: &str| text.replace('|', "\\|");
            out.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                field.key,
                cell(&ty),
                cell(&default),
                cell(&text)
            ));
        }
    }
}

/// The reference of the files whose root structs are `roots` (struct, title, file pattern) in
/// `source`, then the value types `aliases` (type alias, heading).
fn render_from(source: &str, roots: &[(&str, &str, &str)], value_types: &[(&str, &str)]) -> String {
    let (items, aliases) = parse(source);
    let mut out = String::new();
    let mut renderer = Renderer {
        items: &items,
        placed: BTreeMap::new(),
        queue: Vec::new(),
    };
    for (root, title, file) in roots {
        out.push_str(&format!("\n## {title} (`{file}`)\n"));
        renderer.section(&mut out, root, "");
    }
    out.push_str("\n## Value types\n");
    for (name, heading) in value_types {
        out.push_str(&format!(
            "\n### {heading}\n\n{}\n",
            aliases[*name].join(" ")
        ));
    }
    out
}

fn render() -> String {
    render_from(
        RAW,
        &[
            ("ConfigFile", "Daemon config", "checkd.yaml"),
            ("CheckFile", "Check files", "checks/*.yaml"),
        ],
        &[
            ("Template", "Templates"),
            ("Expression", "Expressions"),
            ("TextTemplate", "Text templates"),
            ("Duration", "Durations"),
        ],
    )
}

fn render_tests() -> String {
    render_from(
        TEST_RAW,
        &[("TestFile", "Test files", "checks/*.test.yaml")],
        &[("Duration", "Durations")],
    )
}

#[test]
fn raw_structs_follow_their_rules() {
    follows_the_rules(RAW, 20);
}

#[test]
fn test_file_structs_follow_the_same_rules() {
    follows_the_rules(TEST_RAW, 3);
}

/// Every item of `source` has its doc comments, every struct denies unknown keys and says
/// which keys are required; `min_items` guards against a parser that found nothing.
fn follows_the_rules(source: &str, min_items: usize) {
    let (items, aliases) = parse(source);
    assert!(
        items.len() > min_items,
        "the parser found only {} items",
        items.len()
    );
    for (name, item) in &items {
        assert!(!item.doc.is_empty(), "{name} has no doc comment");
        if item.is_enum {
            assert!(
                item.fields.iter().all(|v| !v.doc.is_empty()),
                "a variant of {name} has no doc comment"
            );
            continue;
        }
        let derived = item.attrs.iter().any(|a| a.contains("Deserialize"));
        if derived && !item.fields.is_empty() {
            assert!(
                item.attrs.iter().any(|a| a.contains("deny_unknown_fields")),
                "{name} accepts unknown keys"
            );
        }
        for field in &item.fields {
            assert!(
                !field.doc.is_empty(),
                "{name}.{} has no doc comment",
                field.key
            );
            let required_by_serde = !field.ty.starts_with("Option<") && !field.serde_default;
            let (_, default) = split_doc(&field.doc);
            if required_by_serde {
                assert_eq!(
                    default.as_deref(),
                    Some("required"),
                    "{name}.{} is required: say `Required.`",
                    field.key
                );
            }
        }
    }
    assert!(
        aliases.values().all(|doc| !doc.is_empty()),
        "a type alias has no doc comment"
    );
}

#[test]
fn reference_doc_matches_the_structs() {
    doc_matches(
        DOC_PATH,
        "src/raw.rs",
        &render(),
        "# Configuration reference\n\n",
    );
}

#[test]
fn test_file_reference_matches_its_structs() {
    doc_matches(
        TEST_DOC_PATH,
        "src/testfile/raw.rs",
        &render_tests(),
        "# Testing checks\n\n",
    );
}

/// The generated part of the doc at `path` is `generated`; with `UPDATE_REFERENCE` set it is
/// rewritten instead (a missing file starts with `default_head`).
fn doc_matches(path: &str, source: &str, generated: &str, default_head: &str) {
    let current = std::fs::read_to_string(path).unwrap_or_default();
    let begin = BEGIN.replace("src/raw.rs", source);
    let (head, tail) = match (current.find(&begin), current.find(END)) {
        (Some(b), Some(e)) if b < e => (&current[..b], &current[e + END.len()..]),
        _ => (default_head, "\n"),
    };
    let wanted = format!("{head}{begin}\n{generated}\n{END}{tail}");
    if wanted == current {
        return;
    }
    if std::env::var_os("UPDATE_REFERENCE").is_some() {
        std::fs::write(path, &wanted).unwrap();
        return;
    }
    let first = wanted
        .lines()
        .zip(current.lines())
        .position(|(a, b)| a != b)
        .unwrap_or(0);
    let doc = path.rsplit_once("/../../").map_or(path, |(_, doc)| doc);
    panic!(
        "{doc} is out of date with {source} (first difference at line {}):\n  want: {}\n  have: {}\n\
         run `UPDATE_REFERENCE=1 cargo test -p checkd-config reference` and commit the result",
        first + 1,
        wanted.lines().nth(first).unwrap_or(""),
        current.lines().nth(first).unwrap_or(""),
    );
}
