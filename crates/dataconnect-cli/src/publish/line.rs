//! InfluxDB line protocol for stored readings: the one encoding that
//! `export --format influx` prints and `publish influx` sends.
//!
//! One point per reading: measurement `dataconnect`, tags `prm` and
//! `series` (sorted by key, as InfluxDB stores them), the field `value`
//! (a float), `energy_wh` for load-curve points, `peak_at` (an integer,
//! seconds since the epoch) for the daily maximum power, and the interval's
//! start in seconds (`precision=s`). A reading without a value is left out:
//! writing it as 0 would draw a false drop on every chart, and line protocol
//! has no null. A point is keyed by measurement, tags and timestamp, so
//! writing the same reading again overwrites it (InfluxDB) or is merged by
//! deduplication (VictoriaMetrics), never counted twice.
//!
//! Format: <https://docs.influxdata.com/influxdb/v1/write_protocols/line_protocol_reference/>.

use std::io::Write;

use dataconnect::{Reading, Series, UsagePointId};

/// The measurement every point is written to.
pub const MEASUREMENT: &str = "dataconnect";

/// Writes `r` as one line (with its newline) and returns true, or writes
/// nothing and returns false when the reading has no finite value.
///
/// Neither tag value can hold a character line protocol would need to
/// escape (a PRM is 14 digits, a series name is lowercase letters and
/// dashes), so none is escaped.
pub fn write_point(out: &mut impl Write, prm: &UsagePointId, series: Series, r: &Reading) -> std::io::Result<bool> {
    let Some(value) = r.value.filter(|v| v.is_finite()) else {
        return Ok(false);
    };
    write!(out, "{MEASUREMENT},prm={},series={} value={}", prm.as_str(), series.as_str(), float(value))?;
    if series.is_curve()
        && let Some(e) = r.energy_wh().filter(|e| e.is_finite())
    {
        write!(out, ",energy_wh={}", float(e))?;
    }
    if let Some(peak) = r.peak_at {
        write!(out, ",peak_at={}i", peak.as_second())?;
    }
    writeln!(out, " {}", r.start.as_second())?;
    Ok(true)
}

/// A float as line protocol reads it: Rust's shortest round-trip form,
/// which never uses an exponent, so `1234` and `0.5` come out as written.
fn float(v: f64) -> String {
    format!("{v}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use dataconnect::Unit;
    use jiff::Timestamp;

    fn reading(start: i64, end: i64, value: Option<f64>, unit: Unit, peak: Option<i64>) -> Reading {
        Reading {
            start: Timestamp::from_second(start).unwrap(),
            end: Timestamp::from_second(end).unwrap(),
            value,
            unit,
            peak_at: peak.map(|p| Timestamp::from_second(p).unwrap()),
        }
    }

    fn line(series: Series, r: &Reading) -> String {
        let prm = UsagePointId::new("12345678901234").unwrap();
        let mut out = Vec::new();
        write_point(&mut out, &prm, series, r).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn curve_points_carry_their_energy() {
        let r = reading(1_700_000_000, 1_700_001_800, Some(1234.0), Unit::W, None);
        assert_eq!(
            line(Series::ConsumptionCurve, &r),
            "dataconnect,prm=12345678901234,series=consumption-curve value=1234,energy_wh=617 1700000000\n"
        );
        let r = reading(1_700_000_000, 1_700_000_600, Some(333.0), Unit::W, None);
        assert_eq!(
            line(Series::ProductionCurve, &r),
            "dataconnect,prm=12345678901234,series=production-curve value=333,energy_wh=55.5 1700000000\n"
        );
    }

    #[test]
    fn max_power_carries_the_peak_instant_as_an_integer() {
        let r = reading(1_700_000_000, 1_700_086_400, Some(6120.0), Unit::VA, Some(1_700_030_000));
        assert_eq!(
            line(Series::ConsumptionMaxPower, &r),
            "dataconnect,prm=12345678901234,series=consumption-max-power value=6120,peak_at=1700030000i 1700000000\n"
        );
        let r = reading(1_700_000_000, 1_700_086_400, Some(15500.5), Unit::Wh, None);
        assert_eq!(
            line(Series::ConsumptionDaily, &r),
            "dataconnect,prm=12345678901234,series=consumption-daily value=15500.5 1700000000\n"
        );
    }

    #[test]
    fn nulls_are_left_out_never_zero() {
        for v in [None, Some(f64::NAN), Some(f64::INFINITY)] {
            let r = reading(1_700_000_000, 1_700_001_800, v, Unit::W, None);
            assert_eq!(line(Series::ConsumptionCurve, &r), "");
        }
    }
}
