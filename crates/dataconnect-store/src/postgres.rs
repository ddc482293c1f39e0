//! The PostgreSQL backend of [`Store`](crate::Store), for operators who already run
//! PostgreSQL and outgrow one SQLite file (many meters, several processes).
//!
//! [`Store`](crate::Store) is synchronous while sqlx is async, so the store owns a small
//! private tokio runtime: each call builds an owned future, spawns it on that
//! runtime and waits for its answer on a plain channel. That works from a
//! plain thread and from inside another tokio runtime alike (where
//! `Handle::block_on` would panic), at the cost of blocking the calling
//! thread for the duration of the query, exactly as the SQLite backend does.
//!
//! What is stored is the same as in SQLite (see `migrations/postgres/`):
//! instants are `timestamptz` (bound as UTC epoch seconds and converted with
//! `to_timestamp`), Paris days are `date`. A fetched window is written by one
//! statement, a call of the `dataconnect_upsert_window` SQL function with the
//! readings as parallel arrays: one round trip, one transaction, readings and
//! coverage together. When the TimescaleDB extension is available the reading
//! table becomes a hypertable with a daily continuous aggregate
//! ([`timescale`]).

mod config;
mod copy;
mod errors;
mod import;
mod index;
mod migrate;
mod queue;
mod quota;
mod store;
mod timescale;

pub use config::{PgConfig, TimescaleMode};
pub use copy::{CopyReport, TableCount, copy_from_sqlite};
pub use quota::{PgSharedQuota, SharedQuotaState};

use config::check_schema;
use errors::open_error;
pub(crate) use errors::{encode_error, pg_error};

use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use dataconnect::{Reading, Series, UsagePointId};
use jiff::Timestamp;
use jiff::civil::Date;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Arguments, AssertSqlSafe, Row};

use crate::{MeterInfo, Result, StoreError, StoreErrorKind, redact_url};

/// The PostgreSQL implementation of [`Store`](crate::Store).
pub struct PgStore {
    pool: PgPool,
    /// Always `Some` until dropped (taken in `Drop` to shut it down).
    rt: Option<tokio::runtime::Runtime>,
    /// `host:port/database` (and the schema), for messages; never the password.
    target: String,
    timescale: bool,
    timescale_note: Option<String>,
    /// The schema it was opened in, when one was given.
    schema: Option<String>,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("target", &self.target)
            .field("timescale", &self.timescale)
            .finish_non_exhaustive()
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        let Some(rt) = self.rt.take() else { return };
        // Close the connections politely (the server otherwise logs an
        // unexpected EOF per connection), but never hang a dropping caller.
        let pool = self.pool.clone();
        let (tx, rx) = std::sync::mpsc::sync_channel::<()>(1);
        rt.spawn(async move {
            pool.close().await;
            let _ = tx.send(());
        });
        let _ = rx.recv_timeout(Duration::from_secs(2));
        // Unlike dropping it, this is allowed inside another runtime.
        rt.shutdown_background();
    }
}

