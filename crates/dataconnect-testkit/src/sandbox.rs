//! A sandbox served on 127.0.0.1 port 0 for the length of a test.
//!
//! It runs on a thread and a runtime of its own, so that the same harness
//! serves synchronous tests (which run the `dataconnect` binary) and async
//! tests on any runtime flavour, and a test that blocks its own thread
//! (waiting for a child process, say) never stalls the server.

use std::net::SocketAddr;
use std::time::Duration;

use dataconnect_sandbox::{Sandbox, SandboxConfig};

/// A sandbox serving on a free port of 127.0.0.1 until dropped; dropping it
/// stops the server and waits (at most [`STOP_WAIT`]) for the requests in
/// flight to be answered, so that its request log is complete once the
/// value is gone.
pub struct Served {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    stopped: std::sync::mpsc::Receiver<()>,
}

/// How long dropping a [`Served`] waits for the server to stop. A request
/// still in flight whose client is the very thread that drops the server
/// (an async test on a current-thread runtime) could otherwise wait for
/// ever; the server's thread then ends on its own.
pub const STOP_WAIT: Duration = Duration::from_secs(10);

impl Served {
    /// Starts a sandbox with `config`.
    ///
    /// # Panics
    ///
    /// When the configuration is refused, no port can be bound or the
    /// runtime cannot start: the test cannot run then.
    pub fn start(config: SandboxConfig) -> Served {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel::<Result<SocketAddr, String>>();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (stopped_tx, stopped) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = addr_tx.send(Err(format!("cannot start the sandbox's runtime: {e}")));
                    return;
                }
            };
            // The sandbox is built inside its runtime, which its state may
            // need (timers, tasks).
            rt.block_on(async move {
                let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                    Ok(l) => l,
                    Err(e) => return drop(addr_tx.send(Err(format!("cannot bind 127.0.0.1:0 for the sandbox: {e}")))),
                };
                let sandbox = match (listener.local_addr(), Sandbox::new(config)) {
                    (Ok(addr), Ok(sandbox)) => {
                        let _ = addr_tx.send(Ok(addr));
                        sandbox
                    }
                    (Err(e), _) => return drop(addr_tx.send(Err(format!("the sandbox's address: {e}")))),
                    (_, Err(e)) => {
                        return drop(addr_tx.send(Err(format!("the sandbox refused its configuration: {e}"))));
                    }
                };
                let _ = dataconnect_sandbox::serve(listener, sandbox, async move {
                    let _ = stop_rx.await;
                })
                .await;
            });
            let _ = stopped_tx.send(());
        });
        let addr = match addr_rx.recv() {
            Ok(Ok(addr)) => addr,
            Ok(Err(e)) => panic!("{e}"),
            Err(_) => panic!("the sandbox's thread stopped before listening"),
        };
        Served { addr, base: format!("http://{addr}"), stop: Some(stop), stopped }
    }

    /// The absolute URL of `path_and_query` (which starts with `/`).
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = self.stopped.recv_timeout(STOP_WAIT);
    }
}
