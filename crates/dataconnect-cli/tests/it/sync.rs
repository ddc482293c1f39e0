//! `sync`: incremental (the second run fetches only the revision window),
//! resumable after `kill -9`, and exported readings that round-trip the API
//! across both DST days.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::consent;
use crate::{CONSUMER, consent_redirect, data_requests, dataconnect, run_ok, sandbox};

#[test]
fn a_second_sync_fetches_only_the_revision_window() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path(), |_| {});
    let db = dir.path().join("s.db");
    consent(dir.path(), &sandbox, &db);
    let series = "consumption-curve,consumption-daily";
    run_ok(dataconnect(dir.path(), &sandbox, &db).args(["sync", "--series", series]));
    let first = data_requests(&sandbox.log).len();
    // The meter's contract, read once (in generation 2026 it takes three
    // APIs: situation, synthesis and metering), then 24 months + 15 days of
    // curve in 7-day windows and 36 months + 15 days of daily energy in
    // 365-day windows: the fewest calls the API allows.
    let contract: Vec<String> = data_requests(&sandbox.log)
        .iter()
        .filter_map(|r| r["path"].as_str().map(str::to_owned))
        .filter(|p| !p.starts_with("/mesure"))
        .collect();
    assert_eq!(
        contract,
        [
            "/situation_contrat_auto/v1/12345678901234",
            "/synth_contrat_auto/v1/12345678901234",
            "/comptage_auto/v1/12345678901234"
        ]
    );
    assert_eq!(first, 3 + 107 + 4);
    // `costs` finds the contract's off-peak hours without --offpeak.
    let costs = run_ok(dataconnect(dir.path(), &sandbox, &db).args([
        "costs",
        "--prm",
        CONSUMER,
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-08",
        "--hp",
        "0.25",
        "--hc",
        "0.18",
        "--format",
        "json",
    ]));
    let costs: serde_json::Value = serde_json::from_str(&costs).unwrap();
    assert_eq!(costs["offer"], "custom", "{costs}");
    assert!(costs["months"][0]["periods"]["HC"]["kwh"].as_f64().unwrap() > 0.0, "{costs}");
    run_ok(dataconnect(dir.path(), &sandbox, &db).args(["sync", "--series", series]));
    let all = data_requests(&sandbox.log);
    let second = &all[first..];
    // Only the revision window: the contract is not asked again.
    assert_eq!(second.len(), 2, "{second:#?}");
    for request in second {
        let query = request["query"].as_str().unwrap_or_default();
        assert!(query.contains("2026-11-21") && query.contains("2026-11-28"), "{request}");
    }
}

/// A contract the API refuses for good (v5 answers STM-ERR-0000019 for a
/// meter that only produces) is a warning, the sync goes on, and the next
/// sync does not ask for it again.
#[test]
fn a_contract_refused_for_good_is_asked_once_and_the_sync_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path(), |_| {});
    let db = dir.path().join("p.db");
    let v5 = |cmd: &mut std::process::Command| -> String { run_ok(cmd.env("DATACONNECT_GENERATION", "v5")) };
    let url = v5(dataconnect(dir.path(), &sandbox, &db).args(["consent", "--sandbox-client", "5"]));
    let redirect = consent_redirect(url.lines().next().unwrap());
    v5(dataconnect(dir.path(), &sandbox, &db).args(["consent", "complete", "--url", &redirect]));
    let contract_calls = || {
        data_requests(&sandbox.log)
            .iter()
            .filter(|r| r["path"].as_str().unwrap_or_default().contains("contract"))
            .count()
    };
    let out = dataconnect(dir.path(), &sandbox, &db)
        .env("DATACONNECT_GENERATION", "v5")
        .args(["sync", "--series", "production-daily"])
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("the API gives no contract") && text.contains("`costs` then needs --offpeak"), "{text}");
    assert!(text.contains("windows stored"), "{text}");
    assert_eq!(contract_calls(), 1);
    let again = v5(dataconnect(dir.path(), &sandbox, &db).args(["sync", "--series", "production-daily"]));
    assert!(!again.contains("contract"), "{again}");
    assert_eq!(contract_calls(), 1, "the refused contract is not asked again");
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
    let csv = run_ok(dataconnect(dir.path(), &sandbox, &db).args([
        "export",
        "--format",
        "csv",
        "--series",
        "consumption-curve",
    ]));
    let jsonl = export(dir.path(), &sandbox, &db, &["--series", "consumption-curve"]);
    assert_eq!(csv.lines().count(), jsonl.lines().count() + 1);
}

