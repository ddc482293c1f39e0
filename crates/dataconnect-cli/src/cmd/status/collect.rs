//! Reading what `status` shows from the store: consents, per meter and
//! series the stored span and what is missing, the last sync and the quota
//! used. Nothing here calls the API.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use dataconnect::domain::{paris, paris_day_start};
use dataconnect::{DateRange, Series, UsagePointId};
use dataconnect_store::{ConsentRecord, ReadingFilter, SeriesState, SeriesSummary, Store};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

use super::{
    ConsentStatus, Days, EXPIRY_WARNING_DAYS, LastSync, QueueStatus, QuotaStatus, SeriesStatus, SharedQuotaStatus,
    Status,
};
use crate::error::CliError;

/// What [`collect`] needs besides the store.
pub struct StatusInput<'a> {
    pub db: &'a Path,
    pub today: Date,
    /// True when today's publication (yesterday's data, 08:00 Paris) happened.
    pub published_today: bool,
    pub now: Timestamp,
    pub per_hour: u32,
    pub per_second: u32,
}

/// Reads everything `status` shows from the store.
pub fn collect(store: &dyn Store, input: &StatusInput<'_>) -> Result<Status, CliError> {
    let today = input.today;
    let published_end = if input.published_today { today } else { today.yesterday().unwrap_or(today) };
    let last_published_day = published_end.yesterday().unwrap_or(published_end);
    let consent_records = store.consents()?;
    let series = series_rows(store, &consent_records, today, published_end)?;
    let never_synced: Vec<String> = consent_records
        .iter()
        .map(|c| c.usage_point_id.to_string())
        .filter(|prm| !series.iter().any(|r| &r.usage_point_id == prm))
        .collect();
    let quota = QuotaStatus {
        calls_last_hour: store.calls_since(input.now - SignedDuration::from_hours(1))?,
        calls_last_day: store.calls_since(input.now - SignedDuration::from_hours(24))?,
        per_hour: input.per_hour,
        per_second: input.per_second,
    };
    Ok(Status {
        db: crate::store::shown(input.db),
        today,
        last_published_day,
        consents: consent_records.iter().map(|c| consent_status(c, today)).collect(),
        pending_consents: store.pending_consents()?.len(),
        series,
        never_synced,
        last_sync: last_sync(store)?,
        quota,
        work_queue: None,
        shared_quota: None,
    })
}

/// One consent and where it stands on `today`.
fn consent_status(c: &ConsentRecord, today: Date) -> ConsentStatus {
    let days_left = i64::from((c.expiry - today).get_days());
    let state = if c.needs_consent {
        "needs-consent"
    } else if c.expiry <= today {
        "expired"
    } else if days_left <= EXPIRY_WARNING_DAYS {
        "expiring"
    } else {
        "ok"
    };
    ConsentStatus {
        usage_point_id: c.usage_point_id.to_string(),
        generation: c.generation.to_string(),
        start: c.start,
        expiry: c.expiry,
        days_left,
        state,
        reason: c.reason.clone(),
    }
}

/// A row per meter and series the store knows anything of (coverage,
/// readings or a sync state), for every meter with a consent or data.
fn series_rows(
    store: &dyn Store,
    consents: &[ConsentRecord],
    today: Date,
    published_end: Date,
) -> Result<Vec<SeriesStatus>, CliError> {
    let summaries: BTreeMap<(UsagePointId, Series), SeriesSummary> = store
        .summary(&ReadingFilter::default())?
        .into_iter()
        .map(|s| ((s.usage_point_id.clone(), s.series), s))
        .collect();
    let states: BTreeMap<(UsagePointId, Series), SeriesState> =
        store.series_states()?.into_iter().map(|s| ((s.usage_point_id.clone(), s.series), s)).collect();
    let mut meters: BTreeSet<UsagePointId> = consents.iter().map(|c| c.usage_point_id.clone()).collect();
    meters.extend(summaries.keys().map(|k| k.0.clone()));
    meters.extend(states.keys().map(|k| k.0.clone()));
    let mut rows = Vec::new();
    for prm in &meters {
        let activation = store.meter_info(prm)?.and_then(|m| m.activation);
        for series in Series::EVERY {
            let key = (prm.clone(), series);
            let coverage = store.coverage(prm, series)?;
            let summary = summaries.get(&key);
            let state = states.get(&key);
            if coverage.is_empty() && summary.is_none() && state.is_none() {
                continue;
            }
            let from = dataconnect::history_deadline(series, today).max(activation.unwrap_or(Date::MIN));
            let servable = DateRange::new(from, published_end).ok();
            let stored = Stored { coverage: &coverage, summary, state };
            rows.push(series_status(store, prm, series, servable, &stored)?);
        }
    }
    Ok(rows)
}

