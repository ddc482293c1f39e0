//! `dataconnect export`: stored readings in the one stable schema (CSV, JSON
//! or JSON lines), streamed from the store so memory stays flat. The index
//! series (`--series consumption-index,production-index`) have a schema of
//! their own (one row per register and day, see `output::IndexWriter`), so
//! they are exported on their own.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use dataconnect_store::{ReadingFilter, Store};

use crate::error::CliError;
use crate::output::{Format, IndexWriter, ReadingWriter, Tz};
use crate::settings::{GlobalArgs, Settings};

#[derive(Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    global: GlobalArgs,
    /// csv, json, jsonl, table, or influx (line protocol, seconds: write with precision=s).
    #[arg(long, value_enum, default_value = "csv")]
    format: Format,
    /// Only these meters (repeat or separate with commas).
    #[arg(long, value_name = "PRM")]
    prm: Vec<String>,
    /// Only these series (repeat or separate with commas).
    #[arg(long, value_name = "SERIES")]
    series: Vec<String>,
    /// First Paris day, YYYY-MM-DD (inclusive).
    #[arg(long, value_name = "DATE")]
    from: Option<String>,
    /// Last Paris day, YYYY-MM-DD (exclusive).
    #[arg(long, value_name = "DATE")]
    to: Option<String>,
    /// Time zone of the printed instants.
    #[arg(long, value_enum, default_value = "Europe/Paris")]
    tz: Tz,
    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

impl Cmd {
    pub async fn run(self) -> Result<(), CliError> {
        let settings = Settings::resolve(&self.global)?;
        let from = crate::store::date("--from", self.from.as_deref())?;
        let to = crate::store::date("--to", self.to.as_deref())?;
        if let (Some(f), Some(t)) = (from, to) {
            dataconnect::DateRange::new(f, t).map_err(|e| CliError::new(crate::error::Class::Range, e.to_string()))?;
        }
        let filter = ReadingFilter {
            usage_points: crate::store::prms(&self.prm)?,
            series: crate::store::series(&self.series)?,
            from: from.map(dataconnect::domain::paris_day_start),
            to: to.map(dataconnect::domain::paris_day_start),
        };
        let store = crate::store::open_ro(&settings.db)?;
        let out: Box<dyn Write> = match &self.out {
            Some(path) => Box::new(
                std::fs::File::create(path)
                    .map_err(|e| CliError::usage(format!("cannot create {}: {e}: check --out", path.display())))?,
            ),
            None => Box::new(std::io::stdout().lock()),
        };
        let out = std::io::BufWriter::with_capacity(1 << 16, out);
        let indexes = filter.series.iter().filter(|s| s.is_index()).count();
        if indexes > 0 && indexes < filter.series.len() {
            return Err(CliError::usage(
                "index series have their own columns (one row per register and day): export them on their own, e.g. `--series consumption-index`",
            ));
        }
        if indexes > 0 {
            let mut writer = IndexWriter::new(out, self.format, self.tz)?;
            let result =
                store.for_each_index_reading(&filter, &mut |r| writer.write(&r.usage_point_id, r.series, &r.reading));
            return finish(result, || writer.finish().map(|_| ()));
        }
        let mut writer = ReadingWriter::new(out, self.format, self.tz)?;
        let result = store.for_each_reading(&filter, &mut |r| writer.write(&r.usage_point_id, r.series, &r.reading));
        finish(result, || writer.finish().map(|_| ()))
    }
}

/// Ends an export: a closed pipe (`| head`) is the reader's choice, not a
/// failure; otherwise the writer's closing and flush.
fn finish(
    result: Result<u64, dataconnect_store::StoreError>,
    close: impl FnOnce() -> std::io::Result<()>,
) -> Result<(), CliError> {
    {
        match result {
            Ok(_) => {}
            // A closed pipe (`| head`) is the reader's choice, not a failure.
            Err(e) if e.kind() == dataconnect_store::StoreErrorKind::Output && broken_pipe(&e) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        close()?;
        Ok(())
    }
}

fn broken_pipe(e: &dataconnect_store::StoreError) -> bool {
    std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}
