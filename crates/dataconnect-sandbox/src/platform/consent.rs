//! The consent journey of the three generations, and generation 3's
//! `POST /subscribed_services/v1` that resolves an authorisation to its
//! meters.
//!
//! - Generation 1: `GET /group/espace-particuliers/consentement-linky/oauth2/authorize`
//!   (always) and `GET /dataconnect/v1/oauth2/authorize` with a
//!   `redirect_uri` (or the seed's `redirect_URI`): like the legacy sandbox,
//!   an HTML page whose script holds `var url = "<redirect>?code=…"` and
//!   sends the browser there, plus a plain link.
//! - Generation 2: `GET /dataconnect/v1/oauth2/authorize` without
//!   `redirect_uri`: a 302 to the registered redirect with `code`, `state`
//!   and `usage_point_id=PRM[;PRM…]`.
//! - Generation 3: `GET /dataconnect/v2/oauth2/authorize`: a 302 with
//!   `autorisation_id` and `state` only.
//!
//! The sandbox test client is the last character of `state` (0 to 8, as in
//! Enedis's sandbox; dataconnect-api.md section 5). Choices where the spec
//! is silent: a `state` that is absent or does not end in a digit selects
//! client 0; a final `9` is a customer with no meter, whose consent ends as
//! a refusal. With `--consent-page` the customer picks the client and the
//! meters on a French page instead, and may refuse.
//!
//! Generation 3 grants one PRM per consent (dataconnect-2026.md section
//! 2.2); for a client with several meters the first one is taken, unless
//! the consent page picks another. The `autorisation_id` is derived from the
//! application and the holder (the sandbox client), so the same pair always
//! gets the same id, even across restarts, as Enedis does.
//!
//! Every authorize request is validated in the order of the authorize error
//! catalogue (dataconnect-api.md section 1.2.2): missing parameter,
//! malformed `state`, malformed or too long `duration`, wrong
//! `response_type`, unknown `client_id`, redirect mismatch. These errors are
//! answered on the page itself (status and `{error, error_description}`
//! body), never redirected: the redirect is not trusted before the client
//! and its redirect are checked, as RFC 6749 section 4.1.2.1 requires.

use std::collections::HashSet;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;

use super::duration::{self, ConsentDuration, DurationError};
use super::{
    Family, first, html_escape, json, oauth_error, parse_form, percent_encode, random_alnum, token,
    unauthorized,
};
use crate::clock::paris;
use crate::meters::{self, Meter};
use crate::{Access, Sandbox};

/// The generation 1 consent path of the seed.
pub(crate) const LEGACY_PATH: &str = "/group/espace-particuliers/consentement-linky/oauth2/authorize";
/// The consent path of generation 1 (later form) and generation 2.
pub(crate) const V1_PATH: &str = "/dataconnect/v1/oauth2/authorize";
/// The consent path of generation 3.
pub(crate) const V2_PATH: &str = "/dataconnect/v2/oauth2/authorize";

/// The maximum length of `state` (the Swagger: "up to 100 characters").
const STATE_MAX: usize = 100;

/// A consent given through a generation 1 or 2 page.
#[derive(Clone, Debug)]
pub(crate) struct Consent {
    /// The application it was given to.
    pub(crate) client_id: String,
    /// The meters shared.
    pub(crate) prms: Vec<String>,
    /// When it ends: `start` plus `duration`, in Paris civil time.
    pub(crate) end: Timestamp,
    /// Revoked by the customer (sandbox client 8 revokes at once).
    pub(crate) revoked: bool,
}

/// A generation 3 authorisation: one per application and holder.
#[derive(Clone, Debug)]
pub(crate) struct Autorisation {
    /// The application it was given to.
    pub(crate) client_id: String,
    /// The holder: the sandbox client who gave it.
    pub(crate) holder: u8,
    /// The meters shared under it, one per consent.
    pub(crate) shares: Vec<Share>,
}

/// One meter shared under a generation 3 authorisation.
#[derive(Clone, Debug)]
pub(crate) struct Share {
    pub(crate) meter: &'static Meter,
    /// The consent's first day (Paris).
    pub(crate) start: Date,
    /// The consent's end day (Paris): start plus duration.
    pub(crate) end: Date,
    pub(crate) revoked: bool,
}

/// Which consent journey a request is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Generation {
    Legacy,
    V5,
    Y2026,
}

