//! Copying an SQLite store into PostgreSQL (`dataconnect migrate`): every
//! table arrives as it was, the copy verifies itself, and running it twice
//! changes nothing.

use dataconnect::{Consent, ConsentDuration, Generation, Reading, Series, Unit, UsagePointId};
use dataconnect_store::{
    MeterInfo, PendingConsent, ReadingFilter, Store, SyncRunOutcome, WindowWrite, copy_from_sqlite,
};
use jiff::Timestamp;

use crate::postgres_store::pg;
use crate::{CURVE, curve, d, open, prm, range};

/// Fills every table of a store with rows that exercise nulls and flags.
fn fill(store: &dyn Store) {
    let p = prm();
    let other = UsagePointId::new("10284856584123").unwrap();
    let t = Timestamp::from_second(1_790_000_000).unwrap();
    let w = range(d(2025, 10, 20), d(2025, 10, 27));
    store.upsert_window(&WindowWrite { prm: &p, series: CURVE, window: w, readings: &curve(w) }).unwrap();
    store.upsert_window(&WindowWrite { prm: &other, series: CURVE, window: w, readings: &curve(w) }).unwrap();
    let later = range(d(2025, 11, 3), d(2025, 11, 5));
    store.upsert_window(&WindowWrite { prm: &p, series: CURVE, window: later, readings: &curve(later) }).unwrap();
    // Index registers over two windows with a gap between them: the copy
    // must not cover the gap.
    for window in [range(d(2025, 10, 1), d(2025, 10, 4)), range(d(2025, 10, 10), d(2025, 10, 12))] {
        let registers: Vec<dataconnect::IndexReading> = window
            .iter_days()
            .flat_map(|day| {
                [("DI000003", "HPB"), ("FC000012", "HC")].map(|(calendar, class)| dataconnect::IndexReading {
                    day,
                    at: dataconnect::domain::paris_day_start(day),
                    calendar_id: calendar.into(),
                    calendar_label: None,
                    class_id: class.into(),
                    class_label: Some("Heures".into()),
                    register: None,
                    value_wh: Some(i64::from(day.day()) * 100),
                    likelihood: None,
                })
            })
            .collect();
        let write = dataconnect_store::IndexWindowWrite {
            prm: &p,
            series: Series::ConsumptionIndex,
            window,
            readings: &registers,
        };
        store.upsert_index_window(&write).unwrap();
    }
    let day = range(d(2025, 1, 1), d(2025, 1, 2));
    let peak = Reading {
        start: day.start_instant(),
        end: day.end_instant(),
        value: Some(5400.0),
        unit: Unit::VA,
        peak_at: Some(day.start_instant() + jiff::SignedDuration::from_mins(19 * 60 + 30)),
    };
    store
        .upsert_window(&WindowWrite { prm: &p, series: Series::ConsumptionMaxPower, window: day, readings: &[peak] })
        .unwrap();
    // A window that came back empty is covered all the same.
    store
        .upsert_window(&WindowWrite {
            prm: &p,
            series: Series::ProductionDaily,
            window: range(d(2024, 1, 1), d(2025, 1, 1)),
            readings: &[],
        })
        .unwrap();

    let consent = Consent {
        usage_points: vec![p.clone(), other.clone()],
        generation: Generation::Legacy,
        start: d(2025, 6, 1),
        duration: ConsentDuration::parse("P1Y").unwrap(),
        state: "st4te".into(),
        autorisation_id: None,
    };
    store.record_consent(&consent, t).unwrap();
    store.mark_needs_consent(&other, "ADAM-DC-0007").unwrap();
    store
        .add_pending_consent(&PendingConsent {
            state: "p3nding".into(),
            generation: Generation::Dc2026,
            duration: ConsentDuration::parse("P6M").unwrap(),
            sandbox_client: Some(0),
            created_at: t,
        })
        .unwrap();
    store
        .put_meter_info(&MeterInfo {
            usage_point_id: p.clone(),
            contract_json: Some("{\"a\":1}".into()),
            address_json: None,
            activation: Some(d(2019, 3, 4)),
            updated_at: t,
        })
        .unwrap();
    store.set_series_state(&p, Series::ProductionCurve, t, Some("ADAM-ERR0069: not collected")).unwrap();
    store.set_series_state(&p, CURVE, t, None).unwrap();
    let run = store.begin_sync_run(t).unwrap();
    store
        .finish_sync_run(
            run,
            &SyncRunOutcome {
                finished_at: t,
                status: "partial".into(),
                calls: 9,
                points: 700,
                message: Some("one 500".into()),
            },
        )
        .unwrap();
    store.begin_sync_run(t).unwrap();
    store.record_calls(t, 9).unwrap();
    store.record_calls(t + jiff::SignedDuration::from_hours(5), 2).unwrap();
    crate::costs::fill_costs(store);
}

