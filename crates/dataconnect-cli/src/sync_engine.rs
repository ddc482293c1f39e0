//! The sync orchestration that several commands share: `sync`, `demo`,
//! `serve` (its consent worker and its PostgreSQL daemon), `costs` and the
//! hidden `bench` all fetch through the functions here, so that a meter is
//! synced the same way whichever command asks.
//!
//! The engine itself (planning, executors, the daily schedule) is the
//! `dataconnect-sync` crate; this module binds it to the CLI: the settings,
//! the client adapter ([`ClientSource`], in `crate::source`), the exit
//! statuses and the one-line reports. Its parts:
//! - here: [`run_sync`] (one recorded run of the in-process executor),
//!   [`consented_meters`], [`status`] (the exit status of a report),
//!   [`data_calls`], [`seed_of`] and [`shutdown_signal`];
//! - [`contracts`]: reading the contracts a meter lacks
//!   ([`fetch_missing_contracts`]);
//! - [`lock`]: the SQLite database's sync lock ([`try_sync_lock`]);
//! - `postgres`: opening a PostgreSQL store with its shared quota and the
//!   daemon's configuration ([`open_pg_sync`], [`daemon_config`]);
//! - [`sqlite_daemon`]: the `sync --daemon` loop on an SQLite file.

use dataconnect::UsagePointId;
use dataconnect_store::{Store, SyncRunOutcome};
use dataconnect_sync::{SeriesTarget, SyncConfig, SyncReport};
use jiff::Timestamp;

use crate::error::{Class, CliError};
use crate::progress::Reporter;
use crate::source::ClientSource;

pub mod contracts;
pub mod lock;
#[cfg(feature = "postgres")]
mod postgres;
pub mod sqlite_daemon;

pub use contracts::{contract_record, fetch_missing_contracts};
pub use lock::{SyncLock, sync_lock, try_sync_lock};
#[cfg(feature = "postgres")]
pub use postgres::{PgSync, daemon_config, open_pg_sync};

/// A seed for the daemon's jitter that differs between installations but
/// stays the same across restarts: a hash of the database URL or path.
pub fn seed_of(url: &str) -> u64 {
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

/// The consented meters to sync: all of them, or the ones named, each of
/// which must have a consent that is neither lost nor expired.
pub fn consented_meters(
    store: &dyn Store,
    only: &[UsagePointId],
    today: jiff::civil::Date,
) -> Result<Vec<UsagePointId>, CliError> {
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
                    format!(
                        "no consent recorded for meter {prm}: ask its customer with `dataconnect consent`, or check the PRM"
                    ),
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
                    format!(
                        "the consent for meter {prm} expired on {}: ask its customer again with `dataconnect consent`",
                        c.expiry
                    ),
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
    let outcome = run_outcome(&report, calls, false);
    let _ = store.finish_sync_run(run, &outcome);
    let mut report = report;
    report.calls = calls;
    Ok(report)
}

/// What a finished sync run records: `ok` when everything wanted was
/// stored, `partial` when some was, `failed` otherwise, and the first
/// reason it stopped short (a run stopped by a signal says so last).
pub fn run_outcome(report: &SyncReport, calls: u64, interrupted: bool) -> SyncRunOutcome {
    let status = if report.is_complete() {
        "ok"
    } else if report.stored > 0 {
        "partial"
    } else {
        "failed"
    };
    let message = report
        .stopped_run
        .clone()
        .or_else(|| report.failures.first().map(|f| f.message.clone()))
        .or_else(|| report.store_error.as_ref().map(|e| e.to_string()))
        .or_else(|| interrupted.then(|| "stopped by a signal".to_owned()));
    SyncRunOutcome { finished_at: Timestamp::now(), status: status.into(), calls, points: report.points, message }
}

/// HTTP requests the client sent, token requests excluded.
pub fn data_calls(client: &dataconnect::Client) -> u64 {
    let stats = client.stats();
    stats.calls.saturating_sub(stats.token_requests)
}

/// The exit status of a sync: the fatal error, lost consents or failed
/// windows, in that order of gravity.
pub fn status(report: &SyncReport, source: &ClientSource) -> Result<(), CliError> {
    if let Some(e) = &report.store_error {
        return Err(CliError::new(Class::Store, e.to_string()));
    }
    if report.stopped_run.is_some() {
        return Err(source
            .take_fatal()
            .unwrap_or_else(|| CliError::new(Class::Network, report.stopped_run.clone().unwrap_or_default())));
    }
    if let Some((prm, why)) = report.needs_consent.first() {
        return Err(CliError::new(
            Class::Consent,
            format!(
                "meter {prm} needs a new consent ({why}): ask its customer again with `dataconnect consent`; other meters were synced"
            ),
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
