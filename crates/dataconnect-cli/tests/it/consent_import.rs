//! `consent import FILE`: consents obtained elsewhere recorded from a file
//! or standard input, every line checked before anything is written, and
//! synced like consents given through the journey (here, the sandbox's
//! `--fleet`, whose customers consented before it started).

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::{Sandbox, data_requests, dataconnect, run_ok, sandbox};

/// The PRMs of fleet meters `1..=n`, one a line, as `seq -f '2500000000%04g' 1 n` prints them.
fn fleet_lines(n: u32) -> String {
    (1..=n).map(|i| format!("2500000000{i:04}\n")).collect()
}

/// Runs `cmd` with `input` on standard input; returns the output.
///
/// A command that stops at a bad line may exit before it has read the rest of
/// its input: the broken pipe that leaves the writer is that exit, not a fault.
fn with_stdin(cmd: &mut Command, input: &str) -> std::process::Output {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    match child.stdin.take().unwrap().write_all(input.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.unwrap(),
    }
    child.wait_with_output().unwrap()
}

/// The consents table: (PRM, generation, start, expiry), by PRM.
fn consents(db: &Path) -> Vec<(String, String, String, String)> {
    if !db.exists() {
        return Vec::new();
    }
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut stmt = conn
        .prepare("SELECT usage_point_id, generation, start_day, expiry_day FROM consent ORDER BY usage_point_id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap().map(Result::unwrap).collect()
}

/// The meters with stored readings of `series`.
fn meters_with(db: &Path, series: &str) -> BTreeSet<String> {
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut stmt = conn.prepare("SELECT DISTINCT usage_point_id FROM reading WHERE series = ?1").unwrap();
    stmt.query_map([series], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

fn import(dir: &Path, sb: &Sandbox, db: &Path, generation: &str, input: &str) -> std::process::Output {
    with_stdin(
        dataconnect(dir, sb, db).env("DATACONNECT_GENERATION", generation).args(["consent", "import", "-"]),
        input,
    )
}

#[test]
fn twenty_imported_fleet_consents_are_all_synced_in_2026_and_v5() {
    for generation in ["2026", "v5"] {
        let dir = tempfile::tempdir().unwrap();
        let sb = sandbox(dir.path(), |c| c.fleet = 20);
        let db = dir.path().join("fleet.db");
        let out = import(dir.path(), &sb, &db, generation, &fleet_lines(20));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("recorded 20 consents"), "{stdout}");
        let recorded = consents(&db);
        assert_eq!(recorded.len(), 20);
        for (i, (prm, generation_stored, start, expiry)) in recorded.iter().enumerate() {
            assert_eq!(prm, &format!("{}", 25_000_000_000_001u64 + i as u64));
            assert_eq!(start, crate::TODAY, "{generation}");
            assert_eq!(expiry, "2029-11-28", "default: three years after today");
            assert!(!generation_stored.is_empty());
        }
        run_ok(dataconnect(dir.path(), &sb, &db).env("DATACONNECT_GENERATION", generation).args([
            "sync",
            "--series",
            "consumption-daily",
        ]));
        let synced = meters_with(&db, "consumption-daily");
        let wanted: BTreeSet<String> = recorded.iter().map(|c| c.0.clone()).collect();
        assert_eq!(synced, wanted, "{generation}: every imported meter is synced");
        // Every fleet meter was asked for, and for nothing else.
        let asked: BTreeSet<String> = data_requests(&sb.log)
            .iter()
            .filter_map(|r| {
                let text = format!("{} {}", r["path"].as_str().unwrap_or(""), r["query"].as_str().unwrap_or(""));
                text.split(|c: char| !c.is_ascii_digit()).find(|t| t.len() == 14).map(str::to_owned)
            })
            .collect();
        assert_eq!(asked, wanted, "{generation}");
        // A second import of the same file changes nothing.
        let again = import(dir.path(), &sb, &db, generation, &fleet_lines(20));
        assert!(again.status.success());
        assert_eq!(consents(&db), recorded);
    }
}

#[test]
fn a_file_with_header_separators_comments_and_expiries() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox(dir.path(), |c| c.fleet = 3);
    let db = dir.path().join("crm.db");
    let file = dir.path().join("crm-export.csv");
    std::fs::write(
        &file,
        "\u{feff}usage_point_id;date_fin\r\n# exported from the CRM\r\n25000000000001;2027-06-30\r\n\r\n\"25000000000002\",\r\n 25000000000003 , 2029-11-28 \r\n",
    )
    .unwrap();
    let out = run_ok(dataconnect(dir.path(), &sb, &db).args(["consent", "import", file.to_str().unwrap()]));
    assert!(out.contains("recorded 3 consents") && out.contains("2027-06-30") && out.contains("2029-11-28"), "{out}");
    let expiries: Vec<(String, String)> = consents(&db).into_iter().map(|c| (c.0, c.3)).collect();
    assert_eq!(
        expiries,
        [
            ("25000000000001".to_owned(), "2027-06-30".to_owned()),
            ("25000000000002".to_owned(), "2029-11-28".to_owned()),
            ("25000000000003".to_owned(), "2029-11-28".to_owned()),
        ]
    );
    // `status` reads them like any other consent.
    let status = run_ok(dataconnect(dir.path(), &sb, &db).arg("status"));
    assert!(status.contains("25000000000001") && status.contains("2027-06-30"), "{status}");
}

#[test]
fn any_bad_line_stops_the_import_with_its_number_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sb = sandbox(dir.path(), |c| c.fleet = 5);
    let db = dir.path().join("bad.db");
    // One good import first: a bad one must leave it exactly as it was.
    assert!(import(dir.path(), &sb, &db, "2026", "25000000000005\n").status.success());
    let before = consents(&db);
    let cases: &[(&str, &str, &str)] = &[
        ("25000000000001\n2500000000002\n", "line 2", "14 digits"),
        ("prm,expiry\n25000000000001\n2500000000000x\n", "line 3", "not a digit"),
        ("25000000000001,2027-02-30\n", "line 1", "YYYY-MM-DD"),
        ("25000000000001,28/11/2027\n", "line 1", "YYYY-MM-DD"),
        ("25000000000001,2026-11-28\n", "line 1", "not after the start"),
        ("25000000000001,2029-11-29\n", "line 1", "more than 3 years"),
        ("25000000000001\n25000000000002\n25000000000001,2027-01-01\n", "line 3", "already on line 1"),
        ("25000000000001,2027-01-01,extra\n", "line 1", "3 fields"),
        ("25000000000001\nabc\n", "line 2", "not a digit"),
        ("prm,expiry\n\n# nothing\n", "", "no PRM"),
    ];
    for (input, line, problem) in cases {
        let out = import(dir.path(), &sb, &db, "2026", input);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{input:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{input:?}: {err}");
        assert!(err.contains(line) && err.contains(problem), "{input:?}: {err}");
        assert!(err.contains("nothing was imported") || line.is_empty(), "{err}");
        assert_eq!(consents(&db), before, "{input:?} wrote something");
    }
    // Several bad lines: the first is named, the others counted.
    let out = import(dir.path(), &sb, &db, "2026", "1\n25000000000001\n2\n3\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 1") && err.contains("and 2 more bad lines"), "{err}");
    // A missing file and generation 1 are refused too, before writing.
    let out = dataconnect(dir.path(), &sb, &db).args(["consent", "import", "no-such-file.csv"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-file.csv"));
    let out = import(dir.path(), &sb, &db, "legacy", "25000000000001\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("--generation v5 or 2026"), "{err}");
    assert_eq!(consents(&db), before);
}
