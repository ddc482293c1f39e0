//! The first sync of newly consented meters, run inside `dataconnect serve`
//! by `--workers N` tasks that take jobs from one in-memory queue.
//!
//! A customer who has just given consent lands on their meter's page and
//! waits for a chart, so the first sync fetches the last week first (one
//! call per series) and the history after. Every call goes through the
//! server's one client, and so through its one quota gate.
//!
//! [`sync_meters`] is the only place that runs the sync engine here. On a
//! PostgreSQL store, `serve` runs the sync service's scheduler
//! (`run_daemon`, as `sync --daemon` does) instead of these workers; with
//! `--workers 0` nothing is synced in this process. In both cases the
//! queue only records that the meters are left to the scheduler, and the
//! pages say so.
//!
//! The queue lives in memory: on start, consented meters with nothing
//! stored yet are queued again, so a restart between a consent and its
//! first sync loses nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use dataconnect::{Series, UsagePointId};
use dataconnect_sync::{PlanConfig, SeriesTarget, SyncConfig};
use jiff::{Timestamp, ToSpan};
use tokio::sync::mpsc;

use super::{AppState, Inner};
use crate::error::CliError;
use crate::progress::Reporter;
use crate::source::ClientSource;

/// Where a meter's first sync stands.
#[derive(Clone, Debug, PartialEq)]
pub enum JobState {
    /// Waiting for a worker of this process.
    Queued,
    /// Left to the sync service's scheduler: another process's (`--workers
    /// 0`) or, on PostgreSQL, the one this process runs.
    External,
    /// A worker is fetching.
    Running,
    /// Done: readings stored, data calls made, and what stopped.
    Done { at: Timestamp, points: u64, calls: u64, problems: Vec<String> },
    /// Failed; the message says why (the next sync fetches what is missing).
    Failed { at: Timestamp, message: String },
}

impl JobState {
    /// The state's name in the API.
    pub fn name(&self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::External => "external",
            JobState::Running => "running",
            JobState::Done { .. } => "done",
            JobState::Failed { .. } => "failed",
        }
    }
}

/// The first-sync queue and the state of each meter's job.
pub struct Queue {
    tx: mpsc::UnboundedSender<Vec<UsagePointId>>,
    rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Vec<UsagePointId>>>,
    jobs: Mutex<HashMap<UsagePointId, JobState>>,
    workers: std::sync::atomic::AtomicUsize,
    revision_days: i32,
}

impl Queue {
    pub fn new(revision_days: i32) -> Queue {
        let (tx, rx) = mpsc::unbounded_channel();
        Queue {
            tx,
            rx: tokio::sync::Mutex::new(rx),
            jobs: Mutex::new(HashMap::new()),
            workers: 0.into(),
            revision_days,
        }
    }

    fn jobs(&self) -> std::sync::MutexGuard<'_, HashMap<UsagePointId, JobState>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, prms: &[UsagePointId], state: &JobState) {
        let mut jobs = self.jobs();
        for prm in prms {
            jobs.insert(prm.clone(), state.clone());
        }
    }

    /// Queues the first sync of `prms` (or, without workers, notes that a
    /// separate sync process will do it).
    pub fn enqueue(&self, prms: Vec<UsagePointId>) {
        if self.workers.load(std::sync::atomic::Ordering::Relaxed) == 0 {
            self.set(&prms, &JobState::External);
            return;
        }
        self.set(&prms, &JobState::Queued);
        // The receiver lives as long as the queue, so sending cannot fail.
        let _ = self.tx.send(prms);
    }

    /// The state of `prm`'s first sync, if this process has seen one.
    pub fn state(&self, prm: &UsagePointId) -> Option<JobState> {
        self.jobs().get(prm).cloned()
    }

    /// How many jobs are in each state.
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        let jobs = self.jobs();
        ["queued", "external", "running", "done", "failed"]
            .into_iter()
            .map(|name| (name, jobs.values().filter(|j| j.name() == name).count()))
            .collect()
    }
}

