//! Planning the API calls for a date range: clamp it to what the API can
//! answer, then split it into windows the API accepts.
//!
//! Pure functions, no I/O: the client uses them before fetching, and the
//! sync engine uses them to know the minimum number of calls a range costs.
//! Windows are whole Paris civil days, so a 7-day window holds 167, 168 or
//! 169 hours depending on DST, and stays aligned on midnight.

use jiff::ToSpan;
use jiff::civil::Date;

use crate::domain::{DateRange, Series};

/// The calls needed for a range: the windows, in order, and why the range
/// was cut, if it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Consecutive windows covering the served range exactly once; each at
    /// most [`Series::max_window_days`] days. Empty when nothing can be
    /// asked.
    pub windows: Vec<DateRange>,
    /// Why the range was cut (not after today, not before the history
    /// deadline, not before the activation date), when it was.
    pub clamped: Option<String>,
    /// The part of the range that can be asked for, or `None` when nothing
    /// can.
    pub served: Option<DateRange>,
}

/// The first day the API still serves for `series`, counted back from
/// `today`: 24 months + 15 days for curves, 36 months + 15 days otherwise.
/// The sync engine's planner and `doctor`/`status` all start from it.
///
/// Enedis's API description says 24 (or 36) months + 15 days, while its
/// error message says 16 days; the later of the two readings (15) is taken,
/// so that a window never starts before what the API serves.
pub fn history_deadline(series: Series, today: Date) -> Date {
    let (months, days) = series.history_depth();
    today.checked_sub(months.months().days(days)).unwrap_or(today)
}

/// Plans the calls for `series` over `range`, as of `today` (Paris), for a
/// meter activated on `activation` (when known).
///
/// The range is clamped to end no later than `today` (the API refuses an
/// end in the future; data for yesterday appears after 08:00), to start no
/// earlier than the history deadline and the activation date, then split
/// into windows of at most 7 days (curves) or 365 days (daily series).
/// A range that clamps to nothing gives no windows and a reason.
pub fn plan_windows(series: Series, range: DateRange, today: Date, activation: Option<Date>) -> Plan {
    let mut reasons = Vec::new();
    let mut start = range.start();
    let mut end = range.end();
    if end > today {
        reasons.push(format!("the end was moved from {end} to {today}: the API serves no day after yesterday"));
        end = today;
    }
    let deadline = history_deadline(series, today);
    if start < deadline {
        let (m, d) = series.history_depth();
        reasons.push(format!(
            "the start was moved from {start} to {deadline}: the API keeps {m} months and {d} days of {}",
            if series.is_curve() { "load curve" } else { "daily data" }
        ));
        start = deadline;
    }
    if let Some(a) = activation
        && start < a
    {
        reasons.push(format!("the start was moved from {start} to {a}, the meter's last activation date"));
        start = a;
    }
    let clamped = (!reasons.is_empty()).then(|| reasons.join("; "));
    match DateRange::new(start, end) {
        Ok(served) => Plan { windows: served.windows(series.max_window_days()), clamped, served: Some(served) },
        Err(_) => Plan {
            windows: Vec::new(),
            clamped: Some(format!(
                "nothing of {range} can be asked for: {}",
                clamped.unwrap_or_else(|| "the range is empty".into())
            )),
            served: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    #[test]
    fn clamps_and_splits() {
        let today = date(2026, 11, 28);
        let r = DateRange::new(date(2026, 11, 1), date(2026, 12, 5)).unwrap();
        let p = plan_windows(Series::ConsumptionCurve, r, today, None);
        assert_eq!(p.served, Some(DateRange::new(date(2026, 11, 1), today).unwrap()));
        assert_eq!(p.windows.len(), 4);
        assert!(p.clamped.unwrap().contains("2026-11-28"));
        let p = plan_windows(Series::ConsumptionDaily, r, today, Some(date(2026, 11, 20)));
        assert_eq!(p.windows, vec![DateRange::new(date(2026, 11, 20), today).unwrap()]);
        let old = DateRange::new(date(2020, 1, 1), date(2020, 2, 1)).unwrap();
        let p = plan_windows(Series::ConsumptionCurve, old, today, None);
        assert!(p.windows.is_empty() && p.served.is_none());
        assert!(p.clamped.unwrap().contains("24 months"));
        assert_eq!(history_deadline(Series::ConsumptionCurve, today), date(2024, 11, 13));
        assert_eq!(history_deadline(Series::ProductionDaily, today), date(2023, 11, 13));
    }

    fn arb_date() -> impl Strategy<Value = Date> {
        (0i64..4000).prop_map(|d| date(2018, 1, 1).checked_add(d.days()).unwrap())
    }

    proptest! {
        /// For random ranges, series and activation dates, the windows
        /// cover the served range exactly once, in order, never exceed the
        /// series' limit, never go past today or before the deadline and
        /// activation, and start at midnight Paris (aligned across DST).
        #[test]
        fn windows_cover_exactly_once(a in arb_date(), len in 1i64..2000, today in arb_date(), act in proptest::option::of(arb_date()), s in 0usize..5) {
            let series = Series::ALL[s];
            let range = DateRange::new(a, a.checked_add(len.days()).unwrap()).unwrap();
            let p = plan_windows(series, range, today, act);
            match p.served {
                None => prop_assert!(p.windows.is_empty() && p.clamped.is_some()),
                Some(served) => {
                    prop_assert!(served.start() >= range.start() && served.end() <= range.end());
                    prop_assert!(served.end() <= today);
                    prop_assert!(served.start() >= history_deadline(series, today));
                    if let Some(act) = act { prop_assert!(served.start() >= act); }
                    prop_assert_eq!(p.clamped.is_some(), served != range);
                    prop_assert_eq!(p.windows.first().map(|w| w.start()), Some(served.start()));
                    prop_assert_eq!(p.windows.last().map(|w| w.end()), Some(served.end()));
                    let mut days = 0;
                    for (i, w) in p.windows.iter().enumerate() {
                        prop_assert!(w.days() >= 1 && w.days() <= series.max_window_days());
                        if i + 1 < p.windows.len() {
                            prop_assert_eq!(w.end(), p.windows[i + 1].start());
                            // Only the last window may be short.
                            prop_assert_eq!(w.days(), series.max_window_days());
                        }
                        // Midnight Paris, whatever the DST state.
                        let z = w.start_instant().to_zoned_datetime(crate::domain::paris());
                        prop_assert_eq!((z.hour(), z.minute()), (0, 0));
                        prop_assert_eq!(z.date(), w.start());
                        days += w.days();
                    }
                    prop_assert_eq!(days, served.days());
                    let min_calls = (served.days() + series.max_window_days() - 1) / series.max_window_days();
                    prop_assert_eq!(p.windows.len() as i32, min_calls);
                }
            }
        }
    }
}
