//! The `meter_reading` bodies of the metering APIs of v5 and v4 (and, with
//! the `usage_point` array wrapper and `rank`s of [`super::legacy`], v3).
//!
//! ```json
//! {"meter_reading":{"usage_point_id":"22516914714270","start":"2024-03-01","end":"2024-03-02",
//!  "reading_type":{"unit":"W","measurement_kind":"power","aggregate":"average"},
//!  "interval_reading":[{"value":"412","date":"2024-03-01 00:30:00","interval_length":"PT30M","measure_type":"B"}]}}
//! ```
//!
//! Every number is a string; values may be `null`; the step may change from
//! one point to the next.

use std::borrow::Cow;

use serde::Deserialize;

use super::{CurveResolver, Text, Val, day_reading, parse_day, parse_stamp, parse_step, peak_instant, unit_factor};
use crate::domain::{DateRange, Measure, Reading, Series};
use crate::error::{Error, ErrorKind};

#[derive(Deserialize)]
pub(crate) struct Envelope<'a> {
    #[serde(borrow, default)]
    meter_reading: Option<MeterReading<'a>>,
    /// v3 wrapped the reading in a `usage_point` array.
    #[serde(borrow, default)]
    usage_point: Option<Vec<UsagePoint<'a>>>,
}

#[derive(Deserialize)]
struct UsagePoint<'a> {
    #[serde(borrow, default)]
    meter_reading: Option<MeterReading<'a>>,
}

#[derive(Deserialize)]
struct MeterReading<'a> {
    #[serde(borrow, default)]
    start: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    reading_type: Option<ReadingType<'a>>,
    #[serde(borrow, default)]
    interval_reading: Option<Vec<Item<'a>>>,
}

#[derive(Deserialize)]
struct ReadingType<'a> {
    #[serde(borrow, default)]
    unit: Option<Cow<'a, str>>,
    /// v3 put the step here, in seconds (`"1800"`).
    #[serde(borrow, default)]
    interval_length: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct Item<'a> {
    #[serde(default)]
    value: Val,
    #[serde(borrow, default)]
    date: Option<Cow<'a, str>>,
    /// v3 only: the 1-based position of the interval from 00:00 of the
    /// first day.
    #[serde(borrow, default)]
    rank: Option<Text<'a>>,
    #[serde(borrow, default)]
    interval_length: Option<Text<'a>>,
}

/// Decodes a v3, v4 or v5 metering body for `series`, asked for `window`.
pub(crate) fn decode_readings(body: &[u8], series: Series, window: DateRange) -> Result<Vec<Reading>, Error> {
    let env: Envelope = super::from_slice(body, "meter_reading")?;
    let mut readings = Vec::new();
    let mrs: Vec<MeterReading> = match (env.meter_reading, env.usage_point) {
        (Some(m), _) => vec![m],
        (None, Some(ups)) => ups.into_iter().filter_map(|u| u.meter_reading).collect(),
        (None, None) => Vec::new(),
    };
    for mr in mrs {
        readings.extend(convert(mr, series, window)?);
    }
    Ok(readings)
}

fn bad(what: String) -> Error {
    Error::new(ErrorKind::Decode, what)
}

