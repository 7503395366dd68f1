//! `${…}` templates, resolved per target environment at load time.
//!
//! `${NAME}` is a variable of the environment (`${environment}` is its name), `${env:NAME}` a
//! process environment variable, `$${` a literal `${`. A variable that does not exist is an
//! error, never an empty string. What changes per run (a `foreach` item) is an expression in
//! braces (`{item.name}`), compiled by checkd-expr, not a `${…}`.

use std::collections::BTreeMap;

/// A problem in a template, reported at a character offset within the string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TemplateError {
    #[error("unterminated ${{ (missing }})")]
    Unterminated,
    #[error("empty ${{}}")]
    Empty,
    #[error("invalid variable name ${{{0}}}: names use letters, digits and _ and do not start with a digit")]
    BadName(String),
    #[error("undefined variable ${{{name}}} in environment {environment}")]
    Undefined { name: String, environment: String },
    #[error("undefined environment variable ${{env:{0}}}")]
    UndefinedEnv(String),
    #[error("${{{0}}} is not a variable: what an item holds is an expression in braces, {{{0}}}")]
    Runtime(String),
    #[error("a variable cannot use another variable (${{{0}}}); only ${{environment}} and ${{env:NAME}}")]
    VariableInVariable(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Var { name: String, offset: usize },
    Env { name: String, offset: usize },
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    pieces: Vec<Piece>,
}

/// The value of an environment variable after its own resolution; `Broken` ones were already
/// reported, so templates using them fail without another message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Ok(String),
    Broken,
}

/// What a template may refer to.
pub(crate) struct Scope<'a> {
    pub environment: &'a str,
    /// `None` while resolving the variables themselves.
    pub variables: Option<&'a BTreeMap<String, Value>>,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

/// Problems at character offsets; an empty list means "failed because of an error already
/// reported elsewhere".
pub(crate) type Errors = Vec<(usize, TemplateError)>;

/// `[A-Za-z_][A-Za-z0-9_]*`: names of variables.
pub(crate) fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_runtime(inner: &str) -> bool {
    inner == "index"
        || inner == "item"
        || inner.strip_prefix("item.").is_some_and(|path| {
            path.split('.').all(|s| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            })
        })
}

