//! Copying into a PostgreSQL store: the `import_*` methods write rows as
//! they are (readings without coverage, consents with their recorded
//! state, sync runs with their ids), for `copy_from_sqlite`, and
//! [`PgStore::table_counts`] checks the copy.

use dataconnect::{DateRange, Reading, Series, UsagePointId};
use jiff::Timestamp;
use sqlx::postgres::PgArguments;
use sqlx::{Arguments, AssertSqlSafe};

use super::{Arrays, PgStore, TableCount, add, args2, copy, meter_args, pg_error};
use crate::{ConsentRecord, MeterInfo, Result, SeriesState, SyncRun};

pub(super) const IMPORT_READINGS: &str =
    "INSERT INTO reading (usage_point_id, series, start, \"end\", value, unit, peak_at)
     SELECT $1, $2, to_timestamp(s), to_timestamp(e), v, u, to_timestamp(pk)
       FROM unnest($3::int8[], $4::int8[], $5::float8[], $6::text[], $7::int8[]) AS t(s, e, v, u, pk)
     ON CONFLICT (usage_point_id, series, start) DO UPDATE SET
       \"end\" = excluded.\"end\", value = excluded.value, unit = excluded.unit, peak_at = excluded.peak_at";

impl PgStore {
    /// Upserts readings of one meter and series without touching coverage,
    /// in one statement (used to copy a store, where coverage is copied as is).
    pub fn import_readings(&self, prm: &UsagePointId, series: Series, readings: &[Reading]) -> Result<u64> {
        let arrays = Arrays::new(readings);
        let n = arrays.len() as u64;
        let (prm, series) = (prm.as_str().to_owned(), series.as_str().to_owned());
        self.exec(
            move |a| {
                a.add(prm)?;
                a.add(series)?;
                arrays.bind(a)
            },
            IMPORT_READINGS,
        )?;
        Ok(n)
    }

    /// Folds a covered day range into the coverage of a meter and series.
    pub fn import_coverage(&self, prm: &UsagePointId, series: Series, range: DateRange) -> Result<()> {
        let (prm, series) = (prm.as_str().to_owned(), series.as_str().to_owned());
        let (from, to) = (range.start().to_string(), range.end().to_string());
        self.tx_exec(vec![
            ("SELECT dataconnect_lock_series($1, $2)", args2(&prm, &series)?),
            ("SELECT dataconnect_merge_coverage($1, $2, $3::date, $4::date)", {
                let mut a = args2(&prm, &series)?;
                add(&mut a, from)?;
                add(&mut a, to)?;
                a
            }),
        ])
    }

