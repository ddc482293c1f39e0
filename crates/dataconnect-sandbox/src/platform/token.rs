//! The token endpoints of every generation, and the records behind the
//! bearer check.
//!
//! - Generation 1: `POST /v1/oauth2/token?redirect_uri=…` (the redirect is
//!   also accepted in the form body, as BOKUB-LINKY sent it). The
//!   `authorization_code` grant exchanges a code that is single use, valid
//!   180 s and bound to its client and redirect; the `refresh_token` grant
//!   works for as long as the consent lasts. The response has exactly the
//!   fields and types of consometers/data-connect's example (`expires_in` a number, the `*_issued_at`
//!   epoch milliseconds as strings, `usage_points_id` comma-separated).
//! - Generations 2 and 3: `POST /oauth2/v3/token`, `client_credentials`
//!   only, credentials as HTTP Basic, form fields or query string; the
//!   token is JWT-shaped, its payload mirrors the sandbox JWT kept by
//!   HA-ENEDIS (WSO2 claims, `keytype: SANDBOX`, the Bronze tier with its
//!   5/s spike arrest, the subscribed APIs). `POST /oauth2/v3/revoke`
//!   answers 200 whether or not the token existed.
//!
//! Errors are the RFC 6749 ones (section 5.2) with its descriptions, status
//! 400, as Enedis's token Swagger lists them (copied in
//! MyElectricalData/myelectricaldata_new,
//! `docs/external-apis/enedis-api/openapi/02-token.json`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::{Grants, fill_random, first, json, oauth_error, parse_form, random_alnum, same_secret};
use crate::{Access, Sandbox};

/// A generation 1 authorization code.
#[derive(Clone, Debug)]
pub(crate) struct Code {
    pub(crate) client_id: String,
    /// The redirect of the authorize request; the token request must name
    /// the same.
    pub(crate) redirect_uri: String,
    /// The consent it was issued for (index in `Grants::consents`).
    pub(crate) consent: usize,
    pub(crate) issued: Timestamp,
    pub(crate) used: bool,
}

/// A generation 1 refresh token.
#[derive(Clone, Debug)]
pub(crate) struct Refresh {
    pub(crate) client_id: String,
    pub(crate) consent: usize,
    pub(crate) issued: Timestamp,
}

/// An access token of any generation.
#[derive(Clone, Debug)]
pub(crate) struct Issued {
    /// The application it was issued to (its quota bucket).
    pub(crate) client_id: String,
    pub(crate) expires: Timestamp,
    pub(crate) access: Access,
    pub(crate) revoked: bool,
}

pub(super) fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v1/oauth2/token", post(legacy_token))
        .route("/oauth2/v3/token", post(v3_token))
        .route("/oauth2/v3/revoke", post(v3_revoke))
}

/// The RFC 6749 errors and their descriptions (section 5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum TokenError {
    /// A required parameter is missing or malformed.
    InvalidRequest,
    /// The client is unknown, its secret is wrong or it did not
    /// authenticate.
    InvalidClient,
    /// The code or refresh token is unknown, used, expired, revoked, bound
    /// to another client or redirect.
    InvalidGrant,
    /// The grant type is not one this endpoint supports.
    UnsupportedGrantType,
}

impl TokenError {
    fn response(self) -> Response {
        let (error, description) = match self {
            TokenError::InvalidRequest => (
                "invalid_request",
                "The request is missing a required parameter, includes an unsupported parameter value (other than grant type), repeats a parameter, includes multiple credentials, utilizes more than one mechanism for authenticating the client, or is otherwise malformed",
            ),
            TokenError::InvalidClient => (
                "invalid_client",
                "Client authentication failed (e.g., unknown client, no client authentication included, or unsupported authentication method)",
            ),
            TokenError::InvalidGrant => (
                "invalid_grant",
                "The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client",
            ),
            TokenError::UnsupportedGrantType => {
                ("unsupported_grant_type", "The authorization grant type is not supported by the authorization server")
            }
        };
        oauth_error(StatusCode::BAD_REQUEST, error, description)
    }
}

