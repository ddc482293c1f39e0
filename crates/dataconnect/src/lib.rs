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
//!   by every clone and task.
//! - Consent: [`Client::consent_request`] builds the authorize URL,
//!   [`Client::complete_consent`] checks the redirect and turns it into a
//!   [`Consent`].
//! - Data: [`Client::readings`] for any range (windows, clamping,
//!   concurrency, ordering and deduplication inside), [`Client::contract`],
//!   [`Client::address`], [`Client::identity`], [`Client::contact`]; each
//!   builder ends in `.send().await`.
//! - [`plan_windows`]: the pure planning of a range into API calls.
//! - [`Error`] and [`ErrorKind`]: what went wrong and what to do
//!   ([`Error::is_retryable`], [`Error::needs_consent`],
//!   [`Error::is_clamp`], [`Error::stops_series`]).
//! - [`TokenStore`] and [`FileTokenStore`]: where generation 1 refresh
//!   tokens are kept.
//!
//! ## Generation 3, "Data Connect 2026" (the default)
//!
//! ```no_run
//! use dataconnect::{Client, ClientConfig, ClientSecret, DateRange, Generation, Series, UsagePointId};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::new(ClientConfig::new(
//!     dataconnect::PRODUCTION_BASE_URL.parse()?,
//!     Generation::Dc2026,
//!     "my-client-id",
//!     ClientSecret::new(std::env::var("DATACONNECT_CLIENT_SECRET")?),
//! ))?;
//! // 1. Send the customer to the consent page.
//! let request = client.consent_request("P3Y".parse()?, None)?;
//! println!("open {}", request.url());
//! // 2. When the browser comes back to the redirect URI:
//! # let redirect: url::Url = "https://app.example/cb?autorisation_id=1&state=x".parse()?;
//! let consent = client.complete_consent(&redirect, request.state()).await?;
//! // 3. Read any range; windows, quota and retries are handled inside.
//! let prm = &consent.usage_points[0];
//! let range = DateRange::new("2026-01-01".parse()?, "2026-03-01".parse()?)?;
//! let fetched = client.readings(prm, Series::ConsumptionCurve, range).send().await?;
//! println!("{} points", fetched.readings.len());
//! # Ok(()) }
//! ```
//!
//! The examples below run against a local copy of the sandbox,
//! `dataconnect-sandbox`, as the crate's integration tests do; see
//! `tests/it/` for every endpoint of every generation.
//!
//! ## Generation 2, v5
//!
//! ```no_run
//! use dataconnect::{Client, ClientConfig, ClientSecret, DateRange, Generation, Series, UsagePointId};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = ClientConfig::new(
//!     dataconnect::SANDBOX_BASE_URL.parse()?,
//!     Generation::V5,
//!     "my-client-id",
//!     ClientSecret::new("my-secret"),
//! );
//! config.today = Some("2024-03-10".parse()?);
//! let client = Client::new(config)?;
//! let prm: UsagePointId = "22516914714270".parse()?;
//! let contract = client.contract(&prm).send().await?;
//! let range = DateRange::new("2024-03-01".parse()?, "2024-03-08".parse()?)?;
//! let daily = client.readings(&prm, Series::ConsumptionDaily, range)
//!     .activation(contract.activation_date.unwrap_or(range.start()))
//!     .send()
//!     .await?;
//! for r in &daily.readings {
//!     println!("{} {:?} {}", r.start, r.value, r.unit);
//! }
//! # Ok(()) }
//! ```
//!
//! ## Generation 1, legacy
//!
//! Tokens are per customer: the code of the redirect is exchanged for an
//! access token and a refresh token, which a [`TokenStore`] keeps.
//!
//! ```no_run
//! use std::sync::Arc;
//! use dataconnect::{Client, ClientConfig, ClientSecret, FileTokenStore, Generation, Series, DateRange};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = ClientConfig::new(
//!     dataconnect::LEGACY_SANDBOX_BASE_URL.parse()?,
//!     Generation::Legacy,
//!     "my-client-id",
//!     ClientSecret::new("my-secret"),
//! );
//! config.redirect_uri = Some("https://app.example/dataconnect/redirect".parse()?);
//! config.token_store = Some(Arc::new(FileTokenStore::new("/var/lib/app/tokens.json")));
//! let client = Client::new(config)?;
//! let request = client.consent_request("P1Y".parse()?, None)?;
//! # let redirect: url::Url = "https://app.example/dataconnect/redirect?code=c&state=x&usage_point_id=22516914714270".parse()?;
//! let consent = client.complete_consent(&redirect, request.state()).await?;
//! let range = DateRange::new("2019-12-01".parse()?, "2019-12-05".parse()?)?;
//! let curve = client.readings(&consent.usage_points[0], Series::ConsumptionCurve, range).send().await?;
//! # Ok(()) }
//! ```

pub mod domain;

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
    AddressRequest, ContactRequest, ContractRequest, Fetched, IdentityRequest, LegacyVersion, ReadingsRequest, WindowRequest,
};
pub use client::{
    Client, ClientConfig, LEGACY_PRODUCTION_BASE_URL, LEGACY_SANDBOX_BASE_URL, PRODUCTION_AUTHORIZE_BASE_URL,
    PRODUCTION_BASE_URL, SANDBOX_BASE_URL, Stats,
};
pub use consent::ConsentRequest;
pub use domain::{
    Address, Consent, ConsentDuration, Contact, Contract, DateRange, Direction, GeoPoint, Generation, Identity, LegalEntity,
    Measure, NaturalPerson, OffPeakRange, Reading, Series, Unit, UsagePointId,
};
pub use error::{Error, ErrorKind};
pub use plan::{Plan, history_deadline, plan_windows};
pub use quota::QuotaConfig;
pub use secret::{AccessToken, AuthorizationCode, ClientSecret, RefreshToken};
pub use token_store::{FileTokenStore, MemoryTokenStore, StoredToken, TokenStore};

#[doc(hidden)]
pub mod __bench {
    //! Entry points for the benchmark only; not part of the API.
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
