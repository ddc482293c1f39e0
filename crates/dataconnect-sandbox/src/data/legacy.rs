//! Generation 1: `/v3/metering_data/…`, `/v4/metering_data/…` and
//! `/v3/customers/…`.
//!
//! v3 wraps its answer in a `usage_point` array and numbers the points
//! with `rank`s instead of dates; `interval_length` is `"1800"` seconds in
//! `reading_type` (the only example of consometers/data-connect's README is the load curve). v3
//! predates variable steps, so a meter with another step is served in v3
//! as half-hours: shorter intervals are summed into their half-hour (exact
//! energy), an hour is served as two half-hours of the same average power
//! (exact energy too). Rank 1 is 00:00–00:30 of the first day asked for;
//! ranks count real half-hours, so a DST day has 46 or 50 of them, and a
//! missing half-hour leaves a hole in the ranks (consometers/data-connect's example starts
//! at rank 49).
//!
//! For the v3 daily and max-power routes no body is known; we read them as
//! the same envelope with one rank per day (`reading_type` with
//! `measuring_period` "P1D"), the max power keeping its `date` so the
//! instant of the peak is not lost. This is an inference, said here so a
//! client author knows to be tolerant.
//!
//! v4 has the v5 shape (no wrapper), and both `consumption_max_power` and
//! `daily_consumption_max_power` were in use, so both are served.

use axum::Router;

use super::rules::{Endpoint, Valid};
use super::synth::{self, CurvePoint};
use super::v5::{self, customer_route};
use super::{Flow, Generation, Kind, Series, customer, json, metering_route, stamp};
use crate::Sandbox;

/// The generation 1 routes.
pub(super) fn routes() -> Router<Sandbox> {
    let ep = |flow, kind| Endpoint { generation: Generation::Legacy, flow, kind };
    let c = Flow::Consumption;
    let p = Flow::Production;
    Router::new()
        .route("/v3/metering_data/daily_consumption", metering_route(ep(c, Kind::Daily), render_v3))
        .route("/v3/metering_data/consumption_load_curve", metering_route(ep(c, Kind::Curve), render_v3))
        .route("/v3/metering_data/consumption_max_power", metering_route(ep(c, Kind::MaxPower), render_v3))
        .route("/v4/metering_data/daily_consumption", metering_route(ep(c, Kind::Daily), v5::render))
        .route("/v4/metering_data/consumption_load_curve", metering_route(ep(c, Kind::Curve), v5::render))
        .route("/v4/metering_data/consumption_max_power", metering_route(ep(c, Kind::MaxPower), v5::render))
        .route("/v4/metering_data/daily_consumption_max_power", metering_route(ep(c, Kind::MaxPower), v5::render))
        .route("/v4/metering_data/daily_production", metering_route(ep(p, Kind::Daily), v5::render))
        .route("/v4/metering_data/production_load_curve", metering_route(ep(p, Kind::Curve), v5::render))
        .route("/v3/customers/identity", customer_route(Generation::Legacy, customer::identity))
        .route("/v3/customers/contact_data", customer_route(Generation::Legacy, customer::contact_data))
        .route("/v3/customers/usage_points/contracts", customer_route(Generation::Legacy, customer::contracts))
        .route("/v3/customers/usage_points/addresses", customer_route(Generation::Legacy, customer::addresses))
}

/// One v3 half-hour: its rank and average power (`None` for `null`).
#[derive(Debug, PartialEq, Eq)]
struct HalfHour {
    rank: i64,
    watts: Option<u64>,
}

