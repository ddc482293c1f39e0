//! `dataconnect consent`: asks a customer for consent and records it.
//!
//! Without a subcommand it prints the authorize URL for the configured
//! generation on a line of its own and remembers the pending request (its
//! random `state`) in the store. With `--listen`, when the redirect URI
//! points at this machine, it also receives the redirect itself (one
//! request, then it stops), checks the state and records the consent.
//! `consent complete --url '<redirect URL>'` does the same from a URL the
//! customer's browser ended on.

use std::time::Duration;

use clap::{Args, Subcommand};
use dataconnect::{Client, ConsentDuration};
use dataconnect_store::{PendingConsent, Store};
use jiff::Timestamp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

use crate::error::{Class, CliError, from_client};
use crate::settings::{GlobalArgs, Settings};

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cmd {
    #[command(subcommand)]
    action: Option<Action>,
    #[command(flatten)]
    global: GlobalArgs,
    /// How long the consent lasts, as an ISO 8601 duration (at most P3Y).
    #[arg(long, default_value = "P3Y", value_name = "DURATION")]
    duration: String,
    /// Make the state's last digit N, which is how the sandbox (ours and Enedis's) picks its test client 0 to 9.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=9))]
    sandbox_client: Option<u8>,
    /// Receive the redirect on the redirect URI's port (it must point at this machine), then record the consent.
    #[arg(long)]
    listen: bool,
    /// With --listen: give up after this many seconds.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    timeout: u64,
}

#[derive(Subcommand, Debug)]
enum Action {
    /// Record a consent from the URL the customer's browser was redirected to.
    Complete(Complete),
}

#[derive(Args, Debug)]
struct Complete {
    #[command(flatten)]
    global: GlobalArgs,
    /// The full redirect URL, with its query string (quote it in the shell).
    #[arg(long, value_name = "URL")]
    url: String,
}

impl Cmd {
    pub async fn run(self) -> Result<(), CliError> {
        if let Some(Action::Complete(c)) = self.action {
            return c.run().await;
        }
        let duration = ConsentDuration::parse(&self.duration).map_err(|e| CliError::usage(format!("{e} (--duration)")))?;
        let settings = Settings::resolve(&self.global)?;
        let client_settings = settings.client()?;
        let listen_on = if self.listen { Some(local_listen_addr(client_settings.redirect_uri.as_ref())?) } else { None };
        let store = crate::store::open_rw(&settings.db)?;
        let client = crate::source::client(&client_settings, &settings.db)?;
        let request = client.consent_request(duration, self.sandbox_client).map_err(|e| from_client(&e))?;
        let state = request.state().to_owned();
        let pending = PendingConsent {
            state: state.clone(),
            generation: settings.generation,
            duration,
            sandbox_client: self.sandbox_client,
            created_at: Timestamp::now(),
        };
        // Bind before printing the URL, so that a browser that is fast to
        // follow it always finds the listener.
        let listener = match &listen_on {
            Some(addr) => Some(tokio::net::TcpListener::bind(addr).await.map_err(|e| {
                CliError::config(format!("cannot listen on {addr} for the redirect: {e}: free the port or change the redirect URI"))
            })?),
            None => None,
        };
        store.add_pending_consent(&pending)?;
        println!("{}", request.url());
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        let Some(listener) = listener else {
            eprintln!(
                "Open the URL above in the customer's browser; then run `dataconnect consent complete --url '<the URL it was redirected to>'`."
            );
            return Ok(());
        };
        eprintln!("waiting for the redirect on http://{}/ …", listen_on.as_deref().unwrap_or_default());
        let base = client_settings.redirect_uri.clone().ok_or_else(|| CliError::config("--listen needs a redirect URI"))?;
        let url = tokio::time::timeout(Duration::from_secs(self.timeout), receive_redirect(listener, &base))
            .await
            .map_err(|_| {
                CliError::new(Class::Consent, format!("no redirect arrived within {} s: run `dataconnect consent --listen` again", self.timeout))
            })??;
        complete(&store, &client, &url).await
    }
}

impl Complete {
    async fn run(self) -> Result<(), CliError> {
        let settings = Settings::resolve(&self.global)?;
        let url = Url::parse(self.url.trim()).map_err(|e| {
            CliError::usage(format!("--url is not a URL ({e}): paste the whole address the browser ended on, in quotes"))
        })?;
        let client_settings = settings.client()?;
        let store = crate::store::open_rw(&settings.db)?;
        let client = crate::source::client(&client_settings, &settings.db)?;
        complete(&store, &client, &url).await
    }
}

