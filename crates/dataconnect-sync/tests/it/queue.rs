//! The queue-driven workers and the daemon against a real PostgreSQL store
//! (a schema of their own per test), fed by a fake source that counts its
//! calls: errors are sorted as in `inline`, shutdown finishes the calls in
//! flight and gives the leases back, and the daemon plans consented meters
//! only. Without `DATACONNECT_TEST_PG_URL` the tests fail, unless
//! `DATACONNECT_SKIP_PG=1` skips them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dataconnect::{Consent, ConsentDuration, DateRange, Generation, Reading, Series, UsagePointId};
use dataconnect_store::{PgConfig, PgStore, QueueFilter, Store, WorkQueue};
use dataconnect_sync::{
    DaemonConfig, ErrorAction, FetchError, PlanConfig, QuietProgress, SeriesTarget, Source, WorkerConfig, enqueue,
    run_daemon, run_workers,
};
use jiff::civil::{Date, date};

const TODAY: Date = date(2026, 11, 28);

struct Pg(Option<Arc<PgStore>>);

impl Drop for Pg {
    fn drop(&mut self) {
        if let Some(s) = self.0.take().and_then(|a| Arc::try_unwrap(a).ok()) {
            let _ = s.drop_schema();
        }
    }
}

/// A store in a fresh schema for `test`, or `None` when
/// `DATACONNECT_SKIP_PG=1` skips the PostgreSQL tests (see
/// `dataconnect_testkit::pg`).
fn pg(test: &str) -> Option<Pg> {
    let url = dataconnect_testkit::pg::url(test)?;
    let schema = dataconnect_testkit::pg::schema_name("dct_sync", test);
    Some(Pg(Some(Arc::new(PgStore::open(&PgConfig { schema: Some(schema), ..PgConfig::new(url) }).unwrap()))))
}

fn meter(n: u8) -> UsagePointId {
    UsagePointId::new(&format!("{:014}", 30_000_000_000_000u64 + u64::from(n))).unwrap()
}

/// One reading per day; configured errors per meter (all windows) or per
/// window; every call counted.
#[derive(Default)]
struct Fake {
    errors: HashMap<UsagePointId, FetchError>,
    window_errors: HashMap<DateRange, FetchError>,
    calls: Mutex<Vec<(UsagePointId, DateRange)>>,
    started: AtomicUsize,
    /// Fires once this many calls have started.
    fire_after: Option<(usize, Arc<tokio::sync::Notify>)>,
    /// How long a call takes (5 ms when zero).
    delay: Duration,
}

impl Source for Fake {
    async fn fetch(&self, prm: &UsagePointId, series: Series, window: DateRange) -> Result<Vec<Reading>, FetchError> {
        let n = self.started.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some((at, notify)) = &self.fire_after
            && n == *at
        {
            notify.notify_one();
        }
        // A call takes a little while, so that calls are in flight together.
        tokio::time::sleep(if self.delay.is_zero() { Duration::from_millis(5) } else { self.delay }).await;
        self.calls.lock().unwrap().push((prm.clone(), window));
        if let Some(e) = self.errors.get(prm).or_else(|| self.window_errors.get(&window)) {
            return Err(e.clone());
        }
        Ok(super::daily_readings(series, window))
    }
}

fn plan() -> PlanConfig {
    PlanConfig { today: TODAY, revision_days: 7, since: None, until: None }
}

fn targets(meters: &[UsagePointId]) -> Vec<SeriesTarget> {
    meters.iter().map(|p| SeriesTarget { prm: p.clone(), series: Series::ConsumptionDaily, activation: None }).collect()
}

