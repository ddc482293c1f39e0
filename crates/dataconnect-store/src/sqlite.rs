//! The SQLite backend of [`Store`]: one file, WAL, numbered migrations.
//!
//! The connection sits behind a mutex, so the store is `Send + Sync` and
//! writes are serialised in-process; across processes SQLite's own locking
//! and a busy timeout do the same. WAL lets an `export` read while a `sync`
//! writes. `synchronous = NORMAL` is the documented safe setting for WAL: a
//! power cut may lose the last transactions but never corrupts the file, and
//! a lost window is simply fetched again because its coverage went with it.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use dataconnect::{Consent, ConsentDuration, DateRange, Generation, IndexReading, Reading, Series, Unit, UsagePointId};
use jiff::Timestamp;
use jiff::civil::Date;
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params, params_from_iter};

use crate::{
    ConsentRecord, ImportWrite, IndexWindowWrite, MeterInfo, PendingConsent, ReadingFilter, Result, SeriesState,
    SeriesSummary, Store, StoreError, StoreErrorKind, StoredIndexReading, StoredReading, SyncRun, SyncRunId,
    SyncRunOutcome, TariffRow, TempoDay, WindowWrite,
};

/// The migrations, in order; migration `i` (0-based) brings `user_version`
/// from `i` to `i + 1`. Files are never edited once released: a change is a
/// new file.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_initial.sql"),
    include_str!("../migrations/0002_costs.sql"),
    include_str!("../migrations/0003_index_reading.sql"),
];

/// How a database is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OpenMode {
    /// Create the file if needed, apply migrations, allow writes.
    #[default]
    ReadWrite,
    /// Open an existing, migrated file for reading only (exports, status);
    /// works on a read-only file.
    ReadOnly,
}

/// Where and how to open an SQLite store.
#[derive(Clone, Debug)]
pub struct SqliteConfig {
    /// The database file.
    pub path: PathBuf,
    /// Read-write (default) or read-only.
    pub mode: OpenMode,
    /// How long to wait for another process's lock before giving up.
    pub busy_timeout: Duration,
}

impl SqliteConfig {
    /// A read-write store at `path` with a 5 s busy timeout.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SqliteConfig { path: path.into(), mode: OpenMode::ReadWrite, busy_timeout: Duration::from_secs(5) }
    }
}

/// The SQLite implementation of [`Store`].
pub struct SqliteStore {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish_non_exhaustive()
    }
}

const INSERT_READING: &str = "INSERT INTO reading (usage_point_id, series, start, \"end\", value, unit, peak_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
     ON CONFLICT (usage_point_id, series, start) DO UPDATE SET
       \"end\" = excluded.\"end\", value = excluded.value, unit = excluded.unit, peak_at = excluded.peak_at";

/// Rows per multi-row insert statement (3 + 4 × 64 parameters, far below
/// SQLite's limit of 32766).
const CHUNK: usize = 64;

/// `INSERT … VALUES (?1, ?2, ?4, ?5, ?6, ?3, ?7), (?1, ?2, ?8, …, ?3, ?11) …`
/// for [`CHUNK`] rows: meter, series and unit are shared.
fn insert_many_sql() -> String {
    let mut sql =
        String::from("INSERT INTO reading (usage_point_id, series, start, \"end\", value, unit, peak_at) VALUES ");
    for i in 0..CHUNK {
        let b = 4 + 4 * i;
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("(?1, ?2, ?{b}, ?{}, ?{}, ?3, ?{})", b + 1, b + 2, b + 3));
    }
    // A window never holds two readings with the same start (the client
    // dedups), but if it did, the later one wins, as with single inserts.
    sql.push_str(
        " ON CONFLICT (usage_point_id, series, start) DO UPDATE SET
           \"end\" = excluded.\"end\", value = excluded.value, unit = excluded.unit, peak_at = excluded.peak_at",
    );
    sql
}

