//! `dataconnect sync`: for each consented meter and series, fetch what the
//! store lacks (plus the revision window), in the fewest calls the API's
//! window limits allow, inside the quota, one transaction per window.
//!
//! A second run right after the first fetches only the revision window. A
//! run killed at any point (even `kill -9`) and started again finishes with
//! exactly the rows a clean run stores, because coverage is committed with
//! each window's readings.
//!
//! On a PostgreSQL store (`--db postgres://…`) several `sync` processes,
//! on several machines, share the work: the windows are planned into the
//! store's queue and claimed with leases by `--workers` workers per process,
//! and every call waits for the application's quota kept in PostgreSQL (see
//! `dataconnect_sync::work`). `--daemon` keeps running the scheduler (daily
//! updates after 08:00 Paris, backfills of new consents) until SIGTERM or
//! SIGINT, which finish the calls in flight, give back the leases and exit 0.
//! On SQLite, `--workers` is the concurrency of the one process allowed on
//! the file, and a meter's contract is read once, before its first data
//! call ([`fetch_missing_contracts`]): `costs` takes the off-peak hours
//! from it, the planner the activation day. The PostgreSQL path does not
//! read contracts: several processes would each ask for them (that belongs
//! in the shared queue); `costs` reads a missing one when it needs it.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use dataconnect::{Direction, QuotaConfig, Series, UsagePointId};
use dataconnect_store::{QueueFilter, Store, SyncRunOutcome};
use dataconnect_sync::{DaemonConfig, PlanConfig, Schedule, SeriesTarget, SyncConfig, SyncReport, WorkOutcome, WorkerConfig};
use jiff::Timestamp;

use crate::error::{Class, CliError, from_client};

mod daemon;
use crate::progress::Reporter;
use crate::settings::{GlobalArgs, Settings};
use crate::source::ClientSource;

#[derive(Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    global: GlobalArgs,
    /// Only these meters (repeat or separate with commas) [default: every consented meter].
    #[arg(long, value_name = "PRM")]
    prm: Vec<String>,
    /// Only these series (repeat or separate with commas) [default: all five].
    #[arg(long, value_name = "SERIES")]
    series: Vec<String>,
    /// Do not fetch before this Paris day, YYYY-MM-DD.
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Do not fetch from this Paris day on, YYYY-MM-DD (exclusive) [default: today].
    #[arg(long, value_name = "DATE")]
    until: Option<String>,
    /// Days fetched again on every run, because Enedis corrects recent data [default: 7, or revision_days in the config file].
    #[arg(long, value_name = "DAYS")]
    revision_days: Option<i32>,
    /// Also try the series an earlier run stopped (wrong direction, curve not collected).
    #[arg(long)]
    retry_stopped: bool,
    /// Workers of this process: windows in flight at once (the quota paces
    /// them anyway). On PostgreSQL, several processes add up their workers.
    #[arg(long, alias = "concurrency", default_value_t = 4, value_name = "N")]
    workers: usize,
    /// Keep running until SIGTERM or SIGINT: each day after 08:00 Paris
    /// (plus a random delay) fetch the new day, and back-fill new consents
    /// as they are recorded (every consented meter, or the --prm ones;
    /// --series applies; on PostgreSQL, with the shared queue).
    #[arg(long)]
    daemon: bool,
    /// The daemon's largest random delay after 08:00 Paris, in minutes.
    #[arg(long, default_value_t = 30, value_name = "MINUTES")]
    jitter_minutes: u64,
    /// Seeds the daemon's random delay [default: derived from the database].
    #[arg(long, hide = true, value_name = "N")]
    jitter_seed: Option<u64>,
    /// How often the daemon looks for new consents between daily updates.
    #[arg(long, hide = true, default_value_t = 60, value_name = "SECONDS")]
    replan_seconds: u64,
    /// How long a claimed window stays leased without renewal (PostgreSQL);
    /// a crashed process's windows are taken over after this.
    #[arg(long, hide = true, default_value_t = 60, value_name = "SECONDS")]
    lease_seconds: u64,
}

