//! `dataconnect bench` (hidden): the two figures the sync engine promises.
//!
//! 1. Calls: one meter's full backfill against the embedded sandbox (quota
//!    raised so it runs in seconds), counting the data calls the client made
//!    against the fewest the API's window limits allow. They must be equal.
//! 2. Ingest: synthetic load-curve points written through
//!    `Store::upsert_window` (one transaction per window of `--window`
//!    points), against a baseline measured in the same run on the same
//!    schema: one `INSERT` per statement in autocommit mode.
//! 3. Fleet (`--pg URL`): `--meters` synthetic meters (the sandbox's
//!    `--fleet`) × `--days` of load curves synced into PostgreSQL (a schema
//!    of its own, dropped at the end) by the queue-driven workers under the
//!    shared quota, from an embedded sandbox whose quota is `--quota`
//!    calls per second. It reports the ingest rate (points per second), the
//!    share of the quota achieved, and, measured in the same run on the
//!    same database, the store's own ceiling: the same windows written by
//!    `upsert_window` without HTTP.
//! 4. Import (`--only import-csv`): a 3-year PT30M Enedis portal CSV read
//!    and stored by `import`, against one autocommit `INSERT` per row of
//!    the same file (see `bench/import_csv.rs`).
//!
//! `--only NAME[,…]` runs some of them (`calls`, `ingest`, `import-csv`, and the publish figures).

mod import_csv;

use std::time::Instant;

use clap::Args;
use dataconnect::{DateRange, Reading, Series, Unit, UsagePointId};
use dataconnect_sandbox::SandboxConfig;
use dataconnect_store::{Store, WindowWrite};
use dataconnect_sync::{PlanConfig, QuietProgress, SeriesTarget, SyncConfig};
use jiff::civil::date;
use jiff::{SignedDuration, Timestamp};

use crate::error::{Class, CliError};
use crate::source::ClientSource;

#[cfg(feature = "postgres")]
mod fleet;

#[derive(Args, Debug)]
pub struct Cmd {
    /// Points written through the store.
    #[arg(long, default_value_t = 2_000_000)]
    points: u64,
    /// Points per window (one transaction each).
    #[arg(long, default_value_t = 20_000)]
    window: usize,
    /// Points written by the baseline (one autocommit INSERT each).
    #[arg(long, default_value_t = 20_000)]
    baseline_points: u64,
    /// Skip the calls measurement.
    #[arg(long)]
    no_calls: bool,
    /// Run the fleet benchmark into this PostgreSQL instead (a schema of its own, dropped at the end).
    #[arg(long, value_name = "URL")]
    pg: Option<String>,
    /// Fleet benchmark: meters.
    #[arg(long, default_value_t = 1000)]
    meters: u32,
    /// Fleet benchmark: days of load curve per meter, up to today.
    #[arg(long, default_value_t = 730)]
    days: i32,
    /// Fleet benchmark: the sandbox's (and the application's) quota, calls per second.
    #[arg(long, default_value_t = 200)]
    quota: u32,
    /// Fleet benchmark: workers.
    #[arg(long, default_value_t = 16)]
    workers: usize,
    /// Only these figures: calls, ingest, import-csv (a 3-year PT30M portal CSV), publish-influx,
    /// publish-mqtt (one meter's 3 years of curve to a real server), costs-year, costs-compare (pricing a year
    /// of PT30M, and 30 offers).
    #[arg(long, value_delimiter = ',', value_name = "NAME")]
    only: Vec<String>,
    /// publish-influx: the VictoriaMetrics or InfluxDB 1.x to write to (database dataconnect_bench).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8428")]
    influx_url: String,
    /// publish-mqtt: the broker.
    #[arg(long, value_name = "URL", default_value = "mqtt://127.0.0.1:1883")]
    mqtt_broker: String,
}

impl Cmd {
    pub async fn run(self) -> Result<(), CliError> {
        const NAMES: [&str; 5] = ["calls", "ingest", "import-csv", "publish-influx", "publish-mqtt"];
        let costs = crate::cmd::bench_costs::NAMES;
        let names = || NAMES.iter().chain(costs.iter());
        if let Some(unknown) = self.only.iter().find(|o| !names().any(|n| n == o)) {
            return Err(CliError::usage(format!(
                "unknown figure {unknown:?} in --only: expected {}",
                names().copied().collect::<Vec<_>>().join(", ")
            )));
        }
        if self.only.is_empty() {
            #[cfg(feature = "postgres")]
            if let Some(url) = &self.pg {
                return fleet::fleet(url, &self).await;
            }
            if !self.no_calls {
                calls().await?;
            }
            return ingest(&self);
        }
        for name in &self.only {
            match name.as_str() {
                "calls" => calls().await?,
                "ingest" => ingest(&self)?,
                "import-csv" => import_csv::run()?,
                _ => {}
            }
        }
        let cost_names: Vec<String> = self.only.iter().filter(|o| costs.contains(&o.as_str())).cloned().collect();
        if !cost_names.is_empty() {
            crate::cmd::bench_costs::run(&cost_names)?;
        }
        let publish: Vec<String> = self.only.iter().filter(|o| o.starts_with("publish-")).cloned().collect();
        if !publish.is_empty() {
            let config = crate::publish::bench::BenchConfig {
                influx_url: &self.influx_url,
                mqtt_broker: &self.mqtt_broker,
                baseline_points: self.baseline_points.min(5000) as usize,
            };
            return crate::publish::bench::run(&publish, &config).await;
        }
        Ok(())
    }
}

