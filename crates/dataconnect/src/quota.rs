//! The quota gate: one per application, shared by every clone of the
//! client and every task, through which every request passes.
//!
//! Data Connect allows 5 calls per second and an hourly cap (10,000 per
//! hour per application in v5, 1,000 per hour **per API** in 2026). The
//! gate keeps, per budget, the send times of the last calls (a sliding
//! window log) and hands out send slots in order: a caller reserves the
//! earliest instant at which one more call keeps every window within its
//! budget, then sleeps until it. Reserving before sleeping makes the gate
//! first come, first served, with no thundering herd when many tasks wait.
//!
//! A sliding window is the strictest reading of "N per second": whatever
//! the server counts (fixed windows, token bucket or sliding window), no
//! one-second span ever holds more than N calls. A small margin is added to
//! each window so that network jitter between our send time and the
//! server's arrival time does not push two calls into one server window.
//!
//! After a 429 the gate is closed for everyone until the time the server
//! named (or one window when it named none).
//!
//! The margin only helps if calls leave when their slot says. A task that
//! wakes up late (a loaded machine: the runtime, the process or the shared
//! budget's database answered late) would send its call closer to the next
//! ones than the schedule allows, and the one-second span that ends with a
//! later on-time call would hold one call too many: a 429. So a slot left
//! more than [`LATE_LIMIT`] late is given up, still counted, and the task
//! reserves a new one (at most [`MAX_LATE_SKIPS`] times in a row, so that
//! a machine that is always late still makes progress). Giving a slot up
//! only ever leaves a span with fewer calls.
//!
//! Several processes (sync workers on several machines) share one
//! application quota. A [`SharedQuota`] set in
//! [`ClientConfig::shared_quota`](crate::ClientConfig::shared_quota) then
//! replaces the local logs: every call reserves its send slot in the shared
//! budget (the store crate keeps it in PostgreSQL, on the database's clock)
//! and a 429 closes that budget for every process. The local budgets are not
//! applied on top, so the quota is not counted twice.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// The budgets of the quota gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaConfig {
    /// Calls per second (Data Connect: 5).
    pub per_second: u32,
    /// Calls per hour (10,000 per application in v5; 1,000 per API in
    /// 2026, where the client applies the budgets to each API separately).
    pub per_hour: u32,
}

impl Default for QuotaConfig {
    /// 5 calls per second and 10,000 per hour.
    fn default() -> Self {
        QuotaConfig { per_second: 5, per_hour: 10_000 }
    }
}

/// The error a [`SharedQuota`] gives when its budget cannot be reached (a
/// database down); the client turns it into a transport error, so that a
/// sync stops rather than calling outside the shared budget.
pub type SharedQuotaError = Box<dyn std::error::Error + Send + Sync>;

/// A boxed future, so that [`SharedQuota`] can be used as a trait object.
pub type QuotaFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, SharedQuotaError>> + Send + 'a>>;

/// A quota budget shared by every process of an application (see the
/// module docs). Implementations hand out send slots in order, one at a
/// time per API, spaced so that no one-second span holds more than the
/// budget, and count calls per hour.
pub trait SharedQuota: Send + Sync {
    /// Reserves the next send slot of `api` and returns how long to wait
    /// from now until it (zero when the slot is now).
    fn reserve<'a>(&'a self, api: &'static str) -> QuotaFuture<'a, Duration>;

    /// [`reserve`](Self::reserve), also saying how long the reservation
    /// queued behind others' (a lock) before its slot was computed. The
    /// gate measures each reservation's round trip to tell an answer that
    /// came back late (its call may then leave late, and the slot is given
    /// up) from one that waited its turn; the default says it never queued.
    fn reserve_timed<'a>(&'a self, api: &'static str) -> QuotaFuture<'a, Reservation> {
        Box::pin(async move { Ok(Reservation { wait: self.reserve(api).await?, queued: Duration::ZERO }) })
    }

