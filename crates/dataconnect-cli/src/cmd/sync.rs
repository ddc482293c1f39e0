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
//! call ([`fetch_missing_contracts`](crate::sync_engine::fetch_missing_contracts)): `costs` takes the off-peak hours
//! from it, the planner the activation day. The PostgreSQL path does not
//! read contracts: several processes would each ask for them (that belongs
//! in the shared queue); `costs` reads a missing one when it needs it.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use dataconnect::{Direction, Series, UsagePointId};
use dataconnect_store::{QueueFilter, Store, SyncRunOutcome};
use dataconnect_sync::{DaemonConfig, PlanConfig, Schedule, SeriesTarget, SyncConfig, SyncReport, WorkOutcome, WorkerConfig};
use jiff::Timestamp;

use crate::error::{Class, CliError};
use crate::progress::Reporter;
use crate::settings::{GlobalArgs, Settings};
use crate::source::ClientSource;
#[cfg(feature = "postgres")]
use crate::sync_engine::{PgSync, daemon_config, open_pg_sync, shutdown_signal};
use crate::sync_engine::{consented_meters, data_calls, fetch_missing_contracts, run_sync, seed_of, status, sync_lock};

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
            return crate::sync_engine::sqlite_daemon::SqliteDaemon {
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