impl Generation {
    /// What the page asks for, in the generation's words.
    fn data_shared(self) -> &'static [&'static str] {
        match self {
            Generation::Legacy | Generation::V5 => &[
                "Vos données de consommation : courbe de charge (puissance moyenne par demi-heure), consommation quotidienne, puissance maximale quotidienne",
                "Vos données de production : courbe de production, production quotidienne",
                "Vos données contractuelles : contrat, adresse du point de livraison",
                "Vos données d'identité et de contact",
            ],
            Generation::Y2026 => &[
                "Vos données de mesure : courbe de charge, énergie quotidienne, puissance maximale quotidienne, en consommation et en production",
                "Vos données contractuelles et techniques : situation contractuelle, synthèse, comptage, données générales",
            ],
        }
    }
}

/// An authorize request that passed validation.
struct Valid {
    generation: Generation,
    /// The path of the page (the consent form posts back to it).
    path: &'static str,
    client_id: String,
    /// `None` when the request had no `state`.
    state: Option<String>,
    duration_text: String,
    duration: ConsentDuration,
    /// The redirect the customer is sent back to.
    redirect: String,
    /// The `redirect_uri` the request carried, if any (the consent form
    /// carries it along).
    redirect_param: Option<String>,
}

pub(super) fn routes() -> Router<Sandbox> {
    Router::new()
        .route(LEGACY_PATH, get(legacy_get).post(legacy_post))
        .route(V1_PATH, get(v1_get).post(v1_post))
        .route(V2_PATH, get(v2_get).post(v2_post))
        .route("/subscribed_services/v1", post(subscribed_services))
        .route("/subscribed_services/v1/", post(subscribed_services))
}

async fn legacy_get(State(sandbox): State<Sandbox>, RawQuery(query): RawQuery) -> Response {
    authorize_get(&sandbox, LEGACY_PATH, query)
}

async fn v1_get(State(sandbox): State<Sandbox>, RawQuery(query): RawQuery) -> Response {
    authorize_get(&sandbox, V1_PATH, query)
}

async fn v2_get(State(sandbox): State<Sandbox>, RawQuery(query): RawQuery) -> Response {
    authorize_get(&sandbox, V2_PATH, query)
}

async fn legacy_post(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    authorize_post(&sandbox, LEGACY_PATH, &body)
}

async fn v1_post(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    authorize_post(&sandbox, V1_PATH, &body)
}

async fn v2_post(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    authorize_post(&sandbox, V2_PATH, &body)
}

