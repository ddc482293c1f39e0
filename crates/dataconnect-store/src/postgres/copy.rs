//! Copying an SQLite store into a PostgreSQL one, without loss, for
//! `dataconnect migrate`.
//!
//! Every table is read from one read transaction of the SQLite file (one
//! consistent snapshot, even if a sync writes meanwhile) and written with
//! upserts keyed like the tables themselves, so running the copy twice gives
//! the same target. Readings go in batches of one meter and series, one
//! statement each; coverage ranges are folded into the target's merged
//! coverage; consents, meters, series states, sync runs (with their ids) and
//! quota hours are written as they are. At the end the rows of every table
//! are counted on both sides, and a digest of every reading (all its fields)
//! is computed on both sides, the target's by streaming it back.

use std::path::{Path, PathBuf};

use dataconnect::{ConsentDuration, DateRange, Generation, Reading, Series, Unit, UsagePointId};
use jiff::Timestamp;
use jiff::civil::Date;
use rusqlite::{Connection, OpenFlags};

use super::PgStore;
use crate::{
    ConsentRecord, MeterInfo, OpenMode, PendingConsent, ReadingFilter, Result, SeriesState, SqliteConfig, SqliteStore,
    Store, StoreError, SyncRun, SyncRunId, SyncRunOutcome, TariffRow, TempoDay,
};

/// The tables of a store, in the order they are copied and reported.
pub(super) const TABLES: [&str; 11] = [
    "reading",
    "coverage",
    "consent",
    "pending_consent",
    "meter",
    "series_state",
    "sync_run",
    "quota_counter",
    "tempo_day",
    "tariff_row",
    "index_reading",
];

/// Readings per statement when copying.
const BATCH: usize = 20_000;

/// The rows of one table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableCount {
    /// The table's name.
    pub table: &'static str,
    /// Its rows.
    pub rows: u64,
}

/// What a copy did and what its verification found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyReport {
    /// Per table: its name, rows in the source, rows in the target after the copy.
    pub tables: Vec<(&'static str, u64, u64)>,
    /// The digest of every reading of the source (order-independent, over all fields).
    pub source_digest: u64,
    /// The same digest computed by reading the target back.
    pub target_digest: u64,
}

impl CopyReport {
    /// True when every table has as many rows on both sides and the reading
    /// digests are equal.
    pub fn verified(&self) -> bool {
        self.source_digest == self.target_digest && self.tables.iter().all(|(_, s, t)| s == t)
    }
}

/// An order-independent digest of readings: the wrapping sum of a 64-bit
/// hash of each reading's canonical bytes (meter, series, start, end, value
/// bits or a null mark, unit, peak or a null mark). Equal sets of readings
/// give equal digests whatever order they are visited in.
#[derive(Default)]
struct Digest {
    sum: u64,
}

impl Digest {
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        prm: &str,
        series: &str,
        start: i64,
        end: i64,
        value: Option<f64>,
        unit: &str,
        peak: Option<i64>,
    ) {
        let mut h = Fnv::default();
        h.write(prm.as_bytes());
        h.write(&[0]);
        h.write(series.as_bytes());
        h.write(&[0]);
        h.write(&start.to_le_bytes());
        h.write(&end.to_le_bytes());
        match value {
            Some(v) => {
                h.write(&[1]);
                h.write(&v.to_bits().to_le_bytes());
            }
            None => h.write(&[0]),
        }
        h.write(unit.as_bytes());
        h.write(&[0]);
        match peak {
            Some(p) => {
                h.write(&[1]);
                h.write(&p.to_le_bytes());
            }
            None => h.write(&[0]),
        }
        self.sum = self.sum.wrapping_add(mix(h.0));
    }
}

