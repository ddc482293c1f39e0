//! Fuzzes the sandbox's own parsers through its router (`app()` driven by
//! tower's `oneshot`, no port): the query strings of the consent pages and
//! data routes, the form bodies of the token, revoke and consent-page
//! routes, the JSON body of `subscribed_services` and the path parameter
//! of the contract routes.
//!
//! Oracles, beyond "no panic":
//! - no 5xx: fault injection is off, so any 5xx is a bug (but for the
//!   consent page's faithful 500 on an odd duration);
//! - a redirect only ever goes to the registered redirect URI;
//! - an HTML page never reflects markup: the seeds carry `<fuzz` in
//!   parameters, and a page that contains it unescaped fails the run.
#![no_main]

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use dataconnect_sandbox::{Sandbox, SandboxConfig};
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

const REDIRECT: &str = "http://127.0.0.1:8081/callback";

struct World {
    rt: tokio::runtime::Runtime,
    apps: [Router; 2],
    bearer: String,
}

/// The routes an input can reach: (method, path, how the input is used).
#[derive(Clone, Copy)]
enum Use {
    /// The input is the query string.
    Query,
    /// The input is an `application/x-www-form-urlencoded` body.
    Form,
    /// The input is a JSON body.
    Json,
    /// The input is a path segment appended to the path.
    Segment,
}

const ROUTES: &[(&str, &str, Use)] = &[
    ("GET", "/group/espace-particuliers/consentement-linky/oauth2/authorize", Use::Query),
    ("GET", "/dataconnect/v1/oauth2/authorize", Use::Query),
    ("GET", "/dataconnect/v2/oauth2/authorize", Use::Query),
    ("POST", "/dataconnect/v1/oauth2/authorize", Use::Form),
    ("POST", "/dataconnect/v2/oauth2/authorize", Use::Form),
    ("POST", "/v1/oauth2/token", Use::Form),
    ("POST", "/v1/oauth2/token", Use::Query),
    ("POST", "/oauth2/v3/token", Use::Form),
    ("POST", "/oauth2/v3/revoke", Use::Form),
    ("POST", "/subscribed_services/v1", Use::Json),
    ("GET", "/v3/metering_data/consumption_load_curve", Use::Query),
    ("GET", "/v3/metering_data/daily_consumption", Use::Query),
    ("GET", "/v4/metering_data/consumption_max_power", Use::Query),
    ("GET", "/metering_data_clc/v5/consumption_load_curve", Use::Query),
    ("GET", "/metering_data_dc/v5/daily_consumption", Use::Query),
    ("GET", "/metering_data_dcmp/v5/daily_consumption_max_power", Use::Query),
    ("GET", "/metering_data_plc/v5/production_load_curve", Use::Query),
    ("GET", "/customers_upc/v5/usage_points/contracts", Use::Query),
    ("GET", "/v3/customers/identity", Use::Query),
    ("GET", "/mesure_synchrone_auto/v2/courbe_de_charge_consommation", Use::Query),
    ("GET", "/mesure_synchrone_auto/v2/consommation_quotidienne", Use::Query),
    ("GET", "/mesure_synchrone_auto/v2/puissance_conso_max_quotidienne", Use::Query),
    ("GET", "/situation_contrat_auto/v1/", Use::Segment),
    ("GET", "/donnees_generales_auto/v1/", Use::Segment),
    ("GET", "/comptage_auto/v1/", Use::Segment),
];

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("harness runtime: {e}"));
        let app = |consent_page: bool| {
            let config = SandboxConfig {
                today: Some(jiff::civil::date(2024, 11, 5)),
                // Zero and zero turn the quota off: the fuzzer must reach the
                // routes, not the 429.
                quota_per_second: 0,
                quota_per_hour: 0,
                consent_page,
                ..SandboxConfig::default()
            };
            dataconnect_sandbox::app(Sandbox::new(config).unwrap_or_else(|e| panic!("harness sandbox: {e}")))
        };
        let apps = [app(false), app(true)];
        let bearer = rt.block_on(async {
            let body = format!(
                "grant_type=client_credentials&client_id={}&client_secret={}",
                dataconnect_sandbox::DEFAULT_CLIENT_ID,
                dataconnect_sandbox::DEFAULT_CLIENT_SECRET
            );
            let req = Request::post("/oauth2/v3/token")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap_or_else(|e| panic!("harness request: {e}"));
            let resp = apps[0].clone().oneshot(req).await.unwrap_or_else(|e| panic!("harness token: {e}"));
            let bytes = resp.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            let v: serde_json_lite::Token = serde_json_lite::parse(&bytes);
            v.access_token
        });
        World { rt, apps, bearer }
    })
}

/// The one field of the token answer the harness needs, read without a
/// JSON dependency of its own.
mod serde_json_lite {
    pub struct Token {
        pub access_token: String,
    }
    pub fn parse(bytes: &[u8]) -> Token {
        let text = String::from_utf8_lossy(bytes);
        let token = text
            .split("\"access_token\":\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("harness: no token in {text}"))
            .to_owned();
        Token { access_token: token }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, input)) = data.split_first() else { return };
    let w = world();
    let (method, path, how) = ROUTES[usize::from(sel & 0x7f) % ROUTES.len()];
    let app = w.apps[usize::from(sel >> 7)].clone();
    let text = String::from_utf8_lossy(input);
    let mut builder = Request::builder().method(method).header(header::AUTHORIZATION, format!("Bearer {}", w.bearer));
    let body = match how {
        Use::Query => {
            builder = builder.uri(format!("{path}?{text}"));
            Body::empty()
        }
        Use::Segment => {
            builder = builder.uri(format!("{path}{text}"));
            Body::empty()
        }
        Use::Form => {
            builder = builder.uri(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Body::from(input.to_vec())
        }
        Use::Json => {
            builder = builder.uri(path).header(header::CONTENT_TYPE, "application/json");
            Body::from(input.to_vec())
        }
    };
    // A string that is not a valid URI never reaches a server: hyper
    // rejects it before any route runs.
    let Ok(req) = builder.body(body) else { return };
    let (status, location, html, bytes) = w.rt.block_on(async move {
        let resp = app.oneshot(req).await.unwrap_or_else(|e| match e {});
        let status = resp.status();
        let location = resp.headers().get(header::LOCATION).map(|v| v.as_bytes().to_vec());
        let html = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
        let bytes = resp.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        (status, location, html, bytes)
    });
    // The one deliberate 5xx: Enedis's consent page answers a valid ISO
    // duration it cannot handle (`PT1H`, `P0D`) with a 500
    // `lincs-internal-server-error`, and the sandbox is faithful to it.
    let deliberate = path.contains("oauth2/authorize") && bytes.windows(27).any(|w| w == b"lincs-internal-server-error");
    assert!(!status.is_server_error() || deliberate, "{method} {path} answered {status} without injected faults");
    if status.is_redirection() {
        let loc = location.unwrap_or_default();
        assert!(
            loc.starts_with(REDIRECT.as_bytes()),
            "{method} {path} redirected to {:?}, not the registered redirect URI",
            String::from_utf8_lossy(&loc)
        );
    }
    if html {
        let lower = bytes.to_ascii_lowercase();
        assert!(
            !lower.windows(5).any(|w| w == b"<fuzz"),
            "{method} {path} reflected markup unescaped: {}",
            String::from_utf8_lossy(&bytes)
        );
    }
});
