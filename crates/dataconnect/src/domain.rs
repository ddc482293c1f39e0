//! The domain model: what a Linky meter's data *is*, independent of how any
//! API generation spells it on the wire or how a store keeps it.
//!
//! Everything here is plain data plus the calendar rules every other part of
//! the toolkit agrees on: a reading covers a half-open interval `[start, end)`
//! of UTC instants, a date range is half-open in Paris civil days, and the
//! five series names are the ones users type (`consumption-curve`, …).
//! Nothing in this module does I/O or knows about HTTP, SQL or JSON shapes.
//!
//! **Architecture Invariant:** Paris local time appears here only in the
//! helpers that turn a civil day into instants (`paris_day_start`,
//! `today_paris`); readings themselves carry UTC instants.

mod consent;
mod customer;
mod index;
mod range;
mod series;
mod usage_point;

pub use consent::{Consent, ConsentDuration, ConsentDurationError, Generation, ParseGenerationError};
pub use customer::{Address, Contact, Contract, GeoPoint, Identity, LegalEntity, NaturalPerson, OffPeakRange};
pub use index::{CalendarOwner, IndexReading, RegisterDelta, TOTAL_CALENDAR, register_deltas};
pub use range::{DateRange, DateRangeError, paris, paris_day_start, today_paris};
pub use series::{Direction, Measure, ParseSeriesError, Series, Unit};
pub use usage_point::{InvalidUsagePointId, UsagePointId};

use jiff::Timestamp;

/// One measured value over the half-open interval `[start, end)`.
///
/// For load curves the value is the average power in W over the interval;
/// for daily series it is the energy in Wh of the Paris civil day; for daily
/// maximum power it is the peak apparent power in VA over the day, and
/// `peak_at` holds the instant the peak was reached.
///
/// `value` is `None` when the API listed the interval without a value
/// (Enedis sends `null` inside curves): such points are kept, not dropped, so
/// that a consumer can tell "no value" from "no interval".
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    /// Inclusive start of the interval, as a UTC instant.
    pub start: Timestamp,
    /// Exclusive end of the interval, as a UTC instant.
    pub end: Timestamp,
    /// The value in `unit`, or `None` when the API gave no value.
    pub value: Option<f64>,
    /// The unit of `value`.
    pub unit: Unit,
    /// For daily maximum power only: the instant the maximum was reached.
    pub peak_at: Option<Timestamp>,
}

impl Reading {
    /// The length of the interval in seconds.
    pub fn step_seconds(&self) -> i64 {
        self.end.as_second() - self.start.as_second()
    }

    /// Energy in Wh of a load-curve point (average W × step in hours).
    ///
    /// `None` for readings that are not average powers, or that have no value.
    pub fn energy_wh(&self) -> Option<f64> {
        match (self.unit, self.value) {
            (Unit::W, Some(w)) => Some(w * self.step_seconds() as f64 / 3600.0),
            _ => None,
        }
    }
}
