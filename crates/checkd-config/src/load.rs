//! The whole load: read the daemon config, find and read the check files, run both stages on
//! everything, then the checks that span files (unique ids, unique services per host).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use checkd_model::plan::{Datasource, Job, Plan, ProbeDatasource};

use crate::config::{self, Config, DsKind};
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::keypath::{join_index, join_key};
use crate::messages::lower_first;
use crate::raw;
use crate::source::SourceFile;
use crate::stage1;
use crate::tree::Pos;
use crate::values::Cx;
use crate::{FoundTestFile, LoadOptions, Loaded};

pub(crate) fn load(config_path: &Path, options: &LoadOptions<'_>) -> Result<Loaded, Diagnostics> {
    let compiled = crate::evaluation::Compiled::default();
    #[allow(
        clippy::disallowed_methods,
        reason = "whether a cron pattern still fires is asked of the real time at load"
    )]
    let mut cx = Cx {
        diags: Vec::new(),
        compiled: &compiled,
        env: options.env,
        now: chrono::Utc::now(),
    };
    let loaded = build(&mut cx, config_path, options);
    match loaded {
        Some(loaded) if cx.diags.is_empty() => Ok(loaded),
        _ => Err(Diagnostics::finish(cx.diags)),
    }
}

/// `None` only after at least one diagnostic.
fn build(cx: &mut Cx<'_>, config_path: &Path, options: &LoadOptions<'_>) -> Option<Loaded> {
    let config_text = read(cx, config_path, config_path)?;
    let config_src = SourceFile::new(config_path.to_path_buf(), &config_text);
    let raw: raw::ConfigFile = stage1::parse(&config_src, &mut cx.diags)?;
    let dir = config_path.parent().unwrap_or(Path::new(""));
    let config = config::resolve(
        cx,
        &config_src,
        &raw,
        options.execution_environment.as_deref(),
        dir,
    );
    let files = check_files(cx, &config_src, &config);
    let test_files = test_files(&config);
    let checked = check_all(cx, &config, &config_src, files);

    let mut jobs = Vec::new();
    // Where each id and service was first defined, as `file:line`.
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut services: HashMap<(String, String), String> = HashMap::new();
    for file in checked {
        cx.diags.extend(file.diags);
        let place = |at: &Place| format!("{}:{}", file.shown.display(), at.pos.line);
        let diag = |at: &Place, message: String| Diagnostic {
            file: file.shown.clone(),
            line: at.pos.line,
            column: at.pos.column,
            path: at.path.clone(),
            message,
        };
        for check in file.checks {
            match ids.get(&check.id) {
                Some(first) => {
                    let message = format!(
                        "duplicate check id {:?}, first defined at {first}",
                        check.id
                    );
                    cx.push(diag(&check.id_at, message));
                }
                None => {
                    ids.insert(check.id.clone(), place(&check.id_at));
                }
            }
            for job in check.jobs {
                let suffix = job
                    .evaluation
                    .foreach
                    .as_ref()
                    .map(|f| f.suffix.source())
                    .unwrap_or_default();
                let service = format!("{}{suffix}", job.service);
                match services.get(&(job.host.clone(), service.clone())) {
                    Some(first) => {
                        let message = format!(
                            "service {service:?} on host {} is already defined at {first}",
                            job.host
                        );
                        cx.push(diag(&check.name_at, message));
                    }
                    None => {
                        services.insert((job.host.clone(), service), place(&check.name_at));
                    }
                }
                jobs.push(job);
            }
        }
    }

    let Config {
        execution_environment,
        execution_environments,
        datasources,
        scheduler,
        server,
        output,
        cache,
        ..
    } = config;
    let datasources = datasources
        .into_iter()
        .filter_map(|(name, ds)| {
            ds.map(|ds| {
                let datasource = match ds.kind {
                    DsKind::Http(http) => Datasource::Http(http.client),
                    _ => Datasource::Probe(ProbeDatasource {
                        name: name.clone(),
                        max_concurrency: ds.max_concurrency,
                    }),
                };
                (name, datasource)
            })
        })
        .collect();
    // The plan lives as long as the daemon: no room to grow.
    jobs.shrink_to_fit();
    let mut output = output;
    if let Some(spool) = output.spool.as_mut().filter(|s| s.every.is_zero()) {
        spool.every = default_spool_every(&jobs);
    }
    let plan = Plan {
        execution_environment,
        execution_environments,
        datasources,
        jobs,
        scheduler,
        server,
        output,
        cache,
    };
    Some(Loaded { plan, test_files })
}

/// A place in a check file, kept for the checks that span files.
struct Place {
    path: String,
    pos: Pos,
}

/// One check of a file, resolved, with what the checks across files need.
struct Checked {
    id: String,
    id_at: Place,
    name_at: Place,
    jobs: Vec<Job>,
}

/// One check file after both stages; its tree is gone.
struct CheckedFile {
    shown: PathBuf,
    diags: Vec<Diagnostic>,
    checks: Vec<Checked>,
}

/// Both stages of one check file: read, parse once, deserialize, resolve every check.
fn check_file(
    cx: &mut Cx<'_>,
    config: &Config,
    config_src: &SourceFile<'_>,
    shown: PathBuf,
    real: &Path,
) -> Vec<Checked> {
    let Some(text) = read(cx, &shown, real) else {
        return Vec::new();
    };
    let src = SourceFile::new(shown, &text);
    let Some(file) = stage1::parse::<raw::CheckFile>(&src, &mut cx.diags) else {
        return Vec::new();
    };
    let mut checked = Vec::with_capacity(file.checks.len());
    for (i, unit) in file.checks.iter().enumerate() {
        let Some(check) = unit.ok() else { continue };
        let path = join_index("checks", i);
        let resolved = crate::check::resolve(cx, config, config_src, &src, &path, check);
        let name_path = join_key(&path, "name");
        checked.push(Checked {
            id_at: Place {
                pos: src.pos(&resolved.id_path),
                path: resolved.id_path,
            },
            name_at: Place {
                pos: src.pos(&name_path),
                path: name_path,
            },
            id: resolved.id,
            jobs: resolved.jobs,
        });
    }
    checked
}

