//! `sync`: incremental (the second run fetches only the revision window),
//! resumable after `kill -9`, and exported readings that round-trip the API
//! across both DST days.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::{CONSUMER, consent, data_requests, dataconnect, run_ok, sandbox};

#[test]
fn a_second_sync_fetches_only_the_revision_window() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path(), |_| {});
    let db = dir.path().join("s.db");
    consent(dir.path(), &sandbox, &db);
    let series = "consumption-curve,consumption-daily";
    run_ok(dataconnect(dir.path(), &sandbox, &db).args(["sync", "--series", series]));
    let first = data_requests(&sandbox.log).len();
    // 24 months + 15 days of curve in 7-day windows, 36 months + 15 days of
    // daily energy in 365-day windows: the fewest calls the API allows.
    assert_eq!(first, 107 + 4);
    run_ok(dataconnect(dir.path(), &sandbox, &db).args(["sync", "--series", series]));
    let all = data_requests(&sandbox.log);
    let second = &all[first..];
    assert_eq!(second.len(), 2, "{second:#?}");
    for request in second {
        let query = request["query"].as_str().unwrap_or_default();
        assert!(query.contains("2026-11-21") && query.contains("2026-11-28"), "{request}");
    }
}

fn export(dir: &std::path::Path, sandbox: &crate::Sandbox, db: &std::path::Path, extra: &[&str]) -> String {
    let mut args = vec!["export", "--format", "jsonl"];
    args.extend_from_slice(extra);
    run_ok(dataconnect(dir, sandbox, db).args(&args))
}

#[test]
fn a_sync_killed_mid_way_then_rerun_stores_what_a_clean_run_stores() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path(), |_| {});
    let args = ["sync", "--series", "consumption-curve", "--since", "2025-06-01"];

    let clean_db = dir.path().join("clean.db");
    consent(dir.path(), &sandbox, &clean_db);
    run_ok(dataconnect(dir.path(), &sandbox, &clean_db).args(args));
    let clean = export(dir.path(), &sandbox, &clean_db, &[]);

    let db = dir.path().join("killed.db");
    consent(dir.path(), &sandbox, &db);
    // A slow client quota keeps the sync running long enough to be killed
    // in the middle; the kill waits for the first stored windows, not for a
    // fixed time.
    let slow = dir.path().join("slow.toml");
    std::fs::write(&slow, "quota_per_second = 20\n").unwrap();
    let before = data_requests(&sandbox.log).len();
    let mut child = dataconnect(dir.path(), &sandbox, &db)
        .env("DATACONNECT_CONFIG", &slow)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while data_requests(&sandbox.log).len() < before + 10 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL: no destructor, no rollback handler runs.
    let status = child.wait().unwrap();
    assert!(!status.success(), "the sync finished before it could be killed");
    let partial = export(dir.path(), &sandbox, &db, &[]);
    assert!(partial.lines().count() < clean.lines().count());

    run_ok(dataconnect(dir.path(), &sandbox, &db).args(args));
    let resumed = export(dir.path(), &sandbox, &db, &[]);
    assert_eq!(resumed, clean, "the resumed store differs from the clean one");
}

#[test]
fn export_round_trips_the_api_across_both_dst_days() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path(), |_| {});
    let db = dir.path().join("s.db");
    consent(dir.path(), &sandbox, &db);
    run_ok(dataconnect(dir.path(), &sandbox, &db).args([
        "sync",
        "--series",
        "consumption-curve,consumption-daily",
        "--since",
        "2026-03-25",
        "--until",
        "2026-11-01",
    ]));
    for (day, next, points) in [("2026-03-29", "2026-03-30", 46), ("2026-10-25", "2026-10-26", 50)] {
        for tz in ["Europe/Paris", "UTC"] {
            let range = ["--prm", CONSUMER, "--series", "consumption-curve", "--from", day, "--to", next, "--tz", tz];
            let exported = export(dir.path(), &sandbox, &db, &range);
            let mut fetch = vec!["fetch", "--format", "jsonl"];
            fetch.extend_from_slice(&range);
            let fetched = run_ok(dataconnect(dir.path(), &sandbox, &db).args(&fetch));
            assert_eq!(exported, fetched, "store and API disagree on {day} ({tz})");
            let rows: Vec<serde_json::Value> = exported.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
            assert_eq!(rows.len(), points, "{day}");
            // Consecutive intervals touch: no hour lost or doubled.
            for pair in rows.windows(2) {
                assert_eq!(pair[0]["end"], pair[1]["start"]);
            }
            let first = rows[0]["start"].as_str().unwrap();
            match tz {
                "UTC" => assert!(first.ends_with("+00:00"), "{first}"),
                _ => assert!(first.starts_with(&format!("{day}T00:00:00+0")), "{first}"),
            }
        }
        // The daily energy of the DST day is one local day.
        let daily = export(dir.path(), &sandbox, &db, &["--series", "consumption-daily", "--from", day, "--to", next]);
        let row: serde_json::Value = serde_json::from_str(daily.lines().next().unwrap()).unwrap();
        assert_eq!(row["step"], "P1D");
        assert!(row["start"].as_str().unwrap().starts_with(day));
        assert!(row["end"].as_str().unwrap().starts_with(next));
    }
    // CSV carries the same rows as JSON lines.
    let csv = run_ok(dataconnect(dir.path(), &sandbox, &db).args(["export", "--format", "csv", "--series", "consumption-curve"]));
    let jsonl = export(dir.path(), &sandbox, &db, &["--series", "consumption-curve"]);
    assert_eq!(csv.lines().count(), jsonl.lines().count() + 1);
}
