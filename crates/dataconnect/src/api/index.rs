//! The index builders: [`IndexRequest`] for any range of an index series,
//! [`IndexWindowRequest`] for exactly one call.
//!
//! Index readings (`mesure_synchrone_auto/v2/index_consommation` and
//! `index_production`) exist in generation 3 only. They are the meter's
//! registers, one value per calendar, class and day: the only way to bill
//! an HP/HC or Tempo offer for a meter whose load curve is not collected.

use jiff::civil::Date;

use super::metering_call;
use crate::client::Client;
use crate::domain::{DateRange, IndexReading, Series, UsagePointId};
use crate::error::{Error, ErrorKind};
use crate::plan::plan_windows;
use crate::wire;

/// Index readings of one index series over any date range: clamped to what
/// the API serves (not after today, not before the history deadline or the
/// activation given with [`activation`](Self::activation)), one call per
/// 365 days, in order. Windows the API has no data for, or refuses as
/// before the activation, the history deadline or the consent, give no
/// readings rather than an error.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until `.send().await`"]
pub struct IndexRequest {
    client: Client,
    prm: UsagePointId,
    series: Series,
    range: DateRange,
    activation: Option<Date>,
}

impl IndexRequest {
    pub(crate) fn new(client: Client, prm: UsagePointId, series: Series, range: DateRange) -> Self {
        IndexRequest { client, prm, series, range, activation: None }
    }

    /// Does not ask for days before `date`, the meter's last activation.
    pub fn activation(mut self, date: Date) -> Self {
        self.activation = Some(date);
        self
    }

    /// Fetches the readings, ordered by calendar, class and day.
    pub async fn send(self) -> Result<Vec<IndexReading>, Error> {
        let plan = plan_windows(self.series, self.range, self.client.today(), self.activation);
        let mut out = Vec::new();
        for window in plan.windows {
            let request = IndexWindowRequest::new(self.client.clone(), self.prm.clone(), self.series, window);
            match request.send().await {
                Ok(readings) => out.extend(readings),
                Err(e) if e.is_no_data() || e.is_clamp() => {}
                Err(e) => return Err(e),
            }
        }
        out.sort_by(|a, b| (&a.calendar_id, &a.class_id, a.day).cmp(&(&b.calendar_id, &b.class_id, b.day)));
        Ok(out)
    }
}

/// Exactly one API call for one window (at most 365 days) of an index
/// series, errors as the API gave them (after the pipeline's retries).
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until `.send().await`"]
pub struct IndexWindowRequest {
    client: Client,
    prm: UsagePointId,
    series: Series,
    window: DateRange,
}

impl IndexWindowRequest {
    pub(crate) fn new(client: Client, prm: UsagePointId, series: Series, window: DateRange) -> Self {
        IndexWindowRequest { client, prm, series, window }
    }

    /// Sends the call; the readings of the window's days, ordered by
    /// calendar, class and day.
    pub async fn send(self) -> Result<Vec<IndexReading>, Error> {
        if !self.series.is_index() {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("{} is not an index series: read it with `Client::readings`", self.series),
            ));
        }
        let generation = self.client.generation();
        let call = metering_call(generation, super::LegacyVersion::default(), &self.prm, self.series, self.window)?;
        let (series, window) = (self.series, self.window);
        self.client.call(&call, |body| wire::dc2026::decode_index(body, series, window)).await
    }
}

impl Client {
    /// Index readings of `series` (`ConsumptionIndex` or `ProductionIndex`)
    /// for `prm` over any `range`; see [`IndexRequest`]. Generation 3 only.
    pub fn index(&self, prm: &UsagePointId, series: Series, range: DateRange) -> IndexRequest {
        IndexRequest::new(self.clone(), prm.clone(), series, range)
    }

    /// Exactly one index call for `window` (at most 365 days); see
    /// [`IndexWindowRequest`].
    pub fn index_window(&self, prm: &UsagePointId, series: Series, window: DateRange) -> IndexWindowRequest {
        IndexWindowRequest::new(self.clone(), prm.clone(), series, window)
    }
}