impl SqliteStore {
    /// Opens (and for [`OpenMode::ReadWrite`], creates and migrates) the store.
    pub fn open(config: &SqliteConfig) -> Result<Self> {
        let path = config.path.clone();
        let err = |e| StoreError::sqlite(&path, e);
        if config.mode == OpenMode::ReadOnly && !path.exists() {
            return Err(StoreError::new(
                StoreErrorKind::CannotOpen,
                format!("no database at {}: run `dataconnect sync` first, or pass --db PATH", path.display()),
            ));
        }
        if path.is_dir() {
            return Err(StoreError::new(
                StoreErrorKind::CannotOpen,
                format!("{} is a directory, not a database file: pass --db with a file path", path.display()),
            ));
        }
        // A file whose mode forbids writing is read-only even for a user
        // (such as root) whom the operating system would let write anyway:
        // the mode says what its owner wants.
        if config.mode == OpenMode::ReadWrite
            && std::fs::metadata(&path).map(|m| m.permissions().readonly()).unwrap_or(false)
        {
            return Err(StoreError::sqlite(&path, read_only_error()));
        }
        if config.mode == OpenMode::ReadWrite {
            create_private(&path).map_err(|e| {
                StoreError::new(
                    StoreErrorKind::CannotOpen,
                    format!(
                        "cannot create database {}: {e}: check that its folder exists and is writable",
                        path.display()
                    ),
                )
                .with_source(e)
            })?;
        }
        let flags = match config.mode {
            OpenMode::ReadWrite => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
            OpenMode::ReadOnly => OpenFlags::SQLITE_OPEN_READ_ONLY,
        } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags).map_err(err)?;
        conn.busy_timeout(config.busy_timeout).map_err(err)?;
        // Reading the schema version is the first statement that touches the
        // file, so a file that is not a database fails here, before anything
        // is written to it.
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(err)?;
        let latest = MIGRATIONS.len() as i64;
        if version > latest {
            return Err(StoreError::new(
                StoreErrorKind::NewerSchema,
                format!(
                    "database {} was written by a newer dataconnect (schema {version}, this one knows {latest}): upgrade dataconnect",
                    path.display()
                ),
            ));
        }
        match config.mode {
            OpenMode::ReadOnly => {
                if version < latest {
                    return Err(StoreError::new(
                        StoreErrorKind::NewerSchema,
                        format!(
                            "database {} has schema {version}, older than this dataconnect's {latest}: run `dataconnect sync` once to upgrade it",
                            path.display()
                        ),
                    ));
                }
            }
            OpenMode::ReadWrite => {
                // SQLite silently falls back to read-only when the file is not
                // writable; say so now rather than at the first write.
                if conn.is_readonly("main").map_err(err)? {
                    return Err(StoreError::sqlite(&path, read_only_error()));
                }
                // 8 KiB pages for a new file (a no-op on an existing one): a
                // reading row is small and rows arrive in key order, so
                // bigger pages mean fewer splits and WAL frames per point.
                if version == 0 {
                    conn.pragma_update(None, "page_size", 8192).map_err(err)?;
                }
                let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(err)?;
                if !mode.eq_ignore_ascii_case("wal") {
                    return Err(StoreError::new(
                        StoreErrorKind::Other,
                        format!(
                            "database {} cannot use WAL (journal mode {mode}): use a local file system",
                            path.display()
                        ),
                    ));
                }
                conn.pragma_update(None, "synchronous", "NORMAL").map_err(err)?;
                // A 64 MiB page cache (the default is 2 MiB) keeps the upper
                // levels of the reading B-tree in memory during large backfills.
                conn.pragma_update(None, "cache_size", -65536).map_err(err)?;
            }
        }
        let mut store = SqliteStore { path, conn: Mutex::new(conn) };
        if config.mode == OpenMode::ReadWrite {
            store.migrate(version)?;
        }
        Ok(store)
    }

    /// The path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version the file is at.
    pub fn schema_version(&self) -> Result<i64> {
        self.lock().query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| self.err(e))
    }

    fn migrate(&mut self, from: i64) -> Result<()> {
        let path = self.path.clone();
        let conn = self.conn.get_mut().unwrap_or_else(|p| p.into_inner());
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(from.max(0) as usize) {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(|e| StoreError::sqlite(&path, e))?;
            // Another process may have migrated between our version read and
            // this lock; re-read under the lock.
            let now: i64 =
                tx.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| StoreError::sqlite(&path, e))?;
            if now > i as i64 {
                continue;
            }
            tx.execute_batch(sql).map_err(|e| StoreError::sqlite(&path, e))?;
            tx.pragma_update(None, "user_version", (i + 1) as i64).map_err(|e| StoreError::sqlite(&path, e))?;
            tx.commit().map_err(|e| StoreError::sqlite(&path, e))?;
        }
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent
        // (an open transaction is rolled back when dropped), so a poisoned
        // lock is safe to take over.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        StoreError::sqlite(&self.path, e)
    }

    fn write_tx<T>(&self, f: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>) -> Result<T> {
        let mut conn = self.lock();
        // IMMEDIATE takes the write lock up front, so two writers never
        // deadlock upgrading a read lock (SQLITE_BUSY without waiting).
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(|e| self.err(e))?;
        let out = f(&tx).map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(out)
    }

    fn ts(&self, s: i64) -> Result<Timestamp> {
        Timestamp::from_second(s).map_err(|e| StoreError::bad_data(&self.path, e))
    }

    fn day(&self, s: &str) -> Result<Date> {
        s.parse::<Date>().map_err(|e| StoreError::bad_data(&self.path, e))
    }

    fn prm(&self, s: &str) -> Result<UsagePointId> {
        UsagePointId::new(s).map_err(|e| StoreError::bad_data(&self.path, e))
    }

    fn series(&self, s: &str) -> Result<Series> {
        s.parse::<Series>().map_err(|e| StoreError::bad_data(&self.path, e))
    }
}

