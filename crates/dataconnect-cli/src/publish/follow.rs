//! Publishing from a running daemon (`sync --daemon --mqtt URL --influx URL`):
//! after each round, the MQTT states of every consented meter, and to
//! InfluxDB/VictoriaMetrics the readings that are new since the last
//! publication. The SQLite daemon calls [`Followers::after_round`] after
//! each of its rounds; the PostgreSQL daemon and `serve`, which have no
//! rounds to hook into, run [`alongside`], which publishes beside them at a
//! fixed pace.
//!
//! MQTT keeps one connection for the daemon's life, polled by a task of its
//! own: when the broker goes away the task reconnects with a growing delay
//! (1 s doubling to 60 s), and on every (re)connection it sends the latest
//! configs and states again, so a broker that restarted without its retained
//! messages gets them back without waiting for new data. InfluxDB is written
//! per round; a failed write is reported and the same readings are tried
//! again after the next round (writes are idempotent), also with a growing
//! delay. Neither stops the daemon: the store is the source of truth and
//! publication follows it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dataconnect::{DateRange, Series, UsagePointId};
use dataconnect_store::{ReadingFilter, Store};
use jiff::ToSpan;
use jiff::civil::Date;
use rumqttc::{AsyncClient, Event, Packet, QoS};

use super::influx::{self, Writer};
use super::mqtt::{Broker, Message, Topics};
use crate::error::CliError;

/// The longest delay between two reconnection attempts or two failed writes.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// What the daemon publishes to, built from `sync`'s flags.
pub struct Followers {
    mqtt: Option<MqttFollower>,
    influx: Option<InfluxFollower>,
}

/// The MQTT part of a daemon's configuration.
pub struct MqttFollow {
    pub broker: Broker,
    pub topics: Topics,
}

/// The InfluxDB part: where to write, the store to read (opened a second
/// time, read-only, so that reading runs on a thread of its own), and the
/// days Enedis corrects (published again after each round).
pub struct InfluxFollow {
    pub writer: Writer,
    pub db: PathBuf,
    pub revision_days: i32,
}

impl Followers {
    /// Starts the MQTT connection task, if asked.
    pub fn start(mqtt: Option<MqttFollow>, influx: Option<InfluxFollow>) -> Result<Followers, CliError> {
        let mqtt = mqtt.map(MqttFollower::start).transpose()?;
        let influx = influx.map(|f| InfluxFollower {
            follow: f,
            published: HashMap::new(),
            retry_at: None,
            backoff: Duration::ZERO,
            reader: None,
        });
        Ok(Followers { mqtt, influx })
    }

    /// True when nothing is to be published.
    pub fn is_empty(&self) -> bool {
        self.mqtt.is_none() && self.influx.is_none()
    }

    /// Publishes what the store holds now for `prms`, after a round
    /// (`revised`: the round fetched the revision window again, whose
    /// readings are then written again too). Failures are reported through
    /// `say` and retried later, never returned.
    pub async fn after_round(
        &mut self,
        store: &dyn Store,
        prms: &[UsagePointId],
        revised: bool,
        say: &(dyn Fn(&str) + Sync),
    ) {
        if let Some(m) = &self.mqtt {
            match tokio::task::block_in_place(|| super::mqtt_messages(store, prms, &m.topics)) {
                Ok((messages, _, _)) => m.update(messages),
                Err(e) => say(&format!("warning: cannot read the states to publish over MQTT: {}", e.line())),
            }
        }
        if let Some(i) = &mut self.influx {
            i.after_round(store, prms, revised, say).await;
        }
    }
}

