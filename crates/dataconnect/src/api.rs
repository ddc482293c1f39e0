//! Request builders, one per endpoint, each ending in `.send().await`.
//!
//! - [`ReadingsRequest`] ([`Client::readings`]): any date range of one
//!   series, planned into windows, fetched concurrently under the quota,
//!   merged in order without duplicates.
//! - [`WindowRequest`] ([`Client::window`]): exactly one API call for one
//!   window, errors untouched (for callers that plan themselves).
//! - [`IndexRequest`] ([`Client::index`]) and [`IndexWindowRequest`]
//!   ([`Client::index_window`]): the 2026 index registers.
//! - [`ContractRequest`], [`AddressRequest`], [`IdentityRequest`],
//!   [`ContactRequest`]: the customer data, one domain shape for every
//!   generation.
//!
//! The paths of every generation are in [`metering_call`] and the customer
//! builders; nothing else in the crate names a path.

mod collection;
mod customer;
mod index;
mod max_power;
mod readings;

pub use collection::CurveCollection;
pub use customer::{AddressRequest, ContactRequest, ContractRequest, IdentityRequest};
pub use index::{IndexRequest, IndexWindowRequest};
pub use max_power::{MaxPower, MaxPowerRequest};
pub use readings::{Fetched, ReadingsRequest, WindowRequest};

use crate::client::{Auth, Call, Client, api_of};
use crate::domain::{DateRange, Generation, Reading, Series, UsagePointId};
use crate::error::{Error, ErrorKind};
use crate::wire;

/// Which paths generation 1 uses for metering data: v4 (the default: it
/// has production and no ranks) or consometers/data-connect's v3 (consumption only,
/// `rank`s).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LegacyVersion {
    /// `/v3/metering_data/…`, consometers/data-connect's paths.
    V3,
    /// `/v4/metering_data/…`.
    #[default]
    V4,
}

/// The call for one window of `series`.
pub(crate) fn metering_call(
    generation: Generation,
    legacy: LegacyVersion,
    prm: &UsagePointId,
    series: Series,
    window: DateRange,
) -> Result<Call, Error> {
    let start = window.start().to_string();
    let end = window.end().to_string();
    if series.is_index() && generation != Generation::Dc2026 {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("{series} exists only in generation 2026 (mesure_synchrone_auto/v2/index_*)"),
        ));
    }
    let (path, auth): (String, Auth) = match generation {
        Generation::Legacy => {
            let name = match (legacy, series) {
                (_, Series::ConsumptionDaily) => "daily_consumption",
                (_, Series::ConsumptionCurve) => "consumption_load_curve",
                (LegacyVersion::V3, Series::ConsumptionMaxPower) => "consumption_max_power",
                // Both names were in use for v4 (the spec cannot say which
                // was canonical); CONSO-PY's is used.
                (LegacyVersion::V4, Series::ConsumptionMaxPower) => "daily_consumption_max_power",
                (LegacyVersion::V4, Series::ProductionDaily) => "daily_production",
                (LegacyVersion::V4, Series::ProductionCurve) => "production_load_curve",
                (_, Series::ConsumptionIndex | Series::ProductionIndex) | (LegacyVersion::V3, _) => {
                    return Err(Error::new(
                        ErrorKind::Unsupported,
                        format!("the legacy v3 paths have no {series} endpoint (use v4)"),
                    ));
                }
            };
            let v = if legacy == LegacyVersion::V3 { "v3" } else { "v4" };
            (format!("{v}/metering_data/{name}"), Auth::Customer(prm.clone()))
        }
        Generation::V5 => {
            let p = match series {
                Series::ConsumptionDaily => "metering_data_dc/v5/daily_consumption",
                Series::ConsumptionCurve => "metering_data_clc/v5/consumption_load_curve",
                Series::ConsumptionMaxPower => "metering_data_dcmp/v5/daily_consumption_max_power",
                Series::ProductionDaily => "metering_data_dp/v5/daily_production",
                Series::ProductionCurve => "metering_data_plc/v5/production_load_curve",
                // Refused above.
                Series::ConsumptionIndex | Series::ProductionIndex => "",
            };
            (p.to_owned(), Auth::App)
        }
        Generation::Dc2026 => {
            let p = match series {
                Series::ConsumptionDaily => "mesure_synchrone_auto/v2/consommation_quotidienne",
                Series::ConsumptionCurve => "mesure_synchrone_auto/v2/courbe_de_charge_consommation",
                Series::ConsumptionMaxPower => "mesure_synchrone_auto/v2/puissance_conso_max_quotidienne",
                Series::ProductionDaily => "mesure_synchrone_auto/v2/production_quotidienne",
                Series::ProductionCurve => "mesure_synchrone_auto/v2/courbe_de_charge_production",
                // The Swagger's spelling; the guide's `index_consumption`
                // answers 500.
                Series::ConsumptionIndex => "mesure_synchrone_auto/v2/index_consommation",
                Series::ProductionIndex => "mesure_synchrone_auto/v2/index_production",
            };
            (p.to_owned(), Auth::App)
        }
    };
    let mut call = Call::get(path.clone(), api_of(generation, &path), auth);
    call.query = match generation {
        Generation::Dc2026 => {
            let mut q = vec![("pointId", prm.to_string()), ("dateDebut", start), ("dateFin", end)];
            if series == Series::ConsumptionMaxPower {
                q.push(("mesuresPas", "P1D".into()));
                q.push(("grandeurPhysique", "PMA".into()));
            }
            q
        }
        _ => vec![("start", start), ("end", end), ("usage_point_id", prm.to_string())],
    };
    Ok(call)
}

