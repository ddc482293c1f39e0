//! The planner: what to fetch for one meter and series, in the fewest calls.
//!
//! The wanted range of a series is `[start, today)`, where `start` is the
//! latest of the history deadline (24 or 36 months + 15 days before today),
//! the meter's activation day and `--since`; its end is the earlier of today
//! and `--until`. What is missing is the wanted range minus the coverage
//! records; the last `revision_days` days of the wanted range are added back
//! because Enedis corrects recent data. The union is split into windows of
//! at most the series' maximum span (7 days for curves, 365 for daily
//! series), so a full backfill costs exactly `ceil(days / max)` calls.

use dataconnect::{DateRange, Series, history_deadline};
use jiff::ToSpan;
use jiff::civil::Date;

/// What the planner needs to know besides the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanConfig {
    /// The day the API takes as today (Paris); ranges end at most here.
    pub today: Date,
    /// How many of the most recent days are fetched again on every run.
    pub revision_days: i32,
    /// Do not fetch before this day.
    pub since: Option<Date>,
    /// Do not fetch from this day on (exclusive).
    pub until: Option<Date>,
}

/// The windows planned for one meter and series.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesPlan {
    /// The range the store should cover, if any is left after clamping.
    pub wanted: Option<DateRange>,
    /// What the coverage records lack inside `wanted`.
    pub missing: Vec<DateRange>,
    /// The windows to fetch, oldest first.
    pub windows: Vec<DateRange>,
}

/// The wanted range of a series: from the latest of the history deadline,
/// the activation day and `since`, to the earlier of today and `until`.
pub fn wanted(series: Series, config: &PlanConfig, activation: Option<Date>) -> Option<DateRange> {
    let mut start = history_deadline(series, config.today);
    for bound in [activation, config.since].into_iter().flatten() {
        start = start.max(bound);
    }
    let end = config.until.map_or(config.today, |u| u.min(config.today));
    DateRange::new(start, end).ok()
}

/// The parts of `wanted` that no range of `coverage` holds, in order.
/// `coverage` may be unsorted and overlapping.
pub fn missing(wanted: DateRange, coverage: &[DateRange]) -> Vec<DateRange> {
    let mut covered: Vec<DateRange> = coverage.iter().filter_map(|c| c.intersect(&wanted)).collect();
    covered.sort();
    let mut out = Vec::new();
    let mut cursor = wanted.start();
    for c in covered {
        if c.start() > cursor
            && let Ok(gap) = DateRange::new(cursor, c.start())
        {
            out.push(gap);
        }
        cursor = cursor.max(c.end());
    }
    if let Ok(tail) = DateRange::new(cursor, wanted.end()) {
        out.push(tail);
    }
    out
}

/// Merges ranges that overlap or touch, in order.
pub(crate) fn union(mut ranges: Vec<DateRange>) -> Vec<DateRange> {
    ranges.sort();
    let mut out: Vec<DateRange> = Vec::new();
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start() <= last.end() => {
                if r.end() > last.end()
                    && let Ok(merged) = DateRange::new(last.start(), r.end())
                {
                    *last = merged;
                }
            }
            _ => out.push(r),
        }
    }
    out
}

/// Plans one meter's series: the missing ranges plus the revision window,
/// merged, split into the longest windows the API accepts.
pub fn plan_series(
    series: Series,
    config: &PlanConfig,
    activation: Option<Date>,
    coverage: &[DateRange],
) -> SeriesPlan {
    let Some(wanted) = wanted(series, config, activation) else {
        return SeriesPlan { wanted: None, missing: Vec::new(), windows: Vec::new() };
    };
    let missing = missing(wanted, coverage);
    let mut fetch = missing.clone();
    if config.revision_days > 0 {
        let from = config.today.checked_sub(config.revision_days.days()).unwrap_or(config.today);
        if let Some(revision) = DateRange::new(from, config.today).ok().and_then(|r| r.intersect(&wanted)) {
            fetch.push(revision);
        }
    }
    let windows = union(fetch).iter().flat_map(|r| r.windows(series.max_window_days())).collect();
    SeriesPlan { wanted: Some(wanted), missing, windows }
}

