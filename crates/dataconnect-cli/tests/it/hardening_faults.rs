//! Faults the CLI must survive with nothing lost or duplicated (short
//! versions that fit in CI; `scripts/chaos-soak.sh` and
//! `scripts/crash-soak.sh` are the long ones, figures in RELIABILITY.md):
//!
//! - chaos: 20 meters synced over a few weeks from a sandbox that fails
//!   30 % of data and token calls (500, 503, delays, cut bodies); reruns
//!   until complete; the store is identical, row for row, to a fault-free
//!   run;
//! - crash: the sync killed with SIGKILL at seeded moments drawn inside a
//!   clean sync's duration, and rerun; the store is identical to a clean
//!   run;
//! - two syncs on one database at once, a read-only database, a deleted
//!   token file and a clock set back: each a clear error or a correct
//!   result, and nothing stored lost.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::{Sandbox, consent_redirect, dataconnect, run_ok, sandbox};

/// Sandbox clients whose meters the soaks sync (v5 grants all of a
/// client's meters in one consent): 8 meters, consumption and production,
/// steady and gappy, curve collected or not.
const CLIENTS: [&str; 5] = ["0", "1", "3", "4", "7"];
/// The sandbox's own test meters (PT10M curve, a step changing inside each
/// day, null values), recorded with `consent import`.
const OWN: [&str; 3] = ["90000000000010", "90000000000011", "90000000000012"];
/// Synthetic `--fleet` meters recorded with `consent import`, to reach 20
/// meters in all.
const FLEET: u32 = 9;
const SINCE: &str = "2026-10-31";

/// A sandbox serving [`FLEET`] fleet meters, adjusted by `tweak`.
fn soak_sandbox(dir: &Path, tweak: impl FnOnce(&mut dataconnect_sandbox::SandboxConfig)) -> Sandbox {
    sandbox(dir, |c| {
        c.fleet = FLEET;
        tweak(c);
    })
}

