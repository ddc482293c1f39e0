//! The Conso API gateway: a service that holds a Data Connect contract for
//! its users and gives each Linky owner a personal token covering their
//! meters (the token Home Assistant's Linky add-on uses).
//!
//! It answers `GET {base}/{type}` in two families. The 2026 type names
//! (`consommation_quotidienne`, `courbe_de_charge_consommation`…, with
//! `pointId`, `dateDebut`, `dateFin`) answer in the Data Connect 2026
//! measurement format, read here by [`dc2026`](super::dc2026). The older
//! names (`daily_consumption`, `consumption_load_curve`…, with `prm`,
//! `start`, `end`) answer the v5 `meter_reading` object without its
//! `{"meter_reading": …}` wrapper, read by [`v5`](super::v5) once wrapped
//! again. Errors are `{"status": N, "message": "…", "error": …}`, where
//! `error` holds Enedis's own error body when Data Connect refused the
//! gateway's call; that inner body is read by the crate's error families,
//! and a 401 of the gateway itself means the token does not cover the PRM
//! (or is not a token): the customer must give the gateway their consent.

use std::time::Duration;

use jiff::Timestamp;
use serde::Deserialize;

use crate::domain::{DateRange, Generation, Reading, Series};
use crate::error::{Error, ErrorKind};

/// The path and query names of a series in a family: (type, PRM, start, end).
pub(crate) fn type_of(family: Generation, series: Series) -> Option<(&'static str, [&'static str; 3])> {
    const NEW: [&str; 3] = ["pointId", "dateDebut", "dateFin"];
    const OLD: [&str; 3] = ["prm", "start", "end"];
    match family {
        Generation::Dc2026 => Some((
            match series {
                Series::ConsumptionDaily => "consommation_quotidienne",
                Series::ConsumptionCurve => "courbe_de_charge_consommation",
                Series::ConsumptionMaxPower => "puissance_conso_max_quotidienne",
                Series::ProductionDaily => "production_quotidienne",
                Series::ProductionCurve => "courbe_de_charge_production",
                // The gateway relays readings only.
                Series::ConsumptionIndex | Series::ProductionIndex => return None,
            },
            NEW,
        )),
        Generation::V5 => Some((
            match series {
                Series::ConsumptionDaily => "daily_consumption",
                Series::ConsumptionCurve => "consumption_load_curve",
                Series::ConsumptionMaxPower => "consumption_max_power",
                Series::ProductionDaily => "daily_production",
                Series::ProductionCurve => "production_load_curve",
                Series::ConsumptionIndex | Series::ProductionIndex => return None,
            },
            OLD,
        )),
        Generation::Legacy => None,
    }
}

