//! `dataconnect status`: what the store knows, read without a single API
//! call: consents and when they expire, per meter and series the stored
//! span and what is still missing, the last sync and why series stopped,
//! and the quota used in the last hour and day.
//!
//! "Missing" is computed, not guessed: it is the days the API could serve
//! today (from the history deadline or the meter's activation, whichever is
//! later, to the last published day) minus the day ranges the store records
//! as covered. Days that were asked and answered without any value (the API
//! had nothing: a gap in the meter's data) are listed apart, because
//! syncing again does not fill them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use clap::{Args, ValueEnum};
use comfy_table::{Table, presets};
use dataconnect::domain::{paris, paris_day_start};
use dataconnect::{DateRange, Series, UsagePointId};
use dataconnect_store::{ReadingFilter, SeriesSummary, Store};
use dataconnect_sync::history_start;
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp, ToSpan};
use serde::Serialize;

use crate::error::{Class, CliError};
use crate::settings::{GlobalArgs, Settings};

/// Consents ending within this many days are flagged.
const EXPIRY_WARNING_DAYS: i64 = 30;
/// Missing-day ranges shown per series in the table (JSON lists them all).
const TABLE_RANGES: usize = 6;

/// How `status` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    /// Tables for reading on a terminal.
    Table,
    /// One JSON document for scripts.
    Json,
}

#[derive(Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    global: GlobalArgs,
    /// table or json.
    #[arg(long, value_enum, default_value = "table")]
    format: StatusFormat,
}

/// The whole report, as `--format json` prints it.
#[derive(Serialize, Debug)]
pub struct Status {
    /// The database read.
    pub db: String,
    /// The day taken as today (Paris).
    pub today: Date,
    /// The last day whose data the API has published (D+1 08:00 Paris).
    pub last_published_day: Date,
    /// One entry per meter with a recorded consent.
    pub consents: Vec<ConsentStatus>,
    /// Authorize URLs handed out and not completed yet.
    pub pending_consents: usize,
    /// One entry per meter and series the store knows.
    pub series: Vec<SeriesStatus>,
    /// Consented meters no sync has touched yet.
    pub never_synced: Vec<String>,
    /// The most recent sync run, if any.
    pub last_sync: Option<LastSync>,
    /// Data calls recorded by syncs.
    pub quota: QuotaStatus,
    /// PostgreSQL only: the windows planned and not stored yet, shared by
    /// every `sync` process (see `dataconnect sync --workers`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work_queue: Option<QueueStatus>,
    /// PostgreSQL only: the application's quota as every `sync` process
    /// shares it, one entry per API that has been called.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_quota: Option<Vec<SharedQuotaStatus>>,
}

/// One API's share of the quota kept in PostgreSQL.
#[derive(Serialize, Debug)]
pub struct SharedQuotaStatus {
    pub api: String,
    /// Calls counted in the current UTC clock hour, by every process.
    pub calls_this_hour: u64,
    /// The margin added to each one-second window (40 ms at first; each
    /// per-second 429 widens it).
    pub margin_ms: u32,
    /// Until when a 429 closed the budget for every process, if it still is.
    pub closed_until: Option<Timestamp>,
}

/// The shared work queue of a PostgreSQL store.
#[derive(Serialize, Debug)]
pub struct QueueStatus {
    /// Windows waiting or being fetched.
    pub queued: u64,
    /// Of those, windows a worker holds a live lease on.
    pub leased: u64,
}

/// A meter's consent.
#[derive(Serialize, Debug)]
pub struct ConsentStatus {
    pub usage_point_id: String,
    pub generation: String,
    pub start: Date,
    /// The day the consent ends (exclusive).
    pub expiry: Date,
    /// Days from today to the expiry (negative once expired).
    pub days_left: i64,
    /// `ok`, `expiring` (within 30 days), `expired` or `needs-consent`.
    pub state: &'static str,
    /// Why a new consent is needed, as the API said it.
    pub reason: Option<String>,
}

/// A stretch of days, `from` inclusive and `to` exclusive.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Days {
    pub from: Date,
    pub to: Date,
}

