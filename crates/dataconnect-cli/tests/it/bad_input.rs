//! Bad input: each gets one clear line on standard error, a distinct exit
//! code per class, and leaves the database as it was.

use std::path::Path;
use std::process::Command;

use crate::{CONSUMER, Sandbox, bare, consent, dataconnect, sandbox};

/// Runs `cmd`, expects exit `code` and one stderr line containing `needle`.
fn fails(cmd: &mut Command, code: i32, needle: &str) {
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{err}");
    assert_eq!(err.lines().count(), 1, "not one line: {err}");
    assert!(err.to_lowercase().contains(&needle.to_lowercase()), "{needle:?} not in {err}");
}

fn fetch<'a>(dir: &Path, sandbox: &Sandbox, db: &Path, prm: &'a str, from: &'a str, to: &'a str) -> Command {
    let mut cmd = dataconnect(dir, sandbox, db);
    cmd.args(["fetch", "--prm", prm, "--series", "consumption-daily", "--from", from, "--to", to]);
    cmd
}

#[test]
fn malformed_arguments_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path(), |_| {});
    let db = dir.path().join("s.db");
    fails(&mut fetch(dir.path(), &sandbox, &db, "1234567890123", "2026-01-01", "2026-01-08"), 2, "14 digits");
    fails(&mut fetch(dir.path(), &sandbox, &db, CONSUMER, "2026-13-01", "2026-01-08"), 2, "YYYY-MM-DD");
    fails(&mut fetch(dir.path(), &sandbox, &db, CONSUMER, "01/02/2026", "2026-01-08"), 2, "YYYY-MM-DD");
    fails(dataconnect(dir.path(), &sandbox, &db).args(["export", "--series", "consumption"]), 2, "unknown series");
    fails(dataconnect(dir.path(), &sandbox, &db).args(["sync", "--frobnicate"]), 2, "--frobnicate");
    assert!(!db.exists(), "a usage error created the database");
}

#[test]
fn ranges_the_api_cannot_serve_are_range_errors() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path(), |_| {});
    let db = dir.path().join("s.db");
    fails(&mut fetch(dir.path(), &sandbox, &db, CONSUMER, "2026-11-20", "2027-01-01"), 3, "future");
    fails(&mut fetch(dir.path(), &sandbox, &db, CONSUMER, "2026-11-20", "2026-11-20"), 3, "after the start");
    assert!(data_free(&sandbox), "a range error reached the API");
}

fn data_free(sandbox: &Sandbox) -> bool {
    crate::data_requests(&sandbox.log).is_empty()
}

#[test]
fn no_consent_is_a_consent_error() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path(), |_| {});
    let db = dir.path().join("s.db");
    fails(dataconnect(dir.path(), &sandbox, &db).arg("sync"), 6, "dataconnect consent");
    fails(dataconnect(dir.path(), &sandbox, &db).args(["sync", "--prm", CONSUMER]), 6, CONSUMER);
    assert!(data_free(&sandbox));
}

#[test]
fn credentials_and_network_problems_have_their_own_codes() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path(), |_| {});
    let db = dir.path().join("s.db");
    fails(
        fetch(dir.path(), &sandbox, &db, CONSUMER, "2026-11-01", "2026-11-08")
            .env("DATACONNECT_CLIENT_SECRET", "wrong"),
        5,
        "secret",
    );
    let port = crate::free_port();
    fails(
        fetch(dir.path(), &sandbox, &db, CONSUMER, "2026-11-01", "2026-11-08")
            .env("DATACONNECT_BASE_URL", format!("http://127.0.0.1:{port}")),
        7,
        "",
    );
    fails(
        fetch(dir.path(), &sandbox, &db, CONSUMER, "2026-11-01", "2026-11-08").env("DATACONNECT_BASE_URL", "not a url"),
        4,
        "base URL",
    );
    fails(
        fetch(dir.path(), &sandbox, &db, CONSUMER, "2026-11-01", "2026-11-08").env_remove("DATACONNECT_CLIENT_SECRET"),
        4,
        "DATACONNECT_CLIENT_SECRET",
    );
    // The secret may come from a file instead.
    let secret = dir.path().join("secret");
    std::fs::write(&secret, format!("{}\n", dataconnect_sandbox::DEFAULT_CLIENT_SECRET)).unwrap();
    let out = fetch(dir.path(), &sandbox, &db, CONSUMER, "2026-11-01", "2026-11-08")
        .env_remove("DATACONNECT_CLIENT_SECRET")
        .args(["--client-secret-file", secret.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let _ = bare(dir.path());
}

#[test]
fn corrupt_and_read_only_databases_are_store_errors_and_stay_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path(), |_| {});

    let corrupt = dir.path().join("corrupt.db");
    let junk = b"definitely not an SQLite database, just some bytes......".repeat(40);
    std::fs::write(&corrupt, &junk).unwrap();
    fails(dataconnect(dir.path(), &sandbox, &corrupt).arg("sync"), 8, "not a dataconnect database");
    fails(dataconnect(dir.path(), &sandbox, &corrupt).arg("export"), 8, "corrupt.db");
    assert_eq!(std::fs::read(&corrupt).unwrap(), junk);

    let db = dir.path().join("ro.db");
    consent(dir.path(), &sandbox, &db);
    crate::run_ok(dataconnect(dir.path(), &sandbox, &db).args(["sync", "--series", "consumption-daily"]));
    let exported = crate::run_ok(dataconnect(dir.path(), &sandbox, &db).arg("export"));
    let mut perms = std::fs::metadata(&db).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&db, perms).unwrap();
    let before = std::fs::read(&db).unwrap();
    fails(dataconnect(dir.path(), &sandbox, &db).arg("sync"), 8, "read-only");
    assert_eq!(std::fs::read(&db).unwrap(), before);
    // Reading still works.
    assert_eq!(crate::run_ok(dataconnect(dir.path(), &sandbox, &db).arg("export")), exported);
}

#[test]
fn flags_beat_the_environment_which_beats_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path(), |_| {});
    let db = dir.path().join("s.db");
    let dead = format!("http://127.0.0.1:{}", crate::free_port());
    let config = dir.path().join("precedence.toml");
    std::fs::write(&config, format!("base_url = \"{dead}\"\nquota_per_second = 1000\n")).unwrap();
    // The environment (the live sandbox) beats the file (a dead port).
    let out = fetch(dir.path(), &sandbox, &db, CONSUMER, "2026-11-01", "2026-11-08")
        .env("DATACONNECT_CONFIG", &config)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // A flag (the live sandbox) beats the environment (a dead port).
    let out = fetch(dir.path(), &sandbox, &db, CONSUMER, "2026-11-01", "2026-11-08")
        .env("DATACONNECT_BASE_URL", &dead)
        .args(["--base-url", &sandbox.url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The file is used when nothing else says.
    fails(
        fetch(dir.path(), &sandbox, &db, CONSUMER, "2026-11-01", "2026-11-08")
            .env_remove("DATACONNECT_BASE_URL")
            .env("DATACONNECT_CONFIG", &config),
        7,
        "",
    );
    // A config file that is not valid TOML is a config error naming the file.
    std::fs::write(&config, "base_url = [unclosed\n").unwrap();
    fails(
        fetch(dir.path(), &sandbox, &db, CONSUMER, "2026-11-01", "2026-11-08").env("DATACONNECT_CONFIG", &config),
        4,
        "precedence.toml",
    );
}
