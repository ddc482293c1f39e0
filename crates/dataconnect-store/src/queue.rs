//! The work queue: planned windows that workers of several processes claim
//! with leases, so that many workers on many machines share one backfill
//! without fetching a window twice.
//!
//! The store only keeps the queue; what to plan is the sync crate's
//! business. [`WorkQueue::plan_and_enqueue`] hands the planner a consistent
//! snapshot of the coverage and of the windows already queued, under a lock
//! that makes two planners run one after the other, and enqueues what the
//! planner returns in the same transaction: two processes planning at once
//! never queue the same days twice.
//!
//! A claim is a lease with an end on the database's clock. A worker that
//! dies keeps its rows until the lease runs out; another worker then takes
//! them over. Completing a window stores it and removes its row in one
//! transaction, so a window is never both stored and still queued.

use std::time::Duration;

use dataconnect::{DateRange, Reading, Series, UsagePointId};

use crate::Result;

/// A window to enqueue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedWindow {
    /// The meter.
    pub prm: UsagePointId,
    /// The series.
    pub series: Series,
    /// The days to fetch.
    pub window: DateRange,
    /// Claimed lower first: 0 for daily updates, 1 for backfills.
    pub priority: i16,
    /// The window's position in its series counted from the newest (0).
    /// Claims go by (priority, seq), which takes every meter's newest window
    /// before anyone's older ones; a series' later windows wait until its
    /// seq 0 window (the probe) is done.
    pub seq: i32,
}

/// A claimed window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The queue row.
    pub id: i64,
    /// The meter.
    pub prm: UsagePointId,
    /// The series.
    pub series: Series,
    /// The days to fetch.
    pub window: DateRange,
    /// Its priority.
    pub priority: i16,
    /// Its position in its series from the newest.
    pub seq: i32,
    /// How many times it was claimed, this claim included (more than one
    /// after a takeover).
    pub claims: i32,
}

/// What [`WorkQueue::plan_and_enqueue`] shows the planner for one meter and
/// series: both lists come from one snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlanningView {
    /// Covered day ranges, in order.
    pub coverage: Vec<DateRange>,
    /// Windows queued (claimed or not), in order.
    pub queued: Vec<DateRange>,
}

/// Which queue rows an operation looks at: empty lists mean all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueFilter {
    /// Only these meters.
    pub prms: Vec<UsagePointId>,
    /// Only these series.
    pub series: Vec<Series>,
}

/// Counts of queue rows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueCounts {
    /// Rows in the queue.
    pub queued: u64,
    /// Rows under a lease that has not run out.
    pub leased: u64,
}

/// The planner [`WorkQueue::plan_and_enqueue`] calls for each meter and series.
pub type Planner<'a> = dyn FnMut(&UsagePointId, Series, &PlanningView) -> Vec<QueuedWindow> + 'a;

/// A queue of planned windows with leases (see the module docs).
pub trait WorkQueue: Send + Sync {
    /// Under the planning lock, shows `plan` the coverage and the queued
    /// windows of each of `targets` (one snapshot), and enqueues what it
    /// returns, all in one transaction. Windows whose (meter, series, first
    /// day) is already queued are skipped. Returns the number enqueued.
    fn plan_and_enqueue(&self, targets: &[(UsagePointId, Series)], plan: &mut Planner<'_>) -> Result<u64>;

    /// Claims up to `n` windows matching `filter` for `owner`, in (priority,
    /// seq) order, skipping rows another worker is claiming at this very
    /// moment and rows whose lease has not run out; a series' later windows
    /// wait while its seq 0 window is queued. Each lease lasts `lease`.
    fn claim(&self, owner: &str, n: u32, lease: Duration, filter: &QueueFilter) -> Result<Vec<Lease>>;

    /// Extends every lease `owner` holds to `lease` from now; returns how many.
    fn renew_leases(&self, owner: &str, lease: Duration) -> Result<u64>;

    /// Stores a claimed window's readings with its coverage and removes it
    /// from the queue, in one transaction. Returns the readings written.
    fn complete(&self, lease: &Lease, readings: &[Reading]) -> Result<u64>;

    /// [`complete`](Self::complete) for a window of an index series: its
    /// register readings and coverage stored and the window removed from
    /// the queue, in one transaction.
    fn complete_index(&self, lease: &Lease, readings: &[dataconnect::IndexReading]) -> Result<u64>;

    /// Removes one window from the queue without storing anything (a window
    /// given up for this run: the next planning finds it missing again).
    fn drop_window(&self, id: i64) -> Result<()>;

    /// Removes every queued window of a meter, or of one of its series.
    fn drop_queued(&self, prm: &UsagePointId, series: Option<Series>) -> Result<u64>;

    /// Gives back every lease `owner` holds (on shutdown), or one of them.
    fn release(&self, owner: &str, id: Option<i64>) -> Result<u64>;

    /// Rows queued and leased, among those matching `filter`.
    fn queue_counts(&self, filter: &QueueFilter) -> Result<QueueCounts>;
}
