//! What the Enedis gateway does around the data: consent pages, tokens,
//! bearer checks, quotas, fault injection, the request log and the OpenAPI
//! description.
//!
//! The data routes (in `data`) only call [`Platform::authorize`]; everything
//! else the gateway does to a request (log it, count it against a quota,
//! make it fail on purpose) happens in one middleware, [`layers`], so that no
//! route can bypass it. The grants the gateway remembers (authorization
//! codes, consents, refresh and access tokens, generation 3
//! authorisations) live in one [`Grants`] store behind a mutex: the
//! operations on it are short and never await.

// Refusals are `Response`s by design: every check ends in the answer the
// real gateway gives, and building it where the check fails keeps each
// error body next to its rule. They are built once per refused request.
#![allow(clippy::result_large_err)]

mod consent;
mod duration;
mod faults;
mod openapi;
mod quota;
mod reqlog;
mod token;

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;

use crate::{Access, Sandbox, SandboxConfig};

pub use quota::DEFAULT_TOLERANCE as DEFAULT_QUOTA_TOLERANCE;

/// The gateway's state: issued grants, quota budgets, fault generator,
/// request log.
pub(crate) struct Platform {
    grants: Mutex<Grants>,
    quota: quota::Quota,
    faults: faults::Faults,
    log: Option<reqlog::RequestLog>,
}

/// Everything the gateway has issued or recorded.
#[derive(Default)]
pub(crate) struct Grants {
    /// Generation 1 (and 2) authorization codes, by code.
    codes: HashMap<String, token::Code>,
    /// Consents given through the generation 1 and 2 pages, by id (their
    /// index); refresh tokens point here so they expire with the consent.
    consents: Vec<consent::Consent>,
    /// Generation 1 refresh tokens, by token.
    refresh: HashMap<String, token::Refresh>,
    /// Access tokens of every generation, by token.
    access: HashMap<String, token::Issued>,
    /// Generation 3 authorisations, by `autorisation_id`.
    autorisations: HashMap<u64, consent::Autorisation>,
    /// The size of `access` at which expired tokens are next swept.
    prune_at: usize,
}

impl Platform {
    pub(crate) fn new(config: &SandboxConfig) -> std::io::Result<Self> {
        let log = match &config.request_log {
            Some(path) => Some(reqlog::RequestLog::open(path)?),
            None => None,
        };
        Ok(Platform {
            grants: Mutex::new(Grants::default()),
            quota: quota::Quota::new(
                config.quota_per_second,
                config.quota_per_hour,
                config.quota_per_hour_api,
                config.quota_tolerance,
            ),
            faults: faults::Faults::new(config.fault_rate, config.seed),
            log,
        })
    }

    /// The grants store. A poisoned lock (a panic while holding it, which
    /// the code tries hard to make impossible) is recovered rather than
    /// turned into a panic of every later request.
    fn grants(&self) -> MutexGuard<'_, Grants> {
        self.grants.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Checks the bearer token of a data call and says what it reaches, or
    /// answers the gateway's 401 (fault 900901).
    pub(crate) fn authorize(&self, sandbox: &Sandbox, headers: &HeaderMap) -> Result<Access, Response> {
        match self.bearer(headers, sandbox.clock().now()) {
            Some(issued) => Ok(issued.access),
            None => Err(unauthorized(current_family())),
        }
    }

    /// True when a consent given through the consent pages to the
    /// registered application still holds for `prm` at `now`: a generation
    /// 1 or 2 consent that names it, or a generation 3 share of it, neither
    /// revoked nor ended. (`strict_consent` checks data calls with it.)
    pub(crate) fn has_live_consent(&self, prm: &str, now: Timestamp) -> bool {
        let today = now.to_zoned_datetime(crate::clock::paris()).date();
        let grants = self.grants();
        let v1 = grants.consents.iter().any(|c| !c.revoked && c.end > now && c.prms.iter().any(|p| p == prm));
        v1 || grants
            .autorisations
            .values()
            .flat_map(|a| a.shares.iter())
            .any(|s| !s.revoked && s.end > today && s.meter.prm == prm)
    }

