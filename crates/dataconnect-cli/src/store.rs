//! Opening the store from the settings, and the date/series/PRM arguments
//! that several commands share.

use std::path::Path;

use dataconnect::{DateRange, Series, UsagePointId};
use dataconnect_store::{OpenMode, SqliteConfig, SqliteStore, Store};
use jiff::civil::Date;

use crate::error::{Class, CliError};
use crate::settings::parse_date;

/// A store of either backend, picked by `--db`: a `postgres://` or
/// `postgresql://` URL opens PostgreSQL, anything else is an SQLite file.
pub type AnyStore = Box<dyn Store>;

/// The PostgreSQL URL that `--db` holds, if it holds one (the store's rule:
/// `postgres://` or `postgresql://`, in any case).
pub fn postgres_url(db: &Path) -> Option<&str> {
    db.to_str().filter(|s| dataconnect_store::is_postgres_url(s))
}

/// `--db` as shown to the user: a PostgreSQL URL loses its password, which
/// must never reach the terminal or a log (the store's redactor, so that
/// every message shows a URL the same way).
pub fn shown(db: &Path) -> String {
    match postgres_url(db) {
        Some(text) => dataconnect_store::redact_url(text),
        None => db.display().to_string(),
    }
}

/// True when `--db` names something to read: a PostgreSQL URL (whether
/// the server answers is for opening to say) or an existing file.
pub fn exists(db: &Path) -> bool {
    postgres_url(db).is_some() || db.exists()
}

#[cfg(feature = "postgres")]
fn open_postgres(url: &str) -> Result<AnyStore, CliError> {
    Ok(Box::new(dataconnect_store::PgStore::open(&dataconnect_store::PgConfig::new(url))?))
}

#[cfg(not(feature = "postgres"))]
fn open_postgres(_url: &str) -> Result<AnyStore, CliError> {
    Err(CliError::config(
        "this dataconnect was built without PostgreSQL support (cargo feature `postgres`): pass --db with a file path",
    ))
}

/// Opens the store for writing, creating its directory if needed.
pub fn open_rw(path: &Path) -> Result<AnyStore, CliError> {
    if let Some(url) = postgres_url(path) {
        return open_postgres(url);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            CliError::new(
                Class::Store,
                format!("cannot create the directory {} for the database: {e}: pass --db PATH", dir.display()),
            )
        })?;
    }
    Ok(Box::new(SqliteStore::open(&SqliteConfig::new(path))?))
}

/// Opens an existing store for reading only (PostgreSQL has no read-only
/// opening: it is opened as for writing, and migrated if needed).
pub fn open_ro(path: &Path) -> Result<AnyStore, CliError> {
    if let Some(url) = postgres_url(path) {
        return open_postgres(url);
    }
    Ok(Box::new(SqliteStore::open(&SqliteConfig { mode: OpenMode::ReadOnly, ..SqliteConfig::new(path) })?))
}

/// Parses PRMs given on the command line.
pub fn prms(values: &[String]) -> Result<Vec<UsagePointId>, CliError> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|v| UsagePointId::new(v).map_err(|e| CliError::usage(format!("{e} (--prm)"))))
        .collect()
}

/// Parses series names given on the command line.
pub fn series(values: &[String]) -> Result<Vec<Series>, CliError> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|v| v.parse::<Series>().map_err(|e| CliError::usage(format!("{e} (--series)"))))
        .collect()
}

/// Parses an optional date flag.
pub fn date(flag: &str, value: Option<&str>) -> Result<Option<Date>, CliError> {
    value.map(|v| parse_date(flag, v)).transpose()
}

/// Checks a `[from, to)` range against today: `from < to` and `to <= today`.
pub fn api_range(from: Date, to: Date, today: Date) -> Result<DateRange, CliError> {
    let range = DateRange::new(from, to).map_err(|e| CliError::new(Class::Range, e.to_string()))?;
    if to > today {
        return Err(CliError::new(
            Class::Range,
            format!(
                "the range {from} to {to} ends in the future (today is {today} in Paris): the end is exclusive and at most today, so use --to {today} or earlier"
            ),
        ));
    }
    Ok(range)
}

/// The flags that name one series of one meter over a range of days,
/// shared by `fetch` and `plot` so that both spell and check them alike.
#[derive(clap::Args, Debug)]
pub struct OneSeriesArgs {
    /// The meter (14 digits).
    #[arg(long, value_name = "PRM")]
    pub prm: String,
    /// The series: consumption-curve, consumption-daily, consumption-max-power, production-curve or production-daily.
    #[arg(long, value_name = "SERIES")]
    pub series: String,
    /// First Paris day, YYYY-MM-DD (inclusive).
    #[arg(long, value_name = "DATE")]
    pub from: String,
    /// Last Paris day, YYYY-MM-DD (exclusive).
    #[arg(long, value_name = "DATE")]
    pub to: String,
}

impl OneSeriesArgs {
    /// The meter, the series and the two days, each checked with an error
    /// that names its flag. Whether the days make a valid range is left to
    /// the command (the API's and the store's rules differ).
    pub fn parse(&self) -> Result<(UsagePointId, Series, Date, Date), CliError> {
        let prm = UsagePointId::new(&self.prm).map_err(|e| CliError::usage(format!("{e} (--prm)")))?;
        let series: Series = self.series.parse().map_err(|e| CliError::usage(format!("{e} (--series)")))?;
        let from = parse_date("--from", &self.from)?;
        let to = parse_date("--to", &self.to)?;
        Ok((prm, series, from, to))
    }
}

#[cfg(test)]
mod shown_tests {
    use super::*;

    #[test]
    fn passwords_in_database_urls_are_not_shown() {
        let s = shown(Path::new("postgres://ops:hunter2@db.example:5432/meters"));
        assert!(!s.contains("hunter2"), "{s}");
        assert!(s.contains("ops") && s.contains("db.example") && s.contains("meters"), "{s}");
        assert_eq!(shown(Path::new("data/dataconnect.db")), "data/dataconnect.db");
    }
}
