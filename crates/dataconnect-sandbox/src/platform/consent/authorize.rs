//! The authorize pages of the three generations: the GET and POST handlers,
//! the validation in the order of the authorize error catalogue, and what a
//! granted or refused consent sends back to the application.

use super::pages::*;
use super::*;

pub(super) async fn legacy_get(State(sandbox): State<Sandbox>, RawQuery(query): RawQuery) -> Response {
    authorize_get(&sandbox, LEGACY_PATH, query)
}

pub(super) async fn v1_get(State(sandbox): State<Sandbox>, RawQuery(query): RawQuery) -> Response {
    authorize_get(&sandbox, V1_PATH, query)
}

pub(super) async fn v2_get(State(sandbox): State<Sandbox>, RawQuery(query): RawQuery) -> Response {
    authorize_get(&sandbox, V2_PATH, query)
}

pub(super) async fn legacy_post(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    authorize_post(&sandbox, LEGACY_PATH, &body)
}

pub(super) async fn v1_post(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    authorize_post(&sandbox, V1_PATH, &body)
}

pub(super) async fn v2_post(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    authorize_post(&sandbox, V2_PATH, &body)
}

pub(super) fn authorize_get(sandbox: &Sandbox, path: &'static str, query: Option<String>) -> Response {
    let pairs = parse_form(query.unwrap_or_default().as_bytes());
    let valid = match validate(sandbox, path, &pairs) {
        Ok(valid) => valid,
        Err(refusal) => return refusal,
    };
    if sandbox.config().consent_page {
        let preselected = client_of_state(valid.state.as_deref()).unwrap_or(0);
        return consent_page(sandbox, &valid, preselected, &[], None, StatusCode::OK);
    }
    match client_of_state(valid.state.as_deref()) {
        Some(client) => {
            let chosen: Vec<&'static Meter> = match valid.generation {
                Generation::Y2026 => meters::of_client(client).into_iter().take(1).collect(),
                Generation::Legacy | Generation::V5 => meters::of_client(client),
            };
            grant(sandbox, &valid, client, &chosen)
        }
        // A customer with no meter cannot share anything: the journey ends
        // as if they had refused.
        None => refuse(&valid),
    }
}

/// The consent page's form posts back here with the customer's choice; the
/// request's own parameters travel as hidden fields and are validated
/// again (they came back from a browser).
pub(super) fn authorize_post(sandbox: &Sandbox, path: &'static str, body: &[u8]) -> Response {
    let pairs = parse_form(body);
    let valid = match validate(sandbox, path, &pairs) {
        Ok(valid) => valid,
        Err(refusal) => return refusal,
    };
    let selected: Vec<String> = pairs.iter().filter(|(n, _)| n == "prm").map(|(_, v)| v.clone()).collect();
    let client = first(&pairs, "client").and_then(|c| c.parse::<u8>().ok()).filter(|c| *c <= 8);
    match first(&pairs, "decision") {
        Some("refuse") => refuse(&valid),
        Some("accept") => {
            let Some(client) = client else {
                let message = "Choisissez le titulaire (client de test) dont vous partagez les données.";
                return consent_page(sandbox, &valid, 0, &selected, Some(message), StatusCode::BAD_REQUEST);
            };
            let own = meters::of_client(client);
            let mut chosen = Vec::new();
            for prm in &selected {
                match own.iter().find(|m| m.prm == prm) {
                    Some(meter) => chosen.push(*meter),
                    None => {
                        let message = "Un compteur choisi n'appartient pas au titulaire choisi.";
                        return consent_page(
                            sandbox,
                            &valid,
                            client,
                            &selected,
                            Some(message),
                            StatusCode::BAD_REQUEST,
                        );
                    }
                }
            }
            if valid.generation == Generation::Y2026 && chosen.len() > 1 {
                let message = "Un partage ne porte que sur un seul compteur : choisissez-en un.";
                return consent_page(sandbox, &valid, client, &selected, Some(message), StatusCode::BAD_REQUEST);
            }
            if chosen.is_empty() {
                // No box ticked: the holder's meters (generation 3: the
                // first one) are shared, as when no page is shown.
                chosen = match valid.generation {
                    Generation::Y2026 => own.into_iter().take(1).collect(),
                    Generation::Legacy | Generation::V5 => own,
                };
            }
            grant(sandbox, &valid, client, &chosen)
        }
        _ => {
            let message = "Choisissez « Accepter » ou « Refuser ».";
            consent_page(sandbox, &valid, client.unwrap_or(0), &selected, Some(message), StatusCode::BAD_REQUEST)
        }
    }
}

