//! Generation 3's maximum power options against the sandbox: per phase
//! (`grandeurPhysique=TOUT`) on its three-phase meter, and per month
//! (`mesuresPas=P1M`).

use dataconnect::{DateRange, ErrorKind, Generation, Series};
use jiff::civil::date;

use super::support::{client, config, prm, start};

#[tokio::test]
async fn three_phase_maxima_and_monthly_maxima() {
    let run = start(config()).await;
    let c = client(&run, Generation::Dc2026);
    let week = DateRange::new(date(2025, 11, 3), date(2025, 11, 10)).unwrap();
    let three = prm("90000000000014");
    let daily = c.max_power(&three, week).all_phases().send().await.unwrap();
    assert_eq!(daily.pma.len(), 7);
    assert_eq!(daily.phases.len(), 3);
    // The same PMA as the daily series, and every phase below it, at the
    // same instant.
    let series = c.readings(&three, Series::ConsumptionMaxPower, week).send().await.unwrap();
    assert_eq!(daily.pma, series.readings);
    for phase in &daily.phases {
        assert_eq!(phase.len(), 7);
        for (p, total) in phase.iter().zip(&daily.pma) {
            assert!(p.value < total.value && p.value > Some(0.0), "{p:?} vs {total:?}");
            assert_eq!((p.start, p.peak_at), (total.start, total.peak_at));
        }
    }
    // A single-phase meter answers TOUT with PMA only.
    let single = c.max_power(&prm("22516914714270"), week).all_phases().send().await.unwrap();
    assert!(single.phases.is_empty() && single.pma.len() == 7);
    // Monthly: one reading per Paris month, the month's highest day.
    let quarter = DateRange::new(date(2025, 7, 1), date(2025, 10, 1)).unwrap();
    let monthly = c.max_power(&three, quarter).monthly().all_phases().send().await.unwrap();
    assert_eq!(monthly.pma.len(), 3);
    let days = c.readings(&three, Series::ConsumptionMaxPower, quarter).send().await.unwrap();
    for month in &monthly.pma {
        let best = days
            .readings
            .iter()
            .filter(|d| d.start >= month.start && d.start < month.end)
            .filter_map(|d| d.value)
            .fold(0.0, f64::max);
        assert_eq!(month.value, Some(best));
        assert!(month.peak_at.is_some_and(|t| t >= month.start && t < month.end));
    }
    assert!(monthly.phases.iter().all(|p| p.len() == 3));
    // Generation 2026 only.
    let e = client(&run, Generation::V5).max_power(&three, week).monthly().send().await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Unsupported);
}
