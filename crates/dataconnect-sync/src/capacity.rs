//! How many meters an application can keep at a given freshness inside
//! the 2026 quota (1,000 calls per hour per API), and how long back-fills
//! take: the arithmetic behind `dataconnect capacity`.
//!
//! Every figure comes from the planner ([`plan_series`]), not from a
//! separate formula: the steady state of one meter and series is what the
//! planner asks for when the series' last `freshness` days are missing
//! (one 7-day window for a weekly curve, one call a day for a daily one),
//! and a new meter's back-fill is what it asks for with nothing covered
//! (105 calls for two years of curve). A new meter also costs one call to
//! each contract API (`situation_contrat_auto`, `synth_contrat_auto`,
//! `comptage_auto`), as `sync` reads its contract once.
//!
//! This is a steady-state estimate: it does not schedule calls hour by
//! hour (the daemon's `--freshness` and an hour-by-hour simulation are not
//! built yet).

use dataconnect::{DateRange, Series};
use jiff::ToSpan;
use jiff::civil::Date;

use crate::plan::{PlanConfig, plan_series};

/// How fresh a series is kept: its data is at most this many days older
/// than what the API could serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Freshness {
    /// 1 (every day) or 7 (whole weeks).
    pub days: i32,
}

/// What to estimate.
#[derive(Clone, Debug)]
pub struct CapacityConfig {
    /// Meters kept current.
    pub meters: u64,
    /// New consents a day, each back-filled.
    pub new_per_day: u64,
    /// The series kept, with their freshness.
    pub series: Vec<(Series, Freshness)>,
    /// How far back a new meter is back-filled, in days (`None`: all the
    /// API serves, 24 or 36 months + 15 days).
    pub history_days: Option<i32>,
    /// Calls per hour per API (1,000 in 2026).
    pub quota_per_hour: u32,
    /// The day the estimate is made for (it fixes the calendar of the
    /// back-fill windows).
    pub today: Date,
}

/// The estimate for one API.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiCapacity {
    /// The API (first segment of its path).
    pub api: &'static str,
    /// Calls a day to keep one meter at the asked freshness.
    pub calls_per_meter_day: f64,
    /// Calls to back-fill one new meter.
    pub backfill_calls_per_meter: u64,
    /// Calls a day needed: the meters' updates and the day's back-fills.
    pub calls_per_day: f64,
    /// What the quota allows a day (24 × calls per hour).
    pub quota_per_day: u64,
    /// The most meters the quota keeps at that freshness, with the day's
    /// back-fills also served (`None`: no update costs a call).
    pub max_meters: Option<u64>,
    /// Days one day's new meters wait for their back-fill to complete
    /// with what the updates leave of the quota (`None`: they never catch
    /// up, the back-fill queue grows every day).
    pub backfill_days: Option<f64>,
}

/// The APIs every new meter's contract costs one call to.
const CONTRACT_APIS: [&str; 3] = ["situation_contrat_auto", "synth_contrat_auto", "comptage_auto"];

/// The measurement API of the 2026 series.
const MESURE: &str = "mesure_synchrone_auto";

/// The windows the planner asks for one meter's `series` when `covered`
/// is covered.
fn windows(series: Series, today: Date, since: Option<Date>, covered: &[DateRange]) -> u64 {
    let config = PlanConfig { today, revision_days: 0, since, until: None };
    plan_series(series, &config, None, covered).windows.len() as u64
}

/// Calls a day for one meter's series at `freshness`: the planner's
/// windows for the last `freshness` days, spread over those days.
fn steady(series: Series, freshness: Freshness, today: Date) -> f64 {
    let days = freshness.days.max(1);
    let gap_start = today.checked_sub(days.days()).unwrap_or(today);
    let covered: Vec<DateRange> =
        DateRange::new(today.checked_sub(3.years()).unwrap_or(today), gap_start).into_iter().collect();
    windows(series, today, None, &covered) as f64 / f64::from(days)
}

/// The estimate, per API.
pub fn capacity(config: &CapacityConfig) -> Vec<ApiCapacity> {
    let since = config.history_days.and_then(|d| config.today.checked_sub(d.days()).ok());
    let mut per_meter = 0.0;
    let mut backfill = 0u64;
    for (series, freshness) in &config.series {
        per_meter += steady(*series, *freshness, config.today);
        backfill += windows(*series, config.today, since, &[]);
    }
    let quota_per_day = 24 * u64::from(config.quota_per_hour);
    let mut out = vec![estimate(MESURE, per_meter, backfill, config, quota_per_day)];
    for api in CONTRACT_APIS {
        out.push(estimate(api, 0.0, 1, config, quota_per_day));
    }
    out
}

fn estimate(
    api: &'static str,
    per_meter: f64,
    backfill: u64,
    config: &CapacityConfig,
    quota_per_day: u64,
) -> ApiCapacity {
    let backfill_day = (config.new_per_day * backfill) as f64;
    let updates = config.meters as f64 * per_meter;
    let quota = quota_per_day as f64;
    let max_meters = (per_meter > 0.0).then(|| ((quota - backfill_day).max(0.0) / per_meter).floor() as u64);
    let left = quota - updates;
    let backfill_days = if backfill_day == 0.0 {
        Some(0.0)
    } else if left >= backfill_day {
        Some(backfill_day / left)
    } else {
        None
    };
    ApiCapacity {
        api,
        calls_per_meter_day: per_meter,
        backfill_calls_per_meter: backfill,
        calls_per_day: updates + backfill_day,
        quota_per_day,
        max_meters,
        backfill_days,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn config(freshness: i32, meters: u64, new_per_day: u64) -> CapacityConfig {
        CapacityConfig {
            meters,
            new_per_day,
            series: vec![(Series::ConsumptionCurve, Freshness { days: freshness })],
            history_days: Some(730),
            quota_per_hour: 1000,
            today: date(2026, 11, 28),
        }
    }

    #[test]
    fn the_issue_figures_come_out_of_the_planner() {
        // A daily curve: one call per meter a day, 24,000 meters at most.
        let daily = &capacity(&config(1, 10_000, 0))[0];
        assert_eq!(daily.calls_per_meter_day, 1.0);
        assert_eq!(daily.max_meters, Some(24_000));
        // Whole weeks: one call per meter a week, 168,000 meters.
        let weekly = &capacity(&config(7, 100_000, 0))[0];
        assert_eq!(weekly.max_meters, Some(168_000));
        // Two years of curve for a new meter: 105 calls.
        assert_eq!(weekly.backfill_calls_per_meter, 105);
    }

    #[test]
    fn backfills_use_what_updates_leave() {
        // 100,000 weekly meters use 14,286 calls a day; 100 new meters a
        // day need 10,500 more, inside the 9,714 left? No: they never
        // catch up.
        let busy = &capacity(&config(7, 100_000, 100))[0];
        assert_eq!(busy.backfill_days, None);
        // 50 new a day fit: 5,250 of the 9,714 left, about half a day.
        let fits = &capacity(&config(7, 100_000, 50))[0];
        let days = fits.backfill_days.unwrap_or(f64::MAX);
        assert!((0.5..0.6).contains(&days), "{days}");
        // Each new meter's contract is one call to each contract API.
        let all = capacity(&config(7, 100_000, 50));
        assert!(all[1..].iter().all(|a| a.calls_per_day == 50.0 && a.backfill_calls_per_meter == 1));
    }
}