impl Cmd {
    pub async fn run(self) -> Result<(), CliError> {
        let settings = Settings::resolve(&self.global)?;
        let only_prms = crate::store::prms(&self.prm)?;
        let only_series = crate::store::series(&self.series)?;
        let since = crate::store::date("--since", self.since.as_deref())?;
        let until = crate::store::date("--until", self.until.as_deref())?;
        let today = settings.today();
        if let (Some(s), Some(u)) = (since, until) {
            dataconnect::DateRange::new(s, u).map_err(|e| CliError::new(Class::Range, e.to_string()))?;
        }
        if let Some(s) = since.filter(|s| *s >= today) {
            return Err(CliError::new(
                Class::Range,
                format!("--since {s} is not before today ({today} in Paris): the API serves days up to yesterday"),
            ));
        }
        let client_settings = settings.client()?;
        if self.daemon && crate::store::postgres_url(&settings.db).is_none() {
            if !crate::store::exists(&settings.db) {
                return Err(CliError::new(
                    Class::Store,
                    format!(
                        "no database at {}: record a consent first (`dataconnect consent`), then start the daemon",
                        crate::store::shown(&settings.db)
                    ),
                ));
            }
            {
                let store = crate::store::open_ro(&settings.db)?;
                daemon_check_prms(&*store, &only_prms, today, &Reporter::new())?;
            }
            let series = if only_series.is_empty() { Series::ALL.to_vec() } else { only_series.clone() };
            return daemon::SqliteDaemon {
                settings: &settings,
                client: &client_settings,
                only: &only_prms,
                series,
                revision_days: self.revision_days.unwrap_or(settings.revision_days).max(0),
                workers: self.workers,
                schedule: Schedule {
                    jitter_max: Duration::from_secs(self.jitter_minutes.saturating_mul(60)),
                    seed: self.jitter_seed.unwrap_or_else(|| seed_of(&settings.db.to_string_lossy())),
                    ..Schedule::default()
                },
                replan: Duration::from_secs(self.replan_seconds.max(1)),
            }
            .run()
            .await;
        }
        #[cfg(feature = "postgres")]
        if let Some(url) = crate::store::postgres_url(&settings.db) {
            let url = url.to_owned();
            return self.run_postgres(&url, &settings, &client_settings, &only_prms, &only_series, since, until).await;
        }
        let _lock = sync_lock(&settings.db)?;
        let store = crate::store::open_rw(&settings.db)?;
        let meters = consented_meters(&store, &only_prms, today)?;
        let client = crate::source::client(&client_settings, &settings.db)?;
        let reporter = Reporter::new();
        fetch_missing_contracts(&store, &client, &meters, &|l| reporter.line(l)).await?;
        let mut source = ClientSource::new(client);
        let series = if only_series.is_empty() { Series::ALL.to_vec() } else { only_series.clone() };
        let stopped = store.series_states()?;
        for consent in store.consents()? {
            if let Some(id) = consent.autorisation_id.as_deref() {
                source.set_autorisation(&consent.usage_point_id, id);
            }
        }
        let mut targets = Vec::new();
        for prm in &meters {
            let info = store.meter_info(prm)?;
            for s in &series {
                let was_stopped = stopped.iter().find(|st| st.usage_point_id == *prm && st.series == *s).and_then(|st| st.stopped_reason.clone());
                if let (Some(reason), false) = (was_stopped, self.retry_stopped) {
                    reporter.line(&format!("{prm} {s}: skipped, stopped by an earlier run ({reason}); pass --retry-stopped to try again"));
                    continue;
                }
                targets.push(SeriesTarget { prm: prm.clone(), series: *s, activation: info.as_ref().and_then(|i| i.activation) });
            }
            if let Some(day) = info.as_ref().and_then(|i| i.activation) {
                source.set_activation(prm, Direction::Consumption, day);
                source.set_activation(prm, Direction::Production, day);
            }
        }
        let plan = PlanConfig { today, revision_days: self.revision_days.unwrap_or(settings.revision_days).max(0), since, until };
        let config = SyncConfig { plan, concurrency: self.workers.clamp(1, 16) };
        let report = run_sync(&store, &source, &targets, &config, &reporter).await?;
        finish(&report, &source)
    }
}

