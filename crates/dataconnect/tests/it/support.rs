//! Starting a sandbox on port 0 and building clients for it.

use std::time::Duration;

use dataconnect::{Client, ClientConfig, ClientSecret, Generation, QuotaConfig, UsagePointId};
use dataconnect_sandbox::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REDIRECT_URI, SandboxConfig};
use dataconnect_testkit::sandbox::Served;
use jiff::civil::{Date, date};
use url::Url;

/// The day the sandbox and the clients take as today in most tests: late
/// enough that both DST days of 2025 are inside the curve history.
pub const TODAY: Date = date(2025, 11, 20);

/// A sandbox served on an ephemeral port until dropped.
pub struct Running {
    /// `http://127.0.0.1:PORT/`.
    pub base: Url,
    _served: Served,
}

/// The sandbox config of most tests: a frozen day, quotas that do not get
/// in the way (quota tests set their own).
pub fn config() -> SandboxConfig {
    SandboxConfig {
        today: Some(TODAY),
        quota_per_second: 10_000,
        quota_per_hour: 1_000_000,
        quota_per_hour_api: 1_000_000,
        fault_delay: Duration::from_millis(1500),
        ..SandboxConfig::default()
    }
}

/// Serves a sandbox with `config` (the workspace's one harness,
/// `dataconnect_testkit::sandbox`).
pub async fn start(config: SandboxConfig) -> Running {
    let served = Served::start(config);
    Running { base: format!("{}/", served.base).parse().expect("url"), _served: served }
}

/// A client config for the sandbox `run`.
pub fn client_config(run: &Running, generation: Generation) -> ClientConfig {
    let mut c =
        ClientConfig::new(run.base.clone(), generation, DEFAULT_CLIENT_ID, ClientSecret::new(DEFAULT_CLIENT_SECRET));
    c.redirect_uri = Some(DEFAULT_REDIRECT_URI.parse().expect("redirect"));
    c.today = Some(TODAY);
    c.quota = QuotaConfig { per_second: 10_000, per_hour: 1_000_000 };
    c.timeout = Duration::from_secs(10);
    c
}

pub fn client(run: &Running, generation: Generation) -> Client {
    Client::new(client_config(run, generation)).expect("client")
}

pub fn prm(s: &str) -> UsagePointId {
    UsagePointId::new(s).expect("prm")
}

/// Plays the customer's browser on the consent page: follows the 302 (v5,
/// 2026) or reads the legacy page's `var url = "…"` (generation 1).
pub async fn browse(url: &Url) -> Url {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("http");
    let resp = http.get(url.clone()).send().await.expect("authorize");
    if let Some(loc) = resp.headers().get("location") {
        return loc.to_str().expect("location").parse().expect("location url");
    }
    let status = resp.status();
    let page = resp.text().await.expect("page");
    let start = page.find("var url = \"").unwrap_or_else(|| panic!("no redirect in a {status} page: {page}")) + 11;
    let end = start + page[start..].find('"').expect("closing quote");
    page[start..end].parse().expect("redirect url")
}

/// Gives consent as sandbox client `n` and returns the consent.
pub async fn consent(client: &Client, n: u8) -> dataconnect::Consent {
    let req = client.consent_request("P1Y".parse().expect("duration"), Some(n)).expect("request");
    let back = browse(&req.url()).await;
    client.complete_consent(&back, req.state()).await.expect("consent")
}
