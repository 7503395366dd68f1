//! `auth: {type: oauth2, ...}` of an `http` datasource: checked once with the datasource,
//! resolved per environment the first time a check needs it (so an environment no check
//! sends to needs no secret), and shared by every job of that (datasource, environment).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use checkd_model::plan::OAuth2;

use crate::environment::Env;
use crate::keypath::join_key;
use crate::raw;
use crate::source::SourceFile;
use crate::values::{is_absolute_http_url, positive_duration, Cx, Tpl};

const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// An OAuth2 client with its per-environment parts still templates.
#[derive(Debug)]
pub(crate) struct OAuth2Tpl {
    token_url: Tpl,
    client_id: Tpl,
    secret_env: Option<Tpl>,
    secret_file: Option<Tpl>,
    /// Key path of `client_secret`.
    secret_path: String,
    scopes: Vec<String>,
    params: Vec<(String, Tpl)>,
    refresh_margin: Duration,
    share: bool,
    /// Secret files are relative to the config's directory.
    dir: PathBuf,
    /// Per environment: the client, or `None` when it failed (reported once).
    resolved: Mutex<BTreeMap<String, Option<Arc<OAuth2>>>>,
}

impl OAuth2Tpl {
    /// `None` when a required key is missing (the caller reports missing keys).
    pub(crate) fn new(
        cx: &mut Cx<'_>,
        src: &SourceFile,
        path: &str,
        raw: &raw::OAuth2Auth,
        dir: &Path,
    ) -> Option<OAuth2Tpl> {
        let tpl =
            |cx: &mut Cx<'_>, key: &str, text: &str| Tpl::new(cx, src, join_key(path, key), text);
        let refresh_margin = match &raw.refresh_margin {
            Some(text) => positive_duration(cx, src, &join_key(path, "refresh_margin"), text),
            None => Some(DEFAULT_REFRESH_MARGIN),
        };
        for (index, scope) in raw.scopes.iter().enumerate() {
            if scope.is_empty() || scope.chars().any(|c| c.is_whitespace() || c.is_control()) {
                let at = format!("{}[{index}]", join_key(path, "scopes"));
                cx.push(src.diag(&at, format!("invalid scope {scope:?}: one word per scope")));
            }
        }
        let secret_path = join_key(path, "client_secret");
        let secret = raw.client_secret.as_ref()?;
        let (secret_env, secret_file) = match (&secret.env, &secret.file) {
            (Some(name), None) => (Some(tpl(cx, "client_secret.env", name)), None),
            (None, Some(file)) => (None, Some(tpl(cx, "client_secret.file", file))),
            _ => {
                cx.push(src.diag(
                    &secret_path,
                    "a secret needs exactly one of `env` or `file`",
                ));
                return None;
            }
        };
        let params = raw
            .params
            .iter()
            .map(|(name, text)| (name.clone(), tpl(cx, &format!("params.{name}"), text)))
            .collect();
        Some(OAuth2Tpl {
            token_url: tpl(cx, "token_url", raw.token_url.as_deref()?),
            client_id: tpl(cx, "client_id", raw.client_id.as_deref()?),
            secret_env,
            secret_file,
            secret_path,
            scopes: raw.scopes.clone(),
            params,
            refresh_margin: refresh_margin?,
            share: raw.share_token.unwrap_or(false),
            dir: dir.to_path_buf(),
            resolved: Mutex::default(),
        })
    }

    /// The client in `env`, resolved on first use; `None` after reporting why.
    pub(crate) fn for_env(
        &self,
        cx: &mut Cx<'_>,
        src: &SourceFile,
        env: &Env,
    ) -> Option<Arc<OAuth2>> {
        // Held while resolving, so an environment's problems are reported by one file's
        // checks only, however many resolve in parallel.
        let mut resolved = self.resolved.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(done) = resolved.get(&env.name) {
            return done.clone();
        }
        let client = self.resolve(cx, src, env).map(Arc::new);
        resolved.insert(env.name.clone(), client.clone());
        client
    }

    fn resolve(&self, cx: &mut Cx<'_>, src: &SourceFile, env: &Env) -> Option<OAuth2> {
        let scope = env.scope(cx.env);
        let token_url = self.token_url.resolve(cx, src, &scope);
        if let Some(url) = token_url
            .as_deref()
            .filter(|url| !is_absolute_http_url(url))
        {
            let message = format!(
                "expected an absolute http:// or https:// URL, found {url:?} in environment {}",
                env.name
            );
            cx.push(src.diag(&self.token_url.path, message));
            return None;
        }
        let client_id = self.client_id.resolve(cx, src, &scope);
        let mut params = Vec::new();
        for (name, tpl) in &self.params {
            params.push((name.clone(), tpl.resolve(cx, src, &scope)?));
        }
        let reference = raw::SecretRef {
            env: match &self.secret_env {
                Some(tpl) => Some(tpl.resolve(cx, src, &scope)?),
                None => None,
            },
            file: match &self.secret_file {
                Some(tpl) => Some(tpl.resolve(cx, src, &scope)?),
                None => None,
            },
        };
        let client_secret =
            crate::secret::resolve(cx, src, &self.secret_path, &reference, &self.dir)?;
        Some(OAuth2 {
            token_url: token_url?,
            client_id: client_id?,
            client_secret,
            scopes: self.scopes.clone(),
            params,
            refresh_margin: self.refresh_margin,
            share: self.share,
        })
    }
}
