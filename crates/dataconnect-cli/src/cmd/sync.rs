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

#[cfg(feature = "postgres")]
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use dataconnect::{Direction, Series, UsagePointId};
#[cfg(feature = "postgres")]
use dataconnect_store::QueueFilter;
use dataconnect_store::Store;
#[cfg(feature = "postgres")]
use dataconnect_sync::{DaemonConfig, WorkOutcome, WorkerConfig};
use dataconnect_sync::{PlanConfig, Schedule, SeriesTarget, SyncConfig, SyncReport};
#[cfg(feature = "postgres")]
use jiff::Timestamp;
use jiff::civil::Date;

use crate::error::{Class, CliError};
use crate::progress::Reporter;
use crate::settings::{ClientSettings, GlobalArgs, Settings};
use crate::source::ClientSource;
#[cfg(feature = "postgres")]
use crate::sync_engine::{PgSync, daemon_config, data_calls, open_pg_sync, shutdown_signal};
use crate::sync_engine::{consented_meters, fetch_missing_contracts, run_sync, seed_of, status, sync_lock};

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
    // Publication after each round of the daemon (--mqtt, --influx).
    #[command(flatten)]
    publish: crate::cmd::publish::FollowArgs,
}

/// What to sync, from the flags: the named meters and series (empty: all),
/// the date bounds, and today.
struct Scope {
    only_prms: Vec<UsagePointId>,
    only_series: Vec<Series>,
    since: Option<Date>,
    until: Option<Date>,
    today: Date,
}

impl Scope {
    /// The series to sync: the named ones, or all five.
    fn series(&self) -> Vec<Series> {
        if self.only_series.is_empty() { Series::ALL.to_vec() } else { self.only_series.clone() }
    }
}

impl Cmd {
    pub async fn run(self) -> Result<(), CliError> {
        let settings = Settings::resolve(&self.global)?;
        let scope = self.scope(&settings)?;
        let publish = self.publish.resolve(self.daemon, &settings.db, self.revision_days(&settings))?;
        let client_settings = settings.client()?;
        if let Some(note) = crate::source::gateway_note(&client_settings) {
            eprintln!("{note}");
        }
        if self.daemon && crate::store::postgres_url(&settings.db).is_none() {
            return self.run_sqlite_daemon(&settings, &client_settings, &scope, publish).await;
        }
        #[cfg(feature = "postgres")]
        if let Some(url) = crate::store::postgres_url(&settings.db) {
            let url = url.to_owned();
            return self.run_postgres(&url, &settings, &client_settings, &scope).await;
        }
        self.run_sqlite(&settings, &client_settings, &scope).await
    }

    /// Parses and checks the meters, series and dates of the flags.
    fn scope(&self, settings: &Settings) -> Result<Scope, CliError> {
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
        Ok(Scope { only_prms, only_series, since, until, today })
    }

    /// The revision window: `--revision-days`, else the config file's.
    fn revision_days(&self, settings: &Settings) -> i32 {
        self.revision_days.unwrap_or(settings.revision_days).max(0)
    }

    /// `sync` on SQLite: one run of the in-process executor under the file's
    /// sync lock.
    async fn run_sqlite(
        &self,
        settings: &Settings,
        client_settings: &ClientSettings,
        scope: &Scope,
    ) -> Result<(), CliError> {
        let _lock = sync_lock(&settings.db)?;
        let store = crate::store::open_rw(&settings.db)?;
        let meters = consented_meters(&store, &scope.only_prms, scope.today)?;
        let client = crate::source::client(client_settings, &settings.db)?;
        let reporter = Reporter::new();
        fetch_missing_contracts(&store, &client, &meters, &|l| reporter.line(l)).await?;
        let mut source = ClientSource::new(client);
        let targets = series_targets(&*store, &meters, &scope.series(), self.retry_stopped, &reporter)?;
        for consent in store.consents()? {
            if let Some(id) = consent.autorisation_id.as_deref() {
                source.set_autorisation(&consent.usage_point_id, id);
            }
        }
        for prm in &meters {
            if let Some(day) = store.meter_info(prm)?.and_then(|i| i.activation) {
                source.set_activation(prm, Direction::Consumption, day);
                source.set_activation(prm, Direction::Production, day);
            }
        }
        let plan = PlanConfig {
            today: scope.today,
            revision_days: self.revision_days(settings),
            since: scope.since,
            until: scope.until,
        };
        let config = SyncConfig { plan, concurrency: self.workers.clamp(1, 16) };
        let report = run_sync(&store, &source, &targets, &config, &reporter).await?;
        finish(&report, &source)
    }