/// What the store holds of one meter and series.
struct Stored<'a> {
    coverage: &'a [DateRange],
    summary: Option<&'a SeriesSummary>,
    state: Option<&'a SeriesState>,
}

/// The row of one meter and series, whose servable days are `servable`.
fn series_status(
    store: &dyn Store,
    prm: &UsagePointId,
    series: Series,
    servable: Option<DateRange>,
    stored: &Stored<'_>,
) -> Result<SeriesStatus, CliError> {
    let Stored { coverage, summary, state } = *stored;
    let missing = match servable {
        Some(s) if state.and_then(|s| s.stopped_reason.as_ref()).is_none() => uncovered(s, coverage),
        _ => Vec::new(),
    };
    let empty = match servable {
        Some(s) => empty_days(store, prm, series, s, coverage)?,
        None => Vec::new(),
    };
    let zone = paris();
    let day_of = |t: Timestamp| t.to_zoned_datetime(zone.clone()).date();
    // Index series are register readings, not intervals: counted from
    // their own table.
    let index = if series.is_index() { Some(index_days(store, prm, series)?) } else { None };
    let (points, first_day, last_day) = match &index {
        Some((points, days)) => (*points, days.first().copied(), days.last().copied()),
        None => (
            summary.map_or(0, |s| s.points),
            summary.map(|s| day_of(s.first_start)),
            summary.map(|s| day_of(s.last_end - SignedDuration::from_secs(1))),
        ),
    };
    Ok(SeriesStatus {
        usage_point_id: prm.to_string(),
        series: series.to_string(),
        points,
        first_day,
        last_day,
        servable: servable.map(|s| Days { from: s.start(), to: s.end() }),
        missing_days: count(&missing),
        missing,
        empty_days: count(&empty),
        empty,
        last_synced_at: state.and_then(|s| s.last_synced_at),
        stopped_reason: state.and_then(|s| s.stopped_reason.as_deref()).map(|r| {
            // The sync's message names the meter and series again; the row
            // already does.
            let prefix = format!("{prm} {series}: ");
            r.strip_prefix(prefix.as_str()).unwrap_or(r).to_owned()
        }),
    })
}

/// The last sync run, finished or not.
fn last_sync(store: &dyn Store) -> Result<Option<LastSync>, CliError> {
    Ok(store.sync_runs(1)?.into_iter().next().map(|run| match run.outcome {
        Some(o) => LastSync {
            started_at: run.started_at,
            finished_at: Some(o.finished_at),
            status: o.status,
            calls: Some(o.calls),
            points: Some(o.points),
            message: o.message,
        },
        None => LastSync {
            started_at: run.started_at,
            finished_at: None,
            status: "interrupted".to_owned(),
            calls: None,
            points: None,
            message: Some("the run did not finish (killed, or still running): run `dataconnect sync` again".to_owned()),
        },
    }))
}

/// What a PostgreSQL store shares between `sync` processes.
type Shared = (QueueStatus, Vec<SharedQuotaStatus>);