/// Every reading of the store, in key order, as text rows.
pub(crate) fn readings(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut stmt = conn
        .prepare("SELECT usage_point_id, series, start, \"end\", value, unit, peak_at FROM reading ORDER BY usage_point_id, series, start")
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok(format!(
                "{}|{}|{}|{}|{:?}|{}|{:?}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<f64>>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Option<i64>>(6)?
            ))
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

/// A v5 command on `db` with the client's quota set by `config`.
fn cmd(dir: &Path, sb: &Sandbox, db: &Path) -> Command {
    let mut c = dataconnect(dir, sb, db);
    c.env("DATACONNECT_GENERATION", "v5");
    c
}

/// Records the consents of [`CLIENTS`] in `db` through the journey, and
/// those of [`OWN`] and the fleet with `consent import`: 20 meters.
fn consents(dir: &Path, sb: &Sandbox, db: &Path) {
    for client in CLIENTS {
        let out = run_ok(cmd(dir, sb, db).args(["consent", "--sandbox-client", client]));
        let redirect = consent_redirect(out.lines().next().unwrap());
        run_ok(cmd(dir, sb, db).args(["consent", "complete", "--url", &redirect]));
    }
    let list: String = OWN
        .iter()
        .map(|p| format!("{p}\n"))
        .chain((1..=FLEET).map(|n| format!("{}\n", dataconnect_sandbox::fleet_prm(n))))
        .collect();
    let file = db.with_extension("consents.csv");
    std::fs::write(&file, list).unwrap();
    let out = run_ok(cmd(dir, sb, db).args(["consent", "import", file.to_str().unwrap()]));
    assert!(out.contains(&format!("recorded {} consents", OWN.len() + FLEET as usize)), "{out}");
}

/// How many meters hold readings in `rows` (as [`readings`] prints them).
fn meters_in(rows: &[String]) -> usize {
    rows.iter().filter_map(|r| r.split('|').next()).collect::<std::collections::BTreeSet<_>>().len()
}

/// Runs `sync` until it completes (exit 0); returns how many runs it took.
/// Exit 10 (some windows failed after retries) asks for a rerun.
fn sync_until_complete(dir: &Path, sb: &Sandbox, db: &Path, max_runs: usize) -> usize {
    for run in 1..=max_runs {
        let out = cmd(dir, sb, db).args(["sync", "--since", SINCE]).output().unwrap();
        match out.status.code() {
            Some(0) => return run,
            Some(10) | Some(7) => continue,
            other => panic!("sync exit {other:?}: {}", String::from_utf8_lossy(&out.stderr)),
        }
    }
    panic!("sync did not complete in {max_runs} runs");
}

/// The store of a clean, fault-free run.
fn clean_store(dir: &Path) -> Vec<String> {
    let sb = soak_sandbox(dir, |_| {});
    let db = dir.join("clean.db");
    consents(dir, &sb, &db);
    assert_eq!(sync_until_complete(dir, &sb, &db, 1), 1);
    let rows = readings(&db);
    assert!(rows.len() > 1000, "the clean run stored only {} readings", rows.len());
    // Every consented meter holds readings: the imported ones too.
    assert_eq!(meters_in(&rows), 20, "meters with readings in the clean run");
    rows
}

fn faults_in_log(log: &Path) -> usize {
    std::fs::read_to_string(log).unwrap_or_default().lines().filter(|l| l.contains("\"fault\":\"")).count()
}

#[test]
fn chaos_a_faulty_api_ends_in_the_same_store_as_a_healthy_one() {
    let dir = tempfile::tempdir().unwrap();
    let clean = clean_store(dir.path());
    let chaos_dir = dir.path().join("chaos");
    std::fs::create_dir_all(&chaos_dir).unwrap();
    let sb = soak_sandbox(&chaos_dir, |c| {
        c.fault_rate = 0.3;
        c.seed = 20261128;
        c.fault_delay = Duration::from_millis(300);
    });
    let db = chaos_dir.join("chaos.db");
    consents(&chaos_dir, &sb, &db);
    let runs = sync_until_complete(&chaos_dir, &sb, &db, 12);
    let faults = faults_in_log(&sb.log);
    assert!(faults > 0, "no fault was injected");
    let chaos = readings(&db);
    assert_eq!(
        chaos.len(),
        clean.len(),
        "chaos store has {} rows, clean {} ({faults} faults, {runs} runs)",
        chaos.len(),
        clean.len()
    );
    assert!(chaos == clean, "chaos store differs from the clean one ({faults} faults, {runs} runs)");
    eprintln!(
        "chaos: {} readings of {} meters identical after {faults} injected faults and {runs} sync runs",
        chaos.len(),
        meters_in(&chaos)
    );
}

#[test]
fn crash_kills_at_random_moments_end_in_the_same_store_as_a_clean_run() {
    let dir = tempfile::tempdir().unwrap();
    let clean = clean_store(dir.path());
    let crash_dir = dir.path().join("crash");
    std::fs::create_dir_all(&crash_dir).unwrap();
    let sb = soak_sandbox(&crash_dir, |_| {});
    // A slow client quota stretches the sync over a few seconds. A clean
    // sync at that quota is timed first; the kill moments are drawn from a
    // fixed seed, uniformly inside that duration, and sorted: run k is
    // killed after the gap between moments k-1 and k, so the runs together
    // last no longer than one clean sync, and each kill finds a sync with
    // work left (resuming costs a token and the lost windows again).
    std::fs::write(crash_dir.join("config.toml"), "quota_per_second = 25\nquota_per_hour = 100000\n").unwrap();
    let timed_db = crash_dir.join("timed.db");
    consents(&crash_dir, &sb, &timed_db);
    let started = std::time::Instant::now();
    assert_eq!(sync_until_complete(&crash_dir, &sb, &timed_db, 1), 1);
    let clean_ms = started.elapsed().as_millis().max(1) as u64;
    assert!(readings(&timed_db) == clean, "the timed clean run differs from the fast one");

    let db = crash_dir.join("crash.db");
    consents(&crash_dir, &sb, &db);
    const KILLS: usize = 4;
    let mut seed: u64 = 0x5eed_c4a5;
    let mut moments: Vec<u64> = (0..KILLS)
        .map(|_| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) % clean_ms
        })
        .collect();
    moments.sort_unstable();
    let mut landed = 0;
    let mut previous = 0;
    for at in moments {
        let gap = Duration::from_millis(at - previous);
        previous = at;
        let mut child = cmd(&crash_dir, &sb, &db)
            .args(["sync", "--since", SINCE])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(gap);
        if child.try_wait().unwrap().is_none() {
            // `Child::kill` is SIGKILL on Unix: no destructor, no rollback.
            child.kill().unwrap();
            landed += 1;
        }
        child.wait().unwrap();
    }
    assert!(landed > 0, "every sync finished before its kill");
    assert_eq!(sync_until_complete(&crash_dir, &sb, &db, 3), 1);
    let after = readings(&db);
    assert!(after == clean, "after {landed} kills the store has {} rows, a clean run {}", after.len(), clean.len());
    eprintln!("crash: {landed} of {KILLS} kills landed inside a sync (clean sync {clean_ms} ms); store identical");
}