/// Re-steps a curve into half-hours ranked from `origin` (UTC second of
/// the first day's local midnight).
fn half_hours(points: &[CurvePoint], origin: i64) -> Vec<HalfHour> {
    let mut out: Vec<HalfHour> = Vec::with_capacity(points.len());
    // The sub-half-hour accumulator: rank, energy so far (None once a
    // null is seen), minutes covered.
    let mut acc: Option<(i64, Option<u64>, u16)> = None;
    let flush = |acc: &mut Option<(i64, Option<u64>, u16)>, out: &mut Vec<HalfHour>| {
        if let Some((rank, wh, minutes)) = acc.take() {
            // An incomplete half-hour (a step change off the half-hour
            // grid) has no exact average; it is served as null.
            let watts = if minutes == 30 { wh.map(|e| e * 2) } else { None };
            out.push(HalfHour { rank, watts });
        }
    };
    for p in points {
        let rank = (p.start() - origin).div_euclid(1800) + 1;
        match p.step_min {
            30 => {
                flush(&mut acc, &mut out);
                out.push(HalfHour { rank, watts: p.watts().map(u64::from) });
            }
            60 => {
                flush(&mut acc, &mut out);
                let watts = p.watts().map(u64::from);
                out.push(HalfHour { rank, watts });
                out.push(HalfHour { rank: rank + 1, watts });
            }
            _ => {
                if acc.as_ref().is_some_and(|(r, _, _)| *r != rank) {
                    flush(&mut acc, &mut out);
                }
                let (_, wh, minutes) = acc.get_or_insert((rank, Some(0), 0));
                *wh = wh.and_then(|e| p.wh.map(|x| e + u64::from(x)));
                *minutes += p.step_min;
            }
        }
    }
    flush(&mut acc, &mut out);
    out
}

/// Writes a v3 body.
fn render_v3(valid: &Valid, endpoint: Endpoint, series: &Series) -> Vec<u8> {
    let mut out = Vec::with_capacity(v5::capacity(series));
    out.extend_from_slice(b"{\"usage_point\":[{\"meter_reading\":{");
    json::field(&mut out, "usage_point_id", valid.meter.prm);
    out.extend_from_slice(b",\"start\":");
    json::date(&mut out, valid.start);
    out.extend_from_slice(b",\"end\":");
    json::date(&mut out, valid.end);
    out.extend_from_slice(b",\"reading_type\":");
    out.extend_from_slice(match endpoint.kind {
        Kind::Curve => {
            b"{\"measurement_kind\":\"power\",\"interval_length\":\"1800\",\"unit\":\"W\",\"aggregate\":\"average\"}"
                .as_slice()
        }
        Kind::Daily => {
            b"{\"measurement_kind\":\"energy\",\"measuring_period\":\"P1D\",\"unit\":\"Wh\",\"aggregate\":\"sum\"}"
        }
        Kind::MaxPower => {
            b"{\"measurement_kind\":\"power\",\"measuring_period\":\"P1D\",\"unit\":\"VA\",\"aggregate\":\"maximum\"}"
        }
    });
    out.extend_from_slice(b",\"interval_reading\":[");
    let first_day = json::days_from_civil(valid.start);
    let mut sep = false;
    let mut item = |out: &mut Vec<u8>, rank: i64, value: Option<u64>| {
        if sep {
            out.push(b',');
        }
        sep = true;
        out.extend_from_slice(b"{\"rank\":");
        json::uint_string(out, rank.max(0) as u64);
        out.extend_from_slice(b",\"value\":");
        match value {
            Some(v) => json::uint_string(out, v),
            None => out.extend_from_slice(b"null"),
        }
    };
    match series {
        Series::Curve(points) => {
            let origin = synth::local_instant(valid.start, 0).unwrap_or(0);
            for h in half_hours(points, origin) {
                item(&mut out, h.rank, h.watts);
                out.push(b'}');
            }
        }
        Series::Daily(days) => {
            for (day, wh) in days {
                item(&mut out, json::days_from_civil(*day) - first_day + 1, Some(*wh));
                out.push(b'}');
            }
        }
        Series::Max(days) => {
            for (day, max) in days {
                item(&mut out, json::days_from_civil(*day) - first_day + 1, Some(u64::from(max.va)));
                out.extend_from_slice(b",\"date\":");
                stamp(&mut out, max.at);
                out.push(b'}');
            }
        }
    }
    out.extend_from_slice(b"]}}]}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_hours_keep_energy() {
        let p = |end: i64, step_min: u16, wh: Option<u32>| CurvePoint { end, step_min, wh };
        let points = [
            p(3600, 60, Some(500)),
            p(5400, 30, Some(100)),
            p(6000, 10, Some(10)),
            p(6600, 10, Some(20)),
            p(7200, 10, Some(30)),
            p(8100, 15, Some(40)),
            p(9000, 15, None),
        ];
        let hh = half_hours(&points, 0);
        let got: Vec<(i64, Option<u64>)> = hh.iter().map(|h| (h.rank, h.watts)).collect();
        assert_eq!(got, vec![(1, Some(500)), (2, Some(500)), (3, Some(200)), (4, Some(120)), (5, None)]);
    }
}
