//! The command-line contract of `product.md`.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "checkd",
    version,
    about = "Runs monitoring checks and hands the results to Checkmk"
)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human, env = "CHECKD_LOG_FORMAT")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArg {
    /// The daemon config file.
    #[arg(long, env = "CHECKD_CONFIG", default_value = "/etc/checkd/checkd.yaml")]
    pub config: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load and validate the config and all checks; print every problem as file:line:col.
    Validate {
        #[command(flatten)]
        config: ConfigArg,
        /// Also print, for every execution environment, which (check, environment) pairs an
        /// instance there runs, skips (shows without running) or leaves out.
        #[arg(long)]
        explain: bool,
    },
    /// Run the selected checks now and print the results; exits with the worst state's code.
    Once {
        #[command(flatten)]
        config: ConfigArg,
        /// Only these target environments (repeatable).
        #[arg(long = "env")]
        environments: Vec<String>,
        /// Only these checks, by id (repeatable).
        #[arg(long = "check")]
        checks: Vec<String>,
        #[arg(long, value_enum, default_value_t = OnceFormat::Table)]
        format: OnceFormat,
        /// Run every selected check even if a fresh result is stored.
        #[arg(long)]
        no_cache: bool,
    },
    /// The daemon: schedule, cache and serve.
    Run {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Run the recorded responses of test files (*.test.yaml) through their checks, offline,
    /// and print what differs; exits 1 when a case fails.
    Test {
        #[command(flatten)]
        config: ConfigArg,
        /// Test files to run; without any, every *.test.yaml of the check directories.
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Print the current results without running checks.
    Output {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long, value_enum, default_value_t = OutputFormat::Checkmk)]
        format: OutputFormat,
    },
    /// Print the JSON Schema of the daemon config or of check files, for editors.
    Schema {
        /// Which file the schema describes.
        #[arg(value_enum)]
        file: SchemaFor,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaFor {
    /// The daemon config (`checkd.yaml`).
    Config,
    /// A check file (`checks/*.yaml`).
    Checks,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnceFormat {
    Table,
    Checkmk,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Checkmk,
    Json,
}
