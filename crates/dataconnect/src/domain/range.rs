//! Half-open ranges of Paris civil days, and the few helpers that turn
//! Paris civil days into UTC instants.
//!
//! Data Connect speaks in Paris calendar days (`start=2024-03-01&end=2024-03-04`
//! means the 1st, 2nd and 3rd of March, Paris time), so a `DateRange` is a
//! pair of `jiff::civil::Date`s with `start < end`. Splitting a range into
//! windows is done on civil days, which keeps windows aligned across DST
//! changes (a 7-day window is always 7 civil days, whether it holds 167, 168
//! or 169 hours).

use std::fmt;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// The `Europe/Paris` time zone, from the tz database bundled in the binary
/// (so that results do not depend on the host's tzdata).
pub fn paris() -> TimeZone {
    // The bundled database always has Europe/Paris; falling back to UTC
    // would only hide a broken build, but a panic here would be worse for a
    // long-running sync, so the fallback is kept and tested for.
    TimeZone::get("Europe/Paris").unwrap_or(TimeZone::UTC)
}

/// The UTC instant at which the Paris civil day `date` starts (00:00 Paris).
pub fn paris_day_start(date: Date) -> Timestamp {
    // Midnight always exists in Paris (DST changes happen at 02:00/03:00),
    // so the compatible disambiguation never has to choose.
    date.to_datetime(jiff::civil::Time::midnight())
        .to_zoned_datetime(paris())
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The Paris civil date at instant `now`.
pub fn today_paris(now: Timestamp) -> Date {
    now.to_zoned_datetime(paris()).date()
}

/// A half-open range of Paris civil days `[start, end)`, with `start < end`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DateRange {
    start: Date,
    end: Date,
}

/// Returned when a date range is empty or reversed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid date range {start} to {end}: the end is exclusive and must be after the start (for the single day D, use start D and end D+1)"
)]
pub struct DateRangeError {
    start: Date,
    end: Date,
}

impl DateRange {
    /// The range `[start, end)`; fails unless `start < end`.
    pub fn new(start: Date, end: Date) -> Result<Self, DateRangeError> {
        if start < end { Ok(DateRange { start, end }) } else { Err(DateRangeError { start, end }) }
    }

    /// The single day `day`.
    pub fn day(day: Date) -> Self {
        DateRange { start: day, end: day.tomorrow().unwrap_or(day) }
    }

    /// First day, inclusive.
    pub fn start(&self) -> Date {
        self.start
    }

    /// Last day, exclusive.
    pub fn end(&self) -> Date {
        self.end
    }

    /// Number of days in the range (at least 1).
    pub fn days(&self) -> i32 {
        self.start.until(self.end).map(|s| s.get_days()).unwrap_or(0)
    }

    /// The days of the range, in order.
    pub fn iter_days(&self) -> impl Iterator<Item = Date> + '_ {
        self.start.series(1.day()).take_while(move |d| *d < self.end)
    }

    /// The intersection with `other`, or `None` when they do not overlap.
    pub fn intersect(&self, other: &DateRange) -> Option<DateRange> {
        DateRange::new(self.start.max(other.start), self.end.min(other.end)).ok()
    }

    /// Splits the range into consecutive windows of at most `max_days` days,
    /// each starting where the previous one ended; the last may be shorter.
    pub fn windows(&self, max_days: i32) -> Vec<DateRange> {
        let step = max_days.max(1);
        let mut out = Vec::new();
        let mut s = self.start;
        while s < self.end {
            let e = s.checked_add(step.days()).unwrap_or(self.end).min(self.end);
            out.push(DateRange { start: s, end: e });
            s = e;
        }
        out
    }

    /// The instant the range starts (00:00 Paris on `start`).
    pub fn start_instant(&self) -> Timestamp {
        paris_day_start(self.start)
    }

    /// The instant the range ends (00:00 Paris on `end`).
    pub fn end_instant(&self) -> Timestamp {
        paris_day_start(self.end)
    }
}

impl fmt::Debug for DateRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {})", self.start, self.end)
    }
}

impl fmt::Display for DateRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} to {} (exclusive)", self.start, self.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn dst_days_have_23_and_25_hours() {
        let spring = DateRange::day(date(2025, 3, 30));
        assert_eq!(spring.end_instant().as_second() - spring.start_instant().as_second(), 23 * 3600);
        let autumn = DateRange::day(date(2025, 10, 26));
        assert_eq!(autumn.end_instant().as_second() - autumn.start_instant().as_second(), 25 * 3600);
    }

    #[test]
    fn windows_cover_exactly_once() {
        let r = DateRange::new(date(2024, 1, 1), date(2024, 1, 20)).unwrap();
        let w = r.windows(7);
        assert_eq!(w.len(), 3);
        assert_eq!(w[0], DateRange::new(date(2024, 1, 1), date(2024, 1, 8)).unwrap());
        assert_eq!(w[2].end(), date(2024, 1, 20));
        assert_eq!(w.iter().map(|w| w.days()).sum::<i32>(), r.days());
    }

    #[test]
    fn rejects_empty() {
        assert!(DateRange::new(date(2024, 1, 1), date(2024, 1, 1)).is_err());
        assert!(paris().iana_name() == Some("Europe/Paris"));
    }
}
