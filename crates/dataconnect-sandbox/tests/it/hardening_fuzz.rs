//! Replays the `sandbox_http` fuzz corpus (`fuzz/seeds/sandbox_http/` and
//! any crash in `fuzz/regressions/sandbox_http/`) on stable Rust, over real
//! HTTP, with the oracles of `fuzz/fuzz_targets/sandbox_http.rs`: no 5xx
//! (but the consent page's faithful 500 on an odd duration), redirects only
//! to the registered URI, no markup reflected unescaped.

use std::path::PathBuf;

use dataconnect_sandbox::{DEFAULT_REDIRECT_URI, SandboxConfig};

use crate::common::{config, spawn};

/// Must match the table of `fuzz/fuzz_targets/sandbox_http.rs`.
const ROUTES: &[(&str, &str, char)] = &[
    ("GET", "/group/espace-particuliers/consentement-linky/oauth2/authorize", 'q'),
    ("GET", "/dataconnect/v1/oauth2/authorize", 'q'),
    ("GET", "/dataconnect/v2/oauth2/authorize", 'q'),
    ("POST", "/dataconnect/v1/oauth2/authorize", 'f'),
    ("POST", "/dataconnect/v2/oauth2/authorize", 'f'),
    ("POST", "/v1/oauth2/token", 'f'),
    ("POST", "/v1/oauth2/token", 'q'),
    ("POST", "/oauth2/v3/token", 'f'),
    ("POST", "/oauth2/v3/revoke", 'f'),
    ("POST", "/subscribed_services/v1", 'j'),
    ("GET", "/v3/metering_data/consumption_load_curve", 'q'),
    ("GET", "/v3/metering_data/daily_consumption", 'q'),
    ("GET", "/v4/metering_data/consumption_max_power", 'q'),
    ("GET", "/metering_data_clc/v5/consumption_load_curve", 'q'),
    ("GET", "/metering_data_dc/v5/daily_consumption", 'q'),
    ("GET", "/metering_data_dcmp/v5/daily_consumption_max_power", 'q'),
    ("GET", "/metering_data_plc/v5/production_load_curve", 'q'),
    ("GET", "/customers_upc/v5/usage_points/contracts", 'q'),
    ("GET", "/v3/customers/identity", 'q'),
    ("GET", "/mesure_synchrone_auto/v2/courbe_de_charge_consommation", 'q'),
    ("GET", "/mesure_synchrone_auto/v2/consommation_quotidienne", 'q'),
    ("GET", "/mesure_synchrone_auto/v2/puissance_conso_max_quotidienne", 'q'),
    ("GET", "/situation_contrat_auto/v1/", 's'),
    ("GET", "/donnees_generales_auto/v1/", 's'),
    ("GET", "/comptage_auto/v1/", 's'),
];

fn inputs() -> Vec<(PathBuf, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut out = Vec::new();
    for dir in ["seeds", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join("sandbox_http")) else { continue };
        for e in entries.flatten() {
            out.push((e.path(), std::fs::read(e.path()).expect("read a corpus file")));
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_http_corpus() {
    let today = Some(jiff::civil::date(2024, 11, 5));
    // The friendly 400 for requests outside the 2026 description: the
    // corpus is about bad input never breaking the server; the gateway's
    // deliberate 500 there is tested on its own (data_rules).
    let runs = [
        spawn(SandboxConfig { today, out_of_spec_400: true, ..config() }).await,
        spawn(SandboxConfig { today, consent_page: true, out_of_spec_400: true, ..config() }).await,
    ];
    let bearer = runs[0].app_token().await;
    let all = inputs();
    assert!(!all.is_empty(), "no corpus for sandbox_http");
    let mut sent = 0;
    for (path, data) in &all {
        let Some((&sel, input)) = data.split_first() else { continue };
        let (method, route, how) = ROUTES[usize::from(sel & 0x7f) % ROUTES.len()];
        let run = &runs[usize::from(sel >> 7)];
        let text = String::from_utf8_lossy(input);
        let url = match how {
            'q' => format!("{}{route}?{text}", run.base),
            's' => format!("{}{route}{text}", run.base),
            _ => format!("{}{route}", run.base),
        };
        // What hyper would refuse never reaches a server; reqwest refuses
        // it too.
        let Ok(url) = reqwest::Url::parse(&url) else { continue };
        let mut req = run.http.request(method.parse().expect("method"), url).bearer_auth(&bearer);
        req = match how {
            'f' => req.header("content-type", "application/x-www-form-urlencoded").body(input.to_vec()),
            'j' => req.header("content-type", "application/json").body(input.to_vec()),
            _ => req,
        };
        let Ok(resp) = req.send().await else { continue };
        sent += 1;
        let status = resp.status();
        let location = resp.headers().get("location").map(|v| v.as_bytes().to_vec());
        let html = resp.headers().get("content-type").is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
        let body = resp.bytes().await.unwrap_or_default();
        let deliberate =
            route.contains("oauth2/authorize") && body.windows(27).any(|w| w == b"lincs-internal-server-error");
        assert!(!status.is_server_error() || deliberate, "{}: {method} {route} answered {status}", path.display());
        if status.is_redirection() {
            let loc = location.unwrap_or_default();
            assert!(
                loc.starts_with(DEFAULT_REDIRECT_URI.as_bytes()),
                "{}: redirected to {:?}",
                path.display(),
                String::from_utf8_lossy(&loc)
            );
        }
        if html {
            let lower = body.to_ascii_lowercase();
            assert!(!lower.windows(5).any(|w| w == b"<fuzz"), "{}: markup reflected unescaped", path.display());
        }
    }
    assert!(sent > 0, "no corpus input reached the sandbox");
}
