//! The `checkd` binary: the command line, the daemon's lifecycle, the HTTP routes and the
//! exit codes — and nothing else. Checks are modelled in checkd-model, loaded by
//! checkd-config, run by checkd-scheduler through checkd-datasource, kept by checkd-store and
//! rendered by checkd-checkmk.

mod cli;
mod commands;
mod metrics;
mod runner;
mod selfmon;
mod server;
mod spool;
mod view;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, LogFormat};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!("cannot start the async runtime: {error:#}");
            return ExitCode::from(commands::EXIT_INTERNAL);
        }
    };
    runtime.block_on(async {
        match cli.command {
            Command::Validate { config, explain } => {
                commands::validate::run(&config.config, explain)
            }
            Command::Once {
                config,
                environments,
                checks,
                format,
                no_cache,
            } => {
                commands::once::run(&config.config, &environments, &checks, format, no_cache).await
            }
            Command::Run { config } => commands::daemon::run(&config.config).await,
            Command::Test { config, files } => commands::test::run(&config.config, &files),
            Command::Output { config, format } => {
                commands::output::run(&config.config, format).await
            }
            Command::Schema { file } => commands::schema::run(file),
        }
    })
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CHECKD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
