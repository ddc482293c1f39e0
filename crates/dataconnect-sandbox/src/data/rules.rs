//! The validation order of the metering and customer routes, the date
//! rules, and the error bodies of each generation.
//!
//! The real order is not published; this one mirrors the order of Enedis's
//! error list (its error page, as copied in MyElectricalData/myelectricaldata_new,
//! `docs/external-apis/enedis-api/enedis-api-error.md`): auth, PRM present,
//! PRM 14 digits, start present, start format, end present, end format,
//! end after today, start not before end, consent, direction, span, history
//! depth, activation, then "no data". Generation 3 first refuses any query
//! parameter outside its Swagger, and a max-power parameter outside its
//! enum, with the gateway's 500 (real Enedis answers 500 there; with
//! `SandboxConfig::out_of_spec_400`, a 400 `{code, message}` naming the
//! parameter instead).

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use jiff::ToSpan;
use jiff::civil::Date;

use super::json;
use super::synth::{self, CurvePoint, MaxPower};
use super::{Flow, Generation, Kind, json_response};
use crate::meters::{self, Meter};
use crate::{Access, Sandbox};

/// The query string, percent-decoded into (name, value) pairs in order.
#[derive(Debug, Default)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses a raw query string. Never fails: malformed escapes are kept
    /// literally and invalid UTF-8 is replaced, so that bad input reaches
    /// the validation rules (and their 400s) instead of a rejection.
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .unwrap_or("")
            .split('&')
            .filter(|s| !s.is_empty())
            .map(|item| {
                let (k, v) = item.split_once('=').unwrap_or((item, ""));
                (decode(k), decode(v))
            })
            .collect();
        Query { pairs }
    }

    /// The first value of `name`, if present. An empty value counts as
    /// absent, as the gateway treats `start=` like a missing start.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    /// The first parameter whose name is not in `allowed`.
    fn unexpected(&self, allowed: &[&str]) -> Option<&str> {
        self.pairs.iter().map(|(k, _)| k.as_str()).find(|k| !allowed.contains(k))
    }
}

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(v) = hex {
                    out.push(v);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where an error is answered: it decides the body family and the words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Surface {
    /// A metering route of a generation.
    Metering(Generation),
    /// A legacy or v5 customers route (their "PRM required" text ends
    /// with a full stop).
    Customers(Generation),
    /// A 2026 contract ("ITC") API; the text is its 404 label, e.g.
    /// "Situation contractuelle ou PRM non existant".
    Itc(&'static str),
}

/// Why a data or customer call is refused.
#[derive(Debug)]
pub(crate) struct DataError {
    kind: ErrorKind,
}

/// The kinds of refusal, in validation order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum ErrorKind {
    /// A 2026 route got a query parameter its Swagger does not list (for
    /// example the v5 names `usage_point_id`, `start`, `end`).
    UnexpectedParam(String),
    /// The PRM parameter is missing or empty.
    MissingPrm,
    /// The PRM is not exactly 14 ASCII digits.
    BadPrm,
    /// The start date parameter is missing or empty.
    MissingStart,
    /// The start date is not a valid `YYYY-MM-DD` date.
    BadStart,
    /// The end date parameter is missing or empty.
    MissingEnd,
    /// The end date is not a valid `YYYY-MM-DD` date.
    BadEnd,
    /// A required 2026 max-power parameter (`mesuresPas`,
    /// `grandeurPhysique`) is missing.
    MissingParam(&'static str),
    /// A 2026 max-power parameter has a value outside its enum.
    BadParam(&'static str),
    /// The end date is after today (Paris).
    EndInFuture,
    /// The start date is not strictly before the end date.
    StartNotBeforeEnd,
    /// The PRM is unknown, revoked (sandbox client 8) or outside the
    /// token's consent.
    NoConsent,
    /// A production route on a consumption-only PRM, or the reverse.
    DirectionMismatch,
    /// A load-curve range longer than 7 days.
    CurveSpan,
    /// A daily range longer than 365 days.
    DailySpan,
    /// The start is older than the history depth (24 months + 15 days for
    /// curves, 36 months + 15 days otherwise).
    HistoryDeadline,
    /// The start is before the meter's last activation.
    BeforeActivation,
    /// The range holds no point: gaps, a curve not collected, or days not
    /// yet published (D+1 08:00 Paris).
    NoData,
    /// A customers route on a PRM that has no customer data (production
    /// points).
    NotACustomer,
    /// The customer is no longer the meter's holder (moved away):
    /// ADAM-DC-0007.
    MovedAway,
}

impl From<ErrorKind> for DataError {
    fn from(kind: ErrorKind) -> Self {
        DataError { kind }
    }
}

impl DataError {
    /// The refusal's kind.
    #[cfg(test)]
    pub(crate) fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The response this refusal gets on `surface` from `sandbox`: a
    /// generation 3 request outside the published description gets the
    /// gateway's 500 (see `platform::out_of_spec`), anything else
    /// [`response`](Self::response).
    pub(crate) fn respond(&self, sandbox: &Sandbox, surface: Surface) -> Response {
        let y2026 = matches!(surface, Surface::Metering(Generation::Dc2026) | Surface::Itc(_));
        let what = match &self.kind {
            ErrorKind::UnexpectedParam(name) => {
                format!("paramètre inattendu {}", name.chars().take(64).collect::<String>())
            }
            ErrorKind::MissingParam(name) => format!("paramètre {name} absent"),
            ErrorKind::BadParam(name) => format!("valeur du paramètre {name} hors de son énumération"),
            _ => return self.response(surface),
        };
        if !y2026 {
            return self.response(surface);
        }
        crate::platform::out_of_spec(sandbox.config(), &what)
    }

    /// The response this refusal gets on `surface`.
    pub(crate) fn response(&self, surface: Surface) -> Response {
        match surface {
            Surface::Metering(Generation::Dc2026) => self.response_2026(),
            Surface::Itc(label) => self.response_itc(label),
            Surface::Metering(g) | Surface::Customers(g) => {
                self.response_oauth(g, matches!(surface, Surface::Customers(_)))
            }
        }
    }

    fn response_oauth(&self, generation: Generation, customers: bool) -> Response {
        use ErrorKind as K;
        const BAD: &str = "invalid_request";
        let (status, error, description): (StatusCode, &str, &str) = match &self.kind {
            K::MissingPrm if customers => (StatusCode::BAD_REQUEST, BAD, "usage_point_id parameter is required."),
            K::MissingPrm => (StatusCode::BAD_REQUEST, BAD, "usage_point_id parameter is required"),
            K::BadPrm => (StatusCode::BAD_REQUEST, BAD, "usage_point_id parameter must be 14 digits long"),
            K::MissingStart => (StatusCode::BAD_REQUEST, BAD, "Start date parameter is required"),
            K::BadStart => (StatusCode::BAD_REQUEST, BAD, "Start date parameter must be in the format YYYY-MM-DD"),
            K::MissingEnd => (StatusCode::BAD_REQUEST, BAD, "End date parameter is required"),
            K::BadEnd => (StatusCode::BAD_REQUEST, BAD, "End date parameter must be in the format YYYY-MM-DD"),
            K::UnexpectedParam(_) | K::MissingParam(_) | K::BadParam(_) => {
                (StatusCode::BAD_REQUEST, BAD, "Empty header, bad request format, partial or incorrect data")
            }
            K::EndInFuture => {
                (StatusCode::BAD_REQUEST, BAD, "The end date parameter must be earlier than the current date")
            }
            K::StartNotBeforeEnd => (StatusCode::BAD_REQUEST, BAD, "Start date should be before end date"),
            K::NoConsent => (
                StatusCode::FORBIDDEN,
                "ADAM-DC-0008",
                "No consent can be found for this customer and this usage point.",
            ),
            K::DirectionMismatch => {
                (StatusCode::BAD_REQUEST, "ADAM-ERR0069", "Le sens de la mesure ne correspond pas pour le PRM demandé.")
            }
            K::CurveSpan => (
                StatusCode::BAD_REQUEST,
                "ADAM-ERR0126",
                "The requested period must be less than 7 days for an access to the load curve.",
            ),
            // No source gives this error's body; the 365-day limit itself
            // is single-sourced (MED's table). A plain invalid_request is
            // the least surprising reading.
            K::DailySpan => (StatusCode::BAD_REQUEST, BAD, "The requested period must be less than 365 days."),
            K::HistoryDeadline => {
                (StatusCode::BAD_REQUEST, "ADAM-ERR0125", "The start date must be greater than the history deadline.")
            }
            K::BeforeActivation => (
                StatusCode::BAD_REQUEST,
                "ADAM-ERR0123",
                "The requested period cannot be anterior to the meter's last activation date",
            ),
            K::NoData => (StatusCode::NOT_FOUND, "no_data_found", "no measure found for this usage point"),
            K::NotACustomer => (StatusCode::NOT_FOUND, "STM-ERR-0000019", "Unknown or unauthorized user"),
            // The error page's reading (403); 2026 was seen answering 400.
            K::MovedAway => (StatusCode::FORBIDDEN, "ADAM-DC-0007", "The customer is not owner of this usage point."),
        };
        let mut out = Vec::with_capacity(160);
        out.push(b'{');
        json::field(&mut out, "error", error);
        out.push(b',');
        json::field(&mut out, "error_description", description);
        if generation == Generation::Legacy {
            // The legacy gateway added a link to its documentation
            // (saniho/apiEnedis #39, DomoticzLinky #175).
            out.push(b',');
            json::field(&mut out, "error_uri", "https://bluecoder.enedis.fr/api-doc/consulter-souscrire");
        }
        out.push(b'}');
        json_response(status, out)
    }

    // The 2026 `code` values are not documented anywhere (the Swagger only
    // gives messages); we reuse the v5 codes where one exists and
    // `invalid_request` / `no_data_found` otherwise, so a client can map
    // them the same way.
    fn response_2026(&self) -> Response {
        use ErrorKind as K;
        const BAD: &str = "invalid_request";
        let owned;
        let (status, code, message): (StatusCode, &str, &str) = match &self.kind {
            K::UnexpectedParam(name) => {
                let name: String = name.chars().take(64).collect();
                owned = format!("Paramètre inattendu : {name}");
                (StatusCode::BAD_REQUEST, BAD, owned.as_str())
            }
            K::MissingPrm => (StatusCode::BAD_REQUEST, BAD, "Le paramètre pointId est obligatoire"),
            K::BadPrm => (StatusCode::BAD_REQUEST, BAD, "Le paramètre pointId doit contenir 14 chiffres"),
            K::MissingStart => (StatusCode::BAD_REQUEST, BAD, "Le paramètre dateDebut est obligatoire"),
            K::BadStart => (StatusCode::BAD_REQUEST, BAD, "Le paramètre dateDebut doit être au format AAAA-MM-JJ"),
            K::MissingEnd => (StatusCode::BAD_REQUEST, BAD, "Le paramètre dateFin est obligatoire"),
            K::BadEnd => (StatusCode::BAD_REQUEST, BAD, "Le paramètre dateFin doit être au format AAAA-MM-JJ"),
            K::MissingParam(name) => {
                owned = format!("Le paramètre {name} est obligatoire");
                (StatusCode::BAD_REQUEST, BAD, owned.as_str())
            }
            K::BadParam(name) => {
                owned = format!("La valeur du paramètre {name} n'est pas valide");
                (StatusCode::BAD_REQUEST, BAD, owned.as_str())
            }
            K::EndInFuture => {
                (StatusCode::BAD_REQUEST, BAD, "La date de fin doit être antérieure ou égale à la date du jour")
            }
            K::StartNotBeforeEnd => {
                (StatusCode::BAD_REQUEST, BAD, "La date de début doit être antérieure à la date de fin")
            }
            K::NoConsent | K::NotACustomer => {
                (StatusCode::FORBIDDEN, "ADAM-DC-0008", "Le client n'est pas titulaire du point demandé")
            }
            K::DirectionMismatch => {
                (StatusCode::BAD_REQUEST, "ADAM-ERR0069", "Le sens de la mesure ne correspond pas pour le PRM demandé.")
            }
            K::CurveSpan => (
                StatusCode::BAD_REQUEST,
                "ADAM-ERR0126",
                "La période demandée doit être inférieure ou égale à 7 jours pour la courbe de charge",
            ),
            K::DailySpan => {
                (StatusCode::BAD_REQUEST, BAD, "La période demandée doit être inférieure ou égale à 365 jours")
            }
            K::HistoryDeadline => (
                StatusCode::BAD_REQUEST,
                "ADAM-ERR0125",
                "La date de début doit être postérieure à la profondeur d'historique autorisée",
            ),
            K::BeforeActivation => {
                // The one 2026 error that keeps the v5 keys (MED-NOTE:
                // "toujours … en 400"; EST-FIX text).
                let mut out = Vec::with_capacity(200);
                out.push(b'{');
                json::field(&mut out, "error", "ADAM-ERR0123");
                out.push(b',');
                json::field(
                    &mut out,
                    "error_description",
                    "La demande ne peut pas aboutir, la période demandée est antérieure à la date de dernière mise en service du point.",
                );
                out.push(b'}');
                return json_response(StatusCode::BAD_REQUEST, out);
            }
            K::NoData => (StatusCode::NOT_FOUND, "no_data_found", "Pas de mesure trouvée pour ce point"),
            K::MovedAway => return moved_away_2026(),
        };
        code_message(status, code, message)
    }

    fn response_itc(&self, label: &'static str) -> Response {
        use ErrorKind as K;
        let owned;
        let (status, code, message): (StatusCode, &str, &str) = match &self.kind {
            K::UnexpectedParam(name) => {
                let name: String = name.chars().take(64).collect();
                owned = format!("Paramètre inattendu : {name}");
                (StatusCode::BAD_REQUEST, "invalid_request", owned.as_str())
            }
            K::MissingPrm => {
                (StatusCode::BAD_REQUEST, "invalid_request", "Le paramètre usage_point_id est obligatoire")
            }
            K::NoConsent => {
                (StatusCode::FORBIDDEN, "ADAM-DC-0008", "Le client n'est pas autorisé pour le point demandé")
            }
            K::NoData | K::NotACustomer => (StatusCode::NOT_FOUND, "no_data_found", label),
            // No capture of the contract APIs for a customer who moved: the
            // metering capture's body is the faithful guess.
            K::MovedAway => return moved_away_2026(),
            _ => (StatusCode::BAD_REQUEST, "invalid_request", "Le paramètre usage_point_id doit contenir 14 chiffres"),
        };
        code_message(status, code, message)
    }
}

/// ADAM-DC-0007 as captured in 2026 (conso-api #151): a 400 that keeps the
/// v5 keys, in French.
fn moved_away_2026() -> Response {
    let mut out = Vec::with_capacity(120);
    out.push(b'{');
    json::field(&mut out, "error", "ADAM-DC-0007");
    out.push(b',');
    json::field(&mut out, "error_description", "Le client n'est pas titulaire du point demandé.");
    out.push(b'}');
    json_response(StatusCode::BAD_REQUEST, out)
}

fn code_message(status: StatusCode, code: &str, message: &str) -> Response {
    let mut out = Vec::with_capacity(120);
    out.push(b'{');
    json::field(&mut out, "code", code);
    out.push(b',');
    json::field(&mut out, "message", message);
    out.push(b'}');
    json_response(status, out)
}

/// Whether `s` is a PRM: exactly 14 ASCII digits.
pub(crate) fn is_prm(s: &str) -> bool {
    s.len() == 14 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Parses a strict `YYYY-MM-DD` calendar date.
pub(crate) fn parse_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i32> {
        let part = b.get(r)?;
        part.iter().try_fold(0i32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + i32::from(c - b'0')))
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    Date::new(i16::try_from(y).ok()?, i8::try_from(m).ok()?, i8::try_from(d).ok()?).ok()
}

/// The meter a token reaches, or the consent refusal: unknown PRMs,
/// revoked consents (sandbox client 8), PRMs outside a legacy token's
/// consent and fleet meters past their consent's end all get it.
pub(crate) fn consented(sandbox: &Sandbox, access: &Access, prm: &str) -> Result<&'static Meter, DataError> {
    let meter = meters::find(prm, sandbox.config().fleet).ok_or(ErrorKind::NoConsent)?;
    if meter.revoked {
        return Err(ErrorKind::NoConsent.into());
    }
    // The fleet's customers consented before the sandbox started, to the
    // registered application (the only one application tokens are issued
    // to), until `fleet_consent_end`.
    let fleet = sandbox.config().fleet;
    if meters::fleet_index(prm, fleet).is_some() && sandbox.clock().today() >= sandbox.fleet_consent_end() {
        return Err(ErrorKind::NoConsent.into());
    }
    let meter = match access {
        Access::Application if sandbox.config().strict_consent && meters::fleet_index(prm, fleet).is_none() => {
            if !sandbox.platform().has_live_consent(prm, sandbox.clock().now()) {
                return Err(ErrorKind::NoConsent.into());
            }
            meter
        }
        Access::Application => meter,
        Access::Customer { usage_points } if usage_points.iter().any(|p| p == prm) => meter,
        Access::Customer { .. } => return Err(ErrorKind::NoConsent.into()),
    };
    // A caller with a consent for a meter whose customer moved away.
    if meter.moved_away {
        return Err(ErrorKind::MovedAway.into());
    }
    Ok(meter)
}

/// What a metering route serves.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Endpoint {
    /// The generation (error bodies, parameter names).
    pub(crate) generation: Generation,
    /// Consumption or production.
    pub(crate) flow: Flow,
    /// Curve, daily energy or max power.
    pub(crate) kind: Kind,
}

/// A metering request that passed every rule.
#[derive(Debug)]
pub(crate) struct Valid {
    /// The meter asked for.
    pub(crate) meter: &'static Meter,
    /// First day asked for (inclusive).
    pub(crate) start: Date,
    /// Day after the last day asked for (exclusive).
    pub(crate) end: Date,
    /// The last day whose data is published at the sandbox's current
    /// instant (yesterday after 08:00 Paris, the day before otherwise).
    pub(crate) last_published: Date,
    /// The parsed query (for the generation's extra parameters).
    pub(crate) query: Query,
}

/// The parameter names of each generation.
fn names(generation: Generation) -> (&'static str, &'static str, &'static str) {
    match generation {
        Generation::Dc2026 => ("pointId", "dateDebut", "dateFin"),
        Generation::Legacy | Generation::V5 => ("usage_point_id", "start", "end"),
    }
}

/// Runs the whole validation order for a metering call. `extra` checks
/// the route's own parameters (2026 max power), after the date formats.
// The error is the finished response; boxing it would cost an allocation
// per refusal for nothing (axum handlers return `Response` by value).
#[allow(clippy::result_large_err)]
pub(crate) fn validate(
    sandbox: &Sandbox,
    headers: &HeaderMap,
    raw_query: Option<&str>,
    endpoint: Endpoint,
    allowed_extra: &[&str],
    extra: impl FnOnce(&Query) -> Result<(), DataError>,
) -> Result<Valid, Response> {
    let surface = Surface::Metering(endpoint.generation);
    // Step 1: the gateway checks the bearer before anything else.
    let access = sandbox.platform().authorize(sandbox, headers)?;
    let query = Query::parse(raw_query);
    check(sandbox, &access, query, endpoint, allowed_extra, extra).map_err(|e| e.respond(sandbox, surface))
}

/// [`validate`] for a caller already let in with `access` (the emulated
/// Conso API gateway, which holds the application's token itself).
// The refusal is the answer itself, built once and returned as is;
// boxing it would only move the allocation.
#[allow(clippy::result_large_err)]
pub(crate) fn validate_as(
    sandbox: &Sandbox,
    access: &Access,
    raw_query: Option<&str>,
    endpoint: Endpoint,
    allowed_extra: &[&str],
    extra: impl FnOnce(&Query) -> Result<(), DataError>,
) -> Result<Valid, Response> {
    let query = Query::parse(raw_query);
    check(sandbox, access, query, endpoint, allowed_extra, extra)
        .map_err(|e| e.response(Surface::Metering(endpoint.generation)))
}

fn check(
    sandbox: &Sandbox,
    access: &Access,
    query: Query,
    endpoint: Endpoint,
    allowed_extra: &[&str],
    extra: impl FnOnce(&Query) -> Result<(), DataError>,
) -> Result<Valid, DataError> {
    use ErrorKind as K;
    let (prm_name, start_name, end_name) = names(endpoint.generation);
    if endpoint.generation == Generation::Dc2026 {
        let mut allowed = vec![prm_name, start_name, end_name];
        allowed.extend_from_slice(allowed_extra);
        if let Some(name) = query.unexpected(&allowed) {
            return Err(K::UnexpectedParam(name.to_owned()).into());
        }
    }
    let prm = query.get(prm_name).ok_or(K::MissingPrm)?;
    if !is_prm(prm) {
        return Err(K::BadPrm.into());
    }
    let start = parse_date(query.get(start_name).ok_or(K::MissingStart)?).ok_or(K::BadStart)?;
    let end = parse_date(query.get(end_name).ok_or(K::MissingEnd)?).ok_or(K::BadEnd)?;
    extra(&query)?;
    let now = sandbox.clock().now().as_second();
    let today = sandbox.clock().today();
    // "Earlier than the current date" in the wording, but every client
    // calls with end = today and it works: the rule is end <= today.
    if end > today {
        return Err(K::EndInFuture.into());
    }
    if start >= end {
        return Err(K::StartNotBeforeEnd.into());
    }
    let meter = consented(sandbox, access, prm)?;
    let direction_ok = match endpoint.flow {
        Flow::Consumption => meter.consumption,
        Flow::Production => meter.production,
    };
    if !direction_ok {
        return Err(K::DirectionMismatch.into());
    }
    let span = json::days_from_civil(end) - json::days_from_civil(start);
    match endpoint.kind {
        // Exactly 7 days is accepted (EDDIE batches by whole weeks).
        Kind::Curve if span > 7 => return Err(K::CurveSpan.into()),
        Kind::Daily | Kind::MaxPower if span > 365 => return Err(K::DailySpan.into()),
        _ => {}
    }
    let depth = match endpoint.kind {
        Kind::Curve => 24.months().days(15),
        Kind::Daily | Kind::MaxPower => 36.months().days(15),
    };
    let deadline = today.checked_sub(depth).map_err(|_| K::HistoryDeadline)?;
    if start < deadline {
        return Err(K::HistoryDeadline.into());
    }
    if start < meter.activation {
        return Err(K::BeforeActivation.into());
    }
    let yesterday = today.yesterday().map_err(|_| K::NoData)?;
    let published = synth::available_from(yesterday).is_some_and(|t| now >= t);
    let last_published = if published { yesterday } else { yesterday.yesterday().map_err(|_| K::NoData)? };
    Ok(Valid { meter, start, end, last_published, query })
}

impl Valid {
    /// The days asked for that are published, in order.
    pub(crate) fn days(&self) -> impl Iterator<Item = Date> + '_ {
        let last = self.last_published;
        let end = self.end;
        std::iter::successors(Some(self.start), |d| d.tomorrow().ok()).take_while(move |d| *d < end && *d <= last)
    }

    /// The served curve of the range (empty when the curve is not
    /// collected: sandbox client 2).
    pub(crate) fn curve(&self, flow: Flow) -> Vec<CurvePoint> {
        // Client 2's curve is not collected. The spec lists three possible
        // answers (404 no_data_found, 400 ADAM-ERR0075, 404
        // STM-ERR-0000014); the issues that trace a real case (conso-api
        // #77, MED import #92) all saw 404 no_data_found while the daily
        // endpoints worked, so that is what an empty curve becomes here.
        if !self.meter.curve_collected {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(self.days().count() * 50);
        for day in self.days() {
            synth::day_curve(self.meter, flow, day, &mut out);
        }
        out
    }

    /// Daily energies of the range (gap days are absent).
    pub(crate) fn daily(&self, flow: Flow) -> Vec<(Date, u64)> {
        let mut scratch = Vec::with_capacity(150);
        self.days().filter_map(|d| synth::day_energy(self.meter, flow, d, &mut scratch).map(|e| (d, e))).collect()
    }

    /// Daily maximum powers of the range (gap days are absent).
    pub(crate) fn max_power(&self) -> Vec<(Date, MaxPower)> {
        let mut scratch = Vec::with_capacity(150);
        self.days().filter_map(|d| synth::day_max(self.meter, d, &mut scratch).map(|m| (d, m))).collect()
    }
}

/// Validation for the customers routes of generations 1 and 2: auth, PRM
/// present, PRM format, consent, then the meter must be a consumption
/// point (customer data exists only for those).
// The error is the finished response; boxing it would cost an allocation
// per refusal for nothing (axum handlers return `Response` by value).
#[allow(clippy::result_large_err)]
pub(crate) fn validate_customer(
    sandbox: &Sandbox,
    headers: &HeaderMap,
    raw_query: Option<&str>,
    generation: Generation,
) -> Result<&'static Meter, Response> {
    let access = sandbox.platform().authorize(sandbox, headers)?;
    let query = Query::parse(raw_query);
    let run = || -> Result<&'static Meter, DataError> {
        let prm = query.get("usage_point_id").ok_or(ErrorKind::MissingPrm)?;
        if !is_prm(prm) {
            return Err(ErrorKind::BadPrm.into());
        }
        let meter = consented(sandbox, &access, prm)?;
        if !meter.consumption {
            return Err(ErrorKind::NotACustomer.into());
        }
        Ok(meter)
    };
    run().map_err(|e| e.response(Surface::Customers(generation)))
}

