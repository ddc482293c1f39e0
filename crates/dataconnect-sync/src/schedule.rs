//! The scheduler of an operator's daily life, and the daemon that runs it.
//!
//! Enedis publishes day D on D+1 after 08:00 Paris. Every day, once that
//! time plus a random delay (the jitter: seeded, so that a restart keeps the
//! same time, and different per installation, so that thousands of
//! installations do not all call at 08:00:00) has passed, the daemon plans
//! the new day of every series into the queue at priority 0; the backfills
//! of new consents, planned as they appear, wait behind at priority 1;
//! claims take every meter's newest window first (see [`queue`](crate::queue)).
//!
//! The rules are pure functions of explicit times ([`Schedule`],
//! [`targets`], [`expiry_warnings`]), unit-tested without a clock;
//! [`run_daemon`] applies them until shutdown. Consents that expire within
//! 30 days are warned about at each new day; meters marked "needs consent"
//! (ADAM-DC-0007/0008) are not planned until a new consent is recorded
//! (which clears the mark).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use dataconnect::domain::{paris_day_start, today_paris};
use dataconnect::{Series, UsagePointId};
use dataconnect_store::{ConsentRecord, SeriesState, Store, WorkQueue};
use jiff::civil::{Date, Time};
use jiff::{SignedDuration, Timestamp};

use crate::inline::{Progress, SeriesTarget, Source};
use crate::plan::PlanConfig;
use crate::queue::{WorkOutcome, WorkerConfig, enqueue, run_workers};

/// When the daily update runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// Paris time at which yesterday's data is published (08:00).
    pub publish_at: Time,
    /// The largest random delay added after `publish_at`.
    pub jitter_max: Duration,
    /// Seeds the jitter (one per installation).
    pub seed: u64,
}

impl Default for Schedule {
    /// 08:00 Paris, up to 30 minutes of jitter, seed 0.
    fn default() -> Self {
        Schedule { publish_at: Time::constant(8, 0, 0, 0), jitter_max: Duration::from_secs(30 * 60), seed: 0 }
    }
}

/// splitmix64: a small, good hash of the seed and the day.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Schedule {
    /// The jitter of the update of `day`: in `[0, jitter_max)`, the same for
    /// a seed and a day.
    pub fn jitter(&self, day: Date) -> Duration {
        let max = self.jitter_max.as_millis() as u64;
        if max == 0 {
            return Duration::ZERO;
        }
        let key =
            self.seed ^ (i64::from(day.year()) * 10_000 + i64::from(day.month()) * 100 + i64::from(day.day())) as u64;
        Duration::from_millis(mix(key) % max)
    }

    /// When the update that fetches the days before `day` may start:
    /// `publish_at` on `day`, Paris time, plus the day's jitter.
    pub fn update_at(&self, day: Date) -> Timestamp {
        let publish = day
            .to_datetime(self.publish_at)
            .to_zoned_datetime(dataconnect::domain::paris())
            .map(|z| z.timestamp())
            .unwrap_or_else(|_| paris_day_start(day));
        publish
            .checked_add(SignedDuration::try_from(self.jitter(day)).unwrap_or(SignedDuration::ZERO))
            .unwrap_or(publish)
    }

    /// The exclusive end of what can be planned at `now`: today in Paris
    /// once today's update time has passed, yesterday before.
    pub fn planning_day(&self, now: Timestamp) -> Date {
        let today = today_paris(now);
        if now >= self.update_at(today) { today } else { today.yesterday().unwrap_or(today) }
    }

    /// The next update time strictly after `now`.
    pub fn next_update(&self, now: Timestamp) -> Timestamp {
        let today = today_paris(now);
        let at = self.update_at(today);
        if at > now { at } else { today.tomorrow().map(|d| self.update_at(d)).unwrap_or(at) }
    }
}

/// A consent that ends soon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpiryWarning {
    /// The meter.
    pub prm: UsagePointId,
    /// The day the consent ends (exclusive).
    pub expiry: Date,
    /// Days from today to the expiry.
    pub days_left: i32,
}

/// Consents still valid on `today` that end within `within_days` days,
/// soonest first. Meters that already need a new consent are left out
/// (they are reported as such).
pub fn expiry_warnings(consents: &[ConsentRecord], today: Date, within_days: i32) -> Vec<ExpiryWarning> {
    let mut out: Vec<ExpiryWarning> = consents
        .iter()
        .filter(|c| !c.needs_consent && c.expiry > today)
        .filter_map(|c| {
            let days_left = (c.expiry - today).get_days();
            (days_left <= within_days).then(|| ExpiryWarning {
                prm: c.usage_point_id.clone(),
                expiry: c.expiry,
                days_left,
            })
        })
        .collect();
    out.sort_by(|a, b| (a.expiry, &a.prm).cmp(&(b.expiry, &b.prm)));
    out
}

