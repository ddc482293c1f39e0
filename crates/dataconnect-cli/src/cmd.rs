//! The subcommands, one file each under `cmd/`.
//!
//! Each file holds a `#[derive(Args)] pub struct Cmd` and its
//! `pub async fn run(self) -> Result<(), CliError>`. Commands that talk to
//! the API or the store flatten [`GlobalArgs`](crate::settings::GlobalArgs)
//! into their `Cmd` (not as global flags, because `sandbox` has its own
//! `--client-id`, `--today`… for the server side).
//! Adding a command is one file, one `mod` line and one variant below (its
//! doc comment is the `--help` line).

pub mod capacity;
pub mod config;
pub mod consent;
pub mod costs;
pub mod demo;
pub mod doctor;
pub mod export;
pub mod fetch;
pub mod import;
#[cfg(feature = "postgres")]
pub mod migrate;
pub mod plot;
pub mod publish;
pub mod sandbox;
pub mod serve;
pub mod status;
pub mod sync;
pub mod tariffs;
pub mod tempo;

mod bench;
mod bench_costs;

use clap::Subcommand;

use crate::error::CliError;

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the whole journey against the embedded sandbox: consent, token, contract, full backfill, summary.
    Demo(demo::Cmd),
    /// Ask a customer for consent (prints the authorize URL), or complete it from the redirect.
    Consent(consent::Cmd),
    /// Fetch what the store lacks for every consented meter, in the fewest calls.
    Sync(sync::Cmd),
    /// Fetch one series straight from the API to standard output (no store).
    Fetch(fetch::Cmd),
    /// Write stored readings as CSV, JSON, JSON lines or InfluxDB line protocol.
    Export(export::Cmd),
    /// Read Enedis portal exports (CSV, XLSX), Conso Downloader CSV or this tool's exports into the store.
    Import(import::Cmd),
    /// Send stored readings to InfluxDB/VictoriaMetrics, or to Home Assistant (MQTT discovery, long-term statistics).
    Publish(publish::Cmd),
    /// Draw one stored series as an SVG or PNG chart, or in the terminal.
    Plot(plot::Cmd),
    /// Show consents and their expiry, what is stored and missing per series, the last sync and the quota used.
    Status(status::Cmd),
    /// Write a commented config file template (`config init`), or print where it is read from (`config path`).
    Config(config::Cmd),
    /// Check one meter for the failures users hit most (curve collection, direction, activation, consent, quota…), with the fix for each.
    Doctor(doctor::Cmd),
    /// What the stored consumption cost per month and period with an offer (trv-base, trv-hphc, trv-tempo, market offers); --compare ranks the offers, --advise-power names the subscribed power.
    Costs(costs::Cmd),
    /// The catalogue of offers and prices: list, show, import the regulator's tables.
    Tariffs(tariffs::Cmd),
    /// RTE's Tempo calendar: update from RTE's API, or import a saved answer.
    Tempo(tempo::Cmd),
    /// Estimate what the quota allows: calls a day per API for N meters at a freshness, the most meters, back-fill times.
    Capacity(capacity::Cmd),
    /// Run the offline Data Connect sandbox as a server.
    Sandbox(sandbox::Cmd),
    /// Serve the consent journey (French pages), meter pages, a JSON API and metrics, and sync new consents.
    Serve(serve::Cmd),
    /// Copy an SQLite store into PostgreSQL (every table, verified by counts and a digest of the readings).
    #[cfg(feature = "postgres")]
    Migrate(migrate::Cmd),
    /// Measure calls against the minimum and the store's ingest rate.
    #[command(hide = true)]
    Bench(bench::Cmd),
}

impl Command {
    pub async fn run(self) -> Result<(), CliError> {
        match self {
            Command::Demo(c) => c.run().await,
            Command::Consent(c) => c.run().await,
            Command::Sync(c) => c.run().await,
            Command::Fetch(c) => c.run().await,
            Command::Export(c) => c.run().await,
            Command::Import(c) => c.run().await,
            Command::Plot(c) => c.run().await,
            Command::Publish(c) => c.run().await,
            Command::Status(c) => c.run().await,
            Command::Config(c) => c.run().await,
            Command::Doctor(c) => c.run().await,
            Command::Costs(c) => c.run().await,
            Command::Tariffs(c) => c.run().await,
            Command::Tempo(c) => c.run().await,
            Command::Capacity(c) => c.run().await,
            Command::Sandbox(c) => c.run().await,
            Command::Serve(c) => c.run().await,
            #[cfg(feature = "postgres")]
            Command::Migrate(c) => c.run().await,
            Command::Bench(c) => c.run().await,
        }
    }
}