    /// Writes one consent row as it is (flags and reason included).
    pub fn import_consent(&self, c: &ConsentRecord) -> Result<()> {
        let mut a = PgArguments::default();
        add(&mut a, c.usage_point_id.as_str().to_owned())?;
        add(&mut a, c.generation.as_str().to_owned())?;
        add(&mut a, c.start.to_string())?;
        add(&mut a, c.duration.to_string())?;
        add(&mut a, c.expiry.to_string())?;
        add(&mut a, c.state.clone())?;
        add(&mut a, c.autorisation_id.clone())?;
        add(&mut a, c.needs_consent)?;
        add(&mut a, c.reason.clone())?;
        add(&mut a, c.recorded_at.as_second())?;
        self.exec_args(
            "INSERT INTO consent (usage_point_id, generation, start_day, duration, expiry_day, state,
                                  autorisation_id, needs_consent, reason, recorded_at)
             VALUES ($1, $2, $3::date, $4, $5::date, $6, $7, $8, $9, to_timestamp($10))
             ON CONFLICT (usage_point_id) DO UPDATE SET
               generation = excluded.generation, start_day = excluded.start_day, duration = excluded.duration,
               expiry_day = excluded.expiry_day, state = excluded.state, autorisation_id = excluded.autorisation_id,
               needs_consent = excluded.needs_consent, reason = excluded.reason, recorded_at = excluded.recorded_at",
            a,
        )
    }

    /// Writes one series state row as it is (a null sync time included).
    pub fn import_series_state(&self, s: &SeriesState) -> Result<()> {
        let mut a = args2(s.usage_point_id.as_str(), s.series.as_str())?;
        add(&mut a, s.last_synced_at.map(|t| t.as_second()))?;
        add(&mut a, s.stopped_reason.clone())?;
        self.exec_args(
            "INSERT INTO series_state (usage_point_id, series, last_synced_at, stopped_reason)
             VALUES ($1, $2, to_timestamp($3), $4)
             ON CONFLICT (usage_point_id, series) DO UPDATE SET
               last_synced_at = excluded.last_synced_at, stopped_reason = excluded.stopped_reason",
            a,
        )
    }

    /// Writes one meter row as it is (replacing, not merging, its fields).
    pub fn import_meter_info(&self, info: &MeterInfo) -> Result<()> {
        self.exec_args(
            "INSERT INTO meter (usage_point_id, contract_json, address_json, activation_day, updated_at)
             VALUES ($1, $2, $3, $4::date, to_timestamp($5))
             ON CONFLICT (usage_point_id) DO UPDATE SET
               contract_json = excluded.contract_json, address_json = excluded.address_json,
               activation_day = excluded.activation_day, updated_at = excluded.updated_at",
            meter_args(info)?,
        )
    }

    /// Writes one sync run with its id, and moves the id sequence past it,
    /// so that later runs get new ids.
    pub fn import_sync_run(&self, run: &SyncRun) -> Result<()> {
        let mut a = PgArguments::default();
        add(&mut a, run.id.0)?;
        add(&mut a, run.started_at.as_second())?;
        let o = run.outcome.as_ref();
        add(&mut a, o.map(|o| o.finished_at.as_second()))?;
        add(&mut a, o.map(|o| o.status.clone()).unwrap_or_else(|| "running".to_owned()))?;
        add(&mut a, o.map(|o| o.calls as i64).unwrap_or(0))?;
        add(&mut a, o.map(|o| o.points as i64).unwrap_or(0))?;
        add(&mut a, o.and_then(|o| o.message.clone()))?;
        self.tx_exec(vec![
            (
                "INSERT INTO sync_run (id, started_at, finished_at, status, calls, points, message)
                 VALUES ($1, to_timestamp($2), to_timestamp($3), $4, $5, $6, $7)
                 ON CONFLICT (id) DO UPDATE SET
                   started_at = excluded.started_at, finished_at = excluded.finished_at, status = excluded.status,
                   calls = excluded.calls, points = excluded.points, message = excluded.message",
                a,
            ),
            (
                "SELECT setval(pg_get_serial_sequence('sync_run', 'id'), (SELECT max(id) FROM sync_run))",
                PgArguments::default(),
            ),
        ])
    }

    /// Sets the data calls of one UTC hour (not added: copying twice gives the same count).
    pub fn import_quota_hour(&self, hour_start: Timestamp, calls: u64) -> Result<()> {
        let mut a = PgArguments::default();
        add(&mut a, hour_start.as_second())?;
        add(&mut a, calls as i64)?;
        self.exec_args(
            "INSERT INTO quota_counter (hour_start, calls) VALUES (to_timestamp($1), $2)
             ON CONFLICT (hour_start) DO UPDATE SET calls = excluded.calls",
            a,
        )
    }

    /// Rows per table, in a fixed order (for the copy's verification and `status`).
    pub fn table_counts(&self) -> Result<Vec<TableCount>> {
        let pool = self.pool.clone();
        let t = self.target.clone();
        self.run(async move {
            let mut out = Vec::new();
            for table in copy::TABLES {
                let sql = format!("SELECT count(*) FROM {table}");
                let n: i64 =
                    sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(&pool).await.map_err(|e| pg_error(&t, e))?;
                out.push(TableCount { table, rows: n.max(0) as u64 });
            }
            Ok(out)
        })
    }
}
