//! `dataconnect serve`: the organisation's web application. Customers read
//! who collects which data, why and for how long, give their consent on
//! Enedis's site (or the sandbox's consent page) and come back to a page
//! showing their meter; the organisation's systems read meters, readings,
//! consents and sync status from a JSON API; operators scrape `/metrics`.
//!
//! The server reuses what the CLI already has: the settings, the store, the
//! consent completion of `consent_redirect.rs`, the sync of `sync_engine.rs`, the
//! reading schema of `output.rs` and the charts of `chart_data.rs`. Its parts:
//! `serve/pages.rs` (the French HTML pages and the redirect handler),
//! `serve/api.rs` (the JSON API and its OpenAPI description), `serve/ops.rs`
//! (`/healthz`, `/metrics`) and `serve/worker.rs` (the first sync of newly
//! consented meters, run in-process by `--workers N`).
//!
//! Who may see what: the landing page, the consent button and the redirect
//! handler are public. A meter's page shows a customer's consumption, so it
//! opens only for the browser that just gave the consent (a random session
//! cookie, kept in memory) or for the organisation (an API key, as a Bearer
//! token or as the password of HTTP Basic authentication, which a browser
//! asks for). The consents page, the API and `/metrics` need a key; with no
//! key configured they stay closed.
//!
//! The redirect is public, so anyone can send one, with a real `state`
//! (the consent button hands one out to anybody). It opens a meter only on
//! these conditions:
//! - the redirect is read strictly as its generation sends it (2026:
//!   `autorisation_id` and `state`, or `error`; a `usage_point_id` or a
//!   `code` is refused), and every meter is confirmed by Enedis before
//!   anything is recorded: 2026 through `subscribed_services`, v5 by one
//!   data call per meter that the consent must allow (ADAM-DC-0008
//!   otherwise), legacy through the code exchange;
//! - the consent is *fresh*: given after this `state` was issued. 2026:
//!   the subscribed service starts on or after the state's day and is not
//!   the consent already on record (same `autorisation_id`, same or later
//!   start). v5, where Enedis gives no date: the meter had no live consent
//!   on record. Legacy: the one-time code proves it. A replayed or foreign
//!   `autorisation_id` or a guessed PRM with a live consent is therefore
//!   confirmed by Enedis but not fresh: the browser gets a French thank-you
//!   page without data, no cookie, and the records are only ever extended
//!   (a later expiry; the `autorisation_id` kept), never shortened.
//!
//! Why this is safe: to be fresh, a consent must be one Enedis holds for
//! this application and that no redirect recorded before; a third party
//! would have to bring the consent the victim is giving at that very
//! moment, before the victim's own redirect arrives (and, in 2026, know
//! their 9-digit id). What a returning customer sees: consenting again
//! renews the service's start day in 2026, so they see their meter; the
//! same day twice, or in v5 with a consent still live, they get the
//! thank-you page, and their consent is kept or extended.

mod api;
mod listen;
mod ops;
mod pages;
mod throttle;
mod worker;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderMap, header};
use clap::Args;
use dataconnect::{Client, ConsentDuration, Series, UsagePointId};
use subtle::ConstantTimeEq;
use url::Url;

use crate::error::{Class, CliError};
use crate::settings::{GlobalArgs, Settings};
use crate::store::AnyStore;

