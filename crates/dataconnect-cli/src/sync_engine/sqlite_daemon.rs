//! `dataconnect sync --daemon` on an SQLite file: the daemon of a single
//! installation (a home server, a Raspberry Pi), where PostgreSQL's work
//! queue would be out of place.
//!
//! It runs rounds: one at start, one at each day's update time (08:00 Paris
//! plus the installation's jitter, the [`Schedule`] the PostgreSQL daemon
//! uses), and one every `--replan-seconds` (60) in between, which picks up
//! consents recorded meanwhile. A round takes the database's sync lock
//! (while a separate `sync` or `serve` holds it, the round is skipped and
//! tried again at the next one), reads the contracts it lacks, and runs the
//! ordinary sync of every meter whose consent is valid: what is missing,
//! plus the revision window in the first round of each day only, so that
//! the 7 days Enedis corrects are fetched once a day, not every minute.
//! Meters marked "needs consent" are left alone until a new consent is
//! recorded; consents ending within 30 days are warned about once a day.
//!
//! SIGTERM or SIGINT ends it with exit 0: between rounds at once, during a
//! round by dropping the round, which is safe because every window is
//! stored with its coverage in one transaction (a cancelled call stores
//! nothing, and the next start fetches it). Failures of a round (a window
//! that failed after retries, a lost consent) are reported and left to the
//! next round; bad credentials or a store error end the daemon.

use std::collections::HashMap;
use std::time::Duration;

use dataconnect::{Direction, Series, UsagePointId};
use dataconnect_store::Store;
use dataconnect_sync::{PlanConfig, Schedule, SyncConfig};
use jiff::Timestamp;
use jiff::civil::Date;

use super::{SyncLock, fetch_missing_contracts, run_sync, shutdown_signal, try_sync_lock};
use crate::error::{Class, CliError};
use crate::progress::Reporter;
use crate::settings::{ClientSettings, Settings};
use crate::source::ClientSource;

/// How the SQLite daemon runs (from `sync`'s flags).
pub struct SqliteDaemon<'a> {
    pub settings: &'a Settings,
    pub client: &'a ClientSettings,
    pub only: &'a [UsagePointId],
    pub series: Vec<Series>,
    pub revision_days: i32,
    pub workers: usize,
    pub schedule: Schedule,
    pub replan: Duration,
    /// Where to publish after each round (`--mqtt`, `--influx`).
    pub publish: (Option<crate::publish::follow::MqttFollow>, Option<crate::publish::follow::InfluxFollow>),
}

/// What one round did.
#[derive(Default)]
struct Round {
    /// False when another sync held the database.
    ran: bool,
    /// True when the revision window was part of the plan.
    revised: bool,
}