    /// The live access token presented in `Authorization: Bearer …`, if any.
    fn bearer(&self, headers: &HeaderMap, now: Timestamp) -> Option<token::Issued> {
        let presented = bearer_token(headers)?;
        let grants = self.grants();
        let issued = grants.access.get(presented)?;
        if issued.revoked || issued.expires <= now {
            return None;
        }
        Some(issued.clone())
    }
}

/// The token of an `Authorization: Bearer <token>` header (the scheme is
/// case-insensitive, as RFC 6750 says).
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    (!token.is_empty()).then_some(token)
}

/// Which error-body family a path's gateway speaks: generation 3 APIs answer
/// flat `{code, message, description}` gateway bodies, the older ones the
/// nested `{"fault": {…}}` form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    /// Legacy v3/v4 and v5 paths (and anything not classified).
    Classic,
    /// "Data Connect 2026" paths.
    Y2026,
}

/// What a request path is, for the gateway's purposes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// A data or customer API. `api` names the quota bucket: one per
    /// application for generations 1 and 2, one per API for generation 3
    /// (the 2026 Swagger files say "5 calls per second and 1000 calls per
    /// hour, per API").
    Data { family: Family, api: &'static str },
    /// `POST /subscribed_services/v1`: an API behind the gateway, but one
    /// without a throttling tier (`x-throttling-tier: null`, no 429 in its
    /// Swagger), so it is never counted against a quota.
    SubscribedServices,
    /// A token or revoke endpoint.
    Token,
    /// Anything else: consent pages, the OpenAPI description, unknown paths.
    Other,
}

impl Route {
    fn family(self) -> Family {
        match self {
            Route::Data { family, .. } => family,
            Route::SubscribedServices => Family::Y2026,
            Route::Token | Route::Other => Family::Classic,
        }
    }
}

/// Data path prefixes and the quota bucket of each.
const DATA_PREFIXES: &[(&str, Family, &str)] = &[
    ("/v3/metering_data/", Family::Classic, "application"),
    ("/v4/metering_data/", Family::Classic, "application"),
    ("/v3/customers/", Family::Classic, "application"),
    ("/metering_data_", Family::Classic, "application"),
    ("/customers_", Family::Classic, "application"),
    ("/mesure_synchrone_auto/", Family::Y2026, "mesure_synchrone_auto"),
    ("/situation_contrat_auto/", Family::Y2026, "situation_contrat_auto"),
    ("/synth_contrat_auto/", Family::Y2026, "synth_contrat_auto"),
    ("/comptage_auto/", Family::Y2026, "comptage_auto"),
    ("/donnees_generales_auto/", Family::Y2026, "donnees_generales_auto"),
    ("/alimentation_auto/", Family::Y2026, "alimentation_auto"),
];

/// Classifies a request path.
pub(crate) fn classify(path: &str) -> Route {
    if path == "/subscribed_services/v1" || path == "/subscribed_services/v1/" {
        return Route::SubscribedServices;
    }
    if matches!(path, "/v1/oauth2/token" | "/oauth2/v3/token" | "/oauth2/v3/revoke") {
        return Route::Token;
    }
    for (prefix, family, api) in DATA_PREFIXES {
        if path.starts_with(prefix) {
            return Route::Data { family: *family, api };
        }
    }
    Route::Other
}

tokio::task_local! {
    /// The error-body family of the request being handled, set by the
    /// gateway middleware so that [`Platform::authorize`] (which only sees
    /// headers) answers in the right family.
    static FAMILY: Family;
}

/// The family of the request being handled ([`Family::Classic`] outside
/// the middleware).
pub(crate) fn current_family() -> Family {
    FAMILY.try_with(|f| *f).unwrap_or(Family::Classic)
}

