//! The fleet benchmark of `dataconnect bench --pg URL` (see the parent
//! module's docs): a fleet synced into PostgreSQL by the queue-driven
//! workers under the shared quota, against the store's own ceiling and the
//! cost of one `/metrics` snapshot, all measured in the same run on the same
//! database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dataconnect::{Consent, ConsentDuration, DateRange, Generation, QuotaConfig, Series, UsagePointId};
use dataconnect_sandbox::SandboxConfig;
use dataconnect_store::{PgConfig, PgStore, Store, WindowWrite};
use dataconnect_sync::{PlanConfig, QuietProgress, SeriesTarget, WorkOutcome, WorkerConfig, enqueue, run_workers};
use jiff::civil::{Date, date};
use jiff::{SignedDuration, Timestamp};

use super::{Cmd, points};
use crate::embedded_sandbox::Embedded;
use crate::error::{Class, CliError};
use crate::source::ClientSource;

/// The benchmark's sizes, from the flags.
struct Sizes {
    meters: u32,
    days: i32,
    quota: u32,
    workers: usize,
}

/// What the fleet is synced with: the sandbox serving it, the store in a
/// schema of its own with the fleet's consent, and the client on the
/// store's shared quota.
struct World {
    _sandbox: Embedded,
    store: Arc<PgStore>,
    source: ClientSource,
    prms: Vec<UsagePointId>,
}

/// What the sync of the fleet did.
struct Synced {
    queued: u64,
    planning: Duration,
    outcome: WorkOutcome,
    elapsed: f64,
    calls: u64,
}

/// The day the benchmark takes as today.
const TODAY: Date = date(2026, 11, 28);

/// The fleet benchmark (see the module docs).
pub(super) async fn fleet(url: &str, cmd: &Cmd) -> Result<(), CliError> {
    let sizes = Sizes {
        meters: cmd.meters.clamp(1, 100_000),
        days: cmd.days.clamp(1, 745),
        quota: cmd.quota.max(1),
        workers: cmd.workers.clamp(1, 64),
    };
    let world = world(url, &sizes).await?;
    let synced = sync_fleet(&world, &sizes).await?;
    let r = &synced.outcome.report;
    let stats = world.source.client().stats();
    let sync_rate = r.points as f64 / synced.elapsed;
    let call_rate = synced.calls as f64 / synced.elapsed;
    let Sizes { meters, days, quota, workers } = sizes;
    println!(
        "fleet: {meters} meters x {days} days of load curve into PostgreSQL{}: {} windows queued in {:.1} s; \
{} stored, {} points in {:.1} s with {workers} workers: {sync_rate:.0} points/s; \
{} data calls, {call_rate:.1} calls/s = {:.1}% of the quota of {quota}/s, {} throttled (429), {} retries, {} late quota slots given up",
        if world.store.timescale() { " (TimescaleDB)" } else { "" },
        synced.queued,
        synced.planning.as_secs_f64(),
        r.stored,
        r.points,
        synced.elapsed,
        synced.calls,
        100.0 * call_rate / f64::from(quota),
        stats.throttled_429,
        stats.retries,
        stats.late_slots,
    );
    // The baseline: the store alone, the same number of points in windows
    // of the same size (7 days of half-hours), no HTTP, one worker thread
    // per sync worker, into the same database.
    let per_window = (r.points / r.stored.max(1) as u64).max(1) as usize;
    let sample_windows = (r.stored / 4).clamp(1, 5_000);
    let t = Instant::now();
    let written = store_alone(&world.store, workers, sample_windows, per_window).await?;
    let base_rate = written as f64 / t.elapsed().as_secs_f64();
    println!(
        "fleet baseline: the store alone (upsert_window, {workers} threads, {sample_windows} windows of {per_window} points, no HTTP): {base_rate:.0} points/s; \
the sync reaches {:.0}% of it, and its ceiling at the quota is {:.0} points/s",
        100.0 * sync_rate / base_rate,
        f64::from(quota) * per_window as f64,
    );
    metrics_snapshot_cost(&*world.store, meters)?;
    let complete = r.is_complete();
    let World { store, source, .. } = world;
    drop(source);
    if let Ok(store) = Arc::try_unwrap(store) {
        let _ = store.drop_schema();
    }
    if !complete {
        return Err(CliError::new(
            Class::Internal,
            format!("the fleet sync did not complete: {:?}", synced.outcome.report),
        ));
    }
    Ok(())
}

