//! Tidy checks over the workspace's sources, run with the tests so CI enforces them: every
//! crate root and every module file under `crates/*/src` opens with a `//!` paragraph that
//! says what it is and what it deliberately is not (style.md 3).
//!
//! They read files only; they judge no wording, just that the paragraph is there.

use std::path::{Path, PathBuf};

/// Source trees left out for now, each with the reason.
const EXCEPTIONS: &[&str] = &[];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// Whether `text` opens (after blank lines) with a `//!` line that has words on it.
fn opens_with_module_doc(text: &str) -> bool {
    text.lines()
        .find(|line| !line.trim().is_empty())
        .and_then(|line| line.strip_prefix("//!"))
        .is_some_and(|rest| !rest.trim().is_empty())
}

#[test]
fn every_module_opens_with_a_doc_paragraph() {
    let root = workspace();
    let mut files = Vec::new();
    for krate in std::fs::read_dir(root.join("crates"))
        .expect("crates/")
        .flatten()
    {
        rust_files(&krate.path().join("src"), &mut files);
    }
    files.sort();
    assert!(
        files.len() > 50,
        "found only {} files: is the workspace where this test thinks it is?",
        files.len()
    );
    let mut missing = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&root).unwrap_or(file);
        let relative = relative.to_string_lossy().replace('\\', "/");
        if EXCEPTIONS.iter().any(|dir| relative.starts_with(dir)) {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("read a source file");
        if !opens_with_module_doc(&text) {
            missing.push(relative);
        }
    }
    assert!(
        missing.is_empty(),
        "these modules do not open with a `//!` paragraph (what the module is, and what it \
         deliberately is not):\n  {}",
        missing.join("\n  ")
    );
}

#[test]
fn the_check_itself_tells_a_doc_paragraph_from_anything_else() {
    assert!(opens_with_module_doc("//! The store.\n\nuse x;\n"));
    assert!(opens_with_module_doc("\n\n//! After blank lines.\n"));
    assert!(!opens_with_module_doc("use x;\n//! Too late.\n"));
    assert!(!opens_with_module_doc("/// An item doc.\nfn f() {}\n"));
    assert!(!opens_with_module_doc("//!\n//! Starts empty.\n"));
    assert!(!opens_with_module_doc(""));
}