#[test]
fn two_syncs_at_once_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let clean = clean_store(dir.path());
    let both = dir.path().join("both");
    std::fs::create_dir_all(&both).unwrap();
    let sb = soak_sandbox(&both, |_| {});
    let db = both.join("both.db");
    consents(&both, &sb, &db);
    let before = crate::data_requests(&sb.log).len();
    let a = cmd(&both, &sb, &db)
        .args(["sync", "--since", SINCE])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let b = cmd(&both, &sb, &db)
        .args(["sync", "--since", SINCE])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    for out in [&a, &b] {
        // Each either completes, or stops with one clear line.
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }
    assert!(a.status.success() || b.status.success(), "neither sync completed");
    // No window is fetched twice: the second sync waits its turn (the
    // sync lock) or, started after the first ended, only refreshes the
    // revision window. Before the lock, every call was made twice.
    let calls = crate::data_requests(&sb.log).len() - before;
    let single = crate::data_requests(&dir.path().join("requests.jsonl")).len();
    assert!(calls * 2 < single * 3, "two concurrent syncs made {calls} data calls, one makes {single}");
    sync_until_complete(&both, &sb, &db, 2);
    assert!(readings(&db) == clean, "two concurrent syncs left a different store");
}

#[test]
fn read_only_database_deleted_token_file_and_clock_set_back_are_clear_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox(dir.path(), |_| {});
    // Generation 1, so that there is a token file to delete.
    let db = dir.path().join("ro.db");
    let legacy = |args: &[&str]| {
        let mut c = dataconnect(dir.path(), &sb, &db);
        c.env("DATACONNECT_GENERATION", "legacy").args(args);
        c
    };
    let out = run_ok(&mut legacy(&["consent", "--sandbox-client", "3"]));
    let redirect = consent_redirect(out.lines().next().unwrap());
    run_ok(&mut legacy(&["consent", "complete", "--url", &redirect]));
    run_ok(&mut legacy(&["sync", "--since", SINCE, "--series", "consumption-daily"]));
    let stored = readings(&db);
    assert!(!stored.is_empty());

    // A read-only database file: sync fails with the store's exit code and
    // one line; export still reads.
    let mut perms = std::fs::metadata(&db).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o444);
    std::fs::set_permissions(&db, perms.clone()).unwrap();
    let out = legacy(&["sync", "--since", SINCE, "--series", "consumption-daily"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // Root ignores file modes; the check only means something for others.
    let root = std::env::var("USER").is_ok_and(|u| u == "root") || is_root();
    if !root {
        assert_eq!(out.status.code(), Some(8), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o644);
    std::fs::set_permissions(&db, perms).unwrap();
    assert_eq!(readings(&db), stored);

    // A deleted token file: the refresh token is gone, so the meter needs
    // consent again; a clear error, and the readings stay.
    std::fs::remove_file(db.with_file_name("ro.db.tokens.json")).unwrap();
    let out = legacy(&["sync", "--since", SINCE, "--series", "consumption-daily"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a sync without its token file succeeded: {err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("consent"), "{err}");
    assert_eq!(readings(&db), stored);

    // A clock set back before the last sync: a clear refusal or a no-op,
    // never a deletion.
    let out = legacy(&["sync", "--today", "2026-11-01", "--since", "2026-10-01", "--series", "consumption-daily"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.lines().count() <= 1, "{err}");
    let after = readings(&db);
    assert!(stored.iter().all(|r| after.contains(r)), "readings were lost after a sync with the clock set back");
}

/// Whether the tests run as root (file modes do not stop root).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .is_some_and(|l| l.split_whitespace().nth(1) == Some("0"))
}
