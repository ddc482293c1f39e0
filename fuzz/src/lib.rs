//! Shared pieces of the fuzz targets: how the first bytes of an input pick
//! a series and a requested window, and the invariants every decoded
//! reading must keep whatever the body said.
//!
//! The windows cover the cases where wire stamps are hardest to read: the
//! October and March daylight-saving weeks of Paris, an ordinary week and
//! a full year for daily series.

use dataconnect::{DateRange, Reading, Series, UsagePointId};
use jiff::civil::date;

/// The series picked by a selector byte.
pub fn series(b: u8) -> Series {
    Series::ALL[usize::from(b) % Series::ALL.len()]
}

/// The requested window picked by a selector byte.
pub fn window(b: u8) -> DateRange {
    let (start, end) = match b % 4 {
        0 => (date(2024, 10, 21), date(2024, 10, 28)),
        1 => (date(2024, 3, 25), date(2024, 4, 1)),
        2 => (date(2024, 6, 1), date(2024, 6, 8)),
        _ => (date(2023, 11, 1), date(2024, 11, 1)),
    };
    // The four pairs are valid half-open ranges, so this cannot fail; a
    // failure would be a bug of the harness, not of the code under test.
    DateRange::new(start, end).unwrap_or_else(|_| panic!("harness window {start}..{end} is invalid"))
}

/// The usage point every customer decoder is asked about.
pub fn prm() -> UsagePointId {
    UsagePointId::new("22516914714270").unwrap_or_else(|_| panic!("harness PRM is invalid"))
}

/// Splits an input into its two selector bytes and the body.
pub fn split(data: &[u8]) -> Option<(u8, u8, &[u8])> {
    match data {
        [a, b, rest @ ..] => Some((*a, *b, rest)),
        _ => None,
    }
}

/// The domain invariant of a reading: a non-empty half-open interval.
/// A decoder may reject a body; it must never hand out a reading that
/// ends before it starts.
pub fn check(readings: &[Reading]) {
    for r in readings {
        assert!(r.start < r.end, "reading with start {} not before end {}", r.start, r.end);
        if let Some(v) = r.value {
            assert!(v.is_finite(), "reading with a non-finite value {v}");
        }
    }
}
