//! Helpers shared by the integration tests: a sandbox served on
//! 127.0.0.1 port 0, an HTTP client that does not follow redirects, and the
//! usual token dance.

#![allow(dead_code)]

use std::time::Duration;

use dataconnect_sandbox::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REDIRECT_URI, SandboxConfig};
use dataconnect_testkit::sandbox::Served;

/// A sandbox running on a free port; stops when dropped.
pub struct Running {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base: String,
    /// A client that does not follow redirects (the tests read them).
    pub http: reqwest::Client,
    _served: Served,
}

/// The default configuration, with the quotas lifted so that tests that
/// are not about quotas never meet them.
pub fn config() -> SandboxConfig {
    SandboxConfig { quota_per_second: 0, quota_per_hour: 0, quota_per_hour_api: 0, ..SandboxConfig::default() }
}

/// Serves a sandbox with `config` on 127.0.0.1 port 0 (the workspace's one
/// harness, `dataconnect_testkit::sandbox`).
pub async fn spawn(config: SandboxConfig) -> Running {
    let served = Served::start(config);
    Running { base: served.base.clone(), http: http_client(), _served: served }
}

/// A client that does not follow redirects, with a timeout so that a
/// broken test fails instead of hanging.
pub fn http_client() -> reqwest::Client {
    // In a workspace build (`cargo test --workspace`) reqwest carries the
    // client crate's `rustls-no-provider` feature and panics without a
    // provider; installing one twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("HTTP client")
}

impl Running {
    /// The absolute URL of `path_and_query`.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base)
    }

    /// A generation 2/3 application token (client_credentials, form
    /// fields).
    pub async fn app_token(&self) -> String {
        let response = self
            .http
            .post(self.url("/oauth2/v3/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", DEFAULT_CLIENT_ID),
                ("client_secret", DEFAULT_CLIENT_SECRET),
            ])
            .send()
            .await
            .expect("token request");
        assert_eq!(response.status(), 200, "token endpoint refused");
        let body: serde_json::Value = response.json().await.expect("token JSON");
        body["access_token"].as_str().expect("access_token").to_owned()
    }

    /// Runs the generation 1 consent for sandbox client `client` and
    /// exchanges the code: returns the token response.
    pub async fn legacy_tokens(&self, client: u8) -> serde_json::Value {
        let code = self.legacy_code(client).await;
        let response = self
            .http
            .post(self.url(&format!("/v1/oauth2/token?redirect_uri={}", enc(DEFAULT_REDIRECT_URI))))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", DEFAULT_CLIENT_ID),
                ("client_secret", DEFAULT_CLIENT_SECRET),
                ("code", &code),
            ])
            .send()
            .await
            .expect("token request");
        assert_eq!(response.status(), 200, "legacy token refused");
        response.json().await.expect("token JSON")
    }

    /// Runs the generation 1 consent for sandbox client `client` and
    /// returns the code from the page's `var url`.
    pub async fn legacy_code(&self, client: u8) -> String {
        let page = self
            .http
            .get(self.url(&format!(
                "/group/espace-particuliers/consentement-linky/oauth2/authorize?client_id={}&duration=P1Y&redirect_URI={}&response_type=code&state=abc{client}",
                DEFAULT_CLIENT_ID,
                enc(DEFAULT_REDIRECT_URI)
            )))
            .send()
            .await
            .expect("authorize request")
            .text()
            .await
            .expect("authorize page");
        let url = var_url(&page).expect("var url in the legacy page");
        query_param(&url, "code").expect("code in the redirect")
    }
}

/// The URL in a legacy page's `var url = "…";`, as CONSO-PY scrapes it.
pub fn var_url(page: &str) -> Option<String> {
    let start = page.find("var url = \"")? + "var url = \"".len();
    let end = page[start..].find('"')? + start;
    Some(page[start..end].to_owned())
}

/// The decoded value of `name` in `url`'s query.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    parsed.query_pairs().find(|(n, _)| n == name).map(|(_, v)| v.into_owned())
}

/// The `Location` of a redirect.
pub fn location(response: &reqwest::Response) -> String {
    response.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).expect("Location header").to_owned()
}

/// Percent-encodes a query value.
pub fn enc(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