#[derive(Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    global: GlobalArgs,
    /// Address to listen on; port 0 picks a free port. The first line on stdout is `listening on http://HOST:PORT`.
    #[arg(long, default_value = "127.0.0.1:8000", value_name = "ADDR")]
    listen: String,
    /// The organisation that collects the data, named on the landing page (required).
    #[arg(long, env = "DATACONNECT_ORGANISATION", value_name = "NAME")]
    organisation: Option<String>,
    /// Why the data is collected, one sentence shown on the landing page (required).
    #[arg(long, env = "DATACONNECT_PURPOSE", value_name = "TEXT")]
    purpose: Option<String>,
    /// Where customers write to about their data (an e-mail or postal address), shown on the landing page.
    #[arg(long, env = "DATACONNECT_CONTACT", value_name = "TEXT")]
    contact: Option<String>,
    /// How long the consent asked for lasts, as an ISO 8601 duration (at most P3Y).
    #[arg(long, default_value = "P1Y", value_name = "DURATION")]
    duration: String,
    /// The series collected (repeat or separate with commas) [default: all five].
    #[arg(long, value_name = "SERIES")]
    series: Vec<String>,
    /// Tasks that run the first sync of newly consented meters in this process (on PostgreSQL: workers of the in-process `sync --daemon` scheduler); 0 leaves syncing to separate `dataconnect sync` processes.
    #[arg(long, default_value_t = 1, value_name = "N")]
    workers: usize,
    /// A file of API keys, one per line (blank lines and lines starting with # are ignored); DATACONNECT_API_KEYS adds comma-separated keys. At least 16 characters each.
    #[arg(long, value_name = "FILE")]
    api_key_file: Option<PathBuf>,
    /// Make the state's last digit N, which is how the sandbox picks its test client 0 to 9 when it shows no consent page.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=9))]
    sandbox_client: Option<u8>,
    /// How long `/metrics` reuses what it read from the store (readings per series, lag per meter, consents), in seconds; 0 reads the store at every scrape. The client's counters and the calls of the last hour are always current.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    metrics_cache_seconds: u64,
    /// The most connections served at once (lowered to what the open-file limit allows); at the limit, the oldest connection is closed, at once if idle.
    #[arg(long, default_value_t = 512, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    max_connections: u32,
    /// The most consent requests (button presses) waiting for their redirect at once; each expires after 30 minutes.
    #[arg(long, default_value_t = 10_000, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_pending: u64,
    /// The most consent requests one client address (an IPv6 /64) may open per 30 minutes.
    #[arg(long, default_value_t = 20, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_pending_per_address: u32,
    /// The address of a reverse proxy in front of serve (repeat for several): for its requests the visitor's address, which the per-address limits count, is read from X-Forwarded-For.
    #[arg(long, value_name = "IP")]
    trusted_proxy: Vec<std::net::IpAddr>,
    /// Seconds a connection may take to send a request head (idle keep-alive connections and silent sockets are closed after it).
    #[arg(long, default_value_t = 10, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=300))]
    head_timeout: u64,
    // Publication beside the server (--mqtt, --influx), every --publish-seconds.
    #[command(flatten)]
    publish: crate::cmd::publish::FollowArgs,
    /// How often what the store holds is published to --mqtt and --influx, in seconds.
    #[arg(long, hide = true, default_value_t = 60, value_name = "SECONDS")]
    publish_seconds: u64,
}

/// The path the redirect comes back to when no redirect URI is configured.
pub const DEFAULT_REDIRECT_PATH: &str = "/consentement/retour";

/// How long a customer's browser may see the meters it just shared.
const SESSION_TTL: Duration = Duration::from_secs(24 * 3600);

/// The most sessions kept at once; older ones are dropped first.
const MAX_SESSIONS: usize = 10_000;

/// What the landing page tells the customer, and what the consent asks for.
#[derive(Debug, Clone)]
pub struct Journey {
    pub organisation: String,
    pub purpose: String,
    pub contact: Option<String>,
    pub duration: ConsentDuration,
    pub series: Vec<Series>,
    pub sandbox_client: Option<u8>,
}

/// The API keys, compared in constant time; `Debug` never shows them.
pub struct ApiKeys(Vec<Vec<u8>>);

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeys([{} redacted])", self.0.len())
    }
}

impl ApiKeys {
    /// The shortest key accepted: shorter ones are guessable.
    const MIN_LEN: usize = 16;

    /// Parses keys separated by newlines, commas or spaces; `#` starts a comment line.
    fn parse(text: &str, origin: &str) -> Result<Vec<Vec<u8>>, CliError> {
        let mut keys = Vec::new();
        for line in text.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
            for key in line.split([',', ' ', '\t']).filter(|k| !k.is_empty()) {
                if key.len() < Self::MIN_LEN {
                    return Err(CliError::config(format!(
                        "an API key in {origin} is shorter than {} characters: use long random keys (for example `openssl rand -hex 24`)",
                        Self::MIN_LEN
                    )));
                }
                keys.push(key.as_bytes().to_vec());
            }
        }
        Ok(keys)
    }

    /// The keys of `--api-key-file` and of `DATACONNECT_API_KEYS`.
    fn load(file: Option<&std::path::Path>) -> Result<ApiKeys, CliError> {
        let mut keys = Vec::new();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                CliError::config(format!("cannot read the API key file {}: {e}: check --api-key-file", path.display()))
            })?;
            keys.extend(Self::parse(&text, &path.display().to_string())?);
        }
        if let Ok(text) = std::env::var("DATACONNECT_API_KEYS") {
            keys.extend(Self::parse(&text, "DATACONNECT_API_KEYS")?);
        }
        Ok(ApiKeys(keys))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when `candidate` is one of the keys. Every key is compared, in
    /// constant time, so the time taken tells nothing about which matched.
    fn accepts(&self, candidate: &[u8]) -> bool {
        let mut found = subtle::Choice::from(0);
        for key in &self.0 {
            found |= key.as_slice().ct_eq(candidate);
        }
        bool::from(found)
    }

    /// True when the request carries a key: `Authorization: Bearer KEY`, or
    /// Basic authentication whose password is a key (what a browser sends
    /// after its login prompt).
    pub fn allow(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else { return false };
        let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
        if scheme.eq_ignore_ascii_case("bearer") {
            return self.accepts(rest.trim().as_bytes());
        }
        if scheme.eq_ignore_ascii_case("basic") {
            use base64::Engine as _;
            let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(rest.trim()) else { return false };
            let password = decoded.iter().position(|b| *b == b':').map(|i| &decoded[i + 1..]).unwrap_or(&[]);
            return self.accepts(password);
        }
        false
    }
}

