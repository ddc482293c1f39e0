//! # dataconnect
//!
//! A client library for Enedis Data Connect, the API through which an
//! application reads a Linky smart meter's data with its customer's consent.
//! It covers the three generations of the API (legacy v3/v4, v5 and "Data
//! Connect 2026") behind one domain model.
//!
//! Brief overview:
//! - [`domain`]: the meter ([`UsagePointId`]), its five [`Series`],
//!   [`Reading`]s as UTC intervals, [`DateRange`]s of Paris civil days,
//!   [`Consent`]s, [`Contract`], [`Address`], [`Identity`], [`Contact`]. No
//!   I/O, no wire details.
//! - [`Client`] and [`ClientConfig`]: one client per application, cheap to
//!   clone, with one quota gate ([`QuotaConfig`]) and one token cache shared
//!   by every clone and task; [`Client::stats`] counts calls, retries,
//!   waits and 429s.
//! - Consent: [`Client::consent_request`] builds the authorize URL and its
//!   random `state`; [`Client::complete_consent`] checks the redirect (state
//!   first, in constant time) and turns it into a [`Consent`], exchanging
//!   the code (generation 1) or resolving the authorisation (generation 3).
//! - Data: [`Client::readings`] for any range (clamping, 7- or 365-day
//!   windows, concurrency under the quota, ordering and deduplication
//!   inside), [`Client::window`] for exactly one call, and
//!   [`Client::contract`], [`Client::address`], [`Client::identity`],
//!   [`Client::contact`]; each builder ends in `.send().await`.
//! - [`plan_windows`]: the pure planning of a range into API calls.
//! - [`Error`] and [`ErrorKind`]: what went wrong and what to do about it
//!   ([`Error::is_retryable`], [`Error::retry_after`],
//!   [`Error::needs_consent`], [`Error::is_clamp`],
//!   [`Error::stops_series`]).
//! - [`TokenStore`] and [`FileTokenStore`]: where generation 1 refresh
//!   tokens are kept between runs.
//!
//! The examples below run as they are against the offline emulator
//! (`dataconnect-sandbox`), started on a free port by a few hidden lines;
//! against Enedis, use [`PRODUCTION_BASE_URL`] and your DataHub
//! credentials instead. Each example plays the customer's browser on the
//! consent page with a hidden `browse` helper.
//!
//! ## Generation 3, "Data Connect 2026" (the default)
//!
//! The consent comes back with an `autorisation_id`, which the client
//! resolves into the meter with `POST /subscribed_services/v1`; the data
//! and contract calls use the application token.
//!
//! ```
//! # use std::time::Duration;
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let base = sandbox().await?;
//! use dataconnect::{Client, ClientConfig, ClientSecret, DateRange, Generation, QuotaConfig, Series};
//!
//! let client = Client::new(ClientConfig {
//!     base_url: base,
//!     generation: Generation::Dc2026,
//!     client_id: "dataconnect-sandbox-client".into(),
//!     client_secret: ClientSecret::new("dataconnect-sandbox-secret"),
//!     redirect_uri: None,
//!     today: Some("2025-11-20".parse()?),
//!     quota: QuotaConfig::default(),
//!     timeout: Duration::from_secs(30),
//!     max_attempts: 4,
//!     token_store: None,
//!     shared_quota: None,
//!     conso_token: None,
//! })?;
//! // Send the customer to the consent page (the last digit of the state
//! // picks a sandbox test client; use `None` in production).
//! let request = client.consent_request("P3Y".parse()?, Some(0))?;
//! let redirect = browse(request.url()).await?; // the customer's browser comes back here
//! let consent = client.complete_consent(&redirect, request.state()).await?;
//! let prm = &consent.usage_points[0];
//!
//! // Any range: the client splits it into 7-day windows, clamps it to what
//! // the API serves, and runs the calls under the quota.
//! let contract = client.contract(prm).send().await?;
//! let range = DateRange::new("2025-10-01".parse()?, "2025-11-01".parse()?)?;
//! let curve = client.readings(prm, Series::ConsumptionCurve, range).send().await?;
//! // October has 31 days, one of them 25 hours long.
//! assert_eq!(curve.readings.len(), 31 * 48 + 2);
//! println!("{:?} kVA, {} points", contract.subscribed_power_kva, curve.readings.len());
//! # Ok(()) }
//! # async fn sandbox() -> Result<url::Url, Box<dyn std::error::Error>> {
//! #     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! #     let base = format!("http://{}/", listener.local_addr()?).parse()?;
//! #     let config = dataconnect_sandbox::SandboxConfig { today: Some("2025-11-20".parse()?), ..Default::default() };
//! #     let sandbox = dataconnect_sandbox::Sandbox::new(config)?;
//! #     tokio::spawn(dataconnect_sandbox::serve(listener, sandbox, std::future::pending()));
//! #     Ok(base)
//! # }
//! # async fn browse(url: url::Url) -> Result<url::Url, Box<dyn std::error::Error>> {
//! #     let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
//! #     let resp = http.get(url).send().await?;
//! #     if let Some(loc) = resp.headers().get("location") { return Ok(loc.to_str()?.parse()?) }
//! #     let page = resp.text().await?;
//! #     let start = page.find("var url = \"").ok_or("no redirect")? + 11;
//! #     let end = start + page[start..].find('"').ok_or("no redirect")?;
//! #     Ok(page[start..end].parse()?)
//! # }
//! ```
//!
//! ## Generation 2, v5
//!
//! The redirect names the meters (`;`-separated); errors say what to do.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let base = sandbox().await?;
//! use dataconnect::{Client, ClientConfig, ClientSecret, DateRange, Generation, Series};
//!
//! let mut config = ClientConfig::new(base, Generation::V5, "dataconnect-sandbox-client", ClientSecret::new("dataconnect-sandbox-secret"));
//! config.today = Some("2025-11-20".parse()?);
//! let client = Client::new(config)?;
//! // Sandbox client 7 shares three meters at once.
//! let request = client.consent_request("P1Y".parse()?, Some(7))?;
//! let consent = client.complete_consent(&browse(request.url()).await?, request.state()).await?;
//! assert_eq!(consent.usage_points.len(), 3);
//!
//! let year = DateRange::new("2024-11-20".parse()?, "2025-11-20".parse()?)?;
//! for prm in &consent.usage_points {
//!     let daily = client.readings(prm, Series::ConsumptionDaily, year).send().await?;
//!     let kwh: f64 = daily.readings.iter().filter_map(|r| r.value).sum::<f64>() / 1000.0;
//!     println!("{prm}: {kwh:.0} kWh over {} days", daily.readings.len());
//! }
//! // A production series of a consumption meter: stop asking for it.
//! let err = client.readings(&consent.usage_points[0], Series::ProductionDaily, year).send().await.unwrap_err();
//! assert!(err.stops_series() && !err.is_retryable());
//! # Ok(()) }
//! # async fn sandbox() -> Result<url::Url, Box<dyn std::error::Error>> {
//! #     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! #     let base = format!("http://{}/", listener.local_addr()?).parse()?;
//! #     let config = dataconnect_sandbox::SandboxConfig { today: Some("2025-11-20".parse()?), ..Default::default() };
//! #     let sandbox = dataconnect_sandbox::Sandbox::new(config)?;
//! #     tokio::spawn(dataconnect_sandbox::serve(listener, sandbox, std::future::pending()));
//! #     Ok(base)
//! # }
//! # async fn browse(url: url::Url) -> Result<url::Url, Box<dyn std::error::Error>> {
//! #     let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
//! #     let resp = http.get(url).send().await?;
//! #     if let Some(loc) = resp.headers().get("location") { return Ok(loc.to_str()?.parse()?) }
//! #     Err("no redirect".into())
//! # }
//! ```
//!
//! ## Generation 1, legacy
//!
//! Tokens are per customer: the code of the redirect is exchanged for an
//! access token and a refresh token, which a [`TokenStore`] keeps (here a
//! file, mode 0600); the client refreshes the access token by itself.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let base = sandbox().await?;
//! # let dir = tempfile::tempdir()?;
//! use std::sync::Arc;
//! use dataconnect::{Client, ClientConfig, ClientSecret, DateRange, FileTokenStore, Generation, LegacyVersion, Series};
//!
//! let mut config = ClientConfig::new(base, Generation::Legacy, "dataconnect-sandbox-client", ClientSecret::new("dataconnect-sandbox-secret"));
//! config.redirect_uri = Some("http://127.0.0.1:8081/callback".parse()?);
//! config.token_store = Some(Arc::new(FileTokenStore::new(dir.path().join("tokens.json"))));
//! config.today = Some("2025-11-20".parse()?);
//! let client = Client::new(config)?;
//! let request = client.consent_request("P1Y".parse()?, Some(0))?;
//! let consent = client.complete_consent(&browse(request.url()).await?, request.state()).await?;
//!
//! // consometers/data-connect's v3 paths number the half-hours (`rank`); the client turns
//! // them into instants like every other generation.
//! let days = DateRange::new("2025-11-01".parse()?, "2025-11-05".parse()?)?;
//! let curve = client
//!     .readings(&consent.usage_points[0], Series::ConsumptionCurve, days)
//!     .legacy_version(LegacyVersion::V3)
//!     .send()
//!     .await?;
//! assert_eq!(curve.readings.len(), 4 * 48);
//! # Ok(()) }
//! # async fn sandbox() -> Result<url::Url, Box<dyn std::error::Error>> {
//! #     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! #     let base = format!("http://{}/", listener.local_addr()?).parse()?;
//! #     let config = dataconnect_sandbox::SandboxConfig { today: Some("2025-11-20".parse()?), ..Default::default() };
//! #     let sandbox = dataconnect_sandbox::Sandbox::new(config)?;
//! #     tokio::spawn(dataconnect_sandbox::serve(listener, sandbox, std::future::pending()));
//! #     Ok(base)
//! # }
//! # async fn browse(url: url::Url) -> Result<url::Url, Box<dyn std::error::Error>> {
//! #     let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
//! #     let page = http.get(url).send().await?.text().await?;
//! #     let start = page.find("var url = \"").ok_or("no redirect")? + 11;
//! #     let end = start + page[start..].find('"').ok_or("no redirect")?;
//! #     Ok(page[start..end].parse()?)
//! # }
//! ```
//!
//! ## Choices where the spec is uncertain
//!
//! The client takes the most tolerant reading and says so where it
//! decides: numbers as strings or numbers, `null` and `"null"` values,
//! both DST stamp conventions, both contact-object names, a bare array or
//! a wrapped list of contracts, JSON whatever the `Content-Type`. The
//! consent `state` carries 192 random bits.