fn read_only_error() -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_READONLY),
        Some("attempt to write a readonly database".into()),
    )
}

/// Adds `window` to the merged coverage ranges of one meter and series.
/// Upserts readings of one meter and series inside a write transaction.
fn insert_readings(tx: &Transaction<'_>, prm: &str, series: &str, readings: &[Reading]) -> rusqlite::Result<()> {
    // Rows go in by statements of CHUNK rows that share the meter,
    // series and unit parameters (?1, ?2, ?3): fewer statement steps
    // and fewer bindings per row, which is most of the cost of an
    // ingest. A chunk mixing units (never seen from the API) takes
    // the one-row path.
    let mut single: Vec<&Reading> = Vec::new();
    let mut chunks = readings.chunks_exact(CHUNK);
    if readings.len() >= CHUNK {
        let mut stmt = tx.prepare_cached(&insert_many_sql())?;
        stmt.raw_bind_parameter(1, prm)?;
        stmt.raw_bind_parameter(2, series)?;
        for chunk in &mut chunks {
            let unit = chunk.first().map(|r| r.unit);
            if chunk.iter().any(|r| Some(r.unit) != unit) {
                single.extend(chunk);
                continue;
            }
            stmt.raw_bind_parameter(3, unit.map(|u| u.as_str()))?;
            for (i, r) in chunk.iter().enumerate() {
                let base = 4 + 4 * i;
                stmt.raw_bind_parameter(base, r.start.as_second())?;
                stmt.raw_bind_parameter(base + 1, r.end.as_second())?;
                stmt.raw_bind_parameter(base + 2, r.value)?;
                stmt.raw_bind_parameter(base + 3, r.peak_at.map(|t| t.as_second()))?;
            }
            stmt.raw_execute()?;
        }
    }
    single.extend(chunks.remainder());
    let mut stmt = tx.prepare_cached(INSERT_READING)?;
    for r in single {
        stmt.execute(params![
            prm,
            series,
            r.start.as_second(),
            r.end.as_second(),
            r.value,
            r.unit.as_str(),
            r.peak_at.map(|t| t.as_second()),
        ])?;
    }
    Ok(())
}