/// Browsers that gave a consent, and the meters each may see.
#[derive(Default)]
struct Sessions(Mutex<HashMap<String, (Vec<UsagePointId>, Instant)>>);

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Vec<UsagePointId>, Instant)>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new session for `meters`; returns its token (256 random bits).
    fn open(&self, meters: Vec<UsagePointId>) -> Result<String, CliError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| CliError::internal(format!("no randomness for a session: {e}")))?;
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut map = self.lock();
        let now = Instant::now();
        map.retain(|_, (_, until)| *until > now);
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map.iter().min_by_key(|(_, (_, until))| *until).map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(token.clone(), (meters, now + SESSION_TTL));
        Ok(token)
    }

    /// True when the request's session cookie may see `prm`.
    fn allows(&self, headers: &HeaderMap, prm: &UsagePointId) -> bool {
        let Some(token) = session_cookie(headers) else { return false };
        let map = self.lock();
        map.get(token).is_some_and(|(meters, until)| *until > Instant::now() && meters.contains(prm))
    }
}

/// The name of the session cookie.
const SESSION_COOKIE: &str = "dataconnect_session";

fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(SESSION_COOKIE).and_then(|rest| rest.strip_prefix('=')))
}

/// Everything the handlers share.
pub struct Inner {
    pub store: Arc<AnyStore>,
    pub client: Client,
    pub journey: Journey,
    pub keys: ApiKeys,
    sessions: Sessions,
    /// The path of the redirect URI, answered by the redirect handler.
    pub redirect_path: String,
    /// True when the redirect URI is https (the session cookie is then `Secure`).
    pub secure: bool,
    pub quota_per_hour: u32,
    pub queue: worker::Queue,
    /// The database as configured: its sync lock keeps the first syncs of
    /// an SQLite store from running beside a separate `dataconnect sync`.
    pub db: std::path::PathBuf,
    /// What `/metrics` last read from the store (see `ops`).
    pub metrics: ops::MetricsCache,
    /// Consent requests per client address (see `pages::start`).
    pub accord: throttle::Throttle,
    /// Wrong API keys per client address (see `guard`).
    wrong_keys: throttle::Throttle,
    /// The most pending consent requests at once.
    pub max_pending: u64,
    /// Reverse proxies whose `X-Forwarded-For` is believed (see `throttle`).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Readings answers written at once (see `api::readings`).
    pub readers: Arc<tokio::sync::Semaphore>,
    /// When expired pending requests were last pruned.
    last_prune: Mutex<Option<Instant>>,
}

/// The handlers' state: cheap to clone.
pub type AppState = Arc<Inner>;

impl Inner {
    /// True once a minute: time to prune the expired pending requests.
    pub fn prune_due(&self) -> bool {
        let mut last = self.last_prune.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let due = last.is_none_or(|at| now.duration_since(at) >= Duration::from_secs(60));
        if due {
            *last = Some(now);
        }
        due
    }

    /// Runs `f` on the store on a blocking thread, so that a slow query
    /// never holds up the runtime's other requests.
    pub async fn with_store<T, F>(&self, f: F) -> Result<T, CliError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn dataconnect_store::Store) -> Result<T, CliError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || f(&**store))
            .await
            .map_err(|e| CliError::internal(format!("a store task failed: {e}")))?
    }
}

