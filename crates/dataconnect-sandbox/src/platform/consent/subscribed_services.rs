//! Generation 3's `POST /subscribed_services/v1`, which resolves an
//! authorisation to its meters and their services.

use super::*;

/// One item of `serviceSouscrit`, in the key order of the spec's example.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Service {
    id: String,
    injection: bool,
    soutirage: bool,
    service_code: &'static str,
    date_debut: String,
    date_fin: String,
    etat_code: &'static str,
    etat_libelle: &'static str,
    point_id: String,
    mesures_type_code: &'static str,
    mesures_pas: &'static str,
    mesures_corrigees: bool,
    espace_dynamique: bool,
    publication_donnees: bool,
    autorisation: ServiceAutorisation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ServiceAutorisation {
    autorisation_id: u64,
    autorisation_libelle: &'static str,
    autorisation_type: &'static str,
    /// Not in the Swagger, but in the sandbox replay (EST-FIX).
    #[serde(skip_serializing_if = "Option::is_none")]
    autorisation_statut: Option<&'static str>,
}

/// Services of a consumption share and of a production share: Enedis's
/// sandbox gives one service per measure type (CDC, PMAX, IDX, ENERGIE,
/// ITC) for a consumption point. Production has no max power and no
/// contractual data (those exist for consumption points only), so a
/// production share carries CDC, IDX and ENERGIE [inferred].
pub(super) const CONSUMPTION_SERVICES: &[(&str, &str)] =
    &[("CDC", "PT30M"), ("PMAX", "P1D"), ("IDX", "P1D"), ("ENERGIE", "P1D"), ("ITC", "NA")];
pub(super) const PRODUCTION_SERVICES: &[(&str, &str)] = &[("CDC", "PT30M"), ("IDX", "P1D"), ("ENERGIE", "P1D")];

/// The filters of a `ConsulterServicesSouscritsPaginesDemande`.
pub(super) struct Filter {
    /// `comptage: true`: answer the count only.
    count_only: bool,
    autorisation_id: Option<u64>,
    point_ids: Option<HashSet<String>>,
    etat_codes: Vec<String>,
    service_type: String,
    mesure_types: Option<Vec<String>>,
    soutirage: Option<bool>,
    injection: Option<bool>,
    date_debut: Option<Date>,
    date_fin: Option<Date>,
}

/// A generation 3 `{code, message}` error.
pub(super) fn sgt_error(status: StatusCode, message: &str) -> Response {
    json(status, &serde_json::json!({"code": status.as_u16().to_string(), "message": message}))
}

