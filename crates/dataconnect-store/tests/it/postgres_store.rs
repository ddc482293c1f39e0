//! The PostgreSQL backend: the same behaviours as the SQLite tests (upserts,
//! coverage, filters, streaming, records), plus what only a shared server
//! brings (concurrent writers, calls from inside a runtime, pages of a
//! streaming read). Each test opens its own schema, dropped at the end, so
//! tests run concurrently and again. Without `DATACONNECT_TEST_PG_URL` they
//! fail, unless `DATACONNECT_SKIP_PG=1` skips them (see
//! `dataconnect_testkit::pg`).

use dataconnect::{Consent, ConsentDuration, Generation, Reading, Series, Unit, UsagePointId};
use dataconnect_store::{
    MeterInfo, PendingConsent, PgConfig, PgStore, ReadingFilter, Store, StoreErrorKind, SyncRunOutcome, WindowWrite,
};
use jiff::Timestamp;

use crate::{CURVE, curve, d, prm, range};

/// A store in a schema of its own, dropped when the guard goes.
pub struct PgGuard {
    pub store: Option<PgStore>,
    pub config: PgConfig,
}

impl std::ops::Deref for PgGuard {
    type Target = PgStore;
    fn deref(&self) -> &PgStore {
        self.store.as_ref().expect("open until dropped")
    }
}

impl Drop for PgGuard {
    fn drop(&mut self) {
        if let Some(store) = self.store.take() {
            let _ = store.drop_schema();
        }
    }
}

impl PgGuard {
    /// Closes the store and opens the same schema again.
    pub fn reopen(&mut self) {
        drop(self.store.take());
        self.store = Some(PgStore::open(&self.config).unwrap());
    }
}

/// The server URL, or `None` when `DATACONNECT_SKIP_PG=1` skips the test
/// (see `dataconnect_testkit::pg`).
pub fn pg_url(test: &str) -> Option<String> {
    dataconnect_testkit::pg::url(test)
}

/// A unique schema name: the test, the process and a counter.
pub fn schema_name(test: &str) -> String {
    dataconnect_testkit::pg::schema_name("dct", test)
}

/// Opens a fresh store for `test`, or `None` when the PostgreSQL tests are
/// skipped.
pub fn pg(test: &str) -> Option<PgGuard> {
    let url = pg_url(test)?;
    let config = PgConfig { schema: Some(schema_name(test)), ..PgConfig::new(url) };
    let store = PgStore::open(&config).unwrap();
    Some(PgGuard { store: Some(store), config })
}

fn all(store: &dyn Store, filter: &ReadingFilter) -> Vec<dataconnect_store::StoredReading> {
    let mut out = Vec::new();
    store
        .for_each_reading(filter, &mut |r| {
            out.push(r.clone());
            Ok(())
        })
        .unwrap();
    out
}

#[test]
fn pg_upsert_is_idempotent_and_keeps_nulls() {
    let Some(store) = pg("upsert") else { return };
    assert_eq!(store.schema_version().unwrap(), 5);
    let p = prm();
    // The autumn DST day has 50 half-hours.
    let w = range(d(2025, 10, 26), d(2025, 10, 27));
    let rs = curve(w);
    assert_eq!(rs.len(), 50);
    for _ in 0..2 {
        assert_eq!(store.upsert_window(&WindowWrite { prm: &p, series: CURVE, window: w, readings: &rs }).unwrap(), 50);
    }
    let back: Vec<Reading> = all(&*store, &ReadingFilter::default()).into_iter().map(|r| r.reading).collect();
    assert_eq!(back, rs);
    assert_eq!(back.iter().filter(|r| r.value.is_none()).count(), 5);
    let sum = store.summary(&ReadingFilter::default()).unwrap();
    assert_eq!(sum.len(), 1);
    assert_eq!(sum[0].points, 50);
    assert_eq!(sum[0].first_start, rs[0].start);
    assert_eq!(sum[0].last_end, rs[49].end);
    let expected: f64 = rs.iter().filter_map(|r| r.value).sum();
    assert_eq!(sum[0].sum_value, expected);
    assert_eq!(sum[0].energy_wh, expected / 2.0);
    assert_eq!(sum[0].max_value, rs.iter().filter_map(|r| r.value).reduce(f64::max));

    // A re-fetch with a changed value and a value that became null replaces them.
    let mut changed = rs;
    changed[0].value = Some(1234.5);
    changed[1].value = None;
    store.upsert_window(&WindowWrite { prm: &p, series: CURVE, window: w, readings: &changed }).unwrap();
    let back: Vec<Reading> = all(&*store, &ReadingFilter::default()).into_iter().map(|r| r.reading).collect();
    assert_eq!(back, changed);
}

