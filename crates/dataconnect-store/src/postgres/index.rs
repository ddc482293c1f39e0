//! Index readings in PostgreSQL: one statement per window (readings and
//! coverage together, `dataconnect_upsert_index_window` of migration
//! 0004), and a plain ordered read. Index windows are small (a year of
//! daily readings of a few registers: a few thousand rows), so no paging
//! is needed where the load curve's millions of rows need it.

use dataconnect::IndexReading;
use sqlx::postgres::PgArguments;

use super::store::{filter_sql, where_sql};
use super::{PgStore, add, args2};
use crate::{IndexWindowWrite, ReadingFilter, Result, StoreError, StoreErrorKind, StoredIndexReading};

const UPSERT_INDEX_WINDOW: &str = "SELECT dataconnect_upsert_index_window($1, $2, $3::date, $4::date, $5, $6, $7::date[], $8, $9, $10, $11, $12, $13)";

const COMPLETE_INDEX_WINDOW: &str = "SELECT dataconnect_complete_index_window($1, $2, $3, $4::date, $5::date, $6, $7,
     $8::date[], $9, $10, $11, $12, $13, $14)";

impl PgStore {
    pub(super) fn upsert_index(&self, write: &IndexWindowWrite<'_>) -> Result<u64> {
        let mut a: PgArguments = args2(write.prm.as_str(), write.series.as_str())?;
        bind_window(&mut a, write)?;
        self.exec_args(UPSERT_INDEX_WINDOW, a)?;
        Ok(write.readings.len() as u64)
    }

    /// `WorkQueue::complete_index`.
    pub(super) fn complete_index_window(&self, lease: &crate::Lease, readings: &[IndexReading]) -> Result<u64> {
        let mut a = PgArguments::default();
        add(&mut a, lease.id)?;
        add(&mut a, lease.prm.as_str().to_owned())?;
        add(&mut a, lease.series.as_str().to_owned())?;
        let write = IndexWindowWrite { prm: &lease.prm, series: lease.series, window: lease.window, readings };
        bind_window(&mut a, &write)?;
        self.exec_args(COMPLETE_INDEX_WINDOW, a)?;
        Ok(readings.len() as u64)
    }

    pub(super) fn each_index(
        &self,
        filter: &ReadingFilter,
        each: &mut dyn FnMut(&StoredIndexReading) -> std::io::Result<()>,
    ) -> Result<u64> {
        let mut a = PgArguments::default();
        let (clauses, _) = filter_sql(filter, &mut a)?;
        let clauses: Vec<String> = clauses.iter().map(|c| c.replace("start", "at")).collect();
        let sql = format!(
            "SELECT usage_point_id, series, calendar_id, class_id, to_char(day, 'YYYY-MM-DD'), extract(epoch from at)::int8,
                    calendar_label, class_label, register, value, likelihood
               FROM index_reading {} ORDER BY usage_point_id, series, calendar_id, class_id, day",
            where_sql(&clauses)
        );
        let rows = self.rows(sql, a)?;
        for row in &rows {
            let (prm, series, day): (String, String, String) =
                (self.get(row, 0)?, self.get(row, 1)?, self.get(row, 4)?);
            let stored = StoredIndexReading {
                usage_point_id: self.prm(&prm)?,
                series: self.series(&series)?,
                reading: IndexReading {
                    calendar_id: self.get(row, 2)?,
                    class_id: self.get(row, 3)?,
                    day: self.day(&day)?,
                    at: self.ts(self.get(row, 5)?)?,
                    calendar_label: self.get(row, 6)?,
                    class_label: self.get(row, 7)?,
                    register: self.get(row, 8)?,
                    value_wh: self.get(row, 9)?,
                    likelihood: self.get(row, 10)?,
                },
            };
            each(&stored).map_err(|e| {
                StoreError::new(StoreErrorKind::Output, format!("could not write the index readings out: {e}"))
                    .with_source(e)
            })?;
        }
        Ok(rows.len() as u64)
    }
}

/// Binds a window's bounds and its readings as parallel arrays, in the
/// order of both SQL functions' parameters after the meter and series.
fn bind_window(a: &mut PgArguments, write: &IndexWindowWrite<'_>) -> Result<()> {
    let r = write.readings;
    add(a, write.window.start().to_string())?;
    add(a, write.window.end().to_string())?;
    add(a, r.iter().map(|x| x.calendar_id.clone()).collect::<Vec<_>>())?;
    add(a, r.iter().map(|x| x.class_id.clone()).collect::<Vec<_>>())?;
    add(a, r.iter().map(|x| x.day.to_string()).collect::<Vec<_>>())?;
    add(a, r.iter().map(|x| x.at.as_second()).collect::<Vec<_>>())?;
    add(a, r.iter().map(|x| x.calendar_label.clone()).collect::<Vec<_>>())?;
    add(a, r.iter().map(|x| x.class_label.clone()).collect::<Vec<_>>())?;
    add(a, r.iter().map(|x| x.register.clone()).collect::<Vec<_>>())?;
    add(a, r.iter().map(|x| x.value_wh).collect::<Vec<_>>())?;
    add(a, r.iter().map(|x| x.likelihood).collect::<Vec<_>>())?;
    Ok(())
}