impl Cmd {
    /// `sync` on PostgreSQL: plan into the shared queue, then work it with
    /// `--workers` workers under the shared quota (or run the daemon).
    #[cfg(feature = "postgres")]
    #[allow(clippy::too_many_arguments)]
    async fn run_postgres(
        &self,
        url: &str,
        settings: &Settings,
        client_settings: &crate::settings::ClientSettings,
        only_prms: &[UsagePointId],
        only_series: &[Series],
        since: Option<jiff::civil::Date>,
        until: Option<jiff::civil::Date>,
    ) -> Result<(), CliError> {
        let workers = self.workers.clamp(1, 64);
        let PgSync { store, source } = open_pg_sync(url, settings, client_settings, workers)?;
        let reporter = Reporter::new();
        let today = settings.today();
        let series = if only_series.is_empty() { Series::ALL.to_vec() } else { only_series.to_vec() };
        let revision_days = self.revision_days.unwrap_or(settings.revision_days).max(0);
        let worker_config = WorkerConfig {
            lease: Duration::from_secs(self.lease_seconds.max(3)),
            filter: QueueFilter { prms: only_prms.to_vec(), series: only_series.to_vec() },
            ..WorkerConfig::new(workers)
        };
        let started = Timestamp::now();
        let run = store.begin_sync_run(started)?;
        let calls_before = data_calls(source.client());
        let outcome = if self.daemon {
            // A daemon follows consents as they change, so a named meter
            // whose consent is lost or expired is only a warning (a renewed
            // consent is picked up at the next planning round); a meter with
            // no consent at all is a typo or a forgotten import, and a
            // daemon that would silently never call for it is refused.
            daemon_check_prms(&*store, only_prms, today, &reporter)?;
            let daemon = DaemonConfig {
                only: only_prms.to_vec(),
                replan_every: Duration::from_secs(self.replan_seconds.max(1)),
                ..daemon_config(
                    settings,
                    worker_config,
                    series,
                    revision_days,
                    Duration::from_secs(self.jitter_minutes.saturating_mul(60)),
                    self.jitter_seed.unwrap_or_else(|| seed_of(url)),
                )
            };
            let planned = if only_prms.is_empty() { String::new() } else { format!(", planning {} meter(s) only", only_prms.len()) };
            reporter.line(&format!(
                "sync daemon: {workers} worker(s) on {}{planned}; stop with SIGTERM or Ctrl-C",
                crate::store::shown(&settings.db)
            ));
            dataconnect_sync::run_daemon(Arc::clone(&store), &source, &daemon, &reporter, shutdown_signal()).await
        } else {
            let meters = consented_meters(&*store, only_prms, today)?;
            let stopped = store.series_states()?;
            let mut targets = Vec::new();
            for prm in &meters {
                let activation = store.meter_info(prm)?.and_then(|i| i.activation);
                for s in &series {
                    let was_stopped = stopped
                        .iter()
                        .find(|st| st.usage_point_id == *prm && st.series == *s)
                        .and_then(|st| st.stopped_reason.clone());
                    if let (Some(reason), false) = (was_stopped, self.retry_stopped) {
                        reporter.line(&format!("{prm} {s}: skipped, stopped by an earlier run ({reason}); pass --retry-stopped to try again"));
                        continue;
                    }
                    targets.push(SeriesTarget { prm: prm.clone(), series: *s, activation });
                }
            }
            let plan = PlanConfig { today, revision_days, since, until };
            let queued = {
                let store = Arc::clone(&store);
                tokio::task::spawn_blocking(move || dataconnect_sync::enqueue(&*store, &targets, &plan))
                    .await
                    .map_err(|e| CliError::internal(format!("planning stopped: {e}")))??
            };
            reporter.line(&format!("sync: {queued} window(s) queued; {workers} worker(s) on {}", crate::store::shown(&settings.db)));
            dataconnect_sync::run_workers(Arc::clone(&store), &source, &worker_config, &reporter, shutdown_signal()).await
        };
        let calls = data_calls(source.client()).saturating_sub(calls_before);
        let WorkOutcome { mut report, interrupted, released } = outcome;
        report.calls = calls;
        let _ = store.record_calls(started, calls);
        let run_status = if report.is_complete() { "ok" } else if report.stored > 0 { "partial" } else { "failed" };
        let message = report
            .stopped_run
            .clone()
            .or_else(|| report.failures.first().map(|f| f.message.clone()))
            .or_else(|| report.store_error.as_ref().map(|e| e.to_string()))
            .or_else(|| interrupted.then(|| "stopped by a signal".to_owned()));
        let outcome = SyncRunOutcome { finished_at: Timestamp::now(), status: run_status.into(), calls, points: report.points, message };
        let _ = store.finish_sync_run(run, &outcome);
        let stats = source.client().stats();
        println!(
            "sync: {} windows stored, {} points, {} data calls, {} throttled (429){}{}{}",
            report.stored,
            report.points,
            report.calls,
            stats.throttled_429,
            // Slots given up because a worker woke up too late for them:
            // a sign of a loaded machine, shown only when it happened.
            if stats.late_slots == 0 { String::new() } else { format!(", {} late quota slot(s) given up", stats.late_slots) },
            if report.stopped.is_empty() { String::new() } else { format!(", {} series stopped", report.stopped.len()) },
            if interrupted { format!("; stopped by a signal: calls in flight stored, {released} lease(s) released") } else { String::new() },
        );
        if interrupted && report.store_error.is_none() && report.stopped_run.is_none() {
            // Stopping on request is a clean end: what is left stays queued.
            return Ok(());
        }
        status(&report, &source)
    }
}

