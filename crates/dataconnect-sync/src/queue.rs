//! The queue-driven executor: many workers, in one process or in several
//! processes on several machines, share the windows of one
//! [`WorkQueue`] (PostgreSQL) instead of each planning its own.
//!
//! Planning ([`enqueue`]) runs under the queue's planning lock with one
//! snapshot of coverage and queued windows, so two processes planning at
//! once never queue the same days twice: what is queued is the wanted range
//! minus what is covered minus what is already queued, plus the revision
//! window when it joins newly missing days, split into the longest windows
//! the API allows. Windows get a priority (0 for the days after a series'
//! covered range, the daily update; 1 for backfills) and their position
//! from the newest (`seq`), which is what makes claims fair across meters.
//!
//! Each worker ([`run_workers`]) claims one window, fetches it through the
//! [`Source`] (whose client waits for the shared quota), and completes it
//! (readings, coverage and the queue row in one transaction). Errors are
//! sorted as in [`inline`](crate::inline). Leases are renewed while calls run;
//! on shutdown the workers stop claiming, finish the calls in flight, store
//! them, and give back any lease left. A call still waiting
//! [`WorkerConfig::shutdown_grace`] after shutdown (the hourly quota can
//! hold one for most of an hour) is abandoned and its window given back.
//!
//! Store calls are synchronous; they run on tokio's blocking threads so that
//! a slow query never holds up the other workers' HTTP calls.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dataconnect::{DateRange, Series, UsagePointId};
use dataconnect_store::{Lease, PlanningView, QueueFilter, QueuedWindow, Store, StoreError, StoreErrorKind, WorkQueue};
use jiff::Timestamp;
use jiff::civil::Date;
use tokio::sync::Notify;

use crate::inline::{ErrorAction, FetchError, Progress, SeriesTarget, Source, SyncReport, WindowFailure};
use crate::plan::{PlanConfig, missing, wanted};

/// The windows to queue for one meter and series, given what is covered and
/// what is queued already (see the module docs). Oldest first.
pub fn queue_windows(
    prm: &UsagePointId,
    series: Series,
    config: &PlanConfig,
    activation: Option<Date>,
    view: &PlanningView,
) -> Vec<QueuedWindow> {
    let Some(wanted) = wanted(series, config, activation) else { return Vec::new() };
    let taken: Vec<DateRange> = view.coverage.iter().chain(&view.queued).copied().collect();
    let mut fetch = missing(wanted, &taken);
    if fetch.is_empty() {
        // Nothing new: the revision window alone is fetched again only when
        // new days join it, once a day, so that a second planner (another
        // process, a second run) does not fetch it twice.
        return Vec::new();
    }
    if config.revision_days > 0 {
        let from = config.today.checked_sub(jiff::ToSpan::days(config.revision_days)).unwrap_or(config.today);
        if let Some(revision) = DateRange::new(from, config.today).ok().and_then(|r| r.intersect(&wanted)) {
            fetch.extend(missing(revision, &view.queued));
        }
    }
    let last_covered = view.coverage.iter().map(|c| c.end()).max();
    let windows: Vec<DateRange> = crate::plan::union(fetch)
        .iter()
        .flat_map(|r| r.windows(series.max_window_days()))
        .filter(|w| !view.coverage.iter().any(|c| c.start() <= w.start() && w.end() <= c.end()))
        .collect();
    let n = windows.len();
    windows
        .into_iter()
        .enumerate()
        .map(|(i, window)| QueuedWindow {
            prm: prm.clone(),
            series,
            window,
            // Days after the covered range are the daily update; everything
            // else (a new consent, an old gap) is a backfill.
            priority: if last_covered.is_some_and(|e| window.end() > e) { 0 } else { 1 },
            seq: i32::try_from(n - 1 - i).unwrap_or(i32::MAX),
        })
        .collect()
}

