//! `dataconnect publish influx`: the store's readings in line protocol to
//! InfluxDB 1.x (`/write`), InfluxDB 2 (`/api/v2/write`) or VictoriaMetrics
//! (`/write`), in batches, idempotently.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use dataconnect_store::ReadingFilter;

use crate::error::CliError;
use crate::publish::influx::{self, InfluxTarget, TargetArgs, Writer};
use crate::settings::{GlobalArgs, Settings};

#[derive(Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    global: GlobalArgs,
    /// The server: its base URL (http://HOST:8428 for VictoriaMetrics,
    /// http://HOST:8086 for InfluxDB), or a URL ending in /write or /api/v2/write.
    #[arg(long, value_name = "URL")]
    url: String,
    /// A file holding the API token (InfluxDB 2), or user:password (InfluxDB 1.x) (or set DATACONNECT_INFLUX_TOKEN).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// InfluxDB 1.x database (VictoriaMetrics takes it as a `db` label).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["org", "bucket"])]
    database: Option<String>,
    /// InfluxDB 2 organisation (with --bucket).
    #[arg(long, value_name = "ORG")]
    org: Option<String>,
    /// InfluxDB 2 bucket (with --org).
    #[arg(long, value_name = "BUCKET")]
    bucket: Option<String>,
    /// Only readings from this Paris day on, YYYY-MM-DD (default: everything stored).
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Only these meters (repeat or separate with commas).
    #[arg(long, value_name = "PRM")]
    prm: Vec<String>,
    /// Only these series (repeat or separate with commas).
    #[arg(long, value_name = "SERIES")]
    series: Vec<String>,
    /// Points per request.
    #[arg(long, value_name = "N", default_value_t = influx::BATCH_LINES, hide = true)]
    batch: usize,
}

impl Cmd {
    pub async fn run(self) -> Result<(), CliError> {
        let settings = Settings::resolve(&self.global)?;
        let token =
            crate::publish::secret_from(self.token_file.as_deref(), "--token-file", "DATACONNECT_INFLUX_TOKEN")?;
        let target = InfluxTarget::new(TargetArgs {
            url: &self.url,
            database: self.database.as_deref(),
            org: self.org.as_deref(),
            bucket: self.bucket.as_deref(),
            token,
        })?;
        let since = crate::store::date("--since", self.since.as_deref())?;
        let filter = ReadingFilter {
            usage_points: crate::store::prms(&self.prm)?,
            series: crate::store::series(&self.series)?,
            from: since.map(dataconnect::domain::paris_day_start),
            to: None,
        };
        if !crate::store::exists(&settings.db) {
            return Err(CliError::config(format!(
                "no store at {}: run `dataconnect sync` first, or pass --db",
                crate::store::shown(&settings.db)
            )));
        }
        let store = Arc::new(crate::store::open_ro(&settings.db)?);
        let writer = Writer::new(target)?;
        let report = influx::publish(store, filter, &writer, self.batch.max(1)).await?;
        println!(
            "published {} point(s) to {} in {} request(s){}",
            report.points,
            writer.target().shown(),
            report.batches,
            if report.nulls > 0 {
                format!("; {} reading(s) without a value left out", report.nulls)
            } else {
                String::new()
            }
        );
        Ok(())
    }
}
