//! How `dataconnect serve` accepts connections: its own accept loop over
//! hyper, because `axum::serve` sets no timeout and no limit, and a public
//! server must survive visitors that connect and say nothing.
//!
//! - Every connection must send a whole request head within
//!   [`Limits::head_timeout`]: a silent socket, a head sent byte by byte
//!   and an idle keep-alive connection (hyper starts the same timer when it
//!   waits for the next request) are all closed after it.
//! - A request body is never waited for: no handler reads one, and hyper
//!   closes a connection whose unread body is still arriving once the
//!   answer is sent.
//! - At most [`Limits::max_connections`] connections are served at once
//!   (never more than the open-file limit leaves room for, with a reserve
//!   for the store and the outgoing calls). When the limit is reached,
//!   the oldest connection is asked to close: at once if it is idle or
//!   still sending its head, after its answer otherwise. A new visitor (a
//!   health check) is therefore served at once instead of waiting behind
//!   idle sockets, and no one can hold the server with more sockets than
//!   it has file descriptors.
//! - Each request carries the peer's address (axum's `ConnectInfo`), which
//!   the consent button uses to cap the pending requests per address.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// The connection limits of the server.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// How long a connection may take to send a request head, counted from
    /// when it opens or finishes its previous answer.
    pub head_timeout: Duration,
    /// The most connections served at once.
    pub max_connections: usize,
    /// How long a connection asked to close (by the limit, or at shutdown)
    /// may take to finish its answer before it is dropped.
    pub grace: Duration,
}

/// File descriptors kept for everything but the visitors' connections: the
/// store (SQLite and its WAL, or the PostgreSQL pool), the calls to Data
/// Connect, standard streams, the listener.
const RESERVED_FDS: usize = 64;

impl Limits {
    /// The limits for at most `wanted` connections, lowered to what the
    /// process's open-file limit allows; the second value says whether it
    /// was lowered.
    pub fn new(wanted: usize, head_timeout: Duration) -> (Limits, bool) {
        let room = open_file_limit().map(|n| n.saturating_sub(RESERVED_FDS).max(8));
        let max_connections = room.map_or(wanted, |room| wanted.min(room)).max(1);
        (Limits { head_timeout, max_connections, grace: Duration::from_secs(30) }, max_connections < wanted)
    }
}

/// The soft limit on open files, read from `/proc/self/limits` (Linux);
/// `None` elsewhere or when unlimited.
fn open_file_limit() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files").split_whitespace().next()?.parse().ok()
}

/// The connections being served, oldest first, each with the signal that
/// asks it to close and whether it was already asked.
#[derive(Default)]
struct Registry {
    next: u64,
    open: BTreeMap<u64, (Arc<Notify>, bool)>,
}

impl Registry {
    /// Registers a new connection; when `max` are already served (not
    /// counting those already asked to close), asks the oldest to close.
    fn admit(&mut self, max: usize) -> (u64, Arc<Notify>) {
        let serving = self.open.values().filter(|(_, asked)| !asked).count();
        if serving >= max
            && let Some((_, (notify, asked))) = self.open.iter_mut().find(|(_, (_, asked))| !*asked)
        {
            *asked = true;
            notify.notify_one();
        }
        let id = self.next;
        self.next += 1;
        let notify = Arc::new(Notify::new());
        self.open.insert(id, (Arc::clone(&notify), false));
        (id, notify)
    }

    /// Asks every connection to close (shutdown).
    fn close_all(&mut self) {
        for (notify, asked) in self.open.values_mut() {
            *asked = true;
            notify.notify_one();
        }
    }
}

fn lock(registry: &Mutex<Registry>) -> std::sync::MutexGuard<'_, Registry> {
    registry.lock().unwrap_or_else(|p| p.into_inner())
}

