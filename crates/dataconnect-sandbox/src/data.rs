//! The data and customer routes of the three generations.
//!
//! Every metering route goes through one pipeline ([`rules::validate`]):
//! the bearer is checked first, then the query in the order of its error
//! list (see [`rules`]), then the meter's own rules; the surviving
//! days are filled by the deterministic household of [`synth`] and written
//! straight into a byte buffer by the generation's module ([`legacy`],
//! [`v5`], [`dc2026`]). The customer routes read the synthetic customer of
//! [`customer`]. Nothing is cached: a 7-day curve is cheap to compute, and
//! computing it again is what makes "same meter, same values through every
//! generation" true by construction.

mod conso;
mod customer;
mod dc2026;
mod index;
mod json;
mod legacy;
mod rules;
mod synth;
mod v5;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::Sandbox;

pub(crate) use conso::TOKEN_PREFIX as CONSO_TOKEN_PREFIX;

/// Every data and customer route of every generation.
pub(crate) fn routes() -> Router<Sandbox> {
    Router::new().merge(legacy::routes()).merge(v5::routes()).merge(dc2026::routes()).merge(conso::routes())
}

/// The API generation a route belongs to; it decides the error bodies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Generation {
    /// `/v3/…` and `/v4/…` with a per-customer token.
    Legacy,
    /// `metering_data_*/v5` and `customers_*/v5`.
    V5,
    /// `mesure_synchrone_auto/v2` and the contract ("ITC") APIs of 2026.
    Dc2026,
}

/// Which way the energy flows through the meter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Energy drawn from the grid.
    Consumption,
    /// Energy injected into the grid.
    Production,
}

/// The kind of series a metering route serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Average power per interval (W), at most 7 days per call.
    Curve,
    /// Energy per day (Wh), at most 365 days per call.
    Daily,
    /// Highest apparent power per day (VA) and when it happened.
    MaxPower,
}

/// A JSON body with its status; the one way the data routes answer.
pub(crate) fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The points of a metering answer, before a generation writes them.
#[derive(Debug)]
pub(crate) enum Series {
    /// Load-curve points, in order.
    Curve(Vec<synth::CurvePoint>),
    /// Daily energies (Wh), in order.
    Daily(Vec<(jiff::civil::Date, u64)>),
    /// Daily maximum powers, in order.
    Max(Vec<(jiff::civil::Date, synth::MaxPower)>),
}

impl Series {
    fn is_empty(&self) -> bool {
        match self {
            Series::Curve(v) => v.is_empty(),
            Series::Daily(v) => v.is_empty(),
            Series::Max(v) => v.is_empty(),
        }
    }
}

/// Writes a validated answer's body.
pub(crate) type Render = fn(&rules::Valid, rules::Endpoint, &Series) -> Vec<u8>;

/// The whole life of a metering call: validation, the points, the body.
pub(crate) fn metering(
    sandbox: &Sandbox,
    headers: &axum::http::HeaderMap,
    raw_query: Option<&str>,
    endpoint: rules::Endpoint,
    allowed_extra: &[&str],
    extra: impl FnOnce(&rules::Query) -> Result<(), rules::DataError>,
    render: Render,
) -> Response {
    match rules::validate(sandbox, headers, raw_query, endpoint, allowed_extra, extra) {
        Ok(valid) => answer(&valid, endpoint, render),
        Err(response) => response,
    }
}

/// The points and body of a validated metering call.
pub(crate) fn answer(valid: &rules::Valid, endpoint: rules::Endpoint, render: Render) -> Response {
    let series = match endpoint.kind {
        Kind::Curve => Series::Curve(valid.curve(endpoint.flow)),
        Kind::Daily => Series::Daily(valid.daily(endpoint.flow)),
        Kind::MaxPower => Series::Max(valid.max_power()),
    };
    if series.is_empty() {
        // A range with no published point: gaps, a curve not collected,
        // or days before D+1 08:00.
        let error: rules::DataError = rules::ErrorKind::NoData.into();
        return error.response(rules::Surface::Metering(endpoint.generation));
    }
    json_response(StatusCode::OK, render(valid, endpoint, &series))
}

/// A GET route running [`metering`] for one endpoint.
pub(crate) fn metering_route(endpoint: rules::Endpoint, render: Render) -> axum::routing::MethodRouter<Sandbox> {
    axum::routing::get(
        move |axum::extract::State(sandbox): axum::extract::State<Sandbox>,
              headers: axum::http::HeaderMap,
              axum::extract::RawQuery(query): axum::extract::RawQuery| async move {
            metering(&sandbox, &headers, query.as_deref(), endpoint, &[], |_| Ok(()), render)
        },
    )
}

/// Writes the local wall-clock stamp of a UTC instant (`"YYYY-MM-DD
/// HH:MM:SS"`, Paris time, no offset).
///
/// On the October change day the instants 00:00 and 01:00 UTC read 02:00
/// (CEST, then CET): the stamps 02:00 and 02:30 appear twice, in order,
/// and on the March day 02:00 and 02:30 do not exist. This is the reading
/// the spec's own client rule needs ("resolve the first occurrence as CEST
/// and the second as CET") and what converting each end instant to Paris
/// time gives; the spec's guess "02:30 and 03:00 twice" would make a
/// `03:00` stamp name two different instants, and no source shows a real
/// DST-day body either way.
pub(crate) fn stamp(out: &mut Vec<u8>, utc: i64) {
    json::local_stamp(out, utc + synth::offset_at(utc));
}