/// The parameters of a token request: query string first, then the form
/// body (the first occurrence of a name wins).
fn token_params(query: Option<String>, body: &[u8]) -> Vec<(String, String)> {
    let mut pairs = parse_form(query.unwrap_or_default().as_bytes());
    pairs.extend(parse_form(body));
    pairs
}

/// Authenticates the application: HTTP Basic, or `client_id` and
/// `client_secret` parameters.
fn authenticate(sandbox: &Sandbox, headers: &HeaderMap, pairs: &[(String, String)]) -> Result<String, TokenError> {
    let config = sandbox.config();
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, encoded)| STANDARD.decode(encoded.trim()).ok())
        .and_then(|decoded| String::from_utf8(decoded).ok());
    let (id, secret) = match basic {
        Some(decoded) => match decoded.split_once(':') {
            Some((id, secret)) => (id.to_owned(), secret.to_owned()),
            None => return Err(TokenError::InvalidClient),
        },
        None => match (first(pairs, "client_id"), first(pairs, "client_secret")) {
            (Some(id), Some(secret)) => (id.to_owned(), secret.to_owned()),
            _ => return Err(TokenError::InvalidClient),
        },
    };
    if id == config.client_id && same_secret(&secret, &config.client_secret) {
        Ok(id)
    } else {
        Err(TokenError::InvalidClient)
    }
}

fn ttl(sandbox: &Sandbox) -> SignedDuration {
    SignedDuration::try_from(sandbox.config().token_ttl).unwrap_or(SignedDuration::from_secs(12_600))
}

/// Removes expired access tokens once the table has doubled since the last
/// sweep (and holds at least 50,000), so that a long benchmark neither
/// grows the sandbox's memory without bound nor sweeps on every insert.
fn prune(grants: &mut Grants, now: Timestamp) {
    if grants.access.len() >= grants.prune_at.max(50_000) {
        grants.access.retain(|_, issued| issued.expires > now);
        grants.prune_at = grants.access.len().saturating_mul(2);
    }
}

/// The generation 1 token response, fields in consometers/data-connect's order.
#[derive(Serialize)]
struct LegacyToken {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    refresh_token: String,
    scope: String,
    refresh_token_issued_at: String,
    issued_at: String,
    usage_points_id: String,
}

/// The legacy scope: every path a legacy token reaches, `<path>.GET`,
/// space-separated (AENERIA's test shows v3 and v4 paths together).
const LEGACY_SCOPE: &[&str] = &[
    "/v3/metering_data/daily_consumption",
    "/v3/metering_data/consumption_load_curve",
    "/v3/metering_data/consumption_max_power",
    "/v4/metering_data/daily_consumption",
    "/v4/metering_data/consumption_load_curve",
    "/v4/metering_data/consumption_max_power",
    "/v4/metering_data/daily_consumption_max_power",
    "/v4/metering_data/daily_production",
    "/v4/metering_data/production_load_curve",
    "/v3/customers/identity",
    "/v3/customers/contact_data",
    "/v3/customers/usage_points/contracts",
    "/v3/customers/usage_points/addresses",
];

async fn legacy_token(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    match legacy_grant(&sandbox, &headers, &token_params(query, &body)) {
        Ok(token) => json(StatusCode::OK, &token),
        Err(e) => e.response(),
    }
}

