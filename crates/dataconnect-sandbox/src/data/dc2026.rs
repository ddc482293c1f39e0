//! Generation 3 ("Data Connect 2026"): the `mesure_synchrone_auto/v2`
//! routes (the two index routes are `index`'s) and the four contract
//! ("ITC") APIs with the PRM in the path.
//!
//! Shapes follow Enedis's 2026 Swagger files (copied in
//! MyElectricalData/myelectricaldata_new,
//! `docs/external-apis/enedis-api/data-connect-2026/`), with the key order
//! of the production captures in that repository's
//! `apps/api/tests/fixtures/enedis_2026/`: daily `idPrm, etapeMetier, periode,
//! typeValeur, modeCalcul, pas, grandeur, contexte`; max power the same
//! without `typeValeur`; curves without `typeValeur` and `pas` (the step is
//! on each point, `v, d, p, n, iv, ec`). Values are strings; `calendrier`
//! and `contexte` are empty arrays.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;

use super::rules::{self, DataError, Endpoint, ErrorKind, Query, Valid};
use super::v5::step_name;
use super::{Flow, Generation, Kind, Series, customer, json, json_response, metering, metering_route, stamp};
use crate::Sandbox;
use crate::meters::Meter;

const BASE: &str = "/mesure_synchrone_auto/v2";

/// The generation 3 routes.
pub(super) fn routes() -> Router<Sandbox> {
    let ep = |flow, kind| Endpoint { generation: Generation::Dc2026, flow, kind };
    let c = Flow::Consumption;
    let p = Flow::Production;
    let max_power = ep(c, Kind::MaxPower);
    Router::new()
        .route(&format!("{BASE}/consommation_quotidienne"), metering_route(ep(c, Kind::Daily), render))
        .route(&format!("{BASE}/production_quotidienne"), metering_route(ep(p, Kind::Daily), render))
        .route(&format!("{BASE}/courbe_de_charge_consommation"), metering_route(ep(c, Kind::Curve), render))
        .route(&format!("{BASE}/courbe_de_charge_production"), metering_route(ep(p, Kind::Curve), render))
        .route(
            &format!("{BASE}/puissance_conso_max_quotidienne"),
            get(move |State(sandbox): State<Sandbox>, headers: HeaderMap, RawQuery(query): RawQuery| async move {
                metering(
                    &sandbox,
                    &headers,
                    query.as_deref(),
                    max_power,
                    &["mesuresPas", "grandeurPhysique"],
                    check_max_params,
                    render,
                )
            }),
        )
        .route(&format!("{BASE}/index_consommation"), super::index::route(c))
        .route(&format!("{BASE}/index_production"), super::index::route(p))
        .route(
            "/situation_contrat_auto/v1/{prm}",
            itc_route("Situation contractuelle ou PRM non existant", customer::situation_contrat),
        )
        .route(
            "/synth_contrat_auto/v1/{prm}",
            itc_route("Synthèse contractuelle ou PRM non existant", customer::synth_contrat),
        )
        .route("/comptage_auto/v1/{prm}", itc_route("Situation comptage ou PRM non existant", customer::comptage))
        .route(
            "/donnees_generales_auto/v1/{prm}",
            itc_route("Données générales ou PRM non existant", customer::donnees_generales),
        )
}

/// `mesuresPas` (P1D or P1M) and `grandeurPhysique` (PMA or TOUT) are
/// required on the max-power route.
pub(super) fn check_max_params(query: &Query) -> Result<(), DataError> {
    for (name, allowed) in [("mesuresPas", ["P1D", "P1M"]), ("grandeurPhysique", ["PMA", "TOUT"])] {
        let value = query.get(name).ok_or(ErrorKind::MissingParam(name))?;
        if !allowed.contains(&value) {
            return Err(ErrorKind::BadParam(name).into());
        }
    }
    Ok(())
}

fn itc_route(label: &'static str, body: fn(&Meter) -> Vec<u8>) -> axum::routing::MethodRouter<Sandbox> {
    get(
        move |State(sandbox): State<Sandbox>,
              headers: HeaderMap,
              Path(prm): Path<String>,
              RawQuery(query): RawQuery| async move {
            match rules::validate_itc(&sandbox, &headers, query.as_deref(), &prm, label) {
                Ok(meter) => json_response(StatusCode::OK, body(meter)),
                Err(response) => response,
            }
        },
    )
}

