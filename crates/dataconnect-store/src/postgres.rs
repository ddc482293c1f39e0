//! The PostgreSQL backend of [`Store`], for operators who already run
//! PostgreSQL and outgrow one SQLite file (many meters, several processes).
//!
//! [`Store`] is synchronous while sqlx is async, so the store owns a small
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

mod copy;
mod index;
mod migrate;
mod queue;
mod timescale;

pub use copy::{CopyReport, TableCount, copy_from_sqlite};
pub use queue::{PgSharedQuota, SharedQuotaState};

use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use dataconnect::{Consent, ConsentDuration, DateRange, Generation, Reading, Series, Unit, UsagePointId};
use jiff::Timestamp;
use jiff::civil::Date;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Arguments, AssertSqlSafe, Row};

use crate::{
    ConsentRecord, MeterInfo, PendingConsent, ReadingFilter, Result, SeriesState, SeriesSummary, Store, StoreError,
    StoreErrorKind, StoredReading, SyncRun, SyncRunId, SyncRunOutcome, WindowWrite,
};

/// Rows fetched per page by [`Store::for_each_reading`]: large enough that
/// the round trips are a small part of an export, small enough that memory
/// stays flat (two pages are held at most, the one being visited and the
/// next one being fetched).
const PAGE: i64 = 5_000;

/// Whether to use TimescaleDB when it is installed on the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TimescaleMode {
    /// Create the extension if the server has it (and the user may), then make
    /// the reading table a hypertable with a daily continuous aggregate;
    /// keep plain tables otherwise.
    #[default]
    Auto,
    /// Plain tables, even where TimescaleDB is available.
    Off,
}

/// Where and how to open a PostgreSQL store.
#[derive(Clone)]
pub struct PgConfig {
    /// A `postgres://` or `postgresql://` URL (libpq's URL syntax, as sqlx reads it).
    pub url: String,
    /// The schema holding the tables, created if needed; `None` uses the
    /// server's `search_path` (normally `public`). Tests give each run its
    /// own schema so that they can run concurrently and again.
    pub schema: Option<String>,
    /// Connections in the pool (several callers can query at once).
    pub max_connections: u32,
    /// How long to wait for a connection before failing with [`StoreErrorKind::Busy`]
    /// (or [`StoreErrorKind::CannotOpen`] when the server does not answer at opening).
    pub acquire_timeout: Duration,
    /// Whether to use TimescaleDB when available.
    pub timescale: TimescaleMode,
}

impl PgConfig {
    /// A store at `url`, in the default schema, with 4 connections, a 10 s
    /// timeout and TimescaleDB when available.
    pub fn new(url: impl Into<String>) -> Self {
        PgConfig {
            url: url.into(),
            schema: None,
            max_connections: 4,
            acquire_timeout: Duration::from_secs(10),
            timescale: TimescaleMode::Auto,
        }
    }

    /// True for the URLs this backend takes (`postgres://…`, `postgresql://…`).
    pub fn is_postgres_url(s: &str) -> bool {
        let lower = s.get(..13).unwrap_or(s).to_ascii_lowercase();
        lower.starts_with("postgres://") || lower.starts_with("postgresql://")
    }
}

impl fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may hold a password.
        f.debug_struct("PgConfig")
            .field("url", &redact_url(&self.url))
            .field("schema", &self.schema)
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("timescale", &self.timescale)
            .finish()
    }
}

/// The URL with its password, if any, replaced by `[redacted]`, for messages.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return "[redacted]".to_owned() };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:[redacted]@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// The PostgreSQL implementation of [`Store`].
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