/// Starts the sandbox with the fleet, opens the store in a schema of its
/// own and records the fleet's consent, and builds the client on the
/// store's shared quota.
async fn world(url: &str, sizes: &Sizes) -> Result<World, CliError> {
    let sandbox = crate::embedded_sandbox::start_sandbox(SandboxConfig {
        today: Some(TODAY),
        quota_per_second: sizes.quota,
        quota_per_hour: 0,
        quota_per_hour_api: 0,
        fleet: sizes.meters,
        ..SandboxConfig::default()
    })
    .await?;
    let mut settings = crate::embedded_sandbox::sandbox_client_settings(
        sandbox.base_url.clone(),
        Generation::Dc2026,
        Some(TODAY),
        sizes.quota,
    )?;
    settings.quota_per_hour = 10_000_000;
    let config = PgConfig {
        schema: Some(format!("dc_bench_{}", std::process::id())),
        max_connections: u32::try_from(sizes.workers + 3).unwrap_or(64),
        ..PgConfig::new(url)
    };
    let store = Arc::new(PgStore::open(&config)?);
    let prms: Vec<UsagePointId> = (1..=sizes.meters)
        .map(|n| UsagePointId::new(&format!("25{n:012}")).map_err(|e| CliError::internal(e.to_string())))
        .collect::<Result<_, _>>()?;
    let consent = Consent {
        usage_points: prms.clone(),
        generation: Generation::Dc2026,
        start: date(2026, 1, 1),
        duration: ConsentDuration::MAX,
        state: "bench".into(),
        autorisation_id: None,
    };
    store.record_consent(&consent, Timestamp::now())?;
    let shared: Arc<dyn dataconnect::SharedQuota> =
        Arc::new(store.shared_quota(QuotaConfig { per_second: sizes.quota, per_hour: settings.quota_per_hour })?);
    let source = ClientSource::new(crate::source::client_with(&settings, std::path::Path::new(url), Some(shared))?);
    Ok(World { _sandbox: sandbox, store, source, prms })
}

/// Plans the fleet's load curves into the queue and works it with the
/// workers until it is empty.
async fn sync_fleet(world: &World, sizes: &Sizes) -> Result<Synced, CliError> {
    let since = TODAY.checked_sub(jiff::ToSpan::days(sizes.days)).map_err(|e| CliError::internal(e.to_string()))?;
    let plan = PlanConfig { today: TODAY, revision_days: 0, since: Some(since), until: None };
    let targets: Vec<SeriesTarget> = world
        .prms
        .iter()
        .map(|p| SeriesTarget { prm: p.clone(), series: Series::ConsumptionCurve, activation: None })
        .collect();
    let t = Instant::now();
    let queued = enqueue(&*world.store, &targets, &plan)?;
    let planning = t.elapsed();
    let t = Instant::now();
    let outcome = run_workers(
        Arc::clone(&world.store),
        &world.source,
        &WorkerConfig::new(sizes.workers),
        &QuietProgress,
        std::future::pending(),
    )
    .await;
    let elapsed = t.elapsed().as_secs_f64();
    let calls = crate::sync_engine::data_calls(world.source.client());
    Ok(Synced { queued, planning, outcome, elapsed, calls })
}

/// Writes `windows` windows of `per_window` points through `upsert_window`
/// on `threads` threads, no HTTP; returns the points written.
async fn store_alone(store: &Arc<PgStore>, threads: usize, windows: usize, per_window: usize) -> Result<u64, CliError> {
    let origin = Timestamp::from_second(1_500_000_000).map_err(|e| CliError::internal(e.to_string()))?;
    let base_prm = UsagePointId::new("99999999999999").map_err(|e| CliError::internal(e.to_string()))?;
    let store = Arc::clone(store);
    let chunks = threads.min(windows).max(1);
    let per_chunk = windows.div_ceil(chunks);
    tokio::task::spawn_blocking(move || {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..chunks)
                .map(|c| {
                    let store = &store;
                    let base_prm = &base_prm;
                    s.spawn(move || -> Result<u64, dataconnect_store::StoreError> {
                        let mut n = 0;
                        for w in (c * per_chunk)..((c + 1) * per_chunk).min(windows) {
                            let from = origin + SignedDuration::from_mins(30 * (w * per_window) as i64);
                            let readings = points(from, per_window);
                            let window = DateRange::day(date(2024, 1, 1));
                            let write = WindowWrite {
                                prm: base_prm,
                                series: Series::ConsumptionCurve,
                                window,
                                readings: &readings,
                            };
                            n += store.upsert_window(&write)?;
                        }
                        Ok(n)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(Ok(0))).sum::<Result<u64, _>>()
        })
    })
    .await
    .map_err(|e| CliError::internal(e.to_string()))?
    .map_err(CliError::from)
}

/// What one refresh of `serve`'s /metrics snapshot costs on this store: the
/// readings per series (a scan), and the newest coverage of every meter and
/// series in one query, against one query per meter and series (what
/// `serve` did before) as the baseline.
fn metrics_snapshot_cost(store: &dyn Store, meters: u32) -> Result<(), CliError> {
    let t = Instant::now();
    let total: u64 = store.summary(&dataconnect_store::ReadingFilter::default())?.iter().map(|s| s.points).sum();
    let summary = t.elapsed();
    let t = Instant::now();
    let mut coverages = 0usize;
    for c in store.consents()? {
        for s in Series::ALL {
            coverages += store.coverage(&c.usage_point_id, s)?.len();
        }
    }
    let per_meter = t.elapsed();
    let t = Instant::now();
    let ends = store.coverage_ends()?.len();
    let one_query = t.elapsed();
    println!(
        "fleet /metrics snapshot: readings per series {:.2} s ({total} readings); newest coverage of {} meter-series: \
one query (coverage_ends, {ends} rows) {:.3} s vs one query per meter and series (baseline, {coverages} ranges) {:.3} s: {:.0}x",
        summary.as_secs_f64(),
        meters as usize * Series::ALL.len(),
        one_query.as_secs_f64(),
        per_meter.as_secs_f64(),
        per_meter.as_secs_f64() / one_query.as_secs_f64().max(1e-9),
    );
    Ok(())
}
