//! The client: configuration, the HTTP pipeline every request goes through
//! (quota gate, bearer token, timeout, retries with backoff, 429 waits,
//! one renewal after a 401), token caches, and counters.
//!
//! **Architecture Invariant:** every request that reaches Data Connect goes
//! through [`Client::call`], and so through the one quota gate shared by
//! all clones of the client.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use jiff::Timestamp;
use jiff::civil::Date;
use tokio::time::Instant;
use url::Url;

use crate::domain::{Generation, UsagePointId, today_paris};
use crate::error::{Error, ErrorKind, parse_retry_after};
use crate::quota::{Gate, QuotaConfig, SharedQuota};
use crate::secret::{AccessToken, ClientSecret};
use crate::token_store::{MemoryTokenStore, StoredToken, TokenStore};
use crate::wire;

/// The production gateway of generations 2 and 3.
pub const PRODUCTION_BASE_URL: &str = "https://gw.ext.prod.api.enedis.fr";
/// The sandbox gateway of generations 2 and 3.
pub const SANDBOX_BASE_URL: &str = "https://gw.ext.prod-sandbox.api.enedis.fr";
/// The production gateway of generation 1 (legacy).
pub const LEGACY_PRODUCTION_BASE_URL: &str = "https://gw.prd.api.enedis.fr";
/// The sandbox ("homologation") gateway of generation 1 (legacy).
pub const LEGACY_SANDBOX_BASE_URL: &str = "https://gw.hml.api.enedis.fr";
/// The host of the production consent pages (`/dataconnect/v1|v2/oauth2/authorize`),
/// used instead of the base URL when the base URL is a production gateway.
pub const PRODUCTION_AUTHORIZE_BASE_URL: &str = "https://mon-compte-particulier.enedis.fr";

/// The public Conso API gateway (a personal token per Linky owner; see
/// [`ClientConfig::conso_token`]).
pub const CONSO_API_BASE_URL: &str = "https://conso.boris.sh/api/";

/// The quota budget of every Conso API call.
pub(crate) const CONSO_API: &str = "conso";

/// The largest answer body the client reads, in bytes. The largest real
/// answers (a year of daily values, a week of 10-minute load curve) are
/// well under 1 MiB; anything past 16 MiB is refused unread.
const MAX_BODY: usize = 16 << 20;

/// Everything a [`Client`] needs.
#[derive(Clone)]
pub struct ClientConfig {
    /// The gateway, e.g. [`PRODUCTION_BASE_URL`] or a local sandbox.
    pub base_url: Url,
    /// The API generation to speak.
    pub generation: Generation,
    /// The application's client id (DataHub).
    pub client_id: String,
    /// The application's client secret.
    pub client_secret: ClientSecret,
    /// The registered redirect URI: required by generation 1 (it goes in
    /// the authorize URL and in the token URL's query string); generations
    /// 2 and 3 use the one registered in DataHub.
    pub redirect_uri: Option<Url>,
    /// The date taken as today (Paris); `None` for the real today. Lets
    /// recorded or sandboxed past periods be replayed.
    pub today: Option<Date>,
    /// The quota budgets.
    pub quota: QuotaConfig,
    /// The timeout of one HTTP request, body included.
    pub timeout: Duration,
    /// How many times a request is tried in all when it fails with a 5xx,
    /// a timeout, a transport error or a cut body (at least 1).
    pub max_attempts: u32,
    /// Where generation 1 refresh tokens are kept; `None` keeps them in
    /// memory for the life of the client.
    pub token_store: Option<Arc<dyn TokenStore>>,
    /// A quota budget shared with other processes of the application (in
    /// PostgreSQL: see `dataconnect_store::PgSharedQuota`); when set, it
    /// replaces the local budgets of `quota` (the same numbers should be
    /// given to both) and a 429 closes it for every process.
    pub shared_quota: Option<Arc<dyn SharedQuota>>,
    /// A personal token of the Conso API gateway (or a service like it),
    /// which holds a Data Connect contract for its users. When set, the
    /// client reads readings from that gateway at `base_url` (e.g.
    /// [`CONSO_API_BASE_URL`]) with this token as the bearer, in the type
    /// family of `generation` (2026 or v5); `client_id` and
    /// `client_secret` are unused, and the customer endpoints and consent
    /// calls answer [`ErrorKind::Unsupported`]. The gateway is shared by all
    /// its users: give `quota` a gentle budget.
    pub conso_token: Option<AccessToken>,
}