/// One meter's series.
#[derive(Serialize, Debug)]
pub struct SeriesStatus {
    pub usage_point_id: String,
    pub series: String,
    /// Stored intervals (including those without a value).
    pub points: u64,
    /// The first and last Paris day with a stored interval.
    pub first_day: Option<Date>,
    pub last_day: Option<Date>,
    /// The days the API can serve today for this series.
    pub servable: Option<Days>,
    /// Servable days the store has not asked for yet (`sync` fetches them).
    pub missing_days: i64,
    pub missing: Vec<Days>,
    /// Days asked and answered without any value (gaps in the meter's
    /// data; syncing again does not fill them).
    pub empty_days: i64,
    pub empty: Vec<Days>,
    /// When a sync last finished this series.
    pub last_synced_at: Option<Timestamp>,
    /// Why syncs skip this series (wrong direction, curve not collected…).
    pub stopped_reason: Option<String>,
}

/// The last sync run.
#[derive(Serialize, Debug)]
pub struct LastSync {
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    /// `ok`, `partial`, `failed`, or `interrupted` when it never finished.
    pub status: String,
    pub calls: Option<u64>,
    pub points: Option<u64>,
    pub message: Option<String>,
}

/// Data calls recorded in the store's hourly counters.
#[derive(Serialize, Debug)]
pub struct QuotaStatus {
    pub calls_last_hour: u64,
    pub calls_last_day: u64,
    /// The configured hourly quota of the application.
    pub per_hour: u32,
    /// The configured per-second quota of the application.
    pub per_second: u32,
}