/// Checks the redirect's state against the pending requests, completes the
/// consent with the API and records it.
pub async fn complete(store: &dyn Store, client: &Client, url: &Url) -> Result<(), CliError> {
    let consent = complete_quiet(store, client, url).await?;
    let meters: Vec<String> = consent.usage_points.iter().map(|p| p.to_string()).collect();
    println!(
        "consent recorded: meters {} (generation {}), from {} for {}, until {}",
        meters.join(", "),
        consent.generation,
        consent.start,
        consent.duration,
        consent.expiry()
    );
    Ok(())
}

/// [`complete`] without printing: returns the recorded consent.
pub async fn complete_quiet(store: &dyn Store, client: &Client, url: &Url) -> Result<dataconnect::Consent, CliError> {
    let state = url.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.into_owned()).ok_or_else(|| {
        CliError::new(Class::Consent, "the redirect URL has no state parameter: paste the whole URL the browser ended on")
    })?;
    let Some(pending) = store.take_pending_consent(&state)? else {
        return Err(CliError::new(
            Class::Consent,
            "the redirect's state matches no pending consent request (already used, or not asked from this database): run `dataconnect consent` again",
        ));
    };
    let mut consent = client.complete_consent(url, &pending.state).await.map_err(|e| from_client(&e))?;
    // The request may have been made by another process: the duration asked
    // for is the one remembered with the pending request.
    consent.duration = pending.duration;
    store.record_consent(&consent, Timestamp::now())?;
    Ok(consent)
}

/// The address to listen on for the redirect: the redirect URI's host and
/// port, which must be this machine over plain HTTP.
fn local_listen_addr(redirect: Option<&Url>) -> Result<String, CliError> {
    let url = redirect.ok_or_else(|| {
        CliError::config("--listen needs a redirect URI: pass --redirect-uri http://127.0.0.1:PORT/callback or set DATACONNECT_REDIRECT_URI")
    })?;
    let host = url.host_str().unwrap_or_default();
    let local = matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "::1");
    if url.scheme() != "http" || !local {
        return Err(CliError::config(format!(
            "--listen needs a redirect URI on this machine over http (like http://127.0.0.1:8081/callback), not {url}: use `dataconnect consent complete --url` instead"
        )));
    }
    let port = url.port_or_known_default().unwrap_or(80);
    let host = if host == "localhost" { "127.0.0.1" } else { host };
    Ok(format!("{host}:{port}"))
}

/// How long one connection to the redirect listener may take to send its
/// request head (a browser sends it at once).
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves requests until one arrives on the redirect path with a query; answers
/// it with a short page and returns the full redirect URL.
async fn receive_redirect(listener: tokio::net::TcpListener, base: &Url) -> Result<Url, CliError> {
    let path = base.path();
    loop {
        let (mut stream, _) = listener
            .accept()
            .await
            .map_err(|e| CliError::new(Class::Network, format!("the redirect listener failed: {e}")))?;
        let mut buf = vec![0u8; 16 * 1024];
        let mut len = 0;
        // Read the request head only; a redirect is a GET without a body.
        // A client that connects and then sends nothing (or drips) would
        // hold this one-at-a-time listener until the global timeout and
        // lock the customer's browser out: each connection gets a few
        // seconds to send its head.
        let head = async {
            while len < buf.len() {
                let n = match stream.read(&mut buf[len..]).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                len += n;
                if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
        };
        if tokio::time::timeout(HEAD_TIMEOUT, head).await.is_err() {
            let _ = stream.write_all(b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
            continue;
        }
        let head = String::from_utf8_lossy(&buf[..len]);
        let target = head.lines().next().and_then(|l| l.split_whitespace().nth(1)).unwrap_or("");
        let Ok(url) = base.join(target) else {
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
            continue;
        };
        if url.path() != path || url.query().is_none() {
            // Browsers also ask for /favicon.ico and the like.
            let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
            continue;
        }
        let body = "<!doctype html><meta charset=utf-8><title>dataconnect</title><p>Thank you. The consent was received; you can close this tab.</p>";
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
        return Ok(url);
    }
}