/// The sandbox client named by the last character of `state`: `Some(0..=8)`,
/// `None` for 9 (a customer without meter), 0 when there is no final digit.
pub(super) fn client_of_state(state: Option<&str>) -> Option<u8> {
    let last = state.and_then(|s| s.chars().last());
    match last.and_then(|c| c.to_digit(10)) {
        Some(9) => None,
        Some(d) => u8::try_from(d).ok(),
        None => Some(0),
    }
}

/// Checks an authorize request in the catalogue's order.
pub(super) fn validate(sandbox: &Sandbox, path: &'static str, pairs: &[(String, String)]) -> Result<Valid, Response> {
    let config = sandbox.config();
    let present = |name: &str| first(pairs, name).filter(|v| !v.is_empty()).map(str::to_owned);
    let client_id = present("client_id");
    let response_type = present("response_type");
    let duration_text = present("duration");
    let state = first(pairs, "state").map(str::to_owned);
    // consometers/data-connect spells it `redirect_URI`; clients of the later form spell it
    // `redirect_uri`. Both are accepted.
    let redirect_param = present("redirect_uri").or_else(|| present("redirect_URI"));

    let generation = match path {
        LEGACY_PATH => Generation::Legacy,
        V1_PATH if redirect_param.is_some() => Generation::Legacy,
        V1_PATH => Generation::V5,
        _ => Generation::Y2026,
    };

    let (Some(client_id), Some(response_type), Some(duration_text)) = (client_id, response_type, duration_text) else {
        return Err(authorize_error(StatusCode::BAD_REQUEST, "invalid_request", "missing_parameter"));
    };
    // The legacy page cannot redirect without being told where.
    if path == LEGACY_PATH && redirect_param.is_none() {
        return Err(authorize_error(StatusCode::BAD_REQUEST, "invalid_request", "missing_parameter"));
    }
    // The 100-character limit is documented; the error Enedis answers when
    // it is exceeded is not, so the sandbox uses the catalogue's generic
    // malformed-request error [inferred].
    if state.as_ref().is_some_and(|s| s.chars().count() > STATE_MAX) {
        return Err(authorize_error(StatusCode::BAD_REQUEST, "invalid_request", "invalid_state"));
    }
    let today = sandbox.clock().today();
    let duration = match duration::parse(&duration_text, today) {
        Ok(d) => d,
        Err(DurationError::Format) => {
            return Err(authorize_error(StatusCode::BAD_REQUEST, "invalid_request", "invalid_duration_format"));
        }
        Err(DurationError::TooLong) => {
            return Err(authorize_error(StatusCode::BAD_REQUEST, "invalid_request", "maximum_duration_exceeded"));
        }
        Err(DurationError::Odd) => {
            return Err(authorize_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "lincs-internal-server-error",
            ));
        }
    };
    if response_type != "code" {
        return Err(authorize_error(
            StatusCode::BAD_REQUEST,
            "unsupported_response_type",
            "The authorization server does not support obtaining an authorization code using this method",
        ));
    }
    if client_id != config.client_id {
        return Err(authorize_error(StatusCode::BAD_REQUEST, "invalid_client", "unknown_client_id"));
    }
    // Generation 1 sends the redirect and it must be the registered one;
    // generations 2 and 3 use the registered one, and tolerate the
    // parameter when it names the same URL (MED still sends it).
    if let Some(given) = &redirect_param
        && *given != config.redirect_uri
    {
        return Err(authorize_error(StatusCode::BAD_REQUEST, "invalid_request", "redirect_uri_mismatch"));
    }
    Ok(Valid {
        generation,
        path,
        client_id,
        state,
        duration_text,
        duration,
        redirect: config.redirect_uri.clone(),
        redirect_param,
    })
}

/// An authorize error as the page answers it. The `error_uri` is optional
/// in the catalogue and left out.
pub(super) fn authorize_error(status: StatusCode, error: &str, description: &str) -> Response {
    oauth_error(status, error, description)
}

