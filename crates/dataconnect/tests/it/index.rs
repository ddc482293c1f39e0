//! Index readings (generation 3) against the sandbox: both calendars and
//! the totaliser, and registers that agree with the load curve and the
//! daily energy the same sandbox serves, class by class.

use dataconnect::domain::{OffPeakRange, paris};
use dataconnect::{CalendarOwner, DateRange, ErrorKind, Generation, IndexReading, Series};
use jiff::civil::{Date, Time, date};

use super::support::{client, config, prm, start};

/// The register value of `class` in `calendar` on `day`.
fn value(readings: &[IndexReading], calendar: &str, class: &str, day: Date) -> i64 {
    readings
        .iter()
        .find(|r| r.calendar_id == calendar && r.class_id == class && r.day == day)
        .and_then(|r| r.value_wh)
        .unwrap_or_else(|| panic!("no {calendar}/{class} on {day}"))
}

#[tokio::test]
async fn index_registers_agree_with_the_load_curve_class_by_class() {
    let run = start(config()).await;
    let c = client(&run, Generation::Dc2026);
    // Across the October DST change and the start of the high season
    // (November): a household, a gap meter on a Monday-to-Monday span, the
    // changing-step meter, the null-value meter.
    let (d1, d2) = (date(2025, 10, 20), date(2025, 11, 3));
    for meter in ["22516914714270", "42900589957123", "90000000000011", "90000000000012"] {
        let meter = prm(meter);
        let index = c
            .index(&meter, Series::ConsumptionIndex, DateRange::new(d1, d2.tomorrow().unwrap()).unwrap())
            .send()
            .await
            .unwrap();
        let contract = c.contract(&meter).send().await.unwrap();
        let offpeak = if contract.offpeak_hours.is_empty() {
            OffPeakRange::parse_label("HC (22H00-6H00)")
        } else {
            contract.offpeak_hours.clone()
        };
        let curve = c.readings(&meter, Series::ConsumptionCurve, DateRange::new(d1, d2).unwrap()).send().await.unwrap();
        // HPH, HCH, HPB, HCB from the curve, by each interval's start.
        let mut by_class = [0.0f64; 4];
        for r in &curve.readings {
            let local = r.start.to_zoned_datetime(paris());
            let high = !(4..=10).contains(&local.month());
            let off = offpeak.iter().any(|o| o.contains(Time::new(local.hour(), local.minute(), 0, 0).unwrap()));
            by_class[if high { 0 } else { 2 } + usize::from(off)] += r.energy_wh().unwrap_or(0.0);
        }
        for (i, class) in ["HPH", "HCH", "HPB", "HCB"].into_iter().enumerate() {
            let delta = value(&index, "DI000003", class, d2) - value(&index, "DI000003", class, d1);
            assert_eq!(delta as f64, by_class[i].round(), "{meter} {class}");
        }
        // The totaliser moves by the daily energies of the span.
        let daily = c.readings(&meter, Series::ConsumptionDaily, DateRange::new(d1, d2).unwrap()).send().await.unwrap();
        let energy: f64 = daily.readings.iter().filter_map(|r| r.value).sum();
        let total = value(&index, "TOTAL", "T", d2) - value(&index, "TOTAL", "T", d1);
        assert_eq!(total as f64, energy, "{meter} total");
        // The supplier's calendar is kept too, and adds up to the same.
        let supplier: Vec<&IndexReading> = index.iter().filter(|r| r.owner() == CalendarOwner::Supplier).collect();
        assert!(!supplier.is_empty(), "{meter}: no supplier calendar");
        let supplier_delta: i64 = supplier.iter().filter(|r| r.day == d2).filter_map(|r| r.value_wh).sum::<i64>()
            - supplier.iter().filter(|r| r.day == d1).filter_map(|r| r.value_wh).sum::<i64>();
        assert_eq!(supplier_delta, total, "{meter} supplier");
    }
}

#[tokio::test]
async fn a_meter_without_a_collected_curve_still_has_its_index() {
    let run = start(config()).await;
    let c = client(&run, Generation::Dc2026);
    // Sandbox client 2: the load curve is not collected.
    let meter = prm("32320647321714");
    let range = DateRange::new(date(2025, 11, 1), date(2025, 11, 8)).unwrap();
    let curve = c.readings(&meter, Series::ConsumptionCurve, range).send().await.unwrap();
    assert!(curve.readings.is_empty(), "the curve is not collected");
    let index = c.index(&meter, Series::ConsumptionIndex, range).send().await.unwrap();
    let days: std::collections::BTreeSet<Date> = index.iter().map(|r| r.day).collect();
    assert_eq!(days.len(), 7);
    let daily = c.readings(&meter, Series::ConsumptionDaily, range).send().await.unwrap();
    let first_six: f64 = daily.readings.iter().take(6).filter_map(|r| r.value).sum();
    let total = value(&index, "TOTAL", "T", date(2025, 11, 7)) - value(&index, "TOTAL", "T", date(2025, 11, 1));
    assert_eq!(total as f64, first_six);
}

#[tokio::test]
async fn index_is_a_2026_series() {
    let run = start(config()).await;
    let range = DateRange::new(date(2025, 11, 1), date(2025, 11, 8)).unwrap();
    let e = client(&run, Generation::V5)
        .index(&prm("22516914714270"), Series::ConsumptionIndex, range)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Unsupported);
    // A production index of a consumption-only meter: ADAM-ERR0069.
    let e = client(&run, Generation::Dc2026)
        .index(&prm("22516914714270"), Series::ProductionIndex, range)
        .send()
        .await
        .unwrap_err();
    assert!(e.stops_series(), "{e}");
    // A readings call for an index series says where to go.
    let e = client(&run, Generation::Dc2026)
        .readings(&prm("22516914714270"), Series::ConsumptionIndex, range)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Unsupported);
}