/// The series to plan on `today`: every series of every meter whose consent
/// is valid (not expired, not marked "needs consent"), except series an
/// earlier run stopped (ADAM-ERR0069, a curve not collected).
pub fn targets(
    consents: &[ConsentRecord],
    states: &[SeriesState],
    activation: &HashMap<UsagePointId, Date>,
    series: &[Series],
    today: Date,
) -> Vec<SeriesTarget> {
    let stopped: std::collections::HashSet<(&UsagePointId, Series)> =
        states.iter().filter(|s| s.stopped_reason.is_some()).map(|s| (&s.usage_point_id, s.series)).collect();
    consents
        .iter()
        .filter(|c| !c.needs_consent && c.expiry > today)
        .flat_map(|c| {
            series.iter().filter(|s| !stopped.contains(&(&c.usage_point_id, **s))).map(|s| SeriesTarget {
                prm: c.usage_point_id.clone(),
                series: *s,
                activation: activation.get(&c.usage_point_id).copied(),
            })
        })
        .collect()
}

/// How the daemon runs.
#[derive(Clone, Debug)]
pub struct DaemonConfig {
    /// The workers of this process (`until_empty` is ignored: a daemon
    /// waits for new windows).
    pub workers: WorkerConfig,
    /// When the daily update runs.
    pub schedule: Schedule,
    /// The series kept current.
    pub series: Vec<Series>,
    /// Days fetched again with each new day.
    pub revision_days: i32,
    /// A fixed "today" (replays of a past period, tests); `None` follows the
    /// schedule.
    pub today: Option<Date>,
    /// How often new consents are looked for between daily updates.
    pub replan_every: Duration,
    /// Consents ending within this many days are warned about.
    pub expiry_warning_days: i32,
    /// The only meters planned (`sync --daemon --prm …`), at every round;
    /// empty plans every consented meter. The workers still serve the whole
    /// queue, which other processes may fill.
    pub only: Vec<UsagePointId>,
}

impl DaemonConfig {
    /// `workers` workers, all series, the default schedule, a 7-day revision,
    /// new consents looked for every minute, warnings 30 days ahead.
    pub fn new(workers: usize) -> Self {
        DaemonConfig {
            workers: WorkerConfig { until_empty: false, ..WorkerConfig::new(workers) },
            schedule: Schedule::default(),
            series: Series::ALL.to_vec(),
            revision_days: 7,
            today: None,
            replan_every: Duration::from_secs(60),
            expiry_warning_days: 30,
            only: Vec::new(),
        }
    }
}

/// One planning round on `day`: reads consents (of `config.only`'s meters
/// when it is not empty), series states and activations, and queues what is
/// missing. Returns the number of windows queued and the consents that end
/// within `expiry_warning_days`.
pub fn plan_round<S: Store + WorkQueue + ?Sized>(
    store: &S,
    config: &DaemonConfig,
    day: Date,
) -> Result<(u64, Vec<ExpiryWarning>), dataconnect_store::StoreError> {
    let mut consents = store.consents()?;
    if !config.only.is_empty() {
        consents.retain(|c| config.only.contains(&c.usage_point_id));
    }
    let warnings = expiry_warnings(&consents, day, config.expiry_warning_days);
    let states = store.series_states()?;
    let mut activation = HashMap::new();
    for c in consents.iter().filter(|c| !c.needs_consent && c.expiry > day) {
        if let Some(day) = store.meter_info(&c.usage_point_id)?.and_then(|i| i.activation) {
            activation.insert(c.usage_point_id.clone(), day);
        }
    }
    let targets = targets(&consents, &states, &activation, &config.series, day);
    let plan = PlanConfig { today: day, revision_days: config.revision_days.max(0), since: None, until: None };
    Ok((enqueue(store, &targets, &plan)?, warnings))
}

