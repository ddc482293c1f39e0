//! Numbered `.sql` migrations of the PostgreSQL store, embedded in the binary
//! and applied in order, each version recorded in a `dataconnect_schema` table.
//!
//! sqlx's own migrator needs its `migrate` feature (and the macro for
//! embedding); an ordered list of `include_str!` files and one table is all
//! this needs. Every process that opens the store runs this: a transaction
//! holding an advisory lock makes concurrent openers (several workers on
//! several machines) apply each migration exactly once.

use sqlx::AssertSqlSafe;
use sqlx::postgres::PgPool;

use super::pg_error;
use crate::{Result, StoreError, StoreErrorKind};

/// The migrations, in order; migration `i` (0-based) is version `i + 1`.
/// Files are never edited once released: a change is a new file.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/0001_initial.sql"),
    include_str!("../../migrations/postgres/0002_work_queue.sql"),
    include_str!("../../migrations/postgres/0003_quota_lock_wait.sql"),
    include_str!("../../migrations/postgres/0004_costs.sql"),
    include_str!("../../migrations/postgres/0005_index_reading.sql"),
];

/// The advisory lock key that serialises migrations (the bytes of "dc-migr").
const LOCK_KEY: i64 = 0x0064_632d_6d69_6772;

/// Creates the schema if asked, then applies the missing migrations in one
/// transaction. Fails with [`StoreErrorKind::NewerSchema`] when the database
/// was migrated by a newer version.
pub(super) async fn apply(pool: &PgPool, schema: Option<&str>, target: &str) -> Result<()> {
    let err = |e| pg_error(target, e);
    let mut tx = pool.begin().await.map_err(err)?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(LOCK_KEY).execute(&mut *tx).await.map_err(err)?;
    if let Some(schema) = schema {
        // The name was checked to be a plain identifier (check_schema).
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"")))
            .execute(&mut *tx)
            .await
            .map_err(err)?;
    }
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS dataconnect_schema (
             version    integer     NOT NULL PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .execute(&mut *tx)
    .await
    .map_err(err)?;
    let version: i64 = sqlx::query_scalar("SELECT COALESCE(max(version), 0)::int8 FROM dataconnect_schema")
        .fetch_one(&mut *tx)
        .await
        .map_err(err)?;
    let latest = MIGRATIONS.len() as i64;
    if version > latest {
        return Err(StoreError::new(
            StoreErrorKind::NewerSchema,
            format!(
                "PostgreSQL store {target} was migrated by a newer dataconnect (schema {version}, this one knows {latest}): upgrade dataconnect"
            ),
        ));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        sqlx::raw_sql(*sql).execute(&mut *tx).await.map_err(err)?;
        sqlx::query("INSERT INTO dataconnect_schema (version) VALUES ($1)")
            .bind((i + 1) as i32)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
    }
    tx.commit().await.map_err(err)
}

/// The version the database is at.
pub(super) async fn current(pool: &PgPool, target: &str) -> Result<i64> {
    sqlx::query_scalar("SELECT COALESCE(max(version), 0)::int8 FROM dataconnect_schema")
        .fetch_one(pool)
        .await
        .map_err(|e| pg_error(target, e))
}
