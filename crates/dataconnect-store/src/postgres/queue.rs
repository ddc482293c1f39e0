//! The PostgreSQL work queue ([`WorkQueue`]), on the tables of migration
//! 0002 (the quota shared by every process is next door, in `quota.rs`).
//!
//! Claims use `FOR UPDATE SKIP LOCKED`, so concurrent claimers never wait
//! for each other nor take the same row, and leases end on the database's
//! clock (`clock_timestamp()`), so workers on machines with skewed clocks
//! agree on when a lease ran out.

use std::collections::HashMap;
use std::time::Duration;

use dataconnect::{DateRange, Reading, Series, UsagePointId};
use sqlx::postgres::{PgArguments, PgRow};

use super::{Arrays, PgStore, add, encode_error, pg_error, wait};
use crate::queue::{Lease, Planner, PlanningView, QueueCounts, QueueFilter, QueuedWindow, WorkQueue};
use crate::{Result, StoreError, StoreErrorKind};

/// The advisory lock that serialises planners (the bytes of "dc-plan").
const PLAN_LOCK: i64 = 0x0064_632d_706c_616e;

/// `d` in whole milliseconds, as the SQL functions take durations.
pub(super) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The filter's arrays (empty = all) as two text[] parameters.
fn add_filter(a: &mut PgArguments, f: &QueueFilter) -> Result<()> {
    add(a, f.prms.iter().map(|p| p.as_str().to_owned()).collect::<Vec<_>>())?;
    add(a, f.series.iter().map(|s| s.as_str().to_owned()).collect::<Vec<_>>())
}

const LEASE_COLUMNS: &str = "q.id, q.usage_point_id, q.series, to_char(q.day_from, 'YYYY-MM-DD'),
     to_char(q.day_to, 'YYYY-MM-DD'), q.priority, q.seq, q.claims";

impl PgStore {
    pub(super) fn runtime(&self) -> Result<&tokio::runtime::Runtime> {
        self.rt.as_ref().ok_or_else(|| StoreError::new(StoreErrorKind::Other, "the PostgreSQL store is closed"))
    }

    fn lease_from_row(&self, r: &PgRow) -> Result<Lease> {
        let from: String = self.get(r, 3)?;
        let to: String = self.get(r, 4)?;
        Ok(Lease {
            id: self.get(r, 0)?,
            prm: self.prm(&self.get::<String>(r, 1)?)?,
            series: self.series(&self.get::<String>(r, 2)?)?,
            window: DateRange::new(self.day(&from)?, self.day(&to)?).map_err(|e| self.bad(e))?,
            priority: self.get(r, 5)?,
            seq: self.get(r, 6)?,
            claims: self.get(r, 7)?,
        })
    }

    fn affected(&self, sql: &'static str, args: PgArguments) -> Result<u64> {
        let pool = self.pool.clone();
        let t = self.target.clone();
        self.run(async move {
            Ok(sqlx::query_with(sql, args).execute(&pool).await.map_err(|e| pg_error(&t, e))?.rows_affected())
        })
    }
}