impl Cmd {
    pub async fn run(self) -> Result<(), CliError> {
        let settings = Settings::resolve(&self.global)?;
        if !crate::store::exists(&settings.db) {
            return Err(CliError::new(
                Class::Store,
                format!(
                    "no database at {}: run `dataconnect consent` and `dataconnect sync` (or `dataconnect demo`) first, or pass --db PATH",
                    crate::store::shown(&settings.db)
                ),
            ));
        }
        let (store, shared) = open_with_queue(&settings.db)?;
        let now = Timestamp::now();
        let today = settings.today();
        // A replayed day (--today) is taken as after 08:00, as the sandbox's
        // frozen clock is; the real today is before publication until 08:00.
        let published_today = settings.today.is_some() || now.to_zoned_datetime(paris()).hour() >= 8;
        let mut status = collect(
            &*store,
            &StatusInput {
                db: &settings.db,
                today,
                published_today,
                now,
                per_hour: settings.quota_per_hour,
                per_second: settings.quota_per_second,
            },
        )?;
        if let Some((queue, quota)) = shared {
            status.work_queue = Some(queue);
            status.shared_quota = Some(quota);
        }
        let text = match self.format {
            StatusFormat::Json => {
                let mut s = serde_json::to_string_pretty(&status).map_err(|e| CliError::internal(e.to_string()))?;
                s.push('\n');
                s
            }
            StatusFormat::Table => render(&status),
        };
        crate::output::print_stdout(&text)
    }
}

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
    let consents = consent_records
        .iter()
        .map(|c| {
            let days_left = (c.expiry - today).get_days() as i64;
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
        })
        .collect();

    let summaries: BTreeMap<(UsagePointId, Series), SeriesSummary> = store
        .summary(&ReadingFilter::default())?
        .into_iter()
        .map(|s| ((s.usage_point_id.clone(), s.series), s))
        .collect();
    let states: BTreeMap<(UsagePointId, Series), dataconnect_store::SeriesState> =
        store.series_states()?.into_iter().map(|s| ((s.usage_point_id.clone(), s.series), s)).collect();
    let mut meters: BTreeSet<UsagePointId> = consent_records.iter().map(|c| c.usage_point_id.clone()).collect();
    meters.extend(summaries.keys().map(|k| k.0.clone()));
    meters.extend(states.keys().map(|k| k.0.clone()));

    let mut series_rows = Vec::new();
    for prm in &meters {
        let activation = store.meter_info(prm)?.and_then(|m| m.activation);
        for series in Series::EVERY {
            let key = (prm.clone(), series);
            let coverage = store.coverage(prm, series)?;
            let index = if series.is_index() { Some(index_days(store, prm, series)?) } else { None };
            let summary = summaries.get(&key);
            let state = states.get(&key);
            if coverage.is_empty() && summary.is_none() && state.is_none() {
                continue;
            }
            let from = history_start(series, today).max(activation.unwrap_or(Date::MIN));
            let servable = DateRange::new(from, published_end).ok();
            let missing = match servable {
                Some(s) if state.and_then(|s| s.stopped_reason.as_ref()).is_none() => subtract(s, &coverage),
                _ => Vec::new(),
            };
            let empty = match (servable, &index) {
                (Some(s), Some(index)) => uncovered_by(&index.days, s, &coverage),
                (Some(s), None) => empty_days(store, prm, series, s, &coverage)?,
                (None, _) => Vec::new(),
            };
            let zone = paris();
            let day_of = |t: Timestamp| t.to_zoned_datetime(zone.clone()).date();
            series_rows.push(SeriesStatus {
                usage_point_id: prm.to_string(),
                series: series.to_string(),
                points: index.as_ref().map_or_else(|| summary.map_or(0, |s| s.points), |i| i.points),
                first_day: match &index {
                    Some(i) => i.days.first().copied(),
                    None => summary.map(|s| day_of(s.first_start)),
                },
                last_day: match &index {
                    Some(i) => i.days.last().copied(),
                    None => summary.map(|s| day_of(s.last_end - SignedDuration::from_secs(1))),
                },
                servable: servable.map(|s| Days { from: s.start(), to: s.end() }),
                missing_days: count(&missing),
                missing,
                empty_days: count(&empty),
                empty,
                last_synced_at: state.and_then(|s| s.last_synced_at),
                stopped_reason: state.and_then(|s| s.stopped_reason.as_deref()).map(|r| {
                    // The sync's message names the meter and series again;
                    // the row already does.
                    let prefix = format!("{prm} {series}: ");
                    r.strip_prefix(prefix.as_str()).unwrap_or(r).to_owned()
                }),
            });
        }
    }

    let never_synced: Vec<String> = consent_records
        .iter()
        .map(|c| c.usage_point_id.to_string())
        .filter(|prm| !series_rows.iter().any(|r| &r.usage_point_id == prm))
        .collect();
    let last_sync = store.sync_runs(1)?.into_iter().next().map(|run| match run.outcome {
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
    });
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
        consents,
        pending_consents: store.pending_consents()?.len(),
        series: series_rows,
        never_synced,
        last_sync,
        quota,
        work_queue: None,
        shared_quota: None,
    })
}

/// What a PostgreSQL store shares between `sync` processes.
type Shared = (QueueStatus, Vec<SharedQuotaStatus>);