#[test]
fn pg_daily_max_power_keeps_its_peak_instant() {
    let Some(store) = pg("peak") else { return };
    let p = prm();
    let w = range(d(2025, 1, 1), d(2025, 1, 3));
    let day = |day: jiff::civil::Date| {
        let r = range(day, day.tomorrow().unwrap());
        Reading {
            start: r.start_instant(),
            end: r.end_instant(),
            value: Some(6000.0),
            unit: Unit::VA,
            peak_at: Some(r.start_instant() + jiff::SignedDuration::from_hours(19)),
        }
    };
    let rs = vec![day(d(2025, 1, 1)), day(d(2025, 1, 2))];
    let series = Series::ConsumptionMaxPower;
    store.upsert_window(&WindowWrite { prm: &p, series, window: w, readings: &rs }).unwrap();
    let back: Vec<Reading> = all(&*store, &ReadingFilter::default()).into_iter().map(|r| r.reading).collect();
    assert_eq!(back, rs);
    let sum = store.summary(&ReadingFilter::default()).unwrap();
    assert_eq!(sum[0].energy_wh, 0.0);
    assert_eq!(sum[0].max_value, Some(6000.0));
}

#[test]
fn pg_coverage_merges_touching_and_overlapping_windows() {
    let Some(store) = pg("coverage") else { return };
    let p = prm();
    let put = |a, b| {
        store.upsert_window(&WindowWrite { prm: &p, series: CURVE, window: range(a, b), readings: &[] }).unwrap();
    };
    put(d(2025, 1, 1), d(2025, 1, 8));
    put(d(2025, 1, 15), d(2025, 1, 22));
    assert_eq!(store.coverage(&p, CURVE).unwrap().len(), 2);
    put(d(2025, 1, 8), d(2025, 1, 10));
    put(d(2025, 1, 9), d(2025, 1, 16));
    assert_eq!(store.coverage(&p, CURVE).unwrap(), vec![range(d(2025, 1, 1), d(2025, 1, 22))]);
    // A window inside a covered range changes nothing.
    put(d(2025, 1, 3), d(2025, 1, 4));
    assert_eq!(store.coverage(&p, CURVE).unwrap(), vec![range(d(2025, 1, 1), d(2025, 1, 22))]);
    assert!(store.coverage(&p, Series::ConsumptionDaily).unwrap().is_empty());
    // The newest end of every meter and series, in one query.
    let daily = range(d(2025, 2, 1), d(2025, 2, 3));
    store
        .upsert_window(&WindowWrite { prm: &p, series: Series::ConsumptionDaily, window: daily, readings: &[] })
        .unwrap();
    assert_eq!(
        store.coverage_ends().unwrap(),
        vec![(p.clone(), CURVE, d(2025, 1, 22)), (p.clone(), Series::ConsumptionDaily, d(2025, 2, 3))]
    );
}

