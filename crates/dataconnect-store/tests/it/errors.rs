//! Files that are not databases, read-only files, and read-only opening.

use dataconnect_store::{OpenMode, ReadingFilter, SqliteConfig, SqliteStore, Store, StoreErrorKind, WindowWrite};

use crate::{CURVE, curve, d, prm, range};

#[test]
fn a_file_that_is_not_a_database_is_named_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let junk = b"this is not an sqlite database, but it is long enough to look like a header....".repeat(20);
    std::fs::write(&path, &junk).unwrap();
    let e = SqliteStore::open(&SqliteConfig::new(&path)).unwrap_err();
    assert_eq!(e.kind(), StoreErrorKind::Corrupt, "{e}");
    assert!(e.to_string().contains("store.db"), "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), junk);
}

#[test]
fn a_read_only_file_can_be_read_but_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let p = prm();
    let w = range(d(2025, 1, 1), d(2025, 1, 2));
    {
        let store = SqliteStore::open(&SqliteConfig::new(&path)).unwrap();
        store.upsert_window(&WindowWrite { prm: &p, series: CURVE, window: w, readings: &curve(w) }).unwrap();
    }
    // Leave no WAL behind so that the read-only opening needs no writes.
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&path, perms).unwrap();
    let before = std::fs::read(&path).unwrap();
    let e = SqliteStore::open(&SqliteConfig::new(&path)).unwrap_err();
    assert_eq!(e.kind(), StoreErrorKind::ReadOnly, "{e}");
    assert!(e.to_string().contains("read-only"), "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let ro = SqliteStore::open(&SqliteConfig { mode: OpenMode::ReadOnly, ..SqliteConfig::new(&path) }).unwrap();
    assert_eq!(ro.for_each_reading(&ReadingFilter::default(), &mut |_| Ok(())).unwrap(), 48);
    let e = ro.upsert_window(&WindowWrite { prm: &p, series: CURVE, window: w, readings: &[] }).unwrap_err();
    assert_eq!(e.kind(), StoreErrorKind::ReadOnly, "{e}");
}

#[test]
fn read_only_opening_of_a_missing_file_says_to_sync_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.db");
    let e = SqliteStore::open(&SqliteConfig { mode: OpenMode::ReadOnly, ..SqliteConfig::new(&path) }).unwrap_err();
    assert_eq!(e.kind(), StoreErrorKind::CannotOpen);
    assert!(e.to_string().contains("dataconnect sync"), "{e}");
    assert!(!path.exists());
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    bump_schema_version(&path);
    let e = SqliteStore::open(&SqliteConfig::new(&path)).unwrap_err();
    assert_eq!(e.kind(), StoreErrorKind::NewerSchema, "{e}");
}

/// Creates a store, then writes a far-future schema version by hand at its
/// documented offset in the SQLite header (60, big-endian), as a newer
/// dataconnect would have left it.
fn bump_schema_version(path: &std::path::Path) {
    drop(SqliteStore::open(&SqliteConfig::new(path)).unwrap());
    let mut bytes = std::fs::read(path).unwrap();
    // Checkpointed on close, so the header is in the main file.
    bytes[60..64].copy_from_slice(&99u32.to_be_bytes());
    std::fs::write(path, bytes).unwrap();
}
