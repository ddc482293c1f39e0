//! The Tempo calendar and imported price rows, on a real SQLite file and
//! (with `DATACONNECT_TEST_PG_URL`) a real PostgreSQL schema: both upsert,
//! read back in order and survive reopening.

use dataconnect_store::{Store, TariffRow, TempoDay};
use jiff::Timestamp;

use crate::d;

fn day(y: i16, m: i8, dd: i8, color: &str) -> TempoDay {
    TempoDay { day: d(y, m, dd), color: color.to_owned(), source: "rte".to_owned() }
}

fn tariff(kva: u32, start: jiff::civil::Date, end: Option<jiff::civil::Date>, fixed: f64) -> TariffRow {
    TariffRow {
        option: "tempo".to_owned(),
        kva,
        start,
        end,
        fixed_eur_per_year: fixed,
        prices_json: r#"{"HPBleu":0.1609,"HCBleu":0.1296}"#.to_owned(),
        source: "Option_Tempo.csv".to_owned(),
        imported_at: Timestamp::from_second(1_700_000_000).unwrap(),
    }
}

/// What the copy test stores too.
pub fn fill_costs(store: &dyn Store) {
    store.put_tempo_days(&[day(2024, 1, 16, "WHITE"), day(2024, 1, 15, "RED")]).unwrap();
    store.put_tariff_rows(&[tariff(6, d(2024, 2, 1), None, 151.2)]).unwrap();
}

fn exercise(store: &dyn Store) {
    assert!(store.tempo_days().unwrap().is_empty());
    assert!(store.tariff_rows().unwrap().is_empty());
    fill_costs(store);
    // A second answer corrects a day and adds one: an upsert, oldest first back.
    assert_eq!(store.put_tempo_days(&[day(2024, 1, 16, "BLUE"), day(2024, 1, 17, "RED")]).unwrap(), 2);
    let days = store.tempo_days().unwrap();
    let got: Vec<(String, &str)> = days.iter().map(|t| (t.day.to_string(), t.color.as_str())).collect();
    assert_eq!(
        got,
        vec![("2024-01-15".to_owned(), "RED"), ("2024-01-16".to_owned(), "BLUE"), ("2024-01-17".to_owned(), "RED")]
    );
    // Importing the same table again replaces its rows; a row's end can be set later.
    store
        .put_tariff_rows(&[tariff(6, d(2024, 2, 1), Some(d(2025, 1, 31)), 151.2), tariff(3, d(2024, 2, 1), None, 1.5)])
        .unwrap();
    let rows = store.tariff_rows().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].kva, rows[1].kva), (3, 6));
    assert_eq!(rows[1].end, Some(d(2025, 1, 31)));
    assert_eq!(rows[1], tariff(6, d(2024, 2, 1), Some(d(2025, 1, 31)), 151.2));
}

#[test]
fn sqlite_keeps_the_tempo_calendar_and_imported_tariffs() {
    let dir = tempfile::tempdir().unwrap();
    exercise(&crate::open(&dir));
    // Reopened, the rows are still there.
    let store = crate::open(&dir);
    assert_eq!(store.tempo_days().unwrap().len(), 3);
    assert_eq!(store.tariff_rows().unwrap().len(), 2);
}

#[cfg(feature = "postgres")]
#[test]
fn pg_keeps_the_tempo_calendar_and_imported_tariffs() {
    let Some(mut store) = crate::postgres_store::pg("costs") else { return };
    exercise(&*store);
    store.reopen();
    assert_eq!(store.tempo_days().unwrap().len(), 3);
    assert_eq!(store.tariff_rows().unwrap().len(), 2);
}
