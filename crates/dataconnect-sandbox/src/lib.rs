//! # dataconnect-sandbox
//!
//! An offline emulator of Enedis Data Connect, faithful down to its error
//! bodies, quotas and sandbox test clients, serving all three API
//! generations (legacy v3/v4, v5, "Data Connect 2026") on one base URL.
//!
//! Brief overview:
//! - [`SandboxConfig`] is the registered application and the knobs of the
//!   emulator (frozen day, quotas, fault injection, request log).
//! - [`Sandbox`] is the shared state built from it; [`app`] turns it into an
//!   axum `Router` (tests can drive it without a port) and [`serve`] runs it
//!   on a listener until a shutdown future completes.
//! - `platform` holds what the Enedis gateway does around the data:
//!   consent pages, tokens, bearer checks, quotas, faults, the request log
//!   and the OpenAPI description.
//! - `data` holds the data and customer routes of each generation, the date
//!   rules and the deterministic synthetic household behind them; `meters`
//!   is the table of test meters they all derive from.
//!
//! **Architecture Invariant:** this crate does not import the client's wire
//! types (it does not depend on the `dataconnect` crate at all). It is a
//! second, independent reading of the spec.

#![warn(missing_docs)]

pub mod cli;
mod clock;
mod data;
mod meters;
mod platform;
mod rte;

pub use meters::{FLEET_MAX, fleet_prm};
pub use platform::DEFAULT_QUOTA_TOLERANCE;
pub use rte::{TEMPO_PATH, TOKEN_PATH, colour as tempo_colour};

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use jiff::civil::Date;

/// The client id of the sandbox's registered application, when none is given.
pub const DEFAULT_CLIENT_ID: &str = "dataconnect-sandbox-client";
/// The client secret of the sandbox's registered application, when none is
/// given. It is public on purpose: it only opens the offline sandbox.
pub const DEFAULT_CLIENT_SECRET: &str = "dataconnect-sandbox-secret";
/// The redirect URI registered for the sandbox's application, when none is
/// given.
pub const DEFAULT_REDIRECT_URI: &str = "http://127.0.0.1:8081/callback";

/// Lifetime of an access token, in seconds, as Enedis gives it (3 h 30 min).
pub const DEFAULT_TOKEN_TTL_SECS: u64 = 12_600;
/// Lifetime of a generation 1 authorization code, in seconds (the seed:
/// "Valable 180 s").
pub const DEFAULT_CODE_TTL_SECS: u64 = 180;

/// The registered application and the emulator's settings.
#[derive(Clone)]
pub struct SandboxConfig {
    /// The registered application's client id.
    pub client_id: String,
    /// The registered application's client secret.
    pub client_secret: String,
    /// The registered redirect URI (generations 2 and 3 always redirect
    /// there; generation 1 requires the authorize request to match it).
    pub redirect_uri: String,
    /// Freezes the calendar: the clock starts at this day 12:00 Paris time
    /// and runs from there. `None` is the real date.
    pub today: Option<Date>,
    /// Calls per second allowed per application (Enedis: 5).
    pub quota_per_second: u32,
    /// Calls per clock hour allowed per application on the generation 1
    /// and 2 APIs.
    pub quota_per_hour: u32,
    /// Calls per clock hour allowed per generation 3 API (the published
    /// description of each: 1,000).
    pub quota_per_hour_api: u32,
    /// How much earlier than a full second after the call `N` calls before
    /// it a call may arrive and still be admitted by the per-second quota
    /// (see `platform::quota`): [`DEFAULT_QUOTA_TOLERANCE`] by default,
    /// zero for the strict window.
    pub quota_tolerance: Duration,
    /// The APIs the application has not subscribed to on Enedis's
    /// developer portal, by the first segment of their path
    /// (`comptage_auto`, `mesure_synchrone_auto`, `metering_data_clc`…):
    /// every call to them answers 403 with WSO2's code 900908 ("API
    /// Subscription validation failed"), as the real gateway does.
    pub unsubscribed_apis: Vec<String>,
    /// The day from which the v5 APIs answer as a retired API does (404
    /// "No matching resource found for given API Request", the answer WSO2
    /// gives for an API it no longer serves: an assumption, since Enedis
    /// published no date nor capture of v5's retirement). `None` (the
    /// default) keeps v5 answering on every day.
    pub retire_v5: Option<Date>,
    /// Answer a generation 3 request outside its published description
    /// (a parameter it does not list, a path under one of its APIs that it
    /// does not describe) with a 400 `{code, message}` naming the problem
    /// instead of the gateway's bare 500. Off by default: the real gateway
    /// answers 500 there.
    pub out_of_spec_400: bool,
    /// Share of data and token calls that fail as the real service fails
    /// (0 to 1).
    pub fault_rate: f64,
    /// Seed of the fault injection, so a run can be replayed.
    pub seed: u64,
    /// Where to append one JSON line per request.
    pub request_log: Option<PathBuf>,
    /// Show an interactive consent page instead of granting at once.
    pub consent_page: bool,
    /// Lifetime of an access token (Enedis: 12600 s). Tests shorten it to
    /// see expiry without waiting hours.
    pub token_ttl: Duration,
    /// Lifetime of a generation 1 authorization code (Enedis: 180 s).
    pub code_ttl: Duration,
    /// How long an injected "timeout" fault holds its response (Enedis's
    /// gateway gives up after 30 s; the default is 31 s so a client with a
    /// 30 s timeout sees it as a timeout). Tests shorten it.
    pub fault_delay: Duration,
    /// Synthetic consumption meters added to the table: PRMs
    /// `25000000000001` to `25000000000000 + fleet` ([`fleet_prm`]), PT30M
    /// curve collected, active since the Linky rollout, each with its own
    /// data. Their customers consented before the sandbox started: the
    /// registered application reaches them with an application token, in
    /// every generation, until three years after the sandbox's first day.
    /// At most [`FLEET_MAX`].
    pub fleet: u32,
    /// Label the JSON answers of generation 3's GET APIs (the metering and
    /// contract ones) `application/octet-stream`, as the 2026 gateway was
    /// seen doing on Enedis's sandbox (one source: esthesis-iot/esthesis-edge's
    /// `EnedisJsonResponseFilter`). Off by default: the OpenAPI
    /// description says `application/json`; on, a client is tested against
    /// the quirk (ours parses the body as JSON whatever the label).
    pub octet_stream: bool,
    /// Production-like consent checks: data and contract calls made with an
    /// application token answer only for meters with a live consent given
    /// through this sandbox's consent pages (or the fleet's), and ADAM-DC-0008
    /// otherwise, as Enedis does. Off by default, where every known meter
    /// answers (handy for trying the API without a consent journey); on,
    /// a test can tell a consent that was given from one that was forged.
    pub strict_consent: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            client_secret: DEFAULT_CLIENT_SECRET.to_owned(),
            redirect_uri: DEFAULT_REDIRECT_URI.to_owned(),
            today: None,
            quota_per_second: 5,
            quota_per_hour: 10_000,
            quota_per_hour_api: 1_000,
            quota_tolerance: DEFAULT_QUOTA_TOLERANCE,
            unsubscribed_apis: Vec::new(),
            retire_v5: None,
            out_of_spec_400: false,
            fault_rate: 0.0,
            seed: 0,
            request_log: None,
            consent_page: false,
            token_ttl: Duration::from_secs(DEFAULT_TOKEN_TTL_SECS),
            code_ttl: Duration::from_secs(DEFAULT_CODE_TTL_SECS),
            fault_delay: Duration::from_secs(31),
            fleet: 0,
            octet_stream: false,
            strict_consent: false,
        }
    }
}