/// Opens the store for reading, and on PostgreSQL also reads its work queue
/// and shared quota.
pub(super) fn open_with_queue(db: &Path) -> Result<(Box<dyn Store>, Option<Shared>), CliError> {
    #[cfg(feature = "postgres")]
    if let Some(url) = crate::store::postgres_url(db) {
        use dataconnect_store::WorkQueue;
        let store = dataconnect_store::PgStore::open(&dataconnect_store::PgConfig::new(url))?;
        let c = store.queue_counts(&dataconnect_store::QueueFilter::default())?;
        let quota = store
            .shared_quota_state()?
            .into_iter()
            .map(|q| SharedQuotaStatus {
                api: q.api,
                calls_this_hour: q.calls_this_hour,
                margin_ms: q.margin_ms,
                closed_until: q.closed_until,
            })
            .collect();
        return Ok((Box::new(store), Some((QueueStatus { queued: c.queued, leased: c.leased }, quota))));
    }
    Ok((crate::store::open_ro(db)?, None))
}

/// The days of `range` that no range of `covered` holds, as stretches: the
/// sync planner's own rule ([`dataconnect_sync::missing`]), so that status
/// shows as missing exactly what the next sync fetches.
fn uncovered(range: DateRange, covered: &[DateRange]) -> Vec<Days> {
    dataconnect_sync::missing(range, covered).into_iter().map(|r| Days { from: r.start(), to: r.end() }).collect()
}

/// An index series' register readings: how many, and the days with a
/// value, in order.
fn index_days(store: &dyn Store, prm: &UsagePointId, series: Series) -> Result<(u64, Vec<Date>), CliError> {
    let filter = ReadingFilter { usage_points: vec![prm.clone()], series: vec![series], ..ReadingFilter::default() };
    let mut days = BTreeSet::new();
    let points = store.for_each_index_reading(&filter, &mut |r| {
        if r.reading.value_wh.is_some() {
            days.insert(r.reading.day);
        }
        Ok(())
    })?;
    Ok((points, days.into_iter().collect()))
}

/// Covered days of `range` without any stored value, merged into stretches.
fn empty_days(
    store: &dyn Store,
    prm: &UsagePointId,
    series: Series,
    range: DateRange,
    covered: &[DateRange],
) -> Result<Vec<Days>, CliError> {
    let zone = paris();
    let mut with_value: BTreeSet<Date> = BTreeSet::new();
    let filter = ReadingFilter {
        usage_points: vec![prm.clone()],
        series: vec![series],
        from: Some(paris_day_start(range.start())),
        to: Some(paris_day_start(range.end())),
    };
    if series.is_index() {
        with_value.extend(index_days(store, prm, series)?.1);
    } else {
        store.for_each_reading(&filter, &mut |r| {
            if r.reading.value.is_some() {
                with_value.insert(r.reading.start.to_zoned_datetime(zone.clone()).date());
            }
            Ok(())
        })?;
    }
    let mut out: Vec<Days> = Vec::new();
    for c in covered.iter().filter_map(|c| c.intersect(&range)) {
        for day in c.iter_days() {
            if with_value.contains(&day) {
                continue;
            }
            let next = day.tomorrow().unwrap_or(day);
            match out.last_mut() {
                Some(last) if last.to == day => last.to = next,
                _ => out.push(Days { from: day, to: next }),
            }
        }
    }
    Ok(out)
}

fn count(days: &[Days]) -> i64 {
    days.iter().map(|d| (d.to - d.from).get_days() as i64).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn r(a: Date, b: Date) -> DateRange {
        DateRange::new(a, b).unwrap()
    }

    #[test]
    fn missing_is_servable_minus_covered() {
        let servable = r(date(2025, 1, 1), date(2025, 1, 31));
        let covered = [r(date(2024, 12, 1), date(2025, 1, 5)), r(date(2025, 1, 10), date(2025, 1, 20))];
        let missing = uncovered(servable, &covered);
        assert_eq!(
            missing,
            vec![
                Days { from: date(2025, 1, 5), to: date(2025, 1, 10) },
                Days { from: date(2025, 1, 20), to: date(2025, 1, 31) }
            ]
        );
        assert_eq!(count(&missing), 16);
        assert_eq!(uncovered(servable, &[r(date(2020, 1, 1), date(2026, 1, 1))]), vec![]);
        assert_eq!(uncovered(servable, &[]), vec![Days { from: date(2025, 1, 1), to: date(2025, 1, 31) }]);
    }
}
