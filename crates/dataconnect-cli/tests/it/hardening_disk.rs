//! A full disk during `sync`, on a real full file system: a small tmpfs
//! mounted in a private mount namespace (`unshare -m` as root, `unshare -r
//! -m`, a user namespace, otherwise), so nothing outside the test sees it.
//! SQLite gets ENOSPC from the kernel, as on a real full disk, and the sync
//! must stop with one clear line and the store's exit code, keep every
//! reading stored before, leave a valid database, and finish the job once
//! there is room again.
//!
//! The test needs a way to mount: root (`.ci/run` runs as root) or
//! unprivileged user namespaces. Where it has neither, it fails and says
//! so, rather than passing without having run; set
//! `DATACONNECT_TEST_NO_MOUNT=1` to skip it knowingly.

#![cfg(target_os = "linux")]

use std::path::Path;
use std::process::Command;

use crate::hardening_faults::readings;
use crate::{Sandbox, dataconnect, run_ok, sandbox};

/// The meters of the test: two fleet meters (their consents imported).
const FLEET: u32 = 2;

/// Records the fleet's consents in `db`.
fn import(dir: &Path, sb: &Sandbox, db: &Path) {
    let file = dir.join("fleet.csv");
    let list: String = (1..=FLEET).map(|n| format!("{}\n", dataconnect_sandbox::fleet_prm(n))).collect();
    std::fs::write(&file, list).unwrap();
    run_ok(dataconnect(dir, sb, db).args(["consent", "import", file.to_str().unwrap()]));
}

const SMALL: [&str; 4] = ["sync", "--series", "consumption-daily", "--since"];
const SMALL_SINCE: &str = "2026-11-01";
/// Two years of load curves for two meters: several MB, far more than the
/// room left on the tmpfs.
const BIG: [&str; 3] = ["sync", "--series", "consumption-curve,consumption-daily"];

/// The `unshare` arguments that give this process a private mount
/// namespace where it may mount, or why there is none.
fn namespace() -> Result<Vec<&'static str>, String> {
    let mut tried = Vec::new();
    for args in [vec!["-m"], vec!["-r", "-m"]] {
        let out =
            Command::new("unshare").args(&args).args(["sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"]).output();
        match out {
            Ok(o) if o.status.success() => return Ok(args),
            Ok(o) => tried.push(format!("unshare {}: {}", args.join(" "), String::from_utf8_lossy(&o.stderr).trim())),
            Err(e) => tried.push(format!("unshare {}: {e}", args.join(" "))),
        }
    }
    Err(tried.join("; "))
}

#[test]
fn full_disk_during_sync_is_one_clear_error_and_loses_nothing() {
    let ns = match namespace() {
        Ok(ns) => ns,
        Err(why) if std::env::var_os("DATACONNECT_TEST_NO_MOUNT").is_some() => {
            eprintln!("full disk test skipped (DATACONNECT_TEST_NO_MOUNT): {why}");
            return;
        }
        Err(why) => panic!(
            "the full-disk test cannot mount a tmpfs: it needs root or unprivileged user namespaces ({why}); \
             run it as root (as .ci/run does) or set DATACONNECT_TEST_NO_MOUNT=1 to skip it knowingly"
        ),
    };
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox(dir.path(), |c| c.fleet = FLEET);

    // A clean run on a roomy disk: what the store must end up holding.
    let clean_db = dir.path().join("clean.db");
    import(dir.path(), &sb, &clean_db);
    run_ok(dataconnect(dir.path(), &sb, &clean_db).args(SMALL).arg(SMALL_SINCE));
    run_ok(dataconnect(dir.path(), &sb, &clean_db).args(BIG));
    let clean = readings(&clean_db);

    // A store holding a month of daily readings, copied onto a tmpfs with
    // 256 KiB to spare, where the big sync runs out of room.
    let seed_db = dir.path().join("seed.db");
    import(dir.path(), &sb, &seed_db);
    run_ok(dataconnect(dir.path(), &sb, &seed_db).args(SMALL).arg(SMALL_SINCE));
    let before = readings(&seed_db);
    assert!(!before.is_empty());
    // Fold the WAL into the database file, so that one file is the store.
    {
        let conn = rusqlite::Connection::open(&seed_db).unwrap();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
    }
    let size_kib = std::fs::metadata(&seed_db).unwrap().len() / 1024 + 256;

    let mnt = dir.path().join("mnt");
    let out_dir = dir.path().join("out");
    std::fs::create_dir_all(&mnt).unwrap();
    std::fs::create_dir_all(&out_dir).unwrap();
    // The sync's own settings, from the usual test command, on the tmpfs
    // database.
    let template = dataconnect(dir.path(), &sb, &mnt.join("d.db"));
    let script = r#"set -e
mnt="$1"; size="$2"; seed="$3"; out="$4"; shift 4
mount -t tmpfs -o "size=${size}k" tmpfs "$mnt"
cp "$seed" "$mnt/d.db"
set +e
"$@" 2>"$out/stderr"
echo $? >"$out/code"
df -k "$mnt" >"$out/df"
cp -a "$mnt/." "$out/""#;
    let mut cmd = Command::new("unshare");
    cmd.args(&ns).args(["sh", "-c", script, "sh"]);
    cmd.arg(&mnt).arg(size_kib.to_string()).arg(&seed_db).arg(&out_dir);
    cmd.arg(env!("CARGO_BIN_EXE_dataconnect")).args(BIG);
    cmd.env_clear();
    for (k, v) in template.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default());
    cmd.current_dir(dir.path());
    let status = cmd.status().unwrap();
    assert!(status.success(), "the tmpfs script failed");

    let code = std::fs::read_to_string(out_dir.join("code")).unwrap();
    let err = std::fs::read_to_string(out_dir.join("stderr")).unwrap();
    let df = std::fs::read_to_string(out_dir.join("df")).unwrap_or_default();
    assert_eq!(code.trim(), "8", "exit code of a full disk (store class): {err}\n{df}");
    assert_eq!(err.lines().count(), 1, "not one line: {err}");
    assert!(err.contains("is full") && err.contains("free some space"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    // The database left on the full disk: valid, and everything stored
    // before is still there.
    let after_db = out_dir.join("d.db");
    {
        let conn = rusqlite::Connection::open(&after_db).unwrap();
        let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok");
    }
    let after = readings(&after_db);
    let kept: std::collections::HashSet<&String> = after.iter().collect();
    assert!(before.iter().all(|r| kept.contains(r)), "readings stored before the full disk were lost");
    assert!(after.len() < clean.len(), "the big sync fitted on the tmpfs: the test did not fill the disk");

    // Room again (the same files on the roomy disk): the sync finishes and
    // the store is what a clean run stores.
    run_ok(dataconnect(dir.path(), &sb, &after_db).args(BIG));
    let recovered = readings(&after_db);
    assert!(
        recovered == clean,
        "after the full disk the store has {} rows, a clean run {}",
        recovered.len(),
        clean.len()
    );
    eprintln!(
        "full disk: {} readings before, {} on the full {size_kib} KiB tmpfs, {} after room came back (= clean run): {}",
        before.len(),
        after.len(),
        recovered.len(),
        err.trim()
    );
}