/// Plans every target into the queue (see the module docs); returns the
/// number of windows queued.
pub fn enqueue<S: WorkQueue + ?Sized>(
    store: &S,
    targets: &[SeriesTarget],
    config: &PlanConfig,
) -> Result<u64, StoreError> {
    let activation: HashMap<(UsagePointId, Series), Option<Date>> =
        targets.iter().map(|t| ((t.prm.clone(), t.series), t.activation)).collect();
    let keys: Vec<(UsagePointId, Series)> = targets.iter().map(|t| (t.prm.clone(), t.series)).collect();
    store.plan_and_enqueue(&keys, &mut |prm, series, view| {
        let act = activation.get(&(prm.clone(), series)).copied().flatten();
        queue_windows(prm, series, config, act, view)
    })
}

/// How the workers of one process run.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Workers in this process (windows in flight at once).
    pub workers: usize,
    /// Who holds the leases: unique per process (see [`lease_owner`]).
    pub owner: String,
    /// How long a lease lasts without renewal; leases are renewed every
    /// third of it while calls run, so only a dead process loses them.
    pub lease: Duration,
    /// Only windows matching this filter are claimed.
    pub filter: QueueFilter,
    /// Stop once no window matching the filter is queued (a one-shot sync);
    /// otherwise keep waiting for new windows until shutdown (a daemon).
    pub until_empty: bool,
    /// How long an idle worker waits before looking again.
    pub idle_poll: Duration,
    /// After shutdown, how long a call in flight may still take (a call can
    /// wait for the hourly quota for most of an hour): past it the call is
    /// abandoned and its window given back, to be fetched again later.
    pub shutdown_grace: Duration,
}

impl WorkerConfig {
    /// `workers` workers, a 60 s lease, a fresh owner, all windows, one-shot.
    pub fn new(workers: usize) -> Self {
        WorkerConfig {
            workers: workers.max(1),
            owner: lease_owner(),
            lease: Duration::from_secs(60),
            filter: QueueFilter::default(),
            until_empty: true,
            idle_poll: Duration::from_millis(250),
            shutdown_grace: Duration::from_secs(60),
        }
    }
}

/// A lease owner name unique to this process: the process id and the time
/// it was made (a restarted process never takes its predecessor's leases
/// for its own).
pub fn lease_owner() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("pid{}-{:x}", std::process::id(), nanos)
}

/// Runs a synchronous store call on a blocking thread.
async fn blocking<S, T>(
    store: &Arc<S>,
    f: impl FnOnce(&S) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError>
where
    S: ?Sized + Send + Sync + 'static,
    T: Send + 'static,
{
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || f(&store)).await.unwrap_or_else(|e| {
        Err(StoreError::new(StoreErrorKind::Other, format!("a store call stopped without an answer: {e}")))
    })
}

struct Shared<'a, P: ?Sized> {
    progress: &'a P,
    /// No more claims: shutdown asked, the run stopped or the queue is empty.
    stop: AtomicBool,
    /// Set by shutdown only (the summary says so).
    interrupted: AtomicBool,
    wake: Notify,
    calls: AtomicU64,
    report: Mutex<SyncReport>,
}

impl<P: Progress + ?Sized> Shared<'_, P> {
    fn report(&self) -> std::sync::MutexGuard<'_, SyncReport> {
        self.report.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn halt(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
    }

    fn store_failed(&self, e: StoreError) {
        let mut report = self.report();
        if report.store_error.is_none() {
            report.store_error = Some(e);
        }
        drop(report);
        self.halt();
    }

    async fn idle(&self, wait: Duration) {
        let notified = self.wake.notified();
        if self.stop.load(Ordering::SeqCst) {
            return;
        }
        let sleep = tokio::time::sleep(wait);
        futures::pin_mut!(notified, sleep);
        futures::future::select(notified, sleep).await;
    }
}

/// What a finished [`run_workers`] tells besides the report.
#[derive(Debug)]
pub struct WorkOutcome {
    /// What was done.
    pub report: SyncReport,
    /// True when the shutdown future fired before the work was done.
    pub interrupted: bool,
    /// Leases given back at the end (windows left for others).
    pub released: u64,
}