    /// `sync --daemon` on SQLite: the rounds of `sync_engine::sqlite_daemon`.
    async fn run_sqlite_daemon(
        &self,
        settings: &Settings,
        client_settings: &ClientSettings,
        scope: &Scope,
        publish: (Option<crate::publish::follow::MqttFollow>, Option<crate::publish::follow::InfluxFollow>),
    ) -> Result<(), CliError> {
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
            daemon_check_prms(&*store, &scope.only_prms, scope.today, &Reporter::new())?;
        }
        crate::sync_engine::sqlite_daemon::SqliteDaemon {
            settings,
            client: client_settings,
            only: &scope.only_prms,
            series: scope.series(),
            revision_days: self.revision_days(settings),
            workers: self.workers,
            schedule: Schedule {
                jitter_max: Duration::from_secs(self.jitter_minutes.saturating_mul(60)),
                seed: self.jitter_seed.unwrap_or_else(|| seed_of(&settings.db.to_string_lossy())),
                ..Schedule::default()
            },
            replan: Duration::from_secs(self.replan_seconds.max(1)),
            publish,
        }
        .run()
        .await
    }
}

#[cfg(feature = "postgres")]
impl Cmd {
    /// `sync` on PostgreSQL: plan into the shared queue, then work it with
    /// `--workers` workers under the shared quota (or run the daemon).
    async fn run_postgres(
        &self,
        url: &str,
        settings: &Settings,
        client_settings: &ClientSettings,
        scope: &Scope,
    ) -> Result<(), CliError> {
        let workers = self.workers.clamp(1, 64);
        let pg = open_pg_sync(url, settings, client_settings, workers)?;
        let reporter = Reporter::new();
        let worker_config = WorkerConfig {
            lease: Duration::from_secs(self.lease_seconds.max(3)),
            filter: QueueFilter { prms: scope.only_prms.clone(), series: scope.only_series.clone() },
            ..WorkerConfig::new(workers)
        };
        let started = Timestamp::now();
        let run = pg.store.begin_sync_run(started)?;
        let calls_before = data_calls(pg.source.client());
        let outcome = if self.daemon {
            self.pg_daemon(url, settings, &pg, scope, worker_config, &reporter).await?
        } else {
            self.pg_once(settings, &pg, scope, worker_config, &reporter).await?
        };
        let calls = data_calls(pg.source.client()).saturating_sub(calls_before);
        let WorkOutcome { mut report, interrupted, released } = outcome;
        report.calls = calls;
        let _ = pg.store.record_calls(started, calls);
        let outcome = crate::sync_engine::run_outcome(&report, calls, interrupted);
        let _ = pg.store.finish_sync_run(run, &outcome);
        print_pg_summary(&report, &pg.source, interrupted, released);
        if interrupted && report.store_error.is_none() && report.stopped_run.is_none() {
            // Stopping on request is a clean end: what is left stays queued.
            return Ok(());
        }
        status(&report, &pg.source)
    }

    /// `sync --daemon` on PostgreSQL: the scheduler with the workers, until
    /// SIGTERM or SIGINT.
    async fn pg_daemon(
        &self,
        url: &str,
        settings: &Settings,
        pg: &PgSync,
        scope: &Scope,
        worker_config: WorkerConfig,
        reporter: &Reporter,
    ) -> Result<WorkOutcome, CliError> {
        // A daemon follows consents as they change, so a named meter whose
        // consent is lost or expired is only a warning (a renewed consent is
        // picked up at the next planning round); a meter with no consent at
        // all is a typo or a forgotten import, and a daemon that would
        // silently never call for it is refused.
        daemon_check_prms(&*pg.store, &scope.only_prms, scope.today, reporter)?;
        let workers = worker_config.workers;
        let daemon = DaemonConfig {
            only: scope.only_prms.clone(),
            replan_every: Duration::from_secs(self.replan_seconds.max(1)),
            ..daemon_config(
                settings,
                worker_config,
                scope.series(),
                self.revision_days(settings),
                Duration::from_secs(self.jitter_minutes.saturating_mul(60)),
                self.jitter_seed.unwrap_or_else(|| seed_of(url)),
            )
        };
        let planned = if scope.only_prms.is_empty() {
            String::new()
        } else {
            format!(", planning {} meter(s) only", scope.only_prms.len())
        };
        reporter.line(&format!(
            "sync daemon: {workers} worker(s) on {}{planned}; stop with SIGTERM or Ctrl-C",
            crate::store::shown(&settings.db)
        ));
        let daemon_run =
            dataconnect_sync::run_daemon(Arc::clone(&pg.store), &pg.source, &daemon, reporter, shutdown_signal());
        // Publication (--mqtt, --influx) beside the daemon, at its replanning pace.
        let (mqtt, influx) = self.publish.resolve(true, &settings.db, self.revision_days(settings))?;
        let followers = crate::publish::follow::Followers::start(mqtt, influx)?;
        let say = |l: &str| reporter.line(l);
        Ok(crate::publish::follow::alongside(daemon_run, Some(followers), &*pg.store, daemon.replan_every, &say).await)
    }