fn record_consents(store: &PgStore, meters: &[UsagePointId]) {
    let consent = Consent {
        usage_points: meters.to_vec(),
        generation: Generation::Dc2026,
        start: date(2026, 1, 1),
        duration: ConsentDuration::MAX,
        state: "s".into(),
        autorisation_id: None,
    };
    store.record_consent(&consent, jiff::Timestamp::now()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_sort_errors_like_the_executor() {
    let Some(pg) = pg("work_errors") else { return };
    let store = pg.0.clone().unwrap();
    let (ok, wrong, gone) = (meter(1), meter(2), meter(3));
    record_consents(&store, &[ok.clone(), wrong.clone(), gone.clone()]);
    assert_eq!(enqueue(&*store, &targets(&[ok.clone(), wrong.clone(), gone.clone()]), &plan()).unwrap(), 12);
    // Planning again (another process) queues nothing.
    assert_eq!(enqueue(&*store, &targets(std::slice::from_ref(&ok)), &plan()).unwrap(), 0);
    let mut fake = Fake::default();
    fake.errors.insert(wrong.clone(), FetchError { action: ErrorAction::StopSeries, message: "ADAM-ERR0069".into() });
    fake.errors.insert(gone.clone(), FetchError { action: ErrorAction::NeedsConsent, message: "ADAM-DC-0008".into() });
    let oldest_ok = {
        let wanted = dataconnect_sync::plan::wanted(Series::ConsumptionDaily, &plan(), None).unwrap();
        wanted.windows(365)[0]
    };
    fake.window_errors.insert(oldest_ok, FetchError { action: ErrorAction::SkipWindow, message: "503".into() });
    let outcome =
        run_workers(store.clone(), &fake, &WorkerConfig::new(3), &QuietProgress, std::future::pending()).await;
    let r = &outcome.report;
    assert!(!outcome.interrupted);
    assert_eq!(r.stored, 3, "{r:?}");
    assert_eq!(r.stopped.len(), 1);
    assert_eq!(r.needs_consent.len(), 1);
    assert_eq!(r.failures.len(), 1);
    assert!(r.store_error.is_none() && r.stopped_run.is_none());
    let calls = fake.calls.lock().unwrap().clone();
    assert_eq!(calls.iter().filter(|c| c.0 == wrong).count(), 1, "a stopped series costs its probe only");
    assert_eq!(calls.iter().filter(|c| c.0 == gone).count(), 1, "a lost consent costs one call");
    assert_eq!(calls.len(), 4 + 1 + 1);
    assert_eq!(store.queue_counts(&QueueFilter::default()).unwrap().queued, 0);
    assert!(store.consents().unwrap().iter().any(|c| c.usage_point_id == gone && c.needs_consent));
    assert!(store.series_states().unwrap().iter().any(|s| s.usage_point_id == wrong && s.stopped_reason.is_some()));
    // The skipped window is missing, and the next planning queues it again.
    assert_eq!(store.coverage(&ok, Series::ConsumptionDaily).unwrap().len(), 1);
    assert_eq!(enqueue(&*store, &targets(&[ok]), &plan()).unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fatal_error_stops_the_run_and_gives_the_window_back() {
    let Some(pg) = pg("work_stop_run") else { return };
    let store = pg.0.clone().unwrap();
    let m = meter(1);
    enqueue(&*store, &targets(std::slice::from_ref(&m)), &plan()).unwrap();
    let mut fake = Fake::default();
    fake.errors.insert(m.clone(), FetchError { action: ErrorAction::StopRun, message: "bad credentials".into() });
    let outcome =
        run_workers(store.clone(), &fake, &WorkerConfig::new(2), &QuietProgress, std::future::pending()).await;
    assert_eq!(outcome.report.stopped_run.as_deref(), Some("bad credentials"));
    assert_eq!(outcome.report.calls, 1, "the probe, then nothing");
    let counts = store.queue_counts(&QueueFilter::default()).unwrap();
    assert_eq!((counts.queued, counts.leased), (4, 0), "everything left for the next run, no lease held");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_the_calls_in_flight_and_releases_the_leases() {
    let Some(pg) = pg("work_shutdown") else { return };
    let store = pg.0.clone().unwrap();
    let meters: Vec<UsagePointId> = (1..=20).map(meter).collect();
    assert_eq!(enqueue(&*store, &targets(&meters), &plan()).unwrap(), 80);
    let notify = Arc::new(tokio::sync::Notify::new());
    let fake = Fake { fire_after: Some((10, notify.clone())), ..Fake::default() };
    let shutdown = async move { notify.notified().await };
    let outcome = run_workers(store.clone(), &fake, &WorkerConfig::new(4), &QuietProgress, shutdown).await;
    assert!(outcome.interrupted);
    let calls = fake.calls.lock().unwrap().len();
    assert!((10..=13).contains(&calls), "claims stop at shutdown: {calls} calls");
    assert_eq!(outcome.report.stored, calls, "every call in flight was stored");
    let counts = store.queue_counts(&QueueFilter::default()).unwrap();
    assert_eq!(counts.queued, 80 - calls as u64);
    assert_eq!(counts.leased, 0, "no lease is left behind");
}

/// Resolves once `meters` are covered for more than 1,000 days each and the
/// queue is empty: a daemon's shutdown signal.
async fn covered_and_drained(store: Arc<PgStore>, meters: Vec<UsagePointId>) {
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let covered = meters
            .iter()
            .all(|p| store.coverage(p, Series::ConsumptionDaily).unwrap().iter().map(|c| c.days()).sum::<i32>() > 1000);
        if covered && store.queue_counts(&QueueFilter::default()).unwrap().queued == 0 {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_plans_only_the_meters_it_is_given() {
    let Some(pg) = pg("daemon_only") else { return };
    let store = pg.0.clone().unwrap();
    let (a, b, excluded) = (meter(1), meter(2), meter(3));
    record_consents(&store, &[a.clone(), b.clone(), excluded.clone()]);
    let fake = Fake::default();
    let config = DaemonConfig {
        series: vec![Series::ConsumptionDaily],
        today: Some(TODAY),
        replan_every: Duration::from_millis(50),
        only: vec![a.clone(), b.clone()],
        ..DaemonConfig::new(2)
    };
    let outcome =
        run_daemon(store.clone(), &fake, &config, &QuietProgress, covered_and_drained(store.clone(), vec![a, b])).await;
    assert!(outcome.interrupted);
    assert!(outcome.report.store_error.is_none(), "{:?}", outcome.report.store_error);
    let calls = fake.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 8, "two meters x four windows, each once, though planned every 50 ms");
    assert!(calls.iter().all(|c| c.0 != excluded), "a meter left out is never called");
    let queued = store.queue_counts(&QueueFilter { prms: vec![excluded.clone()], series: Vec::new() }).unwrap();
    assert_eq!((queued.queued, queued.leased), (0, 0), "nor queued, at any round");
    assert!(store.coverage(&excluded, Series::ConsumptionDaily).unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_plans_consented_meters_and_stops_cleanly() {
    let Some(pg) = pg("daemon") else { return };
    let store = pg.0.clone().unwrap();
    let (a, b, lost) = (meter(1), meter(2), meter(3));
    record_consents(&store, &[a.clone(), b.clone(), lost.clone()]);
    store.mark_needs_consent(&lost, "ADAM-DC-0007").unwrap();
    let fake = Fake::default();
    let config = DaemonConfig {
        series: vec![Series::ConsumptionDaily],
        today: Some(TODAY),
        replan_every: Duration::from_millis(200),
        ..DaemonConfig::new(2)
    };
    let shutdown = covered_and_drained(store.clone(), vec![a, b]);
    let outcome = run_daemon(store.clone(), &fake, &config, &QuietProgress, shutdown).await;
    assert!(outcome.interrupted);
    assert!(outcome.report.store_error.is_none(), "{:?}", outcome.report.store_error);
    let calls = fake.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 8, "two meters x four windows, each once, though planned every 200 ms");
    assert!(calls.iter().all(|c| c.0 != lost), "a meter that needs consent is not called");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_still_waiting_long_after_shutdown_is_abandoned_and_its_window_given_back() {
    let Some(pg) = pg("work_grace") else { return };
    let store = pg.0.clone().unwrap();
    enqueue(&*store, &targets(&[meter(1), meter(2)]), &plan()).unwrap();
    let notify = Arc::new(tokio::sync::Notify::new());
    // Calls that would wait an hour (the hourly quota).
    let fake = Fake { fire_after: Some((2, notify.clone())), delay: Duration::from_secs(3600), ..Fake::default() };
    let config = WorkerConfig { shutdown_grace: Duration::from_millis(200), ..WorkerConfig::new(2) };
    let outcome =
        run_workers(store.clone(), &fake, &config, &QuietProgress, async move { notify.notified().await }).await;
    assert!(outcome.interrupted);
    assert_eq!(outcome.report.stored, 0);
    assert_eq!(outcome.released, 2, "both windows given back");
    let counts = store.queue_counts(&QueueFilter::default()).unwrap();
    assert_eq!((counts.queued, counts.leased), (8, 0));
}