/// Writes a `mesure_synchrone_auto/v2` body.
pub(super) fn render(valid: &Valid, endpoint: Endpoint, series: &Series) -> Vec<u8> {
    let mut out = Vec::with_capacity(super::v5::capacity(series));
    out.push(b'{');
    json::field(&mut out, "idPrm", valid.meter.prm);
    out.extend_from_slice(b",\"etapeMetier\":\"BRUT\",\"periode\":{\"dateDebut\":");
    json::date(&mut out, valid.start);
    out.extend_from_slice(b",\"dateFin\":");
    json::date(&mut out, valid.end);
    out.push(b'}');
    let metier = match endpoint.flow {
        Flow::Consumption => "CONS",
        Flow::Production => "PROD",
    };
    let monthly = valid.query.get("mesuresPas") == Some("P1M");
    match endpoint.kind {
        Kind::Daily => {
            out.extend_from_slice(b",\"typeValeur\":\"GLOBALE\",\"modeCalcul\":\"DIFF.INDEX\",\"pas\":\"P1D\"")
        }
        Kind::MaxPower if monthly => out.extend_from_slice(b",\"modeCalcul\":\"MESURE\",\"pas\":\"P1M\""),
        Kind::MaxPower => out.extend_from_slice(b",\"modeCalcul\":\"MESURE\",\"pas\":\"P1D\""),
        Kind::Curve => out.extend_from_slice(b",\"modeCalcul\":\"MESURE\""),
    }
    out.extend_from_slice(b",\"grandeur\":[{");
    json::field(&mut out, "grandeurMetier", metier);
    let (physique, unite) = match endpoint.kind {
        Kind::Daily => ("EA", "Wh"),
        Kind::Curve => ("PA", "W"),
        Kind::MaxPower => ("PMA", "VA"),
    };
    out.push(b',');
    json::field(&mut out, "grandeurPhysique", physique);
    out.push(b',');
    json::field(&mut out, "unite", unite);
    out.extend_from_slice(b",\"points\":[");
    match series {
        Series::Curve(points) => {
            for (i, p) in points.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"v\":");
                // A missing curve value is written as JSON null, as v5 does
                // (ha-linky PR #194); the string "null" is only known from a
                // sandbox max-power replay.
                match p.watts() {
                    Some(w) => json::uint_string(&mut out, u64::from(w)),
                    None => out.extend_from_slice(b"null"),
                }
                out.extend_from_slice(b",\"d\":");
                stamp(&mut out, p.end);
                out.extend_from_slice(b",\"p\":\"");
                out.extend_from_slice(step_name(p.step_min).as_bytes());
                out.extend_from_slice(b"\",\"n\":\"B\",\"iv\":\"0\",\"ec\":\"0\"}");
            }
        }
        Series::Daily(days) => {
            for (i, (day, wh)) in days.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"v\":");
                json::uint_string(&mut out, *wh);
                out.extend_from_slice(b",\"d\":");
                json::date(&mut out, *day);
                out.push(b'}');
            }
        }
        Series::Max(days) => {
            let kept = kept_maxima(days, monthly);
            max_points(&mut out, &kept, |m| m.va);
            // A three-phase meter asked for TOUT adds one element per
            // phase (PMA1, PMA2, PMA3), with the same stamps, as the
            // sandbox replay shows; a single-phase meter answers with the
            // PMA element only, the spec's inferred reading.
            if valid.meter.three_phase && valid.query.get("grandeurPhysique") == Some("TOUT") {
                for phase in 1..=3u8 {
                    out.extend_from_slice(b"],\"calendrier\":[]},{");
                    json::field(&mut out, "grandeurMetier", metier);
                    out.push(b',');
                    json::field(&mut out, "grandeurPhysique", &format!("PMA{phase}"));
                    out.extend_from_slice(b",\"unite\":\"VA\",\"points\":[");
                    let seed = super::synth::prm_seed(valid.meter.prm);
                    let per_phase: Vec<(jiff::civil::Date, super::synth::MaxPower)> =
                        kept.iter().map(|(day, m)| (*day, phase_max(seed, *day, phase, *m))).collect();
                    let refs: Vec<&(jiff::civil::Date, super::synth::MaxPower)> = per_phase.iter().collect();
                    max_points(&mut out, &refs, |m| m.va);
                }
            }
        }
    }
    out.extend_from_slice(b"],\"calendrier\":[]}],\"contexte\":[]}");
    out
}

/// The maxima a max-power answer lists: every day's (P1D), or each
/// calendar month's highest daily maximum and its instant (P1M: no
/// example exists; inferred).
fn kept_maxima(
    days: &[(jiff::civil::Date, super::synth::MaxPower)],
    monthly: bool,
) -> Vec<&(jiff::civil::Date, super::synth::MaxPower)> {
    let mut kept: Vec<&(jiff::civil::Date, super::synth::MaxPower)> = Vec::with_capacity(days.len());
    for item in days {
        match kept.last_mut() {
            Some(last) if monthly && last.0.first_of_month() == item.0.first_of_month() => {
                if item.1.va > last.1.va {
                    *last = item;
                }
            }
            _ => kept.push(item),
        }
    }
    kept
}

/// The points of one max-power element.
fn max_points(
    out: &mut Vec<u8>,
    kept: &[&(jiff::civil::Date, super::synth::MaxPower)],
    value: impl Fn(&super::synth::MaxPower) -> u32,
) {
    for (i, (_, max)) in kept.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"v\":");
        json::uint_string(out, u64::from(value(max)));
        out.extend_from_slice(b",\"d\":");
        stamp(out, max.at);
        out.push(b'}');
    }
}

/// One phase's maximum on a three-phase meter: between a quarter and a
/// half of the single-phase-equivalent maximum, drawn per day and phase,
/// at the same instant. How real phases relate to PMA is not documented
/// (the replay reuses the stamps); this keeps every phase below PMA.
fn phase_max(seed: u64, day: jiff::civil::Date, phase: u8, pma: super::synth::MaxPower) -> super::synth::MaxPower {
    let h = super::synth::hash3(seed, super::json::days_from_civil(day) as u64, 0xFA5E_0000 + u64::from(phase));
    let share = 0.25 + 0.25 * super::synth::unit(h);
    super::synth::MaxPower { va: (f64::from(pma.va) * share).ceil() as u32, at: pma.at }
}