/// Decodes one window's answer of either family.
pub(crate) fn decode_readings(
    family: Generation,
    body: &[u8],
    series: Series,
    window: DateRange,
) -> Result<Vec<Reading>, Error> {
    match family {
        Generation::V5 => {
            // The object comes without its wrapper; a body that has one
            // (a gateway version that passes Enedis's answer through) is
            // read as it is.
            if contains(body, b"\"meter_reading\"") {
                return super::v5::decode_readings(body, series, window);
            }
            let mut wrapped = Vec::with_capacity(body.len() + 20);
            wrapped.extend_from_slice(b"{\"meter_reading\":");
            wrapped.extend_from_slice(body);
            wrapped.push(b'}');
            super::v5::decode_readings(&wrapped, series, window)
        }
        _ => super::dc2026::decode_readings(body, series, window),
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The gateway's error body.
#[derive(Deserialize)]
struct GatewayError {
    status: Option<serde_json::Value>,
    message: Option<String>,
    error: Option<serde_json::Value>,
}

/// Turns a non-2xx answer of the gateway into an error of the crate's kinds.
pub(crate) fn error(
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
    context: String,
    server_now: Timestamp,
) -> Error {
    let Ok(g) = serde_json::from_slice::<GatewayError>(body) else {
        return Error::from_response_at(status, retry_after, body, context, server_now);
    };
    // The body's status is the one that counts (a proxy may have changed
    // the HTTP one); a 429 keeps the gateway's wait, if it gave one.
    let status = g
        .status
        .as_ref()
        .and_then(|s| s.as_u64().or_else(|| s.as_str()?.parse().ok()))
        .and_then(|s| u16::try_from(s).ok())
        .filter(|s| (400..600).contains(s))
        .unwrap_or(status);
    if status == 429 {
        return Error::from_response_at(429, retry_after, body, context, server_now);
    }
    // Enedis's own error inside: an object of one of its families, or its
    // code alone as a string.
    let inner: Option<Vec<u8>> = match &g.error {
        Some(v @ serde_json::Value::Object(_)) => serde_json::to_vec(v).ok(),
        Some(serde_json::Value::String(s)) if looks_like_enedis_code(s) => {
            serde_json::to_vec(&serde_json::json!({ "error": s, "error_description": g.message })).ok()
        }
        _ => None,
    };
    if let Some(inner) = inner {
        return Error::from_response_at(status, retry_after, &inner, context, server_now);
    }
    let kind = match status {
        401 => ErrorKind::ConsentRequired,
        403 => ErrorKind::Forbidden,
        404 => ErrorKind::NoData,
        400 => ErrorKind::InvalidRequest,
        s if s >= 500 => ErrorKind::Server,
        _ => ErrorKind::Api,
    };
    let message = match (status, g.message) {
        (401, Some(m)) => Some(format!("{m} (the Conso API token does not cover this meter, or is not a token)")),
        (401, None) => Some("the Conso API token does not cover this meter, or is not a token".to_owned()),
        (_, m) => m,
    };
    Error::gateway(kind, status, message, context)
}

/// `ADAM-DC-0008`, `STM-ERR-0000014`, `no_data_found`: a code, not prose.
fn looks_like_enedis_code(s: &str) -> bool {
    let t = s.trim();
    !t.is_empty() && t.len() <= 40 && !t.contains(' ') && (t.contains('-') || t.contains('_'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn err(status: u16, body: &str) -> Error {
        error(status, None, body.as_bytes(), "GET x".into(), Timestamp::now())
    }

    #[test]
    fn gateway_errors_map_to_the_crate_kinds() {
        let e = err(401, r#"{"status":401,"message":"Ce token ne donne pas accès à ce PRM","error":"Unauthorized"}"#);
        assert_eq!(*e.kind(), ErrorKind::ConsentRequired);
        assert!(e.to_string().contains("does not cover"), "{e}");
        let e = err(
            403,
            r#"{"status":403,"message":"Enedis a renvoyé une erreur","error":{"error":"ADAM-DC-0008","error_description":"No consent can be found for this customer and this usage point"}}"#,
        );
        assert_eq!(*e.kind(), ErrorKind::ConsentRequired);
        assert_eq!(e.code(), Some("ADAM-DC-0008"));
        let e = err(
            400,
            r#"{"status":400,"message":"Enedis","error":{"code":"ADAM-ERR0123","message":"The requested period cannot be anterior to the meter's last activation date"}}"#,
        );
        assert_eq!(*e.kind(), ErrorKind::BeforeActivation);
        let e = err(404, r#"{"status":404,"message":"Enedis","error":"no_data_found"}"#);
        assert!(e.is_no_data());
        let e = err(429, r#"{"status":429,"message":"Too many requests"}"#);
        assert_eq!(*e.kind(), ErrorKind::RateLimited);
        let e = err(502, "<html>bad gateway</html>");
        assert_eq!(*e.kind(), ErrorKind::Server);
    }

    #[test]
    fn both_families_decode() {
        let window = DateRange::new(date(2025, 1, 1), date(2025, 1, 3)).unwrap();
        let v5 = br#"{"usage_point_id":"12345678901234","start":"2025-01-01","end":"2025-01-03","quality":"BRUT","reading_type":{"measurement_kind":"energy","unit":"Wh","aggregate":"sum","measuring_period":"P1D"},"interval_reading":[{"value":"1000","date":"2025-01-01"},{"value":"2000","date":"2025-01-02"}]}"#;
        let r = decode_readings(Generation::V5, v5, Series::ConsumptionDaily, window).unwrap();
        assert_eq!(r.iter().map(|r| r.value).collect::<Vec<_>>(), vec![Some(1000.0), Some(2000.0)]);
        let new = br#"{"idPrm":"12345678901234","periode":{"dateDebut":"2025-01-01","dateFin":"2025-01-03"},"pas":"P1D","grandeur":[{"grandeurMetier":"CONS","grandeurPhysique":"EA","unite":"Wh","points":[{"v":"5","d":"2025-01-01"},{"v":"6","d":"2025-01-02"}]}]}"#;
        let r = decode_readings(Generation::Dc2026, new, Series::ConsumptionDaily, window).unwrap();
        assert_eq!(r.len(), 2);
    }
}