/// The fewest calls the API's window limit allows for fetching `range`.
pub fn minimum_calls(series: Series, range: DateRange) -> usize {
    let max = series.max_window_days().max(1);
    (range.days().max(0) as usize).div_ceil(max as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn r(a: Date, b: Date) -> DateRange {
        DateRange::new(a, b).unwrap()
    }

    fn config(today: Date) -> PlanConfig {
        PlanConfig { today, revision_days: 7, since: None, until: None }
    }

    #[test]
    fn a_full_backfill_takes_the_minimum_number_of_calls() {
        let today = date(2026, 11, 28);
        for series in Series::ALL {
            let plan = plan_series(series, &config(today), None, &[]);
            let wanted = plan.wanted.unwrap();
            assert_eq!(wanted.end(), today);
            assert_eq!(plan.windows.len(), minimum_calls(series, wanted), "{series}");
            assert!(plan.windows.iter().all(|w| w.days() <= series.max_window_days()));
            assert_eq!(plan.windows.iter().map(|w| w.days()).sum::<i32>(), wanted.days());
        }
        // The wanted range starts at the history deadline.
        assert_eq!(
            plan_series(Series::ConsumptionCurve, &config(today), None, &[]).wanted.unwrap().start(),
            date(2024, 11, 13)
        );
        assert_eq!(
            plan_series(Series::ConsumptionDaily, &config(today), None, &[]).wanted.unwrap().start(),
            date(2023, 11, 13)
        );
    }

    #[test]
    fn a_covered_series_only_refetches_the_revision_window() {
        let today = date(2026, 11, 28);
        let cfg = config(today);
        let full = plan_series(Series::ConsumptionCurve, &cfg, None, &[]);
        let plan = plan_series(Series::ConsumptionCurve, &cfg, None, &full.windows);
        assert!(plan.missing.is_empty());
        assert_eq!(plan.windows, vec![r(date(2026, 11, 21), today)]);
        let daily = plan_series(Series::ConsumptionDaily, &cfg, None, &[full.wanted.unwrap()]);
        assert_eq!(daily.windows.len(), 1 + 2, "the uncovered older year plus the revision window");
    }

    #[test]
    fn the_next_day_merges_with_the_revision_window() {
        let today = date(2026, 11, 28);
        let covered = plan_series(Series::ConsumptionCurve, &config(today), None, &[]).wanted.unwrap();
        let plan = plan_series(Series::ConsumptionCurve, &config(date(2026, 11, 29)), None, &[covered]);
        assert_eq!(plan.missing, vec![r(today, date(2026, 11, 29))]);
        assert_eq!(plan.windows, vec![r(date(2026, 11, 22), date(2026, 11, 29))]);
    }

    #[test]
    fn gaps_activation_and_bounds() {
        let wanted = r(date(2025, 1, 1), date(2025, 2, 1));
        let cov = [
            r(date(2025, 1, 5), date(2025, 1, 10)),
            r(date(2024, 12, 1), date(2025, 1, 2)),
            r(date(2025, 1, 8), date(2025, 1, 12)),
        ];
        assert_eq!(
            missing(wanted, &cov),
            vec![r(date(2025, 1, 2), date(2025, 1, 5)), r(date(2025, 1, 12), date(2025, 2, 1))]
        );
        let today = date(2026, 11, 28);
        let cfg = PlanConfig { since: Some(date(2026, 1, 1)), until: Some(date(2026, 2, 1)), ..config(today) };
        let plan = plan_series(Series::ConsumptionDaily, &cfg, Some(date(2026, 1, 10)), &[]);
        assert_eq!(plan.windows, vec![r(date(2026, 1, 10), date(2026, 2, 1))]);
        let none = plan_series(Series::ConsumptionDaily, &cfg, Some(date(2026, 3, 1)), &[]);
        assert!(none.windows.is_empty() && none.wanted.is_none());
    }
}