#[test]
fn pg_concurrent_writers_of_one_series_keep_coverage_merged() {
    let Some(store) = pg("concurrent") else { return };
    let p = prm();
    // 28 one-day windows written by 4 threads at once, in an order that
    // makes neighbours land concurrently: the advisory lock of the series
    // must serialise their coverage merges.
    std::thread::scope(|s| {
        for t in 0..4 {
            let (store, p) = (&*store, &p);
            s.spawn(move || {
                for i in (t..28).step_by(4) {
                    let day = d(2025, 2, 1 + i as i8);
                    let w = range(day, day.tomorrow().unwrap());
                    store
                        .upsert_window(&WindowWrite { prm: p, series: CURVE, window: w, readings: &curve(w) })
                        .unwrap();
                }
            });
        }
    });
    assert_eq!(store.coverage(&p, CURVE).unwrap(), vec![range(d(2025, 2, 1), d(2025, 3, 1))]);
    assert_eq!(store.for_each_reading(&ReadingFilter::default(), &mut |_| Ok(())).unwrap(), 28 * 48);
}

#[test]
fn pg_filters_select_meter_series_and_time() {
    let Some(store) = pg("filters") else { return };
    let p = prm();
    let w = range(d(2025, 3, 29), d(2025, 4, 1));
    store.upsert_window(&WindowWrite { prm: &p, series: CURVE, window: w, readings: &curve(w) }).unwrap();
    // The spring DST day has 46 half-hours.
    let day = range(d(2025, 3, 30), d(2025, 3, 31));
    let filter = ReadingFilter {
        usage_points: vec![p],
        series: vec![CURVE],
        from: Some(day.start_instant()),
        to: Some(day.end_instant()),
    };
    assert_eq!(store.for_each_reading(&filter, &mut |_| Ok(())).unwrap(), 46);
    assert_eq!(store.summary(&filter).unwrap()[0].points, 46);
    let other = ReadingFilter { series: vec![Series::ProductionCurve], ..ReadingFilter::default() };
    assert_eq!(store.for_each_reading(&other, &mut |_| Ok(())).unwrap(), 0);
    assert!(store.summary(&other).unwrap().is_empty());
    let nobody =
        ReadingFilter { usage_points: vec![UsagePointId::new("10284856584123").unwrap()], ..ReadingFilter::default() };
    assert_eq!(store.for_each_reading(&nobody, &mut |_| Ok(())).unwrap(), 0);
}

#[test]
fn pg_streaming_reads_go_in_key_order_across_pages() {
    let Some(store) = pg("stream") else { return };
    // 3 meters × 2 series × 31 days of half-hours = 8928 rows: two pages,
    // written in an order unlike the key order.
    let meters: Vec<UsagePointId> =
        ["30000000000003", "10000000000001", "20000000000002"].iter().map(|m| UsagePointId::new(m).unwrap()).collect();
    let w = range(d(2025, 1, 1), d(2025, 2, 1));
    let rs = curve(w);
    for series in [Series::ProductionCurve, CURVE] {
        for m in &meters {
            store.upsert_window(&WindowWrite { prm: m, series, window: w, readings: &rs }).unwrap();
        }
    }
    let back = all(&*store, &ReadingFilter::default());
    assert_eq!(back.len(), 3 * 2 * rs.len());
    let keys: Vec<(String, &str, Timestamp)> =
        back.iter().map(|r| (r.usage_point_id.as_str().to_owned(), r.series.as_str(), r.reading.start)).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(keys, sorted, "in key order, no row twice");
    // The same through a filter that keeps one meter and both series.
    let one = ReadingFilter { usage_points: vec![meters[0].clone()], ..ReadingFilter::default() };
    assert_eq!(store.for_each_reading(&one, &mut |_| Ok(())).unwrap(), 2 * rs.len() as u64);
}

#[test]
fn pg_a_failing_callback_stops_the_read_with_an_output_error() {
    let Some(store) = pg("callback") else { return };
    let p = prm();
    let w = range(d(2025, 1, 1), d(2025, 1, 2));
    store.upsert_window(&WindowWrite { prm: &p, series: CURVE, window: w, readings: &curve(w) }).unwrap();
    let mut seen = 0;
    let e = store
        .for_each_reading(&ReadingFilter::default(), &mut |_| {
            seen += 1;
            Err(std::io::Error::other("pipe closed"))
        })
        .unwrap_err();
    assert_eq!(e.kind(), StoreErrorKind::Output);
    assert_eq!(seen, 1);
}

