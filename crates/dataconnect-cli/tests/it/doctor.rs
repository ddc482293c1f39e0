//! `dataconnect doctor` against a spawned sandbox: the sandbox test clients
//! each reproduce one failure users hit, and the diagnosis must name it.

use crate::spawned::{Ran, Sandbox, dataconnect, run};

/// Runs doctor for `prm` against a sandbox of its own (owned by the test,
/// so the process is killed when the test ends, even by a panic).
fn doctor(prm: &str) -> Ran {
    let sandbox = Sandbox::spawn();
    let home = tempfile::tempdir().unwrap();
    run(sandbox.client(home.path()).args(["doctor", "--prm", prm]))
}

/// The line of one check: its name starts at column 6.
fn line<'a>(r: &'a Ran, check: &str) -> &'a str {
    r.stdout
        .lines()
        .find(|l| l.get(6..).is_some_and(|rest| rest.starts_with(check)))
        .unwrap_or_else(|| panic!("no {check} line in:\n{}", r.stdout))
}

#[test]
fn client_2_has_no_load_curve_collection() {
    let r = doctor("32320647321714");
    assert_eq!(r.code, 9, "{r:?}");
    let l = line(&r, "load curve");
    assert!(l.starts_with("FAIL") && l.contains("Collecte de la consommation horaire"), "{l}");
    assert!(line(&r, "direction").starts_with("ok"));
    assert!(line(&r, "consent ").starts_with("ok"));
}

#[test]
fn client_5_is_production_only() {
    let r = doctor("24880057139941");
    assert_eq!(r.code, 0, "{r:?}");
    let l = line(&r, "direction");
    assert!(l.starts_with("warn") && l.contains("production-only") && l.contains("ADAM-ERR0069"), "{l}");
    let curve = line(&r, "load curve");
    assert!(curve.starts_with("ok") && curve.contains("production-curve"), "{curve}");
}

#[test]
fn client_8_revoked_its_consent() {
    let r = doctor("26584978546985");
    assert_eq!(r.code, 6, "{r:?}");
    let l = line(&r, "consent ");
    assert!(l.starts_with("FAIL") && l.contains("ADAM-DC-0008") && l.contains("dataconnect consent"), "{l}");
    assert!(line(&r, "direction").starts_with("skip"));
}

#[test]
fn client_1_data_starts_at_its_activation_date() {
    let r = doctor("11453290002823");
    assert_eq!(r.code, 0, "{r:?}");
    let l = line(&r, "activation");
    assert!(l.starts_with("warn") && l.contains("ADAM-ERR0123") && l.contains("2019-08-27"), "{l}");
    assert!(line(&r, "load curve").starts_with("ok"));
}

#[test]
fn refused_credentials_a_dead_base_url_and_missing_settings_are_named() {
    let sandbox = Sandbox::spawn();
    let home = tempfile::tempdir().unwrap();
    let prm = ["doctor", "--prm", "22516914714270"];
    let r = run(sandbox.client(home.path()).env("DATACONNECT_CLIENT_SECRET", "wrong").args(prm));
    assert_eq!(r.code, 5, "{r:?}");
    assert!(line(&r, "credentials").starts_with("FAIL"));
    // Port 1 on the loopback refuses connections at once.
    let r = run(sandbox.client(home.path()).env("DATACONNECT_BASE_URL", "http://127.0.0.1:1").args(prm));
    assert_eq!(r.code, 7, "{r:?}");
    let l = line(&r, "connection");
    assert!(l.starts_with("FAIL") && l.contains("dataconnect sandbox"), "{l}");
    // A URL that answers, but is not the API gateway.
    let wrong = format!("{}/not-the-gateway/", sandbox.base_url);
    let r = run(sandbox.client(home.path()).env("DATACONNECT_BASE_URL", &wrong).args(prm));
    assert_eq!(r.code, 7, "{r:?}");
    let l = line(&r, "connection");
    assert!(l.starts_with("FAIL") && l.contains("not like Data Connect"), "{l}");
    let r = run(dataconnect(home.path()).args(prm));
    assert_eq!(r.code, 4, "{r:?}");
    assert!(line(&r, "settings").starts_with("FAIL"));
}

#[test]
fn an_exhausted_hourly_quota_is_named() {
    // Two calls per hour per API: the token and contract calls pass, the
    // second daily call is refused with the gateway's 429.
    let small = Sandbox::spawn_with(&["--quota-per-hour", "2"]);
    let home = tempfile::tempdir().unwrap();
    let r = run(small.client(home.path()).args(["doctor", "--prm", "22516914714270"]));
    assert_eq!(r.code, 9, "{r:?}");
    let l = line(&r, "quota");
    assert!(l.starts_with("FAIL") && l.contains("429"), "{l}");
}