impl WorkQueue for PgStore {
    fn plan_and_enqueue(&self, targets: &[(UsagePointId, Series)], plan: &mut Planner<'_>) -> Result<u64> {
        let rt = self.runtime()?;
        // The transaction crosses from the runtime to this thread and back;
        // entering the runtime makes its drop (a rollback, should the
        // planner fail) legal here too.
        let _entered = rt.enter();
        let prms: Vec<String> = targets.iter().map(|(p, _)| p.as_str().to_owned()).collect();
        let series: Vec<String> = targets.iter().map(|(_, s)| s.as_str().to_owned()).collect();
        let (pool, t) = (self.pool.clone(), self.target.clone());
        let (tx, rows) = wait(rt, async move {
            let err = |e| pg_error(&t, e);
            let mut tx = pool.begin().await.map_err(err)?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(PLAN_LOCK).execute(&mut *tx).await.map_err(err)?;
            // One statement, so one snapshot: a window completed between two
            // reads would otherwise look neither covered nor queued.
            let rows = sqlx::query(
                "WITH t(p, s) AS (SELECT * FROM unnest($1::text[], $2::text[]))
                 SELECT false, c.usage_point_id, c.series, to_char(c.start_day, 'YYYY-MM-DD'), to_char(c.end_day, 'YYYY-MM-DD')
                   FROM coverage c JOIN t ON c.usage_point_id = t.p AND c.series = t.s
                 UNION ALL
                 SELECT true, q.usage_point_id, q.series, to_char(q.day_from, 'YYYY-MM-DD'), to_char(q.day_to, 'YYYY-MM-DD')
                   FROM work_queue q JOIN t ON q.usage_point_id = t.p AND q.series = t.s",
            )
            .bind(prms)
            .bind(series)
            .fetch_all(&mut *tx)
            .await
            .map_err(err)?;
            Ok((tx, rows))
        })?;
        let mut views: HashMap<(String, String), PlanningView> = HashMap::new();
        for r in &rows {
            let queued: bool = self.get(r, 0)?;
            let key = (self.get::<String>(r, 1)?, self.get::<String>(r, 2)?);
            let (from, to): (String, String) = (self.get(r, 3)?, self.get(r, 4)?);
            let range = DateRange::new(self.day(&from)?, self.day(&to)?).map_err(|e| self.bad(e))?;
            let view = views.entry(key).or_default();
            if queued { view.queued.push(range) } else { view.coverage.push(range) }
        }
        let mut windows: Vec<QueuedWindow> = Vec::new();
        let empty = PlanningView::default();
        for (prm, s) in targets {
            let mut view = views.get(&(prm.as_str().to_owned(), s.as_str().to_owned())).unwrap_or(&empty).clone();
            view.coverage.sort();
            view.queued.sort();
            windows.extend(plan(prm, *s, &view));
        }
        let mut a = PgArguments::default();
        add(&mut a, windows.iter().map(|w| w.prm.as_str().to_owned()).collect::<Vec<_>>())?;
        add(&mut a, windows.iter().map(|w| w.series.as_str().to_owned()).collect::<Vec<_>>())?;
        add(&mut a, windows.iter().map(|w| w.window.start().to_string()).collect::<Vec<_>>())?;
        add(&mut a, windows.iter().map(|w| w.window.end().to_string()).collect::<Vec<_>>())?;
        add(&mut a, windows.iter().map(|w| w.priority).collect::<Vec<_>>())?;
        add(&mut a, windows.iter().map(|w| w.seq).collect::<Vec<_>>())?;
        let t = self.target.clone();
        let mut tx = tx;
        wait(rt, async move {
            let err = |e| pg_error(&t, e);
            let n = sqlx::query_with(
                "INSERT INTO work_queue (usage_point_id, series, day_from, day_to, priority, seq)
                 SELECT p, s, f::date, e::date, pr, sq
                   FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int2[], $6::int4[]) AS t(p, s, f, e, pr, sq)
                 ON CONFLICT (usage_point_id, series, day_from) DO NOTHING",
                a,
            )
            .execute(&mut *tx)
            .await
            .map_err(err)?
            .rows_affected();
            tx.commit().await.map_err(err)?;
            Ok(n)
        })
    }

    fn claim(&self, owner: &str, n: u32, lease: Duration, filter: &QueueFilter) -> Result<Vec<Lease>> {
        let mut a = PgArguments::default();
        add(&mut a, owner.to_owned())?;
        add(&mut a, millis(lease))?;
        add(&mut a, i64::from(n.max(1)))?;
        add_filter(&mut a, filter)?;
        let rows = self.rows(
            format!(
                "WITH picked AS (
                   SELECT w.id FROM work_queue w
                    WHERE (w.lease_until IS NULL OR w.lease_until < clock_timestamp())
                      AND (w.seq = 0 OR NOT EXISTS (
                            SELECT 1 FROM work_queue p
                             WHERE p.usage_point_id = w.usage_point_id AND p.series = w.series AND p.seq = 0))
                      AND (cardinality($4::text[]) = 0 OR w.usage_point_id = ANY($4::text[]))
                      AND (cardinality($5::text[]) = 0 OR w.series = ANY($5::text[]))
                    ORDER BY w.priority, w.seq, w.id
                    LIMIT $3
                    FOR UPDATE SKIP LOCKED)
                 UPDATE work_queue q
                    SET lease_owner = $1, lease_until = clock_timestamp() + $2 * interval '1 millisecond',
                        claims = q.claims + 1
                   FROM picked WHERE q.id = picked.id
                 RETURNING {LEASE_COLUMNS}"
            ),
            a,
        )?;
        let mut leases = rows.iter().map(|r| self.lease_from_row(r)).collect::<Result<Vec<_>>>()?;
        leases.sort_by_key(|l| (l.priority, l.seq, l.id));
        Ok(leases)
    }

    fn renew_leases(&self, owner: &str, lease: Duration) -> Result<u64> {
        let mut a = PgArguments::default();
        add(&mut a, owner.to_owned())?;
        add(&mut a, millis(lease))?;
        self.affected(
            "UPDATE work_queue SET lease_until = clock_timestamp() + $2 * interval '1 millisecond' WHERE lease_owner = $1",
            a,
        )
    }

    fn complete(&self, lease: &Lease, readings: &[Reading]) -> Result<u64> {
        let arrays = Arrays::new(readings);
        let mut a = PgArguments::default();
        add(&mut a, lease.id)?;
        add(&mut a, lease.prm.as_str().to_owned())?;
        add(&mut a, lease.series.as_str().to_owned())?;
        add(&mut a, lease.window.start().to_string())?;
        add(&mut a, lease.window.end().to_string())?;
        arrays.bind(&mut a).map_err(|e| encode_error(&self.target, e))?;
        self.exec_args("SELECT dataconnect_complete_window($1, $2, $3, $4::date, $5::date, $6, $7, $8, $9, $10)", a)?;
        Ok(readings.len() as u64)
    }

    fn complete_index(&self, lease: &Lease, readings: &[dataconnect::IndexReading]) -> Result<u64> {
        self.complete_index_window(lease, readings)
    }

    fn drop_window(&self, id: i64) -> Result<()> {
        let mut a = PgArguments::default();
        add(&mut a, id)?;
        self.exec_args("DELETE FROM work_queue WHERE id = $1", a)
    }

    fn drop_queued(&self, prm: &UsagePointId, series: Option<Series>) -> Result<u64> {
        let mut a = PgArguments::default();
        add(&mut a, prm.as_str().to_owned())?;
        add(&mut a, series.map(|s| s.as_str().to_owned()))?;
        self.affected("DELETE FROM work_queue WHERE usage_point_id = $1 AND ($2::text IS NULL OR series = $2)", a)
    }

    fn release(&self, owner: &str, id: Option<i64>) -> Result<u64> {
        let mut a = PgArguments::default();
        add(&mut a, owner.to_owned())?;
        add(&mut a, id)?;
        self.affected(
            "UPDATE work_queue SET lease_owner = NULL, lease_until = NULL
              WHERE lease_owner = $1 AND ($2::int8 IS NULL OR id = $2)",
            a,
        )
    }

    fn queue_counts(&self, filter: &QueueFilter) -> Result<QueueCounts> {
        let mut a = PgArguments::default();
        add_filter(&mut a, filter)?;
        let rows = self.rows(
            "SELECT count(*)::int8, (count(*) FILTER (WHERE lease_until > clock_timestamp()))::int8 FROM work_queue
              WHERE (cardinality($1::text[]) = 0 OR usage_point_id = ANY($1::text[]))
                AND (cardinality($2::text[]) = 0 OR series = ANY($2::text[]))"
                .to_owned(),
            a,
        )?;
        let r = rows.first().ok_or_else(|| self.bad("no answer to a count"))?;
        Ok(QueueCounts { queued: self.get::<i64>(r, 0)?.max(0) as u64, leased: self.get::<i64>(r, 1)?.max(0) as u64 })
    }
}