impl ClientConfig {
    /// A configuration with the usual defaults: no fixed today, the default
    /// quota (5/s, 10,000/h), a 30 s timeout, 4 attempts, no token store.
    pub fn new(
        base_url: Url,
        generation: Generation,
        client_id: impl Into<String>,
        client_secret: ClientSecret,
    ) -> Self {
        ClientConfig {
            base_url,
            generation,
            client_id: client_id.into(),
            client_secret,
            redirect_uri: None,
            today: None,
            quota: QuotaConfig::default(),
            timeout: Duration::from_secs(30),
            max_attempts: 4,
            token_store: None,
            shared_quota: None,
            conso_token: None,
        }
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url.as_str())
            .field("generation", &self.generation)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("redirect_uri", &self.redirect_uri.as_ref().map(Url::as_str))
            .field("today", &self.today)
            .field("quota", &self.quota)
            .field("timeout", &self.timeout)
            .field("max_attempts", &self.max_attempts)
            .field("token_store", &self.token_store.as_ref().map(|_| "[token store]"))
            .field("shared_quota", &self.shared_quota.as_ref().map(|_| "[shared quota]"))
            .field("conso_token", &self.conso_token)
            .finish()
    }
}

/// Counters of what the client did, readable at any time with
/// [`Client::stats`]. Shared by all clones of a client.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// HTTP requests sent (token requests included).
    pub calls: u64,
    /// Requests sent again after a retryable failure or a 429.
    pub retries: u64,
    /// Requests that had to wait at the quota gate.
    pub waits: u64,
    /// Total time spent waiting at the quota gate, in milliseconds.
    pub waited_ms: u64,
    /// 429 answers received.
    pub throttled_429: u64,
    /// Token requests (client credentials, code exchanges, refreshes).
    pub token_requests: u64,
    /// Tokens renewed because the API answered 401.
    pub renewals_after_401: u64,
    /// Quota slots given up because the task woke up too late for them
    /// (a loaded machine; see the `quota` module): each cost one slot of
    /// the budget and prevented a call from leaving closer to the next
    /// ones than the budget allows.
    pub late_slots: u64,
}

#[derive(Default)]
struct Counters {
    calls: AtomicU64,
    retries: AtomicU64,
    waits: AtomicU64,
    waited_ms: AtomicU64,
    throttled_429: AtomicU64,
    token_requests: AtomicU64,
    renewals_after_401: AtomicU64,
    late_slots: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// A cached access token and when to stop using it.
#[derive(Clone)]
struct CachedToken {
    token: AccessToken,
    /// Renew at or after this instant (shortly before the real expiry).
    renew_at: Instant,
}

impl CachedToken {
    fn new(token: AccessToken, expires_in: Option<Duration>) -> Self {
        // Without an `expires_in`, assume the documented 12,600 s. Renew a
        // little before the end, so that a request never leaves with a token
        // that expires on the way: 60 s early, or a tenth of the lifetime
        // for short-lived (test) tokens.
        let ttl = expires_in.unwrap_or(Duration::from_secs(12_600));
        let margin = (ttl / 10).min(Duration::from_secs(60));
        CachedToken { token, renew_at: Instant::now() + ttl.saturating_sub(margin) }
    }

