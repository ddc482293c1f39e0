//! `dataconnect migrate`: copies an SQLite store into PostgreSQL, for an
//! operator who outgrows one file (many meters, several sync processes).
//!
//! Every table is copied (readings, coverage, consents, pending consent
//! requests, meters, series states, sync runs, quota counters) from one
//! snapshot of the file, with upserts, so running it twice changes nothing.
//! At the end it counts the rows of every table on both sides and compares a
//! digest of every reading's fields, read back from PostgreSQL, and says so;
//! any difference is an error. The SQLite file is only read.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;
use dataconnect_store::{CopyReport, PgConfig, PgStore, copy_from_sqlite};

use crate::error::{Class, CliError};

#[derive(Args)]
pub struct Cmd {
    /// The SQLite database to copy (only read; stop syncs into it first).
    #[arg(long, value_name = "PATH")]
    from: PathBuf,
    /// The PostgreSQL database to copy into: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE.
    #[arg(long, value_name = "URL")]
    to: String,
    /// A schema of that database to hold the tables (created if needed)
    /// [default: the server's search_path, normally public].
    #[arg(long, value_name = "NAME")]
    schema: Option<String>,
}

impl std::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: show it through the store's config,
        // whose Debug redacts it.
        f.debug_struct("Cmd")
            .field("from", &self.from)
            .field("to", &PgConfig::new(self.to.clone()))
            .field("schema", &self.schema)
            .finish()
    }
}

impl Cmd {
    pub async fn run(self) -> Result<(), CliError> {
        if !dataconnect_store::is_postgres_url(&self.to) {
            return Err(CliError::usage(
                "--to must be a PostgreSQL URL (postgres://USER@HOST:PORT/DATABASE); to copy a file, copy the file",
            ));
        }
        if !self.from.is_file() {
            return Err(CliError::new(
                Class::Store,
                format!("no database at {}: pass --from with the SQLite file to copy", self.from.display()),
            ));
        }
        let config = PgConfig { schema: self.schema.clone(), ..PgConfig::new(self.to.clone()) };
        let from = self.from.clone();
        // The copy blocks on the database for its whole length: keep it off
        // the async runtime's threads.
        let (report, target) = tokio::task::spawn_blocking(move || -> Result<(CopyReport, String), CliError> {
            let target = PgStore::open(&config)?;
            let show = std::io::stderr().is_terminal();
            let mut progress = |n: u64| {
                if show {
                    eprint!("\rcopied {n} readings");
                }
            };
            let report = copy_from_sqlite(&from, &target, &mut progress)?;
            if show {
                eprintln!();
            }
            Ok((report, target.target().to_owned()))
        })
        .await
        .map_err(|e| CliError::internal(format!("the copy stopped unexpectedly: {e}")))??;

        println!("copied {} into PostgreSQL {target}", self.from.display());
        println!("{:<16} {:>12} {:>12}", "table", "SQLite", "PostgreSQL");
        for (table, s, t) in &report.tables {
            let mark = if s == t { "" } else { "  <- differs" };
            println!("{table:<16} {s:>12} {t:>12}{mark}");
        }
        println!("{:<16} {:>12x} {:>12x}", "readings digest", report.source_digest, report.target_digest);
        if report.verified() {
            println!(
                "verified: every table has as many rows in PostgreSQL as in {}, and the digest of every reading's fields matches",
                self.from.display()
            );
            Ok(())
        } else {
            Err(CliError::new(
                Class::Store,
                "the copy does not match its source (see the table above): the target held other data before; copy into an empty database or --schema",
            ))
        }
    }
}