#[test]
fn pg_data_survives_reopening_and_migrations_run_once() {
    let Some(mut store) = pg("reopen") else { return };
    let p = prm();
    let w = range(d(2025, 1, 1), d(2025, 1, 8));
    store.upsert_window(&WindowWrite { prm: &p, series: CURVE, window: w, readings: &curve(w) }).unwrap();
    store.reopen();
    assert_eq!(store.coverage(&p, CURVE).unwrap(), vec![w]);
    assert_eq!(store.schema_version().unwrap(), 5);
    // Two more openers at once: the migration lock lets neither fail.
    std::thread::scope(|s| {
        for _ in 0..2 {
            let config = store.config.clone();
            s.spawn(move || drop(PgStore::open(&config).unwrap()));
        }
    });
    assert_eq!(store.for_each_reading(&ReadingFilter::default(), &mut |_| Ok(())).unwrap(), 7 * 48);
}

#[test]
fn pg_works_from_inside_a_tokio_runtime() {
    let Some(store) = pg("in_runtime") else { return };
    let p = prm();
    let w = range(d(2025, 1, 1), d(2025, 1, 2));
    // The sync engine calls the store from async tasks; a current-thread
    // runtime is the strictest case (nothing else can run while it waits).
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let n = rt.block_on(async {
        store.upsert_window(&WindowWrite { prm: &p, series: CURVE, window: w, readings: &curve(w) }).unwrap();
        store.for_each_reading(&ReadingFilter::default(), &mut |_| Ok(())).unwrap()
    });
    assert_eq!(n, 48);
    // And a store dropped inside a runtime shuts its own down without panicking.
    let config = PgConfig { schema: store.config.schema.clone(), ..PgConfig::new(store.config.url.clone()) };
    rt.block_on(async { drop(PgStore::open(&config).unwrap()) });
}

#[test]
fn pg_bad_urls_and_unreachable_servers_are_named_without_passwords() {
    // sqlx retries a refused connection until the acquire timeout: keep it short.
    let quick = |url: &str| PgConfig { acquire_timeout: std::time::Duration::from_millis(300), ..PgConfig::new(url) };
    let e = PgStore::open(&quick("postgres://u:s3cret@127.0.0.1:1/db")).unwrap_err();
    assert_eq!(e.kind(), StoreErrorKind::CannotOpen, "{e}");
    assert!(e.to_string().contains("127.0.0.1:1"), "{e}");
    assert!(!e.to_string().contains("s3cret"), "{e}");
    let e =
        PgStore::open(&PgConfig { schema: Some("Bad Name".into()), ..PgConfig::new("postgres://h/db") }).unwrap_err();
    assert_eq!(e.kind(), StoreErrorKind::CannotOpen, "{e}");
    let Some(url) = pg_url("missing_database") else { return };
    let mut missing = url;
    if let Some(i) = missing.rfind('/') {
        missing.truncate(i);
    }
    missing.push_str("/dataconnect_no_such_database");
    let e = PgStore::open(&PgConfig::new(missing)).unwrap_err();
    assert_eq!(e.kind(), StoreErrorKind::CannotOpen, "{e}");
    assert!(e.to_string().contains("createdb"), "{e}");
}