/// The gateway's 401. The nested body is the sandbox capture kept by
/// HA-ENEDIS (`expired_authentication.json`); generation 3's gateway
/// answers flat `{code, message}` bodies (its Swagger files; the exact 401
/// text there is not published, so the sandbox uses WSO2's standard description).
pub(crate) fn unauthorized(family: Family) -> Response {
    let body = match family {
        Family::Classic => serde_json::json!({"fault": {
            "code": 900901,
            "message": "Invalid Credentials",
            "description": "Invalid JWT token. Signature verification failed.. Make sure you have provided the correct security credentials",
        }}),
        Family::Y2026 => serde_json::json!({
            "code": "900901",
            "message": "Invalid Credentials",
            "description": "Invalid Credentials. Make sure you have provided the correct security credentials",
        }),
    };
    json(StatusCode::UNAUTHORIZED, &body)
}

/// A JSON response.
pub(crate) fn json(status: StatusCode, body: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], bytes).into_response()
        }
        // Serialising plain data structures cannot fail; answer a bare 500
        // rather than panic if it ever does.
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// An OAuth-style `{"error", "error_description"}` body.
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json(status, &serde_json::json!({"error": error, "error_description": description}))
}

/// A random string of `len` characters from `[A-Za-z0-9]`, from the
/// operating system's generator (tokens and codes must not be guessable,
/// even in a sandbox that users may expose on a LAN).
pub(crate) fn random_alnum(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = vec![0u8; len];
    fill_random(&mut bytes);
    bytes.iter().map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()])).collect()
}

/// Fills `buf` with random bytes. If the operating system's generator
/// fails (it does not on supported platforms), falls back to a generator
/// seeded from the clock and a counter, which keeps tokens unique.
pub(crate) fn fill_random(buf: &mut [u8]) {
    if getrandom::fill(buf).is_ok() {
        return;
    }
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut state = (Timestamp::now().as_nanosecond() as u64) ^ n.rotate_left(32);
    for b in buf.iter_mut() {
        state = faults::splitmix64(state);
        *b = state.to_le_bytes()[0];
    }
}