impl Template {
    /// Parses `text`; the error carries the character offset of the offending `${`.
    pub fn parse(text: &str) -> Result<Template, (usize, TemplateError)> {
        let chars: Vec<char> = text.chars().collect();
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] == '$' && chars.get(i + 1) == Some(&'$') && chars.get(i + 2) == Some(&'{') {
                literal.push_str("${");
                i += 3;
                continue;
            }
            if chars[i] != '$' || chars.get(i + 1) != Some(&'{') {
                literal.push(chars[i]);
                i += 1;
                continue;
            }
            let offset = i;
            let Some(len) = chars[i + 2..].iter().position(|&c| c == '}') else {
                return Err((offset, TemplateError::Unterminated));
            };
            let inner: String = chars[i + 2..i + 2 + len].iter().collect();
            i += len + 3;
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut literal)));
            }
            let piece = if inner.is_empty() {
                return Err((offset, TemplateError::Empty));
            } else if let Some(name) = inner.strip_prefix("env:") {
                if !is_name(name) {
                    return Err((offset, TemplateError::BadName(inner)));
                }
                Piece::Env {
                    name: name.to_string(),
                    offset,
                }
            } else if is_runtime(&inner) {
                return Err((offset, TemplateError::Runtime(inner)));
            } else if is_name(&inner) {
                Piece::Var {
                    name: inner,
                    offset,
                }
            } else {
                return Err((offset, TemplateError::BadName(inner)));
            };
            pieces.push(piece);
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Template { pieces })
    }

    /// Whether it reads a process environment variable (`${env:NAME}`).
    pub fn reads_env(&self) -> bool {
        self.pieces.iter().any(|p| matches!(p, Piece::Env { .. }))
    }

    /// Fills in every `${…}`, each value passed through `insert` (the identity, or an escape
    /// that keeps a value literal in text parsed again, such as an expression template);
    /// collects every problem in the string.
    pub fn resolve_with(
        &self,
        scope: &Scope<'_>,
        insert: &dyn Fn(&str) -> String,
    ) -> Result<String, Errors> {
        let mut out = String::new();
        let mut errors = Vec::new();
        let mut silent = false;
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Env { name, offset } => match (scope.env)(name) {
                    Some(value) => out.push_str(&insert(&value)),
                    None => errors.push((*offset, TemplateError::UndefinedEnv(name.clone()))),
                },
                Piece::Var { name, offset } => {
                    if name == "environment" {
                        out.push_str(&insert(scope.environment));
                        continue;
                    }
                    match scope.variables.map(|vars| vars.get(name)) {
                        None => {
                            errors.push((*offset, TemplateError::VariableInVariable(name.clone())))
                        }
                        Some(Some(Value::Ok(value))) => out.push_str(&insert(value)),
                        Some(Some(Value::Broken)) => silent = true,
                        Some(None) => errors.push((
                            *offset,
                            TemplateError::Undefined {
                                name: name.clone(),
                                environment: scope.environment.to_string(),
                            },
                        )),
                    }
                }
            }
        }
        if errors.is_empty() && !silent {
            Ok(out)
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<String, Value> {
        BTreeMap::from([
            ("region".to_string(), Value::Ok("eu".to_string())),
            ("broken".to_string(), Value::Broken),
        ])
    }

    fn resolve(text: &str) -> Result<String, Errors> {
        let vars = vars();
        let env = |name: &str| (name == "HOME").then(|| "/root".to_string());
        let scope = Scope {
            environment: "prod",
            variables: Some(&vars),
            env: &env,
        };
        Template::parse(text)
            .map_err(|e| vec![e])?
            .resolve_with(&scope, &|v| v.to_string())
    }

    #[test]
    fn filled_in_values_can_be_escaped() {
        let vars = vars();
        let env = |_: &str| None;
        let scope = Scope {
            environment: "p{r}od",
            variables: Some(&vars),
            env: &env,
        };
        let escape = |v: &str| v.replace('{', "{{").replace('}', "}}");
        let got = Template::parse("{x} ${environment}")
            .unwrap()
            .resolve_with(&scope, &escape);
        assert_eq!(got, Ok("{x} p{{r}}od".to_string()));
    }

    #[test]
    fn resolves_variables_env_and_escapes() {
        assert_eq!(
            resolve("a-${environment}-${region}"),
            Ok("a-prod-eu".to_string())
        );
        assert_eq!(resolve("${env:HOME}/x"), Ok("/root/x".to_string()));
        assert_eq!(
            resolve("$${region} $$ $x {}"),
            Ok("${region} $$ $x {}".to_string())
        );
        assert_eq!(resolve("ünï ${nope}").unwrap_err()[0].0, 4);
    }

    #[test]
    fn reports_every_problem() {
        let cases: [(&str, Errors); 7] = [
            (
                "${region}/${zone}/${env:NOPE}",
                vec![
                    (
                        10,
                        TemplateError::Undefined {
                            name: "zone".into(),
                            environment: "prod".into(),
                        },
                    ),
                    (18, TemplateError::UndefinedEnv("NOPE".into())),
                ],
            ),
            ("x ${region", vec![(2, TemplateError::Unterminated)]),
            ("${}", vec![(0, TemplateError::Empty)]),
            ("${a-b}", vec![(0, TemplateError::BadName("a-b".into()))]),
            (
                "${env:1}",
                vec![(0, TemplateError::BadName("env:1".into()))],
            ),
            (
                "${item.x}",
                vec![(0, TemplateError::Runtime("item.x".into()))],
            ),
            ("${broken}", vec![]),
        ];
        for (text, want) in cases {
            assert_eq!(resolve(text), Err(want), "{text}");
        }
        assert_eq!(
            TemplateError::Undefined {
                name: "region".into(),
                environment: "prod".into()
            }
            .to_string(),
            "undefined variable ${region} in environment prod"
        );
    }
}