impl PgStore {
    /// Connects, creates the schema if asked, applies the migrations this
    /// version knows and, when TimescaleDB is available (and not turned off),
    /// makes the reading table a hypertable.
    pub fn open(config: &PgConfig) -> Result<Self> {
        let shown = redact_url(&config.url);
        let mut options = PgConnectOptions::from_str(&config.url).map_err(|e| {
            StoreError::new(
                StoreErrorKind::CannotOpen,
                format!(
                    "{shown} is not a usable PostgreSQL URL ({e}): use postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
                ),
            )
        })?;
        options = options.application_name("dataconnect");
        if let Some(schema) = &config.schema {
            check_schema(schema)?;
            options = options.options([("search_path", schema.as_str())]);
        }
        let mut target = format!(
            "{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or(options.get_username())
        );
        if let Some(schema) = &config.schema {
            target.push_str(&format!(" (schema {schema})"));
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("dataconnect-pg")
            .enable_all()
            .build()
            .map_err(|e| {
                StoreError::new(StoreErrorKind::Other, format!("cannot start the PostgreSQL store's runtime: {e}"))
                    .with_source(e)
            })?;
        let pool_options =
            PgPoolOptions::new().max_connections(config.max_connections.max(1)).acquire_timeout(config.acquire_timeout);
        let connect_target = target.clone();
        let pool =
            wait(
                &rt,
                async move { pool_options.connect_with(options).await.map_err(|e| open_error(&connect_target, e)) },
            )?;
        let mut store = PgStore {
            pool,
            rt: Some(rt),
            target,
            timescale: false,
            timescale_note: None,
            schema: config.schema.clone(),
        };
        let pool = store.pool.clone();
        let schema = config.schema.clone();
        let t = store.target.clone();
        store.run(async move { migrate::apply(&pool, schema.as_deref(), &t).await })?;
        if config.timescale == TimescaleMode::Auto {
            let pool = store.pool.clone();
            let outcome = store.run(async move { Ok(timescale::enable(&pool).await) })?;
            store.timescale = outcome.enabled;
            store.timescale_note = outcome.note;
        }
        Ok(store)
    }

    /// True when the reading table is a TimescaleDB hypertable (with the
    /// `reading_daily` continuous aggregate).
    pub fn timescale(&self) -> bool {
        self.timescale
    }

    /// Why the tables stayed plain although TimescaleDB is installed, if so.
    pub fn timescale_note(&self) -> Option<&str> {
        self.timescale_note.as_deref()
    }

    /// The schema version the database is at.
    pub fn schema_version(&self) -> Result<i64> {
        let pool = self.pool.clone();
        let t = self.target.clone();
        self.run(async move { migrate::current(&pool, &t).await })
    }

    /// Where the store is (`host:port/database`, and the schema), without credentials.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Drops the schema this store was opened in, with everything in it, and
    /// closes the store: for throwaway stores (tests, benchmarks). Refused for
    /// a store opened without [`PgConfig::schema`], which lives in a schema
    /// it does not own.
    pub fn drop_schema(self) -> Result<()> {
        let Some(schema) = self.schema.clone() else {
            return Err(StoreError::new(
                StoreErrorKind::Other,
                "this PostgreSQL store was opened in the default schema, which is never dropped",
            ));
        };
        let pool = self.pool.clone();
        let t = self.target.clone();
        self.run(async move {
            // The name was checked to be a plain identifier (check_schema).
            sqlx::raw_sql(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")))
                .execute(&pool)
                .await
                .map_err(|e| pg_error(&t, e))?;
            Ok(())
        })
    }

    /// Runs `fut` on the store's runtime and waits for it on this thread.
    fn run<T: Send + 'static>(&self, fut: impl Future<Output = Result<T>> + Send + 'static) -> Result<T> {
        match &self.rt {
            Some(rt) => wait(rt, fut),
            None => Err(StoreError::new(StoreErrorKind::Other, "the PostgreSQL store is closed")),
        }
    }

    /// Executes one statement whose arguments `bind` adds.
    fn exec(
        &self,
        bind: impl FnOnce(&mut PgArguments) -> std::result::Result<(), sqlx::error::BoxDynError>,
        sql: &'static str,
    ) -> Result<()> {
        let mut a = PgArguments::default();
        bind(&mut a).map_err(|e| encode_error(&self.target, e))?;
        self.exec_args(sql, a)
    }

    fn exec_args(&self, sql: &'static str, args: PgArguments) -> Result<()> {
        let pool = self.pool.clone();
        let t = self.target.clone();
        self.run(async move {
            sqlx::query_with(sql, args).execute(&pool).await.map_err(|e| pg_error(&t, e))?;
            Ok(())
        })
    }

    /// Executes statements in order in one transaction.
    fn tx_exec(&self, statements: Vec<(&'static str, PgArguments)>) -> Result<()> {
        let pool = self.pool.clone();
        let t = self.target.clone();
        self.run(async move {
            let mut tx = pool.begin().await.map_err(|e| pg_error(&t, e))?;
            for (sql, args) in statements {
                sqlx::query_with(sql, args).execute(&mut *tx).await.map_err(|e| pg_error(&t, e))?;
            }
            tx.commit().await.map_err(|e| pg_error(&t, e))
        })
    }

    /// Fetches all rows of one query.
    fn rows(&self, sql: String, args: PgArguments) -> Result<Vec<PgRow>> {
        let pool = self.pool.clone();
        let t = self.target.clone();
        self.run(async move {
            sqlx::query_with(AssertSqlSafe(sql), args).fetch_all(&pool).await.map_err(|e| pg_error(&t, e))
        })
    }

    fn bad(&self, what: impl fmt::Display) -> StoreError {
        StoreError::new(
            StoreErrorKind::BadData,
            format!(
                "PostgreSQL store {} holds a value this version cannot read ({what}): was it written by another tool?",
                self.target
            ),
        )
    }

    fn get<'r, T>(&self, row: &'r PgRow, i: usize) -> Result<T>
    where
        T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    {
        row.try_get(i).map_err(|e| pg_error(&self.target, e))
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
}

/// Spawns `fut` on `rt` and blocks this thread until it answers. Blocking on
/// a std channel (not `block_on`) is what makes this usable inside another
/// runtime; a panic in the future drops the sender and becomes an error.
fn wait<T: Send + 'static>(
    rt: &tokio::runtime::Runtime,
    fut: impl Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    rt.spawn(async move {
        let _ = tx.send(fut.await);
    });
    rx.recv()
        .map_err(|_| StoreError::new(StoreErrorKind::Other, "a PostgreSQL store operation stopped without an answer"))?
}

fn add<'q, T>(a: &mut PgArguments, v: T) -> Result<()>
where
    T: sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + 'q,
{
    a.add(v).map_err(|e| StoreError::new(StoreErrorKind::Other, format!("cannot encode a query parameter: {e}")))
}

/// The five parameters of a `meter` row, in the order of its INSERTs (the
/// replacing one of `import_meter_info`, the merging one of `put_meter_info`).
fn meter_args(info: &MeterInfo) -> Result<PgArguments> {
    let mut a = PgArguments::default();
    add(&mut a, info.usage_point_id.as_str().to_owned())?;
    add(&mut a, info.contract_json.clone())?;
    add(&mut a, info.address_json.clone())?;
    add(&mut a, info.activation.map(|d| d.to_string()))?;
    add(&mut a, info.updated_at.as_second())?;
    Ok(a)
}

fn args2(a: &str, b: &str) -> Result<PgArguments> {
    let mut args = PgArguments::default();
    add(&mut args, a.to_owned())?;
    add(&mut args, b.to_owned())?;
    Ok(args)
}

/// The readings of a window as the parallel arrays the SQL functions take,
/// with at most one reading per start (the last one given wins, as with
/// successive upserts). A repeated key would otherwise make PostgreSQL's
/// `ON CONFLICT DO UPDATE` fail ("cannot affect row a second time").
struct Arrays {
    start: Vec<i64>,
    end: Vec<i64>,
    value: Vec<Option<f64>>,
    unit: Vec<&'static str>,
    peak: Vec<Option<i64>>,
}

impl Arrays {
    fn new(readings: &[Reading]) -> Self {
        let strictly_increasing = readings.windows(2).all(|w| w[0].start < w[1].start);
        let owned;
        let rows: &[Reading] = if strictly_increasing {
            readings
        } else {
            let mut last = std::collections::BTreeMap::new();
            for r in readings {
                last.insert(r.start, r);
            }
            owned = last.into_values().cloned().collect::<Vec<_>>();
            &owned
        };
        Arrays {
            start: rows.iter().map(|r| r.start.as_second()).collect(),
            end: rows.iter().map(|r| r.end.as_second()).collect(),
            value: rows.iter().map(|r| r.value).collect(),
            unit: rows.iter().map(|r| r.unit.as_str()).collect(),
            peak: rows.iter().map(|r| r.peak_at.map(|t| t.as_second())).collect(),
        }
    }

    fn len(&self) -> usize {
        self.start.len()
    }

    fn bind(self, a: &mut PgArguments) -> std::result::Result<(), sqlx::error::BoxDynError> {
        a.add(self.start)?;
        a.add(self.end)?;
        a.add(self.value)?;
        a.add(self.unit)?;
        a.add(self.peak)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dataconnect::Unit;

    #[test]
    fn repeated_starts_keep_the_last_reading() {
        let t = |s| Timestamp::from_second(s).unwrap();
        let r = |s, v| Reading { start: t(s), end: t(s + 1800), value: Some(v), unit: Unit::W, peak_at: None };
        let a = Arrays::new(&[r(1800, 1.0), r(0, 2.0), r(1800, 3.0)]);
        assert_eq!(a.start, vec![0, 1800]);
        assert_eq!(a.value, vec![Some(2.0), Some(3.0)]);
    }
}
