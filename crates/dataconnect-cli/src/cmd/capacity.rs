//! `dataconnect capacity`: what an application's quota (1,000 calls per
//! hour per API in 2026) allows, per API: the calls a day `--meters` need
//! at `--freshness`, the most meters kept at that freshness, and how long
//! the back-fill of `--new-per-day` new meters takes. The figures come
//! from the sync planner (`dataconnect_sync::capacity`).

use clap::Args;
use dataconnect::Series;
use dataconnect_sync::capacity::{CapacityConfig, Freshness, capacity};

use crate::error::CliError;

#[derive(Args, Debug)]
pub struct Cmd {
    /// Meters kept current.
    #[arg(long, value_name = "N")]
    meters: u64,
    /// How fresh each series is kept: `1d` (every day) or `7d` (whole
    /// weeks: the same data in 7 times fewer curve calls), for every
    /// series, or per series (`consumption-curve=7d,consumption-daily=1d`).
    #[arg(long, value_name = "FRESHNESS", default_value = "1d")]
    freshness: String,
    /// The series kept (default: consumption-curve, consumption-daily,
    /// consumption-max-power).
    #[arg(long, value_name = "SERIES", value_delimiter = ',')]
    series: Vec<String>,
    /// New consents a day, each back-filled.
    #[arg(long, value_name = "K", default_value_t = 0)]
    new_per_day: u64,
    /// How far back a new meter is back-filled: `2y`, `1y`, `90d`… (default:
    /// all the API serves).
    #[arg(long, value_name = "DURATION")]
    history: Option<String>,
    /// Calls per hour per API.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    quota_per_hour: u32,
}

fn days(text: &str, flag: &str) -> Result<i32, CliError> {
    let t = text.trim();
    let (n, unit) = t.split_at(t.len().saturating_sub(1));
    let n: i32 =
        n.parse().map_err(|_| CliError::usage(format!("`{text}` is not a duration like 1d, 7d or 2y ({flag})")))?;
    match unit {
        "d" if n > 0 => Ok(n),
        "w" if n > 0 => Ok(n * 7),
        "y" if n > 0 => Ok(n * 365),
        _ => Err(CliError::usage(format!("`{text}` is not a duration like 1d, 7d or 2y ({flag})"))),
    }
}

impl Cmd {
    fn plan(&self) -> Result<CapacityConfig, CliError> {
        let series: Vec<Series> = if self.series.is_empty() {
            vec![Series::ConsumptionCurve, Series::ConsumptionDaily, Series::ConsumptionMaxPower]
        } else {
            crate::store::series(&self.series)?
        };
        let mut default = None;
        let mut per_series = Vec::new();
        for part in self.freshness.split(',') {
            match part.split_once('=') {
                Some((name, d)) => {
                    let s: Series = name.parse().map_err(|e| CliError::usage(format!("{e} (--freshness)")))?;
                    per_series.push((s, days(d, "--freshness")?));
                }
                None => default = Some(days(part, "--freshness")?),
            }
        }
        let freshness = |s: Series| per_series.iter().find(|(x, _)| *x == s).map(|(_, d)| *d).or(default).unwrap_or(1);
        Ok(CapacityConfig {
            meters: self.meters,
            new_per_day: self.new_per_day,
            series: series.iter().map(|s| (*s, Freshness { days: freshness(*s) })).collect(),
            history_days: self.history.as_deref().map(|h| days(h, "--history")).transpose()?,
            quota_per_hour: self.quota_per_hour.max(1),
            today: dataconnect::domain::today_paris(jiff::Timestamp::now()),
        })
    }

    pub async fn run(self) -> Result<(), CliError> {
        let config = self.plan()?;
        let kept: Vec<String> = config.series.iter().map(|(s, f)| format!("{s} every {}d", f.days)).collect();
        println!(
            "{} meters ({}), {} new a day, {} calls per hour per API",
            config.meters,
            kept.join(", "),
            config.new_per_day,
            config.quota_per_hour
        );
        for a in capacity(&config) {
            let max =
                a.max_meters.map_or_else(|| "no limit from updates".to_owned(), |m| format!("{m} meters at most"));
            let backfill = match a.backfill_days {
                Some(_) if config.new_per_day == 0 => String::new(),
                Some(d) => format!(", a day's back-fill done in {:.1} h", d * 24.0),
                None => ", back-fills never catch up (the queue grows every day)".to_owned(),
            };
            println!(
                "{}: {:.0} calls a day of {} ({:.0}%), {:.3} per meter a day, {} per new meter; {max}{backfill}",
                a.api,
                a.calls_per_day,
                a.quota_per_day,
                100.0 * a.calls_per_day / a.quota_per_day as f64,
                a.calls_per_meter_day,
                a.backfill_calls_per_meter,
            );
        }
        Ok(())
    }
}
