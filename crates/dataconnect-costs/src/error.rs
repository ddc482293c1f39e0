//! The one error type of the costs engine: a kind that says what went wrong
//! and a message that names the problem (the file, line and column; the
//! dates without a price; the days without a colour) and the fix.

use std::fmt;

/// What went wrong, so that a caller can pick an exit code or an HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CostErrorKind {
    /// The offer name is not in the catalogue nor in the configured offers;
    /// the message lists the known ones.
    UnknownOffer,
    /// The offer has no prices at the subscribed power asked for; the
    /// message lists the powers it has.
    UnknownPower,
    /// Some days of the period have no price in force for the offer and
    /// power; the message names the dates.
    NoPrice,
    /// Tempo days of the period have no colour in the calendar (other than
    /// 2022-12-28, which RTE never coloured); the message names them.
    MissingColour,
    /// The offer prices periods (HP/HC, Tempo) and the meter has only daily
    /// energy, from which a split cannot be known.
    NeedsCurve,
    /// A price table, an offer file or a calendar answer could not be read;
    /// the message names the file, line and column.
    BadInput,
    /// Nothing to price: no readings in the period.
    NoData,
    /// The offer uses the contract's off-peak hours and none are known.
    NoOffPeakHours,
}

/// An error of the costs engine.
#[derive(Clone, Debug, PartialEq)]
pub struct CostError {
    kind: CostErrorKind,
    message: String,
}

impl CostError {
    /// An error of `kind` with a message naming the problem and the fix.
    pub fn new(kind: CostErrorKind, message: impl Into<String>) -> Self {
        CostError { kind, message: message.into() }
    }

    /// What went wrong.
    pub fn kind(&self) -> CostErrorKind {
        self.kind
    }

    /// The message, one line.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for CostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CostError {}

/// The result type of the costs engine.
pub type Result<T, E = CostError> = std::result::Result<T, E>;

/// Writes a sorted list of days as compact ranges: `2024-01-01..2024-01-03,
/// 2024-02-10` (at most `max` ranges, then "and N more").
pub fn day_ranges(days: &[jiff::civil::Date], max: usize) -> String {
    let mut ranges: Vec<(jiff::civil::Date, jiff::civil::Date)> = Vec::new();
    for &d in days {
        match ranges.last_mut() {
            Some((_, end)) if end.tomorrow().ok() == Some(d) => *end = d,
            _ => ranges.push((d, d)),
        }
    }
    let mut parts: Vec<String> =
        ranges.iter().take(max).map(|(a, b)| if a == b { a.to_string() } else { format!("{a}..{b}") }).collect();
    if ranges.len() > max {
        parts.push(format!("and {} more ranges", ranges.len() - max));
    }
    parts.join(", ")
}
