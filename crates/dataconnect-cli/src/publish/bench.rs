//! The publication figures of `dataconnect bench --only publish-influx,publish-mqtt`:
//! one meter's three years of half-hourly load curve (52,560 points) sent
//! to a real server, against a baseline measured in the same run, on the
//! same server, of one request per point.
//!
//! - `publish-influx`: the store read and sent as `publish influx` does
//!   (batches of 5,000 lines, reading overlapped with sending), against one
//!   HTTP POST per point on a kept-alive connection.
//! - `publish-mqtt`: one QoS 1 message per point on one connection with up
//!   to 100 messages awaiting their acknowledgement, against the same
//!   messages sent one at a time, each waiting for its acknowledgement
//!   (a window of 1), on a topic of its own, not retained.

use std::sync::Arc;
use std::time::Instant;

use dataconnect::{DateRange, Reading, Series, Unit, UsagePointId};
use dataconnect_store::{ReadingFilter, WindowWrite};
use jiff::{SignedDuration, Timestamp};

use super::influx::{self, InfluxTarget, TargetArgs, Writer};
use super::mqtt::{self, Broker, Message};
use crate::error::CliError;

/// Three years of half-hours.
pub const POINTS: usize = 3 * 365 * 48;

/// Where the figures are measured.
pub struct BenchConfig<'a> {
    pub influx_url: &'a str,
    pub mqtt_broker: &'a str,
    /// Points the baselines send (one request each).
    pub baseline_points: usize,
}

/// One meter's curve in a store of its own, under `dir`.
fn curve_store(dir: &std::path::Path) -> Result<(Arc<crate::store::AnyStore>, UsagePointId), CliError> {
    let prm = UsagePointId::new("12345678901234").map_err(|e| CliError::internal(e.to_string()))?;
    let store = crate::store::open_rw(&dir.join("publish-bench.db"))?;
    let origin = Timestamp::from_second(1_640_991_600).map_err(|e| CliError::internal(e.to_string()))?;
    let points: Vec<Reading> = (0..POINTS)
        .map(|i| {
            let start = origin + SignedDuration::from_mins(30 * i as i64);
            Reading {
                start,
                end: start + SignedDuration::from_mins(30),
                value: Some((200 + (i * 37) % 6000) as f64),
                unit: Unit::W,
                peak_at: None,
            }
        })
        .collect();
    let window = DateRange::day(jiff::civil::date(2022, 1, 1));
    store.upsert_window(&WindowWrite { prm: &prm, series: Series::ConsumptionCurve, window, readings: &points })?;
    Ok((Arc::new(store), prm))
}

fn line(name: &str, value: f64, unit: &str, base: f64) {
    println!("{name}: {value:.0} {unit} (baseline: {base:.0} {unit}, {:.1} x)", value / base);
}

/// Runs the figures named in `only` (`publish-influx`, `publish-mqtt`).
pub async fn run(only: &[String], config: &BenchConfig<'_>) -> Result<(), CliError> {
    let dir = std::env::temp_dir().join(format!("dataconnect-publish-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = async {
        let (store, prm) = tokio::task::block_in_place(|| curve_store(&dir))?;
        if only.iter().any(|o| o == "publish-influx") {
            influx_figure(&store, config).await?;
        }
        if only.iter().any(|o| o == "publish-mqtt") {
            mqtt_figure(&store, &prm, config).await?;
        }
        Ok(())
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn influx_figure(store: &Arc<crate::store::AnyStore>, config: &BenchConfig<'_>) -> Result<(), CliError> {
    let target = || {
        InfluxTarget::new(TargetArgs {
            url: config.influx_url,
            database: Some("dataconnect_bench"),
            org: None,
            bucket: None,
            token: None,
        })
    };
    let writer = Writer::new(target()?)?;
    let t = Instant::now();
    let report = influx::publish(Arc::clone(store), ReadingFilter::default(), &writer, influx::BATCH_LINES).await?;
    let rate = report.points as f64 / t.elapsed().as_secs_f64();

    // The baseline: the same lines, one POST each.
    let mut lines = Vec::new();
    store.for_each_reading(&ReadingFilter::default(), &mut |r| {
        if lines.len() < config.baseline_points {
            let mut one = Vec::new();
            super::line::write_point(&mut one, &r.usage_point_id, r.series, &r.reading)?;
            lines.push(one);
        }
        Ok(())
    })?;
    let t = Instant::now();
    let n = lines.len();
    for one in lines {
        writer.send(one).await?;
    }
    let base = n as f64 / t.elapsed().as_secs_f64();
    line("publish-influx", rate, "points/s", base);
    Ok(())
}

async fn mqtt_figure(
    store: &Arc<crate::store::AnyStore>,
    prm: &UsagePointId,
    config: &BenchConfig<'_>,
) -> Result<(), CliError> {
    let broker = Broker::parse(config.mqtt_broker, None, None)?;
    let topic = format!("dataconnect-bench/{}/{}/curve", std::process::id(), prm.as_str());
    let mut messages = Vec::with_capacity(POINTS);
    store.for_each_reading(&ReadingFilter::default(), &mut |r| {
        let payload = serde_json::json!({ "start": r.reading.start.as_second(), "value": r.reading.value });
        messages.push(Message { topic: topic.clone(), payload: payload.to_string().into_bytes() });
        Ok(())
    })?;
    let base_messages: Vec<Message> = messages.iter().take(config.baseline_points).cloned().collect();
    let t = Instant::now();
    let n = mqtt::send(&broker, messages, mqtt::SendConfig { retain: false, inflight: 100 }).await?;
    let rate = n as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    let b = mqtt::send(&broker, base_messages, mqtt::SendConfig { retain: false, inflight: 1 }).await?;
    let base = b as f64 / t.elapsed().as_secs_f64();
    line("publish-mqtt", rate, "messages/s", base);
    Ok(())
}