/// Serves `app` on `listener` with `limits` until `shutdown` completes;
/// then stops accepting, asks every connection to close and waits for
/// them (at most `limits.grace`).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let registry = Arc::new(Mutex::new(Registry::default()));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.head_timeout).keep_alive(true);
    let tasks = running::TaskCount::default();
    tokio::pin!(shutdown);
    let mut accept_errors = 0u64;
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors (or a connection reset before
                    // it was accepted): wait a little, never stop serving.
                    accept_errors += 1;
                    if accept_errors.is_power_of_two() {
                        eprintln!("warning: accepting a connection failed ({e}); {accept_errors} such failures so far");
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let (id, close) = lock(&registry).admit(limits.max_connections);
        let busy = Arc::new(AtomicUsize::new(0));
        let service = connection_service(app.clone(), peer, Arc::clone(&busy));
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let registry = Arc::clone(&registry);
        let guard = tasks.enter();
        tokio::spawn(async move {
            let _guard = guard;
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = close.notified() => {
                    // A connection with no request in hand (silent, sending
                    // its head, idle between requests) is dropped at once,
                    // which closes its socket; one that is answering
                    // finishes its answer first.
                    if busy.load(Ordering::SeqCst) > 0 {
                        connection.as_mut().graceful_shutdown();
                        let _ = tokio::time::timeout(limits.grace, connection).await;
                    }
                }
            }
            lock(&registry).open.remove(&id);
        });
    }
    lock(&registry).close_all();
    let _ = tokio::time::timeout(limits.grace, tasks.idle()).await;
    Ok(())
}

/// The app as a hyper service for one connection: every request carries
/// the peer's address, and `busy` counts the requests in hand, from their
/// head to the last byte of their answer (the guard rides in the body). A
/// Router is always ready, so `call` needs no `poll_ready` first.
fn connection_service(
    app: Router,
    peer: std::net::SocketAddr,
    busy: Arc<AtomicUsize>,
) -> impl hyper::service::HttpService<
    hyper::body::Incoming,
    ResBody = axum::body::Body,
    Error = std::convert::Infallible,
    Future: Send,
> + Send
+ 'static {
    hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let mut router = app.clone();
        let guard = Busy::enter(&busy);
        async move {
            let response = tower::Service::call(&mut router, request.map(axum::body::Body::new)).await?;
            Ok(response.map(|body| {
                use http_body_util::BodyExt as _;
                axum::body::Body::new(body.map_frame(move |frame| {
                    let _ = &guard;
                    frame
                }))
            }))
        }
    })
}

/// One request in hand; dropping it counts the request out.
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn enter(count: &Arc<AtomicUsize>) -> Busy {
        count.fetch_add(1, Ordering::SeqCst);
        Busy(Arc::clone(count))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A count of running connection tasks, to wait for them at shutdown.
mod running {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::sync::Notify;

    #[derive(Default, Clone)]
    pub struct TaskCount(Arc<(AtomicUsize, Notify)>);

    /// Held by a running task; dropping it counts the task out.
    pub struct Guard(Arc<(AtomicUsize, Notify)>);

    impl TaskCount {
        pub fn enter(&self) -> Guard {
            self.0.0.fetch_add(1, Ordering::SeqCst);
            Guard(Arc::clone(&self.0))
        }

        /// Completes once no task runs.
        pub async fn idle(&self) {
            loop {
                let notified = self.0.1.notified();
                if self.0.0.load(Ordering::SeqCst) == 0 {
                    return;
                }
                notified.await;
            }
        }
    }

    impl Drop for Guard {
        fn drop(&mut self) {
            if self.0.0.fetch_sub(1, Ordering::SeqCst) == 1 {
                self.0.1.notify_waiters();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_connection_is_asked_to_close_at_the_limit() {
        let mut registry = Registry::default();
        let (first, _) = registry.admit(2);
        registry.admit(2);
        assert!(registry.open.values().all(|(_, asked)| !asked));
        registry.admit(2);
        assert!(registry.open[&first].1, "the oldest was asked to close");
        assert_eq!(registry.open.values().filter(|(_, asked)| *asked).count(), 1);
        registry.admit(2);
        assert_eq!(registry.open.values().filter(|(_, asked)| *asked).count(), 2, "then the next oldest");
    }

    #[test]
    fn the_limit_leaves_room_under_the_open_file_limit() {
        let (limits, _) = Limits::new(1_000_000, Duration::from_secs(10));
        if let Some(fds) = open_file_limit() {
            assert!(limits.max_connections <= fds.saturating_sub(RESERVED_FDS).max(8));
        }
        assert!(limits.max_connections >= 1);
    }
}