/// Runs the scheduler and the workers until `shutdown` fires: plans at
/// once, then at each daily update time and every `replan_every` (new
/// consents), while the workers drain the queue. On shutdown the workers
/// finish their calls in flight, store them and give back their leases.
/// A store error or a fatal API error (bad credentials) ends it too; the
/// outcome's report says which.
pub async fn run_daemon<S, Src, P>(
    store: Arc<S>,
    source: &Src,
    config: &DaemonConfig,
    progress: &P,
    shutdown: impl Future<Output = ()>,
) -> WorkOutcome
where
    S: Store + WorkQueue + ?Sized + 'static,
    Src: Source + ?Sized,
    P: Progress + ?Sized,
{
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stop_tx = &stop_tx;
    let workers = WorkerConfig { until_empty: false, ..config.workers.clone() };
    let mut worker_stop = stop_rx.clone();
    let work = async {
        let outcome = run_workers(Arc::clone(&store), source, &workers, progress, async move {
            let _ = worker_stop.wait_for(|v| *v).await;
        })
        .await;
        // Workers that stopped on their own (a fatal error) stop the planner.
        let _ = stop_tx.send(true);
        outcome
    };
    let planner = async {
        let mut stop = stop_rx.clone();
        let mut last_day: Option<Date> = None;
        let mut planning_error = None;
        loop {
            let now = Timestamp::now();
            let day = config.today.unwrap_or_else(|| config.schedule.planning_day(now));
            let s = Arc::clone(&store);
            let cfg = config.clone();
            // Planning reads and writes the store: off the async threads.
            match tokio::task::spawn_blocking(move || plan_round(&*s, &cfg, day)).await {
                Ok(Ok((n, warnings))) => {
                    if last_day != Some(day) {
                        for w in warnings {
                            progress.note(&format!(
                                "the consent for meter {} ends on {} ({} days left): ask its customer to renew it",
                                w.prm, w.expiry, w.days_left
                            ));
                        }
                    }
                    if n > 0 {
                        progress.note(&format!("planned {n} window(s) up to {day}"));
                    }
                    last_day = Some(day);
                    planning_error = None;
                }
                Ok(Err(e)) => {
                    progress.note(&format!("planning failed, will try again: {e}"));
                    planning_error = Some(e);
                }
                Err(e) => progress.note(&format!("planning stopped: {e}")),
            }
            let next = config.schedule.next_update(now);
            let until_next = Duration::try_from(next.duration_since(Timestamp::now())).unwrap_or(Duration::ZERO);
            let wait = config.replan_every.min(until_next.max(Duration::from_secs(1)));
            let sleep = tokio::time::sleep(wait);
            let stopped = stop.wait_for(|v| *v);
            futures::pin_mut!(sleep, stopped);
            if let futures::future::Either::Right(_) = futures::future::select(sleep, stopped).await {
                return planning_error;
            }
        }
    };
    let main = futures::future::join(work, planner);
    let watch = async {
        shutdown.await;
        let _ = stop_tx.send(true);
    };
    futures::pin_mut!(main, watch);
    let (mut outcome, planning_error) = match futures::future::select(main, watch).await {
        futures::future::Either::Left((done, _)) => done,
        futures::future::Either::Right(((), main)) => main.await,
    };
    if outcome.report.store_error.is_none() {
        outcome.report.store_error = planning_error;
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use dataconnect::Generation;
    use jiff::civil::date;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn no_jitter() -> Schedule {
        Schedule { jitter_max: Duration::ZERO, ..Schedule::default() }
    }

    fn prm(n: u8) -> UsagePointId {
        UsagePointId::new(&format!("{:014}", 12_345_678_901_200u64 + u64::from(n))).unwrap()
    }

    fn consent(n: u8, expiry: Date, needs_consent: bool) -> ConsentRecord {
        ConsentRecord {
            usage_point_id: prm(n),
            generation: Generation::Dc2026,
            start: date(2024, 1, 1),
            duration: "P3Y".parse().unwrap(),
            expiry,
            state: "s".into(),
            autorisation_id: None,
            needs_consent,
            reason: needs_consent.then(|| "ADAM-DC-0008".to_owned()),
            recorded_at: ts("2024-01-01T00:00:00Z"),
        }
    }

    #[test]
    fn the_update_runs_after_8_paris_in_winter_and_summer() {
        let s = no_jitter();
        assert_eq!(s.update_at(date(2026, 11, 28)), ts("2026-11-28T07:00:00Z"));
        assert_eq!(s.update_at(date(2026, 7, 1)), ts("2026-07-01T06:00:00Z"));
        // Before 08:00 Paris only the day before yesterday is published:
        // ranges end at yesterday (exclusive).
        assert_eq!(s.planning_day(ts("2026-11-28T06:59:59Z")), date(2026, 11, 27));
        assert_eq!(s.planning_day(ts("2026-11-28T07:00:00Z")), date(2026, 11, 28));
        // 00:30 Paris on the 29th: the 28th is not published yet.
        assert_eq!(s.planning_day(ts("2026-11-28T23:30:00Z")), date(2026, 11, 28));
        assert_eq!(s.next_update(ts("2026-11-28T06:00:00Z")), ts("2026-11-28T07:00:00Z"));
        assert_eq!(s.next_update(ts("2026-11-28T07:00:00Z")), ts("2026-11-29T07:00:00Z"));
    }

    #[test]
    fn the_jitter_is_seeded_bounded_and_varies() {
        let s = Schedule { jitter_max: Duration::from_secs(1800), seed: 42, ..Schedule::default() };
        let days: Vec<Date> = (1..=20).map(|d| date(2026, 11, d)).collect();
        let jitters: Vec<Duration> = days.iter().map(|d| s.jitter(*d)).collect();
        assert!(jitters.iter().all(|j| *j < Duration::from_secs(1800)));
        assert_eq!(jitters, days.iter().map(|d| s.jitter(*d)).collect::<Vec<_>>(), "same seed, same jitter");
        assert!(jitters.windows(2).any(|w| w[0] != w[1]), "the jitter changes from day to day");
        let other = Schedule { seed: 43, ..s };
        assert_ne!(
            jitters,
            days.iter().map(|d| other.jitter(*d)).collect::<Vec<_>>(),
            "another installation, other times"
        );
        // The jitter delays the update and the planning day follows it.
        let day = date(2026, 11, 28);
        let at = s.update_at(day);
        assert_eq!(
            at,
            ts("2026-11-28T07:00:00Z").checked_add(SignedDuration::try_from(s.jitter(day)).unwrap()).unwrap()
        );
        assert_eq!(s.planning_day(at.checked_sub(SignedDuration::from_millis(1)).unwrap()), date(2026, 11, 27));
        assert_eq!(s.planning_day(at), day);
    }

    #[test]
    fn consents_ending_within_30_days_are_warned_about_soonest_first() {
        let today = date(2026, 11, 28);
        let consents = vec![
            consent(1, date(2026, 12, 28), false), // 30 days
            consent(2, date(2026, 12, 29), false), // 31 days
            consent(3, date(2026, 12, 8), false),  // 10 days
            consent(4, date(2026, 11, 28), false), // expired today
            consent(5, date(2026, 12, 1), true),   // needs consent already
        ];
        let w = expiry_warnings(&consents, today, 30);
        assert_eq!(
            w,
            vec![
                ExpiryWarning { prm: prm(3), expiry: date(2026, 12, 8), days_left: 10 },
                ExpiryWarning { prm: prm(1), expiry: date(2026, 12, 28), days_left: 30 },
            ]
        );
    }

    #[test]
    fn meters_needing_consent_expired_ones_and_stopped_series_are_not_planned() {
        let today = date(2026, 11, 28);
        let consents = vec![
            consent(1, date(2027, 6, 1), false),
            consent(2, date(2027, 6, 1), true),
            consent(3, date(2026, 11, 1), false),
            consent(4, date(2027, 6, 1), false),
        ];
        let states = vec![SeriesState {
            usage_point_id: prm(4),
            series: Series::ConsumptionCurve,
            last_synced_at: None,
            stopped_reason: Some("ADAM-ERR0075".into()),
        }];
        let activation = HashMap::from([(prm(1), date(2025, 3, 1))]);
        let series = [Series::ConsumptionCurve, Series::ConsumptionDaily];
        let t = targets(&consents, &states, &activation, &series, today);
        let got: Vec<(UsagePointId, Series, Option<Date>)> =
            t.into_iter().map(|t| (t.prm, t.series, t.activation)).collect();
        assert_eq!(
            got,
            vec![
                (prm(1), Series::ConsumptionCurve, Some(date(2025, 3, 1))),
                (prm(1), Series::ConsumptionDaily, Some(date(2025, 3, 1))),
                (prm(4), Series::ConsumptionDaily, None),
            ]
        );
        // A new consent (recorded: the mark is cleared) brings meter 2 back.
        let renewed = vec![consent(2, date(2029, 11, 28), false)];
        assert_eq!(targets(&renewed, &[], &HashMap::new(), &series, today).len(), 2);
    }
}