/// FNV-1a, 64 bits.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The splitmix64 finaliser, so that summing hashes does not cancel out
/// FNV's weak low bits.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Reads the SQLite store at `source` and writes everything it holds into
/// `target`; `progress` is told the readings copied so far after each batch.
/// Then counts and digests both sides (see [`CopyReport::verified`]).
pub fn copy_from_sqlite(source: &Path, target: &PgStore, progress: &mut dyn FnMut(u64)) -> Result<CopyReport> {
    // Opening it read-only through the store checks that it is a store and
    // that its schema is the one this version knows.
    drop(SqliteStore::open(&SqliteConfig { mode: OpenMode::ReadOnly, ..SqliteConfig::new(source) })?);
    let path = source.to_path_buf();
    let err = |e| StoreError::sqlite(&path, e);
    let conn = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(err)?;
    // One read transaction: every table from the same snapshot.
    conn.execute_batch("BEGIN").map_err(err)?;
    let src = Source { conn: &conn, path: path.clone() };

    let source_digest = src.copy_readings(target, progress)?;
    src.copy_rest(target)?;
    copy_index_readings(source, target)?;
    let mut source_counts = Vec::new();
    for table in TABLES {
        let n: i64 = conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).map_err(err)?;
        source_counts.push(n.max(0) as u64);
    }
    conn.execute_batch("COMMIT").map_err(err)?;

    let target_counts = target.table_counts()?;
    let mut digest = Digest::default();
    target.for_each_reading(&ReadingFilter::default(), &mut |r| {
        let x = &r.reading;
        digest.add(
            r.usage_point_id.as_str(),
            r.series.as_str(),
            x.start.as_second(),
            x.end.as_second(),
            x.value,
            x.unit.as_str(),
            x.peak_at.map(|t| t.as_second()),
        );
        Ok(())
    })?;
    let tables = TABLES
        .iter()
        .zip(source_counts)
        .map(|(table, s)| {
            let t = target_counts.iter().find(|c| c.table == *table).map_or(0, |c| c.rows);
            (*table, s, t)
        })
        .collect();
    Ok(CopyReport { tables, source_digest, target_digest: digest.sum })
}