/// The whole application as a router, so tests could serve it on any listener.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(pages::routes())
        .merge(api::routes())
        .merge(ops::routes())
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&state), guard))
        .with_state(state)
}

/// Wrong API keys one address may send per minute; then every request of
/// that address that carries a key is refused (429) until the minute has
/// passed, so keys cannot be guessed at speed.
const WRONG_KEYS_PER_MINUTE: usize = 10;

/// What every request goes through: the wrong-key throttle, and the
/// headers every answer carries (no MIME sniffing, no referrer: a page's
/// address can hold a meter's number).
async fn guard(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let peer = throttle::client_address(request.extensions(), request.headers(), &state.trusted_proxies);
    let keyed = request.headers().contains_key(header::AUTHORIZATION);
    if keyed && let Some(ip) = peer {
        let now = Instant::now();
        let refused = if state.keys.allow(request.headers()) {
            // A right key from an address that has used up its wrong ones
            // is refused too: otherwise guessing would go on unhindered.
            state.wrong_keys.exhausted(ip, now).then_some(Duration::from_secs(60))
        } else {
            let counted = state.wrong_keys.check(ip, now);
            if counted.is_ok() {
                // The key itself is never printed.
                eprintln!("warning: a wrong API key from {ip} for {}", request.uri().path());
            }
            counted.err()
        };
        if let Some(wait) = refused {
            return with_common_headers(too_many_keys(request.uri().path(), wait));
        }
    }
    with_common_headers(next.run(request).await)
}

fn with_common_headers(mut response: axum::response::Response) -> axum::response::Response {
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, header::HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, header::HeaderValue::from_static("no-referrer"));
    response
}

/// The 429 of the wrong-key throttle: JSON on the API, a page elsewhere.
fn too_many_keys(path: &str, wait: Duration) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let text = "too many wrong API keys from this address: wait, then use a valid key";
    let mut response = if path.starts_with("/api/") {
        let body = serde_json::json!({ "error": "too_many_wrong_keys", "message": text }).to_string();
        (axum::http::StatusCode::TOO_MANY_REQUESTS, [(header::CONTENT_TYPE, "application/json")], body).into_response()
    } else {
        pages::error_page(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "Trop de tentatives",
            "Trop de clés d'accès erronées ont été essayées depuis votre adresse. Patientez une minute.",
        )
    };
    if let Ok(value) = header::HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