/// Runs `daemon` (the PostgreSQL daemon, or `serve`) and
/// publishes beside it every `every`, until it ends: the Paris day's first
/// publication writes the revision window again, since the daemon fetches
/// it again once a day. Without followers, only `daemon` runs.
pub async fn alongside<F: std::future::Future>(
    daemon: F,
    followers: Option<Followers>,
    store: &dyn Store,
    every: Duration,
    say: &(dyn Fn(&str) + Sync),
) -> F::Output {
    let Some(mut followers) = followers.filter(|f| !f.is_empty()) else {
        return daemon.await;
    };
    let publish = async {
        let mut day = None;
        loop {
            tokio::time::sleep(every).await;
            let today = dataconnect::domain::today_paris(jiff::Timestamp::now());
            let revised = day != Some(today);
            day = Some(today);
            // A PostgreSQL store's calls block on its own runtime.
            match tokio::task::block_in_place(|| store.consents()) {
                Ok(consents) => {
                    let prms: Vec<UsagePointId> = consents.into_iter().map(|c| c.usage_point_id).collect();
                    followers.after_round(store, &prms, revised, say).await;
                }
                Err(e) => say(&format!("warning: cannot read the consents to publish: {e}")),
            }
        }
    };
    futures::pin_mut!(daemon);
    futures::pin_mut!(publish);
    match futures::future::select(daemon, publish).await {
        futures::future::Either::Left((out, _)) => out,
        futures::future::Either::Right((never, _)) => never,
    }
}

