//! Readings and coverage: one transaction per window, idempotent upserts,
//! merged coverage, streaming reads in key order.

use dataconnect::Series;
use dataconnect_store::{ImportWrite, ReadingFilter, Store, WindowWrite};

use crate::{CURVE, curve, d, open, prm, range};

#[test]
fn upsert_is_idempotent_and_keeps_nulls() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let p = prm();
    // The autumn DST day has 50 half-hours.
    let w = range(d(2025, 10, 26), d(2025, 10, 27));
    let rs = curve(w);
    assert_eq!(rs.len(), 50);
    for _ in 0..2 {
        let n = store.upsert_window(&WindowWrite { prm: &p, series: CURVE, window: w, readings: &rs }).unwrap();
        assert_eq!(n, 50);
    }
    let mut back = Vec::new();
    store
        .for_each_reading(&ReadingFilter::default(), &mut |r| {
            back.push(r.reading.clone());
            Ok(())
        })
        .unwrap();
    assert_eq!(back, rs);
    assert_eq!(back.iter().filter(|r| r.value.is_none()).count(), 5);
    let sum = store.summary(&ReadingFilter::default()).unwrap();
    assert_eq!(sum.len(), 1);
    assert_eq!(sum[0].points, 50);
    assert_eq!(sum[0].first_start, rs[0].start);
    assert_eq!(sum[0].last_end, rs[49].end);
}

#[test]
fn coverage_merges_touching_and_overlapping_windows() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
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
    // Other series are separate.
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
fn filters_select_meter_series_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let p = prm();
    let w = range(d(2025, 3, 29), d(2025, 4, 1));
    let rs = curve(w);
    store.upsert_window(&WindowWrite { prm: &p, series: CURVE, window: w, readings: &rs }).unwrap();
    // The spring DST day has 46 half-hours.
    let day = range(d(2025, 3, 30), d(2025, 3, 31));
    let filter = ReadingFilter {
        usage_points: vec![p],
        series: vec![CURVE],
        from: Some(day.start_instant()),
        to: Some(day.end_instant()),
    };
    let n = store.for_each_reading(&filter, &mut |_| Ok(())).unwrap();
    assert_eq!(n, 46);
    let other = ReadingFilter { series: vec![Series::ProductionCurve], ..ReadingFilter::default() };
    assert_eq!(store.for_each_reading(&other, &mut |_| Ok(())).unwrap(), 0);
}

#[test]
fn a_failing_callback_stops_the_read_with_an_output_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let p = prm();
    let w = range(d(2025, 1, 1), d(2025, 1, 2));
    store.upsert_window(&WindowWrite { prm: &p, series: CURVE, window: w, readings: &curve(w) }).unwrap();
    let e = store
        .for_each_reading(&ReadingFilter::default(), &mut |_| Err(std::io::Error::other("pipe closed")))
        .unwrap_err();
    assert_eq!(e.kind(), dataconnect_store::StoreErrorKind::Output);
}

#[test]
fn data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let p = prm();
    let w = range(d(2025, 1, 1), d(2025, 1, 8));
    {
        let store = open(&dir);
        store.upsert_window(&WindowWrite { prm: &p, series: CURVE, window: w, readings: &curve(w) }).unwrap();
    }
    let store = open(&dir);
    assert_eq!(store.coverage(&p, CURVE).unwrap(), vec![w]);
    assert_eq!(store.schema_version().unwrap(), 3);
}

#[test]
fn large_windows_go_in_whole_and_idempotently() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let p = prm();
    // 31 days of half-hours: several multi-row statements plus a remainder.
    let w = range(d(2025, 10, 1), d(2025, 11, 1));
    let rs = curve(w);
    assert!(!rs.len().is_multiple_of(64));
    for _ in 0..2 {
        store.upsert_window(&WindowWrite { prm: &p, series: CURVE, window: w, readings: &rs }).unwrap();
    }
    let mut back = Vec::new();
    store
        .for_each_reading(&ReadingFilter::default(), &mut |r| {
            back.push(r.reading.clone());
            Ok(())
        })
        .unwrap();
    assert_eq!(back, rs);
}

#[test]
fn a_window_mixing_units_is_stored_as_given() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let p = prm();
    let w = range(d(2025, 1, 1), d(2025, 1, 4));
    let mut rs = curve(w);
    for r in rs.iter_mut().step_by(7) {
        r.unit = dataconnect::Unit::Wh;
    }
    store.upsert_window(&WindowWrite { prm: &p, series: CURVE, window: w, readings: &rs }).unwrap();
    let mut back = Vec::new();
    store
        .for_each_reading(&ReadingFilter::default(), &mut |r| {
            back.push(r.reading.clone());
            Ok(())
        })
        .unwrap();
    assert_eq!(back, rs);
}

#[test]
fn an_imported_file_goes_in_whole_with_each_covered_range_and_idempotently() {
    let dir = tempfile::tempdir().unwrap();
    import_whole(&open(&dir));
}

/// The import checks, on any backend (PostgreSQL's in `postgres_store`).
pub fn import_whole(store: &dyn Store) {
    // A window synced earlier, then a file holding two meters: the curve of
    // three days of which the middle one is partial (a gap), and nothing
    // covered for the second meter (a partial day only).
    store
        .upsert_window(&WindowWrite {
            prm: &prm(),
            series: CURVE,
            window: range(d(2024, 1, 1), d(2024, 1, 2)),
            readings: &curve(range(d(2024, 1, 1), d(2024, 1, 2))),
        })
        .unwrap();
    let mut readings = curve(range(d(2024, 1, 2), d(2024, 1, 5)));
    readings.remove(60);
    let other = dataconnect::UsagePointId::new("98765432109876").unwrap();
    let partial = &curve(range(d(2024, 1, 2), d(2024, 1, 3)))[..10];
    let covered = [range(d(2024, 1, 2), d(2024, 1, 3)), range(d(2024, 1, 4), d(2024, 1, 5))];
    let parts = [
        ImportWrite { prm: &prm(), series: CURVE, readings: &readings, covered: &covered },
        ImportWrite { prm: &other, series: CURVE, readings: partial, covered: &[] },
    ];
    for _ in 0..2 {
        assert_eq!(store.upsert_import(&parts).unwrap(), readings.len() as u64 + 10);
        let ranges = store.coverage(&prm(), CURVE).unwrap();
        assert_eq!(ranges, vec![range(d(2024, 1, 1), d(2024, 1, 3)), range(d(2024, 1, 4), d(2024, 1, 5))]);
        assert!(store.coverage(&other, CURVE).unwrap().is_empty());
        let all = store.summary(&ReadingFilter::default()).unwrap();
        let points: u64 = all.iter().map(|s| s.points).sum();
        assert_eq!(points, 48 + readings.len() as u64 + 10);
    }
}