/// Runs `config.workers` workers on the queue until it is empty (one-shot)
/// or until `shutdown` fires (see the module docs).
pub async fn run_workers<S, Src, P>(
    store: Arc<S>,
    source: &Src,
    config: &WorkerConfig,
    progress: &P,
    shutdown: impl Future<Output = ()>,
) -> WorkOutcome
where
    S: Store + WorkQueue + ?Sized + 'static,
    Src: Source + ?Sized,
    P: Progress + ?Sized,
{
    let shared = Shared {
        progress,
        stop: AtomicBool::new(false),
        interrupted: AtomicBool::new(false),
        wake: Notify::new(),
        calls: AtomicU64::new(0),
        report: Mutex::new(SyncReport::default()),
    };
    let shared = &shared;
    let work = futures::future::join_all((0..config.workers.max(1)).map(|_| worker(&store, source, config, shared)));
    let watch = async {
        shutdown.await;
        shared.interrupted.store(true, Ordering::SeqCst);
        shared.halt();
        std::future::pending::<()>().await;
    };
    let renew = async {
        loop {
            tokio::time::sleep(config.lease / 3).await;
            let (owner, lease) = (config.owner.clone(), config.lease);
            // A failed renewal is not fatal: the lease still runs, and the
            // next renewal may succeed.
            if let Err(e) = blocking(&store, move |s| s.renew_leases(&owner, lease)).await {
                shared.progress.note(&format!("could not renew the leases: {e}"));
            }
        }
    };
    let background = futures::future::join(watch, renew);
    futures::pin_mut!(work, background);
    futures::future::select(work, background).await;
    let owner = config.owner.clone();
    let released = blocking(&store, move |s| s.release(&owner, None)).await.unwrap_or(0);
    let mut report = std::mem::take(&mut *shared.report());
    report.calls = shared.calls.load(Ordering::Relaxed);
    WorkOutcome { report, interrupted: shared.interrupted.load(Ordering::SeqCst), released }
}