impl std::fmt::Debug for SandboxConfig {
    // The secret stays out of logs even though the default one is public:
    // a user may run the sandbox with a real-looking secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("redirect_uri", &self.redirect_uri)
            .field("today", &self.today)
            .field("quota_per_second", &self.quota_per_second)
            .field("quota_per_hour", &self.quota_per_hour)
            .field("quota_per_hour_api", &self.quota_per_hour_api)
            .field("quota_tolerance", &self.quota_tolerance)
            .field("unsubscribed_apis", &self.unsubscribed_apis)
            .field("retire_v5", &self.retire_v5)
            .field("out_of_spec_400", &self.out_of_spec_400)
            .field("fault_rate", &self.fault_rate)
            .field("seed", &self.seed)
            .field("request_log", &self.request_log)
            .field("consent_page", &self.consent_page)
            .field("token_ttl", &self.token_ttl)
            .field("code_ttl", &self.code_ttl)
            .field("fault_delay", &self.fault_delay)
            .field("fleet", &self.fleet)
            .field("octet_stream", &self.octet_stream)
            .field("strict_consent", &self.strict_consent)
            .finish()
    }
}

/// The emulator's shared state; cheap to clone.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

struct Inner {
    config: SandboxConfig,
    clock: clock::Clock,
    platform: platform::Platform,
    /// The first day (Paris) on which the fleet's consent no longer holds.
    fleet_consent_end: Date,
    /// RTE's Tempo API (its issued tokens).
    rte: rte::Rte,
}

/// What a valid bearer token gives access to.
#[derive(Clone, Debug)]
pub(crate) enum Access {
    /// A generation 2 or 3 application token: every PRM with a consent on
    /// record (in the sandbox: every known, non-revoked meter; with
    /// `strict_consent`, the meters of live consents given through it).
    Application,
    /// A generation 1 customer token: only the PRMs of its consent.
    Customer { usage_points: Vec<String> },
}

impl Sandbox {
    /// Builds the emulator's state from its configuration.
    ///
    /// Fails (`InvalidInput`) when the fleet is larger than [`FLEET_MAX`],
    /// or when the request log cannot be opened.
    pub fn new(config: SandboxConfig) -> std::io::Result<Self> {
        if config.fleet > FLEET_MAX {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("a fleet of {} meters is more than the sandbox serves; use at most {FLEET_MAX}", config.fleet),
            ));
        }
        let clock = clock::Clock::new(config.today);
        let platform = platform::Platform::new(&config)?;
        // "Consented earlier, for three years": the end is counted from the
        // sandbox's first day, so a long-running sandbox sees it expire.
        let first_day = clock.today();
        let fleet_consent_end = first_day.checked_add(jiff::Span::new().years(3)).unwrap_or(Date::MAX);
        Ok(Sandbox { inner: Arc::new(Inner { config, clock, platform, fleet_consent_end, rte: rte::Rte::default() }) })
    }

    /// The first day (Paris) on which the fleet's consent no longer holds:
    /// three years after the sandbox's first day.
    pub(crate) fn fleet_consent_end(&self) -> Date {
        self.inner.fleet_consent_end
    }

    pub(crate) fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }

    pub(crate) fn clock(&self) -> &clock::Clock {
        &self.inner.clock
    }

    pub(crate) fn platform(&self) -> &platform::Platform {
        &self.inner.platform
    }

    pub(crate) fn rte(&self) -> &rte::Rte {
        &self.inner.rte
    }
}

/// The emulator as a router. Having a function that produces the app makes
/// it easy to call it from tests without creating an HTTP server.
pub fn app(state: Sandbox) -> Router {
    let routes = data::routes().merge(platform::routes()).merge(rte::routes());
    platform::layers(routes, state.clone()).with_state(state)
}

/// Serves the emulator on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Sandbox,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown).await
}
