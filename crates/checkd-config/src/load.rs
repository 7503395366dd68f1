//! The whole load: read the daemon config, find and read the check files, run both stages on
//! everything, then the checks that span files (unique ids, unique services per host).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use checkd_model::plan::{Datasource, Plan, ProbeDatasource};

use crate::config::{self, Config};
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::messages::lower_first;
use crate::raw;
use crate::source::{join_index, join_key, SourceFile};
use crate::stage1;
use crate::values::Cx;
use crate::LoadOptions;

pub(crate) fn load(config_path: &Path, options: &LoadOptions<'_>) -> Result<Plan, Diagnostics> {
    let mut cx = Cx {
        diags: Vec::new(),
        env: options.env,
        now: chrono::Utc::now(),
    };
    let plan = build(&mut cx, config_path, options);
    match plan {
        Some(plan) if cx.diags.is_empty() => Ok(plan),
        _ => Err(Diagnostics::finish(cx.diags)),
    }
}

/// `None` only after at least one diagnostic.
fn build(cx: &mut Cx<'_>, config_path: &Path, options: &LoadOptions<'_>) -> Option<Plan> {
    let config_src = read(cx, config_path.to_path_buf(), config_path)?;
    let raw: raw::ConfigFile = stage1::parse(&config_src, &mut cx.diags)?;
    let dir = config_path.parent().unwrap_or(Path::new(""));
    let config = config::resolve(
        cx,
        &config_src,
        &raw,
        options.execution_environment.as_deref(),
        dir,
    );

    let mut sources = Vec::new();
    for (shown, real) in check_files(cx, &config_src, &config) {
        sources.extend(read(cx, shown, &real));
    }
    let mut files = Vec::new();
    for (src, file, diags) in parse_all(sources) {
        cx.diags.extend(diags);
        files.extend(file.map(|file| (src, file)));
    }

    let mut jobs = Vec::new();
    // Where each id and service was first defined (file, key path), as a place only when a
    // duplicate needs it: places need the files' positions, which a healthy load never reads.
    let mut ids: HashMap<String, (usize, String)> = HashMap::new();
    let mut services: HashMap<(String, String), (usize, String)> = HashMap::new();
    let place = |(file, path): &(usize, String)| files[*file].0.place(path);
    for (index, (src, file)) in files.iter().enumerate() {
        for (i, unit) in file.checks.iter().enumerate() {
            let Some(check) = unit.ok() else { continue };
            let path = join_index("checks", i);
            let resolved = crate::check::resolve(cx, &config, &config_src, src, &path, check);
            match ids.get(&resolved.id) {
                Some(first) => {
                    let message = format!(
                        "duplicate check id {:?}, first defined at {}",
                        resolved.id,
                        place(first)
                    );
                    cx.push(src.diag(&resolved.id_path, message));
                }
                None => {
                    ids.insert(resolved.id.clone(), (index, resolved.id_path.clone()));
                }
            }
            let name_path = join_key(&path, "name");
            for job in resolved.jobs {
                let suffix = job
                    .evaluation
                    .foreach
                    .as_ref()
                    .map(|f| f.suffix.as_str())
                    .unwrap_or_default();
                let service = format!("{}{suffix}", job.service);
                match services.get(&(job.host.clone(), service.clone())) {
                    Some(first) => {
                        let message = format!(
                            "service {service:?} on host {} is already defined at {}",
                            job.host,
                            place(first)
                        );
                        cx.push(src.diag(&name_path, message));
                    }
                    None => {
                        services.insert((job.host.clone(), service), (index, name_path.clone()));
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
                    raw::DatasourceType::Http => Datasource::Http(ds.http),
                    _ => Datasource::Probe(ProbeDatasource {
                        name: ds.http.name,
                        max_concurrency: ds.http.max_concurrency,
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
    Some(Plan {
        execution_environment,
        execution_environments,
        datasources,
        jobs,
        scheduler,
        server,
        output,
        cache,
    })
}

/// Stage 1 of every check file, on every core: parsing YAML is most of a load, and files are
/// independent. Results come back in file order, each with its own diagnostics.
fn parse_all(
    sources: Vec<SourceFile>,
) -> Vec<(SourceFile, Option<raw::CheckFile>, Vec<Diagnostic>)> {
    let parse = |src: SourceFile| {
        let mut diags = Vec::new();
        let file = stage1::parse::<raw::CheckFile>(&src, &mut diags);
        (src, file, diags)
    };
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(sources.len());
    if workers <= 1 {
        return sources.into_iter().map(parse).collect();
    }
    let queue = std::sync::Mutex::new(sources.into_iter().enumerate());
    let next = || {
        queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .next()
    };
    let mut done: Vec<(usize, _)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    while let Some((index, src)) = next() {
                        out.push((index, parse(src)));
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
    done.into_iter().map(|(_, parsed)| parsed).collect()
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
fn read(cx: &mut Cx<'_>, shown: PathBuf, real: &Path) -> Option<SourceFile> {
    match std::fs::read_to_string(real) {
        Ok(text) => Some(SourceFile::new(shown, text)),
        Err(err) => {
            let why = match err.kind() {
                std::io::ErrorKind::NotFound => "no such file".to_string(),
                _ => io_message(&err),
            };
            cx.push(Diagnostic {
                file: shown,
                line: 1,
                column: 1,
                path: String::new(),
                message: format!("cannot read the file: {why}"),
            });
            None
        }
    }
}

fn io_message(err: &std::io::Error) -> String {
    let text = err.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    lower_first(text)
}

/// The check files of every check directory, in name order per directory, each file once.
fn check_files(
    cx: &mut Cx<'_>,
    config_src: &SourceFile,
    config: &Config,
) -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for (shown, real, entry) in &config.check_dirs {
        let listing = match std::fs::read_dir(real) {
            Ok(listing) => listing,
            Err(err) => {
                let why = match err.kind() {
                    std::io::ErrorKind::NotFound => "does not exist".to_string(),
                    _ => format!("cannot be read: {}", io_message(&err)),
                };
                let message = format!("check directory {} {why}", shown.display());
                cx.push(config_src.diag(entry, message));
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
                !hidden && yaml && real.join(name).is_file()
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