fn authorize_get(sandbox: &Sandbox, path: &'static str, query: Option<String>) -> Response {
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
fn authorize_post(sandbox: &Sandbox, path: &'static str, body: &[u8]) -> Response {
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
                        return consent_page(sandbox, &valid, client, &selected, Some(message), StatusCode::BAD_REQUEST);
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
fn client_of_state(state: Option<&str>) -> Option<u8> {
    let last = state.and_then(|s| s.chars().last());
    match last.and_then(|c| c.to_digit(10)) {
        Some(9) => None,
        Some(d) => u8::try_from(d).ok(),
        None => Some(0),
    }
}

/// Checks an authorize request in the catalogue's order.
fn validate(sandbox: &Sandbox, path: &'static str, pairs: &[(String, String)]) -> Result<Valid, Response> {
    let config = sandbox.config();
    let present = |name: &str| first(pairs, name).filter(|v| !v.is_empty()).map(str::to_owned);
    let client_id = present("client_id");
    let response_type = present("response_type");
    let duration_text = present("duration");
    let state = first(pairs, "state").map(str::to_owned);
    // The seed spells it `redirect_URI`; clients of the later form spell it
    // `redirect_uri`. Both are accepted.
    let redirect_param = present("redirect_uri").or_else(|| present("redirect_URI"));

    let generation = match path {
        LEGACY_PATH => Generation::Legacy,
        V1_PATH if redirect_param.is_some() => Generation::Legacy,
        V1_PATH => Generation::V5,
        _ => Generation::Y2026,
    };

    let (Some(client_id), Some(response_type), Some(duration_text)) = (client_id, response_type, duration_text)
    else {
        return Err(authorize_error(StatusCode::BAD_REQUEST, "invalid_request", "missing_parameter"));
    };
    // The seed's page cannot redirect without being told where.
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
fn authorize_error(status: StatusCode, error: &str, description: &str) -> Response {
    oauth_error(status, error, description)
}

/// Records the consent and sends the customer back to the application.
fn grant(sandbox: &Sandbox, valid: &Valid, client: u8, chosen: &[&'static Meter]) -> Response {
    let now = sandbox.clock().now();
    let paris_now = now.to_zoned_datetime(paris());
    let start_day = paris_now.date();
    let end_day = valid.duration.end(start_day).unwrap_or(start_day);
    let end = end_day
        .to_datetime(paris_now.time())
        .to_zoned_datetime(paris())
        .map(|z| z.timestamp())
        .unwrap_or(now);
    let revoked = chosen.iter().any(|m| m.revoked);
    let mut params: Vec<(&str, String)> = Vec::new();
    match valid.generation {
        Generation::Legacy | Generation::V5 => {
            let prms: Vec<String> = chosen.iter().map(|m| m.prm.to_owned()).collect();
            let code = random_alnum(30);
            {
                let mut grants = sandbox.platform().grants();
                let consent = grants.consents.len();
                grants.consents.push(Consent {
                    client_id: valid.client_id.clone(),
                    prms: prms.clone(),
                    end,
                    revoked,
                });
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
                let autorisation = grants
                    .autorisations
                    .entry(id)
                    .or_insert_with(|| Autorisation { client_id: valid.client_id.clone(), holder: client, shares: Vec::new() });
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
/// clients test; dataconnect-api.md section 1.1).
fn refuse(valid: &Valid) -> Response {
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
fn back_to_application(valid: &Valid, params: &[(&str, String)]) -> Response {
    let url = with_query(&valid.redirect, params);
    match valid.generation {
        Generation::Legacy => legacy_page(&url),
        Generation::V5 | Generation::Y2026 => found(&url),
    }
}

/// `base` with `params` appended to its query.
fn with_query(base: &str, params: &[(&str, String)]) -> String {
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
fn found(url: &str) -> Response {
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

/// The legacy sandbox's answer: a page whose script holds
/// `var url = "…"` (CONSO-PY scrapes it with `var url = \".*\"`) and sends
/// the browser there, plus a link for clients without JavaScript.
fn legacy_page(url: &str) -> Response {
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n<title>Redirection</title>\n</head>\n<body>\n<script type=\"text/javascript\">\nvar url = \"{js}\";\nwindow.location.href = url;\n</script>\n<p>Vous allez être redirigé vers l'application. Si rien ne se passe, <a href=\"{href}\">cliquez ici</a>.</p>\n</body>\n</html>\n",
        js = js_string(url),
        href = html_escape(url),
    );
    html(StatusCode::OK, page)
}

/// Escapes text for a double-quoted JavaScript string inside a `<script>`
/// element. `&` is left alone so that scrapers read the URL as it is.
fn js_string(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

fn html(status: StatusCode, page: String) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))], page).into_response()
}

/// The French description of each sandbox client, as the spec lists them.
fn client_description(client: u8) -> &'static str {
    match client {
        0 => "un point de consommation, courbe de charge activée, données complètes",
        1 => "un point de consommation mis en service le 27 août 2019",
        2 => "un point de consommation, courbe de charge non activée",
        3 => "un point de consommation et un point de production",
        4 => "un point de consommation, sans données les mardis et mercredis",
        5 => "un point de production seule",
        6 => "un point en autoconsommation",
        7 => "trois points de consommation",
        8 => "donne son consentement puis le révoque aussitôt",
        _ => "",
    }
}

fn meter_kind(meter: &Meter) -> &'static str {
    match (meter.consumption, meter.production) {
        (true, true) => "consommation et production",
        (false, true) => "production",
        _ => "consommation",
    }
}

/// The interactive consent page: who asks, for how long, which data; the
/// customer picks a sandbox client and its meters, then accepts or refuses.
/// Plain HTML forms; every reflected value is escaped.
fn consent_page(
    sandbox: &Sandbox,
    valid: &Valid,
    preselected: u8,
    selected: &[String],
    message: Option<&str>,
    status: StatusCode,
) -> Response {
    let today = sandbox.clock().today();
    let until = valid.duration.end(today).map(|d| d.strftime("%d/%m/%Y").to_string()).unwrap_or_default();
    let e = html_escape;
    let mut page = String::with_capacity(8192);
    page.push_str("<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n");
    page.push_str("<title>Partage de vos données – Enedis (bac à sable)</title>\n");
    page.push_str("<style>body{font-family:sans-serif;max-width:46em;margin:2em auto;padding:0 1em}fieldset{margin:1em 0}li{list-style:none}.erreur{color:#b00020;font-weight:bold}</style>\n");
    page.push_str("</head>\n<body>\n<header><p><strong>Enedis</strong> · Mon compte particulier · bac à sable dataconnect</p></header>\n<main>\n");
    page.push_str("<h1>Autorisation d'accès à vos données</h1>\n");
    page.push_str(&format!(
        "<p>L'application <strong>{}</strong> souhaite accéder aux données de votre compteur Linky pendant <strong>{}</strong> (durée demandée : {}), soit jusqu'au {}.</p>\n",
        e(&valid.client_id),
        e(&valid.duration.in_words()),
        e(&valid.duration_text),
        e(&until),
    ));
    page.push_str("<h2>Données partagées</h2>\n<ul>\n");
    for item in valid.generation.data_shared() {
        page.push_str(&format!("<li>• {}</li>\n", e(item)));
    }
    page.push_str("</ul>\n");
    if let Some(message) = message {
        page.push_str(&format!("<p class=\"erreur\" role=\"alert\">{}</p>\n", e(message)));
    }
    page.push_str(&format!("<form method=\"post\" action=\"{}\">\n", e(valid.path)));
    let mut hidden = |name: &str, value: &str| {
        page.push_str(&format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">\n", e(name), e(value)));
    };
    hidden("client_id", &valid.client_id);
    hidden("response_type", "code");
    hidden("duration", &valid.duration_text);
    if let Some(state) = &valid.state {
        hidden("state", state);
    }
    if let Some(redirect) = &valid.redirect_param {
        hidden("redirect_uri", redirect);
    }
    page.push_str("<fieldset>\n<legend>Titulaire et compteurs (clients de test du bac à sable)</legend>\n");
    let input_type = if valid.generation == Generation::Y2026 { "radio" } else { "checkbox" };
    for client in 0..=8u8 {
        let checked = if client == preselected { " checked" } else { "" };
        page.push_str(&format!(
            "<p><input type=\"radio\" name=\"client\" id=\"client-{client}\" value=\"{client}\"{checked}> <label for=\"client-{client}\">Client de test {client} : {}</label></p>\n<ul>\n",
            e(client_description(client)),
        ));
        for meter in meters::of_client(client) {
            let ticked = if selected.iter().any(|s| s == meter.prm) { " checked" } else { "" };
            page.push_str(&format!(
                "<li><input type=\"{input_type}\" name=\"prm\" id=\"prm-{prm}\" value=\"{prm}\"{ticked}> <label for=\"prm-{prm}\">Compteur {prm} ({kind})</label></li>\n",
                prm = e(meter.prm),
                kind = meter_kind(meter),
            ));
        }
        page.push_str("</ul>\n");
    }
    page.push_str("</fieldset>\n");
    if valid.generation == Generation::Y2026 {
        page.push_str("<p>Un partage porte sur un seul compteur. Sans choix, le premier compteur du titulaire est partagé.</p>\n");
    } else {
        page.push_str("<p>Sans choix, tous les compteurs du titulaire sont partagés.</p>\n");
    }
    page.push_str("<p><button type=\"submit\" name=\"decision\" value=\"accept\">Accepter</button> <button type=\"submit\" name=\"decision\" value=\"refuse\">Refuser</button></p>\n");
    page.push_str("</form>\n</main>\n</body>\n</html>\n");
    html(status, page)
}

/// The `autorisation_id` of an application and a holder: stable, derived
/// from both (FNV-1a), a positive 9-digit int64 like the ids seen in
/// production; a collision with another pair moves to the next free id.
fn autorisation_id(grants: &super::Grants, client_id: &str, holder: u8) -> u64 {
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

/// One item of `serviceSouscrit`, in the key order of the spec's example.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Service {
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
struct ServiceAutorisation {
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
const CONSUMPTION_SERVICES: &[(&str, &str)] =
    &[("CDC", "PT30M"), ("PMAX", "P1D"), ("IDX", "P1D"), ("ENERGIE", "P1D"), ("ITC", "NA")];
const PRODUCTION_SERVICES: &[(&str, &str)] = &[("CDC", "PT30M"), ("IDX", "P1D"), ("ENERGIE", "P1D")];

/// The filters of a `ConsulterServicesSouscritsPaginesDemande`.
struct Filter {
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
fn sgt_error(status: StatusCode, message: &str) -> Response {
    json(status, &serde_json::json!({"code": status.as_u16().to_string(), "message": message}))
}

/// `POST /subscribed_services/v1`: the services of an authorisation, as the
/// SW-SS Swagger and the sandbox replay describe them.
async fn subscribed_services(State(sandbox): State<Sandbox>, headers: HeaderMap, body: Bytes) -> Response {
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

fn services_of(id: u64, share_index: usize, share: &Share, today: Date, filter: &Filter, out: &mut Vec<Service>) {
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
/// although production may answer 500 for requests outside it
/// (dataconnect-2026.md section 3.1).
fn parse_filter(body: &[u8]) -> Result<Filter, Response> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_selects_client() {
        assert_eq!(client_of_state(Some("abcde0")), Some(0));
        assert_eq!(client_of_state(Some("x7")), Some(7));
        assert_eq!(client_of_state(Some("x9")), None);
        assert_eq!(client_of_state(Some("abc")), Some(0));
        assert_eq!(client_of_state(None), Some(0));
    }

    #[test]
    fn js_strings_cannot_break_out() {
        assert_eq!(js_string("a\"</script>\\"), "a\\\"\\u003c/script\\u003e\\\\");
        assert_eq!(js_string("https://x/cb?code=1&state=2"), "https://x/cb?code=1&state=2");
    }

    use proptest::prelude::*;

    /// Query strings built from the parameter names the page reads, with
    /// arbitrary values, and raw arbitrary strings.
    fn query() -> impl Strategy<Value = String> {
        let name = prop_oneof![
            Just("client_id"),
            Just("response_type"),
            Just("state"),
            Just("duration"),
            Just("redirect_uri"),
            Just("redirect_URI"),
            Just("x"),
        ];
        let value = prop_oneof![
            Just(crate::DEFAULT_CLIENT_ID.to_owned()),
            Just("code".to_owned()),
            Just("P1Y".to_owned()),
            Just(crate::DEFAULT_REDIRECT_URI.to_owned()),
            "P[0-9]{0,3}[YMWD]{0,2}(T[0-9]{0,2}[HMS])?",
            ".{0,120}",
        ];
        let pair = (name, value).prop_map(|(n, v)| format!("{n}={}", percent_encode(&v)));
        prop_oneof![prop::collection::vec(pair, 0..7).prop_map(|p| p.join("&")), ".{0,200}"]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        /// Whatever the query, the page answers a page, a redirect or a
        /// 400; a 500 only for the catalogue's odd-duration error. Never a
        /// panic.
        #[test]
        fn authorize_never_fails_on_bad_input(q in query(), path in prop_oneof![Just(LEGACY_PATH), Just(V1_PATH), Just(V2_PATH)], page in any::<bool>()) {
            let config = crate::SandboxConfig { consent_page: page, ..crate::SandboxConfig::default() };
            let Ok(sandbox) = Sandbox::new(config) else { panic!("sandbox") };
            let response = authorize_get(&sandbox, path, Some(q.clone()));
            let status = response.status().as_u16();
            prop_assert!(matches!(status, 200 | 302 | 400 | 500), "{status} for {q}");
            let post = authorize_post(&sandbox, path, q.as_bytes());
            prop_assert!(matches!(post.status().as_u16(), 200 | 302 | 400 | 500), "{} for {q}", post.status());
        }

        /// Arbitrary bodies never panic the subscribed-services parser.
        #[test]
        fn subscribed_services_body_never_panics(body in prop_oneof![
            ".{0,200}",
            Just("{\"comptage\":true}".to_owned()),
            "\\{\"autorisationId\":[0-9a-z\"]{0,25},\"comptage\":(true|false|1|null)(,\"etatCode\":\\[\"[A-Z]{0,8}\"\\])?\\}",
        ]) {
            match parse_filter(body.as_bytes()) {
                Ok(_) => {}
                Err(refusal) => prop_assert_eq!(refusal.status(), StatusCode::BAD_REQUEST),
            }
        }
    }

    #[test]
    fn query_building() {
        let url = with_query("https://a/cb", &[("state", "<x> &".to_owned()), ("usage_point_id", "1;2".to_owned())]);
        assert_eq!(url, "https://a/cb?state=%3Cx%3E%20%26&usage_point_id=1;2");
        assert_eq!(with_query("https://a/cb?x=1", &[("state", "s".to_owned())]), "https://a/cb?x=1&state=s");
    }
}
