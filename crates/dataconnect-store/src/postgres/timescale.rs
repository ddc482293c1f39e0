//! TimescaleDB, when the server has it: the reading table becomes a
//! hypertable (chunks of 30 days on `start`) and a continuous aggregate
//! `reading_daily` keeps per Paris day the points, the sum, the energy and
//! the maximum of every meter and series.
//!
//! The reading table's primary key (usage point, series, start) already holds
//! the time column, as TimescaleDB requires of every unique index, so the
//! upserts of `dataconnect_upsert_window` work unchanged on a hypertable.
//! Without the extension (or without the right to create it) the tables stay
//! plain and everything else behaves the same.
//!
//! This path is written from TimescaleDB's documentation (create_hypertable
//! with `migrate_data`, time zone aware `time_bucket` in continuous aggregates
//! since 2.8, real-time aggregation through `materialized_only = false`); the
//! machine this was written on has no TimescaleDB, so it is untested here.
//! A failure past the extension check leaves plain tables and says why in
//! [`PgStore::timescale_note`](super::PgStore::timescale_note) rather than
//! refusing to open the store.

use sqlx::AssertSqlSafe;
use sqlx::postgres::PgPool;

/// What [`enable`] found or did.
pub(super) struct Outcome {
    /// True when the reading table is a hypertable.
    pub enabled: bool,
    /// Why it is not, when TimescaleDB is installed but the conversion failed.
    pub note: Option<String>,
}

/// The advisory lock key that serialises the conversion ("dc-tsdb").
const LOCK_KEY: i64 = 0x0064_632d_7473_6462;

pub(super) async fn enable(pool: &PgPool) -> Outcome {
    match try_enable(pool).await {
        Ok(enabled) => Outcome { enabled, note: None },
        Err(e) => Outcome {
            enabled: false,
            note: Some(format!("TimescaleDB is installed but the hypertable could not be set up: {e}")),
        },
    }
}

async fn try_enable(pool: &PgPool) -> Result<bool, sqlx::Error> {
    let available: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')")
            .fetch_one(pool)
            .await?;
    if !available {
        return Ok(false);
    }
    // The extension needs to be preloaded by the server and created by a
    // privileged user; failing either, the store keeps plain tables. It goes
    // into `public`, not into this store's schema (the first of its
    // search_path), so that dropping a throwaway store's schema never drops
    // the extension from under the other stores of the database.
    if sqlx::raw_sql("CREATE EXTENSION IF NOT EXISTS timescaledb WITH SCHEMA public").execute(pool).await.is_err() {
        return Ok(false);
    }
    // Its functions live in the schema it was created in, which may not be on
    // this store's search_path (a store in its own schema): qualify them.
    let ext: String = sqlx::query_scalar(
        "SELECT quote_ident(n.nspname) FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
          WHERE e.extname = 'timescaledb'",
    )
    .fetch_one(pool)
    .await?;

    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(LOCK_KEY).execute(&mut *tx).await?;
    let is_hypertable: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM timescaledb_information.hypertables
                         WHERE hypertable_schema = current_schema() AND hypertable_name = 'reading')",
    )
    .fetch_one(&mut *tx)
    .await?;
    if !is_hypertable {
        sqlx::raw_sql(AssertSqlSafe(format!(
            "SELECT {ext}.create_hypertable('reading', 'start', chunk_time_interval => INTERVAL '30 days',
                                            migrate_data => true, if_not_exists => true)"
        )))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;

    let has_aggregate: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM timescaledb_information.continuous_aggregates
                         WHERE view_schema = current_schema() AND view_name = 'reading_daily')",
    )
    .fetch_one(pool)
    .await?;
    if !has_aggregate {
        // A continuous aggregate cannot be created inside a transaction
        // block, so this runs on its own; a concurrent opener creating it
        // first makes this fail with "already exists", which is fine.
        let created = sqlx::raw_sql(AssertSqlSafe(format!(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS reading_daily
               WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
             SELECT usage_point_id, series,
                    {ext}.time_bucket(INTERVAL '1 day', start, 'Europe/Paris') AS day,
                    count(*) AS points,
                    count(value) AS valued,
                    sum(value) AS sum_value,
                    sum(value * extract(epoch from (\"end\" - start))::float8 / 3600.0) AS energy_wh,
                    max(value) AS max_value
               FROM reading
              GROUP BY usage_point_id, series, day
             WITH NO DATA"
        )))
        .execute(pool)
        .await;
        if let Err(e) = created {
            let exists: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM timescaledb_information.continuous_aggregates
                                 WHERE view_schema = current_schema() AND view_name = 'reading_daily')",
            )
            .fetch_one(pool)
            .await?;
            if !exists {
                return Err(e);
            }
        }
        // Refresh every hour what changed (the invalidation log makes a
        // refresh cost what changed, so no start offset is needed); the
        // last day stays real-time, read from the raw rows.
        sqlx::raw_sql(AssertSqlSafe(format!(
            "SELECT {ext}.add_continuous_aggregate_policy('reading_daily', start_offset => NULL,
                     end_offset => INTERVAL '1 day', schedule_interval => INTERVAL '1 hour', if_not_exists => true)"
        )))
        .execute(pool)
        .await?;
    }
    Ok(true)
}