#[test]
fn pg_consents_round_trip_and_can_be_marked() {
    let Some(store) = pg("consents") else { return };
    let p = prm();
    let other = UsagePointId::new("10284856584123").unwrap();
    let consent = Consent {
        usage_points: vec![p, other.clone()],
        generation: Generation::Dc2026,
        start: d(2026, 11, 28),
        duration: ConsentDuration::parse("P3Y").unwrap(),
        state: "abc3".into(),
        autorisation_id: Some("aid".into()),
    };
    let now = Timestamp::from_second(1_790_000_000).unwrap();
    store.record_consent(&consent, now).unwrap();
    store.mark_needs_consent(&other, "ADAM-DC-0008: no consent").unwrap();
    let all = store.consents().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].usage_point_id, other);
    assert!(all[0].needs_consent);
    assert_eq!(all[0].reason.as_deref(), Some("ADAM-DC-0008: no consent"));
    assert_eq!(all[1].expiry, d(2029, 11, 28));
    assert_eq!(all[1].autorisation_id.as_deref(), Some("aid"));
    assert_eq!(all[1].recorded_at, now);
    assert!(!all[1].needs_consent);
    // A new consent clears the mark.
    store.record_consent(&consent, now).unwrap();
    assert!(store.consents().unwrap().iter().all(|c| !c.needs_consent && c.reason.is_none()));
}

#[test]
fn pg_pending_consents_are_taken_once() {
    let Some(store) = pg("pending") else { return };
    let pending = PendingConsent {
        state: "s3cr3t3".into(),
        generation: Generation::V5,
        duration: ConsentDuration::parse("P6M").unwrap(),
        sandbox_client: Some(3),
        created_at: Timestamp::from_second(1_790_000_000).unwrap(),
    };
    let older = PendingConsent {
        state: "older0".into(),
        sandbox_client: None,
        created_at: Timestamp::from_second(1_780_000_000).unwrap(),
        ..pending
    };
    store.add_pending_consent(&pending).unwrap();
    store.add_pending_consent(&older).unwrap();
    assert_eq!(store.pending_consents().unwrap(), vec![older.clone(), pending.clone()]);
    assert_eq!(store.count_pending_consents().unwrap(), 2);
    assert_eq!(store.take_pending_consent("s3cr3t3").unwrap(), Some(pending.clone()));
    assert_eq!(store.take_pending_consent("s3cr3t3").unwrap(), None);
    assert_eq!(store.pending_consents().unwrap(), vec![older]);
    // Expired requests are pruned by their age, the others kept.
    store.add_pending_consent(&pending).unwrap();
    assert_eq!(store.prune_pending_consents(Timestamp::from_second(1_785_000_000).unwrap()).unwrap(), 1);
    assert_eq!(store.count_pending_consents().unwrap(), 1);
    assert_eq!(store.pending_consents().unwrap(), vec![pending]);
}