/// Starts `workers` tasks, and queues the consented meters that have
/// nothing stored yet (a first sync a restart interrupted).
pub async fn start(state: &AppState, workers: usize) -> Result<(), CliError> {
    state.queue.workers.store(workers, std::sync::atomic::Ordering::Relaxed);
    if workers == 0 {
        return Ok(());
    }
    let today = state.client.today();
    let waiting = state
        .with_store(move |store| {
            let mut waiting = Vec::new();
            for c in store.consents()? {
                if c.needs_consent || c.expiry <= today || waiting.contains(&c.usage_point_id) {
                    continue;
                }
                let mut empty = true;
                for s in Series::ALL {
                    empty &= store.coverage(&c.usage_point_id, s)?.is_empty();
                }
                if empty {
                    waiting.push(c.usage_point_id);
                }
            }
            Ok(waiting)
        })
        .await?;
    for prm in waiting {
        state.queue.enqueue(vec![prm]);
    }
    for _ in 0..workers {
        let state = Arc::clone(state);
        tokio::spawn(async move {
            loop {
                let job = state.queue.rx.lock().await.recv().await;
                let Some(prms) = job else { break };
                state.queue.set(&prms, &JobState::Running);
                let done = match sync_meters(&state, &prms).await {
                    Ok(outcome) => JobState::Done {
                        at: Timestamp::now(),
                        points: outcome.points,
                        calls: outcome.calls,
                        problems: outcome.problems,
                    },
                    Err(e) => JobState::Failed { at: Timestamp::now(), message: e.line() },
                };
                state.queue.set(&prms, &done);
            }
        });
    }
    Ok(())
}

/// What a first sync did.
#[derive(Debug, Default)]
pub struct FirstSync {
    /// Readings stored.
    pub points: u64,
    /// Data calls made.
    pub calls: u64,
    /// Series stopped or meters needing consent, one line each.
    pub problems: Vec<String>,
}

/// Runs the first sync of `prms`: the last week of every series first,
/// then the whole history the API keeps.
///
/// This is the one function that runs the sync engine inside `serve`; the
/// sync service's scheduler replaces it when it runs in-process.
pub async fn sync_meters(state: &Inner, prms: &[UsagePointId]) -> Result<FirstSync, CliError> {
    // The same lock as `dataconnect sync`: while another sync runs on this
    // database (a cron job, another worker of this process), wait for it
    // rather than fetch the same windows twice; it is released when
    // `_lock` is dropped at the end of this first sync.
    let _lock = loop {
        match crate::sync_engine::try_sync_lock(&state.db)? {
            crate::sync_engine::SyncLock::Held(file) => break file,
            crate::sync_engine::SyncLock::Busy => tokio::time::sleep(std::time::Duration::from_secs(1)).await,
        }
    };
    let today = state.client.today();
    let mut targets: Vec<SeriesTarget> = prms
        .iter()
        .flat_map(|prm| {
            state.journey.series.iter().map(move |s| SeriesTarget { prm: prm.clone(), series: *s, activation: None })
        })
        .collect();
    let mut source = ClientSource::new(state.client.clone());
    let reporter = Reporter::new();
    let week_ago = today.checked_sub(7.days()).map_err(|e| CliError::internal(format!("date out of range: {e}")))?;
    let passes = [
        PlanConfig { today, revision_days: state.queue.revision_days, since: Some(week_ago), until: None },
        // The last week was fetched a moment ago: no revision window.
        PlanConfig { today, revision_days: 0, since: None, until: None },
    ];
    let mut outcome = FirstSync::default();
    for (pass, plan) in passes.into_iter().enumerate() {
        if pass == 1 {
            // Between the last week (the customer is waiting for a chart)
            // and the history: the contract, for `costs` and so that the
            // history starts at the meter's activation day.
            crate::sync_engine::fetch_missing_contracts(&**state.store, &state.client, prms, &|l| reporter.line(l))
                .await?;
            for t in &mut targets {
                t.activation = state.store.meter_info(&t.prm)?.and_then(|i| i.activation);
                if let Some(day) = t.activation {
                    source.set_activation(&t.prm, dataconnect::Direction::Consumption, day);
                    source.set_activation(&t.prm, dataconnect::Direction::Production, day);
                }
            }
        }
        let config = SyncConfig { plan, concurrency: 4 };
        let report = crate::sync_engine::run_sync(&**state.store, &source, &targets, &config, &reporter).await?;
        outcome.points += report.points;
        outcome.calls += report.calls;
        // Each message already names the meter and the series.
        for (_, _, why) in &report.stopped {
            if !outcome.problems.contains(why) {
                outcome.problems.push(why.clone());
            }
        }
        crate::sync_engine::status(&report, &source)?;
    }
    Ok(outcome)
}
