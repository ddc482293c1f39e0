//! Charts drawn from the store: the series of one meter over a date range
//! (`plot`), and the demo's charts (the last 7 days of load curve and the
//! daily energy of the last year, per meter, as SVG and PNG).
//!
//! This module turns stored readings into a [`Chart`]; the drawing itself
//! is `chart_render.rs`, which knows nothing of the store. The store only holds the
//! intervals the API sent, so a missing stretch shows up here as two
//! readings that do not touch: a gap point is inserted between them so the
//! line breaks there instead of drawing a straight line across the hole.

use std::path::{Path, PathBuf};

use dataconnect::domain::paris_day_start;
use dataconnect::{DateRange, Series, Unit, UsagePointId};
use dataconnect_store::{ReadingFilter, Store};
use jiff::Timestamp;
use jiff::ToSpan;

use crate::chart_render::{self as chart, Chart, ChartKind};
use crate::error::{Class, CliError};

/// What the demo's charts are drawn from.
pub struct DemoCharts<'a> {
    /// The store the demo filled.
    pub store: &'a dyn Store,
    /// The directory to write the charts into.
    pub out_dir: &'a Path,
    /// The day taken as today (Paris): the charts end the day before.
    pub today: jiff::civil::Date,
}

/// The stored readings of one series of one meter over a range of Paris
/// days, as a chart: load curves as lines, daily series as bars. Energy is
/// shown in kWh (the unit on bills), powers as stored.
///
/// Returns `Ok(None)` when nothing is stored in that range.
pub fn series_chart(
    store: &dyn Store,
    prm: &UsagePointId,
    series: Series,
    range: DateRange,
) -> Result<Option<Chart>, CliError> {
    let filter = ReadingFilter {
        usage_points: vec![prm.clone()],
        series: vec![series],
        from: Some(paris_day_start(range.start())),
        to: Some(paris_day_start(range.end())),
    };
    let scale = if series.unit() == Unit::Wh { 0.001 } else { 1.0 };
    let mut points: Vec<(Timestamp, Option<f64>)> = Vec::new();
    let mut last_end: Option<Timestamp> = None;
    store.for_each_reading(&filter, &mut |r| {
        let reading = &r.reading;
        if let Some(end) = last_end.filter(|end| reading.start > *end) {
            // The intervals do not touch: mark the hole so it is drawn as one.
            points.push((end, None));
        }
        points.push((reading.start, reading.value.map(|v| v * scale)));
        last_end = Some(reading.end);
        Ok(())
    })?;
    if points.is_empty() {
        return Ok(None);
    }
    let unit = match series.unit() {
        Unit::Wh => "kWh",
        Unit::W => "W",
        Unit::VA => "VA",
    };
    let kind = if series.is_curve() { ChartKind::Line } else { ChartKind::Bars };
    let last_day = range.end().yesterday().unwrap_or(range.end());
    let title = format!("{prm} {series}, {} to {last_day}", range.start());
    let span = Some((paris_day_start(range.start()), paris_day_start(range.end())));
    Ok(Some(Chart { title, unit: unit.to_owned(), kind, points, span }))
}

/// Turns a drawing failure into the CLI's error.
pub fn chart_error(e: &chart::ChartError) -> CliError {
    match e {
        chart::ChartError::UnknownFormat(_) => CliError::usage(e.to_string()),
        chart::ChartError::Empty => {
            CliError::new(Class::Usage, format!("{e}: widen --from/--to or run `dataconnect sync`"))
        }
        chart::ChartError::Draw { .. } => {
            CliError::new(Class::Internal, format!("{e}: check that the directory exists and is writable"))
        }
    }
}

/// Writes the demo's charts and returns their paths: per meter, the last 7
/// days of each stored load curve and the last year of each stored daily
/// energy, as SVG and PNG. Series with nothing stored in those ranges are
/// skipped.
pub fn write_demo_charts(charts: &DemoCharts<'_>) -> Result<Vec<PathBuf>, CliError> {
    let today = charts.today;
    let week = range_back(today, 7)?;
    let year = range_back(today, 365)?;
    let wanted = [
        (Series::ConsumptionCurve, week, "last-7-days"),
        (Series::ProductionCurve, week, "last-7-days"),
        (Series::ConsumptionDaily, year, "last-year"),
        (Series::ProductionDaily, year, "last-year"),
    ];
    let mut meters: Vec<UsagePointId> =
        charts.store.summary(&ReadingFilter::default())?.into_iter().map(|s| s.usage_point_id).collect();
    meters.dedup();
    if meters.is_empty() {
        return Ok(Vec::new());
    }
    std::fs::create_dir_all(charts.out_dir).map_err(|e| {
        CliError::usage(format!("cannot create the chart directory {}: {e}: pass --out DIR", charts.out_dir.display()))
    })?;
    let mut paths = Vec::new();
    for prm in &meters {
        for (series, range, label) in wanted {
            let Some(chart) = series_chart(charts.store, prm, series, range)? else {
                continue;
            };
            for ext in ["svg", "png"] {
                let path = charts.out_dir.join(format!("{prm}-{series}-{label}.{ext}"));
                match chart::write(&chart, &path) {
                    Ok(()) => paths.push(path),
                    // Stored points without values draw nothing; that is
                    // not worth failing the demo for.
                    Err(chart::ChartError::Empty) => break,
                    Err(e) => return Err(chart_error(&e)),
                }
            }
        }
    }
    Ok(paths)
}

/// The `days` Paris days before `today`.
fn range_back(today: jiff::civil::Date, days: i32) -> Result<DateRange, CliError> {
    let start = today.checked_sub(days.days()).map_err(|e| CliError::internal(format!("date out of range: {e}")))?;
    DateRange::new(start, today).map_err(|e| CliError::internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dataconnect::Reading;
    use dataconnect_store::{SqliteConfig, SqliteStore, WindowWrite};
    use jiff::civil::date;

    #[test]
    fn holes_between_stored_intervals_become_gaps_and_energy_is_in_kwh() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&SqliteConfig::new(dir.path().join("s.db"))).unwrap();
        let prm = UsagePointId::new("12345678901234").unwrap();
        let day = |d| paris_day_start(d);
        let r = |d0, d1, v| Reading { start: day(d0), end: day(d1), value: Some(v), unit: Unit::Wh, peak_at: None };
        let readings = [
            r(date(2025, 1, 1), date(2025, 1, 2), 1000.0),
            r(date(2025, 1, 2), date(2025, 1, 3), 2000.0),
            r(date(2025, 1, 5), date(2025, 1, 6), 3000.0),
        ];
        let window = DateRange::new(date(2025, 1, 1), date(2025, 1, 6)).unwrap();
        store
            .upsert_window(&WindowWrite { prm: &prm, series: Series::ConsumptionDaily, window, readings: &readings })
            .unwrap();
        let chart = series_chart(&store, &prm, Series::ConsumptionDaily, window).unwrap().unwrap();
        assert_eq!(chart.kind, ChartKind::Bars);
        assert_eq!(chart.unit, "kWh");
        let values: Vec<Option<f64>> = chart.points.iter().map(|p| p.1).collect();
        assert_eq!(values, vec![Some(1.0), Some(2.0), None, Some(3.0)]);
        let later = DateRange::new(date(2025, 2, 1), date(2025, 2, 3)).unwrap();
        assert!(series_chart(&store, &prm, Series::ConsumptionDaily, later).unwrap().is_none());
    }
}