async fn calls() -> Result<(), CliError> {
    let today = date(2026, 11, 28);
    let sandbox = crate::embedded_sandbox::start_sandbox(SandboxConfig {
        today: Some(today),
        quota_per_second: 1000,
        quota_per_hour_api: 0,
        ..SandboxConfig::default()
    })
    .await?;
    let settings = crate::embedded_sandbox::sandbox_client_settings(
        sandbox.base_url.clone(),
        dataconnect::Generation::default(),
        Some(today),
        1000,
    )?;
    let dir = tempdir()?;
    let db = dir.join("calls.db");
    let store = crate::store::open_rw(&db)?;
    let source = ClientSource::new(crate::source::client(&settings, &db)?);
    let prm = UsagePointId::new("12345678901234").map_err(|e| CliError::internal(e.to_string()))?;
    let plan = PlanConfig { today, revision_days: 7, since: None, until: None };
    let series = [Series::ConsumptionCurve, Series::ConsumptionDaily, Series::ConsumptionMaxPower];
    let targets: Vec<SeriesTarget> =
        series.iter().map(|&series| SeriesTarget { prm: prm.clone(), series, activation: None }).collect();
    let minimum: usize = series
        .iter()
        .filter_map(|&s| dataconnect_sync::plan::wanted(s, &plan, None).map(|w| dataconnect_sync::minimum_calls(s, w)))
        .sum();
    let before = crate::sync_engine::data_calls(source.client());
    let report =
        dataconnect_sync::run(&store, &source, &targets, &SyncConfig { plan, concurrency: 8 }, &QuietProgress).await;
    let made = crate::sync_engine::data_calls(source.client()) - before;
    let retries = source.client().stats().retries;
    println!(
        "calls: full backfill of {prm} ({}): {made} data calls ({retries} retries), minimum {minimum}, {} points{}",
        series.map(|s| s.as_str()).join(", "),
        report.points,
        if made as usize == minimum { " (equal)" } else { " (NOT EQUAL)" }
    );
    let _ = std::fs::remove_dir_all(&dir);
    if !report.is_complete() {
        return Err(CliError::new(Class::Internal, format!("the backfill did not complete: {report:?}")));
    }
    Ok(())
}

fn tempdir() -> Result<std::path::PathBuf, CliError> {
    let dir = std::env::temp_dir().join(format!("dataconnect-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// `n` half-hour points starting at `from`, values varying.
fn points(from: Timestamp, n: usize) -> Vec<Reading> {
    (0..n)
        .map(|i| {
            let start = from + SignedDuration::from_mins(30 * i as i64);
            Reading {
                start,
                end: start + SignedDuration::from_mins(30),
                value: Some((i % 9000) as f64),
                unit: Unit::W,
                peak_at: None,
            }
        })
        .collect()
}

fn ingest(cmd: &Cmd) -> Result<(), CliError> {
    let dir = tempdir()?;
    let prm = UsagePointId::new("12345678901234").map_err(|e| CliError::internal(e.to_string()))?;
    let window = DateRange::day(date(2024, 1, 1));
    let origin = Timestamp::from_second(1_500_000_000).map_err(|e| CliError::internal(e.to_string()))?;

    // The store: one transaction per window, prepared statement reused.
    let store = crate::store::open_rw(&dir.join("ingest.db"))?;
    let per = cmd.window.max(1);
    let batches: Vec<Vec<Reading>> = (0..cmd.points.div_ceil(per as u64))
        .map(|b| points(origin + SignedDuration::from_mins(30 * (b as i64) * per as i64), per))
        .collect();
    let total: u64 = batches.iter().map(|b| b.len() as u64).sum();
    let t = Instant::now();
    let cpu = cpu_seconds();
    for batch in &batches {
        store.upsert_window(&WindowWrite { prm: &prm, series: Series::ConsumptionCurve, window, readings: batch })?;
    }
    let store_rate = total as f64 / t.elapsed().as_secs_f64();
    let cpu_rate = match (cpu, cpu_seconds()) {
        (Some(a), Some(b)) if b > a => {
            format!(" ({:.0} points per CPU second of this process)", total as f64 / (b - a))
        }
        _ => String::new(),
    };

    // The baseline: the same upsert, one statement per point, autocommit.
    let base_path = dir.join("baseline.db");
    drop(crate::store::open_rw(&base_path)?);
    let conn = rusqlite::Connection::open(&base_path).map_err(|e| CliError::internal(e.to_string()))?;
    let _ = conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()));
    let _ = conn.pragma_update(None, "synchronous", "NORMAL");
    let rows = points(origin, cmd.baseline_points as usize);
    let t = Instant::now();
    for r in &rows {
        conn.execute(
            "INSERT INTO reading (usage_point_id, series, start, \"end\", value, unit, peak_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL)
             ON CONFLICT (usage_point_id, series, start) DO UPDATE SET value = excluded.value",
            rusqlite::params![prm.as_str(), "consumption-curve", r.start.as_second(), r.end.as_second(), r.value, "W"],
        )
        .map_err(|e| CliError::internal(e.to_string()))?;
    }
    let base_rate = rows.len() as f64 / t.elapsed().as_secs_f64();
    println!(
        "ingest: {total} points through Store::upsert_window in windows of {per}: {store_rate:.0} points/s{cpu_rate}; \
baseline (one INSERT per statement, autocommit, {} points): {base_rate:.0} points/s; {:.0}x",
        rows.len(),
        store_rate / base_rate
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// User + system CPU time of this process, from `/proc/self/stat` (Linux;
/// `None` elsewhere). It shows the ingest rate independent of other load on
/// the machine; clock ticks are taken as 100 per second, Linux's `USER_HZ`.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 here.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}
