//! The executor against a real store: first runs fetch the minimum, second
//! runs only the revision window, errors are sorted by what to do.

use std::collections::HashMap;
use std::sync::Mutex;

use dataconnect::{Consent, ConsentDuration, DateRange, Generation, Reading, Series, UsagePointId};
use dataconnect_store::{ReadingFilter, SqliteConfig, SqliteStore, Store};
use dataconnect_sync::{
    ErrorAction, FetchError, PlanConfig, QuietProgress, SeriesTarget, Source, SyncConfig, minimum_calls, plan,
};
use jiff::civil::{Date, date};

const TODAY: Date = date(2026, 11, 28);

/// One reading per day (daily series) whatever the window; configured
/// errors per series; every call counted per series.
#[derive(Default)]
struct Fake {
    errors: HashMap<Series, FetchError>,
    calls: Mutex<Vec<(Series, DateRange)>>,
}

impl Source for Fake {
    async fn fetch(&self, _prm: &UsagePointId, series: Series, window: DateRange) -> Result<Vec<Reading>, FetchError> {
        self.calls.lock().unwrap().push((series, window));
        tokio::task::yield_now().await;
        if let Some(e) = self.errors.get(&series) {
            return Err(e.clone());
        }
        Ok(super::daily_readings(series, window))
    }
}

fn prm() -> UsagePointId {
    UsagePointId::new("12345678901234").unwrap()
}

fn config() -> SyncConfig {
    SyncConfig { plan: PlanConfig { today: TODAY, revision_days: 7, since: None, until: None }, concurrency: 3 }
}

fn targets(series: &[Series]) -> Vec<SeriesTarget> {
    series.iter().map(|&series| SeriesTarget { prm: prm(), series, activation: None }).collect()
}

fn count(store: &SqliteStore) -> u64 {
    store.for_each_reading(&ReadingFilter::default(), &mut |_| Ok(())).unwrap()
}

#[tokio::test]
async fn second_run_fetches_only_the_revision_window() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&SqliteConfig::new(dir.path().join("s.db"))).unwrap();
    let fake = Fake::default();
    let series = [Series::ConsumptionDaily, Series::ConsumptionMaxPower];
    let report = dataconnect_sync::run(&store, &fake, &targets(&series), &config(), &QuietProgress).await;
    assert!(report.is_complete(), "{report:?}");
    let wanted = plan::wanted(Series::ConsumptionDaily, &config().plan, None).unwrap();
    assert_eq!(report.calls as usize, 2 * minimum_calls(Series::ConsumptionDaily, wanted));
    assert_eq!(count(&store), 2 * wanted.days() as u64);

    fake.calls.lock().unwrap().clear();
    let again = dataconnect_sync::run(&store, &fake, &targets(&series), &config(), &QuietProgress).await;
    assert!(again.is_complete());
    let calls = fake.calls.lock().unwrap().clone();
    let revision = DateRange::new(date(2026, 11, 21), TODAY).unwrap();
    assert_eq!(calls, vec![(series[0], revision), (series[1], revision)]);
    assert_eq!(count(&store), 2 * wanted.days() as u64, "upserts do not duplicate");
}

#[tokio::test]
async fn errors_are_sorted_by_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&SqliteConfig::new(dir.path().join("s.db"))).unwrap();
    let mut fake = Fake::default();
    let stop = FetchError { action: ErrorAction::StopSeries, message: "ADAM-ERR0069: wrong direction".into() };
    fake.errors.insert(Series::ProductionDaily, stop);
    let empty = FetchError { action: ErrorAction::Empty, message: "before activation".into() };
    fake.errors.insert(Series::ConsumptionMaxPower, empty);
    let series = [Series::ProductionDaily, Series::ConsumptionMaxPower, Series::ConsumptionDaily];
    let report = dataconnect_sync::run(&store, &fake, &targets(&series), &config(), &QuietProgress).await;
    assert_eq!(report.stopped.len(), 1);
    let production_calls = fake.calls.lock().unwrap().iter().filter(|c| c.0 == Series::ProductionDaily).count();
    assert_eq!(production_calls, 1, "a stopped series costs one probe call");
    let wanted = plan::wanted(Series::ConsumptionMaxPower, &config().plan, None).unwrap();
    assert_eq!(store.coverage(&prm(), Series::ConsumptionMaxPower).unwrap(), vec![wanted]);
    assert!(report.is_complete(), "stopped series do not make a run incomplete");
    let states = store.series_states().unwrap();
    assert!(states.iter().any(|s| s.series == Series::ProductionDaily && s.stopped_reason.is_some()));
}

#[tokio::test]
async fn lost_consent_marks_the_meter_and_a_dead_source_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&SqliteConfig::new(dir.path().join("s.db"))).unwrap();
    let consent = Consent {
        usage_points: vec![prm()],
        generation: Generation::V5,
        start: TODAY,
        duration: ConsentDuration::MAX,
        state: "x".into(),
        autorisation_id: None,
    };
    store.record_consent(&consent, jiff::Timestamp::now()).unwrap();
    let mut fake = Fake::default();
    let gone = FetchError { action: ErrorAction::NeedsConsent, message: "ADAM-DC-0008".into() };
    fake.errors.insert(Series::ConsumptionDaily, gone);
    let report =
        dataconnect_sync::run(&store, &fake, &targets(&[Series::ConsumptionDaily]), &config(), &QuietProgress).await;
    assert_eq!(report.needs_consent.len(), 1);
    assert!(store.consents().unwrap()[0].needs_consent);

    let mut dead = Fake::default();
    let down = FetchError { action: ErrorAction::StopRun, message: "cannot reach the API".into() };
    dead.errors.insert(Series::ConsumptionCurve, down);
    let report =
        dataconnect_sync::run(&store, &dead, &targets(&[Series::ConsumptionCurve]), &config(), &QuietProgress).await;
    assert_eq!(report.stopped_run.as_deref(), Some("cannot reach the API"));
    assert_eq!(report.calls, 1);
    assert!(!report.is_complete());
}