/// Validation for the 2026 contract APIs: auth, no query parameter at all
/// (the PRM goes in the path), PRM format, consent.
// The error is the finished response; boxing it would cost an allocation
// per refusal for nothing (axum handlers return `Response` by value).
#[allow(clippy::result_large_err)]
pub(crate) fn validate_itc(
    sandbox: &Sandbox,
    headers: &HeaderMap,
    raw_query: Option<&str>,
    prm: &str,
    label: &'static str,
) -> Result<&'static Meter, Response> {
    let access = sandbox.platform().authorize(sandbox, headers)?;
    let query = Query::parse(raw_query);
    let run = || -> Result<&'static Meter, DataError> {
        if let Some(name) = query.unexpected(&[]) {
            return Err(ErrorKind::UnexpectedParam(name.to_owned()).into());
        }
        if !is_prm(prm) {
            return Err(ErrorKind::BadPrm.into());
        }
        consented(sandbox, &access, prm)
    };
    run().map_err(|e| e.respond(sandbox, Surface::Itc(label)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding_is_total() {
        let q = Query::parse(Some("a=%41%2&b=x+y&c&%ff=1&a=2"));
        assert_eq!(q.get("a"), Some("A%2"));
        assert_eq!(q.get("b"), Some("x y"));
        assert_eq!(q.get("c"), None);
        assert_eq!(q.get("\u{fffd}"), Some("1"));
    }

    #[test]
    fn dates_are_strict() {
        assert_eq!(parse_date("2024-02-29"), Date::new(2024, 2, 29).ok());
        for bad in [
            "2023-02-29",
            "2024-2-29",
            "2024/02/29",
            "20240229",
            "2024-02-29T",
            "+024-02-01",
            "2024-13-01",
            "２０２４-01-01",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn unpublished_days_are_simply_absent() {
        let meter = meters::find("22516914714270", 0).unwrap_or(&meters::METERS[0]);
        let d = |day| Date::new(2024, 11, day).unwrap_or_default();
        // At 07:59 on the 20th the 19th is not published yet; the range
        // keeps its other days.
        let valid = Valid { meter, start: d(15), end: d(20), last_published: d(18), query: Query::default() };
        assert_eq!(valid.days().collect::<Vec<_>>(), vec![d(15), d(16), d(17), d(18)]);
        assert_eq!(valid.curve(Flow::Consumption).len(), 4 * 48);
        let only_yesterday = Valid { meter, start: d(19), end: d(20), last_published: d(18), query: Query::default() };
        assert!(only_yesterday.daily(Flow::Consumption).is_empty());
    }

    #[test]
    fn consent_rules() {
        let sandbox = Sandbox::new(crate::SandboxConfig { fleet: 3, ..Default::default() });
        let Ok(sandbox) = sandbox else { panic!("sandbox") };
        let refused = |access: &Access, prm: &str| {
            consented(&sandbox, access, prm).err().map(|e| e.kind().clone()) == Some(ErrorKind::NoConsent)
        };
        let app = Access::Application;
        assert!(consented(&sandbox, &app, "22516914714270").is_ok());
        assert!(refused(&app, "26584978546985"));
        assert!(refused(&app, "99999999999999"));
        assert!(consented(&sandbox, &app, "25000000000003").is_ok());
        assert!(refused(&app, "25000000000004"));
        let customer = Access::Customer { usage_points: vec!["22516914714270".into()] };
        assert!(consented(&sandbox, &customer, "22516914714270").is_ok());
        assert!(refused(&customer, "11453290002823"));
        // The fleet's consent is given to the application, not to a legacy
        // customer token.
        assert!(refused(&customer, "25000000000001"));
    }

    #[test]
    fn fleet_consent_ends_three_years_after_today() {
        let start = jiff::civil::date(2026, 11, 28);
        let config = crate::SandboxConfig { fleet: 1, today: Some(start), ..Default::default() };
        let Ok(sandbox) = Sandbox::new(config) else { panic!("sandbox") };
        assert_eq!(sandbox.fleet_consent_end(), jiff::civil::date(2029, 11, 28));
    }
}
