//! `dataconnect demo`: the whole journey, with the quota raised so the test
//! takes seconds (the real pace, 5 requests per second, takes about a minute).

use assert_cmd::assert::OutputAssertExt;

use crate::{TODAY, bare, run_ok};

#[test]
fn demo_walks_the_whole_journey_and_stores_both_meters() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let out = dir.path().join("charts");
    let stdout = run_ok(bare(dir.path()).args([
        "demo",
        "--db",
        db.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quota-per-second",
        "1000",
        "--today",
        TODAY,
    ]));
    for expected in [
        "12345678901234 ┆ consumption-curve",
        "12345678901234 ┆ consumption-daily",
        "12345678901234 ┆ consumption-max-power",
        "10284856584123 ┆ production-curve",
        "10284856584123 ┆ production-daily",
        "35760",
        "2024-11-13",
        "2026-11-27",
    ] {
        assert!(stdout.contains(expected), "{expected:?} missing from:\n{stdout}");
    }
    // The store holds what the table says: 36 months + 15 days of daily energy.
    let daily = run_ok(bare(dir.path()).args([
        "export",
        "--db",
        db.to_str().unwrap(),
        "--format",
        "jsonl",
        "--prm",
        "12345678901234",
        "--series",
        "consumption-daily",
    ]));
    assert_eq!(daily.lines().count(), 1111);
    // Running it again is incremental and still succeeds.
    bare(dir.path())
        .args([
            "demo",
            "--db",
            db.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quota-per-second",
            "1000",
            "--today",
            TODAY,
        ])
        .assert()
        .success();
}

#[test]
fn demo_walks_the_journey_with_the_older_generations_too() {
    for generation in ["legacy", "v5"] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("demo.db");
        let out = dir.path().join("charts");
        let stdout = run_ok(bare(dir.path()).args([
            "demo",
            "--generation",
            generation,
            "--db",
            db.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quota-per-second",
            "1000",
            "--today",
            TODAY,
        ]));
        for expected in ["12345678901234 ┆ consumption-curve", "10284856584123 ┆ production-daily"] {
            assert!(stdout.contains(expected), "{generation}: {expected:?} missing from:\n{stdout}");
        }
    }
}
