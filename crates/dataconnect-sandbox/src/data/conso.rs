//! The Conso API gateway, emulated under `/conso/`: a service that holds a
//! Data Connect contract for its users and gives each Linky owner a
//! personal token covering their meters.
//!
//! `GET /conso/{type}` with `Authorization: Bearer <token>`. The 2026 type
//! names (`consommation_quotidienne`, `courbe_de_charge_consommation`,
//! `puissance_conso_max_quotidienne` with optional `mesuresPas` and
//! `grandeurPhysique`, `production_quotidienne`,
//! `courbe_de_charge_production`; `pointId`, `dateDebut`, `dateFin`)
//! answer the 2026 measurement body; the older names (`daily_consumption`,
//! `consumption_load_curve`, `consumption_max_power`, `daily_production`,
//! `production_load_curve`; `prm`, `start`, `end`) answer the v5
//! `meter_reading` object without its wrapper. The data and the checks are
//! those of the sandbox's own routes of that generation, as the gateway
//! passes its users' calls on to Data Connect.
//!
//! Tokens: `sandbox-conso-<PRM>` covers that meter, and
//! `sandbox-conso-<PRM>+<PRM>…` several (any meter the sandbox knows).
//! Errors are `{"status": N, "message": "…", "error": …}`: 401 for a
//! missing token or a PRM the token does not cover (`error`:
//! `"Unauthorized"`), 404 for an unknown type, and Data Connect's own
//! error body inside `error`, with its status, when the call was refused
//! upstream.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;

use super::rules::{self, DataError, Endpoint, Query};
use super::{Flow, Generation, Kind, Render, answer, dc2026, json_response, v5};
use crate::{Access, Sandbox};

/// The prefix of every gateway token the sandbox accepts.
pub(crate) const TOKEN_PREFIX: &str = "sandbox-conso-";

/// The routes of the emulated gateway.
pub(super) fn routes() -> Router<Sandbox> {
    Router::new().route("/conso/{kind}", get(handler))
}

/// A type name: its endpoint, whether it is of the older family, and its
/// (PRM, start, end) parameter names.
fn route_of(kind: &str) -> Option<(Endpoint, bool)> {
    let (c, p) = (Flow::Consumption, Flow::Production);
    let (flow, measure, old) = match kind {
        "consommation_quotidienne" => (c, Kind::Daily, false),
        "courbe_de_charge_consommation" => (c, Kind::Curve, false),
        "puissance_conso_max_quotidienne" => (c, Kind::MaxPower, false),
        "production_quotidienne" => (p, Kind::Daily, false),
        "courbe_de_charge_production" => (p, Kind::Curve, false),
        "daily_consumption" => (c, Kind::Daily, true),
        "consumption_load_curve" => (c, Kind::Curve, true),
        "consumption_max_power" => (c, Kind::MaxPower, true),
        "daily_production" => (p, Kind::Daily, true),
        "production_load_curve" => (p, Kind::Curve, true),
        _ => return None,
    };
    let generation = if old { Generation::V5 } else { Generation::Dc2026 };
    Some((Endpoint { generation, flow, kind: measure }, old))
}

/// The gateway's error body.
fn gateway_error(status: StatusCode, message: &str, error: serde_json::Value) -> Response {
    let body = serde_json::json!({ "status": status.as_u16(), "message": message, "error": error });
    json_response(status, serde_json::to_vec(&body).unwrap_or_default())
}

/// The PRMs a presented token covers.
fn covered(headers: &HeaderMap) -> Option<Vec<String>> {
    let token = crate::platform::bearer_token(headers)?;
    let list = token.strip_prefix(TOKEN_PREFIX)?;
    let prms: Vec<String> = list.split('+').map(str::to_owned).collect();
    prms.iter().all(|p| p.len() == 14 && p.bytes().all(|b| b.is_ascii_digit())).then_some(prms)
}

/// The query as the sandbox's own route of that generation takes it.
fn upstream_query(raw: Option<&str>, old: bool, max_power: bool) -> (Option<String>, String) {
    let mut prm = None;
    let mut pairs: Vec<String> = Vec::new();
    let mut has_step = false;
    let mut has_physical = false;
    for item in raw.unwrap_or("").split('&').filter(|s| !s.is_empty()) {
        let (k, v) = item.split_once('=').unwrap_or((item, ""));
        let k = match (old, k) {
            (true, "prm") => "usage_point_id",
            (_, k) => k,
        };
        if k == "usage_point_id" || k == "pointId" {
            prm = Some(v.to_owned());
        }
        has_step |= k == "mesuresPas";
        has_physical |= k == "grandeurPhysique";
        pairs.push(format!("{k}={v}"));
    }
    // The gateway makes the two max-power parameters optional.
    if max_power && !old {
        if !has_step {
            pairs.push("mesuresPas=P1D".into());
        }
        if !has_physical {
            pairs.push("grandeurPhysique=PMA".into());
        }
    }
    (prm, pairs.join("&"))
}

async fn handler(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Path(kind): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let Some((endpoint, old)) = route_of(&kind) else {
        return gateway_error(StatusCode::NOT_FOUND, "Type de données inconnu", serde_json::json!("Not Found"));
    };
    let Some(prms) = covered(&headers) else {
        return gateway_error(
            StatusCode::UNAUTHORIZED,
            "Token manquant ou invalide",
            serde_json::json!("Unauthorized"),
        );
    };
    let (prm, query) = upstream_query(raw.as_deref(), old, endpoint.kind == Kind::MaxPower);
    if let Some(prm) = &prm
        && !prms.contains(prm)
    {
        return gateway_error(
            StatusCode::UNAUTHORIZED,
            "Ce token ne donne pas accès à ce PRM",
            serde_json::json!("Unauthorized"),
        );
    }
    let (allowed, render): (&[&str], Render) = match (old, endpoint.kind) {
        (true, _) => (&[], v5::render_bare),
        (false, Kind::MaxPower) => (&["mesuresPas", "grandeurPhysique"], dc2026::render),
        (false, _) => (&[], dc2026::render),
    };
    let extra = |q: &Query| -> Result<(), DataError> {
        if !old && endpoint.kind == Kind::MaxPower { dc2026::check_max_params(q) } else { Ok(()) }
    };
    let response = match rules::validate_as(&sandbox, &Access::Application, Some(&query), endpoint, allowed, extra) {
        Ok(valid) => answer(&valid, endpoint, render),
        Err(response) => response,
    };
    if response.status().is_success() {
        return response;
    }
    // Refused upstream: Enedis's body inside the gateway's.
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap_or_default();
    let inner: serde_json::Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&body).into_owned()));
    gateway_error(status, "Enedis a renvoyé une erreur", inner)
}