/// The daemon's MQTT connection.
struct MqttFollower {
    client: AsyncClient,
    topics: Topics,
    latest: Arc<Mutex<Vec<Message>>>,
    connected: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MqttFollower {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MqttFollower {
    fn start(follow: MqttFollow) -> Result<MqttFollower, CliError> {
        let (client, mut events) = AsyncClient::new(follow.broker.options()?, 1024);
        let latest: Arc<Mutex<Vec<Message>>> = Arc::default();
        let connected = Arc::new(AtomicBool::new(false));
        let task = {
            let (client, latest, connected) = (client.clone(), Arc::clone(&latest), Arc::clone(&connected));
            let shown = follow.broker.shown();
            tokio::spawn(async move {
                let mut backoff = Duration::from_secs(1);
                let mut down_since: Option<Instant> = None;
                loop {
                    match events.poll().await {
                        Ok(Event::Incoming(Packet::ConnAck(_))) => {
                            connected.store(true, Ordering::SeqCst);
                            backoff = Duration::from_secs(1);
                            if down_since.take().is_some() {
                                println!("sync daemon: MQTT broker {shown} is back; publishing the sensors again");
                            }
                            let messages = lock(&latest).clone();
                            spawn_publish(&client, messages);
                        }
                        Ok(_) => {}
                        Err(e) => {
                            connected.store(false, Ordering::SeqCst);
                            if down_since.is_none() {
                                down_since = Some(Instant::now());
                                println!("warning: MQTT broker {shown} unreachable ({e}); reconnecting with back-off");
                            }
                            tokio::time::sleep(backoff).await;
                            backoff = (backoff * 2).min(MAX_BACKOFF);
                        }
                    }
                }
            })
        };
        Ok(MqttFollower { client, topics: follow.topics, latest, connected, task })
    }

    /// Keeps `messages` as the latest, and sends them now if connected
    /// and they changed (else the connection task sends them when it
    /// reconnects).
    fn update(&self, messages: Vec<Message>) {
        {
            let mut latest = lock(&self.latest);
            if *latest == messages {
                return;
            }
            *latest = messages.clone();
        }
        if self.connected.load(Ordering::SeqCst) {
            spawn_publish(&self.client, messages);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Queues `messages` on the connection from a task of their own: the
/// request channel is bounded, and the connection task that drains it must
/// not wait on itself.
fn spawn_publish(client: &AsyncClient, messages: Vec<Message>) {
    let client = client.clone();
    tokio::spawn(async move {
        for m in messages {
            if client.publish(m.topic, QoS::AtLeastOnce, true, m.payload).await.is_err() {
                break;
            }
        }
    });
}

/// The daemon's InfluxDB publication: which covered day ranges were
/// already written, per meter and series.
struct InfluxFollower {
    follow: InfluxFollow,
    published: HashMap<(UsagePointId, Series), Vec<DateRange>>,
    retry_at: Option<Instant>,
    backoff: Duration,
    /// The store opened for reading, kept from one round to the next.
    reader: Option<Arc<crate::store::AnyStore>>,
}

impl InfluxFollower {
    async fn after_round(
        &mut self,
        store: &dyn Store,
        prms: &[UsagePointId],
        revised: bool,
        say: &(dyn Fn(&str) + Sync),
    ) {
        if self.retry_at.is_some_and(|t| Instant::now() < t) {
            return;
        }
        // After a failure, the revision window goes again with what failed.
        let revised = revised || self.backoff > Duration::ZERO;
        let wanted = match tokio::task::block_in_place(|| self.wanted(store, prms, revised)) {
            Ok(w) => w,
            Err(e) => {
                return say(&format!("warning: cannot read the coverage to publish to InfluxDB: {}", e.line()));
            }
        };
        let opened = self
            .reader
            .clone()
            .map_or_else(|| tokio::task::block_in_place(|| crate::store::open_ro(&self.follow.db)).map(Arc::new), Ok);
        let reader = match opened {
            Ok(s) => {
                self.reader = Some(Arc::clone(&s));
                s
            }
            Err(e) => {
                return say(&format!("warning: cannot open the store to publish to InfluxDB: {}", e.line()));
            }
        };
        let mut points = 0;
        for (prm, series, from, coverage) in wanted {
            let filter = ReadingFilter {
                usage_points: vec![prm.clone()],
                series: vec![series],
                from: from.map(dataconnect::domain::paris_day_start),
                to: None,
            };
            match influx::publish(Arc::clone(&reader), filter, &self.follow.writer, influx::BATCH_LINES).await {
                Ok(r) => {
                    points += r.points;
                    self.published.insert((prm, series), coverage);
                }
                Err(e) => {
                    self.backoff = (self.backoff * 2).clamp(Duration::from_secs(1), MAX_BACKOFF);
                    self.retry_at = Some(Instant::now() + self.backoff);
                    return say(&format!(
                        "warning: publishing to {} failed: {}; trying again in {} s",
                        self.follow.writer.target().shown(),
                        e.line(),
                        self.backoff.as_secs()
                    ));
                }
            }
        }
        self.retry_at = None;
        self.backoff = Duration::ZERO;
        if points > 0 {
            say(&format!("published {points} point(s) to {}", self.follow.writer.target().shown()));
        }
    }

    /// Per meter and series with something to publish: the first day to
    /// publish (`None`: everything, the first time) and the coverage it
    /// will have published. The revision window's days only when `revised`.
    #[allow(clippy::type_complexity)]
    fn wanted(
        &self,
        store: &dyn Store,
        prms: &[UsagePointId],
        revised: bool,
    ) -> Result<Vec<(UsagePointId, Series, Option<Date>, Vec<DateRange>)>, CliError> {
        let mut out = Vec::new();
        for prm in prms {
            for series in Series::ALL {
                let coverage = store.coverage(prm, series)?;
                let Some(end) = coverage.last().map(DateRange::end) else {
                    continue;
                };
                let from = match self.published.get(&(prm.clone(), series)) {
                    None => None,
                    Some(done) => {
                        let new = first_new_day(&coverage, done);
                        let window = end.checked_sub(self.follow.revision_days.max(1).days()).unwrap_or(end);
                        match (new, revised) {
                            (Some(d), true) => Some(d.min(window)),
                            (Some(d), false) => Some(d),
                            (None, true) => Some(window),
                            (None, false) => continue,
                        }
                    }
                };
                out.push((prm.clone(), series, from, coverage));
            }
        }
        Ok(out)
    }
}

/// The first day of `coverage` that no range of `done` holds.
fn first_new_day(coverage: &[DateRange], done: &[DateRange]) -> Option<Date> {
    coverage.iter().flat_map(|r| r.iter_days()).find(|d| !done.iter().any(|p| p.start() <= *d && *d < p.end()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn new_days_are_those_not_published_yet() {
        let r = |a, b| DateRange::new(a, b).unwrap();
        let done = [r(date(2024, 1, 1), date(2024, 3, 1))];
        assert_eq!(first_new_day(&[r(date(2024, 1, 1), date(2024, 3, 1))], &done), None);
        assert_eq!(first_new_day(&[r(date(2023, 12, 1), date(2024, 3, 1))], &done), Some(date(2023, 12, 1)));
        assert_eq!(first_new_day(&[r(date(2024, 1, 1), date(2024, 3, 3))], &done), Some(date(2024, 3, 1)));
    }
}
