//! Secrets audit: `demo`, `consent`, `consent complete`, `sync` and
//! `export` run with the most verbose logging asked for (`RUST_LOG=trace`),
//! and nothing they print, write to a file or say in an error holds the
//! client secret, an access or refresh token, an authorization code, or the
//! customer's identity and contact data. The token file is 0600 and the
//! database holds no secret.
//!
//! The secrets are learned the way an attacker would find them: the code
//! from the redirect the customer's browser follows, the refresh token from
//! the token file, the customer's name, e-mail and phone from the sandbox's
//! customer APIs; generation 2 and 3 access tokens are JWTs, found by their
//! `eyJ` prefix (base64 of `{"`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use super::{CONSUMER, TODAY, bare, consent_redirect, dataconnect, sandbox};

const SECRET: &str = "hardening-audit-secret-Qx7vW2";

/// A raw HTTP/1.1 exchange; returns the status and the body.
fn http(host: &str, request: &str) -> (u16, String) {
    let mut s = TcpStream::connect(host).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default())
}

/// The customer's identity and contact values the sandbox serves for `prm`.
fn customer_strings(base: &str, client_id: &str, prm: &str) -> Vec<String> {
    let host = base.strip_prefix("http://").unwrap();
    let form = format!("grant_type=client_credentials&client_id={client_id}&client_secret={SECRET}");
    let (_, token) = http(
        host,
        &format!(
            "POST /oauth2/v3/token HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
            form.len()
        ),
    );
    let token: serde_json::Value = serde_json::from_str(&token).unwrap();
    let bearer = token["access_token"].as_str().unwrap().to_owned();
    let mut out = Vec::new();
    for path in ["/customers_i/v5/identity", "/customers_cd/v5/contact_data"] {
        let (status, body) = http(
            host,
            &format!(
                "GET {path}?usage_point_id={prm} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {bearer}\r\nConnection: close\r\n\r\n"
            ),
        );
        // An error body (a meter that only produces has no customer in
        // v5: STM-ERR-0000019) holds no customer datum.
        if !(200..300).contains(&status) {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
        collect_strings(&v, &mut out);
    }
    // Titles (`Mr`, `Mme`) and customer ids are not identifying on their own.
    out.retain(|s| s.len() >= 4 && !s.chars().all(|c| c.is_ascii_digit()));
    out
}

fn collect_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

/// Runs `cmd` with the most verbose logging; returns stdout and stderr.
fn run(cmd: &mut Command) -> String {
    let out = cmd.env("RUST_LOG", "trace").env("RUST_BACKTRACE", "1").output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "exit {:?}: {text}", out.status.code());
    text
}

/// Everything written under `dir` (database, WAL, token file, exports,
/// request log), as lossy text, by file name.
fn files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.push((p.display().to_string(), String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
    }
    out
}

fn assert_absent(what: &str, haystack: &str, needles: &[String]) {
    let lower = haystack.to_lowercase();
    for n in needles {
        assert!(
            !lower.contains(&n.to_lowercase()),
            "{what} holds a secret or customer datum ({} chars, starts {:?})",
            n.len(),
            &n[..n.len().min(3)]
        );
    }
    assert!(!haystack.contains("eyJ"), "{what} holds what looks like a JWT access token");
}

#[test]
fn no_secret_in_any_output_log_error_or_file() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox(dir.path(), |c| c.client_secret = SECRET.to_owned());
    let mut customer = customer_strings(&sb.url, dataconnect_sandbox::DEFAULT_CLIENT_ID, CONSUMER);
    customer.extend(customer_strings(&sb.url, dataconnect_sandbox::DEFAULT_CLIENT_ID, "10284856584123"));
    assert!(customer.iter().any(|s| s.contains('@')), "the audit found no e-mail to look for: {customer:?}");
    let mut outputs = String::new();
    let mut secrets = vec![SECRET.to_owned()];

    for generation in ["legacy", "2026"] {
        let db = dir.path().join(format!("{generation}.db"));
        let cmd = |args: &[&str]| {
            let mut c = dataconnect(dir.path(), &sb, &db);
            c.env("DATACONNECT_GENERATION", generation).env("DATACONNECT_CLIENT_SECRET", SECRET).args(args);
            c
        };
        let printed = run(&mut cmd(&["consent", "--sandbox-client", "3"]));
        let url = printed.lines().next().unwrap().to_owned();
        outputs.push_str(&printed);
        let redirect = consent_redirect(&url);
        let parsed = url::Url::parse(&redirect).unwrap();
        for (k, v) in parsed.query_pairs() {
            if k == "code" {
                secrets.push(v.into_owned());
            }
        }
        outputs.push_str(&run(&mut cmd(&["consent", "complete", "--url", &redirect])));
        // A replayed redirect is refused; its error must not echo the code.
        let replay = cmd(&["consent", "complete", "--url", &redirect]).env("RUST_LOG", "trace").output().unwrap();
        assert!(!replay.status.success(), "a replayed redirect was accepted");
        outputs.push_str(&String::from_utf8_lossy(&replay.stderr));
        outputs.push_str(&run(&mut cmd(&[
            "sync",
            "--since",
            "2026-10-01",
            "--series",
            "consumption-daily,consumption-curve",
        ])));
        outputs.push_str(&run(&mut cmd(&["export", "--format", "jsonl"])));
        let tokens = db.with_file_name(format!("{generation}.db.tokens.json"));
        if generation == "legacy" {
            let mode = std::fs::metadata(&tokens)
                .unwrap_or_else(|e| panic!("no token file {}: {e}", tokens.display()))
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "token file mode {mode:o}");
            let body: serde_json::Value = serde_json::from_slice(&std::fs::read(&tokens).unwrap()).unwrap();
            for entry in body["tokens"].as_object().unwrap().values() {
                secrets.push(entry["refresh_token"].as_str().unwrap().to_owned());
            }
        }
    }

    // The demo, with its embedded sandbox and its public default secret.
    let demo_dir = dir.path().join("demo");
    std::fs::create_dir_all(&demo_dir).unwrap();
    outputs.push_str(&run(bare(&demo_dir).args([
        "demo",
        "--db",
        demo_dir.join("demo.db").to_str().unwrap(),
        "--out",
        demo_dir.join("charts").to_str().unwrap(),
        "--quota-per-second",
        "1000",
        "--today",
        TODAY,
    ])));
    let mut demo_secrets = secrets.clone();
    demo_secrets.push(dataconnect_sandbox::DEFAULT_CLIENT_SECRET.to_owned());

    assert!(secrets.len() >= 4, "the audit found too few secrets to look for: {}", secrets.len());
    let mut needles = demo_secrets.clone();
    needles.extend(customer.iter().cloned());
    assert_absent("the commands' output", &outputs, &needles);
    for (name, text) in files(dir.path()) {
        if name.ends_with(".tokens.json") || name.ends_with("config.toml") || name.ends_with("requests.jsonl") {
            continue;
        }
        // Exports and charts are the customer's own data, asked for; the
        // database and everything else must hold no secret.
        assert_absent(&name, &text, &demo_secrets);
    }
}
