//! The quota budget of an application kept in PostgreSQL and shared by
//! every process using the database ([`PgSharedQuota`], on the tables of
//! migrations 0002 and 0003): one row per API holding the next free send
//! slot, handed out by one SQL function call per request on the database's
//! clock, so that processes on several machines stay inside one budget.

use std::time::Duration;

use dataconnect::{QuotaConfig, QuotaFuture, SHARED_MARGIN_STEP, SHARED_MAX_MARGIN, SHARED_SECOND_MARGIN, SharedQuota};
use sqlx::Row;
use sqlx::postgres::{PgArguments, PgPool};

use super::queue::millis;
use super::{PgStore, pg_error};
use crate::Result;

impl PgStore {
    /// Where the shared quota stands (see [`PgSharedQuota`]), one row per
    /// API that has reserved a slot, for `dataconnect status`: the calls
    /// counted in the current UTC clock hour (slots handed out, including
    /// the few just ahead of now and the ones a killed process never used),
    /// the margin the per-second spacing has widened to, and until when a
    /// 429 closed the budget, if it still is.
    pub fn shared_quota_state(&self) -> Result<Vec<SharedQuotaState>> {
        let rows = self.rows(
            "SELECT g.api, COALESCE(h.calls, 0)::int8, g.margin_ms::int8,
                    CASE WHEN g.closed_until > clock_timestamp()
                         THEN (extract(epoch FROM g.closed_until) * 1000)::int8 END
               FROM quota_gate g
               LEFT JOIN quota_gate_hour h
                 ON h.api = g.api AND h.hour_start = date_trunc('hour', clock_timestamp(), 'UTC')
              ORDER BY g.api"
                .to_owned(),
            PgArguments::default(),
        )?;
        rows.iter()
            .map(|r| {
                let closed: Option<i64> = self.get(r, 3)?;
                Ok(SharedQuotaState {
                    api: self.get(r, 0)?,
                    calls_this_hour: self.get::<i64>(r, 1)?.max(0) as u64,
                    margin_ms: u32::try_from(self.get::<i64>(r, 2)?.max(0)).unwrap_or(u32::MAX),
                    closed_until: match closed {
                        Some(ms) => Some(jiff::Timestamp::from_millisecond(ms).map_err(|e| self.bad(e))?),
                        None => None,
                    },
                })
            })
            .collect()
    }

    /// The quota budget shared by every process that uses this database,
    /// with the budgets of `config` (see [`PgSharedQuota`]). It uses the
    /// store's connections, so the store must outlive it.
    pub fn shared_quota(&self, config: QuotaConfig) -> Result<PgSharedQuota> {
        Ok(PgSharedQuota {
            pool: self.pool.clone(),
            handle: self.runtime()?.handle().clone(),
            target: self.target.clone(),
            config,
        })
    }
}

/// One API's line of the shared quota (see [`PgStore::shared_quota_state`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedQuotaState {
    /// The API (`application` for the generations with one budget).
    pub api: String,
    /// Calls counted in the current UTC clock hour.
    pub calls_this_hour: u64,
    /// The margin added to each one-second window, in milliseconds (40 at
    /// first, wider after per-second 429s).
    pub margin_ms: u32,
    /// Until when a 429 closed every process's budget, when it still is.
    pub closed_until: Option<jiff::Timestamp>,
}

/// The quota budget of an application, kept in PostgreSQL and shared by
/// every process using the database (see the module docs and migration
/// 0002): one round trip per request hands out its send slot, slots are
/// spaced `(1 s + margin) / per_second` apart on the database's clock, calls
/// are counted per API and clock hour, and a 429 closes the budget for all.
pub struct PgSharedQuota {
    pool: PgPool,
    handle: tokio::runtime::Handle,
    target: String,
    config: QuotaConfig,
}

impl std::fmt::Debug for PgSharedQuota {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgSharedQuota").field("target", &self.target).field("config", &self.config).finish()
    }
}

impl PgSharedQuota {
    /// Spawns `fut` on the store's runtime (where its connections live) and
    /// waits for it without blocking the caller's runtime.
    async fn on_store<T: Send + 'static>(
        &self,
        fut: impl std::future::Future<Output = Result<T>> + Send + 'static,
    ) -> std::result::Result<T, dataconnect::SharedQuotaError> {
        match self.handle.spawn(fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(Box::new(e)),
            Err(e) => Err(format!("the PostgreSQL store's runtime stopped: {e}").into()),
        }
    }
}

impl SharedQuota for PgSharedQuota {
    /// The slot of [`reserve_timed`](Self::reserve_timed), without the
    /// lock wait.
    fn reserve<'a>(&'a self, api: &'static str) -> QuotaFuture<'a, Duration> {
        Box::pin(async move { Ok(self.reserve_timed(api).await?.wait) })
    }

    /// One round trip, through migration 0003's function, which also
    /// reports the time spent waiting for the budget's row lock.
    fn reserve_timed<'a>(&'a self, api: &'static str) -> QuotaFuture<'a, dataconnect::Reservation> {
        let pool = self.pool.clone();
        let t = self.target.clone();
        let per_second = i32::try_from(self.config.per_second.max(1)).unwrap_or(i32::MAX);
        let per_hour = i32::try_from(self.config.per_hour.max(1)).unwrap_or(i32::MAX);
        let margin = i32::try_from(SHARED_SECOND_MARGIN.as_millis()).unwrap_or(40);
        Box::pin(async move {
            let pair: Vec<f64> = self
                .on_store(async move {
                    sqlx::query("SELECT dataconnect_quota_reserve_timed($1, $2, $3, $4)")
                        .bind(api)
                        .bind(per_second)
                        .bind(per_hour)
                        .bind(margin)
                        .fetch_one(&pool)
                        .await
                        .and_then(|r| r.try_get::<Vec<f64>, _>(0))
                        .map_err(|e| pg_error(&t, e))
                })
                .await?;
            let secs = |i: usize| {
                Duration::try_from_secs_f64(pair.get(i).copied().unwrap_or(0.0).max(0.0)).unwrap_or(Duration::ZERO)
            };
            Ok(dataconnect::Reservation { wait: secs(0), queued: secs(1) })
        })
    }

    fn close_for<'a>(&'a self, wait: Duration, widen: bool) -> QuotaFuture<'a, ()> {
        let pool = self.pool.clone();
        let t = self.target.clone();
        let step = i32::try_from(SHARED_MARGIN_STEP.as_millis()).unwrap_or(40);
        let max = i32::try_from(SHARED_MAX_MARGIN.as_millis()).unwrap_or(400);
        Box::pin(async move {
            self.on_store(async move {
                sqlx::query("SELECT dataconnect_quota_close($1, $2, $3, $4)")
                    .bind(millis(wait))
                    .bind(widen)
                    .bind(step)
                    .bind(max)
                    .execute(&pool)
                    .await
                    .map_err(|e| pg_error(&t, e))?;
                Ok(())
            })
            .await
        })
    }
}