/// Records the consent and sends the customer back to the application.
pub(super) fn grant(sandbox: &Sandbox, valid: &Valid, client: u8, chosen: &[&'static Meter]) -> Response {
    let now = sandbox.clock().now();
    let paris_now = now.to_zoned_datetime(paris());
    let start_day = paris_now.date();
    let end_day = valid.duration.end(start_day).unwrap_or(start_day);
    let end = end_day.to_datetime(paris_now.time()).to_zoned_datetime(paris()).map(|z| z.timestamp()).unwrap_or(now);
    let revoked = chosen.iter().any(|m| m.revoked);
    let mut params: Vec<(&str, String)> = Vec::new();
    match valid.generation {
        Generation::Legacy | Generation::V5 => {
            let prms: Vec<String> = chosen.iter().map(|m| m.prm.to_owned()).collect();
            let code = random_alnum(30);
            {
                let mut grants = sandbox.platform().grants();
                let consent = grants.consents.len();
                grants.consents.push(Consent { client_id: valid.client_id.clone(), prms: prms.clone(), end, revoked });
                // Generation 2's code is never exchanged by v5 clients, but
                // the later legacy clients used this same page without a
                // redirect_uri and exchanged the code, so it is kept
                // exchangeable, bound to the registered redirect.
                grants.codes.insert(
                    code.clone(),
                    token::Code {
                        client_id: valid.client_id.clone(),
                        redirect_uri: valid.redirect.clone(),
                        consent,
                        issued: now,
                        used: false,
                    },
                );
            }
            params.push(("code", code));
            if let Some(state) = &valid.state {
                params.push(("state", state.clone()));
            }
            // Legacy separates PRMs with `,`, v5 with `;`.
            let separator = if valid.generation == Generation::Legacy { "," } else { ";" };
            params.push(("usage_point_id", prms.join(separator)));
        }
        Generation::Y2026 => {
            let id = {
                let mut grants = sandbox.platform().grants();
                let id = autorisation_id(&grants, &valid.client_id, client);
                let autorisation = grants.autorisations.entry(id).or_insert_with(|| Autorisation {
                    client_id: valid.client_id.clone(),
                    holder: client,
                    shares: Vec::new(),
                });
                for meter in chosen {
                    let share = Share { meter, start: start_day, end: end_day, revoked: meter.revoked };
                    // Sharing a meter again renews its share.
                    match autorisation.shares.iter_mut().find(|s| s.meter.prm == meter.prm) {
                        Some(existing) => *existing = share,
                        None => autorisation.shares.push(share),
                    }
                }
                id
            };
            params.push(("autorisation_id", id.to_string()));
            if let Some(state) = &valid.state {
                params.push(("state", state.clone()));
            }
        }
    }
    back_to_application(valid, &params)
}

/// The customer refused: the redirect carries `error=access_denied` (and,
/// on the v1 page, the numeric `code` equal to the status, which legacy
/// clients test, e.g. consometers/data-connect's `examples/dataconnect.py`).
pub(super) fn refuse(valid: &Valid) -> Response {
    let mut params: Vec<(&str, String)> =
        vec![("error", "access_denied".to_owned()), ("error_description", "access_denied".to_owned())];
    if valid.generation != Generation::Y2026 {
        params.push(("code", "403".to_owned()));
    }
    if let Some(state) = &valid.state {
        params.push(("state", state.clone()));
    }
    back_to_application(valid, &params)
}

/// Generation 1 answers the legacy sandbox's page (script plus link);
/// generations 2 and 3 a 302.
pub(super) fn back_to_application(valid: &Valid, params: &[(&str, String)]) -> Response {
    let url = with_query(&valid.redirect, params);
    match valid.generation {
        Generation::Legacy => legacy_page(&url),
        Generation::V5 | Generation::Y2026 => found(&url),
    }
}

/// `base` with `params` appended to its query.
pub(super) fn with_query(base: &str, params: &[(&str, String)]) -> String {
    let mut url = base.to_owned();
    let mut separator = if base.contains('?') { '&' } else { '?' };
    for (name, value) in params {
        url.push(separator);
        url.push_str(name);
        url.push('=');
        // PRM lists keep their separators readable, as Enedis sends them.
        if *name == "usage_point_id" {
            url.push_str(value);
        } else {
            url.push_str(&percent_encode(value));
        }
        separator = '&';
    }
    url
}

/// A 302 to `url`. Bytes a header cannot carry (the registered redirect is
/// configuration, so it could hold anything) are percent-encoded.
pub(super) fn found(url: &str) -> Response {
    let mut location = String::with_capacity(url.len());
    for b in url.bytes() {
        if (0x21..0x7f).contains(&b) {
            location.push(char::from(b));
        } else {
            location.push_str(&format!("%{b:02X}"));
        }
    }
    match HeaderValue::from_str(&location) {
        Ok(value) => (StatusCode::FOUND, [(header::LOCATION, value)]).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The `autorisation_id` of an application and a holder: stable, derived
/// from both (FNV-1a), a positive 9-digit int64 like the ids seen in
/// production; a collision with another pair moves to the next free id.
pub(super) fn autorisation_id(grants: &super::super::Grants, client_id: &str, holder: u8) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in client_id.bytes().chain(std::iter::once(0)).chain(std::iter::once(holder)) {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let mut id = 100_000_000 + hash % 900_000_000;
    loop {
        match grants.autorisations.get(&id) {
            Some(a) if a.client_id != client_id || a.holder != holder => id += 1,
            _ => return id,
        }
    }
}
