//! [`Secret`]: a token, password or client secret that prints as `***`.
//!
//! It only keeps a secret out of `Debug` and `Display`; resolving `{env: …}` and `{file: …}`
//! references into one is the config crate's work.

use std::fmt;

/// A secret value (token, password, client secret). Its `Debug` and `Display` print `***`, so
/// it cannot leak into logs, errors or results by accident; [`Secret::expose`] is the one
/// deliberate way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("hunter2");
        assert_eq!(
            format!("{secret:?} {secret} {:?}", Some(&secret)),
            "Secret(***) *** Some(Secret(***))"
        );
        assert_eq!(secret.expose(), "hunter2");
    }
}
