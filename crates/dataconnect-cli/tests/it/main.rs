//! End-to-end tests of the `dataconnect` binary (assert_cmd) against a real
//! sandbox over HTTP on 127.0.0.1, on real SQLite files.
//!
//! The sandbox runs in the test process on its own thread and runtime (the
//! brief allows the in-process sandbox where simpler); its request log
//! counts the calls the binary makes. The calendar is frozen at
//! [`TODAY`] on both sides, so every run sees the same data.

// A panic is how a test, a benchmark or an example reports a broken
// environment: unwrap and expect are fine here (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bad_input;
mod bare;
mod browser;
mod consent;
mod consent_import;
mod conso;
mod costs;
mod dc2026;
mod demo;
mod doctor;
mod grafana;
mod hardening_consent;
mod hardening_disk;
mod hardening_faults;
mod hardening_secrets;
mod home_assistant;
mod import;
mod plot;
mod publish_daemon;
mod publish_influx;
mod publish_mqtt;
mod serve;
mod serve_forged;
mod serve_hardening;
mod servers;
mod spawned;
mod status;
mod sync;
mod tempo;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;

pub use bare::bare;
use dataconnect_sandbox::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, SandboxConfig};
use dataconnect_testkit::sandbox::Served;

pub const TODAY: &str = "2026-11-28";
pub const CONSUMER: &str = "12345678901234";

/// A sandbox serving on a free port until dropped.
pub struct Sandbox {
    pub url: String,
    pub log: PathBuf,
    pub redirect_uri: String,
    _served: Served,
}

/// A port that was free a moment ago (for a redirect listener).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts a sandbox frozen at [`TODAY`], with a high quota and a request log
/// in `dir`; `tweak` adjusts its configuration.
pub fn sandbox(dir: &Path, tweak: impl FnOnce(&mut SandboxConfig)) -> Sandbox {
    let log = dir.join("requests.jsonl");
    let redirect_uri = format!("http://127.0.0.1:{}/callback", free_port());
    let mut config = SandboxConfig {
        today: Some(TODAY.parse().unwrap()),
        quota_per_second: 1000,
        quota_per_hour_api: 10_000,
        request_log: Some(log.clone()),
        redirect_uri,
        ..SandboxConfig::default()
    };
    tweak(&mut config);
    let redirect_uri = config.redirect_uri.clone();
    let served = Served::start(config);
    Sandbox { url: served.base.clone(), log, redirect_uri, _served: served }
}

/// The binary with a hermetic environment: settings for `sandbox`, the
/// database `db`, a config file raising the client's quota, and HOME and
/// XDG directories inside `dir` so no user file is read.
pub fn dataconnect(dir: &Path, sandbox: &Sandbox, db: &Path) -> Command {
    let config = dir.join("config.toml");
    if !config.exists() {
        std::fs::write(&config, "# Test settings.\nquota_per_second = 1000\nquota_per_hour = 100000\n").unwrap();
    }
    let mut cmd = bare(dir);
    cmd.env("DATACONNECT_BASE_URL", &sandbox.url)
        .env("DATACONNECT_CLIENT_ID", DEFAULT_CLIENT_ID)
        .env("DATACONNECT_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
        .env("DATACONNECT_REDIRECT_URI", &sandbox.redirect_uri)
        .env("DATACONNECT_DB", db)
        .env("DATACONNECT_TODAY", TODAY)
        .env("DATACONNECT_CONFIG", &config);
    cmd
}

/// A minimal HTTP/1.1 GET, as a browser that does not follow redirects:
/// returns the status and the `Location` header.
pub fn get(url: &str) -> (u16, Option<String>) {
    let (status, location, _) = get_with_body(url);
    (status, location)
}

/// [`get`], also returning the response (head and body).
pub fn get_with_body(url: &str) -> (u16, Option<String>, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let mut stream = TcpStream::connect(host).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split_whitespace().nth(1).unwrap().parse().unwrap();
    let location = response.lines().take_while(|l| !l.is_empty()).find_map(|l| {
        l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("location")).map(|(_, v)| v.trim().to_owned())
    });
    (status, location, response)
}

/// Plays the customer: follows the authorize URL to the redirect, and
/// returns the redirect URL without fetching it.
pub fn consent_redirect(authorize: &str) -> String {
    let (status, location, body) = get_with_body(authorize);
    if let Some(location) = location.filter(|_| (300..400).contains(&status)) {
        return location;
    }
    // Generation 1 redirects with a page whose script sets the location.
    let marker = "var url = \"";
    let start =
        body.find(marker).unwrap_or_else(|| panic!("authorize answered {status} without redirecting")) + marker.len();
    let end = body[start..].find('"').unwrap() + start;
    body[start..end].to_owned()
}

/// Records a consent for sandbox client 3's consumption meter in `db`, the
/// way a user does it: `consent`, the browser, `consent complete --url`.
pub fn consent(dir: &Path, sandbox: &Sandbox, db: &Path) {
    let out = dataconnect(dir, sandbox, db).args(["consent", "--sandbox-client", "3"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let url = String::from_utf8(out.stdout).unwrap().lines().next().unwrap().to_owned();
    let redirect = consent_redirect(&url);
    let out = dataconnect(dir, sandbox, db).args(["consent", "complete", "--url", &redirect]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// The data requests of the request log (token and consent calls left out).
pub fn data_requests(log: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    // A sandbox still running may be writing the last line: whole lines only.
    text.split_inclusive('\n')
        .filter(|l| l.ends_with('\n'))
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| {
            let path = v["path"].as_str().unwrap_or_default();
            !path.contains("oauth2") && !path.contains("token") && !path.contains("subscribed_services")
        })
        .collect()
}

/// Runs the command and returns stdout, failing with stderr if it failed.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "exit {:?}: {}", out.status.code(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}
