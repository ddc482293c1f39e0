//! # dataconnect-store
//!
//! Where the toolkit keeps what it fetched from Data Connect: readings, the
//! day ranges already covered per meter and series, consents, pending
//! consent requests, meter information, sync runs and quota counters.
//!
//! Brief overview:
//! - [`Store`] is the narrow trait every backend implements. It speaks only
//!   domain types (`UsagePointId`, `Series`, `Reading`, `DateRange`) and the
//!   plain records of this crate, never SQL types, so that the PostgreSQL
//!   backend for operators implements it without touching the sync engine
//!   or the CLI.
//! - [`SqliteStore`] is the embedded default: one file, WAL, a `WITHOUT
//!   ROWID` reading table keyed by (usage point, series, interval start),
//!   numbered migrations applied through `PRAGMA user_version`.
//! - `PgStore` (feature `postgres`) is the backend for operators: sqlx with
//!   runtime queries on a private tokio runtime, numbered `.sql` migrations
//!   embedded in the binary, one round trip per window, TimescaleDB
//!   hypertables when the extension is there; `copy_from_sqlite` moves a
//!   file store into it without loss.
//! - [`WorkQueue`] (implemented by `PgStore`) is the queue of planned
//!   windows that workers of several processes claim with expiring leases;
//!   `PgSharedQuota` is the application's quota kept in PostgreSQL, shared
//!   by every process (see `queue` and `postgres::queue`).
//! - [`StoreError`] with its [`StoreErrorKind`] says what went wrong in a
//!   way a CLI can turn into one clear line and an exit code.
//!
//! **Architecture Invariant:** a window's readings and the coverage record
//! of that window are written in one transaction ([`Store::upsert_window`]),
//! so that a process killed at any moment leaves either both or neither, and
//! "what is missing" computed from coverage is never wrong.
//!
//! The trait is synchronous on purpose: SQLite is synchronous, the sync
//! engine calls the store from a blocking thread, and a PostgreSQL backend
//! can implement it over a blocking client (or `block_in_place` over an
//! async pool) without the trait changing.

#![warn(missing_docs)]

mod error;
mod pg_url;
#[cfg(feature = "postgres")]
mod postgres;
mod queue;
mod records;
mod sqlite;

pub use error::{StoreError, StoreErrorKind};
pub use pg_url::{is_postgres_url, redact_url};
#[cfg(feature = "postgres")]
pub use postgres::{
    CopyReport, PgConfig, PgSharedQuota, PgStore, SharedQuotaState, TableCount, TimescaleMode, copy_from_sqlite,
};
pub use queue::{Lease, Planner, PlanningView, QueueCounts, QueueFilter, QueuedWindow, WorkQueue};
pub use records::{
    ConsentRecord, ImportWrite, IndexWindowWrite, MeterInfo, PendingConsent, ReadingFilter, SeriesState, SeriesSummary,
    StoredIndexReading, StoredReading, SyncRun, SyncRunId, SyncRunOutcome, TariffRow, TempoDay, WindowWrite,
};
pub use sqlite::{OpenMode, SqliteConfig, SqliteStore};

use std::sync::Arc;

use dataconnect::{Consent, DateRange, Series, UsagePointId};
use jiff::Timestamp;