/// What a sync on PostgreSQL works with: the store (queue, shared quota)
/// and the client source built on its shared quota.
#[cfg(feature = "postgres")]
pub(crate) struct PgSync {
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
#[cfg(feature = "postgres")]
pub(crate) fn open_pg_sync(
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
#[cfg(feature = "postgres")]
pub(crate) fn daemon_config(
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

/// A seed for the daemon's jitter that differs between installations but
/// stays the same across restarts: a hash of the database URL or path.
pub(crate) fn seed_of(url: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    url.hash(&mut h);
    h.finish()
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Takes the database's sync lock, an exclusive lock on `<db>.sync.lock`
/// held until the process ends (the OS releases it on a crash or SIGKILL
/// too). Without it, two syncs on one database both plan the same missing
/// windows and fetch each of them twice, spending the quota twice. A
/// PostgreSQL store is left to its own locking (the work queue's leases).
fn sync_lock(db: &std::path::Path) -> Result<Option<std::fs::File>, CliError> {
    match try_sync_lock(db)? {
        SyncLock::Held(file) => Ok(file),
        SyncLock::Busy => Err(CliError::new(
            Class::Store,
            format!("another sync is running on {}: nothing was fetched; run this one again when it has finished", crate::store::shown(db)),
        )),
    }
}

/// The answer of [`try_sync_lock`].
pub(crate) enum SyncLock {
    /// The lock is ours while the file lives (`None` for PostgreSQL, which
    /// needs none).
    Held(Option<std::fs::File>),
    /// Another sync (another process, or another task of this one) holds it.
    Busy,
}

/// Tries to take the database's sync lock without waiting; `dataconnect
/// serve` waits and tries again, `sync` stops with one line.
pub(crate) fn try_sync_lock(db: &std::path::Path) -> Result<SyncLock, CliError> {
    let text = db.to_string_lossy();
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        return Ok(SyncLock::Held(None));
    }
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".sync.lock");
    let path = db.with_file_name(name);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        let _ = std::fs::create_dir_all(dir);
    }
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(|e| {
        CliError::new(Class::Store, format!("cannot open the sync lock {}: {e}: check the database directory", path.display()))
    })?;
    match file.try_lock() {
        Ok(()) => Ok(SyncLock::Held(Some(file))),
        Err(std::fs::TryLockError::WouldBlock) => Ok(SyncLock::Busy),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(CliError::new(Class::Store, format!("cannot lock {}: {e}: check the database directory", path.display())))
        }
    }
}