fn merge_coverage(tx: &Transaction<'_>, prm: &str, series: &str, window: DateRange) -> rusqlite::Result<()> {
    let (mut start, mut end) = (window.start().to_string(), window.end().to_string());
    // Ranges that overlap or touch the window are folded into it; half-open
    // ranges [a,b) and [b,c) touch, hence `<=` and `>=`.
    let touching: Vec<(String, String)> = {
        let mut stmt = tx.prepare_cached(
            "SELECT start_day, end_day FROM coverage
             WHERE usage_point_id = ?1 AND series = ?2 AND start_day <= ?4 AND end_day >= ?3",
        )?;
        let rows = stmt.query_map(params![prm, series, start, end], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (s, e) in &touching {
        if *s < start {
            start.clone_from(s);
        }
        if *e > end {
            end.clone_from(e);
        }
    }
    tx.prepare_cached(
        "DELETE FROM coverage WHERE usage_point_id = ?1 AND series = ?2 AND start_day <= ?4 AND end_day >= ?3",
    )?
    .execute(params![prm, series, start, end])?;
    tx.prepare_cached("INSERT INTO coverage (usage_point_id, series, start_day, end_day) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![prm, series, start, end])?;
    Ok(())
}

/// Builds the WHERE clause and parameters of a reading filter.
fn filter_sql(filter: &ReadingFilter) -> (String, Vec<Value>) {
    let mut clauses = Vec::new();
    let mut args = Vec::new();
    if !filter.usage_points.is_empty() {
        let marks = vec!["?"; filter.usage_points.len()].join(", ");
        clauses.push(format!("usage_point_id IN ({marks})"));
        args.extend(filter.usage_points.iter().map(|p| Value::Text(p.as_str().to_owned())));
    }
    if !filter.series.is_empty() {
        let marks = vec!["?"; filter.series.len()].join(", ");
        clauses.push(format!("series IN ({marks})"));
        args.extend(filter.series.iter().map(|s| Value::Text(s.as_str().to_owned())));
    }
    if let Some(from) = filter.from {
        clauses.push("start >= ?".to_owned());
        args.push(Value::Integer(from.as_second()));
    }
    if let Some(to) = filter.to {
        clauses.push("start < ?".to_owned());
        args.push(Value::Integer(to.as_second()));
    }
    let sql = if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };
    (sql, args)
}

/// Creates the database file, when it does not exist yet, readable and
/// writable by its owner only (0600): it holds consumption curves, which
/// say when a household is at home. SQLite gives its `-wal` and `-shm`
/// files the database file's permissions, so they are private too. An
/// existing file keeps the permissions its owner gave it.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

impl Store for SqliteStore {
    fn upsert_index_window(&self, write: &IndexWindowWrite<'_>) -> Result<u64> {
        let (prm, series) = (write.prm.as_str(), write.series.as_str());
        self.write_tx(|tx| {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO index_reading (usage_point_id, series, calendar_id, class_id, day, at, calendar_label,
                                            class_label, register, value, likelihood)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (usage_point_id, series, calendar_id, class_id, day) DO UPDATE SET
                   at = excluded.at, calendar_label = excluded.calendar_label, class_label = excluded.class_label,
                   register = excluded.register, value = excluded.value, likelihood = excluded.likelihood",
            )?;
            for r in write.readings {
                stmt.execute(params![
                    prm,
                    series,
                    r.calendar_id,
                    r.class_id,
                    r.day.to_string(),
                    r.at.as_second(),
                    r.calendar_label,
                    r.class_label,
                    r.register,
                    r.value_wh,
                    r.likelihood,
                ])?;
            }
            merge_coverage(tx, prm, series, write.window)?;
            Ok(write.readings.len() as u64)
        })
    }

    fn for_each_index_reading(
        &self,
        filter: &ReadingFilter,
        each: &mut dyn FnMut(&StoredIndexReading) -> std::io::Result<()>,
    ) -> Result<u64> {
        let (clause, args) = filter_sql(filter);
        let clause = clause.replace("start", "at");
        let sql = format!(
            "SELECT usage_point_id, series, calendar_id, class_id, day, at, calendar_label, class_label, register, value,
                    likelihood
               FROM index_reading {clause} ORDER BY usage_point_id, series, calendar_id, class_id, day"
        );
        let conn = self.lock();
        let mut stmt = conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query(params_from_iter(args)).map_err(|e| self.err(e))?;
        let mut n = 0;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let text = |i: usize| -> Result<String> { row.get::<_, String>(i).map_err(|e| self.err(e)) };
            let opt = |i: usize| -> Result<Option<String>> { row.get::<_, Option<String>>(i).map_err(|e| self.err(e)) };
            let int = |i: usize| -> Result<Option<i64>> { row.get::<_, Option<i64>>(i).map_err(|e| self.err(e)) };
            let stored = StoredIndexReading {
                usage_point_id: self.prm(&text(0)?)?,
                series: self.series(&text(1)?)?,
                reading: IndexReading {
                    calendar_id: text(2)?,
                    class_id: text(3)?,
                    day: self.day(&text(4)?)?,
                    at: self.ts(row.get::<_, i64>(5).map_err(|e| self.err(e))?)?,
                    calendar_label: opt(6)?,
                    class_label: opt(7)?,
                    register: opt(8)?,
                    value_wh: int(9)?,
                    likelihood: int(10)?,
                },
            };
            each(&stored).map_err(|e| {
                StoreError::new(StoreErrorKind::Output, format!("could not write the index readings out: {e}"))
                    .with_source(e)
            })?;
            n += 1;
        }
        Ok(n)
    }

    fn upsert_window(&self, write: &WindowWrite<'_>) -> Result<u64> {
        let prm = write.prm.as_str();
        let series = write.series.as_str();
        self.write_tx(|tx| {
            insert_readings(tx, prm, series, write.readings)?;
            merge_coverage(tx, prm, series, write.window)?;
            Ok(write.readings.len() as u64)
        })
    }

    fn upsert_import(&self, parts: &[ImportWrite<'_>]) -> Result<u64> {
        self.write_tx(|tx| {
            let mut n = 0;
            for part in parts {
                let (prm, series) = (part.prm.as_str(), part.series.as_str());
                insert_readings(tx, prm, series, part.readings)?;
                for range in part.covered {
                    merge_coverage(tx, prm, series, *range)?;
                }
                n += part.readings.len() as u64;
            }
            Ok(n)
        })
    }

    fn coverage(&self, prm: &UsagePointId, series: Series) -> Result<Vec<DateRange>> {
        let rows: Vec<(String, String)> = {
            let conn = self.lock();
            let mut stmt = conn
                .prepare_cached(
                    "SELECT start_day, end_day FROM coverage WHERE usage_point_id = ?1 AND series = ?2 ORDER BY start_day",
                )
                .map_err(|e| self.err(e))?;
            stmt.query_map(params![prm.as_str(), series.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
                .and_then(|rows| rows.collect())
                .map_err(|e| self.err(e))?
        };
        rows.iter()
            .map(|(s, e)| DateRange::new(self.day(s)?, self.day(e)?).map_err(|e| StoreError::bad_data(&self.path, e)))
            .collect()
    }

    fn coverage_ends(&self) -> Result<Vec<(UsagePointId, Series, Date)>> {
        let rows: Vec<(String, String, String)> = {
            let conn = self.lock();
            let mut stmt = conn
                .prepare_cached(
                    "SELECT usage_point_id, series, MAX(end_day) FROM coverage
                      GROUP BY usage_point_id, series ORDER BY usage_point_id, series",
                )
                .map_err(|e| self.err(e))?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .and_then(|rows| rows.collect())
                .map_err(|e| self.err(e))?
        };
        rows.iter().map(|(p, s, e)| Ok((self.prm(p)?, self.series(s)?, self.day(e)?))).collect()
    }

    fn for_each_reading(
        &self,
        filter: &ReadingFilter,
        each: &mut dyn FnMut(&StoredReading) -> std::io::Result<()>,
    ) -> Result<u64> {
        let (clause, args) = filter_sql(filter);
        let sql = format!(
            "SELECT usage_point_id, series, start, \"end\", value, unit, peak_at FROM reading {clause}
             ORDER BY usage_point_id, series, start"
        );
        let conn = self.lock();
        let mut stmt = conn.prepare(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt.query(params_from_iter(args)).map_err(|e| self.err(e))?;
        let mut count = 0u64;
        // Meter and series repeat on consecutive rows; parsing them once per
        // change keeps the loop cheap.
        let mut current: Option<(String, String, UsagePointId, Series)> = None;
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let prm_text: String = row.get(0).map_err(|e| self.err(e))?;
            let series_text: String = row.get(1).map_err(|e| self.err(e))?;
            let same = matches!(&current, Some((p, s, _, _)) if *p == prm_text && *s == series_text);
            if !same {
                let prm = self.prm(&prm_text)?;
                let series = self.series(&series_text)?;
                current = Some((prm_text, series_text, prm, series));
            }
            let Some((_, _, prm, series)) = &current else { continue };
            let unit_text: String = row.get(5).map_err(|e| self.err(e))?;
            let unit: Unit = unit_text.parse().map_err(|e: String| StoreError::bad_data(&self.path, e))?;
            let peak: Option<i64> = row.get(6).map_err(|e| self.err(e))?;
            let item = StoredReading {
                usage_point_id: prm.clone(),
                series: *series,
                reading: Reading {
                    start: self.ts(row.get(2).map_err(|e| self.err(e))?)?,
                    end: self.ts(row.get(3).map_err(|e| self.err(e))?)?,
                    value: row.get(4).map_err(|e| self.err(e))?,
                    unit,
                    peak_at: peak.map(|p| self.ts(p)).transpose()?,
                },
            };
            each(&item).map_err(|e| {
                StoreError::new(StoreErrorKind::Output, format!("could not write the readings out: {e}")).with_source(e)
            })?;
            count += 1;
        }
        Ok(count)
    }

    fn summary(&self, filter: &ReadingFilter) -> Result<Vec<SeriesSummary>> {
        let (clause, args) = filter_sql(filter);
        let sql = format!(
            "SELECT usage_point_id, series, COUNT(*), MIN(start), MAX(\"end\"), TOTAL(value),
                    TOTAL(value * (\"end\" - start)) / 3600.0, MAX(value)
             FROM reading {clause} GROUP BY usage_point_id, series ORDER BY usage_point_id, series"
        );
        type Row = (String, String, i64, i64, i64, f64, f64, Option<f64>);
        let rows: Vec<Row> = {
            let conn = self.lock();
            let mut stmt = conn.prepare(&sql).map_err(|e| self.err(e))?;
            stmt.query_map(params_from_iter(args), |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
            })
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))?
        };
        rows.into_iter()
            .map(|(p, s, n, first, last, sum, weighted, max)| {
                let series = self.series(&s)?;
                let energy_wh = match series.unit() {
                    Unit::W => weighted,
                    Unit::Wh => sum,
                    Unit::VA => 0.0,
                };
                Ok(SeriesSummary {
                    usage_point_id: self.prm(&p)?,
                    series,
                    points: n.max(0) as u64,
                    first_start: self.ts(first)?,
                    last_end: self.ts(last)?,
                    sum_value: sum,
                    energy_wh,
                    max_value: max,
                })
            })
            .collect()
    }

    fn record_consent(&self, consent: &Consent, recorded_at: Timestamp) -> Result<()> {
        self.write_tx(|tx| {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO consent (usage_point_id, generation, start_day, duration, expiry_day, state,
                                      autorisation_id, needs_consent, reason, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, NULL, ?8)
                 ON CONFLICT (usage_point_id) DO UPDATE SET
                   generation = excluded.generation, start_day = excluded.start_day,
                   duration = excluded.duration, expiry_day = excluded.expiry_day, state = excluded.state,
                   autorisation_id = excluded.autorisation_id, needs_consent = 0, reason = NULL,
                   recorded_at = excluded.recorded_at",
            )?;
            for prm in &consent.usage_points {
                stmt.execute(params![
                    prm.as_str(),
                    consent.generation.as_str(),
                    consent.start.to_string(),
                    consent.duration.to_string(),
                    consent.expiry().to_string(),
                    consent.state,
                    consent.autorisation_id,
                    recorded_at.as_second(),
                ])?;
            }
            Ok(())
        })
    }

    fn consents(&self) -> Result<Vec<ConsentRecord>> {
        type Row = (String, String, String, String, String, String, Option<String>, bool, Option<String>, i64);
        let rows: Vec<Row> = {
            let conn = self.lock();
            let mut stmt = conn
                .prepare_cached(
                    "SELECT usage_point_id, generation, start_day, duration, expiry_day, state, autorisation_id,
                            needs_consent, reason, recorded_at FROM consent ORDER BY usage_point_id",
                )
                .map_err(|e| self.err(e))?;
            stmt.query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                ))
            })
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))?
        };
        rows.into_iter()
            .map(|(p, g, s, d, e, state, aid, needs, reason, at)| {
                Ok(ConsentRecord {
                    usage_point_id: self.prm(&p)?,
                    generation: g.parse::<Generation>().map_err(|e| StoreError::bad_data(&self.path, e))?,
                    start: self.day(&s)?,
                    duration: d.parse::<ConsentDuration>().map_err(|e| StoreError::bad_data(&self.path, e))?,
                    expiry: self.day(&e)?,
                    state,
                    autorisation_id: aid,
                    needs_consent: needs,
                    reason,
                    recorded_at: self.ts(at)?,
                })
            })
            .collect()
    }

    fn mark_needs_consent(&self, prm: &UsagePointId, reason: &str) -> Result<()> {
        self.write_tx(|tx| {
            tx.execute(
                "UPDATE consent SET needs_consent = 1, reason = ?2 WHERE usage_point_id = ?1",
                params![prm.as_str(), reason],
            )?;
            Ok(())
        })
    }

    fn add_pending_consent(&self, p: &PendingConsent) -> Result<()> {
        self.write_tx(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO pending_consent (state, generation, duration, sandbox_client, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    p.state,
                    p.generation.as_str(),
                    p.duration.to_string(),
                    p.sandbox_client,
                    p.created_at.as_second()
                ],
            )?;
            Ok(())
        })
    }

    fn take_pending_consent(&self, state: &str) -> Result<Option<PendingConsent>> {
        let row: Option<(String, String, String, Option<u8>, i64)> = self.write_tx(|tx| {
            let row = tx
                .query_row(
                    "SELECT state, generation, duration, sandbox_client, created_at FROM pending_consent WHERE state = ?1",
                    params![state],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()?;
            tx.execute("DELETE FROM pending_consent WHERE state = ?1", params![state])?;
            Ok(row)
        })?;
        row.map(|r| self.pending_from_row(r)).transpose()
    }

    fn pending_consents(&self) -> Result<Vec<PendingConsent>> {
        let rows: Vec<(String, String, String, Option<u8>, i64)> = {
            let conn = self.lock();
            let mut stmt = conn
                .prepare_cached(
                    "SELECT state, generation, duration, sandbox_client, created_at FROM pending_consent ORDER BY created_at",
                )
                .map_err(|e| self.err(e))?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
                .and_then(|rows| rows.collect())
                .map_err(|e| self.err(e))?
        };
        rows.into_iter().map(|r| self.pending_from_row(r)).collect()
    }

    fn prune_pending_consents(&self, created_before: Timestamp) -> Result<u64> {
        self.write_tx(|tx| {
            let n =
                tx.execute("DELETE FROM pending_consent WHERE created_at < ?1", params![created_before.as_second()])?;
            Ok(n as u64)
        })
    }

    fn count_pending_consents(&self) -> Result<u64> {
        let conn = self.lock();
        let n: i64 =
            conn.query_row("SELECT count(*) FROM pending_consent", [], |r| r.get(0)).map_err(|e| self.err(e))?;
        Ok(n.max(0) as u64)
    }

    fn put_meter_info(&self, info: &MeterInfo) -> Result<()> {
        self.write_tx(|tx| {
            tx.execute(
                "INSERT INTO meter (usage_point_id, contract_json, address_json, activation_day, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (usage_point_id) DO UPDATE SET
                   contract_json = COALESCE(excluded.contract_json, contract_json),
                   address_json = COALESCE(excluded.address_json, address_json),
                   activation_day = COALESCE(excluded.activation_day, activation_day),
                   updated_at = excluded.updated_at",
                params![
                    info.usage_point_id.as_str(),
                    info.contract_json,
                    info.address_json,
                    info.activation.map(|d| d.to_string()),
                    info.updated_at.as_second()
                ],
            )?;
            Ok(())
        })
    }

    fn meter_info(&self, prm: &UsagePointId) -> Result<Option<MeterInfo>> {
        type Row = (Option<String>, Option<String>, Option<String>, i64);
        let row: Option<Row> = {
            let conn = self.lock();
            conn.query_row(
                "SELECT contract_json, address_json, activation_day, updated_at FROM meter WHERE usage_point_id = ?1",
                params![prm.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?
        };
        row.map(|(c, a, d, at)| {
            Ok(MeterInfo {
                usage_point_id: prm.clone(),
                contract_json: c,
                address_json: a,
                activation: d.map(|d| self.day(&d)).transpose()?,
                updated_at: self.ts(at)?,
            })
        })
        .transpose()
    }

    fn set_series_state(&self, prm: &UsagePointId, series: Series, at: Timestamp, stopped: Option<&str>) -> Result<()> {
        self.write_tx(|tx| {
            tx.execute(
                "INSERT INTO series_state (usage_point_id, series, last_synced_at, stopped_reason) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (usage_point_id, series) DO UPDATE SET
                   last_synced_at = excluded.last_synced_at, stopped_reason = excluded.stopped_reason",
                params![prm.as_str(), series.as_str(), at.as_second(), stopped],
            )?;
            Ok(())
        })
    }

    fn series_states(&self) -> Result<Vec<SeriesState>> {
        let rows: Vec<(String, String, Option<i64>, Option<String>)> = {
            let conn = self.lock();
            let mut stmt = conn
                .prepare_cached(
                    "SELECT usage_point_id, series, last_synced_at, stopped_reason FROM series_state
                     ORDER BY usage_point_id, series",
                )
                .map_err(|e| self.err(e))?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .and_then(|rows| rows.collect())
                .map_err(|e| self.err(e))?
        };
        rows.into_iter()
            .map(|(p, s, at, reason)| {
                Ok(SeriesState {
                    usage_point_id: self.prm(&p)?,
                    series: self.series(&s)?,
                    last_synced_at: at.map(|t| self.ts(t)).transpose()?,
                    stopped_reason: reason,
                })
            })
            .collect()
    }

    fn begin_sync_run(&self, at: Timestamp) -> Result<SyncRunId> {
        self.write_tx(|tx| {
            tx.execute("INSERT INTO sync_run (started_at, status) VALUES (?1, 'running')", params![at.as_second()])?;
            Ok(SyncRunId(tx.last_insert_rowid()))
        })
    }

    fn finish_sync_run(&self, id: SyncRunId, o: &SyncRunOutcome) -> Result<()> {
        self.write_tx(|tx| {
            tx.execute(
                "UPDATE sync_run SET finished_at = ?2, status = ?3, calls = ?4, points = ?5, message = ?6 WHERE id = ?1",
                params![id.0, o.finished_at.as_second(), o.status, o.calls as i64, o.points as i64, o.message],
            )?;
            Ok(())
        })
    }

    fn sync_runs(&self, limit: u32) -> Result<Vec<SyncRun>> {
        type Row = (i64, i64, Option<i64>, String, i64, i64, Option<String>);
        let rows: Vec<Row> = {
            let conn = self.lock();
            let mut stmt = conn
                .prepare_cached(
                    "SELECT id, started_at, finished_at, status, calls, points, message FROM sync_run
                     ORDER BY id DESC LIMIT ?1",
                )
                .map_err(|e| self.err(e))?;
            stmt.query_map(params![limit], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
            })
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))?
        };
        rows.into_iter()
            .map(|(id, started, finished, status, calls, points, message)| {
                let outcome = match finished {
                    Some(f) => Some(SyncRunOutcome {
                        finished_at: self.ts(f)?,
                        status,
                        calls: calls.max(0) as u64,
                        points: points.max(0) as u64,
                        message,
                    }),
                    None => None,
                };
                Ok(SyncRun { id: SyncRunId(id), started_at: self.ts(started)?, outcome })
            })
            .collect()
    }

    fn record_calls(&self, at: Timestamp, calls: u64) -> Result<()> {
        let hour = at.as_second().div_euclid(3600) * 3600;
        self.write_tx(|tx| {
            tx.execute(
                "INSERT INTO quota_counter (hour_start, calls) VALUES (?1, ?2)
                 ON CONFLICT (hour_start) DO UPDATE SET calls = calls + excluded.calls",
                params![hour, calls as i64],
            )?;
            Ok(())
        })
    }

    fn calls_since(&self, since: Timestamp) -> Result<u64> {
        let hour = since.as_second().div_euclid(3600) * 3600;
        let n: i64 = self
            .lock()
            .query_row("SELECT TOTAL(calls) FROM quota_counter WHERE hour_start >= ?1", params![hour], |r| {
                r.get::<_, f64>(0).map(|f| f as i64)
            })
            .map_err(|e| self.err(e))?;
        Ok(n.max(0) as u64)
    }

    fn put_tempo_days(&self, days: &[TempoDay]) -> Result<u64> {
        self.write_tx(|tx| {
            let mut st = tx.prepare_cached(
                "INSERT INTO tempo_day (day, color, source) VALUES (?1, ?2, ?3)
                 ON CONFLICT (day) DO UPDATE SET color = excluded.color, source = excluded.source",
            )?;
            for d in days {
                st.execute(params![d.day.to_string(), d.color, d.source])?;
            }
            Ok(days.len() as u64)
        })
    }

    fn tempo_days(&self) -> Result<Vec<TempoDay>> {
        let rows: Vec<(String, String, String)> = {
            let conn = self.lock();
            let mut st = conn
                .prepare_cached("SELECT day, color, source FROM tempo_day ORDER BY day")
                .map_err(|e| self.err(e))?;
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(|e| self.err(e))?
        };
        rows.into_iter().map(|(d, color, source)| Ok(TempoDay { day: self.day(&d)?, color, source })).collect()
    }

    fn put_tariff_rows(&self, rows: &[TariffRow]) -> Result<u64> {
        self.write_tx(|tx| {
            let mut st = tx.prepare_cached(
                "INSERT INTO tariff_row (option, kva, start_day, end_day, fixed_eur_per_year, prices_json, source, imported_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (option, kva, start_day) DO UPDATE SET
                   end_day = excluded.end_day, fixed_eur_per_year = excluded.fixed_eur_per_year,
                   prices_json = excluded.prices_json, source = excluded.source, imported_at = excluded.imported_at",
            )?;
            for r in rows {
                st.execute(params![
                    r.option,
                    r.kva,
                    r.start.to_string(),
                    r.end.map(|d| d.to_string()),
                    r.fixed_eur_per_year,
                    r.prices_json,
                    r.source,
                    r.imported_at.as_second()
                ])?;
            }
            Ok(rows.len() as u64)
        })
    }

    fn tariff_rows(&self) -> Result<Vec<TariffRow>> {
        type Row = (String, u32, String, Option<String>, f64, String, String, i64);
        let rows: Vec<Row> = {
            let conn = self.lock();
            let mut st = conn
                .prepare_cached(
                    "SELECT option, kva, start_day, end_day, fixed_eur_per_year, prices_json, source, imported_at
                     FROM tariff_row ORDER BY option, kva, start_day",
                )
                .map_err(|e| self.err(e))?;
            st.query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(e))?
        };
        rows.into_iter()
            .map(|(option, kva, start, end, fixed, prices_json, source, at)| {
                Ok(TariffRow {
                    option,
                    kva,
                    start: self.day(&start)?,
                    end: end.map(|e| self.day(&e)).transpose()?,
                    fixed_eur_per_year: fixed,
                    prices_json,
                    source,
                    imported_at: self.ts(at)?,
                })
            })
            .collect()
    }
}

impl SqliteStore {
    fn pending_from_row(
        &self,
        (state, g, d, client, at): (String, String, String, Option<u8>, i64),
    ) -> Result<PendingConsent> {
        Ok(PendingConsent {
            state,
            generation: g.parse::<Generation>().map_err(|e| StoreError::bad_data(&self.path, e))?,
            duration: d.parse::<ConsentDuration>().map_err(|e| StoreError::bad_data(&self.path, e))?,
            sandbox_client: client,
            created_at: self.ts(at)?,
        })
    }
}
