//! The consent journey of the three generations, and generation 3's
//! `POST /subscribed_services/v1` that resolves an authorisation to its
//! meters.
//!
//! - Generation 1: `GET /group/espace-particuliers/consentement-linky/oauth2/authorize`
//!   (always) and `GET /dataconnect/v1/oauth2/authorize` with a
//!   `redirect_uri` (or `redirect_URI`, as consometers/data-connect spells
//!   it): like the legacy sandbox,
//!   an HTML page whose script holds `var url = "<redirect>?code=…"` and
//!   sends the browser there, plus a plain link.
//! - Generation 2: `GET /dataconnect/v1/oauth2/authorize` without
//!   `redirect_uri`: a 302 to the registered redirect with `code`, `state`
//!   and `usage_point_id=PRM[;PRM…]`.
//! - Generation 3: `GET /dataconnect/v2/oauth2/authorize`: a 302 with
//!   `autorisation_id` and `state` only.
//!
//! The sandbox test client is the last character of `state` (0 to 8, as in
//! Enedis's sandbox, whose authorize Swagger says so). Choices where the
//! public sources are silent: a `state` that is absent or does not end in a digit selects
//! client 0; a final `9` is a customer with no meter, whose consent ends as
//! a refusal. With `--consent-page` the customer picks the client and the
//! meters on a French page instead, and may refuse.
//!
//! Generation 3 grants one PRM per consent (the v2 redirect carries one
//! `autorisation_id`, which `subscribed_services` resolves to one PRM, as
//! bokub/conso-api's `content/migration-2026.md` describes); for a client with several meters the first one is taken, unless
//! the consent page picks another. The `autorisation_id` is derived from the
//! application and the holder (the sandbox client), so the same pair always
//! gets the same id, even across restarts, as Enedis does.
//!
//! Every authorize request is validated in the order of the authorize error
//! catalogue (Enedis's error page, as copied in MyElectricalData/myelectricaldata_new,
//! `docs/external-apis/enedis-api/enedis-api-error.md`): missing parameter,
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
    Family, first, html_escape, json, oauth_error, parse_form, percent_encode, random_alnum, token, unauthorized,
};
use crate::clock::paris;

mod authorize;
mod pages;
mod subscribed_services;

use crate::meters::{self, Meter};
use crate::{Access, Sandbox};
use authorize::{legacy_get, legacy_post, v1_get, v1_post, v2_get, v2_post};
use subscribed_services::subscribed_services;

/// The generation 1 consent path of consometers/data-connect's walkthrough.
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

#[cfg(test)]
mod tests {
    use super::authorize::*;
    use super::pages::*;
    use super::subscribed_services::*;
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