/// `sync --daemon --prm`: every named meter must have a consent recorded;
/// one that is lost or expired is reported and waited for.
fn daemon_check_prms(store: &dyn Store, only: &[UsagePointId], today: jiff::civil::Date, reporter: &Reporter) -> Result<(), CliError> {
    if only.is_empty() {
        return Ok(());
    }
    let consents = store.consents()?;
    for prm in only {
        match consents.iter().find(|c| c.usage_point_id == *prm) {
            None => {
                return Err(CliError::new(
                    Class::Consent,
                    format!(
                        "no consent recorded for meter {prm}: the daemon would never call for it; record it first (`dataconnect consent`, or `dataconnect consent import`), or check the PRM"
                    ),
                ));
            }
            Some(c) if c.needs_consent => reporter.line(&format!(
                "warning: meter {prm} needs a new consent ({}): the daemon leaves it alone until one is recorded",
                c.reason.as_deref().unwrap_or("the API refused it")
            )),
            Some(c) if c.expiry <= today => reporter.line(&format!(
                "warning: the consent for meter {prm} expired on {}: the daemon leaves it alone until a new one is recorded",
                c.expiry
            )),
            Some(_) => {}
        }
    }
    Ok(())
}

/// Reads and stores the contract of each of `meters` that has none stored
/// yet, once per meter: `costs` takes its off-peak hours from it and the
/// planner its activation day (no call for days before it). A contract the
/// API refuses for good is recorded as missing, so that it is not asked
/// again at every run; one refused for a while (network, 5xx after the
/// client's retries, quota) is asked again next run; a lost consent is left
/// to the data calls, which mark the meter. None of these stops the sync.
/// `note` gets the warnings and the summary line. Returns how many
/// contracts were stored.
pub async fn fetch_missing_contracts(
    store: &dyn Store,
    client: &dataconnect::Client,
    meters: &[UsagePointId],
    note: &(dyn Fn(&str) + Sync),
) -> Result<usize, CliError> {
    let mut stored = 0;
    for prm in meters {
        if store.meter_info(prm)?.is_some() {
            continue;
        }
        match client.contract(prm).send().await {
            Ok(contract) => {
                let (json, activation) = contract_record(&contract);
                store.put_meter_info(&dataconnect_store::MeterInfo {
                    usage_point_id: prm.clone(),
                    contract_json: Some(json),
                    address_json: None,
                    activation,
                    updated_at: Timestamp::now(),
                })?;
                stored += 1;
            }
            Err(e) if e.needs_consent() => {}
            Err(e) if e.is_retryable() => {
                note(&format!("warning: meter {prm}: contract not read this time ({}); the next sync asks again", from_client(&e).line()));
            }
            Err(e) => {
                note(&format!(
                    "warning: meter {prm}: the API gives no contract ({}); syncing without it (`costs` then needs --offpeak)",
                    from_client(&e).line()
                ));
                store.put_meter_info(&dataconnect_store::MeterInfo {
                    usage_point_id: prm.clone(),
                    contract_json: None,
                    address_json: None,
                    activation: None,
                    updated_at: Timestamp::now(),
                })?;
            }
        }
    }
    if stored > 0 {
        note(&format!("contracts: read and stored for {stored} meter(s)"));
    }
    Ok(stored)
}

/// What the store keeps of a contract (JSON text, read back by `costs`),
/// and the meter's activation day (consumption's, else production's).
pub fn contract_record(contract: &dataconnect::Contract) -> (String, Option<jiff::civil::Date>) {
    let json = serde_json::json!({
        "segment": contract.segment,
        "subscribed_power_kva": contract.subscribed_power_kva,
        "activation_date": contract.activation_date.map(|d| d.to_string()),
        "production_activation_date": contract.production_activation_date.map(|d| d.to_string()),
        "tariff": contract.tariff,
        "offpeak_hours": contract.offpeak_hours_raw,
        "contract_type": contract.contract_type,
        "meter_type": contract.meter_type,
        "status": contract.status,
    });
    (json.to_string(), contract.activation_date.or(contract.production_activation_date))
}