async fn worker<S, Src, P>(store: &Arc<S>, source: &Src, config: &WorkerConfig, shared: &Shared<'_, P>)
where
    S: Store + WorkQueue + ?Sized + 'static,
    Src: Source + ?Sized,
    P: Progress + ?Sized,
{
    while !shared.stop.load(Ordering::SeqCst) {
        let (owner, lease, filter) = (config.owner.clone(), config.lease, config.filter.clone());
        let claimed = match blocking(store, move |s| s.claim(&owner, 1, lease, &filter)).await {
            Ok(c) => c,
            Err(e) => {
                shared.store_failed(e);
                return;
            }
        };
        let Some(lease) = claimed.into_iter().next() else {
            if config.until_empty {
                let filter = config.filter.clone();
                match blocking(store, move |s| s.queue_counts(&filter)).await {
                    // Nothing left for anyone (nothing even leased): this
                    // worker is done; the others see the same.
                    Ok(c) if c.queued == 0 => return,
                    Ok(_) => {}
                    Err(e) => {
                        shared.store_failed(e);
                        return;
                    }
                }
            }
            // Windows are leased by others (a dead process's leases run
            // out), or wait for their series' probe: look again soon.
            shared.idle(config.idle_poll).await;
            continue;
        };
        if shared.stop.load(Ordering::SeqCst) {
            // Stopped while claiming: the lease is given back at the end.
            return;
        }
        shared.calls.fetch_add(1, Ordering::Relaxed);
        let fetched = {
            let fetch = fetch_window(source, &lease);
            let abandon = async {
                loop {
                    let woken = shared.wake.notified();
                    if shared.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    woken.await;
                }
                tokio::time::sleep(config.shutdown_grace).await;
            };
            futures::pin_mut!(fetch, abandon);
            match futures::future::select(fetch, abandon).await {
                futures::future::Either::Left((fetched, _)) => Some(fetched),
                futures::future::Either::Right(_) => None,
            }
        };
        let Some(fetched) = fetched else {
            // Still waiting long after shutdown: the lease is given back at
            // the end, and the window fetched by a later run.
            shared.progress.note(&format!(
                "{} {} {}: abandoned at shutdown, left for the next run",
                lease.prm, lease.series, lease.window
            ));
            return;
        };
        let outcome = match fetched {
            Ok(readings) => complete(store, shared, lease, readings).await,
            Err(e) => failed(store, config, shared, lease, e).await,
        };
        if let Err(e) = outcome {
            shared.store_failed(e);
            return;
        }
    }
}

/// What one claimed window's call brought: readings, or the register
/// readings of an index series.
enum Fetched {
    Readings(Vec<dataconnect::Reading>),
    Index(Vec<dataconnect::IndexReading>),
}

impl Fetched {
    /// Nothing, for a window of `series`.
    fn empty(series: dataconnect::Series) -> Self {
        if series.is_index() { Fetched::Index(Vec::new()) } else { Fetched::Readings(Vec::new()) }
    }
}

/// One call for a claimed window, through the source's method for its
/// series.
async fn fetch_window<Src: Source + ?Sized>(source: &Src, lease: &Lease) -> Result<Fetched, FetchError> {
    if lease.series.is_index() {
        source.fetch_index(&lease.prm, lease.series, lease.window).await.map(Fetched::Index)
    } else {
        source.fetch(&lease.prm, lease.series, lease.window).await.map(Fetched::Readings)
    }
}

async fn complete<S, P>(
    store: &Arc<S>,
    shared: &Shared<'_, P>,
    lease: Lease,
    fetched: Fetched,
) -> Result<(), StoreError>
where
    S: Store + WorkQueue + ?Sized + 'static,
    P: Progress + ?Sized,
{
    let (prm, series, window) = (lease.prm.clone(), lease.series, lease.window);
    let points = blocking(store, move |s| {
        let points = match &fetched {
            Fetched::Readings(readings) => s.complete(&lease, readings)?,
            Fetched::Index(readings) => s.complete_index(&lease, readings)?,
        };
        if lease.seq == 0 {
            s.set_series_state(&lease.prm, lease.series, Timestamp::now(), None)?;
        }
        Ok(points)
    })
    .await?;
    let mut report = shared.report();
    report.stored += 1;
    report.points += points;
    drop(report);
    shared.progress.stored(&prm, series, window, points);
    Ok(())
}

async fn failed<S, P>(
    store: &Arc<S>,
    config: &WorkerConfig,
    shared: &Shared<'_, P>,
    lease: Lease,
    e: FetchError,
) -> Result<(), StoreError>
where
    S: Store + WorkQueue + ?Sized + 'static,
    P: Progress + ?Sized,
{
    let (prm, series, window, id) = (lease.prm.clone(), lease.series, lease.window, lease.id);
    match e.action {
        ErrorAction::Empty => return complete(store, shared, lease, Fetched::empty(series)).await,
        ErrorAction::StopSeries => {
            let message = e.message.clone();
            blocking(store, move |s| {
                s.drop_queued(&lease.prm, Some(lease.series))?;
                s.set_series_state(&lease.prm, lease.series, Timestamp::now(), Some(&message))
            })
            .await?;
            shared.report().stopped.push((prm.clone(), series, e.message.clone()));
        }
        ErrorAction::NeedsConsent => {
            let message = e.message.clone();
            blocking(store, move |s| {
                s.drop_queued(&lease.prm, None)?;
                s.mark_needs_consent(&lease.prm, &message)
            })
            .await?;
            shared.report().needs_consent.push((prm.clone(), e.message.clone()));
        }
        ErrorAction::SkipWindow => {
            // Given up for now: the next planning finds the days missing.
            blocking(store, move |s| s.drop_window(id)).await?;
            shared.report().failures.push(WindowFailure {
                prm: prm.clone(),
                series,
                window,
                message: e.message.clone(),
            });
        }
        ErrorAction::StopSeriesEverywhere => {
            // The Source says so once per series and then answers without a
            // call; the window is given up (the next planning finds it
            // missing again) and only the first one is reported.
            blocking(store, move |s| s.drop_window(id)).await?;
            let mut report = shared.report();
            if report.stopped_everywhere.iter().any(|(s, _)| *s == series) {
                return Ok(());
            }
            report.stopped_everywhere.push((series, e.message.clone()));
        }
        ErrorAction::StopRun => {
            let owner = config.owner.clone();
            blocking(store, move |s| s.release(&owner, Some(id))).await?;
            let mut report = shared.report();
            let first = report.stopped_run.is_none();
            if first {
                report.stopped_run = Some(e.message.clone());
            }
            drop(report);
            shared.halt();
            if !first {
                return Ok(());
            }
        }
    }
    shared.progress.problem(&prm, series, &e.message);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::plan_series;
    use jiff::civil::date;

    const TODAY: Date = date(2026, 11, 28);

    fn config() -> PlanConfig {
        PlanConfig { today: TODAY, revision_days: 7, since: None, until: None }
    }

    fn prm() -> UsagePointId {
        UsagePointId::new("12345678901234").unwrap()
    }

    fn r(a: Date, b: Date) -> DateRange {
        DateRange::new(a, b).unwrap()
    }

    #[test]
    fn a_new_consent_is_a_backfill_numbered_from_the_newest() {
        let series = Series::ConsumptionCurve;
        let q = queue_windows(&prm(), series, &config(), None, &PlanningView::default());
        let plan = plan_series(series, &config(), None, &[]);
        assert_eq!(
            q.iter().map(|w| w.window).collect::<Vec<_>>(),
            plan.windows,
            "the fewest calls, as without a queue"
        );
        assert!(q.iter().all(|w| w.priority == 1));
        assert_eq!(q.last().map(|w| (w.seq, w.window.end())), Some((0, TODAY)), "the newest window is the probe");
        assert_eq!(q.first().map(|w| w.seq), Some(q.len() as i32 - 1));
    }

    #[test]
    fn a_new_day_is_an_update_with_the_revision_window() {
        let series = Series::ConsumptionCurve;
        let wanted = wanted(series, &config(), None).unwrap();
        let yesterday = r(wanted.start(), TODAY.yesterday().unwrap());
        let view = PlanningView { coverage: vec![yesterday], queued: vec![] };
        let q = queue_windows(&prm(), series, &config(), None, &view);
        assert_eq!(q.len(), 1);
        assert_eq!((q[0].window, q[0].priority, q[0].seq), (r(date(2026, 11, 21), TODAY), 0, 0));
        // Covered up to today: nothing, not even the revision window (a second
        // planner must not fetch it again).
        let full = PlanningView { coverage: vec![wanted], queued: vec![] };
        assert!(queue_windows(&prm(), series, &config(), None, &full).is_empty());
    }

    #[test]
    fn queued_days_are_not_queued_again() {
        let series = Series::ConsumptionDaily;
        let all = queue_windows(&prm(), series, &config(), None, &PlanningView::default());
        let queued: Vec<DateRange> = all.iter().map(|w| w.window).collect();
        let view = PlanningView { coverage: vec![], queued: queued.clone() };
        assert!(queue_windows(&prm(), series, &config(), None, &view).is_empty());
        // With the newest window queued and the older ones covered, only
        // what is neither is planned, and the revision part that is queued
        // is left out.
        let newest = *queued.last().unwrap();
        let wanted = wanted(series, &config(), None).unwrap();
        let older = r(wanted.start(), date(2026, 1, 1));
        let view = PlanningView { coverage: vec![older], queued: vec![newest] };
        let q = queue_windows(&prm(), series, &config(), None, &view);
        for w in &q {
            assert!(w.window.intersect(&newest).is_none() && w.window.intersect(&older).is_none(), "{w:?}");
        }
        assert_eq!(q.iter().map(|w| w.window.days()).sum::<i32>(), wanted.days() - older.days() - newest.days());
    }
}