/// Builds a schema-qualified-free identifier check: schema names are
/// interpolated into `CREATE SCHEMA` and `search_path`, so only plain
/// lower-case identifiers are accepted.
fn check_schema(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    if ok {
        Ok(())
    } else {
        Err(StoreError::new(
            StoreErrorKind::CannotOpen,
            format!("schema name {name:?} is not a plain identifier: use lower-case letters, digits and _"),
        ))
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

fn encode_error(target: &str, e: sqlx::error::BoxDynError) -> StoreError {
    StoreError::new(StoreErrorKind::Other, format!("PostgreSQL store {target}: cannot encode a query parameter: {e}"))
}

/// Classifies an error met while connecting.
fn open_error(target: &str, e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Configuration(_) => {
            StoreError::new(
                StoreErrorKind::CannotOpen,
                format!("cannot connect to PostgreSQL at {target}: {e}: check that the server runs and that --db names the right host and port"),
            )
            .with_source(e)
        }
        _ => pg_error(target, e),
    }
}

/// Classifies a PostgreSQL error by what the user must do about it.
pub(crate) fn pg_error(target: &str, e: sqlx::Error) -> StoreError {
    let (kind, message) = match &e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            // The server's message names the object, never a row's values
            // (those go to the detail, which is not shown).
            let msg = db.message();
            match code.as_str() {
                "25006" => (
                    StoreErrorKind::ReadOnly,
                    format!("PostgreSQL store {target} is read-only ({msg}): point --db at the primary server"),
                ),
                "42501" => (
                    StoreErrorKind::ReadOnly,
                    format!(
                        "PostgreSQL store {target}: permission denied ({msg}): grant the user rights on the schema"
                    ),
                ),
                "3D000" => (
                    StoreErrorKind::CannotOpen,
                    format!("PostgreSQL store {target}: {msg}: create it first (createdb) or fix --db"),
                ),
                "28P01" | "28000" => (
                    StoreErrorKind::CannotOpen,
                    format!("PostgreSQL store {target}: {msg}: check the user and password in --db"),
                ),
                "40001" | "40P01" | "55P03" | "57014" => {
                    (StoreErrorKind::Busy, format!("PostgreSQL store {target} is busy ({msg}): try again"))
                }
                "53100" => {
                    (StoreErrorKind::Other, format!("PostgreSQL store {target}: the server's disk is full ({msg})"))
                }
                _ => (StoreErrorKind::Other, format!("PostgreSQL store {target}: {msg} (SQLSTATE {code})")),
            }
        }
        sqlx::Error::PoolTimedOut => (
            StoreErrorKind::Busy,
            format!(
                "PostgreSQL store {target}: no connection became free in time: try again, or raise the server's max_connections"
            ),
        ),
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
            (StoreErrorKind::CannotOpen, format!("lost the connection to PostgreSQL at {target}: {e}"))
        }
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            (StoreErrorKind::BadData, format!("PostgreSQL store {target} holds a value this version cannot read: {e}"))
        }
        _ => (StoreErrorKind::Other, format!("PostgreSQL store {target}: {e}")),
    };
    StoreError::new(kind, message).with_source(e)
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

const UPSERT_WINDOW: &str = "SELECT dataconnect_upsert_window($1, $2, $3::date, $4::date, $5, $6, $7, $8, $9)";

const IMPORT_READINGS: &str = "INSERT INTO reading (usage_point_id, series, start, \"end\", value, unit, peak_at)
     SELECT $1, $2, to_timestamp(s), to_timestamp(e), v, u, to_timestamp(pk)
       FROM unnest($3::int8[], $4::int8[], $5::float8[], $6::text[], $7::int8[]) AS t(s, e, v, u, pk)
     ON CONFLICT (usage_point_id, series, start) DO UPDATE SET
       \"end\" = excluded.\"end\", value = excluded.value, unit = excluded.unit, peak_at = excluded.peak_at";

const READING_COLUMNS: &str =
    "usage_point_id, series, extract(epoch from start)::int8, extract(epoch from \"end\")::int8,
     value, unit, extract(epoch from peak_at)::int8";

/// The WHERE conditions of a reading filter, with their arguments numbered
/// from `$1`; returns the conditions and the next free parameter number.
fn filter_sql(filter: &ReadingFilter, a: &mut PgArguments) -> Result<(Vec<String>, usize)> {
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

fn where_sql(clauses: &[String]) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_recognised_and_passwords_redacted() {
        assert!(PgConfig::is_postgres_url("postgres://u@h/db"));
        assert!(PgConfig::is_postgres_url("PostgreSQL://u@h/db"));
        assert!(!PgConfig::is_postgres_url("store.db"));
        assert!(!PgConfig::is_postgres_url("postgres"));
        assert_eq!(redact_url("postgres://u:s3cret@h:5432/db"), "postgres://u:[redacted]@h:5432/db");
        assert_eq!(redact_url("postgres://u@h/db?x=1"), "postgres://u@h/db?x=1");
        assert_eq!(redact_url("postgres://u:p@ss@h/db"), "postgres://u:[redacted]@h/db");
        let config = PgConfig::new("postgres://u:s3cret@h/db");
        assert!(!format!("{config:?}").contains("s3cret"));
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(check_schema("dc_test_1").is_ok());
        assert!(check_schema("1abc").is_err());
        assert!(check_schema("a; drop table x").is_err());
        assert!(check_schema("").is_err());
    }

    #[test]
    fn repeated_starts_keep_the_last_reading() {
        let t = |s| Timestamp::from_second(s).unwrap();
        let r = |s, v| Reading { start: t(s), end: t(s + 1800), value: Some(v), unit: Unit::W, peak_at: None };
        let a = Arrays::new(&[r(1800, 1.0), r(0, 2.0), r(1800, 3.0)]);
        assert_eq!(a.start, vec![0, 1800]);
        assert_eq!(a.value, vec![Some(2.0), Some(3.0)]);
    }
}