    /// Closes the budget of every API, for everyone, until `wait` from now
    /// (after a 429). With `widen` (a per-second 429), the slots are also
    /// spaced a little wider from now on.
    fn close_for<'a>(&'a self, wait: Duration, widen: bool) -> QuotaFuture<'a, ()>;
}

/// A slot reserved in a [`SharedQuota`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reservation {
    /// How long to wait from now until the slot.
    pub wait: Duration,
    /// How long the reservation waited for its turn before the slot was
    /// computed (not a delay of the answer).
    pub queued: Duration,
}

/// The one-second window's margin a shared budget starts with, the step a
/// per-second 429 widens it by and the widest it gets (the same as the
/// local gate's, for implementations of [`SharedQuota`]).
pub const SHARED_SECOND_MARGIN: Duration = SECOND_MARGIN;
/// See [`SHARED_SECOND_MARGIN`].
pub const SHARED_MARGIN_STEP: Duration = MARGIN_STEP;
/// See [`SHARED_SECOND_MARGIN`].
pub const SHARED_MAX_MARGIN: Duration = MAX_SECOND_MARGIN;

/// Margin added to the one-second window at first (see the module docs).
const SECOND_MARGIN: Duration = Duration::from_millis(40);
/// How much each per-second 429 widens that margin, and the widest it gets:
/// a 429 despite the gate means the server saw our calls closer together
/// than we sent them (a loaded machine, a jittery network), so the budget
/// adjusts to leave more room.
const MARGIN_STEP: Duration = Duration::from_millis(40);
const MAX_SECOND_MARGIN: Duration = Duration::from_millis(400);
/// Margin added to the one-hour window.
const HOUR_MARGIN: Duration = Duration::from_secs(2);
/// How late after its slot a call may still leave (see the module docs):
/// half the initial margin, so that a late call and the on-time calls a
/// second after it still fit in one window of the server.
pub(crate) const LATE_LIMIT: Duration = Duration::from_millis(20);
/// Slots given up in a row before a task sends on a late slot anyway.
const MAX_LATE_SKIPS: u32 = 3;

/// What a pass through the gate cost: the time spent waiting for slots
/// and how many slots were given up because the task woke up too late.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Admission {
    pub(crate) waited: Duration,
    pub(crate) late_skips: u32,
}

struct Window {
    len: Duration,
    budget: usize,
    /// Send times (reserved slots, possibly in the future), oldest first.
    log: VecDeque<Instant>,
}

impl Window {
    fn new(len: Duration, budget: u32) -> Self {
        Window { len, budget: budget.max(1) as usize, log: VecDeque::new() }
    }

    /// The earliest instant at which one more call fits.
    fn earliest(&mut self, now: Instant) -> Instant {
        while self.log.front().is_some_and(|t| *t + self.len <= now) {
            self.log.pop_front();
        }
        if self.log.len() < self.budget {
            return now;
        }
        // The call that must leave the window first is the budget-th most
        // recent one.
        let idx = self.log.len() - self.budget;
        self.log.get(idx).map_or(now, |t| *t + self.len)
    }
}

struct Bucket {
    second: Window,
    hour: Window,
}

struct State {
    buckets: HashMap<&'static str, Bucket>,
    closed_until: Option<Instant>,
    second_margin: Duration,
}

/// The gate. See the module docs.
pub(crate) struct Gate {
    config: QuotaConfig,
    state: Mutex<State>,
    /// The budget shared with other processes, which replaces the local one.
    shared: Option<Arc<dyn SharedQuota>>,
    /// The shortest round trip to `shared` seen, in nanoseconds.
    fastest_reserve_ns: AtomicU64,
}

impl Gate {
    pub(crate) fn new(config: QuotaConfig, shared: Option<Arc<dyn SharedQuota>>) -> Self {
        Gate {
            config,
            state: Mutex::new(State { buckets: HashMap::new(), closed_until: None, second_margin: SECOND_MARGIN }),
            shared,
            fastest_reserve_ns: AtomicU64::new(u64::MAX),
        }
    }