/// Copies the index readings, one upsert per run of consecutive days of a
/// meter and series (each such run was covered when it was written, so
/// folding it into the target's coverage adds nothing that was not there).
fn copy_index_readings(source: &Path, target: &PgStore) -> Result<()> {
    let store = SqliteStore::open(&SqliteConfig { mode: OpenMode::ReadOnly, ..SqliteConfig::new(source) })?;
    let mut run: Vec<dataconnect::IndexReading> = Vec::new();
    let mut key: Option<(UsagePointId, Series)> = None;
    let flush = |key: &Option<(UsagePointId, Series)>, run: &mut Vec<dataconnect::IndexReading>| -> Result<()> {
        let (Some((prm, series)), Some(first), Some(last)) =
            (key, run.iter().map(|r| r.day).min(), run.iter().map(|r| r.day).max())
        else {
            return Ok(());
        };
        let end = last.tomorrow().unwrap_or(last);
        if let Ok(window) = DateRange::new(first, end) {
            target.upsert_index_window(&crate::IndexWindowWrite { prm, series: *series, window, readings: run })?;
        }
        run.clear();
        Ok(())
    };
    let mut days: std::collections::BTreeSet<Date> = std::collections::BTreeSet::new();
    let mut failure: Option<StoreError> = None;
    store.for_each_index_reading(&ReadingFilter::default(), &mut |r| {
        let this = Some((r.usage_point_id.clone(), r.series));
        // A new meter or series, or a day not next to the run's days, ends
        // the run.
        let contiguous = days.is_empty()
            || days.contains(&r.reading.day)
            || days.last().and_then(|d| d.tomorrow().ok()) == Some(r.reading.day)
            || days.first().and_then(|d| d.yesterday().ok()) == Some(r.reading.day);
        if this != key || !contiguous {
            if let Err(e) = flush(&key, &mut run) {
                failure.get_or_insert(e);
            }
            days.clear();
            key = this;
        }
        days.insert(r.reading.day);
        run.push(r.reading.clone());
        Ok(())
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    flush(&key, &mut run)
}

struct Source<'c> {
    conn: &'c Connection,
    path: PathBuf,
}

impl Source<'_> {
    fn err(&self, e: rusqlite::Error) -> StoreError {
        StoreError::sqlite(&self.path, e)
    }

    fn bad(&self, what: impl std::fmt::Display) -> StoreError {
        StoreError::bad_data(&self.path, what)
    }

    fn ts(&self, s: i64) -> Result<Timestamp> {
        Timestamp::from_second(s).map_err(|e| self.bad(e))
    }

    fn day(&self, s: &str) -> Result<Date> {
        s.parse::<Date>().map_err(|e| self.bad(e))
    }

    fn prm(&self, s: &str) -> Result<UsagePointId> {
        UsagePointId::new(s).map_err(|e| self.bad(e))
    }

    fn series(&self, s: &str) -> Result<Series> {
        s.parse::<Series>().map_err(|e| self.bad(e))
    }

    /// Streams the readings in key order into batches of one meter and
    /// series; returns their digest.
    fn copy_readings(&self, target: &PgStore, progress: &mut dyn FnMut(u64)) -> Result<u64> {
        let mut stmt = self
            .conn
            .prepare("SELECT usage_point_id, series, start, \"end\", value, unit, peak_at FROM reading ORDER BY usage_point_id, series, start")
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        let mut digest = Digest::default();
        let mut batch: Vec<Reading> = Vec::with_capacity(BATCH);
        let mut key: Option<(String, String)> = None;
        let mut copied = 0u64;
        let mut flush = |key: &Option<(String, String)>, batch: &mut Vec<Reading>| -> Result<()> {
            if let (Some((p, s)), false) = (key, batch.is_empty()) {
                target.import_readings(&self.prm(p)?, self.series(s)?, batch)?;
                copied += batch.len() as u64;
                batch.clear();
                progress(copied);
            }
            Ok(())
        };
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let prm: String = row.get(0).map_err(|e| self.err(e))?;
            let series: String = row.get(1).map_err(|e| self.err(e))?;
            let (start, end): (i64, i64) = (row.get(2).map_err(|e| self.err(e))?, row.get(3).map_err(|e| self.err(e))?);
            let value: Option<f64> = row.get(4).map_err(|e| self.err(e))?;
            let unit_text: String = row.get(5).map_err(|e| self.err(e))?;
            let peak: Option<i64> = row.get(6).map_err(|e| self.err(e))?;
            digest.add(&prm, &series, start, end, value, &unit_text, peak);
            let same = matches!(&key, Some((p, s)) if *p == prm && *s == series);
            if !same || batch.len() >= BATCH {
                flush(&key, &mut batch)?;
                if !same {
                    key = Some((prm, series));
                }
            }
            let unit: Unit = unit_text.parse().map_err(|e: String| self.bad(e))?;
            batch.push(Reading {
                start: self.ts(start)?,
                end: self.ts(end)?,
                value,
                unit,
                peak_at: peak.map(|p| self.ts(p)).transpose()?,
            });
        }
        flush(&key, &mut batch)?;
        Ok(digest.sum)
    }

    /// Every table but the readings.
    ///
    /// One `each` per table, in the order their foreign keys need (about
    /// 100 lines): each block is a query and the import call of its rows,
    /// read top to bottom like the schema; a function per table would only
    /// add names.
    fn copy_rest(&self, target: &PgStore) -> Result<()> {
        self.each("SELECT usage_point_id, series, start_day, end_day FROM coverage", |r| {
            let (p, s, a, b): (String, String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
            Ok(move |src: &Self| {
                let range = DateRange::new(src.day(&a)?, src.day(&b)?).map_err(|e| src.bad(e))?;
                target.import_coverage(&src.prm(&p)?, src.series(&s)?, range)
            })
        })?;
        self.each(
            "SELECT usage_point_id, generation, start_day, duration, expiry_day, state, autorisation_id,
                    needs_consent, reason, recorded_at FROM consent",
            |r| {
                type Row = (String, String, String, String, String, String, Option<String>, bool, Option<String>, i64);
                let row: Row = (
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
                );
                Ok(move |src: &Self| {
                    let (p, g, s, d, e, state, aid, needs, reason, at) = row;
                    target.import_consent(&ConsentRecord {
                        usage_point_id: src.prm(&p)?,
                        generation: g.parse::<Generation>().map_err(|e| src.bad(e))?,
                        start: src.day(&s)?,
                        duration: d.parse::<ConsentDuration>().map_err(|e| src.bad(e))?,
                        expiry: src.day(&e)?,
                        state,
                        autorisation_id: aid,
                        needs_consent: needs,
                        reason,
                        recorded_at: src.ts(at)?,
                    })
                })
            },
        )?;
        self.each("SELECT state, generation, duration, sandbox_client, created_at FROM pending_consent", |r| {
            let row: (String, String, String, Option<u8>, i64) =
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
            Ok(move |src: &Self| {
                let (state, g, d, client, at) = row;
                target.add_pending_consent(&PendingConsent {
                    state,
                    generation: g.parse::<Generation>().map_err(|e| src.bad(e))?,
                    duration: d.parse::<ConsentDuration>().map_err(|e| src.bad(e))?,
                    sandbox_client: client,
                    created_at: src.ts(at)?,
                })
            })
        })?;
        self.each("SELECT usage_point_id, contract_json, address_json, activation_day, updated_at FROM meter", |r| {
            let row: (String, Option<String>, Option<String>, Option<String>, i64) =
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
            Ok(move |src: &Self| {
                let (p, c, a, d, at) = row;
                target.import_meter_info(&MeterInfo {
                    usage_point_id: src.prm(&p)?,
                    contract_json: c,
                    address_json: a,
                    activation: d.map(|d| src.day(&d)).transpose()?,
                    updated_at: src.ts(at)?,
                })
            })
        })?;
        self.each("SELECT usage_point_id, series, last_synced_at, stopped_reason FROM series_state", |r| {
            let row: (String, String, Option<i64>, Option<String>) = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
            Ok(move |src: &Self| {
                let (p, s, at, reason) = row;
                target.import_series_state(&SeriesState {
                    usage_point_id: src.prm(&p)?,
                    series: src.series(&s)?,
                    last_synced_at: at.map(|t| src.ts(t)).transpose()?,
                    stopped_reason: reason,
                })
            })
        })?;
        self.each(
            "SELECT id, started_at, finished_at, status, calls, points, message FROM sync_run ORDER BY id",
            |r| {
                type Row = (i64, i64, Option<i64>, String, i64, i64, Option<String>);
                let row: Row = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?);
                Ok(move |src: &Self| {
                    let (id, started, finished, status, calls, points, message) = row;
                    let outcome = match finished {
                        Some(f) => Some(SyncRunOutcome {
                            finished_at: src.ts(f)?,
                            status,
                            calls: calls.max(0) as u64,
                            points: points.max(0) as u64,
                            message,
                        }),
                        None => None,
                    };
                    target.import_sync_run(&SyncRun { id: SyncRunId(id), started_at: src.ts(started)?, outcome })
                })
            },
        )?;
        self.each("SELECT hour_start, calls FROM quota_counter", |r| {
            let row: (i64, i64) = (r.get(0)?, r.get(1)?);
            Ok(move |src: &Self| target.import_quota_hour(src.ts(row.0)?, row.1.max(0) as u64))
        })?;
        self.copy_costs(target)
    }

    /// The Tempo calendar and the imported price rows, each in one statement.
    fn copy_costs(&self, target: &PgStore) -> Result<()> {
        let mut days = Vec::new();
        let rows: Vec<(String, String, String)> = {
            let mut stmt =
                self.conn.prepare("SELECT day, color, source FROM tempo_day ORDER BY day").map_err(|e| self.err(e))?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .and_then(|rows| rows.collect())
                .map_err(|e| self.err(e))?
        };
        for (d, color, source) in rows {
            days.push(TempoDay { day: self.day(&d)?, color, source });
        }
        if !days.is_empty() {
            target.put_tempo_days(&days)?;
        }
        type Row = (String, u32, String, Option<String>, f64, String, String, i64);
        let rows: Vec<Row> = {
            let mut stmt = self
                .conn
                .prepare(
                    "SELECT option, kva, start_day, end_day, fixed_eur_per_year, prices_json, source, imported_at FROM tariff_row",
                )
                .map_err(|e| self.err(e))?;
            stmt.query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
            })
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))?
        };
        let mut tariffs = Vec::new();
        for (option, kva, start, end, fixed, prices_json, source, at) in rows {
            tariffs.push(TariffRow {
                option,
                kva,
                start: self.day(&start)?,
                end: end.map(|e| self.day(&e)).transpose()?,
                fixed_eur_per_year: fixed,
                prices_json,
                source,
                imported_at: self.ts(at)?,
            });
        }
        if !tariffs.is_empty() {
            target.put_tariff_rows(&tariffs)?;
        }
        Ok(())
    }

    /// Runs `query`, turns each row into a write with `read`, and performs
    /// the writes in order once the rows are read (these tables are small:
    /// one row per meter, per series or per run).
    fn each<W>(&self, query: &str, read: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<W>) -> Result<()>
    where
        W: FnOnce(&Self) -> Result<()>,
    {
        let writes: Vec<W> = {
            let mut stmt = self.conn.prepare(query).map_err(|e| self.err(e))?;
            stmt.query_map([], |r| read(r)).and_then(|rows| rows.collect()).map_err(|e| self.err(e))?
        };
        for w in writes {
            w(self)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_ignores_order_and_sees_every_field() {
        let mut a = Digest::default();
        a.add("1", "s", 0, 1, Some(1.0), "W", None);
        a.add("1", "s", 1, 2, None, "W", None);
        let mut b = Digest::default();
        b.add("1", "s", 1, 2, None, "W", None);
        b.add("1", "s", 0, 1, Some(1.0), "W", None);
        assert_eq!(a.sum, b.sum);
        let mut c = Digest::default();
        c.add("1", "s", 1, 2, Some(0.0), "W", None);
        c.add("1", "s", 0, 1, Some(1.0), "W", None);
        assert_ne!(a.sum, c.sum);
        let mut d = Digest::default();
        d.add("1", "s", 1, 2, None, "W", Some(0));
        d.add("1", "s", 0, 1, Some(1.0), "W", None);
        assert_ne!(a.sum, d.sum);
    }

    #[test]
    fn a_report_is_verified_only_when_everything_matches() {
        let ok = CopyReport { tables: vec![("reading", 3, 3)], source_digest: 7, target_digest: 7 };
        assert!(ok.verified());
        assert!(!CopyReport { target_digest: 8, ..ok.clone() }.verified());
        assert!(!CopyReport { tables: vec![("reading", 3, 4)], ..ok }.verified());
    }
}
