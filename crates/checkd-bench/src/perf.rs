//! A `perf record` profile of the daemon during one phase (`--perf DIR`), with the top symbols
//! written beside it. Uses the software `cpu-clock` event, so it works in VMs without
//! hardware counters. Figures of a profiled run are skewed by perf itself.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use tokio::process::{Child, Command};

/// `perf record` attached to a running process (software clock, no hardware counters needed).
#[derive(Debug)]
pub struct Perf {
    child: Child,
    data: PathBuf,
}

impl Perf {
    pub fn attach(pid: u32, data: &Path) -> anyhow::Result<Perf> {
        if let Some(dir) = data.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let child = Command::new("perf")
            .args(["record", "-q", "-e", "cpu-clock", "-F", "499", "-p"])
            .arg(pid.to_string())
            .arg("-o")
            .arg(data)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("cannot run perf (apt-get install -y linux-perf)")?;
        Ok(Perf {
            child,
            data: data.to_path_buf(),
        })
    }

    /// Stops recording (SIGINT, as perf expects) and writes the top symbols beside the data.
    pub async fn stop(mut self, what: &str) -> anyhow::Result<String> {
        if let Some(pid) = self.child.id() {
            Command::new("kill")
                .args(["-INT", &pid.to_string()])
                .status()
                .await?;
        }
        tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .context("perf record did not stop within 60 s")??;
        let report = tokio::time::timeout(
            Duration::from_secs(120),
            Command::new("perf")
                .arg("report")
                .arg("-i")
                .arg(&self.data)
                .args([
                    "--stdio",
                    "--no-children",
                    "--sort",
                    "dso,symbol",
                    "--percent-limit",
                    "1",
                ])
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .output(),
        )
        .await
        .context("perf report took longer than 120 s")??;
        let text = self.data.with_extension("txt");
        std::fs::write(&text, &report.stdout)?;
        Ok(format!(
            "perf profile of {what}: `{}`, top symbols in `{}`",
            self.data.display(),
            text.display()
        ))
    }
}
