//! The [`Store`] implementation of [`PgStore`]: each method one short
//! transaction (most of them one statement), readings streamed in pages of
//! [`PAGE`] rows so that an export's memory stays flat.

use dataconnect::{Consent, ConsentDuration, DateRange, Generation, Reading, Series, Unit, UsagePointId};
use jiff::Timestamp;
use jiff::civil::Date;
use sqlx::AssertSqlSafe;
use sqlx::postgres::{PgArguments, PgRow};

use super::{Arrays, PgStore, add, args2, encode_error, meter_args, pg_error};
use crate::{
    ConsentRecord, ImportWrite, MeterInfo, PendingConsent, ReadingFilter, Result, SeriesState, SeriesSummary, Store,
    StoreError, StoreErrorKind, StoredReading, SyncRun, SyncRunId, SyncRunOutcome, TariffRow, TempoDay, WindowWrite,
};

/// Rows fetched per page by [`Store::for_each_reading`]: large enough that
/// the round trips are a small part of an export, small enough that memory
/// stays flat (two pages are held at most, the one being visited and the
/// next one being fetched).
const PAGE: i64 = 5_000;

const UPSERT_WINDOW: &str = "SELECT dataconnect_upsert_window($1, $2, $3::date, $4::date, $5, $6, $7, $8, $9)";

const READING_COLUMNS: &str =
    "usage_point_id, series, extract(epoch from start)::int8, extract(epoch from \"end\")::int8,
     value, unit, extract(epoch from peak_at)::int8";

/// The WHERE conditions of a reading filter, with their arguments numbered
/// from `$1`; returns the conditions and the next free parameter number.
pub(super) fn filter_sql(filter: &ReadingFilter, a: &mut PgArguments) -> Result<(Vec<String>, usize)> {
    let mut clauses = Vec::new();
    let mut n = 1;
    if !filter.usage_points.is_empty() {
        clauses.push(format!("usage_point_id = ANY(${n}::text[])"));
        add(a, filter.usage_points.iter().map(|p| p.as_str().to_owned()).collect::<Vec<_>>())?;
        n += 1;
    }
    if !filter.series.is_empty() {
        clauses.push(format!("series = ANY(${n}::text[])"));
        add(a, filter.series.iter().map(|s| s.as_str()).collect::<Vec<_>>())?;
        n += 1;
    }
    if let Some(from) = filter.from {
        clauses.push(format!("start >= to_timestamp(${n})"));
        add(a, from.as_second())?;
        n += 1;
    }
    if let Some(to) = filter.to {
        clauses.push(format!("start < to_timestamp(${n})"));
        add(a, to.as_second())?;
        n += 1;
    }
    Ok((clauses, n))
}

pub(super) fn where_sql(clauses: &[String]) -> String {
    if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) }
}

/// The key of the last row of a page, where the next page starts after.
type PageKey = (String, String, i64);

impl PgStore {
    /// Starts fetching the page of readings after `after`, on the runtime;
    /// the answer arrives on the returned channel.
    fn fetch_page(
        &self,
        filter: &ReadingFilter,
        after: Option<&PageKey>,
    ) -> Result<std::sync::mpsc::Receiver<Result<Vec<PgRow>>>> {
        let mut a = PgArguments::default();
        let (mut clauses, mut n) = filter_sql(filter, &mut a)?;
        if let Some((p, s, t)) = after {
            // A row comparison on the key columns: PostgreSQL turns it into
            // an index range scan, so every page costs the same.
            clauses.push(format!("(usage_point_id, series, start) > (${n}, ${}, to_timestamp(${}))", n + 1, n + 2));
            add(&mut a, p.clone())?;
            add(&mut a, s.clone())?;
            add(&mut a, *t)?;
            n += 3;
        }
        add(&mut a, PAGE)?;
        let sql = format!(
            "SELECT {READING_COLUMNS} FROM reading {} ORDER BY usage_point_id, series, start LIMIT ${n}",
            where_sql(&clauses)
        );
        let pool = self.pool.clone();
        let t = self.target.clone();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let rt =
            self.rt.as_ref().ok_or_else(|| StoreError::new(StoreErrorKind::Other, "the PostgreSQL store is closed"))?;
        rt.spawn(async move {
            let out = sqlx::query_with(AssertSqlSafe(sql), a).fetch_all(&pool).await.map_err(|e| pg_error(&t, e));
            let _ = tx.send(out);
        });
        Ok(rx)
    }