fn legacy_grant(sandbox: &Sandbox, headers: &HeaderMap, pairs: &[(String, String)]) -> Result<LegacyToken, TokenError> {
    let grant_type = first(pairs, "grant_type").filter(|g| !g.is_empty()).ok_or(TokenError::InvalidRequest)?;
    let client_id = authenticate(sandbox, headers, pairs)?;
    let now = sandbox.clock().now();
    let code_ttl = SignedDuration::try_from(sandbox.config().code_ttl).unwrap_or(SignedDuration::from_secs(180));
    let mut grants = sandbox.platform().grants();
    let (refresh_token, refresh) = match grant_type {
        "authorization_code" => {
            let code = first(pairs, "code").filter(|c| !c.is_empty()).ok_or(TokenError::InvalidRequest)?;
            let redirect = first(pairs, "redirect_uri").filter(|r| !r.is_empty()).ok_or(TokenError::InvalidRequest)?;
            let record = grants.codes.get_mut(code).ok_or(TokenError::InvalidGrant)?;
            let expired = record.issued.checked_add(code_ttl).map_or(true, |end| end <= now);
            if record.used || expired || record.client_id != client_id || record.redirect_uri != redirect {
                return Err(TokenError::InvalidGrant);
            }
            record.used = true;
            let consent = record.consent;
            let token = random_alnum(46);
            let refresh = Refresh { client_id: client_id.clone(), consent, issued: now };
            grants.refresh.insert(token.clone(), refresh.clone());
            (token, refresh)
        }
        "refresh_token" => {
            let token = first(pairs, "refresh_token").filter(|t| !t.is_empty()).ok_or(TokenError::InvalidRequest)?;
            let refresh = grants.refresh.get(token).ok_or(TokenError::InvalidGrant)?.clone();
            let consent = grants.consents.get(refresh.consent).ok_or(TokenError::InvalidGrant)?;
            // The refresh token lives as long as the consent: it dies when
            // the consent ends or is revoked (MED import #122).
            if refresh.client_id != client_id || consent.client_id != client_id || consent.revoked || consent.end <= now
            {
                return Err(TokenError::InvalidGrant);
            }
            // The same refresh token is returned with its first issue time:
            // the spec does not say whether the legacy gateway rotated it,
            // and keeping it is what a client that ignores the new value
            // needs as much as one that stores it.
            (token.to_owned(), refresh)
        }
        _ => return Err(TokenError::UnsupportedGrantType),
    };
    let usage_points = grants.consents.get(refresh.consent).map(|c| c.prms.clone()).unwrap_or_default();
    let access_token = random_alnum(54);
    let ttl = ttl(sandbox);
    prune(&mut grants, now);
    grants.access.insert(
        access_token.clone(),
        Issued {
            client_id,
            expires: now.checked_add(ttl).unwrap_or(now),
            access: Access::Customer { usage_points: usage_points.clone() },
            revoked: false,
        },
    );
    let scope: Vec<String> = LEGACY_SCOPE.iter().map(|p| format!("{p}.GET")).collect();
    Ok(LegacyToken {
        access_token,
        token_type: "Bearer",
        expires_in: ttl.as_secs().max(0).unsigned_abs(),
        refresh_token,
        scope: scope.join(" "),
        refresh_token_issued_at: refresh.issued.as_millisecond().to_string(),
        issued_at: now.as_millisecond().to_string(),
        usage_points_id: usage_points.join(","),
    })
}

/// The generation 2 and 3 token response (HOMEY mock key order).
#[derive(Serialize)]
struct AppToken {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    scope: &'static str,
}