    /// Waits for a slot in the budget of `api`, giving up slots it woke up
    /// too late for (see the module docs). Fails only when a shared budget
    /// cannot be reached.
    pub(crate) async fn acquire(&self, api: &'static str) -> Result<Admission, SharedQuotaError> {
        let mut admission = Admission::default();
        loop {
            let late = match &self.shared {
                Some(shared) => {
                    let asked = Instant::now();
                    let Reservation { wait, queued } = shared.reserve_timed(api).await?;
                    let answered = Instant::now();
                    // The shortest round trip seen so far is the constant
                    // part (the network's), which the margin absorbs;
                    // anything above it, less the time the reservation
                    // queued for its turn (before the slot was computed),
                    // may have delayed the answer, and so the send. (A
                    // delay on the way there, not back, is counted too:
                    // then a slot is given up for nothing, which costs one
                    // slot, never a 429.)
                    let rtt = (answered - asked).saturating_sub(queued);
                    let nanos = u64::try_from(rtt.as_nanos()).unwrap_or(u64::MAX);
                    let base = self.fastest_reserve_ns.fetch_min(nanos, Ordering::Relaxed).min(nanos);
                    let due = answered + wait;
                    if !wait.is_zero() {
                        tokio::time::sleep_until(due).await;
                    }
                    admission.waited += wait;
                    Instant::now().saturating_duration_since(due) + rtt.saturating_sub(Duration::from_nanos(base))
                }
                None => {
                    let (waited, due) = self.acquire_local(api).await;
                    admission.waited += waited;
                    Instant::now().saturating_duration_since(due)
                }
            };
            if late <= LATE_LIMIT || admission.late_skips >= MAX_LATE_SKIPS {
                return Ok(admission);
            }
            admission.late_skips += 1;
            tracing::debug!(
                api,
                late_ms = late.as_millis() as u64,
                "woke up too late for the quota slot: reserving another"
            );
        }
    }

    /// Reserves the next local slot of `api` and sleeps until it; returns
    /// the time waited and the slot.
    async fn acquire_local(&self, api: &'static str) -> (Duration, Instant) {
        let now = Instant::now();
        let slot = {
            let mut st = match self.state.lock() {
                Ok(g) => g,
                // A panic while holding the lock cannot leave the logs in a
                // state worse than "a few slots too many", so keep going.
                Err(p) => p.into_inner(),
            };
            let closed = st.closed_until.filter(|c| *c > now);
            let cfg = self.config;
            let second_len = Duration::from_secs(1) + st.second_margin;
            let b = st.buckets.entry(api).or_insert_with(|| Bucket {
                second: Window::new(second_len, cfg.per_second),
                hour: Window::new(Duration::from_secs(3600) + HOUR_MARGIN, cfg.per_hour),
            });
            b.second.len = second_len;
            let slot = b.second.earliest(now).max(b.hour.earliest(now)).max(closed.unwrap_or(now));
            // Reservations are handed out in increasing order, so the logs
            // stay sorted.
            let slot = b.second.log.back().map_or(slot, |l| slot.max(*l));
            b.second.log.push_back(slot);
            b.hour.log.push_back(slot);
            slot
        };
        if slot > now {
            tokio::time::sleep_until(slot).await;
        }
        (slot - now, slot)
    }

