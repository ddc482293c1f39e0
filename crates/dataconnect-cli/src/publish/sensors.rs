//! The Home Assistant sensors of a meter and their current states, computed
//! from the store: what `publish mqtt` announces (discovery) and publishes
//! (states).
//!
//! A sensor exists only for a series the meter has: a consumption-only
//! meter gets no production sensor, a meter without a load curve no power
//! sensor. Every state carries the Paris day it describes (`last_day`),
//! because Enedis data arrives a day late and a state published today is
//! about yesterday or earlier.

use std::collections::HashMap;

use dataconnect::{Series, UsagePointId};
use dataconnect_store::{ReadingFilter, Store};
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};

use crate::error::CliError;

/// One kind of sensor; each meter has at most one of each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sensor {
    /// Every stored consumption-daily value summed, in kWh (for the Energy dashboard).
    ConsumptionTotal,
    /// Every stored production-daily value summed, in kWh.
    ProductionTotal,
    /// The last stored day's consumption, in kWh.
    ConsumptionYesterday,
    /// The consumption of the 7 days ending with the last stored day, in kWh.
    ConsumptionLast7Days,
    /// The last stored day's production, in kWh.
    ProductionYesterday,
    /// The last stored day's maximum power, in VA.
    MaxPower,
    /// The last load-curve value of consumption, in W.
    ConsumptionPower,
    /// The last load-curve value of production, in W.
    ProductionPower,
}

/// How Home Assistant is told to read a sensor.
pub struct SensorSpec {
    /// The suffix of its ids and topics, e.g. `consumption_total`.
    pub key: &'static str,
    /// Its name on the device's page.
    pub name: &'static str,
    pub unit: &'static str,
    pub device_class: &'static str,
    pub state_class: &'static str,
    /// Decimals of the published value.
    pub decimals: usize,
}

impl Sensor {
    /// Every sensor, in the order they are announced.
    pub const ALL: [Sensor; 8] = [
        Sensor::ConsumptionTotal,
        Sensor::ProductionTotal,
        Sensor::ConsumptionYesterday,
        Sensor::ConsumptionLast7Days,
        Sensor::ProductionYesterday,
        Sensor::MaxPower,
        Sensor::ConsumptionPower,
        Sensor::ProductionPower,
    ];

    /// Its discovery fields. The totals are `total_increasing`, which the
    /// Energy dashboard needs; the day and week values are `total` (an
    /// amount of energy over a period: Home Assistant refuses `measurement`
    /// for the `energy` class); powers are measurements.
    pub fn spec(self) -> SensorSpec {
        let (key, name, unit, device_class, state_class, decimals) = match self {
            Sensor::ConsumptionTotal => {
                ("consumption_total", "Consumption total", "kWh", "energy", "total_increasing", 3)
            }
            Sensor::ProductionTotal => ("production_total", "Production total", "kWh", "energy", "total_increasing", 3),
            Sensor::ConsumptionYesterday => {
                ("consumption_yesterday", "Consumption yesterday", "kWh", "energy", "total", 3)
            }
            Sensor::ConsumptionLast7Days => {
                ("consumption_last_7_days", "Consumption last 7 days", "kWh", "energy", "total", 3)
            }
            Sensor::ProductionYesterday => {
                ("production_yesterday", "Production yesterday", "kWh", "energy", "total", 3)
            }
            Sensor::MaxPower => ("max_power", "Maximum power", "VA", "apparent_power", "measurement", 0),
            Sensor::ConsumptionPower => ("consumption_power", "Consumption power", "W", "power", "measurement", 0),
            Sensor::ProductionPower => ("production_power", "Production power", "W", "power", "measurement", 0),
        };
        SensorSpec { key, name, unit, device_class, state_class, decimals }
    }

    /// The series its state is computed from.
    fn series(self) -> Series {
        match self {
            Sensor::ConsumptionTotal | Sensor::ConsumptionYesterday | Sensor::ConsumptionLast7Days => {
                Series::ConsumptionDaily
            }
            Sensor::ProductionTotal | Sensor::ProductionYesterday => Series::ProductionDaily,
            Sensor::MaxPower => Series::ConsumptionMaxPower,
            Sensor::ConsumptionPower => Series::ConsumptionCurve,
            Sensor::ProductionPower => Series::ProductionCurve,
        }
    }
}

/// A sensor's state: its value (in the sensor's unit, rounded) and the
/// Paris day it describes.
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    pub sensor: Sensor,
    pub value: f64,
    pub last_day: Date,
}

/// The states of every sensor `prm` has, from the store (one summary query
/// and one short read per series the meter has).
pub fn meter_states(store: &dyn Store, prm: &UsagePointId) -> Result<Vec<State>, CliError> {
    let summaries = store.summary(&ReadingFilter { usage_points: vec![prm.clone()], ..ReadingFilter::default() })?;
    // One short read per series, shared by the sensors of that series.
    let mut recent: HashMap<Series, Vec<(Timestamp, f64)>> = HashMap::new();
    let mut states = Vec::new();
    for sensor in Sensor::ALL {
        let series = sensor.series();
        let Some(summary) = summaries.iter().find(|s| s.series == series && s.points > 0) else {
            continue;
        };
        let points = match recent.entry(series) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(last_days(store, prm, summary)?),
        };
        let Some(&(last_start, last_value)) = points.last() else {
            continue;
        };
        let last_day = paris_day(last_start);
        let value = match sensor {
            Sensor::ConsumptionTotal | Sensor::ProductionTotal => summary.sum_value / 1000.0,
            Sensor::ConsumptionYesterday | Sensor::ProductionYesterday => last_value / 1000.0,
            Sensor::ConsumptionLast7Days => {
                let first = last_day.checked_sub(6.days()).unwrap_or(last_day);
                points.iter().filter(|(t, _)| paris_day(*t) >= first).map(|(_, v)| v).sum::<f64>() / 1000.0
            }
            Sensor::MaxPower | Sensor::ConsumptionPower | Sensor::ProductionPower => last_value,
        };
        states.push(State { sensor, value: round(value, sensor.spec().decimals), last_day });
    }
    Ok(states)
}

/// The valued readings of the last 8 days of one series (enough for every
/// state but the totals, which the summary gives), oldest first.
fn last_days(
    store: &dyn Store,
    prm: &UsagePointId,
    summary: &dataconnect_store::SeriesSummary,
) -> Result<Vec<(Timestamp, f64)>, CliError> {
    let from =
        summary.last_end.checked_sub(jiff::SignedDuration::from_hours(8 * 24 + 1)).ok().or(Some(summary.first_start));
    let mut points = Vec::new();
    store.for_each_reading(
        &ReadingFilter { usage_points: vec![prm.clone()], series: vec![summary.series], from, to: None },
        &mut |r| {
            if let Some(v) = r.reading.value.filter(|v| v.is_finite()) {
                points.push((r.reading.start, v));
            }
            Ok(())
        },
    )?;
    Ok(points)
}

fn paris_day(t: Timestamp) -> Date {
    t.to_zoned_datetime(dataconnect::domain::paris()).date()
}

fn round(v: f64, decimals: usize) -> f64 {
    let scale = 10f64.powi(decimals as i32);
    (v * scale).round() / scale
}