impl Cmd {
    pub async fn run(self) -> Result<(), CliError> {
        let duration =
            ConsentDuration::parse(&self.duration).map_err(|e| CliError::usage(format!("{e} (--duration)")))?;
        let series = crate::store::series(&self.series)?;
        let series = if series.is_empty() { Series::ALL.to_vec() } else { series };
        let organisation =
            required(self.organisation, "--organisation NAME or DATACONNECT_ORGANISATION", "who collects the data")?;
        let purpose = required(self.purpose, "--purpose TEXT or DATACONNECT_PURPOSE", "why the data is collected")?;
        let contact = self.contact.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
        let keys = ApiKeys::load(self.api_key_file.as_deref())?;
        let addr: SocketAddr = self.listen.trim().parse().map_err(|_| {
            CliError::usage(format!("--listen {:?} is not an address: write it like 127.0.0.1:8000", self.listen))
        })?;
        let settings = Settings::resolve(&self.global)?;
        let (mqtt, influx) = self.publish.resolve(true, &settings.db, settings.revision_days)?;
        let mut client_settings = settings.client()?;
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            CliError::config(format!("cannot listen on {addr}: {e}: free the port or pass another --listen"))
        })?;
        let bound = listener.local_addr().map_err(|e| CliError::internal(format!("no local address: {e}")))?;
        // Without a configured redirect URI, the consent comes back to this
        // server itself; it must then be registered as such (in the sandbox:
        // `dataconnect sandbox --redirect-uri <it>`).
        let redirect = match client_settings.redirect_uri.clone() {
            Some(url) => url,
            None => {
                let url = Url::parse(&format!("http://{bound}{DEFAULT_REDIRECT_PATH}"))
                    .map_err(|e| CliError::internal(format!("redirect URI: {e}")))?;
                client_settings.redirect_uri = Some(url.clone());
                url
            }
        };
        let redirect_path = redirect.path().to_owned();
        if pages::RESERVED.iter().any(|p| redirect_path == *p || redirect_path.starts_with(&format!("{p}/")))
            || redirect_path == "/"
        {
            return Err(CliError::config(format!(
                "the redirect URI's path {redirect_path} is one of serve's own pages: register a redirect URI like https://example.org{DEFAULT_REDIRECT_PATH}"
            )));
        }
        // On PostgreSQL with workers, the sync service's scheduler runs in
        // this process (as `sync --daemon` does): it back-fills new consents
        // and keeps every meter current, under the quota shared through the
        // store with every other sync process. Otherwise the first sync of
        // new consents runs here (`worker::sync_meters`).
        let workers = self.workers.min(64);
        let daemon = open_daemon(&settings, &client_settings, workers)?;
        let (store, client): (AnyStore, Client) = match &daemon {
            Some(d) => daemon_parts(d),
            None => (crate::store::open_rw(&settings.db)?, crate::source::client(&client_settings, &settings.db)?),
        };
        let store = Arc::new(store);
        let state = Arc::new(Inner {
            store,
            client,
            journey: Journey { organisation, purpose, contact, duration, series, sandbox_client: self.sandbox_client },
            keys,
            sessions: Sessions::default(),
            redirect_path,
            secure: redirect.scheme() == "https",
            quota_per_hour: settings.quota_per_hour,
            queue: worker::Queue::new(settings.revision_days),
            db: settings.db.clone(),
            metrics: ops::MetricsCache::new(std::time::Duration::from_secs(self.metrics_cache_seconds)),
            accord: throttle::Throttle::new(self.max_pending_per_address as usize, pages::PENDING_WINDOW),
            max_pending: self.max_pending,
            trusted_proxies: self.trusted_proxy.clone(),
            readers: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(2, 8),
            )),
            wrong_keys: throttle::Throttle::new(WRONG_KEYS_PER_MINUTE, Duration::from_secs(60)),
            last_prune: Mutex::new(None),
        });
        worker::start(&state, if daemon.is_some() { 0 } else { workers }).await?;
        println!("listening on http://{bound}");
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        if state.keys.is_empty() {
            eprintln!(
                "note: no API key configured (--api-key-file or DATACONNECT_API_KEYS): the API, /metrics and the consents page stay closed"
            );
        }
        let limits = connection_limits(self.max_connections, self.head_timeout);
        let series = state.journey.series.clone();
        let store = Arc::clone(&state.store);
        let served = listen::serve(listener, app(state), limits, crate::sync_engine::shutdown_signal());
        let served = async {
            match daemon {
                Some(source) => run_with_daemon(served, source, &settings, workers, series).await,
                None => served.await,
            }
        };
        let followers = crate::publish::follow::Followers::start(mqtt, influx)?;
        let every = Duration::from_secs(self.publish_seconds.max(1));
        let say = |l: &str| println!("{l}");
        let served = crate::publish::follow::alongside(served, Some(followers), &**store, every, &say).await;
        served.map_err(|e| CliError::new(Class::Network, format!("the server stopped: {e}")))
    }
}

/// The connection limits of `--max-connections` and `--head-timeout`,
/// lowered (with a note) to what the open-file limit allows.
fn connection_limits(max_connections: u32, head_timeout: u64) -> listen::Limits {
    let (limits, lowered) = listen::Limits::new(max_connections as usize, Duration::from_secs(head_timeout));
    if lowered {
        eprintln!(
            "note: at most {} connections at once (--max-connections {max_connections} is more than the open-file limit allows; raise it with `ulimit -n`)",
            limits.max_connections
        );
    }
    limits
}

fn required(value: Option<String>, how: &str, what: &str) -> Result<String, CliError> {
    value
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| CliError::config(format!("the landing page must say {what} (Enedis reviews it): pass {how}")))
}

/// The in-process scheduler's store and client source.
#[cfg(feature = "postgres")]
type Daemon = crate::sync_engine::PgSync;
/// Without PostgreSQL there is no in-process scheduler.
#[cfg(not(feature = "postgres"))]
type Daemon = std::convert::Infallible;

/// The in-process scheduler's store and client source: only on
/// PostgreSQL, and only with workers.
#[cfg(feature = "postgres")]
fn open_daemon(
    settings: &Settings,
    client_settings: &crate::settings::ClientSettings,
    workers: usize,
) -> Result<Option<Daemon>, CliError> {
    let Some(url) = crate::store::postgres_url(&settings.db).filter(|_| workers > 0) else { return Ok(None) };
    Ok(Some(crate::sync_engine::open_pg_sync(url, settings, client_settings, workers)?))
}