/// The consented meters to sync: all of them, or the ones named, each of
/// which must have a consent that is neither lost nor expired.
pub fn consented_meters(store: &dyn Store, only: &[UsagePointId], today: jiff::civil::Date) -> Result<Vec<UsagePointId>, CliError> {
    let consents = store.consents()?;
    let usable = |c: &&dataconnect_store::ConsentRecord| !c.needs_consent && c.expiry > today;
    if only.is_empty() {
        let meters: Vec<UsagePointId> = consents.iter().filter(usable).map(|c| c.usage_point_id.clone()).collect();
        if meters.is_empty() {
            return Err(CliError::new(
                Class::Consent,
                "no consented meter in the database: run `dataconnect consent` and complete it (or `dataconnect consent complete --url …`) first",
            ));
        }
        return Ok(meters);
    }
    for prm in only {
        match consents.iter().find(|c| c.usage_point_id == *prm) {
            None => {
                return Err(CliError::new(
                    Class::Consent,
                    format!("no consent recorded for meter {prm}: ask its customer with `dataconnect consent`, or check the PRM"),
                ));
            }
            Some(c) if c.needs_consent => {
                return Err(CliError::new(
                    Class::Consent,
                    format!(
                        "meter {prm} needs a new consent ({}): ask its customer again with `dataconnect consent`",
                        c.reason.as_deref().unwrap_or("the API refused it")
                    ),
                ));
            }
            Some(c) if c.expiry <= today => {
                return Err(CliError::new(
                    Class::Consent,
                    format!("the consent for meter {prm} expired on {}: ask its customer again with `dataconnect consent`", c.expiry),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(only.to_vec())
}

/// Runs the sync engine, recording the run and the calls it made.
pub async fn run_sync(
    store: &dyn Store,
    source: &ClientSource,
    targets: &[SeriesTarget],
    config: &SyncConfig,
    reporter: &Reporter,
) -> Result<SyncReport, CliError> {
    let started = Timestamp::now();
    let run = store.begin_sync_run(started)?;
    let calls_before = data_calls(source.client());
    let report = dataconnect_sync::run(store, source, targets, config, reporter).await;
    let calls = data_calls(source.client()).saturating_sub(calls_before);
    // Bookkeeping failures must not hide the sync's own outcome.
    let _ = store.record_calls(started, calls);
    let status = if report.is_complete() { "ok" } else if report.stored > 0 { "partial" } else { "failed" };
    let message = report
        .stopped_run
        .clone()
        .or_else(|| report.failures.first().map(|f| f.message.clone()))
        .or_else(|| report.store_error.as_ref().map(|e| e.to_string()));
    let outcome = SyncRunOutcome { finished_at: Timestamp::now(), status: status.into(), calls, points: report.points, message };
    let _ = store.finish_sync_run(run, &outcome);
    let mut report = report;
    report.calls = calls;
    Ok(report)
}

/// HTTP requests the client sent, token requests excluded.
pub fn data_calls(client: &dataconnect::Client) -> u64 {
    let stats = client.stats();
    stats.calls.saturating_sub(stats.token_requests)
}

/// Prints the outcome and picks the exit status.
pub fn finish(report: &SyncReport, source: &ClientSource) -> Result<(), CliError> {
    println!(
        "sync: {} windows stored, {} points, {} data calls{}",
        report.stored,
        report.points,
        report.calls,
        if report.stopped.is_empty() { String::new() } else { format!(", {} series stopped", report.stopped.len()) }
    );
    for (_, _, why) in &report.stopped {
        println!("stopped {why}");
    }
    status(report, source)
}

/// The exit status of a sync: the fatal error, lost consents or failed
/// windows, in that order of gravity.
pub fn status(report: &SyncReport, source: &ClientSource) -> Result<(), CliError> {
    if let Some(e) = &report.store_error {
        return Err(CliError::new(Class::Store, e.to_string()));
    }
    if report.stopped_run.is_some() {
        return Err(source.take_fatal().unwrap_or_else(|| {
            CliError::new(Class::Network, report.stopped_run.clone().unwrap_or_default())
        }));
    }
    if let Some((prm, why)) = report.needs_consent.first() {
        return Err(CliError::new(
            Class::Consent,
            format!("meter {prm} needs a new consent ({why}): ask its customer again with `dataconnect consent`; other meters were synced"),
        ));
    }
    if let Some((_, why)) = report.stopped_everywhere.first() {
        return Err(CliError::new(Class::Api, why.clone()));
    }
    if let Some(f) = report.failures.first() {
        return Err(CliError::new(
            Class::Partial,
            format!(
                "{} window(s) failed after retries (first: {}): run `dataconnect sync` again to fetch only what is missing",
                report.failures.len(),
                f.message
            ),
        ));
    }
    Ok(())
}