    fn receive(&self, rx: std::sync::mpsc::Receiver<Result<Vec<PgRow>>>) -> Result<Vec<PgRow>> {
        rx.recv()
            .map_err(|_| StoreError::new(StoreErrorKind::Other, "a PostgreSQL store read stopped without an answer"))?
    }
}

impl Store for PgStore {
    fn upsert_index_window(&self, write: &crate::IndexWindowWrite<'_>) -> Result<u64> {
        self.upsert_index(write)
    }

    fn for_each_index_reading(
        &self,
        filter: &ReadingFilter,
        each: &mut dyn FnMut(&crate::StoredIndexReading) -> std::io::Result<()>,
    ) -> Result<u64> {
        self.each_index(filter, each)
    }

    fn upsert_window(&self, write: &WindowWrite<'_>) -> Result<u64> {
        let arrays = Arrays::new(write.readings);
        let mut a = args2(write.prm.as_str(), write.series.as_str())?;
        add(&mut a, write.window.start().to_string())?;
        add(&mut a, write.window.end().to_string())?;
        arrays.bind(&mut a).map_err(|e| encode_error(&self.target, e))?;
        self.exec_args(UPSERT_WINDOW, a)?;
        Ok(write.readings.len() as u64)
    }

    fn upsert_import(&self, parts: &[ImportWrite<'_>]) -> Result<u64> {
        // The same statements as a window's upsert, spelt out so that every
        // part of the file goes in one transaction: the series lock (which
        // orders this write with a concurrent window of the same series),
        // the readings, then each covered range.
        let mut statements = Vec::new();
        let mut n = 0;
        for part in parts {
            let (prm, series) = (part.prm.as_str(), part.series.as_str());
            statements.push(("SELECT dataconnect_lock_series($1, $2)", args2(prm, series)?));
            let arrays = Arrays::new(part.readings);
            n += arrays.len() as u64;
            let mut a = args2(prm, series)?;
            arrays.bind(&mut a).map_err(|e| encode_error(&self.target, e))?;
            statements.push((super::import::IMPORT_READINGS, a));
            for range in part.covered {
                let mut a = args2(prm, series)?;
                add(&mut a, range.start().to_string())?;
                add(&mut a, range.end().to_string())?;
                statements.push(("SELECT dataconnect_merge_coverage($1, $2, $3::date, $4::date)", a));
            }
        }
        self.tx_exec(statements)?;
        Ok(n)
    }

    fn coverage(&self, prm: &UsagePointId, series: Series) -> Result<Vec<DateRange>> {
        let rows = self.rows(
            "SELECT to_char(start_day, 'YYYY-MM-DD'), to_char(end_day, 'YYYY-MM-DD') FROM coverage
             WHERE usage_point_id = $1 AND series = $2 ORDER BY start_day"
                .to_owned(),
            args2(prm.as_str(), series.as_str())?,
        )?;
        rows.iter()
            .map(|r| {
                let s: String = self.get(r, 0)?;
                let e: String = self.get(r, 1)?;
                DateRange::new(self.day(&s)?, self.day(&e)?).map_err(|e| self.bad(e))
            })
            .collect()
    }

    fn coverage_ends(&self) -> Result<Vec<(UsagePointId, Series, Date)>> {
        let rows = self.rows(
            "SELECT usage_point_id, series, to_char(max(end_day), 'YYYY-MM-DD') FROM coverage
              GROUP BY usage_point_id, series ORDER BY usage_point_id, series"
                .to_owned(),
            PgArguments::default(),
        )?;
        rows.iter()
            .map(|r| {
                let (p, s, e): (String, String, String) = (self.get(r, 0)?, self.get(r, 1)?, self.get(r, 2)?);
                Ok((self.prm(&p)?, self.series(&s)?, self.day(&e)?))
            })
            .collect()
    }

    fn for_each_reading(
        &self,
        filter: &ReadingFilter,
        each: &mut dyn FnMut(&StoredReading) -> std::io::Result<()>,
    ) -> Result<u64> {
        let mut count = 0u64;
        let mut pending = self.fetch_page(filter, None)?;
        // Meter and series repeat on consecutive rows; parsing them once per
        // change keeps the loop cheap.
        let mut current: Option<(String, String, UsagePointId, Series)> = None;
        loop {
            let rows = self.receive(pending)?;
            let full = rows.len() as i64 == PAGE;
            // Ask for the next page before visiting this one, so that the
            // server works while the caller writes.
            let next = match rows.last() {
                Some(last) if full => {
                    let key: PageKey = (self.get(last, 0)?, self.get(last, 1)?, self.get(last, 2)?);
                    Some(self.fetch_page(filter, Some(&key))?)
                }
                _ => None,
            };
            for row in &rows {
                let prm_text: String = self.get(row, 0)?;
                let series_text: String = self.get(row, 1)?;
                let same = matches!(&current, Some((p, s, _, _)) if *p == prm_text && *s == series_text);
                if !same {
                    let prm = self.prm(&prm_text)?;
                    let series = self.series(&series_text)?;
                    current = Some((prm_text, series_text, prm, series));
                }
                let Some((_, _, prm, series)) = &current else { continue };
                let unit_text: String = self.get(row, 5)?;
                let unit: Unit = unit_text.parse().map_err(|e: String| self.bad(e))?;
                let peak: Option<i64> = self.get(row, 6)?;
                let item = StoredReading {
                    usage_point_id: prm.clone(),
                    series: *series,
                    reading: Reading {
                        start: self.ts(self.get(row, 2)?)?,
                        end: self.ts(self.get(row, 3)?)?,
                        value: self.get(row, 4)?,
                        unit,
                        peak_at: peak.map(|p| self.ts(p)).transpose()?,
                    },
                };
                each(&item).map_err(|e| {
                    StoreError::new(StoreErrorKind::Output, format!("could not write the readings out: {e}"))
                        .with_source(e)
                })?;
                count += 1;
            }
            match next {
                Some(rx) => pending = rx,
                None => return Ok(count),
            }
        }
    }

    fn summary(&self, filter: &ReadingFilter) -> Result<Vec<SeriesSummary>> {
        let mut a = PgArguments::default();
        let (clauses, _) = filter_sql(filter, &mut a)?;
        let sql = format!(
            "SELECT usage_point_id, series, count(*)::int8, extract(epoch from min(start))::int8,
                    extract(epoch from max(\"end\"))::int8, COALESCE(sum(value), 0)::float8,
                    COALESCE(sum(value * extract(epoch from (\"end\" - start))::float8), 0)::float8 / 3600.0,
                    max(value)
             FROM reading {} GROUP BY usage_point_id, series ORDER BY usage_point_id, series",
            where_sql(&clauses)
        );
        let rows = self.rows(sql, a)?;
        rows.iter()
            .map(|r| {
                let series = self.series(&self.get::<String>(r, 1)?)?;
                let sum: f64 = self.get(r, 5)?;
                let weighted: f64 = self.get(r, 6)?;
                let energy_wh = match series.unit() {
                    Unit::W => weighted,
                    Unit::Wh => sum,
                    Unit::VA => 0.0,
                };
                Ok(SeriesSummary {
                    usage_point_id: self.prm(&self.get::<String>(r, 0)?)?,
                    series,
                    points: self.get::<i64>(r, 2)?.max(0) as u64,
                    first_start: self.ts(self.get(r, 3)?)?,
                    last_end: self.ts(self.get(r, 4)?)?,
                    sum_value: sum,
                    energy_wh,
                    max_value: self.get(r, 7)?,
                })
            })
            .collect()
    }

    fn record_consent(&self, consent: &Consent, recorded_at: Timestamp) -> Result<()> {
        let mut a = PgArguments::default();
        add(&mut a, consent.usage_points.iter().map(|p| p.as_str().to_owned()).collect::<Vec<_>>())?;
        add(&mut a, consent.generation.as_str().to_owned())?;
        add(&mut a, consent.start.to_string())?;
        add(&mut a, consent.duration.to_string())?;
        add(&mut a, consent.expiry().to_string())?;
        add(&mut a, consent.state.clone())?;
        add(&mut a, consent.autorisation_id.clone())?;
        add(&mut a, recorded_at.as_second())?;
        // One statement for every meter of the consent: all or none.
        self.exec_args(
            "INSERT INTO consent (usage_point_id, generation, start_day, duration, expiry_day, state,
                                  autorisation_id, needs_consent, reason, recorded_at)
             SELECT DISTINCT p, $2, $3::date, $4, $5::date, $6, $7, false, NULL, to_timestamp($8)
               FROM unnest($1::text[]) AS p
             ON CONFLICT (usage_point_id) DO UPDATE SET
               generation = excluded.generation, start_day = excluded.start_day,
               duration = excluded.duration, expiry_day = excluded.expiry_day, state = excluded.state,
               autorisation_id = excluded.autorisation_id, needs_consent = false, reason = NULL,
               recorded_at = excluded.recorded_at",
            a,
        )
    }

    fn consents(&self) -> Result<Vec<ConsentRecord>> {
        let rows = self.rows(
            "SELECT usage_point_id, generation, to_char(start_day, 'YYYY-MM-DD'), duration,
                    to_char(expiry_day, 'YYYY-MM-DD'), state, autorisation_id, needs_consent, reason,
                    extract(epoch from recorded_at)::int8
             FROM consent ORDER BY usage_point_id"
                .to_owned(),
            PgArguments::default(),
        )?;
        rows.iter()
            .map(|r| {
                Ok(ConsentRecord {
                    usage_point_id: self.prm(&self.get::<String>(r, 0)?)?,
                    generation: self.get::<String>(r, 1)?.parse::<Generation>().map_err(|e| self.bad(e))?,
                    start: self.day(&self.get::<String>(r, 2)?)?,
                    duration: self.get::<String>(r, 3)?.parse::<ConsentDuration>().map_err(|e| self.bad(e))?,
                    expiry: self.day(&self.get::<String>(r, 4)?)?,
                    state: self.get(r, 5)?,
                    autorisation_id: self.get(r, 6)?,
                    needs_consent: self.get(r, 7)?,
                    reason: self.get(r, 8)?,
                    recorded_at: self.ts(self.get(r, 9)?)?,
                })
            })
            .collect()
    }

    fn mark_needs_consent(&self, prm: &UsagePointId, reason: &str) -> Result<()> {
        self.exec_args(
            "UPDATE consent SET needs_consent = true, reason = $2 WHERE usage_point_id = $1",
            args2(prm.as_str(), reason)?,
        )
    }

    fn add_pending_consent(&self, p: &PendingConsent) -> Result<()> {
        let mut a = PgArguments::default();
        add(&mut a, p.state.clone())?;
        add(&mut a, p.generation.as_str().to_owned())?;
        add(&mut a, p.duration.to_string())?;
        add(&mut a, p.sandbox_client.map(i16::from))?;
        add(&mut a, p.created_at.as_second())?;
        self.exec_args(
            "INSERT INTO pending_consent (state, generation, duration, sandbox_client, created_at)
             VALUES ($1, $2, $3, $4, to_timestamp($5))
             ON CONFLICT (state) DO UPDATE SET
               generation = excluded.generation, duration = excluded.duration,
               sandbox_client = excluded.sandbox_client, created_at = excluded.created_at",
            a,
        )
    }

    fn take_pending_consent(&self, state: &str) -> Result<Option<PendingConsent>> {
        let mut a = PgArguments::default();
        add(&mut a, state.to_owned())?;
        // DELETE … RETURNING takes it atomically: two redirects with the same
        // state (a double click, two servers) cannot both complete it.
        let rows = self.rows(
            "DELETE FROM pending_consent WHERE state = $1
             RETURNING state, generation, duration, sandbox_client, extract(epoch from created_at)::int8"
                .to_owned(),
            a,
        )?;
        rows.first().map(|r| self.pending_from_row(r)).transpose()
    }

    fn pending_consents(&self) -> Result<Vec<PendingConsent>> {
        let rows = self.rows(
            "SELECT state, generation, duration, sandbox_client, extract(epoch from created_at)::int8
             FROM pending_consent ORDER BY created_at, state"
                .to_owned(),
            PgArguments::default(),
        )?;
        rows.iter().map(|r| self.pending_from_row(r)).collect()
    }

    fn prune_pending_consents(&self, created_before: Timestamp) -> Result<u64> {
        let mut a = PgArguments::default();
        add(&mut a, created_before.as_second())?;
        let rows = self.rows(
            "WITH gone AS (DELETE FROM pending_consent WHERE created_at < to_timestamp($1) RETURNING 1)
             SELECT count(*)::int8 FROM gone"
                .to_owned(),
            a,
        )?;
        let n: i64 = rows.first().map(|r| self.get(r, 0)).transpose()?.unwrap_or(0);
        Ok(n.max(0) as u64)
    }

    fn count_pending_consents(&self) -> Result<u64> {
        let rows = self.rows("SELECT count(*)::int8 FROM pending_consent".to_owned(), PgArguments::default())?;
        let n: i64 = rows.first().map(|r| self.get(r, 0)).transpose()?.unwrap_or(0);
        Ok(n.max(0) as u64)
    }

    fn put_meter_info(&self, info: &MeterInfo) -> Result<()> {
        self.exec_args(
            "INSERT INTO meter (usage_point_id, contract_json, address_json, activation_day, updated_at)
             VALUES ($1, $2, $3, $4::date, to_timestamp($5))
             ON CONFLICT (usage_point_id) DO UPDATE SET
               contract_json = COALESCE(excluded.contract_json, meter.contract_json),
               address_json = COALESCE(excluded.address_json, meter.address_json),
               activation_day = COALESCE(excluded.activation_day, meter.activation_day),
               updated_at = excluded.updated_at",
            meter_args(info)?,
        )
    }

    fn meter_info(&self, prm: &UsagePointId) -> Result<Option<MeterInfo>> {
        let mut a = PgArguments::default();
        add(&mut a, prm.as_str().to_owned())?;
        let rows = self.rows(
            "SELECT contract_json, address_json, to_char(activation_day, 'YYYY-MM-DD'), extract(epoch from updated_at)::int8
             FROM meter WHERE usage_point_id = $1"
                .to_owned(),
            a,
        )?;
        rows.first()
            .map(|r| {
                let day: Option<String> = self.get(r, 2)?;
                Ok(MeterInfo {
                    usage_point_id: prm.clone(),
                    contract_json: self.get(r, 0)?,
                    address_json: self.get(r, 1)?,
                    activation: day.map(|d| self.day(&d)).transpose()?,
                    updated_at: self.ts(self.get(r, 3)?)?,
                })
            })
            .transpose()
    }

    fn set_series_state(&self, prm: &UsagePointId, series: Series, at: Timestamp, stopped: Option<&str>) -> Result<()> {
        let mut a = args2(prm.as_str(), series.as_str())?;
        add(&mut a, at.as_second())?;
        add(&mut a, stopped.map(str::to_owned))?;
        self.exec_args(
            "INSERT INTO series_state (usage_point_id, series, last_synced_at, stopped_reason)
             VALUES ($1, $2, to_timestamp($3), $4)
             ON CONFLICT (usage_point_id, series) DO UPDATE SET
               last_synced_at = excluded.last_synced_at, stopped_reason = excluded.stopped_reason",
            a,
        )
    }

    fn series_states(&self) -> Result<Vec<SeriesState>> {
        let rows = self.rows(
            "SELECT usage_point_id, series, extract(epoch from last_synced_at)::int8, stopped_reason
             FROM series_state ORDER BY usage_point_id, series"
                .to_owned(),
            PgArguments::default(),
        )?;
        rows.iter()
            .map(|r| {
                let at: Option<i64> = self.get(r, 2)?;
                Ok(SeriesState {
                    usage_point_id: self.prm(&self.get::<String>(r, 0)?)?,
                    series: self.series(&self.get::<String>(r, 1)?)?,
                    last_synced_at: at.map(|t| self.ts(t)).transpose()?,
                    stopped_reason: self.get(r, 3)?,
                })
            })
            .collect()
    }

    fn begin_sync_run(&self, at: Timestamp) -> Result<SyncRunId> {
        let mut a = PgArguments::default();
        add(&mut a, at.as_second())?;
        let rows = self.rows(
            "INSERT INTO sync_run (started_at, status) VALUES (to_timestamp($1), 'running') RETURNING id".to_owned(),
            a,
        )?;
        let row = rows.first().ok_or_else(|| self.bad("no id returned for a new sync run"))?;
        Ok(SyncRunId(self.get(row, 0)?))
    }

    fn finish_sync_run(&self, id: SyncRunId, o: &SyncRunOutcome) -> Result<()> {
        let mut a = PgArguments::default();
        add(&mut a, id.0)?;
        add(&mut a, o.finished_at.as_second())?;
        add(&mut a, o.status.clone())?;
        add(&mut a, o.calls as i64)?;
        add(&mut a, o.points as i64)?;
        add(&mut a, o.message.clone())?;
        self.exec_args(
            "UPDATE sync_run SET finished_at = to_timestamp($2), status = $3, calls = $4, points = $5, message = $6
             WHERE id = $1",
            a,
        )
    }

    fn sync_runs(&self, limit: u32) -> Result<Vec<SyncRun>> {
        let mut a = PgArguments::default();
        add(&mut a, i64::from(limit))?;
        let rows = self.rows(
            "SELECT id, extract(epoch from started_at)::int8, extract(epoch from finished_at)::int8, status, calls,
                    points, message
             FROM sync_run ORDER BY id DESC LIMIT $1"
                .to_owned(),
            a,
        )?;
        rows.iter()
            .map(|r| {
                let finished: Option<i64> = self.get(r, 2)?;
                let outcome = match finished {
                    Some(f) => Some(SyncRunOutcome {
                        finished_at: self.ts(f)?,
                        status: self.get(r, 3)?,
                        calls: self.get::<i64>(r, 4)?.max(0) as u64,
                        points: self.get::<i64>(r, 5)?.max(0) as u64,
                        message: self.get(r, 6)?,
                    }),
                    None => None,
                };
                Ok(SyncRun { id: SyncRunId(self.get(r, 0)?), started_at: self.ts(self.get(r, 1)?)?, outcome })
            })
            .collect()
    }

    fn record_calls(&self, at: Timestamp, calls: u64) -> Result<()> {
        let hour = at.as_second().div_euclid(3600) * 3600;
        let mut a = PgArguments::default();
        add(&mut a, hour)?;
        add(&mut a, calls as i64)?;
        self.exec_args(
            "INSERT INTO quota_counter (hour_start, calls) VALUES (to_timestamp($1), $2)
             ON CONFLICT (hour_start) DO UPDATE SET calls = quota_counter.calls + excluded.calls",
            a,
        )
    }

    fn calls_since(&self, since: Timestamp) -> Result<u64> {
        let hour = since.as_second().div_euclid(3600) * 3600;
        let mut a = PgArguments::default();
        add(&mut a, hour)?;
        let rows = self.rows(
            "SELECT COALESCE(sum(calls), 0)::int8 FROM quota_counter WHERE hour_start >= to_timestamp($1)".to_owned(),
            a,
        )?;
        let n: i64 = match rows.first() {
            Some(r) => self.get(r, 0)?,
            None => 0,
        };
        Ok(n.max(0) as u64)
    }

    fn put_tempo_days(&self, days: &[TempoDay]) -> Result<u64> {
        let mut a = PgArguments::default();
        add(&mut a, days.iter().map(|d| d.day.to_string()).collect::<Vec<_>>())?;
        add(&mut a, days.iter().map(|d| d.color.clone()).collect::<Vec<_>>())?;
        add(&mut a, days.iter().map(|d| d.source.clone()).collect::<Vec<_>>())?;
        self.exec_args(
            "INSERT INTO tempo_day (day, color, source)
             SELECT d::date, c, s FROM UNNEST($1::text[], $2::text[], $3::text[]) AS t(d, c, s)
             ON CONFLICT (day) DO UPDATE SET color = excluded.color, source = excluded.source",
            a,
        )?;
        Ok(days.len() as u64)
    }

    fn tempo_days(&self) -> Result<Vec<TempoDay>> {
        let rows = self.rows(
            "SELECT to_char(day, 'YYYY-MM-DD'), color, source FROM tempo_day ORDER BY day".to_owned(),
            PgArguments::default(),
        )?;
        rows.iter()
            .map(|r| {
                let day: String = self.get(r, 0)?;
                Ok(TempoDay { day: self.day(&day)?, color: self.get(r, 1)?, source: self.get(r, 2)? })
            })
            .collect()
    }

    fn put_tariff_rows(&self, rows: &[TariffRow]) -> Result<u64> {
        let mut a = PgArguments::default();
        add(&mut a, rows.iter().map(|r| r.option.clone()).collect::<Vec<_>>())?;
        add(&mut a, rows.iter().map(|r| i32::try_from(r.kva).unwrap_or(i32::MAX)).collect::<Vec<_>>())?;
        add(&mut a, rows.iter().map(|r| r.start.to_string()).collect::<Vec<_>>())?;
        add(&mut a, rows.iter().map(|r| r.end.map(|d| d.to_string())).collect::<Vec<_>>())?;
        add(&mut a, rows.iter().map(|r| r.fixed_eur_per_year).collect::<Vec<_>>())?;
        add(&mut a, rows.iter().map(|r| r.prices_json.clone()).collect::<Vec<_>>())?;
        add(&mut a, rows.iter().map(|r| r.source.clone()).collect::<Vec<_>>())?;
        add(&mut a, rows.iter().map(|r| r.imported_at.as_second()).collect::<Vec<_>>())?;
        self.exec_args(
            "INSERT INTO tariff_row (option, kva, start_day, end_day, fixed_eur_per_year, prices_json, source, imported_at)
             SELECT o, k, s::date, e::date, f, p, src, to_timestamp(at)
             FROM UNNEST($1::text[], $2::int4[], $3::text[], $4::text[], $5::float8[], $6::text[], $7::text[], $8::int8[])
                  AS t(o, k, s, e, f, p, src, at)
             ON CONFLICT (option, kva, start_day) DO UPDATE SET
               end_day = excluded.end_day, fixed_eur_per_year = excluded.fixed_eur_per_year,
               prices_json = excluded.prices_json, source = excluded.source, imported_at = excluded.imported_at",
            a,
        )?;
        Ok(rows.len() as u64)
    }

    fn tariff_rows(&self) -> Result<Vec<TariffRow>> {
        let rows = self.rows(
            "SELECT option, kva, to_char(start_day, 'YYYY-MM-DD'), to_char(end_day, 'YYYY-MM-DD'), fixed_eur_per_year,
                    prices_json, source, extract(epoch from imported_at)::int8
             FROM tariff_row ORDER BY option, kva, start_day"
                .to_owned(),
            PgArguments::default(),
        )?;
        rows.iter()
            .map(|r| {
                let start: String = self.get(r, 2)?;
                let end: Option<String> = self.get(r, 3)?;
                let kva: i32 = self.get(r, 1)?;
                Ok(TariffRow {
                    option: self.get(r, 0)?,
                    kva: u32::try_from(kva).map_err(|e| self.bad(e))?,
                    start: self.day(&start)?,
                    end: end.map(|e| self.day(&e)).transpose()?,
                    fixed_eur_per_year: self.get(r, 4)?,
                    prices_json: self.get(r, 5)?,
                    source: self.get(r, 6)?,
                    imported_at: self.ts(self.get(r, 7)?)?,
                })
            })
            .collect()
    }
}

impl PgStore {
    fn pending_from_row(&self, r: &PgRow) -> Result<PendingConsent> {
        let client: Option<i16> = self.get(r, 3)?;
        Ok(PendingConsent {
            state: self.get(r, 0)?,
            generation: self.get::<String>(r, 1)?.parse::<Generation>().map_err(|e| self.bad(e))?,
            duration: self.get::<String>(r, 2)?.parse::<ConsentDuration>().map_err(|e| self.bad(e))?,
            sandbox_client: client.map(|c| u8::try_from(c).map_err(|e| self.bad(e))).transpose()?,
            created_at: self.ts(self.get(r, 4)?)?,
        })
    }
}
