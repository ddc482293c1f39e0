//! [`MaxPowerRequest`]: generation 3's maximum power with its two options,
//! `mesuresPas=P1M` (one maximum per month) and `grandeurPhysique=TOUT`
//! (on a three-phase meter, each phase's maximum besides the
//! single-phase-equivalent `PMA`).
//!
//! The sync keeps the daily `PMA` as `consumption-max-power`; this builder
//! is for callers who want the monthly or per-phase figures (a subscribed
//! power audit of a three-phase installation, say).

use jiff::civil::Date;

use super::metering_call;
use crate::client::Client;
use crate::domain::{DateRange, Generation, Reading, Series, UsagePointId};
use crate::error::{Error, ErrorKind};
use crate::plan::plan_windows;
use crate::wire;

/// The maxima of a range.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MaxPower {
    /// `PMA`: the single-phase-equivalent maximum (VA), per day or month,
    /// with the instant of the peak.
    pub pma: Vec<Reading>,
    /// `PMA1`, `PMA2`, `PMA3` (VA): each phase's maximum, when asked for
    /// with [`MaxPowerRequest::all_phases`] on a three-phase meter; empty
    /// for a single-phase one.
    pub phases: Vec<Vec<Reading>>,
}

/// Maximum power of one meter over any range (see the module docs).
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until `.send().await`"]
pub struct MaxPowerRequest {
    client: Client,
    prm: UsagePointId,
    range: DateRange,
    monthly: bool,
    all_phases: bool,
}

impl MaxPowerRequest {
    /// One maximum per calendar month (`mesuresPas=P1M`) rather than per
    /// day: each reading covers its Paris month.
    pub fn monthly(mut self) -> Self {
        self.monthly = true;
        self
    }

    /// Each phase's maximum too (`grandeurPhysique=TOUT`).
    pub fn all_phases(mut self) -> Self {
        self.all_phases = true;
        self
    }

    /// Fetches the maxima: one call per 365 days, merged in order (a month
    /// cut by two windows keeps its higher maximum).
    pub async fn send(self) -> Result<MaxPower, Error> {
        let c = &self.client;
        if c.generation() != Generation::Dc2026 {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "monthly and per-phase maximum power exist only in generation 2026",
            ));
        }
        let series = Series::ConsumptionMaxPower;
        let plan = plan_windows(series, self.range, c.today(), None::<Date>);
        let mut by_name: Vec<(String, Vec<Reading>)> = Vec::new();
        for window in plan.windows {
            let mut call =
                metering_call(Generation::Dc2026, super::LegacyVersion::default(), &self.prm, series, window)?;
            for (name, value) in call.query.iter_mut() {
                match *name {
                    "mesuresPas" => *value = if self.monthly { "P1M" } else { "P1D" }.into(),
                    "grandeurPhysique" => *value = if self.all_phases { "TOUT" } else { "PMA" }.into(),
                    _ => {}
                }
            }
            let monthly = self.monthly;
            let elements = match c.call(&call, |b| wire::dc2026::decode_max_power(b, monthly)).await {
                Ok(e) => e,
                Err(e) if e.is_no_data() => continue,
                Err(e) => return Err(e),
            };
            for element in elements {
                match by_name.iter_mut().find(|(n, _)| *n == element.physique) {
                    Some((_, readings)) => readings.extend(element.readings),
                    None => by_name.push((element.physique, element.readings)),
                }
            }
        }
        let mut out = MaxPower::default();
        for (name, mut readings) in by_name {
            merge_periods(&mut readings);
            match name.as_str() {
                "PMA" => out.pma = readings,
                "PMA1" | "PMA2" | "PMA3" => out.phases.push(readings),
                _ => {}
            }
        }
        Ok(out)
    }
}

/// Keeps one reading per period start, the higher value (a month split by
/// two windows).
fn merge_periods(readings: &mut Vec<Reading>) {
    readings.sort_by_key(|r| r.start);
    readings.dedup_by(|later, kept| {
        if later.start != kept.start {
            return false;
        }
        if later.value > kept.value {
            std::mem::swap(later, kept);
        }
        true
    });
}

impl Client {
    /// Maximum power of `prm` over `range`, daily or monthly, with or
    /// without each phase; see [`MaxPowerRequest`]. Generation 3 only.
    pub fn max_power(&self, prm: &UsagePointId, range: DateRange) -> MaxPowerRequest {
        MaxPowerRequest { client: self.clone(), prm: prm.clone(), range, monthly: false, all_phases: false }
    }
}
