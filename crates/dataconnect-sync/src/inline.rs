//! The in-process executor (used with SQLite, where one process owns the
//! file): fetches planned windows concurrently and stores each one with its
//! coverage in one transaction. The queue-driven executor for PostgreSQL is
//! [`queue`](crate::queue).
//!
//! Concurrency is bounded by [`SyncConfig::concurrency`]; the pace is the
//! [`Source`]'s business (the client's quota gate), so the executor never
//! sleeps. Each series starts with one probe window (the newest): a series
//! the meter does not have (ADAM-ERR0069, a curve that is not collected)
//! then costs one call, not a burst of concurrent ones.
//!
//! Store writes are short (one window is at most a few thousand rows) and
//! are made inline on the executor's task; they hold the runtime for well
//! under a millisecond, which is less than moving them to a thread would cost.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use dataconnect::{DateRange, IndexReading, Reading, Series, UsagePointId};
use dataconnect_store::{IndexWindowWrite, Store, StoreError, WindowWrite};
use futures::StreamExt;
use jiff::Timestamp;
use tokio::sync::Semaphore;

use crate::plan::{PlanConfig, plan_series};

/// What the executor should do about a failed window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorAction {
    /// The window lies wholly outside what the API serves (before the
    /// activation date, past the history deadline): there is nothing to
    /// fetch, so it is recorded as covered and the sync carries on.
    Empty,
    /// This series cannot be fetched for this meter (ADAM-ERR0069, a load
    /// curve the customer does not let Enedis collect): stop the series.
    StopSeries,
    /// The consent is gone (ADAM-DC-0007/0008): mark the meter and stop all
    /// its series.
    NeedsConsent,
    /// This window failed after the source's own retries (5xx, timeouts):
    /// leave it uncovered for the next run and carry on with the others.
    SkipWindow,
    /// Nothing else can succeed (bad credentials, unreachable host, quota
    /// exhausted for the hour): stop the run.
    StopRun,
    /// Every meter would fail this series the same way (the application is
    /// not subscribed to the API that serves it, or the gateway refuses the
    /// request itself): stop the series for every meter of the run, said
    /// once, with nothing recorded per meter (the next run asks once more).
    StopSeriesEverywhere,
}

/// A failed fetch, sorted by what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchError {
    /// What to do.
    pub action: ErrorAction,
    /// One line naming the problem (with the API's code where there is one).
    pub message: String,
}

/// Where readings come from: the client in production, a fake in tests.
pub trait Source: Sync {
    /// Fetches one window of one series, in one call (plus the source's own
    /// retries). A range the source had to clamp still returns what it got.
    fn fetch(
        &self,
        prm: &UsagePointId,
        series: Series,
        window: DateRange,
    ) -> impl Future<Output = Result<Vec<Reading>, FetchError>> + Send;

    /// Fetches one window of an index series (`consumption-index`,
    /// `production-index`), in one call. The default serves none, which
    /// stops the series.
    fn fetch_index(
        &self,
        prm: &UsagePointId,
        series: Series,
        _window: DateRange,
    ) -> impl Future<Output = Result<Vec<IndexReading>, FetchError>> + Send {
        let message = format!("{prm} {series}: this source serves no index readings");
        async move { Err(FetchError { action: ErrorAction::StopSeries, message }) }
    }
}

/// Hears what the executor does, to draw progress bars or print lines.
/// Every method has an empty default.
pub trait Progress: Sync {
    /// The windows of one series are planned.
    fn planned(&self, _prm: &UsagePointId, _series: Series, _windows: usize) {}
    /// A window is stored.
    fn stored(&self, _prm: &UsagePointId, _series: Series, _window: DateRange, _points: u64) {}
    /// A series is stopped, or a meter needs consent, or a window failed.
    fn problem(&self, _prm: &UsagePointId, _series: Series, _message: &str) {}
    /// Something worth a line that concerns no one window: a consent about
    /// to expire, a lease that could not be renewed, a planning round.
    fn note(&self, _message: &str) {}
}

/// A [`Progress`] that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct QuietProgress;

impl Progress for QuietProgress {}

/// One meter and the series to keep current for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesTarget {
    /// The meter.
    pub prm: UsagePointId,
    /// The series.
    pub series: Series,
    /// The meter's activation day, when known (from its contract).
    pub activation: Option<jiff::civil::Date>,
}

/// How a sync runs.
#[derive(Clone, Copy, Debug)]
pub struct SyncConfig {
    /// Calendar bounds and the revision window.
    pub plan: PlanConfig,
    /// How many windows may be in flight at once.
    pub concurrency: usize,
}