/// True when a body is present and not form-encoded: the Swagger answers
/// 415 "Le Content-Type doit être application/x-www-form-urlencoded". A
/// request with an empty body (all parameters in the query string, as
/// CONSOAPI sends them) passes.
fn wrong_content_type(headers: &HeaderMap, body: &[u8]) -> bool {
    if body.is_empty() {
        return false;
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

fn unsupported_media_type() -> Response {
    oauth_error(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "invalid_request",
        "Le Content-Type doit être application/x-www-form-urlencoded",
    )
}

async fn v3_token(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    if wrong_content_type(&headers, &body) {
        return unsupported_media_type();
    }
    let pairs = token_params(query, &body);
    let Some(grant_type) = first(&pairs, "grant_type").filter(|g| !g.is_empty()) else {
        return TokenError::InvalidRequest.response();
    };
    let client_id = match authenticate(&sandbox, &headers, &pairs) {
        Ok(id) => id,
        Err(e) => return e.response(),
    };
    // The Swagger's enum lists client_credentials only; v5 has no refresh
    // token and no code exchange.
    if grant_type != "client_credentials" {
        return TokenError::UnsupportedGrantType.response();
    }
    let now = sandbox.clock().now();
    let ttl = ttl(&sandbox);
    let expires = now.checked_add(ttl).unwrap_or(now);
    let token = jwt(&sandbox, &client_id, now, expires);
    {
        let mut grants = sandbox.platform().grants();
        prune(&mut grants, now);
        grants.access.insert(token.clone(), Issued { client_id, expires, access: Access::Application, revoked: false });
    }
    json(
        StatusCode::OK,
        &AppToken {
            access_token: token,
            token_type: "Bearer",
            expires_in: ttl.as_secs().max(0).unsigned_abs(),
            scope: "am_application_scope default",
        },
    )
}

/// The APIs in the JWT's `subscribedAPIs`: the v5 ones as the sandbox
/// capture lists them, and the 2026 ones under their Swagger titles.
const SUBSCRIBED_APIS: &[(&str, &str, &str)] = &[
    ("donnees_de_compt_elec_dc", "/metering_data_dc/v5", "v5"),
    ("donnees_de_compt_elec_clc", "/metering_data_clc/v5", "v5"),
    ("donnees_de_compt_elec_dcmp", "/metering_data_dcmp/v5", "v5"),
    ("donnees_de_compt_elec_dp", "/metering_data_dp/v5", "v5"),
    ("donnees_de_compt_elec_plc", "/metering_data_plc/v5", "v5"),
    ("clients_contrats_pdl", "/customers_upc/v5", "v5"),
    ("clients_adresse_pdl", "/customers_upa/v5", "v5"),
    ("clients_donnees_identite", "/customers_i/v5", "v5"),
    ("clients_donnees_contact", "/customers_cd/v5", "v5"),
    ("mesure_autorisee", "/mesure_synchrone_auto/v2", "v2"),
    ("services_souscrits_actifs", "/subscribed_services/v1", "v1"),
    ("situation_contrat_auto", "/situation_contrat_auto/v1", "v1"),
    ("synth_contrat_auto", "/synth_contrat_auto/v1", "v1"),
    ("situation_comptage_auto", "/comptage_auto/v1", "v1"),
    ("donnees_generales_auto", "/donnees_generales_auto/v1", "v1"),
    ("alimentation_auto", "/alimentation_auto/v1", "v1"),
];

/// A JWT-shaped token: a real header and payload, and 256 random bytes
/// where the RS256 signature would be (nobody can verify it, as nobody
/// outside Enedis can verify theirs). The random signature also makes
/// every token unique.
fn jwt(sandbox: &Sandbox, client_id: &str, now: Timestamp, expires: Timestamp) -> String {
    let mut thumbprint = [0u8; 20];
    // A fixed thumbprint: the "signing certificate" of the sandbox.
    for (i, b) in thumbprint.iter_mut().enumerate() {
        *b = u8::try_from(i).unwrap_or(0).wrapping_mul(37).wrapping_add(11);
    }
    let x5t = URL_SAFE_NO_PAD.encode(thumbprint);
    let header = serde_json::json!({"x5t": x5t, "kid": x5t, "typ": "JWT", "alg": "RS256"});
    let apis: Vec<serde_json::Value> = SUBSCRIBED_APIS
        .iter()
        .map(|(name, context, version)| {
            serde_json::json!({
                "subscriberTenantDomain": "carbon.super",
                "name": name,
                "context": context,
                "publisher": "admin",
                "version": version,
                "subscriptionTier": "Bronze",
            })
        })
        .collect();
    let jti = random_alnum(32);
    let payload = serde_json::json!({
        "sub": "DataConnect@carbon.super",
        "aud": "http://org.wso2.apimgt/gateway",
        "iss": "https://gw.ext.prod-sandbox.api.enedis.fr:443/oauth2/token",
        "keytype": "SANDBOX",
        "tierInfo": {"Bronze": {
            "tierQuotaType": "requestCount",
            "graphQLMaxComplexity": 0,
            "graphQLMaxDepth": 0,
            "stopOnQuotaReach": true,
            "spikeArrestLimit": sandbox.config().quota_per_second,
            "spikeArrestUnit": "sec",
        }},
        "subscribedAPIs": apis,
        "application": {"owner": "DataConnect", "tier": "Unlimited", "name": client_id, "id": 4242, "uuid": null},
        "consumerKey": client_id,
        "scope": "am_application_scope default",
        "iat": now.as_second(),
        "exp": expires.as_second(),
        "jti": jti,
    });
    let mut signature = [0u8; 256];
    fill_random(&mut signature);
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// `POST /oauth2/v3/revoke`: `token` required, the application
/// authenticated (Basic or form); 200 with an empty body whether or not the
/// token existed (the Swagger). A token of another application is left
/// alone.
async fn v3_revoke(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    if wrong_content_type(&headers, &body) {
        return unsupported_media_type();
    }
    let pairs = token_params(query, &body);
    let client_id = match authenticate(&sandbox, &headers, &pairs) {
        Ok(id) => id,
        Err(e) => return e.response(),
    };
    let Some(token) = first(&pairs, "token").filter(|t| !t.is_empty()) else {
        return TokenError::InvalidRequest.response();
    };
    let mut grants = sandbox.platform().grants();
    if let Some(issued) = grants.access.get_mut(token)
        && issued.client_id == client_id
    {
        issued.revoked = true;
    }
    if grants.refresh.get(token).is_some_and(|r| r.client_id == client_id) {
        grants.refresh.remove(token);
    }
    StatusCode::OK.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SandboxConfig;
    use crate::platform::consent::Consent;

    fn refresh_pairs(token: &str) -> Vec<(String, String)> {
        let config = SandboxConfig::default();
        vec![
            ("grant_type".to_owned(), "refresh_token".to_owned()),
            ("client_id".to_owned(), config.client_id),
            ("client_secret".to_owned(), config.client_secret),
            ("refresh_token".to_owned(), token.to_owned()),
        ]
    }

    /// A refresh token outlives its access tokens but not its consent: the
    /// consent's end is what a whole-HTTP test cannot wait for, so it is
    /// set in the past here.
    #[test]
    fn refresh_token_dies_with_its_consent() {
        let Ok(sandbox) = Sandbox::new(SandboxConfig::default()) else { panic!("sandbox") };
        let now = sandbox.clock().now();
        let hour = SignedDuration::from_hours(1);
        {
            let mut grants = sandbox.platform().grants();
            for end in [now.checked_add(hour), now.checked_sub(hour)] {
                let Ok(end) = end else { panic!("instant") };
                let consent = grants.consents.len();
                grants.consents.push(Consent {
                    client_id: SandboxConfig::default().client_id,
                    prms: vec!["22516914714270".to_owned()],
                    end,
                    revoked: false,
                });
                let client_id = SandboxConfig::default().client_id;
                grants.refresh.insert(format!("refresh-{consent}"), Refresh { client_id, consent, issued: now });
            }
        }
        let headers = HeaderMap::new();
        let live = legacy_grant(&sandbox, &headers, &refresh_pairs("refresh-0"));
        assert_eq!(live.map(|t| t.usage_points_id).ok().as_deref(), Some("22516914714270"));
        let ended = legacy_grant(&sandbox, &headers, &refresh_pairs("refresh-1"));
        assert_eq!(ended.err(), Some(TokenError::InvalidGrant));
    }
}