impl SqliteDaemon<'_> {
    pub async fn run(mut self) -> Result<(), CliError> {
        let (mqtt, influx) = (self.publish.0.take(), self.publish.1.take());
        let mut followers = crate::publish::follow::Followers::start(mqtt, influx)?;
        let db = &self.settings.db;
        let store = crate::store::open_rw(db)?;
        let client = crate::source::client(self.client, db)?;
        let reporter = Reporter::new();
        let planned =
            if self.only.is_empty() { String::new() } else { format!(", planning {} meter(s) only", self.only.len()) };
        reporter.line(&format!(
            "sync daemon: {} worker(s) on {}{planned}; stop with SIGTERM or Ctrl-C",
            self.workers,
            crate::store::shown(db)
        ));
        let today = self.settings.today.unwrap_or_else(|| self.schedule.planning_day(Timestamp::now()));
        if !self.consents(&store)?.iter().any(|c| !c.needs_consent && c.expiry > today) {
            // Not an error: `serve` or `dataconnect consent` may record one
            // into this database while the daemon runs.
            reporter.line("sync daemon: no valid consent yet; waiting for one (`dataconnect consent`, or `dataconnect serve`'s journey)");
        }
        let shutdown = shutdown_signal();
        futures::pin_mut!(shutdown);
        let mut revised_on: Option<Date> = None;
        let mut warned_on: Option<Date> = None;
        loop {
            let now = Timestamp::now();
            let day = self.settings.today.unwrap_or_else(|| self.schedule.planning_day(now));
            if warned_on != Some(day) {
                self.warn_expiring(&store, day, &reporter)?;
                warned_on = Some(day);
            }
            let round = self.round(&store, &client, day, revised_on != Some(day), &reporter);
            futures::pin_mut!(round);
            match futures::future::select(round, shutdown.as_mut()).await {
                futures::future::Either::Left((outcome, _)) => {
                    let outcome = outcome?;
                    if outcome.ran && outcome.revised {
                        revised_on = Some(day);
                    }
                    if outcome.ran && !followers.is_empty() {
                        let prms: Vec<UsagePointId> =
                            self.consents(&store)?.into_iter().map(|c| c.usage_point_id).collect();
                        followers.after_round(&store, &prms, outcome.revised, &|l| reporter.line(l)).await;
                    }
                }
                futures::future::Either::Right(((), _)) => {
                    reporter.line("sync daemon: stopped by a signal during a round (what was stored stays; the rest is fetched next time)");
                    return Ok(());
                }
            }
            let next = self.schedule.next_update(Timestamp::now());
            let until_next = Duration::try_from(next.duration_since(Timestamp::now())).unwrap_or(Duration::ZERO);
            let sleep = tokio::time::sleep(self.replan.min(until_next.max(Duration::from_secs(1))));
            futures::pin_mut!(sleep);
            if let futures::future::Either::Right(_) = futures::future::select(sleep, shutdown.as_mut()).await {
                reporter.line("sync daemon: stopped by a signal");
                return Ok(());
            }
        }
    }

    /// Warns of the consents that end within 30 days (once a day).
    fn warn_expiring(&self, store: &dyn Store, day: Date, reporter: &Reporter) -> Result<(), CliError> {
        let consents = self.consents(store)?;
        for w in dataconnect_sync::expiry_warnings(&consents, day, 30) {
            reporter.line(&format!(
                "warning: the consent for meter {} ends on {} ({} days left): ask its customer to renew it",
                w.prm, w.expiry, w.days_left
            ));
        }
        Ok(())
    }

    /// The recorded consents, of the `--prm` meters when some are named.
    fn consents(&self, store: &dyn Store) -> Result<Vec<dataconnect_store::ConsentRecord>, CliError> {
        let mut consents = store.consents()?;
        if !self.only.is_empty() {
            consents.retain(|c| self.only.contains(&c.usage_point_id));
        }
        Ok(consents)
    }

    /// One round on `day` (see the module docs), with the revision window
    /// when `revise`.
    async fn round(
        &self,
        store: &dyn Store,
        client: &dataconnect::Client,
        day: Date,
        revise: bool,
        reporter: &Reporter,
    ) -> Result<Round, CliError> {
        let _lock = match try_sync_lock(&self.settings.db)? {
            SyncLock::Held(file) => file,
            SyncLock::Busy => {
                reporter.line("sync daemon: another sync holds the database; this round waits for the next one");
                return Ok(Round::default());
            }
        };
        let consents = self.consents(store)?;
        let usable: Vec<UsagePointId> =
            consents.iter().filter(|c| !c.needs_consent && c.expiry > day).map(|c| c.usage_point_id.clone()).collect();
        fetch_missing_contracts(store, client, &usable, &|l| reporter.line(l)).await?;
        let mut source = ClientSource::new(client.clone());
        let mut activation = HashMap::new();
        for prm in &usable {
            if let Some(a) = store.meter_info(prm)?.and_then(|i| i.activation) {
                source.set_activation(prm, Direction::Consumption, a);
                source.set_activation(prm, Direction::Production, a);
                activation.insert(prm.clone(), a);
            }
        }
        let states = store.series_states()?;
        let targets = dataconnect_sync::schedule::targets(&consents, &states, &activation, &self.series, day);
        let revision_days = if revise { self.revision_days.max(0) } else { 0 };
        let plan = PlanConfig { today: day, revision_days, since: None, until: None };
        let config = SyncConfig { plan, concurrency: self.workers.clamp(1, 16) };
        let report = run_sync(store, &source, &targets, &config, reporter).await?;
        if report.stored > 0 || !report.failures.is_empty() {
            reporter.line(&format!(
                "round of {day}: {} windows stored, {} points, {} data calls{}",
                report.stored,
                report.points,
                report.calls,
                if revise { ", revision window included" } else { "" }
            ));
        }
        if let Some(e) = &report.store_error {
            return Err(CliError::new(Class::Store, e.to_string()));
        }
        if report.stopped_run.is_some() {
            // Bad credentials and the like: every later round would fail too.
            return Err(source
                .take_fatal()
                .unwrap_or_else(|| CliError::new(Class::Network, report.stopped_run.clone().unwrap_or_default())));
        }
        for (prm, why) in &report.needs_consent {
            reporter
                .line(&format!("warning: meter {prm} needs a new consent ({why}): left alone until one is recorded"));
        }
        if let Some(f) = report.failures.first() {
            reporter.line(&format!(
                "warning: {} window(s) failed after retries (first: {}); the next round asks again",
                report.failures.len(),
                f.message
            ));
        }
        // Failed windows stay uncovered: the next rounds fetch them as missing.
        Ok(Round { ran: true, revised: revise })
    }
}