/// A window that failed and stays uncovered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowFailure {
    /// The meter.
    pub prm: UsagePointId,
    /// The series.
    pub series: Series,
    /// The window.
    pub window: DateRange,
    /// Why.
    pub message: String,
}

/// What a sync did.
#[derive(Debug, Default)]
pub struct SyncReport {
    /// Windows planned, over all series.
    pub planned: usize,
    /// Fetches attempted (one call each, before the source's retries).
    pub calls: u64,
    /// Windows stored.
    pub stored: usize,
    /// Readings written.
    pub points: u64,
    /// Series stopped, with why.
    pub stopped: Vec<(UsagePointId, Series, String)>,
    /// Series stopped for every meter at once, with why (see
    /// [`ErrorAction::StopSeriesEverywhere`]).
    pub stopped_everywhere: Vec<(Series, String)>,
    /// Meters that need a new consent, with why.
    pub needs_consent: Vec<(UsagePointId, String)>,
    /// Windows that failed and stay uncovered.
    pub failures: Vec<WindowFailure>,
    /// Why the run stopped early, if it did.
    pub stopped_run: Option<String>,
    /// The first store error, if any (the run stops on it).
    pub store_error: Option<StoreError>,
}

impl SyncReport {
    /// True when everything planned was stored (stopped series aside).
    pub fn is_complete(&self) -> bool {
        self.failures.is_empty()
            && self.stopped_run.is_none()
            && self.store_error.is_none()
            && self.stopped_everywhere.is_empty()
    }
}

/// State shared by the concurrent window tasks of one run.
struct Shared<'a, S: ?Sized, P: ?Sized> {
    store: &'a S,
    progress: &'a P,
    permits: Semaphore,
    stop_run: AtomicBool,
    calls: AtomicU64,
    stopped_series: Mutex<HashSet<(UsagePointId, Series)>>,
    stopped_everywhere: Mutex<HashSet<Series>>,
    stopped_meters: Mutex<HashSet<UsagePointId>>,
    report: Mutex<SyncReport>,
}

impl<S: Store + ?Sized, P: Progress + ?Sized> Shared<'_, S, P> {
    fn report(&self) -> std::sync::MutexGuard<'_, SyncReport> {
        self.report.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn is_stopped(&self, prm: &UsagePointId, series: Series) -> bool {
        self.stop_run.load(Ordering::Relaxed)
            || self.stopped_meters.lock().unwrap_or_else(|p| p.into_inner()).contains(prm)
            || self.stopped_series.lock().unwrap_or_else(|p| p.into_inner()).contains(&(prm.clone(), series))
            || self.stopped_everywhere.lock().unwrap_or_else(|p| p.into_inner()).contains(&series)
    }

    fn store_failed(&self, e: StoreError) {
        self.stop_run.store(true, Ordering::Relaxed);
        let mut report = self.report();
        if report.store_error.is_none() {
            report.store_error = Some(e);
        }
    }

    /// Fetches and stores one window; returns false when the series should
    /// not go on.
    async fn window<Src: Source + ?Sized>(
        &self,
        source: &Src,
        prm: &UsagePointId,
        series: Series,
        window: DateRange,
    ) -> bool {
        let Ok(_permit) = self.permits.acquire().await else { return false };
        if self.is_stopped(prm, series) {
            return false;
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
        if series.is_index() {
            return match source.fetch_index(prm, series, window).await {
                Ok(readings) => {
                    let write = IndexWindowWrite { prm, series, window, readings: &readings };
                    self.stored(self.store.upsert_index_window(&write), prm, series, window)
                }
                Err(e) => self.failed(prm, series, window, e),
            };
        }
        let readings = match source.fetch(prm, series, window).await {
            Ok(readings) => readings,
            Err(e) => return self.failed(prm, series, window, e),
        };
        let write = WindowWrite { prm, series, window, readings: &readings };
        match self.store.upsert_window(&write) {
            Ok(points) => {
                let mut report = self.report();
                report.stored += 1;
                report.points += points;
                drop(report);
                self.progress.stored(prm, series, window, points);
                true
            }
            Err(e) => {
                self.store_failed(e);
                false
            }
        }
    }

    /// Counts a stored window (or stops the run on a store error).
    fn stored(&self, written: Result<u64, StoreError>, prm: &UsagePointId, series: Series, window: DateRange) -> bool {
        match written {
            Ok(points) => {
                let mut report = self.report();
                report.stored += 1;
                report.points += points;
                drop(report);
                self.progress.stored(prm, series, window, points);
                true
            }
            Err(e) => {
                self.store_failed(e);
                false
            }
        }
    }

    fn failed(&self, prm: &UsagePointId, series: Series, window: DateRange, e: FetchError) -> bool {
        match e.action {
            ErrorAction::Empty => {
                let written = if series.is_index() {
                    self.store.upsert_index_window(&IndexWindowWrite { prm, series, window, readings: &[] })
                } else {
                    self.store.upsert_window(&WindowWrite { prm, series, window, readings: &[] })
                };
                match written {
                    Ok(_) => {
                        self.report().stored += 1;
                        self.progress.stored(prm, series, window, 0);
                        true
                    }
                    Err(e) => {
                        self.store_failed(e);
                        false
                    }
                }
            }
            ErrorAction::StopSeries => {
                let first = self.stopped_series.lock().unwrap_or_else(|p| p.into_inner()).insert((prm.clone(), series));
                if first {
                    if let Err(se) = self.store.set_series_state(prm, series, Timestamp::now(), Some(&e.message)) {
                        self.store_failed(se);
                    }
                    self.report().stopped.push((prm.clone(), series, e.message.clone()));
                    self.progress.problem(prm, series, &e.message);
                }
                false
            }
            ErrorAction::NeedsConsent => {
                let first = self.stopped_meters.lock().unwrap_or_else(|p| p.into_inner()).insert(prm.clone());
                if first {
                    if let Err(se) = self.store.mark_needs_consent(prm, &e.message) {
                        self.store_failed(se);
                    }
                    self.report().needs_consent.push((prm.clone(), e.message.clone()));
                    self.progress.problem(prm, series, &e.message);
                }
                false
            }
            ErrorAction::SkipWindow => {
                self.progress.problem(prm, series, &e.message);
                self.report().failures.push(WindowFailure { prm: prm.clone(), series, window, message: e.message });
                true
            }
            ErrorAction::StopSeriesEverywhere => {
                if self.stopped_everywhere.lock().unwrap_or_else(|p| p.into_inner()).insert(series) {
                    self.progress.problem(prm, series, &e.message);
                    self.report().stopped_everywhere.push((series, e.message));
                }
                false
            }
            ErrorAction::StopRun => {
                if !self.stop_run.swap(true, Ordering::Relaxed) {
                    self.progress.problem(prm, series, &e.message);
                    self.report().stopped_run = Some(e.message);
                }
                false
            }
        }
    }
}