/// Turns one v5 `meter_reading` into readings.
///
/// It runs to about 100 lines because one match holds every shape of the v5
/// body (curves by stamp or by v3 rank, days by date or by rank) after a
/// prelude they share (unit factor, default step, first day); each arm is
/// one loop over the points whose length is its error messages, which name
/// the JSON path of the value that could not be read.
fn convert(mr: MeterReading<'_>, series: Series, window: DateRange) -> Result<Vec<Reading>, Error> {
    let items = mr.interval_reading.unwrap_or_default();
    let unit = series.unit();
    let rt_unit = mr.reading_type.as_ref().and_then(|r| r.unit.as_deref());
    let factor = unit_factor(rt_unit, unit);
    let default_step =
        mr.reading_type.as_ref().and_then(|r| r.interval_length.as_ref()).and_then(|t| parse_step(t.as_str()));
    // The first day: the body's `start` when it is readable, else the
    // window asked for.
    let first_day =
        mr.start.as_deref().and_then(parse_day).unwrap_or_else(|| {
            super::paris_fast::local_seconds(window.start().to_datetime(jiff::civil::Time::midnight()))
        });
    match series.measure() {
        Measure::LoadCurve => {
            let start = super::ts(super::paris_fast::local_midnight_to_utc(first_day));
            let mut res = CurveResolver::new(start, unit, factor, items.len());
            let mut step = default_step.unwrap_or(1800);
            // Steps repeat from point to point: parse each spelling once.
            let mut last_step_text: &str = "";
            for (i, it) in items.iter().enumerate() {
                if let Some(s) = it.interval_length.as_ref().filter(|s| s.as_str() != last_step_text) {
                    last_step_text = s.as_str();
                    step = parse_step(s.as_str()).ok_or_else(|| {
                        bad(format!(
                            "cannot decode the meter_reading answer at `meter_reading.interval_reading[{i}].interval_length` (value: {:?})",
                            s.as_str()
                        ))
                    })?;
                }
                let value = it.value.0.map(|v| v * factor);
                if let Some(rank) = it.rank.as_ref() {
                    // v3: rank 1 is 00:00–00:30 of the first day, counted in
                    // elapsed time, so DST days need no special case.
                    let r: i64 = rank.as_str().trim().parse().ok().filter(|r| *r >= 1).ok_or_else(|| {
                        bad(format!(
                            "cannot decode the meter_reading answer at `interval_reading[{i}].rank` (value: {:?})",
                            rank.as_str()
                        ))
                    })?;
                    let s = start.as_second() + (r - 1) * step;
                    res.out.push(Reading { start: super::ts(s), end: super::ts(s + step), value, unit, peak_at: None });
                    continue;
                }
                let stamp = it.date.as_deref().and_then(parse_stamp).ok_or_else(|| {
                    bad(format!(
                        "cannot decode the meter_reading answer at `interval_reading[{i}].date` (value: {:?})",
                        it.date.as_deref().unwrap_or("missing")
                    ))
                })?;
                res.push(stamp, step, it.value.0);
            }
            Ok(res.finish())
        }
        Measure::Daily | Measure::MaxPower => {
            let mut out = Vec::with_capacity(items.len());
            for (i, it) in items.iter().enumerate() {
                let value = it.value.0.map(|v| v * factor);
                let (day, peak) = match (it.date.as_deref(), it.rank.as_ref()) {
                    (Some(d), _) => {
                        let day = parse_day(d).ok_or_else(|| {
                            bad(format!(
                                "cannot decode the meter_reading answer at `interval_reading[{i}].date` (value: {d:?})"
                            ))
                        })?;
                        let peak = if series.measure() == Measure::MaxPower && value.is_some() {
                            // A bare date carries no instant of the peak.
                            parse_stamp(d).filter(|_| d.trim().len() > 10).map(peak_instant)
                        } else {
                            None
                        };
                        (day, peak)
                    }
                    (None, Some(rank)) => {
                        // A daily v3 body with ranks: rank 1 is the first day.
                        let r: i64 = rank.as_str().trim().parse().ok().filter(|r| *r >= 1).ok_or_else(|| {
                            bad(format!(
                                "cannot decode the meter_reading answer at `interval_reading[{i}].rank` (value: {:?})",
                                rank.as_str()
                            ))
                        })?;
                        (first_day + (r - 1) * 86_400, None)
                    }
                    (None, None) => {
                        return Err(bad(format!(
                            "cannot decode the meter_reading answer at `interval_reading[{i}]`: it has neither `date` nor `rank`"
                        )));
                    }
                };
                out.push(day_reading(day, value, series.unit(), peak));
            }
            if !out.is_sorted_by_key(|r| r.start) {
                out.sort_by_key(|r| r.start);
            }
            Ok(out)
        }
        Measure::Index => {
            Err(Error::new(ErrorKind::Unsupported, format!("{series} is read with `Client::index`, not as readings")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Unit;
    use jiff::civil::date;

    fn range(a: jiff::civil::Date, b: jiff::civil::Date) -> DateRange {
        DateRange::new(a, b).unwrap()
    }

    #[test]
    fn daily_with_a_gap() {
        let body = br#"{"meter_reading":{"usage_point_id":"42900589957123","start":"2024-03-04","end":"2024-03-07","quality":"BRUT",
 "reading_type":{"unit":"Wh","measurement_kind":"energy","aggregate":"sum","measuring_period":"P1D"},
 "interval_reading":[{"value":"9110","date":"2024-03-04"}]}}"#;
        let r = decode_readings(body, Series::ConsumptionDaily, range(date(2024, 3, 4), date(2024, 3, 7))).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].start.to_string(), "2024-03-03T23:00:00Z");
        assert_eq!(r[0].end.to_string(), "2024-03-04T23:00:00Z");
        assert_eq!(r[0].value, Some(9110.0));
        assert_eq!(r[0].unit, Unit::Wh);
    }

    #[test]
    fn curve_with_mixed_steps_and_nulls() {
        let body = br#"{"meter_reading":{"usage_point_id":"11453290002823","start":"2024-03-01","end":"2024-03-02","quality":"BRUT",
 "reading_type":{"unit":"W","measurement_kind":"power","aggregate":"average"},
 "interval_reading":[
  {"value":"600","date":"2024-03-01 01:00:00","interval_length":"PT60M","measure_type":"B"},
  {"value":"650","date":"2024-03-01 01:30:00","interval_length":"PT30M","measure_type":"B"},
  {"value":null,"date":"2024-03-01 01:40:00","interval_length":"PT10M","measure_type":"B"},
  {"value":"null","date":"2024-03-01 01:55:00","interval_length":"PT15M","measure_type":"B"}]}}"#;
        let r = decode_readings(body, Series::ConsumptionCurve, range(date(2024, 3, 1), date(2024, 3, 2))).unwrap();
        assert_eq!(r.len(), 4);
        assert_eq!(r[0].start.to_string(), "2024-02-29T23:00:00Z");
        assert_eq!(r[0].step_seconds(), 3600);
        assert_eq!(r[1].start, r[0].end);
        assert_eq!(r[2].step_seconds(), 600);
        assert_eq!(r[2].value, None);
        assert_eq!(r[3].value, None);
        assert_eq!(r[3].end.to_string(), "2024-03-01T00:55:00Z");
        assert_eq!(r[1].energy_wh(), Some(325.0));
    }

    #[test]
    fn max_power_keeps_the_peak() {
        let body = br#"{"meter_reading":{"usage_point_id":"22516914714270","start":"2024-03-01","end":"2024-03-03","quality":"BRUT",
 "reading_type":{"unit":"VA","measurement_kind":"power","aggregate":"maximum","measuring_period":"P1D"},
 "interval_reading":[{"value":"4287","date":"2024-03-01 19:37:02"},{"value":"3910","date":"2024-03-02 12:05:41"}]}}"#;
        let r = decode_readings(body, Series::ConsumptionMaxPower, range(date(2024, 3, 1), date(2024, 3, 3))).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].start.to_string(), "2024-02-29T23:00:00Z");
        assert_eq!(r[0].peak_at.unwrap().to_string(), "2024-03-01T18:37:02Z");
        assert_eq!(r[1].unit, Unit::VA);
    }

    #[test]
    fn bad_value_names_path_and_value() {
        let body = br#"{"meter_reading":{"interval_reading":[{"value":"12","date":"2024-03-01"},{"value":"x1","date":"2024-03-02"}]}}"#;
        let e = decode_readings(body, Series::ConsumptionDaily, range(date(2024, 3, 1), date(2024, 3, 3))).unwrap_err();
        let s = e.to_string();
        assert!(s.contains("meter_reading.interval_reading[1].value") && s.contains("\"x1\""), "{s}");
        let body = br#"{"meter_reading":{"interval_reading":[{"value":"12","date":"2024-13-01"}]}}"#;
        let e = decode_readings(body, Series::ConsumptionDaily, range(date(2024, 3, 1), date(2024, 3, 3))).unwrap_err();
        assert!(e.to_string().contains("2024-13-01"), "{e}");
    }
}