    /// One `sync` on PostgreSQL: plan what is missing into the queue, then
    /// work the queue until it is empty (or SIGTERM or SIGINT).
    async fn pg_once(
        &self,
        settings: &Settings,
        pg: &PgSync,
        scope: &Scope,
        worker_config: WorkerConfig,
        reporter: &Reporter,
    ) -> Result<WorkOutcome, CliError> {
        let meters = consented_meters(&*pg.store, &scope.only_prms, scope.today)?;
        let targets = series_targets(&*pg.store, &meters, &scope.series(), self.retry_stopped, reporter)?;
        let plan = PlanConfig {
            today: scope.today,
            revision_days: self.revision_days(settings),
            since: scope.since,
            until: scope.until,
        };
        let queued = {
            let store = Arc::clone(&pg.store);
            tokio::task::spawn_blocking(move || dataconnect_sync::enqueue(&*store, &targets, &plan))
                .await
                .map_err(|e| CliError::internal(format!("planning stopped: {e}")))??
        };
        reporter.line(&format!(
            "sync: {queued} window(s) queued; {} worker(s) on {}",
            worker_config.workers,
            crate::store::shown(&settings.db)
        ));
        Ok(dataconnect_sync::run_workers(
            Arc::clone(&pg.store),
            &pg.source,
            &worker_config,
            reporter,
            shutdown_signal(),
        )
        .await)
    }
}

/// The one-line summary of a sync on PostgreSQL.
#[cfg(feature = "postgres")]
fn print_pg_summary(report: &SyncReport, source: &ClientSource, interrupted: bool, released: u64) {
    let stats = source.client().stats();
    println!(
        "sync: {} windows stored, {} points, {} data calls, {} throttled (429){}{}{}",
        report.stored,
        report.points,
        report.calls,
        stats.throttled_429,
        // Slots given up because a worker woke up too late for them:
        // a sign of a loaded machine, shown only when it happened.
        if stats.late_slots == 0 {
            String::new()
        } else {
            format!(", {} late quota slot(s) given up", stats.late_slots)
        },
        if report.stopped.is_empty() { String::new() } else { format!(", {} series stopped", report.stopped.len()) },
        if interrupted {
            format!("; stopped by a signal: calls in flight stored, {released} lease(s) released")
        } else {
            String::new()
        },
    );
}

/// The series of `meters` to sync: every one of `series`, except those an
/// earlier run stopped (wrong direction, curve not collected), which are
/// skipped with a line unless `retry_stopped`.
fn series_targets(
    store: &dyn Store,
    meters: &[UsagePointId],
    series: &[Series],
    retry_stopped: bool,
    reporter: &Reporter,
) -> Result<Vec<SeriesTarget>, CliError> {
    let stopped = store.series_states()?;
    let mut targets = Vec::new();
    for prm in meters {
        let activation = store.meter_info(prm)?.and_then(|i| i.activation);
        for s in series {
            let was_stopped = stopped
                .iter()
                .find(|st| st.usage_point_id == *prm && st.series == *s)
                .and_then(|st| st.stopped_reason.clone());
            if let (Some(reason), false) = (was_stopped, retry_stopped) {
                reporter.line(&format!(
                    "{prm} {s}: skipped, stopped by an earlier run ({reason}); pass --retry-stopped to try again"
                ));
                continue;
            }
            targets.push(SeriesTarget { prm: prm.clone(), series: *s, activation });
        }
    }
    Ok(targets)
}

/// `sync --daemon --prm`: every named meter must have a consent recorded;
/// one that is lost or expired is reported and waited for.
fn daemon_check_prms(
    store: &dyn Store,
    only: &[UsagePointId],
    today: jiff::civil::Date,
    reporter: &Reporter,
) -> Result<(), CliError> {
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
fn finish(report: &SyncReport, source: &ClientSource) -> Result<(), CliError> {
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