    fn fresh(&self) -> bool {
        Instant::now() < self.renew_at
    }
}

/// How a request authenticates.
#[derive(Clone, Debug)]
pub(crate) enum Auth {
    /// No credentials (the generation 1 token endpoint takes them in the
    /// form body).
    None,
    /// HTTP Basic with the client id and secret (token endpoint, revoke).
    Basic,
    /// The application token (generations 2 and 3).
    App,
    /// The customer's token for this usage point (generation 1).
    Customer(UsagePointId),
}

/// A request body.
#[derive(Clone, Debug)]
pub(crate) enum Body {
    None,
    Form(Vec<(&'static str, String)>),
    Json(serde_json::Value),
}

/// One request, as the pipeline sends it (possibly several times).
#[derive(Clone, Debug)]
pub(crate) struct Call {
    pub post: bool,
    /// Relative to the base URL, without a leading slash.
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    pub body: Body,
    pub auth: Auth,
    /// The quota budget the call counts against.
    pub api: &'static str,
}

impl Call {
    pub(crate) fn get(path: impl Into<String>, api: &'static str, auth: Auth) -> Self {
        Call { post: false, path: path.into(), query: Vec::new(), body: Body::None, auth, api }
    }
}

/// The longest wait the client accepts after a 429 before giving the error
/// back to the caller (who may schedule the retry instead of holding a
/// task for an hour).
const MAX_429_WAIT: Duration = Duration::from_secs(120);
/// How many 429s in a row one request accepts.
const MAX_429_IN_A_ROW: u32 = 20;

pub(crate) struct Inner {
    pub(crate) config: ClientConfig,
    base: Url,
    http: reqwest::Client,
    gate: Gate,
    counters: Counters,
    app_token: tokio::sync::Mutex<Option<CachedToken>>,
    customer_tokens: tokio::sync::Mutex<HashMap<UsagePointId, CachedToken>>,
    /// Held while a generation 1 refresh runs, so that two tasks never
    /// spend the same refresh token at once (Enedis may rotate it).
    refresh_lock: tokio::sync::Mutex<()>,
    pub(crate) token_store: Arc<dyn TokenStore>,
    pub(crate) pending_consents: std::sync::Mutex<HashMap<String, crate::domain::ConsentDuration>>,
}

/// A Data Connect client. Cheap to clone; all clones share one quota gate,
/// one token cache and one set of counters. See the crate docs for
/// examples.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

impl Client {
    /// Builds a client. Fails when the base URL cannot take paths, the
    /// quota is zero or the timeout is zero.
    pub fn new(config: ClientConfig) -> Result<Client, Error> {
        if config.base_url.cannot_be_a_base() || !matches!(config.base_url.scheme(), "http" | "https") {
            return Err(Error::new(
                ErrorKind::Config,
                format!("the base URL {} is not an http(s) URL that paths can be added to", config.base_url),
            ));
        }
        if config.quota.per_second == 0 || config.quota.per_hour == 0 {
            return Err(Error::new(
                ErrorKind::Config,
                "the quota must allow at least one call per second and per hour",
            ));
        }
        if config.timeout.is_zero() {
            return Err(Error::new(ErrorKind::Config, "the timeout must not be zero"));
        }
        let mut base = config.base_url.clone();
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        base.set_query(None);
        base.set_fragment(None);
        // reqwest is built without a default TLS provider, so that ring is
        // used rather than aws-lc-rs; installing it twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            // Never follow redirects: a token request redirected elsewhere
            // would carry credentials to a host we did not choose.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("dataconnect-rs/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::new(ErrorKind::Config, "cannot build the HTTP client").with_source(e))?;
        let token_store: Arc<dyn TokenStore> =
            config.token_store.clone().unwrap_or_else(|| Arc::new(MemoryTokenStore::default()));
        Ok(Client {
            inner: Arc::new(Inner {
                gate: Gate::new(config.quota, config.shared_quota.clone()),
                config,
                base,
                http,
                counters: Counters::default(),
                app_token: tokio::sync::Mutex::new(None),
                customer_tokens: tokio::sync::Mutex::new(HashMap::new()),
                refresh_lock: tokio::sync::Mutex::new(()),
                token_store,
                pending_consents: std::sync::Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The configuration the client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The generation the client speaks.
    pub fn generation(&self) -> Generation {
        self.inner.config.generation
    }

    /// The date the client takes as today (Paris).
    pub fn today(&self) -> Date {
        self.inner.config.today.unwrap_or_else(|| today_paris(Timestamp::now()))
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        let c = &self.inner.counters;
        Stats {
            calls: c.calls.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            waits: c.waits.load(Ordering::Relaxed),
            waited_ms: c.waited_ms.load(Ordering::Relaxed),
            throttled_429: c.throttled_429.load(Ordering::Relaxed),
            token_requests: c.token_requests.load(Ordering::Relaxed),
            renewals_after_401: c.renewals_after_401.load(Ordering::Relaxed),
            late_slots: c.late_slots.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn url(&self, path: &str) -> Result<Url, Error> {
        self.inner
            .base
            .join(path.trim_start_matches('/'))
            .map_err(|e| Error::new(ErrorKind::Config, format!("cannot build a URL for {path}")).with_source(e))
    }

    /// Sends `call` and decodes its answer, with the quota gate, tokens,
    /// retries and 429 waits. `decode` runs inside the retry loop, so that
    /// a cut body is fetched again.
    pub(crate) async fn call<T>(&self, call: &Call, decode: impl Fn(&[u8]) -> Result<T, Error>) -> Result<T, Error> {
        let max_attempts = self.inner.config.max_attempts.max(1);
        let mut attempt = 0u32;
        let mut renewed = false;
        let mut throttled = 0u32;
        let conso = self.inner.config.conso_token.as_ref();
        if conso.is_some() && call.api != CONSO_API {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("{}: the Conso API gateway serves a meter's readings only", call.path),
            ));
        }
        // The previous attempt's bare 500, if it was one (see below).
        let mut bare_500: Option<Error> = None;
        loop {
            attempt += 1;
            let bearer = match (&call.auth, conso) {
                (Auth::App, Some(token)) => Some(token.clone()),
                // Token requests go through `call` too (quota, retries), so
                // the futures are boxed to break the async recursion.
                (Auth::App, None) => Some(Box::pin(self.app_token()).await?),
                (Auth::Customer(prm), _) => Some(Box::pin(self.customer_token(prm)).await?),
                (Auth::None | Auth::Basic, _) => None,
            };
            let result = match self.send_once(call, bearer.as_ref()).await {
                Ok(bytes) => decode(&bytes),
                Err(e) => Err(e),
            };
            let e = match result {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            // The 2026 gateway answers 500 to a request outside the API's
            // published description, every time: two bare 500s in a row
            // (no technical-error body, the same answer) are a request
            // error in disguise, and retrying them only spends the quota.
            if self.generation() == Generation::Dc2026 && e.is_bare_500() {
                if bare_500.as_ref().is_some_and(|previous| previous.same_answer(&e)) {
                    return Err(e.rejected_request());
                }
                bare_500 = Some(e.clone_answer());
            } else {
                bare_500 = None;
            }
            match e.kind() {
                ErrorKind::Unauthorized if !renewed && bearer.is_some() => {
                    // The token expired early or was revoked: drop it (if no
                    // other task did already) and try once with a new one.
                    renewed = true;
                    attempt -= 1;
                    bump(&self.inner.counters.renewals_after_401);
                    bump(&self.inner.counters.retries);
                    if let Some(b) = &bearer {
                        self.forget_token(&call.auth, b).await;
                    }
                }
                ErrorKind::RateLimited => {
                    bump(&self.inner.counters.throttled_429);
                    throttled += 1;
                    // The hourly cap without a usable time would only be
                    // hammered by retries: give it back to the caller. The
                    // per-second one clears within a second.
                    if e.is_hourly_quota() && e.retry_after().is_none() {
                        return Err(e);
                    }
                    let wait =
                        e.retry_after().unwrap_or_else(|| Duration::from_secs(1) + jitter(Duration::from_millis(250)));
                    if wait > MAX_429_WAIT || throttled > MAX_429_IN_A_ROW {
                        return Err(e);
                    }
                    tracing::debug!(api = call.api, wait_ms = wait.as_millis() as u64, "429: closing the quota gate");
                    // Everyone waits, not just this task: the budget is
                    // shared.
                    self.inner.gate.close_for(wait, !e.is_hourly_quota()).await;
                    attempt -= 1;
                    bump(&self.inner.counters.retries);
                }
                _ if e.is_retryable() && attempt < max_attempts => {
                    bump(&self.inner.counters.retries);
                    let delay = backoff(attempt);
                    tracing::debug!(path = %call.path, attempt, delay_ms = delay.as_millis() as u64, error = %e, "retrying");
                    tokio::time::sleep(delay).await;
                }
                _ => return Err(e),
            }
        }
    }

    /// One HTTP exchange: gate, request, body. Non-2xx answers become
    /// errors.
    async fn send_once(&self, call: &Call, bearer: Option<&AccessToken>) -> Result<Vec<u8>, Error> {
        let url = self.url(&call.path)?;
        let admission = self.inner.gate.acquire(call.api).await.map_err(|e| {
            Error::new(ErrorKind::Transport, format!("the shared quota could not be reached ({e}); nothing was sent"))
        })?;
        let waited = admission.waited;
        self.inner.counters.late_slots.fetch_add(u64::from(admission.late_skips), Ordering::Relaxed);
        if !waited.is_zero() {
            bump(&self.inner.counters.waits);
            self.inner.counters.waited_ms.fetch_add(waited.as_millis() as u64, Ordering::Relaxed);
        }
        bump(&self.inner.counters.calls);
        let method = if call.post { reqwest::Method::POST } else { reqwest::Method::GET };
        let mut req = self.inner.http.request(method, url).header(reqwest::header::ACCEPT, "application/json");
        if !call.query.is_empty() {
            req = req.query(&call.query);
        }
        match &call.auth {
            Auth::Basic => {
                let cfg = &self.inner.config;
                let raw = format!("{}:{}", cfg.client_id, cfg.client_secret.secret());
                let enc = base64::engine::general_purpose::STANDARD.encode(raw);
                req = req.header(reqwest::header::AUTHORIZATION, format!("Basic {enc}"));
            }
            Auth::App | Auth::Customer(_) => {
                if let Some(b) = bearer {
                    req = req.header(reqwest::header::AUTHORIZATION, format!("Bearer {}", b.secret()));
                }
            }
            Auth::None => {}
        }
        req = match &call.body {
            Body::None => req,
            Body::Form(f) => req.form(f),
            Body::Json(v) => req.json(v),
        };
        let context = format!("{} {}", if call.post { "POST" } else { "GET" }, call.path);
        let resp = req.send().await.map_err(|e| transport(e, &context))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, Timestamp::now()));
        // The server's own time, from its `Date` header: the hourly 429's
        // `nextAccessTime` is measured against it rather than against this
        // machine's clock, which makes the wait immune to clock skew (and
        // right against a sandbox replaying a past day).
        let server_now = resp
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| jiff::fmt::rfc2822::DateTimeParser::new().parse_timestamp(v).ok())
            .unwrap_or_else(Timestamp::now);
        // The body is read as bytes and parsed as JSON whatever the
        // Content-Type says: the 2026 gateway labels JSON
        // `application/octet-stream`.
        //
        // The body is read chunk by chunk up to MAX_BODY: a hostile or
        // broken server (a huge or never-ending body) must not make the
        // client hold more than that in memory.
        let too_large = || {
            Error::new(
                ErrorKind::Decode,
                format!("{context}: the answer is larger than {} MiB; refused", MAX_BODY >> 20),
            )
        };
        if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
            return Err(too_large());
        }
        let mut resp = resp;
        let mut body = Vec::new();
        loop {
            let chunk = resp.chunk().await.map_err(|e| {
                if e.is_timeout() {
                    Error::new(ErrorKind::Timeout, format!("{context}: the answer did not arrive in time"))
                        .with_source(e)
                } else {
                    Error::new(ErrorKind::Truncated, format!("{context}: the answer was cut")).with_source(e)
                }
            })?;
            let Some(chunk) = chunk else { break };
            if body.len() + chunk.len() > MAX_BODY {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        if (200..300).contains(&status) {
            Ok(body)
        } else if self.inner.config.conso_token.is_some() {
            Err(wire::conso::error(status, retry_after, &body, format!("{context} failed"), server_now))
        } else {
            Err(Error::from_response_at(status, retry_after, &body, format!("{context} failed"), server_now)
                .with_api(&call.path))
        }
    }

    /// The application token (generations 2 and 3), fetched once and
    /// shared by every task until shortly before it expires. The client
    /// uses it by itself; it is public for tools that need the bearer (a
    /// `curl` recipe, a diagnostic) and for tests. Never log it.
    pub async fn app_token(&self) -> Result<AccessToken, Error> {
        // Holding the lock while fetching makes the fetch single-flight:
        // tasks that need a token meanwhile wait for this one.
        let mut slot = self.inner.app_token.lock().await;
        if let Some(t) = slot.as_ref().filter(|t| t.fresh()) {
            return Ok(t.token.clone());
        }
        bump(&self.inner.counters.token_requests);
        let call = Call {
            post: true,
            path: "oauth2/v3/token".into(),
            query: Vec::new(),
            body: Body::Form(vec![("grant_type", "client_credentials".into())]),
            auth: Auth::Basic,
            api: "oauth2",
        };
        let answer = self.call(&call, wire::legacy::decode_token).await.map_err(|e| {
            if e.kind() == &ErrorKind::Unauthorized {
                e.with_context("the token endpoint refused the client credentials")
            } else {
                e
            }
        })?;
        let cached = CachedToken::new(answer.access_token, answer.expires_in);
        let token = cached.token.clone();
        *slot = Some(cached);
        Ok(token)
    }

    /// Revokes the cached application token (generations 2 and 3) with
    /// `POST /oauth2/v3/revoke`; the next call fetches a new one.
    pub async fn revoke(&self) -> Result<(), Error> {
        let token = self.inner.app_token.lock().await.take();
        let Some(t) = token else { return Ok(()) };
        let call = Call {
            post: true,
            path: "oauth2/v3/revoke".into(),
            query: Vec::new(),
            body: Body::Form(vec![("token", t.token.secret().to_owned()), ("token_type_hint", "access_token".into())]),
            auth: Auth::Basic,
            api: "oauth2",
        };
        bump(&self.inner.counters.token_requests);
        self.call(&call, |_| Ok(())).await
    }

    async fn forget_token(&self, auth: &Auth, used: &AccessToken) {
        match auth {
            Auth::App => {
                let mut slot = self.inner.app_token.lock().await;
                if slot.as_ref().is_some_and(|t| t.token == *used) {
                    *slot = None;
                }
            }
            Auth::Customer(prm) => {
                let mut map = self.inner.customer_tokens.lock().await;
                if map.get(prm).is_some_and(|t| t.token == *used) {
                    map.remove(prm);
                }
            }
            _ => {}
        }
    }

    fn redirect_uri(&self) -> Result<&Url, Error> {
        self.inner.config.redirect_uri.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                "generation 1 needs the registered redirect_uri (it goes in the token URL's query string)",
            )
        })
    }

    /// A generation 1 token call: `POST /v1/oauth2/token?redirect_uri=…`,
    /// with the grant and the client credentials in the form body, as the
    /// seed does it.
    pub(crate) async fn legacy_token(
        &self,
        grant: Vec<(&'static str, String)>,
    ) -> Result<wire::legacy::TokenAnswer, Error> {
        let cfg = &self.inner.config;
        let mut form = grant;
        form.push(("client_id", cfg.client_id.clone()));
        form.push(("client_secret", cfg.client_secret.secret().to_owned()));
        let call = Call {
            post: true,
            path: "v1/oauth2/token".into(),
            query: vec![("redirect_uri", self.redirect_uri()?.to_string())],
            body: Body::Form(form),
            auth: Auth::None,
            api: "oauth2",
        };
        bump(&self.inner.counters.token_requests);
        self.call(&call, wire::legacy::decode_token).await
    }

    /// Keeps a generation 1 token answer: the access token in memory and
    /// the refresh token in the token store, for every usage point it
    /// covers.
    pub(crate) async fn keep_legacy_tokens(
        &self,
        answer: &wire::legacy::TokenAnswer,
        usage_points: &[UsagePointId],
    ) -> Result<(), Error> {
        let cached = CachedToken::new(answer.access_token.clone(), answer.expires_in);
        let mut map = self.inner.customer_tokens.lock().await;
        for prm in usage_points {
            map.insert(prm.clone(), cached.clone());
            if let Some(rt) = &answer.refresh_token {
                self.inner
                    .token_store
                    .save(prm, &StoredToken { refresh_token: rt.clone(), issued_at: answer.refresh_token_issued_at })?;
            }
        }
        Ok(())
    }

    /// The customer's access token for `prm` (generation 1), refreshed
    /// from the stored refresh token when needed.
    async fn customer_token(&self, prm: &UsagePointId) -> Result<AccessToken, Error> {
        if let Some(t) = self.inner.customer_tokens.lock().await.get(prm).filter(|t| t.fresh()) {
            return Ok(t.token.clone());
        }
        let _refreshing = self.inner.refresh_lock.lock().await;
        // Another task may have refreshed while this one waited.
        if let Some(t) = self.inner.customer_tokens.lock().await.get(prm).filter(|t| t.fresh()) {
            return Ok(t.token.clone());
        }
        let stored = self.inner.token_store.load(prm)?.ok_or_else(|| {
            Error::new(ErrorKind::NoToken, format!("no refresh token is stored for usage point {prm}"))
        })?;
        let answer = match self
            .legacy_token(vec![
                ("grant_type", "refresh_token".into()),
                ("refresh_token", stored.refresh_token.secret().to_owned()),
            ])
            .await
        {
            Ok(a) => a,
            Err(e) if e.needs_consent() || e.kind() == &ErrorKind::Unauthorized => {
                // The refresh token is dead (consent ended or revoked):
                // forget it, so that the next run asks for consent instead
                // of failing the same way.
                self.inner.token_store.remove(prm)?;
                return Err(Error::new(
                    ErrorKind::ConsentRequired,
                    format!("the refresh token of usage point {prm} was refused: {e}"),
                ));
            }
            Err(e) => return Err(e),
        };
        let mut covered = vec![prm.clone()];
        covered.extend(answer.usage_points.iter().filter_map(|s| UsagePointId::new(s).ok()).filter(|p| p != prm));
        // A refresh answer without a new refresh token keeps the old one.
        self.keep_legacy_tokens(&answer, &covered).await?;
        Ok(answer.access_token)
    }
}

fn transport(e: reqwest::Error, context: &str) -> Error {
    if e.is_timeout() {
        Error::new(ErrorKind::Timeout, format!("{context}: no answer in time")).with_source(e)
    } else {
        Error::new(ErrorKind::Transport, format!("{context}: the connection failed")).with_source(e)
    }
}

/// A uniformly random duration in `[0, max)`, from the OS's randomness.
pub(crate) fn jitter(max: Duration) -> Duration {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        return max / 2;
    }
    let r = u64::from_le_bytes(b) as f64 / u64::MAX as f64;
    max.mul_f64(r)
}

/// Exponential backoff with full jitter: 100 ms, 200 ms, 400 ms… (capped
/// at 5 s), each multiplied by a random factor in [0.5, 1.5).
fn backoff(attempt: u32) -> Duration {
    let base =
        Duration::from_millis(100).saturating_mul(1 << attempt.saturating_sub(1).min(6)).min(Duration::from_secs(5));
    base / 2 + jitter(base)
}

/// Which quota budget a path counts against: per API for generation 3
/// (`mesure_synchrone_auto`, `situation_contrat_auto`…), one for the whole
/// application otherwise.
pub(crate) fn api_of(generation: Generation, path: &str) -> &'static str {
    if generation != Generation::Dc2026 {
        return "application";
    }
    match path.split('/').next().unwrap_or_default() {
        "mesure_synchrone_auto" => "mesure_synchrone_auto",
        "situation_contrat_auto" => "situation_contrat_auto",
        "synth_contrat_auto" => "synth_contrat_auto",
        "comptage_auto" => "comptage_auto",
        "donnees_generales_auto" => "donnees_generales_auto",
        "alimentation_auto" => "alimentation_auto",
        "subscribed_services" => "subscribed_services",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sandbox on port 0 (stopped when the test's runtime ends) and a
    /// generation 3 client for it.
    async fn sandbox_client() -> Client {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let config = dataconnect_sandbox::SandboxConfig {
            today: Some(jiff::civil::date(2025, 11, 20)),
            quota_per_second: 0,
            ..Default::default()
        };
        let sandbox = dataconnect_sandbox::Sandbox::new(config).expect("sandbox");
        tokio::spawn(dataconnect_sandbox::serve(listener, sandbox, std::future::pending()));
        let base: Url = format!("http://{addr}/").parse().expect("url");
        let mut config = ClientConfig::new(
            base,
            Generation::Dc2026,
            dataconnect_sandbox::DEFAULT_CLIENT_ID,
            ClientSecret::new(dataconnect_sandbox::DEFAULT_CLIENT_SECRET),
        );
        config.quota = QuotaConfig { per_second: 1000, per_hour: 100_000 };
        Client::new(config).expect("client")
    }

    #[tokio::test]
    async fn a_request_outside_the_description_is_not_retried_past_its_second_500() {
        let client = sandbox_client().await;
        client.app_token().await.expect("token");
        let before = client.stats().calls;
        // The guide's spelling of the index path: the gateway (and the
        // sandbox) answer it with a bare 500, every time.
        let mut call = Call::get("mesure_synchrone_auto/v2/index_consumption", "mesure_synchrone_auto", Auth::App);
        call.query = vec![
            ("pointId", "22516914714270".into()),
            ("dateDebut", "2025-11-01".into()),
            ("dateFin", "2025-11-02".into()),
        ];
        let e = client.call(&call, |b| Ok(b.to_vec())).await.expect_err("refused");
        assert_eq!(e.kind(), &ErrorKind::RequestRejected, "{e}");
        assert!(!e.is_retryable());
        assert_eq!(e.status(), Some(500));
        assert_eq!(e.api(), Some("mesure_synchrone_auto"));
        // Two calls, not `max_attempts` (4).
        assert_eq!(client.stats().calls - before, 2);
        assert!(e.to_string().contains("published description"), "{e}");
    }

    #[test]
    fn a_technical_500_stays_retryable() {
        let technical = Error::from_response(
            500,
            None,
            "{\"code\":\"500\",\"message\":\"Problème technique dans l'interrogation du SI coeur\"}".as_bytes(),
            "test".into(),
        );
        assert!(!technical.is_bare_500() && technical.is_retryable());
        let adam = Error::from_response(
            500,
            None,
            br#"{"error":"ADAM-DC-0500","error_description":"Technical Exception"}"#,
            "t".into(),
        );
        assert!(!adam.is_bare_500());
        let bare = Error::from_response(500, None, b"", "test".into());
        assert!(bare.is_bare_500() && bare.same_answer(&bare.clone_answer()));
        let unavailable = Error::from_response(503, None, b"", "test".into());
        assert!(!unavailable.is_bare_500());
    }
}