fn readings(store: &dyn Store) -> Vec<dataconnect_store::StoredReading> {
    let mut out = Vec::new();
    store
        .for_each_reading(&ReadingFilter::default(), &mut |r| {
            out.push(r.clone());
            Ok(())
        })
        .unwrap();
    out
}

/// Everything a caller can read through the trait, side by side.
fn assert_same(a: &dyn Store, b: &dyn Store) {
    assert_eq!(readings(a), readings(b));
    assert_eq!(a.summary(&ReadingFilter::default()).unwrap(), b.summary(&ReadingFilter::default()).unwrap());
    for m in [prm(), UsagePointId::new("10284856584123").unwrap()] {
        for s in Series::EVERY {
            assert_eq!(a.coverage(&m, s).unwrap(), b.coverage(&m, s).unwrap(), "{m} {s}");
        }
        assert_eq!(a.meter_info(&m).unwrap(), b.meter_info(&m).unwrap());
    }
    let index = |store: &dyn Store| {
        let mut out = Vec::new();
        store
            .for_each_index_reading(&ReadingFilter::default(), &mut |r| {
                out.push(r.clone());
                Ok(())
            })
            .unwrap();
        out
    };
    assert_eq!(index(a), index(b));
    assert_eq!(a.consents().unwrap(), b.consents().unwrap());
    assert_eq!(a.pending_consents().unwrap(), b.pending_consents().unwrap());
    assert_eq!(a.series_states().unwrap(), b.series_states().unwrap());
    assert_eq!(a.sync_runs(100).unwrap(), b.sync_runs(100).unwrap());
    let epoch = Timestamp::UNIX_EPOCH;
    assert_eq!(a.calls_since(epoch).unwrap(), b.calls_since(epoch).unwrap());
    assert_eq!(a.tempo_days().unwrap(), b.tempo_days().unwrap());
    assert_eq!(a.tariff_rows().unwrap(), b.tariff_rows().unwrap());
}

#[test]
fn pg_copy_from_sqlite_is_lossless_verified_and_idempotent() {
    let Some(target) = pg("copy") else { return };
    let dir = tempfile::tempdir().unwrap();
    let source = open(&dir);
    fill(&source);
    let path = dir.path().join("store.db");

    let mut seen = Vec::new();
    let report = copy_from_sqlite(&path, &target, &mut |n| seen.push(n)).unwrap();
    assert!(report.verified(), "{report:?}");
    let total = readings(&source).len() as u64;
    assert_eq!(seen.last(), Some(&total));
    assert!(report.tables.iter().all(|(_, s, _)| *s > 0), "every table was exercised: {report:?}");
    assert_same(&source, &*target);

    // Twice: the same target, still verified.
    let again = copy_from_sqlite(&path, &target, &mut |_| {}).unwrap();
    assert!(again.verified(), "{again:?}");
    assert_eq!(again, report);
    assert_same(&source, &*target);

    // New runs in the target do not reuse the copied ids.
    let max = source.sync_runs(100).unwrap().iter().map(|r| r.id).max().unwrap();
    assert!(target.begin_sync_run(Timestamp::now()).unwrap() > max);
}

#[test]
fn pg_copy_reports_a_target_that_holds_more() {
    let Some(target) = pg("copy_more") else { return };
    let dir = tempfile::tempdir().unwrap();
    let source = open(&dir);
    fill(&source);
    let w = range(d(2020, 1, 1), d(2020, 1, 2));
    let stranger = UsagePointId::new("55555555555555").unwrap();
    target.upsert_window(&WindowWrite { prm: &stranger, series: CURVE, window: w, readings: &curve(w) }).unwrap();
    let report = copy_from_sqlite(&dir.path().join("store.db"), &target, &mut |_| {}).unwrap();
    assert!(!report.verified(), "{report:?}");
    let reading = report.tables.iter().find(|(t, _, _)| *t == "reading").unwrap();
    assert_eq!(reading.2, reading.1 + 48);
}