/// `sync --daemon` on an SQLite file: the first round back-fills, later
/// rounds of the same day call nothing (the revision window goes with the
/// day's first round only), a consent recorded meanwhile is back-filled at
/// the next round, and SIGTERM ends it with exit 0.
#[test]
fn the_sqlite_daemon_back_fills_picks_up_new_consents_and_stops_on_sigterm() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path(), |_| {});
    let db = dir.path().join("d.db");
    consent(dir.path(), &sandbox, &db);
    // The data calls for `prm` (the only series is daily energy), its
    // contract's left out.
    let daily_calls = |prm: &str| {
        data_requests(&sandbox.log)
            .iter()
            .filter(|r| r["path"].as_str().is_some_and(|p| p.starts_with("/mesure")))
            .filter(|r| r.to_string().contains(prm))
            .count()
    };
    let rounds = || -> i64 {
        let conn = rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        conn.query_row("SELECT count(*) FROM sync_run", [], |r| r.get(0)).unwrap()
    };
    let wait = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !done() {
            assert!(Instant::now() < deadline, "after 60 s, still waiting for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let mut daemon = dataconnect(dir.path(), &sandbox, &db)
        .args(["sync", "--daemon", "--series", "consumption-daily", "--replan-seconds", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // 36 months + 15 days of daily energy: 4 windows.
    wait("the back-fill", &|| daily_calls(CONSUMER) >= 4);
    let after_backfill = rounds();
    wait("two more rounds", &|| rounds() >= after_backfill + 2);
    assert_eq!(daily_calls(CONSUMER), 4, "later rounds of the day fetch nothing");
    // A consent recorded while the daemon runs (sandbox client 0's meter).
    let other = "22516914714270";
    let url = run_ok(dataconnect(dir.path(), &sandbox, &db).args(["consent", "--sandbox-client", "0"]));
    let redirect = consent_redirect(url.lines().next().unwrap());
    run_ok(dataconnect(dir.path(), &sandbox, &db).args(["consent", "complete", "--url", &redirect]));
    wait("the new consent's back-fill", &|| daily_calls(other) >= 4);
    assert!(daemon.try_wait().unwrap().is_none(), "the daemon keeps running");
    let ok = std::process::Command::new("kill").args(["-TERM", &daemon.id().to_string()]).status().unwrap().success();
    assert!(ok);
    let status = daemon.wait().unwrap();
    let mut out = String::new();
    daemon.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    daemon.stderr.take().unwrap().read_to_string(&mut out).unwrap();
    assert_eq!(status.code(), Some(0), "{out}");
    assert!(out.contains("sync daemon: 4 worker(s) on"), "{out}");
    assert!(out.contains("stopped by a signal"), "{out}");
    assert!(out.contains("revision window included"), "{out}");
    assert_eq!(daily_calls(CONSUMER), 4, "{out}");
}

/// A customer who moved away (ADAM-DC-0007, the sandbox's meter
/// 90000000000013): `sync` stores the other meters, marks that one as
/// needing a new consent and says so with the consent exit code; the next
/// sync does not call for it at all.
#[test]
fn a_customer_who_moved_away_is_marked_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path(), |_| {});
    let db = dir.path().join("m.db");
    let list = dir.path().join("meters.csv");
    std::fs::write(&list, "90000000000010\n90000000000013\n").unwrap();
    run_ok(dataconnect(dir.path(), &sandbox, &db).args(["consent", "import"]).arg(&list));
    let out = dataconnect(dir.path(), &sandbox, &db).args(["sync", "--series", "consumption-daily"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{err}");
    assert!(err.contains("meter 90000000000013 needs a new consent"), "{err}");
    let status: serde_json::Value =
        serde_json::from_str(&run_ok(dataconnect(dir.path(), &sandbox, &db).args(["status", "--format", "json"])))
            .unwrap();
    let consents = status["consents"].as_array().unwrap();
    let moved = consents.iter().find(|c| c["usage_point_id"] == "90000000000013").unwrap();
    assert_eq!(moved["state"], "needs-consent", "{moved}");
    assert!(moved["reason"].as_str().unwrap().contains("ADAM-DC-0007"), "{moved}");
    let other = status["series"].as_array().unwrap().iter().find(|s| s["usage_point_id"] == "90000000000010").unwrap();
    assert!(other["points"].as_u64().unwrap() > 1000, "{other}");
    let asked = |prm: &str| data_requests(&sandbox.log).iter().filter(|r| r.to_string().contains(prm)).count();
    let before = asked("90000000000013");
    run_ok(dataconnect(dir.path(), &sandbox, &db).args(["sync", "--series", "consumption-daily"]));
    assert_eq!(asked("90000000000013"), before, "a meter that needs consent is not called again");
}

/// `costs --hp --hc` on a store without the meter's contract (synced on
/// PostgreSQL, or before `sync` read contracts) reads it once with the
/// configured credentials, stores it, and takes the off-peak hours from it.
#[test]
fn costs_reads_a_missing_contract_once() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox(dir.path(), |_| {});
    let db = dir.path().join("c.db");
    consent(dir.path(), &sandbox, &db);
    run_ok(dataconnect(dir.path(), &sandbox, &db).args([
        "sync",
        "--series",
        "consumption-curve",
        "--since",
        "2026-11-01",
    ]));
    // An older store: no contract.
    let conn = rusqlite::Connection::open(&db).unwrap();
    assert_eq!(conn.execute("DELETE FROM meter", []).unwrap(), 1);
    drop(conn);
    let contract_calls = || {
        data_requests(&sandbox.log)
            .iter()
            .filter(|r| r["path"].as_str().is_some_and(|p| !p.starts_with("/mesure")))
            .count()
    };
    let before = contract_calls();
    let args = [
        "costs",
        "--prm",
        CONSUMER,
        "--from",
        "2026-11-02",
        "--to",
        "2026-11-09",
        "--hp",
        "0.25",
        "--hc",
        "0.18",
        "--format",
        "json",
    ];
    let costs: serde_json::Value =
        serde_json::from_str(&run_ok(dataconnect(dir.path(), &sandbox, &db).args(args))).unwrap();
    assert!(costs["months"][0]["periods"]["HC"]["kwh"].as_f64().unwrap() > 0.0, "{costs}");
    assert_eq!(contract_calls(), before + 3, "the contract, read once (three APIs in 2026)");
    run_ok(dataconnect(dir.path(), &sandbox, &db).args(args));
    assert_eq!(contract_calls(), before + 3, "and then taken from the store");
}
