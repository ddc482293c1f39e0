//! Opening the store from the settings, and the date/series/PRM arguments
//! that several commands share.

use std::path::Path;

use dataconnect::{DateRange, Series, UsagePointId};
use dataconnect_store::{OpenMode, SqliteConfig, SqliteStore};
use jiff::civil::Date;

use crate::error::{Class, CliError};
use crate::settings::parse_date;

/// Opens the store for writing, creating its directory if needed.
pub fn open_rw(path: &Path) -> Result<SqliteStore, CliError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            CliError::new(Class::Store, format!("cannot create the directory {} for the database: {e}: pass --db PATH", dir.display()))
        })?;
    }
    Ok(SqliteStore::open(&SqliteConfig::new(path))?)
}

/// Opens an existing store for reading only.
pub fn open_ro(path: &Path) -> Result<SqliteStore, CliError> {
    Ok(SqliteStore::open(&SqliteConfig { mode: OpenMode::ReadOnly, ..SqliteConfig::new(path) })?)
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
