//! Files in the Checkmk agent's spool directory: one per host, replaced atomically.
//!
//! The agent prints every file of its spool directory whose age is below the number its name
//! starts with. checkd rewrites its files every `output.spool.every` and names them
//! `<3 × every>_checkd_<host>.txt`, so when checkd stops the agent drops them and the services
//! go stale in Checkmk instead of showing old results as current.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// Writes `files` (host → content; `""` is checkd's own service) into `dir` and removes
/// checkd's files of hosts that are gone. A reader never sees a half-written file: each is
/// written under a name the agent ignores (leading `.`), synced, then renamed into place.
pub fn write(dir: &Path, every: Duration, files: &[(String, String)]) -> std::io::Result<()> {
    let max_age = max_age(every);
    let mut written = HashSet::new();
    for (host, content) in files {
        let name = if host.is_empty() {
            format!("{max_age}_checkd.txt")
        } else {
            format!(
                "{max_age}_checkd_{}.txt",
                checkd_checkmk::coerce_host_name(host)
            )
        };
        let temporary = dir.join(format!(".{name}.tmp"));
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(content.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temporary, dir.join(&name))?;
        written.insert(name);
    }
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if is_ours(&name) && !written.contains(&name) {
            std::fs::remove_file(dir.join(&name))?;
        }
    }
    Ok(())
}

/// Three rewrite periods, in whole seconds, at least 1.
fn max_age(every: Duration) -> u64 {
    (every.as_secs_f64() * 3.0).ceil().max(1.0) as u64
}

/// `<digits>_checkd.txt` or `<digits>_checkd_<host>.txt`: names checkd writes.
fn is_ours(name: &str) -> bool {
    let Some((age, rest)) = name.split_once('_') else {
        return false;
    };
    !age.is_empty()
        && age.bytes().all(|b| b.is_ascii_digit())
        && (rest == "checkd.txt" || (rest.starts_with("checkd_") && rest.ends_with(".txt")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_named_by_max_age_and_host_and_stale_ones_go() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("180_checkd_old-host.txt"), "x").unwrap();
        std::fs::write(dir.path().join("300_other_plugin.txt"), "keep").unwrap();
        let files = vec![
            (String::new(), "<<<local:sep(0)>>>\n".to_string()),
            ("prod".to_string(), "p\n".to_string()),
        ];
        write(dir.path(), Duration::from_secs(60), &files).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            vec![
                "180_checkd.txt",
                "180_checkd_prod.txt",
                "300_other_plugin.txt"
            ]
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("180_checkd_prod.txt")).unwrap(),
            "p\n"
        );
    }

    #[test]
    fn max_age_is_three_periods_rounded_up() {
        assert_eq!(max_age(Duration::from_secs(60)), 180);
        assert_eq!(max_age(Duration::from_millis(50)), 1);
        assert_eq!(max_age(Duration::from_millis(1500)), 5);
    }
}