/// Both stages of every check file, on every core: files are independent, and one file's
/// tree lives only while its file is resolved. Results come back in file order.
fn check_all(
    cx: &Cx<'_>,
    config: &Config,
    config_src: &SourceFile<'_>,
    files: Vec<(PathBuf, PathBuf)>,
) -> Vec<CheckedFile> {
    let (env, now, compiled) = (cx.env, cx.now, cx.compiled);
    let one = |(shown, real): (PathBuf, PathBuf)| {
        let mut cx = Cx {
            diags: Vec::new(),
            compiled,
            env,
            now,
        };
        let checks = check_file(&mut cx, config, config_src, shown.clone(), &real);
        CheckedFile {
            shown,
            diags: cx.diags,
            checks,
        }
    };
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(files.len());
    if workers <= 1 {
        return files.into_iter().map(one).collect();
    }
    let queue = std::sync::Mutex::new(files.into_iter().enumerate());
    let next = || {
        queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .next()
    };
    let mut done: Vec<(usize, CheckedFile)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    while let Some((index, file)) = next() {
                        out.push((index, one(file)));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            // A worker that panicked would lose files silently; re-raise it instead.
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    done.sort_by_key(|(index, _)| *index);
    done.into_iter().map(|(_, file)| file).collect()
}

/// Spool files are rewritten as often as the most frequent check runs, between 10 s and 5 min.
fn default_spool_every(jobs: &[checkd_model::plan::Job]) -> std::time::Duration {
    use std::time::Duration;
    let shortest = jobs
        .iter()
        .filter_map(|job| match job.schedule {
            checkd_model::plan::Schedule::Every(interval) => Some(interval),
            checkd_model::plan::Schedule::Cron { .. } => None,
        })
        .min()
        .unwrap_or(Duration::from_secs(60));
    shortest.clamp(Duration::from_secs(10), Duration::from_secs(300))
}

/// Reads a file; a problem is a diagnostic at 1:1 of it.
pub(crate) fn read(cx: &mut Cx<'_>, shown: &Path, real: &Path) -> Option<String> {
    match std::fs::read_to_string(real) {
        Ok(text) => Some(text),
        Err(err) => {
            let why = match err.kind() {
                std::io::ErrorKind::NotFound => "no such file".to_string(),
                _ => io_message(&err),
            };
            cx.push(Diagnostic {
                file: shown.to_path_buf(),
                line: 1,
                column: 1,
                path: String::new(),
                message: format!("cannot read the file: {why}"),
            });
            None
        }
    }
}

pub(crate) fn io_message(err: &std::io::Error) -> String {
    let text = err.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    lower_first(text)
}

/// The check files of every check directory, in name order per directory, each file once.
/// Test files (`*.test.yaml`) sit beside them and are left to `checkd test`.
fn check_files(
    cx: &mut Cx<'_>,
    config_src: &SourceFile,
    config: &Config,
) -> Vec<(PathBuf, PathBuf)> {
    yaml_files(
        config,
        |name| !is_test_file(name),
        |shown, entry, err| {
            let why = match err.kind() {
                std::io::ErrorKind::NotFound => "does not exist".to_string(),
                _ => format!("cannot be read: {}", io_message(&err)),
            };
            let message = format!("check directory {} {why}", shown.display());
            cx.push(config_src.diag(entry, message));
        },
    )
}

/// The test files of every check directory, in name order per directory, each file once. A
/// directory that cannot be read is reported by [`check_files`] already.
fn test_files(config: &Config) -> Vec<FoundTestFile> {
    yaml_files(config, is_test_file, |_, _, _| {})
        .into_iter()
        .map(|(shown, path)| FoundTestFile { shown, path })
        .collect()
}

/// `*.test.yaml` and `*.test.yml`: the test files of `checkd test`, never check files.
fn is_test_file(name: &Path) -> bool {
    name.file_stem()
        .is_some_and(|stem| Path::new(stem).extension().is_some_and(|ext| ext == "test"))
}

/// The YAML files that `wanted` accepts in every check directory (not hidden ones), in name
/// order per directory, each file once, as (shown, read from); `unreadable` hears of each
/// directory that cannot be listed.
fn yaml_files(
    config: &Config,
    wanted: impl Fn(&Path) -> bool,
    mut unreadable: impl FnMut(&Path, &str, std::io::Error),
) -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for (shown, real, entry) in &config.check_dirs {
        let listing = match std::fs::read_dir(real) {
            Ok(listing) => listing,
            Err(err) => {
                unreadable(shown, entry, err);
                continue;
            }
        };
        let mut names: Vec<std::ffi::OsString> = listing
            .filter_map(Result::ok)
            .map(|entry| entry.file_name())
            .filter(|name| {
                let name = Path::new(name);
                let hidden = name.to_string_lossy().starts_with('.');
                let yaml = name
                    .extension()
                    .is_some_and(|ext| ext == "yaml" || ext == "yml");
                !hidden && yaml && wanted(name) && real.join(name).is_file()
            })
            .collect();
        names.sort();
        for name in names {
            let path = real.join(&name);
            let identity = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            if !seen.contains(&identity) {
                seen.push(identity);
                out.push((shown.join(&name), path));
            }
        }
    }
    out
}