#[cfg(not(feature = "postgres"))]
fn open_daemon(_: &Settings, _: &crate::settings::ClientSettings, _: usize) -> Result<Option<Daemon>, CliError> {
    Ok(None)
}

/// The pages share the scheduler's store and client, so that consents,
/// pages and `/metrics` see the same quota and counters.
#[cfg(feature = "postgres")]
fn daemon_parts(d: &Daemon) -> (AnyStore, Client) {
    (Box::new(Arc::clone(&d.store)), d.source.client().clone())
}

#[cfg(not(feature = "postgres"))]
fn daemon_parts(d: &Daemon) -> (AnyStore, Client) {
    match *d {}
}

/// Serves while the sync service's daemon runs beside, both until SIGTERM
/// or Ctrl-C (the daemon then finishes its calls in flight and releases its
/// leases). New consents are looked for every few seconds, so a customer
/// waits for their chart no longer than that.
#[cfg(feature = "postgres")]
async fn run_with_daemon(
    served: impl std::future::IntoFuture<Output = std::io::Result<()>>,
    daemon: Daemon,
    settings: &Settings,
    workers: usize,
    series: Vec<Series>,
) -> std::io::Result<()> {
    let url = crate::store::postgres_url(&settings.db).unwrap_or_default();
    let mut config = crate::sync_engine::daemon_config(
        settings,
        dataconnect_sync::WorkerConfig::new(workers),
        series,
        settings.revision_days,
        Duration::from_secs(30 * 60),
        crate::sync_engine::seed_of(url),
    );
    config.replan_every = Duration::from_secs(3);
    let reporter = crate::progress::Reporter::new();
    let crate::sync_engine::PgSync { store, source } = daemon;
    let run = dataconnect_sync::run_daemon(store, &source, &config, &reporter, crate::sync_engine::shutdown_signal());
    let (served, _) = tokio::join!(served.into_future(), run);
    served
}

#[cfg(not(feature = "postgres"))]
async fn run_with_daemon(
    _: impl std::future::IntoFuture<Output = std::io::Result<()>>,
    daemon: Daemon,
    _: &Settings,
    _: usize,
    _: Vec<Series>,
) -> std::io::Result<()> {
    match daemon {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn keys() -> ApiKeys {
        ApiKeys(
            ApiKeys::parse(
                "# ops\nkey-one-0123456789abcdef\n\nkey-two-0123456789abcdef, key-three-0123456789abc",
                "test",
            )
            .unwrap(),
        )
    }

    fn with_auth(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn keys_are_checked_as_bearer_or_basic_password() {
        let k = keys();
        assert_eq!(k.0.len(), 3);
        assert!(k.allow(&with_auth("Bearer key-two-0123456789abcdef")));
        assert!(k.allow(&with_auth("bearer   key-three-0123456789abc")));
        assert!(!k.allow(&with_auth("Bearer key-two-0123456789abcde")));
        assert!(!k.allow(&with_auth("Bearer ")));
        assert!(!k.allow(&HeaderMap::new()));
        use base64::Engine as _;
        let basic = base64::engine::general_purpose::STANDARD.encode("staff:key-one-0123456789abcdef");
        assert!(k.allow(&with_auth(&format!("Basic {basic}"))));
        let wrong = base64::engine::general_purpose::STANDARD.encode("key-one-0123456789abcdef");
        assert!(!k.allow(&with_auth(&format!("Basic {wrong}"))), "a key as user name is not a password");
        assert!(!k.allow(&with_auth("Basic %%%")));
        assert!(format!("{k:?}").contains("redacted") && !format!("{k:?}").contains("key-one"));
    }

    #[test]
    fn short_keys_are_refused() {
        let e = ApiKeys::parse("short", "the file").unwrap_err();
        assert!(e.line().contains("shorter than 16"), "{}", e.line());
        assert!(!e.line().contains("short\""), "the key itself is not echoed");
    }

    #[test]
    fn sessions_grant_only_their_meters() {
        let sessions = Sessions::default();
        let a = UsagePointId::new("12345678901234").unwrap();
        let b = UsagePointId::new("10284856584123").unwrap();
        let token = sessions.open(vec![a.clone()]).unwrap();
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_str(&format!("x=1; {SESSION_COOKIE}={token}")).unwrap());
        assert!(sessions.allows(&h, &a));
        assert!(!sessions.allows(&h, &b));
        h.insert(header::COOKIE, HeaderValue::from_str(&format!("{SESSION_COOKIE}={token}0")).unwrap());
        assert!(!sessions.allows(&h, &a));
    }
}
