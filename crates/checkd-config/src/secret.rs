//! Secret references (`{env: NAME}` or `{file: PATH}`), resolved at load time into a
//! [`Secret`] that never prints.

use std::path::Path;

use checkd_model::Secret;

use crate::keypath::join_key;
use crate::raw::SecretRef;
use crate::source::SourceFile;
use crate::values::relative_to;
use crate::values::Cx;

/// The secret behind a reference, or a diagnostic that names the reference — never the value.
pub(crate) fn resolve(
    cx: &mut Cx<'_>,
    src: &SourceFile,
    path: &str,
    secret: &SecretRef,
    dir: &Path,
) -> Option<Secret> {
    let value = match (&secret.env, &secret.file) {
        (Some(name), None) => match (cx.env)(name) {
            Some(value) => value,
            None => {
                let message = format!("environment variable {name} is not set");
                cx.push(src.diag(&join_key(path, "env"), message));
                return None;
            }
        },
        (None, Some(file)) => {
            let file_path = relative_to(dir, file);
            match std::fs::read_to_string(&file_path) {
                Ok(text) => text.trim().to_string(),
                Err(error) => {
                    let message = format!(
                        "cannot read the secret file {}: {error}",
                        file_path.display()
                    );
                    cx.push(src.diag(&join_key(path, "file"), message));
                    return None;
                }
            }
        }
        _ => {
            cx.push(src.diag(path, "a secret needs exactly one of `env` or `file`"));
            return None;
        }
    };
    if value.is_empty() {
        cx.push(src.diag(path, "the secret is empty"));
        return None;
    }
    Some(Secret::new(value))
}
