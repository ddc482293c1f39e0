//! `dataconnect`: consent, sync into SQLite with the fewest calls, export,
//! and an embedded Data Connect sandbox, in one binary.
//!
//! This file only parses the command line, runs the chosen subcommand on a
//! tokio runtime and turns its error into one line on standard error and an
//! exit code (see `error.rs` for the table). Subcommands live one per file
//! under `cmd/`; adding one is a file and a variant in `cmd.rs`.

mod chart_data;
mod chart_render;
mod cmd;
mod consent_redirect;
mod embedded_sandbox;
mod error;
mod html;
mod output;
mod pricing;
mod progress;
mod publish;
mod settings;
mod source;
mod store;
mod sync_engine;

use std::process::ExitCode;

use clap::Parser;

use crate::error::{Class, CliError};

/// Enedis Data Connect from the command line: collect consents, keep Linky
/// meter data current in SQLite, export it, and try it all offline with the
/// embedded sandbox (`dataconnect demo`).
#[derive(Parser, Debug)]
#[command(name = "dataconnect", version, about, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: cmd::Command,
}

const EXIT_CODES: &str = "Exit codes: 0 ok, 1 internal, 2 usage, 3 date range, 4 config, 5 credentials refused, \
6 consent, 7 network, 8 database, 9 API refusal or quota, 10 sync incomplete (run it again).";

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind as K;
            if matches!(e.kind(), K::DisplayHelp | K::DisplayVersion | K::DisplayHelpOnMissingArgumentOrSubcommand) {
                e.exit();
            }
            // clap's own report spans several lines; the first one names the
            // problem, and the hint points at the fix.
            let rendered = e.render().to_string();
            let first = rendered.lines().find(|l| !l.trim().is_empty()).unwrap_or("invalid arguments");
            let first = first.trim_start_matches("error: ");
            eprintln!("error: {first} (see dataconnect --help)");
            return ExitCode::from(Class::Usage.exit_code());
        }
    };
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().worker_threads(2).build() {
        Ok(rt) => rt,
        Err(e) => return fail(&CliError::internal(format!("cannot start the async runtime: {e}"))),
    };
    match runtime.block_on(cli.command.run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// Diagnostic logs on standard error, only when `RUST_LOG` asks for them
/// (e.g. `RUST_LOG=dataconnect=debug`): by default standard error holds
/// nothing but the one line of a failure, which scripts rely on. Secrets
/// never reach these logs: they are newtypes that print `[redacted]`, and
/// the secrets audit test runs every command at `trace`.
fn init_logging() {
    let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG") else { return };
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(false).try_init();
}

fn fail(e: &CliError) -> ExitCode {
    let line = e.line();
    if !line.is_empty() {
        eprintln!("error: {line}");
    }
    ExitCode::from(e.class().exit_code())
}