/// Opens the store for reading, and on PostgreSQL also reads its work queue
/// and shared quota.
fn open_with_queue(db: &Path) -> Result<(Box<dyn Store>, Option<Shared>), CliError> {
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

/// The days of `range` that no range of `covered` (merged, in order) holds.
fn subtract(range: DateRange, covered: &[DateRange]) -> Vec<Days> {
    let mut out = Vec::new();
    let mut cursor = range.start();
    for c in covered {
        if c.end() <= cursor {
            continue;
        }
        if c.start() >= range.end() {
            break;
        }
        if c.start() > cursor {
            out.push(Days { from: cursor, to: c.start() });
        }
        cursor = cursor.max(c.end());
    }
    if cursor < range.end() {
        out.push(Days { from: cursor, to: range.end() });
    }
    out
}

/// Covered days of `range` without any stored value, merged into stretches.
/// What the store holds of an index series: its register readings and the
/// days that have at least one value.
struct IndexDays {
    points: u64,
    days: Vec<Date>,
}

fn index_days(store: &dyn Store, prm: &UsagePointId, series: Series) -> Result<IndexDays, CliError> {
    let filter = ReadingFilter { usage_points: vec![prm.clone()], series: vec![series], ..ReadingFilter::default() };
    let mut days = BTreeSet::new();
    let points = store.for_each_index_reading(&filter, &mut |r| {
        if r.reading.value_wh.is_some() {
            days.insert(r.reading.day);
        }
        Ok(())
    })?;
    Ok(IndexDays { points, days: days.into_iter().collect() })
}

/// The covered days of `range` not in `with_value`, as ranges.
fn uncovered_by(with_value: &[Date], range: DateRange, covered: &[DateRange]) -> Vec<Days> {
    let mut out: Vec<Days> = Vec::new();
    for c in covered.iter().filter_map(|c| c.intersect(&range)) {
        for day in c.iter_days() {
            if with_value.binary_search(&day).is_ok() {
                continue;
            }
            let next = day.tomorrow().unwrap_or(day);
            match out.last_mut() {
                Some(last) if last.to == day => last.to = next,
                _ => out.push(Days { from: day, to: next }),
            }
        }
    }
    out
}

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
    store.for_each_reading(&filter, &mut |r| {
        if r.reading.value.is_some() {
            with_value.insert(r.reading.start.to_zoned_datetime(zone.clone()).date());
        }
        Ok(())
    })?;
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

/// Stretches of days as short text: `2025-01-07`, `2025-01-07..01-08`
/// (both inclusive), at most `limit` of them then `+N more`.
fn compact(days: &[Days], limit: usize) -> String {
    if days.is_empty() {
        return "none".to_owned();
    }
    let mut parts: Vec<String> = days
        .iter()
        .take(limit)
        .map(|d| {
            let last = d.to.checked_sub(1.day()).unwrap_or(d.to);
            if last <= d.from {
                d.from.to_string()
            } else if last.year() == d.from.year() {
                format!("{}..{:02}-{:02}", d.from, last.month(), last.day())
            } else {
                format!("{}..{last}", d.from)
            }
        })
        .collect();
    if days.len() > limit {
        parts.push(format!("+{} more", days.len() - limit));
    }
    parts.join(", ")
}

fn render(s: &Status) -> String {
    let mut out = String::new();
    let when = |t: Timestamp| t.to_zoned_datetime(paris()).strftime("%Y-%m-%d %H:%M").to_string();
    out.push_str(&format!(
        "database {}; today {} (Paris); last published day {}\n\n",
        s.db, s.today, s.last_published_day
    ));

    out.push_str("Consents\n");
    if s.consents.is_empty() {
        out.push_str("  none recorded: run `dataconnect consent` to ask a customer\n");
    } else {
        let mut t = table(&["meter", "generation", "start", "expires", "state"]);
        for c in &s.consents {
            let state = match c.state {
                "needs-consent" => format!(
                    "NEEDS CONSENT: {} (ask the customer again: dataconnect consent)",
                    c.reason.as_deref().unwrap_or("the API refused the consent")
                ),
                "expired" => format!("EXPIRED {} days ago: ask the customer again", -c.days_left),
                "expiring" => format!("WARNING: expires in {} days: ask the customer to renew", c.days_left),
                _ => format!("ok ({} days left)", c.days_left),
            };
            t.add_row([
                c.usage_point_id.clone(),
                c.generation.clone(),
                c.start.to_string(),
                c.expiry.to_string(),
                state,
            ]);
        }
        out.push_str(&format!("{t}\n"));
    }
    if s.pending_consents > 0 {
        out.push_str(&format!(
            "  {} consent request(s) handed out and not completed (dataconnect consent complete --url …)\n",
            s.pending_consents
        ));
    }

    out.push_str("\nSeries\n");
    if s.series.is_empty() {
        out.push_str("  nothing stored yet: run `dataconnect sync`\n");
    } else {
        let mut t = table(&[
            "meter",
            "series",
            "points",
            "stored span",
            "missing (sync fetches)",
            "no data from the API",
            "last sync",
        ]);
        for r in &s.series {
            let span = match (r.first_day, r.last_day) {
                (Some(a), Some(b)) => format!("{a} .. {b}"),
                _ => "-".to_owned(),
            };
            let missing = match &r.stopped_reason {
                Some(reason) => format!("stopped: {reason}"),
                None if r.missing_days == 0 => "none".to_owned(),
                None => format!("{} days: {}", r.missing_days, compact(&r.missing, TABLE_RANGES)),
            };
            let empty = if r.empty_days == 0 {
                "none".to_owned()
            } else {
                format!("{} days: {}", r.empty_days, compact(&r.empty, TABLE_RANGES))
            };
            t.add_row([
                r.usage_point_id.clone(),
                r.series.clone(),
                r.points.to_string(),
                span,
                missing,
                empty,
                r.last_synced_at.map(when).unwrap_or_else(|| "never".to_owned()),
            ]);
        }
        out.push_str(&format!("{t}\n"));
    }

    if !s.never_synced.is_empty() {
        out.push_str(&format!(
            "  never synced: {}: run `dataconnect sync` to fetch their history\n",
            s.never_synced.join(", ")
        ));
    }

    out.push_str("\nLast sync: ");
    match &s.last_sync {
        None => out.push_str("never\n"),
        Some(l) => {
            out.push_str(&format!("{} started {}", l.status, when(l.started_at)));
            if let Some(f) = l.finished_at {
                out.push_str(&format!(", finished {}", when(f)));
            }
            if let (Some(c), Some(p)) = (l.calls, l.points) {
                out.push_str(&format!(", {c} calls, {p} points"));
            }
            if let Some(m) = &l.message {
                out.push_str(&format!(": {m}"));
            }
            out.push('\n');
        }
    }
    let q = &s.quota;
    out.push_str(&format!(
        "Quota used: {} calls in the last hour (of {} per hour), {} in the last 24 hours; at most {} per second\n",
        q.calls_last_hour, q.per_hour, q.calls_last_day, q.per_second
    ));
    if let Some(w) = &s.work_queue {
        out.push_str(&format!("Work queue: {} window(s) to fetch, {} being fetched\n", w.queued, w.leased));
    }
    for q in s.shared_quota.iter().flatten() {
        out.push_str(&format!(
            "Shared quota, {}: {} calls this hour (all processes), {} ms margin on each one-second window{}\n",
            q.api,
            q.calls_this_hour,
            q.margin_ms,
            q.closed_until.map_or(String::new(), |t| format!("; closed after a 429 until {}", t.strftime("%H:%M:%S UTC")))
        ));
    }
    out
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    // Wrap long cells to the terminal's width when the shell says what it
    // is; otherwise (pipes, files) rows stay whole, one per line.
    if let Some(width) = std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse::<u16>().ok()).filter(|w| *w >= 40) {
        t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
        t.set_width(width);
    }
    t.set_header(header.iter().copied());
    t
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
        let missing = subtract(servable, &covered);
        assert_eq!(
            missing,
            vec![
                Days { from: date(2025, 1, 5), to: date(2025, 1, 10) },
                Days { from: date(2025, 1, 20), to: date(2025, 1, 31) }
            ]
        );
        assert_eq!(count(&missing), 16);
        assert_eq!(subtract(servable, &[r(date(2020, 1, 1), date(2026, 1, 1))]), vec![]);
        assert_eq!(subtract(servable, &[]), vec![Days { from: date(2025, 1, 1), to: date(2025, 1, 31) }]);
    }

    #[test]
    fn missing_days_print_compactly() {
        let days = vec![
            Days { from: date(2025, 1, 7), to: date(2025, 1, 9) },
            Days { from: date(2025, 1, 14), to: date(2025, 1, 15) },
            Days { from: date(2025, 12, 30), to: date(2026, 1, 2) },
        ];
        assert_eq!(compact(&days, 6), "2025-01-07..01-08, 2025-01-14, 2025-12-30..2026-01-01");
        assert_eq!(compact(&days, 1), "2025-01-07..01-08, +2 more");
        assert_eq!(compact(&[], 3), "none");
    }
}