/// The result type of every store operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A place to keep Data Connect readings and the bookkeeping that makes a
/// sync incremental and resumable.
///
/// Every method is a short transaction of its own; implementations must be
/// safe to call from several threads (`Send + Sync`) and serialise writes
/// themselves.
pub trait Store: Send + Sync {
    /// Writes `readings` of `series` for `prm` (an idempotent upsert keyed by
    /// interval start) and records `window` as covered, in one transaction.
    ///
    /// `window` is the range that was asked for and answered, even when the
    /// answer held fewer points (gaps, a range clamped to the activation date):
    /// asking again would not give more. Returns the number of readings written.
    fn upsert_window(&self, write: &WindowWrite<'_>) -> Result<u64>;

    /// Writes what one imported file holds, every meter and series of it,
    /// in one transaction: each part's readings through the same idempotent
    /// upsert as [`upsert_window`](Self::upsert_window), and each of its
    /// covered ranges folded into the coverage. A failure leaves nothing of
    /// the file stored. Returns the number of readings written.
    fn upsert_import(&self, parts: &[ImportWrite<'_>]) -> Result<u64>;

    /// Writes the register readings of an index series for `prm` (an
    /// idempotent upsert keyed by calendar, class and day: the
    /// distributor's and the supplier's calendars are both kept) and
    /// records `window` as covered, in one transaction, as
    /// [`upsert_window`](Self::upsert_window) does for readings. Returns
    /// the number of register readings written.
    fn upsert_index_window(&self, write: &IndexWindowWrite<'_>) -> Result<u64>;

    /// Calls `each` for every stored index reading matching `filter`
    /// (`from`/`to` bound the instant of the reading), ordered by meter,
    /// series, calendar, class and day. Returns the number visited.
    fn for_each_index_reading(
        &self,
        filter: &ReadingFilter,
        each: &mut dyn FnMut(&StoredIndexReading) -> std::io::Result<()>,
    ) -> Result<u64>;

    /// The covered day ranges of `prm` and `series`, merged and in order.
    fn coverage(&self, prm: &UsagePointId, series: Series) -> Result<Vec<DateRange>>;

    /// For every meter and series with any coverage, the end (exclusive)
    /// of its newest covered range, in one query (`serve`'s lag per meter
    /// and series, where a [`coverage`](Self::coverage) call each would be
    /// thousands of queries). Ordered by meter and series.
    fn coverage_ends(&self) -> Result<Vec<(UsagePointId, Series, jiff::civil::Date)>>;

    /// Calls `each` for every stored reading matching `filter`, ordered by
    /// meter, series and start, without holding them all in memory.
    /// Stops at the first error `each` returns. Returns the number of readings visited.
    fn for_each_reading(
        &self,
        filter: &ReadingFilter,
        each: &mut dyn FnMut(&StoredReading) -> std::io::Result<()>,
    ) -> Result<u64>;

    /// Per meter and series: points, first and last interval, sum and maximum.
    fn summary(&self, filter: &ReadingFilter) -> Result<Vec<SeriesSummary>>;

    /// Records a consent for every meter it shares (replacing earlier ones
    /// for those meters and clearing their "needs consent" mark).
    fn record_consent(&self, consent: &Consent, recorded_at: Timestamp) -> Result<()>;

    /// Every recorded consent, one per meter, ordered by meter.
    fn consents(&self) -> Result<Vec<ConsentRecord>>;

    /// Marks a meter as needing a new consent (ADAM-DC-0007/0008), with why.
    fn mark_needs_consent(&self, prm: &UsagePointId, reason: &str) -> Result<()>;

    /// Remembers an authorize URL handed out and not yet completed.
    fn add_pending_consent(&self, pending: &PendingConsent) -> Result<()>;

    /// Removes and returns the pending request with this `state`, if any.
    fn take_pending_consent(&self, state: &str) -> Result<Option<PendingConsent>>;

    /// Every pending consent request, oldest first.
    fn pending_consents(&self) -> Result<Vec<PendingConsent>>;

    /// Forgets the pending requests handed out before `created_before`
    /// (expired: their redirect is refused anyway); returns how many.
    fn prune_pending_consents(&self, created_before: Timestamp) -> Result<u64>;

    /// How many pending requests there are, without reading them (a public
    /// server caps them).
    fn count_pending_consents(&self) -> Result<u64>;

    /// Stores what the customer endpoints said about a meter.
    fn put_meter_info(&self, info: &MeterInfo) -> Result<()>;

    /// What the customer endpoints said about a meter, if it was asked.
    fn meter_info(&self, prm: &UsagePointId) -> Result<Option<MeterInfo>>;

    /// Records that a series was synced at `at`, and why it is stopped
    /// (`None` clears an earlier stop).
    fn set_series_state(&self, prm: &UsagePointId, series: Series, at: Timestamp, stopped: Option<&str>) -> Result<()>;

    /// Every known series state, ordered by meter and series.
    fn series_states(&self) -> Result<Vec<SeriesState>>;

    /// Starts a sync run record and returns its id.
    fn begin_sync_run(&self, at: Timestamp) -> Result<SyncRunId>;

    /// Closes a sync run record.
    fn finish_sync_run(&self, id: SyncRunId, outcome: &SyncRunOutcome) -> Result<()>;

    /// The most recent sync runs, newest first.
    fn sync_runs(&self, limit: u32) -> Result<Vec<SyncRun>>;

    /// Adds `calls` data calls to the counter of the UTC hour holding `at`.
    fn record_calls(&self, at: Timestamp, calls: u64) -> Result<()>;

    /// Data calls recorded in the hours that start at or after `since`'s hour.
    fn calls_since(&self, since: Timestamp) -> Result<u64>;

    /// Stores Tempo days (an upsert by day), in one transaction. Returns
    /// the number of days written.
    fn put_tempo_days(&self, days: &[TempoDay]) -> Result<u64>;

    /// Every stored Tempo day, oldest first.
    fn tempo_days(&self) -> Result<Vec<TempoDay>>;

    /// Stores imported price rows (an upsert by option, power and first
    /// day), in one transaction. Returns the number of rows written.
    fn put_tariff_rows(&self, rows: &[TariffRow]) -> Result<u64>;

    /// Every imported price row, by option, power and first day.
    fn tariff_rows(&self) -> Result<Vec<TariffRow>>;
}

/// Implements `Store` for a smart pointer to a store by delegating every
/// method, so that `Arc<dyn Store>` (shared by the sync's workers) and
/// `Box<dyn Store>` (a backend picked at run time, SQLite or PostgreSQL) are
/// stores too. One body for both keeps the two from drifting apart.
macro_rules! delegate_store {
    ($($pointer:ident),*) => {$(
        impl<S: Store + ?Sized> Store for $pointer<S> {
            fn upsert_window(&self, write: &WindowWrite<'_>) -> Result<u64> {
                (**self).upsert_window(write)
            }
            fn upsert_import(&self, parts: &[ImportWrite<'_>]) -> Result<u64> {
                (**self).upsert_import(parts)
            }
            fn upsert_index_window(&self, write: &IndexWindowWrite<'_>) -> Result<u64> {
                (**self).upsert_index_window(write)
            }
            fn for_each_index_reading(
                &self,
                filter: &ReadingFilter,
                each: &mut dyn FnMut(&StoredIndexReading) -> std::io::Result<()>,
            ) -> Result<u64> {
                (**self).for_each_index_reading(filter, each)
            }
            fn coverage(&self, prm: &UsagePointId, series: Series) -> Result<Vec<DateRange>> {
                (**self).coverage(prm, series)
            }
            fn coverage_ends(&self) -> Result<Vec<(UsagePointId, Series, jiff::civil::Date)>> {
                (**self).coverage_ends()
            }
            fn for_each_reading(
                &self,
                filter: &ReadingFilter,
                each: &mut dyn FnMut(&StoredReading) -> std::io::Result<()>,
            ) -> Result<u64> {
                (**self).for_each_reading(filter, each)
            }
            fn summary(&self, filter: &ReadingFilter) -> Result<Vec<SeriesSummary>> {
                (**self).summary(filter)
            }
            fn record_consent(&self, consent: &Consent, recorded_at: Timestamp) -> Result<()> {
                (**self).record_consent(consent, recorded_at)
            }
            fn consents(&self) -> Result<Vec<ConsentRecord>> {
                (**self).consents()
            }
            fn mark_needs_consent(&self, prm: &UsagePointId, reason: &str) -> Result<()> {
                (**self).mark_needs_consent(prm, reason)
            }
            fn add_pending_consent(&self, pending: &PendingConsent) -> Result<()> {
                (**self).add_pending_consent(pending)
            }
            fn take_pending_consent(&self, state: &str) -> Result<Option<PendingConsent>> {
                (**self).take_pending_consent(state)
            }
            fn pending_consents(&self) -> Result<Vec<PendingConsent>> {
                (**self).pending_consents()
            }
            fn prune_pending_consents(&self, created_before: Timestamp) -> Result<u64> {
                (**self).prune_pending_consents(created_before)
            }
            fn count_pending_consents(&self) -> Result<u64> {
                (**self).count_pending_consents()
            }
            fn put_meter_info(&self, info: &MeterInfo) -> Result<()> {
                (**self).put_meter_info(info)
            }
            fn meter_info(&self, prm: &UsagePointId) -> Result<Option<MeterInfo>> {
                (**self).meter_info(prm)
            }
            fn set_series_state(&self, prm: &UsagePointId, series: Series, at: Timestamp, stopped: Option<&str>) -> Result<()> {
                (**self).set_series_state(prm, series, at, stopped)
            }
            fn series_states(&self) -> Result<Vec<SeriesState>> {
                (**self).series_states()
            }
            fn begin_sync_run(&self, at: Timestamp) -> Result<SyncRunId> {
                (**self).begin_sync_run(at)
            }
            fn finish_sync_run(&self, id: SyncRunId, outcome: &SyncRunOutcome) -> Result<()> {
                (**self).finish_sync_run(id, outcome)
            }
            fn sync_runs(&self, limit: u32) -> Result<Vec<SyncRun>> {
                (**self).sync_runs(limit)
            }
            fn record_calls(&self, at: Timestamp, calls: u64) -> Result<()> {
                (**self).record_calls(at, calls)
            }
            fn calls_since(&self, since: Timestamp) -> Result<u64> {
                (**self).calls_since(since)
            }
            fn put_tempo_days(&self, days: &[TempoDay]) -> Result<u64> {
                (**self).put_tempo_days(days)
            }
            fn tempo_days(&self) -> Result<Vec<TempoDay>> {
                (**self).tempo_days()
            }
            fn put_tariff_rows(&self, rows: &[TariffRow]) -> Result<u64> {
                (**self).put_tariff_rows(rows)
            }
            fn tariff_rows(&self) -> Result<Vec<TariffRow>> {
                (**self).tariff_rows()
            }
        }
    )*};
}

delegate_store!(Arc, Box);
