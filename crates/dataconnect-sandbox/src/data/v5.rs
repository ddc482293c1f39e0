//! Generation 2: the five `metering_data_*/v5` routes and the four
//! `customers_*/v5` routes, and the `meter_reading` envelope they share
//! with the legacy `/v4` routes.
//!
//! Shapes follow `dataconnect-api.md` sections 2 and 3: one top-level
//! `meter_reading` object; `reading_type` keys in the captured order
//! (`unit, measurement_kind, aggregate, measuring_period`); every number a
//! string; curve points with `value, date, interval_length, measure_type`,
//! `date` being the Paris-local end of the interval.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;

use super::rules::{self, Endpoint, Valid};
use super::{Flow, Generation, Kind, Series, customer, json, json_response, metering_route, stamp};
use crate::Sandbox;

/// The generation 2 routes.
pub(super) fn routes() -> Router<Sandbox> {
    let ep = |flow, kind| Endpoint { generation: Generation::V5, flow, kind };
    Router::new()
        .route("/metering_data_dc/v5/daily_consumption", metering_route(ep(Flow::Consumption, Kind::Daily), render))
        .route(
            "/metering_data_clc/v5/consumption_load_curve",
            metering_route(ep(Flow::Consumption, Kind::Curve), render),
        )
        .route(
            "/metering_data_dcmp/v5/daily_consumption_max_power",
            metering_route(ep(Flow::Consumption, Kind::MaxPower), render),
        )
        .route("/metering_data_dp/v5/daily_production", metering_route(ep(Flow::Production, Kind::Daily), render))
        .route("/metering_data_plc/v5/production_load_curve", metering_route(ep(Flow::Production, Kind::Curve), render))
        .route("/customers_i/v5/identity", customer_route(Generation::V5, customer::identity))
        .route("/customers_cd/v5/contact_data", customer_route(Generation::V5, customer::contact_data))
        .route("/customers_upc/v5/usage_points/contracts", customer_route(Generation::V5, customer::contracts))
        .route("/customers_upa/v5/usage_points/addresses", customer_route(Generation::V5, customer::addresses))
}

/// A customers GET route (v3 or v5) answering `body(meter)`.
pub(super) fn customer_route(
    generation: Generation,
    body: fn(&crate::meters::Meter) -> Vec<u8>,
) -> axum::routing::MethodRouter<Sandbox> {
    get(move |State(sandbox): State<Sandbox>, headers: HeaderMap, RawQuery(query): RawQuery| async move {
        let response: Response = match rules::validate_customer(&sandbox, &headers, query.as_deref(), generation) {
            Ok(meter) => json_response(StatusCode::OK, body(meter)),
            Err(response) => response,
        };
        response
    })
}

/// Writes the `meter_reading` envelope (v4 and v5).
pub(super) fn render(valid: &Valid, endpoint: Endpoint, series: &Series) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity(series));
    out.extend_from_slice(b"{\"meter_reading\":");
    meter_reading(&mut out, valid, endpoint, series);
    out.push(b'}');
    out
}

/// Writes the `meter_reading` object alone, as the Conso API gateway's
/// older type names answer it.
pub(super) fn render_bare(valid: &Valid, endpoint: Endpoint, series: &Series) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity(series));
    meter_reading(&mut out, valid, endpoint, series);
    out
}

/// A buffer size that avoids regrowing for the usual answers.
pub(super) fn capacity(series: &Series) -> usize {
    256 + match series {
        Series::Curve(points) => points.len() * 100,
        Series::Daily(days) => days.len() * 40,
        Series::Max(days) => days.len() * 50,
    }
}

fn meter_reading(out: &mut Vec<u8>, valid: &Valid, endpoint: Endpoint, series: &Series) {
    out.push(b'{');
    json::field(out, "usage_point_id", valid.meter.prm);
    out.extend_from_slice(b",\"start\":");
    json::date(out, valid.start);
    out.extend_from_slice(b",\"end\":");
    json::date(out, valid.end);
    out.extend_from_slice(b",\"quality\":\"BRUT\",\"reading_type\":");
    out.extend_from_slice(match endpoint.kind {
        Kind::Curve => b"{\"unit\":\"W\",\"measurement_kind\":\"power\",\"aggregate\":\"average\"}".as_slice(),
        Kind::Daily => {
            b"{\"unit\":\"Wh\",\"measurement_kind\":\"energy\",\"aggregate\":\"sum\",\"measuring_period\":\"P1D\"}"
        }
        Kind::MaxPower => {
            b"{\"unit\":\"VA\",\"measurement_kind\":\"power\",\"aggregate\":\"maximum\",\"measuring_period\":\"P1D\"}"
        }
    });
    out.extend_from_slice(b",\"interval_reading\":[");
    match series {
        Series::Curve(points) => {
            for (i, p) in points.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"value\":");
                match p.watts() {
                    Some(w) => json::uint_string(out, u64::from(w)),
                    None => out.extend_from_slice(b"null"),
                }
                out.extend_from_slice(b",\"date\":");
                stamp(out, p.end);
                out.extend_from_slice(b",\"interval_length\":\"");
                out.extend_from_slice(step_name(p.step_min).as_bytes());
                out.extend_from_slice(b"\",\"measure_type\":\"B\"}");
            }
        }
        Series::Daily(days) => {
            for (i, (day, wh)) in days.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"value\":");
                json::uint_string(out, *wh);
                out.extend_from_slice(b",\"date\":");
                json::date(out, *day);
                out.push(b'}');
            }
        }
        Series::Max(days) => {
            for (i, (_, max)) in days.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"value\":");
                json::uint_string(out, u64::from(max.va));
                out.extend_from_slice(b",\"date\":");
                stamp(out, max.at);
                out.push(b'}');
            }
        }
    }
    out.extend_from_slice(b"]}");
}

/// The ISO 8601 name of a step in minutes.
pub(super) fn step_name(step_min: u16) -> &'static str {
    match step_min {
        5 => "PT5M",
        10 => "PT10M",
        15 => "PT15M",
        60 => "PT60M",
        _ => "PT30M",
    }
}