/// Plans every target from the store's coverage and fetches what is missing.
///
/// Series whose state in the store says they were stopped (ADAM-ERR0069, a
/// curve not collected) are skipped unless `retry_stopped` lists them, so a
/// second run makes no call for them; they are reported in `stopped`.
pub async fn run<S, Src, P>(
    store: &S,
    source: &Src,
    targets: &[SeriesTarget],
    config: &SyncConfig,
    progress: &P,
) -> SyncReport
where
    S: Store + ?Sized,
    Src: Source + ?Sized,
    P: Progress + ?Sized,
{
    let shared = Shared {
        store,
        progress,
        permits: Semaphore::new(config.concurrency.max(1)),
        stop_run: AtomicBool::new(false),
        calls: AtomicU64::new(0),
        stopped_series: Mutex::new(HashSet::new()),
        stopped_everywhere: Mutex::new(HashSet::new()),
        stopped_meters: Mutex::new(HashSet::new()),
        report: Mutex::new(SyncReport::default()),
    };
    let mut plans = Vec::new();
    for target in targets {
        let coverage = match store.coverage(&target.prm, target.series) {
            Ok(c) => c,
            Err(e) => {
                shared.store_failed(e);
                break;
            }
        };
        let plan = plan_series(target.series, &config.plan, target.activation, &coverage);
        progress.planned(&target.prm, target.series, plan.windows.len());
        shared.report().planned += plan.windows.len();
        plans.push((target, plan.windows));
    }
    let shared = &shared;
    let series_tasks = plans.into_iter().map(|(target, mut windows)| async move {
        let (prm, series) = (&target.prm, target.series);
        // The newest window goes first: it is the data users look at, and it
        // is where a series the meter does not have shows up.
        let Some(probe) = windows.pop() else { return };
        if !shared.window(source, prm, series, probe).await {
            return;
        }
        futures::stream::iter(windows.into_iter().rev())
            .map(|w| shared.window(source, prm, series, w))
            .buffer_unordered(config.concurrency.max(1))
            .collect::<Vec<bool>>()
            .await;
        if !shared.is_stopped(prm, series)
            && let Err(e) = shared.store.set_series_state(prm, series, Timestamp::now(), None)
        {
            shared.store_failed(e);
        }
    });
    futures::future::join_all(series_tasks).await;
    let mut report = std::mem::take(&mut *shared.report());
    report.calls = shared.calls.load(Ordering::Relaxed);
    report
}