/// The call for one window of `series` through the Conso API gateway, in
/// the type family of `family` (2026 or v5).
pub(crate) fn conso_call(
    family: Generation,
    prm: &UsagePointId,
    series: Series,
    window: DateRange,
) -> Result<Call, Error> {
    let Some((name, [p, s, e])) = wire::conso::type_of(family, series) else {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "the Conso API gateway speaks the 2026 and v5 type families only: use the generation 2026 or v5",
        ));
    };
    let mut call = Call::get(name, crate::client::CONSO_API, Auth::App);
    call.query = vec![(p, prm.to_string()), (s, window.start().to_string()), (e, window.end().to_string())];
    if family == Generation::Dc2026 && series == Series::ConsumptionMaxPower {
        call.query.push(("mesuresPas", "P1D".into()));
        call.query.push(("grandeurPhysique", "PMA".into()));
    }
    Ok(call)
}

/// Decodes one window's answer.
pub(crate) fn decode_window(
    generation: Generation,
    body: &[u8],
    series: Series,
    window: DateRange,
) -> Result<Vec<Reading>, Error> {
    match generation {
        Generation::Legacy => wire::legacy::decode_readings(body, series, window),
        Generation::V5 => wire::v5::decode_readings(body, series, window),
        Generation::Dc2026 => wire::dc2026::decode_readings(body, series, window),
    }
}

impl Client {
    /// The API that serves `series` in the client's generation, by the
    /// first segment of its path (`mesure_synchrone_auto` for every 2026
    /// series, `metering_data_clc` for the v5 consumption curve…): the name
    /// [`Error::api`] gives, and the unit Enedis's developer portal
    /// subscribes an application to.
    pub fn series_api(&self, series: Series) -> &'static str {
        match self.generation() {
            Generation::Legacy => "v4",
            Generation::V5 => match series {
                Series::ConsumptionDaily => "metering_data_dc",
                Series::ConsumptionCurve => "metering_data_clc",
                Series::ConsumptionMaxPower => "metering_data_dcmp",
                Series::ProductionDaily => "metering_data_dp",
                Series::ProductionCurve => "metering_data_plc",
                Series::ConsumptionIndex | Series::ProductionIndex => "mesure_synchrone_auto",
            },
            Generation::Dc2026 => "mesure_synchrone_auto",
        }
    }

    /// Readings of `series` for `prm` over any `range`; see
    /// [`ReadingsRequest`].
    pub fn readings(&self, prm: &UsagePointId, series: Series, range: DateRange) -> ReadingsRequest {
        ReadingsRequest::new(self.clone(), prm.clone(), series, range)
    }

    /// Exactly one API call for `window` (at most 7 days for curves, 365
    /// otherwise), without clamping; see [`WindowRequest`].
    pub fn window(&self, prm: &UsagePointId, series: Series, window: DateRange) -> WindowRequest {
        WindowRequest::new(self.clone(), prm.clone(), series, window)
    }

    /// The meter's contract; see [`ContractRequest`].
    pub fn contract(&self, prm: &UsagePointId) -> ContractRequest {
        ContractRequest::new(self.clone(), prm.clone())
    }

    /// The meter's installation address; see [`AddressRequest`].
    pub fn address(&self, prm: &UsagePointId) -> AddressRequest {
        AddressRequest::new(self.clone(), prm.clone())
    }

    /// The contract holder's identity; see [`IdentityRequest`].
    pub fn identity(&self, prm: &UsagePointId) -> IdentityRequest {
        IdentityRequest::new(self.clone(), prm.clone())
    }

    /// The contract holder's contact details; see [`ContactRequest`].
    pub fn contact(&self, prm: &UsagePointId) -> ContactRequest {
        ContactRequest::new(self.clone(), prm.clone())
    }
}