#![warn(missing_docs)]

pub mod domain;
pub mod import;

mod api;
mod client;
mod consent;
mod error;
mod plan;
mod quota;
mod secret;
mod token_store;
mod wire;

pub use api::{
    AddressRequest, ContactRequest, ContractRequest, CurveCollection, Fetched, IdentityRequest, IndexRequest,
    IndexWindowRequest, LegacyVersion, MaxPower, MaxPowerRequest, ReadingsRequest, WindowRequest,
};
pub use client::{
    CONSO_API_BASE_URL, Client, ClientConfig, LEGACY_PRODUCTION_BASE_URL, LEGACY_SANDBOX_BASE_URL,
    PRODUCTION_AUTHORIZE_BASE_URL, PRODUCTION_BASE_URL, SANDBOX_BASE_URL, Stats,
};
pub use consent::ConsentRequest;
pub use domain::{
    Address, CalendarOwner, Consent, ConsentDuration, Contact, Contract, DateRange, Direction, Generation, GeoPoint,
    Identity, IndexReading, LegalEntity, Measure, NaturalPerson, OffPeakRange, Reading, Series, Unit, UsagePointId,
};
pub use error::{Error, ErrorKind};
pub use plan::{Plan, history_deadline, plan_windows};
pub use quota::{
    QuotaConfig, QuotaFuture, Reservation, SHARED_MARGIN_STEP, SHARED_MAX_MARGIN, SHARED_SECOND_MARGIN, SharedQuota,
    SharedQuotaError,
};
pub use secret::{AccessToken, AuthorizationCode, ClientSecret, RefreshToken};
pub use token_store::{FileTokenStore, MemoryTokenStore, StoredToken, TokenStore};

#[cfg(any(test, feature = "internals"))]
pub mod fuzzing;

/// Entry points for the decoding benchmark (`benches/decode.rs`), with the
/// `internals` feature only: not part of the API, no stability promise.
#[cfg(feature = "internals")]
pub mod bench {
    use crate::domain::{DateRange, Reading, Series};
    use crate::error::Error;

    /// Decodes a v5 metering body.
    pub fn decode_v5(body: &[u8], series: Series, window: DateRange) -> Result<Vec<Reading>, Error> {
        crate::wire::v5::decode_readings(body, series, window)
    }

    /// Decodes a 2026 mesure body.
    pub fn decode_2026(body: &[u8], series: Series, window: DateRange) -> Result<Vec<Reading>, Error> {
        crate::wire::dc2026::decode_readings(body, series, window)
    }
}