/// `POST /subscribed_services/v1`: the services of an authorisation, as the
/// SW-SS Swagger and the sandbox replay describe them.
pub(super) async fn subscribed_services(State(sandbox): State<Sandbox>, headers: HeaderMap, body: Bytes) -> Response {
    let now = sandbox.clock().now();
    let Some(issued) = sandbox.platform().bearer(&headers, now) else {
        return unauthorized(Family::Y2026);
    };
    // Only application tokens reach generation 3 APIs.
    if !matches!(issued.access, Access::Application) {
        return unauthorized(Family::Y2026);
    }
    let filter = match parse_filter(&body) {
        Ok(f) => f,
        Err(refusal) => return refusal,
    };
    let today = sandbox.clock().today();
    let services = {
        let grants = sandbox.platform().grants();
        let mut services = Vec::new();
        let mut ids: Vec<&u64> = grants.autorisations.keys().collect();
        ids.sort();
        for id in ids {
            let Some(autorisation) = grants.autorisations.get(id) else { continue };
            if autorisation.client_id != issued.client_id || filter.autorisation_id.is_some_and(|want| want != *id) {
                continue;
            }
            for (share_index, share) in autorisation.shares.iter().enumerate() {
                services_of(*id, share_index, share, today, &filter, &mut services);
            }
        }
        services
    };
    if filter.count_only || services.is_empty() {
        // The sandbox replay answers an empty result without the list.
        return json(StatusCode::OK, &serde_json::json!({"nbTotalServices": services.len()}));
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Page {
        nb_total_services: usize,
        service_souscrit: Vec<Service>,
    }
    json(StatusCode::OK, &Page { nb_total_services: services.len(), service_souscrit: services })
}

pub(super) fn services_of(
    id: u64,
    share_index: usize,
    share: &Share,
    today: Date,
    filter: &Filter,
    out: &mut Vec<Service>,
) {
    let (etat_code, etat_libelle, statut) = if share.revoked {
        ("SUPPRIME", "Supprimé", None)
    } else if share.end <= today {
        ("TERMINE", "Terminé", None)
    } else {
        ("ACTIF", "Actif", Some("ACTIVE"))
    };
    if filter.service_type == "CCDC" && etat_code == "ACTIF" {
        return collection_of(id, share_index, share, filter, out);
    }
    if !filter.etat_codes.iter().any(|c| c == etat_code) || filter.service_type != "ACCES" {
        return;
    }
    if filter.point_ids.as_ref().is_some_and(|set| !set.contains(share.meter.prm)) {
        return;
    }
    if filter.date_debut.is_some_and(|d| share.start < d) || filter.date_fin.is_some_and(|d| share.end < d) {
        return;
    }
    let mut directions = Vec::new();
    if share.meter.consumption {
        directions.push((true, CONSUMPTION_SERVICES));
    }
    if share.meter.production {
        directions.push((false, PRODUCTION_SERVICES));
    }
    let mut k = 0;
    for (soutirage, kinds) in directions {
        if filter.soutirage == Some(true) && !soutirage || filter.injection == Some(true) && soutirage {
            continue;
        }
        for (mesure, pas) in kinds {
            k += 1;
            if filter.mesure_types.as_ref().is_some_and(|m| !m.iter().any(|t| t == mesure)) {
                continue;
            }
            out.push(Service {
                id: (80_000_000 + share_index * 100 + k).to_string(),
                injection: !soutirage,
                soutirage,
                service_code: "ACCES",
                date_debut: share.start.to_string(),
                date_fin: share.end.to_string(),
                etat_code,
                etat_libelle,
                point_id: share.meter.prm.to_owned(),
                mesures_type_code: mesure,
                mesures_pas: pas,
                mesures_corrigees: false,
                espace_dynamique: true,
                publication_donnees: false,
                autorisation: ServiceAutorisation {
                    autorisation_id: id,
                    autorisation_libelle: "DATACONNECT_C5_ACTIF",
                    autorisation_type: "EXPLICITE",
                    autorisation_statut: statut,
                },
            });
        }
    }
}

/// The `CCDC` ("collecte de la courbe de charge") service of a consented
/// consumption meter whose load curve is collected, asked for with
/// `serviceType: "CCDC"` and the consent's `autorisationId`: active since
/// the meter's activation, with no end. A meter whose curve is not
/// collected (sandbox client 2) has none, which is how a client learns
/// that the customer must switch on the hourly collection. The published
/// description lists `CCDC` among the service types; what the real
/// gateway answers a Data Connect application asking for it is not known
/// (an inference).
fn collection_of(id: u64, share_index: usize, share: &Share, filter: &Filter, out: &mut Vec<Service>) {
    let meter = share.meter;
    if !meter.consumption || !meter.curve_collected || !filter.etat_codes.iter().any(|c| c == "ACTIF") {
        return;
    }
    if filter.point_ids.as_ref().is_some_and(|set| !set.contains(meter.prm)) {
        return;
    }
    out.push(Service {
        id: (81_000_000 + share_index * 100).to_string(),
        injection: false,
        soutirage: true,
        service_code: "CCDC",
        date_debut: meter.activation.to_string(),
        date_fin: "9999-12-31".to_owned(),
        etat_code: "ACTIF",
        etat_libelle: "Actif",
        point_id: meter.prm.to_owned(),
        mesures_type_code: "CDC",
        mesures_pas: "PT30M",
        mesures_corrigees: false,
        espace_dynamique: true,
        publication_donnees: false,
        autorisation: ServiceAutorisation {
            autorisation_id: id,
            autorisation_libelle: "DATACONNECT_C5_ACTIF",
            autorisation_type: "EXPLICITE",
            autorisation_statut: Some("ACTIVE"),
        },
    });
}

/// Reads the request body. `comptage` is the only required field; a Data
/// Connect third party must also give `autorisationId` (or, as other
/// callers do, `pointId`). The error texts follow the Swagger's pattern
/// ("Le paramètre … est obligatoire"); the 400 status is the Swagger's,
/// although production may answer 500 for requests outside it (the notes of
/// MyElectricalData/myelectricaldata_new, `docs/external-apis/enedis-api/data-connect-2026/README.md`).
pub(super) fn parse_filter(body: &[u8]) -> Result<Filter, Response> {
    use serde_json::Value;
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return Err(sgt_error(StatusCode::BAD_REQUEST, "Le corps de la requête n'est pas un JSON valide"));
    };
    let Some(fields) = request.as_object() else {
        return Err(sgt_error(StatusCode::BAD_REQUEST, "Le corps de la requête n'est pas un JSON valide"));
    };
    let Some(count_only) = fields.get("comptage").and_then(Value::as_bool) else {
        return Err(sgt_error(StatusCode::BAD_REQUEST, "Le paramètre comptage est obligatoire"));
    };
    let strings = |name: &str| -> Result<Option<Vec<String>>, Response> {
        match fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| i.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| sgt_error(StatusCode::BAD_REQUEST, &format!("Le paramètre {name} est invalide"))),
            Some(_) => Err(sgt_error(StatusCode::BAD_REQUEST, &format!("Le paramètre {name} est invalide"))),
        }
    };
    let boolean = |name: &str| -> Result<Option<bool>, Response> {
        match fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(sgt_error(StatusCode::BAD_REQUEST, &format!("Le paramètre {name} est invalide"))),
        }
    };
    let date = |name: &str| -> Result<Option<Date>, Response> {
        match fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => s
                .parse::<Date>()
                .map(Some)
                .map_err(|_| sgt_error(StatusCode::BAD_REQUEST, &format!("Le paramètre {name} est invalide"))),
            Some(_) => Err(sgt_error(StatusCode::BAD_REQUEST, &format!("Le paramètre {name} est invalide"))),
        }
    };
    // The Swagger types it int64; a Java backend also takes a numeric
    // string, so the sandbox does too.
    let autorisation_id = match fields.get("autorisationId") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_u64() {
            Some(id) => Some(id),
            None => return Err(sgt_error(StatusCode::BAD_REQUEST, "Le paramètre autorisationId est invalide")),
        },
        Some(Value::String(s)) => match s.parse::<u64>() {
            Ok(id) => Some(id),
            Err(_) => return Err(sgt_error(StatusCode::BAD_REQUEST, "Le paramètre autorisationId est invalide")),
        },
        Some(_) => return Err(sgt_error(StatusCode::BAD_REQUEST, "Le paramètre autorisationId est invalide")),
    };
    let point_ids = strings("pointId")?;
    if autorisation_id.is_none() && point_ids.is_none() {
        return Err(sgt_error(StatusCode::BAD_REQUEST, "Le paramètre autorisationId est obligatoire"));
    }
    let service_type = match fields.get("serviceType") {
        None | Some(Value::Null) => "ACCES".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(sgt_error(StatusCode::BAD_REQUEST, "Le paramètre serviceType est invalide")),
    };
    Ok(Filter {
        count_only,
        autorisation_id,
        point_ids: point_ids.map(|p| p.into_iter().collect()),
        etat_codes: strings("etatCode")?.unwrap_or_else(|| vec!["ACTIF".to_owned(), "DEMANDE".to_owned()]),
        service_type,
        mesure_types: strings("mesureTypeCode")?,
        soutirage: boolean("soutirage")?,
        injection: boolean("injection")?,
        date_debut: date("dateDebut")?,
        date_fin: date("dateFin")?,
    })
}
