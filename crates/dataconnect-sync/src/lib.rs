//! # dataconnect-sync
//!
//! Keeps a [`Store`](dataconnect_store::Store) current with the fewest
//! Data Connect calls, and survives being killed at any moment.
//!
//! Brief overview:
//! - [`plan`] is pure: from the store's coverage records, today's date, the
//!   history depth of each series, the meter's activation and a revision
//!   window, it computes which day ranges are missing and splits them into
//!   the longest windows the API accepts ([`plan::plan_series`]). Nothing is
//!   guessed from the readings themselves: a window that came back empty is
//!   still covered.
//! - [`inline`] runs the planned windows concurrently through a [`Source`]
//!   (the client, behind its quota gate) and writes each answered window with
//!   its coverage in one transaction. Errors are sorted by what to do: clamp
//!   and continue, stop one series, mark a meter as needing consent, give up
//!   on one window, or stop the run.
//! - [`queue`] is the queue-driven executor for many workers in many
//!   processes sharing one PostgreSQL: planning into a shared queue under a
//!   lock, claims with expiring leases, fair across meters.
//! - [`schedule`] is the daily life of an operator (updates after 08:00
//!   Paris with jitter, backfills after, consent expiry warnings) and
//!   [`run_daemon`], which runs it with the workers until shutdown.
//!
//! **Architecture Invariant:** the only state a sync keeps is in the store,
//! and each window's readings and coverage are committed together, so a
//! rerun after `kill -9` plans exactly what the killed run had not finished.

#![warn(missing_docs)]

pub mod capacity;
pub mod inline;
pub mod plan;
pub mod queue;
pub mod schedule;

pub use inline::{
    ErrorAction, FetchError, Progress, QuietProgress, SeriesTarget, Source, SyncConfig, SyncReport, WindowFailure, run,
};
pub use plan::{PlanConfig, SeriesPlan, minimum_calls, missing, plan_series};
pub use queue::{WorkOutcome, WorkerConfig, enqueue, lease_owner, queue_windows, run_workers};
pub use schedule::{DaemonConfig, ExpiryWarning, Schedule, expiry_warnings, run_daemon};
