//! Syncing on a PostgreSQL store: the store opened with a connection per
//! worker, the client on the store's shared quota, and the daemon's
//! configuration (`sync --daemon` and `serve --workers` on PostgreSQL).

use std::sync::Arc;
use std::time::Duration;

use dataconnect::{Direction, QuotaConfig, Series};
use dataconnect_store::{QueueFilter, Store};
use dataconnect_sync::{DaemonConfig, Schedule, WorkerConfig};

use crate::error::CliError;
use crate::settings::Settings;
use crate::source::ClientSource;

/// What a sync on PostgreSQL works with: the store (queue, shared quota)
/// and the client source built on its shared quota.
pub struct PgSync {
    pub store: Arc<dataconnect_store::PgStore>,
    pub source: ClientSource,
}

/// Opens the PostgreSQL store at `url` with a connection per worker (and
/// spares for lease renewals and planning), builds the client on the
/// store's shared quota, and tells the source every consented meter's
/// activation day. `dataconnect serve --workers N` runs the daemon in its
/// own process with this and [`daemon_config`]:
///
/// ```ignore
/// let PgSync { store, source } = open_pg_sync(url, &settings, &settings.client()?, n)?;
/// let config = daemon_config(&settings, WorkerConfig::new(n), Series::ALL.to_vec(), 7, Duration::from_secs(1800), seed);
/// let outcome = dataconnect_sync::run_daemon(store, &source, &config, &progress, shutdown).await;
/// ```
pub fn open_pg_sync(
    url: &str,
    settings: &Settings,
    client_settings: &crate::settings::ClientSettings,
    workers: usize,
) -> Result<PgSync, CliError> {
    let config = dataconnect_store::PgConfig {
        max_connections: u32::try_from(workers + 3).unwrap_or(64),
        ..dataconnect_store::PgConfig::new(url)
    };
    let store = Arc::new(dataconnect_store::PgStore::open(&config)?);
    let quota = QuotaConfig { per_second: client_settings.quota_per_second, per_hour: client_settings.quota_per_hour };
    let shared: Arc<dyn dataconnect::SharedQuota> = Arc::new(store.shared_quota(quota)?);
    let client = crate::source::client_with(client_settings, &settings.db, Some(shared))?;
    let mut source = ClientSource::new(client);
    for c in store.consents()? {
        if let Some(day) = store.meter_info(&c.usage_point_id)?.and_then(|i| i.activation) {
            source.set_activation(&c.usage_point_id, Direction::Consumption, day);
            source.set_activation(&c.usage_point_id, Direction::Production, day);
        }
    }
    Ok(PgSync { store, source })
}

/// The daemon's configuration from the settings: `workers` (whose filter and
/// `until_empty` are reset: a daemon's workers serve every meter's queued
/// windows and wait for work; `sync --daemon --prm` narrows the planning
/// with [`DaemonConfig::only`] instead),
/// the series, the revision days, and the schedule's jitter and seed.
pub fn daemon_config(
    settings: &Settings,
    workers: WorkerConfig,
    series: Vec<Series>,
    revision_days: i32,
    jitter: Duration,
    seed: u64,
) -> DaemonConfig {
    let n = workers.workers;
    DaemonConfig {
        workers: WorkerConfig { until_empty: false, filter: QueueFilter::default(), ..workers },
        schedule: Schedule { jitter_max: jitter, seed, ..Schedule::default() },
        series,
        revision_days,
        today: settings.today,
        ..DaemonConfig::new(n)
    }
}
