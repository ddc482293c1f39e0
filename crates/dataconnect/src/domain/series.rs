//! The series a meter can have, and the units their values are in.
//!
//! The series names (`consumption-curve`, `consumption-daily`,
//! `consumption-max-power`, `production-curve`, `production-daily`, and the
//! 2026 index readings `consumption-index`, `production-index`) are an
//! interface contract: they are what users type and read everywhere. The
//! first five are read as [`Reading`](crate::Reading)s; the index series as
//! [`IndexReading`](crate::domain::IndexReading)s, one per register and
//! day, and only generation 3 serves them.
//! The per-series API limits (window length, history depth) live here too,
//! because the client, the sync planner and the diagnostics all need them.

use std::fmt;
use std::str::FromStr;

/// Which way the energy flows through the meter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// Drawn from the grid ("soutirage").
    Consumption,
    /// Injected into the grid ("injection").
    Production,
}

/// What is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Measure {
    /// Average power per interval (PT10M to PT60M), in W.
    LoadCurve,
    /// Energy per Paris civil day, in Wh.
    Daily,
    /// Maximum apparent power per Paris civil day, in VA, with its instant.
    MaxPower,
    /// The meter's cumulative energy registers, read once a day, in Wh.
    Index,
}

/// The unit of a reading's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Unit {
    /// Watts: an average power over the interval.
    W,
    /// Watt-hours: an energy over the interval.
    Wh,
    /// Volt-amperes: an apparent power (the daily maximum).
    VA,
}

impl Unit {
    /// The unit as printed: `W`, `Wh` or `VA`.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::W => "W",
            Unit::Wh => "Wh",
            Unit::VA => "VA",
        }
    }
}

impl FromStr for Unit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "W" => Ok(Unit::W),
            "Wh" => Ok(Unit::Wh),
            "VA" => Ok(Unit::VA),
            _ => Err(format!("unknown unit {s:?} (expected W, Wh or VA)")),
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One of the five data series Data Connect serves for a meter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Series {
    /// Consumption load curve (average W per interval).
    ConsumptionCurve,
    /// Daily consumed energy (Wh per day).
    ConsumptionDaily,
    /// Daily maximum consumed power (VA per day, with the peak instant).
    ConsumptionMaxPower,
    /// Production load curve (average W per interval).
    ProductionCurve,
    /// Daily produced energy (Wh per day).
    ProductionDaily,
    /// Consumption index registers, one reading per calendar, class and
    /// day (generation 3 only).
    ConsumptionIndex,
    /// Production index registers (generation 3 only).
    ProductionIndex,
}

/// Returned when a series name is not one of the seven.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown series {0:?}: expected one of consumption-curve, consumption-daily, consumption-max-power, production-curve, production-daily, consumption-index, production-index"
)]
pub struct ParseSeriesError(String);

impl Series {
    /// The five series read as [`Reading`](crate::Reading)s, in their
    /// canonical order: what a sync keeps current when no series is named.
    pub const ALL: [Series; 5] = [
        Series::ConsumptionCurve,
        Series::ConsumptionDaily,
        Series::ConsumptionMaxPower,
        Series::ProductionCurve,
        Series::ProductionDaily,
    ];

    /// The two index series (generation 3 only).
    pub const INDEXES: [Series; 2] = [Series::ConsumptionIndex, Series::ProductionIndex];

    /// Every series, readings then indexes.
    pub const EVERY: [Series; 7] = [
        Series::ConsumptionCurve,
        Series::ConsumptionDaily,
        Series::ConsumptionMaxPower,
        Series::ProductionCurve,
        Series::ProductionDaily,
        Series::ConsumptionIndex,
        Series::ProductionIndex,
    ];

    /// The user-facing name, e.g. `consumption-curve`.
    pub fn as_str(self) -> &'static str {
        match self {
            Series::ConsumptionCurve => "consumption-curve",
            Series::ConsumptionDaily => "consumption-daily",
            Series::ConsumptionMaxPower => "consumption-max-power",
            Series::ProductionCurve => "production-curve",
            Series::ProductionDaily => "production-daily",
            Series::ConsumptionIndex => "consumption-index",
            Series::ProductionIndex => "production-index",
        }
    }

    /// Consumption or production.
    pub fn direction(self) -> Direction {
        match self {
            Series::ConsumptionCurve
            | Series::ConsumptionDaily
            | Series::ConsumptionMaxPower
            | Series::ConsumptionIndex => Direction::Consumption,
            Series::ProductionCurve | Series::ProductionDaily | Series::ProductionIndex => Direction::Production,
        }
    }

    /// Load curve, daily energy or daily maximum power.
    pub fn measure(self) -> Measure {
        match self {
            Series::ConsumptionCurve | Series::ProductionCurve => Measure::LoadCurve,
            Series::ConsumptionDaily | Series::ProductionDaily => Measure::Daily,
            Series::ConsumptionMaxPower => Measure::MaxPower,
            Series::ConsumptionIndex | Series::ProductionIndex => Measure::Index,
        }
    }

    /// True for the two load curves.
    pub fn is_curve(self) -> bool {
        self.measure() == Measure::LoadCurve
    }

    /// True for the two index series.
    pub fn is_index(self) -> bool {
        self.measure() == Measure::Index
    }

    /// The unit the API gives values in.
    pub fn unit(self) -> Unit {
        match self.measure() {
            Measure::LoadCurve => Unit::W,
            Measure::Daily | Measure::Index => Unit::Wh,
            Measure::MaxPower => Unit::VA,
        }
    }

    /// The longest range, in days, one API call may ask for: 7 for load
    /// curves (exactly 7 is accepted), 365 for daily series (and, since
    /// the published description states no limit for them, for index
    /// readings: a year per call, as for the other daily APIs).
    pub fn max_window_days(self) -> i32 {
        if self.is_curve() { 7 } else { 365 }
    }

    /// How far back the API serves data, as (months, days) before today:
    /// 24 months + 15 days for curves, 36 months + 15 days otherwise (index
    /// readings included: no limit is published for them, the daily APIs'
    /// is assumed).
    pub fn history_depth(self) -> (i32, i32) {
        if self.is_curve() { (24, 15) } else { (36, 15) }
    }
}

impl FromStr for Series {
    type Err = ParseSeriesError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Series::EVERY
            .into_iter()
            .find(|x| x.as_str() == s.trim())
            .ok_or_else(|| ParseSeriesError(s.chars().take(40).collect()))
    }
}

impl fmt::Display for Series {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in Series::EVERY {
            assert_eq!(s.as_str().parse::<Series>().unwrap(), s);
        }
        assert!(Series::INDEXES.iter().all(|s| s.is_index() && s.unit() == Unit::Wh));
        assert!(!Series::ALL.iter().any(|s| s.is_index()));
        assert!("consumption".parse::<Series>().is_err());
    }
}
