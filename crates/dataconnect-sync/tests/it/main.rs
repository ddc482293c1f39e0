//! Integration tests of the sync engine: a real SQLite store in a temporary
//! directory (and a real PostgreSQL schema for the queue-driven workers),
//! fed by a fake source that counts its calls.

mod inline;
mod queue;

use dataconnect::domain::paris_day_start;
use dataconnect::{DateRange, Reading, Series};

/// What the fake sources of `inline` and `queue` answer: one reading of
/// 1,000 per Paris day of `window`, in `series`' unit.
fn daily_readings(series: Series, window: DateRange) -> Vec<Reading> {
    window
        .iter_days()
        .map(|d| Reading {
            start: paris_day_start(d),
            end: paris_day_start(d.tomorrow().unwrap()),
            value: Some(1000.0),
            unit: series.unit(),
            peak_at: None,
        })
        .collect()
}