#[test]
fn pg_meter_info_series_state_runs_and_quota() {
    let Some(store) = pg("records") else { return };
    let p = prm();
    let t = Timestamp::from_second(1_790_000_000).unwrap();
    assert_eq!(store.meter_info(&p).unwrap(), None);
    store
        .put_meter_info(&MeterInfo {
            usage_point_id: p.clone(),
            contract_json: Some("{}".into()),
            address_json: None,
            activation: Some(d(2020, 1, 1)),
            updated_at: t,
        })
        .unwrap();
    // A later write without an activation keeps the known one.
    store
        .put_meter_info(&MeterInfo {
            usage_point_id: p.clone(),
            contract_json: None,
            address_json: Some("{\"city\":\"x\"}".into()),
            activation: None,
            updated_at: t,
        })
        .unwrap();
    let info = store.meter_info(&p).unwrap().unwrap();
    assert_eq!(info.activation, Some(d(2020, 1, 1)));
    assert_eq!(info.contract_json.as_deref(), Some("{}"));
    assert_eq!(info.address_json.as_deref(), Some("{\"city\":\"x\"}"));

    store.set_series_state(&p, Series::ProductionCurve, t, Some("ADAM-ERR0069")).unwrap();
    store.set_series_state(&p, CURVE, t, None).unwrap();
    let states = store.series_states().unwrap();
    assert_eq!(states.len(), 2);
    assert_eq!(states[0].series, CURVE);
    assert_eq!(states[0].stopped_reason, None);
    assert_eq!(states[1].stopped_reason.as_deref(), Some("ADAM-ERR0069"));
    assert_eq!(states[1].last_synced_at, Some(t));
    // Clearing the stop.
    store.set_series_state(&p, Series::ProductionCurve, t, None).unwrap();
    assert!(store.series_states().unwrap().iter().all(|s| s.stopped_reason.is_none()));

    let id = store.begin_sync_run(t).unwrap();
    let second = store.begin_sync_run(t).unwrap();
    assert!(second > id);
    let outcome =
        SyncRunOutcome { finished_at: t, status: "ok".into(), calls: 3, points: 10, message: Some("fine".into()) };
    store.finish_sync_run(id, &outcome).unwrap();
    let runs = store.sync_runs(10).unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].id, second);
    assert_eq!(runs[0].outcome, None);
    assert_eq!(runs[1].outcome, Some(outcome));
    assert_eq!(store.sync_runs(1).unwrap().len(), 1);

    store.record_calls(t, 5).unwrap();
    store.record_calls(t, 2).unwrap();
    store.record_calls(t + jiff::SignedDuration::from_hours(1), 1).unwrap();
    assert_eq!(store.calls_since(t).unwrap(), 8);
    assert_eq!(store.calls_since(t + jiff::SignedDuration::from_hours(1)).unwrap(), 1);
    assert_eq!(store.calls_since(t + jiff::SignedDuration::from_hours(2)).unwrap(), 0);
}

/// `url` with one more query parameter.
fn with_param(url: &str, param: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{param}")
}

#[test]
fn pg_tls_is_used_when_the_url_asks_for_it_and_an_untrusted_certificate_is_refused() {
    let Some(url) = pg_url("tls") else { return };
    // `sslmode=require`: encrypted, the certificate not checked (what most
    // managed servers are reached with). A build without TLS support fails
    // here ("TLS upgrade required"); a server without TLS refuses it too,
    // which is then not a failure of ours: the test says so and stops.
    let config = PgConfig { schema: Some(schema_name("tls")), ..PgConfig::new(with_param(&url, "sslmode=require")) };
    let store = match PgStore::open(&config) {
        Ok(store) => store,
        Err(e) if e.to_string().contains("server does not support TLS") => {
            eprintln!("skipped pg_tls: the server at DATACONNECT_TEST_PG_URL has TLS off ({e})");
            return;
        }
        Err(e) => panic!("sslmode=require failed: {e}"),
    };
    let guard = PgGuard { store: Some(store), config };
    let w = range(d(2025, 3, 1), d(2025, 3, 2));
    let rs = curve(w);
    assert_eq!(guard.upsert_window(&WindowWrite { prm: &prm(), series: CURVE, window: w, readings: &rs }).unwrap(), 48);
    drop(guard);
    // `sslmode=verify-full`: the certificate must chain to a trusted root
    // and name the host; a test server's self-signed certificate does
    // neither, so opening fails with one line naming the cause, and the URL
    // shown keeps no password.
    let strict =
        PgConfig { schema: Some(schema_name("tls_strict")), ..PgConfig::new(with_param(&url, "sslmode=verify-full")) };
    match PgStore::open(&strict) {
        Err(e) => {
            assert_eq!(e.kind(), StoreErrorKind::CannotOpen, "{e}");
            let text = e.to_string().to_lowercase();
            assert!(text.contains("tls") || text.contains("certificate"), "{e}");
        }
        Ok(store) => {
            // A server with a certificate the system trusts for this host.
            let _ = store.drop_schema();
            eprintln!("note pg_tls: the server's certificate is trusted for this host; verify-full succeeded");
        }
    }
}

#[test]
fn pg_an_imported_file_goes_in_whole_with_each_covered_range_and_idempotently() {
    let Some(store) = pg("import") else { return };
    crate::readings::import_whole(&*store);
}
