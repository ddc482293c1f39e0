//! Integration tests of the store, on real SQLite files in temporary directories.

// A panic is how a test, a benchmark or an example reports a broken
// environment: unwrap and expect are fine here (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod costs;
mod errors;
mod index;
#[cfg(feature = "postgres")]
mod postgres_copy;
#[cfg(feature = "postgres")]
mod postgres_queue;
#[cfg(feature = "postgres")]
mod postgres_store;
mod readings;
mod records;

use dataconnect::domain::paris_day_start;
use dataconnect::{DateRange, Reading, Series, Unit, UsagePointId};
use dataconnect_store::{SqliteConfig, SqliteStore};
use jiff::civil::{Date, date};

pub fn prm() -> UsagePointId {
    UsagePointId::new("12345678901234").unwrap()
}

pub fn open(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(&SqliteConfig::new(dir.path().join("store.db"))).unwrap()
}

/// Half-hour readings covering the Paris days of `range`, value = index,
/// with every 10th value missing.
pub fn curve(range: DateRange) -> Vec<Reading> {
    let mut out = Vec::new();
    let mut t = paris_day_start(range.start());
    let end = paris_day_start(range.end());
    let mut i = 0;
    while t < end {
        let next = t + jiff::SignedDuration::from_mins(30);
        out.push(Reading {
            start: t,
            end: next,
            value: if i % 10 == 9 { None } else { Some(i as f64) },
            unit: Unit::W,
            peak_at: None,
        });
        t = next;
        i += 1;
    }
    out
}

pub fn range(a: Date, b: Date) -> DateRange {
    DateRange::new(a, b).unwrap()
}

pub const CURVE: Series = Series::ConsumptionCurve;

pub fn d(y: i16, m: i8, day: i8) -> Date {
    date(y, m, day)
}