    /// Closes the gate for every API until `wait` from now (after a 429).
    /// With `widen`, after a per-second 429, the one-second window also
    /// gets a wider margin from now on.
    pub(crate) async fn close_for(&self, wait: Duration, widen: bool) {
        if let Some(shared) = &self.shared {
            // The caller waits `wait` anyway before its retry reserves a
            // slot; a failure here only loses the warning to the others.
            if let Err(e) = shared.close_for(wait, widen).await {
                tracing::warn!(error = %e, "could not close the shared quota after a 429");
            }
            return;
        }
        let until = Instant::now() + wait;
        let mut st = match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        st.closed_until = Some(st.closed_until.map_or(until, |c| c.max(until)));
        if widen {
            st.second_margin = (st.second_margin + MARGIN_STEP).min(MAX_SECOND_MARGIN);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn never_more_than_the_budget_in_any_second() {
        let gate = std::sync::Arc::new(Gate::new(QuotaConfig { per_second: 5, per_hour: 10_000 }, None));
        let start = Instant::now();
        let mut handles = Vec::new();
        for _ in 0..20 {
            let g = gate.clone();
            handles.push(tokio::spawn(async move {
                g.acquire_local("x").await;
                Instant::now()
            }));
        }
        let mut times = Vec::new();
        for h in handles {
            times.push(h.await.unwrap());
        }
        times.sort();
        for (i, t) in times.iter().enumerate() {
            let in_window = times[i..].iter().take_while(|u| **u < *t + Duration::from_secs(1)).count();
            assert!(in_window <= 5, "{in_window} calls within one second");
        }
        // 20 calls at 5/s: the last batch starts after three windows.
        let last = *times.last().unwrap() - start;
        assert!(last >= Duration::from_secs(3) && last < Duration::from_secs(4), "{last:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn budgets_are_per_api_and_closing_stops_all() {
        let gate = Gate::new(QuotaConfig { per_second: 1, per_hour: 2 }, None);
        assert_eq!(gate.acquire_local("a").await.0, Duration::ZERO);
        assert_eq!(gate.acquire_local("b").await.0, Duration::ZERO);
        assert!(gate.acquire_local("a").await.0 >= Duration::from_secs(1));
        // The hourly budget of "a" is spent: the next call waits an hour.
        assert!(gate.acquire_local("a").await.0 >= Duration::from_secs(3600));
        gate.close_for(Duration::from_secs(10), true).await;
        assert!(gate.acquire_local("c").await.0 >= Duration::from_secs(10));
    }

    /// A shared budget of our own for the test: counts reservations, and
    /// answers the ones listed in `slow` after 100 ms (a loaded database or
    /// network), the others at once, always with "send now".
    struct SlowSometimes {
        asked: std::sync::atomic::AtomicU32,
        slow: &'static [u32],
    }

    impl SharedQuota for SlowSometimes {
        fn reserve<'a>(&'a self, _api: &'static str) -> QuotaFuture<'a, Duration> {
            let n = self.asked.fetch_add(1, Ordering::Relaxed);
            let slow = self.slow.contains(&n);
            Box::pin(async move {
                if slow {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Ok(Duration::ZERO)
            })
        }

        fn close_for<'a>(&'a self, _wait: Duration, _widen: bool) -> QuotaFuture<'a, ()> {
            Box::pin(async { Ok(()) })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_slot_answered_late_is_given_up_and_another_reserved() {
        let shared = Arc::new(SlowSometimes { asked: Default::default(), slow: &[1] });
        let gate = Gate::new(QuotaConfig::default(), Some(shared.clone()));
        // A fast answer sets the round trip the others are measured against.
        assert_eq!(gate.acquire("x").await.unwrap().late_skips, 0);
        // The next answer comes 100 ms late: the call could leave up to
        // 100 ms after its slot, so the slot is given up and a new one taken.
        assert_eq!(gate.acquire("x").await.unwrap().late_skips, 1);
        assert_eq!(shared.asked.load(Ordering::Relaxed), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn an_always_late_budget_still_lets_calls_through() {
        let shared = Arc::new(SlowSometimes { asked: Default::default(), slow: &[1, 2, 3, 4, 5, 6] });
        let gate = Gate::new(QuotaConfig::default(), Some(shared.clone()));
        gate.acquire("x").await.unwrap();
        let a = gate.acquire("x").await.unwrap();
        assert_eq!(a.late_skips, MAX_LATE_SKIPS, "gives up at most {MAX_LATE_SKIPS} slots, then sends");
        assert_eq!(shared.asked.load(Ordering::Relaxed), 2 + MAX_LATE_SKIPS);
    }
}
