//! Index readings on both backends: one row per calendar, class and day,
//! both calendars kept, idempotent upserts, coverage in the same
//! transaction, filters on the instant of the reading.

use dataconnect::domain::paris_day_start;
use dataconnect::{IndexReading, Series};
use dataconnect_store::{IndexWindowWrite, ReadingFilter, Store, StoredIndexReading};

use crate::{d, prm, range};

const INDEX: Series = Series::ConsumptionIndex;

/// Registers of two calendars and the totaliser over `days` days from
/// 2026-10-24 (the autumn DST change inside), one without a value.
fn registers(days: i8) -> Vec<IndexReading> {
    let mut out = Vec::new();
    for (calendar, class) in
        [("DI000003", "HPB"), ("DI000003", "HCB"), ("FC000012", "HP"), ("FC000012", "HC"), ("TOTAL", "T")]
    {
        for i in 0..days {
            let day = d(2026, 10, 24 + i);
            out.push(IndexReading {
                day,
                at: paris_day_start(day),
                calendar_id: calendar.into(),
                calendar_label: Some(format!("{calendar} label")),
                class_id: class.into(),
                class_label: (calendar != "TOTAL").then(|| format!("{class} label")),
                register: Some("C1".into()),
                value_wh: (!(calendar == "FC000012" && class == "HC" && i == 1))
                    .then_some(1_000_000 + i64::from(i) * 1000),
                likelihood: Some(0),
            });
        }
    }
    out.sort_by(|a, b| (&a.calendar_id, &a.class_id, a.day).cmp(&(&b.calendar_id, &b.class_id, b.day)));
    out
}

fn all(store: &dyn Store, filter: &ReadingFilter) -> Vec<StoredIndexReading> {
    let mut out = Vec::new();
    store
        .for_each_index_reading(filter, &mut |r| {
            out.push(r.clone());
            Ok(())
        })
        .unwrap();
    out
}

/// The behaviour both backends share.
pub fn round_trip(store: &dyn Store) {
    let p = prm();
    let w = range(d(2026, 10, 24), d(2026, 10, 28));
    let rs = registers(4);
    for _ in 0..2 {
        let n =
            store.upsert_index_window(&IndexWindowWrite { prm: &p, series: INDEX, window: w, readings: &rs }).unwrap();
        assert_eq!(n, 20);
    }
    let back: Vec<IndexReading> = all(store, &ReadingFilter::default()).into_iter().map(|r| r.reading).collect();
    assert_eq!(back, rs);
    assert_eq!(store.coverage(&p, INDEX).unwrap(), vec![w]);
    // A later window with a changed value replaces it, and coverage merges.
    let mut later = registers(5);
    later.retain(|r| r.day >= d(2026, 10, 27));
    for r in &mut later {
        r.value_wh = r.value_wh.map(|v| v + 1);
    }
    let w2 = range(d(2026, 10, 27), d(2026, 10, 29));
    store.upsert_index_window(&IndexWindowWrite { prm: &p, series: INDEX, window: w2, readings: &later }).unwrap();
    assert_eq!(store.coverage(&p, INDEX).unwrap(), vec![range(d(2026, 10, 24), d(2026, 10, 29))]);
    let filter = ReadingFilter {
        series: vec![INDEX],
        from: Some(paris_day_start(d(2026, 10, 27))),
        to: Some(paris_day_start(d(2026, 10, 29))),
        ..ReadingFilter::default()
    };
    let recent = all(store, &filter);
    assert_eq!(recent.len(), 10);
    assert!(recent.iter().all(|r| r.reading.value_wh.is_some_and(|v| v % 1000 == 1)));
    // The readings table is not touched, and an empty window is covered.
    assert_eq!(store.for_each_reading(&ReadingFilter::default(), &mut |_| Ok(())).unwrap(), 0);
    let w3 = range(d(2026, 11, 1), d(2026, 11, 2));
    store.upsert_index_window(&IndexWindowWrite { prm: &p, series: INDEX, window: w3, readings: &[] }).unwrap();
    assert_eq!(store.coverage(&p, INDEX).unwrap().len(), 2);
    assert!(store.coverage(&p, Series::ConsumptionDaily).unwrap().is_empty());
}

#[test]
fn sqlite_index_readings() {
    let dir = tempfile::tempdir().unwrap();
    round_trip(&crate::open(&dir));
}

#[cfg(feature = "postgres")]
#[test]
fn pg_index_readings() {
    let Some(store) = crate::postgres_store::pg("index") else { return };
    round_trip(&*store);
}