/// Decodes an `application/x-www-form-urlencoded` string (a query or a form
/// body) into its pairs, in order. It never fails: a malformed escape is
/// kept as written and invalid UTF-8 is replaced, so that bad input reaches
/// the validation that answers the spec's error instead of a framework
/// rejection.
pub(crate) fn parse_form(input: &[u8]) -> Vec<(String, String)> {
    input
        .split(|b| *b == b'&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (name, value) = match part.iter().position(|b| *b == b'=') {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &b""[..]),
            };
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

fn percent_decode(input: &[u8]) -> String {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = input.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(decoded) => {
                        out.push(decoded);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The first value of `name` among form pairs.
pub(crate) fn first<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// Percent-encodes a query value: everything but RFC 3986's unreserved
/// characters is escaped.
pub(crate) fn percent_encode(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for b in input.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn html_escape(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Compares two secrets in time independent of where they differ.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Consent, token, revoke, subscribed services and OpenAPI routes.
pub(crate) fn routes() -> Router<Sandbox> {
    consent::routes().merge(token::routes()).merge(openapi::routes())
}

/// Wraps every route with the gateway middleware (request log, quotas,
/// fault injection) and answers unknown paths as WSO2 does.
pub(crate) fn layers(router: Router<Sandbox>, state: Sandbox) -> Router<Sandbox> {
    router.fallback(unknown_path).layer(axum::middleware::from_fn_with_state(state, gateway))
}

/// A path no route serves. Under a generation 3 API (a resource its
/// published description does not list, such as the guide's
/// `index_consumption` for the Swagger's `index_consommation`), the 2026
/// gateway answers 500, as it does for any request outside the published
/// description; elsewhere, WSO2's 404.
async fn unknown_path(State(sandbox): State<Sandbox>, request: Request) -> Response {
    let path = request.uri().path();
    if let Route::Data { family: Family::Y2026, .. } = classify(path) {
        if let Err(refusal) = sandbox.platform().authorize(&sandbox, request.headers()) {
            return refusal;
        }
        let what = format!("la ressource {} n'existe pas", path.chars().take(120).collect::<String>());
        return out_of_spec(sandbox.config(), &what);
    }
    not_found()
}

/// WSO2's answer to a path no API serves (the body is what WSO2 gateways
/// send, the sandbox cannot confirm Enedis
/// keeps it).
fn not_found() -> Response {
    json(
        StatusCode::NOT_FOUND,
        &serde_json::json!({"code": "404", "message": "No matching resource found for given API Request"}),
    )
}

/// The answer of the 2026 gateway to a request outside the published
/// description of its API (an unknown parameter or resource): a 500, as
/// Enedis's gateway was seen answering in production. Its body was never
/// captured; the sandbox sends none, so that it differs from the
/// technical-error body of a real failure ("Problème technique dans
/// l'interrogation du SI coeur"), which `--fault-rate` injects. With
/// `out_of_spec_400`, a 400 `{code, message}` naming `what` instead.
pub(crate) fn out_of_spec(config: &SandboxConfig, what: &str) -> Response {
    if config.out_of_spec_400 {
        let message = format!("Requête hors de la description publiée de l'API : {what}");
        return json(StatusCode::BAD_REQUEST, &serde_json::json!({"code": "invalid_request", "message": message}));
    }
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

/// The first segment of a path: the name of the API it belongs to
/// (`mesure_synchrone_auto`, `metering_data_clc`, `comptage_auto`…), as
/// `SandboxConfig::unsubscribed_apis` names them.
pub(crate) fn api_name(path: &str) -> &str {
    path.trim_start_matches('/').split('/').next().unwrap_or_default()
}

/// WSO2's 403 900908 for an API the application has not subscribed to
/// (the real capture, its trailing space in `message` included), flat on
/// the 2026 gateway and in a `fault` wrapper on the older one.
fn not_subscribed(config: &SandboxConfig, route: Route, path: &str) -> Option<Response> {
    if !matches!(route, Route::Data { .. } | Route::SubscribedServices) {
        return None;
    }
    let api = api_name(path);
    if !config.unsubscribed_apis.iter().any(|a| a == api) {
        return None;
    }
    const MESSAGE: &str = "Resource forbidden ";
    const DESCRIPTION: &str = "User is NOT authorized to access the Resource. API Subscription validation failed.";
    let body = match route.family() {
        Family::Y2026 => serde_json::json!({"code": "900908", "message": MESSAGE, "description": DESCRIPTION}),
        Family::Classic => {
            serde_json::json!({"fault": {"code": 900908, "message": MESSAGE, "description": DESCRIPTION}})
        }
    };
    Some(json(StatusCode::FORBIDDEN, &body))
}

/// With `retire_v5`, from that day on the v5 data APIs answer as WSO2
/// answers for an API it no longer serves (its 404 "No matching resource
/// found for given API Request", in the v5 gateway's `fault` wrapper).
/// Enedis published neither the date nor the answer of v5's retirement
/// (it stopped around mid-October 2026): this is an assumption, off by
/// default.
fn retired_v5(sandbox: &Sandbox, path: &str) -> Option<Response> {
    let day = sandbox.config().retire_v5?;
    let v5 = path.starts_with("/metering_data_") || path.starts_with("/customers_");
    if !v5 || sandbox.clock().today() < day {
        return None;
    }
    let body = serde_json::json!({"fault": {
        "code": 404,
        "type": "Status report",
        "message": "Runtime Error",
        "description": "No matching resource found for given API Request",
    }});
    Some(json(StatusCode::NOT_FOUND, &body))
}

/// The gateway middleware. In the order a real gateway works: the request
/// is classified; a data call with a valid token is counted against its
/// quota (an invalid token is left to the route's 401, as the gateway
/// authenticates before it throttles); then a data or token call may be
/// turned into an injected fault; finally the request is logged with the
/// status actually sent.
async fn gateway(State(sandbox): State<Sandbox>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let route = classify(&path);
    let platform = sandbox.platform();

    let outcome = FAMILY
        .scope(route.family(), async {
            let now = sandbox.clock().now();
            if let Some(retired) = retired_v5(&sandbox, &path) {
                return (retired, None);
            }
            let caller = match route {
                Route::Data { .. } | Route::SubscribedServices => platform.bearer(request.headers(), now),
                Route::Token | Route::Other => None,
            };
            if caller.is_some()
                && let Some(refusal) = not_subscribed(sandbox.config(), route, &path)
            {
                return (refusal, None);
            }
            if let (Route::Data { family, api }, Some(issued)) = (route, &caller)
                && let Err(refusal) = platform.quota.check(&issued.client_id, api, family, now)
            {
                return (refusal, None);
            }
            let faultable = match route {
                Route::Data { .. } | Route::SubscribedServices => caller.is_some(),
                Route::Token => method == Method::POST,
                Route::Other => false,
            };
            let fault = if faultable { platform.faults.draw() } else { None };
            let response = match fault {
                None => next.run(request).await,
                Some(kind) => faults::apply(kind, route, sandbox.config().fault_delay, next, request).await,
            };
            (response, fault)
        })
        .await;
    let (mut response, fault) = outcome;
    // `--octet-stream`: the 2026 gateway's label on its GET answers (the
    // body is unchanged JSON), on errors as on data.
    if sandbox.config().octet_stream
        && method == Method::GET
        && matches!(route, Route::Data { family: Family::Y2026, .. })
        && response
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
    {
        response
            .headers_mut()
            .insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("application/octet-stream"));
    }
    // The `Date` header tells the sandbox's own time (hyper only adds the
    // real time when the header is missing). With `--today` the clock is
    // shifted, and a client needs the server's "now" to turn the hourly
    // 429's `nextAccessTime` (written in that clock) into a wait.
    if let Ok(v) = axum::http::HeaderValue::from_str(
        &jiff::fmt::rfc2822::DateTimePrinter::new()
            .timestamp_to_rfc9110_string(&sandbox.clock().now())
            .unwrap_or_default(),
    ) && !v.is_empty()
    {
        response.headers_mut().insert(axum::http::header::DATE, v);
    }
    if let Some(log) = &platform.log {
        log.write(&reqlog::Entry {
            time: sandbox.clock().now(),
            method: method.as_str(),
            path: &path,
            query: query.as_deref(),
            status: response.status().as_u16(),
            fault: fault.map(faults::Kind::name),
        });
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_paths() {
        assert_eq!(classify("/oauth2/v3/token"), Route::Token);
        assert_eq!(classify("/subscribed_services/v1/"), Route::SubscribedServices);
        assert_eq!(
            classify("/metering_data_dc/v5/daily_consumption"),
            Route::Data { family: Family::Classic, api: "application" }
        );
        assert_eq!(
            classify("/mesure_synchrone_auto/v2/consommation_quotidienne"),
            Route::Data { family: Family::Y2026, api: "mesure_synchrone_auto" }
        );
        assert_eq!(classify("/dataconnect/v2/oauth2/authorize"), Route::Other);
    }

    #[test]
    fn bearer_parsing() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer_token(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer abc"));
        assert_eq!(bearer_token(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer_token(&h), None);
    }

    #[test]
    fn form_decoding_never_fails() {
        let pairs = parse_form(b"a=1&b=%3Cx%3E+y&c&d=%ZZ%4&e=%C3%A9&=v");
        assert_eq!(first(&pairs, "a"), Some("1"));
        assert_eq!(first(&pairs, "b"), Some("<x> y"));
        assert_eq!(first(&pairs, "c"), Some(""));
        assert_eq!(first(&pairs, "d"), Some("%ZZ%4"));
        assert_eq!(first(&pairs, "e"), Some("é"));
        assert_eq!(first(&pairs, ""), Some("v"));
        assert_eq!(percent_encode("a b<é"), "a%20b%3C%C3%A9");
        assert_eq!(html_escape("<a href=\"x\">'&"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;");
    }

    #[test]
    fn random_strings_differ() {
        let a = random_alnum(30);
        assert_eq!(a.len(), 30);
        assert_ne!(a, random_alnum(30));
    }
}
